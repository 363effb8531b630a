"""Batch peer suggestions for many cities, with exposure measured and, optionally, evened out.

Exposure: how often each city appears in others' lists. Its Gini coefficient (0: everyone suggested
equally often; near 1: a few cities suggested to everyone) is reported before and after the coverage step.
Coverage (`max_exposure`): every city still gets `k` suggestions where enough candidates exist, but a city
already suggested `max_exposure` times is passed over in favour of the next best candidate; cities are
served in order of fewest candidates first, so the hardest to serve are not starved by the cap.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

import numpy as np

from matching.peers import PeerMatch, PeerRecommender


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
class BatchResult:
    lists: dict[str, list[PeerMatch]]
    exposure: dict[str, int]
    gini_before: float  # of the plain top-k lists
    gini_after: float  # after the coverage step (equal to before without one)
    short_lists: int  # cities that got fewer than k suggestions (not enough candidates)


def batch_peers(model: PeerRecommender, city_ids: Iterable[str], *, k: int = 10, max_exposure: int | None = None,
                progress: Callable[[int], None] | None = None) -> BatchResult:
    """`progress(done)` is called now and then with the number of cities ranked so far."""
    cities = list(city_ids)
    depth = k if max_exposure is None else 3 * k  # candidates to fall back on when the best are capped
    ranked = {}
    for done, city in enumerate(cities, start=1):
        ranked[city] = model.recommend(city, k=depth)
        if progress is not None and (done % 100 == 0 or done == len(cities)):
            progress(done)
    plain = {c: ms[:k] for c, ms in ranked.items()}
    before = _exposure(plain, model)
    if max_exposure is None:
        lists = plain
    else:
        counts: dict[str, int] = {}
        lists = {}
        for city in sorted(cities, key=lambda c: (len(ranked[c]), c)):
            chosen = [m for m in ranked[city] if counts.get(m.city.id, 0) < max_exposure][:k]
            if len(chosen) < k:  # the cap may not starve a city: top up with the best remaining, capped or not
                chosen += [m for m in ranked[city] if m not in chosen][: k - len(chosen)]
                chosen.sort(key=lambda m: -m.score)
            for m in chosen:
                counts[m.city.id] = counts.get(m.city.id, 0) + 1
            lists[city] = chosen
        lists = {c: lists[c] for c in cities}
    after = _exposure(lists, model)
    return BatchResult(lists=lists, exposure=after, gini_before=gini(before.values()), gini_after=gini(after.values()),
                       short_lists=sum(1 for ms in lists.values() if len(ms) < k))


def _exposure(lists: dict[str, list[PeerMatch]], model: PeerRecommender) -> dict[str, int]:
    counts = dict.fromkeys(model.index_.city_ids, 0)
    for matches in lists.values():
        for m in matches:
            counts[m.city.id] += 1
    return counts
