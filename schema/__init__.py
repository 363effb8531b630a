"""The GraphQL schema (Strawberry): reads and recommendations. Writes, access tokens, query-cost limits and
the exported schema contract are the rest of issue #4."""

from __future__ import annotations

import strawberry

from schema.context import Context, Info, Loaders
from schema.errors import ErrorCodes
from schema.queries import Query
from schema.types import Challenge, City, Cohort, Leader, Partner

__all__ = ["Context", "Info", "Loaders", "build_schema"]


def build_schema() -> strawberry.Schema:
    return strawberry.Schema(query=Query, types=[City, Challenge, Partner, Cohort, Leader], extensions=[ErrorCodes])
