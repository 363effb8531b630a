"""The embedded default store: one SQLite file (stdlib), WAL, foreign keys, every batch one transaction.

Nodes and relationships are rows with their properties as canonical JSON (sorted keys), so an upsert
that changes nothing is detected by comparing text and does not bump the data version.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Iterable, Iterator, Mapping
from contextlib import closing, contextmanager
from itertools import islice
from pathlib import Path
from typing import Any

from graph.errors import StoreBusyError, StoreUnavailableError
from graph.model import Node, Relationship, node_from_props, relationship_from_props
from graph.store import (
    CHANGELOG_KEEP,
    LISTING_FILTERS,
    LISTING_SORTS,
    Change,
    Order,
    Page,
    RelKey,
    StoredToken,
    WriteResult,
    canonical_json,
    changes_from_log,
    check_batch,
    check_kinds,
    check_listing,
    dedupe,
    log_entry,
    props_json,
)

SCHEMA = """
CREATE TABLE IF NOT EXISTS nodes (
    id    TEXT PRIMARY KEY,
    kind  TEXT NOT NULL,
    props TEXT NOT NULL
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS nodes_kind ON nodes (kind, id);
CREATE TABLE IF NOT EXISTS rels (
    kind   TEXT NOT NULL,
    source TEXT NOT NULL REFERENCES nodes (id) ON DELETE CASCADE,
    target TEXT NOT NULL REFERENCES nodes (id) ON DELETE CASCADE,
    props  TEXT NOT NULL,
    PRIMARY KEY (kind, source, target)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS rels_source ON rels (source, kind);
CREATE INDEX IF NOT EXISTS rels_target ON rels (target, kind);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS tokens (hash TEXT PRIMARY KEY, name TEXT NOT NULL, role TEXT NOT NULL,
                                   created INTEGER, expires INTEGER);
CREATE TABLE IF NOT EXISTS settings (key TEXT PRIMARY KEY, value TEXT NOT NULL);
-- one row per committed version: what it changed (small relationship-only writes), or {"rebuild": true}
CREATE TABLE IF NOT EXISTS changelog (version INTEGER PRIMARY KEY, body TEXT NOT NULL);
INSERT OR IGNORE INTO meta (key, value) VALUES ('version', 0);
INSERT OR IGNORE INTO meta (key, value) VALUES ('identity', abs(random()));  -- made with the file (GraphStore.state)
"""

BUSY_SECONDS = 5.0  # how long a write waits for the write lock before StoreBusyError (under the request deadline)
# Listings (issue #22): the cities listing's filters and usual sort keys (graph.store.LISTING_*) are columns of
# their own beside the JSON properties, kept by every write, with indexes in a listing's order (empty values
# last, ties by id). A filtered page in such an order then reads its rows in order and stops, and a filtered
# count reads one index: no json_extract of every node of the kind. (SQLite 3.40 re-reads the node to test an
# expression or a generated column even when an index holds it, so neither gets this far; plain columns do.)
# Every process writing to a store must run this version: an older one would leave these columns empty.
LISTED = (*LISTING_FILTERS, *(field for field, _ in LISTING_SORTS))
_IN_CHUNK = 900  # ids per "IN (...)": under SQLite's default limit of 999 host parameters


def _listing_indexes() -> Iterator[str]:
    """Each filter in id order, and the usual orders (names A to Z, the largest population first) alone and
    after the country filter, the selective one. Every index costs each write of a node (graph.store,
    LISTING_SORTS): the other directions have none, and sort what the filters match. (The table has no rowids,
    so SQLite reads the node of every index entry it tests: a region filter with a sort walks the sort's
    index, quick for a common region, slow for a rare one.)"""
    for where in LISTING_FILTERS:
        yield f"nodes_by_{where} ON nodes (kind, {where}, id)"
    for field, direction in LISTING_SORTS:
        for where in ("", "country"):
            name = f"nodes_{where}{'_' if where else ''}sorted_{field}_{direction}"
            yield f"{name} ON nodes (kind, {where}{', ' if where else ''}{field} IS NULL, {field} {direction}, id)"


def _add_listing_columns(db: sqlite3.Connection) -> None:
    """The listing columns and their indexes; a store made before them gets them filled from its properties
    (once: about a second per 100,000 nodes)."""
    fill = "UPDATE nodes SET " + ", ".join(f"{c} = json_extract(props, '$.{c}')" for c in LISTED)
    _add_columns(db, "nodes", LISTED, fill)
    for index in _listing_indexes():
        db.execute(f"CREATE INDEX IF NOT EXISTS {index}")


def _add_columns(db: sqlite3.Connection, table: str, columns: tuple[str, ...], fill: str | None = None) -> None:
    """Add the columns a store made by an older version lacks, and fill them, in one transaction (checked again
    under the write lock: another process may be opening the same store)."""
    def missing() -> list[str]:
        have = {row[1] for row in db.execute(f"PRAGMA table_info({table})")}
        return [c for c in columns if c.split()[0] not in have]

    if not missing():
        return
    db.execute("BEGIN IMMEDIATE")
    try:
        if todo := missing():
            for column in todo:
                db.execute(f"ALTER TABLE {table} ADD COLUMN {column}")
            if fill:
                db.execute(fill)
    except BaseException:
        db.execute("ROLLBACK")
        raise
    db.execute("COMMIT")


def _node_row(node: Node) -> tuple[Any, ...]:
    props = {k: v for k, v in node.record().items() if k != "id"}
    return (node.id, node.KIND, canonical_json(props), *(props.get(c) for c in LISTED))


def _field_sql(field: str) -> str:
    """A node field in SQL: its listing column, or its value in the JSON properties (the field is checked)."""
    return field if field in LISTED or field == "id" else f"json_extract(props, '$.{field}')"


def _chunks(items: Iterable[Any], size: int = _IN_CHUNK) -> Iterator[list[Any]]:
    it = iter(items)
    while chunk := list(islice(it, size)):
        yield chunk


class SQLiteStore:
    """GraphStore on one SQLite file. Safe to share between threads: one write connection behind a lock, and a
    read connection per thread."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.url = f"sqlite:///{self.path}"
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False,
                                       timeout=BUSY_SECONDS)
            # cache_size: 64 MB of pages instead of the default 2 MB; a 100k-city store is ~230 MB, and its
            # import (one transaction, three B-trees for relationships) went 18.7 / 15.8 -> 15.9 / 14.7 s
            self._db.executescript("PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON;"
                                   f"PRAGMA busy_timeout={int(BUSY_SECONDS * 1000)}; PRAGMA cache_size=-65536;")
            self._db.executescript(SCHEMA)
            _add_listing_columns(self._db)
            _add_columns(self._db, "tokens", ("created INTEGER", "expires INTEGER"))  # tokens could not expire
        except (sqlite3.Error, OSError) as exc:
            if isinstance(exc, sqlite3.DatabaseError):
                self._raise_damaged(exc)
            raise StoreUnavailableError(f"cannot open SQLite store {str(self.path)!r}: {exc}") from exc
        self._lock = threading.RLock()
        self._local = threading.local()  # each thread's read connection
        self._readers: list[sqlite3.Connection] = []
        self._readers_lock = threading.Lock()

    def _raise_damaged(self, exc: sqlite3.DatabaseError) -> None:
        """StoreUnavailableError when `exc` says the file is damaged (a page is garbage, or it is not a database
        at all): the user's to repair, not a bug to trace. Any other error is left to the caller."""
        code = getattr(exc, "sqlite_errorcode", 0) & 0xFF  # the primary result code
        if code == sqlite3.SQLITE_NOTADB:
            raise StoreUnavailableError(f"{str(self.path)!r} is not a SQLite store, or its header is damaged "
                                        f"({exc}); check the name in --store, or restore a backup") from exc
        if code == sqlite3.SQLITE_CORRUPT:
            raise self._damaged(str(exc)) from exc

    def _damaged(self, reason: str) -> StoreUnavailableError:
        return StoreUnavailableError(f"the SQLite store {str(self.path)!r} is damaged ({reason}); recover what it "
                                     f"holds with `sqlite3 {self.path} .recover | sqlite3 recovered.db`, or restore "
                                     "a backup")

    def check(self) -> None:
        """StoreUnavailableError when SQLite's quick check finds a damaged page (reads every page once: 0.03 s for
        5,000 cities, 0.5 s for the synthetic 100k store's 640 MB). `citypeers status` runs it: counts alone read
        a few pages and look fine."""
        with self._reading() as db:
            found = db.execute("PRAGMA quick_check(1)").fetchone()[0]
        if found != "ok":  # "*** in database main ***\nOn tree page 21 cell 14: invalid page number -1"
            raise self._damaged(found.splitlines()[-1])

    # -- writes -------------------------------------------------------------------------------------

    def upsert(self, nodes: Iterable[Node] = (), relationships: Iterable[Relationship] = ()) -> WriteResult:
        nodes, rels = dedupe(nodes, relationships)
        with self._transaction():
            check_batch(nodes, rels, self._kinds, self._parents)
            before = self._db.total_changes
            self._db.executemany(
                f"INSERT INTO nodes (id, kind, props, {', '.join(LISTED)}) VALUES (?, ?, ?{', ?' * len(LISTED)}) "
                f"ON CONFLICT (id) DO UPDATE SET props = excluded.props, "
                f"{', '.join(f'{c} = excluded.{c}' for c in LISTED)} WHERE props IS NOT excluded.props",
                map(_node_row, nodes))
            self._db.executemany(
                "INSERT INTO rels (kind, source, target, props) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (kind, source, target) DO UPDATE "
                "SET props = excluded.props WHERE props IS NOT excluded.props",
                ((r.KIND, r.source, r.target, props_json(r)) for r in rels))
            return self._finish(self._db.total_changes - before, log_entry(nodes, rels))

    def delete(self, node_ids: Iterable[str] = (), relationships: Iterable[RelKey] = ()) -> WriteResult:
        keys, node_ids = [tuple(k) for k in relationships], list(node_ids)
        with self._transaction():
            before = self._db.total_changes  # counts cascaded relationship deletes too
            self._db.executemany("DELETE FROM rels WHERE kind = ? AND source = ? AND target = ?", keys)
            self._db.executemany("DELETE FROM nodes WHERE id = ?", ((i,) for i in node_ids))
            return self._finish(self._db.total_changes - before, log_entry(deleted=keys, deleted_nodes=node_ids))

    def _finish(self, changed: int, log: str) -> WriteResult:
        """Bump the version when something changed, and log what (graph.store.log_entry)."""
        if changed:
            self._db.execute("UPDATE meta SET value = value + 1 WHERE key = 'version'")
            version = self._version()
            self._db.execute("INSERT OR REPLACE INTO changelog (version, body) VALUES (?, ?)", (version, log))
            self._db.execute("DELETE FROM changelog WHERE version <= ?", (version - CHANGELOG_KEEP,))
            return WriteResult(changed=changed, version=version)
        return WriteResult(changed=changed, version=self._version())

    def changes(self, since: int) -> list[Change] | None:
        with self._reading() as db:
            version = self._version(db)
            rows = db.execute("SELECT version, body FROM changelog WHERE version > ?", (since,)).fetchall()
        return changes_from_log(since, version, rows)

    @contextmanager
    def _transaction(self) -> Iterator[None]:
        """One write transaction on the write connection. Waits up to BUSY_SECONDS for this process's other
        writers and for another process's write lock (an import, say), then gives up with StoreBusyError:
        the server answers 503 STORE_BUSY with Retry-After instead of holding a request (and, before writes
        ran in worker threads, the whole event loop) for as long as the other writer takes."""
        if not self._lock.acquire(timeout=BUSY_SECONDS):
            raise StoreBusyError(f"the store {str(self.path)!r} is busy: another write in this process has held "
                                 f"it for over {BUSY_SECONDS:g} s; try again shortly")
        try:
            try:
                self._db.execute("BEGIN IMMEDIATE")  # take the write lock now: checks and writes see one state
            except sqlite3.OperationalError as exc:
                raise StoreBusyError(f"the store {str(self.path)!r} is busy: another process has held its write "
                                     f"lock for over {BUSY_SECONDS:g} s ({exc}); try again when it is done") from exc
            try:
                yield
                self._db.execute("COMMIT")
            except BaseException as exc:
                if self._db.in_transaction:
                    self._db.execute("ROLLBACK")
                if isinstance(exc, sqlite3.DatabaseError):
                    self._raise_damaged(exc)
                raise
        finally:
            self._lock.release()

    @contextmanager
    def _reading(self) -> Iterator[sqlite3.Connection]:
        """A read connection of this thread's own. In WAL mode readers never wait for the writer, so reads
        keep flowing while a write (or another process's import) holds the write lock."""
        db = getattr(self._local, "db", None)
        if db is None:
            try:
                db = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True, check_same_thread=False,
                                     timeout=BUSY_SECONDS)
            except sqlite3.Error as exc:
                raise StoreUnavailableError(f"cannot read SQLite store {str(self.path)!r}: {exc}") from exc
            self._local.db = db
            with self._readers_lock:
                self._readers.append(db)
        try:
            yield db
        except sqlite3.DatabaseError as exc:
            if isinstance(exc, sqlite3.OperationalError) and ("locked" in str(exc) or "busy" in str(exc)):
                raise StoreBusyError(f"the store {str(self.path)!r} is busy ({exc}); try again shortly") from exc
            self._raise_damaged(exc)
            raise

    def _kinds(self, ids: set[str]) -> dict[str, str]:
        out: dict[str, str] = {}
        for chunk in _chunks(ids):
            marks = ",".join("?" * len(chunk))
            out.update(self._db.execute(f"SELECT id, kind FROM nodes WHERE id IN ({marks})", chunk))
        return out

    def _parents(self, ids: set[str]) -> dict[str, str]:
        out: dict[str, str] = {}
        for chunk in _chunks(ids):
            marks = ",".join("?" * len(chunk))
            out.update(self._db.execute(
                f"SELECT source, target FROM rels WHERE kind = 'PART_OF' AND source IN ({marks})", chunk))
        return out

    # -- reads --------------------------------------------------------------------------------------

    def get(self, ids: Iterable[str]) -> dict[str, Node]:
        out: dict[str, Node] = {}
        with self._reading() as db:
            for chunk in _chunks(set(ids)):
                marks = ",".join("?" * len(chunk))
                for node_id, kind, props in db.execute(
                        f"SELECT id, kind, props FROM nodes WHERE id IN ({marks})", chunk):
                    out[node_id] = node_from_props(kind, node_id, json.loads(props))
        return out

    def _filter_sql(self, kind: str, where: Mapping[str, Any] | None, search: str | None,
                    first: int = 0) -> tuple[str, list[Any]]:
        filters = check_listing(kind, where, first)
        sql, args = ["kind = ?"], [kind]
        for key, value in filters.items():
            sql.append(f"{_field_sql(key)} = ?")
            args.append(value)
        if search:
            sql.append("instr(lower(name), ?) > 0")
            args.append(search.lower())
        return " AND ".join(sql), args

    def list(self, kind: str, *, where: Mapping[str, Any] | None = None, search: str | None = None,
             first: int = 50, after: str | None = None, order: Order | None = None) -> Page:
        order = (order or Order()).check(kind)
        sql, args = self._filter_sql(kind, where, search, first)
        value = _field_sql(order.field)
        if after is not None:
            cursor_value, cursor_id = order.position(after)
            if order.by_id:
                sql += " AND id > ?"
                args.append(cursor_id)
            elif cursor_value is None:  # among the empty values, which come last
                sql += f" AND {value} IS NULL AND id > ?"
                args.append(cursor_id)
            else:
                beyond = "<" if order.descending else ">"
                sql += f" AND ({value} IS NULL OR {value} {beyond} ? OR ({value} = ? AND id > ?))"
                args += [cursor_value, cursor_value, cursor_id]
        direction = "DESC" if order.descending else "ASC"
        ordering = f"id {direction}" if order.field == "id" else f"{value} IS NULL, {value} {direction}, id"
        with self._reading() as db:
            rows = db.execute(f"SELECT id, props FROM nodes WHERE {sql} ORDER BY {ordering} LIMIT ?",
                                    [*args, first + 1]).fetchall()
        items = [node_from_props(kind, i, json.loads(p)) for i, p in rows[:first]]
        return Page(items=items, end_cursor=order.cursor(items[-1]) if items else after, has_next=len(rows) > first)

    def count(self, kind: str, *, where: Mapping[str, Any] | None = None, search: str | None = None) -> int:
        sql, args = self._filter_sql(kind, where, search)
        with self._reading() as db:
            return db.execute(f"SELECT count(*) FROM nodes WHERE {sql}", args).fetchone()[0]

    def neighbours(self, ids: Iterable[str], *, kinds: Iterable[str] | None = None,
                   direction: str = "both") -> list[Relationship]:
        kinds = check_kinds(kinds, direction)
        ends = {"out": ["source"], "in": ["target"], "both": ["source", "target"]}[direction]
        kind_sql = f" AND kind IN ({','.join('?' * len(kinds))})" if kinds is not None else ""
        found: dict[tuple, Relationship] = {}
        with self._reading() as db:
            for end in ends:
                for chunk in _chunks(set(ids)):
                    marks = ",".join("?" * len(chunk))
                    for kind, source, target, props in db.execute(
                            f"SELECT kind, source, target, props FROM rels WHERE {end} IN ({marks}){kind_sql}",
                            [*chunk, *(kinds or [])]):
                        found[(kind, source, target)] = relationship_from_props(kind, source, target,
                                                                                json.loads(props))
        return [found[k] for k in sorted(found)]

    def nodes(self, kind: str | None = None) -> Iterator[Node]:
        sql, args = ("WHERE kind = ?", [kind]) if kind else ("", [])
        for node_id, k, props in self._scan(f"SELECT id, kind, props FROM nodes {sql} ORDER BY id", args):
            yield node_from_props(k, node_id, json.loads(props))

    def relationships(self, kind: str | None = None) -> Iterator[Relationship]:
        sql, args = ("WHERE kind = ?", [kind]) if kind else ("", [])
        query = f"SELECT kind, source, target, props FROM rels {sql} ORDER BY kind, source, target"
        for k, source, target, props in self._scan(query, args):
            yield relationship_from_props(k, source, target, json.loads(props))

    def _scan(self, sql: str, args: list[Any]) -> Iterator[tuple]:
        """Stream a full scan on a read connection of its own: one consistent snapshot, no lock held."""
        with closing(sqlite3.connect(f"file:{self.path}?mode=ro", uri=True)) as db:
            try:
                yield from db.execute(sql, args)
            except sqlite3.DatabaseError as exc:
                self._raise_damaged(exc)
                raise

    def version(self) -> int:
        with self._reading() as db:
            return self._version(db)

    def state(self) -> tuple[str, int]:
        with self._reading() as db:
            meta = dict(db.execute("SELECT key, value FROM meta WHERE key IN ('identity', 'version')"))
        return f"sqlite-{meta['identity']:x}", meta["version"]

    def put_token(self, token_hash: str, name: str, role: str, *, created: int | None = None,
                  expires: int | None = None) -> None:
        with self._transaction():
            self._db.execute("INSERT OR REPLACE INTO tokens (hash, name, role, created, expires) "
                             "VALUES (?, ?, ?, ?, ?)", (token_hash, name, role, created, expires))

    def token(self, token_hash: str, *, now: int | None = None) -> tuple[str, str] | None:
        now = int(time.time()) if now is None else now
        with self._reading() as db:
            row = db.execute("SELECT name, role FROM tokens WHERE hash = ? AND (expires IS NULL OR "
                             "expires > ?)", (token_hash, now)).fetchone()
        return (row[0], row[1]) if row else None

    def tokens(self) -> list[StoredToken]:
        with self._reading() as db:
            rows = db.execute("SELECT hash, name, role, created, expires FROM tokens "
                              "ORDER BY created IS NOT NULL, created, hash").fetchall()
        return [StoredToken(*row) for row in rows]

    def delete_token(self, token_hash: str) -> None:
        with self._transaction():
            self._db.execute("DELETE FROM tokens WHERE hash = ?", (token_hash,))

    def put_setting(self, key: str, value: str) -> None:
        with self._transaction():
            self._db.execute("INSERT OR REPLACE INTO settings (key, value) VALUES (?, ?)", (key, value))

    def setting(self, key: str) -> str | None:
        with self._reading() as db:
            row = db.execute("SELECT value FROM settings WHERE key = ?", (key,)).fetchone()
        return row[0] if row else None

    def _version(self, db: sqlite3.Connection | None = None) -> int:
        return (db or self._db).execute("SELECT value FROM meta WHERE key = 'version'").fetchone()[0]

    def close(self) -> None:
        with self._lock:
            self._db.close()
        with self._readers_lock:
            for db in self._readers:
                db.close()
            self._readers.clear()

    def __enter__(self) -> SQLiteStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
