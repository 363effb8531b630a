"""Timing and reporting helpers shared by the benchmarks."""

from __future__ import annotations

import json
import platform
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).resolve().parent / "results"


def timed(func: Callable[[], Any]) -> tuple[float, Any]:
    start = time.perf_counter()
    value = func()
    return time.perf_counter() - start, value


def median_of(runs: list[float]) -> float:
    return statistics.median(runs)


def verdict(ok: bool) -> str:
    return "meets target" if ok else "MISSES target"


def report(name: str, rows: list[tuple[str, str, str]], data: dict[str, Any]) -> Path:
    """Print a table (figure, value, note) and write bench/results/<name>.json."""
    width = max(len(r[0]) for r in rows)
    print(f"\n== {name} ==")
    for label, value, note in rows:
        print(f"  {label:<{width}}  {value:>16}  {note}")
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / f"{name}.json"
    data = {"benchmark": name, "when": time.strftime("%Y-%m-%dT%H:%M:%S"), "machine": platform.machine(),
            "python": platform.python_version(), **data}
    out.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    print(f"  -> {out.relative_to(RESULTS.parent.parent)}")
    return out
