"""The network as the explorer draws it: every node indexed once, with communities and two layouts.

One `Network` per projection, so per data version (`network_of` caches it while the projection lives):

- an undirected adjacency over every node and relationship (DISMISSED, which is feedback, left out);
- communities: `networkx.community.louvain_communities` (seed 0) over every node but leaders, numbered by
  size (0 the largest); a leader takes its city's community;
- a geographic layout: longitude and Web Mercator latitude, in degrees; a node without coordinates sits at
  the mean of its located neighbours (a challenge among the cities facing it), with a small seeded jitter;
- a force layout, hierarchical so it scales: the communities' quotient graph is laid out by
  `networkx.spring_layout`, then each community's own subgraph, split again by Louvain while it has more
  than `LEAF` nodes; each part is placed at its centre, scaled by the square root of its size.

Each is computed when first asked for and kept with the projection; a lock keeps two requests from
computing the same thing twice. Measured costs are in docs/explorer.md (Louvain is most of it: ~1.8 s at
10k cities, ~65 s at 100k).

>>> from graph.model import City, Challenge, Faces
>>> from graph.projection import Projection
>>> p = Projection([City(id="a", name="A", country="FR", latitude=48.9, longitude=2.35),
...                 City(id="b", name="B", country="DE", latitude=52.5, longitude=13.4),
...                 Challenge(id="h", name="Housing")],
...                [Faces(source="a", target="h"), Faces(source="b", target="h")], version=1)
>>> net = network_of(p)
>>> net.ids, net.communities.tolist()
(('h', 'a', 'b'), [0, 0, 0])
>>> [round(float(v)) for v in net.geo[0]]  # the challenge: between its two cities, jittered a little
[8, 59]
"""

from __future__ import annotations

import math
import threading
import weakref
from collections.abc import Callable
from typing import Any

import networkx as nx
import numpy as np
import scipy.sparse as sp

from graph.projection import Projection

CORE_KINDS = ("Challenge", "City", "Cohort", "Partner")  # laid out and split into communities
ORDER = (*CORE_KINDS, "Leader")  # leaders last, so the core is a prefix of the index
LEFT_OUT = ("DISMISSED",)
LEAF = 300  # largest part laid out by spring_layout directly
SEED = 0

_cache: weakref.WeakKeyDictionary[Projection, Network] = weakref.WeakKeyDictionary()
_cache_lock = threading.Lock()


def network_of(projection: Projection) -> Network:
    """The Network of a projection, built once while the projection is alive (one per data version)."""
    with _cache_lock:
        network = _cache.get(projection)
        if network is None:
            network = _cache[projection] = Network(projection)
        return network


class Network:
    def __init__(self, projection: Projection):
        self.version = projection.version
        self.nodes = [n for kind in ORDER for n in projection.nodes[kind]]
        self.ids = tuple(n.id for n in self.nodes)
        self.index = {node_id: i for i, node_id in enumerate(self.ids)}
        self.kind = np.array([n.KIND for n in self.nodes], dtype=object)
        self.core = sum(len(projection.nodes[k]) for k in CORE_KINDS)
        rels = [r for kind, items in projection.relationships.items() if kind not in LEFT_OUT for r in items]
        self.edge_kind = np.array([r.KIND for r in rels], dtype=object)
        self.source = np.fromiter((self.index[r.source] for r in rels), dtype=np.int64, count=len(rels))
        self.target = np.fromiter((self.index[r.target] for r in rels), dtype=np.int64, count=len(rels))
        priority = np.array([getattr(r, "priority", None) or 0 for r in rels], dtype=np.float64)
        self.weight = np.where(priority > 0, 6 - priority, 1.0)  # FACES: priority 1 (highest) weighs 5
        n = len(self.ids)
        ones = np.ones(len(rels))
        a = sp.coo_array((ones, (self.source, self.target)), shape=(n, n))
        self.adjacency = (a + a.T).tocsr()
        self.adjacency.sum_duplicates()
        self.degree = np.diff(self.adjacency.indptr)
        self._lock = threading.RLock()
        self._values: dict[str, object] = {}
        self._columns: dict[tuple[str, type], np.ndarray] = {}
        self._memberships = [r for r in projection.relationships["MEMBER_OF"]]
        self._faces = [r for r in projection.relationships["FACES"]]
        self._parent = {r.source: r.target for r in projection.relationships["PART_OF"]}

    def column(self, field: str, dtype: type = object) -> np.ndarray:
        """A node field as an array (None, or NaN for numbers, where a node has no such value)."""
        key = (field, dtype)
        if key not in self._columns:
            missing = np.nan if dtype is float else None
            values = [getattr(n, field, None) for n in self.nodes]
            self._columns[key] = np.array([missing if v is None else v for v in values], dtype=dtype)
        return self._columns[key]

    @property
    def regions(self) -> frozenset[str]:
        """The regions cities are in (what a region filter is checked against), once per data version."""
        return self._once("regions", lambda: frozenset(r for r in self.column("region")[self.kind == "City"] if r))

    def neighbours(self, i: int) -> np.ndarray:
        return self.adjacency.indices[self.adjacency.indptr[i]:self.adjacency.indptr[i + 1]]

    @property
    def communities(self) -> np.ndarray:
        """Each node's community number (0 the largest); -1 for a leader of no city."""
        return self._once("communities", self._communities)

    @property
    def geo(self) -> np.ndarray:
        """(x, y) per node: longitude and Web Mercator latitude in degrees (north up)."""
        return self._once("geo", self._geo)

    @property
    def force(self) -> np.ndarray:
        """(x, y) per node from the hierarchical force layout; a leader sits beside its city."""
        return self._once("force", self._force)

    @property
    def main_cohort(self) -> dict[str, str]:
        """City id -> its latest cohort (by year, then id): what "colour by cohort" shows."""
        return self._once("main_cohort", self._main_cohort)

    @property
    def main_challenge(self) -> dict[str, str]:
        """City id -> the top-level challenge of its highest-priority challenge (colour by challenge)."""
        return self._once("main_challenge", self._main_challenge)

    def _once(self, name: str, compute: Callable[[], Any]) -> Any:
        """`compute()` the first time `name` is asked for (one thread computes, the others wait for it)."""
        with self._lock:
            if name not in self._values:
                self._values[name] = compute()
            return self._values[name]

    def _leader_home(self) -> np.ndarray:
        """Each node's position in the core: itself, or a leader's first city (-1 for a leader of none)."""
        home = np.arange(len(self.ids))
        for i in range(self.core, len(self.ids)):
            cities = [j for j in self.neighbours(i) if self.kind[j] == "City"]
            home[i] = min(cities) if cities else -1
        return home

    def _communities(self) -> np.ndarray:
        """Each node's community number (0 the largest); -1 for a leader of no city."""
        with self._lock:
            core = self.adjacency[: self.core][:, : self.core]
            graph = nx.from_scipy_sparse_array(core)
            parts = nx.community.louvain_communities(graph, seed=SEED)
            parts.sort(key=lambda part: (-len(part), min(part)))
            label = np.empty(self.core, dtype=np.int64)
            for number, part in enumerate(parts):
                label[list(part)] = number
            home = self._leader_home()
            return np.where(home >= 0, label[np.maximum(home, 0)], -1)

    def _geo(self) -> np.ndarray:
        """(x, y) per node: longitude and Web Mercator latitude in degrees (north up)."""
        with self._lock:
            pos = np.full((len(self.ids), 2), np.nan)
            for i, node in enumerate(self.nodes):
                lat, lon = getattr(node, "latitude", None), getattr(node, "longitude", None)
                if lat is not None and lon is not None:
                    lat = max(-85.0, min(85.0, lat))
                    pos[i] = (lon, math.degrees(math.log(math.tan(math.pi / 4 + math.radians(lat) / 2))))
            pos = self._fill_from_neighbours(pos)
            pos = self._fill_from_neighbours(pos)  # a second round reaches cities without coordinates
            missing = np.isnan(pos[:, 0])
            pos[missing] = (0.0, 0.0)
            jitter = np.random.default_rng(SEED).normal(scale=0.6, size=pos.shape)
            located = np.array([getattr(n, "latitude", None) is not None for n in self.nodes])
            return np.where(located[:, None], pos, pos + jitter)

    def _fill_from_neighbours(self, pos: np.ndarray) -> np.ndarray:
        known = ~np.isnan(pos[:, 0])
        a = self.adjacency[:, known]
        counts = a.sum(axis=1)
        means = (a @ pos[known]) / np.maximum(counts, 1)[:, None]
        fill = ~known & (counts > 0)
        out = pos.copy()
        out[fill] = means[fill]
        return out

    def _force(self) -> np.ndarray:
        """(x, y) per node from the hierarchical force layout; a leader sits beside its city."""
        communities = self.communities
        with self._lock:
            graph = nx.from_scipy_sparse_array(self.adjacency[: self.core][:, : self.core])
            parts = [np.flatnonzero(communities[: self.core] == c).tolist()
                     for c in range(int(communities[: self.core].max(initial=-1)) + 1)]
            pos = np.zeros((len(self.ids), 2))
            for node, xy in _place(graph, parts).items():
                pos[node] = xy
            home = self._leader_home()
            angle = np.random.default_rng(SEED).uniform(0, 2 * math.pi, size=len(self.ids))
            for i in range(self.core, len(self.ids)):
                if home[i] >= 0:
                    pos[i] = pos[home[i]] + 0.4 * np.array([math.cos(angle[i]), math.sin(angle[i])])
            return pos

    def _main_cohort(self) -> dict[str, str]:
        """City id -> its latest cohort (by year, then id): what "colour by cohort" shows."""
        best: dict[str, tuple[int, str]] = {}
        for r in self._memberships:
            key = (getattr(r, "year", None) or 0, r.target)
            if r.source not in best or key > best[r.source]:
                best[r.source] = key
        return {city: cohort for city, (_, cohort) in best.items()}

    def _main_challenge(self) -> dict[str, str]:
        """City id -> the top-level challenge of its highest-priority challenge: what "colour by challenge"
        shows."""
        best: dict[str, tuple[int, str]] = {}
        for r in self._faces:
            key = (r.priority or 99, r.target)
            if r.source not in best or key < best[r.source]:
                best[r.source] = key
        return {city: self.root(challenge) for city, (_, challenge) in best.items()}

    def root(self, challenge: str) -> str:
        seen = {challenge}
        while challenge in self._parent and self._parent[challenge] not in seen:
            challenge = self._parent[challenge]
            seen.add(challenge)
        return challenge

    def descendants(self, challenge: str) -> set[str]:
        """The challenge and every sub-challenge below it."""
        tree = nx.DiGraph((child, parent) for child, parent in self._parent.items())
        return {challenge, *(nx.ancestors(tree, challenge) if challenge in tree else ())}


def _place(graph: nx.Graph, parts: list[list[int]]) -> dict[int, np.ndarray]:
    """Lay the parts out relative to each other (quotient graph), then each part inside its disc."""
    parts = [p for p in parts if p]
    if not parts:  # an empty store
        return {}
    if len(parts) == 1:
        return _layout(graph, parts[0])
    part_of = {node: k for k, part in enumerate(parts) for node in part}
    quotient = nx.Graph()
    quotient.add_nodes_from(range(len(parts)))
    for u, v in graph.edges(part_of):
        a, b = part_of[u], part_of.get(v)
        if b is not None and a != b:
            w = quotient.get_edge_data(a, b, {"weight": 0})["weight"]
            quotient.add_edge(a, b, weight=w + 1)
    centres = nx.spring_layout(quotient, seed=SEED, weight="weight")
    points = np.array([centres[k] for k in range(len(parts))])
    gaps = np.linalg.norm(points[:, None] - points[None], axis=2)[np.triu_indices(len(parts), 1)]
    closest = float(np.min(gaps[gaps > 0])) if np.any(gaps > 0) else 1.0
    # the two nearest parts just clear each other (typical radius: the median part's)
    spread = min(2.4 * float(np.median([math.sqrt(len(p)) for p in parts])) / closest,
                 3 * math.sqrt(sum(len(p) for p in parts)))
    out: dict[int, np.ndarray] = {}
    for k, part in enumerate(parts):
        for node, xy in _layout(graph, part).items():
            out[node] = np.asarray(centres[k]) * spread + xy
    return out


def _layout(graph: nx.Graph, nodes: list[int]) -> dict[int, np.ndarray]:
    """One part in a disc of radius sqrt(size): spring_layout, or split by Louvain when too large."""
    sub = graph.subgraph(nodes)
    radius = math.sqrt(len(nodes))
    if len(nodes) <= LEAF:
        if len(nodes) == 1:
            return {nodes[0]: np.zeros(2)}
        pos = nx.spring_layout(sub, seed=SEED, weight="weight")
        return {node: np.asarray(xy) * radius for node, xy in pos.items()}
    parts = [sorted(p) for p in nx.community.louvain_communities(sub, seed=SEED)]
    if len(parts) == 1:  # no community structure to split on: in slices of the node order
        parts = [nodes[i:i + LEAF] for i in range(0, len(nodes), LEAF)]
    return _place(graph, parts)
