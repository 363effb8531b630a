"""Finding what exists: list and show on the command line, leaders in GraphQL, the closest ids for an unknown
one, and filters that are checked rather than silently matching nothing."""

from __future__ import annotations

import asyncio
import re
import shlex

import pytest

from matching.engine import Engine
from schema import Context, Loaders
from seeds import load_seeds
from tests.conftest import ROOT
from tests.test_cli import run
from tests.test_graphql import SCHEMA, execute


@pytest.fixture
def seeded(store):
    load_seeds(store)
    return store


def test_list_every_kind_with_search_country_and_first(capsys, seeded_db):
    code, out, _ = run(capsys, "list", "cohorts", "--store", seeded_db)
    assert code == 0 and out.splitlines()[0].startswith("bhcli-class-1  Bloomberg Harvard City Leadership Initiative")
    code, out, _ = run(capsys, "list", "cities", "--country", "nl", "--store", seeded_db)
    assert out.splitlines() == ["amsterdam  Amsterdam (NL, Europe, population 741,636)"]
    code, out, _ = run(capsys, "list", "cities", "--first", "2", "--store", seeded_db)
    assert len(out.splitlines()) == 3 and "(2 of 24 shown; --first N for more" in out
    code, out, _ = run(capsys, "list", "partners", "--search", "harvard", "--store", seeded_db)
    assert [line.split()[0] for line in out.splitlines()] == ["harvard-business-school", "harvard-kennedy-school",
                                                        "harvard-university"]
    code, out, _ = run(capsys, "list", "leaders", "--search", "zzz", "--store", seeded_db)
    assert code == 0 and out.strip() == "no leaders match these filters"
    code, _, err = run(capsys, "list", "cities", "--country", "XX", "--store", seeded_db)
    assert code == 2 and "unknown country code 'XX'" in err


def test_show_a_node_with_its_relationships_or_the_closest_ids(capsys, seeded_db):
    code, out, _ = run(capsys, "show", "riga", "--store", seeded_db)
    assert code == 0 and out.startswith("City riga\n  name: Riga\n  country: LV")
    assert "-MEMBER_OF-> European cities digital public services programme (eu-digital-services)" in out
    code, _, err = run(capsys, "show", "Amsterdam", "--store", seeded_db)
    assert code == 2 and err.strip() == "citypeers: error: no node with id 'Amsterdam'; did you mean 'amsterdam'?"


@pytest.mark.parametrize(("argv", "message"), [
    (["recommend", "peers", "amsterdm"], "no city with id 'amsterdm'; did you mean 'amsterdam'?"),
    (["groups", "bhcli-first-class"], "no cohort with id 'bhcli-first-class'; did you mean 'bhcli-class-1'"),
    (["recommend", "peers", "amsterdam", "--country", "XX"], "unknown country code 'XX'; use an ISO 3166-1 alpha-2"),
    (["recommend", "peers", "amsterdam", "--region", "Asia"], "no city in this store is in region 'Asia'; its cities "
                                                               "are in Europe, North America"),
    (["recommend", "partners", "gary", "--sector", "bank"], "unknown partner sector 'bank'; valid sectors: business, "
                                                             "nonprofit, university, philanthropy, public-agency, "
                                                             "network"),
    (["recommend", "cities", "leadrship"], "no challenge with id 'leadrship'; did you mean 'leadership'?"),
    # an id of another kind read only "no city with id 'eu-digital-services'"
    (["recommend", "peers", "eu-digital-services"], "no city with id 'eu-digital-services' (it is a cohort's id)"),
    (["groups", "amsterdam"], "no cohort with id 'amsterdam' (it is a city's id)"),
    (["recommend", "peers", "amsterdam", "--challenge", "riga"], "no challenge with id 'riga' (it is a city's id)"),
])
def test_unknown_ids_and_filter_values_name_what_would_be_valid(capsys, seeded_db, argv, message):
    code, _, err = run(capsys, *argv, "--store", seeded_db)
    assert code == 2 and message in err and "Traceback" not in err


@pytest.mark.parametrize(("cohort", "message"), [
    # it listed the first five cohorts instead: "cohorts include: bhcli-class-1, eu-digital-services"
    ("eu-digital-service", "no cohort with id 'eu-digital-service'; did you mean 'eu-digital-services'?"),
    ("riga", "no cohort with id 'riga' (it is a city's id)"),
    ("zzz", "no cohort with id 'zzz'; cohorts include: bhcli-class-1, eu-digital-services"),
])
def test_report_cohort_names_an_unknown_cohort_as_the_other_commands_do(capsys, seeded_db, tmp_path, cohort, message):
    code, _, err = run(capsys, "report", "cohort", cohort, "--out", str(tmp_path / "r"), "--store", seeded_db)
    assert (code, err) == (2, f"citypeers: error: {message}\n") and not (tmp_path / "r").exists()


def test_filters_in_another_case_are_taken_and_no_peers_says_why(capsys, seeded_db):
    code, out, _ = run(capsys, "recommend", "peers", "amsterdam", "--country", "lv", "--store", seeded_db)
    assert code == 0 and "Riga (riga, LV)" in out
    code, out, _ = run(capsys, "recommend", "peers", "amsterdam", "--min-population", "50000000", "--store", seeded_db)
    assert code == 0 and out.strip() == ("no peers found for amsterdam: the filters (min population 50,000,000) left "
                                         "out all 23 cities amsterdam shares a challenge, cohort or partner with")


def test_leaders_connection_and_leader_by_id(seeded):
    out = execute(seeded, """{ staff: leaders(role: "Programme staff", first: 2) { totalCount
                                 edges { node { id role } } pageInfo { hasNextPage } }
                               liverpool: leaders(cityId: "liverpool-city-region") { edges { node { id name } } }
                               leader(id: "steve-rotheram") { name cities { id } } }""")
    assert out["errors"] == []
    staff = out["data"]["staff"]
    assert staff["totalCount"] == 6 and staff["pageInfo"]["hasNextPage"]
    assert {e["node"]["role"] for e in staff["edges"]} == {"programme-staff"}
    assert out["data"]["liverpool"]["edges"] == [{"node": {"id": "steve-rotheram", "name": "Steve Rotheram"}}]
    assert out["data"]["leader"] == {"name": "Steve Rotheram", "cities": [{"id": "liverpool-city-region"}]}
    bad = execute(seeded, '{ leaders(role: "boss") { totalCount } }')
    assert bad["errors"][0]["code"] == "BAD_USER_INPUT" and "valid roles: mayor" in bad["errors"][0]["message"]


def test_graphql_errors_carry_the_closest_ids_and_filters_are_normalised(seeded):
    context = Context(store=seeded, engine=Engine(seeded), loaders=Loaders(seeded))
    result = asyncio.run(SCHEMA.execute('{ recommendPeers(cityId: "Amsterdam") { score } }', context_value=context))
    assert result.errors[0].message == "no city with id 'Amsterdam'; did you mean 'amsterdam'?"
    assert result.errors[0].extensions == {"code": "NOT_FOUND", "suggestions": ["amsterdam"]}
    out = execute(seeded, '{ recommendPeers(cityId: "amsterdam", first: 1, filters: {country: "lv"}) { city { id } } '
                          'cities(country: "nl") { totalCount } }')
    assert out["data"] == {"recommendPeers": [{"city": {"id": "riga"}}], "cities": {"totalCount": 1}}
    bad = execute(seeded, '{ recommendPeers(cityId: "amsterdam", filters: {cohortId: "eu"}) { score } }')
    assert bad["errors"][0]["code"] == "NOT_FOUND"
    assert "did you mean 'eu-digital-services'" in bad["errors"][0]["message"]
    # an id of another kind, said (the recommender, a listing filter, the explorer's view)
    for query, message in (
            ('{ recommendPeers(cityId: "eu-digital-services") { score } }',
             "no city with id 'eu-digital-services' (it is a cohort's id)"),
            ('{ leaders(cityId: "eu-digital-services") { totalCount } }',
             "no city with id 'eu-digital-services' (it is a cohort's id)"),
            ('{ networkView(filters: {cohortId: "amsterdam"}) { nodes { id } } }',
             "no cohort with id 'amsterdam' (it is a city's id)")):
        bad = execute(seeded, query)
        assert (bad["errors"][0]["code"], bad["errors"][0]["message"]) == ("NOT_FOUND", message), query


def test_the_readme_tour_shows_what_the_commands_print(capsys, seeded_db):
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    block = re.search(r"\*\*3\. The command line\.\*\*.*?```\n(.*?)```", readme, re.S).group(1)
    steps = re.findall(r"^\$ \.venv/bin/citypeers (.*)\n((?:(?!\$ ).*\n)*)", block, re.M)
    assert len(steps) == 4 and any("recommend people" in command for command, _ in steps)
    for command, shown in steps:
        _, out, err = run(capsys, *shlex.split(command), "--store", seeded_db)
        expected = shown.splitlines()
        cut = expected.index("    ...") if "    ..." in expected else len(expected)
        assert (out + err).splitlines()[:cut] == expected[:cut], command


def test_the_readme_tour_shows_what_the_report_prints(capsys, seeded_db, tmp_path):
    """Step 5 of the tour: the report command as shown, its summary and cap lines and the files it names (the
    seconds are the machine's)."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    block = re.search(r"\*\*5\. A report\.\*\*.*?```\n(.*?)```", readme, re.S).group(1)
    command, *shown = block.splitlines()
    argv = shlex.split(command.removeprefix("$ .venv/bin/citypeers "))
    assert argv[-2:] == ["--out", "r"]
    code, out, _ = run(capsys, *argv[:-1], str(tmp_path / "r"), "--store", seeded_db)
    printed = out.replace(str(tmp_path / "r"), "r").splitlines()
    assert code == 0 and len(printed) == len(shown) == 3
    assert printed[:2] == shown[:2]
    assert re.sub(r" in [\d.]+ s$", "", printed[2]) == re.sub(r" in [\d.]+ s$", "", shown[2])


def test_the_readme_tour_shows_what_seeding_prints(sqlite_store):
    """`make run` seeds an empty store and says how many nodes and relationships it wrote (cli.cmd_serve); the
    README quotes that line, and the landing page's counts, for the seeds as they are now."""
    from graph.store import node_counts

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    result = load_seeds(sqlite_store)
    assert f"seeded an empty store at sqlite:///citypeers.db: {result.changed} nodes and relationships\n" in readme
    counts = ", ".join(f"{n} {kind}" for kind, n in node_counts(sqlite_store).items())
    assert f"data\nversion {result.version}; {counts}." in readme
