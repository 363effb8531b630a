"""Every city's most similar cities at once, by the engine's challenge signal (network-wide top-k).

For each city i and every other city j the score is PeerRecommender's ``challenges`` signal: the rarity-weighted
challenges both face (taxonomy-expanded), divided by city i's own total, so 1 means "faces everything i
faces". That is one sparse product, ``(E·diag(rarity)) @ Eᵀ`` with rows normalised, of which only the top k
of each row are kept.

The product is almost dense: a few challenges that everybody faces connect every city with every other one
(at 100k cities and 1M relationships, the columns' squared degrees sum to 2.6e10 multiply-adds). Materialising
it, as a chunked scipy product or scikit-learn's brute-force ``NearestNeighbors`` do, costs minutes. Here the
product runs in ``sparse_dot_topn`` (C++, multi-threaded), which keeps only the best ``top_n`` per row while it
multiplies. Exactness is kept around the cut: ``top_n`` asks for ten more than needed, and a row whose last
returned score still ties its k-th is recomputed in full through the inverted index. Ties are broken by
distance, nearest first, then by id (cities without coordinates after the located ones); scores are compared
rounded to 12 decimals, so that sums added in a different order are still ties. Until 2026-12-07 ties went
by id alone: on a network with few challenges (GCoM's four commitments) thousands of cities tie, and every
city's list was the same few lowest ids (one city was in 11,539 of 11,973 lists of `report network`, and
the exposure cap could not spread them).

Tried first and measured (docs/matching.md): MaxScore-style pruning in numpy (skip the popular columns
whose bounds cannot reach the k-th score). Exact, but candidate generation and scoring of pairs in numpy was
slower than the C++ product, because at these weights a city's k-th score is low enough that one or two
popular columns with 5,000-30,000 cities each stay essential for most rows.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from sparse_dot_topn import sp_matmul_topn

from graph.errors import UsageError
from matching.index import MatchingIndex, on_sphere

MARGIN = 10  # extra results per row, so ties at the k-th place are seen rather than cut arbitrarily
BLOCK_ROWS = 10_000  # rows per product call: progress and bounded memory; the result is tiny either way
DECIMALS = 12


@dataclass(frozen=True)
class Similar:
    """`neighbours[i]` are the rows (into `city_ids`) of city i's most similar cities, best first, padded with
    -1 where fewer cities share anything with it; `scores[i]` their challenge signals (0 where padded)."""

    city_ids: tuple[str, ...]
    neighbours: np.ndarray  # cities x k, int64
    scores: np.ndarray  # cities x k, float64
    recomputed: int  # rows whose ties at the cut needed the full row

    def of(self, city_id: str) -> list[tuple[str, float]]:
        i = self.city_ids.index(city_id)
        return [(self.city_ids[j], float(s)) for j, s in zip(self.neighbours[i], self.scores[i], strict=True) if j >= 0]


def most_similar(index: MatchingIndex, *, k: int = 10, threads: int | None = None,
                 progress: Callable[[int], None] | None = None) -> Similar:
    """The top `k` cities for every city by the challenge signal. `threads` defaults to every core;
    `progress(rows_done)` is called after each block."""
    if not 1 <= k <= 1000:
        raise UsageError(f"k={k} is out of range; ask for 1 to 1000 similar cities")
    n = len(index.city_ids)
    threads = threads or os.cpu_count() or 1
    weighted = sp.csr_matrix(index.challenges) @ sp.diags(index.rarity)
    totals = np.asarray(weighted.sum(axis=1)).ravel()
    query = sp.csr_matrix(sp.diags(np.divide(1.0, totals, out=np.zeros(n), where=totals > 0)) @ weighted)
    candidates = sp.csr_matrix(index.challenges.T)
    units = on_sphere(index.geo.radians)  # nan rows for cities without coordinates
    top_n = min(k + 1 + MARGIN, max(n, 1))
    neighbours = np.full((n, k), -1, dtype=np.int64)
    scores = np.zeros((n, k))
    recompute: list[int] = []
    for start in range(0, n, BLOCK_ROWS):
        stop = min(n, start + BLOCK_ROWS)
        product = sp_matmul_topn(query[start:stop], candidates, top_n=top_n, n_threads=threads if threads > 1 else None)
        product = product.tocoo()
        rows, cols = product.row.astype(np.int64), product.col.astype(np.int64)
        values = np.round(product.data, DECIMALS)
        returned = np.bincount(rows, minlength=stop - start)
        own = cols == rows + start
        rows, cols, values = rows[~own], cols[~own], values[~own]
        order = np.lexsort((cols, _apart(units, rows + start, cols), -values, rows))
        rows, cols, values = rows[order], cols[order], values[order]
        first = np.searchsorted(rows, np.arange(stop - start))
        rank = np.arange(rows.size) - first[rows]
        keep = (rank < k) & (values > 0)
        neighbours[rows[keep] + start, rank[keep]] = cols[keep]
        scores[rows[keep] + start, rank[keep]] = values[keep]
        # A full row (top_n returned) whose k-th score equals its last one may have more ties beyond the cut.
        last = np.full(stop - start, np.inf)
        np.minimum.at(last, rows, values)
        kth = np.full(stop - start, -np.inf)
        at_k = rank == k - 1
        kth[rows[at_k]] = values[at_k]
        if top_n < n:  # otherwise every city was returned
            recompute += (np.flatnonzero((returned == top_n) & (kth <= last)) + start).tolist()
        if progress is not None:
            progress(stop)
    for i in recompute:
        neighbours[i], scores[i] = _full_row(index, query, units, i, k)
    return Similar(city_ids=index.city_ids, neighbours=neighbours, scores=scores, recomputed=len(recompute))


def _full_row(index: MatchingIndex, query: sp.csr_matrix, units: np.ndarray, i: int,
              k: int) -> tuple[np.ndarray, np.ndarray]:
    """One row exactly, over every city, through the inverted index and the dense popular block; the k best
    by (score desc, distance, row), sorting only those at or above the k-th (a full lexsort per recomputed
    row was 13% of `report network`)."""
    weights = np.zeros(query.shape[1])
    start, stop = query.indptr[i], query.indptr[i + 1]
    weights[query.indices[start:stop]] = query.data[start:stop]
    row = np.round(index.challenge_scores(weights), DECIMALS)
    row[i] = 0.0
    out_n, out_s = np.full(k, -1, dtype=np.int64), np.zeros(k)
    m = min(k, int(np.count_nonzero(row > 0)))
    if m == 0:
        return out_n, out_s
    cut = np.partition(row, row.size - m)[row.size - m]  # the m-th largest
    above = np.flatnonzero(row > cut)
    tied = np.flatnonzero(row == cut)
    if tied.size > m - above.size:  # more tie at the cut than there are places: the nearest of them
        apart = _apart(units, np.full(tied.size, i), tied)
        far = np.partition(apart, m - above.size - 1)[m - above.size - 1]
        tied = np.concatenate([tied[apart < far], tied[apart == far]])[: m - above.size]
    best = np.concatenate([above, tied])
    best = best[np.lexsort((best, _apart(units, np.full(best.size, i), best), -row[best]))]
    out_n[:best.size], out_s[:best.size] = best, row[best]
    return out_n, out_s


def _apart(units: np.ndarray, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """The chord between each pair of cities (rows[n], cols[n]) on the unit sphere, which orders them as
    their distance does; inf where either has no coordinates, so those come after the located ones.

    >>> units = on_sphere(np.radians([[0.0, 0.0], [0.0, 1.0], [0.0, 2.0], [np.nan, np.nan]]))
    >>> _apart(units, np.array([0, 0, 0]), np.array([2, 1, 3])).round(4).tolist()
    [0.0349, 0.0175, inf]
    """
    chords = np.linalg.norm(units[rows] - units[cols], axis=1)
    return np.where(np.isnan(chords), np.inf, chords)
