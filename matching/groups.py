"""Learning groups: partition a cohort's cities into groups of `min_size`..`max_size` that share the most.

Objective: the sum, over groups, of the affinity of every pair in the group, where affinity is the
rarity-weighted, taxonomy-aware challenge overlap of the two cities (the index's challenge matrix).
Constraints: must-pair cities stay together, cannot-pair cities never share a group, and each group spans
at least `min_countries` countries. The number of groups is the fewest the sizes allow (ceil(n / max_size)).

Search: greedy construction in a seeded random order, then local search (swap two cities, or move one
where sizes allow) until no move improves, over several seeded restarts; deterministic for a seed.
Tests compare it with brute force on small cohorts.
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
    random_objectives: tuple[float, ...] = ()  # each of those partitions' objective (their distribution)


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


def learning_groups(index: MatchingIndex, projection: Projection, cohort_id: str, *, min_size: int = 4,
                    max_size: int = 6, min_countries: int = 1, must_pair: Iterable[tuple[str, str]] = (),
                    cannot_pair: Iterable[tuple[str, str]] = (), seed: int = 0, restarts: int = 20) -> Grouping:
    members = sorted(r.source for r in projection.relationships["MEMBER_OF"]
                     if r.target == cohort_id and r.source in index.city_row)
    if cohort_id not in {c.id for c in projection.nodes["Cohort"]}:
        raise NotFoundError(f"no cohort with id {cohort_id!r}")
    if not 1 <= min_size <= max_size:
        raise UsageError(f"group sizes {min_size}-{max_size} are invalid; use 1 <= min <= max, e.g. 4-6")
    n = len(members)
    if n == 0:
        raise UsageError(f"cohort {cohort_id!r} has no member cities to group")
    count = math.ceil(n / max_size)
    if count * min_size > n:
        raise UsageError(f"{n} member cities cannot form groups of {min_size}-{max_size}; "
                         f"try a smaller minimum (at most {n // count})")
    sizes = [n // count + (1 if i < n % count else 0) for i in range(count)]
    position = {c: i for i, c in enumerate(members)}

    def pairs(items: Iterable[tuple[str, str]], what: str) -> list[tuple[int, int]]:
        out = []
        for a, b in items:
            for c in (a, b):
                if c not in position:
                    raise UsageError(f"{what} names {c!r}, which is not a member city of {cohort_id!r}")
            out.append((min(position[a], position[b]), max(position[a], position[b])))
        return out

    units = _units(n, pairs(must_pair, "must-pair"))
    cannot = set(pairs(cannot_pair, "cannot-pair"))
    if any((min(a, b), max(a, b)) in cannot for unit in units for a in unit for b in unit if a != b):
        raise UsageError("a cannot-pair contradicts the must-pairs (directly or through a chain of them)")
    if max(len(u) for u in units) > max_size:
        raise UsageError(f"must-pairs join more than {max_size} cities into one group")
    rows = [index.city_row[c] for c in members]
    weighted = index.challenges[rows].toarray() * np.sqrt(index.rarity)
    affinity = weighted @ weighted.T
    np.fill_diagonal(affinity, 0.0)
    countries = [index.country[r] for r in rows]
    problem = _Problem(affinity, countries, units, sizes, cannot, min_countries)
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
    groups = []
    for members_idx in sorted(best, key=lambda g: min(members[m] for m in g)):
        ids = sorted(members[m] for m in members_idx)
        block = index.challenges[[index.city_row[c] for c in ids]].toarray() > 0
        shared = [index.nodes[index.challenge_ids[c]] for c in np.flatnonzero(block.sum(axis=0) >= 2)]
        idx = np.array(members_idx)
        groups.append(Group(cities=tuple(index.cities[index.city_row[c]] for c in ids),
                            shared_challenges=tuple(shared), affinity=float(affinity[np.ix_(idx, idx)].sum() / 2)))
    return Grouping(groups=tuple(groups), objective=best_score, random_objective=float(np.mean(random_scores)),
                    random_objectives=tuple(random_scores))


def _units(n: int, must: list[tuple[int, int]]) -> list[list[int]]:
    """Must-pair closures: cities that must end up together (networkx's union-find)."""
    sets = UnionFind(range(n))
    for a, b in must:
        sets.union(a, b)
    return sorted(sorted(members) for members in sets.to_sets())
