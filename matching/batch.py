"""Batch peer suggestions for many cities, with exposure measured and, optionally, evened out.

Exposure: how often each city appears in others' lists. Its Gini coefficient (0: everyone suggested
equally often; near 1: a few cities suggested to everyone) is reported before and after the coverage step.
Coverage (`max_exposure`): every city still gets `k` suggestions where enough candidates exist, but a city
already suggested `max_exposure` times is passed over in favour of the next best candidate; cities are
served in order of fewest candidates first, so the hardest to serve are not starved by the cap. When a
city cannot fill its list from candidates below the cap, it is topped up with capped ones: never silently,
each such suggestion is recorded in `cap_breaks` with the reason.

A city's candidates are its best 3k, and more while the last of them still ties its k-th: where many
cities score the same (a cohort whose members share everything), the best 3k were the same few cities for
every member (their second key is the same popularity), and the cap could not spread them (until
2026-12-07: in a 400-city cohort of GCoM cities, one city was in 127 lists under a cap of 10, and 1,733
of 2,000 suggestions broke it).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import TypeVar

import numpy as np

from matching.peers import MAX_MATCHES, PeerMatch, PeerRecommender

T = TypeVar("T")


def gini(counts: Iterable[int]) -> float:
    """Gini coefficient of non-negative counts (0 when all equal).

    >>> gini([5, 5, 5, 5]), round(gini([0, 0, 0, 10]), 2)
    (0.0, 0.75)
    """
    x = np.sort(np.asarray(list(counts), dtype=np.float64))
    if x.size == 0 or x.sum() == 0:
        return 0.0
    n = x.size
    return float((2 * np.arange(1, n + 1) - n - 1) @ x / (n * x.sum()))


@dataclass(frozen=True)
class CapBreak:
    """A suggestion that took `peer` past the exposure cap, because `city` had too few candidates below it."""

    city: str
    peer: str
    exposure: int  # lists `peer` was already in when this one took it past the cap
    candidates: int  # the candidates `city` was served from (its best 3k, more where they tie)
    below_cap: int  # how many of those were still below the cap when its turn came
    reason: str


@dataclass(frozen=True)
class BatchResult:
    lists: dict[str, list[PeerMatch]]  # or other candidates, with `spread`
    exposure: dict[str, int]
    gini_before: float  # of the plain top-k lists
    gini_after: float  # after the coverage step (equal to before without one)
    short_lists: int  # cities that got fewer than k suggestions (not enough candidates)
    cap_breaks: tuple[CapBreak, ...] = ()  # suggestions beyond max_exposure, in the order they were made
    candidates: dict[str, int] | None = None  # city -> how many candidates it had (3k or more with a cap, else k)


def batch_peers(model: PeerRecommender, city_ids: Iterable[str], *, k: int = 10,
                max_exposure: int | None = None, cohort: str | None = None,
                progress: Callable[[int], None] | None = None) -> BatchResult:
    """Top-k peers for each of `city_ids` (only among `cohort`'s members when given: exposure is then counted
    over `city_ids` alone), the cap applied as the module docstring says. `progress(n)` after each city."""
    cities = list(city_ids)
    depth = k if max_exposure is None else 3 * k  # candidates to fall back on when the best are capped
    ranked = {}
    for done, c in enumerate(cities, 1):
        ranked[c] = model.recommend(c, k=depth, cohort=cohort)
        wanted = depth
        while max_exposure is not None and wanted < MAX_MATCHES and _tied_past(ranked[c], k, wanted):
            wanted = min(4 * wanted, MAX_MATCHES)  # recommend's largest k
            ranked[c] = model.recommend(c, k=wanted, cohort=cohort)
        if progress is not None:
            progress(done)
    index = model.index_
    pool = cities if cohort is not None else index.city_ids
    return spread(ranked, pool, k=k, max_exposure=max_exposure, depth=depth,
                  named=lambda c: f"{index.cities[index.city_row[c]].name} ({c})")


def _tied_past(matches: list[PeerMatch], k: int, asked: int) -> bool:
    """Whether a list of `asked` candidates came back full with its last still tying its k-th: more tie
    beyond it."""
    return len(matches) == asked > k and round(matches[-1].score, 12) == round(matches[k - 1].score, 12)


def spread(ranked: Mapping[str, list[T]], pool: Iterable[str], *, k: int, max_exposure: int | None, depth: int,
           peer: Callable[[T], str] = lambda m: m.city.id,
           score: Callable[[T], float] = lambda m: m.score,
           named: Callable[[str], str] = lambda c: c) -> BatchResult:
    """The coverage step on ranked candidate lists (best first, up to `depth` each): each city's `k`, capped
    at `max_exposure` lists per suggested city as the module docstring says; exposure counted over `pool`.
    `peer` and `score` read a candidate (by default a PeerMatch); `named` shows a city id in a cap break's
    reason (staff read it: "Gary (gary)")."""
    plain = {c: ms[:k] for c, ms in ranked.items()}
    before = _exposure(plain, pool, peer)
    breaks: list[CapBreak] = []
    if max_exposure is None:
        lists = plain
    else:
        counts: dict[str, int] = {}
        lists = {}
        for city in sorted(ranked, key=lambda c: (len(ranked[c]), c)):
            chosen = [m for m in ranked[city] if counts.get(peer(m), 0) < max_exposure][:k]
            if len(chosen) < k:  # the cap may not starve a city: top up with the best remaining, capped or not
                free = len(chosen)
                best = f" (its best {len(ranked[city])})" if len(ranked[city]) >= depth else ""
                extra = [m for m in ranked[city] if m not in chosen][: k - len(chosen)]
                for m in extra:
                    seen = counts.get(peer(m), 0)
                    breaks.append(CapBreak(
                        city=city, peer=peer(m), exposure=seen, candidates=len(ranked[city]), below_cap=free,
                        reason=f"{named(city)} has {len(ranked[city])} candidates{best}; when its "
                               f"turn came only {free} {'was' if free == 1 else 'were'} below the cap of "
                               f"{max_exposure}, so it also got {named(peer(m))}, already in {seen} "
                               f"{'list' if seen == 1 else 'lists'}"))
                chosen += extra
                chosen.sort(key=lambda m: -score(m))
            for m in chosen:
                counts[peer(m)] = counts.get(peer(m), 0) + 1
            lists[city] = chosen
        lists = {c: lists[c] for c in ranked}
    after = _exposure(lists, pool, peer)
    return BatchResult(lists=lists, exposure=after, gini_before=gini(before.values()), gini_after=gini(after.values()),
                       short_lists=sum(1 for ms in lists.values() if len(ms) < k), cap_breaks=tuple(breaks),
                       candidates={c: len(ms) for c, ms in ranked.items()})


def _exposure(lists: Mapping[str, list[T]], pool: Iterable[str], peer: Callable[[T], str]) -> dict[str, int]:
    counts = dict.fromkeys(pool, 0)
    for matches in lists.values():
        for m in matches:
            counts[peer(m)] += 1
    return counts
