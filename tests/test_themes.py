"""Cohorts have themes (COVERS): stored by every backend, served by GraphQL, and a focus for peer queries."""

from __future__ import annotations

from graph.model import Covers, Faces
from seeds import load_seeds
from tests.test_graphql import execute


def test_a_cohort_covers_its_programme_areas_in_every_store(store):
    load_seeds(store)
    out = execute(store, '{ cohort(id: "eu-digital-services") { themes { id } } }')
    assert out["errors"] == []
    assert sorted(t["id"] for t in out["data"]["cohort"]["themes"]) == ["education", "health", "housing", "jobs",
                                                                          "mobility"]
    assert ("COVERS", "bhcli-class-1", "leadership") in {r.key for r in store.relationships("COVERS")}


def test_peers_on_a_cohorts_themes_are_the_cities_working_on_them(store):
    load_seeds(store)
    store.upsert((), [Faces(source="tallinn", target="housing"), Faces(source="vilnius", target="jobs"),
                      Faces(source="gary", target="leadership")])
    query = """query($t: ID) { recommendPeers(cityId: "riga", themesOfCohort: $t) { city { id } reason } }"""
    out = execute(store, query, {"t": "eu-digital-services"})
    assert out["errors"] == []
    assert {m["city"]["id"] for m in out["data"]["recommendPeers"]} == {"tallinn", "vilnius"}
    store.upsert((), [Covers(source="eu-digital-services", target="leadership")])  # a new theme shows at once
    out = execute(store, query, {"t": "eu-digital-services"})
    assert "gary" in {m["city"]["id"] for m in out["data"]["recommendPeers"]}


def test_a_cohort_without_themes_or_unknown_says_so(store):
    load_seeds(store)
    store.delete(relationships=[r.key for r in store.relationships("COVERS") if r.source == "bhcli-class-1"])
    for cohort, words in (("bhcli-class-1", "has no themes"), ("nope", "no cohort with id 'nope'")):
        out = execute(store, '{ recommendPeers(cityId: "riga", themesOfCohort: $t) { city { id } } }'
                      .replace("$t", f'"{cohort}"'))
        assert words in out["errors"][0]["message"]
