"""URBACT city networks (2000-2019) as citypeers data, read from ../shared/data/urbact at run time.

Networks become Cohorts (with years and lead / partner roles), their main theme and tags become Challenges
(the cohort COVERS them), and each member city FACES the themes of its networks (the network's one-line
description as the note).
Cities keep the GeoNames id, coordinates and country the file gives (URBACT writes "UK" and "EL"; ISO
3166-1 says GB and GR). Source: P. Gourdon's thesis repository, compiled from urbact.eu (licence unstated).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from evaluation.tables import read_rows
from graph.errors import UsageError, preview
from graph.model import Challenge, City, Cohort, Covers, Faces, MemberOf, Node, Relationship, slug
from graph.projection import Projection

MEMBERSHIPS = "URBACT_Membership_GNidCorr_complete_V2.csv"
NETWORKS = "UrbactNetworks_complete_V2.csv"
COUNTRY_FIX = {"UK": "GB", "EL": "GR"}
# the columns the loader reads (the files have more)
MEMBER_COLUMNS = ("geonameId", "CodeCity", "Country", "NameCity", "Region", "lat_GN", "lng_GN", "City.Statut",
                  "Code_Network")
NETWORK_COLUMNS = ("Code_Network", "Name", "Phase", "Start", "End", "Main.Key.Word", "Additionnal.key.words",
                   "Description")


@dataclass(frozen=True)
class Network:
    code: str
    name: str
    phase: str  # "Urbact I", "Urbact II", "Urbact III"
    start: int
    end: int | None
    themes: tuple[str, ...]  # challenge ids
    description: str
    lead: str | None  # city id
    members: tuple[tuple[str, str], ...]  # (city id, "lead" | "partner")

    @property
    def partners(self) -> set[str]:
        return {city for city, role in self.members if role == "partner"}


@dataclass(frozen=True)
class Urbact:
    cities: dict[str, City]
    challenges: dict[str, Challenge]
    networks: dict[str, Network]

    def history(self, before: int, *, exclude: Iterable[str] = ()) -> Projection:
        """A projection holding only networks that started before `before` (and none of `exclude`)."""
        skip = set(exclude)
        kept = [n for n in self.networks.values() if n.start < before and n.code not in skip]
        nodes: list[Node] = [*self.cities.values(), *self.challenges.values()]
        rels: list[Relationship] = []
        faces: dict[tuple[str, str], Faces] = {}
        for net in kept:
            cohort = cohort_id(net.code)
            nodes.append(Cohort(id=cohort, name=net.name, programme=f"URBACT ({net.phase})",
                                start=f"{net.start}-01-01", description=net.description or None, provenance="urbact"))
            rels += [Covers(source=cohort, target=theme) for theme in net.themes]  # the network's themes
            for city, role in net.members:
                rels.append(MemberOf(source=city, target=cohort, role=role, year=net.start))
                for theme in net.themes:
                    seen = faces.get((city, theme))
                    note = "; ".join(filter(None, (seen.note if seen else None, net.description))) or None
                    since = min(net.start, seen.since or net.start) if seen else net.start
                    faces[(city, theme)] = Faces(source=city, target=theme, since=since, note=note)
        return Projection(nodes, [*rels, *faces.values()], version=before)


def cohort_id(code: str) -> str:
    return f"urbact-network-{slug(code)}"


def city_id(geonames_id: str) -> str:
    return f"gn-{geonames_id}"


def _number(text: str) -> float | None:
    text = text.strip().replace(",", ".")  # decimal commas
    try:
        return float(text)
    except ValueError:
        return None  # "NA"


def load_urbact(folder: str | Path) -> Urbact:
    folder = Path(folder)
    for name in (MEMBERSHIPS, NETWORKS):
        if not (folder / name).is_file():
            raise UsageError(f"no URBACT data at {str(folder / name)!r}: the data folder must hold {MEMBERSHIPS} "
                             f"and {NETWORKS}, as ../shared/data/urbact does")
    network_rows = list(read_rows(folder / NETWORKS, NETWORK_COLUMNS, delimiter=";",
                                  what=f"URBACT's networks file as published ({NETWORKS}, ';'-separated)"))
    member_rows = list(read_rows(folder / MEMBERSHIPS, MEMBER_COLUMNS, delimiter=";",
                                 what=f"URBACT's memberships file as published ({MEMBERSHIPS}, ';'-separated)"))
    cities: dict[str, City] = {}
    members: dict[str, list[tuple[str, str]]] = {}
    for _, row in member_rows:
        gn = row["geonameId"].strip()
        # one row (Morne-à-l'Eau) has no GeoNames id ("GN00", coordinates "NA"): keyed by URBACT's own code
        cid = city_id(gn) if gn.isdigit() else f"urbact-city-{slug(row['CodeCity'])}"
        if cid not in cities:
            country = row["Country"].strip()
            cities[cid] = City(id=cid, name=row["NameCity"].strip(), country=COUNTRY_FIX.get(country, country),
                               region=row["Region"].strip() or None, geonames_id=int(gn) if gn.isdigit() else None,
                               latitude=_number(row["lat_GN"]), longitude=_number(row["lng_GN"]), provenance="urbact")
        role = "lead" if row["City.Statut"].strip() == "Lead Partner" else "partner"
        members.setdefault(row["Code_Network"].strip(), []).append((cid, role))
    challenges: dict[str, Challenge] = {}
    networks: dict[str, Network] = {}
    for line, row in network_rows:
        if not row["Start"].strip().isdigit():
            raise UsageError(f"{folder / NETWORKS!s}:{line}: Start {preview(row['Start'])!r} is not a year; "
                             "expected the year the network started, e.g. 2015")
        themes = []
        for raw in [*row["Main.Key.Word"].split("/"), *row["Additionnal.key.words"].split("/")]:
            name = raw.strip()
            if name:
                cid = f"urbact-{slug(name)}"
                challenges.setdefault(cid, Challenge(id=cid, name=name, provenance="urbact"))
                if cid not in themes:
                    themes.append(cid)
        code = row["Code_Network"].strip()
        net_members = tuple(dict.fromkeys(members.get(code, [])))
        lead = next((c for c, role in net_members if role == "lead"), None)
        networks[code] = Network(code=code, name=row["Name"].strip(), phase=row["Phase"].strip(),
                                 start=int(row["Start"]), end=int(row["End"]) if row["End"].strip().isdigit() else None,
                                 themes=tuple(themes), description=row["Description"].strip(), lead=lead,
                                 members=net_members)
    return Urbact(cities=cities, challenges=challenges, networks=networks)
