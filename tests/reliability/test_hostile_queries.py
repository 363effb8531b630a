"""Hostile GraphQL documents against a live server: refused quickly, and the server keeps answering.

Each case was found by the hardening campaign (issue #22); the fragment chain froze the server for 20 s
before query analysis became linear in the document."""

from __future__ import annotations

import json
import statistics
import threading
import time
import urllib.error

import pytest
from graphql import parse

from schema.cost import query_shape
from tests.test_server import _get, serving


def fragment_chain(n: int) -> str:
    """A chain of n fragments, each spreading the next twice: 2**n fields once expanded, ~40 bytes each."""
    spreads = " ".join(f"fragment F{i} on Query {{ ...F{i + 1} ...F{i + 1} }}" for i in range(n))
    return f"{{ ...F0 }} {spreads} fragment F{n} on Query {{ dataVersion }}"


def _post(base: str, body: bytes, headers: dict | None = None) -> tuple[int, dict]:
    try:
        status, text = _get(base + "/graphql", body, {"content-type": "application/json", **(headers or {})})
    except urllib.error.HTTPError as err:
        status, text = err.code, err.read().decode()
        err.close()
    return status, json.loads(text)


@pytest.fixture(scope="module")
def live(tmp_path_factory):
    with serving(f"sqlite:///{tmp_path_factory.mktemp('hostile') / 's.db'}") as base:
        yield base


def test_the_fragment_chain_is_weighed_in_linear_time():
    # 2**n work for the old walk: n=22 took 19.6 s; n=30 would take hours. Linear now: milliseconds.
    timings = []
    for _ in range(5):
        document = parse(fragment_chain(30))
        start = time.perf_counter()
        cost, depth, aliases = query_shape(document)
        timings.append(time.perf_counter() - start)
    assert cost == 2.0 ** 30 and depth == 1 and aliases == 0
    assert statistics.median(timings) < 0.05, timings


def test_the_fragment_chain_is_refused_over_http_and_health_stays_fast(live):
    body = json.dumps({"query": fragment_chain(30)}).encode()
    answered: list[float] = []

    def health() -> None:
        for _ in range(20):
            start = time.perf_counter()
            _get(live + "/healthz")
            answered.append(time.perf_counter() - start)

    checker = threading.Thread(target=health)
    start = time.perf_counter()
    checker.start()
    status, answer = _post(live, body)
    took = time.perf_counter() - start
    checker.join(timeout=30)
    assert status == 200 and [e["extensions"]["code"] for e in answer["errors"]] == ["QUERY_TOO_COSTLY"]
    assert "1,073,741,824" in answer["errors"][0]["message"]
    assert took < 2.0, f"refused after {took:.2f} s (the exponential walk took hours)"
    assert len(answered) == 20 and max(answered) < 2.0


@pytest.mark.parametrize(("query", "code"), [
    ("{ " + "city(id: \"riga\") { peers { " * 12 + "id" + " } }" * 12 + " }", "QUERY_TOO_DEEP"),
    ("{ " + " ".join(f"a{i}: dataVersion" for i in range(40)) + " }", "TOO_MANY_ALIASES"),
    ("{ challenges(first: 100) { edges { node { cities(first: 100) { edges { node { challenges { name } } } } } } } }",
     "QUERY_TOO_COSTLY"),
    ('query Q($n: Int) { recommendPeers(cityId: "riga", first: $n) { score } }', None),
])
def test_deep_wide_and_costly_documents_are_refused_with_their_code(live, query, code):
    status, answer = _post(live, json.dumps({"query": query, "variables": {"n": 5}}).encode())
    assert status == 200
    if code is None:
        assert "errors" not in answer and len(answer["data"]["recommendPeers"]) == 5
    else:
        assert code in [e["extensions"]["code"] for e in answer["errors"]] and answer.get("data") is None


def test_a_first_variable_that_is_not_a_number_is_a_coercion_error_not_a_crash(live):
    query = 'query Q($n: Int) { recommendPeers(cityId: "riga", first: $n) { score } }'
    status, answer = _post(live, json.dumps({"query": query, "variables": {"n": "ten"}}).encode())
    assert status == 200 and answer["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    assert "ten" in answer["errors"][0]["message"]


@pytest.mark.parametrize(("query", "variables", "code"), [
    ("{ dataVersion ", None, "GRAPHQL_PARSE_FAILED"),
    ("{ " + "dataVersion " * 2100 + "}", None, "QUERY_TOO_LARGE"),
    ("{ nope }", None, "GRAPHQL_VALIDATION_FAILED"),
    ('query Q($n: Int) { recommendPeers(cityId: "riga", first: $n) { score } }', {"n": 1.5}, "BAD_USER_INPUT"),
    ('query Q($c: ID!) { city(id: $c) { id } }', {"c": None}, "BAD_USER_INPUT"),
])
def test_every_error_carries_a_code(live, query, variables, code):
    status, answer = _post(live, json.dumps({"query": query, "variables": variables}).encode())
    assert status == 200 and [e["extensions"]["code"] for e in answer["errors"]] == [code]
