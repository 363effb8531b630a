"""`citypeers report cohort|network|diff`: the report subcommands (cli.py registers them with `register`)."""

from __future__ import annotations

import argparse
import dataclasses
import gc
import json
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from graph.errors import UsageError
from reports.params import PER_CITY, Parameters, exposure_cap, parse_formats
from reports.words import plural

BAR = {"file": sys.stderr, "delay": 1.0, "mininterval": 0.5, "leave": False}  # shown once a step takes over 1 s


@contextmanager
def _bar(total: int, desc: str) -> Iterator[Callable[[int], None]]:
    from tqdm import tqdm

    with tqdm(total=total, desc=desc, unit=" cities", **BAR) as bar:
        yield lambda done: bar.update(done - bar.n)


def _snapshot(args: argparse.Namespace):
    from cli import _store
    from matching.engine import Engine

    with _store(args) as store:
        started = time.perf_counter()
        fitted = Engine(store).current()
    if time.perf_counter() - started > 1:
        print(f"read and fitted data version {fitted.version} in {time.perf_counter() - started:.1f} s",
              file=sys.stderr)
    return fitted


def _parameters(args: argparse.Namespace, *, groups: bool) -> Parameters:
    cap = exposure_cap(args.k, args.max_exposure, args.no_cap, names=("--max-exposure", "--no-cap"))
    if not groups:
        return Parameters(k=args.k, max_exposure=cap)
    size = args.size or (Parameters.min_size, Parameters.max_size)  # not given: see cmd_cohort
    return Parameters(k=args.k, min_size=size[0], max_size=size[1], min_countries=args.min_countries,
                      must_pair=tuple(args.must_pair), cannot_pair=tuple(args.cannot_pair), max_exposure=cap,
                      seed=args.seed, partners=args.partners, people=args.people)


@contextmanager
def _missing_glyphs(*, say: bool) -> Iterator[None]:
    """matplotlib's warning per character its fonts lack (every Hangul syllable of a name, twice a figure) as one
    line when a PDF is written (`say`): there such characters show as boxes unless another installed font has
    them; a browser draws the HTML's figures with its own fonts."""
    import re
    import warnings

    with warnings.catch_warnings(record=True) as caught:
        warnings.filterwarnings("always", message=r"Glyph \d+ .* missing from font", category=UserWarning)
        yield
    missing: set[str] = set()
    for w in caught:
        found = re.match(r"Glyph (\d+) ", str(w.message))
        if found and issubclass(w.category, UserWarning):
            missing.add(chr(int(found.group(1))))
        else:
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    if missing and say:
        shown = " ".join(sorted(missing)[:10]) + (" ..." if len(missing) > 10 else "")
        print(f"citypeers: warning: the report's fonts (DejaVu Sans, Noto Sans) lack "
              f"{plural(len(missing), 'character')} of the names ({shown}): they show as boxes in report.pdf unless "
              "another installed font has them (Noto Sans CJK for Chinese, Japanese and Korean)", file=sys.stderr)


def _say_cap(summary: dict[str, Any]) -> None:
    """The exposure cap's outcome, on stderr when it could not hold: never silently."""
    exposure = summary["exposure"]
    if exposure["cap"] is None:
        print("exposure: no cap set", file=sys.stderr)
    elif exposure["cap_held"]:
        print(f"exposure cap {exposure['cap']} held (at most {plural(exposure['max'], 'list')} per city)")
    else:
        over = ", ".join(f"{c['id']} ({c['times']})" for c in exposure["over_cap"][:10])
        print(f"citypeers: warning: the exposure cap of {exposure['cap']} could not hold for "
              f"{plural(len(exposure['over_cap']), 'city', 'cities')}: {over}", file=sys.stderr)
        for b in exposure["cap_breaks"][:10]:
            print(f"  {b['reason']}", file=sys.stderr)
        if len(exposure["cap_breaks"]) > 10:
            print(f"  ... {len(exposure['cap_breaks']) - 10} more in report.json", file=sys.stderr)
    short = summary["coverage"]["short"]
    if short:
        got = "city got" if len(short) == 1 else "cities got"
        print(f"citypeers: warning: {len(short)} {got} fewer than {plural(summary['coverage']['k'], 'suggestion')}, "
              f"e.g. {short[0]['id']}: {short[0]['why']}", file=sys.stderr)


def _say_written(out: Path, written: list[Path], stale: list[Path], started: float) -> None:
    print(f"wrote {', '.join(p.name for p in written)} to {out} in {time.perf_counter() - started:.1f} s")
    if stale:
        print(f"removed {', '.join(p.name for p in stale)}: an earlier report's, not written this time")


def cmd_cohort(args: argparse.Namespace) -> int:
    from reports.build import cohort_report
    from reports.diff import check_comparable, diff_reports, load_report
    from reports.write import check_out, write_cohort

    check_out(args.out)
    formats = parse_formats(args.format)
    params = _parameters(args, groups=True)
    old = load_report(args.compare) if args.compare else None  # a bad folder fails before the long part
    if old is not None:  # and so does a report of another cohort
        check_comparable(old, ("cohort", args.cohort), old_label=f"--compare {str(args.compare)!r}",
                         new_label="this one")
    started = time.perf_counter()
    fitted = _snapshot(args)
    members = sum(1 for r in fitted.projection.relationships["MEMBER_OF"]
                  if r.target == args.cohort and r.source in fitted.peers.index_.city_row)
    if args.size is None:  # 4-6, or what a smaller cohort needs, said as `citypeers groups` says it
        from cli import group_sizes

        size = group_sizes(fitted.projection, args.cohort)
        params = dataclasses.replace(params, min_size=size[0], max_size=size[1])
    with _bar(2 * members, "report") as progress:
        report = cohort_report(fitted, args.cohort, params, progress=progress)
    del fitted  # the engine (most of this process's memory at 100k cities) is not needed for the files
    gc.collect()
    diff = diff_reports(old, report) if old is not None else None
    if diff is not None:
        report = {**{k: v for k, v in report.items() if k != "cities"}, "compare": diff, "cities": report["cities"]}
    if {"html", "pdf"} & set(formats) and len(report["cities"]) > 50:  # what takes a while: figures, pages
        print(f"drawing and rendering {len(report['cities'])} cities' pages ...", file=sys.stderr)
    with _missing_glyphs(say="pdf" in formats):
        written, stale = write_cohort(args.out, report, formats,
                                      generated_at=time.strftime("%Y-%m-%d %H:%M:%S %Z"), diff=diff)
    summary = report["summary"]
    groups = len(report["groups"])
    print(f"{report['cohort']['name']}: {plural(report['counts']['cities'], 'city', 'cities')}, "
          f"{plural(summary['suggestions'], 'suggestion')}, "
          f"{plural(groups, 'learning group')} (objective {summary['groups']['objective']:.3f}, "
          f"random {summary['groups']['random_mean']:.3f}); exposure Gini {summary['exposure']['gini']:.3f}")
    _say_cap(summary)
    if diff is not None:
        print(f"compared with {args.compare}: {plural(len(diff['changed_cities']), 'city', 'cities')} with other "
              f"suggestions, {len(diff['regrouped'])} changed group")
    _say_written(args.out, written, stale, started)
    return 0


def cmd_network(args: argparse.Namespace) -> int:
    from reports.network import network_report
    from reports.write import check_out, write_network

    check_out(args.out)
    formats = parse_formats(args.format, ("csv", "json"), "a network report")
    params = _parameters(args, groups=False)
    started = time.perf_counter()
    fitted = _snapshot(args)
    if not fitted.peers.index_.city_ids:
        raise UsageError("the store holds no cities, so there is nothing to report; seed it "
                         "(`citypeers seed`) or import a bundle (`citypeers import DIR`) first")
    with _bar(len(fitted.peers.index_.city_ids), "similar") as progress:
        head, cities = network_report(fitted, params, progress=progress)
    with _bar(head["counts"]["cities"], "write") as progress:
        written, stale = write_network(args.out, head, _counted(cities, progress), formats)
    summary = head["summary"]
    count = head["counts"]["cities"]
    print(f"the network: {count:,} {'city' if count == 1 else 'cities'}, {summary['suggestions']:,} suggestions; "
          f"exposure Gini {summary['exposure']['gini']:.3f}")
    _say_cap(summary)
    _say_written(args.out, written, stale, started)
    return 0


def _counted(items: Iterator[dict[str, Any]], progress: Callable[[int], None]) -> Iterator[dict[str, Any]]:
    for done, item in enumerate(items, 1):
        yield item
        progress(done)


def cmd_diff(args: argparse.Namespace) -> int:
    from reports.diff import diff_reports, format_diff, load_report

    diff = diff_reports(load_report(args.old), load_report(args.new), old_label=repr(str(args.old)),
                        new_label=repr(str(args.new)))
    print(json.dumps(diff, indent=1, ensure_ascii=False) if args.json else format_diff(diff))
    return 0


def register(commands: argparse._SubParsersAction, positive: Callable,
             group_options: Callable[[argparse.ArgumentParser], None], at_most: Callable[[int], Callable],
             path: Callable[[str], Path]) -> None:
    """Add `report` and its subcommands to the CLI's subcommands (the `positive` type, `at_most(n)` for a type
    from 1 to n, the type of a path (not empty) and the learning-group options, --size, --min-countries,
    --must-pair and --cannot-pair, from cli.py, shared with `groups`). --k, --partners and --people go to
    PER_CITY, as `Parameters` takes them."""
    per_city = at_most(PER_CITY)
    about = "matching reports: HTML, PDF, CSV and JSON of a cohort's suggestions and groups; diffs of two reports"
    report = commands.add_parser("report", help=about, description=about)
    what = report.add_subparsers(dest="what", metavar="WHAT", required=True)

    def capped(sub: argparse.ArgumentParser, k: int) -> None:
        sub.add_argument("--out", type=path, required=True, help="folder to write into (created if missing)")
        sub.add_argument("--k", type=per_city, default=k,
                         help=f"peer suggestions per city, 1 to {PER_CITY} (default {k})")
        sub.add_argument("--max-exposure", type=positive, help="most lists one city may be suggested in "
                         "(default 2 x k); when it cannot hold, the report and this command say where and why")
        sub.add_argument("--no-cap", action="store_true", help="no exposure cap")

    cohort = what.add_parser("cohort", help="a cohort's report: peers, partners, people, learning groups, figures",
                             description="A cohort's report into --out: report.json, peers.csv, groups.csv, "
                                         "partners.csv, people.csv, index.html and report.pdf.")
    cohort.set_defaults(func=cmd_cohort)
    cohort.add_argument("cohort", help="cohort id, e.g. eu-digital-services")
    capped(cohort, 5)
    group_options(cohort)
    cohort.add_argument("--seed", type=int, default=0, help="seed of the group search and layouts (default 0)")
    cohort.add_argument("--partners", type=per_city, default=3,
                        help=f"partner organisations per city, 1 to {PER_CITY} (default 3)")
    cohort.add_argument("--people", type=per_city, default=3,
                        help=f"people per leader of a city, 1 to {PER_CITY} (default 3)")
    cohort.add_argument("--format", default="html,pdf,csv,json", help="comma-separated html,pdf,csv,json (default all)")
    cohort.add_argument("--compare", type=path, metavar="OLD_DIR",
                        help="an earlier report's folder: list the changes and mark what is new")
    network = what.add_parser("network", help="every city's peers, exposure and coverage (csv, json), at any size",
                              description="Every city's peers by the challenge signal (computed for all at once), "
                                          "with exposure and coverage, into --out: report.json and peers.csv.")
    network.set_defaults(func=cmd_network)
    capped(network, 10)
    network.add_argument("--format", default="csv,json", help="csv, json or both (default)")
    diff = what.add_parser("diff", help="what changed between two reports: suggestions per city, groups",
                           description="Per city the suggestions added and removed, the cities that changed "
                                       "learning group, with both reports' data version and parameters.")
    diff.set_defaults(func=cmd_diff)
    diff.add_argument("old", type=path, help="the earlier report's folder")
    diff.add_argument("new", type=path, help="the later report's folder")
    diff.add_argument("--json", action="store_true", help="print the diff as JSON")
