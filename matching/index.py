"""The matching index: sparse matrices built once from a Projection, read by every recommendation.

Rows are cities (sorted ids). Columns of the challenge matrix are challenges, with each city's challenges
*expanded up the taxonomy*: facing "affordable housing" also counts, at `parent_weight`, toward "housing".
Rarity weights follow resource allocation / Adamic-Adar: a challenge faced by d cities weighs 1/log(1+d),
so sharing a rare challenge says more than sharing one that everybody faces.

>>> from graph.model import City, Challenge, Faces, PartOf
>>> from graph.projection import Projection
>>> p = Projection([City(id="a", name="A", country="FR"), City(id="b", name="B", country="FR"),
...                 Challenge(id="h", name="Housing"), Challenge(id="ah", name="Affordable housing")],
...                [Faces(source="a", target="ah"), Faces(source="b", target="h"),
...                 PartOf(source="ah", target="h")], version=1)
>>> index = MatchingIndex.build(p)
>>> index.challenges.toarray().tolist()  # columns: ah, h
[[1.0, 0.5], [0.0, 1.0]]
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cached_property

import numpy as np
import scipy.sparse as sp
from scipy.linalg import blas
from scipy.spatial import cKDTree
from sklearn.feature_extraction.text import TfidfVectorizer

from graph.model import City, Node, main_languages
from graph.projection import Projection

DENSE_MAX = 64  # at most this many dense columns: 100k cities x 64 x (8 + 4) bytes = 77 MB at most
DENSE_SHARE = 0.05  # a column goes dense when more than 5% of cities face it
EARTH_KM = 6371.0088  # mean Earth radius (IUGG), to turn radians into kilometres
FADED = 0.01  # proximity is 0 beyond the distance where exp(-distance / scale) falls below 1% of its peak


@dataclass(frozen=True)
class MatchingIndex:
    version: int
    city_ids: tuple[str, ...]
    city_row: dict[str, int]
    cities: tuple[City, ...]
    challenge_ids: tuple[str, ...]
    challenge_col: dict[str, int]
    nodes: dict[str, Node]  # challenges, partners, cohorts by id (for explanations)
    ancestors: dict[str, frozenset[str]]  # challenge -> its parents, grandparents, ...
    challenges: sp.csr_array  # cities x challenges, taxonomy-expanded, 1 for a direct challenge
    challenges_by_column: sp.csc_array  # the same, by challenge: the inverted index challenge -> cities
    dense_cols: np.ndarray  # the most popular columns (parents above all), kept dense as well
    dense_block: np.ndarray  # cities x dense_cols (float64, column-major, at most DENSE_MAX columns)
    dense_block32: np.ndarray  # the same in float32, for the peer search's first pass (exact for parent_weight 0.5)
    direct: sp.csr_array  # cities x challenges, direct only (for "shared challenges" evidence)
    rarity: np.ndarray  # per challenge: 1 / log(1 + number of cities facing it, expanded)
    partners: sp.csr_array  # cities x partners (PARTNERS_WITH)
    partner_cities: sp.csc_array  # by partner: partner -> cities
    partner_ids: tuple[str, ...]
    cohorts: sp.csr_array  # cities x cohorts (MEMBER_OF)
    cohort_members: sp.csc_array  # by cohort: cohort -> member cities
    cohort_ids: tuple[str, ...]
    text: sp.csr_array  # cities x terms, L2-normalised TF-IDF of their challenges' texts and notes
    known_peers: sp.csr_array  # cities x cities, symmetric PEERS_WITH
    not_again: sp.csr_array  # cities x cities: dismissed by the row city, or already met (PEERS_WITH origin "met")
    population: np.ndarray  # 0 where unknown
    region: tuple[str | None, ...]
    country: tuple[str, ...]
    region_code: np.ndarray  # int per city, -1 where unknown (vectorised filters and context)
    country_code: np.ndarray
    language_code: np.ndarray  # int per city: its country's main language (GeoNames), -1 where unknown
    region_indicator: tuple[np.ndarray, ...]  # per region code: float32 1 for its cities, else 0 (context)
    language_rows: tuple[np.ndarray, ...]  # per language code: its cities' rows (dozens of codes: no 0/1 columns)
    popularity: np.ndarray  # per city, 0..1: log(1 + its cohorts and partners) / the largest such value
    popularity32: np.ndarray  # the same in float32, for the peer search's first pass
    geo: Geography  # coordinates, a haversine ball tree and the network's own distance scale
    # kept for incremental refreshes (matching/refresh.py)
    taxonomy: sp.csr_array  # challenges x challenges: 1 on the diagonal, parent_weight ** depth to ancestors
    degree: np.ndarray  # per challenge: cities facing it, expanded (rarity is computed from it)
    vectorizer: TfidfVectorizer | None  # fitted on every city's document; None without text
    challenge_text: dict[str, str]  # challenge id -> the text its name and description add to documents

    def with_changes(self, changes, projection: Projection) -> MatchingIndex | None:
        """This index after relationship `changes` (graph.store.Change), `projection` being the graph after
        them, or None when a change needs a full build. See matching/refresh.py."""
        from matching.refresh import index_with_changes

        return index_with_changes(self, changes, projection)

    @cached_property
    def typical_connections(self) -> float:
        """The median city's cohorts and partners (once per index): a reason calls a city well connected only
        above it."""
        counts = np.diff(self.cohorts.indptr) + np.diff(self.partners.indptr)
        return float(np.median(counts)) if len(counts) else 0.0

    def challenge_scores(self, query: np.ndarray) -> np.ndarray:
        """challenges @ query for every city: the query's popular columns from the dense block (contiguous,
        column-major), the rest through the inverted index (only the cities sharing them)."""
        sparse_part = query.copy()
        sparse_part[self.dense_cols] = 0.0
        scores = column_sum(self.challenges_by_column, sparse_part, len(self.city_ids))
        weights = query[self.dense_cols]
        for j in np.flatnonzero(weights):  # only the query's own dense columns: a few MB, not the block
            # scores += w * column in place, one pass (BLAS axpy): 100k cities, 0.32 -> 0.11 ms a query. The
            # columns hold 1 and powers of parent_weight (default 0.5), so the products are exact and a fused
            # multiply-add rounds as numpy's two steps would.
            scores = blas.daxpy(self.dense_block[:, j], scores, a=weights[j])
        return scores

    def add_challenge_scores(self, out: np.ndarray, query: np.ndarray) -> np.ndarray:
        """out + challenges @ query in float32, `out` (float32, contiguous) updated in place: the peer search's
        first pass, reading half the bytes challenge_scores does (float64, exact: partners, citiesForChallenge)."""
        sparse_part = query.copy()
        sparse_part[self.dense_cols] = 0.0
        add_columns(out, self.challenges_by_column, sparse_part)
        weights = query[self.dense_cols]
        for j in np.flatnonzero(weights):
            out = blas.saxpy(self.dense_block32[:, j], out, a=weights[j])
        return out

    def code(self, kind: str, value: str | None) -> int:
        """The integer code of a region or country (-2 when no city has it)."""
        values = self.region if kind == "region" else self.country
        codes = self.region_code if kind == "region" else self.country_code
        for i, v in enumerate(values):
            if v == value:
                return int(codes[i])
        return -2

    @classmethod
    def build(cls, projection: Projection, *, parent_weight: float = 0.5) -> MatchingIndex:
        faces = projection.matrix("FACES")
        city_ids, challenge_ids = faces.rows, faces.cols
        col = faces.col_index
        direct = (faces.matrix > 0).astype(np.float64)
        # Taxonomy: E[c, ancestor] = parent_weight ** depth; the identity keeps direct challenges at 1.
        n = len(challenge_ids)
        rows, cols, vals = list(range(n)), list(range(n)), [1.0] * n
        parent = {r.source: r.target for r in projection.relationships["PART_OF"]}
        ancestors: dict[str, frozenset[str]] = {}
        for child in challenge_ids:
            node, weight, seen = parent.get(child), parent_weight, {child}
            while node is not None and node not in seen:
                rows.append(col[child])
                cols.append(col[node])
                vals.append(weight)
                seen.add(node)
                node, weight = parent.get(node), weight * parent_weight
            ancestors[child] = frozenset(seen - {child})
        expand = sp.csr_array((vals, (rows, cols)), shape=(len(challenge_ids),) * 2)
        expanded = (direct @ expand).tocsr()
        expanded.data = np.minimum(expanded.data, 1.0)  # a city facing child and parent: the parent counts once
        degree = np.asarray((expanded > 0).sum(axis=0)).ravel()
        popular = np.argsort(-degree, kind="stable")[:DENSE_MAX]
        dense_cols = np.sort(popular[degree[popular] > DENSE_SHARE * max(len(city_ids), 1)])
        rarity = 1.0 / np.log1p(np.maximum(degree, 1))
        partners = projection.matrix("PARTNERS_WITH")  # partners x cities
        cohorts = projection.matrix("MEMBER_OF", source="City")
        peers = projection.matrix("PEERS_WITH").matrix
        known = ((peers + peers.T) > 0).astype(np.float64).tocsr()
        row = faces.row_index
        pairs = [(row[r.source], row[r.target]) for r in projection.relationships["DISMISSED"]]
        met = [(row[r.source], row[r.target]) for r in projection.relationships["PEERS_WITH"] if r.origin == "met"]
        pairs += met + [(b, a) for a, b in met]  # a meeting counts for both cities
        not_again = sp.csr_array((np.ones(len(pairs)), ([a for a, _ in pairs], [b for _, b in pairs])),
                                 shape=(len(city_ids),) * 2)
        nodes = {n.id: n for kind in ("Challenge", "Partner", "Cohort") for n in projection.nodes[kind]}
        cities = tuple(projection.nodes["City"])  # sorted by id, as city_ids
        challenge_text = {c.id: f"{c.name} {c.description or ''}" for c in projection.nodes["Challenge"]}
        text, vectorizer = _text_matrix(projection, city_ids, challenge_text)
        region_code = _codes([c.region for c in cities])
        block = np.asfortranarray(expanded[:, dense_cols].toarray()) if dense_cols.size \
            else np.zeros((len(city_ids), 0))
        language_code = _codes([main_languages().get(c.country) for c in cities])
        popularity = popularity_of(cohorts.matrix, partners.matrix.T)
        return cls(
            version=projection.version, city_ids=city_ids, city_row=faces.row_index, cities=cities,
            challenge_ids=challenge_ids, challenge_col=col, nodes=nodes, ancestors=ancestors,
            challenges=expanded, challenges_by_column=sp.csc_array(expanded), direct=direct.tocsr(),
            dense_cols=dense_cols, dense_block=block, dense_block32=block.astype(np.float32, order="F"),
            rarity=rarity, partners=sp.csr_array(partners.matrix.T), partner_ids=partners.rows,
            partner_cities=sp.csc_array(partners.matrix.T), cohorts=cohorts.matrix, cohort_ids=cohorts.cols,
            cohort_members=sp.csc_array(cohorts.matrix), text=text,
            known_peers=known, not_again=not_again,
            population=np.array([c.population or 0 for c in cities], dtype=np.float64),
            region=tuple(c.region for c in cities), country=tuple(c.country for c in cities),
            region_code=region_code, country_code=_codes([c.country for c in cities]),
            language_code=language_code,
            region_indicator=tuple((region_code == r).astype(np.float32) for r in range(_count(region_code))),
            language_rows=_rows_by_code(language_code),
            popularity=popularity, popularity32=popularity.astype(np.float32), geo=Geography.of(cities),
            taxonomy=expand, degree=degree, vectorizer=vectorizer, challenge_text=challenge_text,
        )


def popularity_of(cohorts: sp.csr_array, partners: sp.csr_array) -> np.ndarray:
    """Per city (rows of both): log(1 + cohorts + partners), scaled so that the most connected city has 1.
    The logarithm damps the few hubs that are in everything, so that popularity breaks ties and lifts the
    well connected without drowning what cities share.

    >>> popularity_of(sp.csr_array(np.array([[1.0, 1], [1, 0], [0, 0]])), sp.csr_array((3, 1))).round(3).tolist()
    [1.0, 0.631, 0.0]
    """
    counts = np.diff(sp.csr_array(cohorts).indptr) + np.diff(sp.csr_array(partners).indptr)
    values = np.log1p(counts.astype(np.float64))
    top = values.max() if values.size else 0.0
    return values / top if top > 0 else values


@dataclass(frozen=True)
class Geography:
    """Where cities are: radians, a k-d tree (scipy's cKDTree) over the located ones as points on the unit
    sphere, and `scale`, the network's own typical distance between neighbours (the median distance from a
    city to its 10th nearest, over a seeded sample of at most 2,000 cities), so that proximity means the
    same on a continent-wide network and on a regional one. The tree finds neighbours by chord length,
    which orders them as great-circle distance does (d = 2 arcsin(chord / 2)): the same answer as
    scikit-learn's haversine BallTree, in ~30 us a query instead of the ~1.5 ms its per-call input
    validation cost in the peer search. `reach`, ln(1 / FADED) scales, is where proximity has faded to 1%:
    `near` gives every city within it a value (the tree prunes its search at that distance).

    >>> from graph.model import City
    >>> g = Geography.of([City(id=f"c{i}", name="C", country="FR", latitude=45.0, longitude=float(i))
    ...                   for i in range(12)])
    >>> g.scale > 0, g.proximity(0, np.array([1, 11])).round(2).tolist()
    (True, [0.88, 0.23])
    """

    radians: np.ndarray  # cities x 2 (latitude, longitude); nan where unknown
    rows: np.ndarray  # the located cities' rows, in the tree's order
    tree: cKDTree | None
    scale: float  # radians; 0 when fewer than two cities are located
    country: tuple[str, ...] = ()  # per city, for `nearest_in_country`

    @classmethod
    def of(cls, cities: tuple[City, ...] | list[City], *, neighbour: int = 10, sample: int = 2000) -> Geography:
        radians = np.radians(np.array([[c.latitude if c.latitude is not None else np.nan,
                                        c.longitude if c.longitude is not None else np.nan] for c in cities],
                                      dtype=np.float64).reshape(len(cities), 2))
        rows = np.flatnonzero(~np.isnan(radians).any(axis=1))
        country = tuple(c.country for c in cities)
        if rows.size < 2:
            return cls(radians, rows, None, 0.0, country=country)
        tree = cKDTree(on_sphere(radians[rows]))
        picked = rows if rows.size <= sample else np.sort(np.random.default_rng(0).choice(rows, sample, replace=False))
        k = min(neighbour + 1, rows.size)
        chords, _ = tree.query(on_sphere(radians[picked]), k=k)
        distances = 2 * np.arcsin(np.minimum(chords, 2.0) / 2)
        scale = float(np.median(distances[:, -1]))
        return cls(radians, rows, tree, scale if scale > 0 else float(np.median(distances[:, 1:])) or 1e-6,
                   country)

    def located(self, row: int) -> bool:
        return self.tree is not None and not np.isnan(self.radians[row, 0])

    def nearest(self, row: int, k: int) -> tuple[np.ndarray, np.ndarray]:
        """(rows, distances in radians) of the k nearest located cities, the city itself left out."""
        if not self.located(row):
            return np.zeros(0, dtype=np.int64), np.zeros(0)
        chords, found = self.tree.query(on_sphere(self.radians[[row]])[0], k=min(k + 1, self.rows.size))
        rows = self.rows[np.atleast_1d(found)]
        keep = rows != row
        distances = 2 * np.arcsin(np.minimum(np.atleast_1d(chords), 2.0) / 2)
        return rows[keep][:k], distances[keep][:k]

    @cached_property
    def by_country(self) -> dict[str, tuple[np.ndarray, cKDTree]]:
        """Per country: (its located cities' rows, their k-d tree); empty when every located city is in one
        country (`nearest` answers then). Built at the first partner request, not with every index: the
        peer search never reads it."""
        codes, inverse = np.unique(np.array(self.country, dtype=str)[self.rows], return_inverse=True)
        if len(codes) < 2:
            return {}
        by_code = np.split(self.rows[np.argsort(inverse, kind="stable")], np.cumsum(np.bincount(inverse))[:-1])
        return {str(code): (rows, cKDTree(on_sphere(self.radians[rows])))
                for code, rows in zip(codes, by_code, strict=True)}

    def nearest_in_country(self, row: int, k: int) -> np.ndarray:
        """The rows of the k nearest located cities in the city's own country, nearest first, the city itself
        left out (a k-d tree per country: ~30 us a query, as `nearest`)."""
        if not self.located(row):
            return np.zeros(0, dtype=np.int64)
        if not self.by_country:  # one country: the nearest cities are its own
            return self.nearest(row, k)[0]
        rows, tree = self.by_country[self.country[row]]
        _, found = tree.query(on_sphere(self.radians[[row]])[0], k=min(k + 1, rows.size))
        found = rows[np.atleast_1d(found)]
        return found[found != row][:k]

    def near(self, row: int, k: int) -> tuple[np.ndarray, np.ndarray]:
        """(rows sorted, exp(-distance / scale)) of the located cities within `reach` (where that value is at
        least FADED), the k nearest at most: the proximity signal. A k-nearest query pruned at the reach
        (~55 us at 100k cities, 99th percentile ~135 us); a ball query was as fast at the median but twice as
        slow at the 99th percentile, where a crowd of a thousand cities lies within the reach."""
        if not self.located(row):
            return np.zeros(0, dtype=np.int64), np.zeros(0)
        bound = 2 * np.sin(min(self.reach, np.pi) / 2) * (1 + 1e-12)  # the chord of `reach`, and a hair more
        chords, found = self.tree.query(_unit_point(*self.radians[row]), k=min(k + 1, self.rows.size),
                                        distance_upper_bound=bound)
        chords, found = np.atleast_1d(chords), np.atleast_1d(found)
        inside = found < self.rows.size  # the tree pads with n when fewer lie within the bound
        rows = self.rows[found[inside]]
        distances = 2 * np.arcsin(np.minimum(chords[inside], 2.0) / 2)
        keep = (rows != row) & (distances <= self.reach)
        rows, distances = rows[keep][:k], distances[keep][:k]
        order = np.argsort(rows)
        return rows[order], np.exp(-distances[order] / self.scale)

    @property
    def reach(self) -> float:
        """The distance (radians) at which proximity has faded to FADED of its peak: ln(1 / FADED) scales."""
        return float(np.log(1 / FADED) * self.scale)

    def distances_km(self, row: int, rows: np.ndarray) -> dict[int, float]:
        """Great-circle distances from `row` to those of `rows` with coordinates (none when it has none)."""
        if not self.located(row) or not len(rows):
            return {}
        km = haversine(self.radians[row], self.radians[rows]) * EARTH_KM
        return {r: float(d) for r, d in zip(rows.tolist(), km.tolist(), strict=True) if d == d}  # d == d: not nan

    def proximity(self, row: int, rows: np.ndarray) -> np.ndarray:
        """exp(-distance / scale) from `row` to each of `rows` (0 where either has no coordinates)."""
        if not self.located(row):
            return np.zeros(len(rows))
        return np.nan_to_num(np.exp(-haversine(self.radians[row], self.radians[rows]) / self.scale), nan=0.0)


def _unit_point(lat: float, lon: float) -> np.ndarray:
    """One (latitude, longitude) in radians as a point on the unit sphere (as `on_sphere`, for one)."""
    return np.array([math.cos(lat) * math.cos(lon), math.cos(lat) * math.sin(lon), math.sin(lat)])


def on_sphere(radians: np.ndarray) -> np.ndarray:
    """(latitude, longitude) rows in radians as points on the unit sphere."""
    lat, lon = radians[:, 0], radians[:, 1]
    return np.column_stack([np.cos(lat) * np.cos(lon), np.cos(lat) * np.sin(lon), np.sin(lat)])


def haversine(point: np.ndarray, points: np.ndarray) -> np.ndarray:
    """Great-circle distances in radians from (latitude, longitude) `point` to each row of `points` (nan where
    a row has none), as scikit-learn's haversine metric computes them.

    >>> round(float(haversine(np.radians([0.0, 0.0]), np.radians([[0.0, 90.0]]))[0]), 4)  # a quarter turn
    1.5708
    """
    lat1, lon1 = point
    lat2, lon2 = points[:, 0], points[:, 1]
    h = np.sin((lat2 - lat1) / 2) ** 2 + np.cos(lat1) * np.cos(lat2) * np.sin((lon2 - lon1) / 2) ** 2
    return 2 * np.arcsin(np.sqrt(np.clip(h, 0.0, 1.0)))


def _codes(values: list[str | None]) -> np.ndarray:
    table = {v: i for i, v in enumerate(sorted({v for v in values if v is not None}))}
    return np.array([table.get(v, -1) if v is not None else -1 for v in values], dtype=np.int32)


def _count(codes: np.ndarray) -> int:
    """How many codes there are (codes are 0, 1, ...; -1: unknown)."""
    return int(codes.max()) + 1 if codes.size else 0


def _rows_by_code(codes: np.ndarray) -> tuple[np.ndarray, ...]:
    order = np.argsort(codes, kind="stable")
    bounds = np.searchsorted(codes[order], np.arange(_count(codes) + 1))
    return tuple(order[bounds[c]:bounds[c + 1]] for c in range(_count(codes)))


def row_of(matrix: sp.csr_array, i: int) -> tuple[np.ndarray, np.ndarray]:
    """(column indices, values) of row i, straight from the CSR arrays (no scipy slicing overhead)."""
    start, stop = matrix.indptr[i], matrix.indptr[i + 1]
    return matrix.indices[start:stop], matrix.data[start:stop]


def column_entries(by_column: sp.csc_array, weights: dict[int, float] | np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(rows, weights[c] * value) of every entry in the columns c with a weight, touching only those columns
    (the inverted index at work); `weights` maps columns to weights, or is a dense vector of them."""
    items = weights.items() if isinstance(weights, dict) else ((int(c), weights[c]) for c in np.flatnonzero(weights))
    rows, values = [], []
    for c, w in items:
        start, stop = by_column.indptr[c], by_column.indptr[c + 1]
        rows.append(by_column.indices[start:stop])
        values.append(by_column.data[start:stop] * w)
    if not rows:
        return np.zeros(0, dtype=np.int64), np.zeros(0)
    return np.concatenate(rows), np.concatenate(values)


def column_sum(by_column: sp.csc_array, weights: dict[int, float] | np.ndarray, n: int) -> np.ndarray:
    """sum_c weights[c] * column c, as a vector of length n."""
    rows, values = column_entries(by_column, weights)
    # astype: bincount of empty input is int64 even with float weights
    return np.bincount(rows, weights=values, minlength=n).astype(np.float64, copy=False)


def add_columns(out: np.ndarray, by_column: sp.csc_array, weights: np.ndarray) -> None:
    """out += sum_c weights[c] * column c, in place and in out's dtype."""
    rows, values = column_entries(by_column, weights)
    np.add.at(out, rows, values.astype(out.dtype))


def best_first(values: np.ndarray, m: int) -> np.ndarray:
    """`np.argsort(-values, kind="stable")[:m]` (ties in position order) without sorting every value: only
    those at or above the m-th largest are sorted (100k values: ~1 ms instead of ~7 ms).

    >>> values = np.random.default_rng(0).integers(0, 50, 100_000).astype(float)  # many ties at the cut
    >>> bool((best_first(values, 50) == np.argsort(-values, kind="stable")[:50]).all())
    True
    >>> best_first(np.array([1.0, 3.0, 3.0]), 5).tolist()
    [1, 2, 0]
    """
    if m >= values.size:
        return np.argsort(-values, kind="stable")
    cut = np.partition(values, values.size - m)[values.size - m]  # the m-th largest
    passed = np.flatnonzero(values >= cut)
    return passed[np.argsort(-values[passed], kind="stable")][:m]


def dense_row(matrix: sp.csr_array, i: int) -> np.ndarray:
    out = np.zeros(matrix.shape[1])
    cols, vals = row_of(matrix, i)
    out[cols] = vals
    return out


def city_document(faces: list, challenge_text: dict[str, str]) -> str:
    """A city as one document: the names and descriptions of its challenges plus its own notes on them."""
    parts: list[str] = []
    for rel in faces:
        parts.append(challenge_text[rel.target])
        if rel.note:
            parts.append(rel.note)
    return " ".join(parts)


def _text_matrix(projection: Projection, city_ids: tuple[str, ...], challenge_text: dict[str, str]
                 ) -> tuple[sp.csr_array, TfidfVectorizer | None]:
    faces: dict[str, list] = {city: [] for city in city_ids}
    for rel in projection.relationships["FACES"]:
        faces[rel.source].append(rel)
    corpus = [city_document(faces[city], challenge_text) for city in city_ids]
    if not any(doc.strip() for doc in corpus):
        return sp.csr_array((len(city_ids), 1)), None
    vectorizer = TfidfVectorizer(stop_words="english", sublinear_tf=True, min_df=1)
    try:
        return sp.csr_array(vectorizer.fit_transform(corpus)), vectorizer
    except ValueError:  # only stop words
        return sp.csr_array((len(city_ids), 1)), None
