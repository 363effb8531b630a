"""A SQLite store whose disk is full, or whose file cannot be written, is said in one line naming the file (the
command line) or with a code in general words (GraphQL), and keeps nothing of the failed write (both were a
traceback, and over GraphQL an INTERNAL_SERVER_ERROR); so is one whose file was deleted or replaced under a
running server, which went on acknowledging writes into the deleted file. The faults are real: SQLite's own page
limit (`max_page_count`, SQLITE_FULL as a full disk gives it), a process limit on file sizes (RLIMIT_FSIZE: the
write fails as on a failing disk), files deleted and moved."""

from __future__ import annotations

import json
import os
import resource
import shutil
import signal
import subprocess
import sys

import pytest

from graph.errors import StoreFullError, StoreUnavailableError
from graph.model import Challenge
from graph.store import open_store

BIG = "x" * 19_000  # a description: a few pages


def _fill(store) -> None:
    """Leave the store no page to grow by (as a full disk does)."""
    pages = store._db.execute("PRAGMA page_count").fetchone()[0]
    store._db.execute(f"PRAGMA max_page_count = {pages}")


def test_a_full_store_keeps_nothing_of_the_write_and_names_its_file(seeded_db):
    with open_store(seeded_db) as store:
        version = store.version()
        _fill(store)
        with pytest.raises(StoreFullError) as err:
            store.upsert([Challenge(id=f"c{i}", name="C", description=BIG) for i in range(20)], [])
        assert str(err.value).startswith(f"the disk holding the SQLite store {str(store.path)!r} is full")
        assert store.version() == version and store.get(["c0"]) == {}
        store._db.execute("PRAGMA max_page_count = 1073741823")  # room again: writes work
        store.upsert([Challenge(id="c0", name="C", description=BIG)], [])
        assert list(store.get(["c0"])) == ["c0"]


def test_graphql_says_store_full_in_general_words(seeded_db, caplog):
    from graph.tokens import create_token
    from server import Settings, create_app
    from tests.test_server import _asgi

    caplog.set_level("INFO", logger="citypeers.errors")
    with open_store(seeded_db) as store:
        token = create_token(store, name="editor", role="editor")
    app = create_app(Settings(store_url=seeded_db))
    _fill(app.state.store)
    query = json.dumps({"query": 'mutation($d: String) { upsertChallenge(input: {id: "full", name: "Full", '
                                 'description: $d}) { __typename } }', "variables": {"d": BIG}}).encode()
    sent = _asgi(app, "POST", "/graphql", [(b"content-type", b"application/json"),
                                           (b"authorization", f"Bearer {token}".encode())], query)
    body = json.loads(b"".join(m.get("body", b"") for m in sent[1:]))
    assert body["data"] is None and body["errors"][0]["extensions"] == {"code": "STORE_FULL"}
    assert body["errors"][0]["message"].startswith("the store has no room for this write (its disk is full)")
    path = str(app.state.store.path)
    assert path not in json.dumps(body) and path in caplog.text  # the file: in the log only


def test_an_import_that_cannot_write_is_one_line_and_keeps_nothing(seeded_db, tmp_path):
    path = seeded_db.removeprefix("sqlite:///")
    bundle = tmp_path / "bundle"
    bundle.mkdir()
    (bundle / "challenges.csv").write_text("id,name,description\n" + "".join(f"c{i},C,{BIG}\n" for i in range(20)))
    limit = os.path.getsize(path) + 20_000  # the WAL may hold a few pages, not the import

    def small_files() -> None:  # in the child: a write past the limit fails (EFBIG) instead of killing it
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    done = subprocess.run([sys.executable, "-m", "cli", "--store", seeded_db, "import", str(bundle), "--no-tune"],
                          preexec_fn=small_files, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and "Traceback" not in done.stderr and len(done.stderr.splitlines()) == 1
    assert done.stderr.startswith(f"citypeers: error: the SQLite store {path!r} could not be read or written")
    with open_store(seeded_db) as store:
        assert store.get(["c0"]) == {} and store.check() is None


@pytest.mark.parametrize("how", ["deleted", "replaced"])
def test_a_store_file_deleted_or_replaced_under_a_server_is_unavailable_not_lost(seeded_db, tmp_path, how):
    from graph.tokens import create_token
    from server import Settings, create_app
    from tests.test_server import _asgi

    path = seeded_db.removeprefix("sqlite:///")
    with open_store(seeded_db) as store:
        token = create_token(store, name="editor", role="editor")
    app = create_app(Settings(store_url=seeded_db))
    shutil.copy(path, tmp_path / "backup.db")
    for suffix in ("", "-wal", "-shm"):
        os.unlink(path + suffix)
    if how == "replaced":  # a backup moved into its place
        os.replace(tmp_path / "backup.db", path)
    query = b'{"query": "mutation { upsertChallenge(input: {id: \\"gone\\", name: \\"Gone\\"}) { __typename } }"}'
    sent = _asgi(app, "POST", "/graphql", [(b"content-type", b"application/json"),
                                           (b"authorization", f"Bearer {token}".encode())], query)
    body = json.loads(b"".join(m.get("body", b"") for m in sent[1:]))
    # acknowledged before, into a file nobody would read again
    assert sent[0]["status"] == 503 and body["errors"][0]["extensions"]["code"] == "STORE_UNAVAILABLE"
    sent = _asgi(app, "GET", "/readyz")
    assert sent[0]["status"] == 503 and json.loads(sent[1]["body"])["code"] == "STORE_UNAVAILABLE"
    with pytest.raises(StoreUnavailableError, match="was deleted or replaced by another file while this process"):
        app.state.store.upsert([Challenge(id="gone", name="Gone")], [])
