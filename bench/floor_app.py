"""Benchmark-only GraphQL apps (never served by citypeers itself), for the API benchmark's baselines.

- floor B: the recommendPeers query shape answered from constant objects: what Strawberry alone costs;
- naive C: the same shape answered by asking FalkorDB (Cypher, native client) for peers on every request,
  as a GraphQL layer straight over a graph database would.
Environment: CITYPEERS_BENCH_MODE=floor|naive, CITYPEERS_BENCH_REDIS_PORT for naive.
"""

from __future__ import annotations

import os

import strawberry
from starlette.applications import Starlette
from starlette.routing import Route
from strawberry.asgi import GraphQL
from strawberry.extensions import ParserCache, ValidationCache


@strawberry.type
class Item:
    id: strawberry.ID
    name: str


@strawberry.type
class SignalValue:
    name: str
    contribution: float


@strawberry.type
class Match:
    score: float
    reason: str
    city: Item
    shared_challenges: list[Item]
    signals: list[SignalValue]


CYPHER = ("MATCH (c:Node {id: $id})-[:FACES]->(h)<-[:FACES]-(d) WHERE d <> c "
          "WITH d, collect(h)[0..3] AS hs, count(h) AS shared ORDER BY shared DESC, d.id LIMIT $k "
          "RETURN d.id AS id, d.name AS name, shared, [h IN hs | [h.id, h.name]] AS hs")

CONSTANT = [Match(score=0.9, reason="Somewhere also faces Housing, Mobility and Jobs.", city=Item(id="c", name="City"),
                  shared_challenges=[Item(id=f"h{i}", name=f"Challenge {i}") for i in range(3)],
                  signals=[SignalValue(name=n, contribution=0.2) for n in ("challenges", "text", "cohorts", "context")])
            for _ in range(10)]


def _graph():
    from falkordb import FalkorDB

    return FalkorDB(host="127.0.0.1", port=int(os.environ["CITYPEERS_BENCH_REDIS_PORT"])).select_graph("falkordb")


@strawberry.type
class Query:
    @strawberry.field
    def recommend_peers(self, city_id: strawberry.ID, first: int = 10) -> list[Match]:
        if MODE == "floor":
            return CONSTANT[:first]
        rows = GRAPH.ro_query(CYPHER, {"id": city_id, "k": first}).result_set
        return [Match(score=float(shared), reason=f"{name} shares {shared} challenges.", city=Item(id=i, name=name),
                      shared_challenges=[Item(id=h[0], name=h[1]) for h in hs],
                      signals=[SignalValue(name="challenges", contribution=float(shared))])
                for i, name, shared, hs in rows]


MODE = os.environ.get("CITYPEERS_BENCH_MODE", "floor")
GRAPH = _graph() if MODE == "naive" else None
schema = strawberry.Schema(query=Query,
                           extensions=[lambda: ParserCache(maxsize=256), lambda: ValidationCache(maxsize=256)])
app = Starlette(routes=[Route("/graphql", GraphQL(schema, graphql_ide=None), methods=["GET", "POST"])])
