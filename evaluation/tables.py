"""The real data's CSV files read with their problems said in one line each: a file that is not UTF-8 (the
byte and its line), empty, without the columns the loader reads (which ones), not readable as CSV, or without
a single row. `citypeers data` and `evaluate` took a copy with a renamed column, a Latin-1 byte or a semicolon
for a comma as a traceback (KeyError: 'geonameId'), and an empty file as a table of zeros, then a
ZeroDivisionError."""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator
from pathlib import Path

from graph.bundle import undecodable
from graph.errors import UsageError, preview


def read_rows(path: Path, columns: Iterable[str], *, delimiter: str = ",", what: str) -> Iterator[tuple[int, dict]]:
    """Each row of `path` as (its line number, the row), after checking that the header has `columns`. `what`
    names the file a user should give ("the URBACT memberships file, ';'-separated").

    >>> import tempfile
    >>> folder = Path(tempfile.mkdtemp())
    >>> _ = (folder / "m.csv").write_text("geoId;Country\\n1;FR\\n")
    >>> list(read_rows(folder / "m.csv", ["geonameId", "Country"], delimiter=";", what="a file"))
    Traceback (most recent call last):
    ...
    graph.errors.UsageError: '.../m.csv' has no column 'geonameId' (its columns: geoId, Country); expected a file
    """
    try:
        with path.open(encoding="utf-8-sig", newline="") as fh:
            reader = csv.reader(fh, delimiter=delimiter)
            header = next(reader, None)
            if header is None:
                raise UsageError(f"{str(path)!r} is empty; expected {what}")
            header = [h.strip() for h in header]
            missing = [c for c in columns if c not in header]
            if missing:
                said = ", ".join(repr(c) for c in missing)
                raise UsageError(f"{str(path)!r} has no column{'s' * (len(missing) > 1)} {said} (its columns: "
                                 f"{preview(', '.join(header), 200)}); expected {what}")
            rows = 0
            for cells in reader:
                if not any(c.strip() for c in cells):
                    continue
                rows += 1
                yield reader.line_num, dict(zip(header, cells, strict=False)) | {
                    c: "" for c in header[len(cells):]}  # a short row's missing cells: empty, as a blank cell
            if not rows:
                raise UsageError(f"{str(path)!r} has a header but no rows; expected {what}")
    except UnicodeDecodeError:
        line, said = undecodable(path)
        raise UsageError(f"{path!s}:{line}: {said}") from None
    except csv.Error as exc:
        raise UsageError(f"{path!s}: not readable as CSV ({exc}); expected {what}") from None
