"""Opening a store: a malformed store URL and a SQLite file damaged on disk are each one line naming the store
and what to do, on every command, never a traceback."""

from __future__ import annotations

import shutil

import pytest

from graph.errors import StoreUnavailableError, UsageError
from graph.store import open_store
from tests.test_cli import run

VALID = "use bolt://HOST:PORT with a port from 1 to 65535, e.g. bolt://localhost:7687"


@pytest.mark.parametrize(("url", "message"), [
    ("bolt://127.0.0.1:abc", "store URL 'bolt://127.0.0.1:abc' has a bad port (Port could not be cast to integer "
                             f"value as 'abc'); {VALID}"),
    ("bolt://127.0.0.1:99999", "store URL 'bolt://127.0.0.1:99999' has a bad port (Port out of range 0-65535); "
                               f"{VALID}"),
    ("bolt://127.0.0.1:0", f"store URL 'bolt://127.0.0.1:0' has port 0; {VALID}"),
    ("bolt://", f"store URL 'bolt://' names no host; {VALID}"),
    ("neo4j+s://", "store URL 'neo4j+s://' names no host; use neo4j+s://HOST:PORT with a port from 1 to 65535, e.g. "
                   "neo4j+s://localhost:7687"),
    ("bolt://neo4j:secret@:7687", f"store URL 'bolt://neo4j:***@:7687' names no host; {VALID}"),
    ("bolt://neo4j:secret@[::1", "store URL 'bolt://neo4j:***@[::1' is not a valid URL (Invalid IPv6 URL); use "
                                 "sqlite:///file.db, bolt://host:7687 or neo4j://host:7687 (an IPv6 host in brackets: "
                                 "bolt://[::1]:7687)"),
    ("sqlite:x.db", "store URL 'sqlite:x.db' names no file; use e.g. sqlite:///citypeers.db (a relative path) or "
                    "sqlite:////var/lib/citypeers.db (an absolute one)"),
])
def test_a_malformed_store_url_is_one_line_naming_it(capsys, tmp_path, monkeypatch, url, message):
    monkeypatch.chdir(tmp_path)
    code, _, err = run(capsys, "status", "--store", url)
    assert (code, err) == (2, f"citypeers: error: {message}\n")
    assert list(tmp_path.iterdir()) == []


def test_a_sqlite_url_with_options_is_refused_not_opened_for_writing(capsys, seeded_db):
    """`?mode=ro` was dropped without a word, and the store written to."""
    from graph.store import open_store

    url = f"{seeded_db}?mode=ro"
    code, out, err = run(capsys, "token", "create", "--role", "viewer", "--name", "x", "--store", url)
    assert (code, out) == (2, "")
    assert err == (f"citypeers: error: store URL '{url}': a SQLite store takes no options ('mode=ro'); it is opened "
                   "read-only when its file is not writable (chmod a-w)\n")
    with open_store(seeded_db) as store:
        assert store.tokens() == []


def test_an_ipv6_host_keeps_its_brackets():
    with pytest.raises(StoreUnavailableError, match=r"^cannot reach the graph server at bolt://\[::1\]:1: "):
        open_store("bolt://[::1]:1")


def test_store_url_errors_are_usage_errors():
    with pytest.raises(UsageError):
        open_store("bolt://127.0.0.1:abc")


@pytest.fixture
def damaged(seeded_db, tmp_path) -> str:
    """A copy of the seeded store with 3,000 bytes of garbage written past its first pages (its header is fine,
    so it opens, and the counts `status` used to read are fine too)."""
    path = tmp_path / "damaged.db"
    shutil.copy(seeded_db.removeprefix("sqlite:///"), path)
    with path.open("r+b") as fh:
        fh.seek(4096 * 20 + 100)
        fh.write(b"\xff" * 3000)
    return f"sqlite:///{path}"


@pytest.mark.parametrize("argv", [["status"], ["list", "cities"], ["export", "{tmp}/out"], ["show", "amsterdam"],
                                  ["recommend", "peers", "amsterdam"], ["seed"]])
def test_a_damaged_sqlite_file_is_named_with_how_to_recover_it(capsys, damaged, tmp_path, argv):
    path = damaged.removeprefix("sqlite:///")
    code, out, err = run(capsys, *[a.format(tmp=tmp_path) for a in argv], "--store", damaged)
    assert code == 2 and out == "" and len(err.splitlines()) == 1, err
    assert err.startswith(f"citypeers: error: the SQLite store '{path}' is damaged (")
    assert err.endswith(f"); recover what it holds with `sqlite3 {path} .recover | sqlite3 recovered.db`, or "
                        "restore a backup\n")
    assert not (tmp_path / "out").exists()


def test_a_file_that_is_no_database_is_named(capsys, tmp_path):
    path = tmp_path / "notes.db"
    path.write_text("not a database\n" * 200, encoding="utf-8")
    code, _, err = run(capsys, "status", "--store", f"sqlite:///{path}")
    assert (code, err) == (2, f"citypeers: error: '{path}' is not a SQLite store, or its header is damaged (file is "
                              "not a database); check the name in --store, or restore a backup\n")


def test_a_path_with_uri_characters_is_the_file_it_names(capsys, tmp_path):
    """Reads open the file by a SQLite URI: a "#" in the path ended it there ("a#b/x.db" read "a"), and the
    command failed with a traceback."""
    folder = tmp_path / "a#b c"
    folder.mkdir()
    url = f"sqlite:///{folder / 's%20x.db'}"
    assert run(capsys, "seed", "--store", url)[0] == 0
    code, out, err = run(capsys, "status", "--store", url)
    assert code == 0 and "24 City" in out, err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a#b c"]


@pytest.mark.bolt
def test_a_neo4j_url_that_cannot_route_says_whether_a_server_answers(falkordb):
    """neo4j:// (the routing scheme) said only the driver's "Unable to retrieve routing information" where no
    server answers, and "Failed to obtain connection towards 'READ' server" where one does without routing
    (FalkorDB, a real one here)."""
    from graph.falkordb_server import free_port

    port = free_port()
    with pytest.raises(StoreUnavailableError) as nobody:
        open_store(f"neo4j://127.0.0.1:{port}")
    assert str(nobody.value) == (f"cannot reach the graph server at neo4j://127.0.0.1:{port}: no server answers at "
                                 f"127.0.0.1:{port} (Connection refused)")
    bolt = falkordb.bolt_port
    with pytest.raises(StoreUnavailableError) as no_routes:
        open_store(f"neo4j://falkordb@127.0.0.1:{bolt}")
    assert str(no_routes.value) == (
        f"cannot reach the graph server at neo4j://127.0.0.1:{bolt}: the server at 127.0.0.1:{bolt} gives no routing "
        f"table (Failed to obtain connection towards 'READ' server); a single server is reached with "
        f"bolt://127.0.0.1:{bolt}")
