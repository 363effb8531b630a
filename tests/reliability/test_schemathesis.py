"""Issue #22, reliability suite: schemathesis against a live server on loopback (GraphQL, from the schema in
schema.graphql, which tests/test_graphql.py keeps equal to the served one), anonymous
and with an editor token. No response may be a 5xx. A bounded run here; a longer one with `make soak`."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from tests.reliability.live import editor_token, live_server

SCHEMA = Path(__file__).resolve().parents[2] / "schema.graphql"


def fuzz(base: str, token: str | None, requests: int) -> tuple[Counter, list[str]]:
    """Send `requests` generated GraphQL requests (every query and mutation); the statuses and each 5xx."""
    operations = [result.ok() for result in schemathesis.graphql.from_path(SCHEMA).get_all_operations()]
    headers = {"authorization": f"Bearer {token}"} if token else {}
    statuses: Counter = Counter()
    server_errors: list[str] = []

    @settings(max_examples=requests, deadline=None, database=None, phases=[Phase.generate],
              suppress_health_check=list(HealthCheck))
    @given(st.data())
    def one(data: st.DataObject) -> None:
        case = data.draw(data.draw(st.sampled_from(operations)).as_strategy())
        response = case.call(base_url=base + "/graphql", headers=headers, timeout=30)
        statuses[response.status_code] += 1
        if response.status_code >= 500:
            server_errors.append(f"{response.status_code} for {case.body!r}: {response.text[:300]}")

    one()
    return statuses, server_errors


def _run(tmp_path: Path, role: str | None, requests: int) -> None:
    db = f"sqlite:///{tmp_path / 'fuzz.db'}"
    token = editor_token(db) if role else None
    with live_server(db) as base:
        statuses, server_errors = fuzz(base, token, requests)
    print(f"schemathesis, {role or 'anonymous'}: {sum(statuses.values())} requests, statuses {dict(statuses)}")
    assert sum(statuses.values()) >= requests * 0.9  # hypothesis may stop a little early once it has seen enough
    assert statuses[200] > 0
    assert server_errors == []


@pytest.mark.parametrize("role", [None, "editor"])
def test_generated_requests_get_no_server_error(tmp_path, role):
    _run(tmp_path, role, requests=100)


@pytest.mark.soak
@pytest.mark.parametrize("role", [None, "editor"])
def test_generated_requests_get_no_server_error_soak(tmp_path, role):
    _run(tmp_path, role, requests=1_500)
