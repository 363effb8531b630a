"""A SQLite store that cannot be written (a copy on a read-only share, `chmod a-w`): every read works, and every
write, or a schema update, is one error naming the file and saying it is read-only.

The files are made read-only for real: write permission taken away and, as root ignores permissions, the
immutable flag set as well (`chattr +i`: root cannot write such a file or add one to such a folder either).
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from graph.errors import StoreReadOnlyError
from graph.sqlite_store import SCHEMA
from graph.store import open_store
from tests.test_cli import run

WHY = {"both": "neither the file nor its folder is writable", "file": "the file is not writable"}


@contextmanager
def read_only(*paths: Path) -> Iterator[None]:
    """`paths` (files and folders) not writable, for root too, while the block runs."""
    modes = [p.stat().st_mode for p in paths]
    for path, mode in zip(paths, modes, strict=True):
        path.chmod(mode & ~0o222)
    root = os.geteuid() == 0
    try:
        if root and subprocess.run(["chattr", "+i", *map(str, paths)], capture_output=True).returncode:
            pytest.skip("running as root without chattr +i: cannot make a file read-only for root")
        for path in paths:  # the fault is real: this process cannot write them
            with pytest.raises(PermissionError):
                if path.is_dir():
                    (path / "probe").touch()
                else:
                    path.open("r+b").close()
        yield
    finally:
        if root:
            subprocess.run(["chattr", "-i", *map(str, paths)], capture_output=True)
        for path, mode in zip(paths, modes, strict=True):
            path.chmod(mode)


@pytest.fixture
def shared(seeded_db, tmp_path) -> Path:
    """A copy of the seeded store alone in a folder (as handed to a colleague), with a token made in it."""
    folder = tmp_path / "share"
    folder.mkdir()
    path = folder / "store.db"
    shutil.copy(seeded_db.removeprefix("sqlite:///"), path)
    return path


@pytest.fixture(params=["both", "file"])
def ro_store(request, shared) -> Iterator[Path]:
    """The shared store read-only: the file and its folder ("both", a read-only share), or the file alone."""
    paths = (shared, shared.parent) if request.param == "both" else (shared,)
    with read_only(*paths):
        yield shared


READS = [["status"], ["list", "cities", "--first", "2"], ["show", "amsterdam"], ["export", "{out}/bundle"],
         ["export", "{out}/g.graphml"], ["recommend", "peers", "amsterdam", "--k", "2"],
         ["groups", "eu-digital-services"], ["report", "cohort", "eu-digital-services", "--out", "{out}/r"],
         ["evaluate", "store", "--queries", "50"], ["token", "list"], ["tune", "--dry-run", "--queries", "50"]]


@pytest.mark.parametrize("argv", READS, ids=lambda argv: " ".join(argv[:2]))
def test_every_read_works_on_a_read_only_store(capsys, ro_store, tmp_path, argv):
    before = sorted(os.listdir(ro_store.parent))
    code, out, err = run(capsys, *[a.format(out=tmp_path / "out") for a in argv], "--store", f"sqlite:///{ro_store}")
    assert code == 0 and "error" not in err, err
    assert out
    if ro_store.parent.stat().st_mode & 0o200 == 0:
        assert sorted(os.listdir(ro_store.parent)) == before  # nothing written beside it either


@pytest.mark.parametrize("argv", [["seed"], ["import", "{bundle}"], ["import", "{bundle}", "--no-tune"], ["tune"],
                                  ["token", "create", "--role", "viewer", "--name", "x"]],
                         ids=lambda argv: " ".join(argv))
def test_a_write_to_a_read_only_store_is_one_line_naming_it(capsys, request, shared, tmp_path, argv):
    bundle = tmp_path / "bundle"
    bundle.mkdir()
    (bundle / "faces.csv").write_text("source,target,priority\nriga,housing,1\n", encoding="utf-8")
    for kind, paths in (("both", (shared, shared.parent)), ("file", (shared,))):
        with read_only(*paths):
            code, out, err = run(capsys, *[a.format(bundle=bundle) for a in argv], "--store", f"sqlite:///{shared}")
        assert (code, out) == (2, "")
        assert err == (f"citypeers: error: the SQLite store '{shared}' is read-only ({WHY[kind]}): it can be read, "
                       "not written; make the file and its folder writable to change it, or work on a copy in a "
                       "writable folder\n")
    assert open_store(f"sqlite:///{shared}").version() == 1  # and nothing was written


def test_every_store_write_is_refused_and_reads_go_on(ro_store):
    from graph.model import City

    store = open_store(f"sqlite:///{ro_store}")
    try:
        assert store.read_only and store.count("City") == 24
        for write in (lambda: store.upsert([City(id="oslo", name="Oslo", country="NO")]),
                      lambda: store.delete(["riga"]), lambda: store.put_setting("k", "v"),
                      lambda: store.put_token("h", "n", "viewer"), lambda: store.delete_token("h")):
            with pytest.raises(StoreReadOnlyError, match=f"^the SQLite store '{ro_store}' is read-only "):
                write()
        assert store.count("City") == 24 and len(list(store.nodes("City"))) == 24 and store.get(["riga"])
    finally:
        store.close()


def test_a_writable_store_is_not_read_only(shared):
    with open_store(f"sqlite:///{shared}") as store:
        assert not store.read_only


def _wal_with_content(path: Path) -> None:
    """A -wal beside `path` holding a committed write not yet copied into the file (as a crash leaves it)."""
    source = path.parent.parent / "writer.db"
    shutil.copy(path, source)
    writer = sqlite3.connect(source, isolation_level=None)
    writer.executescript("PRAGMA wal_autocheckpoint=0; INSERT INTO settings (key, value) VALUES ('x', 'y');")
    shutil.copy(source, path)
    shutil.copy(f"{source}-wal", f"{path}-wal")
    writer.close()


def test_unfolded_writes_in_a_read_only_folder_are_named(capsys, shared):
    _wal_with_content(shared)
    with read_only(shared, Path(f"{shared}-wal"), shared.parent):
        code, _, err = run(capsys, "status", "--store", f"sqlite:///{shared}")
    assert (code, err) == (2, f"citypeers: error: cannot read the SQLite store '{shared}': it is read-only "
                              f"({WHY['both']}) and '{shared}-wal' holds writes not yet copied into it, which SQLite "
                              "reads only where it can make a -shm file beside them; open it once where its folder "
                              "is writable (any citypeers command), or copy the file with its -wal to a writable "
                              "folder\n")


def test_unfolded_writes_are_read_when_the_folder_is_writable(shared):
    _wal_with_content(shared)
    with read_only(shared, Path(f"{shared}-wal")), open_store(f"sqlite:///{shared}") as store:
        assert store.read_only and store.setting("x") == "y"


def test_an_outdated_read_only_store_is_refused_with_what_it_lacks(capsys, tmp_path):
    folder = tmp_path / "old"
    folder.mkdir()
    path = folder / "old.db"
    with sqlite3.connect(path) as db:  # the schema before the listing columns
        db.executescript("PRAGMA journal_mode=WAL;" + SCHEMA)
    db.close()
    with read_only(path, folder):
        code, _, err = run(capsys, "status", "--store", f"sqlite:///{path}")
    assert code == 2 and len(err.splitlines()) == 1
    assert err.startswith(f"citypeers: error: the SQLite store '{path}' is read-only ({WHY['both']}): it was made by "
                          "an older citypeers and its schema needs an update (missing 'nodes.country', ")
    assert err.endswith("which writes to it; open it once with write access (any citypeers command updates it), or "
                        "use a copy in a writable folder\n")
    with open_store(f"sqlite:///{path}") as store:  # writable again: updated as it opens
        assert not store.read_only and store.count("City", where={"country": "NO"}) == 0


def test_a_new_store_in_a_read_only_folder_is_refused(capsys, tmp_path):
    folder = tmp_path / "ro"
    folder.mkdir()
    with read_only(folder):
        code, _, err = run(capsys, "seed", "--store", f"sqlite:///{folder / 'new.db'}")
    assert (code, err) == (2, f"citypeers: error: cannot create the SQLite store '{folder / 'new.db'}': its folder is "
                              "not writable; give a file in a writable folder\n")


@pytest.mark.parametrize(("path", "found"), [("/proc/new.db", "/proc"), ("/proc/no/such/new.db", "/proc")])
def test_a_new_store_where_no_file_can_be_made_is_refused_naming_the_folder(capsys, path, found):
    """/proc takes no new file even from root, for whom os.access says every folder is writable: SQLite's
    own "unable to open database file" was all that was said."""
    code, _, err = run(capsys, "seed", "--store", f"sqlite:///{path}")
    assert code == 2 and err.startswith(f"citypeers: error: cannot create the SQLite store '{path}': it cannot be "
                                        f"made in '{found}' (")
    assert err.endswith("); give a file in a folder you can write to\n") and not Path(path).exists()


def test_opening_a_current_store_writes_nothing(shared):
    """Its schema is not written again: opening it does not wait for another process's write lock (an import).
    The lock is held until the end, so a write would wait out the busy timeout and fail ('database is locked'),
    not merely be slow: no clock is needed to see it."""
    writer = sqlite3.connect(shared, isolation_level=None)
    writer.execute("BEGIN IMMEDIATE")
    try:
        with open_store(f"sqlite:///{shared}") as store:
            assert store.count("City") == 24
    finally:
        writer.execute("ROLLBACK")
        writer.close()


def test_graphql_reads_and_a_mutation_is_refused_with_a_code(shared, caplog):
    from graph.tokens import create_token
    from server import Settings, create_app
    from tests.test_server import _asgi

    caplog.set_level("INFO", logger="citypeers.errors")
    with open_store(f"sqlite:///{shared}") as store:
        token = create_token(store, name="editor", role="editor")
    with read_only(shared, shared.parent):
        app = create_app(Settings(store_url=f"sqlite:///{shared}"))
        try:
            def post(query: str) -> tuple[int, dict]:
                sent = _asgi(app, "POST", "/graphql", [(b"content-type", b"application/json"),
                                                       (b"authorization", f"Bearer {token}".encode())],
                             json.dumps({"query": query}).encode())
                return sent[0]["status"], json.loads(b"".join(m.get("body", b"") for m in sent[1:]))

            status, body = post('{ city(id: "riga") { name } }')
            assert (status, body) == (200, {"data": {"city": {"name": "Riga"}}})
            status, body = post('mutation { upsertCity(input: {id: "oslo", name: "Oslo", country: "NO"}) '
                                '{ __typename } }')
            assert status == 200 and body["data"] is None
            assert body["errors"][0]["extensions"] == {"code": "STORE_READ_ONLY"}
            assert body["errors"][0]["message"] == ("the store is read-only: this server answers queries but cannot "
                                                    "change anything; writes need a server whose store file and "
                                                    "folder are writable")
            assert str(shared) not in json.dumps(body) and str(shared) in caplog.text  # the file: in the log only
            sent = _asgi(app, "GET", "/readyz")
            ready = json.loads(sent[1]["body"])
            assert sent[0]["status"] == 200 and ready["status"] == "ready" and ready["read_only"] is True
        finally:
            app.state.store.close()


def test_serve_starts_on_a_read_only_store_and_answers(shared):
    from tests.test_server import _get, _serve

    with read_only(shared, shared.parent):
        proc, base = _serve(f"sqlite:///{shared}")
        try:
            status, body = _get(base + "/readyz", timeout=20)
            assert status == 200 and json.loads(body)["read_only"] is True
            status, body = _get(base + "/graphql", json.dumps({"query": "{ dataVersion }"}).encode(),
                                {"content-type": "application/json"})
            assert (status, json.loads(body)) == (200, {"data": {"dataVersion": 1}})
        finally:
            proc.terminate()
            proc.wait(timeout=10)
