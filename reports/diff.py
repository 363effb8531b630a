"""What changed between two reports of the same cohort (or two network reports): per city the suggestions
added and removed, the cities that changed learning group (their group-mates differ; group numbers alone may
shift), with both reports' data version, inputs hash, parameters and signal weights (weights `citypeers tune`
stored change suggestions at the same data version). Reports of different cohorts, or a cohort report and a
network report, are not compared: every city would show as added or removed.

>>> method = {"peer_signals": [{"name": "challenges", "weight": 1.0}], "partner_signals": [], "weights_source": "s"}
>>> old = {"kind": "cohort", "cohort": {"id": "c", "name": "C"}, "data_version": 1, "inputs_sha256": "a",
...        "parameters": {"k": 2}, "method": method, "groups": [],
...        "cities": [{"id": "x", "name": "X", "peers": [{"id": "y", "name": "Y"}, {"id": "z", "name": "Z"}]}]}
>>> new = {**old, "data_version": 2,
...        "cities": [{"id": "x", "name": "X", "peers": [{"id": "y", "name": "Y"}, {"id": "w", "name": "W"}]}]}
>>> diff_reports(old, new)["changed_cities"]
[{'id': 'x', 'name': 'X', 'added': ['w'], 'removed': ['z']}]
>>> format_diff(diff_reports(old, new)).splitlines()[-2]
'X (x): + W (w); - Z (z)'
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from graph.errors import UsageError, shown
from reports.build import SCHEMA
from reports.words import plural

# What a diff reads of a report, by field: a report.json without one of them is refused when it is loaded
# (before a --compare computes anything), naming the field.
NEEDED: dict[str, type | tuple[type, ...]] = {
    "kind": str, "cohort": (dict, type(None)), "data_version": int, "inputs_sha256": str, "parameters": dict,
    "method": dict, "cities": list}
METHOD = {"peer_signals": list, "partner_signals": list, "weights_source": str}


def load_report(folder: str | Path) -> dict[str, Any]:
    path = Path(folder) / "report.json"
    if not path.is_file():
        raise UsageError(f"{str(folder)!r} holds no report.json; give a folder written by `citypeers report`")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise UsageError(f"{str(path)!r} is not valid JSON ({exc.msg}, line {exc.lineno})") from None
    except UnicodeDecodeError as exc:  # a report is written as UTF-8; this one was damaged or is another file
        raise UsageError(f"{str(path)!r} is not UTF-8 text (byte {exc.object[exc.start:exc.end]!r} at offset "
                         f"{exc.start:,}); give a folder written by `citypeers report`") from None
    if not isinstance(data, dict) or data.get("schema") != SCHEMA:
        found = data.get("schema") if isinstance(data, dict) else type(data).__name__
        raise UsageError(f"{str(path)!r} is not a citypeers report (schema {found!r}; expected {SCHEMA!r})")
    problem = _incomplete(data)
    if problem:
        raise UsageError(f"{str(path)!r} is not a complete citypeers report: {problem}")
    return data


def _incomplete(data: dict[str, Any]) -> str | None:
    """The first field a diff needs that `data` lacks (or holds as the wrong type), as a sentence; else None.

    >>> _incomplete({"schema": SCHEMA})
    "it has no 'kind'"
    """

    def lacks(where: str, obj: Any, fields: dict[str, Any]) -> str | None:
        for key, kind in fields.items():
            if not isinstance(obj, dict) or key not in obj:
                return f"{where or 'it'} has no {key!r}"
            if not isinstance(obj[key], kind):
                return f"{where + '.' if where else ''}{key} is {type(obj[key]).__name__}, not {_name(kind)}"
        return None

    problem = lacks("", data, NEEDED) or lacks("method", data["method"], METHOD)
    if problem:
        return problem
    if data["kind"] not in ("cohort", "network"):  # "banana" was taken, and diffed as "the banana" (2026-12-07)
        return f"its kind is {shown(data['kind'])}, not 'cohort' or 'network'"
    if data["kind"] == "cohort":  # a cohort report's groups too: without them a diff said no group changed
        problem = lacks("cohort", data["cohort"], {"id": str, "name": str}) or lacks("", data, {"groups": list})
    for n, signal in enumerate([*data["method"]["peer_signals"], *data["method"]["partner_signals"]]):
        problem = problem or lacks(f"method signal {n + 1}", signal, {"name": str, "weight": (int, float)})
    for n, city in enumerate(data["cities"]):
        problem = problem or lacks(f"cities[{n}]", city, {"id": str, "name": str, "peers": list})
        for m, peer in enumerate(city.get("peers", []) if isinstance(city, dict) else []):
            problem = problem or lacks(f"cities[{n}].peers[{m}]", peer, {"id": str})
    if not isinstance(data.get("groups") or [], list):
        return f"groups is {type(data['groups']).__name__}, not list"
    for n, group in enumerate(data.get("groups") or []):
        problem = problem or lacks(f"groups[{n}]", group, {"number": int, "cities": list})
        for m, city in enumerate(group.get("cities", []) if isinstance(group, dict) else []):
            problem = problem or lacks(f"groups[{n}].cities[{m}]", city, {"id": str})
    return problem


def _name(kind: type | tuple[type, ...]) -> str:
    return " or ".join(k.__name__ for k in kind) if isinstance(kind, tuple) else kind.__name__


def subject(report: dict[str, Any]) -> tuple[str, str | None]:
    """What a report is about: ("cohort", its id) or ("network", None)."""
    return report["kind"], (report["cohort"] or {}).get("id")


def _describe(report: dict[str, Any]) -> str:
    if report["kind"] != "cohort":
        return f"the {report['kind']}"
    return f"cohort {report['cohort']['id']!r} ({report['cohort']['name']})"


def check_comparable(old: dict[str, Any], about: tuple[str, str | None], *, old_label: str = "the old report",
                     new_label: str = "the new report") -> None:
    """Refuse to compare `old` with a report about `about` (see `subject`) when they describe other cohorts or
    kinds: a usage error saying what each is about."""
    if subject(old) == about:
        return
    kind, cohort = about
    new = f"cohort {cohort!r}" if kind == "cohort" else f"the {kind}"
    raise UsageError(f"{old_label} is a report of {_describe(old)}, {new_label} of {new}: a diff compares two "
                     f"reports of the same cohort (or two network reports), so nothing was compared")


def _mates(report: dict[str, Any]) -> dict[str, frozenset[str]]:
    out = {}
    for group in report.get("groups") or []:
        ids = frozenset(c["id"] for c in group["cities"])
        out.update({c: ids - {c} for c in ids})
    return out


def _number(report: dict[str, Any]) -> dict[str, int]:
    return {c["id"]: g["number"] for g in report.get("groups") or [] for c in g["cities"]}


def _names(*reports: dict[str, Any]) -> dict[str, str]:
    """Every city's name the reports give (a peer's too, and the later report's where both do)."""
    out: dict[str, str] = {}
    for report in reports:
        for city in report["cities"]:
            out.update({p["id"]: p["name"] for p in city["peers"] if "name" in p})
            out[city["id"]] = city["name"]
        out.update({c["id"]: c["name"] for g in report.get("groups") or [] for c in g["cities"] if "name" in c})
    return out


def _method(report: dict[str, Any]) -> dict[str, Any]:
    method = report["method"]
    return {"peer_weights": {s["name"]: s["weight"] for s in method["peer_signals"]},
            "partner_weights": {s["name"]: s["weight"] for s in method["partner_signals"]},
            "weights_source": method["weights_source"]}


def _side(report: dict[str, Any]) -> dict[str, Any]:
    return {"data_version": report["data_version"], "inputs_sha256": report["inputs_sha256"],
            "parameters": report["parameters"], **_method(report)}


def diff_reports(old: dict[str, Any], new: dict[str, Any], *, old_label: str = "the old report",
                 new_label: str = "the new report") -> dict[str, Any]:
    check_comparable(old, subject(new), old_label=old_label, new_label=new_label)
    before = {c["id"]: c for c in old["cities"]}
    after = {c["id"]: c for c in new["cities"]}
    changed = []
    for city_id in sorted(before.keys() & after.keys()):
        was = [p["id"] for p in before[city_id]["peers"]]
        now = [p["id"] for p in after[city_id]["peers"]]
        added, removed = [p for p in now if p not in was], [p for p in was if p not in now]
        if added or removed:
            changed.append({"id": city_id, "name": after[city_id]["name"], "added": added, "removed": removed})
    old_mates, new_mates = _mates(old), _mates(new)
    old_number, new_number = _number(old), _number(new)
    regrouped = [{"id": c, "name": after[c]["name"], "old_group": old_number[c], "new_group": new_number[c],
                  "left": sorted(old_mates[c] - new_mates[c]), "joined": sorted(new_mates[c] - old_mates[c])}
                 for c in sorted(old_mates.keys() & new_mates.keys() & after.keys()) if old_mates[c] != new_mates[c]]
    was, now = _side(old), _side(new)
    params_old, params_new = was["parameters"], now["parameters"]
    return {
        "old": was,
        "new": now,
        "parameters_changed": sorted(k for k in params_old.keys() | params_new.keys()
                                     if params_old.get(k) != params_new.get(k)),
        "method_changed": [k for k in ("peer_weights", "partner_weights", "weights_source") if was[k] != now[k]],
        "cities_added": sorted(after.keys() - before.keys()),
        "cities_removed": sorted(before.keys() - after.keys()),
        "changed_cities": changed,
        "regrouped": regrouped,
        "names": _names(old, new),
    }


def weights_changed(old: dict[str, float], new: dict[str, float]) -> str:
    """The signal weights that differ, as "name old -> new" ("-" where a report has no such signal).

    >>> weights_changed({"challenges": 0.5, "text": 0.5}, {"challenges": 0.25, "text": 0.5, "cohorts": 0.25})
    'challenges 0.5 -> 0.25, cohorts - -> 0.25'
    """

    def show(weight: float | None) -> str:
        return "-" if weight is None else f"{weight:.3g}"

    return ", ".join(f"{n} {show(old.get(n))} -> {show(new.get(n))}" for n in [*old, *(n for n in new if n not in old)]
                     if old.get(n) != new.get(n))


def format_diff(diff: dict[str, Any]) -> str:
    """The diff as the CLI prints it: cities by name with their id."""
    old, new, names = diff["old"], diff["new"], diff.get("names", {})

    def city(c: str) -> str:
        return f"{names[c]} ({c})" if c in names else c

    lines = [f"old: data version {old['data_version']}, inputs {old['inputs_sha256'][:12]}, "
             f"parameters {json.dumps(old['parameters'], sort_keys=True)}",
             f"new: data version {new['data_version']}, inputs {new['inputs_sha256'][:12]}, "
             f"parameters {json.dumps(new['parameters'], sort_keys=True)}"]
    if diff["parameters_changed"]:
        lines.append(f"parameters changed: {', '.join(diff['parameters_changed'])}")
    for what, question in (("peer_weights", "peers"), ("partner_weights", "partners")):
        if what in diff.get("method_changed", ()):
            lines.append(f"signal weights for {question} differ, so suggestions may differ at the same data version: "
                         f"{weights_changed(old[what], new[what])}")
    if "weights_source" in diff.get("method_changed", ()):
        lines.append(f"where the weights came from differs: old: {old['weights_source']} new: {new['weights_source']}")
    for what in ("cities_added", "cities_removed"):
        if diff[what]:
            lines.append(f"{what.replace('_', ' ')}: {'; '.join(city(c) for c in diff[what])}")
    for c in diff["changed_cities"]:
        parts = [f"+ {city(p)}" for p in c["added"]] + [f"- {city(p)}" for p in c["removed"]]
        lines.append(f"{city(c['id'])}: {'; '.join(parts)}")
    for c in diff["regrouped"]:
        moves = [f"left {'; '.join(map(city, c['left']))}" if c["left"] else "",
                 f"joined {'; '.join(map(city, c['joined']))}" if c["joined"] else ""]
        lines.append(f"{city(c['id'])}: group {c['old_group']} -> {c['new_group']} "
                     f"({' | '.join(m for m in moves if m)})")
    if not (diff["changed_cities"] or diff["regrouped"] or diff["cities_added"] or diff["cities_removed"]):
        lines.append("no suggestion or group changed")
    else:
        lines.append(f"{plural(len(diff['changed_cities']), 'city', 'cities')} with other suggestions, "
                     f"{len(diff['regrouped'])} changed group")
    return "\n".join(lines)
