"""A request's head (request line and headers) is bounded in size and time (http_head.BoundedHead): a client
streaming one endless header held the event loop for seconds at a time and grew the server without limit, and a
connection that stopped half-way through its head stayed open for good (slowloris)."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
import urllib.parse

import pytest

from graph.falkordb_server import free_port
from tests.test_server import _get

HEAD_SECONDS = 1.0  # the server below waits this long for a head, instead of 10 s


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    db = f"sqlite:///{tmp_path_factory.mktemp('head') / 'h.db'}"
    port = free_port()
    start = (f"import sys, cli, http_head; http_head.HEAD_SECONDS = {HEAD_SECONDS}; "
             f"sys.exit(cli.main(['--store', {db!r}, 'serve', '--seed-if-empty', '--port', '{port}']))")
    proc = subprocess.Popen([sys.executable, "-c", start], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while True:
        try:
            _get(f"http://127.0.0.1:{port}/healthz")
            break
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                pytest.fail("server did not start")
            time.sleep(0.2)
    try:
        yield port
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def _answer(sock: socket.socket) -> tuple[int, dict]:
    data = b""
    while chunk := sock.recv(65536):
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    return int(head.split()[1]), json.loads(body)


def test_an_endless_header_is_refused_and_health_stays_fast(server):
    sent, refused = 0, False
    with socket.create_connection(("127.0.0.1", server), timeout=10) as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Long: ")
        while sent < 16_000_000:  # unbounded before: all of it buffered, each piece copying the ones before it
            try:
                sock.sendall(b"a" * 65536)
            except OSError:  # answered and closed with the rest unread
                refused = True
                break
            sent += 65536
            if sent % (1 << 20) == 0:
                started = time.monotonic()
                _get(f"http://127.0.0.1:{server}/healthz")
                assert time.monotonic() - started < 1.0
    assert refused and sent < 4_000_000  # what the socket buffers took before the server's reset came back


def test_a_large_header_gets_431_with_a_code(server):
    with socket.create_connection(("127.0.0.1", server), timeout=10) as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Long: " + b"a" * 100_000 + b"\r\n\r\n")
        status, answer = _answer(sock)
    assert status == 431 and answer["errors"][0]["extensions"]["code"] == "HEADERS_TOO_LARGE"
    assert "65,536 bytes" in answer["errors"][0]["message"]


def test_a_head_that_stops_half_way_gets_408_and_a_silent_connection_is_closed(server):
    with socket.create_connection(("127.0.0.1", server), timeout=10) as half, \
            socket.create_connection(("127.0.0.1", server), timeout=10) as silent:
        half.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
        started = time.monotonic()
        status, answer = _answer(half)
        assert status == 408 and answer["errors"][0]["extensions"]["code"] == "REQUEST_TIMEOUT"
        assert silent.recv(100) == b"" and time.monotonic() - started < HEAD_SECONDS + 2


def test_long_requests_within_the_bounds_and_kept_alive_connections_still_work(server):
    with socket.create_connection(("127.0.0.1", server), timeout=10) as sock:
        _one_after_another(sock)


def _one_after_another(sock: socket.socket) -> None:
    query = urllib.parse.quote("{ dataVersion } #" + "x" * 40_000)  # a long GET query, within 64 KiB
    body = json.dumps({"query": "{ dataVersion }", "variables": {"x": "y" * 900_000}}).encode()
    for request in (f"GET /graphql?query={query} HTTP/1.1\r\nHost: x\r\n\r\n".encode(),
                    b"POST /graphql HTTP/1.1\r\nHost: x\r\ncontent-type: application/json\r\ncontent-length: %d\r\n\r\n"
                    % len(body) + body):
        time.sleep(HEAD_SECONDS / 2)  # twice, so the second waits longer than a head may take, between requests
        sock.sendall(request)
        data = b""
        while b'"dataVersion"' not in data:
            data += sock.recv(65536)
        assert data.startswith(b"HTTP/1.1 200 ")
