"""CITYPEERS_READS=token: no way around the token for an operation (issue #22, point 2)."""

from __future__ import annotations

import json
import urllib.error
import urllib.parse

import pytest

from tests.test_server import _get, create_token, serving

DATA_VERSION = urllib.parse.quote("{dataVersion}")


@pytest.fixture(scope="module")
def closed(tmp_path_factory):
    db = f"sqlite:///{tmp_path_factory.mktemp('closed') / 'c.db'}"
    token = create_token(db, "viewer", "reader")
    with pytest.MonkeyPatch.context() as env:
        env.setenv("CITYPEERS_READS", "token")
        with serving(db) as base:
            yield base, token


def _status(url: str, headers: dict, data: bytes | None = None) -> tuple[int, str]:
    try:
        return _get(url, data, headers)
    except urllib.error.HTTPError as err:
        with err:
            return err.code, err.read().decode()


@pytest.mark.parametrize(("path", "accept"), [
    (f"/graphql?query={DATA_VERSION}", "text/html"),  # the hole: a browser-looking GET that carries an operation
    (f"/graphql?query={DATA_VERSION}", "text/html,application/xhtml+xml,*/*;q=0.8"),
    (f"/graphql?foo=1&query={DATA_VERSION}", "text/html"),
    (f"/graphql?query={DATA_VERSION}", "application/json"),
    (f"/graphql?query={DATA_VERSION}&variables=%7B%7D", "text/html"),
])
def test_an_operation_over_get_needs_the_token_whatever_it_accepts(closed, path, accept):
    base, token = closed
    status, body = _status(base + path, {"accept": accept})
    assert status == 401 and json.loads(body)["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    assert json.loads(body).get("data") is None
    status, body = _status(base + path, {"accept": "application/json", "authorization": f"Bearer {token}"})
    assert status == 200 and json.loads(body)["data"] == {"dataVersion": 1}


def test_the_graphiql_page_itself_still_loads_without_a_token(closed):
    base, _ = closed
    status, page = _status(base + "/graphql", {"accept": "text/html"})
    assert status == 200 and "graphiql" in page.lower() and "dataVersion" not in page
