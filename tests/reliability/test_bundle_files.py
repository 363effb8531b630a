"""Issue #22, points 7 (CLI half) and 8: an unreadable bundle file (bytes that are not UTF-8, a field over the
CSV limit), an empty file or a file without a header is a `file:line: message` error, exit 2, no traceback,
and nothing of the bundle is written."""

from __future__ import annotations

import pytest

from cli import main
from graph.store import open_store

GOOD_CITIES = b"id,name,country\nriga,Riga,LV\ntallinn,Tallinn,EE\n"
GOOD_CHALLENGES = b"id,name\nhousing,Housing\n"


@pytest.mark.parametrize(("files", "expected"), [
    ({"cities.csv": b"id,name,country\nriga,Riga,LV\nlodz,\xc5\x81\xf3d\xbc,PL\n"},
     "cities.csv:3: file 'cities.csv': byte b'\\xf3' at offset 36 is not UTF-8"),
    ({"cities.csv": b"id,name,country\nriga," + b"R" * 200_000 + b",LV\n"},
     "cities.csv:2: file 'cities.csv': not readable as CSV: field larger than field limit"),
    ({"cities.csv": b"id,name,country\nriga," + b"R" * 100_000 + b",LV\n"},
     "cities.csv:2: name 'RRRRRRRRRRRRRRRRRRRRRRRRRRRRRR...': is 100,000 characters long; name takes at most "
     "500"),
    ({"bundle.jsonl": b'{"kind": "City", "id": "riga", "name": "Riga", "country": "LV"}\n{"name": "\xff"}\n'},
     "bundle.jsonl:2: file 'bundle.jsonl': byte b'\\xff' at offset"),
    ({"cities.csv": b""}, "cities.csv:1: file 'cities.csv': is empty; the first row must name the columns"),
    ({"cities.csv": b"\n\n"}, "cities.csv:1: file 'cities.csv': is empty"),
    ({"cities.csv": b"riga,Riga,LV\n"}, "cities.csv:1: file 'cities.csv': has no header row (its first row is "
                                        "'riga,Riga,LV'); the first row must name the columns, e.g. id,name,"),
    ({"bundle.jsonl": b""}, "bundle.jsonl:1: file 'bundle.jsonl': is empty"),
    ({"bundle.jsonl": b"\n  \n"}, "bundle.jsonl:1: file 'bundle.jsonl': is empty"),
])
def test_a_bad_file_is_one_clear_error_and_nothing_is_written(capsys, tmp_path, files, expected):
    db = f"sqlite:///{tmp_path / 'cli.db'}"
    folder = tmp_path / "bundle"
    folder.mkdir()
    (folder / "challenges.csv").write_bytes(GOOD_CHALLENGES)
    for name, data in files.items():
        (folder / name).write_bytes(data)
    code = main(["--store", db, "import", str(folder)])
    err = capsys.readouterr().err
    assert code == 2
    assert expected in err and "Traceback" not in err
    with open_store(db) as store:
        assert store.version() == 0 and store.count("Challenge") == 0


def test_a_header_only_file_is_an_empty_table_not_an_error(capsys, tmp_path):
    folder = tmp_path / "bundle"
    folder.mkdir()
    (folder / "cities.csv").write_bytes(GOOD_CITIES)
    (folder / "faces.csv").write_bytes(b"source,target,priority\n")
    assert main(["--store", f"sqlite:///{tmp_path / 'cli.db'}", "import", str(folder)]) == 0
    assert "imported 2 City" in capsys.readouterr().out
