"""A live `citypeers serve` on a loopback port for the reliability suite (tests.test_server starts it), with an
editor token, and a GraphQL call that reports the status instead of raising."""

from __future__ import annotations

import json
import urllib.error
from collections.abc import Iterator
from contextlib import contextmanager

from graph.store import open_store
from graph.tokens import create_token
from tests.test_server import _get, serving


def editor_token(db: str) -> str:
    with open_store(db) as store:
        return create_token(store, name="reliability suite", role="editor")


def graphql(base: str, query: str, token: str | None = None, timeout: float = 10) -> tuple[int, dict]:
    """(HTTP status, JSON answer) of one GraphQL request; a 4xx or 5xx answer is returned, not raised."""
    headers = {"content-type": "application/json", **({"authorization": f"Bearer {token}"} if token else {})}
    try:
        status, body = _get(base + "/graphql", json.dumps({"query": query}).encode(), headers)
    except urllib.error.HTTPError as err:
        with err:
            status, body = err.code, err.read().decode()
    return status, json.loads(body) if body.startswith("{") else {"body": body}


@contextmanager
def live_server(db: str) -> Iterator[str]:
    """A served, seeded store: its base URL."""
    with serving(db) as base:
        yield base
