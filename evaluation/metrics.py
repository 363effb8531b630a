"""Ranking metrics at a cut-off of 10, and a bootstrap interval on the difference of two rankers.

>>> m = Metrics()
>>> m.add(["x", "a"], {"a", "b"}, warm={"a"})
>>> {k: round(v, 3) for k, v in m.summary().items()}
{'hit@10': 1.0, 'recall@10': 0.5, 'warm_recall@10': 1.0, 'ndcg@10': 0.387, 'queries': 1, 'warm_queries': 1}
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from scipy.stats import bootstrap

K = 10


@dataclass
class Metrics:
    hits: list[float] = field(default_factory=list)
    recalls: list[float] = field(default_factory=list)
    warm_recalls: list[float] = field(default_factory=list)
    ndcgs: list[float] = field(default_factory=list)
    tops: list[tuple[str, ...]] = field(default_factory=list)  # each query's top K, to compare two rankers' lists

    def add(self, ranked: list[str], relevant: set[str], warm: set[str]) -> None:
        """One query: `ranked` ids, the `relevant` ones (hits), and the `warm` ones among them (those the
        training data knew something about)."""
        top = ranked[:K]
        self.tops.append(tuple(top))
        found = [c in relevant for c in top]
        self.hits.append(float(any(found)))
        self.recalls.append(sum(found) / len(relevant))
        if warm:
            self.warm_recalls.append(len(set(top) & warm) / len(warm))
        dcg = sum(1 / math.log2(i + 2) for i, hit in enumerate(found) if hit)
        ideal = sum(1 / math.log2(i + 2) for i in range(min(len(relevant), K)))
        self.ndcgs.append(dcg / ideal)

    def summary(self) -> dict[str, float]:
        mean = lambda xs: float(np.mean(xs)) if xs else 0.0  # noqa: E731
        return {"hit@10": mean(self.hits), "recall@10": mean(self.recalls), "warm_recall@10": mean(self.warm_recalls),
                "ndcg@10": mean(self.ndcgs), "queries": len(self.hits), "warm_queries": len(self.warm_recalls)}


def difference_interval(a: list[float], b: list[float], *, seed: int = 0, level: float = 0.95,
                        resamples: int = 2000) -> tuple[float, float, float]:
    """(mean of a - b, low, high): a paired bootstrap interval (scipy.stats.bootstrap, BCa) on the mean
    per-query difference of two rankers measured on the same queries.

    >>> diff, low, high = difference_interval([1.0, 0.5, 1.0, 0.0] * 10, [0.5, 0.5, 0.0, 0.0] * 10)
    >>> round(diff, 3), low > 0, high < 1
    (0.375, True, True)
    """
    if len(a) != len(b):
        raise ValueError(f"paired samples differ in length: {len(a)} and {len(b)}")
    d = np.asarray(a, dtype=np.float64) - np.asarray(b, dtype=np.float64)
    if d.size < 2 or np.all(d == d[0]):  # no spread: the interval is the value itself
        value = float(d.mean()) if d.size else 0.0
        return value, value, value
    res = bootstrap((d,), np.mean, confidence_level=level, n_resamples=resamples, method="BCa",
                    random_state=np.random.default_rng(seed))
    return float(d.mean()), float(res.confidence_interval.low), float(res.confidence_interval.high)
