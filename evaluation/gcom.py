"""Global Covenant of Mayors signatories (EU JRC, 2024, CC BY 4.0), read from ../shared/data/gcom at run time.

Signatories become Cities (country, population at adhesion, coordinates), Covenant Coordinators (public
authorities such as provinces) and Supporters (networks, agencies) become Partners working with them
(PARTNERS_WITH), and the four commitments (CoM 2020, 2030, 2050, adaptation) become Challenges the cities
face. A group of signatories with a joint action plan (a union of municipalities, a local action group:
315 groups, 2,207 cities) becomes a Cohort its cities are members of, covering the commitments most of them
made; the group's own signatory row, where it has one, leads it. Mayors' names are in the file but are not
needed here and are not loaded.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from evaluation.tables import read_rows
from graph.errors import UsageError
from graph.model import (
    Challenge,
    City,
    Cohort,
    Covers,
    Faces,
    MemberOf,
    Node,
    Partner,
    PartnersWith,
    Relationship,
    country_codes,
    slug,
)

FILE = "df1_signatories_sheet1.csv"
COMMITMENTS = {"commitment_CoM2020_flag": ("gcom-com2020", "Covenant 2020 commitment (20% CO2 reduction)"),
               "commitment_CoM2030_flag": ("gcom-com2030", "Covenant 2030 commitment (40% CO2 reduction)"),
               "commitment_CoM2050_flag": ("gcom-com2050", "Covenant 2050 commitment (climate neutrality)"),
               "commitment_mayoradapt_flag": ("gcom-adaptation", "Climate adaptation commitment")}
COUNTRY_FIX = {"UK": "GB", "EL": "GR"}
LICENCE = "gcom (CC BY 4.0, EU JRC)"


def _partner_id(kind: str, name: str) -> str:
    """A readable, bounded, collision-safe id for an organisation name."""
    digest = hashlib.sha1(name.encode()).hexdigest()[:8]
    return f"gcom-{kind}-{slug(name)[:60].strip('-')}-{digest}"


def _float(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


def covers(cohort: str, cities: list[str], faced: dict[str, set[str]]) -> list[Covers]:
    """The cohort COVERS each challenge that more than half of its `cities` FACE (`faced`: city: challenges)."""
    counts: dict[str, int] = {}
    for city in cities:
        for c in faced.get(city, ()):
            counts[c] = counts.get(c, 0) + 1
    return [Covers(source=cohort, target=c) for c, n in sorted(counts.items()) if 2 * n > len(cities)]


def faced_by(rels: list[Relationship]) -> dict[str, set[str]]:
    """{city: the challenges it FACES} of `rels`."""
    faced: dict[str, set[str]] = {}
    for r in rels:
        if r.KIND == "FACES":
            faced.setdefault(r.source, set()).add(r.target)
    return faced


def load_gcom(folder: str | Path, notes: list[str] | None = None) -> tuple[list[Node], list[Relationship]]:
    """The signatories as cities, their coordinators and supporters as partners, their commitments as
    challenges, their joint action plans' groups as cohorts. What the sheet's rows hold that is left out (a row
    without a usable country, coordinates or a population that cannot be read) is counted in `notes`, a
    sentence each, with the first row's line."""
    path = Path(folder) / FILE
    left: dict[str, list[int]] = {"country": [], "coordinates": [], "population": []}
    if not path.is_file():
        raise UsageError(f"no GCoM data at {str(path)!r}: the data folder must hold {FILE}, as "
                         "../shared/data/gcom does")
    nodes: dict[str, Node] = {cid: Challenge(id=cid, name=name, provenance="gcom")
                              for cid, name in COMMITMENTS.values()}
    rels: list[Relationship] = []
    valid = country_codes()
    groups: dict[str, tuple[str, str, list[str]]] = {}  # group id: (name, how its cities committed, cities)
    columns = ("organisation_id", "organisation_name", "coordinator_name", "supporter_name", "country_code",
               "population_adhesion", "organisation_latitude", "organisation_longitude", *COMMITMENTS)
    for line, row in read_rows(path, columns, what=f"the GCoM signatories sheet as a CSV ({FILE}, comma-separated)"):
        country = COUNTRY_FIX.get(row["country_code"].upper(), row["country_code"].upper())
        if country not in valid:
            left["country"].append(line)
            continue
        city_id = f"gcom-{row['organisation_id']}"
        lat, lon = _float(row["organisation_latitude"]), _float(row["organisation_longitude"])
        located = lat is not None and lon is not None and -90 <= lat <= 90 and -180 <= lon <= 180
        population = row["population_adhesion"]
        if not located:  # blank ("-"), or decimal commas: two of those nine have latitude and longitude swapped
            left["coordinates"].append(line)  # (Brescia would be in Somalia), so none is guessed
        if not population.replace(".", "").isdigit():
            left["population"].append(line)
        nodes[city_id] = City(id=city_id, name=row["organisation_name"].strip() or city_id, country=country,
                              population=int(float(population)) if population.replace(".", "").isdigit() else None,
                              latitude=lat if located else None, longitude=lon if located else None,
                              provenance=LICENCE)
        for flag, (challenge, _) in COMMITMENTS.items():
            if row[flag] == "True":
                rels.append(Faces(source=city_id, target=challenge))
        for kind, column, sector in (("coordinator", "coordinator_name", "public-agency"),
                                     ("supporter", "supporter_name", "network")):
            name = row[column].strip()
            if name and name != "-":
                pid = _partner_id(kind, name)
                nodes.setdefault(pid, Partner(id=pid, name=name, sector=sector, provenance=f"gcom {kind}"))
                rels.append(PartnersWith(source=pid, target=city_id))
        group = (row.get("group_organisation_id") or "-").strip()
        if group != "-":
            name = (row.get("group_name") or "").strip()
            groups.setdefault(group, (name if name not in ("", "-") else f"group {group}",
                                      (row.get("adhesion_type") or "").strip(), []))[2].append(city_id)
    faced = faced_by(rels)
    for group, (name, how, cities) in groups.items():
        cohort = f"gcom-group-{group}"
        nodes[cohort] = Cohort(id=cohort, name=name, programme="GCoM joint action plan", provenance=LICENCE,
                               description=how if how.startswith("As a group") else None)
        lead = f"gcom-{group}"  # the group's own signatory row (a union of municipalities, say), if listed
        members = [lead] if lead in nodes and lead not in cities else []
        rels += [MemberOf(source=city, target=cohort, role="lead" if city == lead else None)
                 for city in [*members, *cities]]
        rels += covers(cohort, [*members, *cities], faced)
    if notes is not None:
        said = {"country": ("row without a usable country code (ISO 3166-1 alpha-2) was left out",
                            "rows without a usable country code (ISO 3166-1 alpha-2) were left out"),
                "coordinates": ("city has no coordinates (blank, out of range, or with decimal commas)",
                                "cities have no coordinates (blank, out of range, or with decimal commas)"),
                "population": ("city has no population (blank or not a number)",
                               "cities have no population (blank or not a number)")}
        notes += [f"{len(lines):,} {said[what][len(lines) > 1]}; the first at {path.name}:{lines[0]}"
                  for what, lines in left.items() if lines]
    if not any(isinstance(n, City) for n in nodes.values()):
        raise UsageError(f"{str(path)!r} has no signatory with a usable country code (an ISO 3166-1 alpha-2 code "
                         "in column country_code); expected the GCoM signatories sheet")
    return list(nodes.values()), list({r.key: r for r in rels}.values())
