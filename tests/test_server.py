"""The served app, for real: `citypeers serve` on a loopback port, seeding an empty store."""

from __future__ import annotations

import concurrent.futures
import csv
import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from graph.falkordb_server import free_port


def _get(url: str, data: bytes | None = None, headers: dict | None = None, timeout: float = 5) -> tuple[int, str]:
    request = urllib.request.Request(url, data=data, headers=headers or {})
    with urllib.request.urlopen(request, timeout=timeout) as response:
        return response.status, response.read().decode()


@contextmanager
def serving(db: str, *, seed: bool = True) -> Iterator[str]:
    """`citypeers serve` on a loopback port for the duration (seeding an empty store unless `seed` is false): its
    base URL."""
    proc, base = _serve(db, seed=seed)
    try:
        yield base
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def create_token(db: str, role: str, name: str) -> str:
    """A token made with `citypeers token create` in a new, empty store at `db` (which that command does not
    create: only seed, import and serve do)."""
    from graph.store import open_store

    open_store(db).close()
    created = subprocess.run([sys.executable, "-m", "cli", "--store", db, "token", "create", "--role", role,
                              "--name", name], capture_output=True, text=True, check=True, timeout=60)
    return created.stdout.strip().splitlines()[-1]


@pytest.fixture
def served(tmp_path):
    with serving(f"sqlite:///{tmp_path / 's.db'}") as base:
        yield base


def test_large_answers_are_gzipped_for_clients_that_accept_it_and_small_ones_are_not(served):
    """A whole view of the 12k-city GCoM store is 3.3 MB of JSON: gzipped for a browser (it accepts gzip), 8.5x
    smaller; a client that does not ask gets it as it was, and a small answer is never compressed."""
    import gzip

    query = json.dumps({"query": "{ networkView { nodes { id label kind x y } edges { source target } } }"}).encode()
    asked = {"content-type": "application/json", "accept-encoding": "gzip"}
    with urllib.request.urlopen(urllib.request.Request(served + "/graphql", query, asked), timeout=10) as response:
        packed = response.read()
        assert response.headers["content-encoding"] == "gzip" and "accept-encoding" in response.headers["vary"].lower()
    status, plain = _get(served + "/graphql", query, {"content-type": "application/json"})
    assert status == 200 and gzip.decompress(packed).decode() == plain and len(packed) < len(plain) / 3
    assert json.loads(plain)["data"]["networkView"]["nodes"]
    small = json.dumps({"query": "{ dataVersion }"}).encode()
    with urllib.request.urlopen(urllib.request.Request(served + "/graphql", small, asked), timeout=10) as response:
        assert "content-encoding" not in response.headers and json.loads(response.read())["data"]


def test_graphql_answers_on_a_seeded_store(served):
    status, body = _get(served + "/graphql", json.dumps({"query": "{ __typename dataVersion }"}).encode(),
                        {"content-type": "application/json"})
    assert status == 200 and json.loads(body) == {"data": {"__typename": "Query", "dataVersion": 1}}


def test_health_readiness_and_graphiql(served):
    assert _get(served + "/healthz") == (200, '{"status":"ok"}')
    status, body = _get(served + "/readyz")
    ready = json.loads(body)
    assert status == 200 and ready | {"weights": None} == {"status": "ready", "data_version": 1, "index_version": 1,
                                                            "cities": 24, "weights": None}
    assert ready["weights"]["origin"] == "defaults" and "citypeers tune" in ready["weights"]["note"]
    status, page = _get(served + "/graphql", headers={"accept": "text/html"})
    assert status == 200 and "graphiql" in page.lower()


def _post(base: str, query: str) -> dict:
    _, body = _get(base + "/graphql", json.dumps({"query": query}).encode(), {"content-type": "application/json"})
    return json.loads(body)


def _asgi(app, method: str, path: str, headers: list | None = None, body: bytes = b"") -> list[dict]:
    """Call the ASGI app in process; returns the messages it sent."""
    import asyncio

    sent: list[dict] = []

    async def receive() -> dict:
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: dict) -> None:
        sent.append(message)

    scope = {"type": "http", "method": method, "path": path, "headers": headers or [], "query_string": b"",
             "http_version": "1.1", "scheme": "http", "server": ("127.0.0.1", 80), "root_path": ""}
    asyncio.run(app(scope, receive, send))
    return sent


def _serve(db: str, stderr=subprocess.DEVNULL, *, seed: bool = True) -> tuple[subprocess.Popen, str]:
    port = free_port()
    command = [sys.executable, "-m", "cli", "--store", db, "serve", *(["--seed-if-empty"] if seed else []),
               "--port", str(port)]
    proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=stderr)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            _get(base + "/healthz")
            return proc, base
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                pytest.fail("server did not start")
            time.sleep(0.2)


def test_two_processes_see_a_write_on_their_next_read(tmp_path):
    """A write from another process (an import) shows up on each server's next read (docs/architecture.md: up to
    200,000 relationships the refit happens before the read). It was polled for with a 2 s wall-clock limit, which
    a loaded machine's refit before that read could exceed."""
    db = f"sqlite:///{tmp_path / 'shared.db'}"
    first, a = _serve(db)
    second, b = _serve(db)
    try:
        query = '{ citiesForChallenge(challengeId: "housing") { city { id } } }'
        assert _post(a, query)["data"]["citiesForChallenge"] == [] == _post(b, query)["data"]["citiesForChallenge"]
        bundle = tmp_path / "bundle"
        bundle.mkdir()
        (bundle / "faces.csv").write_text("source,target,priority\nriga,housing,1\n")
        subprocess.run([sys.executable, "-m", "cli", "--store", db, "import", str(bundle)], check=True,
                       capture_output=True, timeout=60)
        for base in (a, b):
            assert _post(base, query)["data"]["citiesForChallenge"] == [{"city": {"id": "riga"}}], base
    finally:
        for proc in (first, second):
            proc.terminate()
            proc.wait(timeout=10)


def test_each_request_is_logged_as_one_json_line(tmp_path):
    log = tmp_path / "server.log"
    with log.open("wb") as sink:
        proc, base = _serve(f"sqlite:///{tmp_path / 'logged.db'}", stderr=sink)
        try:
            assert _post(base, "{ dataVersion }") == {"data": {"dataVersion": 1}}
        finally:
            proc.terminate()
            proc.wait(timeout=10)
    lines = [json.loads(line) for line in log.read_text().splitlines() if line.startswith("{")]
    graphql = [line for line in lines if line["path"] == "/graphql"]
    assert len(graphql) == 1 and graphql[0]["method"] == "POST" and graphql[0]["status"] == 200
    assert isinstance(graphql[0]["duration_ms"], float) and graphql[0]["duration_ms"] >= 0
    assert '"GET /healthz HTTP/1.1" 200' not in log.read_text()  # ours replaces uvicorn's access log


def test_a_serving_process_runs_blas_on_one_thread():
    """What `citypeers serve` and `uvicorn server:app` run first leaves every BLAS library the process has
    loaded on one thread unless CITYPEERS_BLAS_THREADS says otherwise: numpy's and scipy's own OpenBLAS,
    started here with two."""
    code = ("import json, server; from threadpoolctl import threadpool_info; before = threadpool_info(); "
            "server.serving_process(server.Settings.from_env().blas_threads); "
            "print(json.dumps([before, threadpool_info()]))")
    env = {key: value for key, value in os.environ.items() if key != "CITYPEERS_BLAS_THREADS"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120,
                         env={**env, "OPENBLAS_NUM_THREADS": "2"}).stdout
    before, after = ([lib for lib in libs if lib["user_api"] == "blas"] for libs in json.loads(out))
    assert len(before) >= 2 and all(lib["num_threads"] == 2 for lib in before), before
    assert [lib["filepath"] for lib in after] == [lib["filepath"] for lib in before]
    assert all(lib["num_threads"] == 1 for lib in after), after


def test_oversized_request_bodies_are_refused(served):
    query = "{ dataVersion }" + " " * 1_100_000
    request = urllib.request.Request(served + "/graphql", data=json.dumps({"query": query}).encode(),
                                     headers={"content-type": "application/json"})
    with pytest.raises(urllib.error.HTTPError) as err:
        urllib.request.urlopen(request, timeout=10)
    body = json.loads(err.value.read())
    err.value.close()
    assert err.value.code == 413 and body["errors"][0]["extensions"]["code"] == "PAYLOAD_TOO_LARGE"


def test_a_refused_body_still_gets_its_answer(served):
    """A client that sends its headers, then its too large body, then reads, gets the 413 and its message.
    Answering before reading the body made uvicorn close a `Connection: close` request (as urllib sends)
    with the body unread: the client's send failed (broken pipe), or its read (connection reset)."""
    import socket

    host, port = served.removeprefix("http://").split(":")
    body = json.dumps({"query": "{ dataVersion }" + " " * 1_100_000}).encode()
    with socket.create_connection((host, int(port)), timeout=10) as conn:
        conn.sendall(b"POST /graphql HTTP/1.1\r\nHost: test\r\nConnection: close\r\n"
                     b"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n" % len(body))
        time.sleep(0.3)  # a server that answers at once has answered and closed by now
        conn.sendall(body)
        answer = b""
        while chunk := conn.recv(65536):
            answer += chunk
    assert answer.startswith(b"HTTP/1.1 413") and b"PAYLOAD_TOO_LARGE" in answer


def test_bearer_tokens_over_http(tmp_path):
    db = f"sqlite:///{tmp_path / 'tokens.db'}"
    token = create_token(db, "editor", "test")
    with serving(db) as base:
        mutation = json.dumps({"query": 'mutation { link(input: {kind: "FACES", source: "riga", target: "housing"})'
                                        " { __typename } }"}).encode()
        headers = {"content-type": "application/json"}
        status, body = _get(base + "/graphql", mutation, headers)  # no token: who is asking is not known
        assert status == 200 and json.loads(body)["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
        _, body = _get(base + "/graphql", mutation, {**headers, "authorization": f"Bearer {token}"})
        assert json.loads(body)["data"]["link"]["__typename"] == "Linked"


@pytest.mark.parametrize(("origins", "allowed"), [("", False), ("https://staff.example.org", True)])
def test_cors_is_closed_unless_configured(tmp_path, monkeypatch, origins, allowed):
    from server import Settings, create_app

    monkeypatch.setenv("CITYPEERS_CORS_ORIGINS", origins)
    app = create_app(Settings.from_env(store_url=f"sqlite:///{tmp_path / 'c.db'}"))
    sent = _asgi(app, "OPTIONS", "/graphql",
                 [(b"origin", b"https://staff.example.org"), (b"access-control-request-method", b"POST")])
    headers = dict(sent[0]["headers"])
    assert (headers.get(b"access-control-allow-origin") == b"https://staff.example.org") is allowed
    app.state.store.close()


def test_reads_can_require_a_token(tmp_path, monkeypatch):
    db = f"sqlite:///{tmp_path / 'closed.db'}"
    token = create_token(db, "viewer", "reader")
    monkeypatch.setenv("CITYPEERS_READS", "token")
    with serving(db) as base:
        query = json.dumps({"query": "{ dataVersion }"}).encode()
        with pytest.raises(urllib.error.HTTPError) as err:
            _get(base + "/graphql", query, {"content-type": "application/json"})
        assert err.value.code == 401 and b"UNAUTHENTICATED" in err.value.read()
        err.value.close()
        _, body = _get(base + "/graphql", query, {"content-type": "application/json",
                                                  "authorization": f"Bearer {token}"})
        assert "dataVersion" in json.loads(body)["data"]


def test_a_request_past_the_deadline_gets_a_timeout_error(tmp_path, monkeypatch):
    # A write that waits for SQLite's write lock, held by another process until the answer is in: the wait is real
    # and long (the store gives up only after 5 s), a plain read takes milliseconds.
    monkeypatch.setenv("CITYPEERS_REQUEST_TIMEOUT", "1")
    path = tmp_path / "slow.db"
    token = create_token(f"sqlite:///{path}", "editor", "deadline")
    with serving(f"sqlite:///{path}") as base:
        assert _post(base, "{ dataVersion }") == {"data": {"dataVersion": 1}}
        holder = subprocess.Popen(
            [sys.executable, "-c", "import sqlite3, sys, time\n"
             "db = sqlite3.connect(sys.argv[1], isolation_level=None); db.execute('BEGIN IMMEDIATE')\n"
             "print('locked', flush=True); sys.stdin.readline(); db.execute('ROLLBACK')", str(path)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        try:
            assert holder.stdout.readline().strip() == "locked"
            query = json.dumps({"query": 'mutation { link(input: {kind: "FACES", source: "riga", target: "housing"}) '
                                         "{ __typename } }"}).encode()
            with pytest.raises(urllib.error.HTTPError) as err:
                _get(base + "/graphql", query, {"content-type": "application/json",
                                                "authorization": f"Bearer {token}"}, timeout=30)
            body = json.loads(err.value.read())
            err.value.close()
        finally:
            holder.communicate("\n", timeout=30)  # let the lock go
        assert err.value.code == 504 and body["errors"][0]["extensions"]["code"] == "TIMEOUT"
        assert "longer than 1 s" in body["errors"][0]["message"]
        # the write was already waiting in the store's thread, and the answer says it may still be saved rather
        # than that it was stopped
        assert "may still be saved" in body["errors"][0]["message"]
        # it is, once the lock goes: the deadline answered while the write still waited, not after the store's
        # 5 s wait gave up on it (this was a wall-clock "under 3.5 s", which a loaded machine could fail)
        deadline = time.monotonic() + 30
        while (after := _post(base, READ_RIGA)["data"])["dataVersion"] != 2:  # and the server carries on
            assert time.monotonic() < deadline, f"the write waiting for the lock was not saved: {after}"
            time.sleep(0.05)
        assert "housing" in {c["challenge"]["id"] for c in after["city"]["challenges"]}


READ_RIGA = '{ dataVersion city(id: "riga") { challenges { challenge { id } } } }'


def test_work_abandoned_past_the_deadline_stops_and_frees_its_worker(tmp_path, monkeypatch):
    """Eight learning-group requests on a 1,200-city cohort (25 s each in the CLI) past a 1 s deadline: each
    gets its 504, and its search stops at its next checkpoint (graph/cancel.py), so the next request is
    answered. Until 2026-12-07 the searches went on after their 504s and held all eight GraphQL workers: every
    request got 504 for minutes (still at 120 s when measured)."""
    from cli import main

    db = f"sqlite:///{tmp_path / 'big.db'}"
    assert main(["generate", str(tmp_path / "g"), "--cities", "1200", "--seed", "1"]) == 0
    with (tmp_path / "g" / "cities.csv").open(encoding="utf-8-sig") as fh:
        cities = [row["id"] for row in csv.DictReader(fh)]
    members = [{"kind": "Cohort", "id": "big", "name": "Big", "programme": "P"},
               *({"kind": "MEMBER_OF", "source": c, "target": "big"} for c in cities)]
    (tmp_path / "big.jsonl").write_text("".join(json.dumps(m) + "\n" for m in members), encoding="utf-8")
    assert main(["--store", db, "import", str(tmp_path / "g"), "--no-tune"]) == 0
    assert main(["--store", db, "import", str(tmp_path / "big.jsonl"), "--no-tune"]) == 0
    monkeypatch.setenv("CITYPEERS_REQUEST_TIMEOUT", "1")
    log = (tmp_path / "server.log").open("w")
    proc, base = _serve(db, stderr=log, seed=False)
    try:
        def groups(seed: int) -> int:
            query = json.dumps({"query": f'{{ cohortGroups(cohortId: "big", seed: {seed}) {{ objective }} }}'})
            try:
                return _get(base + "/graphql", query.encode(), {"content-type": "application/json"}, timeout=60)[0]
            except urllib.error.HTTPError as err:
                err.close()
                return err.code

        with concurrent.futures.ThreadPoolExecutor(8) as pool:
            assert list(pool.map(groups, range(8))) == [504] * 8
        give_up = time.monotonic() + 30  # the searches stop within a second; before, minutes
        while True:
            try:
                assert _post(base, "{ dataVersion }") == {"data": {"dataVersion": 2}}
                break
            except urllib.error.HTTPError as err:
                err.close()
                assert err.code == 504 and time.monotonic() < give_up, "the abandoned searches still hold the workers"
                time.sleep(0.5)
        while (tmp_path / "server.log").read_text(encoding="utf-8").count("abandoned: its request passed") < 8:
            assert time.monotonic() < give_up, "not every abandoned search stopped"
            time.sleep(0.2)
        assert "Traceback" not in (tmp_path / "server.log").read_text(encoding="utf-8")
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        log.close()


@pytest.mark.parametrize("value", ["0", "two", "-1", "1.5", "257"])
def test_a_bad_blas_threads_setting_is_refused_by_name(value, monkeypatch):
    from graph.errors import UsageError
    from server import Settings

    monkeypatch.setenv("CITYPEERS_BLAS_THREADS", value)
    with pytest.raises(UsageError, match=f"CITYPEERS_BLAS_THREADS='{value}'.*1 to 256"):
        Settings.from_env()
    monkeypatch.setenv("CITYPEERS_BLAS_THREADS", "2")  # a lone worker on an idle machine may take more
    assert Settings.from_env().blas_threads == 2


@pytest.mark.parametrize("value", ["0", "soon", "-3", "7200"])
def test_a_bad_timeout_setting_is_refused_by_name(value, monkeypatch):
    from graph.errors import UsageError
    from server import Settings

    monkeypatch.setenv("CITYPEERS_REQUEST_TIMEOUT", value)
    with pytest.raises(UsageError, match=f"CITYPEERS_REQUEST_TIMEOUT='{value}'"):
        Settings.from_env()


def test_readiness_says_refreshing_while_a_large_index_rebuilds(tmp_path):
    from graph.model import City
    from seeds import load_seeds
    from server import Settings, create_app

    app = create_app(Settings(store_url=f"sqlite:///{tmp_path / 'ready.db'}"))
    load_seeds(app.state.store)
    app.state.engine.sync_limit = 0  # every graph counts as large: node writes rebuild in the background

    def readyz() -> tuple[int, dict]:
        sent = _asgi(app, "GET", "/readyz")
        body = json.loads(sent[1]["body"])
        body.pop("weights", None)  # checked in test_health_readiness_and_graphiql
        return sent[0]["status"], body

    assert readyz() == (200, {"status": "ready", "data_version": 1, "index_version": 1, "cities": 24})
    app.state.store.upsert([City(id="new-town", name="New Town", country="FR")])
    assert readyz() == (503, {"status": "refreshing", "data_version": 2, "index_version": 1, "cities": 25})
    app.state.engine.wait(timeout=600)  # the background rebuild, joined (a poll for 10 s could give up under load)
    assert readyz() == (200, {"status": "ready", "data_version": 2, "index_version": 2, "cities": 25})
    app.state.store.close()


def _arrival_app(log: list[str], waits: dict[str, float] | None = None, *, ordered: bool = True):
    """An app that logs when each request starts and ends (its path names it); while request "a" runs, the
    loop is handed something to do ("io": reading a socket, say) and request "d" arrives. Wrapped in
    ArrivalOrder unless `ordered` is false."""
    import asyncio

    from server import ArrivalOrder

    async def app(scope, receive, send):
        path = scope["path"]
        log.append(f"start {path}")
        if path == "a":
            loop = asyncio.get_running_loop()
            loop.call_soon(log.append, "io")
            loop.call_soon(lambda: arrivals.append(asyncio.ensure_future(wrapped(_request("d"), None, None))))
        if waits and path in waits:
            await asyncio.sleep(waits[path])
        log.append(f"end {path}")

    arrivals: list = []
    wrapped = ArrivalOrder(app) if ordered else app
    wrapped.arrivals = arrivals  # type: ignore[attr-defined]
    return wrapped


def _request(path: str) -> dict:
    return {"type": "http", "path": path}


def _serve_in_turn(app, paths: str) -> None:
    import asyncio

    async def scenario() -> None:
        await asyncio.gather(*(app(_request(p), None, None) for p in paths))
        while app.arrivals and not all(f.done() for f in app.arrivals):
            await asyncio.gather(*app.arrivals)

    asyncio.run(scenario())


@pytest.mark.parametrize("ordered", [True, False])
def test_requests_start_one_per_loop_turn_in_arrival_order(ordered):
    log: list[str] = []
    _serve_in_turn(_arrival_app(log, ordered=ordered), "abc")
    starts = [e for e in log if e.startswith("start")]
    if ordered:  # the loop gets its turn between two requests, and d, arriving during a, queues behind b and c
        assert log.index("end a") < log.index("io") < log.index("start b")
        assert starts == ["start a", "start b", "start c", "start d"]
    else:  # without ArrivalOrder, b and c run in a's loop turn, before the loop got to "io"
        assert log.index("start c") < log.index("io")


def test_a_request_that_awaits_does_not_hold_up_the_next():
    import asyncio

    log: list[str] = []
    ordered = _arrival_app(log, waits={"slow": 0.05})

    async def scenario() -> None:
        await asyncio.wait_for(asyncio.gather(*(ordered(_request(p), None, None) for p in ("slow", "quick"))), 5)

    asyncio.run(scenario())
    assert log == ["start slow", "start quick", "end quick", "end slow"]


def test_a_request_cancelled_while_waiting_does_not_stall_the_queue():
    import asyncio

    log: list[str] = []
    ordered = _arrival_app(log)

    async def scenario() -> None:
        tasks = [asyncio.create_task(ordered(_request(p), None, None)) for p in ("x", "gone", "y")]
        await asyncio.sleep(0)  # all three queued, none started
        tasks[1].cancel()
        await asyncio.wait_for(asyncio.gather(*tasks, return_exceptions=True), timeout=5)

    asyncio.run(scenario())
    assert log == ["start x", "end x", "start y", "end y"]


def test_a_new_event_loop_starts_afresh():
    """Requests left waiting on an event loop that stopped (tests, an embedding app) do not block the next
    loop's requests."""
    import asyncio

    log: list[str] = []
    ordered = _arrival_app(log)
    old = asyncio.new_event_loop()
    try:
        stranded = [old.create_task(ordered(_request(p), None, None)) for p in ("s1", "s2", "s3")]
        old.run_until_complete(asyncio.sleep(0))  # the loop stops with two of them still waiting their turn
        assert len(ordered.waiting) >= 1 and ordered.letting

        async def fresh() -> None:
            await asyncio.wait_for(ordered(_request("x"), None, None), timeout=5)

        asyncio.run(fresh())
        assert "start x" in log and "end x" in log
    finally:
        for task in stranded:
            task.cancel()
        old.run_until_complete(asyncio.gather(*stranded, return_exceptions=True))
        old.close()


def test_other_scopes_pass_straight_through():
    import asyncio

    log: list[str] = []
    ordered = _arrival_app(log)
    asyncio.run(ordered({"type": "lifespan", "path": "lifespan"}, None, None))
    assert log == ["start lifespan", "end lifespan"] and not ordered.waiting


def test_a_graphql_request_leaves_no_reference_cycles(tmp_path):
    """Each request's objects are freed as it ends, not left for the cycle collector: at 10k cities its full
    collections paused the server 15-70 ms, about twice a second under load (docs/benchmarks.md)."""
    import asyncio
    import gc

    from seeds import load_seeds
    from server import Settings, create_app

    app = create_app(Settings(store_url=f"sqlite:///{tmp_path / 'cycles.db'}"))
    load_seeds(app.state.store)
    query = ('{ recommendPeers(cityId: "riga", first: 5) { score reason city { id name challenges { priority '
             'challenge { name } } } sharedChallenges { id name } signals { name contribution } } '
             'cities(first: 3) { edges { node { name leaders { name } } } } }')
    body = json.dumps({"query": query}).encode()

    async def post() -> dict:
        sent: list[dict] = []

        async def receive() -> dict:
            return {"type": "http.request", "body": body, "more_body": False}

        async def send(message: dict) -> None:
            sent.append(message)

        scope = {"type": "http", "method": "POST", "path": "/graphql", "raw_path": b"/graphql", "query_string": b"",
                 "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())],
                 "http_version": "1.1", "scheme": "http", "server": ("127.0.0.1", 80), "root_path": ""}
        await app(scope, receive, send)
        return json.loads(sent[-1]["body"])

    async def scenario() -> tuple[dict, int]:
        first = await post()  # builds the index and fills the parser and validation caches
        gc.collect()
        gc.disable()
        try:
            for _ in range(5):
                assert await post() == first
            return first, gc.collect()
        finally:
            gc.enable()

    answer, unreachable = asyncio.run(scenario())
    app.state.store.close()
    assert "errors" not in answer and len(answer["data"]["recommendPeers"]) == 5
    assert unreachable == 0


def test_a_body_not_whole_by_the_deadline_gets_408_not_a_504_about_changes(tmp_path, monkeypatch):
    """A POST announcing 100 bytes and sending 25: past the deadline it was 504 TIMEOUT, "a change it made may
    still be saved", when nothing had run; a slow body is the client's, as a slow head is (408)."""
    import socket

    monkeypatch.setenv("CITYPEERS_REQUEST_TIMEOUT", "1")
    with serving(f"sqlite:///{tmp_path / 'b.db'}") as base:
        port = int(base.rsplit(":", 1)[1])
        with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
            sock.sendall(b"POST /graphql HTTP/1.1\r\nHost: x\r\ncontent-type: application/json\r\n"
                         b"content-length: 100\r\n\r\n" + b'{"query": "{ dataVersion }"')
            answer = b""
            while b"\r\n\r\n" not in answer or not answer.rstrip().endswith(b"}"):
                chunk = sock.recv(65536)
                if not chunk:
                    break
                answer += chunk
        head, _, body = answer.partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 408 ")
        error = json.loads(body)["errors"][0]
        assert error["extensions"]["code"] == "REQUEST_TIMEOUT"
        assert "did not arrive whole within 1 s" in error["message"]
        assert _post(base, "{ dataVersion }") == {"data": {"dataVersion": 1}}  # and the server carries on


def test_a_get_with_bad_variables_is_told_about_its_variables(served):
    """It said "the request body is not valid JSON" of a GET, which has no body."""
    import urllib.parse

    asked = {"query": "query($n: Int) { dataVersion }", "variables": "{bad"}
    url = served + "/graphql?" + urllib.parse.urlencode(asked)
    with pytest.raises(urllib.error.HTTPError) as err:
        _get(url)
    body = json.loads(err.value.read())
    err.value.close()
    assert err.value.code == 400 and body["errors"][0]["extensions"]["code"] == "BAD_REQUEST"
    assert body["errors"][0]["message"].startswith("the JSON sent (the request body, or a GET's variables) is not "
                                                   "valid JSON")
