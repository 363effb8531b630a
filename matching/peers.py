"""Peer cities for a city, by shared issues, with the evidence for every suggestion.

Signals (each in [0, 1], combined by `weights`; the contributions add up to the score):

- ``challenges``: rarity-weighted shared challenges (resource allocation), taxonomy-aware, normalised by
  the asking city's own total so that 1 means "faces everything I face";
- ``text``: cosine similarity of TF-IDF vectors of the challenges' descriptions and the cities' notes;
- ``cohorts`` / ``partners``: the share of the asking city's cohorts / partner organisations in common;
- ``context``: half same region, half population ratio (smaller / larger);
- ``language``: 1 when both countries' main language (the first GeoNames lists) is the same.

Default weights: the ratios `citypeers evaluate urbact` chose on URBACT II (challenges 1 : cohorts 1.5 :
context 0.5; text similarity did not help there), scaled to sum to 1. Partners get no weight until an
evaluation with partner data (GCoM) sets one; pass `weights=` to use them.

>>> from tests.sample import NODES, RELATIONSHIPS
>>> from graph.projection import Projection
>>> model = PeerRecommender().fit(Projection(NODES, RELATIONSHIPS, version=1))
>>> [m.city.id for m in model.recommend("riga", k=2)]
['tallinn', 'vilnius']
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import numpy as np
from scipy.linalg import blas

from graph.errors import NotFoundError, UsageError
from graph.model import Challenge, City, Cohort, Partner
from graph.projection import Projection
from matching.index import MatchingIndex, column_sum, dense_row, row_of

SIGNALS = ("challenges", "text", "cohorts", "partners", "context", "language")
DEFAULT_WEIGHTS = {"challenges": 1 / 3, "text": 0.0, "cohorts": 0.5, "partners": 0.0, "context": 1 / 6,
                   "language": 0.0}


@dataclass(frozen=True)
class Signal:
    name: str
    value: float  # the signal itself, 0..1
    contribution: float  # weight * value: the part of the score it explains


@dataclass(frozen=True)
class PeerMatch:
    city: City
    score: float
    signals: tuple[Signal, ...]  # the signals with a weight, in SIGNALS order
    shared_challenges: tuple[Challenge, ...]  # faced directly by both
    related_challenges: tuple[Challenge, ...]  # shared only through the taxonomy (a common parent)
    shared_partners: tuple[Partner, ...]
    shared_cohorts: tuple[Cohort, ...]
    reason: str


class NotFittedError(UsageError):
    pass


class PeerRecommender:
    """Recommend peer cities. scikit-learn manners: keyword-only hyperparameters, `fit` returns self,
    learned state ends in `_`, and using it unfitted raises NotFittedError."""

    def __init__(self, *, weights: Mapping[str, float] | None = None, parent_weight: float = 0.5):
        self.weights = weights
        self.parent_weight = parent_weight

    def fit(self, projection: Projection) -> PeerRecommender:
        weights = dict(DEFAULT_WEIGHTS if self.weights is None else self.weights)
        unknown = set(weights) - set(SIGNALS)
        if unknown:
            raise UsageError(f"unknown signal weight {sorted(unknown)[0]!r}; valid signals: {', '.join(SIGNALS)}")
        if any(w < 0 for w in weights.values()):
            raise UsageError(f"signal weights must be 0 or more, got {weights}")
        self.weights_ = {name: float(weights.get(name, 0.0)) for name in SIGNALS}
        self.index_ = MatchingIndex.build(projection, parent_weight=self.parent_weight)
        return self

    def with_weights(self, weights: Mapping[str, float]) -> PeerRecommender:
        """A fitted copy with other signal weights, sharing this one's index (for tuning)."""
        other = PeerRecommender(weights=weights, parent_weight=self.parent_weight)
        other.weights_ = {name: float(weights.get(name, 0.0)) for name in SIGNALS}
        other.index_ = self._index()
        return other

    def _index(self) -> MatchingIndex:
        if not hasattr(self, "index_"):
            raise NotFittedError("this PeerRecommender is not fitted yet; call fit(projection) first")
        return self.index_

    def recommend(self, city_id: str, *, k: int = 10, challenges: Iterable[str] | None = None,
                  country: str | None = None, region: str | None = None, exclude_known: bool = False,
                  exclude_own_country: bool = False, diversify: float = 0.0, min_population: int | None = None,
                  max_population: int | None = None, cohort: str | None = None,
                  exclude: Iterable[str] = ()) -> list[PeerMatch]:
        """The top `k` peers of `city_id`; with `challenges`, peers working on those challenges.

        Filters: `country`, `region`, a size band (`min_population`, `max_population`: cities of unknown
        population are left out when a band is given), `cohort` (only its member cities), `exclude_known`
        (known peers), `exclude_own_country`.

        `diversify` (0..1) re-ranks by maximal marginal relevance: each next pick trades its score against its
        similarity to those already picked, so the list is not ten copies of one kind of city. `exclude`
        leaves out given city ids (dismissed suggestions, batch capping).

        Cost per call: the inverted index touches only cities that share a less common challenge, cohort or
        partner, and the query's popular challenges are added from the dense block (one BLAS pass each);
        up to the cut every step is a whole-array pass, with no gather of rows (at 100k cities ~0.75 ms a
        call, half of it memory traffic). Text and the population half of context are computed only for
        candidates that can still reach the top `k`, eligibility only for rows near it, and every signal's
        value exactly for the `k` returned. Exact: tests/test_peer_search.py compares it with brute force.
        """
        index = self._index()
        if not 1 <= k <= 1000:
            raise UsageError(f"k={k} is out of range; ask for 1 to 1000 matches")
        if not 0.0 <= diversify <= 1.0:
            raise UsageError(f"diversify={diversify} is out of range; use 0 (by score only) to 1")
        row = index.city_row.get(city_id)
        if row is None:
            raise NotFoundError(f"no city with id {city_id!r}")
        # The query: the city's own (expanded) challenges, or, when focused, the named challenges themselves
        # ("peers for Amsterdam on housing" = cities working on housing, ranked by closeness to Amsterdam).
        own = dense_row(index.challenges, row)
        query = (own if challenges is None else self._focus(index, challenges)) * index.rarity
        n = len(index.city_ids)
        weights = self.weights_
        focused = challenges is not None
        allowed = self._allowed(index, row, country, region, exclude_own_country, min_population, max_population,
                                cohort)  # None: no filter
        pool = k if diversify == 0 else max(k, min(5 * k, 200))  # MMR picks k from a wider pool of the best
        # Sparse signals over everyone, through the inverted indexes. The challenges signal comes out weighted
        # already (the query scaled by weight / norm): at 100k cities, every pass over all of them counts.
        norm = query.sum()
        w_challenges = weights["challenges"] if weights["challenges"] > 0 else 1.0  # 0: still decides eligibility
        shared = index.challenge_scores(query * (w_challenges / norm)) if norm > 0 else np.zeros(n)
        groups = {}
        for name, by_column, matrix in (("cohorts", index.cohort_members, index.cohorts),
                                        ("partners", index.partner_cities, index.partners)):
            cols, _ = row_of(matrix, row)
            if len(cols):  # a city without any has no such signal: it would be 0 everywhere
                groups[name] = column_sum(by_column, dict.fromkeys(cols.tolist(), 1.0 / len(cols)), n)
        # The sparse part of every total; whole arrays up to the cut: at 100k cities, gathering the (nearly
        # all) eligible rows first cost more than the arithmetic on every row.
        partial = shared if weights["challenges"] > 0 else np.zeros(n)
        for name, values in groups.items():
            if weights[name] > 0:
                partial = partial + weights[name] * values
        # Dense signals (text, context, language) only where they can still matter (MaxScore-style pruning;
        # exact). Language and context's region half are cheap and exact; the population half and text add
        # at most their weight. The exact totals of the best few by that sum give a lower bound on the
        # pool-th best total: a candidate whose upper bound stays below it cannot make the list.
        dense = [name for name in ("text", "context", "language") if weights[name] > 0]
        known, slack = partial.copy(), weights["text"]
        if weights["context"] > 0:  # the region half exactly; the population half bounded
            half = weights["context"] / 2
            if index.region_code[row] >= 0:  # in place, one pass (BLAS axpy with a 0/1 column: exact)
                known = blas.daxpy(index.region_indicator[index.region_code[row]], known, a=half)
            slack += half
        if weights["language"] > 0 and index.language_code[row] >= 0:
            known[index.language_rows[index.language_code[row]]] += weights["language"]
        # Who may not be suggested gets -inf: the asking city, feedback (dismissed, or met already), known
        # peers on request, `exclude`, the filters.
        known[row] = -np.inf
        known[row_of(index.not_again, row)[0]] = -np.inf
        if exclude_known:
            known[row_of(index.known_peers, row)[0]] = -np.inf
        known[[index.city_row[other] for other in exclude if other in index.city_row]] = -np.inf
        if allowed is not None:
            known[~allowed] = -np.inf

        def shares(rows: np.ndarray) -> np.ndarray:
            """A peer must share something real: a challenge, or (unless focused) a cohort or a partner;
            context alone is not a reason. Checked only for the few rows that get near the list."""
            ok = shared[rows] > 0
            for values in () if focused else groups.values():
                ok |= values[rows] > 0
            return ok

        candidates = None
        if dense:
            seeds = min(n, max(5 * pool, 50))
            best, passed, cut = _largest_above(known, seeds)
            best = best[(known[best] != -np.inf) & shares(best)]
            if best.size < min(pool, seeds):  # cities sharing nothing crowd the top: rule them all out first
                nothing = np.flatnonzero(~shares(np.arange(n)))
                known[nothing] = -np.inf
                best, passed, cut = _largest_above(known, seeds)
                best = best[known[best] != -np.inf]
            if best.size >= pool:
                exact = partial[best] + sum(weights[name] * self._signal(index, name, row, query, best)
                                            for name in dense)
                floor = -np.partition(-exact, pool - 1)[pool - 1]
                bound = floor - slack - 1e-9 * (1 + abs(floor))  # room for rounding: a superset
                candidates = passed[known[passed] >= bound] if passed is not None and bound >= cut \
                    else np.flatnonzero(known >= bound)
        elif n > pool:  # no dense signal: the totals are known already; cut at the pool-th best
            candidates = np.flatnonzero(known >= known[_largest(known, pool)].min())
        if candidates is None:  # fewer eligible cities than the pool: all of them
            candidates = np.flatnonzero(known != -np.inf)
        candidates = candidates[(known[candidates] != -np.inf) & shares(candidates)]
        total_c = partial[candidates] + sum(weights[name] * self._signal(index, name, row, query, candidates)
                                            for name in dense)
        positive = total_c > 0
        candidates, total_c = candidates[positive], total_c[positive]
        if candidates.size > pool:  # partial sort, keeping every candidate tied with the last (ties go by id)
            kth = -np.partition(-total_c, pool - 1)[pool - 1]
            keep = total_c >= kth
            candidates, total_c = candidates[keep], total_c[keep]
        order = np.lexsort((candidates, -total_c))[:pool]  # rows are in id order
        if diversify > 0:
            order = order[_mmr(index, candidates[order], total_c[order], k, diversify)]
        top, total = candidates[order], dict(zip(candidates[order].tolist(), total_c[order].tolist(), strict=True))
        # The weighted signals explain the score (the others contribute nothing). The sparse ones were
        # computed for everyone already; the dense ones only for the k returned.
        weighted = [name for name in SIGNALS if self.weights_[name] > 0]
        sparse = {"challenges": shared[top] / w_challenges, **{name: values[top] for name, values in groups.items()}}
        columns = [np.asarray(sparse[name] if name in sparse else self._signal(index, name, row, query, top),
                              dtype=np.float64).tolist() for name in weighted]
        mine = {name: frozenset(row_of(matrix, row)[0].tolist()) for name, matrix in _evidence(index)}
        return [self._explain(index, mine, j, dict(zip(weighted, [column[i] for column in columns], strict=True)),
                              total[j])
                for i, j in enumerate(top.tolist())]

    @staticmethod
    def _focus(index: MatchingIndex, challenges: Iterable[str]) -> np.ndarray:
        mask = np.zeros(len(index.challenge_ids))
        for challenge in challenges:
            col = index.challenge_col.get(challenge)
            if col is None:
                raise NotFoundError(f"no challenge with id {challenge!r}")
            mask[col] = 1.0
        return mask

    @staticmethod
    def _signal(index: MatchingIndex, name: str, row: int, query: np.ndarray, rows: np.ndarray | None) -> np.ndarray:
        """One signal's values, 0..1, for `rows` (None: every city)."""
        if name == "challenges":
            norm = query.sum()
            if norm == 0:
                return np.zeros(len(index.city_ids) if rows is None else len(rows))
            if rows is None:  # everyone: dense block for popular columns, inverted index for the rest
                return index.challenge_scores(query) / norm
            return _rows_dot(index.challenges, rows, query) / norm
        if name in ("text", "cohorts", "partners"):
            full = {"text": index.text, "cohorts": index.cohorts, "partners": index.partners}[name]
            mine = dense_row(full, row)
            shared = full @ mine if rows is None else _rows_dot(full, rows, mine)
            if name == "text":
                return shared
            count = mine.sum()
            return shared / count if count else np.zeros(len(shared))
        everyone = slice(None) if rows is None else rows
        if name == "language":
            return _same(index.language_code, row, everyone)
        pop = index.population[everyone]
        me = index.population[row]
        ratio = np.where((pop > 0) & (me > 0), np.minimum(pop, me) / np.maximum(np.maximum(pop, me), 1), 0.0)
        return 0.5 * _same(index.region_code, row, everyone) + 0.5 * ratio

    @staticmethod
    def _allowed(index: MatchingIndex, row: int, country: str | None, region: str | None, exclude_own_country: bool,
                 min_population: int | None, max_population: int | None, cohort: str | None) -> np.ndarray | None:
        """The cities the filters allow (None: no filter given)."""
        ok = None

        def both(mask: np.ndarray) -> np.ndarray:
            return mask if ok is None else ok & mask

        if country is not None:
            ok = both(index.country_code == index.code("country", country))
        if exclude_own_country:
            ok = both(index.country_code != index.country_code[row])
        if region is not None:
            ok = both(index.region_code == index.code("region", region))
        if min_population is not None or max_population is not None:
            low, high = min_population or 0, max_population
            if low < 0 or (high is not None and high < low):
                raise UsageError(f"population band {low}..{high} is empty; give 0 <= min_population <= max_population")
            ok = both((index.population > 0) & (index.population >= low))
            if high is not None:
                ok &= index.population <= high
        if cohort is not None:
            col = {c: i for i, c in enumerate(index.cohort_ids)}.get(cohort)
            if col is None:
                raise NotFoundError(f"no cohort with id {cohort!r}")
            members = np.zeros(len(index.city_ids), dtype=bool)
            members[row_of(index.cohort_members, col)[0]] = True
            ok = both(members)
        return ok

    def _explain(self, index: MatchingIndex, mine: dict[str, frozenset[int]], j: int, values: dict[str, float],
                 total: float) -> PeerMatch:
        """One match with its evidence; `values`: the weighted signals' values."""
        def common(name: str, matrix, ids) -> list:  # rows hold a handful of entries: sets beat numpy here
            if not mine[name]:
                return []
            theirs = row_of(matrix, j)[0].tolist()  # in column order, which is id order
            return [index.nodes[ids[c]] for c in theirs if c in mine[name]]

        direct = common("direct", index.direct, index.challenge_ids)
        # parents of what both face directly add nothing new
        skip = {c.id for c in direct}.union(*(index.ancestors[c.id] for c in direct))
        related = [c for c in common("challenges", index.challenges, index.challenge_ids) if c.id not in skip]
        partners = common("partners", index.partners, index.partner_ids)
        cohorts = common("cohorts", index.cohorts, index.cohort_ids)
        weights = self.weights_
        signals = tuple(Signal(name, value, weights[name] * value) for name, value in values.items())
        city = index.cities[j]
        return PeerMatch(city=city, score=total, signals=signals, shared_challenges=tuple(direct),
                         related_challenges=tuple(related), shared_partners=tuple(partners),
                         shared_cohorts=tuple(cohorts), reason=_reason(city, direct, related, partners, cohorts))


def _evidence(index: MatchingIndex) -> tuple[tuple[str, object], ...]:
    """The matrices explanations intersect, by name."""
    return (("direct", index.direct), ("challenges", index.challenges), ("partners", index.partners),
            ("cohorts", index.cohorts))


def _mmr(index: MatchingIndex, rows: np.ndarray, scores: np.ndarray, k: int, diversify: float) -> np.ndarray:
    """Positions (into `rows`) of `k` picks by maximal marginal relevance, cosine similarity of challenges."""
    vectors = index.challenges[rows].toarray() * np.sqrt(index.rarity)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    unit = vectors / np.where(norms > 0, norms, 1)
    similarity = unit @ unit.T
    relevance = scores / scores.max() if scores.size and scores.max() > 0 else scores
    picked: list[int] = []
    left = list(range(len(rows)))
    while left and len(picked) < k:
        penalty = similarity[np.ix_(left, picked)].max(axis=1) if picked else np.zeros(len(left))
        gains = (1 - diversify) * relevance[left] - diversify * penalty
        picked.append(left.pop(int(np.argmax(gains))))  # argmax takes the first: ties go by score order
    return np.array(picked, dtype=np.int64)


def _largest(values: np.ndarray, m: int) -> np.ndarray:
    """Positions of the `m` largest `values` (ties at the cut in any order), as argpartition would give, but
    in a fraction of its time when m is small against the array (100k cities: 0.09 ms instead of 1.0 ms).
    See `_largest_above`.

    >>> values = np.random.default_rng(0).random(100_000)
    >>> set(_largest(values, 50).tolist()) == set(np.argsort(-values)[:50].tolist())
    True
    >>> values = np.zeros(100_000); values[[5, 70_000, 123]] = [3.0, 2.0, 1.0]  # the sample misses them
    >>> sorted(_largest(values, 2).tolist())
    [5, 70000]
    >>> sorted(_largest(np.arange(4000.0), 50).tolist())[:2]  # fewer values than the sample's stride
    [3950, 3951]
    """
    return _largest_above(values, m)[0]


def _largest_above(values: np.ndarray, m: int) -> tuple[np.ndarray, np.ndarray | None, float]:
    """(positions of the `m` largest `values`, every position whose value is at least `cut`, `cut`); the
    second is None when the whole array was searched. A threshold read off an evenly spaced sample narrows
    the search to the values at or above it; that is exact whenever at least m values pass, since the m
    largest are then all among them. Callers reuse the passing positions for any later cut at or above it.

    >>> values = np.arange(100_000.0)
    >>> best, passed, cut = _largest_above(values, 10)
    >>> sorted(best.tolist())[0], bool(passed.size == np.count_nonzero(values >= cut)), cut <= 99_990
    (99990, True, True)
    """
    n = values.size
    if m >= n:
        return np.arange(n), None, -np.inf
    if n > 64 * m:
        sample = values[:: max(1, n // 1024)]
        rank = min(sample.size - 1, 4 * m * sample.size // n + 1)  # about 4m values of the whole pass
        cut = float(np.partition(sample, sample.size - 1 - rank)[sample.size - 1 - rank])
        passed = np.flatnonzero(values >= cut)
        if passed.size >= m:
            return passed[np.argpartition(-values[passed], m - 1)[:m]], passed, cut
    return np.argpartition(-values, m - 1)[:m], None, -np.inf


def _same(codes: np.ndarray, row: int, rows) -> np.ndarray:
    """1.0 where `rows` share `row`'s (known) code, else 0.0."""
    theirs = codes[rows]
    return ((theirs >= 0) & (theirs == codes[row])).astype(np.float64)


def _rows_dot(matrix, rows: np.ndarray, vector: np.ndarray) -> np.ndarray:
    """matrix[rows] @ vector for a few rows, read straight from the CSR arrays."""
    out = np.empty(len(rows))
    for i, r in enumerate(rows.tolist()):
        cols, vals = row_of(matrix, r)
        out[i] = vals @ vector[cols]
    return out


def _names(items: list, limit: int = 3) -> str:
    names = [i.name for i in items[:limit]]
    more = f" and {len(items) - limit} more" if len(items) > limit else ""
    return ", ".join(names) + more


def _reason(city: City, direct: list, related: list, partners: list, cohorts: list) -> str:
    parts = []
    if direct:
        parts.append(f"also faces {_names(direct)}")
    if related:
        parts.append(f"works on related challenges ({_names(related)})")
    if cohorts:
        parts.append(f"is in {_names(cohorts)} with you")
    if partners:
        parts.append(f"works with {_names(partners)} too")
    return f"{city.name} " + ("; ".join(parts) if parts else "is similar in size and region") + "."
