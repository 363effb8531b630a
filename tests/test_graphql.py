"""The GraphQL schema executed against real stores: reads, recommendations, error codes, no N+1."""

from __future__ import annotations

import asyncio

import pytest

from graph.model import City, Faces, Leader, Serves
from matching.engine import Engine
from schema import Context, Loaders, build_schema
from seeds import load_seeds

SCHEMA = build_schema()


def execute(store, query: str, variables: dict | None = None, role: str | None = None, *,
            extensions: bool = False) -> dict:
    """The answer, each error as its message and code (`extensions`: and every other extension)."""
    context = Context(store=store, engine=Engine(store), loaders=Loaders(store), role=role)
    result = asyncio.run(SCHEMA.execute(query, variable_values=variables, context_value=context))
    return {"data": result.data, "errors": [{"message": e.message, "code": (e.extensions or {}).get("code"),
                                             **((e.extensions or {}) if extensions else {})}
                                            for e in result.errors or []]}


@pytest.fixture
def seeded(store):
    load_seeds(store)
    return store


def test_a_city_with_its_relationships(seeded):
    out = execute(seeded, """{ city(id: "riga") { name country population
        challenges { challenge { id parent { id } } note } cohorts { cohort { id } role }
        partners { id } leaders { id } } }""")
    assert out["errors"] == []
    city = out["data"]["city"]
    assert (city["name"], city["country"]) == ("Riga", "LV") and city["population"] > 500_000
    assert city["challenges"][0]["challenge"] == {"id": "digital-services", "parent": {"id": "digital-transformation"}}
    assert city["cohorts"] == [{"cohort": {"id": "eu-digital-services"}, "role": "participant"}]
    assert city["partners"] == [{"id": "bloomberg-philanthropies"}] and city["leaders"] == []


def test_connections_page_filter_and_count(seeded):
    query = """query($after: String) { cities(first: 2, after: $after, region: "Europe") {
        edges { cursor node { id } } pageInfo { hasNextPage endCursor } totalCount } }"""
    first = execute(seeded, query)["data"]["cities"]
    assert [e["node"]["id"] for e in first["edges"]] == ["amsterdam", "athens"]
    assert first["totalCount"] == 22 and first["pageInfo"]["hasNextPage"]
    second = execute(seeded, query, {"after": first["pageInfo"]["endCursor"]})["data"]["cities"]
    assert [e["node"]["id"] for e in second["edges"]] == ["berlin", "bratislava"]


def test_recommend_peers_filters(seeded):
    query = """query($f: PeerFilters) { recommendPeers(cityId: "amsterdam", first: 20, filters: $f) {
        city { id population country cohorts { cohort { id } } } } }"""
    out = execute(seeded, query, {"f": {"cohortId": "eu-digital-services", "minPopulation": 1_000_000,
                                        "excludeOwnCountry": True}})
    assert out["errors"] == []
    cities = [m["city"] for m in out["data"]["recommendPeers"]]
    assert cities and all(c["population"] >= 1_000_000 and c["country"] != "NL" for c in cities)
    assert all({"cohort": {"id": "eu-digital-services"}} in c["cohorts"] for c in cities)
    out = execute(seeded, query, {"f": {"cohortId": "nope"}})
    assert out["errors"][0]["code"] == "NOT_FOUND" and "no cohort with id 'nope'" in out["errors"][0]["message"]
    out = execute(seeded, query, {"f": {"minPopulation": 10, "maxPopulation": 5}})
    assert out["errors"] == [{"message": "maxPopulation 5 is below minPopulation 10; give 0 <= minPopulation <= "
                                         "maxPopulation", "code": "BAD_USER_INPUT"}]


def test_recommend_peers_with_evidence(seeded):
    out = execute(seeded, """{ recommendPeers(cityId: "amsterdam", first: 3) { score city { id }
        sharedChallenges { id name } sharedCohorts { id } sharedPartners { id } signals { name contribution }
        reason } }""")
    assert out["errors"] == []
    top = out["data"]["recommendPeers"][0]
    assert top["city"]["id"] == "riga" and top["sharedChallenges"] == [{"id": "digital-services",
                                                                        "name": "Digital public services"}]
    assert top["sharedCohorts"] == [{"id": "eu-digital-services"}]
    assert sum(s["contribution"] for s in top["signals"]) == pytest.approx(top["score"])
    assert top["reason"].startswith("Riga also faces Digital public services")


def test_other_recommendations_and_groups(seeded):
    out = execute(seeded, """{
        recommendPartners(cityId: "gary", first: 1) { partner { id } reason }
        citiesForChallenge(challengeId: "leadership", first: 2) { city { id } reason }
        cohortGroups(cohortId: "eu-digital-services", minSize: 4, maxSize: 6, minCountries: 4) {
            groups { cities { id } } objective randomObjective } }""")
    assert out["errors"] == []
    data = out["data"]
    assert data["recommendPartners"][0]["reason"] == (
        "Harvard Business School works on City leadership and management and is in Bloomberg Harvard City "
        "Leadership Initiative: first class with you.")  # the class it teaches, and Gary is in
    assert [m["city"]["id"] for m in data["citiesForChallenge"]] == ["gary", "liverpool-city-region"]
    assert sorted(len(g["cities"]) for g in data["cohortGroups"]["groups"]) == [5, 5, 5, 6]


@pytest.mark.parametrize(("query", "code", "message"), [
    ('{ recommendPeers(cityId: "atlantis") { score } }', "NOT_FOUND", "no city with id 'atlantis'"),
    ("{ cities(first: 500) { totalCount } }", "BAD_USER_INPUT", "first=500 is out of range"),
    ('{ cohortGroups(cohortId: "eu-digital-services", minSize: 9, maxSize: 9) { objective } }',
     "BAD_USER_INPUT", "cannot form groups of 9-9"),
    ("{ nope }", "GRAPHQL_VALIDATION_FAILED", "Cannot query field 'nope'"),
])
def test_errors_carry_codes(seeded, query, code, message):
    out = execute(seeded, query)
    assert [e["code"] for e in out["errors"]] == [code] and message in out["errors"][0]["message"]


class CountingStore:
    """The real store, counting the calls GraphQL makes to it."""

    def __init__(self, store):
        self.store, self.calls = store, 0

    def __getattr__(self, name):
        attr = getattr(self.store, name)
        if name in ("get", "list", "count", "neighbours"):
            def counted(*args, **kwargs):
                self.calls += 1
                return attr(*args, **kwargs)
            return counted
        return attr


def test_a_page_of_50_cities_with_challenges_and_leaders_is_not_n_plus_1(sqlite_store):
    cities = [City(id=f"c{i:02d}", name=f"City {i}", country="FR") for i in range(60)]
    leaders = [Leader(id=f"l{i:02d}", name=f"Synthetic Leader {i}", role="mayor") for i in range(60)]
    load_seeds(sqlite_store)
    sqlite_store.upsert([*cities, *leaders], [*(Faces(source=c.id, target="housing") for c in cities),
                                              *(Serves(source=f"l{i:02d}", target=f"c{i:02d}") for i in range(60))])
    counting = CountingStore(sqlite_store)
    out = execute(counting, """{ cities(first: 50, search: "city ") { edges { node { id
        challenges { challenge { name } } leaders { name } } } } }""")
    assert out["errors"] == [] and len(out["data"]["cities"]["edges"]) == 50
    assert counting.calls <= 6  # list + count + FACES + SERVES + nodes for each: not 1 + 2 x 50


@pytest.mark.parametrize(("field", "kind", "direction"), [
    ('challenge(id: "digital-services") { CITIES }', "FACES", "in"),
    ('cohort(id: "eu-digital-services") { CITIES }', "MEMBER_OF", "in"),
    ('node(id: "bloomberg-philanthropies") { ... on Partner { CITIES } }', "PARTNERS_WITH", "out"),
])
def test_a_nodes_cities_page_by_id_to_the_end(seeded, field, kind, direction):
    """A challenge's, a cohort's and a partner's cities are Relay connections: pages of 4 by id, each page
    after the last one's endCursor, covering the relationships' cities exactly once (a cohort's leaders
    and partners left out), with the same totalCount on every page."""
    node_id = field.split('"')[1]
    rels = seeded.neighbours([node_id], kinds=[kind], direction=direction)
    others = seeded.get([r.source if direction == "in" else r.target for r in rels])
    expected = sorted(i for i, n in others.items() if n.KIND == "City")
    assert len(expected) > 4  # more than one page
    page_of = ("cities(first: 4, after: $after) { totalCount pageInfo { hasNextPage endCursor } "
               "edges { cursor node { id } } }")
    query = "query($after: String) { " + field.replace("CITIES", page_of) + " }"
    seen, after, pages = [], None, 0
    while True:
        out = execute(seeded, query, {"after": after})
        assert out["errors"] == []
        page = next(iter(out["data"].values()))["cities"]
        assert page["totalCount"] == len(expected)
        assert [e["cursor"] for e in page["edges"]] == [e["node"]["id"] for e in page["edges"]]
        seen += [e["node"]["id"] for e in page["edges"]]
        pages += 1
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
        assert after == seen[-1]
    assert seen == expected and pages == -(-len(expected) // 4)


def test_a_nodes_cities_page_is_capped(seeded):
    out = execute(seeded, '{ challenge(id: "digital-services") { cities(first: 101) { totalCount } } }')
    assert [e["code"] for e in out["errors"]] == ["BAD_USER_INPUT"]
    assert "first=101 is out of range; ask for 0 to 100" in out["errors"][0]["message"]


def test_cohorts_with_a_page_of_their_cities_are_not_n_plus_1(sqlite_store):
    from graph.model import Cohort, MemberOf

    cohorts = [Cohort(id=f"k{i:02d}", name=f"Synthetic cohort {i}", programme="synthetic") for i in range(30)]
    cities = [City(id=f"c{i:02d}", name=f"City {i}", country="FR") for i in range(40)]
    sqlite_store.upsert([*cohorts, *cities], [MemberOf(source=c.id, target=k.id) for k in cohorts for c in cities])
    counting = CountingStore(sqlite_store)
    out = execute(counting, """{ cohorts(first: 30) { edges { node { id
        cities(first: 5) { totalCount edges { node { id } } } } } } }""")
    assert out["errors"] == []
    pages = [e["node"]["cities"] for e in out["data"]["cohorts"]["edges"]]
    assert len(pages) == 30 and all(p["totalCount"] == 40 and len(p["edges"]) == 5 for p in pages)
    assert counting.calls <= 5  # list + count + MEMBER_OF + members + the pages' cities: not 2 + 3 x 30


def test_a_cohorts_partners_are_its_partner_members_with_their_role(seeded):
    """A cohort's partners are the organisations that are members of it (the Harvard schools and Bloomberg
    Philanthropies organise the Bloomberg Harvard class), by name, without its member cities and leaders;
    a cohort with no partner among its members has none."""
    from graph.model import Cohort, MemberOf

    seeded.upsert([Cohort(id="no-partners", name="A cohort of cities and people", programme="synthetic")],
                  [MemberOf(source="riga", target="no-partners", role="participant"),
                   MemberOf(source="nitin-nohria", target="no-partners", role="faculty")])
    query = """query($id: ID!) { cohort(id: $id) { partners { partner { id name sector } role year } } }"""
    out = execute(seeded, query, {"id": "bhcli-class-1"})
    assert out["errors"] == []
    assert out["data"]["cohort"]["partners"] == [
        {"partner": {"id": "bloomberg-philanthropies", "name": "Bloomberg Philanthropies", "sector": "philanthropy"},
         "role": "organiser", "year": None},
        *({"partner": {"id": f"harvard-{school}", "name": f"Harvard {name}", "sector": "university"},
           "role": "organiser", "year": None}
          for school, name in [("business-school", "Business School"), ("kennedy-school", "Kennedy School"),
                               ("university", "University")])]
    assert execute(seeded, query, {"id": "no-partners"}) == {"data": {"cohort": {"partners": []}}, "errors": []}


def test_cohorts_with_their_partners_are_not_n_plus_1(sqlite_store):
    from graphql import parse

    from graph.model import Cohort, MemberOf, Partner
    from schema.cost import FAN_OUT, query_cost

    cohorts = [Cohort(id=f"k{i:02d}", name=f"Synthetic cohort {i}", programme="synthetic") for i in range(30)]
    partners = [Partner(id=f"p{i}", name=f"Partner {i}", sector="nonprofit") for i in range(3)]
    cities = [City(id=f"c{i}", name=f"City {i}", country="FR") for i in range(3)]
    sqlite_store.upsert([*cohorts, *partners, *cities],
                        [MemberOf(source=m.id, target=k.id, role="organiser") for k in cohorts
                         for m in [*partners, *cities]])
    counting = CountingStore(sqlite_store)
    out = execute(counting, "{ cohorts(first: 30) { edges { node { id partners { partner { name } role } } } } }")
    assert out["errors"] == []
    lists = [e["node"]["partners"] for e in out["data"]["cohorts"]["edges"]]
    assert len(lists) == 30 and all([p["partner"]["name"] for p in ps] == ["Partner 0", "Partner 1", "Partner 2"]
                                    for ps in lists)
    assert counting.calls <= 4  # list + count + MEMBER_OF + members: not 2 + 2 x 30
    # an unbounded list: weighed as the fan-out, like a city's cohorts
    assert query_cost(parse('{ cohort(id: "k") { partners { role } } }'), schema=SCHEMA._schema) == 2 + FAN_OUT


def test_people_and_cities_for_a_challenge_carry_their_evidence(store):
    """recommendPeople shows what the two leaders' cities share (the peer match's evidence) and signals whose
    contributions, scaled by the role fit, add up to the score; citiesForChallenge shows the challenge or
    the parts of it each city faces."""
    import math

    from tests.test_partners import NODES, RELS

    store.upsert(NODES, RELS)
    out = execute(store, """{
      recommendPeople(leaderId: "l-a", first: 3) { score roleFit leader { id } city { id } sharedChallenges { id }
        relatedChallenges { id } sharedPartners { id } sharedCohorts { id } signals { name value contribution } }
      citiesForChallenge(challengeId: "housing") {
        score city { id } sharedChallenges { id } signals { name contribution } }
    }""")
    assert out["errors"] == []
    home = store.neighbours(["l-a"], kinds=["SERVES"], direction="out")[0].target
    peers = {m.city.id: m for m in Engine(store).peers(home, k=30)}
    people = out["data"]["recommendPeople"]
    assert [p["leader"]["id"] for p in people] == ["l-b-mayor", "l-d", "l-b-staff"]
    assert any(p["sharedChallenges"] for p in people)
    for p in people:
        peer = peers[p["city"]["id"]]
        evidence_of = {"sharedChallenges": peer.shared_challenges, "sharedCohorts": peer.shared_cohorts,
                       "relatedChallenges": peer.related_challenges, "sharedPartners": peer.shared_partners}
        for field, evidence in evidence_of.items():
            assert [c["id"] for c in p[field]] == [c.id for c in evidence], field
        assert [(g["name"], g["value"]) for g in p["signals"]] == [(g.name, g.value) for g in peer.signals]
        assert math.isclose(sum(g["contribution"] for g in p["signals"]), p["score"])
        assert math.isclose(p["score"], peer.score * p["roleFit"])
    cities = out["data"]["citiesForChallenge"]
    assert [[c["id"] for c in m["sharedChallenges"]] for m in cities] == [["housing"], ["housing"], ["social-housing"]]
    assert all(m["signals"] == [{"name": "challenge", "contribution": m["score"]}] for m in cities)


def readme_examples() -> list[tuple[str, str | None]]:
    """(query, the answer shown after it) for every ```graphql block of the README, in order; the answer is
    the first ```json block before the next query (None when there is none)."""
    import re

    from tests.conftest import ROOT

    text = (ROOT / "README.md").read_text(encoding="utf-8")
    blocks = list(re.finditer(r"```graphql\n(.*?)```", text, re.S))
    out = []
    for i, block in enumerate(blocks):
        stop = blocks[i + 1].start() if i + 1 < len(blocks) else len(text)
        answer = re.search(r"```json\n(.*?)```", text[block.end():stop], re.S)
        out.append((block.group(1), answer.group(1) if answer else None))
    return out


def same_answer(shown, got, path: str = "") -> str | None:
    """Where `got` differs from `shown` (None: nowhere); floats within 1e-9 relative (the last digits of a
    score may differ with the CPU's floating-point paths)."""
    import math

    if isinstance(shown, float) or isinstance(got, float):
        ok = isinstance(shown, int | float) and isinstance(got, int | float) and math.isclose(shown, got, rel_tol=1e-9)
        return None if ok else f"{path}: {shown!r} shown, {got!r} answered"
    if isinstance(shown, dict) and isinstance(got, dict):
        if list(shown) != list(got):
            return f"{path}: keys {list(shown)} shown, {list(got)} answered"
        return next((d for k in shown if (d := same_answer(shown[k], got[k], f"{path}.{k}"))), None)
    if isinstance(shown, list) and isinstance(got, list):
        if len(shown) != len(got):
            return f"{path}: {len(shown)} items shown, {len(got)} answered"
        pairs = enumerate(zip(shown, got, strict=True))
        return next((d for i, (a, b) in pairs if (d := same_answer(a, b, f"{path}[{i}]"))), None)
    return None if shown == got else f"{path}: {shown!r} shown, {got!r} answered"


def test_every_readme_example_answers_as_the_readme_shows(sqlite_store):
    """Each README query, run in order on the seeds as a newcomer would after `make run` (the mutation with an
    editor token), answers exactly what the README shows below it."""
    import json

    load_seeds(sqlite_store)
    examples = readme_examples()
    assert len(examples) >= 4
    for query, shown in examples:
        out = execute(sqlite_store, query, role="editor" if query.lstrip().startswith("mutation") else None)
        assert out["errors"] == [], (query, out["errors"])
        assert shown is not None, f"the README shows no answer for:\n{query}"
        difference = same_answer(json.loads(shown), {"data": out["data"]})
        assert difference is None, f"the README's answer is out of date at {difference}; the query:\n{query}"


def test_schema_graphql_matches_the_code():
    from tests.conftest import ROOT

    assert (ROOT / "schema.graphql").read_text(encoding="utf-8") == SCHEMA.as_str() + "\n", (
        "the schema changed: run `python -m schema > schema.graphql` and review the diff")


@pytest.mark.parametrize(("query", "message"), [
    ('{ city(id: "riga") { ' + "cohorts { cohort { cities { edges { node { " * 4 + "id" + " } } } } }" * 4 + " } }",
     "query depth 22 is over the limit of 10"),
    ("{ " + " ".join(f"a{i}: dataVersion" for i in range(20)) + " }", "20 aliases is over the limit of 15"),
    ("{ " + "dataVersion " * 2100 + "}", "token"),
    # graphql-core's field-overlap rule gave up on this one with "Validation aborted." alone
    ("{ " + "__typename " * 1990 + "}", "1,990 fields in one selection is over the limit of 200"),
])
def test_abusive_queries_are_refused_before_execution(sqlite_store, query, message):
    out = execute(sqlite_store, query)
    assert out["data"] is None and message in out["errors"][0]["message"].lower()
    assert all(e["message"] != "Validation aborted." for e in out["errors"])


@pytest.mark.parametrize(("query", "message"), [
    ('{ cities(cohortId: "eu-digital-service") { totalCount } }',
     "no cohort with id 'eu-digital-service'; did you mean 'eu-digital-services'?"),
    ('{ cities(challengeId: "housing-x") { totalCount } }',
     "no challenge with id 'housing-x'; did you mean 'housing'?"),
    ('{ leaders(cityId: "amsterdm") { totalCount } }', "no city with id 'amsterdm'; did you mean 'amsterdam'?"),
    ('{ cities(cohortId: "amsterdam") { totalCount } }', "no cohort with id 'amsterdam' (it is a city's id)"),
])
def test_a_listing_filtered_by_an_unknown_id_says_so(seeded, query, message):
    """It answered an empty page, as if the cohort, challenge or city existed and had no one."""
    out = execute(seeded, query)
    assert out["errors"] == [{"message": message, "code": "NOT_FOUND"}]


SECTORS = "valid sectors: business, nonprofit, university, philanthropy, public-agency, network"
NOT_ISO = "use an ISO 3166-1 alpha-2 code such as NL, US, GB"


@pytest.mark.parametrize(("query", "message"), [
    ('{ cities(region: "Westerm Europe") { totalCount } }',
     "no city in this store is in region 'Westerm Europe'; its cities are in Europe, North America"),
    ('{ cities(region: "Eurpe", cohortId: "eu-digital-services") { totalCount } }',
     "no city in this store is in region 'Eurpe'; did you mean 'Europe'?"),
    ('{ partners(sector: "nonsense") { totalCount } }', f"unknown partner sector 'nonsense'; {SECTORS}"),
    ('{ recommendPeers(cityId: "amsterdam", filters: {region: "nope"}) { score } }',
     "no city in this store is in region 'nope'; its cities are in Europe, North America"),
    ('{ recommendPeers(cityId: "amsterdam", filters: {country: "ZZ"}) { score } }',
     f"unknown country code 'ZZ'; {NOT_ISO}"),
    ('{ recommendPartners(cityId: "gary", sector: "bank") { score } }', f"unknown partner sector 'bank'; {SECTORS}"),
    ('{ recommendPartners(cityId: "gary", country: "ZZ") { score } }', f"unknown country code 'ZZ'; {NOT_ISO}"),
    ('{ recommendPeers(cityId: "amsterdam", filters: {country: "Germany"}) { score } }',
     "unknown country code 'Germany'; use an ISO 3166-1 alpha-2 code: DE for Germany"),
])
def test_an_unknown_filter_value_says_what_would_be_valid(seeded, query, message):
    """cities(region:) and partners(sector:) answered an empty page, as if the value were real."""
    out = execute(seeded, query)
    assert out["errors"] == [{"message": message, "code": "BAD_USER_INPUT"}]


@pytest.mark.parametrize(("query", "data"), [
    ('{ cities(country: "JP") { totalCount } }', {"cities": {"totalCount": 0}}),  # real, with no city in it
    ('{ recommendPeers(cityId: "amsterdam", filters: {country: "JP"}) { score } }', {"recommendPeers": []}),
    ('{ recommendPartners(cityId: "gary", country: "US") { score } }', {"recommendPartners": []}),
    ('{ cities(region: "europe") { totalCount } }', {"cities": {"totalCount": 22}}),  # the data's spelling
    ('{ partners(sector: "University") { totalCount } }', {"partners": {"totalCount": 3}}),
])
def test_a_real_filter_value_that_matches_nothing_is_an_empty_answer(seeded, query, data):
    assert execute(seeded, query) == {"data": data, "errors": []}


class ScanningStore:
    """The real store, recording every full scan (nodes, relationships) made through it."""

    def __init__(self, store):
        self.store, self.scans = store, []

    def __getattr__(self, name):
        attr = getattr(self.store, name)
        if name in ("nodes", "relationships"):
            def scan(*args, **kwargs):
                self.scans.append(name)
                return attr(*args, **kwargs)
            return scan
        return attr


def test_a_listings_region_is_checked_without_reading_every_city(sqlite_store):
    """At 100k cities a listing must not scan the cities (nor refit the engine) to check its region: the
    snapshot the engine serves knows the regions, and the store's region index finds one written since."""
    load_seeds(sqlite_store)
    store = ScanningStore(sqlite_store)
    engine = Engine(store)
    engine.current()
    sqlite_store.upsert([City(id="quito", name="Quito", country="EC", region="South America")])  # after the fit
    store.scans.clear()

    def listing(region: str) -> dict:
        context = Context(store=store, engine=engine, loaders=Loaders(store))
        result = asyncio.run(SCHEMA.execute(f'{{ cities(region: "{region}") {{ totalCount }} }}',
                                            context_value=context))
        return {"data": result.data, "errors": [e.message for e in result.errors or []]}

    assert listing("Europe") == {"data": {"cities": {"totalCount": 22}}, "errors": []}
    assert listing("South America") == {"data": {"cities": {"totalCount": 1}}, "errors": []}
    assert listing("Eurpe") == {"data": None, "errors": ["no city in this store is in region 'Eurpe'; did you mean "
                                                         "'Europe'?"]}
    assert store.scans == []


@pytest.mark.parametrize("related", [False, True])
def test_cities_sorted_by_population_page_by_page(seeded, related):
    """Descending population across pages, through the store (plain listing) and in Python (cohort filter)."""
    query = """query($after: String, $k: ID) { cities(first: 5, after: $after, cohortId: $k,
        orderBy: {field: POPULATION, direction: DESC}) {
        totalCount edges { cursor node { id population } } pageInfo { hasNextPage endCursor } } }"""
    variables = {"k": "eu-digital-services"} if related else {}
    seen, after = [], None
    while True:
        out = execute(seeded, query, {**variables, "after": after})
        assert out["errors"] == []
        page = out["data"]["cities"]
        seen += [e["node"] for e in page["edges"]]
        assert page["edges"] == [] or page["edges"][-1]["cursor"] == page["pageInfo"]["endCursor"]
        after = page["pageInfo"]["endCursor"]
        if not page["pageInfo"]["hasNextPage"]:
            break
    assert len(seen) == page["totalCount"] == (21 if related else len(list(seeded.nodes("City"))))
    known = [c["population"] for c in seen if c["population"] is not None]
    assert known == sorted(known, reverse=True) and known
    assert all(c["population"] is None for c in seen[len(known):])  # empty values last


def test_sorting_errors_name_the_bad_value(seeded):
    out = execute(seeded, "{ challenges(orderBy: {field: POPULATION}) { totalCount } }")
    assert out["errors"][0]["code"] == "BAD_USER_INPUT"
    assert out["errors"][0]["message"] == "cannot sort Challenge by POPULATION; valid: ID, NAME"
    # only what SortField has: the store's message listed latitude, longitude and geonames_id, which a client
    # cannot send
    out = execute(seeded, "{ cities(orderBy: {field: SECTOR}) { totalCount } }")
    assert out["errors"][0]["message"] == "cannot sort City by SECTOR; valid: ID, NAME, COUNTRY, REGION, POPULATION"
    out = execute(seeded, "{ leaders(orderBy: {field: COUNTRY}) { totalCount } }")
    assert out["errors"][0]["message"] == "cannot sort Leader by COUNTRY; valid: ID, NAME"
    out = execute(seeded, '{ cities(after: "riga", orderBy: {field: NAME}) { totalCount } }')
    assert "is not a cursor of a listing sorted by name" in out["errors"][0]["message"]
    # a cursor of a sorted listing, given to an id-ordered one (top-level or nested), gave an arbitrary page
    other = 'o1:[1702139, \\"warsaw\\"]'
    for query in (f'{{ cities(first: 3, after: "{other}") {{ totalCount }} }}',
                  f'{{ challenge(id: "leadership") {{ cities(after: "{other}") {{ totalCount }} }} }}'):
        out = execute(seeded, query)
        assert [e["code"] for e in out["errors"]] == ["BAD_USER_INPUT"], query
        assert "is a cursor of a listing sorted by another field, not by id" in out["errors"][0]["message"]
    names = execute(seeded, "{ partners(first: 100, orderBy: {field: NAME}) { edges { node { name } } } }")
    listed = [e["node"]["name"] for e in names["data"]["partners"]["edges"]]
    assert listed == sorted(listed) and len(listed) > 3


@pytest.mark.parametrize(("query", "variables", "code", "said"), [
    ("{ cities(orderBy: {direction: UP}) { totalCount } }", None, "GRAPHQL_VALIDATION_FAILED",
     "Value 'UP' does not exist in 'SortDirection' enum. Valid values: ASC, DESC."),
    ("{ cities(orderBy: {field: NAMEX}) { totalCount } }", None, "GRAPHQL_VALIDATION_FAILED",
     "Did you mean the enum value 'NAME'? Valid values: ID, NAME, COUNTRY, REGION, POPULATION, SECTOR, "
     "PROGRAMME, START, END."),
    ('{ cities(orderBy: {field: "NAME"}) { totalCount } }', None, "GRAPHQL_VALIDATION_FAILED",
     "Enum 'SortField' cannot represent non-enum value: \"NAME\". Did you mean the enum value 'NAME'? "
     "Valid values: ID,"),
    ("query($o: ListOrder) { cities(orderBy: $o) { totalCount } }", {"o": {"direction": "up"}}, "BAD_USER_INPUT",
     "Variable '$o' has invalid value at .direction: Value 'up' does not exist in 'SortDirection' enum. "
     "Valid values: ASC, DESC."),
    ("query($o: ListOrder) { cities(orderBy: $o) { totalCount } }", {"o": {"field": 3}}, "BAD_USER_INPUT",
     "Enum 'SortField' cannot represent non-string value: 3. Valid values: ID, NAME,"),
    ("{ networkView(layout: MAP) { nodes { id } } }", None, "GRAPHQL_VALIDATION_FAILED",
     "Value 'MAP' does not exist in 'ViewLayout' enum. Valid values: GEO, FORCE."),
])
def test_a_value_an_enum_does_not_have_is_answered_with_the_values_it_has(seeded, query, variables, code, said):
    """graphql-core names a valid value only when the bad one is close to it ('UP' got no hint at all)."""
    out = execute(seeded, query, variables)
    assert [e["code"] for e in out["errors"]] == [code]
    assert said in out["errors"][0]["message"]
    assert out["errors"][0]["message"].count("Valid values:") == 1


def test_cities_by_challenge_and_cohort(seeded):
    query = """query($c: ID, $k: ID, $after: String) { cities(first: 2, challengeId: $c, cohortId: $k, after: $after) {
        totalCount pageInfo { hasNextPage endCursor } edges { node { id } } } }"""
    leaders = execute(seeded, query, {"c": "leadership"})["data"]["cities"]
    assert leaders["totalCount"] == 3
    assert [e["node"]["id"] for e in leaders["edges"]] == ["gary", "liverpool-city-region"]
    rest = execute(seeded, query, {"c": "leadership", "after": leaders["pageInfo"]["endCursor"]})["data"]["cities"]
    assert [e["node"]["id"] for e in rest["edges"]] == ["philadelphia"] and not rest["pageInfo"]["hasNextPage"]
    both = execute(seeded, query, {"c": "digital-services", "k": "bhcli-class-1"})["data"]["cities"]
    assert both["totalCount"] == 0
    eu = execute(seeded, query, {"k": "eu-digital-services"})["data"]["cities"]
    assert eu["totalCount"] == 21


NESTED = "score city { challenges { challenge { cities(first: 100) { edges { node { id name } } } } } }"


def test_a_variables_default_is_weighed_as_the_value_it_stands_for(seeded):
    """`first: $f` with `$f: Int = 1000` not sent asks for 1000, as the literal does: both are refused, at
    the same cost; the variable sent as 10 is not."""
    literal = execute(seeded, '{ recommendPeers(cityId: "amsterdam", first: 1000) { ' + NESTED + " } }")
    defaulted = 'query($f: Int = 1000) { recommendPeers(cityId: "amsterdam", first: $f) { ' + NESTED + " } }"
    assert [e["code"] for e in literal["errors"]] == ["QUERY_TOO_COSTLY"]
    assert execute(seeded, defaulted)["errors"] == literal["errors"] and execute(seeded, defaulted)["data"] is None
    sent = execute(seeded, defaulted, {"f": 10})
    assert sent["errors"] == [] and len(sent["data"]["recommendPeers"]) == 10


def test_network_views_cost_by_the_nodes_they_may_send(seeded):
    """networkView costs 100 plus 1 per 100 nodes of its `first`: the explorer's two views fit, and one large
    view does, but not ten aliased views of 50,000 nodes (a flat 100 each let one 1.3 KB request ask for 39.5
    MB until 2026-12-07)."""
    from graphql import parse

    from schema import build_schema
    from schema.cost import query_cost

    types = build_schema()._schema
    one = "networkView(first: 50000, aggregateBy: null) { nodes { id } edges { source } }"
    assert query_cost(parse("{ " + one + " }"), schema=types) == pytest.approx(600)
    assert query_cost(parse("{ networkView { totalCount } }"), schema=types) == pytest.approx(150)  # first 5,000
    assert execute(seeded, "{ " + one + " }")["errors"] == []
    ten = "{ " + " ".join(f"v{i}: {one}" for i in range(10)) + " }"
    refused = execute(seeded, ten)
    assert [e["code"] for e in refused["errors"]] == ["QUERY_TOO_COSTLY"] and refused["data"] is None
    explorer = """query($first: Int!) {
        cities: networkView(filters: {kinds: ["City"]}, first: 1, layout: GEO, aggregateBy: COMMUNITY) { totalCount }
        others: networkView(filters: {kinds: ["Challenge"]}, first: $first, layout: GEO, aggregateBy: null) {
          nodes { id } } }"""
    assert execute(seeded, explorer, {"first": 50000})["errors"] == []


@pytest.mark.parametrize(("left_out", "written"), [
    ("cities { edges { node { id } } }", "cities(first: 20) { edges { node { id } } }"),
    ('recommendPeers(cityId: "x") { city { id } }', 'recommendPeers(cityId: "x", first: 10) { city { id } }'),
    ('challenge(id: "x") { cities { edges { node { id } } } }',
     'challenge(id: "x") { cities(first: 20) { edges { node { id } } } }'),
    ('node(id: "x") { ... on Partner { cities { totalCount } } }',
     'node(id: "x") { ... on Partner { cities(first: 20) { totalCount } } }'),
    ("...F } fragment F on Query { cohorts { edges { node { id } } }", "cohorts(first: 20) { edges { node { id } } }"),
])
def test_a_first_left_out_is_weighed_as_the_schemas_default(left_out, written):
    from graphql import parse

    from schema.cost import query_cost

    schema = SCHEMA._schema
    assert query_cost(parse("{ " + left_out + " }"), schema=schema) == query_cost(parse("{ " + written + " }"),
                                                                                  schema=schema)


HUGE = "9" * 5000  # over Python's 4,300 digits for reading an int from text


@pytest.mark.parametrize("query", [
    "{ networkView(first: " + HUGE + ") { totalCount } }",
    '{ cohortGroups(cohortId: "eu-digital-services", seed: ' + HUGE + ") { objective } }",
    "{ cities(first: " + HUGE + ") { edges { node { id } } } }",  # the cost walk reads `first` too
    "query($f: Int = " + HUGE + ") { cities(first: $f) { totalCount } }",
])
def test_an_int_literal_too_long_to_read_is_a_validation_error(seeded, query, caplog):
    caplog.set_level("INFO", logger="citypeers.errors")
    out = execute(seeded, query)
    assert out["data"] is None and [e["code"] for e in out["errors"]] == ["GRAPHQL_VALIDATION_FAILED"]
    assert out["errors"][0]["message"] == (
        "Int cannot represent non 32-bit signed integer value: " + "9" * 30 + "... (5,000 digits); an Int is a "
        "32-bit integer, -2147483648 to 2147483647")
    assert [(r.levelname, r.exc_info) for r in caplog.records] == [("INFO", None)]
    assert len(caplog.records[0].getMessage()) < 300


def _stored_population(store, city_id: str, population: int) -> None:
    """Write a population straight into the SQLite file, as a store written before the model bounded it
    would hold it."""
    import sqlite3

    with sqlite3.connect(store.path) as db:
        db.execute("UPDATE nodes SET props = json_set(props, '$.population', ?) WHERE id = ?", (population, city_id))


def test_a_value_the_server_cannot_send_is_its_failure_told_in_general_words(seeded, caplog):
    """An Int beyond 32 bits in the store cannot be sent (output coercion): that is the server's failure, not
    the client's input; the client is told so in general words, the log keeps the detail and traceback."""
    if not hasattr(seeded, "path"):
        pytest.skip("writes the SQLite file directly")
    _stored_population(seeded, "riga", 3_000_000_000)
    caplog.set_level("INFO", logger="citypeers.errors")
    out = execute(seeded, '{ city(id: "riga") { name population } }')
    assert [e["code"] for e in out["errors"]] == ["INTERNAL_SERVER_ERROR"]
    assert "3000000000" not in out["errors"][0]["message"] and "32-bit" not in out["errors"][0]["message"]
    assert out["errors"][0]["message"].startswith("the server failed to answer this")
    (record,) = caplog.records
    assert record.levelname == "ERROR" and record.exc_info is not None and "3000000000" in record.getMessage()


def test_a_long_message_is_cut_for_the_client_and_the_log(sqlite_store, caplog):
    caplog.set_level("INFO", logger="citypeers.errors")
    out = execute(sqlite_store, "{ " + "x" * 900_000 + " }")
    assert [e["code"] for e in out["errors"]] == ["GRAPHQL_VALIDATION_FAILED"]
    assert out["errors"][0]["message"].startswith("Cannot query field 'xxx")
    assert len(out["errors"][0]["message"]) < 2_100 and "(a message of 900,0" in out["errors"][0]["message"]
    assert len(caplog.records) == 1 and len(caplog.records[0].getMessage()) < 2_200


@pytest.mark.parametrize(("listing", "after"), [
    ('cities(cohortId: "eu-digital-services", orderBy: {field: NAME}', 'o1:[5, \\"x\\"]'),
    ('cities(cohortId: "eu-digital-services", orderBy: {field: NAME}', "o1:" + "[" * 5000 + "]" * 5000),
    ('cities(orderBy: {field: POPULATION}', 'o1:[99999999999999999999999999, \\"x\\"]'),
    ('cities(orderBy: {field: NAME}', 'o1:[5, \\"x\\"]'),  # was an empty page
    ('leaders(cityId: "gary", orderBy: {field: NAME}', 'o1:[true, \\"x\\"]'),
])
def test_a_crafted_cursor_is_bad_user_input(seeded, listing, after, caplog):
    caplog.set_level("INFO", logger="citypeers.errors")
    out = execute(seeded, "{ " + listing + ', first: 2, after: "' + after + '") { totalCount } }')
    assert out["data"] is None and [e["code"] for e in out["errors"]] == ["BAD_USER_INPUT"]
    assert "is not a cursor of a listing sorted by" in out["errors"][0]["message"]
    assert len(out["errors"][0]["message"]) < 300 and [r.exc_info for r in caplog.records] == [None]


@pytest.mark.parametrize(("query", "role", "message"), [
    ('{ cohortGroups(cohortId: "eu-digital-services", seed: -1) { objective } }', None,
     "seed=-1 is out of range; use 0 or more"),
    # a report's seed also seeds its layouts (networkx: below 2**32), and is checked with its other parameters
    ('{ cohortReport(cohortId: "eu-digital-services", seed: -1) { parameters { seed } } }', None,
     "seed=-1 is out of range; use 0 to 4294967295 (2**32 - 1)"),
    ("mutation { tuneWeights(seed: -1) { origin } }", "admin", "seed=-1 is out of range; use 0 or more"),
])
def test_a_negative_seed_is_bad_user_input(sqlite_store, query, role, message, caplog):
    load_seeds(sqlite_store)
    caplog.set_level("INFO", logger="citypeers.errors")
    out = execute(sqlite_store, query, role=role)
    assert out["errors"] == [{"message": message, "code": "BAD_USER_INPUT"}]
    assert [(r.levelname, r.exc_info) for r in caplog.records] == [("INFO", None)]


@pytest.mark.parametrize("field", ['recommendPeople(leaderId: "l-a"', 'citiesForChallenge(challengeId: "housing"',
                                   'recommendPeers(cityId: "a"', 'recommendPartners(cityId: "a"'])
@pytest.mark.parametrize("first", [-1, 0, 1001, 5000])
def test_a_recommendations_first_out_of_range_is_named_as_sent(sqlite_store, field, first):
    """first=-1 answered one person, or every city for the challenge but the last; first=0 an empty list;
    first=5000 'k=15000 is out of range', a value the client never sent."""
    from tests.test_partners import NODES, RELS

    sqlite_store.upsert(NODES, RELS)
    out = execute(sqlite_store, "{ " + field + f", first: {first}) {{ score }} }}")
    assert out["errors"] == [{"message": f"first={first} is out of range; ask for 1 to 1000 matches",
                              "code": "BAD_USER_INPUT"}]


def test_a_thousand_people_can_be_asked_for(sqlite_store):
    from tests.test_partners import NODES, RELS

    sqlite_store.upsert(NODES, RELS)
    out = execute(sqlite_store, '{ recommendPeople(leaderId: "l-a", first: 1000) { leader { id } } }')
    assert out["errors"] == [] and len(out["data"]["recommendPeople"]) == 3


LONG = "x" * 900_000


@pytest.mark.parametrize("query", [
    '{ recommendPeers(cityId: "LONG") { score } }',
    '{ recommendPeers(cityId: "riga", filters: {region: "LONG"}) { score } }',
    '{ recommendPeers(cityId: "riga", themesOfCohort: "LONG") { score } }',
    '{ cities(country: "LONG") { totalCount } }',
    '{ leaders(role: "LONG") { totalCount } }',
    '{ cohortGroups(cohortId: "eu-digital-services", mustPair: [["LONG", "b", "c"]]) { objective } }',
    '{ cohortReport(cohortId: "LONG") { citiesCount } }',
    '{ networkView(focus: ["LONG"]) { totalCount } }',
    '{ networkView(filters: {kinds: ["LONG"]}) { totalCount } }',
    '{ scoreGrouping(cohortId: "eu-digital-services", groups: [["LONG"]]) { objective } }',
])
def test_a_long_value_is_not_echoed_in_full(sqlite_store, query, caplog):
    """A 900 KB value the client sent comes back cut to its start, in the message and the log line."""
    load_seeds(sqlite_store)
    caplog.set_level("INFO", logger="citypeers.errors")
    out = execute(sqlite_store, query.replace("LONG", LONG))
    assert len(out["errors"]) == 1 and out["errors"][0]["code"] in ("NOT_FOUND", "BAD_USER_INPUT")
    assert "'" + "x" * 80 + "...'" in out["errors"][0]["message"] and len(out["errors"][0]["message"]) < 400
    assert len(caplog.records) == 1 and len(caplog.records[0].getMessage()) < 500


def test_a_document_of_several_operations_needs_an_operation_name(seeded):
    """The first operation ran when none was named, a mutation among them too (GraphQL's spec refuses that)."""
    document = "query A { dataVersion } mutation B { deleteNode(id: \"riga\") { __typename } }"
    context = Context(store=seeded, engine=Engine(seeded), loaders=Loaders(seeded), role="admin")
    unnamed = asyncio.run(SCHEMA.execute(document, context_value=context))
    assert unnamed.data is None and [e.message for e in unnamed.errors] == [
        "the document holds 2 operations (A, B) and the request names none: send operationName, the name of the "
        "one to run"] and unnamed.errors[0].extensions["code"] == "BAD_USER_INPUT"
    named = asyncio.run(SCHEMA.execute(document, context_value=context, operation_name="A"))
    assert named.errors is None and named.data == {"dataVersion": 1}
    assert execute(seeded, "{ dataVersion }") == {"data": {"dataVersion": 1}, "errors": []}  # one needs no name


def test_an_empty_focus_list_is_refused_not_answered_with_nothing(seeded):
    out = execute(seeded, '{ recommendPeers(cityId: "amsterdam", challengeIds: []) { score } }', extensions=True)
    assert [(e["code"], e["argument"]) for e in out["errors"]] == [("BAD_USER_INPUT", "challengeIds")]
    assert out["errors"][0]["message"] == ("challengeIds is an empty list: give one or more challenge ids to focus "
                                           "on, or leave challengeIds out for peers on every challenge")
