"""The embedded default store: one SQLite file (stdlib), WAL, foreign keys, every batch one transaction.

Nodes and relationships are rows with their properties as canonical JSON (sorted keys), so an upsert
that changes nothing is detected by comparing text and does not bump the data version.

A store whose file or folder is not writable (a copy on a read-only share, `chmod a-w`) is opened read-only:
every read works, every write is StoreReadOnlyError naming the file (see SQLiteStore._open_read_only).
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
import time
from collections.abc import Iterable, Iterator, Mapping
from contextlib import closing, contextmanager
from functools import cache
from itertools import islice
from pathlib import Path
from typing import Any
from urllib.parse import quote

from graph.errors import StoreBusyError, StoreFullError, StoreReadOnlyError, StoreUnavailableError, shown
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


def _make_schema(db: sqlite3.Connection) -> None:
    """Create the schema, or bring a store made by an older version up to it."""
    db.executescript(SCHEMA)
    _add_listing_columns(db)
    _add_columns(db, "tokens", ("created INTEGER", "expires INTEGER"))  # tokens could not expire


def _schema_of(db: sqlite3.Connection) -> dict[str, set[str]]:
    """A store's tables with their columns, and its indexes (with no columns)."""
    objects = db.execute("SELECT type, name FROM sqlite_master WHERE type IN ('table', 'index') "
                         "AND name NOT LIKE 'sqlite_%'").fetchall()
    return {name: {row[1] for row in db.execute(f"PRAGMA table_info({name})")} if kind == "table" else set()
            for kind, name in objects}


@cache
def _current_schema() -> dict[str, set[str]]:
    """The schema this version makes, read from a new store in memory (so it is never out of step with it)."""
    with closing(sqlite3.connect(":memory:", isolation_level=None)) as db:
        _make_schema(db)
        return _schema_of(db)


def _outdated(db: sqlite3.Connection) -> list[str]:
    """What the store lacks of the current schema ("nodes.country", an index, a meta row); empty when it is
    current, and then opening it writes nothing."""
    have = _schema_of(db)
    missing = []
    for name, columns in _current_schema().items():
        missing += [name] if name not in have else [f"{name}.{c}" for c in sorted(columns - have[name])]
    if "meta" in have:
        keys = {key for (key,) in db.execute("SELECT key FROM meta")}
        missing += [f"meta {key}" for key in ("version", "identity") if key not in keys]
    return missing


def _unwritable(path: Path) -> str | None:
    """Why the store at `path` cannot be written, or None when it can: SQLite writes the file, and its -wal and
    -shm files beside it (WAL mode), so it needs both the file and its folder writable."""
    folder = os.access(path.parent, os.W_OK)
    if not path.exists():
        return None if folder else "its folder is not writable"
    if os.access(path, os.W_OK):
        return None if folder else "its folder is not writable"
    return "the file is not writable" if folder else "neither the file nor its folder is writable"


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
        self.read_only = False
        self._why = ""  # why it is read-only
        # the read connections' (see _open_read_only); a URI: "#", "?" and "%" in the path are escaped
        self._read_uri = f"file:{quote(str(self.path))}?mode=ro"
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            why = _unwritable(self.path)
            self._db = self._open_writable() if why is None else self._open_read_only(why)
        except (sqlite3.Error, OSError) as exc:
            if not self.path.exists():  # a new store where no file can be made (/proc, a full or odd file system):
                why = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)  # os.access said yes
                where = next(str(p) for p in self.path.parents if p.exists())  # (as it does for root)
                raise StoreUnavailableError(f"cannot create the SQLite store {str(self.path)!r}: it cannot be made "
                                            f"in {where!r} ({why}); give a file in a folder you can write to") from exc
            if isinstance(exc, sqlite3.DatabaseError):
                self._raise_damaged(exc)
            raise StoreUnavailableError(f"cannot open SQLite store {str(self.path)!r}: {exc}") from exc
        self._file = self._file_identity()  # see _check_file
        self._lock = threading.RLock()
        self._local = threading.local()  # each thread's read connection
        self._readers: list[sqlite3.Connection] = []
        self._readers_lock = threading.Lock()

    def _file_identity(self) -> tuple[int, int] | None:
        try:
            found = os.stat(self.path)
        except FileNotFoundError:
            return None
        return found.st_dev, found.st_ino

    def _check_file(self) -> None:
        """StoreUnavailableError when the file this store opened is no longer at its path (deleted, or another
        moved there, a backup say): SQLite goes on with the open file, so a server acknowledged writes into a
        deleted file, all lost at its next start, and went on saying it was ready. Checked before every write
        and with the data version (which `/readyz` and every recommendation read): one stat, ~1 µs."""
        if self._file_identity() != self._file:
            raise StoreUnavailableError(f"the SQLite store {str(self.path)!r} was deleted or replaced by another file "
                                        "while this process had it open; it no longer reads or writes what is "
                                        "there: start it again on the store to use")

    def _open_writable(self) -> sqlite3.Connection:
        """The write connection; the schema made or brought up to date when it is not current."""
        db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False, timeout=BUSY_SECONDS)
        # cache_size: 64 MB of pages instead of the default 2 MB; a 100k-city store is ~230 MB, and its
        # import (one transaction, three B-trees for relationships) went 18.7 / 15.8 -> 15.9 / 14.7 s
        db.executescript("PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON;"
                         f"PRAGMA busy_timeout={int(BUSY_SECONDS * 1000)}; PRAGMA cache_size=-65536;")
        if _outdated(db):
            _make_schema(db)
        return db

    def _open_read_only(self, why: str) -> sqlite3.Connection:
        """A store that cannot be written, opened for reading (`mode=ro`). SQLite reads a WAL-mode file with the
        -wal and -shm files beside it, and makes them when they are missing; where it cannot (the folder is not
        writable either) the file is opened `immutable=1`, read as it is without locks, but only when no -wal
        file holds writes not yet copied into it (immutable would not see them). Nobody is writing then (a
        writer keeps a -wal file); one that starts later is not seen, and may make reads fail (README, "Stores").
        A schema that is not current (a store made by an older version) cannot be updated, and is refused."""
        self.read_only, self._why = True, why
        if not self.path.exists():
            raise StoreReadOnlyError(f"cannot create the SQLite store {str(self.path)!r}: {why}; give a file in a "
                                     "writable folder")
        db = self._connect(self._read_uri)
        try:
            db.execute("SELECT count(*) FROM sqlite_master").fetchone()  # the file is opened on first use
        except sqlite3.OperationalError as exc:
            db.close()
            if getattr(exc, "sqlite_errorcode", 0) & 0xFF not in (sqlite3.SQLITE_READONLY, sqlite3.SQLITE_CANTOPEN):
                raise
            wal = Path(f"{self.path}-wal")  # cannot make the -shm file: immutable, when it is safe
            if wal.exists() and wal.stat().st_size > 0:
                raise StoreReadOnlyError(
                    f"cannot read the SQLite store {str(self.path)!r}: it is read-only ({why}) and {str(wal)!r} holds "
                    "writes not yet copied into it, which SQLite reads only where it can make a -shm file beside "
                    "them; open it once where its folder is writable (any citypeers command), or copy the file "
                    "with its -wal to a writable folder") from exc
            self._read_uri += "&immutable=1"
            db = self._connect(self._read_uri)
        missing = _outdated(db)
        if missing:
            db.close()
            raise self._read_only_error(f"it was made by an older citypeers and its schema needs an update "
                                        f"(missing {shown(missing)}), which writes to it; open it once with "
                                        "write access (any citypeers command updates it), or use a copy in a "
                                        "writable folder")
        return db

    @staticmethod
    def _connect(uri: str) -> sqlite3.Connection:
        return sqlite3.connect(uri, uri=True, isolation_level=None, check_same_thread=False, timeout=BUSY_SECONDS)

    def _read_only_error(self, what: str = "it can be read, not written; make the file and its folder writable "
                                          "to change it, or work on a copy in a writable folder"
                         ) -> StoreReadOnlyError:
        return StoreReadOnlyError(f"the SQLite store {str(self.path)!r} is read-only ({self._why}): {what}")

    def check_writable(self) -> None:
        """StoreReadOnlyError when the store was opened read-only (every write raises it; commands that write
        call this before they start their work)."""
        if self.read_only:
            raise self._read_only_error()

    def _raise_damaged(self, exc: sqlite3.DatabaseError) -> None:
        """StoreUnavailableError when `exc` says the file is damaged (a page is garbage, or it is not a database
        at all), StoreFullError when its disk is full, StoreUnavailableError when the file could not be read or
        written (a disk error, a file size limit): the user's to repair, not a bug to trace (each was a traceback
        before, and a 500 over GraphQL). Any other error is left to the caller."""
        code = getattr(exc, "sqlite_errorcode", 0) & 0xFF  # the primary result code
        if code == sqlite3.SQLITE_FULL:  # a write that fails so is rolled back: nothing of it is kept
            raise StoreFullError(f"the disk holding the SQLite store {str(self.path)!r} is full ({exc}): nothing of "
                                 "this write was kept; free space there and run it again") from exc
        if code == sqlite3.SQLITE_IOERR:
            raise StoreUnavailableError(f"the SQLite store {str(self.path)!r} could not be read or written ({exc}, "
                                        f"{getattr(exc, 'sqlite_errorname', 'SQLITE_IOERR')}): nothing of a write was "
                                        "kept; check its disk (errors, room, a limit on file sizes)") from exc
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
        self.check_writable()
        self._check_file()
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
                db = sqlite3.connect(self._read_uri, uri=True, check_same_thread=False, timeout=BUSY_SECONDS)
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
        with closing(sqlite3.connect(self._read_uri, uri=True)) as db:
            try:
                yield from db.execute(sql, args)
            except sqlite3.DatabaseError as exc:
                self._raise_damaged(exc)
                raise

    def version(self) -> int:
        self._check_file()
        with self._reading() as db:
            return self._version(db)

    def state(self) -> tuple[str, int]:
        self._check_file()
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
