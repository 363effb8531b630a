"""The GraphQL schema (Strawberry): reads and recommendations, protected against abusive queries.

Limits are checked before execution: query depth, aliases and tokens, with parser and validation caches.
Writes, access tokens and a cost limit are the rest of issue #4. The schema is exported to
`schema.graphql` (`python -m schema > schema.graphql`); a test fails when code and file drift apart.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import strawberry
from graphql import GraphQLEnumType
from strawberry.extensions import MaxTokensLimiter, ParserCache, ValidationCache
from strawberry.tools import merge_types

from schema.context import Context, Info, Loaders
from schema.cost import QueryLimits
from schema.errors import process
from schema.executor import PlainDataExecutionContext
from schema.explore import ExploreQuery
from schema.mutations import Mutation
from schema.queries import Query
from schema.reports import ReportQuery
from schema.types import Challenge, City, Cohort, Leader, Partner

__all__ = ["Context", "Info", "Limits", "Loaders", "build_schema"]

Query = merge_types("Query", (Query, ReportQuery))  # cohortReport (schema/reports.py) joins the queries


@dataclass(frozen=True)
class Limits:
    max_depth: int = 10
    max_aliases: int = 15
    max_tokens: int = 2_000
    max_cost: float = 1_000


class _Schema(strawberry.Schema):
    def process_errors(self, errors, execution_context=None) -> None:  # type: ignore[no-untyped-def]
        # codes, and one log line each (Strawberry's default logs every error with a traceback)
        process(errors, self._enum_values)

    @cached_property
    def _enum_values(self) -> dict[str, list[str]]:
        """Each enum type's values by its name, for the messages on a value it does not have."""
        return {name: list(kind.values) for name, kind in self._schema.type_map.items()
                if isinstance(kind, GraphQLEnumType) and not name.startswith("__")}


def build_schema(limits: Limits = Limits(), *, plain_data: bool = True) -> strawberry.Schema:
    """The schema; `plain_data=False` runs Strawberry's stock executor (tests compare the two)."""
    return _Schema(
        query=merge_types("Query", (Query, ExploreQuery)), mutation=Mutation,  # explorer fields: schema/explore.py
        types=[City, Challenge, Partner, Cohort, Leader],
        # plain payloads (recommendations) completed in one pass: schema/executor.py
        execution_context_class=PlainDataExecutionContext if plain_data else None,
        # factories: a fresh extension per request (the parser and validation caches live at module level)
        extensions=[lambda: MaxTokensLimiter(max_token_count=limits.max_tokens),
                    lambda: ParserCache(maxsize=256), lambda: ValidationCache(maxsize=256),
                    lambda: QueryLimits(max_depth=limits.max_depth, max_aliases=limits.max_aliases,
                                        max_cost=limits.max_cost)])  # after ValidationCache: see schema/cost.py
