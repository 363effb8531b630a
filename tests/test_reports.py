"""Matching reports (`citypeers report`): files, PDF pages, reproducibility, agreement with the API, the exposure
cap, diffs, a real URBACT cohort, the network report and `cohortReport`."""

from __future__ import annotations

import codecs
import csv
import io
import json
import re
import subprocess
from collections import Counter
from pathlib import Path

import pytest
from PIL import Image

from cli import main
from graph.model import Faces
from graph.store import open_store
from matching.engine import Engine
from reports.pdf import write_pdf
from reports.words import plural
from seeds import load_seeds
from tests.conftest import SHARED
from tests.test_graphql import execute

COHORT = "eu-digital-services"
FILES = ["report.json", "peers.csv", "groups.csv", "partners.csv", "people.csv", "index.html", "report.pdf"]
MARKER = ".citypeers-report"
TIMESTAMP = re.compile(r"generated \d{4}-\d\d-\d\d \d\d:\d\d:\d\d \w*")


def report(capsys, db: str, *argv: str) -> tuple[int, str, str]:
    code = main(["--store", db, "report", *argv])
    out = capsys.readouterr()
    return code, out.out, out.err


@pytest.fixture(scope="module")
def seeded_db(tmp_path_factory) -> str:
    url = f"sqlite:///{tmp_path_factory.mktemp('seeds') / 'seeds.db'}"
    store = open_store(url)
    load_seeds(store)
    store.close()
    return url


@pytest.fixture(scope="module")
def seeds_report(seeded_db, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("report") / "r"
    assert main(["--store", seeded_db, "report", "cohort", COHORT, "--out", str(out)]) == 0
    return out


def table(path: Path) -> list[dict[str, str]]:
    """A report CSV's rows. The file starts with one UTF-8 byte order mark, so that Excel reads it as UTF-8."""
    raw = path.read_bytes()
    assert raw.startswith(codecs.BOM_UTF8) and not raw[3:].startswith(codecs.BOM_UTF8), raw[:20]
    return list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig"), newline="")))


def pdf_pages(pdf: Path, folder: Path) -> list[Image.Image]:
    """Every page as a PNG (pdftoppm, 30 dpi)."""
    subprocess.run(["pdftoppm", "-r", "30", "-png", str(pdf), str(folder / "page")], check=True)
    return [Image.open(p).convert("L") for p in sorted(folder.glob("page-*.png"))]


def ink(page: Image.Image) -> float:
    """Share of the page's pixels that are not near white."""
    histogram = page.histogram()
    return sum(histogram[:200]) / (page.width * page.height)


def pdf_text(pdf: Path) -> str:
    return subprocess.run(["pdftotext", "-enc", "UTF-8", str(pdf), "-"], check=True, capture_output=True,
                          text=True).stdout


def test_seeds_report_writes_every_file_and_a_pdf_with_a_page_per_city(seeds_report, tmp_path):
    assert sorted(p.name for p in seeds_report.iterdir()) == sorted([*FILES, MARKER])
    assert (seeds_report / MARKER).read_text(encoding="utf-8").split() == list(FILES)
    data = json.loads((seeds_report / "report.json").read_text(encoding="utf-8"))
    assert data["counts"] == {"cities": 21, "countries": 21} and len(data["cities"]) == 21
    pages = pdf_pages(seeds_report / "report.pdf", tmp_path)
    # cover, summary, groups, network and map, a page per city, method
    assert len(pages) >= 21 + 4
    blank = [n for n, page in enumerate(pages, 1) if ink(page) < 0.003]
    assert not blank, f"blank pages: {blank}"
    text = pdf_text(seeds_report / "report.pdf")
    for expected in ("European cities digital public services programme", data["inputs_sha256"], "Peers to meet",
                     "Method and limits", "The cap held"):
        assert expected in text
    assert text.count("Peers to meet") == 21
    fonts = subprocess.run(["pdffonts", str(seeds_report / "report.pdf")], check=True, capture_output=True,
                           text=True).stdout
    assert "DejaVu" in fonts and "Type 3" not in fonts


def test_csv_rows_are_report_json_rows(seeds_report):
    data = json.loads((seeds_report / "report.json").read_text(encoding="utf-8"))
    rows = table(seeds_report / "peers.csv")
    expected = [(c["id"], int(p["rank"]), p["id"], p["score"], p["reason"]) for c in data["cities"] for p in c["peers"]]
    assert [(r["city"], int(r["rank"]), r["peer"], float(r["score"]), r["reason"]) for r in rows] == expected
    signals = [s["name"] for s in data["cities"][0]["peers"][0]["signals"]]
    assert all(float(rows[0][s]) == data["cities"][0]["peers"][0]["signals"][i]["contribution"]
               for i, s in enumerate(signals))
    groups = Counter(int(r["group"]) for r in table(seeds_report / "groups.csv"))
    assert groups == {g["number"]: len(g["cities"]) for g in data["groups"]}


def test_the_same_inputs_give_the_same_files(seeds_report, seeded_db, tmp_path):
    again = tmp_path / "again"
    assert main(["--store", seeded_db, "report", "cohort", COHORT, "--out", str(again),
                 "--format", "html,csv,json"]) == 0
    for name in ("report.json", "peers.csv", "groups.csv", "partners.csv", "people.csv"):
        assert (again / name).read_bytes() == (seeds_report / name).read_bytes(), name
    first, second = ((d / "index.html").read_text(encoding="utf-8") for d in (seeds_report, again))
    assert TIMESTAMP.search(first) and TIMESTAMP.sub("", first) == TIMESTAMP.sub("", second)
    # self-contained: nothing to fetch (only in-page links and data), no scripts
    assert not re.search(r'(src|href)\s*=\s*"(?!#|data:)', first)
    assert not re.search(r"<script|<link|@import|url\((?!#)", first)


def test_report_numbers_equal_the_api(seeds_report, seeded_db):
    data = json.loads((seeds_report / "report.json").read_text(encoding="utf-8"))
    exposure = data["summary"]["exposure"]
    assert exposure["max"] < exposure["cap"]  # the cap passed over nobody, so the lists are the plain top k
    store = open_store(seeded_db)
    try:
        for city in data["cities"][:: 5]:
            answer = execute(store, """query($c: ID!, $cohort: ID!) { recommendPeers(cityId: $c, first: 5,
                filters: {cohortId: $cohort}) { score city { id } signals { name value contribution } reason } }""",
                             {"c": city["id"], "cohort": COHORT})
            got = [(m["city"]["id"], m["score"], m["signals"], m["reason"]) for m in answer["data"]["recommendPeers"]]
            assert got == [(p["id"], p["score"], p["signals"], p["reason"]) for p in city["peers"]]
        groups = execute(store, """{ cohortGroups(cohortId: "eu-digital-services") { objective randomObjective
                                     groups { cities { id } affinity } } }""")["data"]["cohortGroups"]
    finally:
        store.close()
    assert groups["objective"] == data["summary"]["groups"]["objective"]
    assert groups["randomObjective"] == data["summary"]["groups"]["random_mean"]
    assert [([c["id"] for c in g["cities"]], g["affinity"]) for g in groups["groups"]] == \
        [([c["id"] for c in g["cities"]], g["affinity"]) for g in data["groups"]]


def test_a_cap_that_cannot_hold_is_reported_where_and_why(capsys, seeded_db, tmp_path):
    out = tmp_path / "capped"
    code, _stdout, err = report(capsys, seeded_db, "cohort", COHORT, "--out", str(out), "--max-exposure", "1",
                               "--format", "html,json,csv")
    assert code == 0
    data = json.loads((out / "report.json").read_text(encoding="utf-8"))
    exposure = data["summary"]["exposure"]
    assert not exposure["cap_held"] and exposure["cap_breaks"]
    counts = Counter(r["peer"] for r in table(out / "peers.csv"))
    assert {c["id"]: c["times"] for c in exposure["over_cap"]} == {c: n for c, n in counts.items() if n > 1}
    assert all(len(c["peers"]) == 5 for c in data["cities"])  # the cap gives way rather than starve a city
    assert f"the exposure cap of 1 could not hold for {len(exposure['over_cap'])} cities" in err
    assert exposure["cap_breaks"][0]["reason"] in err
    first = exposure["cap_breaks"][0]  # staff read the cities by name, the id beside it
    names = {c["id"]: c["name"] for c in data["cities"]}
    assert first["reason"].startswith(f"{names[first['city']]} ({first['city']}) has ")
    assert f"so it also got {names[first['peer']]} ({first['peer']}), already in" in first["reason"]
    assert "could not hold" in (out / "index.html").read_text(encoding="utf-8")


def test_diff_lists_exactly_the_changes(capsys, seeded_db, tmp_path):
    store = open_store(f"sqlite:///{tmp_path / 'diff.db'}")
    load_seeds(store)
    url = store.url
    old, new, same = tmp_path / "old", tmp_path / "new", tmp_path / "same"
    assert report(capsys, url, "cohort", COHORT, "--out", str(old), "--format", "csv,json")[0] == 0
    assert report(capsys, url, "cohort", COHORT, "--out", str(same), "--format", "csv,json")[0] == 0
    store.upsert(relationships=[Faces(source="amsterdam", target=c) for c in ("housing", "mobility", "data")])
    store.close()
    code, _stdout, _ = report(capsys, url, "cohort", COHORT, "--out", str(new), "--format", "html,csv,json",
                             "--compare", str(old))
    assert code == 0

    def suggestions(folder: Path) -> dict[str, set[str]]:
        out: dict[str, set[str]] = {}
        for row in table(folder / "peers.csv"):
            out.setdefault(row["city"], set()).add(row["peer"])
        return out

    def mates(folder: Path) -> dict[str, frozenset[str]]:
        rows = table(folder / "groups.csv")
        groups = {g: frozenset(r["city"] for r in rows if r["group"] == g) for g in {r["group"] for r in rows}}
        return {r["city"]: groups[r["group"]] - {r["city"]} for r in rows}

    before, after = suggestions(old), suggestions(new)
    expected = {c: (after[c] - before[c], before[c] - after[c]) for c in after if after[c] != before[c]}
    moved = {c for c, m in mates(new).items() if mates(old)[c] != m}
    assert expected or moved, "the change should move something, or this test shows nothing"
    code, text, _ = report(capsys, url, "diff", str(old), str(new), "--json")
    diff = json.loads(text)
    assert {c["id"]: (set(c["added"]), set(c["removed"])) for c in diff["changed_cities"]} == expected
    assert {c["id"] for c in diff["regrouped"]} == moved
    assert diff["old"]["data_version"] < diff["new"]["data_version"] and diff["parameters_changed"] == []
    code, text, _ = report(capsys, url, "diff", str(old), str(new))
    assert code == 0 and f"{plural(len(expected), 'city', 'cities')} with other suggestions, {len(moved)} changed " \
        "group" in text
    names = {c["id"]: c["name"] for c in json.loads((new / "report.json").read_text(encoding="utf-8"))["cities"]}
    for city, (added, removed) in expected.items():  # "Name (id): + Name (id); - Name (id)"
        line = next(line for line in text.splitlines() if line.startswith(f"{names[city]} ({city}): "))
        moves = re.findall(r"([+-]) ([^;]+) \((\S+)\)", line.split(": ", 1)[1])
        assert {(sign, name) for sign, name, _ in moves} == {("+", names[c]) for c in added} | \
            {("-", names[c]) for c in removed}
        assert {c for sign, _, c in moves if sign == "+"} == added and {c for s, _, c in moves if s == "-"} == removed
    embedded = json.loads((new / "report.json").read_text(encoding="utf-8"))["compare"]
    assert embedded == diff
    if expected:
        assert '<span class="new">new</span>' in (new / "index.html").read_text(encoding="utf-8")
    gone = [c["removed"] for c in diff["changed_cities"] if c["removed"]]
    page = re.sub(r"</?bdi>", "", (new / "index.html").read_text(encoding="utf-8"))  # each name isolated
    assert gone and all(f"No longer suggested since the compared report: {'; '.join(names[p] for p in ids)}."
                        in page for ids in gone)
    code, text, _ = report(capsys, url, "diff", str(old), str(same))
    assert code == 0 and "no suggestion or group changed" in text


@pytest.mark.parametrize(("argv", "message"), [
    (["cohort", "no-such-cohort"], "no cohort with id 'no-such-cohort'"),
    (["cohort", COHORT, "--format", "html,docx"], "unknown docx; use a comma-separated list of html, pdf, csv, json"),
    (["cohort", COHORT, "--size", "9-9"], "21 member cities cannot form groups of 9-9"),
    (["cohort", COHORT, "--must-pair", "amsterdam,gary"], "must-pair names 'gary', which is not a member city"),
    (["cohort", COHORT, "--compare", "/nonexistent"], "'/nonexistent' holds no report.json"),
    (["network", "--format", "html"], "a network report has no html; use a comma-separated list of csv, json"),
    (["network", "--format", "xml"], "unknown xml; use a comma-separated list of csv, json"),
])
def test_bad_input_fails_clearly_and_writes_nothing(capsys, seeded_db, tmp_path, argv, message):
    out = tmp_path / "out"
    code, _, err = report(capsys, seeded_db, *argv[:2], "--out", str(out), *argv[2:]) if argv[0] == "cohort" else \
        report(capsys, seeded_db, argv[0], "--out", str(out), *argv[1:])
    assert code == 2 and message in err and "Traceback" not in err
    assert not out.exists() and not list(tmp_path.glob(".citypeers-report-*"))


@pytest.mark.parametrize(("argv", "message"), [
    (["cohort", COHORT, "--seed", "99999999999"], "seed=99999999999 is out of range; use 0 to 4294967295"),
    (["cohort", COHORT, "--seed", "-1"], "seed=-1 is out of range; use 0 to 4294967295 (2**32 - 1)"),
    (["cohort", COHORT, "--no-cap", "--max-exposure", "3"], "--no-cap and --max-exposure 3 contradict each other"),
    (["network", "--no-cap", "--max-exposure", "3"], "--no-cap and --max-exposure 3 contradict each other"),
])
def test_contradictory_or_out_of_range_parameters_fail_before_any_work(capsys, monkeypatch, seeded_db, tmp_path,
                                                                       argv, message):
    from reports import command

    monkeypatch.setattr(command, "_snapshot", lambda args: pytest.fail("read and fitted the store first"))
    out = tmp_path / "out"
    where = argv[:2] if argv[0] == "cohort" else argv[:1]
    code, _, err = report(capsys, seeded_db, *where, "--out", str(out), *argv[len(where):])
    assert code == 2 and message in err and err.count("\n") == 1 and not out.exists()


def test_a_pair_of_a_city_with_itself_is_refused_by_the_cli_and_graphql(capsys, seeded_db, tmp_path):
    for argv in (["report", "cohort", COHORT, "--out", str(tmp_path / "out"), "--must-pair", "amsterdam,amsterdam"],
                 ["groups", COHORT, "--cannot-pair", "amsterdam,amsterdam"]):
        with pytest.raises(SystemExit) as exit_:
            main(["--store", seeded_db, *argv])
        assert exit_.value.code == 2
        assert "'amsterdam,amsterdam' pairs a city with itself; give two different city ids" in capsys.readouterr().err
    store = open_store(seeded_db)
    try:
        for query in ('{ cohortReport(cohortId: "eu-digital-services", mustPair: [["amsterdam", "amsterdam"]]) '
                      '{ suggestions } }',
                      '{ cohortGroups(cohortId: "eu-digital-services", cannotPair: [["amsterdam", "amsterdam"]]) '
                      '{ objective } }'):
            errors = execute(store, query)["errors"]
            assert len(errors) == 1 and errors[0]["code"] == "BAD_USER_INPUT"
            assert "['amsterdam', 'amsterdam'] pairs a city with itself; give two different city ids" in \
                errors[0]["message"]
        for arguments, message in (("seed: -1", "seed=-1 is out of range"),
                                   ("noCap: true, maxExposure: 3", "noCap and maxExposure 3 contradict each other")):
            query = f'{{ cohortReport(cohortId: "eu-digital-services", {arguments}) {{ suggestions }} }}'
            errors = execute(store, query)["errors"]
            assert [e["code"] for e in errors] == ["BAD_USER_INPUT"] and message in errors[0]["message"]
    finally:
        store.close()
    assert not (tmp_path / "out").exists()


def test_a_report_folder_holds_one_run(capsys, seeded_db, tmp_path):
    """Writing some formats where an earlier report wrote others leaves none of the earlier run's files."""
    out = tmp_path / "r"
    (tmp_path / "r").mkdir()
    (out / "notes.txt").write_text("mine", encoding="utf-8")
    assert report(capsys, seeded_db, "cohort", COHORT, "--out", str(out), "--format", "html,csv,json")[0] == 0
    code, stdout, _ = report(capsys, seeded_db, "cohort", COHORT, "--out", str(out), "--format", "json", "--k", "3")
    assert code == 0 and sorted(p.name for p in out.iterdir()) == [MARKER, "notes.txt", "report.json"]
    assert "removed peers.csv, groups.csv, partners.csv, people.csv, index.html: an earlier report's" in stdout
    assert report(capsys, seeded_db, "network", "--out", str(out), "--format", "csv")[0] == 0
    assert sorted(p.name for p in out.iterdir()) == [MARKER, "notes.txt", "peers.csv"]
    assert (out / MARKER).read_text(encoding="utf-8") == "peers.csv\n"


def test_a_report_never_replaces_or_removes_files_it_did_not_write(capsys, seeded_db, tmp_path):
    """A folder holding files of a report's names that no report wrote there is refused before any work, and
    keeps them: they were once replaced or removed as "an earlier report's"."""
    out = tmp_path / "mydocs"
    out.mkdir()
    mine = {"people.csv": "my budget", "report.pdf": "%PDF my own", "index.html": "<html>my site</html>",
            "notes.txt": "notes"}
    for name, text in mine.items():
        (out / name).write_text(text, encoding="utf-8")
    code, stdout, err = report(capsys, seeded_db, "cohort", COHORT, "--out", str(out), "--format", "json")
    assert code == 2 and stdout == "" and "Traceback" not in err
    assert (f"--out {str(out)!r} holds people.csv, index.html, report.pdf, which no citypeers report wrote there"
            f" (its {MARKER} does not list them), and a report would replace them; give a new or empty folder, "
            "or move them away") in err
    assert {p.name: p.read_text(encoding="utf-8") for p in out.iterdir()} == mine
    assert report(capsys, seeded_db, "network", "--out", str(out), "--format", "csv")[0] == 2
    assert {p.name: p.read_text(encoding="utf-8") for p in out.iterdir()} == mine
    # a report's own folder: a file the user added later under a report's name is theirs too
    (out / "people.csv").unlink()
    (out / "report.pdf").unlink()
    (out / "index.html").unlink()
    assert report(capsys, seeded_db, "cohort", COHORT, "--out", str(out), "--format", "json")[0] == 0
    (out / "groups.csv").write_text("my groups", encoding="utf-8")
    code, _, err = report(capsys, seeded_db, "cohort", COHORT, "--out", str(out), "--format", "csv")
    assert code == 2 and "holds groups.csv, which no citypeers report wrote there" in err and "replace it;" in err
    assert (out / "groups.csv").read_text(encoding="utf-8") == "my groups" and (out / "report.json").is_file()


def test_without_a_cap_the_method_says_so(capsys, seeded_db, tmp_path):
    out = tmp_path / "uncapped"
    code, _, err = report(capsys, seeded_db, "cohort", COHORT, "--out", str(out), "--no-cap", "--format", "html")
    assert code == 0 and "exposure: no cap set" in err
    page = (out / "index.html").read_text(encoding="utf-8")
    assert "No exposure cap: each city's list is its best 5" in page
    assert "—" not in page and "the cap gives way" not in page


def test_the_method_says_how_ties_are_ordered_and_which_evidence_does_not_count(seeds_report):
    """Many scores are equal (in a GCoM coordinator's cohort, hundreds at three decimals): the page says how
    they are ordered. The seeds' cities share a partner, Bloomberg Philanthropies, whose signal has weight 0:
    the page says such evidence is not given as a reason."""
    from tests.test_report_names import text_of

    words = text_of((seeds_report / "index.html").read_text(encoding="utf-8"))
    data = json.loads((seeds_report / "report.json").read_text(encoding="utf-8"))
    assert "equal scores go to the better connected peer (more cohorts and partners), then the nearer, then by " \
        "id" in words and "Partner organisations by score, then the one working with more cities" in words
    weights = {s["name"]: s["weight"] for s in data["method"]["peer_signals"]}
    assert weights["partners"] == 0 and weights["cohorts"] > 0 and weights["challenges"] > 0
    # every seed city works with Bloomberg Philanthropies: with the partners signal at 0 no reason says so
    assert not any("works with Bloomberg Philanthropies" in p["reason"] for c in data["cities"] for p in c["peers"])
    assert "here the partners signal has weight 0, so a shared partner is not given as a reason" in words


def test_network_report_ranks_by_the_challenge_signal(capsys, seeded_db, tmp_path):
    out = tmp_path / "network"
    code, _stdout, _ = report(capsys, seeded_db, "network", "--out", str(out), "--k", "3")
    assert code == 0 and sorted(p.name for p in out.iterdir()) == [MARKER, "peers.csv", "report.json"]
    data = json.loads((out / "report.json").read_text(encoding="utf-8"))
    assert data["kind"] == "network" and len(data["cities"]) == 24
    store = open_store(seeded_db)
    try:
        engine = Engine(store)
        for city in data["cities"][::4]:
            value = {m.city.id: next(s.value for s in m.signals if s.name == "challenges")
                     for m in engine.peers(city["id"], k=100)}
            assert all(p["score"] == pytest.approx(value[p["id"]], abs=1e-12) for p in city["peers"])
            assert [p["score"] for p in city["peers"]] == sorted((p["score"] for p in city["peers"]), reverse=True)
    finally:
        store.close()
    assert len(table(out / "peers.csv")) == data["summary"]["suggestions"]
    short = data["summary"]["coverage"]["short"]  # ranked by challenges alone: the shortfall says so
    assert short and all(re.fullmatch(r"it shares a challenge with (no|only \d+) other cit(y|ies)", c["why"])
                         for c in short), short[:3]


def test_cohort_report_over_graphql_equals_the_files(seeds_report, seeded_db):
    data = json.loads((seeds_report / "report.json").read_text(encoding="utf-8"))
    store = open_store(seeded_db)
    try:
        answer = execute(store, """{ cohortReport(cohortId: "eu-digital-services") { dataVersion inputsSha256
            suggestions exposure { gini capHeld mostSuggested { city { id } times } }
            groupsAgainstRandom { objective random } groups { cities { id } }
            cities(first: 30) { totalCount edges { node { city { id } peers { city { id } score reason } group } } }
            } }""")
        bad = execute(store, '{ cohortReport(cohortId: "eu-digital-services", k: 0) { suggestions } }')
    finally:
        store.close()
    got = answer["data"]["cohortReport"]
    assert got["inputsSha256"] == data["inputs_sha256"] and got["suggestions"] == data["summary"]["suggestions"]
    assert got["exposure"]["gini"] == data["summary"]["exposure"]["gini"] and got["exposure"]["capHeld"]
    assert got["groupsAgainstRandom"]["random"] == data["summary"]["groups"]["random"]
    assert got["cities"]["totalCount"] == 21
    nodes = [e["node"] for e in got["cities"]["edges"]]
    assert [(c["city"]["id"], [(p["city"]["id"], p["score"], p["reason"]) for p in c["peers"]], c["group"])
            for c in nodes] == [(c["id"], [(p["id"], p["score"], p["reason"]) for p in c["peers"]], c["group"])
                                for c in data["cities"]]
    assert bad["errors"] == [{"message": "k=0 is out of range; use 1 to 100", "code": "BAD_USER_INPUT"}]


def test_names_with_accents_render_in_the_pdf_fonts(tmp_path):
    names = ["Reykjavík", "Kraków", "Zürich", "Łódź"]
    html = f'<html><body style="font-family: \'DejaVu Sans\'">{" ".join(names)}</body></html>'
    write_pdf(html, tmp_path / "names.pdf")
    assert pdf_text(tmp_path / "names.pdf").split() == names
    fonts = subprocess.run(["pdffonts", str(tmp_path / "names.pdf")], check=True, capture_output=True,
                           text=True).stdout
    assert "DejaVu" in fonts


@pytest.mark.skipif(not (SHARED / "data" / "urbact").is_dir(), reason="no URBACT data in ../shared/data/urbact")
def test_a_real_urbact_network_report(capsys, tmp_path):
    from evaluation.urbact import cohort_id, load_urbact

    data = load_urbact(SHARED / "data" / "urbact")
    projection = data.history(9999)
    store = open_store(f"sqlite:///{tmp_path / 'urbact.db'}")
    store.upsert([n for nodes in projection.nodes.values() for n in nodes],
                 [r for rels in projection.relationships.values() for r in rels])
    url = store.url
    store.close()
    network = data.networks["U130"]  # URBACT CULTURE: 17 cities, San Sebastián among them
    out = tmp_path / "urbact-report"
    code, _stdout, err = report(capsys, url, "cohort", cohort_id("U130"), "--out", str(out), "--size", "3-5")
    assert code == 0, err
    result = json.loads((out / "report.json").read_text(encoding="utf-8"))
    assert {c["id"] for c in result["cities"]} == {c for c, _ in network.members}
    assert result["cohort"]["name"] == network.name
    pages = pdf_pages(out / "report.pdf", tmp_path)
    assert len(pages) >= len(network.members) + 4 and all(ink(p) >= 0.003 for p in pages)
    text = pdf_text(out / "report.pdf")
    assert "San Sebastián" in text and text.count("Peers to meet") == len(network.members)


def test_batch_peers_says_when_the_cap_cannot_hold(capsys, seeded_db):
    code = main(["--store", seeded_db, "batch", "peers", "--cohort", COHORT, "--k", "5", "--max-exposure", "1"])
    err = capsys.readouterr().err
    assert code == 0 and "the exposure cap of 1 could not hold" in err
    assert "were below the cap of 1, so it also got" in err and "already in 1 list\n" in err
    assert "only 1 were" not in err and "already in 1 lists" not in err  # the counts' nouns agree with them


def test_an_output_that_is_a_file_is_refused_before_any_work(capsys, seeded_db, tmp_path):
    (tmp_path / "taken").write_text("mine", encoding="utf-8")
    code, _, err = report(capsys, seeded_db, "cohort", COHORT, "--out", str(tmp_path / "taken"))
    assert code == 2 and "is a file; give a folder" in err
    assert (tmp_path / "taken").read_text(encoding="utf-8") == "mine"


@pytest.mark.parametrize(("what", "message"), [
    ("under-a-file", "cannot be made: '{base}/taken' is a file; give a folder you can write to"),
    ("proc", "--out '/proc/citypeers-report-test/r' cannot be written: "),
])
def test_an_output_that_cannot_be_written_is_refused_before_any_work(capsys, monkeypatch, seeded_db, tmp_path, what,
                                                                     message):
    """Not after the whole report was computed, and not naming the hidden scratch folder."""
    from reports import command

    if what == "proc" and not Path("/proc/self").is_dir():
        pytest.skip("needs Linux's /proc, where no one can make a folder")
    monkeypatch.setattr(command, "_snapshot", lambda args: pytest.fail("read and fitted the store first"))
    (tmp_path / "taken").write_text("mine", encoding="utf-8")
    out = tmp_path / "taken" / "r" if what == "under-a-file" else Path("/proc/citypeers-report-test/r")
    for argv in (["cohort", COHORT, "--out", str(out)], ["network", "--out", str(out)]):
        code, _, err = report(capsys, seeded_db, *argv)
        assert code == 2 and message.format(base=tmp_path.resolve()) in err and err.count("\n") == 1, err
        assert ".citypeers-report-" not in err and "Traceback" not in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["taken"]


def test_a_network_report_of_an_empty_store_is_refused(capsys, tmp_path):
    url = f"sqlite:///{tmp_path / 'empty.db'}"
    open_store(url, create=True).close()
    code, out, err = report(capsys, url, "network", "--out", str(tmp_path / "n"))
    assert code == 2 and out == ""
    assert err == "citypeers: error: the store holds no cities, so there is nothing to report; seed it " \
        "(`citypeers seed`) or import a bundle (`citypeers import DIR`) first\n"
    assert not (tmp_path / "n").exists() and not list(tmp_path.glob(".citypeers-report-*"))


def test_a_pdf_laid_out_in_parallel_parts_reads_as_one(seeds_report, tmp_path):
    """The parts path (a large cohort's): every page drawn, footers numbered across the whole file, the outline
    joined, the same pages as one process gives (the seeds' cities each start a page)."""
    from pypdf import PdfReader

    from reports.pdf import split_html

    html = (seeds_report / "index.html").read_text(encoding="utf-8")
    parts = split_html(html, 2)
    assert len(parts) > 2 and all(p.startswith(html[: html.index("<body>")]) for p in parts)
    bodies = "".join(p[p.index("<body>") + len("<body>"): p.rindex("</body>")] for p in parts)
    assert bodies == html[html.index("<body>") + len("<body>"): html.rindex("</body>")]
    pages = write_pdf(html, tmp_path / "parts.pdf", workers=2)
    assert pages == len(PdfReader(seeds_report / "report.pdf").pages)
    images = pdf_pages(tmp_path / "parts.pdf", tmp_path)
    assert len(images) == pages and all(ink(p) >= 0.003 for p in images)
    text = pdf_text(tmp_path / "parts.pdf")
    assert f"page 1 of {pages}" in text and f"page {pages} of {pages}" in text and text.count("Peers to meet") == 21
    assert PdfReader(tmp_path / "parts.pdf").root_object["/Lang"] == "en"
    outline = PdfReader(tmp_path / "parts.pdf").outline
    assert len([o for o in outline if not isinstance(o, list)]) == 1  # the title, holding every section
    data = json.loads((seeds_report / "report.json").read_text(encoding="utf-8"))
    titles = json.dumps([o.title if not isinstance(o, list) else [getattr(i, "title", "") for i in o] for o in outline],
                        ensure_ascii=False)
    assert all(c["name"] in titles for c in data["cities"])
    fonts = subprocess.run(["pdffonts", str(tmp_path / "parts.pdf")], check=True, capture_output=True,
                           text=True).stdout
    assert "DejaVu" in fonts and "Type 3" not in fonts



def test_a_pdf_in_parts_runs_one_process_a_cpu_at_a_time(seeds_report, tmp_path, monkeypatch):
    """A large report's PDF is cut into two parts a CPU, run one process a CPU at a time (all of them at
    once until 2026-12-07: 5 WeasyPrint processes together on 2 CPUs)."""
    import reports.pdf

    monkeypatch.setattr(reports.pdf, "PARALLEL_ABOVE", 0)
    monkeypatch.setattr(reports.pdf.os, "cpu_count", lambda: 2)
    seen = []
    monkeypatch.setattr(reports.pdf, "_write_parts", lambda html, parts, path, workers: seen.append(
        (len(parts), workers)) or 1)
    write_pdf((seeds_report / "index.html").read_text(encoding="utf-8"), tmp_path / "r.pdf")
    assert len(seen) == 1 and seen[0][0] > 2 and seen[0][1] == 2


def test_the_map_caption_names_the_cities_it_leaves_out():
    """A city without coordinates is not on the map; the caption says so (it vanished silently until
    2026-12-07). With none placed there is no map, and the page says that instead."""
    from reports.render import captions

    def city(name, placed):
        return {"name": name, "latitude": 52.0 if placed else None, "longitude": 4.0 if placed else None}

    report = {"kind": "cohort", "groups": [], "cities": [city("Delft", True), city("No Coordinates", False)]}
    assert captions(report)["map_caption"].endswith(" Not on the map, without coordinates: 1 city (No Coordinates).")
    report["cities"] += [city(f"C{i}", False) for i in range(6)]
    assert captions(report)["map_caption"].endswith("7 cities (No Coordinates; C0; C1; C2; C3 and 2 more).")
    report["cities"] = [city("Delft", True)]
    assert "Not on the map" not in captions(report)["map_caption"]


def test_a_long_cohort_name_leaves_the_page_number_whole(seeds_report, tmp_path):
    """The footer's title is cut to one line and the page number kept on one: a 222-character cohort name put
    "page 2 / of 8" on two lines, a 500-character one "pag / e 2 / of / 19" (until 2026-12-07)."""
    from reports.render import render_html, report_figures

    report = json.loads((seeds_report / "report.json").read_text(encoding="utf-8"))
    report["cohort"]["name"] = "Very long programme name " * 20
    html = render_html(report, report_figures(report), generated_at="2026-12-07 00:00:00 UTC")
    pages = write_pdf(html, tmp_path / "long.pdf", workers=1)
    text = pdf_text(tmp_path / "long.pdf")
    assert all(f"page {n} of {pages}" in text for n in (1, 2, pages)), text[-400:]
    assert "Very long programme name Very long programme name" in text and "…" in text


def test_a_map_of_one_city_fills_its_box():
    """A one-city cohort's map was a sliver (fixed limits of a few hundredths of a degree with the aspect
    shrank the axes), its longitude ticks overprinting each other."""
    import networkx as nx

    from reports.figures import places

    city = {"id": "delft", "name": "Delft", "latitude": 52.0, "longitude": 4.36, "group": 1}
    graph = nx.Graph()
    graph.add_node("delft")
    fig = places([city], graph, {"delft": (4.36, 52.0)}, "map", labels=5, aspect=1.6)
    fig.canvas.draw()
    ax = fig.axes[0]
    assert ax.get_position().width > 0.5 and ax.get_position().height > 0.5
    low, high = ax.get_xlim()
    assert high - low > 1 and low < 4.36 < high  # was 0.1 degrees (the ticks 4.75 5.00 5.25 overprinted)


def test_an_out_path_the_system_refuses_is_named_as_out(capsys, seeded_db, tmp_path):
    """A 300-character folder name was a bare "citypeers: error: File name too long: aaaa..."."""
    code, _, err = report(capsys, seeded_db, "cohort", COHORT, "--out", str(tmp_path / ("a" * 300)))
    assert code == 2 and "Traceback" not in err and err.count("\n") == 1
    assert "--out '" in err and "cannot be used: File name too long; give a folder path the system accepts" in err
