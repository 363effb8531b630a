"""Errors with codes: every error a client gets carries `extensions.code` saying what kind of failure it was
(NOT_FOUND, BAD_USER_INPUT, VALIDATION_ERROR, GRAPHQL_PARSE_FAILED, STORE_BUSY, ...), and is logged as one line
with that code; only a failure nobody expected (INTERNAL_SERVER_ERROR) is logged with its traceback.

A store that is busy or unreachable is told to the client in general words: the details (its address, the
driver's reason) go to the log, never to an anonymous client."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable

from graphql import GraphQLError

from graph.errors import CitypeersError, NotFoundError

LOG = logging.getLogger("citypeers.errors")

# codes that mean "not now": HTTP 503 with Retry-After, and a message without the store's internals
RETRY_LATER = {
    "STORE_BUSY": "the store is busy with another write; try again in a few seconds",
    "STORE_UNAVAILABLE": "the store cannot be reached right now; try again shortly",
}
RETRY_AFTER_SECONDS = 2


def error_code(error: GraphQLError) -> str:
    """The code for a GraphQL error: set where it was raised, or from what caused it."""
    code = (error.extensions or {}).get("code")
    if code:
        return code
    original = error.original_error
    if isinstance(original, CitypeersError):
        return original.code
    if original is None:  # graphql-core's own: the parser or a validation rule
        if "more than" in error.message and "tokens" in error.message:
            return "QUERY_TOO_LARGE"
        return "GRAPHQL_PARSE_FAILED" if error.message.startswith("Syntax Error") else "GRAPHQL_VALIDATION_FAILED"
    if isinstance(original, GraphQLError):  # a variable whose value its type refuses ("ten" for an Int, NaN)
        return "BAD_USER_INPUT"
    return "INTERNAL_SERVER_ERROR"


def process(errors: Iterable[GraphQLError]) -> None:
    """Log each error as one line with its code (a traceback only for the unexpected), then label it for the
    client: `extensions.code`, and general words instead of a store's internals.

    Strawberry calls this (Schema.process_errors) for every error of every phase, parse errors included,
    before the response is built; an extension's on_operation would miss those the parser raises."""
    for error in errors:
        code = error_code(error)
        if code == "INTERNAL_SERVER_ERROR":
            LOG.error("%s", json.dumps({"error": code, "message": error.message, "path": error.path}),
                      exc_info=error.original_error)
        elif LOG.isEnabledFor(logging.INFO):
            detail = str(error.original_error) if code in RETRY_LATER else error.message
            LOG.info("%s", json.dumps({"error": code, "message": detail, "path": error.path}))
        if code in RETRY_LATER:
            error.message = RETRY_LATER[code]
        error.extensions = {**(error.extensions or {}), "code": code}
        original = error.original_error
        if isinstance(original, NotFoundError) and original.suggestions:  # "did you mean 'amsterdam'?"
            error.extensions["suggestions"] = original.suggestions


def retry_later(errors: Iterable[GraphQLError] | None) -> bool:
    """Whether an answer's errors say the store cannot serve now (HTTP 503)."""
    return any((e.extensions or {}).get("code") in RETRY_LATER for e in errors or ())
