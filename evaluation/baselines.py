"""Strong simple baselines, computed from the same training graph as the engine and printed in every table.

Peers (a city, optionally focused on some challenges):

- ``popularity``: how many cohorts and partners a city has;
- ``nearest cities``: great-circle distance (scikit-learn's haversine BallTree);
- ``challenge IDF``: the city's own challenges both face, each weighing log(N / cities facing it);
- ``co-membership``: Adamic-Adar over cohorts (each shared cohort weighs 1 / log(its size));
- ``challenge IDF + co-membership``: the two, each scaled to its best candidate, added;
- focused only: ``focused IDF`` (the asked challenges' IDF) and ``focused IDF + co-membership``.

Partners (a city): ``popularity``, ``same country``, ``k nearest cities' partners`` (k 10 and 30), and the
partners of the 50 cities closest by each peer baseline above, weighted by that closeness.

Every ranking breaks ties by popularity, then by id, and never returns the city itself or `exclude`.

>>> from tests.sample import NODES, RELATIONSHIPS
>>> from graph.projection import Projection
>>> from matching.index import MatchingIndex
>>> b = Baselines(MatchingIndex.build(Projection(NODES, RELATIONSHIPS, version=1)))
>>> b.peers("challenge IDF", "riga", k=2)
['tallinn', 'vilnius']
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import numpy as np
import scipy.sparse as sp
from sklearn.neighbors import BallTree

from graph.errors import UsageError
from matching.index import MatchingIndex, dense_row, row_of

K = 10
NEIGHBOURS = 50  # cities whose partners vote, for the partner baselines built on a peer baseline
PEER_BASELINES = ("popularity", "nearest cities", "challenge IDF", "co-membership",
                  "challenge IDF + co-membership")
FOCUSED_BASELINES = ("focused IDF", "focused IDF + co-membership")
PARTNER_BASELINES = ("popularity", "same country", "10 nearest cities' partners", "30 nearest cities' partners",
                     "challenge IDF cities' partners", "co-membership cities' partners",
                     "challenge IDF + co-membership cities' partners")


class Baselines:
    """Every baseline over one MatchingIndex (the graph the engine was fitted on)."""

    def __init__(self, index: MatchingIndex):
        self.index = index
        n = len(index.city_ids)
        direct = sp.csr_array(index.direct)
        df = np.asarray(direct.sum(axis=0)).ravel()
        self.idf = np.where(df > 0, np.log(max(n, 1) / np.maximum(df, 1)), 0.0)
        self.direct = direct
        self.direct_by_column = sp.csc_array(direct)
        size = np.asarray(index.cohorts.sum(axis=0)).ravel()
        self.adamic_adar = np.where(size > 1, 1.0 / np.log(np.maximum(size, 2)), 0.0)
        self.partner_count = np.asarray(index.partners.sum(axis=0)).ravel()  # per partner: its cities
        self.popularity = (np.diff(index.cohorts.indptr) + np.diff(index.partners.indptr)).astype(np.float64)
        located = [i for i, c in enumerate(index.cities) if c.latitude is not None and c.longitude is not None]
        self.located = np.array(located, dtype=np.int64)
        self.tree = None
        if located:
            coords = np.radians([[index.cities[i].latitude, index.cities[i].longitude] for i in located])
            self.tree = BallTree(coords, metric="haversine")

    # ------------------------------------------------------------------------------------------ peers

    def _row(self, city: str) -> int:
        row = self.index.city_row.get(city)
        if row is None:
            raise UsageError(f"no city with id {city!r} in the evaluation graph")
        return row

    def nearest(self, row: int, k: int | None = None) -> np.ndarray:
        """Rows of located cities by distance from `row` (all of them, or the `k` nearest); empty when the
        city has no coordinates."""
        city = self.index.cities[row]
        if self.tree is None or city.latitude is None or city.longitude is None:
            return np.zeros(0, dtype=np.int64)
        count = len(self.located) if k is None else min(k + 1, len(self.located))
        _, found = self.tree.query(np.radians([[city.latitude, city.longitude]]), k=count)
        rows = self.located[found[0]]
        rows = rows[rows != row]
        return rows if k is None else rows[:k]

    def peer_scores(self, name: str, row: int, focus: Iterable[str] | None = None, *,
                    reach: int | None = None) -> np.ndarray:
        """Every city's score under baseline `name` for the city at `row` (higher is better). `reach`: for
        nearest cities, how many nearest need a score (the others get 0); None: every located city."""
        index, n = self.index, len(self.index.city_ids)
        if name == "popularity":
            return self.popularity.copy()
        if name == "nearest cities":
            scores = np.zeros(n)
            rows = self.nearest(row, reach)
            scores[rows] = np.arange(len(rows), 0, -1, dtype=np.float64)  # nearest first; unlocated last
            return scores
        if name == "co-membership":
            mine = dense_row(index.cohorts, row) * self.adamic_adar
            return np.asarray(index.cohorts @ mine).ravel()
        if name in ("challenge IDF", "focused IDF"):
            if name == "focused IDF":
                if focus is None:
                    raise UsageError("the focused baselines need the challenges asked about")
                query = np.zeros(len(index.challenge_ids))
                query[[index.challenge_col[c] for c in focus if c in index.challenge_col]] = 1.0
            else:
                query = dense_row(self.direct, row)
            return np.asarray(self.direct @ (query * self.idf)).ravel()
        if name.endswith(" + co-membership"):
            first = self.peer_scores(name.removesuffix(" + co-membership"), row, focus)
            second = self.peer_scores("co-membership", row, focus)
            first[row] = second[row] = 0.0
            return _scaled(first) + _scaled(second)
        raise UsageError(f"unknown peer baseline {name!r}; valid: {', '.join(PEER_BASELINES + FOCUSED_BASELINES)}")

    def peers(self, name: str, city: str, *, focus: Iterable[str] | None = None, exclude: Iterable[str] = (),
              k: int = K) -> list[str]:
        row = self._row(city)
        skip = [row, *(self.index.city_row[c] for c in exclude if c in self.index.city_row)]
        scores = self.peer_scores(name, row, focus, reach=k + len(skip))
        return [self.index.city_ids[j] for j in self._top(scores, self.popularity, skip, k)]

    # --------------------------------------------------------------------------------------- partners

    def partner_votes(self, name: str, row: int) -> np.ndarray:
        """Every partner's score under partner baseline `name` for the city at `row`."""
        index = self.index
        if name == "popularity":
            return self.partner_count.astype(np.float64)
        if name == "same country":
            same = np.flatnonzero(index.country_code == index.country_code[row])
            return np.asarray(index.partner_cities[same].sum(axis=0)).ravel().astype(np.float64)
        if name.endswith(" nearest cities' partners"):
            k = int(name.split()[0])
            rows = self.nearest(row, k)
            return np.asarray(index.partners[rows].sum(axis=0)).ravel().astype(np.float64) if rows.size \
                else np.zeros(len(index.partner_ids))
        if name.endswith(" cities' partners"):
            similarity = self.peer_scores(name.removesuffix(" cities' partners"), row)
            similarity[row] = 0.0
            near = self._top(similarity, self.popularity, [row], NEIGHBOURS)
            near = near[similarity[near] > 0]
            return np.asarray(index.partners[near].T @ similarity[near]).ravel()
        raise UsageError(f"unknown partner baseline {name!r}; valid: {', '.join(PARTNER_BASELINES)}")

    def partners(self, name: str, city: str, *, k: int = K) -> list[str]:
        row = self._row(city)
        skip = row_of(self.index.partners, row)[0].tolist()  # its partners already
        top = self._top(self.partner_votes(name, row), self.partner_count, skip, k)
        return [self.index.partner_ids[j] for j in top]

    @staticmethod
    def _top(scores: np.ndarray, popularity: np.ndarray, skip: list[int], k: int) -> np.ndarray:
        """The k best positions by score, then popularity, then position (id order), leaving out `skip`."""
        keep = np.ones(len(scores), dtype=bool)
        keep[skip] = False
        rows = np.flatnonzero(keep)
        values = scores[rows]
        if len(rows) > 4 * k:  # only those scoring at least the k-th best can make it (ties at the cut included)
            kth = np.partition(values, len(values) - k)[len(values) - k]
            rows, values = rows[values >= kth], values[values >= kth]
        order = np.lexsort((rows, -popularity[rows], -values))
        return rows[order[:k]]


def _scaled(values: np.ndarray) -> np.ndarray:
    top = values.max() if values.size else 0.0
    return values / top if top > 0 else values


def peer_rankers(baselines: Baselines, *, focused: bool) -> dict[str, Callable[..., list[str]]]:
    """name -> rank(city, focus=None, exclude=()) for every peer baseline (the focused ones too when asked)."""
    names = PEER_BASELINES + (FOCUSED_BASELINES if focused else ())
    return {name: (lambda city, focus=None, exclude=(), _n=name: baselines.peers(_n, city, focus=focus,
                                                                                 exclude=exclude))
            for name in names}
