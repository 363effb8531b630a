"""The real data's files, damaged or not as published: `citypeers data` and `evaluate` say what is wrong in one
line, naming the file (and the row or byte), exit 2, and write nothing. They were tracebacks (KeyError:
'geonameId', UnicodeDecodeError), and an empty GCoM file a table of zeros, then ZeroDivisionError."""

from __future__ import annotations

import csv
import io
import shutil
from pathlib import Path

import pytest

from evaluation.gcom import FILE
from evaluation.urbact import MEMBERSHIPS, NETWORKS
from tests.conftest import SHARED
from tests.test_cli import run

URBACT, GCOM = SHARED / "data" / "urbact", SHARED / "data" / "gcom"
pytestmark = pytest.mark.skipif(not (URBACT / MEMBERSHIPS).is_file() or not (GCOM / FILE).is_file(),
                                reason="needs ../shared/data")


def _urbact(folder: Path, *, members: bytes | None = None, networks: bytes | None = None) -> Path:
    folder.mkdir()
    for name, given in ((MEMBERSHIPS, members), (NETWORKS, networks)):
        (folder / name).write_bytes(given if given is not None else (URBACT / name).read_bytes())
    return folder


def _gcom(folder: Path, text: bytes) -> Path:
    folder.mkdir()
    (folder / FILE).write_bytes(text)
    return folder


def _gcom_header() -> bytes:
    return (GCOM / FILE).read_bytes().split(b"\n", 1)[0] + b"\n"


def _networks_with_start(value: str) -> tuple[bytes, int]:
    """URBACT's networks file with its fifth network's Start replaced, and the line a reader ends that row on
    (descriptions span lines)."""
    with (URBACT / NETWORKS).open(encoding="utf-8", newline="") as fh:
        rows = list(csv.reader(fh, delimiter=";"))
    rows[5][rows[0].index("Start")] = value
    out = io.StringIO()
    csv.writer(out, delimiter=";", lineterminator="\n").writerows(rows)
    reader = csv.reader(io.StringIO(out.getvalue(), newline=""), delimiter=";")
    for _ in range(6):
        next(reader)
    return out.getvalue().encode(), reader.line_num


def cases(tmp: Path) -> list[tuple[list[str], str]]:
    u_renamed = _urbact(tmp / "u1", members=(URBACT / MEMBERSHIPS).read_bytes().replace(b"geonameId", b"geoId", 1))
    networks, line = _networks_with_start("20x5")
    u_year = _urbact(tmp / "u2", networks=networks)
    g_empty = _gcom(tmp / "g1", b"")
    g_renamed = _gcom(tmp / "g2", (GCOM / FILE).read_bytes().replace(b"organisation_name", b"org_name", 1))
    g_latin1 = _gcom(tmp / "g3", _gcom_header() + b"1,Krak\xf3w,-,-,pl,Poland,1,50,19,-,-,True,False,False,False\n")
    g_semicolons = _gcom(tmp / "g4", b"a;b;c\n1;2;3\n")
    g_header_only = _gcom(tmp / "g5", _gcom_header())
    g_no_country = _gcom(tmp / "g6", _gcom_header() + b"1,X,-,-,zz,Nowhere,1,50,19,-,-,True,False,False,False\n")
    out = str(tmp / "bundle")
    return [
        (["data", "urbact", "--out", out, "--data", str(u_renamed)],
         f"'{u_renamed / MEMBERSHIPS}' has no column 'geonameId' (its columns: Code_Network, "),
        (["evaluate", "urbact", "--data", str(u_renamed)], f"'{u_renamed / MEMBERSHIPS}' has no column 'geonameId'"),
        (["evaluate", "urbact", "--data", str(u_year)],
         f"{u_year / NETWORKS}:{line}: Start '20x5' is not a year; expected the year the network started, e.g. 2015"),
        (["evaluate", "gcom", "--data", str(g_empty)],
         f"'{g_empty / FILE}' is empty; expected the GCoM signatories sheet as a CSV ({FILE}, comma-separated)"),
        (["data", "gcom", "--out", out, "--data", str(g_renamed)],
         f"'{g_renamed / FILE}' has no column 'organisation_name' (its columns: organisation_id, org_name, "),
        (["evaluate", "gcom", "--data", str(g_latin1)],
         f"{g_latin1 / FILE}:2: byte b'\\xf3' at offset "),
        (["evaluate", "gcom", "--data", str(g_semicolons)],
         f"'{g_semicolons / FILE}' has no columns 'organisation_id', 'organisation_name', "),
        (["evaluate", "gcom", "--data", str(g_header_only)], f"'{g_header_only / FILE}' has a header but no rows"),
        (["data", "gcom", "--out", out, "--data", str(g_no_country)],
         f"'{g_no_country / FILE}' has no signatory with a usable country code"),
    ]


def test_damaged_data_is_one_line_naming_the_file_and_what_is_wrong(capsys, tmp_path):
    for argv, said in cases(tmp_path):
        code, out, err = run(capsys, *argv)
        assert code == 2 and err.startswith(f"citypeers: error: {said}"), (argv, err)
        assert err.count("\n") == 1 and "Traceback" not in err and "tables" not in out, (argv, err)
        assert not (tmp_path / "bundle").exists()


def test_the_published_files_still_load_whole(tmp_path):
    """The checks refuse nothing of the files as published: every network, city and signatory is read."""
    from evaluation.gcom import load_gcom
    from evaluation.urbact import load_urbact

    data = load_urbact(_urbact(tmp_path / "u"))  # the figures the loaders gave before the checks
    assert (len(data.networks), len(data.cities), sum(len(n.members) for n in data.networks.values()),
            len(data.challenges)) == (172, 591, 1_510, 61)
    shutil.copy(GCOM / FILE, _gcom(tmp_path / "g", b"") / FILE)
    nodes, rels = load_gcom(tmp_path / "g")
    assert (sum(n.KIND == "City" for n in nodes), len(nodes), len(rels)) == (11_973, 12_645, 26_844)


def test_data_gcom_says_what_it_leaves_out(capsys, tmp_path):
    """A row without a usable country, and cities whose coordinates or population cannot be read, were left
    out in silence."""
    folder = _gcom(tmp_path / "g", _gcom_header()
                   + b"1,Nowhere,-,-,zz,Nowhere,1,50,19,-,-,True,False,False,False\n"
                   + b"2,Brescia,-,-,it,Italy,200000,\"10,219287\",\"45,539723\",-,-,True,False,False,False\n"
                   + b"3,Riga,-,-,lv,Latvia,-,56.95,24.1,-,-,True,False,False,False\n")
    code, out, err = run(capsys, "data", "gcom", "--out", str(tmp_path / "b"), "--data", str(folder))
    assert code == 0 and "2 cities" in out
    assert err.splitlines() == [
        f"citypeers: note: 1 row without a usable country code (ISO 3166-1 alpha-2) was left out; the first at "
        f"{FILE}:2",
        f"citypeers: note: 1 city has no coordinates (blank, out of range, or with decimal commas); the first at "
        f"{FILE}:3",
        f"citypeers: note: 1 city has no population (blank or not a number); the first at {FILE}:4"]
    code, _, err = run(capsys, "data", "gcom", "--out", str(tmp_path / "all"), "--data", str(GCOM))
    assert code == 0 and err.splitlines() == [
        f"citypeers: note: 22 cities have no coordinates (blank, out of range, or with decimal commas); the first "
        f"at {FILE}:419",
        f"citypeers: note: 62 cities have no population (blank or not a number); the first at {FILE}:2"]


def test_a_joint_action_plan_s_group_is_a_cohort_its_own_signatory_leads(tmp_path):
    """The sheet's groups of signatories (a union of municipalities sharing one action plan) are cohorts: the
    member cities, the group's own row (a signatory too) as lead, covering the commitments most of them made."""
    from evaluation.gcom import load_gcom

    header = next(csv.reader(io.StringIO(_gcom_header().decode())))
    out = io.StringIO()
    writer = csv.DictWriter(out, header, restval="-", lineterminator="\n")
    writer.writeheader()
    for oid, name, group, group_name, adapt in (
            ("900", "Unione Test", "-", "-", "True"), ("901", "Alpha", "900", "Unione Test", "True"),
            ("902", "Beta", "900", "Unione Test", "False"), ("903", "Gamma", "77", "LAG Somewhere", "True"),
            ("904", "Delta", "-", "-", "True")):
        writer.writerow({"organisation_id": oid, "organisation_name": name, "country_code": "it",
                         "organisation_latitude": "45.0", "organisation_longitude": "9.0",
                         "group_organisation_id": group, "group_name": group_name,
                         "adhesion_type": "As a group of signatories committing collectively",
                         "commitment_CoM2020_flag": "True", "commitment_CoM2030_flag": "False",
                         "commitment_CoM2050_flag": "False", "commitment_mayoradapt_flag": adapt})
    nodes, rels = load_gcom(_gcom(tmp_path / "g", out.getvalue().encode()))
    cohorts = {n.id: n for n in nodes if n.KIND == "Cohort"}
    assert {c: (n.name, n.programme) for c, n in cohorts.items()} == {
        "gcom-group-900": ("Unione Test", "GCoM joint action plan"),
        "gcom-group-77": ("LAG Somewhere", "GCoM joint action plan")}
    assert sorted((r.source, r.target, r.role) for r in rels if r.KIND == "MEMBER_OF") == [
        ("gcom-900", "gcom-group-900", "lead"), ("gcom-901", "gcom-group-900", None),
        ("gcom-902", "gcom-group-900", None), ("gcom-903", "gcom-group-77", None)]
    # 3 of 3 made the 2020 commitment, 2 of 3 adaptation: both covered; a group of one covers its city's
    assert sorted((r.source, r.target) for r in rels if r.KIND == "COVERS") == [
        ("gcom-group-77", "gcom-adaptation"), ("gcom-group-77", "gcom-com2020"),
        ("gcom-group-900", "gcom-adaptation"), ("gcom-group-900", "gcom-com2020")]
