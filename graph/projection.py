"""The store as data structures for algorithms: a networkx graph and scipy sparse incidence matrices.

A Projection is a snapshot taken at one data version. Matching builds its index from the sparse
matrices (``projection.matrix("FACES")`` is cities x challenges); the explorer and graph-file exports use
the networkx graph, built lazily because at 1M relationships it is the expensive part.

>>> from graph.model import City, Challenge, Faces
>>> p = Projection([City(id="a", name="A", country="FR"), Challenge(id="h", name="Housing")],
...                [Faces(source="a", target="h", priority=2)], version=1)
>>> m = p.matrix("FACES", weight="priority")
>>> m.rows, m.cols, m.matrix.toarray().tolist()
(('a',), ('h',), [[2.0]])
"""

from __future__ import annotations

import json
from bisect import bisect_left, bisect_right
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cached_property
from itertools import pairwise
from pathlib import Path

import networkx as nx
import numpy as np
import scipy.sparse as sp

from graph.errors import UsageError
from graph.files import written_whole
from graph.heap import long_lived
from graph.model import NODE_TYPES, RELATIONSHIP_TYPES, Node, Relationship
from graph.store import Change, GraphStore

GRAPH_FORMATS = ("graphml", "gexf", "json")


@dataclass(frozen=True)
class Incidence:
    """A sparse matrix whose rows and columns are node ids (each tuple sorted)."""

    rows: tuple[str, ...]
    cols: tuple[str, ...]
    matrix: sp.csr_array

    @cached_property
    def row_index(self) -> dict[str, int]:
        return {node_id: i for i, node_id in enumerate(self.rows)}

    @cached_property
    def col_index(self) -> dict[str, int]:
        return {node_id: i for i, node_id in enumerate(self.cols)}


class Projection:
    """Nodes by kind and relationships by kind at one data version."""

    def __init__(self, nodes: Iterable[Node], relationships: Iterable[Relationship], *, version: int):
        self.version = version
        self.nodes: dict[str, list[Node]] = {kind: [] for kind in NODE_TYPES}
        for node in nodes:
            self.nodes[node.KIND].append(node)
        for items in self.nodes.values():
            items.sort(key=lambda n: n.id)
        self.relationships: dict[str, list[Relationship]] = {kind: [] for kind in RELATIONSHIP_TYPES}
        for rel in relationships:
            self.relationships[rel.KIND].append(rel)
        self._sorted_kinds: set[str] = set()

    @classmethod
    def from_store(cls, store: GraphStore) -> Projection:
        """Snapshot the store. The version is read first, so a write racing the scan shows up as a newer
        version on the next check rather than being missed."""
        version = store.version()
        with long_lived():  # ~1.3M objects at 100k cities, all kept (graph.heap)
            projection = cls(store.nodes(), store.relationships(), version=version)
        projection._sorted_kinds = set(RELATIONSHIP_TYPES)  # stores yield them ordered by source, target
        return projection

    def _sorted(self, kind: str) -> list[Relationship]:
        """The kind's relationships, sorted by (source, target) once (the store yields them so already)."""
        if kind not in self._sorted_kinds:
            items = self.relationships[kind]
            if any(_rel_key(a) > _rel_key(b) for a, b in pairwise(items)):
                self.relationships[kind] = sorted(items, key=_rel_key)  # a new list: readers keep theirs
            self._sorted_kinds.add(kind)
        return self.relationships[kind]

    def outgoing(self, kind: str, source: str) -> list[Relationship]:
        """Relationships of `kind` from `source`, by target (a binary search, not a scan)."""
        items = self._sorted(kind)
        start = bisect_left(items, (source,), key=_source_key)
        stop = bisect_right(items, (source,), key=_source_key)
        return items[start:stop]

    def with_changes(self, changes: Iterable[Change], *, version: int) -> Projection:
        """A new projection at `version`: this one with relationship changes applied, sharing every list the
        changes do not touch (each touched list is copied once, then edited by binary search)."""
        out = Projection((), (), version=version)
        out.nodes = self.nodes
        out.relationships = dict(self.relationships)
        out._sorted_kinds = set()
        copied: set[str] = set()
        for change in changes:
            kind, source, target = change.key
            if kind not in copied:
                out.relationships[kind] = list(self._sorted(kind))
                copied.add(kind)
                out._sorted_kinds.add(kind)
            items = out.relationships[kind]
            at = bisect_left(items, (source, target), key=_rel_key)
            present = at < len(items) and _rel_key(items[at]) == (source, target)
            if change.relationship is not None:
                if present:
                    items[at] = change.relationship
                else:
                    items.insert(at, change.relationship)
            elif present:
                del items[at]
        out._sorted_kinds |= self._sorted_kinds - copied
        return out

    def ids(self, kind: str) -> tuple[str, ...]:
        return tuple(n.id for n in self.nodes[kind])

    def matrix(self, kind: str, *, source: str | None = None, weight: str | None = None,
               default: float = 1.0) -> Incidence:
        """Sources x targets of one relationship kind; cells hold `weight` (a property) or 1.

        `source` picks the row kind where a relationship has several (MEMBER_OF: City, Leader, Partner).
        """
        if kind not in RELATIONSHIP_TYPES:
            raise UsageError(f"unknown relationship kind {kind!r}; valid: {', '.join(RELATIONSHIP_TYPES)}")
        cls = RELATIONSHIP_TYPES[kind]
        source = source or cls.SOURCE[0]
        rows, cols = self.ids(source), self.ids(cls.TARGET[0])
        row_index = {node_id: i for i, node_id in enumerate(rows)}
        col_index = {node_id: i for i, node_id in enumerate(cols)}
        r, c, v = [], [], []
        for rel in self.relationships[kind]:
            i = row_index.get(rel.source)
            if i is None:
                continue  # a MEMBER_OF of another source kind
            r.append(i)
            c.append(col_index[rel.target])
            value = getattr(rel, weight) if weight else None
            v.append(default if value is None else float(value))
        matrix = sp.csr_array((np.asarray(v, dtype=np.float64), (np.asarray(r, dtype=np.int64),
                                                                  np.asarray(c, dtype=np.int64))),
                              shape=(len(rows), len(cols)))
        return Incidence(rows, cols, matrix)

    def to_networkx(self) -> nx.DiGraph:
        """Every node (attribute ``kind`` plus its fields; ``label`` = name for Gephi) and every
        relationship (attribute ``kind`` plus its properties). Missing values are left out."""
        graph = nx.DiGraph(version=self.version)
        with long_lived():  # a dict per node and per edge, all kept (graph.heap)
            for kind, items in self.nodes.items():
                graph.add_nodes_from((n.id, {"kind": kind, "label": n.name, **_attrs(n.record())}) for n in items)
            for kind, rels in self.relationships.items():
                graph.add_edges_from((r.source, r.target, {"kind": kind, **r.props()}) for r in rels)
        return graph


def _rel_key(rel: Relationship) -> tuple[str, str]:
    return (rel.source, rel.target)


def _source_key(rel: Relationship) -> tuple[str]:
    return (rel.source,)


def _attrs(record: dict) -> dict:
    record.pop("id", None)
    return record


def write_graph(graph: nx.DiGraph, path: str | Path, fmt: str) -> None:
    """GraphML or GEXF (both open in Gephi), or node-link JSON; networkx reads each back."""
    if fmt not in GRAPH_FORMATS:
        raise UsageError(f"unknown graph format {fmt!r}; valid formats: {', '.join(GRAPH_FORMATS)}")
    with written_whole(Path(path)) as scratch:  # an interrupted export left an empty or half-written file
        if fmt == "graphml":
            nx.write_graphml(graph, scratch)
        elif fmt == "gexf":
            nx.write_gexf(graph, scratch)
        else:
            scratch.write_text(json.dumps(nx.node_link_data(graph, edges="edges"), ensure_ascii=False),
                               encoding="utf-8")


def read_graph(path: str | Path, fmt: str) -> nx.DiGraph:
    if fmt == "graphml":
        return nx.read_graphml(path)
    if fmt == "gexf":
        return nx.read_gexf(path)
    return nx.node_link_graph(json.loads(Path(path).read_text(encoding="utf-8")), edges="edges")
