"""The report's CSV files, one row per suggestion, from report.json's data (so both always agree).

peers.csv has a `<signal>` column per signal that any match reports (its contribution, empty where that
match has none), in the order the method lists them, then any others by name. Text cells a spreadsheet would
run as a formula (a name like `=HYPERLINK(...)` or `-Kraków`) get a leading quote, as in the bundle export
(graph.cells); numbers stay numbers. Lists within a cell are separated by "; " (names may hold commas).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from typing import Any

from graph import cells


def _csv(header: list[str], rows: Iterator[list[Any]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(map(cells.row, rows))
    return out.getvalue()


def signal_names(report: dict[str, Any]) -> list[str]:
    listed = [s["name"] for s in report["method"]["peer_signals"]]
    seen = {s["name"] for c in report["cities"] for p in c["peers"] for s in p["signals"]}
    return [n for n in listed if n in seen] + sorted(seen - set(listed))


def peers_header(signals: list[str]) -> list[str]:
    return ["city", "city_name", "rank", "peer", "peer_name", "score", *signals, "reason"]


def peer_rows(city: dict[str, Any], signals: list[str]) -> Iterator[list[Any]]:
    """peers.csv's rows for one city: each signal's contribution in its column."""
    for p in city["peers"]:
        contribution = {s["name"]: s["contribution"] for s in p["signals"]}
        yield [city["id"], city["name"], p["rank"], p["id"], p["name"], p["score"],
               *[contribution.get(s, "") for s in signals], p["reason"]]


def peers_csv(report: dict[str, Any]) -> str:
    signals = signal_names(report)
    return _csv(peers_header(signals), (row for c in report["cities"] for row in peer_rows(c, signals)))


def shared(group: dict[str, Any]) -> str:
    """A group's challenges that at least two members face, each with how many of its members do.

    >>> shared({"cities": [{}] * 5, "shared_challenges": [{"name": "Economy", "members": 3}]})
    'Economy (3 of 5)'
    """
    return "; ".join(f"{s['name']} ({s['members']} of {len(group['cities'])})" for s in group["shared_challenges"])


def groups_csv(report: dict[str, Any]) -> str:
    rows = ([g["number"], c["id"], c["name"], c["country"], g["affinity"], shared(g)]
            for g in report.get("groups", []) for c in g["cities"])
    return _csv(["group", "city", "city_name", "country", "group_affinity",
                 "group_challenges_at_least_two_members_face"], iter(rows))


def partners_csv(report: dict[str, Any]) -> str:
    rows = ([c["id"], c["name"], p["rank"], p["id"], p["name"], p["sector"], p["score"], p["reason"]]
            for c in report["cities"] for p in c.get("partners", []))
    return _csv(["city", "city_name", "rank", "partner", "partner_name", "sector", "score", "reason"], iter(rows))


def people_csv(report: dict[str, Any]) -> str:
    rows = ([c["id"], c["name"], p["leader"]["id"], p["leader"]["name"], p["rank"], p["id"], p["name"], p["role"],
             p["city"]["id"], p["score"], p["role_fit"], p["reason"]]
            for c in report["cities"] for p in c.get("people", []))
    return _csv(["city", "city_name", "leader", "leader_name", "rank", "person", "person_name", "role", "person_city",
                 "score", "role_fit", "reason"], iter(rows))


TABLES = {"peers.csv": peers_csv, "groups.csv": groups_csv, "partners.csv": partners_csv, "people.csv": people_csv}
