"""What changed between two reports: per city the suggestions added and removed, the cities that changed
learning group (their group-mates differ; group numbers alone may shift), with both reports' data version,
inputs hash and parameters.

>>> old = {"data_version": 1, "inputs_sha256": "a", "parameters": {"k": 2}, "groups": [],
...        "cities": [{"id": "x", "name": "X", "peers": [{"id": "y"}, {"id": "z"}]}]}
>>> new = {**old, "data_version": 2, "cities": [{"id": "x", "name": "X", "peers": [{"id": "y"}, {"id": "w"}]}]}
>>> diff_reports(old, new)["changed_cities"]
[{'id': 'x', 'name': 'X', 'added': ['w'], 'removed': ['z']}]
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from graph.errors import UsageError
from reports.build import SCHEMA


def load_report(folder: str | Path) -> dict[str, Any]:
    path = Path(folder) / "report.json"
    if not path.is_file():
        raise UsageError(f"{str(folder)!r} holds no report.json; give a folder written by `citypeers report`")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise UsageError(f"{str(path)!r} is not valid JSON ({exc.msg}, line {exc.lineno})") from None
    if not isinstance(data, dict) or data.get("schema") != SCHEMA:
        found = data.get("schema") if isinstance(data, dict) else type(data).__name__
        raise UsageError(f"{str(path)!r} is not a citypeers report (schema {found!r}; expected {SCHEMA!r})")
    return data


def _mates(report: dict[str, Any]) -> dict[str, frozenset[str]]:
    out = {}
    for group in report.get("groups") or []:
        ids = frozenset(c["id"] for c in group["cities"])
        out.update({c: ids - {c} for c in ids})
    return out


def _number(report: dict[str, Any]) -> dict[str, int]:
    return {c["id"]: g["number"] for g in report.get("groups") or [] for c in g["cities"]}


def diff_reports(old: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
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
    params_old, params_new = old["parameters"], new["parameters"]
    return {
        "old": {"data_version": old["data_version"], "inputs_sha256": old["inputs_sha256"], "parameters": params_old},
        "new": {"data_version": new["data_version"], "inputs_sha256": new["inputs_sha256"], "parameters": params_new},
        "parameters_changed": sorted(k for k in params_old.keys() | params_new.keys()
                                     if params_old.get(k) != params_new.get(k)),
        "cities_added": sorted(after.keys() - before.keys()),
        "cities_removed": sorted(before.keys() - after.keys()),
        "changed_cities": changed,
        "regrouped": regrouped,
    }


def format_diff(diff: dict[str, Any]) -> str:
    """The diff as the CLI prints it."""
    old, new = diff["old"], diff["new"]
    lines = [f"old: data version {old['data_version']}, inputs {old['inputs_sha256'][:12]}, "
             f"parameters {json.dumps(old['parameters'], sort_keys=True)}",
             f"new: data version {new['data_version']}, inputs {new['inputs_sha256'][:12]}, "
             f"parameters {json.dumps(new['parameters'], sort_keys=True)}"]
    if diff["parameters_changed"]:
        lines.append(f"parameters changed: {', '.join(diff['parameters_changed'])}")
    for what in ("cities_added", "cities_removed"):
        if diff[what]:
            lines.append(f"{what.replace('_', ' ')}: {', '.join(diff[what])}")
    for c in diff["changed_cities"]:
        parts = [f"+{p}" for p in c["added"]] + [f"-{p}" for p in c["removed"]]
        lines.append(f"{c['id']}: {' '.join(parts)}")
    for c in diff["regrouped"]:
        moves = [f"left {', '.join(c['left'])}" if c["left"] else "", f"joined {', '.join(c['joined'])}"
                 if c["joined"] else ""]
        lines.append(f"{c['id']}: group {c['old_group']} -> {c['new_group']} ({'; '.join(m for m in moves if m)})")
    if not (diff["changed_cities"] or diff["regrouped"] or diff["cities_added"] or diff["cities_removed"]):
        lines.append("no suggestion or group changed")
    else:
        lines.append(f"{len(diff['changed_cities'])} cities with other suggestions, {len(diff['regrouped'])} "
                     f"changed group")
    return "\n".join(lines)
