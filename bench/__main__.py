"""`python -m bench` (make bench): every benchmark, figures and ratios printed and written to bench/results/."""

from __future__ import annotations

import argparse

from bench import foundation


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench")
    parser.add_argument("--cities", type=int, default=100_000, help="synthetic graph size (default 100,000)")
    parser.add_argument("--bolt-relationships", type=int, default=4_000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    foundation.run(cities=args.cities, bolt_relationships=args.bolt_relationships, repeats=args.repeats)


if __name__ == "__main__":
    main()
