"""Learning groups: partition a cohort's cities into groups of `min_size`..`max_size` that share the most.

Objective: the sum, over groups, of the affinity of every pair in the group, where affinity is the
rarity-weighted, taxonomy-aware challenge overlap of the two cities (the index's challenge matrix).
Constraints: must-pair cities stay together, cannot-pair cities never share a group, and each group spans
at least `min_countries` countries. The number of groups is the fewest the sizes allow (ceil(n / max_size)).

Search: greedy construction in a seeded random order, then local search (swap two cities, or move one
where sizes allow) until no move improves, over several seeded restarts; deterministic for a seed.
Tests compare it with brute force on small cohorts. `score_grouping` scores a grouping given by hand (the
explorer's what-if) with the same affinities and objective, listing the constraints it breaks.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
from networkx.utils import UnionFind

from graph.errors import NotFoundError, UsageError
from graph.model import Challenge, City
from graph.projection import Projection
from matching.index import MatchingIndex


@dataclass(frozen=True)
class Group:
    cities: tuple[City, ...]
    shared_challenges: tuple[Challenge, ...]  # faced (directly or via a sub-challenge) by at least two members
    affinity: float


@dataclass(frozen=True)
class Grouping:
    groups: tuple[Group, ...]
    objective: float
    random_objective: float  # the mean objective of seeded random partitions with the same sizes


class _Problem:
    def __init__(self, affinity: np.ndarray, countries: list[str], units: list[list[int]], sizes: list[int],
                 cannot: set[tuple[int, int]], min_countries: int):
        self.affinity, self.countries, self.units, self.sizes = affinity, countries, units, sizes
        self.cannot, self.min_countries = cannot, min_countries
        self.bounds = (min(sizes), max(sizes))  # local search keeps every group within the planned sizes

    def score(self, groups: list[list[int]]) -> float:
        """Objective minus a large penalty per violated country constraint."""
        total = 0.0
        for members in groups:
            idx = np.array(members)
            total += float(self.affinity[np.ix_(idx, idx)].sum()) / 2
            missing = self.min_countries - len({self.countries[m] for m in members})
            if missing > 0:
                total -= 1e6 * missing
        return total

    def allowed(self, unit: list[int], group: list[int]) -> bool:
        return not any((min(a, b), max(a, b)) in self.cannot for a in unit for b in group)

    def construct(self, rng: np.random.Generator) -> list[list[int]] | None:
        groups: list[list[int]] = [[] for _ in self.sizes]
        for u in rng.permutation(len(self.units)):
            unit = self.units[u]
            options = [g for g, members in enumerate(groups)
                       if len(members) + len(unit) <= self.sizes[g] and self.allowed(unit, members)]
            if not options:
                return None
            gains = [self.affinity[np.ix_(unit, groups[g])].sum() if groups[g] else -len(groups[g]) for g in options]
            groups[options[int(np.argmax(gains))]].extend(unit)
        return groups

    def improve(self, groups: list[list[int]]) -> list[list[int]]:
        unit_of = {m: i for i, unit in enumerate(self.units) for m in unit}
        best = self.score(groups)
        improved = True
        while improved:
            improved = False
            for g1 in range(len(groups)):
                for g2 in range(g1 + 1, len(groups)):
                    for a in {unit_of[m] for m in groups[g1]}:
                        for b in [None, *{unit_of[m] for m in groups[g2]}]:
                            trial = self._swap(groups, g1, g2, a, b)
                            if trial is not None and (value := self.score(trial)) > best + 1e-12:
                                groups, best, improved = trial, value, True
                                break
                        if improved:
                            break
                    if improved:
                        break
                if improved:
                    break
        return groups

    def _swap(self, groups, g1, g2, a, b) -> list[list[int]] | None:
        """Swap unit a (in g1) with unit b (in g2), or move a to g2 when b is None; None if not allowed."""
        ua, ub = self.units[a], (self.units[b] if b is not None else [])
        new1 = [m for m in groups[g1] if m not in ua] + ub
        new2 = [m for m in groups[g2] if m not in ub] + ua
        lo, hi = self.bounds
        if not (lo <= len(new1) <= hi and lo <= len(new2) <= hi):
            return None
        stay1, stay2 = new1[: len(new1) - len(ub)], [m for m in groups[g2] if m not in ub]
        if not self.allowed(ua, stay2) or not self.allowed(ub, stay1):
            return None
        out = list(groups)
        out[g1], out[g2] = new1, new2
        return out


@dataclass(frozen=True)
class Violation:
    constraint: str  # "size", "countries", "must-pair", "cannot-pair"
    message: str
    group: int | None  # 0-based index of the group it is about, when it is about one
    cities: tuple[str, ...]


@dataclass(frozen=True)
class GroupingScore:
    groups: tuple[Group, ...]  # in the order given
    objective: float  # the sum of the groups' affinities, as learning_groups scores a grouping
    violations: tuple[Violation, ...]


@dataclass(frozen=True)
class _Cohort:
    members: list[str]
    position: dict[str, int]
    affinity: np.ndarray
    countries: list[str]


def _cohort(index: MatchingIndex, projection: Projection, cohort_id: str) -> _Cohort:
    """A cohort's member cities (sorted) and their pairwise affinity, as every grouping is scored."""
    if cohort_id not in {c.id for c in projection.nodes["Cohort"]}:
        raise NotFoundError(f"no cohort with id {cohort_id!r}")
    members = sorted(r.source for r in projection.relationships["MEMBER_OF"]
                     if r.target == cohort_id and r.source in index.city_row)
    if not members:
        raise UsageError(f"cohort {cohort_id!r} has no member cities to group")
    rows = [index.city_row[c] for c in members]
    weighted = index.challenges[rows].toarray() * np.sqrt(index.rarity)
    affinity = weighted @ weighted.T
    np.fill_diagonal(affinity, 0.0)
    return _Cohort(members, {c: i for i, c in enumerate(members)}, affinity, [index.country[r] for r in rows])


def _group(index: MatchingIndex, cohort: _Cohort, members_idx: list[int]) -> Group:
    ids = sorted(cohort.members[m] for m in members_idx)
    block = index.challenges[[index.city_row[c] for c in ids]].toarray() > 0
    shared = [index.nodes[index.challenge_ids[c]] for c in np.flatnonzero(block.sum(axis=0) >= 2)]
    idx = np.array(members_idx, dtype=np.int64)
    return Group(cities=tuple(index.cities[index.city_row[c]] for c in ids), shared_challenges=tuple(shared),
                 affinity=float(cohort.affinity[np.ix_(idx, idx)].sum() / 2))


def _pairs(cohort: _Cohort, cohort_id: str, items: Iterable[tuple[str, str]], what: str) -> list[tuple[int, int]]:
    out = []
    for a, b in items:
        for c in (a, b):
            if c not in cohort.position:
                raise UsageError(f"{what} names {c!r}, which is not a member city of {cohort_id!r}")
        out.append((min(cohort.position[a], cohort.position[b]), max(cohort.position[a], cohort.position[b])))
    return out


def learning_groups(index: MatchingIndex, projection: Projection, cohort_id: str, *, min_size: int = 4,
                    max_size: int = 6, min_countries: int = 1, must_pair: Iterable[tuple[str, str]] = (),
                    cannot_pair: Iterable[tuple[str, str]] = (), seed: int = 0, restarts: int = 20) -> Grouping:
    cohort = _cohort(index, projection, cohort_id)
    members = cohort.members
    if not 1 <= min_size <= max_size:
        raise UsageError(f"group sizes {min_size}-{max_size} are invalid; use 1 <= min <= max, e.g. 4-6")
    n = len(members)
    count = math.ceil(n / max_size)
    if count * min_size > n:
        raise UsageError(f"{n} member cities cannot form groups of {min_size}-{max_size}; "
                         f"try a smaller minimum (at most {n // count})")
    sizes = [n // count + (1 if i < n % count else 0) for i in range(count)]
    units = _units(n, _pairs(cohort, cohort_id, must_pair, "must-pair"))
    cannot = set(_pairs(cohort, cohort_id, cannot_pair, "cannot-pair"))
    if any((min(a, b), max(a, b)) in cannot for unit in units for a in unit for b in unit if a != b):
        raise UsageError("a cannot-pair contradicts the must-pairs (directly or through a chain of them)")
    if max(len(u) for u in units) > max_size:
        raise UsageError(f"must-pairs join more than {max_size} cities into one group")
    problem = _Problem(cohort.affinity, cohort.countries, units, sizes, cannot, min_countries)
    rng = np.random.default_rng(seed)
    best, best_score = None, -math.inf
    for _ in range(restarts):
        start = problem.construct(rng)
        if start is None:
            continue
        groups = problem.improve(start)
        value = problem.score(groups)
        if value > best_score:
            best, best_score = groups, value
    if best is None or best_score < -1e5:
        raise UsageError(f"no grouping satisfies the constraints (min {min_countries} countries per group, "
                         "cannot-pairs); relax them")
    random_scores = []
    for _ in range(20):
        order = rng.permutation(n)
        cuts = np.cumsum([0, *sizes])
        random_scores.append(problem.score([order[cuts[i]:cuts[i + 1]].tolist() for i in range(len(sizes))]))
    groups = [_group(index, cohort, g) for g in sorted(best, key=lambda g: min(members[m] for m in g))]
    return Grouping(groups=tuple(groups), objective=best_score, random_objective=float(np.mean(random_scores)))


def score_grouping(index: MatchingIndex, projection: Projection, cohort_id: str, groups: list[list[str]], *,
                   min_size: int = 4, max_size: int = 6, min_countries: int = 1,
                   must_pair: Iterable[tuple[str, str]] = (),
                   cannot_pair: Iterable[tuple[str, str]] = ()) -> GroupingScore:
    """Score a grouping given by hand (an edited `learning_groups` result, say) with the same affinities and
    objective (`_Problem.score` without its penalties), and list every constraint it breaks. Each member
    city must be in exactly one group; empty groups are allowed (a city dragged out of a group of one).
    """
    cohort = _cohort(index, projection, cohort_id)
    seen: dict[str, int] = {}
    for g, group in enumerate(groups):
        for city in group:
            if city not in cohort.position:
                raise UsageError(f"group {g + 1} names {city!r}, which is not a member city of {cohort_id!r}")
            if city in seen:
                raise UsageError(f"{city!r} is in group {seen[city] + 1} and group {g + 1}; put it in one")
            seen[city] = g
    left = [c for c in cohort.members if c not in seen]
    if left:
        raise UsageError(f"{len(left)} member cities of {cohort_id!r} are in no group, e.g. {left[0]!r}; "
                         "every member city must be in one group")
    indices = [[cohort.position[c] for c in group] for group in groups]
    problem = _Problem(cohort.affinity, cohort.countries, [], [1], set(), 0)
    violations: list[Violation] = []
    for g, (group, idx) in enumerate(zip(groups, indices, strict=True)):
        if not min_size <= len(group) <= max_size:
            violations.append(Violation("size", f"group {g + 1} has {len(group)} cities; sizes are "
                                        f"{min_size}-{max_size}", g, tuple(sorted(group))))
        countries = {cohort.countries[m] for m in idx}
        if len(countries) < min_countries:
            violations.append(Violation("countries", f"group {g + 1} spans {len(countries)} countries; at least "
                                        f"{min_countries} needed", g, tuple(sorted(group))))
    for a, b in _pairs(cohort, cohort_id, must_pair, "must-pair"):
        ca, cb = cohort.members[a], cohort.members[b]
        if seen[ca] != seen[cb]:
            violations.append(Violation("must-pair", f"{ca} and {cb} must be in one group", None, (ca, cb)))
    for a, b in _pairs(cohort, cohort_id, cannot_pair, "cannot-pair"):
        ca, cb = cohort.members[a], cohort.members[b]
        if seen[ca] == seen[cb]:
            violations.append(Violation("cannot-pair", f"{ca} and {cb} may not share a group", seen[ca], (ca, cb)))
    return GroupingScore(groups=tuple(_group(index, cohort, idx) if idx else Group((), (), 0.0) for idx in indices),
                         objective=problem.score([i for i in indices if i]), violations=tuple(violations))


def _units(n: int, must: list[tuple[int, int]]) -> list[list[int]]:
    """Must-pair closures: cities that must end up together (networkx's union-find)."""
    sets = UnionFind(range(n))
    for a, b in must:
        sets.union(a, b)
    return sorted(sorted(members) for members in sets.to_sets())
