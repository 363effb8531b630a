"""The explorer's API fields: networkView slices, overviews and layouts, and scoreGrouping against cohortGroups."""

from __future__ import annotations

import networkx as nx
import pytest

from graph.projection import Projection
from graph.views import ViewFilters, slice_view
from seeds import load_seeds
from tests.test_graphql import execute

VIEW = """query($filters: NetworkFilters, $focus: [ID!], $hops: Int! = 1, $first: Int! = 5000,
                $layout: ViewLayout! = GEO, $by: ViewGrouping = COUNTRY) {
  networkView(filters: $filters, focus: $focus, hops: $hops, first: $first, layout: $layout, aggregateBy: $by) {
    nodes { id kind label x y size degree community country population sector mainCohort mainChallenge }
    edges { source target kind weight }
    totalCount hiddenCount groupedBy dataVersion
  }
}"""


@pytest.fixture
def seeded(sqlite_store):
    load_seeds(sqlite_store)
    return sqlite_store


def view(store, **variables):
    result = execute(store, VIEW, variables)
    assert result["errors"] == [], result["errors"]
    return result["data"]["networkView"]


def graph(store) -> nx.Graph:
    """The whole store as an undirected networkx graph (DISMISSED left out), to check views against."""
    g = Projection.from_store(store).to_networkx().to_undirected()
    g.remove_edges_from([(u, v) for u, v, k in g.edges(data="kind") if k == "DISMISSED"])
    return g


def test_the_whole_seeded_network_is_one_view_with_every_relationship(seeded):
    g = graph(seeded)
    v = view(seeded, filters={"kinds": ["City", "Challenge", "Cohort", "Partner", "Leader"]})
    assert v["groupedBy"] is None and v["hiddenCount"] == 0
    assert {n["id"] for n in v["nodes"]} == set(g.nodes) and v["totalCount"] == g.number_of_nodes()
    assert {frozenset((e["source"], e["target"])) for e in v["edges"]} == {frozenset(e) for e in g.edges}
    amsterdam = next(n for n in v["nodes"] if n["id"] == "amsterdam")
    assert amsterdam["kind"] == "City" and amsterdam["country"] == "NL" and amsterdam["degree"] == g.degree("amsterdam")
    assert amsterdam["x"] == pytest.approx(4.89, abs=0.05)  # longitude
    assert v["dataVersion"] == seeded.version()


def test_default_kinds_leave_leaders_out(seeded):
    v = view(seeded)
    assert {n["kind"] for n in v["nodes"]} == {"City", "Challenge", "Cohort", "Partner"}


@pytest.mark.parametrize("filters, expected", [
    ({"country": "NL"}, lambda g, n: n["kind"] == "City" and n.get("country") == "NL"),
    ({"cohortId": "eu-digital-services"},
     lambda g, n: n["kind"] == "City" and g.has_edge(n["id"], "eu-digital-services")),
    ({"challengeId": "leadership"},
     lambda g, n: n["kind"] == "City" and any(g.has_edge(n["id"], c) for c in
                                               ("leadership", "cross-sector-collaboration", "high-performing-teams",
                                                "public-communication", "innovation"))),
])
def test_city_filters_pick_the_right_cities(seeded, filters, expected):
    g = graph(seeded)
    nodes = [{"id": i, **d} for i, d in g.nodes(data=True)]
    want = {n["id"] for n in nodes if expected(g, n)}
    v = view(seeded, filters={**filters, "kinds": ["City"]})
    assert want and {n["id"] for n in v["nodes"]} == want and v["totalCount"] == len(want)


def tiny_network():
    """Cities a, b, c, d; a works with a nonprofit directly; b is in cohort k, which a university organises;
    a and c are in cohort l, which no partner is a member of; d works with a business and is in k too."""
    from graph.model import City, Cohort, MemberOf, Partner, PartnersWith
    from graph.network import network_of

    nodes = [*(City(id=c, name=c.upper(), country="FR") for c in "abcd"),
             Cohort(id="k", name="K", programme="P"), Cohort(id="l", name="L", programme="P"),
             Partner(id="u", name="U", sector="university"), Partner(id="n", name="N", sector="nonprofit"),
             Partner(id="x", name="X", sector="business")]
    rels = [PartnersWith(source="n", target="a"), PartnersWith(source="x", target="d"),
            MemberOf(source="u", target="k"), MemberOf(source="b", target="k"), MemberOf(source="d", target="k"),
            MemberOf(source="a", target="l"), MemberOf(source="c", target="l")]
    return network_of(Projection(nodes, rels, version=1))


@pytest.mark.parametrize("filters, expected", [
    (ViewFilters(partner_sector="nonprofit"), {"a", "n", "l"}),  # directly: a, its partner and its cohort
    (ViewFilters(partner_sector="university"), {"b", "d", "u", "k"}),  # through cohort k, which u organises
    (ViewFilters(partner_sector="university", kinds=("City", "Partner")), {"b", "d", "u"}),
    (ViewFilters(partner_sector="business"), {"d", "x", "k"}),  # k's other partner (u) is of another sector
    (ViewFilters(partner_sector="university", cohort="l"), set()),  # l's cities work with no university
    (ViewFilters(partner_sector="philanthropy"), set()),
])
def test_a_partner_sector_is_the_cities_working_with_one_directly_or_through_a_cohort(filters, expected):
    net = tiny_network()
    assert {net.ids[i] for i in slice_view(net, filters).nodes} == expected


def test_the_sector_filter_of_the_seeds_reaches_the_cities_of_the_cohorts_universities_organise(seeded):
    g = graph(seeded)
    universities = {n for n, d in g.nodes(data=True) if d["kind"] == "Partner" and d.get("sector") == "university"}
    reach = universities | {k for u in universities for k in g[u] if g.nodes[k]["kind"] == "Cohort"}
    cities = {n for n, d in g.nodes(data=True) if d["kind"] == "City" and set(g[n]) & reach}
    v = view(seeded, filters={"partnerSector": "university", "kinds": ["City", "Partner"]})
    assert universities and cities  # the seeds' universities teach in cohorts and partner no city directly
    assert not any(g.has_edge(u, c) for u in universities for c in cities)
    assert {n["id"] for n in v["nodes"]} == cities | universities and v["totalCount"] == len(cities | universities)


def test_a_challenge_filter_shows_its_subtree_and_its_cities(seeded):
    v = view(seeded, filters={"challengeId": "leadership", "kinds": ["City", "Challenge"]})
    challenges = {n["id"] for n in v["nodes"] if n["kind"] == "Challenge"}
    assert challenges <= {"leadership", "cross-sector-collaboration", "high-performing-teams",
                          "public-communication", "innovation"} and "leadership" in challenges
    assert all(e["kind"] == "FACES" or e["kind"] == "PART_OF" for e in v["edges"] if e["kind"] != "PEERS_WITH")


def test_focus_expands_one_and_two_hops(seeded):
    g = graph(seeded)
    kinds = ["City", "Challenge", "Cohort", "Partner", "Leader"]
    one = view(seeded, focus=["amsterdam"], hops=1, filters={"kinds": kinds})
    assert {n["id"] for n in one["nodes"]} == {"amsterdam", *g["amsterdam"]}
    two = view(seeded, focus=["amsterdam"], hops=2, filters={"kinds": kinds})
    assert {n["id"] for n in two["nodes"]} == set(nx.single_source_shortest_path_length(g, "amsterdam", cutoff=2))


def test_more_than_first_gives_an_overview_or_the_best_connected(seeded):
    cities = view(seeded, filters={"kinds": ["City"]})["totalCount"]
    over = view(seeded, first=5, filters={"kinds": ["City"]})
    assert over["groupedBy"] == "COUNTRY" and over["hiddenCount"] == over["totalCount"] == cities
    assert sum(n["size"] for n in over["nodes"]) == cities and {n["kind"] for n in over["nodes"]} == {"Country"}
    assert all(e["kind"] == "LINK" and e["weight"] > 0 for e in over["edges"])
    top = view(seeded, first=5, by=None)
    assert len(top["nodes"]) == 5 and top["hiddenCount"] == top["totalCount"] - 5
    degrees = sorted((n["degree"] for n in view(seeded)["nodes"]), reverse=True)
    assert sorted((n["degree"] for n in top["nodes"]), reverse=True) == degrees[:5]
    everything = view(seeded, first=5)  # every kind matched, cities grouped
    assert everything["totalCount"] == cities and everything["hiddenCount"] == view(seeded)["totalCount"] > cities
    by_community = view(seeded, first=3, by="COMMUNITY", filters={"kinds": ["City"]})
    assert by_community["groupedBy"] == "COMMUNITY" and sum(n["size"] for n in by_community["nodes"]) == cities


def test_communities_are_louvain_seeded_and_stable(seeded):
    v = view(seeded, layout="FORCE")
    g = graph(seeded)
    g.remove_nodes_from([n for n, k in g.nodes(data="kind") if k == "Leader"])
    expected = nx.community.louvain_communities(g, seed=0)
    found: dict[int, set[str]] = {}
    for n in v["nodes"]:
        found.setdefault(n["community"], set()).add(n["id"])
    assert sorted(map(sorted, found.values())) == sorted(map(sorted, expected))
    assert view(seeded, layout="FORCE") == v  # same data version: same layout, same numbers
    xy = {(round(n["x"], 6), round(n["y"], 6)) for n in v["nodes"]}
    assert len(xy) == len(v["nodes"])  # every node has a place of its own


def test_a_community_filter_alone_shows_every_member_of_the_ticked_kinds(seeded):
    """The members of each community, of any kind. A community of challenges and organisations that no city
    works with (community 2 on the seeds) drew nothing: the other kinds had to be linked to its cities."""
    members: dict[int, set[str]] = {}
    for n in view(seeded, layout="FORCE")["nodes"]:
        members.setdefault(n["community"], set()).add(n["id"])
    kinds = {n["id"]: n["kind"] for n in view(seeded)["nodes"]}
    assert any(all(kinds[i] != "City" for i in ids) for ids in members.values())  # the seeds have such a one
    for community, ids in members.items():
        got = view(seeded, layout="FORCE", filters={"community": community})
        assert {n["id"] for n in got["nodes"]} == ids, community
        only = view(seeded, filters={"community": community, "kinds": ["Challenge"]})
        assert {n["id"] for n in only["nodes"]} == {i for i in ids if kinds[i] == "Challenge"}
    # with a city filter beside it, the other kinds are still those linked to the cities it keeps
    city = next(i for ids in members.values() for i in ids if kinds[i] == "City")
    country = next(n["country"] for n in view(seeded)["nodes"] if n["id"] == city)
    community = next(c for c, ids in members.items() if city in ids)
    both = view(seeded, filters={"community": community, "country": country})
    assert {n["id"] for n in both["nodes"]} <= members[community]
    cities = {n["id"] for n in both["nodes"] if n["kind"] == "City"}
    g = graph(seeded)
    assert all(any(g.has_edge(n["id"], c) for c in cities) for n in both["nodes"] if n["kind"] != "City")


@pytest.mark.parametrize("layout", ["GEO", "FORCE"])
def test_an_empty_store_is_an_empty_view_in_either_layout(sqlite_store, layout):
    """The force layout of no node was an internal error, so the explorer of a fresh store could not open."""
    v = view(sqlite_store, layout=layout, filters={"kinds": ["City", "Challenge", "Cohort", "Partner", "Leader"]})
    assert (v["nodes"], v["edges"], v["totalCount"], v["hiddenCount"]) == ([], [], 0, 0)


def test_a_write_makes_a_new_version_with_its_own_view(seeded):
    before = view(seeded, focus=["amsterdam"], filters={"kinds": ["City"]})
    other = next(n["id"] for n in view(seeded, filters={"kinds": ["City"]})["nodes"]
                 if n["id"] not in {m["id"] for m in before["nodes"]})
    mutation = 'mutation($a: ID!, $b: ID!) { markMet(cityId: $a, peerId: $b) { __typename } }'
    assert execute(seeded, mutation, {"a": "amsterdam", "b": other}, role="editor")["errors"] == []
    after = view(seeded, focus=["amsterdam"], filters={"kinds": ["City"]})
    assert after["dataVersion"] > before["dataVersion"] and other in {n["id"] for n in after["nodes"]}


@pytest.mark.parametrize("arguments, code, words, argument", [
    ('filters: {kinds: ["Town"]}', "BAD_USER_INPUT", "unknown node kind 'Town'", "filters.kinds"),
    ('filters: {cohortId: "nope"}', "NOT_FOUND", "no cohort with id 'nope'", "filters.cohortId"),
    ('filters: {challengeId: "nope"}', "NOT_FOUND", "no challenge with id 'nope'", "filters.challengeId"),
    ('filters: {country: "ZZ"}', "BAD_USER_INPUT", "unknown country code 'ZZ'", "filters.country"),
    ('filters: {region: "Eurpe"}', "BAD_USER_INPUT", "no city in this store is in region 'Eurpe'",
     "filters.region"),
    ('filters: {partnerSector: "academia"}', "BAD_USER_INPUT",
     "unknown partner sector 'academia'; valid sectors: business, nonprofit, university", "filters.partnerSector"),
    ('focus: ["nope"]', "NOT_FOUND", "no node with id 'nope' to focus on", "focus"),
    ('focus: ["amsterdm"]', "NOT_FOUND", "no node with id 'amsterdm' to focus on; did you mean 'amsterdam'?", "focus"),
    # every id missing, not the first alone
    ('focus: ["amsterdm", "riga", "rigga", "nope"]', "NOT_FOUND", "no nodes with ids 'amsterdm' (did you mean "
     "'amsterdam'?), 'rigga' (did you mean 'riga'?), 'nope' to focus on", "focus"),
    ('focus: ["amsterdam"], hops: 3', "BAD_USER_INPUT", "hops 3 is not supported; use 0", "hops"),
    ("first: -1", "BAD_USER_INPUT", "first -1 is out of range", "first"),
])
def test_bad_arguments_name_the_value_and_the_argument_that_held_it(seeded, arguments, code, words, argument):
    """`extensions.argument`: a client (the explorer opening a link older than the data) knows which value to drop."""
    result = execute(seeded, f"{{ networkView({arguments}) {{ totalCount }} }}", extensions=True)
    assert [(e["code"], e["argument"]) for e in result["errors"]] == [(code, argument)]
    assert words in result["errors"][0]["message"]


@pytest.mark.parametrize("filters, message", [
    ('{country: "ZZ"}', "unknown country code 'ZZ'; use an ISO 3166-1 alpha-2 code such as NL, US, GB"),
    ('{region: "Westerm Europe"}', "no city in this store is in region 'Westerm Europe'; its cities are in Europe, "
                                   "North America"),
    ('{region: "Eurpe"}', "no city in this store is in region 'Eurpe'; did you mean 'Europe'?"),
    ('{partnerSector: "bank"}', "unknown partner sector 'bank'; valid sectors: business, nonprofit, university, "
                                "philanthropy, public-agency, network"),
    # as recommendPeers says them (both were answered, matching nothing, until 2026-12-07)
    ("{minPopulation: -5}", "minPopulation -5 is below 0; give 0 <= minPopulation <= maxPopulation"),
    ("{minPopulation: 5, maxPopulation: 1}", "maxPopulation 1 is below minPopulation 5; give 0 <= minPopulation <= "
                                             "maxPopulation"),
])
def test_an_unknown_filter_value_is_an_error_not_an_empty_view(seeded, filters, message):
    """They drew an empty network, as if the value were real and matched nothing."""
    result = execute(seeded, f"{{ networkView(filters: {filters}) {{ totalCount }} }}")
    assert result["errors"] == [{"message": message, "code": "BAD_USER_INPUT"}]


def test_filter_values_in_another_case_are_taken_and_a_real_country_without_cities_is_empty(seeded):
    assert view(seeded, filters={"country": "nl", "kinds": ["City"]})["totalCount"] == 1
    assert view(seeded, filters={"region": "north america", "kinds": ["City"]})["totalCount"] == 2  # Gary, Philadelphia
    assert view(seeded, filters={"partnerSector": "Philanthropy"})["totalCount"] == 29
    assert view(seeded, filters={"country": "JP"})["totalCount"] == 0  # a real country, no city in it
    cohort = execute(seeded, '{ networkView(filters: {cohortId: "eu-digital-service"}) { totalCount } }')
    assert cohort["errors"] == [{"message": "no cohort with id 'eu-digital-service'; did you mean "
                                            "'eu-digital-services'?", "code": "NOT_FOUND"}]


GROUPS = """query($c: ID!) { cohortGroups(cohortId: $c, minSize: 2, maxSize: 4) {
  objective groups { cities { id } } } }"""
SCORE = """query($c: ID!, $g: [[ID!]!]!, $must: [[ID!]!], $cannot: [[ID!]!], $countries: Int! = 1) {
  scoreGrouping(cohortId: $c, groups: $g, minSize: 2, maxSize: 4, minCountries: $countries, mustPair: $must,
                cannotPair: $cannot) {
    objective groups { affinity cities { id } sharedChallenges { id } } violations { constraint group cityIds message }
  } }"""


def test_score_grouping_agrees_with_cohort_groups_and_reports_what_breaks(seeded):
    cohort = "eu-digital-services"
    best = execute(seeded, GROUPS, {"c": cohort})["data"]["cohortGroups"]
    groups = [[c["id"] for c in g["cities"]] for g in best["groups"]]
    scored = execute(seeded, SCORE, {"c": cohort, "g": groups})["data"]["scoreGrouping"]
    assert scored["objective"] == pytest.approx(best["objective"]) and scored["violations"] == []
    assert scored["objective"] == pytest.approx(sum(g["affinity"] for g in scored["groups"]))
    # move a city: the objective is the sum of the new groups' affinities, and changes for some city
    objectives = []
    for g, h in ((0, 1), (1, 0), (0, len(groups) - 1), (len(groups) - 1, 0)):
        city = groups[g][0]
        moved = [[c for c in group if c != city] + ([city] if k == h else []) for k, group in enumerate(groups)]
        scored = execute(seeded, SCORE, {"c": cohort, "g": moved})["data"]["scoreGrouping"]
        assert scored["objective"] == pytest.approx(sum(g["affinity"] for g in scored["groups"]))
        objectives.append(scored["objective"])
    assert any(o != pytest.approx(best["objective"]) for o in objectives)
    moved = [groups[0][1:], [*groups[1], groups[0][0]], *groups[2:]]
    edited = execute(seeded, SCORE, {"c": cohort, "g": moved, "cannot": [[groups[0][0], groups[1][0]]],
                                     "must": [[groups[0][0], groups[0][1]]], "countries": 2})
    result = edited["data"]["scoreGrouping"]
    kinds = {v["constraint"] for v in result["violations"]}
    assert {"must-pair", "cannot-pair"} <= kinds
    assert all(v["message"] for v in result["violations"])


@pytest.mark.parametrize("groups, words", [
    ([["nowhere"]], "not a member city"),
    ([], "in no group"),
    ([["amsterdam"], ["riga", "amsterdam"]], "'amsterdam' is in group 1 and group 2; put it in one"),
    ([["amsterdam", "riga", "amsterdam"]], "'amsterdam' is in group 1 twice; name it once"),  # "group 1 and group 1"
])
def test_score_grouping_refuses_groupings_that_are_not_of_the_cohort(seeded, groups, words):
    result = execute(seeded, SCORE, {"c": "eu-digital-services", "g": groups})
    assert result["errors"][0]["code"] == "BAD_USER_INPUT" and words in result["errors"][0]["message"]


def test_the_page_and_its_bundle_are_served_from_the_repository(tmp_path):
    import re
    import urllib.request

    from tests.conftest import ROOT
    from tests.test_server import serving

    with serving(f"sqlite:///{tmp_path / 'p.db'}") as base, urllib.request.urlopen(base + "/explore") as response:
        page = response.read().decode()
        assert "default-src 'self'" in response.headers["content-security-policy"]
        assets = re.findall(r'(?:src|href)="(/explore-assets/[^"]+)"', page)
        assert sorted(assets) == ["/explore-assets/explore.css", "/explore-assets/explore.js"]
        for asset in assets:
            with urllib.request.urlopen(base + asset) as served:
                assert served.read() == (ROOT / "web/explore/dist" / asset.rsplit("/", 1)[1]).read_bytes()
        assert "http" not in re.sub(r"https?://127\.0\.0\.1", "", page.split("<body>")[1])  # no outside address
