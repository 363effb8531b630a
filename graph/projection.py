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
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import networkx as nx
import numpy as np
import scipy.sparse as sp

from graph.errors import UsageError
from graph.model import NODE_TYPES, RELATIONSHIP_TYPES, Node, Relationship
from graph.store import GraphStore

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

    @classmethod
    def from_store(cls, store: GraphStore) -> Projection:
        """Snapshot the store. The version is read first, so a write racing the scan shows up as a newer
        version on the next check rather than being missed."""
        version = store.version()
        return cls(store.nodes(), store.relationships(), version=version)

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
        for kind, items in self.nodes.items():
            graph.add_nodes_from((n.id, {"kind": kind, "label": n.name, **_attrs(n.record())}) for n in items)
        for kind, rels in self.relationships.items():
            graph.add_edges_from((r.source, r.target, {"kind": kind, **r.props()}) for r in rels)
        return graph


def _attrs(record: dict) -> dict:
    record.pop("id", None)
    return record


def write_graph(graph: nx.DiGraph, path: str | Path, fmt: str) -> None:
    """GraphML or GEXF (both open in Gephi), or node-link JSON; networkx reads each back."""
    if fmt not in GRAPH_FORMATS:
        raise UsageError(f"unknown graph format {fmt!r}; valid formats: {', '.join(GRAPH_FORMATS)}")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if fmt == "graphml":
        nx.write_graphml(graph, path)
    elif fmt == "gexf":
        nx.write_gexf(graph, path)
    else:
        path.write_text(json.dumps(nx.node_link_data(graph, edges="edges"), ensure_ascii=False), encoding="utf-8")


def read_graph(path: str | Path, fmt: str) -> nx.DiGraph:
    if fmt == "graphml":
        return nx.read_graphml(path)
    if fmt == "gexf":
        return nx.read_gexf(path)
    return nx.node_link_graph(json.loads(Path(path).read_text(encoding="utf-8")), edges="edges")
