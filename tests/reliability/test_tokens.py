"""Issue #22, point 10: tokens can be listed, revoked and given an expiry, in both stores; a revoked or
expired token stops working at once in every process serving the store."""

from __future__ import annotations

import json
import sqlite3
import time
import urllib.error

import pytest

from cli import main
from graph.store import open_store
from graph.tokens import create_token, find_token, parse_expiry, role_of, token_hash, token_id
from tests.test_server import _get, serving


def test_tokens_expire_list_and_revoke(store):
    now = int(time.time())
    lasting = create_token(store, name="lasting editor", role="editor")
    monthly = create_token(store, name="monthly viewer", role="viewer", expires=now + 30 * 86400)
    store.put_token(token_hash("cp_old"), "old admin", "admin", created=now - 10, expires=now - 1)
    assert role_of(store, f"Bearer {lasting}") == "editor" and role_of(store, f"Bearer {monthly}") == "viewer"
    assert role_of(store, "Bearer cp_old") is None  # expired
    assert store.token(token_hash(monthly), now=now + 30 * 86400) is None  # expired at its time, not before
    listed = {t.name: t for t in store.tokens()}
    assert set(listed) == {"lasting editor", "monthly viewer", "old admin"}
    assert listed["monthly viewer"].expires == now + 30 * 86400 and listed["lasting editor"].expires is None
    assert listed["lasting editor"].hash == token_hash(lasting)  # the hash, never the token
    store.delete_token(find_token(store, token_id(token_hash(lasting))).hash)
    assert role_of(store, f"Bearer {lasting}") is None
    assert [t.name for t in store.tokens()] == ["old admin", "monthly viewer"]  # oldest first
    assert store.version() == 0  # tokens are not graph data


@pytest.mark.parametrize(("text", "message"), [
    ("soon", "--expires 'soon': give a duration such as 90m, 12h or 30d, or a date"),
    ("2001-01-01", "expiry 2001-01-01 23:59 UTC is not in the future"),
    # `--expires "$WHEN"` with $WHEN unset made a token that never expires, as if no --expires had been given
    ("", "--expires '': give a duration such as 90m, 12h or 30d, or a date"),
])
def test_a_bad_expiry_is_one_clear_error(capsys, tmp_path, text, message):
    db = f"sqlite:///{tmp_path / 't.db'}"
    open_store(db).close()  # `token` commands use a store, they do not create one
    assert main(["--store", db, "token", "create", "--role", "viewer", "--name", "x", "--expires", text]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
    with open_store(db) as store:
        assert store.tokens() == []


@pytest.mark.parametrize(("name", "escaped"), [("ci\x1b[2J", "ci\\x1b[2J"), ("two\nlines", "two\\nlines"),
                                                ("a\tb", "a\\tb"), ("\u202eikiw", "\\u202eikiw")])
def test_a_token_name_with_control_characters_is_refused(capsys, tmp_path, name, escaped):
    """`token list` printed them as they are: an ESC sequence cleared the terminal, a line break split the line, a
    right-to-left override showed "wiki" for the name "ikiw"."""
    db = f"sqlite:///{tmp_path / 't.db'}"
    open_store(db).close()
    assert main(["--store", db, "token", "create", "--role", "viewer", "--name", name]) == 2
    assert capsys.readouterr().err == (f"citypeers: error: --name '{escaped}': give one line of text, without tabs, "
                                       "control characters or invisible formatting characters\n")
    with open_store(db) as store:
        assert store.tokens() == []


def test_a_token_name_longer_than_200_characters_is_refused(capsys, tmp_path):
    """A 600-character name was taken, and `token list` printed it on the token's line."""
    db = f"sqlite:///{tmp_path / 't.db'}"
    open_store(db).close()
    assert main(["--store", db, "token", "create", "--role", "viewer", "--name", "x" * 200]) == 0
    capsys.readouterr()
    assert main(["--store", db, "token", "create", "--role", "viewer", "--name", "y" * 600]) == 2
    assert capsys.readouterr().err == (f"citypeers: error: --name '{'y' * 80}...': is 600 characters long; --name "
                                       "takes at most 200\n")
    with open_store(db) as store:
        assert [t.name for t in store.tokens()] == ["x" * 200]


def test_cli_creates_lists_and_revokes(capsys, tmp_path):
    db = f"sqlite:///{tmp_path / 't.db'}"
    open_store(db).close()  # `token` commands use a store, they do not create one
    assert main(["--store", db, "token", "create", "--role", "editor", "--name", "ci", "--expires", "12h"]) == 0
    created = capsys.readouterr().out
    token = created.strip().splitlines()[-1]
    ident = token_id(token_hash(token))
    assert f"(id {ident})" in created
    assert main(["--store", db, "token", "list"]) == 0
    listing = capsys.readouterr().out
    assert ident in listing and "editor" in listing and "ci" in listing and "expires " in listing
    assert token not in listing
    assert main(["--store", db, "token", "revoke", "ffffff"]) == 2
    assert "no token with id 'ffffff'" in capsys.readouterr().err
    assert main(["--store", db, "token", "revoke", ident[:8]]) == 0
    assert "revoked " + ident in capsys.readouterr().out
    assert main(["--store", db, "token", "list"]) == 0
    assert "no tokens" in capsys.readouterr().out
    # revoking it again: the id is gone with it, and the message says why
    assert main(["--store", db, "token", "revoke", ident[:8]]) == 2
    assert f"no token with id '{ident[:8]}' (a revoked token is deleted, so its id is gone too)" in (
        capsys.readouterr().err)


def test_a_store_from_before_expiry_keeps_its_tokens(tmp_path):
    path = tmp_path / "old.db"
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE tokens (hash TEXT PRIMARY KEY, name TEXT NOT NULL, role TEXT NOT NULL)")
        db.execute("INSERT INTO tokens VALUES (?, 'old', 'editor')", (token_hash("cp_old"),))
    db.close()
    with open_store(f"sqlite:///{path}") as store:
        assert role_of(store, "Bearer cp_old") == "editor"
        assert [(t.name, t.created, t.expires) for t in store.tokens()] == [("old", None, None)]


def _status(base: str, token: str) -> int:
    try:
        status, _ = _get(base + "/graphql", json.dumps({"query": "{ dataVersion }"}).encode(),
                         {"content-type": "application/json", "authorization": f"Bearer {token}"})
    except urllib.error.HTTPError as err:
        err.close()
        return err.code
    return status


def test_revoked_and_expired_tokens_stop_at_once_in_every_process(tmp_path, monkeypatch, capsys):
    db = f"sqlite:///{tmp_path / 'shared.db'}"
    with open_store(db) as store:
        revoked = create_token(store, name="to revoke", role="viewer")
        expiring = create_token(store, name="to expire", role="viewer", expires=parse_expiry("1h"))
    monkeypatch.setenv("CITYPEERS_READS", "token")
    with serving(db) as one, serving(db) as two:
        assert [_status(base, t) for base in (one, two) for t in (revoked, expiring)] == [200] * 4
        assert main(["--store", db, "token", "revoke", token_id(token_hash(revoked))]) == 0
        with open_store(db) as store:  # its expiry moved to the past, as if the hour had gone by
            store.put_token(token_hash(expiring), "to expire", "viewer", expires=int(time.time()) - 1)
        assert [_status(base, t) for base in (one, two) for t in (revoked, expiring)] == [401] * 4
    capsys.readouterr()
