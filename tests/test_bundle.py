"""Bundle import and export: all-or-nothing, file:row messages, idempotent, identical round trips."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from graph.bundle import FILES, NODE_FILES, RELATIONSHIP_FILES, export_bundle, import_bundle, read_bundle
from graph.errors import UsageError, ValidationError
from graph.model import NODE_TYPES, RELATIONSHIP_TYPES, City, field_types
from tests.conftest import ROOT
from tests.sample import NODES, RELATIONSHIPS


def _write(folder: Path, files: dict[str, str]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (folder / name).write_text(text, encoding="utf-8")
    return folder


GOOD = {
    "cities.csv": "id,name,country,population,latitude\nriga,Riga,LV,605802,56.946\ntallinn,Tallinn,EE,,\n",
    "challenges.csv": "id,name,description\nhousing,Housing,\"Homes, for people\"\n",
    "faces.csv": "source,target,priority\nriga,housing,1\ntallinn,housing,\n",
}


def test_good_bundle_imports_once_then_changes_nothing(store, tmp_path):
    folder = _write(tmp_path / "b", GOOD)
    first = import_bundle(store, folder)
    assert first.counts == {"City": 2, "Challenge": 1, "FACES": 2} and first.changed == 5
    second = import_bundle(store, folder)
    assert (second.changed, second.version) == (0, first.version)
    assert store.get(["housing"])["housing"].description == "Homes, for people"


@pytest.mark.parametrize(("files", "expected"), [
    ({"cities.csv": "id,name,country,latitude\nriga,Riga,LV,1\nbad,Bad,UK,200\n"},
     ["cities.csv:3: country 'UK': unknown ISO 3166-1 alpha-2 code",
      "cities.csv:3: latitude 200: out of range; valid latitudes are -90 to 90"]),  # as written: not "200.0"
    ({"cities.csv": "id,name,country,latitude,longitude\nriga,Riga,LV,1e999,nan\n"},
     ["cities.csv:2: latitude '1e999': must be a finite number",  # not "latitude inf: out of range"
      "cities.csv:2: longitude 'nan': must be a number (use a dot for decimals)"]),
    ({"cities.csv": "id,name,country,population\nriga,Riga,LV,many\n"},
     ["cities.csv:2: population 'many': must be a whole number"]),
    ({"cities.csv": "id,name,country,colour\nriga,Riga,LV,red\n"},
     ["cities.csv:1: column 'colour': unknown column;", "valid columns: id, name, country"]),
    ({"faces.csv": "source,target\nriga,nowhere\n", "cities.csv": "id,name,country\nriga,Riga,LV\n"},
     ["faces.csv:2 (FACES riga->nowhere): target 'nowhere': no such node"]),
    # a record is named by the line it starts on: one with a line break in a quoted cell (it was named by its
    # last line), one after blank lines
    ({"cities.csv": 'id,name,country\nriga,"Ri\nga",LV\nbad,"Two\nlines",UK\n'},
     ["cities.csv:4: country 'UK': unknown ISO 3166-1 alpha-2 code"]),
    # a quote never closed, named where its row starts: it took in the rest of the file as one cell, which in
    # the last column passed as valid and dropped every row after it without a word
    ({"cities.csv": 'id,name,country\nriga,Riga,LV\n"oslo,Oslo,NO\nbad,Bad,UK\n'},
     ["cities.csv:3: file 'cities.csv': a quoted cell in the row starting here is never closed"]),
    ({"cities.csv": 'id,name,country,provenance\nriga,Riga,LV,"from a list\noslo,Oslo,NO,\nbergen,Bergen,NO,\n'},
     ["cities.csv:2: file 'cities.csv': a quoted cell in the row starting here is never closed"]),
    ({"cities.csv": 'id,name,country\nriga,Riga,LV\noslo,"Oslo" Norway,NO\n'},
     ["cities.csv:3: file 'cities.csv': a quoted cell in the row starting here has text after its closing quote"]),
    ({"cities.csv": "id,name,country\n\n\nbad,Bad,UK\n"}, ["cities.csv:4: country 'UK'"]),
    # a row with fewer cells than the header (a file cut short) was imported, and replaced its node with half of it
    ({"cities.csv": "id,name,country,region,population\nriga,Riga,LV,Europe,600000\namsterdam,Amsterdam,NL,Eu\nx\n"},
     ["cities.csv:3: row has 4 cells where the header has 5: give every column a cell, an empty one for no value "
      "(was the file cut short?)", "cities.csv:4: row has 1 cell where the header has 5"]),
    # a country's name or three-letter code: the code it stands for (it got only the examples)
    ({"cities.csv": "id,name,country\nberlin,Berlin,Germany\nbad,Bad,UK\nlisbon,Lisbon,PRT\n"},
     ["cities.csv:2: country 'Germany': unknown ISO 3166-1 alpha-2 code; use 'DE' for Germany",
      "cities.csv:3: country 'UK': unknown ISO 3166-1 alpha-2 code; use 'GB' for the United Kingdom",
      "cities.csv:4: country 'PRT': unknown ISO 3166-1 alpha-2 code; use 'PT' for Portugal"]),
    ({"cities.csv": "id,name,country\nriga,Riga,LV\nriga,Riga again,LV\n"},
     ["cities.csv:3: id 'riga': id 'riga' appears again (first at cities.csv:2)"]),
    # all at once: a second row with an id whose first row has problems was said only once that row was mended
    ({"cities.csv": "id,name,country\nriga,Riga,UK\nriga,Riga again,LV\nriga,Riga thrice,XX\n"},
     ["cities.csv:2: country 'UK': unknown ISO 3166-1 alpha-2 code",
      "cities.csv:3: id 'riga': id 'riga' appears again (first at cities.csv:2)",
      "cities.csv:4: id 'riga': id 'riga' appears again (first at cities.csv:2)"]),
    # all at once: a relationship row with a bad field had its ends checked only once that field was mended
    ({"faces.csv": "source,target,priority\nriga,nowhere,high\nriga,tallinn,x\nbad,housing,y\n",
      "cities.csv": "id,name,country\nriga,Riga,LV\ntallinn,Tallinn,EE\nbad,Bad,UK\n"},
     ["faces.csv:2: priority 'high': must be a whole number",
      "faces.csv:2 (FACES riga->nowhere): target 'nowhere': no such node",
      "faces.csv:3: priority 'x'", "faces.csv:3 (FACES riga->tallinn): target 'tallinn': is a City",
      "faces.csv:4 (FACES bad->housing): source 'bad': is not imported: its own row (cities.csv:4) has problems"]),
    # invisible characters are shown: a second byte-order mark printed its header as "column 'id': unknown column;
    # did you mean 'id'?", and a right-to-left override made a terminal show the id "agir" as "riga"
    ({"cities.csv": "id,name,country\n\u202eagir,Agir,LV\n"},
     ["cities.csv:2: id '\\u202eagir': ids use lower-case letters"]),
    ({"bundle.jsonl": '{"kind": "City", "id": "riga", "name": "Riga", "country": "LV"}\n{"kind": "Town", "id": "x"}\n'
                      "not json\n"},
     ["bundle.jsonl:2: kind 'Town': unknown kind; valid node kinds: City, Leader,", "bundle.jsonl:3: line is not "
      "valid JSON Lines"]),
    # a relationship's line was told the node kinds alone, and 'faces' not that FACES was meant
    ({"bundle.jsonl": '{"kind": "faces", "source": "riga", "target": "housing"}\n'
                      '{"kind": "FRIENDS", "source": "riga", "target": "tallinn"}\n'},
     ["bundle.jsonl:1: kind 'faces': unknown kind; did you mean 'FACES'? (kinds are case-sensitive); valid node "
      "kinds: City, Leader, Challenge, Partner, Cohort; relationship kinds: FACES, SERVES,",
      "bundle.jsonl:2: kind 'FRIENDS': unknown kind; valid node kinds: City,"]),
    # were kind 'None', kind '5' and kind '(missing)': Python's spellings, and a missing kind as if it were one
    ({"bundle.jsonl": '{"kind": null, "id": "x"}\n{"kind": 5, "id": "y"}\n{"id": "z"}\n'},
     ["bundle.jsonl:1: kind 'null': unknown kind; valid node kinds:", "bundle.jsonl:2: kind '5': unknown kind;",
      "bundle.jsonl:3: kind is required; valid node kinds: City,"]),

    ({"cities.csv": "id,name,country,population,geonames_id\nriga,Riga,LV,3000000000,4294967296\n"},
     ["cities.csv:2: population 3000000000: must be 0 to 2,147,483,647",
      "cities.csv:2: geonames_id 4294967296: must be a positive GeoNames id, at most 2,147,483,647"]),
])
def test_a_bad_row_anywhere_rejects_the_whole_bundle(store, tmp_path, files, expected):
    store.upsert(NODES[:1])
    before = store.version()
    folder = _write(tmp_path / "bad", {**GOOD, **files})
    with pytest.raises(ValidationError) as err:
        import_bundle(store, folder)
    text = str(err.value)
    for fragment in expected:
        assert fragment in text
    assert store.version() == before
    assert "tallinn" not in store.get(["tallinn"])  # nothing from the good files was written either


WRONG_VALUES = [  # JSON Lines rows whose values the model cannot hold, and what the report says of each
    ('{"kind": "City", "id": "imp-list", "name": ["a", "b"], "country": "NL", "region": {"x": 1}}',
     ["bundle.jsonl:1: name 'a', 'b': must be text, not a list",
      "bundle.jsonl:1: region {'x': 1}: must be text, not an object"]),
    ('{"kind": "City", "id": "imp-big", "name": "Big", "country": "NL", "population": 3000000000}',
     ["bundle.jsonl:2: population 3000000000: must be 0 to 2,147,483,647"]),
    ('{"kind": "City", "id": "imp-huge", "name": "Huge", "country": "NL", "population": 99999999999999999999999}',
     ["bundle.jsonl:3: population 99999999999999999999999: must be 0 to 2,147,483,647"]),
    ('{"kind": "City", "id": "imp-deep", "name": "Deep", "country": "NL", "region": ' + "[" * 100_000 + "]" * 100_000
     + "}", ["bundle.jsonl:4: line is not valid JSON Lines: nested too deeply to read"]),
    ('{"kind": "City", "id": "imp-long", "name": "Long", "country": "NL", "population": ' + "9" * 5000 + "}",
     ["bundle.jsonl:5: line is not valid JSON Lines: a number is too long to read (over 4,300 digits)"]),
    ('{"kind": "Leader", "id": "imp-true", "name": "True", "role": "mayor", "title": true, "contact": 5}',
     ["bundle.jsonl:6: title true: must be text, not true or false", "bundle.jsonl:6: contact 5: must be text, not a "
                                                                       "number"]),
    # values as the file writes them, not as Python holds them ("inf", "True", "nan")
    ('{"kind": "City", "id": "imp-inf", "name": "Inf", "country": "NL", "population": Infinity}',
     ["bundle.jsonl:7: population Infinity: must be a whole number"]),
    ('{"kind": "City", "id": "imp-far", "name": "Far", "country": "NL", "latitude": 1e999, "longitude": NaN,'
     ' "population": false}',
     ["bundle.jsonl:8: latitude 1e999: must be a finite number",
      "bundle.jsonl:8: longitude NaN: must be a number (use a dot for decimals)",
      "bundle.jsonl:8: population false: must be a whole number"]),
    # a mistyped id, country or end: a TypeError traceback (the rules were given None), INTERNAL_SERVER_ERROR in
    # importBundle
    ('{"kind": "City", "id": 5, "name": "Five", "country": "NL"}',
     ["bundle.jsonl:9: id 5: must be text, not a number"]),
    ('{"kind": "City", "id": "imp-five", "name": "Five", "country": 5}',
     ["bundle.jsonl:10: country 5: must be text, not a number"]),
    ('{"kind": "FACES", "source": 1, "target": "housing"}', ["bundle.jsonl:11: source 1: must be text, not a number"]),
    # a list 600 deep: a RecursionError while the message showed it
    ('{"kind": "City", "id": "imp-nest", "name": ' + "[" * 600 + "]" * 600 + ', "country": "NL"}',
     ["bundle.jsonl:12: name [...]: must be text, not a list"]),
    # Python's int() reads "1_000" and other scripts' digits; a spreadsheet's number is neither
    ('{"kind": "City", "id": "imp-under", "name": "U", "country": "NL", "population": "1_000", '
     '"geonames_id": "\u0661\u0662"}',
     ["bundle.jsonl:13: population '1_000': must be a whole number", "bundle.jsonl:13: geonames_id '\u0661\u0662': "
                                                                        "must be a whole number"]),
    # "$" in the id and URL rules let a final line break through: "riga\n" became a second Riga
    ('{"kind": "City", "id": "riga\\n", "name": "Riga again", "country": "LV"}',
     ["bundle.jsonl:14: id 'riga\\n': ids use lower-case letters"]),
    ('{"kind": "Partner", "id": "imp-web", "name": "W", "sector": "nonprofit", "website": "https://a.example\\n"}',
     ["bundle.jsonl:15: website 'https://a.example\\n': must be an http:// or https:// URL"]),
]


def test_values_of_the_wrong_type_or_size_are_problems_of_their_line(store, tmp_path):
    """Every such row in one report, naming its line, field and what is valid; nothing is written (a list
    was stored as the text "['a', 'b']", 3,000,000,000 broke every read of the city, a longer number and deep
    nesting crashed the import)."""
    store.upsert(NODES[:1])
    before = store.version()
    rows = [row for row, _ in WRONG_VALUES] + ['{"kind": "City", "id": "imp-ok", "name": "OK", "country": "NL"}']
    with pytest.raises(ValidationError) as err:
        import_bundle(store, _write(tmp_path / "b", {"bundle.jsonl": "\n".join(rows) + "\n"}))
    text = str(err.value)
    for fragment in (f for _, fragments in WRONG_VALUES for f in fragments):
        assert fragment in text
    assert len(err.value.problems) == 20 and store.version() == before and not store.get(["imp-ok"])


def test_dry_run_validates_without_writing(store, tmp_path):
    report = import_bundle(store, _write(tmp_path / "b", GOOD), dry_run=True)
    assert report.dry_run and report.counts["FACES"] == 2
    assert store.version() == 0


def test_problems_are_capped_with_a_count_of_the_rest(sqlite_store, tmp_path):
    rows = "".join(f"c{i},City {i},XX\n" for i in range(50))
    folder = _write(tmp_path / "b", {"cities.csv": "id,name,country\n" + rows})
    with pytest.raises(ValidationError) as err:
        import_bundle(sqlite_store, folder, max_problems=10)
    assert (len(err.value.problems), err.value.total) == (10, 50)
    assert all(p.where.startswith("cities.csv:") for p in err.value.problems)
    assert str(err.value).endswith("; and 40 more problems not shown")


def test_the_command_line_counts_every_problem_and_shows_the_first_200(capsys, tmp_path):
    from tests.test_cli import run

    rows = "".join(f"c{i},City {i},XX\n" for i in range(3417))
    folder = _write(tmp_path / "b", {"cities.csv": "id,name,country\n" + rows})
    code, _, err = run(capsys, "import", str(folder), "--store", f"sqlite:///{tmp_path / 'x.db'}")
    lines = err.splitlines()
    assert code == 2 and lines[0] == "citypeers: 3,417 problem(s); nothing was written (the first 200 shown):"
    assert len(lines) == 202 and lines[200].startswith("  cities.csv:201: country 'XX'")
    assert lines[201] == "  ... and 3,217 more; fix these and run it again to see them"


def test_unknown_files_are_problems_and_paths_usage_errors(sqlite_store, tmp_path):
    folder = _write(tmp_path / "b", {"towns.csv": "id\n", "city.csv": "id,name,country\nx,X,FR\n",
                                     "cities.csv": "id,name,country\nriga,Riga,LV\nbad,Bad,ZZ\n"})
    with pytest.raises(ValidationError) as err:
        import_bundle(sqlite_store, folder)
    assert [str(p) for p in err.value.problems] == [
        "cities.csv:3: country 'ZZ': unknown ISO 3166-1 alpha-2 code; use a two-letter code such as 'NL', 'US', 'GB'",
        f"city.csv:1: file 'city.csv': unknown bundle file name; did you mean 'cities.csv'? valid CSV files: "
        f"{', '.join(FILES)}",
        f"towns.csv:1: file 'towns.csv': unknown bundle file name; valid CSV files: {', '.join(FILES)}"]
    with pytest.raises(UsageError, match="no bundle at"):
        import_bundle(sqlite_store, tmp_path / "missing")
    with pytest.raises(UsageError, match=r"^unknown bundle file 'towns\.csv'; valid CSV files: cities\.csv"):
        import_bundle(sqlite_store, folder / "towns.csv")  # one file named: one line


@pytest.mark.parametrize("files", [{}, {"readme.txt": "hello", "manifest.json": "{}"}], ids=["empty", "no-csv"])
def test_a_folder_without_bundle_files_is_an_error(sqlite_store, tmp_path, files):
    folder = _write(tmp_path / "b", files)
    with pytest.raises(UsageError) as err:
        import_bundle(sqlite_store, folder)
    assert str(err.value) == (f"no bundle files in '{folder}'; expected CSV files named {', '.join(FILES)}, or a "
                              ".jsonl file")


def test_file_names_are_read_in_any_case(sqlite_store, tmp_path):
    folder = _write(tmp_path / "b", {"Cities.CSV": "id,name,country\nriga,Riga,LV\n", "readme.txt": "hello",
                                     "Bundle.JSONL": '{"kind": "Challenge", "id": "housing", "name": "Housing"}\n'})
    assert import_bundle(sqlite_store, folder).counts == {"Challenge": 1, "City": 1}


@pytest.mark.parametrize(("text", "expected"), [
    ("id,name,country,country\nriga,Riga,LV,LV\n", ["cities.csv:1: column 'country': appears twice; give each column "
                                                    "once"]),
    ("id;name;country\nriga;Riga;LV\n", ["cities.csv:1: file 'cities.csv': separates its columns with semicolons; "
                                        "the delimiter must be a comma (in a spreadsheet: save as CSV, "
                                        "comma-separated)"]),
    ("id,name\nriga,Riga\noslo,Oslo\nx,\n",
     ["cities.csv:1: column 'country': is missing; every City needs one; valid columns: id, name, country, region, "
      "population, latitude, longitude, geonames_id, provenance", "cities.csv:4: name is required"]),
    ("id,name,country,populaton\nriga,Riga,LV,5\noslo,Oslo,NO,6\n",
     ["cities.csv:1: column 'populaton': unknown column; did you mean 'population'? valid columns: id, name, "
      "country, region, population, latitude, longitude, geonames_id, provenance"]),
])
def test_a_bad_header_is_one_problem_for_its_file(sqlite_store, tmp_path, text, expected):
    with pytest.raises(ValidationError) as err:
        import_bundle(sqlite_store, _write(tmp_path / "b", {"cities.csv": text}))
    assert [str(p) for p in err.value.problems] == expected
    assert sqlite_store.version() == 0


@pytest.mark.parametrize("marks", [1, 2])
def test_a_bundle_may_start_with_a_byte_order_mark_or_two(sqlite_store, tmp_path, marks):
    """Two (an editor that adds one on each save) were "Unexpected UTF-8 BOM (decode using utf-8-sig)" in JSON
    Lines, and in CSV two problems about a column '\\ufeffid' and a missing 'id'."""
    bom = b"\xef\xbb\xbf" * marks
    (tmp_path / "b.jsonl").write_bytes(bom + b'{"kind": "City", "id": "riga", "name": "Riga", "country": "LV"}\n')
    assert import_bundle(sqlite_store, tmp_path / "b.jsonl").counts == {"City": 1}
    (tmp_path / "csv").mkdir()
    (tmp_path / "csv" / "cities.csv").write_bytes(bom + b"id,name,country\ntallinn,Tallinn,EE\n")
    assert import_bundle(sqlite_store, tmp_path / "csv").counts == {"City": 1}
    assert {n.id for n in sqlite_store.nodes("City")} == {"riga", "tallinn"}


@pytest.mark.parametrize(("lines", "expected"), [
    (['{"kind": "City", "id": "x", "name": , "country": "LV"}',  # column 37: the value that is missing
      '   {"kind": "City", "id": "y", "name": "Y", "country": "LV"',  # the brace at the end of the line
      '{"kind": "City", "id": "z", "name": "Z", "country": "LV"} x'],
     ["b.jsonl:1: line is not valid JSON Lines: Expecting value at column 37",
      "b.jsonl:2: line is not valid JSON Lines: Expecting ',' delimiter at column 60 (the end of the line)",
      "b.jsonl:3: line is not valid JSON Lines: Extra data at column 59"]),
    (['{"kind": "City", "id": "new", "name": "New", "country": "LV", "id": "riga"}',  # took Riga over
      '{"kind": "FACES", "source": "riga", "target": "x", "note": {"a": 1, "a": 2}}'],
     ["b.jsonl:1: line is not valid JSON Lines: the key 'id' appears twice in one object; give each field once",
      "b.jsonl:2: line is not valid JSON Lines: the key 'a' appears twice in one object; give each field once"]),
])
def test_a_jsonl_line_that_is_no_record_is_placed_and_nothing_is_written(sqlite_store, tmp_path, lines, expected):
    sqlite_store.upsert([City(id="riga", name="Riga", country="LV")])
    before = sqlite_store.version()
    (tmp_path / "b.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(ValidationError) as err:
        import_bundle(sqlite_store, tmp_path / "b.jsonl")
    assert [str(p) for p in err.value.problems] == expected
    assert sqlite_store.version() == before and sqlite_store.get(["riga"])["riga"].name == "Riga"


def test_a_taxonomy_cycle_is_named_on_the_rows_that_close_it(sqlite_store, tmp_path):
    challenges = "id,name\n" + "".join(f"{c},{c.title()}\n" for c in ("a", "b", "c", "d", "e", "f"))
    part_of = "source,target\nd,c\na,b\ne,f\nb,c\nc,a\n"  # d -> c only leads into the cycle a -> b -> c -> a
    with pytest.raises(ValidationError) as err:
        import_bundle(sqlite_store, _write(tmp_path / "b", {"challenges.csv": challenges, "part_of.csv": part_of}))
    assert [str(p) for p in err.value.problems] == [
        "part_of.csv:3 (PART_OF a->b): target 'b': would make the challenge taxonomy a cycle: a -> b -> c -> a",
        "part_of.csv:5 (PART_OF b->c): target 'c': would make the challenge taxonomy a cycle: b -> c -> a -> b",
        "part_of.csv:6 (PART_OF c->a): target 'a': would make the challenge taxonomy a cycle: c -> a -> b -> c"]


def test_a_cycle_through_stored_parents_is_named_on_the_new_row(sqlite_store, tmp_path):
    challenges = "id,name\n" + "".join(f"{c},{c.title()}\n" for c in ("a", "b", "c"))
    import_bundle(sqlite_store, _write(tmp_path / "one", {"challenges.csv": challenges,
                                                          "part_of.csv": "source,target\na,b\nb,c\n"}))
    with pytest.raises(ValidationError) as err:
        import_bundle(sqlite_store, _write(tmp_path / "two", {"part_of.csv": "source,target\nc,a\n"}))
    assert [str(p) for p in err.value.problems] == [
        "part_of.csv:2 (PART_OF c->a): target 'a': would make the challenge taxonomy a cycle: c -> a -> b -> c"]


@pytest.mark.parametrize("fmt", ["csv", "jsonl"])
def test_export_import_export_is_identical(store, tmp_path, fmt, sqlite_store):
    store.upsert(NODES, RELATIONSHIPS)
    export_bundle(store, tmp_path / "one", fmt=fmt)
    import_bundle(sqlite_store, tmp_path / "one")
    export_bundle(sqlite_store, tmp_path / "two", fmt=fmt)
    one = {p.name: p.read_bytes() for p in (tmp_path / "one").iterdir()}
    two = {p.name: p.read_bytes() for p in (tmp_path / "two").iterdir()}
    assert one == two and len(one) == (len(NODE_FILES) + len(RELATIONSHIP_FILES) if fmt == "csv" else 1)
    bundle, problems = read_bundle(tmp_path / "two")
    assert problems == [] and len(bundle.nodes) == len(NODES) and len(bundle.relationships) == len(RELATIONSHIPS)


def test_a_csv_export_starts_with_a_byte_order_mark_for_spreadsheets(sqlite_store, tmp_path):
    """Excel reads a CSV file without one in the machine's code page ("KrakÃ³w"), and saves that back as
    valid UTF-8; import reads the files with the mark (and without, as above)."""
    from graph.model import City

    sqlite_store.upsert([City(id="krakow", name="Kraków", country="PL"), City(id="zurich", name="=Zürich",
                                                                              country="CH")])
    export_bundle(sqlite_store, tmp_path / "out")
    raw = (tmp_path / "out" / "cities.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbfid,name,country,") and b"\xef\xbb\xbf" not in raw[3:]
    assert "krakow,Kraków,PL," in raw.decode("utf-8") and "zurich,'=Zürich,CH," in raw.decode("utf-8")
    assert all((tmp_path / "out" / name).read_bytes().startswith(b"\xef\xbb\xbf") for name in FILES)
    bundle, problems = read_bundle(tmp_path / "out")
    assert problems == [] and {n.name for n in bundle.nodes} == {"Kraków", "=Zürich"}


def test_import_into_bolt_round_trips(store, tmp_path, sqlite_store):
    """SQLite -> bundle -> (each backend) -> bundle: identical files."""
    sqlite_store.upsert(NODES, RELATIONSHIPS)
    export_bundle(sqlite_store, tmp_path / "one.jsonl", fmt="jsonl")
    import_bundle(store, tmp_path / "one.jsonl")
    export_bundle(store, tmp_path / "two.jsonl", fmt="jsonl")
    assert (tmp_path / "one.jsonl").read_text() == (tmp_path / "two.jsonl").read_text()
    first = json.loads((tmp_path / "one.jsonl").read_text().splitlines()[0])
    assert first["kind"] == "City" and first["id"] == "riga"


def test_every_bad_row_of_every_file_and_every_bad_reference_in_one_report(sqlite_store, tmp_path):
    files = {"cities.csv": "id,name,country\nriga,Riga,ZZ\ntallinn,Tallinn,EE\n",
             "challenges.csv": "id,name\nhousing,\n",
             "faces.csv": "source,target\ntallinn,nowhere\nriga,housing\n"}
    with pytest.raises(ValidationError) as err:
        import_bundle(sqlite_store, _write(tmp_path / "b", files))
    lines = [str(p) for p in err.value.problems]
    assert lines == [
        "challenges.csv:2: name is required",
        "cities.csv:2: country 'ZZ': unknown ISO 3166-1 alpha-2 code; use a two-letter code such as 'NL', 'US', 'GB'",
        "faces.csv:2 (FACES tallinn->nowhere): target 'nowhere': no such node; a FACES target must be an existing "
        "Challenge",
        "faces.csv:3 (FACES riga->housing): source 'riga': is not imported: its own row (cities.csv:2) has problems",
        "faces.csv:3 (FACES riga->housing): target 'housing': is not imported: its own row (challenges.csv:2) has "
        "problems"]
    assert sqlite_store.version() == 0


def test_the_readme_lists_every_bundle_file_with_its_columns():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    table = dict(re.findall(r"^\| `(\w+\.csv)` \| (.*) \|$", readme, re.M))
    assert list(table) == list(FILES)
    for name, kind in FILES.items():
        for column, (_, required) in field_types({**NODE_TYPES, **RELATIONSHIP_TYPES}[kind]).items():
            assert re.search(rf"(^|, )\*\*{column}\*\*" if required else rf"(^|, ){column}\b", table[name]), column
