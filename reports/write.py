"""A report's files in a folder, all or nothing: everything is written into a hidden folder beside the files,
then moved into place, so a failure (a bad parameter is caught before anything is computed) leaves the folder
as it was. Once the new files are in, the report files of an earlier run that this run did not write (its
index.html when only JSON was asked for now) are removed, so the folder never mixes two runs.

Only files a report wrote are ever replaced or removed: a report folder holds `.citypeers-report`, the names
of the files its last run wrote, and a folder holding a file of a report's name (people.csv, index.html, ...)
that it does not list is refused before any work. Until 2026-12-07 any such file was replaced or removed as
"an earlier report's", the user's own people.csv or index.html included.

report.json keeps its fields indented and one city per line, and is written as a stream: a network report's
cities are produced one at a time, never all held at once. The CSV files start with a UTF-8 byte order mark
(graph.cells.CSV_ENCODING), which tells Excel they are UTF-8: without it Excel on Windows reads them in the machine's
code page and shows Kraków as "KrakÃ³w".
"""

from __future__ import annotations

import csv
import json
import os
import tempfile
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from graph import cells
from graph.errors import UsageError, shown
from reports.pdf import write_pdf
from reports.render import render_html, report_figures
from reports.tables import TABLES, peer_rows, peers_header

FILES = ("report.json", *TABLES, "index.html", "report.pdf")  # every file a report (cohort or network) writes
MARKER = ".citypeers-report"  # in a report folder: the names of the files its last run wrote, one a line


def json_chunks(head: dict[str, Any], cities: Iterable[dict[str, Any]]) -> Iterator[str]:
    """report.json: `head`'s fields, then "cities" with one city per line.

    >>> "".join(json_chunks({"a": 1}, [{"id": "x"}, {"id": "y"}]))
    '{\\n "a": 1,\\n "cities": [\\n{"id":"x"},\\n{"id":"y"}\\n]\\n}\\n'
    """
    text = json.dumps({**head, "cities": None}, indent=1, ensure_ascii=False)
    end = "null\n}"
    if not text.endswith(end):
        raise ValueError("report.json's head must not have a field named cities")
    yield text[: -len(end)] + "["
    for n, city in enumerate(cities):
        yield ("\n" if n == 0 else ",\n") + json.dumps(city, ensure_ascii=False, separators=(",", ":"))
    yield "\n]\n}\n"


def write_cohort(out: Path, report: dict[str, Any], formats: Iterable[str], *, generated_at: str,
                 diff: dict[str, Any] | None = None) -> tuple[list[Path], list[Path]]:
    """Every asked-for format of a cohort report into `out`; returns the files written and the earlier run's
    files removed."""
    formats = set(formats)
    files: dict[str, Callable[[Path], None]] = {}
    if "json" in formats:
        head = {k: v for k, v in report.items() if k != "cities"}
        files["report.json"] = lambda p: _write_text(p, json_chunks(head, report["cities"]))
    if "csv" in formats:
        for name, table in TABLES.items():
            files[name] = lambda p, table=table: _write_text(p, [table(report)], encoding=cells.CSV_ENCODING)
    if formats & {"html", "pdf"}:
        figs = report_figures(report)
        html = render_html(report, figs, generated_at=generated_at, diff=diff)
        if "html" in formats:
            files["index.html"] = lambda p: _write_text(p, [html])
        if "pdf" in formats:
            files["report.pdf"] = lambda p: write_pdf(html, p)
    return _commit(out, files)


def write_network(out: Path, head: dict[str, Any], cities: Iterable[dict[str, Any]],
                  formats: Iterable[str]) -> tuple[list[Path], list[Path]]:
    """report.json and peers.csv of a network report, in one pass over its cities; returns the files written
    and the earlier run's files removed."""
    formats = set(formats) & {"json", "csv"}

    def both(folder: Path) -> None:
        signals = [s["name"] for s in head["method"]["peer_signals"]]
        with (folder / "report.json").open("w", encoding="utf-8") as js, \
                (folder / "peers.csv").open("w", encoding=cells.CSV_ENCODING, newline="") as fh:
            writer = csv.writer(fh, lineterminator="\n")
            writer.writerow(peers_header(signals))
            chunks = json_chunks(head, _tee(cities, lambda c: writer.writerows(map(cells.row, peer_rows(c, signals)))))
            for chunk in chunks:
                if "json" in formats:
                    js.write(chunk)

    with tempfile.TemporaryDirectory(dir=_parent(out), prefix=".citypeers-report-") as scratch:
        both(Path(scratch))
        keep = [name for name, fmt in (("report.json", "json"), ("peers.csv", "csv")) if fmt in formats]
        return _move(Path(scratch), out, keep)


def _tee(items: Iterable[dict[str, Any]], also: Callable[[dict[str, Any]], None]) -> Iterator[dict[str, Any]]:
    for item in items:
        also(item)
        yield item


def _write_text(path: Path, chunks: Iterable[str], *, encoding: str = "utf-8") -> None:
    with path.open("w", encoding=encoding, newline="") as fh:
        for chunk in chunks:
            fh.write(chunk)


def written_before(out: Path) -> list[str]:
    """The report files `out`'s marker says an earlier run wrote there (none without a marker)."""
    try:
        names = (out / MARKER).read_text(encoding="utf-8").split("\n")
    except (OSError, UnicodeDecodeError):
        return []
    return [name for name in names if name in FILES]


def check_out(out: Path) -> None:
    """Fail before any work when the output folder cannot be one or cannot be written: a folder is made and
    removed where the report will write (the output folder and the one holding it, where the scratch folder
    goes; for a new output folder, the nearest existing folder on the way to it), so nothing is left behind.
    Also when the folder holds a file of a report's name that no report wrote there (not in its marker): a
    report would replace it."""
    try:
        out.exists()
    except OSError as exc:  # a name over the system's limit, say: it was a bare "File name too long: aaa..."
        raise UsageError(f"--out {shown(str(out))} cannot be used: {exc.strerror or exc}; give a folder path the "
                         "system accepts (each name in it at most 255 bytes)") from None
    if out.exists() and not out.is_dir():
        raise UsageError(f"--out {str(out)!r} is a file; give a folder (it is created if missing)")
    if out.is_dir():
        ours = set(written_before(out))
        foreign = [name for name in FILES if name not in ours and (out / name).exists()]
        if foreign:
            raise UsageError(f"--out {str(out)!r} holds {', '.join(foreign)}, which no citypeers report wrote "
                             f"there (its {MARKER} does not list them), and a report would replace "
                             f"{'it' if len(foreign) == 1 else 'them'}; give a new or empty folder, or move "
                             f"{'it' if len(foreign) == 1 else 'them'} away")
    target = out.resolve()
    existing = target
    while not existing.exists():
        existing = existing.parent
    if not existing.is_dir():
        raise UsageError(f"--out {str(out)!r} cannot be made: {str(existing)!r} is a file; give a folder you can "
                         "write to")
    for place in [existing] if existing != target else [target.parent, target]:
        try:
            os.rmdir(tempfile.mkdtemp(dir=place, prefix=".citypeers-report-"))
        except OSError as exc:
            raise UsageError(f"--out {str(out)!r} cannot be written: {exc.strerror or exc} in {str(place)!r}; "
                             "give a folder you can write to") from exc


def _parent(out: Path) -> Path:
    check_out(out)
    parent = out.resolve().parent
    parent.mkdir(parents=True, exist_ok=True)
    return parent


def _commit(out: Path, files: dict[str, Callable[[Path], None]]) -> tuple[list[Path], list[Path]]:
    """Write `files` into a scratch folder beside `out`, then move them in. report.pdf is written in a thread
    beside the others: its layout runs in worker processes (reports/pdf.py), so this process writes the JSON,
    CSV and HTML meanwhile instead of before."""
    with tempfile.TemporaryDirectory(dir=_parent(out), prefix=".citypeers-report-") as scratch, \
            ThreadPoolExecutor(max_workers=1) as background:
        pdf = background.submit(files["report.pdf"], Path(scratch) / "report.pdf") if "report.pdf" in files else None
        try:
            for name, write in files.items():
                if name != "report.pdf":
                    write(Path(scratch) / name)
        finally:
            if pdf is not None:
                pdf.result()  # waits, and raises what the PDF raised
        return _move(Path(scratch), out, list(files))


def _move(scratch: Path, out: Path, names: list[str]) -> tuple[list[Path], list[Path]]:
    """`names` from `scratch` into `out`, then the other report files an earlier run wrote there (its marker
    lists them) removed. The marker first lists both runs' files, so that a run stopped while it moves files
    leaves none that the next run would refuse as not a report's; at the end it lists this run's."""
    out.mkdir(parents=True, exist_ok=True)
    check_out(out)  # again: a file may have come since the check before the work
    before = written_before(out)
    _mark(out, [name for name in FILES if name in names or name in before])
    written = []
    for name in names:
        os.replace(scratch / name, out / name)
        written.append(out / name)
    stale = [out / name for name in before if name not in names and (out / name).is_file()]
    for path in stale:
        path.unlink()
    _mark(out, names)
    return written, stale


def _mark(out: Path, names: list[str]) -> None:
    """Write `out`'s marker listing `names`, replacing the old one in one step."""
    with tempfile.NamedTemporaryFile("w", encoding="utf-8", dir=out, prefix=MARKER + ".", delete=False) as fh:
        fh.write("".join(name + "\n" for name in names))
    os.replace(fh.name, out / MARKER)
