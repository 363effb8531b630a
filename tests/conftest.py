"""Shared fixtures: every store backend behind one `store` fixture.

- sqlite: a fresh file per test;
- falkordb: one FalkorDB server per session (per worker under `make test`'s two workers; loopback, random
  ports), wiped before each test; a test fails loudly if the server log shows a crash while it ran;
- neo4j: only when NEO4J_URI is set (+ NEO4J_USER, NEO4J_PASSWORD). The suite deletes everything in that
  database before each test: point it at a throwaway instance only. The workers share that one database, so
  a test holds an exclusive file lock on it from its wipe to its end.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from graph.falkordb_server import FalkorDBServer
from graph.store import GraphStore, open_store

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"

BACKENDS = ["sqlite", pytest.param("falkordb", marks=pytest.mark.bolt), pytest.param("neo4j", marks=pytest.mark.bolt)]


@pytest.fixture(scope="session")
def falkordb() -> Iterator[FalkorDBServer]:
    server = FalkorDBServer().start()
    yield server
    server.stop()


def _bolt_store(request: pytest.FixtureRequest, backend: str) -> Iterator[GraphStore]:
    if backend == "neo4j":
        url = os.environ.get("NEO4J_URI")
        if not url:
            pytest.skip("NEO4J_URI is not set: the Neo4j run of the contract suite is opt-in")
        lock = Path(tempfile.gettempdir()) / f"citypeers-neo4j-{hashlib.sha256(url.encode()).hexdigest()[:16]}.lock"
        with lock.open("a") as held:
            fcntl.flock(held, fcntl.LOCK_EX)  # the other worker's test on this database ends first
            store = open_store(url)
            wipe(store)
            try:
                yield store
            finally:
                store.close()
        return
    server: FalkorDBServer = request.getfixturevalue("falkordb")
    if server.gc_crashed():  # between tests, on its own timer: no test's doing, so start a new one
        print(f"\nFalkorDB's fork garbage collector crashed between tests (log {server.log}); restarting it",
              file=sys.__stderr__)
        server.restart()
    elif server.process is not None and server.process.poll() is not None:
        pytest.fail(f"FalkorDB died before this test; its log says:\n{server.log_tail()}", pytrace=False)
    mark = server.log_size()
    store = open_store(server.url())
    wipe(store)  # FalkorDB's Bolt endpoint serves one graph whatever the database name: start empty
    try:
        yield store
    finally:
        store.close()
        crash = server.crash_report(since=mark)
        if crash:
            pytest.fail(f"FalkorDB crashed during this test; its log says:\n{crash}", pytrace=False)


def wipe(store: GraphStore) -> None:
    store._write(lambda tx: tx.run("MATCH (n) DETACH DELETE n").consume())  # type: ignore[attr-defined]


@pytest.fixture(params=BACKENDS)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[GraphStore]:
    """An empty store of each backend."""
    if request.param == "sqlite":
        s = open_store(f"sqlite:///{tmp_path / 'test.db'}")
        yield s
        s.close()
    else:
        yield from _bolt_store(request, request.param)


@pytest.fixture
def sqlite_store(tmp_path: Path) -> Iterator[GraphStore]:
    s = open_store(f"sqlite:///{tmp_path / 'test.db'}")
    yield s
    s.close()


@pytest.fixture
def seeded_db(tmp_path: Path) -> str:
    """The URL of a SQLite store holding the seeds (for command-line tests)."""
    from seeds import load_seeds

    url = f"sqlite:///{tmp_path / 'seeded.db'}"
    store = open_store(url)
    load_seeds(store)
    store.close()
    return url


@pytest.fixture(autouse=True, scope="session")
def no_store_left_in_the_checkout() -> Iterator[None]:
    """The suite never creates the default store (citypeers.db) in the checkout: `make test` used to leave an
    empty one there (a test reached the default URL before failing)."""
    default = ROOT / "citypeers.db"
    existed = default.exists()
    yield
    assert existed or not default.exists(), "a test created citypeers.db in the checkout; give it a --store"
