"""The served app, for real: `citypeers serve` on a loopback port, seeding an empty store."""

from __future__ import annotations

import json
import subprocess
import sys
import time
import urllib.request

import pytest

from graph.falkordb_server import free_port


def _get(url: str, data: bytes | None = None, headers: dict | None = None) -> tuple[int, str]:
    request = urllib.request.Request(url, data=data, headers=headers or {})
    with urllib.request.urlopen(request, timeout=5) as response:
        return response.status, response.read().decode()


@pytest.fixture
def served(tmp_path):
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "cli", "--store", f"sqlite:///{tmp_path / 's.db'}", "serve",
                             "--seed-if-empty", "--port", str(port)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            _get(base + "/healthz")
            break
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                pytest.fail(f"server did not start: {proc.stdout.read().decode()}")
            time.sleep(0.2)
    yield base
    proc.terminate()
    proc.wait(timeout=10)
    proc.stdout.close()


def test_graphql_answers_on_a_seeded_store(served):
    status, body = _get(served + "/graphql", json.dumps({"query": "{ __typename dataVersion }"}).encode(),
                        {"content-type": "application/json"})
    assert status == 200 and json.loads(body) == {"data": {"__typename": "Query", "dataVersion": 1}}


def test_health_readiness_and_graphiql(served):
    assert _get(served + "/healthz") == (200, '{"status":"ok"}')
    status, body = _get(served + "/readyz")
    assert status == 200 and json.loads(body) == {"status": "ready", "data_version": 1}
    status, page = _get(served + "/graphql", headers={"accept": "text/html"})
    assert status == 200 and "graphiql" in page.lower()
