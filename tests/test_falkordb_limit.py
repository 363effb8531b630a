"""FalkorDB's Bolt endpoint writes each RUN as Cypher text (``CYPHER rows=[...] <query>``) into a 4,096-byte stack
buffer: the fullest messages the store plans pass, and the fault is where graph.neo4j_store says it is."""

from __future__ import annotations

import logging
import time

import pytest
from neo4j import GraphDatabase
from neo4j.exceptions import ServiceUnavailable, SessionExpired

from graph.falkordb_server import FalkorDBServer
from graph.neo4j_store import FALKORDB_MAX_MESSAGE, falkordb_rendered_size, literal_size, plan_batches
from graph.store import open_store

pytestmark = pytest.mark.bolt

QUERY = "RETURN size($rows) AS n"
SHAPES = {
    "one-digit integers": 7,
    "seven-digit integers": 1_234_567,
    "ten-digit integers": 1_234_567_890,
    "nulls": None,
    "short strings": "riga",
    "strings the store escapes": "O'Brien's \\ path",
    "non-ASCII strings": "Zürich ✓",
    "FACES rows": ["syn-city-012345", 2, 2007],
    "city rows with floats": ["syn-city-012345", "Riga", "LV", None, 605_273, 56.946, -24.10589, 456_172],
}


@pytest.mark.parametrize("value", SHAPES.values(), ids=SHAPES.keys())
def test_the_fullest_messages_the_store_plans_pass_the_server(falkordb, value):
    mark = falkordb.log_size()
    store = open_store(falkordb.url())
    try:
        batches = plan_batches(QUERY, [value] * 3000, max_bytes=store.max_batch_bytes, size=literal_size,
                               envelope=store._envelope)
        fullest = max(batches, key=lambda b: falkordb_rendered_size(QUERY, {"rows": b}))
        rendered = falkordb_rendered_size(QUERY, {"rows": fullest})
        assert FALKORDB_MAX_MESSAGE - literal_size(value) - 2 < rendered <= FALKORDB_MAX_MESSAGE
        assert store._read(QUERY, rows=fullest)[0]["n"] == len(fullest)
    finally:
        store.close()
    assert falkordb.crash_report(since=mark) is None


@pytest.mark.parametrize(("params", "what"), [
    ({"rows": [1_234_567] * 480}, "480 seven-digit integers"),
    ({"rows": "x" * 4300}, "one 4,300-character string"),
])
def test_a_message_rendered_beyond_the_buffer_crashes_falkordb(params, what):
    """The documented fault itself, on a server of its own: ~4,300 rendered characters kill it. If a later
    FalkorDB renders into a larger buffer, this fails, and FALKORDB_MAX_MESSAGE may grow."""
    assert falkordb_rendered_size(QUERY, params) > 4_250, what
    driver_log = logging.getLogger("neo4j")
    level = driver_log.level
    driver_log.setLevel(logging.CRITICAL)  # the driver logs the dropped connection as an error
    try:
        with FalkorDBServer() as server:
            driver = GraphDatabase.driver(f"bolt://127.0.0.1:{server.bolt_port}", auth=("falkordb", ""),
                                          connection_timeout=3, max_transaction_retry_time=0)
            try:
                with pytest.raises((ServiceUnavailable, SessionExpired)), driver.session() as session:
                    session.run(QUERY, params).consume()
            finally:
                driver.close()
            deadline = time.monotonic() + 10
            while server.crash_report() is None and time.monotonic() < deadline:
                time.sleep(0.05)  # the log is written as the process dies
            assert server.crash_report() is not None, f"{what}: FalkorDB survived; its log:\n{server.log_tail()}"
    finally:
        driver_log.setLevel(level)


def test_the_suite_restarts_its_server_only_after_a_fork_gc_crash():
    """tests/conftest.py restarts the shared FalkorDB when it died between tests in its fork garbage
    collector (a timer, not a query); any other death still fails the next test with the log."""
    from graph.falkordb_server import bolt_answers

    with FalkorDBServer() as server:
        assert not server.gc_crashed()  # alive
        server.process.kill()
        server.process.wait(timeout=10)
        assert not server.gc_crashed()  # dead, but nothing blames the collector
        with server.log.open("a") as log:  # the fault cannot be caused on purpose: the frame its log showed
            log.write("falkordb.so(FGC_parentHandleFromChild+0x771)[0x7fca5f2d3651]\n")
        assert server.gc_crashed()
        old_log = server.log
        server.restart()
        assert server.process.poll() is None and bolt_answers(server.bolt_port) and server.log != old_log
        store = open_store(server.url())
        try:
            assert store.version() >= 0
        finally:
            store.close()
