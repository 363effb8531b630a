"""Learning groups: partition a cohort's cities into groups of `min_size`..`max_size` that share the most.

Objective: the sum, over groups, of the affinity of every pair in the group, where affinity is the
rarity-weighted, taxonomy-aware challenge overlap of the two cities (the index's challenge matrix).
Constraints: must-pair cities stay together, cannot-pair cities never share a group, and each group spans
at least `min_countries` countries. The number of groups is the fewest the sizes allow (ceil(n / max_size)).

Search: greedy construction in a seeded random order, then local search (swap two cities, or move one
where sizes allow) until no move improves, over several seeded restarts; deterministic for a seed. Each
exchange is scored by its change of the objective (see `_Problem.improve`), not by re-scoring the groups.
Tests compare it with brute force on small cohorts. `score_grouping` scores a grouping given by hand (the
explorer's what-if) with the same affinities and objective, listing the constraints it breaks.
"""

from __future__ import annotations

import math
from collections.abc import Container, Iterable
from dataclasses import dataclass

import numpy as np
from networkx.utils import UnionFind

from graph.cancel import checkpoint
from graph.errors import NotFoundError, UsageError, shown
from graph.model import Challenge, City
from graph.projection import Projection
from graph.rng import seeded
from matching.index import MatchingIndex

DEFAULT_SIZES = (4, 6)  # learning groups of 4-6 cities unless asked otherwise


def default_sizes(members: int) -> tuple[int, int]:
    """The default group sizes for a cohort of `members` cities: 4-6, the minimum lowered only as far as the
    cohort needs to be split at all (3 cities make one group of 3; 7, a group of 4 and one of 3).

    >>> default_sizes(30), default_sizes(7), default_sizes(3)
    ((4, 6), (3, 6), (3, 6))
    """
    low, high = DEFAULT_SIZES
    count = max(1, math.ceil(members / high))
    return max(1, min(low, members // count)), high


def cohort_sizes(projection: Projection, cohort_id: str) -> tuple[tuple[int, int], str | None]:
    """(`default_sizes` for the cohort's member cities, a sentence saying so when they are not the defaults)."""
    members = len(_member_ids(projection, cohort_id, set(projection.ids("City"))))
    size = default_sizes(members)
    if not members or size == DEFAULT_SIZES:
        return size, None
    return size, (f"{_member_cities(members)} cannot make groups of "
                  f"{DEFAULT_SIZES[0]}-{DEFAULT_SIZES[1]}: groups of {size[0]}-{size[1]} instead (--size to choose)")


def _member_ids(projection: Projection, cohort_id: str, cities: Container[str]) -> list[str]:
    """The ids of the cohort's members among `cities`, sorted."""
    return sorted(r.source for r in projection.relationships["MEMBER_OF"]
                  if r.target == cohort_id and r.source in cities)


def _member_cities(n: int) -> str:
    """'1 member city', '3 member cities'."""
    return f"{n} member {'city' if n == 1 else 'cities'}"


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


@dataclass
class _Search:
    """The local search's state: units per group, group sizes (cities), and per unit and group the affinity
    and the number of cannot-pairs."""

    members: list[list[int]]
    sizes: np.ndarray
    to_group: np.ndarray = None  # type: ignore[assignment]
    conflicts: np.ndarray = None  # type: ignore[assignment]


class _Problem:
    def __init__(self, affinity: np.ndarray, countries: list[str], units: list[list[int]], sizes: list[int],
                 cannot: set[tuple[int, int]], min_countries: int):
        self.affinity, self.countries, self.units, self.sizes = affinity, countries, units, sizes
        self.cannot, self.min_countries = cannot, min_countries
        self.bounds = (min(sizes), max(sizes))  # local search keeps every group within the planned sizes
        # per unit (cities that must stay together): its cities, its size, the affinity within it, and between
        # units the affinity and the number of cannot-pairs
        self.unit_matrix = np.zeros((len(units), len(countries)))
        for u, unit in enumerate(units):
            self.unit_matrix[u, unit] = 1.0
        self.unit_size = self.unit_matrix.sum(axis=1)
        self.unit_between = self.unit_matrix @ affinity @ self.unit_matrix.T
        self.unit_within = np.diag(self.unit_between) / 2
        forbidden = np.zeros((len(countries), len(countries)))
        for a, b in cannot:
            forbidden[a, b] = forbidden[b, a] = 1.0
        self.unit_conflicts = self.unit_matrix @ forbidden  # units x cities: cannot-pairs with each city
        self.unit_cross = self.unit_conflicts @ self.unit_matrix.T  # units x units

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
        """Local search to a local optimum: exchanges of two units between two groups (a swap, or a move of one
        either way), each by its exact change of the objective, until none improves.

        Changes are computed, not re-scored: with `to_group[u, g]` the affinity of unit u to group g's members,
        swapping unit a (group g1) with b (g2) changes the objective by
        to_group[b, g1] - to_group[a, g1] + to_group[a, g2] - to_group[b, g2] + 2 within[a] + 2 within[b]
        - 2 between[a, b] (a move: b empty). Without country constraints every pair of groups is evaluated in
        one numpy expression and the best exchange of each pair applied, pairs that share no group together
        (their changes stay exact); a 500-city cohort takes seconds. With them, pairs are searched one at a
        time and the country counts of the two groups re-checked."""
        units = self.units
        unit_of = {m: i for i, unit in enumerate(units) for m in unit}
        state = _Search(members=[sorted({unit_of[m] for m in g}) for g in groups],
                        sizes=np.array([len(g) for g in groups]))
        onehot = np.zeros((len(self.countries), len(groups)))
        for g, group in enumerate(groups):
            onehot[group, g] = 1.0
        state.to_group = self.unit_matrix @ (self.affinity @ onehot)  # units x groups
        state.conflicts = self.unit_conflicts @ (self.unit_matrix.T @ self._unit_onehot(state.members))
        lo, hi = self.bounds
        improved = True
        while improved:
            checkpoint()  # a request abandoned past its deadline stops here (graph/cancel.py)
            improved = False
            if self.min_countries == 1:
                used: set[int] = set()
                for _, g1, g2, a, b in self._best_exchanges(state, lo, hi):
                    if g1 not in used and g2 not in used:
                        self._apply(state, g1, g2, a, b)
                        used |= {g1, g2}
                        improved = True
                continue
            for g1 in range(len(groups)):
                checkpoint()
                for g2 in range(g1 + 1, len(groups)):
                    best = self._best_exchange(state.members, state.to_group, state.conflicts, state.sizes, g1, g2,
                                               lo, hi)
                    if best is not None:
                        self._apply(state, g1, g2, *best)
                        improved = True
        return [sorted(m for u in group for m in units[u]) for group in state.members]

    def _apply(self, state: _Search, g1: int, g2: int, a: int | None, b: int | None) -> None:
        """Unit a (or none) from g1 to g2, unit b (or none) from g2 to g1; the sums updated."""
        moved_in_1 = list(self.units[b]) if b is not None else []
        moved_in_2 = list(self.units[a]) if a is not None else []
        change = np.zeros((len(self.countries), 2))
        change[moved_in_1, 0], change[moved_in_2, 0] = 1.0, -1.0
        change[moved_in_2, 1], change[moved_in_1, 1] = 1.0, -1.0
        state.to_group[:, [g1, g2]] += self.unit_matrix @ (self.affinity @ change)
        state.conflicts[:, [g1, g2]] += self.unit_conflicts @ (self.unit_matrix.T @ self._pair_change(a, b))
        if a is not None:
            state.members[g1].remove(a)
            state.members[g2].append(a)
        if b is not None:
            state.members[g2].remove(b)
            state.members[g1].append(b)
        state.sizes[g1] += len(moved_in_1) - len(moved_in_2)
        state.sizes[g2] += len(moved_in_2) - len(moved_in_1)

    def _best_exchanges(self, state: _Search, lo: int, hi: int) -> list[tuple[float, int, int, int | None, int | None]]:
        """For every pair of groups its best improving exchange, best first: (change, g1, g2, a, b)."""
        n_groups = len(state.members)
        width = max(len(m) for m in state.members) + 1  # the last slot of every group is "none"
        slots = np.full((n_groups, width), -1, dtype=np.int64)
        for g, members in enumerate(state.members):
            slots[g, :len(members)] = members
        real = slots >= 0
        safe = np.where(real, slots, 0)
        to = state.to_group[safe]  # group, slot, other group
        own = np.take_along_axis(to, np.arange(n_groups)[:, None, None], axis=2)[:, :, 0]
        leave = np.where(real[:, :, None], to - own[:, :, None] + 2 * self.unit_within[safe][:, :, None], 0.0)
        leave = leave.transpose(0, 2, 1)  # g1, g2, slot of g1: the change when that unit leaves g1 for g2
        between = np.where(real[:, None, :, None] & real[None, :, None, :],
                           self.unit_between[safe[:, None, :, None], safe[None, :, None, :]], 0.0)
        delta = leave[:, :, :, None] + leave.transpose(1, 0, 2)[:, :, None, :] - 2 * between
        size = np.where(real, self.unit_size[safe], 0.0)
        na, nb = size[:, None, :, None], size[None, :, None, :]
        total = state.sizes.astype(float)
        new1, new2 = total[:, None, None, None] - na + nb, total[None, :, None, None] - nb + na
        ok = (lo <= new1) & (new1 <= hi) & (lo <= new2) & (new2 <= hi)
        ok &= real[:, None, :, None] | real[None, :, None, :]  # not "none" for "none"
        ok &= np.triu(np.ones((n_groups, n_groups), dtype=bool), 1)[:, :, None, None]
        if self.unit_cross.any():
            cross = np.where(real[:, None, :, None] & real[None, :, None, :],
                             self.unit_cross[safe[:, None, :, None], safe[None, :, None, :]], 0.0)
            conflict = np.where(real[:, :, None], state.conflicts[safe], 0.0).transpose(0, 2, 1)  # g1, g2, slot
            ok &= (conflict[:, :, :, None] - cross == 0) & (conflict.transpose(1, 0, 2)[:, :, None, :] - cross == 0)
        delta = np.where(ok, delta, -np.inf).reshape(n_groups, n_groups, -1)
        best = np.argmax(delta, axis=2)
        value = np.take_along_axis(delta, best[:, :, None], axis=2)[:, :, 0]
        out = []
        for g1, g2 in zip(*np.nonzero(value > 1e-9), strict=True):
            i, j = divmod(int(best[g1, g2]), width)
            out.append((float(value[g1, g2]), int(g1), int(g2), int(slots[g1, i]) if real[g1, i] else None,
                        int(slots[g2, j]) if real[g2, j] else None))
        out.sort(key=lambda c: (-c[0], c[1], c[2]))
        return out

    def _unit_onehot(self, members: list[list[int]]) -> np.ndarray:
        out = np.zeros((len(self.units), len(members)))
        for g, group in enumerate(members):
            out[group, g] = 1.0
        return out

    def _pair_change(self, a: int | None, b: int | None) -> np.ndarray:
        """units x 2: unit b joins the first group and a leaves it; the reverse for the second."""
        out = np.zeros((len(self.units), 2))
        if b is not None:
            out[b] = (1.0, -1.0)
        if a is not None:
            out[a] = (-1.0, 1.0)
        return out

    def _best_exchange(self, members, to_group, conflicts, sizes, g1: int, g2: int, lo: int,
                       hi: int) -> tuple[int | None, int | None] | None:
        """The best improving exchange between groups g1 and g2: (a, b) with a from g1 and b from g2, either
        None for a one-way move; None when nothing improves."""
        ua, ub = np.array(members[g1], dtype=np.int64), np.array(members[g2], dtype=np.int64)
        # rows: the units of g1, then "none"; columns: the units of g2, then "none"
        rows, cols = np.append(ua, -1), np.append(ub, -1)
        leave_a = np.append(to_group[ua, g2] - to_group[ua, g1] + 2 * self.unit_within[ua], 0.0)
        leave_b = np.append(to_group[ub, g1] - to_group[ub, g2] + 2 * self.unit_within[ub], 0.0)
        between = np.zeros((rows.size, cols.size))
        between[:-1, :-1] = self.unit_between[np.ix_(ua, ub)]
        cross = np.zeros((rows.size, cols.size))
        cross[:-1, :-1] = self.unit_cross[np.ix_(ua, ub)]
        delta = leave_a[:, None] + leave_b[None, :] - 2 * between
        na = np.append(self.unit_size[ua], 0.0)[:, None]
        nb = np.append(self.unit_size[ub], 0.0)[None, :]
        new1, new2 = sizes[g1] - na + nb, sizes[g2] - nb + na
        ok = (lo <= new1) & (new1 <= hi) & (lo <= new2) & (new2 <= hi)
        # a unit may not join a group holding a city it cannot pair with (not counting the one it replaces)
        ok &= np.append(conflicts[ua, g2], 0.0)[:, None] - cross == 0
        ok &= np.append(conflicts[ub, g1], 0.0)[None, :] - cross == 0
        ok[-1, -1] = False
        if self.min_countries > 1:
            delta = delta + self._country_change(members, g1, g2, rows, cols, ok)
        delta = np.where(ok, delta, -np.inf)
        i, j = np.unravel_index(int(np.argmax(delta)), delta.shape)
        if not delta[i, j] > 1e-9:
            return None
        return (int(rows[i]) if rows[i] >= 0 else None), (int(cols[j]) if cols[j] >= 0 else None)

    def _country_change(self, members, g1, g2, rows, cols, ok) -> np.ndarray:
        """The change of the country penalty for each allowed exchange (python: groups are small)."""
        def cities(units) -> list[int]:
            return [m for u in units for m in self.units[u]]

        one, two = cities(members[g1]), cities(members[g2])
        before = self._missing(one) + self._missing(two)
        out = np.zeros((rows.size, cols.size))
        for i, a in enumerate(rows):
            out_a = set(self.units[a]) if a >= 0 else set()
            for j, b in enumerate(cols):
                if not ok[i, j]:
                    continue
                out_b = set(self.units[b]) if b >= 0 else set()
                after = (self._missing([m for m in one if m not in out_a] + list(out_b))
                         + self._missing([m for m in two if m not in out_b] + list(out_a)))
                out[i, j] = -1e6 * (after - before)
        return out

    def _missing(self, cities: list[int]) -> int:
        return max(0, self.min_countries - len({self.countries[m] for m in cities}))


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
        raise NotFoundError(f"no cohort with id {shown(cohort_id)}")
    members = _member_ids(projection, cohort_id, index.city_row)
    if not members:
        raise UsageError(f"cohort {shown(cohort_id)} has no member cities to group")
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
                raise UsageError(f"{what} names {shown(c)}, which is not a member city of {shown(cohort_id)}")
        out.append((min(cohort.position[a], cohort.position[b]), max(cohort.position[a], cohort.position[b])))
    return out


def learning_groups(index: MatchingIndex, projection: Projection, cohort_id: str, *, min_size: int = 4,
                    max_size: int = 6, min_countries: int = 1, must_pair: Iterable[tuple[str, str]] = (),
                    cannot_pair: Iterable[tuple[str, str]] = (), seed: int = 0,
                    restarts: int | None = None) -> Grouping:
    """`restarts`: seeded starts of the local search; by default 20, fewer for large cohorts (2,000 / cities,
    at least 4: a start of a 500-city cohort takes a second or two)."""
    check_group_options(min_size, max_size, min_countries)
    cohort = _cohort(index, projection, cohort_id)
    members = cohort.members
    n = len(members)
    count = math.ceil(n / max_size)
    if count * min_size > n:
        raise UsageError(f"{_member_cities(n)} cannot form groups of {min_size}-{max_size}; "
                         f"try a smaller minimum (at most {n // count})")
    sizes = [n // count + (1 if i < n % count else 0) for i in range(count)]
    _check_countries(cohort, sizes, min_countries)
    must = _pairs(cohort, cohort_id, must_pair, "must-pair")
    units = _units(n, must)
    cannot_pair = list(cannot_pair)
    cannot_pairs = _pairs(cohort, cohort_id, cannot_pair, "cannot-pair")
    unit_of = {member: unit for unit in units for member in unit}
    for (a, b), given in zip(cannot_pairs, cannot_pair, strict=True):
        if unit_of[a] is unit_of[b]:  # through a chain of must-pairs: the cities it passes through too
            others = [members[m] for m in unit_of[a] if m not in (a, b)]
            through = f" (with {', '.join(others)})" if (a, b) not in must else ""
            raise UsageError(f"cannot-pair {','.join(given)} contradicts the must-pairs, which put "
                             f"{' and '.join(given)} in one group{through}")
    cannot = set(cannot_pairs)
    largest = max(units, key=len)
    if len(largest) > max_size:  # named the bound alone until 2026-12-07, not the cities or how many
        joined = sorted(members[m] for m in largest)
        listed = ", ".join(joined[:8]) + (f" and {len(joined) - 8} more" if len(joined) > 8 else "")
        raise UsageError(f"must-pairs join {len(joined)} cities into one group ({listed}), more than the largest "
                         f"group of {max_size}: drop a must-pair among them, or allow larger groups")
    problem = _Problem(cohort.affinity, cohort.countries, units, sizes, cannot, min_countries)
    rng = seeded(seed)
    best, best_score = None, -math.inf
    for _ in range(restarts if restarts is not None else max(4, min(20, 2000 // n))):
        checkpoint()
        start = problem.construct(rng)
        if start is None:
            continue
        groups = problem.improve(start)
        value = problem.score(groups)
        if value > best_score:
            best, best_score = groups, value
    if best is None or best_score < -1e5:
        given = [f"at least {min_countries} countries per group" if min_countries > 1 else "",
                 f"{len(cannot)} cannot-pair{'s' if len(cannot) > 1 else ''}" if cannot else "",
                 f"{len(must)} must-pair{'s' if len(must) > 1 else ''}" if must else ""]
        constraints = ", ".join(g for g in given if g)
        raise UsageError(f"no grouping of the {n} member cities into groups of {_sizes(sizes)} satisfies the "
                         f"constraints{f' ({constraints})' if constraints else ''}; relax them")
    random_scores = []
    for _ in range(20):
        order = rng.permutation(n)
        cuts = np.cumsum([0, *sizes])
        random_scores.append(problem.score([order[cuts[i]:cuts[i + 1]].tolist() for i in range(len(sizes))]))
    groups = [_group(index, cohort, g) for g in sorted(best, key=lambda g: min(members[m] for m in g))]
    return Grouping(groups=tuple(groups), objective=best_score, random_objective=float(np.mean(random_scores)),
                    random_objectives=tuple(random_scores))


def check_group_options(min_size: int, max_size: int, min_countries: int) -> None:
    """UsageError for sizes or a country minimum no grouping could mean (checked before the cohort is read)."""
    if not 1 <= min_size <= max_size:
        raise UsageError(f"group sizes {min_size}-{max_size} are invalid; use 1 <= min <= max, e.g. 4-6")
    if min_countries < 1:
        raise UsageError(f"{min_countries} countries per group is not a minimum one can ask for; use 1 (any "
                         "countries) or more")


def _sizes(sizes: list[int]) -> str:
    """ "5-6" or "5": the group sizes a cohort is split into."""
    return f"{min(sizes)}-{max(sizes)}" if min(sizes) < max(sizes) else str(sizes[0])


def _check_countries(cohort: _Cohort, sizes: list[int], min_countries: int) -> None:
    """UsageError when no group could span `min_countries` countries: the cohort has fewer, or its smallest
    group has fewer cities."""
    countries = len(set(cohort.countries))
    if min_countries > countries:
        verb, places = "is" if len(cohort.members) == 1 else "are", "country" if countries == 1 else "countries"
        raise UsageError(f"the {_member_cities(len(cohort.members))} {verb} in {countries} {places}, so no group spans "
                         f"{min_countries}; ask for at most {countries} {places} per group")
    if min_countries > min(sizes):
        raise UsageError(f"the {len(cohort.members)} member cities make {len(sizes)} groups of {_sizes(sizes)}, "
                         f"and a group of {min(sizes)} cannot span {min_countries} countries; ask for at most "
                         f"{min(sizes)} {'country' if min(sizes) == 1 else 'countries'} per group, or larger groups")


def score_grouping(index: MatchingIndex, projection: Projection, cohort_id: str, groups: list[list[str]], *,
                   min_size: int = 4, max_size: int = 6, min_countries: int = 1,
                   must_pair: Iterable[tuple[str, str]] = (),
                   cannot_pair: Iterable[tuple[str, str]] = ()) -> GroupingScore:
    """Score a grouping given by hand (an edited `learning_groups` result, say) with the same affinities and
    objective (`_Problem.score` without its penalties), and list every constraint it breaks. Each member
    city must be in exactly one group; empty groups are allowed (a city dragged out of a group of one).
    """
    check_group_options(min_size, max_size, min_countries)
    cohort = _cohort(index, projection, cohort_id)
    seen: dict[str, int] = {}
    for g, group in enumerate(groups):
        for city in group:
            if city not in cohort.position:
                raise UsageError(f"group {g + 1} names {shown(city)}, which is not a member city of {shown(cohort_id)}")
            if city in seen and seen[city] == g:
                raise UsageError(f"{shown(city)} is in group {g + 1} twice; name it once")
            if city in seen:
                raise UsageError(f"{shown(city)} is in group {seen[city] + 1} and group {g + 1}; put it in one")
            seen[city] = g
    left = [c for c in cohort.members if c not in seen]
    if left:
        raise UsageError(f"{len(left)} member cities of {shown(cohort_id)} are in no group, e.g. {shown(left[0])}; "
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
