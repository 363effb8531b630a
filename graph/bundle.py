"""Bundles: the whole graph as spreadsheet-friendly files, for import and export.

Two formats carry the same data:

- **CSV**: a folder with one file per node kind (``cities.csv``, ``leaders.csv``, ``challenges.csv``,
  ``partners.csv``, ``cohorts.csv``) and one per relationship kind (``faces.csv``, ``serves.csv``,
  ``member_of.csv``, ``works_on.csv``, ``partners_with.csv``, ``peers_with.csv``, ``part_of.csv``,
  ``dismissed.csv``, ``covers.csv``), comma-separated. Headers are the field names (README, "Bundle
  format"), each once; an empty cell is a missing value. Any subset of files may be present, named in any
  case (``Cities.CSV``); other ``.csv`` names are a problem, ``manifest.json`` and other files are ignored,
  and a folder without a bundle file is an error. A file present must have a header row (an empty file is
  a problem); an unknown or missing column is one problem for its file. Text cells that a spreadsheet
  would run as a formula are written with a leading quote, which import takes off (graph.cells). An export
  starts each file with a UTF-8 byte order mark, so that Excel reads it as UTF-8 (without one it reads the
  machine's code page, shows "KrakÃ³w", and saves that back as valid UTF-8 that imports garbled); import
  takes a file with a mark or without.
- **JSON Lines**: one object per line, ``{"kind": "City", "id": ..., ...}`` for nodes and
  ``{"kind": "FACES", "source": ..., "target": ..., ...}`` for relationships.

Import validates every row before writing anything, reports each problem as ``file:row: message`` (every
bad row of every file and every bad reference in one report: the first MAX_PROBLEMS, and how many in all), and
writes the bundle in one store upsert (one transaction), so a bad row anywhere leaves the store as it was.
Upserts are idempotent: importing the same bundle twice changes nothing the second time.
"""

from __future__ import annotations

import csv
import difflib
import json
import math
import secrets
import shutil
import sys
from collections.abc import Callable, Collection, Iterable, Iterator
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from graph.cells import CSV_ENCODING, escape, unescape
from graph.errors import Problem, UsageError, ValidationError, shown
from graph.heap import long_lived
from graph.model import (
    INT_MAX,
    MAX_LENGTHS,
    NODE_TYPES,
    RELATIONSHIP_TYPES,
    Node,
    Relationship,
    field_types,
    parse_node,
    parse_relationship,
)
from graph.store import GraphStore, check_batch, end_problems
from graph.suggest import closest

NODE_FILES = {"City": "cities.csv", "Leader": "leaders.csv", "Challenge": "challenges.csv",
              "Partner": "partners.csv", "Cohort": "cohorts.csv"}
RELATIONSHIP_FILES = {kind: f"{kind.lower()}.csv" for kind in RELATIONSHIP_TYPES}
FILES = {**{v: k for k, v in NODE_FILES.items()}, **{v: k for k, v in RELATIONSHIP_FILES.items()}}
FORMATS = ("csv", "jsonl")
MAX_PROBLEMS = 200
# The longest CSV field read is at least every field's model limit (graph.model.MAX_LENGTHS) plus its escape
# quote, so every value the model accepts round-trips; the model reports longer ones, and the csv module
# those beyond its limit (131,072 characters by default).
FIELD_LIMIT = max(MAX_LENGTHS.values()) + 1
TOO_LONG = f"a number is too long to read (over 4,300 digits); the largest a field holds is {INT_MAX:,}"
# The csv module's strict errors, said for a spreadsheet user: a quote never closed took in the rest of the file
# as one cell (its rows silently gone when that cell was the last column's), and text after a closing quote was
# run on into the cell
QUOTES = {
    "unexpected end of data": "a quoted cell in the row starting here is never closed, so the rest of the file "
                              "would be read into it; close the quote, and write a quote inside a quoted cell as "
                              "two (\"\")",
    "',' expected after '\"'": "a quoted cell in the row starting here has text after its closing quote; quote the "
                                "whole cell and write a quote inside it as two (\"\")",
}
INVALID, PROBLEM = "(invalid)", "(problem)"  # the kind and key of a record that stands for a problem with its file
MISSING = "(missing columns)"  # the key of the columns a CSV record's file lacks (its header's problem)
SHORT = "(short row)"  # the key of a CSV record with fewer cells than its header: (its cells, the columns)


@dataclass
class Bundle:
    """Parsed, valid rows with where each came from (for messages)."""

    nodes: list[Node] = field(default_factory=list)
    relationships: list[Relationship] = field(default_factory=list)
    origin: dict[Any, str] = field(default_factory=dict)  # node id or relationship key -> "file:row"
    rejected: dict[str, str] = field(default_factory=dict)  # id of a node row with problems -> "file:row"
    # relationship rows with problems of their own whose ends parse: (their ends alone, "file:row"), so a
    # missing or wrong-kind end is said in the same report, not in a second round once the row is mended
    ends_only: list[tuple[Relationship, str]] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for item in [*self.nodes, *self.relationships]:
            out[item.KIND] = out.get(item.KIND, 0) + 1
        return out


@dataclass
class ImportReport:
    counts: dict[str, int]
    changed: int
    version: int
    dry_run: bool


# ------------------------------------------------------------------------------------------- reading


def check_bundle_path(path: Path) -> None:
    """UsageError unless `path` is a bundle's folder or file."""
    if not (path.is_file() or path.is_dir()):
        raise UsageError(f"no bundle at {str(path)!r}: give a folder of CSV files or a .jsonl file")


def _records(path: Path) -> Iterator[tuple[str, str, int, dict[str, Any]]]:
    """(kind, file name, row number, record) for every data row under `path`. A file name is matched in any
    case (Excel saves ``Cities.CSV``); a .csv name that is no bundle file's is one problem among the rest."""
    check_bundle_path(path)
    if path.is_file():
        files = [path]
    else:
        files = sorted(p for p in path.iterdir() if p.suffix.lower() in (".csv", ".jsonl") and p.is_file())
        if not files:
            raise UsageError(f"no bundle files in {str(path)!r}; expected CSV files named {', '.join(FILES)}, or "
                             "a .jsonl file")
    for file in files:
        name = file.name.lower()
        if file.suffix.lower() == ".jsonl":
            yield from _jsonl_records(file)
        elif name in FILES:
            yield from _csv_records(file, FILES[name])
        elif path.is_file():
            raise UsageError(f"unknown bundle file {file.name!r}; valid CSV files: {', '.join(FILES)}, or a .jsonl "
                             "file")
        else:
            yield _invalid(file, 1, f"{_unknown('bundle file name', file.name, FILES)} valid CSV files: "
                                    f"{', '.join(FILES)}")


def _csv_records(file: Path, kind: str) -> Iterator[tuple[str, str, int, dict[str, Any]]]:
    fields = field_types(NODE_TYPES[kind] if kind in NODE_TYPES else RELATIONSHIP_TYPES[kind])
    text = {name for name, (typ, _) in fields.items() if typ is str}
    if csv.field_size_limit() < FIELD_LIMIT:
        csv.field_size_limit(FIELD_LIMIT)
    with file.open(newline="", encoding="utf-8-sig") as fh:
        reader = csv.DictReader(fh, strict=True)  # a quote never closed is an error, not the rest of the file
        ended = 0  # where the previous record ended
        try:
            header = reader.fieldnames or []
            if header and header[0].startswith("\ufeff"):  # a second byte order mark (a file saved twice by an
                header = reader.fieldnames = [header[0].lstrip("\ufeff"), *header[1:]]  # editor adding one)
            problems, readable = _header_problems(kind, header, fields)
            for problem in problems:
                value = file.name if problem.field == "file" else problem.value
                yield INVALID, file.name, 1, {PROBLEM: replace(problem, value=value, where=f"{file.name}:1")}
            if not readable:
                return
            missing = frozenset(f for f in fields if f not in header)  # reported above once, not on every row
            ended = reader.line_num
            for row in reader:
                # a record with line breaks in its quoted cells is named by the line it starts on, not the one
                # it ends on; blank lines before it are skipped by the reader
                breaks = sum(v.count("\n") for v in (*row.values(), *(row.get(None) or ())) if isinstance(v, str))
                start, ended = max(ended + 1, reader.line_num - breaks), reader.line_num
                extra = row.pop(None, None)  # cells beyond the header
                cells = sum(v is not None for v in row.values())  # the reader fills a short row's end with None
                record: dict[str, Any] = {k: unescape(v) if k in text and v else v
                                          for k, v in row.items() if k in fields}  # unknown columns: said above
                if extra:
                    record["(extra cells)"] = extra
                elif cells < len(header):  # a file cut short: its last row would replace a node with half of it
                    record[SHORT] = (cells, len(header))
                elif missing:
                    record[MISSING] = missing
                yield kind, file.name, start, record
        except csv.Error as exc:  # a field over the csv module's limit, or quotes out of place
            yield _invalid(file, ended + 1, QUOTES.get(str(exc), f"not readable as CSV: {exc}"))
        except UnicodeDecodeError:
            yield _invalid(file, *undecodable(file))


def _header_problems(kind: str, header: list[str], fields: dict[str, tuple[type, bool]]) -> tuple[list[Problem], bool]:
    """A CSV header's problems, each said once for its file rather than on every row, and whether its rows can
    be read: not when the file is empty, its columns are not separated by commas, it has no header row, or a
    column appears twice. An unknown column (with the closest valid one) or a missing required one is a
    problem, and the rows are still read for the others.

    >>> [str(p) for p in _header_problems("City", ["id", "name", "populaton"], field_types(NODE_TYPES["City"]))[0]]
    ["column 'populaton': unknown column; did you mean 'population'? valid columns: id, name, country, region, \
population, latitude, longitude, geonames_id, provenance", "column 'country': is missing; every City needs one; \
valid columns: id, name, country, region, population, latitude, longitude, geonames_id, provenance"]
    """
    columns = ", ".join(fields)
    if not header:
        return [Problem("file", None, f"is empty; the first row must name the columns, e.g. {','.join(fields)}")], False
    if not any(name in fields for name in header):
        first = ",".join(header)
        for delimiter, shown in ((";", "semicolons"), ("\t", "tabs"), ("|", "bars")):
            if any(name in fields for name in first.split(delimiter)):
                return [Problem("file", None, f"separates its columns with {shown}; the delimiter must be a comma "
                                              "(in a spreadsheet: save as CSV, comma-separated)")], False
        return [Problem("file", None, f"has no header row (its first row is {first[:60]!r}); the first row must "
                                      f"name the columns, e.g. {','.join(fields)}")], False
    counts = {name: header.count(name) for name in header}
    twice = [Problem("column", name, f"appears {'twice' if n == 2 else f'{n} times'}; give each column once")
             for name, n in counts.items() if n > 1]
    if twice:
        return twice, False
    unknown = [Problem("column", name, (f"{_unknown('column', name, fields)} " if name else "has no name; name it "
                                        "or delete the column; ") + f"valid columns: {columns}")
               for name in header if name not in fields]
    missing = [Problem("column", name, f"is missing; every {kind} needs one; valid columns: {columns}")
               for name, (_, required) in fields.items() if required and name not in header]
    return unknown + missing, True


def _unknown(what: str, name: str, valid: Iterable[str]) -> str:
    """ "unknown column; did you mean 'population'?" (with the closest valid name, if one is close)."""
    close = closest(name, valid, n=1)
    return f"unknown {what}" + (f"; did you mean {close[0]!r}?" if close else ";")


def _invalid(file: Path, line: int, message: str) -> tuple[str, str, int, dict[str, Any]]:
    """A row that stands for a problem with the file itself (reading stops there)."""
    return INVALID, file.name, line, {PROBLEM: Problem("file", file.name, message, f"{file.name}:{line}")}


def unknown_kind(kind: str) -> str:
    """What is wrong with a JSON line's kind, with every valid one, node or relationship (a relationship's
    line was answered with the node kinds alone), and the one it was meant to be when that is clear.

    >>> unknown_kind("faces")
    "unknown kind; did you mean 'FACES'? (kinds are case-sensitive); valid node kinds: City, Leader, Challenge, \
Partner, Cohort; relationship kinds: FACES, SERVES, MEMBER_OF, WORKS_ON, PARTNERS_WITH, PEERS_WITH, PART_OF, \
DISMISSED, COVERS"
    """
    kinds = [*NODE_TYPES, *RELATIONSHIP_TYPES]
    meant = {k.lower(): k for k in kinds}.get(kind.lower())
    close = [meant] if meant else difflib.get_close_matches(kind, kinds, n=1) if kind else []
    said = ["is required" if not kind else "unknown kind"]
    if close:
        said.append(f"did you mean {close[0]!r}?{' (kinds are case-sensitive)' if meant else ''}")
    said.append(f"valid node kinds: {', '.join(NODE_TYPES)}; relationship kinds: {', '.join(RELATIONSHIP_TYPES)}")
    return "; ".join(said)


def undecodable(file: Path) -> tuple[int, str]:
    """The line of the first byte that is not UTF-8, and a message naming it (the text reader decodes ahead
    in chunks, so it cannot say where)."""
    data = file.read_bytes()
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        bad = data[exc.start:exc.end]
        return data.count(b"\n", 0, exc.start) + 1, (f"byte {bad!r} at offset {exc.start:,} is not UTF-8; "
                                                     "save the file as UTF-8 text")
    return 1, "is not UTF-8 text; save the file as UTF-8"  # pragma: no cover - the reader said it was not


class _KeyTwice(Exception):
    pass


def _once_each(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """A JSON object whose keys are each given once: json keeps the last of a key given twice, so
    `{"kind": "City", "id": "new", ..., "id": "riga"}` silently replaced Riga."""
    record = dict(pairs)
    if len(record) < len(pairs):
        seen: set[str] = set()
        raise _KeyTwice(next(key for key, _ in pairs if key in seen or seen.add(key)))
    return record


class _Written(float):
    """A JSON number that is no finite float (1e999, or the Infinity and NaN Python's reader takes though
    JSON has no such words), keeping its text so that a message shows what the file says, not "inf"."""

    text: str

    def __new__(cls, text: str) -> _Written:
        number = super().__new__(cls, text)
        number.text = text
        return number

    def __repr__(self) -> str:
        return self.text

    __str__ = __repr__


def _json_float(text: str) -> float:
    number = float(text)
    return number if math.isfinite(number) else _Written(text)


def _jsonl_records(file: Path) -> Iterator[tuple[str, str, int, dict[str, Any]]]:
    with file.open(encoding="utf-8-sig") as fh:  # a byte order mark (Notepad's) is no part of the first line
        seen = False
        try:
            for number, line in enumerate(fh, start=1):
                if not line.strip():
                    continue
                if not seen:  # a second byte order mark (a file saved twice by an editor adding one)
                    line = line.lstrip("\ufeff")
                seen = True
                try:  # a position in the line: its end is not the next line's
                    record = json.loads(line.rstrip(), object_pairs_hook=_once_each, parse_float=_json_float,
                                        parse_constant=_Written)
                except _KeyTwice as exc:
                    yield "(invalid)", file.name, number, {"(json)": f"the key {shown(exc.args[0])} appears twice in "
                                                                     "one object; give each field once"}
                    continue
                except json.JSONDecodeError as exc:
                    end = " (the end of the line)" if exc.pos >= len(line.rstrip()) else ""
                    yield "(invalid)", file.name, number, {"(json)": f"{exc.msg} at column {exc.pos + 1}{end}"}
                    continue
                except RecursionError:  # "[[[[...": Python's reader gives up about 1,000 levels down
                    yield "(invalid)", file.name, number, {"(json)": "nested too deeply to read; a field's value "
                                                                     "is text, a number or true/false"}
                    continue
                except ValueError:  # a number of over 4,300 digits (Python's limit for reading one)
                    yield "(invalid)", file.name, number, {"(json)": TOO_LONG}
                    continue
                if not isinstance(record, dict):
                    yield "(invalid)", file.name, number, {"(json)": "each line must be a JSON object"}
                    continue
                kind = record.pop("kind", "")  # missing: "" ('kind is required'); not text: as JSON spells it
                yield kind if isinstance(kind, str) else json.dumps(kind), file.name, number, record
        except UnicodeDecodeError:
            yield _invalid(file, *undecodable(file))
            return
        if not seen:
            yield _invalid(file, 1, "is empty; a JSON Lines bundle has one JSON object per line")


def read_bundle(path: str | Path, *, progress: bool = False) -> tuple[Bundle, list[Problem]]:
    """Parse and validate every row; returns the valid rows and every problem found (file:row each)."""
    with long_lived():  # every row read is kept (graph.heap)
        return _read_bundle(path, progress)


def _read_bundle(path: str | Path, progress: bool) -> tuple[Bundle, list[Problem]]:
    bundle, problems = Bundle(), []
    rows = _records(Path(path))
    if progress:
        from tqdm import tqdm

        rows = tqdm(rows, desc="reading", unit=" rows", file=sys.stderr, mininterval=0.5)
    for kind, name, number, record in rows:
        where = f"{name}:{number}"
        if "(json)" in record:
            problems.append(Problem("line", None, f"is not valid JSON Lines: {record['(json)']}", where))
            continue
        if isinstance(record.get(PROBLEM), Problem):  # never from a JSON line: JSON has no Problem
            problems.append(record[PROBLEM])
            continue
        if "(extra cells)" in record:
            problems.append(Problem("row", record["(extra cells)"], "has more cells than the header", where))
            continue
        if isinstance(record.get(SHORT), tuple):  # never from a JSON line: JSON has no tuple
            cells, columns = record[SHORT]
            problems.append(Problem("row", None, f"has {cells} {'cell' if cells == 1 else 'cells'} where the header "
                                                 f"has {columns}: give every column a cell, an empty one for no value "
                                                 "(was the file cut short?)", where))
            continue
        missing = record.pop(MISSING) if isinstance(record.get(MISSING), frozenset) else frozenset()
        if kind not in NODE_TYPES and kind not in RELATIONSHIP_TYPES:  # a JSON line's kind (a CSV's is its file's)
            problems.append(Problem("kind", kind or None, unknown_kind(kind), where))
            continue
        try:
            item = parse_node(kind, record) if kind not in RELATIONSHIP_TYPES else parse_relationship(kind, record)
        except ValidationError as exc:  # a column the file lacks was reported once, at its header
            problems += [Problem(p.field, p.value, p.message, where) for p in exc.problems if p.field not in missing]
            if kind in NODE_TYPES and isinstance(record.get("id"), str) and record["id"]:
                first = bundle.origin.get(record["id"]) or bundle.rejected.get(record["id"])
                if first is not None:  # said now, not in a second round once this row is mended
                    problems.append(Problem("id", record["id"], f"id {record['id']!r} appears again (first at "
                                                                 f"{first})", where))
                bundle.rejected.setdefault(record["id"], where)
            elif kind in RELATIONSHIP_TYPES and (ends := ends_only(kind, record)) is not None:
                bundle.ends_only.append((ends, where))
            continue
        if isinstance(item, Node):
            key: Any = item.id
            field_name, value, what = "id", item.id, f"id {item.id!r}"
        else:
            key = item.key
            field_name, value, what = "target", item.target, item.label
        first = bundle.origin.get(key) or (bundle.rejected.get(key) if isinstance(item, Node) else None)
        if first is not None:  # an earlier row with this id, imported or with problems of its own
            problems.append(Problem(field_name, value, f"{what} appears again (first at {first})", where))
            continue
        bundle.origin[key] = where
        (bundle.nodes if isinstance(item, Node) else bundle.relationships).append(item)  # type: ignore[arg-type]
    return bundle, problems


def ends_only(kind: str, record: dict[str, Any]) -> Relationship | None:
    """The relationship of a row with problems, from its source and target alone (None if those have
    problems too, which the row's own report says)."""
    try:
        return parse_relationship(kind, {end: record.get(end) for end in ("source", "target")})
    except ValidationError:
        return None


# ------------------------------------------------------------------------------------------ importing


def check_against_store(bundle: Bundle, store: GraphStore) -> list[Problem]:
    """Problems that need the store to see: missing endpoints, ids of another kind, taxonomy cycles."""
    def kinds(ids: set[str]) -> dict[str, str]:
        return {i: n.KIND for i, n in store.get(ids).items()}

    def parents(ids: set[str]) -> dict[str, str]:
        return {r.source: r.target for r in store.neighbours(ids, kinds=["PART_OF"], direction="out")}

    problems = []
    try:
        check_batch(bundle.nodes, bundle.relationships, kinds, parents)
    except ValidationError as exc:
        origins = {item.label: bundle.origin[item.id if isinstance(item, Node) else item.key]
                   for item in [*bundle.relationships, *bundle.nodes]}
        problems = [_locate(p, origins, bundle.rejected) for p in exc.problems]
    if bundle.ends_only:
        batch = {n.id: n.KIND for n in bundle.nodes}
        ends = {node_id for rel, _ in bundle.ends_only for node_id in (rel.source, rel.target)}
        known = {**kinds(ends - batch.keys()), **batch}
        for rel, where in bundle.ends_only:
            problems += [_locate(p, {rel.label: where}, bundle.rejected) for p in end_problems([rel], known)]
    return problems


def _locate(problem: Problem, origins: dict[str, str], rejected: dict[str, str]) -> Problem:
    """Replace a "FACES a->b" / "City x" label with the file:row the item came from; a reference to a node
    whose own row has problems says so rather than "no such node"."""
    message = problem.message
    if problem.message.startswith("no such node") and problem.value in rejected:
        message = f"is not imported: its own row ({rejected[problem.value]}) has problems"
    where = f"{origins[problem.where]} ({problem.where})" if problem.where in origins else problem.where
    return Problem(problem.field, problem.value, message, where)


def import_bundle(store: GraphStore, path: str | Path, *, dry_run: bool = False, progress: bool = False,
                  max_problems: int = MAX_PROBLEMS, keep: Collection[str] = ()) -> ImportReport:
    """Validate the whole bundle, then write it in one upsert; raise ValidationError listing problems. A row
    replaces its node, except for the `keep` fields: a row that leaves one out keeps the stored node's value
    (the API's editors cannot read a leader's contact, so their bundles cannot carry it)."""
    bundle, problems = read_bundle(path, progress=progress)
    problems += check_against_store(bundle, store)  # references too, in the same report
    if problems:
        raise ValidationError(problems[:max_problems], total=len(problems))
    if dry_run:
        return ImportReport(bundle.counts(), changed=0, version=store.version(), dry_run=True)
    result = store.upsert(_keeping(store, bundle.nodes, keep) if keep else bundle.nodes, bundle.relationships)
    return ImportReport(bundle.counts(), changed=result.changed, version=result.version, dry_run=False)


def _keeping(store: GraphStore, nodes: list[Node], keep: Collection[str]) -> list[Node]:
    """`nodes`, each that leaves out a `keep` field taking the value the stored node of its id and kind has."""
    def lacking(node: Node) -> list[str]:
        return [f for f in keep if hasattr(node, f) and getattr(node, f) is None]

    stored = store.get([n.id for n in nodes if lacking(n)])
    out = []
    for node in nodes:
        old = stored.get(node.id)
        kept = {f: v for f in lacking(node) if (v := getattr(old, f, None)) is not None} \
            if old is not None and old.KIND == node.KIND else {}
        out.append(replace(node, **kept) if kept else node)
    return out


# ------------------------------------------------------------------------------------------ exporting


def _columns(cls: type) -> list[str]:
    return [f.name for f in fields(cls)]


def _cell(value: Any) -> str:
    """A value as a CSV cell: floats exact (repr), text spreadsheet-safe (graph.cells), None empty."""
    return "" if value is None else repr(value) if isinstance(value, float) else escape(value) \
        if isinstance(value, str) else str(value)


def export_bundle(store: GraphStore, path: str | Path, *, fmt: str = "csv",
                  progress: Callable[[int], None] | None = None) -> dict[str, int]:
    """Write the whole store as a bundle (deterministic: sorted by id and key). Returns counts by kind.
    `progress(n)` is called with each kind's count of rows once it is written."""
    return _write(path, fmt, store.nodes, store.relationships, progress)


def write_bundle(path: str | Path, nodes: Iterable[Node], relationships: Iterable[Relationship], *,
                 fmt: str = "csv") -> dict[str, int]:
    """Write nodes and relationships that are not in a store (real data sets, say) as a bundle, in the same
    files and order as `export_bundle`, so `citypeers import` reads it back. Returns counts by kind."""
    by_kind: dict[str, list[Any]] = {}
    for item in [*nodes, *relationships]:
        by_kind.setdefault(item.KIND, []).append(item)
    for kind, items in by_kind.items():
        items.sort(key=(lambda n: n.id) if kind in NODE_TYPES else (lambda r: r.key))
    return _write(path, fmt, lambda kind: by_kind.get(kind, []), lambda kind: by_kind.get(kind, []))


def _write(path: str | Path, fmt: str, nodes: Callable[[str], Iterable[Node]],
           relationships: Callable[[str], Iterable[Relationship]],
           progress: Callable[[int], None] | None = None) -> dict[str, int]:
    """Write the bundle beside `path` and move it there when it is whole: an interrupted export (Ctrl-C, a full
    disk, a store gone) leaves nothing at `path` that import would take for a bundle."""
    if fmt not in FORMATS:
        raise UsageError(f"unknown bundle format {fmt!r}; valid formats: {', '.join(FORMATS)}")
    path = Path(path)
    to_file = fmt == "jsonl" and path.suffix.lower() == ".jsonl"  # else a folder (with bundle.jsonl in it)
    if path.exists() and to_file and path.is_dir():
        raise UsageError(f"{str(path)!r} is a folder; a name ending in .jsonl is written as one file: give another")
    if path.exists() and not to_file and not path.is_dir():
        raise UsageError(f"{str(path)!r} is a file; a {fmt} bundle is written into a folder: give a folder's name"
                         + (" or a name ending in .jsonl" if fmt == "jsonl" else ""))
    path.parent.mkdir(parents=True, exist_ok=True)
    scratch = path.parent / f".{path.name}.partial-{secrets.token_hex(4)}"
    try:
        if to_file:
            counts = _write_jsonl(scratch, nodes, relationships, progress)
            scratch.replace(path)
            return counts
        scratch.mkdir()
        if fmt == "jsonl":
            counts = _write_jsonl(scratch / "bundle.jsonl", nodes, relationships, progress)
        else:
            counts = {}
            for kind, name in [*NODE_FILES.items(), *RELATIONSHIP_FILES.items()]:
                items = nodes(kind) if kind in NODE_TYPES else relationships(kind)
                cls = NODE_TYPES[kind] if kind in NODE_TYPES else RELATIONSHIP_TYPES[kind]
                counts[kind] = _write_csv(scratch / name, _columns(cls), items)
                if progress is not None:
                    progress(counts[kind])
        if path.exists():  # an earlier export's folder: each file replaced whole, other files left alone
            for file in sorted(scratch.iterdir()):
                file.replace(path / file.name)
        else:
            scratch.rename(path)
        return counts
    finally:
        if scratch.is_dir():
            shutil.rmtree(scratch, ignore_errors=True)
        else:
            scratch.unlink(missing_ok=True)


def _write_jsonl(file: Path, nodes: Callable[[str], Iterable[Node]],
                 relationships: Callable[[str], Iterable[Relationship]],
                 progress: Callable[[int], None] | None) -> dict[str, int]:
    counts: dict[str, int] = {}
    with file.open("w", encoding="utf-8") as fh:
        items: Iterable[Node | Relationship]
        for kind in [*NODE_TYPES, *RELATIONSHIP_TYPES]:
            items = nodes(kind) if kind in NODE_TYPES else relationships(kind)
            counts[kind] = 0
            for item in items:
                fh.write(json.dumps({"kind": kind, **item.record()}, ensure_ascii=False) + "\n")
                counts[kind] += 1
            if progress is not None:
                progress(counts[kind])
    return counts


def _write_csv(file: Path, columns: list[str], items: Iterable[Node | Relationship]) -> int:
    count = 0
    with file.open("w", newline="", encoding=CSV_ENCODING) as fh:  # with a byte order mark: see the top
        writer = csv.writer(fh, lineterminator="\n")
        # the csv module quotes only the line terminator's characters: a row with a carriage return in a cell
        # is quoted whole, or a reader would end the row there
        quoted = csv.writer(fh, lineterminator="\n", quoting=csv.QUOTE_ALL)
        writer.writerow(columns)
        for item in items:
            cells = [_cell(getattr(item, c)) for c in columns]
            (quoted if any("\r" in cell for cell in cells) else writer).writerow(cells)
            count += 1
    return count
