"""The typed GraphQL context: one per request, with its own DataLoaders (so caching never leaks across
requests) around the process-wide store and matching engine."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import partial

from strawberry.dataloader import DataLoader
from strawberry.types import Info as _Info

from graph.model import Node, Relationship
from graph.store import GraphStore
from matching.engine import Engine

LoaderKey = tuple[str, str, str]  # (node id, relationship kind, direction "out" | "in")


@dataclass
class Loaders:
    store: GraphStore
    node: DataLoader[str, Node | None] = field(init=False)
    relationships: DataLoader[LoaderKey, list[Relationship]] = field(init=False)

    def __post_init__(self) -> None:
        # load functions bound to the store, not to this object: bound methods would make each request's
        # loaders a reference cycle, left for the garbage collector instead of freed when the request ends
        self.node = DataLoader(load_fn=partial(_nodes, self.store))
        self.relationships = DataLoader(load_fn=partial(_relationships, self.store))


async def _nodes(store: GraphStore, ids: list[str]) -> list[Node | None]:
    found = store.get(ids)  # one store call for every node a query level asks for
    return [found.get(i) for i in ids]


async def _relationships(store: GraphStore, keys: list[LoaderKey]) -> list[list[Relationship]]:
    by_call: dict[tuple[str, str], set[str]] = {}
    for node_id, kind, direction in keys:
        by_call.setdefault((kind, direction), set()).add(node_id)
    found: dict[LoaderKey, list[Relationship]] = {key: [] for key in keys}
    for (kind, direction), ids in by_call.items():  # one store call per (kind, direction) per level
        for rel in store.neighbours(ids, kinds=[kind], direction=direction):
            end = rel.source if direction == "out" else rel.target
            found.setdefault((end, kind, direction), []).append(rel)
    return [found[key] for key in keys]


@dataclass
class Context:
    store: GraphStore
    engine: Engine
    loaders: Loaders
    role: str | None = None  # from the request's bearer token: viewer, editor, admin, or None


Info = _Info[Context, None]
