"""GraphQL types for the graph's nodes. Relationship fields resolve through the request's DataLoaders, so a
page of 50 cities with their challenges and leaders costs a handful of store calls, not hundreds."""

from __future__ import annotations

import dataclasses
from functools import cache
from typing import Annotated

import strawberry

from graph import model
from schema.context import Info
from schema.pages import MAX_PAGE, Connection, connection, id_page
from schema.permissions import IsAdmin


@strawberry.interface(description="Anything with a global id: City, Challenge, Partner, Cohort, Leader.")
class Node:
    id: strawberry.ID


async def _ends(info: Info, node_id: str, kind: str, direction: str) -> list[tuple[model.Relationship, model.Node]]:
    rels = await info.context.loaders.relationships.load((node_id, kind, direction))
    others = await info.context.loaders.node.load_many([r.target if direction == "out" else r.source for r in rels])
    return [(r, n) for r, n in zip(rels, others, strict=True) if n is not None]


async def _city_page(info: Info, node_id: str, kind: str, direction: str, first: int,
                     after: str | None) -> Connection[City]:
    """A page of the cities at the other end of `node_id`'s `kind` relationships, by id: the relationships
    come through the request's loader (one store call per query level), the page is cut from their ids,
    and only the page's cities are read. MEMBER_OF also joins leaders and partners to cohorts, so there
    every member is read to keep the cities alone (a cohort has tens to hundreds of members)."""
    rels = await info.context.loaders.relationships.load((node_id, kind, direction))
    ids = sorted({r.source if direction == "in" else r.target for r in rels})
    if kind == "MEMBER_OF":
        members = await info.context.loaders.node.load_many(ids)
        ids = [n.id for n in members if n is not None and n.KIND == "City"]
    page, more = id_page(ids, first, after)
    cities = await info.context.loaders.node.load_many(page)
    return connection([(n.id, to_type(n)) for n in cities if n is not None], more, len(ids),  # type: ignore[misc]
                      page[-1] if page else after)


PAGE_ARGS = f"first: at most {MAX_PAGE}; after: the endCursor of the page before"


def to_type(node: model.Node | None) -> Node | None:
    """The GraphQL object for a graph node (None stays None)."""
    if node is None:
        return None
    cls, names = _type_fields()[node.KIND]
    # The GraphQL types are plain dataclasses over the same fields: filling the instance dict directly
    # skips a keyword __init__ (62 objects per recommendPeers request; 3x cheaper this way).
    obj = cls.__new__(cls)
    values = node.__dict__
    obj.__dict__.update({name: values[name] for name in names})
    return obj


@cache
def _type_fields() -> dict[str, tuple[type, tuple[str, ...]]]:
    """Kind -> (GraphQL type, the model fields it carries): computed once, not per object. Every data field
    of the GraphQL type must be a model field, so that no instance misses one."""
    out = {}
    for cls in (City, Challenge, Partner, Cohort, Leader):
        kind = cls.__name__
        fields = model.field_types(model.NODE_TYPES[kind])
        data = {f.name for f in dataclasses.fields(cls) if f.init}  # resolver fields are not init fields
        missing = data - set(fields)
        if missing:
            raise TypeError(f"GraphQL type {kind} has fields the model lacks: {sorted(missing)}")
        out[kind] = (cls, tuple(f for f in fields if f in data))
    return out



@strawberry.type(description="A city, with the challenges it faces and the people and organisations around it.")
class City(Node):
    name: str
    country: str = strawberry.field(description="ISO 3166-1 alpha-2")
    region: str | None = None
    population: int | None = None
    latitude: float | None = None
    longitude: float | None = None
    geonames_id: int | None = None
    provenance: str | None = None

    @strawberry.field(description="Challenges the city faces, with its priority (1 highest) and notes.")
    async def challenges(self, info: Info) -> list[CityChallenge]:
        return [CityChallenge(challenge=to_type(n), priority=r.priority, since=r.since, note=r.note)  # type: ignore
                for r, n in await _ends(info, self.id, "FACES", "out")]

    @strawberry.field(description="Leaders serving the city.")
    async def leaders(self, info: Info) -> list[Leader]:
        return [to_type(n) for _, n in await _ends(info, self.id, "SERVES", "in")]  # type: ignore[misc]

    @strawberry.field(description="Cohorts the city is a member of.")
    async def cohorts(self, info: Info) -> list[Membership]:
        return [Membership(cohort=to_type(n), role=r.role, year=r.year)  # type: ignore[arg-type]
                for r, n in await _ends(info, self.id, "MEMBER_OF", "out")]

    @strawberry.field(description="Organisations partnering with the city.")
    async def partners(self, info: Info) -> list[Partner]:
        return [to_type(n) for _, n in await _ends(info, self.id, "PARTNERS_WITH", "in")]  # type: ignore[misc]

    @strawberry.field(description="Cities it already peers with (either direction), each once.")
    async def known_peers(self, info: Info) -> list[City]:
        out = await _ends(info, self.id, "PEERS_WITH", "out")
        into = await _ends(info, self.id, "PEERS_WITH", "in")
        peers = {n.id: n for _, n in [*out, *into]}  # a pair stored both ways (before markMet kept one) is one peer
        return [to_type(n) for n in peers.values()]  # type: ignore[misc]


@strawberry.type
class CityChallenge:
    challenge: Annotated[Challenge, strawberry.lazy("schema.types")]
    priority: int | None
    since: int | None
    note: str | None


@strawberry.type
class Membership:
    cohort: Annotated[Cohort, strawberry.lazy("schema.types")]
    role: str | None
    year: int | None


@strawberry.type
class CohortPartner:
    partner: Annotated[Partner, strawberry.lazy("schema.types")]
    role: str | None
    year: int | None


@strawberry.type(description="An issue cities face; the taxonomy runs through parent and children.")
class Challenge(Node):
    name: str
    description: str | None = None
    provenance: str | None = None

    @strawberry.field
    async def parent(self, info: Info) -> Challenge | None:
        ends = await _ends(info, self.id, "PART_OF", "out")
        return to_type(ends[0][1]) if ends else None  # type: ignore[return-value]

    @strawberry.field
    async def children(self, info: Info) -> list[Challenge]:
        return [to_type(n) for _, n in await _ends(info, self.id, "PART_OF", "in")]  # type: ignore[misc]

    @strawberry.field(description=f"Cities facing this challenge directly, by id ({PAGE_ARGS}).")
    async def cities(self, info: Info, first: int = 20, after: str | None = None) -> Connection[City]:
        return await _city_page(info, self.id, "FACES", "in", first, after)


@strawberry.type(description="A partner organisation: business, nonprofit, university, philanthropy, ...")
class Partner(Node):
    name: str
    sector: str
    country: str | None = None
    website: str | None = None
    provenance: str | None = None

    @strawberry.field
    async def challenges(self, info: Info) -> list[Challenge]:
        return [to_type(n) for _, n in await _ends(info, self.id, "WORKS_ON", "out")]  # type: ignore[misc]

    @strawberry.field(description=f"Cities the organisation partners with, by id ({PAGE_ARGS}).")
    async def cities(self, info: Info, first: int = 20, after: str | None = None) -> Connection[City]:
        return await _city_page(info, self.id, "PARTNERS_WITH", "out", first, after)


@strawberry.type(description="A programme cohort (a class of a leadership programme, a city network).")
class Cohort(Node):
    name: str
    programme: str
    start: str | None = None
    end: str | None = None
    description: str | None = None
    provenance: str | None = None

    @strawberry.field(description=f"Member cities, by id ({PAGE_ARGS}).")
    async def cities(self, info: Info, first: int = 20, after: str | None = None) -> Connection[City]:
        return await _city_page(info, self.id, "MEMBER_OF", "in", first, after)

    @strawberry.field(description="The challenges the cohort covers (its programme's areas, a network's themes).")
    async def themes(self, info: Info) -> list[Challenge]:
        return [to_type(n) for _, n in await _ends(info, self.id, "COVERS", "out")]  # type: ignore[misc]

    @strawberry.field(description="Partner organisations that are members of the cohort (organising, teaching "
                                  "in or funding it), with their role and year, by name.")
    async def partners(self, info: Info) -> list[CohortPartner]:
        ends = [(r, n) for r, n in await _ends(info, self.id, "MEMBER_OF", "in") if n.KIND == "Partner"]
        return [CohortPartner(partner=to_type(n), role=r.role, year=r.year)  # type: ignore[arg-type]
                for r, n in sorted(ends, key=lambda end: (end[1].name, end[1].id))]


@strawberry.type(description="A city leader or programme person.")
class Leader(Node):
    name: str
    role: str
    title: str | None = None
    provenance: str | None = None
    contact: str | None = strawberry.field(default=None, permission_classes=[IsAdmin],
                                           description="Private: admin tokens only; null with an error otherwise.")

    @strawberry.field(description="Cities the leader serves.")
    async def cities(self, info: Info) -> list[City]:
        return [to_type(n) for _, n in await _ends(info, self.id, "SERVES", "out")]  # type: ignore[misc]
