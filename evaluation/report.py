"""Evaluation tables as text, as `citypeers evaluate ...` and `citypeers tune` print them."""

from __future__ import annotations

COLUMNS = ("hit@10", "recall@10", "ndcg@10")


def _queries(n: int) -> str:
    return f"{n:,} query" if n == 1 else f"{n:,} queries"


def print_table(title: str, table: dict, *, target: float | None = None) -> None:
    """One table (evaluation.store_holdout.table): a row per ranker, a baseline that ranked queries as popularity
    did marked so, then the engine against the best baseline, with what the figures can bear."""
    rows = table["rows"]
    queries = next(iter(rows.values()))["queries"] if rows else 0
    print(f"\n{title}: {_queries(queries)}")
    if not queries:
        print(f"  (none: {table.get('none', 'no such links to hide in this store')})")
        return
    width = max(len(n) for n in rows) + 2
    same = table.get("same as", {})
    print(f"  {'ranker':<{width}}" + "".join(f"{c:>12}" for c in COLUMNS))
    for name, metrics in rows.items():
        mark = ""
        if name in same:
            other, alike = same[name]
            mark = f"  = {other}" + ("" if alike == queries else f" on {alike:,} of {queries:,}")
        print(f"  {name:<{width}}" + "".join(f"{metrics[c]:>12.3f}" for c in COLUMNS) + mark)
    if same:
        print("  = X: the same top 10 as X for every query (or as many as said); a baseline ranks by popularity "
              "where the store lacks what it uses (coordinates, challenges, cohorts, countries)")
    if table.get("best"):
        best, engine = table["best"], rows["engine"]["recall@10"]
        goal = f"; target >= {target:g}x" if target and table["ratio"] is not None else ""
        if table["ratio"] is None:
            versus = f"engine {engine:.3f}; no baseline finds a hit, so no ratio"
        else:
            versus = (f"engine {engine:.3f} = {table['ratio']:.2f}x the best baseline ({best}, "
                      f"{rows[best]['recall@10']:.3f})")
        if table["interval"] is None:
            spread = f"{_queries(queries)}: too few for an interval"
        else:
            low, high = table["interval"]
            spread = f"95% bootstrap interval [{low:+.3f}, {high:+.3f}]"
        print(f"  recall@10: {versus}; difference {table['difference']:+.3f}, {spread}{goal}")


def print_store_report(report: dict) -> None:
    print(f"hidden: {report['hidden memberships']} city-cohort memberships, "
          f"{report['hidden partner links']} partner links")
    for title in ("peers", "peers on the cohort's themes", "partners"):
        print_table(title, report[title], target=1.1)
