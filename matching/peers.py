"""Peer cities for a city, by shared issues, with the evidence for every suggestion.

Signals (each in [0, 1], combined by `weights`; the contributions add up to the score):

- ``challenges``: rarity-weighted shared challenges (resource allocation), taxonomy-aware, normalised by
  the asking city's own total so that 1 means "faces everything I face";
- ``text``: cosine similarity of TF-IDF vectors of the challenges' descriptions and the cities' notes;
- ``cohorts`` / ``partners``: the share of the asking city's cohorts / partner organisations in common;
- ``context``: half same region, half population ratio (smaller / larger);
- ``language``: 1 when both countries' main language (the first GeoNames lists) is the same.

Also ``popularity`` and ``proximity`` (docs/matching.md). Default weights: the ratios `citypeers evaluate
urbact` chose on URBACT II (challenges 1 : cohorts 1.5 : context 0.5; text similarity did not help there),
scaled to sum to 1; `citypeers tune` learns a deployment's own, one set for questions without focus and
one (`focused_weights`) for questions on given challenges.

Who may be suggested: a city sharing a challenge, a cohort or a partner, or one a weighted proximity or
popularity gives a value. Asked on given challenges ("peers for Amsterdam on housing"), by default only
cities working on one of them (`strict_focus`); where a deployment's own links show that cities find
their peers on a theme beyond the challenges they list, `citypeers tune` relaxes that to the rule above,
the asked challenges still scoring through ``challenges``, and the reason of a city working on none of
them says so first ("has not listed Housing; is 12 km away").

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
import scipy.sparse as sp
from scipy.linalg import blas

from graph.errors import NotFoundError, UsageError
from graph.model import Challenge, City, Cohort, Partner
from graph.projection import Projection
from matching.index import MatchingIndex, add_columns, column_entries, dense_row, row_of

MAX_MATCHES = 1000  # the most matches one recommend call gives (its k)
SIGNALS = ("challenges", "text", "cohorts", "partners", "context", "language", "popularity", "proximity")
DEFAULT_WEIGHTS = {"challenges": 1 / 3, "text": 0.0, "cohorts": 0.5, "partners": 0.0, "context": 1 / 6,
                   "language": 0.0, "popularity": 0.0, "proximity": 0.0}
# proximity: cities within the distance where exp(-distance / scale) has faded to 1% (matching.index.FADED)
# get that value, the rest 0; at most the NEAREST nearest, a cost bound. By the scale's definition (the median
# distance to the 10th nearest) about 10 cities lie within one scale at the network's median density, so
# 10 * ln(100) ** 2 ~ 212 within the 1% distance: 256 leaves room above the median density.
NEAREST = 256
FLOOR = 0.5  # diversify never picks a match scoring below this share of the best while one above it is left


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
    focus_challenges: tuple[Challenge, ...] = ()  # focused queries: the asked-about challenges the peer works on
    distance_km: float | None = None  # great-circle distance, when both cities have coordinates
    connections: int = 0  # the peer's cohorts and partners (what its popularity counts)


class NotFittedError(UsageError):
    pass


def check_population_band(low: int | None, high: int | None,
                          names: tuple[str, str] = ("min_population", "max_population")) -> None:
    """UsageError when a size band holds no city, naming its bounds as the caller spells them: the command line
    checks --min-population and --max-population, GraphQL minPopulation and maxPopulation, before they get here.

    >>> check_population_band(-5, None, ("--min-population", "--max-population"))
    Traceback (most recent call last):
    ...
    graph.errors.UsageError: --min-population -5 is below 0; give 0 <= --min-population <= --max-population
    >>> check_population_band(500, 100, ("minPopulation", "maxPopulation"))
    Traceback (most recent call last):
    ...
    graph.errors.UsageError: maxPopulation 100 is below minPopulation 500; give 0 <= minPopulation <= maxPopulation
    """
    low_name, high_name = names
    valid = f"give 0 <= {low_name} <= {high_name}"
    for name, value in ((low_name, low), (high_name, high)):
        if value is not None and value < 0:
            raise UsageError(f"{name} {value} is below 0; {valid}")
    if low is not None and high is not None and high < low:
        raise UsageError(f"{high_name} {high} is below {low_name} {low}; {valid}")


def _checked(weights: Mapping[str, float]) -> dict[str, float]:
    """Every signal's weight (0 for those not given), after checking the names and signs."""
    unknown = set(weights) - set(SIGNALS)
    if unknown:
        raise UsageError(f"unknown signal weight {sorted(unknown)[0]!r}; valid signals: {', '.join(SIGNALS)}")
    if any(w < 0 for w in weights.values()):
        raise UsageError(f"signal weights must be 0 or more, got {dict(weights)}")
    return {name: float(weights.get(name, 0.0)) for name in SIGNALS}


class PeerRecommender:
    """Recommend peer cities. scikit-learn manners: keyword-only hyperparameters, `fit` returns self,
    learned state ends in `_`, and using it unfitted raises NotFittedError."""

    def __init__(self, *, weights: Mapping[str, float] | None = None,
                 focused_weights: Mapping[str, float] | None = None, parent_weight: float = 0.5,
                 strict_focus: bool = True):
        self.weights = weights
        self.focused_weights = focused_weights  # for questions on given challenges; None: the same as `weights`
        self.parent_weight = parent_weight
        # Questions on given challenges: True, only cities working on one of them may be suggested; False, any
        # city the unfocused rule allows, those working on them scoring through `challenges` (tune decides).
        self.strict_focus = strict_focus

    def fit(self, projection: Projection) -> PeerRecommender:
        self.weights_ = _checked(DEFAULT_WEIGHTS if self.weights is None else self.weights)
        self.focused_weights_ = (dict(self.weights_) if self.focused_weights is None
                                 else _checked(self.focused_weights))
        self.strict_focus_ = bool(self.strict_focus)
        self.index_ = MatchingIndex.build(projection, parent_weight=self.parent_weight)
        return self

    def with_weights(self, weights: Mapping[str, float], focused_weights: Mapping[str, float] | None = None,
                     *, strict_focus: bool = True) -> PeerRecommender:
        """A fitted copy with other signal weights (for focused questions too, unless `focused_weights`) and
        focus rule, sharing this one's index (for tuning)."""
        other = PeerRecommender(weights=weights, focused_weights=focused_weights, parent_weight=self.parent_weight,
                                strict_focus=strict_focus)
        other.weights_ = _checked(weights)
        other.focused_weights_ = dict(other.weights_) if focused_weights is None else _checked(focused_weights)
        other.strict_focus_ = strict_focus
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

        Cost per call: one first pass over every city in float32 (the inverted index for less common
        challenges, cohorts and partners, one BLAS pass per popular challenge of the query, context's region
        half, language), at half the memory traffic of float64: that is what grows with the network (at 100k
        cities ~0.2 ms of a ~0.55 ms call). It only picks rows: text and the population half of context are
        computed for the candidates that can still reach the top `k`, the sparse signals exactly (float64,
        from the rows' own entries) for the few within the rounding margin of the cut, and every signal's
        value for the `k` returned. Exact: tests/test_peer_search.py compares it with brute force.
        """
        index = self._index()
        if not 1 <= k <= MAX_MATCHES:
            raise UsageError(f"k={k} is out of range; ask for 1 to {MAX_MATCHES} matches")
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
        focused = challenges is not None
        weights = self.focused_weights_ if focused else self.weights_
        strict = focused and self.strict_focus_  # only cities working on the asked challenges may be suggested
        allowed = self._allowed(index, row, country, region, exclude_own_country, min_population, max_population,
                                cohort)  # None: no filter
        pool = k if diversify == 0 else max(k, min(5 * k, 200))  # MMR picks k from a wider pool of the best
        # Pass 1, over every city, in float32: at 100k cities these whole-array passes are bound by memory
        # traffic, and float32 halves it. `approx` is each city's exact part of the total (the sparse signals,
        # context's region half, language) to within `margin`; it only decides which rows get scored exactly.
        # Every total returned and every bound compared is float64, from the rows themselves.
        norm = query.sum()
        w_challenges = weights["challenges"] if weights["challenges"] > 0 else 1.0  # 0: still decides eligibility
        scaled = query * (w_challenges / norm) if norm > 0 else np.zeros_like(query)  # challenges @ scaled
        matrices = _group_matrices(index)
        groups = {}  # cohorts, partners: the asking city's own, weighted by rarity (a city without any: no signal)
        for name, (matrix, by_column) in matrices.items():
            cols = row_of(matrix, row)[0]
            if len(cols):
                groups[name] = group_query(by_column, cols)
        dense = [name for name in ("text", "context", "language", "popularity", "proximity") if weights[name] > 0]
        slack, terms = weights["text"], 2  # terms: additions into approx, for its rounding error
        own_region = index.region_code[row]
        if weights["context"] > 0 and own_region >= 0:  # the region half exactly; the population half bounded
            approx = index.region_indicator[own_region] * np.float32(weights["context"] / 2)
        else:
            approx = np.zeros(n, dtype=np.float32)
        slack += weights["context"] / 2
        if weights["challenges"] > 0:
            approx = index.add_challenge_scores(approx, scaled)
            terms += np.count_nonzero(scaled)
        for name, vector in groups.items():
            if weights[name] > 0:
                add_columns(approx, matrices[name][1], vector * weights[name])
                terms += np.count_nonzero(vector)
        if weights["language"] > 0 and index.language_code[row] >= 0:
            approx[index.language_rows[index.language_code[row]]] += np.float32(weights["language"])
        if weights["popularity"] > 0:  # every city's, exactly (one pass)
            approx = blas.saxpy(index.popularity32, approx, a=weights["popularity"])
            terms += 1
        near_sorted, near_values = np.zeros(0, dtype=np.int64), np.zeros(0)
        if weights["proximity"] > 0:  # the nearest only: a sparse signal, exact in the first pass
            near_sorted, near_values = index.geo.near(row, NEAREST)
            approx[near_sorted] += (weights["proximity"] * near_values).astype(np.float32)
            terms += 1
        near_part = weights["proximity"] * near_values

        def signal(name: str, rows: np.ndarray) -> np.ndarray:
            """A dense signal's values for `rows` (proximity from this query's nearest, asked once)."""
            if name == "proximity":
                return _lookup(near_sorted, near_values, rows)
            return self._signal(index, name, row, query, rows)

        # The rounding error of approx: each term added brings at most four float32 roundings (its weight, its
        # value, their product, the sum), each at most 2**-24 of a total no larger than the sum of the weights
        # (every signal is at most 1). Twice that bound is the margin.
        rounding = 8 * terms * sum(weights.values()) * 2.0 ** -24

        def margin(value: float) -> float:
            return rounding + 1e-9 * (1 + abs(value))

        # Who may not be suggested gets -inf: the asking city, feedback (dismissed, or met already), known
        # peers on request, `exclude`, the filters.
        approx[row] = -np.inf
        approx[row_of(index.not_again, row)[0]] = -np.inf
        if exclude_known:
            approx[row_of(index.known_peers, row)[0]] = -np.inf
        approx[[index.city_row[other] for other in exclude if other in index.city_row]] = -np.inf
        if allowed is not None:
            approx[~allowed] = -np.inf

        def exact(rows: np.ndarray) -> tuple[np.ndarray, np.ndarray, dict[str, np.ndarray]]:
            """For `rows`, in float64 from their own entries: the sparse part of their totals, whether each
            may be suggested (it shares a challenge, or works on an asked one; unless the focus is strict, also
            a cohort or a partner, or a weighted proximity or popularity gives it a value; context or language
            alone is not a reason), and each
            sparse signal's values (challenges weighted)."""
            values = {"challenges": _rows_dot(index.challenges, rows, scaled)}
            for name, vector in groups.items():
                values[name] = _rows_dot(matrices[name][0], rows, vector)
            ok = values["challenges"] > 0
            if not strict:  # a learned nearness or connectedness is a reason too (unless strictly focused)
                if weights["proximity"] > 0:
                    ok |= _lookup(near_sorted, near_values, rows) > 0
                if weights["popularity"] > 0:
                    ok |= index.popularity[rows] > 0
            part = values["challenges"] if weights["challenges"] > 0 else np.zeros(len(rows))
            for name in groups:
                if not strict:
                    ok |= values[name] > 0
                if weights[name] > 0:
                    part = part + weights[name] * values[name]
            return part, ok, values

        # approx's sparse part is all sharing (challenges; cohorts and partners unless the focus is strict),
        # unless strictly focused peers give cohorts or partners a weight: sharing those is no reason then
        sure = not (strict and any(weights[name] > 0 for name in groups))

        def rough(rows: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
            """For `rows`: their totals to within `rounding` (approx, whose region half and language are taken
            out again, plus the dense signals exactly); positions of some of them that are certainly eligible
            with a positive total; and the dense signals' part of their totals."""
            dense_part = sum((weights[name] * signal(name, rows) for name in dense),
                             np.zeros(len(rows)))
            sparse = approx[rows].astype(np.float64)
            if weights["context"] > 0 and own_region >= 0:
                sparse -= weights["context"] / 2 * _same(index.region_code, row, rows)
            if weights["language"] > 0:
                sparse -= weights["language"] * _same(index.language_code, row, rows)
            if weights["popularity"] > 0:
                sparse -= weights["popularity"] * index.popularity[rows]
            if near_sorted.size:  # the proximity approx holds for the nearest
                sparse -= _lookup(near_sorted, near_part, rows)
            totals = sparse + dense_part
            if sure:  # above the rounding, the city certainly shares something
                return totals, np.flatnonzero(sparse > rounding), dense_part
            # focused, cohorts or partners weighted: check the best few exactly
            near = _largest(totals, min(len(rows), 4 * pool))
            return totals, near[exact(rows[near])[1] & (totals[near] > margin(totals[near]))], dense_part

        def pool_th(totals: np.ndarray) -> float:
            return float(-np.partition(-totals, pool - 1)[pool - 1])

        # Dense signals (text, context, language) only where they can still matter (MaxScore-style pruning;
        # exact). The best few by approx give a lower bound on the pool-th best total (`floor`): a city whose
        # approx plus what the population half and text can add stays below it cannot make the list.
        candidates = None
        if dense:
            seeds = min(n, max(5 * pool, 50))
            best, passed, cut = _largest_above(approx, seeds)
            best = best[approx[best] != -np.inf]
            totals, certain, _ = rough(best)
            if certain.size >= pool:  # usual: from rough totals, less the rounding
                floor = pool_th(totals[certain])
                floor -= margin(floor)
            else:  # eligibility and totals exactly
                part, ok, _ = exact(best)
                if np.count_nonzero(ok) < min(pool, seeds):  # cities sharing nothing crowd the top: rule them out
                    sharers = _sharers(index, scaled, {} if strict else groups, matrices)
                    if not strict:
                        sharers[near_sorted[near_values > 0]] |= weights["proximity"] > 0
                        if weights["popularity"] > 0:
                            sharers |= index.popularity > 0
                    approx[~sharers] = -np.inf
                    best, passed, cut = _largest_above(approx, seeds)
                    best = best[approx[best] != -np.inf]
                    part, ok, _ = exact(best)
                best, part = best[ok], part[ok]
                floor = pool_th(part + sum(weights[name] * signal(name, best)
                                           for name in dense)) if best.size >= pool else None
            if floor is not None:
                bound = floor - slack - margin(floor)  # a superset, whatever the rounding
                candidates = passed[approx[passed] >= bound] if passed is not None and bound >= cut \
                    else np.flatnonzero(approx >= bound)
        elif n > pool:  # no dense signal: approx is the total; cut at the pool-th best, less twice the margin
            kth = float(approx[_largest(approx, pool)].min())
            if kth != -np.inf:
                candidates = np.flatnonzero(approx >= kth - 2 * margin(kth))
        if candidates is None:  # fewer eligible cities than the pool: all of them
            candidates = np.flatnonzero(approx != -np.inf)
        candidates = candidates[approx[candidates] != -np.inf]
        # The sparse part exactly, row by row, only for the candidates that can still make the list: those whose
        # rough total is within twice the margin of the pool-th best rough total of certainly eligible ones.
        totals, certain, dense_c = rough(candidates)
        if candidates.size > pool and certain.size >= pool:
            kth = pool_th(totals[certain])
            close = np.flatnonzero(totals >= kth - 2 * margin(kth))
            candidates, dense_c = candidates[close], dense_c[close]
        part, ok, values = exact(candidates)
        total_c = part + dense_c
        keep = ok & (total_c > 0)
        if np.count_nonzero(keep) > pool:  # partial sort, keeping every candidate tied with the last
            kth = -np.partition(-total_c[keep], pool - 1)[pool - 1]
            keep &= total_c >= kth
        candidates, total_c = candidates[keep], total_c[keep]
        values = {name: v[keep] for name, v in values.items()}
        order = np.lexsort(tie_keys(index, row, candidates, total_c))[:pool]
        if diversify > 0:
            order = order[_mmr(index, candidates[order], total_c[order], k, diversify)]
        top, total = candidates[order], dict(zip(candidates[order].tolist(), total_c[order].tolist(), strict=True))
        # The weighted signals explain the score (the others contribute nothing). The sparse ones were
        # computed exactly for the candidates already; the dense ones only for the k returned.
        weighted = [name for name in SIGNALS if weights[name] > 0]
        sparse = {"challenges": values["challenges"][order] / w_challenges,
                  **{name: values[name][order] for name in groups}}
        columns = [np.asarray(sparse[name] if name in sparse else signal(name, top),
                              dtype=np.float64).tolist() for name in weighted]
        mine = {name: frozenset(row_of(matrix, row)[0].tolist()) for name, matrix in _evidence(index)}
        focus = frozenset(np.flatnonzero(query).tolist()) if focused else frozenset()
        distances = index.geo.distances_km(row, top)
        return [self._explain(index, mine, j, dict(zip(weighted, [column[i] for column in columns], strict=True)),
                              total[j], row, focus, distances, weights)
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
            full, by_column = {"text": (index.text, None), "cohorts": (index.cohorts, index.cohort_members),
                               "partners": (index.partners, index.partner_cities)}[name]
            mine = dense_row(full, row) if name == "text" else group_query(by_column, row_of(full, row)[0])
            return full @ mine if rows is None else _rows_dot(full, rows, mine)
        everyone = slice(None) if rows is None else rows
        if name == "language":
            return _same(index.language_code, row, everyone)
        if name == "popularity":
            return index.popularity[everyone].astype(np.float64)
        if name == "proximity":
            near, values = index.geo.near(row, NEAREST)
            return _lookup(near, values, np.arange(len(index.city_ids)) if rows is None else rows)
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
            check_population_band(min_population, max_population)
            low, high = min_population or 0, max_population
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
                 total: float, row: int, focus: frozenset[int], distances: dict[int, float],
                 weights: dict[str, float]) -> PeerMatch:
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
        signals = tuple(Signal(name, value, weights[name] * value) for name, value in values.items())
        city = index.cities[j]
        on_focus = [index.nodes[index.challenge_ids[c]] for c in row_of(index.challenges, j)[0].tolist() if c in focus]
        # a soft focus may suggest a city working on none of the asked challenges: the reason says so first
        not_listed = [index.nodes[index.challenge_ids[c]] for c in sorted(focus)] if focus and not on_focus else []
        distance = distances.get(j)
        connections = int(index.cohorts.indptr[j + 1] - index.cohorts.indptr[j]
                          + index.partners.indptr[j + 1] - index.partners.indptr[j])
        context = _context_clauses(index, row, j, {s.name: s.contribution for s in signals}, distance, connections)
        return PeerMatch(city=city, score=total, signals=signals, shared_challenges=tuple(direct),
                         related_challenges=tuple(related), shared_partners=tuple(partners),
                         shared_cohorts=tuple(cohorts), focus_challenges=tuple(on_focus), distance_km=distance,
                         connections=connections,
                         reason=_reason(city, *_contributing(direct, related, partners, cohorts, focus, weights),
                                        on_focus, context, signals, not_listed))


def _contributing(direct: list, related: list, partners: list, cohorts: list, focus: frozenset[int],
                  weights: dict[str, float]) -> tuple[list, list, list, list]:
    """The shared evidence a reason may name: what its signal added to the score. Shared challenges count
    through `challenges` only when unfocused (focused, the asked ones score and are named by "works on");
    cohorts and partners through their own signals. A city may still be suggested for sharing what does not
    score (the rule of who may be suggested), but the reason does not give it as one: "works with Bloomberg
    Philanthropies too" where every city does and the partners signal has weight 0 is no reason."""
    challenges = not focus and weights["challenges"] > 0
    return (direct if challenges else [], related if challenges else [], partners if weights["partners"] > 0 else [],
            cohorts if weights["cohorts"] > 0 else [])


def _evidence(index: MatchingIndex) -> tuple[tuple[str, object], ...]:
    """The matrices explanations intersect, by name."""
    return (("direct", index.direct), ("challenges", index.challenges), ("partners", index.partners),
            ("cohorts", index.cohorts))


def group_query(by_column: sp.csc_array, cols: np.ndarray) -> np.ndarray:
    """The query vector of a city's cohorts (or partners) `cols`: each weighs 1 / log(1 + its size), as a rare
    challenge does, scaled to sum to 1, so sharing a small cohort says more than sharing a crowd's.

    >>> by_column = sp.csc_array(np.array([[1.0, 1], [1, 0], [1, 0], [0, 1]]))  # a cohort of 3, one of 2
    >>> group_query(by_column, np.array([0, 1])).round(3).tolist()
    [0.442, 0.558]
    """
    out = np.zeros(by_column.shape[1])
    if len(cols):
        weight = 1.0 / np.log1p(np.maximum(np.diff(by_column.indptr)[cols], 1))
        out[cols] = weight / weight.sum()
    return out


def _lookup(keys: np.ndarray, values: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """values[i] where rows == keys[i] (keys sorted), else 0."""
    if not keys.size:
        return np.zeros(len(rows))
    at = np.minimum(np.searchsorted(keys, rows), keys.size - 1)
    return np.where(keys[at] == rows, values[at], 0.0)


def tie_keys(index: MatchingIndex, row: int, rows: np.ndarray, totals: np.ndarray) -> tuple[np.ndarray, ...]:
    """np.lexsort keys for `rows` with scores `totals`: by score, then popularity (the better connected
    first), then distance (the nearer first; no coordinates last), then id (rows are in id order)."""
    return rows, -index.geo.proximity(row, rows), -index.popularity[rows], -totals


def _mmr(index: MatchingIndex, rows: np.ndarray, scores: np.ndarray, k: int, diversify: float) -> np.ndarray:
    """Positions (into `rows`, best first) of `k` picks by maximal marginal relevance, cosine similarity of
    challenges. A relevance floor keeps it honest: while a match scoring at least FLOOR times the best is
    left, nothing below it is picked, so diversity never lifts a far weaker match over a strong one."""
    vectors = index.challenges[rows].toarray() * np.sqrt(index.rarity)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    unit = vectors / np.where(norms > 0, norms, 1)
    similarity = unit @ unit.T
    relevance = scores / scores.max() if scores.size and scores.max() > 0 else scores
    picked: list[int] = []
    left = list(range(len(rows)))
    while left and len(picked) < k:
        strong = [i for i in left if relevance[i] >= FLOOR]
        if not strong:  # only weak ones left: by score
            picked.append(left.pop(0))
            continue
        penalty = similarity[np.ix_(strong, picked)].max(axis=1) if picked else np.zeros(len(strong))
        gains = (1 - diversify) * relevance[strong] - diversify * penalty
        chosen = strong[int(np.argmax(gains))]  # argmax takes the first: ties go by score order
        left.remove(chosen)
        picked.append(chosen)
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
    """matrix[rows] @ vector for some rows, read straight from the CSR arrays: five numpy calls, where scipy's
    row indexing costs some 35 us a call however few the rows. Each row's entries are summed in column
    order, so rows with the same entries get the same sum to the last bit.

    >>> import scipy.sparse as sp
    >>> m = sp.csr_array(np.array([[1.0, 0, 2], [0, 0, 0], [0, 3, 4]]))
    >>> _rows_dot(m, np.array([2, 1, 0]), np.array([1.0, 10, 100])).tolist()
    [430.0, 0.0, 201.0]
    """
    starts = matrix.indptr[rows]
    lengths = matrix.indptr[rows + 1] - starts
    owner = np.repeat(np.arange(len(rows)), lengths)
    entries = np.arange(owner.size) + np.repeat(starts - (np.cumsum(lengths) - lengths), lengths)
    products = matrix.data[entries] * vector[matrix.indices[entries]]
    return np.bincount(owner, weights=products, minlength=len(rows)).astype(np.float64, copy=False)


def _sharers(index: MatchingIndex, scaled: np.ndarray, groups: dict[str, np.ndarray],
             matrices: dict[str, tuple[sp.csr_array, sp.csc_array]]) -> np.ndarray:
    """Every city sharing one of the query's challenges or one of `groups` (cohorts, partners), as a mask."""
    out = np.zeros(len(index.city_ids), dtype=bool)
    out[column_entries(index.challenges_by_column, scaled)[0]] = True
    for name, vector in groups.items():
        out[column_entries(matrices[name][1], vector)[0]] = True
    return out


def _group_matrices(index: MatchingIndex) -> dict[str, tuple[sp.csr_array, sp.csc_array]]:
    """Cohorts and partners, each by city (rows) and by column (the inverted index)."""
    return {"cohorts": (index.cohorts, index.cohort_members), "partners": (index.partners, index.partner_cities)}


def _names(items: list, limit: int = 3) -> str:
    names = [i.name for i in items[:limit]]
    more = f" and {len(items) - limit} more" if len(items) > limit else ""
    return ", ".join(names) + more


def _context_clauses(index: MatchingIndex, row: int, j: int, contribution: dict[str, float],
                     distance: float | None, connections: int) -> list[str]:
    """A clause for each context-like signal that contributed, naming what it found true."""
    parts = []
    if contribution.get("context", 0) > 0:
        if index.region_code[j] >= 0 and index.region_code[j] == index.region_code[row]:
            parts.append(f"is also in {index.region[j]}")
        mine, theirs = index.population[row], index.population[j]
        if mine > 0 and theirs > 0 and min(mine, theirs) >= 0.5 * max(mine, theirs):
            parts.append("is of similar size")
    if contribution.get("language", 0) > 0:
        parts.append("has the same main language")
    if contribution.get("proximity", 0) > 0 and distance is not None:
        parts.append(f"is {distance:,.0f} km away")
    if contribution.get("popularity", 0) > 0:
        # "well connected" only where it is so: above the median city; below, the bare count
        links = f"{connections} cohorts and partners" if connections != 1 else "1 cohort or partner"
        parts.append(f"is well connected ({links})" if connections > index.typical_connections
                     else f"has {links}")
    return parts


def _reason(city: City, direct: list, related: list, partners: list, cohorts: list, on_focus: list = (),
            context: list = (), signals: tuple = (), not_listed: list = ()) -> str:
    parts = []
    if on_focus:
        parts.append(f"works on {_names(on_focus)}")
    if not_listed:  # a soft focus: suggested for the other reasons, which follow
        parts.append(f"has not listed {_names(not_listed)}")
    also = [c for c in direct if c not in on_focus]  # "works on Housing" already said it for Housing
    if also:
        parts.append(f"also faces {_names(also)}")
    if related:
        parts.append(f"works on related challenges ({_names(related)})")
    if cohorts:
        parts.append(f"is in {_names(cohorts)} with you")
    if partners:
        parts.append(f"works with {_names(partners)} too")
    parts += context
    if not parts:  # only what no clause names contributed (a population ratio under one half, say)
        parts.append("scores on " + ", ".join(s.name for s in signals if s.contribution > 0))
    return f"{city.name} " + "; ".join(parts) + "."
