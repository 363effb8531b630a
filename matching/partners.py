"""Partner organisations for a city, people to meet, and cities working on a challenge.

Partners (``PartnerRecommender``), six signals in [0, 1]:

- ``challenges``: rarity-weighted share of the city's challenges (or the one asked about) the organisation
  works on (WORKS_ON, taxonomy-aware through the index's expansion);
- ``peers``: the collaborative signal: among the city's most similar cities (by rarity-weighted shared
  challenges), the similarity-weighted share that already partner with the organisation;
- ``nearby``: the geography vote: among the city's 100 nearest cities (great-circle distance, the index's
  k-d tree), the rank-weighted (1 / (1 + rank)) share that already partner with the organisation (regional
  agencies and networks); the far ones weigh little, but they reach partners the ten nearest do not have;
- ``nearby_in_country``: the same vote among the city's 100 nearest cities in its own country: national and
  regional agencies work within borders, so across one a nearer city says less than a farther compatriot
  (on a network in one country it equals ``nearby``, and `citypeers tune` keeps one of the two);
- ``cohort_mates``: the cohort vote: among the cities sharing a cohort with the city (each shared cohort
  weighing 1 / log(1 + its size), as the peers' co-membership), the weighted share that already partner
  with the organisation (a programme's partners serve its classes);
- ``popularity``: the cities the organisation works with over the most any organisation works with. Linear,
  unlike the peers' logarithmic popularity: where links attach in proportion to reach, a hit's chance grows
  linearly with it, and the least-squares fit of `citypeers tune` needs the signal on that scale (with the
  logarithm it preferred the similar cities' vote and trailed the popularity baseline, 0.86-0.99x).

Ties go by the number of cities the organisation works with (the better connected first), then id. The
reason has a clause for each signal that contributed, naming its evidence (the challenges, the similar,
nearest or cohort-mate cities, the reach), and names the cohorts the organisation is in with the city.
Asked without a challenge, where fewer than k organisations score above 0, the list goes on with the
rest that work with a city, in the ties' order (reach, then id), each scoring 0 and saying it is
listed for its reach: partners are few (tens to hundreds), and a city with thin evidence (a newcomer, a
sparse network) still gets the organisations most likely to take it on, as the baselines' popularity
fallback does. Asked on a challenge, only organisations with evidence are listed.

Default weights: challenges, peers and nearby 0.5 each, what `citypeers evaluate gcom` chose on its
validation split when the vote reached the 10 nearest cities (with 100 it picks peers 0; docs/matching.md);
nearby_in_country, cohort_mates and popularity 0: off until `citypeers tune` finds them in a store's own
links (on GCoM, `evaluate gcom` now gives the first two weight and popularity lowers its figures). `tune`
sets all six per store from its own partner links.

>>> from tests.sample import NODES, RELATIONSHIPS
>>> from graph.model import City, Faces
>>> from graph.projection import Projection
>>> p = Projection([*NODES, City(id="oslo", name="Oslo", country="NO")],
...                [*RELATIONSHIPS, Faces(source="oslo", target="housing")], version=1)
>>> [(m.partner.id, m.reason) for m in PartnerRecommender().fit(p).recommend("oslo")]
[('test-foundation', 'Test Foundation works on Housing and already works with Riga.')]
"""

from __future__ import annotations

import copy
import weakref
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from graph.errors import NotFoundError, UsageError
from graph.model import Challenge, City, Cohort, Leader, Partner
from graph.projection import Projection
from matching.index import MatchingIndex, best_first, dense_row, row_of
from matching.peers import NotFittedError, PeerMatch, PeerRecommender, Signal, group_query

PARTNER_SIGNALS = ("challenges", "peers", "nearby", "nearby_in_country", "cohort_mates", "popularity")
# peers and nearby: chosen by `citypeers evaluate gcom` on its validation split (before the vote reached 100
# cities; see the module docstring); challenges: fixed (GCoM has no WORKS_ON data to tune it on), as much as peers;
# nearby_in_country, cohort_mates and popularity: off until `citypeers tune` finds them in a store's own links.
DEFAULT_PARTNER_WEIGHTS = {"challenges": 0.5, "peers": 0.5, "nearby": 0.5, "nearby_in_country": 0.0,
                           "cohort_mates": 0.0, "popularity": 0.0}
ROLE_FIT = {  # how well a leader's role fits the asker's: same role first ("a mayor meets mayors first")
    frozenset({"mayor", "deputy-mayor"}): 0.6, frozenset({"chief-of-staff", "senior-staff"}): 0.6,
    frozenset({"senior-staff", "cross-sector-member"}): 0.4, frozenset({"deputy-mayor", "council-member"}): 0.5,
}


def role_fit(asker: str, other: str) -> float:
    """1 for the same role, a documented fraction for related roles, 0.25 otherwise.

    >>> role_fit("mayor", "mayor"), role_fit("mayor", "deputy-mayor"), role_fit("mayor", "faculty")
    (1.0, 0.6, 0.25)
    """
    return 1.0 if asker == other else ROLE_FIT.get(frozenset({asker, other}), 0.25)


@dataclass(frozen=True)
class PartnerMatch:
    partner: Partner
    score: float
    signals: tuple[Signal, ...]
    shared_challenges: tuple[Challenge, ...]  # challenges of the city the partner works on
    via_cities: tuple[City, ...]  # similar cities the partner already works with
    nearby_cities: tuple[City, ...]  # nearest cities the partner already works with
    reason: str
    shared_cohorts: tuple[Cohort, ...] = ()  # cohorts the partner is in (an organiser, say) with the city
    cohort_mates: tuple[City, ...] = ()  # cities sharing a cohort with the city the partner already works with
    reach: int = 0  # the cities the partner works with (its popularity)
    nearby_in_country: tuple[City, ...] = ()  # nearest cities in the city's country the partner already works with


@dataclass(frozen=True)
class PersonMatch:
    leader: Leader
    city: City
    score: float  # the city's peer score times the role fit
    role_fit: float
    peer: PeerMatch
    reason: str
    signals: tuple[Signal, ...] = ()  # the peer's, each contribution times the role fit: they add up to the score


@dataclass(frozen=True)
class CityMatch:
    city: City
    score: float  # 1 for facing the challenge itself, parent_weight per level for a sub-challenge
    priority: int | None
    reason: str
    challenges: tuple[Challenge, ...] = ()  # the evidence: the challenge itself, or the parts of it faced
    signals: tuple[Signal, ...] = ()  # one, "challenge": the score itself


class PartnerRecommender:
    """Recommend partner organisations. Estimator manners as PeerRecommender."""

    def __init__(self, *, weights: Mapping[str, float] | None = None, neighbours: int = 50, nearest: int = 100,
                 parent_weight: float = 0.5):
        self.weights = weights
        self.neighbours = neighbours
        self.nearest = nearest
        self.parent_weight = parent_weight

    def fit(self, projection: Projection, *, index: MatchingIndex | None = None) -> PartnerRecommender:
        """Learn from `projection`. `index`: a MatchingIndex already built from the same projection with the
        same parent_weight (the Engine shares the peer recommender's, which halves a refit)."""
        self.weights_ = _checked(DEFAULT_PARTNER_WEIGHTS if self.weights is None else self.weights)
        if index is not None and index.version != projection.version:
            raise UsageError(f"the index is of data version {index.version}, the projection of {projection.version}")
        self.index_ = index or MatchingIndex.build(projection, parent_weight=self.parent_weight)
        works = projection.matrix("WORKS_ON")  # partners x challenges
        if works.rows != self.index_.partner_ids:
            raise AssertionError("partner order differs between WORKS_ON and PARTNERS_WITH")  # both are sorted ids
        self.works_on_ = works.matrix.tocsr()
        self.memberships_ = partner_memberships(projection)
        self.partners_ = {p.id: p for p in projection.nodes["Partner"]}
        return self

    def with_weights(self, weights: Mapping[str, float] | None) -> PartnerRecommender:
        """A fitted copy with other signal weights (None: the defaults), sharing everything else."""
        if not hasattr(self, "index_"):
            raise NotFittedError("this PartnerRecommender is not fitted yet; call fit(projection) first")
        other = copy.copy(self)
        other.weights = weights
        other.weights_ = _checked(DEFAULT_PARTNER_WEIGHTS if weights is None else weights)
        return other

    def _nearby(self, row: int) -> tuple[np.ndarray, np.ndarray]:
        """(nearest city rows, rank weights 1/(1+rank)) for a city with coordinates; empty otherwise."""
        rows, _ = self.index_.geo.nearest(row, self.nearest)
        return rows, 1.0 / (1.0 + np.arange(len(rows)))

    def _nearby_in_country(self, row: int) -> tuple[np.ndarray, np.ndarray]:
        """(the nearest city rows in the city's own country, rank weights 1/(1+rank)); empty without coordinates."""
        rows = self.index_.geo.nearest_in_country(row, self.nearest)
        return rows, 1.0 / (1.0 + np.arange(len(rows)))

    def _mates(self, row: int) -> tuple[np.ndarray, np.ndarray]:
        """(the rows of the cities sharing a cohort with `row`, their co-membership weights: the sum over the
        shared cohorts of each one's 1 / log(1 + size), scaled as the peers' cohorts query); only the city's
        own cohorts' members are read."""
        index = self.index_
        cols = row_of(index.cohorts, row)[0]
        if not len(cols):
            return np.zeros(0, dtype=np.int64), np.zeros(0)
        query = group_query(index.cohort_members, cols)
        by_cohort = index.cohort_members
        members = [by_cohort.indices[by_cohort.indptr[c]:by_cohort.indptr[c + 1]] for c in cols.tolist()]
        rows = np.concatenate(members)
        mates, inverse = np.unique(rows, return_inverse=True)
        weight = np.bincount(inverse, weights=np.repeat(query[cols], [len(m) for m in members]))
        keep = mates != row
        return mates[keep], weight[keep]

    def _row(self, city_id: str, challenge: str | None) -> int:
        """The city's row, after checking that the recommender is fitted and the city and challenge exist."""
        if not hasattr(self, "index_"):
            raise NotFittedError("this PartnerRecommender is not fitted yet; call fit(projection) first")
        row = self.index_.city_row.get(city_id)
        if row is None:
            raise NotFoundError(f"no city with id {city_id!r}")
        if challenge is not None and challenge not in self.index_.challenge_col:
            raise NotFoundError(f"no challenge with id {challenge!r}")
        return row

    def _evidence(self, row: int, challenge: str | None) -> _Evidence:
        index = self.index_
        own = dense_row(index.challenges, row)
        if challenge is not None:
            own = np.zeros_like(own)
            own[index.challenge_col[challenge]] = 1.0
        query = own * index.rarity
        n_partners = len(index.partner_ids)
        topical = self.works_on_ @ query / query.sum() if query.sum() else np.zeros(n_partners)
        # Collaborative: the most similar cities (by the same weighted challenges) and whom they work with.
        similarity = index.challenge_scores(query)
        similarity[row] = 0.0
        near = best_first(similarity, self.neighbours)
        near = near[similarity[near] > 0]
        weights = similarity[near]
        close, close_w = self._nearby(row)
        home, home_w = self._nearby_in_country(row)
        # Cohort-mates: the cities sharing the city's cohorts, each cohort weighing 1 / log(1 + its size) as
        # in the peers' co-membership, and whom they work with.
        mates, mate_w = self._mates(row)
        # the four votes (similar, nearest, nearest in the country, cohort-mates: each the weighted share of
        # its cities working with the organisation) in one sparse product
        peers, nearby, nearby_home, cohort_vote = _votes(index.partners, n_partners, (near, weights),
                                                         (close, close_w), (home, home_w), (mates, mate_w))
        reach = np.diff(index.partner_cities.indptr)  # from the index: an incremental refresh updates it
        popularity = reach / reach.max() if n_partners and reach.max() else np.zeros(n_partners)
        values = {"challenges": topical, "peers": peers, "nearby": nearby, "nearby_in_country": nearby_home,
                  "cohort_mates": cohort_vote, "popularity": popularity}
        eligible = np.ones(n_partners, dtype=bool)
        eligible[row_of(index.partners, row)[0]] = False  # already its partners
        return _Evidence(own, values, reach, eligible, near, close, home, mates, mate_w)

    def signal_values(self, city_id: str, *, challenge: str | None = None
                      ) -> tuple[dict[str, np.ndarray], np.ndarray, np.ndarray]:
        """Every organisation's signals for a city before any weighting: ({signal: its value for each
        organisation}, reach: the cities each works with, eligible: not already the city's partner).
        `ranked(weighted(values, w), reach, eligible, ...)` lists them as `recommend` would with the weights w,
        score for score: a grid of weightings reads the evidence once (`citypeers evaluate gcom`)."""
        e = self._evidence(self._row(city_id, challenge), challenge)
        return e.values, e.reach, e.eligible

    def recommend(self, city_id: str, *, k: int = 10, challenge: str | None = None, sector: str | None = None,
                  country: str | None = None) -> list[PartnerMatch]:
        row = self._row(city_id, challenge)
        if not 1 <= k <= 1000:
            raise UsageError(f"k={k} is out of range; ask for 1 to 1000 matches")
        e = self._evidence(row, challenge)
        index = self.index_
        own, values_all, reach_all = e.own, e.values, e.reach
        near, close, home, mates, mate_w = e.near, e.close, e.home, e.mates, e.mate_w
        total = weighted(values_all, self.weights_)
        eligible = e.eligible.copy()
        for attr, wanted in (("sector", sector), ("country", country)):
            if wanted is not None:
                eligible &= np.array([getattr(self.partners_[p], attr) == wanted for p in index.partner_ids])
        top = ranked(total, reach_all, eligible, asked=challenge is not None)[:k]
        mine = set(np.flatnonzero(own).tolist())
        near_set = set(near.tolist())
        mate_order = mates[np.lexsort((mates, -mate_w))] if mates.size else mates  # closest cohort-mates first
        their_cohorts = set(row_of(index.cohorts, row)[0].tolist())
        # the nearest are all compatriots, so the two votes' clauses would say one thing (read only when both count)
        one_vote = (self.weights_["nearby"] > 0 < self.weights_["nearby_in_country"]
                    and np.array_equal(np.sort(close), np.sort(home)))
        out = []
        for j in top.tolist():
            partner = self.partners_[index.partner_ids[j]]
            cols, _ = row_of(self.works_on_, j)
            shared = [index.nodes[index.challenge_ids[c]] for c in sorted(mine.intersection(cols.tolist()))]
            cohorts = [index.nodes[index.cohort_ids[c]]
                       for c in sorted(set(row_of(self.memberships_, j)[0].tolist()) & their_cohorts)]
            works = row_of(index.partner_cities, j)[0]
            works_with = set(works.tolist())
            via = [index.cities[c] for c in sorted(near_set & works_with)]
            close_by = [index.cities[c] for c in close.tolist() if c in works_with]
            at_home = [index.cities[c] for c in home.tolist() if c in works_with]
            classmates = [index.cities[c] for c in mate_order[np.isin(mate_order, works)].tolist()]
            signals = tuple(Signal(name, float(v[j]), self.weights_[name] * float(v[j]))
                            for name, v in values_all.items())
            used = {s.name for s in signals if s.contribution > 0}
            out.append(PartnerMatch(partner=partner, score=float(total[j]), signals=signals,
                                    shared_challenges=tuple(shared), via_cities=tuple(via),
                                    nearby_cities=tuple(close_by), shared_cohorts=tuple(cohorts),
                                    cohort_mates=tuple(classmates), reach=len(works),
                                    nearby_in_country=tuple(at_home),
                                    reason=_partner_reason(partner, used, shared, via, close_by, len(close), cohorts,
                                                           classmates, len(works), at_home, len(home), one_vote)))
        return out


@dataclass(frozen=True)
class _Evidence:
    """What `recommend` reads for one city: its challenges (or the one asked), every signal's values, each
    organisation's reach, which may be suggested (not already its partners), and the voting cities."""
    own: np.ndarray
    values: dict[str, np.ndarray]
    reach: np.ndarray
    eligible: np.ndarray
    near: np.ndarray
    close: np.ndarray
    home: np.ndarray
    mates: np.ndarray
    mate_w: np.ndarray


def weighted(values: Mapping[str, np.ndarray], weights: Mapping[str, float]) -> np.ndarray:
    """The score of each organisation: the weighted sum of its signals (so the contributions add up to it)."""
    return sum(weights[name] * v for name, v in values.items())


def ranked(total: np.ndarray, reach: np.ndarray, eligible: np.ndarray, *, asked: bool) -> np.ndarray:
    """The organisations `recommend` lists, best first: the eligible ones scoring above 0, and unless a
    challenge was `asked`, the rest that work with a city (scoring 0: a short list is completed by reach).
    Ties: the organisation working with more cities first (as the baselines break theirs), then id."""
    ok = eligible & ((total > 0) if asked else (total > 0) | (reach > 0))
    candidates = np.flatnonzero(ok)
    return candidates[np.lexsort((candidates, -reach[candidates], -total[candidates]))]


def _votes(partners: sp.csr_array, n_partners: int, *voters: tuple[np.ndarray, np.ndarray]) -> list[np.ndarray]:
    """For each (city rows, their weights): the weighted share of those cities working with each
    organisation, sum(w x works with) / sum(w) (zeros without cities); all in one product over the rows."""
    rows = np.concatenate([r for r, _ in voters])
    if not rows.size:
        return [np.zeros(n_partners) for _ in voters]
    by_voter = np.zeros((rows.size, len(voters)))
    at = 0
    for j, (r, w) in enumerate(voters):
        by_voter[at:at + r.size, j] = w
        at += r.size
    sums = sp.csr_array(partners[rows]).T @ by_voter
    return [sums[:, j] / w.sum() if r.size else np.zeros(n_partners) for j, (r, w) in enumerate(voters)]


def _checked(weights: Mapping[str, float]) -> dict[str, float]:
    """Every partner signal's weight (0 for those not given), after checking the names and signs."""
    if set(weights) - set(PARTNER_SIGNALS) or any(w < 0 for w in weights.values()):
        raise UsageError(f"partner weights {dict(weights)} are invalid; use signals {', '.join(PARTNER_SIGNALS)}, "
                         "each 0 or more")
    return {name: float(weights.get(name, 0.0)) for name in PARTNER_SIGNALS}


def partner_memberships(projection: Projection) -> sp.csr_array:
    """Partners x cohorts (MEMBER_OF from a partner: a programme's organisers), in the index's partner and
    cohort order (both sorted ids)."""
    return projection.matrix("MEMBER_OF", source="Partner").matrix.tocsr()


def _partner_reason(partner: Partner, used: set[str], shared: list, via: list, close_by: list = (),
                    nearest: int = 0, cohorts: list = (), classmates: list = (), reach: int = 0,
                    at_home: list = (), nearest_home: int = 0, one_vote: bool = False) -> str:
    """A clause for each signal that contributed to the score (`used`), naming its evidence; the cohorts the
    organisation is in with the city are named too (a fact, not a signal). `one_vote`: the nearest cities and
    the nearest in the city's country are the same cities, so the two votes' clauses say one thing: they are
    said once ("works with 3 of your 100 nearest cities (all in your country)")."""
    def some(cities: list) -> str:
        return ", ".join(c.name for c in cities[:3]) + (" and more" if len(cities) > 3 else "")

    filling = not used  # completing a short list: no signal found it, its reach did (the ties' order)
    parts = []
    if shared and "challenges" in used:
        parts.append("works on " + ", ".join(c.name for c in shared[:3]) + (" and more" if len(shared) > 3 else ""))
    if via and "peers" in used:
        parts.append("already works with " + some(via))
    both = one_vote and close_by and {"nearby", "nearby_in_country"} <= used
    if close_by and "nearby" in used:
        parts.append(f"works with {len(close_by)} of your {nearest} nearest cities"
                     + (" (all in your country)" if both else ""))
    if at_home and "nearby_in_country" in used and not both:
        parts.append(f"works with {len(at_home)} of the {nearest_home} nearest cities in your country")
    if classmates and "cohort_mates" in used:
        parts.append(f"works with {len(classmates)} of your cohort-mates ({some(classmates)})")
    if reach and ("popularity" in used or filling):
        parts.append(f"works with {reach} {'city' if reach == 1 else 'cities'}")
    if cohorts:
        parts.append("is in " + ", ".join(c.name for c in cohorts[:2]) + (" and more" if len(cohorts) > 2 else "")
                     + " with you")
    return f"{partner.name} " + " and ".join(parts) + (": listed for that reach, to complete the list." if filling
                                                      else ".")


_SERVING: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _serving(projection: Projection) -> tuple[dict[str, Leader], dict[str, list[Leader]]]:
    """Leaders by id and by the city they serve, built once per projection (a snapshot never changes; at
    100k cities building them took most of a people request) and dropped with it."""
    found = _SERVING.get(projection)
    if found is None:
        leaders = {n.id: n for n in projection.nodes["Leader"]}
        by_city: dict[str, list[Leader]] = {}
        for rel in projection.relationships["SERVES"]:
            by_city.setdefault(rel.target, []).append(leaders[rel.source])
        found = _SERVING[projection] = (leaders, by_city)
    return found


def people_to_meet(peers: PeerRecommender, projection: Projection, leader_id: str, *, k: int = 10) -> list[PersonMatch]:
    """Leaders serving the asker's peer cities, ranked by peer score times role fit."""
    if not 1 <= k <= 1000:
        raise UsageError(f"k={k} is out of range; ask for 1 to 1000 matches")
    leaders, by_city = _serving(projection)
    asker = leaders.get(leader_id)
    if asker is None:
        raise NotFoundError(f"no leader with id {leader_id!r}")
    home = next((r.target for r in projection.outgoing("SERVES", leader_id)), None)
    if home is None:
        raise UsageError(f"leader {leader_id!r} serves no city, so there are no peer cities to look in")
    matches = []
    for peer in peers.recommend(home, k=min(max(3 * k, 30), 1000)):  # peers without leaders: ask for more
        for other in by_city.get(peer.city.id, []):
            fit = role_fit(asker.role, other.role)
            reason = (f"{other.name} ({other.role.replace('-', ' ')}, {peer.city.name}): "
                      f"{peer.reason[len(peer.city.name) + 1:]}")
            signals = tuple(Signal(g.name, g.value, g.contribution * fit) for g in peer.signals)
            matches.append(PersonMatch(leader=other, city=peer.city, score=peer.score * fit, role_fit=fit, peer=peer,
                                       reason=reason, signals=signals))
    matches.sort(key=lambda m: (-m.score, m.leader.id))
    return matches[:k]


def cities_for_challenge(peers: PeerRecommender, projection: Projection, challenge_id: str, *,
                         k: int = 10) -> list[CityMatch]:
    """Cities working on a challenge: those facing it (by priority), then those facing a sub-challenge."""
    if not 1 <= k <= 1000:
        raise UsageError(f"k={k} is out of range; ask for 1 to 1000 matches")
    index = peers.index_ if hasattr(peers, "index_") else None
    if index is None:
        raise NotFittedError("fit the PeerRecommender first")
    col = index.challenge_col.get(challenge_id)
    if col is None:
        raise NotFoundError(f"no challenge with id {challenge_id!r}")
    priority = {r.source: r.priority for r in projection.relationships["FACES"] if r.target == challenge_id}
    start, stop = index.challenges_by_column.indptr[col], index.challenges_by_column.indptr[col + 1]
    rows, values = index.challenges_by_column.indices[start:stop], index.challenges_by_column.data[start:stop]
    name = index.nodes[challenge_id].name
    ranked = sorted(zip(rows.tolist(), values.tolist(), strict=True),
                    key=lambda rv: (-rv[1], priority.get(index.city_ids[rv[0]]) or 6, index.city_ids[rv[0]]))
    out = []
    for r, value in ranked[:k]:
        city = index.cities[r]
        p = priority.get(city.id)
        if city.id in priority:
            how, via = f"faces {name}" + (f" (priority {p})" if p else ""), (index.nodes[challenge_id],)
        else:  # through its own challenges below this one in the taxonomy
            via = tuple(index.nodes[index.challenge_ids[c]] for c in row_of(index.direct, r)[0].tolist()
                        if challenge_id in index.ancestors[index.challenge_ids[c]])
            how = f"faces a part of {name} ({', '.join(c.name for c in via)})"
        out.append(CityMatch(city=city, score=float(value), priority=p, reason=f"{city.name} {how}.", challenges=via,
                             signals=(Signal("challenge", float(value), float(value)),)))
    return out
