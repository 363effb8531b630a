"""Failures a user meets on the command line: one line, exit 2, naming the bad value in the option's own
spelling (--min-population on the command line, minPopulation in GraphQL) and what would be valid; a limit
refused when the option is parsed is the limit --help shows."""

from __future__ import annotations

import pytest

from cli import build_parser, main
from seeds import load_seeds
from tests.test_cli import run
from tests.test_cli_manners import _parsers
from tests.test_graphql import execute


def _refused(capsys, *argv: str) -> str:
    """The error line of arguments argparse refuses (it prints the usage above it)."""
    with pytest.raises(SystemExit) as exit_:
        main(list(argv))
    assert exit_.value.code == 2
    return capsys.readouterr().err.strip().splitlines()[-1]


@pytest.mark.parametrize(("argv", "message"), [
    (["recommend", "partners", "amsterdam", "--country", "ZZ"],
     "unknown country code 'ZZ'; use an ISO 3166-1 alpha-2 code such as NL, US, GB"),
    (["recommend", "peers", "amsterdam", "--region", "Eurpe"],
     "no city in this store is in region 'Eurpe'; did you mean 'Europe'?"),
    (["recommend", "peers", "amsterdam", "--region", "Westerm Europe"],
     "no city in this store is in region 'Westerm Europe'; its cities are in Europe, North America"),
    (["recommend", "peers", "amsterdam", "--country", "UK"],
     "unknown country code 'UK'; use an ISO 3166-1 alpha-2 code: GB for the United Kingdom"),
    # a country's name, or its three-letter code, got only the examples
    (["recommend", "peers", "amsterdam", "--country", "Netherlands"],
     "unknown country code 'Netherlands'; use an ISO 3166-1 alpha-2 code: NL for The Netherlands"),
    (["recommend", "partners", "gary", "--country", "usa"],
     "unknown country code 'usa'; use an ISO 3166-1 alpha-2 code: US for United States"),
    (["recommend", "partners", "gary", "--sector", "Bank"],
     "unknown partner sector 'Bank'; valid sectors: business, nonprofit, university, philanthropy, public-agency, "
     "network"),
    (["recommend", "peers", "amsterdam", "--min-population", "-5"],
     "--min-population -5 is below 0; give 0 <= --min-population <= --max-population"),
    (["recommend", "peers", "amsterdam", "--min-population", "500", "--max-population", "100"],
     "--max-population 100 is below --min-population 500; give 0 <= --min-population <= --max-population"),
    (["groups", "eu-digital-services", "--must-pair", "amsterdam,riga", "--cannot-pair", "amsterdam,riga"],
     "cannot-pair amsterdam,riga contradicts the must-pairs, which put amsterdam and riga in one group"),
    (["groups", "eu-digital-services", "--min-countries", "7"],
     "the 21 member cities make 4 groups of 5-6, and a group of 5 cannot span 7 countries; ask for at most 5 "
     "countries per group, or larger groups"),
])
def test_one_line_naming_the_value_and_what_is_valid(capsys, seeded_db, argv, message):
    code, _, err = run(capsys, *argv, "--store", seeded_db)
    assert code == 2 and err == f"citypeers: error: {message}\n"


@pytest.mark.parametrize(("argv", "said"), [
    (["recommend", "peers", "amsterdam", "--country", "JP"],
     "no peers found for amsterdam: the filters (country JP) left out all 23 cities amsterdam shares a challenge, "
     "cohort or partner with"),
    (["recommend", "partners", "gary", "--country", "US"], "no partners found with these filters"),
])
def test_a_real_country_no_one_is_in_finds_nothing_without_an_error(capsys, seeded_db, argv, said):
    """A real ISO code is a valid filter: it matched nothing, which is an answer (exit 0), not a usage error."""
    code, out, err = run(capsys, *argv, "--store", seeded_db)
    assert (code, out.strip(), err) == (0, said, "")


@pytest.mark.parametrize(("argv", "message"), [
    # argparse read the value as the command: "argument COMMAND: invalid choice: 'x.db'"
    (["--db", "x.db", "status"], "unknown option '--db' before the command; there, only --store URL and --help "
                                 "are known"),
    (["--stroe", "x.db", "status"], "unknown option '--stroe' before the command; there, only --store URL and --help "
                                    "are known; did you mean '--store'?"),
    (["--store", "sqlite:///x.db", "-v", "status"], "unknown option '-v' before the command; there, only --store URL "
                                                    "and --help are known"),
])
def test_an_unknown_option_before_the_command_is_named(capsys, argv, message):
    assert _refused(capsys, *argv) == f"citypeers: error: {message}"


@pytest.mark.parametrize("argv", [["token", "create", "--role", "viewer", "--name", "x", "--expires", "-5d"],
                                  ["token", "create", "--role", "viewer", "--name", "x", "--expires"]])
def test_an_option_whose_value_starts_with_a_dash_says_how_to_write_it(capsys, argv):
    """argparse reads -5d as an option: "argument --expires: expected one argument", and no more."""
    assert _refused(capsys, *argv) == ("citypeers token create: error: argument --expires: expected one argument "
                                       "(a value that starts with '-' is written --expires=VALUE)")


def test_a_known_option_before_the_command_still_works(capsys, seeded_db):
    for argv in (["--store", seeded_db, "status"], [f"--store={seeded_db}", "status"], ["--sto", seeded_db, "status"]):
        code, out, _ = run(capsys, *argv)
        assert code == 0 and "24 City" in out, argv


@pytest.mark.parametrize(("argv", "sizes"), [("5", (5, 5)), (" 3 - 4 ", (3, 4)), ("1-1", (1, 1))])
def test_a_size_is_one_number_or_a_range(argv, sizes):
    assert build_parser().parse_args(["groups", "k", "--size", argv]).size == sizes


@pytest.mark.parametrize(("query", "message"), [
    ('{ cohortGroups(cohortId: "eu-digital-services", minCountries: 0) { objective } }',
     "0 countries per group is not a minimum one can ask for; use 1 (any countries) or more"),
    ('{ scoreGrouping(cohortId: "eu-digital-services", groups: [], minCountries: -2) { objective } }',
     "-2 countries per group is not a minimum one can ask for; use 1 (any countries) or more"),
    ('{ scoreGrouping(cohortId: "eu-digital-services", groups: [], minSize: 6, maxSize: 4) { objective } }',
     "group sizes 6-4 are invalid; use 1 <= min <= max, e.g. 4-6"),
    ('{ cohortReport(cohortId: "eu-digital-services", minCountries: 0) { cohort { id } } }',  # was min_countries=0
     "0 countries per group is not a minimum one can ask for; use 1 (any countries) or more"),
    ('{ cohortReport(cohortId: "eu-digital-services", maxExposure: 0) { cohort { id } } }',  # was max_exposure=0
     "maxExposure 0 is invalid; use 1 or more, or noCap for no cap"),
])
def test_graphql_refuses_groups_no_grouping_could_mean(sqlite_store, query, message):
    """minCountries 0 was taken as 1 here while the command line refused it; a hand grouping was scored
    against sizes 6-4, every group then breaking them; cohortReport spelled its arguments as Python does."""
    load_seeds(sqlite_store)
    out = execute(sqlite_store, query)
    assert out["data"] is None and out["errors"] == [{"message": message, "code": "BAD_USER_INPUT"}]


def test_graphql_names_the_population_band_in_its_own_spelling(sqlite_store):
    load_seeds(sqlite_store)
    out = execute(sqlite_store, '{ recommendPeers(cityId: "amsterdam", filters: {minPopulation: -5}) { score } }')
    assert out["errors"] == [{"message": "minPopulation -5 is below 0; give 0 <= minPopulation <= maxPopulation",
                              "code": "BAD_USER_INPUT"}]


@pytest.mark.parametrize(("argv", "message"), [
    (["list", "cities", "--first", "0"], "argument --first: '0' is not a whole number from 1 to 1,000"),
    (["list", "cities", "--first", "100000"], "argument --first: '100000' is not a whole number from 1 to 1,000"),
    (["recommend", "people", "gary-chief-of-staff", "--k", "1001"],
     "argument --k: '1001' is not a whole number from 1 to 1,000"),
    (["recommend", "cities", "digital-services", "--k", "5000"],
     "argument --k: '5000' is not a whole number from 1 to 1,000"),  # people and cities asked the model for 15000
    (["batch", "similar", "--k", "5000", "--out", "x.csv"],
     "argument --k: '5000' is not a whole number from 1 to 1,000"),
    (["serve", "--port", "99999"], "argument --port: '99999' is not a port number from 1 to 65535 (or 0: any free "
                                   "port)"),
    (["serve", "--port", "-1"], "argument --port: '-1' is not a port number from 1 to 65535 (or 0: any free port)"),
    # a report lists at most 100 a city (reports.params.PER_CITY): refused as "k=200" once the store was read
    (["report", "cohort", "eu-digital-services", "--out", "r", "--k", "101"],
     "argument --k: '101' is not a whole number from 1 to 100"),
    (["report", "network", "--out", "r", "--k", "101"], "argument --k: '101' is not a whole number from 1 to 100"),
    (["report", "cohort", "eu-digital-services", "--out", "r", "--partners", "101"],
     "argument --partners: '101' is not a whole number from 1 to 100"),
    (["report", "cohort", "eu-digital-services", "--out", "r", "--people", "101"],
     "argument --people: '101' is not a whole number from 1 to 100"),
    (["groups", "eu-digital-services", "--must-pair", "riga,tallinn,vilnius"],  # was riga and 'tallinn,vilnius'
     "argument --must-pair: 'riga,tallinn,vilnius' is not a pair of city ids like riga,tallinn"),
    # refused after the store was read and "fitting signal weights ..." said: two lines, and nan and inf passed
    (["tune", "--share", "nan"], "argument --share: 'nan' is not a share above 0 and at most 1, e.g. 0.2"),
    (["tune", "--share", "0"], "argument --share: '0' is not a share above 0 and at most 1, e.g. 0.2"),
    (["evaluate", "store", "--share", "inf"], "argument --share: 'inf' is not a share above 0 and at most 1, e.g. 0.2"),
    (["evaluate", "store", "--share", "1.5"], "argument --share: '1.5' is not a share above 0 and at most 1, e.g. 0.2"),
    # argparse's own "invalid int value: '1e6'" said not what would do
    (["recommend", "peers", "amsterdam", "--min-population", "1e6"],
     "argument --min-population: '1e6' is not a whole number of inhabitants, e.g. 100000"),
    (["recommend", "peers", "amsterdam", "--max-population", "abc"],
     "argument --max-population: 'abc' is not a whole number of inhabitants, e.g. 100000"),
    # '4-' was read as 4-4, and '6-4' was only "not a size range like 4-6"
    (["groups", "eu-digital-services", "--size", "6-4"], "argument --size: '6-4' puts the smallest size above the "
                                                         "largest; write 4-6"),
    (["groups", "eu-digital-services", "--size", "4-"], "argument --size: '4-' has no largest size; write a range "
                                                        "like 4-6, or one size like 5"),
    (["report", "cohort", "eu-digital-services", "--out", "r", "--size", "0-3"],
     "argument --size: '0-3': a group has at least 1 city; write a range like 4-6, or one size like 5"),
    (["groups", "eu-digital-services", "--size", "four"], "argument --size: 'four' is not a size range; write a "
                                                          "range like 4-6, or one size like 5"),
    (["groups", "eu-digital-services", "--min-countries", "0"],
     "argument --min-countries: '0' is not a whole number of at least 1"),
])
def test_limits_are_refused_as_the_options_are_parsed(capsys, argv, message):
    assert _refused(capsys, *argv).endswith(f"error: {message}")


@pytest.mark.parametrize(("argv", "message"), [
    (["--cities", "1000001"], "argument --cities: '1000001' is not a whole number from 1 to 1,000,000"),
    (["--cities", "99999999999999"], "argument --cities: '99999999999999' is not a whole number from 1 to 1,000,000"),
    (["--cities", "10", "--challenges", "10001"],
     "argument --challenges: '10001' is not a whole number from 1 to 10,000"),
])
def test_generate_refuses_sizes_beyond_its_limits_as_they_are_parsed(capsys, tmp_path, argv, message):
    """Parsed only: without the limit the command itself ran, until the kernel killed it out of memory."""
    with pytest.raises(SystemExit) as exit_:
        build_parser().parse_args(["generate", str(tmp_path / "syn"), *argv])
    assert exit_.value.code == 2 and capsys.readouterr().err.strip().splitlines()[-1].endswith(f"error: {message}")


def test_help_shows_the_limits_it_refuses(capsys):
    helps = {p.prog: " ".join(p.format_help().split()) for p in _parsers()}
    assert "--first FIRST how many to show, 1 to 1,000" in helps["citypeers list"]
    for prog in ("recommend peers", "recommend partners", "recommend people", "recommend cities", "batch peers",
                 "batch similar"):
        assert "1 to 1,000 (default" in helps[f"citypeers {prog}"].split("--k K ", 1)[1], prog
    for prog in ("report cohort", "report network"):  # said 1 to 1,000, and the report refused over 100
        assert "1 to 100 (default" in helps[f"citypeers {prog}"].split("--k K ", 1)[1], prog
    for option in ("--partners PARTNERS", "--people PEOPLE"):
        options = helps["citypeers report cohort"].split("options:", 1)[1]
        assert "1 to 100 (default 3)" in options.split(option, 1)[1].split("--", 1)[0], option
    assert "--port PORT port to listen on, 1 to 65535" in helps["citypeers serve"]
    assert "--cities CITIES how many cities, 1 to 1,000,000" in helps["citypeers generate"]


def test_a_leader_may_ask_for_as_many_people_as_help_allows(capsys, seeded_db):
    code, out, err = run(capsys, "recommend", "people", "gary-chief-of-staff", "--k", "1000", "--store", seeded_db)
    assert code == 0 and out.startswith(" 1. Chief of staff of Philadelphia"), err


def test_every_command_has_a_description(capsys):
    for parser in _parsers():
        assert parser.description, f"{parser.prog} --help has no description"
    with pytest.raises(SystemExit):
        main(["evaluate", "store", "--help"])
    assert "hide some of the store's own memberships" in capsys.readouterr().out.split("options:")[0]


@pytest.mark.parametrize("out", ["x.txt", "x.csv.bak"])
def test_batch_peers_refuses_an_out_file_it_would_not_write_as_named(capsys, seeded_db, tmp_path, out):
    code, _, err = run(capsys, "batch", "peers", "--k", "2", "--out", str(tmp_path / out), "--store", seeded_db)
    assert code == 2 and err == f"citypeers: error: --out {tmp_path / out}: write the suggestions to a .csv or a " \
                                ".json file\n"
    assert not (tmp_path / out).exists()


def test_batch_peers_takes_a_suffix_in_any_case(capsys, seeded_db, tmp_path):
    code, _, _ = run(capsys, "batch", "peers", "--k", "2", "--out", str(tmp_path / "x.JSON"), "--store", seeded_db)
    assert code == 0 and (tmp_path / "x.JSON").read_text(encoding="utf-8").startswith("{")



@pytest.mark.parametrize("argv", [
    ["import", ""], ["export", ""], ["generate", "", "--cities", "10"], ["batch", "peers", "--out", ""],
    ["batch", "similar", "--out", ""], ["report", "cohort", "eu-digital-services", "--out", "", "--format", "csv"],
    ["report", "network", "--out", ""], ["report", "diff", "", "r"], ["data", "urbact", "--out", ""],
    ["evaluate", "gcom", "--data", ""],
])
def test_an_empty_path_is_refused_not_taken_for_the_current_folder(capsys, seeded_db, tmp_path, monkeypatch, argv):
    """`--out "$DIR"` with $DIR unset: an empty path was the current folder, which export and report wrote into
    (beside whatever was there) and import read as a bundle."""
    here = tmp_path / "here"
    here.mkdir()
    monkeypatch.chdir(here)
    (here / "cities.csv").write_text("id,name,country\nriga,Riga,LV\n", encoding="utf-8")
    message = _refused(capsys, *argv, "--store", seeded_db)
    assert message.endswith("'' is empty; give a file or folder name (. for the current folder)"), message
    assert [p.name for p in here.iterdir()] == ["cities.csv"]


def test_a_fixed_value_is_taken_in_any_case_and_a_wrong_one_named_as_written(capsys, seeded_db, tmp_path):
    """`--format JSONL` and `--role Editor` were refused by argparse ("invalid choice: 'Editor'"), as was
    `list Cities`; they mean one thing. A value that is none of them is still named as the user wrote it."""
    code, out, _ = run(capsys, "--store", seeded_db, "token", "create", "--role", "Editor", "--name", "ci")
    assert code == 0 and "created an editor token" in out
    code, out, _ = run(capsys, "--store", seeded_db, "list", "Cities", "--first", "1")
    assert code == 0 and "(1 of " in out
    code, out, _ = run(capsys, "--store", seeded_db, "export", str(tmp_path / "x.out"), "--format", "JSONL")
    assert code == 0 and (tmp_path / "x.out" / "bundle.jsonl").is_file() and "a jsonl bundle" in out
    assert _refused(capsys, "--store", seeded_db, "export", str(tmp_path / "y"), "--format", "XML") == (
        "citypeers export: error: argument --format: invalid choice: 'XML' (choose from 'csv', 'jsonl', "
        "'graphml', 'gexf', 'json')")
    assert not (tmp_path / "y").exists()
