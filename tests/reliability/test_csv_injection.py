"""Issue #22, point 6: CSV exports and reports neutralise spreadsheet formulas (a leading quote) and import
restores every value exactly, text that starts with a quote and negative numbers included."""

from __future__ import annotations

import csv

import pytest

from cli import main
from graph.bundle import export_bundle, import_bundle
from graph.cells import FORMULA_STARTS
from graph.model import Challenge, City, Faces
from graph.store import open_store

NAMES = ["=cmd|' /C calc'!A0", "+1 555", "-minus", "@SUM(A1:A2)", "\tTab", "\rCarriage", "'already quoted",
         "''two quotes", "plain = later"]


def _cities():
    return [City(id=f"c{i}", name=name, country="NZ", latitude=-36.85, longitude=-174.76 + i, population=0)
            for i, name in enumerate(NAMES)]


def _cells(path):
    with path.open(newline="", encoding="utf-8-sig") as fh:  # a bundle starts with a byte order mark
        return list(csv.DictReader(fh))


@pytest.fixture
def stores(tmp_path):
    with open_store(f"sqlite:///{tmp_path / 'one.db'}") as one, open_store(f"sqlite:///{tmp_path / 'two.db'}") as two:
        yield one, two


def test_formula_cells_are_quoted_and_import_restores_them_exactly(stores, tmp_path):
    one, two = stores
    challenge = Challenge(id="housing", name="Housing", description="-3 degrees")
    one.upsert([*_cities(), challenge], [Faces(source="c0", target="housing", note="@note", priority=1)])
    export_bundle(one, tmp_path / "bundle")
    rows = _cells(tmp_path / "bundle" / "cities.csv")
    for row in rows:
        assert not row["name"].startswith(FORMULA_STARTS), f"{row['name']!r} would run as a formula"
        assert row["latitude"] == "-36.85"  # numbers stay numbers
    assert {r["name"] for r in rows} >= {"'=cmd|' /C calc'!A0", "'''two quotes", "plain = later"}
    assert _cells(tmp_path / "bundle" / "faces.csv")[0]["note"] == "'@note"
    import_bundle(two, tmp_path / "bundle")
    assert list(two.nodes()) == list(one.nodes()) and list(two.relationships()) == list(one.relationships())


def test_batch_report_csv_is_neutralised_too(capsys, tmp_path):
    db = f"sqlite:///{tmp_path / 'r.db'}"
    with open_store(db) as store:
        store.upsert([City(id="a", name="=HYPERLINK(\"http://x\")", country="NL"),
                      City(id="b", name="-B", country="NL"), Challenge(id="h", name="Housing")],
                     [Faces(source="a", target="h"), Faces(source="b", target="h")])
    out = tmp_path / "report.csv"
    assert main(["--store", db, "batch", "peers", "--out", str(out)]) == 0
    capsys.readouterr()
    rows = _cells(out)
    assert rows and all(not v.startswith(FORMULA_STARTS) for r in rows for k, v in r.items() if k != "score")
    assert {r["peer_name"] for r in rows} == {"'=HYPERLINK(\"http://x\")", "'-B"}
