"""The GraphQL schema (Strawberry). This is the foundation's minimal schema: the API proper (types,
connections, recommendations, mutations, permissions) is issue #4 and grows here."""

from __future__ import annotations

from dataclasses import dataclass

import strawberry
from strawberry.types import Info

from graph.store import GraphStore


@dataclass
class Context:
    store: GraphStore


@strawberry.type
class Query:
    @strawberry.field(description="The store's data version: grows with every committed change.")
    def data_version(self, info: Info[Context, None]) -> int:
        return info.context.store.version()


def build_schema() -> strawberry.Schema:
    return strawberry.Schema(query=Query)
