"""The plain-data executor gives exactly what Strawberry's own executor gives: data, errors and their paths.

Tiny schemas with known answers first (each case also run through the stock executor), then the whole
citypeers schema on the seeded store, query by query.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Callable
from enum import Enum

import pytest
import strawberry
from strawberry.permission import BasePermission

from matching.engine import Engine
from schema import Context, Loaders, build_schema
from schema.executor import PlainDataExecutionContext
from seeds import load_seeds


@strawberry.enum
class Kind(Enum):
    CITY = "city"
    TOWN = "town"


@strawberry.type
class Tag:
    id: strawberry.ID
    label: str | None = None


@strawberry.type
class Item:
    id: strawberry.ID
    score: float
    count: int
    flag: bool
    kind: Kind
    note: str | None
    tags: list[Tag]
    best: Tag | None = None

    @strawberry.field
    def shout(self) -> str:  # a resolver: objects selecting it are completed the general way
        return self.id.upper()


class IsNobody(BasePermission):
    message = "nobody may read this"

    def has_permission(self, source, info, **kwargs) -> bool:
        return False


@strawberry.type
class Secret:
    id: strawberry.ID
    hidden: str = strawberry.field(permission_classes=[IsNobody])


class NotATag:  # same attributes, another class: graphql-core completes it, the plan must not
    id = "x"
    label = "impostor"


def item(**changes) -> Item:
    values = {"id": "a", "score": 0.5, "count": 3, "flag": True, "kind": Kind.CITY, "note": None,
              "tags": [Tag(id="t1", label="one"), Tag(id="t2")], "best": Tag(id="t1", label="one")}
    return Item(**{**values, **changes})


ITEMS: list = [item()]


@strawberry.type
class Query:
    @strawberry.field
    def items(self) -> list[Item]:
        return ITEMS

    @strawberry.field
    def maybe(self) -> list[Item | None]:
        return ITEMS

    @strawberry.field
    def secrets(self) -> list[Secret]:
        return [Secret(id="s", hidden="do not show")]


PLAIN = strawberry.Schema(query=Query, execution_context_class=PlainDataExecutionContext)
STOCK = strawberry.Schema(query=Query)
FULL = "{ items { id score count flag kind note tags { id label } best { id } } }"


def both(query: str, items: Callable[[], list], variables: dict | None = None) -> tuple[dict, int]:
    """Run `query` on both executors, each with fresh `items()`; the stock answer, after checking they
    agree, and how many objects the plans completed."""
    ITEMS[:] = items()
    before = PlainDataExecutionContext.plans_run
    plain = PLAIN.execute_sync(query, variable_values=variables)
    planned = PlainDataExecutionContext.plans_run - before
    ITEMS[:] = items()
    stock = STOCK.execute_sync(query, variable_values=variables)
    shown = [(e.message, e.path) for e in plain.errors or []], [(e.message, e.path) for e in stock.errors or []]
    assert plain.data == stock.data and shown[0] == shown[1]
    return {"data": stock.data, "errors": shown[1]}, planned


def test_plain_objects_are_completed_by_plans():
    out, planned = both("{ items { id s: score count flag kind note tags { id label } best { id } "
                        "kind2: __typename } }", lambda: [item(), item(id="b")])
    assert out["errors"] == []
    assert out["data"]["items"][0] == {"id": "a", "s": 0.5, "count": 3, "flag": True, "kind": "CITY", "note": None,
                                       "tags": [{"id": "t1", "label": "one"}, {"id": "t2", "label": None}],
                                       "best": {"id": "t1"}, "kind2": "Item"}
    assert planned == 1  # the resolver's whole list, in one plan: items, their tags and best inside it


@pytest.mark.parametrize(("changes", "error"), [
    ({"tags": [Tag(id="t1"), None]}, "Cannot return null for non-nullable field Item.tags."),
    ({"score": math.nan}, "Float cannot represent non numeric value: nan"),
    ({"count": 2**40}, "Int cannot represent non 32-bit signed integer value: 1099511627776"),
    ({"kind": "village"}, "Enum 'Kind' cannot represent value: 'village'"),
], ids=["null-in-non-null-list", "nan", "int-over-32-bits", "bad-enum"])
def test_surprises_fall_back_to_graphql_core(changes, error):
    out, planned = both(FULL, lambda: [item(id="ok"), item(id="bad", **changes)])
    # the good item by its plan; the bad one the general way, which reports the error (its plain parts,
    # such as its tags, may still be completed by plans there)
    assert planned >= 1
    assert len(out["errors"]) == 1 and error in out["errors"][0][0] and out["errors"][0][1][:2] == ["items", 1]


@pytest.mark.parametrize(("changes", "expected"), [
    ({"score": 2}, 2.0),  # an int in a Float field: coerced, as graphql-core does
    ({"id": 7}, "7"),  # an int id
    ({"tags": (Tag(id="t"),)}, [{"id": "t"}]),  # a tuple is a list
], ids=["int-as-float", "int-id", "tuple-list"])
def test_coercions_match(changes, expected):
    field = next(iter(changes))
    selection = "tags { id }" if field == "tags" else field
    out, planned = both(f"{{ items {{ {selection} }} }}", lambda: [item(**changes)])
    assert out["data"]["items"][0][field] == expected and planned == 1


def test_iterators_other_classes_and_resolvers_go_the_general_way():
    out, _ = both("{ items { tags { id } } }", lambda: [item(tags=iter([Tag(id="g")]))])
    assert out["data"]["items"] == [{"tags": [{"id": "g"}]}]
    # graphql-core completes an object of another class when the type has no is_type_of: so does the fallback
    out, _ = both("{ items { best { id label } } }", lambda: [item(best=NotATag())])
    assert out == {"data": {"items": [{"best": {"id": "x", "label": "impostor"}}]}, "errors": []}
    out, planned = both("{ items { id shout } }", lambda: [item()])
    assert out["data"]["items"] == [{"id": "a", "shout": "A"}] and planned == 0


def test_permission_classes_are_never_bypassed():
    out, planned = both("{ secrets { id hidden } }", list)
    assert out["data"] is None and out["errors"] == [("nobody may read this", ["secrets", 0, "hidden"])]
    assert planned == 0
    out, planned = both("{ secrets { id } }", list)  # without the guarded field the object is plain
    assert out["data"] == {"secrets": [{"id": "s"}]} and planned == 1


def test_nullable_items_fragments_and_directives():
    query = """query($skip: Boolean!) { maybe { ...Parts tags @skip(if: $skip) { id } } }
               fragment Parts on Item { id note @include(if: $skip) }"""
    for skip in (True, False):
        out, planned = both(query, lambda: [item(), None], {"skip": skip})
        expected = {"id": "a", "note": None} if skip else {"id": "a", "tags": [{"id": "t1"}, {"id": "t2"}]}
        assert out["data"]["maybe"] == [expected, None] and planned == 1


QUERIES = [
    '{ recommendPeers(cityId: "amsterdam", first: 5) { score reason city { id name country population } '
    'sharedChallenges { id name } relatedChallenges { id } sharedPartners { id name sector } '
    'sharedCohorts { id name } signals { name value contribution } } }',
    '{ recommendPeers(cityId: "riga", first: 3) { city { id challenges { challenge { id } priority } } } }',
    '{ recommendPartners(cityId: "gary", first: 3) { score partner { id name } viaCities { id } reason } }',
    '{ citiesForChallenge(challengeId: "leadership", first: 3) { score city { name } priority reason } }',
    '{ cities(first: 5, orderBy: {field: POPULATION, direction: DESC}) { totalCount '
    'pageInfo { hasNextPage endCursor } edges { cursor node { id name leaders { id role } } } } }',
    '{ node(id: "riga") { __typename id ... on City { name } } }',
    '{ cohortGroups(cohortId: "eu-digital-services", minSize: 4, maxSize: 6, minCountries: 4) '
    '{ groups { cities { id } sharedChallenges { name } affinity } objective } }',
    '{ recommendPeers(cityId: "nowhere") { score } }',
]


@pytest.mark.parametrize("query", QUERIES)
def test_the_citypeers_schema_answers_the_same(sqlite_store, query):
    load_seeds(sqlite_store)
    engine = Engine(sqlite_store)

    def run(schema) -> tuple:
        context = Context(store=sqlite_store, engine=engine, loaders=Loaders(sqlite_store))
        result = asyncio.run(schema.execute(query, context_value=context))
        return result.data, [(e.message, e.path, (e.extensions or {}).get("code")) for e in result.errors or []]

    assert run(build_schema()) == run(build_schema(plain_data=False))
