"""Reports of cities, people and organisations with hostile or awkward names: spreadsheet formulas in the CSV
files, HTML and quotes in the PDF footer, dollar signs in the figures, commas in lists, and cohorts of one
and two cities."""

from __future__ import annotations

import html
import json
import re
import subprocess
from pathlib import Path

import pytest
from PIL import Image

from cli import main
from graph.cells import FORMULA_STARTS, unescape
from graph.model import Challenge, City, Cohort, Faces, Leader, MemberOf, Partner, PartnersWith, Serves, WorksOn
from graph.store import open_store
from reports import figures
from reports.pdf import write_pdf
from reports.tables import _csv
from tests.test_reports import table as rows  # checks the byte order mark too

TITLE = '<script>alert("x")</script> & "Quoted" Cohort'
NAMES = {"formula": '=HYPERLINK("http://evil.example","click")', "plus": "+Logroño", "minus": "-Kraków",
         "at": "@Łódź", "dollar": "Cost $5 to $10 City", "frac": r"Bad $\frac$ City",
         "amp": "Tom & Jerry \"City\" 'O'Neil", "comma": "Washington, D.C."}
COUNTRIES = ["ES", "ES", "PL", "PL", "FR", "DE", "IE", "US"]
CHALLENGES = {"gov": "Governance", "govp": "Governance, partnership", "jobs": "Jobs", "heat": "Heat"}
FACES = {"formula": "gov govp jobs", "plus": "gov govp", "minus": "gov jobs heat", "at": "govp heat",
         "dollar": "gov govp", "frac": "jobs heat", "amp": "gov heat", "comma": "govp jobs"}
NUMERIC = {"rank", "score", "group", "group_affinity", "role_fit"}  # and a column per peer signal


@pytest.fixture(scope="module")
def hostile_db(tmp_path_factory) -> str:
    url = f"sqlite:///{tmp_path_factory.mktemp('hostile') / 'hostile.db'}"
    cities = [City(id=c, name=n, country=k, region="Europe", latitude=40 + i, longitude=-5 + 3 * i)
              for i, ((c, n), k) in enumerate(zip(NAMES.items(), COUNTRIES, strict=True))]
    nodes = [*cities, *(Challenge(id=c, name=n) for c, n in CHALLENGES.items()),
             Cohort(id="hostile", name=TITLE, programme="=cmd|' /C calc'!A0"),
             Cohort(id="solo", name="Solo", programme="P"), Cohort(id="duo", name="Duo", programme="P"),
             Leader(id="jan", name="-Jan Łukasz", role="mayor"), Leader(id="zofia", name="+Zofia", role="mayor"),
             Partner(id="sum", name="=SUM(1+1)*cmd", sector="philanthropy")]
    relationships = [*(Faces(source=c, target=h) for c, hs in FACES.items() for h in hs.split()),
                     *(MemberOf(source=c, target="hostile") for c in NAMES),
                     MemberOf(source="at", target="solo"), MemberOf(source="plus", target="duo"),
                     MemberOf(source="minus", target="duo"), Serves(source="jan", target="minus"),
                     Serves(source="zofia", target="at"), WorksOn(source="sum", target="gov"),
                     PartnersWith(source="sum", target="formula")]
    with open_store(url) as store:
        store.upsert(nodes, relationships)
    return url


def run(capsys, db: str, *argv: str) -> tuple[int, str, str]:
    code = main(["--store", db, "report", *argv])
    out = capsys.readouterr()
    return code, out.out, out.err


@pytest.fixture(scope="module")
def hostile_report(hostile_db, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("hostile-report") / "r"
    assert main(["--store", hostile_db, "report", "cohort", "hostile", "--out", str(out)]) == 0
    return out


def text_of(page: str) -> str:
    """index.html's words as a reader sees them (no styles, no figures, entities decoded; a tag is a space, but
    for those of the inline elements around names and words)."""
    body = re.sub(r"<svg.*?</svg>|<style>.*?</style>", " ", page, flags=re.S)
    body = re.sub(r"</?(bdi|b)>", "", body)
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", body)))


def test_no_csv_cell_starts_a_formula_and_numbers_stay_numbers(hostile_report, hostile_db, capsys, tmp_path):
    data = json.loads((hostile_report / "report.json").read_text(encoding="utf-8"))
    numeric = NUMERIC | {s["name"] for s in data["method"]["peer_signals"]}
    for name in ("peers.csv", "groups.csv", "partners.csv", "people.csv"):
        table = rows(hostile_report / name)
        assert table, name
        for row in table:
            for column, cell in row.items():
                assert not cell.startswith(FORMULA_STARTS), f"{name} {column}: {cell!r} would run as a formula"
                if column in numeric and cell:
                    float(cell)  # a number, written as one
    peers = rows(hostile_report / "peers.csv")
    assert {unescape(r["city_name"]) for r in peers} == set(NAMES.values())  # quoted, and exactly reversible
    assert "'=HYPERLINK(\"http://evil.example\",\"click\")" in {r["city_name"] for r in peers}
    assert any(r["reason"].startswith("'+Logroño also faces") for r in peers)
    people = rows(hostile_report / "people.csv")
    assert {r["leader_name"] for r in people} == {"'-Jan Łukasz", "'+Zofia"}
    assert any(r["reason"].startswith("'+Zofia (mayor") for r in people)
    assert {r["partner_name"] for r in rows(hostile_report / "partners.csv")} == {"'=SUM(1+1)*cmd"}
    assert [float(r["score"]) for r in peers] == [p["score"] for c in data["cities"] for p in c["peers"]]
    assert _csv(["name", "score"], iter([["-x", -0.5]])) == "name,score\n'-x,-0.5\n"  # a negative number stays one
    code, _, _ = run(capsys, hostile_db, "network", "--out", str(tmp_path / "network"), "--k", "3")
    network = rows(tmp_path / "network" / "peers.csv")
    assert code == 0 and network and all(not v.startswith(FORMULA_STARTS) for r in network for v in r.values())


def footers(pdf: Path) -> list[str]:
    text = subprocess.run(["pdftotext", "-layout", "-enc", "UTF-8", str(pdf), "-"], check=True, capture_output=True,
                          text=True).stdout
    return [line.strip() for line in text.splitlines() if re.search(r"page \d+ of \d+\s*$", line)]


def test_the_pdf_footer_shows_the_title_as_written(hostile_report, tmp_path):
    page = (hostile_report / "index.html").read_text(encoding="utf-8")
    style = re.search(r"<style>(.*?)</style>", page, flags=re.S).group(1)
    assert "<" not in style and not re.search(r"&(lt|gt|amp|#\d+);", style)  # a CSS string: no entities, no tags
    one = footers(hostile_report / "report.pdf")
    parts = tmp_path / "parts.pdf"  # a large report's path: laid out in parts, numbered from the same head
    pages = write_pdf(page, parts, workers=2)
    for lines, total in ((one, len(one)), (footers(parts), pages)):
        assert len(lines) == total >= 8
        assert all(re.fullmatch(rf"Matching report: {re.escape(TITLE)}\s+page \d+ of {total}", line)
                   for line in lines), lines[:2]


def test_dollar_signs_are_drawn_as_written():
    cities = [{"id": c, "name": NAMES[c], "group": 1, "latitude": 50.0 + i, "longitude": 5.0 + i,
               "peers": [{"id": "frac" if c == "dollar" else "dollar"}]} for i, c in enumerate(("dollar", "frac"))]
    for svg in (figures.network(cities, 0), figures.map_figure(cities)):
        svg = re.sub(r"<!--.*?-->", "", svg, flags=re.S)  # matplotlib notes each text as written in a comment
        assert "Cost $5 to $10 City" in svg and r"Bad $\frac$ City" in svg


def test_groups_say_how_many_members_face_each_challenge(hostile_report):
    data = json.loads((hostile_report / "report.json").read_text(encoding="utf-8"))
    table = rows(hostile_report / "groups.csv")
    column = "group_challenges_at_least_two_members_face"
    for group in data["groups"]:
        members = [c["id"] for c in group["cities"]]
        counts = {h: sum(h in FACES[c].split() for c in members) for h in CHALLENGES}
        cells = {r[column] for r in table if r["city"] in members}
        assert len(cells) == 1  # "Name (n of size)" items, "; " between them: a name may hold a comma
        assert sorted(cells.pop().split("; ")) == sorted(f"{CHALLENGES[h]} ({n} of {len(members)})"
                                                         for h, n in counts.items() if n >= 2)
        assert {(s["id"], s["members"]) for s in group["shared_challenges"]} == \
            {(h, n) for h, n in counts.items() if n >= 2}
    words = text_of((hostile_report / "index.html").read_text(encoding="utf-8"))
    assert "challenges at least two members face (how many)" in words
    assert "the group shares" not in words and words.count("Challenges at least two members face: ") == len(NAMES)
    group = next(g for g in data["groups"] if any(c["id"] == "comma" for c in g["cities"]))
    others = "; ".join(c["name"] for c in group["cities"] if c["id"] != "comma")
    assert f"With {others}. Challenges at least two members face: " in words  # names with commas stay apart


def test_a_one_city_cohort_reads_true(hostile_db, capsys, tmp_path):
    code, out, err = run(capsys, hostile_db, "cohort", "solo", "--out", str(tmp_path / "solo"), "--size", "1-1",
                         "--format", "html,json")
    assert code == 0
    assert "Solo: 1 city, 0 suggestions, 1 learning group" in out
    assert "1 city got fewer than 5 suggestions, e.g. at: there is no other member city of the cohort" in err
    data = json.loads((tmp_path / "solo" / "report.json").read_text(encoding="utf-8"))
    assert data["summary"]["exposure"]["most_suggested"] == []  # never suggested is not "most suggested"
    words = text_of((tmp_path / "solo" / "index.html").read_text(encoding="utf-8"))
    assert "No peer: @Łódź is the only city in this report." in words
    assert "@Łódź is the group's only member." in words and "With ;" not in words
    assert "shares no challenge, cohort or partner with another city" not in words
    assert "No city was suggested." in words and "most suggested" not in words
    assert "1 city got fewer than 5" in words and "1 city in 1 country" in words


def test_a_two_city_cohort_counts_in_the_singular(hostile_db, capsys, tmp_path):
    code, out, err = run(capsys, hostile_db, "cohort", "duo", "--out", str(tmp_path / "duo"), "--size", "1-2",
                         "--format", "html,json")
    assert code == 0 and "exposure cap 10 held (at most 1 list per city)" in out
    assert "2 cities got fewer than 5 suggestions, e.g. minus: there is only 1 other member city of the cohort" in err
    words = text_of((tmp_path / "duo" / "index.html").read_text(encoding="utf-8"))
    assert "a city is in at most 1 list." in words and "1 lists" not in words and "1 cities" not in words


UNBROKEN = "Llanfairpwllgwyngyllgogerychwyrndrobwllllantysiliogogogoch" * 2  # no place to break a line
JOINT = ("Baldissero Torinese, Cambiano, Chieri, Moriondo Torinese, Pecetto Torinese, Pino Torinese, Riva presso "
         "Chieri")  # a joint signatory of the Covenant of Mayors, as GCoM names it


@pytest.fixture(scope="module")
def long_names_html(tmp_path_factory) -> str:
    """index.html of a 30-city cohort with long names (one that cannot break), each city its own group."""
    folder = tmp_path_factory.mktemp("long-names")
    url = f"sqlite:///{folder / 'long.db'}"
    names = [UNBROKEN, *(f"{JOINT} {i}" for i in range(29))]
    with open_store(url) as store:
        store.upsert([*(City(id=f"c{i:02d}", name=n, country="IT", latitude=45 + i / 10, longitude=7 + i / 10)
                        for i, n in enumerate(names)), Challenge(id="gov", name="Governance"),
                      Cohort(id="long", name="Long names", programme="P")],
                     [*(Faces(source=f"c{i:02d}", target="gov") for i in range(30)),
                      *(MemberOf(source=f"c{i:02d}", target="long") for i in range(30))])
    assert main(["--store", url, "report", "cohort", "long", "--out", str(folder / "r"), "--size", "1-1",
                 "--format", "html"]) == 0
    return (folder / "r" / "index.html").read_text(encoding="utf-8")


def test_long_names_stay_on_the_pdf_page_and_tables_repeat_their_headers(long_names_html, tmp_path):
    """The front matter of the report (its city pages cut out, for speed) as images: nothing is drawn in the
    right margin (a name that cannot break used to push the tables' last columns off the page), every page of
    the groups table starts with its header row, and short headers are not split into letters."""
    front = re.sub(r'<section class="city[ "].*?</section>', "", long_names_html, flags=re.S)
    write_pdf(front, tmp_path / "front.pdf")
    subprocess.run(["pdftoppm", "-r", "30", "-png", str(tmp_path / "front.pdf"), str(tmp_path / "page")], check=True)
    pages = [Image.open(p).convert("L") for p in sorted(tmp_path.glob("page-*.png"))]
    for n, page in enumerate(pages, 1):
        margin = page.crop((page.width * (210 - 12) // 210, 0, page.width, page.height))  # A4, 14 mm margins
        assert margin.getextrema()[0] > 200, f"page {n}: something is drawn in the right margin"
    texts = [subprocess.run(["pdftotext", "-f", str(n), "-l", str(n), "-layout", "-enc", "UTF-8",
                             str(tmp_path / "front.pdf"), "-"], check=True, capture_output=True, text=True).stdout
             for n in range(1, len(pages) + 1)]
    table = [t for t in texts if "none yet" in t]  # the pages of the groups table
    assert len(table) >= 2, "the groups table should run over two pages, or this test shows nothing"
    assert all(re.search(r"group\s+members\s+countries\s+challenges", t) for t in table), table
    for caption in ("Colours: learning groups", ):  # each figure's caption on its figure's page
        assert all(("suggested peers (lines)" in t or "cities at their coordinates" in t) for t in texts
                   if caption in t)


def test_characters_the_fonts_lack_are_said_once(capsys, tmp_path):
    """Every Hangul syllable of a name was a matplotlib UserWarning with its source line, twice a figure (40
    lines for a cohort with Seoul and Tokyo); now one line says which characters and what to install."""
    url = f"sqlite:///{tmp_path / 'seoul.db'}"
    with open_store(url) as store:
        store.upsert([City(id="seoul", name="서울특별시", country="KR", latitude=37.6, longitude=127.0),
                      City(id="busan", name="부산광역시", country="KR", latitude=35.2, longitude=129.1),
                      Challenge(id="heat", name="Heat"), Cohort(id="kr", name="Korea", programme="P")],
                     [Faces(source="seoul", target="heat"), Faces(source="busan", target="heat"),
                      MemberOf(source="seoul", target="kr"), MemberOf(source="busan", target="kr")])
    code, _, err = run(capsys, url, "cohort", "kr", "--out", str(tmp_path / "r"), "--size", "1-2", "--format", "pdf")
    assert code == 0 and "Glyph" not in err and "UserWarning" not in err, err
    said = [line for line in err.splitlines() if "fonts" in line]
    assert said == ["citypeers: warning: the report's fonts (DejaVu Sans, Noto Sans) lack 9 characters of the names "
                    f"({' '.join(sorted(set('서울특별시부산광역시')))}): they show as boxes in report.pdf unless "
                    "another installed font has them (Noto Sans CJK for Chinese, Japanese and Korean)"]


HEBREW = {"akko": "עכו", "haifa": "חיפה"}  # Akko and Haifa: no letter in common
TOPICS = {"edu": "חינוך", "transport": "תחבורה"}  # education, transport


@pytest.fixture(scope="module")
def hebrew_report(tmp_path_factory) -> Path:
    """A three-city cohort, two of its cities and both its challenges named in Hebrew: lists in the page put
    the two names side by side (the groups table, group-mates, reasons, the cities over the exposure cap)."""
    folder = tmp_path_factory.mktemp("hebrew")
    url = f"sqlite:///{folder / 'hebrew.db'}"
    cities = [City(id=i, name=n, country="IL", region="Asia", latitude=32.9 - d, longitude=35.1 - d)
              for d, (i, n) in enumerate([*HEBREW.items(), ("nazareth", "Nazareth")])]
    with open_store(url) as store:
        store.upsert([*cities, *(Challenge(id=i, name=n) for i, n in TOPICS.items()),
                      Cohort(id="north", name="North", programme="P"),
                      Partner(id="p", name="Partner", sector="nonprofit")],
                     [*(Faces(source=c.id, target=t) for c in cities for t in TOPICS),
                      *(MemberOf(source=c.id, target="north") for c in cities),
                      *(PartnersWith(source="p", target=c) for c in HEBREW), WorksOn(source="p", target="edu")])
    assert main(["--store", url, "report", "cohort", "north", "--out", str(folder / "r"), "--size", "3-3", "--k", "2",
                 "--max-exposure", "1", "--format", "html,pdf"]) == 0
    return folder / "r"




def test_names_in_right_to_left_scripts_keep_their_order_in_the_pdf(hebrew_report):
    """WeasyPrint drew "עכו: 2; חיפה: 2" (a list in one run of text) as "2 :חיפה ;2 :עכו", swapped as browsers
    drew it (tests/test_report_page.py). Each name isolated, the first name is left of the second on each line
    of the PDF with both: found among pdftotext's words, which it gives in the order drawn."""
    boxes = subprocess.run(["pdftotext", "-bbox", str(hebrew_report / "report.pdf"), "-"], check=True,
                           capture_output=True, text=True).stdout
    words = [(float(x), (page, float(y)), re.sub(r"[^\u0590-\u05ff]", "", html.unescape(w)))
             for page, body in enumerate(boxes.split("<page ")) for x, y, w in
             re.findall(r'<word xMin="([\d.]+)" yMin="([\d.]+)" [^>]*>(.*?)</word>', body)]
    checked = 0
    for first, second in (HEBREW.values(), TOPICS.values()):
        at = {name: {line: x for x, line, w in words if w in (name, name[::-1])} for name in (first, second)}
        lines = at[first].keys() & at[second].keys()
        checked += len(lines)
        assert all(at[first][line] < at[second][line] for line in lines), (first, second, at)
    assert checked >= 10  # the cities over the cap, the partner's reason, group-mates, challenges, reasons
