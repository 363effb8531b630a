"""Evaluation tables as text, as `citypeers evaluate ...` and `citypeers tune` print them."""

from __future__ import annotations

COLUMNS = ("hit@10", "recall@10", "ndcg@10")


def print_table(title: str, table: dict, *, target: float | None = None) -> None:
    rows = table["rows"]
    queries = next(iter(rows.values()))["queries"] if rows else 0
    print(f"\n{title}: {queries} queries")
    if not queries:
        print("  (none: no such links to hide in this store)")
        return
    width = max(len(n) for n in rows) + 2
    print(f"  {'ranker':<{width}}" + "".join(f"{c:>12}" for c in COLUMNS))
    for name, metrics in rows.items():
        print(f"  {name:<{width}}" + "".join(f"{metrics[c]:>12.3f}" for c in COLUMNS))
    if table.get("best"):
        low, high = table["interval"]
        goal = f"; target >= {target:g}x" if target else ""
        print(f"  recall@10: engine {rows['engine']['recall@10']:.3f} = {table['ratio']:.2f}x the best baseline "
              f"({table['best']}, {rows[table['best']]['recall@10']:.3f}); difference {table['difference']:+.3f}, "
              f"95% bootstrap interval [{low:+.3f}, {high:+.3f}]{goal}")


def print_store_report(report: dict) -> None:
    print(f"hidden: {report['hidden memberships']} city-cohort memberships, "
          f"{report['hidden partner links']} partner links")
    for title in ("peers", "peers on the cohort's themes", "partners"):
        print_table(title, report[title], target=1.1)
