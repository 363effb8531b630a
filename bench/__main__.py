"""`python -m bench` (make bench): every benchmark, figures and ratios printed and written to bench/results/."""

from __future__ import annotations

import argparse
import shutil

from bench import api, explorer, foundation, listings, matching


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench")
    parser.add_argument("--cities", type=int, default=100_000, help="synthetic graph size (default 100,000)")
    parser.add_argument("--bolt-relationships", type=int, default=20_000)
    parser.add_argument("--repeats", type=int, default=foundation.REPEATS,
                        help=f"interleaved rounds of the Bolt import and its loops (default {foundation.REPEATS})")
    parser.add_argument("--only", choices=["foundation", "matching", "listings", "api", "explorer"],
                        help="run one group")
    args = parser.parse_args()
    if args.only in (None, "api") and shutil.which("wrk") is None:  # before minutes of the other groups
        raise SystemExit("the API benchmark needs wrk: apt-get install wrk (or run --only foundation|matching)")
    if args.only in (None, "foundation"):
        foundation.run(cities=args.cities, bolt_relationships=args.bolt_relationships, repeats=args.repeats)
    if args.only in (None, "matching"):
        matching.run(cities=10_000)  # the Cypher baseline is timed at 10k cities, where its load takes seconds
        if args.cities > 10_000:
            matching.run(cities=args.cities, cypher=False, all_cities=True)
    if args.only in (None, "listings"):
        listings.run(cities=args.cities)
    if args.only in (None, "api"):
        api.run(cities=10_000)
    if args.only in (None, "explorer"):
        explorer.run()  # 1k, 10k and 100k cities in headless Chromium


if __name__ == "__main__":
    main()
