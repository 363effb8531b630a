"""Errors with codes: every error a client gets carries `extensions.code` saying what kind of failure it was
(NOT_FOUND, BAD_USER_INPUT, VALIDATION_ERROR, GRAPHQL_PARSE_FAILED, STORE_BUSY, ...), and is logged as one line
with that code; only a failure nobody expected (INTERNAL_SERVER_ERROR) is logged with its traceback.

A store that is busy, unreachable, read-only (STORE_READ_ONLY, for any write) or full (STORE_FULL) is told to
the client in general words: the details (its address or file, the driver's reason) go to the log, never to a
client; so is a failure nobody expected (its text may name the server's internals: "Python int too large to
convert to SQLite INTEGER"). No message is longer than MAX_MESSAGE characters, in the answer or the log, whatever the
client sent (a 900 KB field name, say)."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterable, Mapping

from graphql import GraphQLError, IntValueNode

from graph.errors import CitypeersError, NotFoundError, StoreFullError, StoreReadOnlyError, preview

LOG = logging.getLogger("citypeers.errors")

# codes that mean "not now": HTTP 503 with Retry-After, and a message without the store's internals
RETRY_LATER = {
    "STORE_BUSY": "the store is busy with another write; try again in a few seconds",
    "STORE_UNAVAILABLE": "the store cannot be reached right now; try again shortly",
}
RETRY_AFTER_SECONDS = 2
# a store opened read-only refuses every write: said in general words too (its file's path goes to the log)
READ_ONLY = ("the store is read-only: this server answers queries but cannot change anything; writes need a "
             "server whose store file and folder are writable")
FULL = ("the store has no room for this write (its disk is full): nothing of it was kept; this server answers "
        "queries, and takes writes again once its operator frees space")
INTERNAL = "the server failed to answer this (an internal error; its details are in the server's log)"
MAX_MESSAGE = 2_000


def error_code(error: GraphQLError) -> str:
    """The code for a GraphQL error: set where it was raised, or from what caused it."""
    code = (error.extensions or {}).get("code")
    if code:
        return code
    original = error.original_error
    if isinstance(original, CitypeersError):
        return original.code
    if original is None or _unreadable_int(error) is not None:  # graphql-core's own: the parser or a validation rule
        if "more than" in error.message and "tokens" in error.message:
            return "QUERY_TOO_LARGE"
        return "GRAPHQL_PARSE_FAILED" if error.message.startswith("Syntax Error") else "GRAPHQL_VALIDATION_FAILED"
    if isinstance(original, GraphQLError) and error.path is None:  # a variable whose value its type refuses ("ten"
        return "BAD_USER_INPUT"                                     # for an Int, NaN), found before execution
    # anything else, a value the server could not send among them (an Int beyond 32 bits: an output error, with
    # the field's path, is the server's failure, not the client's input)
    return "INTERNAL_SERVER_ERROR"


def _unreadable_int(error: GraphQLError) -> str | None:
    """The digits of an Int literal too long for Python to read (over 4,300 digits: the validation rule
    reports int()'s ValueError as it is), or None for any other error."""
    nodes = error.nodes or ()
    if isinstance(error.original_error, ValueError) and error.path is None and len(nodes) == 1 \
            and isinstance(nodes[0], IntValueNode):
        return nodes[0].value
    return None


def client_message(error: GraphQLError, code: str) -> str:
    """What the client is told: general words for the store's and the server's own failures, a literal's
    digits cut short, and never more than MAX_MESSAGE characters."""
    if code in RETRY_LATER:
        return RETRY_LATER[code]
    if code == StoreReadOnlyError.code:
        return READ_ONLY
    if code == StoreFullError.code:
        return FULL
    if code == "INTERNAL_SERVER_ERROR":
        return INTERNAL
    digits = _unreadable_int(error)
    if digits is not None:
        return (f"Int cannot represent non 32-bit signed integer value: {preview(digits)} ({len(digits):,} digits); "
                "an Int is a 32-bit integer, -2147483648 to 2147483647")
    return shortened(error.message)


def shortened(message: str) -> str:
    """`message`, or its start and how long it was when it is longer than MAX_MESSAGE characters.

    >>> cut = shortened("Cannot query field '" + "x" * 900_000 + "' on type 'Query'.")
    >>> len(cut), cut[-45:]
    (2042, 'xxx... (a message of 900,038 characters, cut)')
    """
    if len(message) <= MAX_MESSAGE:
        return message
    return f"{message[:MAX_MESSAGE]}... (a message of {len(message):,} characters, cut)"


# graphql-core's words for an enum value the type does not have, in a literal or in a variable
_BAD_ENUM = re.compile(r"does not exist in '(?P<a>\w+)' enum\.|Enum '(?P<b>\w+)' cannot represent non-")


def with_valid_values(message: str, enums: Mapping[str, Iterable[str]]) -> str:
    """graphql-core's message for a value an enum does not have, ending with the values it does have (it
    names one only when the bad value is close to it). Said once, however often it is asked.

    >>> with_valid_values("Value 'UP' does not exist in 'SortDirection' enum.", {"SortDirection": ["ASC", "DESC"]})
    "Value 'UP' does not exist in 'SortDirection' enum. Valid values: ASC, DESC."
    """
    found = _BAD_ENUM.search(message)
    name = found and (found["a"] or found["b"])
    if not name or name not in enums:
        return message
    valid = f" Valid values: {', '.join(enums[name])}."
    # the validation cache hands out the same error objects again: said once
    return message if message.endswith(valid) else message + valid


def process(errors: Iterable[GraphQLError], enums: Mapping[str, Iterable[str]] | None = None) -> None:
    """Log each error as one line with its code (a traceback only for the unexpected), then label it for the
    client: `extensions.code`, and general words instead of a store's or the server's internals; a value an
    enum (of `enums`, by name) does not have is answered with the values it does have.

    Strawberry calls this (Schema.process_errors) for every error of every phase, parse errors included,
    before the response is built; an extension's on_operation would miss those the parser raises."""
    for error in errors:
        code = error_code(error)
        told = client_message(error, code)
        if enums and code in ("GRAPHQL_VALIDATION_FAILED", "BAD_USER_INPUT"):
            valid = with_valid_values(told, enums)
            told = told if valid == told else shortened(valid)
        if code == "INTERNAL_SERVER_ERROR":
            LOG.error("%s", json.dumps({"error": code, "message": shortened(error.message), "path": error.path}),
                      exc_info=error.original_error)
        elif LOG.isEnabledFor(logging.INFO):
            stores = {*RETRY_LATER, StoreReadOnlyError.code, StoreFullError.code}  # the store's details: logged only
            detail = shortened(str(error.original_error)) if code in stores else told
            LOG.info("%s", json.dumps({"error": code, "message": detail, "path": error.path}))
        error.message = told
        error.extensions = {**(error.extensions or {}), "code": code}
        original = error.original_error
        if isinstance(original, NotFoundError) and original.suggestions:  # "did you mean 'amsterdam'?"
            error.extensions["suggestions"] = original.suggestions
        if isinstance(original, CitypeersError) and original.argument:  # which argument held the bad value
            error.extensions["argument"] = original.argument


def retry_later(errors: Iterable[GraphQLError] | None) -> bool:
    """Whether an answer's errors say the store cannot serve now (HTTP 503)."""
    return any((e.extensions or {}).get("code") in RETRY_LATER for e in errors or ())
