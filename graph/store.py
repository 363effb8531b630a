"""The GraphStore protocol every backend honours fully, the checks they share, and `open_store(url)`.

A store holds nodes and relationships (see graph.model) and a data version: an integer that grows with
every committed change and stays put when a write changes nothing (so importing the same bundle twice
leaves it unchanged). Backends:

- ``sqlite:///path/to/file.db`` (default ``sqlite:///citypeers.db``): graph.sqlite_store
- ``bolt://``, ``neo4j://``, ``neo4j+s://``, ``bolt+s://``: graph.neo4j_store (Neo4j 5, FalkorDB's Bolt)
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from operator import attrgetter
from pathlib import Path
from typing import Any, Protocol, runtime_checkable
from urllib.parse import parse_qs, urlsplit

import orjson

from graph.errors import Problem, StoreUnavailableError, UsageError, ValidationError, shown
from graph.model import NODE_TYPES, RELATIONSHIP_TYPES, Node, Relationship, field_types, relationship_from_props

DEFAULT_URL = "sqlite:///citypeers.db"
MAX_PAGE = 1000
# The cities listing's filters and its usual orders (field, direction): both stores index them (issue #22).
# Other orders sort what the filters match; each index costs every write of a node.
LISTING_FILTERS = ("country", "region")
LISTING_SORTS = (("name", "asc"), ("population", "desc"))
DIRECTIONS = ("out", "in", "both")

RelKey = tuple[str, str, str]  # (kind, source, target)


@dataclass(frozen=True)
class Page:
    """One page of a filtered listing. Pass `end_cursor` as `after` for the next page."""

    items: list[Node]
    end_cursor: str | None
    has_next: bool


@dataclass(frozen=True)
class WriteResult:
    changed: int  # nodes and relationships created, updated or deleted
    version: int  # the store's data version after the write


@dataclass(frozen=True)
class StoredToken:
    """An API token as the store keeps it: its hash, never the token."""

    hash: str
    name: str
    role: str
    created: int | None  # Unix seconds; None for tokens made before it was recorded
    expires: int | None  # Unix seconds; None: never


@runtime_checkable
class GraphStore(Protocol):
    url: str
    read_only: bool  # opened for reading only (a SQLite file that is not writable): every write is refused

    def upsert(self, nodes: Iterable[Node] = (), relationships: Iterable[Relationship] = ()) -> WriteResult:
        """Create or replace nodes and relationships by id, all or nothing; validates endpoints and kinds."""
        ...

    def delete(self, node_ids: Iterable[str] = (), relationships: Iterable[RelKey] = ()) -> WriteResult:
        """Delete nodes (with their relationships) and relationships by (kind, source, target)."""
        ...

    def get(self, ids: Iterable[str]) -> dict[str, Node]:
        """The nodes that exist among `ids`, by id (missing ids are simply absent)."""
        ...

    def list(self, kind: str, *, where: Mapping[str, Any] | None = None, search: str | None = None,
             first: int = 50, after: str | None = None, order: Order | None = None) -> Page:
        """Nodes of one kind with equal-to filters on fields and a case-insensitive name search, in `order`
        (default: by id). Pages are keyset pages: stable under concurrent writes."""
        ...

    def count(self, kind: str, *, where: Mapping[str, Any] | None = None, search: str | None = None) -> int: ...

    def neighbours(self, ids: Iterable[str], *, kinds: Iterable[str] | None = None,
                   direction: str = "both") -> list[Relationship]:
        """Relationships touching `ids` (as source for "out", as target for "in")."""
        ...

    def nodes(self, kind: str | None = None) -> Iterator[Node]:
        """Every node (of one kind), ordered by id."""
        ...

    def relationships(self, kind: str | None = None) -> Iterator[Relationship]:
        """Every relationship (of one kind), ordered by kind, source, target."""
        ...

    def version(self) -> int: ...

    def state(self) -> tuple[str, int]:
        """(identity, version) in one call. The identity is made with the store's data (a wiped store gets a
        new one with its next write; "" before any), so an index built from another store, or from this one
        before it was wiped and refilled, is never taken for current because the version counts alike."""
        ...

    def changes(self, since: int) -> list[Change] | None:
        """The relationship writes committed after data version `since`, oldest first, or None when the
        store cannot list them (no log that far back, a node changed, a large batch): then rebuild."""
        ...

    def put_token(self, token_hash: str, name: str, role: str, *, created: int | None = None,
                  expires: int | None = None) -> None:
        """Store an API token by its hash (never the token itself); times in Unix seconds."""
        ...

    def token(self, token_hash: str, *, now: int | None = None) -> tuple[str, str] | None:
        """(name, role) of the token with this hash if it exists and has not expired by `now` (Unix seconds,
        default the current time), or None."""
        ...

    def tokens(self) -> list[StoredToken]:
        """Every stored token (expired ones too), oldest first."""
        ...

    def delete_token(self, token_hash: str) -> None:
        """Revoke a token: every later lookup, in any process, finds nothing."""
        ...

    def put_setting(self, key: str, value: str) -> None:
        """Keep a setting (a JSON text: the tuned signal weights, say) beside the graph. Not data: the data
        version does not move."""
        ...

    def setting(self, key: str) -> str | None:
        """The setting stored under `key`, or None."""
        ...

    def close(self) -> None: ...


# ------------------------------------------------------------------------------------ change feed

LOG_LIMIT = 1_000  # relationships per write that the change log lists; a larger write says "rebuild"
CHANGELOG_KEEP = 1_000  # versions a change log remembers; a reader further behind rebuilds


@dataclass(frozen=True)
class Change:
    """One relationship written (`relationship`) or deleted (`deleted`: its key) at `version`."""

    version: int
    relationship: Relationship | None = None
    deleted: RelKey | None = None

    @property
    def key(self) -> RelKey:
        return self.relationship.key if self.relationship is not None else self.deleted  # type: ignore[return-value]


def log_entry(nodes: Sequence[Node] = (), upserted: Sequence[Relationship] = (),
              deleted: Sequence[RelKey] = (), deleted_nodes: Sequence[str] = ()) -> str:
    """The change-log text of one committed write: the relationships it wrote or deleted, or "rebuild" when
    it touched nodes or more than LOG_LIMIT relationships (readers then rebuild from a full scan)."""
    if nodes or deleted_nodes or len(upserted) + len(deleted) > LOG_LIMIT:
        return REBUILD
    body: dict[str, list] = {}
    if upserted:
        body["upsert"] = [[r.KIND, r.source, r.target, r.props()] for r in upserted]
    if deleted:
        body["delete"] = [list(k) for k in deleted]
    return canonical_json(body)


def changes_from_log(since: int, version: int, entries: Iterable[tuple[int, str]]) -> list[Change] | None:
    """Parse change-log `entries` (version, text) after `since` into Changes, or None when they do not cover
    every version up to `version` (pruned, or the store was replaced) or one of them says "rebuild"."""
    entries = sorted(entries)
    if since > version or [v for v, _ in entries] != list(range(since + 1, version + 1)):
        return None
    out: list[Change] = []
    for v, text in entries:
        entry = json.loads(text)
        if entry.get("rebuild"):
            return None
        out += [Change(v, relationship=relationship_from_props(k, a, b, p)) for k, a, b, p in entry.get("upsert", ())]
        out += [Change(v, deleted=(k, a, b)) for k, a, b in entry.get("delete", ())]
    return out


# sorted keys, no spaces: equal values give equal text (SQLite compares properties as this text)
canonical_json = json.JSONEncoder(sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode
REBUILD = canonical_json({"rebuild": True})  # the log entry of a write readers cannot apply incrementally
# kinds whose fields are strings, integers and booleans only: orjson writes those exactly as canonical_json
# does (every code point checked), while floats would differ (1e-05 against 0.00001); the Bolt store sizes
# their rows by orjson's text for the same reason
FLOAT_FREE = frozenset(kind for kind, cls in {**NODE_TYPES, **RELATIONSHIP_TYPES}.items()
                       if all(typ is not float for typ, _ in field_types(cls).values()))


def props_json(rel: Relationship) -> str:
    r"""canonical_json(rel.props()), ~8x faster: a 100k-city import writes a million of them.

    >>> from graph.model import Faces
    >>> print(props_json(Faces(source="riga", target="housing", priority=1, note="Übergang 'x' \"y\"")))
    {"note":"Übergang 'x' \"y\"","priority":1}
    >>> from graph.model import relationship_from_props  # stored before the model refused lone surrogates:
    >>> rel = relationship_from_props("FACES", "riga", "housing", {"note": "a \ud800 lone surrogate"})
    >>> props_json(rel) == canonical_json(rel.props())
    True
    """
    props = rel.props()
    if rel.KIND in FLOAT_FREE:
        try:
            return orjson.dumps(props, option=orjson.OPT_SORT_KEYS).decode()
        except orjson.JSONEncodeError:  # a lone surrogate, an integer beyond 64 bits: json takes those
            pass
    return canonical_json(props)


# ------------------------------------------------------------------------------------ ordering


@dataclass(frozen=True)
class Order:
    """Listing order: by `field`, ties by id ascending, empty (null) values last in either direction.
    Cursors of an ordered listing carry the field's value as well as the id (see `cursor`)."""

    field: str = "id"
    descending: bool = False

    def check(self, kind: str) -> Order:
        fields = [f for f in field_types(check_kind(kind)) if f != "provenance"]
        if self.field not in fields:
            raise UsageError(f"cannot sort {kind} by {self.field!r}; valid: {', '.join(fields)}")
        return self

    @property
    def by_id(self) -> bool:
        return self.field == "id" and not self.descending

    def key(self, node: Node) -> tuple:
        """The sort key of `node` (for stores and listings that order in Python)."""
        return self.key_of(getattr(node, self.field), node.id)

    def cursor(self, node: Node) -> str:
        """`node`'s position: its id when ordered by id (as before ordering existed), else value and id.

        >>> from graph.model import City
        >>> Order("population", descending=True).cursor(City(id="riga", name="Riga", country="LV", population=9))
        'o1:[9, "riga"]'
        """
        return node.id if self.by_id else "o1:" + json.dumps([getattr(node, self.field), node.id])

    def position(self, cursor: str) -> tuple[Any, str]:
        """(value, id) from a cursor this order made; a clear error for anything else: another shape, JSON
        nested too deeply to read, or a value the sort field cannot hold (text for a population, a number
        beyond 64 bits), which a store would compare with its values as it could (a crash, an empty page).

        >>> Order("population").position('o1:[9, "riga"]'), Order("latitude").position('o1:[56.9, "riga"]')
        ((9, 'riga'), (56.9, 'riga'))
        >>> Order("name").position('o1:[5, "riga"]')
        Traceback (most recent call last):
        ...
        graph.errors.UsageError: after='o1:[5, "riga"]' is not a cursor of a listing sorted by name; pass ...
        >>> Order().position('o1:[1702139, "warsaw"]')
        Traceback (most recent call last):
        ...
        graph.errors.UsageError: after='o1:[1702139, "warsaw"]' is a cursor of a listing sorted by another field, ...
        """
        if self.by_id:
            if cursor.startswith("o1:"):  # another order's: read as an id, it gave an arbitrary page (2026-12-07)
                raise UsageError(f"after={shown(cursor)} is a cursor of a listing sorted by another field, not by "
                                 "id; pass the endCursor of the previous page with the same order")
            return None, cursor
        try:
            if not cursor.startswith("o1:"):
                raise ValueError(cursor)
            value, node_id = json.loads(cursor[3:])
            if not isinstance(node_id, str) or not (value is None or _holds(self.field, value)):
                raise ValueError(cursor)
        except (ValueError, TypeError, RecursionError):  # TypeError: not a pair; RecursionError: "[[[[..."
            raise UsageError(f"after={shown(cursor)} is not a cursor of a listing sorted by {self.field}; pass "
                             "the endCursor of the previous page with the same order") from None
        return value, node_id

    def after(self, node: Node, cursor: str) -> bool:
        """Whether `node` comes after the cursor's position in this order."""
        return self.beyond(cursor)(node)

    def beyond(self, cursor: str) -> Callable[[Node], bool]:
        """Whether a node comes after the cursor's position, as a test (the cursor is read once, not per node)."""
        value, node_id = self.position(cursor)
        if self.by_id:
            return lambda node: node.id > node_id
        start = self.key_of(value, node_id)
        return lambda node: self.key(node) > start

    def key_of(self, value: Any, node_id: str) -> tuple:
        """The sort key of a position: empty values last, ties by id."""
        if value is None:
            return (1, 0, node_id)
        return (0, _Reversed(value) if self.descending else value, node_id)


INT64 = (-(2**63), 2**63 - 1)  # the integers both stores hold (SQLite INTEGER, Bolt's Integer)


@cache
def _sort_types(field: str) -> frozenset[type]:
    """The types a field has in the node kinds that have it (one type each today: population is int)."""
    return frozenset(field_types(cls)[field][0] for cls in NODE_TYPES.values() if field in field_types(cls))


def _holds(field: str, value: Any) -> bool:
    """Whether `value` is a value the field can have: a store compares it with the field's values."""
    types = _sort_types(field)
    if type(value) is int:
        return bool(types & {int, float}) and INT64[0] <= value <= INT64[1]
    if type(value) is float:
        return float in types and math.isfinite(value)
    return type(value) is str and str in types


class _Reversed:
    """Wraps a value so that it sorts in reverse (for descending keys of mixed tuples)."""

    __slots__ = ("value",)

    def __init__(self, value: Any):
        self.value = value

    def __lt__(self, other: _Reversed) -> bool:
        return other.value < self.value

    def __gt__(self, other: _Reversed) -> bool:
        return other.value > self.value

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Reversed) and self.value == other.value

    def __hash__(self) -> int:
        return hash(self.value)


# ------------------------------------------------------------------------------------ shared checks


def check_kind(kind: str) -> type[Node]:
    if kind not in NODE_TYPES:
        raise UsageError(f"unknown node kind {shown(kind)}; valid kinds: {', '.join(NODE_TYPES)}")
    return NODE_TYPES[kind]


def check_listing(kind: str, where: Mapping[str, Any] | None, first: int) -> dict[str, Any]:
    """Validate a listing's kind, filter fields and page size; returns the filters without empty ones."""
    cls = check_kind(kind)
    if not 0 <= first <= MAX_PAGE:
        raise UsageError(f"page size {first} is out of range; ask for 0 to {MAX_PAGE} items")
    filters = {k: v for k, v in (where or {}).items() if v is not None}
    unknown = [k for k in filters if k not in field_types(cls) or k == "id"]
    if unknown:
        valid = ", ".join(f for f in field_types(cls) if f != "id")
        raise UsageError(f"cannot filter {kind} by {unknown[0]!r}; valid filters: {valid}")
    return filters


def check_kinds(kinds: Iterable[str] | None, direction: str) -> list[str] | None:
    if direction not in DIRECTIONS:
        raise UsageError(f"unknown direction {direction!r}; valid: {', '.join(DIRECTIONS)}")
    if kinds is None:
        return None
    kinds = list(kinds)
    for k in kinds:
        if k not in RELATIONSHIP_TYPES:
            raise UsageError(f"unknown relationship kind {shown(k)}; valid: {', '.join(RELATIONSHIP_TYPES)}")
    return kinds


def dedupe(nodes: Iterable[Node], relationships: Iterable[Relationship]) -> tuple[list[Node], list[Relationship]]:
    """Last one wins for a repeated id or relationship key; an id used for two kinds is an error.

    >>> from graph.model import Faces
    >>> rows = (Faces(source=s, target="jobs", priority=p) for s, p in [("riga", 1), ("oslo", 2), ("riga", 3)])
    >>> [(r.source, r.priority) for r in dedupe([], rows)[1]]
    [('riga', 3), ('oslo', 2)]
    """
    by_id: dict[str, Node] = {}
    problems = []
    for node in nodes:
        seen = by_id.get(node.id)
        if seen is not None and seen.KIND != node.KIND:
            problems.append(Problem("id", node.id, f"used for both a {seen.KIND} and a {node.KIND} in one batch"))
        by_id[node.id] = node
    if problems:
        raise ValidationError(problems)
    rels = relationships if isinstance(relationships, list | tuple) else list(relationships)
    by_key = dict(zip(map(_REL_KEY, rels), rels, strict=True))  # {r.key: r ...} without a Python call per row
    return list(by_id.values()), list(by_key.values())


_REL_KEY = attrgetter("KIND", "source", "target")  # Relationship.key
source_of, target_of = attrgetter("source"), attrgetter("target")


def check_batch(nodes: list[Node], relationships: list[Relationship],
                stored_kinds: Callable[[set[str]], dict[str, str]],
                stored_parents: Callable[[set[str]], dict[str, str]]) -> None:
    """Raise ValidationError listing every reason the batch cannot be written to a store.

    `stored_kinds(ids)` gives the kind of each id already stored; `stored_parents(ids)` the stored
    PART_OF parent of challenge ids. Checks: an id reused for another kind, relationships to missing
    nodes or to nodes of the wrong kind, more than one parent per challenge, cycles in the taxonomy.
    """
    batch_kinds = {n.id: n.KIND for n in nodes}
    wanted = set(batch_kinds)
    wanted.update(map(source_of, relationships))
    wanted.update(map(target_of, relationships))
    stored = stored_kinds(wanted)
    problems = [
        Problem("id", n.id, f"already used by a {stored[n.id]}; ids are unique across kinds", n.label)
        for n in nodes if stored.get(n.id, n.KIND) != n.KIND
    ]
    kinds = {**stored, **batch_kinds}
    if problems or not _ends_fit(relationships, kinds):  # then find every relationship with a bad end
        problems += end_problems(relationships, kinds)
    problems += _taxonomy_problems([r for r in relationships if r.KIND == "PART_OF"], stored_parents)
    if problems:
        raise ValidationError(problems)


def ends_by_allowed_kinds(relationships: list[Relationship]) -> dict[tuple[str, ...], set[str]]:
    """The distinct relationship ends, grouped by the node kinds they may have (an import of 20,000 FACES has
    ~2,700 distinct ends in two groups: cities, challenges).

    >>> from graph.model import Faces, MemberOf
    >>> ends_by_allowed_kinds([Faces(source="riga", target="jobs"), MemberOf(source="riga", target="c")])
    {('City',): {'riga'}, ('Challenge',): {'jobs'}, ('City', 'Leader', 'Partner'): {'riga'}, ('Cohort',): {'c'}}
    """
    wanted: dict[tuple[str, ...], set[str]] = {}
    classes = list(dict.fromkeys(map(type, relationships)))  # in order of first appearance
    for cls in classes:
        rels = relationships if len(classes) == 1 else [r for r in relationships if type(r) is cls]
        wanted.setdefault(cls.SOURCE, set()).update(map(source_of, rels))
        wanted.setdefault(cls.TARGET, set()).update(map(target_of, rels))
    return wanted


def _ends_fit(relationships: list[Relationship], kinds: Mapping[str, str]) -> bool:
    """Whether every relationship's ends exist with kinds it allows, looking at each distinct end once per
    set of allowed kinds."""
    return all(kinds.get(node_id) in allowed
               for allowed, ids in ends_by_allowed_kinds(relationships).items() for node_id in ids)


def end_problems(relationships: list[Relationship], kinds: Mapping[str, str]) -> list[Problem]:
    problems = []
    for rel in relationships:
        for end, allowed in (("source", rel.SOURCE), ("target", rel.TARGET)):
            node_id = getattr(rel, end)
            kind = kinds.get(node_id)
            if kind is None:
                problems.append(Problem(end, node_id, f"no such node; a {rel.KIND} {end} must be an existing "
                                                      f"{' or '.join(allowed)}", rel.label))
            elif kind not in allowed:
                problems.append(Problem(end, node_id, f"is a {kind}; a {rel.KIND} {end} must be a "
                                                      f"{' or '.join(allowed)}", rel.label))
    return problems


def _taxonomy_problems(part_of: list[Relationship], stored_parents: Callable[[set[str]], dict[str, str]]
                       ) -> list[Problem]:
    if not part_of:
        return []
    problems = []
    parents: dict[str, str] = {}
    for rel in part_of:
        if parents.setdefault(rel.source, rel.target) != rel.target:
            problems.append(Problem("target", rel.target, f"challenge {rel.source} already has parent "
                                                          f"{parents[rel.source]} in this batch", rel.label))
    # Walk up from every new edge through batch and stored parents; meeting the start again is a cycle.
    frontier = set(parents.values()) | set(parents)
    known = dict(stored_parents(frontier))
    for child, parent in parents.items():
        if known.get(child, parent) != parent:
            problems.append(Problem("target", parent, f"challenge {child} already has parent {known[child]}; "
                                                      "remove that PART_OF first", f"PART_OF {child}->{parent}"))
    known.update(parents)
    in_cycle: dict[str, list[str]] = {}  # challenge -> the cycle through it, from it round to it again
    done: set[str] = set()  # walked already: on a cycle found, or leading to a root or into a cycle
    for child in parents:
        path, node = [], child
        while node is not None and node not in done:
            if node in path:  # came round: the path from `node` on is a cycle
                cycle = path[path.index(node):]
                for i, member in enumerate(cycle):
                    in_cycle[member] = [*cycle[i:], *cycle[:i], member]
                break
            path.append(node)
            if node not in known:
                known.update(stored_parents({node}))
            node = known.get(node)
        done.update(path)
    # each edge of the batch on a cycle, in batch order; edges that only lead into one are fine themselves
    problems += [Problem("target", parent, f"would make the challenge taxonomy a cycle: {' -> '.join(in_cycle[child])}",
                         f"PART_OF {child}->{parent}") for child, parent in parents.items() if child in in_cycle]
    return problems


# ------------------------------------------------------------------------------------------ opening


def redact(url: str) -> str:
    """The URL without a password, for messages and logs; a malformed URL too.

    >>> redact("bolt://neo4j:secret@db:7687/x"), redact("bolt://neo4j:secret@[::1"), redact("bolt://db:7687")
    ('bolt://neo4j:***@db:7687/x', 'bolt://neo4j:***@[::1', 'bolt://db:7687')
    """
    scheme, sep, rest = url.partition("://")
    netloc, slash, path = rest.partition("/")
    userinfo, at, host = netloc.rpartition("@")  # the last "@", as urlsplit splits it
    if not at or ":" not in userinfo:
        return url
    return f"{scheme}{sep}{userinfo.partition(':')[0]}:***@{host}{slash}{path}"


CREATING_COMMANDS = "`citypeers seed` (the programme data), `citypeers import BUNDLE` or `citypeers serve`"
# What fills an empty store: `citypeers serve` alone creates one but leaves it empty.
FILLING_COMMANDS = ("`citypeers seed` (the programme data), `citypeers import BUNDLE` or "
                    "`citypeers serve --seed-if-empty`")


def open_store(url: str | None = None, *, create: bool = True) -> GraphStore:
    """Open the store at `url` (default: $CITYPEERS_STORE, else sqlite:///citypeers.db). With `create=False`
    a missing SQLite file is an error instead of a new empty store (a misspelt name must not become one)."""
    url = url or os.environ.get("CITYPEERS_STORE") or DEFAULT_URL
    try:
        parts = urlsplit(url)
    except ValueError as exc:  # "Invalid IPv6 URL": an unclosed [
        raise UsageError(f"store URL {redact(url)!r} is not a valid URL ({exc}); use sqlite:///file.db, "
                         "bolt://host:7687 or neo4j://host:7687 (an IPv6 host in brackets: bolt://[::1]:7687)"
                         ) from None
    scheme = parts.scheme.lower()
    if scheme == "sqlite":
        from graph.sqlite_store import SQLiteStore

        path = sqlite_path(url)
        if parts.query:  # ignored, "?mode=ro" opened the store for writing
            raise UsageError(f"store URL {url!r}: a SQLite store takes no options ({parts.query!r}); it is opened "
                             "read-only when its file is not writable (chmod a-w)")
        if os.path.isdir(path):  # SQLite said only "unable to open database file"
            raise UsageError(f"store URL {url!r} names a folder, not a SQLite file; give a file's path, e.g. "
                             f"sqlite:///{os.path.join(path, 'citypeers.db')}")
        if create:  # a file on the way to a new store's file: "Not a directory"
            from graph.files import check_parents

            check_parents(Path(path), "the store ", writable=False)  # its folder: SQLiteStore says it
        if not create and not os.path.exists(path):
            raise StoreUnavailableError(f"no store at {path!r} ({url}); check the name, or create one with "
                                        f"{CREATING_COMMANDS}")
        return SQLiteStore(path)
    if scheme in ("bolt", "neo4j", "bolt+s", "neo4j+s", "bolt+ssc", "neo4j+ssc"):
        from graph.neo4j_store import BoltStore

        options = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        return BoltStore.from_url(url.partition("?")[0], options)  # as given: urlunsplit turns bolt:// to bolt:
    raise UsageError(f"unknown store URL scheme {parts.scheme!r} in {redact(url)!r}; use sqlite:///file.db, "
                     "bolt://host:7687 or neo4j://host:7687")


def sqlite_path(url: str | None = None) -> str | None:
    """The file a sqlite:/// store URL names (default: $CITYPEERS_STORE, else sqlite:///citypeers.db), or None
    for another kind of store.

    >>> sqlite_path("sqlite:///rel.db"), sqlite_path("sqlite:////abs/x.db?mode=ro"), sqlite_path("bolt://h:7687")
    ('rel.db', '/abs/x.db', None)
    """
    url = url or os.environ.get("CITYPEERS_STORE") or DEFAULT_URL
    if not url.lower().startswith("sqlite:"):
        return None
    path = url[len("sqlite://"):].split("?", 1)[0]
    path = path[1:] if path.startswith("/") else path  # sqlite:///rel.db -> rel.db; sqlite:////abs -> /abs
    if not path or url[len("sqlite:"):][:2] != "//":
        raise UsageError(f"store URL {url!r} names no file; use e.g. sqlite:///citypeers.db (a relative path) or "
                         "sqlite:////var/lib/citypeers.db (an absolute one)")
    return path


def node_counts(store: GraphStore) -> dict[str, int]:
    """How many nodes of each kind the store holds; all zero for an empty store."""
    return {kind: store.count(kind) for kind in NODE_TYPES}
