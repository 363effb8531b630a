"""The `citypeers` command. Every failure prints one clear message (no traceback) and exits non-zero (2).

The store for every command: --store URL (before or after the command), else $CITYPEERS_STORE, else
sqlite:///citypeers.db. Only `seed`, `import` and `serve` create a SQLite store that does not exist yet.
"""

from __future__ import annotations

import argparse
import math
import os
import re
import sys
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any, NoReturn

from graph.errors import CitypeersError, UsageError, ValidationError, one_line
from graph.store import GraphStore

EXIT_ERROR = 2
MAX_K = 1000  # the most matches a recommendation gives (matching.peers, matching.partners, matching.similar)
# `generate`: the ids' zero-padded numbers (syn-city-000000, syn-ch-0000) hold this many; far more cities were
# killed by the kernel, out of memory, with a half-written folder left behind (1e14: 24 GB in seconds)
MAX_CITIES, MAX_CHALLENGES = 1_000_000, 10_000


@contextmanager
def _store(args: argparse.Namespace, *, create: bool = False, keep: bool = True,
           writes: bool = False) -> Iterator[GraphStore]:
    """The store named by --store / $CITYPEERS_STORE, closed when the command is done. A missing SQLite
    file is an error unless `create` (seed, import, serve); a file created for a command that then fails
    before anything is committed to it, or that asked not to `keep` it (a dry run), is removed again (its
    folder stays). A store that holds a committed write stays, whatever fails after it (an import's re-tune
    interrupted). A command that `writes` is refused a read-only SQLite store before it starts its work (an
    import's validation, a tune's fit)."""
    from graph.sqlite_store import SQLiteStore
    from graph.store import open_store, sqlite_path

    path = sqlite_path(args.store) if create else None
    new = path is not None and not os.path.exists(path)
    store, done = None, False
    try:
        store = open_store(args.store, create=create)  # inside: a SIGTERM while it creates the file removes it
        if writes and isinstance(store, SQLiteStore):
            store.check_writable()
        yield store
        done = True
    finally:
        if store is not None:
            if new and keep and not done:
                with suppress(Exception):  # a store that cannot say keeps nothing worth keeping
                    done = store.version() > 0
            store.close()
        if new and not (done and keep):
            for suffix in ("", "-wal", "-shm", "-journal"):
                with suppress(NotADirectoryError):  # a file where its folder should be: the error said so
                    Path(path + suffix).unlink(missing_ok=True)


def cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    from http_head import BoundedHead
    from server import Settings, create_app, serving_process

    settings = Settings.from_env(store_url=args.store)
    _check_port_free(args.host, args.port)
    if args.seed_if_empty:
        from seeds import load_seeds

        with _store(args, create=True) as store:
            if store.version() == 0:
                result = load_seeds(store)
                print(f"seeded an empty store at {store.url}: {result.changed} nodes and relationships",
                      file=sys.stderr)
    serving_process(settings.blas_threads)
    # our request log replaces uvicorn's access log: one JSON line per request, with its duration; heads bounded
    uvicorn.run(create_app(settings), host=args.host, port=args.port, log_level="info", access_log=False,
                http=BoundedHead)
    return 0


def _check_port_free(host: str, port: int) -> None:
    """A usage error (exit 2) when --host is not an address of this machine or HOST:PORT is taken, before anything
    starts. The probe binds as uvicorn does, with SO_REUSEADDR (on POSIX): a port whose server has just stopped,
    its last connections in TIME-WAIT, is free to serve on again; a port another process listens on is not."""
    import errno
    import socket

    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as probe:
        if os.name != "nt":  # there it would let two servers share a port
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except socket.gaierror as exc:
            raise UsageError(f"--host {host!r} is not a known host name or address ({exc.strerror}); give an "
                             "address of this machine, e.g. 127.0.0.1, or 0.0.0.0 for all of them") from exc
        except OSError as exc:
            if exc.errno == errno.EADDRNOTAVAIL:
                raise UsageError(f"--host {host!r} is not an address of this machine ({exc.strerror}); give one of "
                                 "its addresses, e.g. 127.0.0.1, or 0.0.0.0 for all of them") from exc
            raise UsageError(f"cannot serve on {host}:{port}: {exc.strerror or exc}; another process may be "
                             "using the port: choose another with --port") from exc


def cmd_seed(args: argparse.Namespace) -> int:
    from seeds import load_seeds

    with _store(args, create=True, writes=True) as store:
        result = load_seeds(store)
        print(f"seeded {store.url}: {result.changed} changes, data version {result.version}")
    return 0


def cmd_import(args: argparse.Namespace) -> int:
    from graph.bundle import check_bundle_path, import_bundle

    check_bundle_path(args.path)  # before a store is created for it
    with _store(args, create=True, keep=not args.dry_run, writes=not args.dry_run) as store:
        report = import_bundle(store, args.path, dry_run=args.dry_run, progress=sys.stderr.isatty() or args.progress)
        counts = ", ".join(f"{n:,} {kind}" for kind, n in report.counts.items()) or "nothing"
        if report.dry_run:
            print(f"{args.path} is valid: {counts}; nothing written (dry run)")
            return 0
        print(f"imported {counts}: {report.changed:,} changes, data version {report.version}")
        if report.changed and not args.no_tune:  # the weights follow the data they were learned from
            try:
                tuned, _ = _tune(store, seed=0, share=0.2, queries=2000)
            except KeyboardInterrupt:
                print(f"the import is saved (data version {report.version}); its matching weights were not "
                      "re-learned: run 'citypeers tune'", file=sys.stderr)
                raise
            print(f"matching weights: {tuned.describe()}")
    return 0


def _tune(store: GraphStore, *, seed: int, share: float, queries: int | None, dry_run: bool = False) -> tuple:
    """`citypeers tune` on `store`: (the TunedWeights, the test half's tables); stored unless `dry_run`."""
    from evaluation.tune import tune
    from graph.projection import Projection
    from matching.tuning import save_weights

    projection = Projection.from_store(store)
    print(f"{store.url}: fitting signal weights on a hold-out of its own links (seed {seed}) ...", file=sys.stderr)
    with _one_blas_thread():
        tuned, tables = tune(projection, seed=seed, share=share, max_queries=queries)
    if not dry_run:
        save_weights(store, tuned)
    return tuned, tables


def export_format(path: Path, given: str | None) -> str:
    """The export format: as given, else from the file name (.jsonl, .graphml, .gexf, .json; a name without
    one of these is a CSV folder).

    >>> export_format(Path("x.jsonl"), None), export_format(Path("out/bundle"), None), export_format(Path("g"), "gexf")
    ('jsonl', 'csv', 'gexf')
    """
    from graph.bundle import FORMATS
    from graph.projection import GRAPH_FORMATS

    if given is not None:
        return given
    suffix = path.suffix.lstrip(".").lower()
    if suffix in (*FORMATS, *GRAPH_FORMATS) and suffix != "csv":
        return suffix
    if suffix:
        raise UsageError(f"cannot tell the format of {str(path)!r} from its name; give --format "
                         f"({', '.join((*FORMATS, *GRAPH_FORMATS))}), or a folder name for a CSV bundle")
    return "csv"


def _bar(desc: str, unit: str, total: int | None = None) -> Any:
    """A progress bar on stderr (shown on a terminal only)."""
    from tqdm import tqdm

    return tqdm(total=total, desc=desc, unit=unit, file=sys.stderr, mininterval=0.5, disable=None, leave=False)


def cmd_export(args: argparse.Namespace) -> int:
    from graph.bundle import FORMATS, export_bundle
    from graph.files import check_file, check_parents
    from graph.projection import GRAPH_FORMATS, Projection, write_graph

    args.format = export_format(args.path, args.format)
    (check_file if args.format in GRAPH_FORMATS else check_parents)(args.path)  # before the store is read
    with _store(args) as store, _bar("exporting", " rows") as bar:
        if args.format in FORMATS:
            counts = export_bundle(store, args.path, fmt=args.format, progress=bar.update)
            print(f"wrote a {args.format} bundle to {args.path}: {sum(counts.values()):,} nodes and relationships")
        elif args.format in GRAPH_FORMATS:
            graph = Projection.from_store(store).to_networkx()
            write_graph(graph, args.path, args.format)
            print(f"wrote {args.path} ({args.format}): {graph.number_of_nodes():,} nodes, "
                  f"{graph.number_of_edges():,} edges")
    return 0


def _check_new_folder(out: Path, option: str = "", *, formats: bool = False) -> None:
    """Refuse, before any work, a bundle folder that is not new or empty, or a new one named like a file of a
    format `export` writes (`--out urbact.jsonl` made a folder of that name holding CSV files)."""
    from graph.bundle import FORMATS
    from graph.projection import GRAPH_FORMATS

    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise UsageError(f"{option}{out} already exists and is not an empty folder; give a new or empty folder")
    if not out.exists() and out.suffix.lstrip(".").lower() in (*FORMATS, *GRAPH_FORMATS):
        raise UsageError(f"{option}{out} is named like a {out.suffix} file, but a bundle is a folder of files; give "
                         f"a folder name such as {out.with_suffix('')}"
                         + (" (--format jsonl writes bundle.jsonl in it)" if formats else ""))


@contextmanager
def _new_folder(out: Path, option: str = "") -> Iterator[Path]:
    """A scratch folder beside `out` to write a bundle into, renamed to `out` once it is whole, so a failure
    leaves no half-written bundle there. `out` must be new or an empty folder: files of another bundle left
    in it would import with the new ones."""
    import secrets
    import shutil

    from graph.files import check_parents

    _check_new_folder(out, option)
    check_parents(out, option)
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = out.parent / f".{out.name}.partial-{secrets.token_hex(4)}"
    partial.mkdir()
    try:
        yield partial
        if out.exists():
            out.rmdir()
        partial.rename(out)
    finally:
        shutil.rmtree(partial, ignore_errors=True)


def cmd_generate(args: argparse.Namespace) -> int:
    from graph.synthetic import generate_bundle

    with _new_folder(args.path) as folder, _bar("generating", " rows") as bar:
        counts = generate_bundle(folder, cities=args.cities, seed=args.seed, challenges=args.challenges,
                                 progress=lambda rows: bar.update(rows - bar.n))
    rels = sum(n for kind, n in counts.items() if kind.isupper())
    print(f"wrote a synthetic bundle to {args.path}: {counts.get('City', 0):,} cities, {rels:,} relationships "
          f"(seed {args.seed})")
    return 0


def cmd_status(args: argparse.Namespace) -> int:
    from graph.sqlite_store import SQLiteStore
    from graph.store import FILLING_COMMANDS, node_counts

    with _store(args) as store:
        if isinstance(store, SQLiteStore):
            store.check()  # a damaged page elsewhere would leave the counts looking fine
        counts = node_counts(store)
        if not any(counts.values()):
            print(f"{store.url}: empty (data version {store.version():,}); fill it with {FILLING_COMMANDS}")
            return 0
        shown = ", ".join(f"{n:,} {kind}" for kind, n in counts.items())
        print(f"{store.url}: data version {store.version():,}; {shown}")
        print(f"matching weights: {weights_line(store)}")
    return 0


def weights_line(store: GraphStore) -> str:
    from matching.peers import DEFAULT_WEIGHTS
    from matching.tuning import load_weights

    tuned = load_weights(store)
    if tuned is None:
        defaults = ", ".join(f"{k} {v:.3g}" for k, v in DEFAULT_WEIGHTS.items() if v > 0)
        return f"defaults (peers {defaults}); never tuned on this store: run citypeers tune"
    return tuned.describe()


def _one_blas_thread():
    """BLAS on one thread while `tune` and `evaluate` ask their thousands of queries, as a serving process
    runs them (server.serving_process): each query's axpy over a large network otherwise waits for a second
    core, which on a busy machine cost milliseconds a query (GCoM store `tune`: 2m49s under load)."""
    from threadpoolctl import threadpool_limits

    return threadpool_limits(limits=1, user_api="blas")


def cmd_tune(args: argparse.Namespace) -> int:
    from evaluation.report import print_table

    with _store(args, writes=not args.dry_run) as store:
        tuned, tables = _tune(store, seed=args.seed, share=args.share, queries=args.queries, dry_run=args.dry_run)
        print(f"matching weights: {tuned.describe()}" + (" (dry run: not stored)" if args.dry_run else ""))
    print("\nthe test half, with the weights in use:")
    for title, table in tables.items():
        print_table(title, table)
    return 0


def cmd_recommend_peers(args: argparse.Namespace) -> int:
    from matching.engine import Engine
    from matching.peers import check_population_band

    check_population_band(args.min_population, args.max_population, ("--min-population", "--max-population"))

    options = {"challenges": args.challenge or None, "country": args.country, "region": args.region,
               "exclude_known": args.exclude_known, "exclude_own_country": args.exclude_own_country,
               "min_population": args.min_population, "max_population": args.max_population, "cohort": args.cohort,
               "cohort_themes": args.themes_of}
    with _store(args) as store:
        engine = Engine(store)
        matches = engine.peers(args.city, k=args.k, **options)
        if not matches:
            print(f"no peers found for {args.city}: {engine.why_no_peers(args.city, **options)}")
    for rank, match in enumerate(matches, start=1):
        signals = ", ".join(f"{s.name} {s.contribution:.2f}" for s in match.signals if s.contribution > 0)
        print(f"{rank:>2}. {match.city.name} ({match.city.id}, {match.city.country})  score {match.score:.3f}")
        print(f"    {match.reason}")
        print(f"    signals: {signals}")
    return 0


def cmd_recommend_other(args: argparse.Namespace) -> int:
    from matching.engine import Engine

    with _store(args) as store:
        engine = Engine(store)
        if args.what == "partners":
            matches = engine.partners(args.city, k=args.k, challenge=args.challenge, sector=args.sector,
                                      country=args.country)
            lines = [(f"{m.partner.name} ({m.partner.id}, {m.partner.sector})", m.score, m.reason) for m in matches]
        elif args.what == "people":
            people = engine.people(args.leader, k=args.k)
            lines = [(f"{m.leader.name} ({m.leader.id})", m.score, m.reason) for m in people]
        else:
            lines = [(f"{m.city.name} ({m.city.id}, {m.city.country})", m.score, m.reason)
                     for m in engine.cities_for_challenge(args.challenge, k=args.k)]
    if not lines:
        print(f"no {args.what} found" + (" with these filters" if getattr(args, "sector", None) or
                                         getattr(args, "country", None) else ""))
    for rank, (title, score, reason) in enumerate(lines, start=1):
        print(f"{rank:>2}. {title}  score {score:.3f}\n    {reason}")
    return 0


def cmd_groups(args: argparse.Namespace) -> int:
    from matching.engine import Engine

    with _store(args) as store:
        engine = Engine(store)
        size = args.size or group_sizes(engine.current().projection, args.cohort)
        grouping = engine.groups(args.cohort, min_size=size[0], max_size=size[1], min_countries=args.min_countries,
                                 must_pair=args.must_pair, cannot_pair=args.cannot_pair, seed=args.seed)
    for number, group in enumerate(grouping.groups, start=1):
        names = ", ".join(f"{c.name} ({c.country})" for c in group.cities)
        shared = ", ".join(c.name for c in group.shared_challenges) or "nothing yet"
        print(f"group {number}: {names}\n    shared challenges: {shared}")
    ratio = grouping.objective / grouping.random_objective if grouping.random_objective > 0 else float("inf")
    print(f"objective {grouping.objective:.3f} (shared-challenge affinity within groups); random partitions of the "
          f"same sizes average {grouping.random_objective:.3f} ({ratio:.2f}x); seed {args.seed}")
    return 0


def _group_options(parser: argparse.ArgumentParser) -> None:
    """The learning-group options, the same for `groups` and `report cohort`."""
    parser.add_argument("--size", type=_size_range, help="group sizes (default 4-6; a cohort too small to split "
                                                          "into groups of 4 gets groups of 3 or fewer)")
    parser.add_argument("--min-countries", type=_positive, default=1, help="distinct countries per group (default 1)")
    parser.add_argument("--must-pair", type=_pair, action="append", default=[], metavar="A,B",
                        help="two city ids that must share a group (repeatable)")
    parser.add_argument("--cannot-pair", type=_pair, action="append", default=[], metavar="A,B",
                        help="two city ids that must not share a group (repeatable)")


def group_sizes(projection: Any, cohort: str) -> tuple[int, int]:
    """The group sizes when --size is not given: 4-6, or what a smaller cohort needs (said on stderr)."""
    from matching.groups import cohort_sizes

    size, note = cohort_sizes(projection, cohort)
    if note:
        print(f"citypeers: {note}", file=sys.stderr)
    return size


def _size_range(text: str) -> tuple[int, int]:
    """'4-6' (smallest and largest group) or '5' (one size), each at least 1; a malformed one says which part is
    wrong ('4-' was read as 4-4, '6-4' was only "not a size range")."""
    low, dash, high = text.strip().partition("-")
    low, high = low.strip(), high.strip()
    like = "write a range like 4-6, or one size like 5"
    if not low.isdecimal() or (dash and not high.isdecimal()):
        missing = "has no largest size" if dash and low.isdecimal() and not high else "is not a size range"
        raise argparse.ArgumentTypeError(f"{text!r} {missing}; {like}")
    smallest, largest = int(low), int(high if dash else low)
    if smallest < 1:
        raise argparse.ArgumentTypeError(f"{text!r}: a group has at least 1 city; {like}")
    if smallest > largest:
        raise argparse.ArgumentTypeError(f"{text!r} puts the smallest size above the largest; write "
                                         f"{largest}-{smallest}")
    return smallest, largest


def _pair(text: str) -> tuple[str, str]:
    a, sep, b = text.partition(",")
    if not sep or not a or not b or "," in b:  # "a,b,c" was the pair ("a", "b,c"), "no city with id 'a'"
        raise argparse.ArgumentTypeError(f"{text!r} is not a pair of city ids like riga,tallinn")
    if a == b:  # as GraphQL's mustPair / cannotPair (schema.queries.pairs)
        raise argparse.ArgumentTypeError(f"{text!r} pairs a city with itself; give two different city ids")
    return a, b


def cmd_batch(args: argparse.Namespace) -> int:
    import csv
    import json

    from graph import cells
    from graph.files import check_file, written_whole
    from matching.engine import Engine

    if args.out and args.out.suffix.lower() not in (".csv", ".json"):
        raise UsageError(f"--out {args.out}: write the suggestions to a .csv or a .json file")
    if args.out:
        check_file(args.out, "--out ")  # before the work, not when it is done
    with _store(args) as store, _bar("ranking", " cities") as bar:
        result = Engine(store).batch_peers(args.cohort, k=args.k, max_exposure=args.max_exposure,
                                           progress=lambda done: bar.update(done - bar.n))
    rows = [{"city": city, "rank": rank, "peer": m.city.id, "peer_name": m.city.name, "score": round(m.score, 6),
             "reason": m.reason} for city, matches in result.lists.items() for rank, m in enumerate(matches, 1)]
    if args.out:
        with written_whole(args.out) as out:
            if args.out.suffix.lower() == ".json":
                out.write_text(json.dumps({"gini_before": result.gini_before, "gini_after": result.gini_after,
                                           "suggestions": rows}, indent=1, ensure_ascii=False), encoding="utf-8")
            else:
                with out.open("w", newline="", encoding=cells.CSV_ENCODING) as fh:
                    writer = csv.DictWriter(fh, list(rows[0]) if rows else ["city"], lineterminator="\n")
                    writer.writeheader()
                    writer.writerows(dict(zip(row, cells.row(row.values()), strict=True)) for row in rows)
    most = max(result.exposure.items(), key=lambda kv: (kv[1], kv[0]), default=("-", 0))
    print(f"{len(result.lists):,} cities, {len(rows):,} suggestions{' -> ' + str(args.out) if args.out else ''}")
    print(f"exposure Gini {result.gini_before:.3f} plain, {result.gini_after:.3f} after coverage; most suggested: "
          f"{most[0]} ({most[1]} lists); cities with fewer than {args.k}: {result.short_lists}")
    for n, cap_break in enumerate(result.cap_breaks):  # never silently: where the cap gave way, and why
        if n == 0:
            print(f"citypeers: warning: the exposure cap of {args.max_exposure} could not hold "
                  f"{len(result.cap_breaks)} times:", file=sys.stderr)
        if n < 10:
            print(f"  {cap_break.reason}", file=sys.stderr)
    return 0


def cmd_similar(args: argparse.Namespace) -> int:
    import csv
    import time

    from tqdm import tqdm

    from graph import cells
    from graph.files import check_file, written_whole
    from matching.engine import Engine
    from matching.similar import most_similar

    if args.out.suffix.lower() != ".csv":
        raise UsageError(f"--out {args.out}: write the lists to a .csv file")
    check_file(args.out, "--out ")  # before the work (a minute at 100k cities), not when it is done
    with _store(args) as store:
        index = Engine(store).current().peers.index_
    started = time.perf_counter()
    with tqdm(total=len(index.city_ids), desc="similar", unit=" cities", file=sys.stderr, mininterval=0.5,
              disable=len(index.city_ids) < 20_000) as bar:
        result = most_similar(index, k=args.k, progress=lambda done: bar.update(done - bar.n))
    seconds = time.perf_counter() - started
    written = 0
    with written_whole(args.out) as out, out.open("w", newline="", encoding=cells.CSV_ENCODING) as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(["city", "rank", "peer", "score"])
        for i, city in enumerate(result.city_ids):
            for rank, (j, score) in enumerate(zip(result.neighbours[i], result.scores[i], strict=True), 1):
                if j >= 0:
                    writer.writerow([city, rank, result.city_ids[j], f"{score:.6f}"])
                    written += 1
    print(f"{len(result.city_ids):,} cities, {written:,} pairs in {seconds:.1f} s -> {args.out}")
    return 0


def cmd_evaluate(args: argparse.Namespace) -> int:
    from evaluation.temporal import FOCUS_RULES, GRID, urbact_report
    from evaluation.urbact import load_urbact

    data = load_urbact(args.data)
    print(f"URBACT: {len(data.cities):,} cities, {len(data.networks):,} networks; tuning weights on URBACT II ...",
          file=sys.stderr)
    with _bar("tuning", " weightings", total=len(FOCUS_RULES) * math.prod(len(v) for v in GRID.values())) as bar, \
            _one_blas_thread():
        report = urbact_report(data, progress=bar.update)
    weights = ", ".join(f"{k} {v:g}" for k, v in report["weights"].items())
    focus = "strict (only cities working on a theme)" if report["strict focus"] else "soft (any city with a reason)"
    print(f"weights chosen on URBACT II: {weights}; focus {focus}")
    held = ", ".join(f"@{k} {v:.3f}" for k, v in report["held out"].items())
    print(f"chosen by warm recall@{report['cutoff']}: on random halves of URBACT II, the weightings each cut-off "
          f"picked found in the other half's top 10 (warm recall@10) {held}")
    columns = ("hit@10", "recall@10", "warm_recall@10", "ndcg@10")
    for title in ("tuning (Urbact II)", "test (Urbact III)"):
        rows = report[title] if title.startswith("test") else {"engine": report[title]}
        print(f"\n{title}: temporal hold-out, {next(iter(rows.values()))['queries']} networks")
        print(f"  {'ranker':<30}" + "".join(f"{c:>16}" for c in columns))
        for name, metrics in rows.items():
            print(f"  {name:<30}" + "".join(f"{metrics[c]:>16.3f}" for c in columns))
    test, best = report["test (Urbact III)"], report["best baseline"]
    engine, baseline = test["engine"]["warm_recall@10"], test[best]["warm_recall@10"]
    diff, low, high = report["interval"]
    print(f"\nwarm recall@10: engine {engine:.3f} = {engine / baseline:.2f}x the best baseline ({best}, "
          f"{baseline:.3f}); target >= 1.25x; difference {diff:+.3f}, 95% interval [{low:+.3f}, {high:+.3f}]")
    return 0


def cmd_evaluate_gcom(args: argparse.Namespace) -> int:
    from evaluation.gcom import load_gcom
    from evaluation.partner_holdout import PARTNER_GRID, gcom_report

    nodes, rels = load_gcom(args.data)
    print("GCoM: tuning partner weights on a validation hold-out (seed 1), testing on another (seed 0) ...",
          file=sys.stderr)
    with _bar("tuning", " weightings", total=math.prod(len(v) for v in PARTNER_GRID.values())) as bar, \
            _one_blas_thread():
        report = gcom_report(nodes, rels, progress=bar.update)
    weights = ", ".join(f"{k} {v:g}" for k, v in report["weights"].items())
    print(f"weights chosen on the validation split: {weights} (validation recall@10 "
          f"{report['validation recall@10']:.3f}, NDCG@10 {report['validation ndcg@10']:.3f})")
    test = report["test"]
    print(f"\ntest: 20% of city-partner links hidden (seed 0), {test['engine']['cities']:,} cities")
    columns = ("hit@10", "recall@10", "ndcg@10")
    print(f"  {'ranker':<48}" + "".join(f"{c:>12}" for c in columns))
    for name, metrics in test.items():
        print(f"  {name:<48}" + "".join(f"{metrics[c]:>12.3f}" for c in columns))
    best = max((m["recall@10"], name) for name, m in test.items() if name != "engine")
    print(f"\nrecall@10: engine {test['engine']['recall@10']:.3f} = {test['engine']['recall@10'] / best[0]:.2f}x the "
          f"best baseline ({best[1]}, {best[0]:.3f})")
    near = test["30 nearest cities' partners"]
    print(f"against the 30 nearest cities' partners: recall@10 {test['engine']['recall@10'] / near['recall@10']:.2f}x "
          f"(target >= 1x), NDCG@10 {test['engine']['ndcg@10'] / near['ndcg@10']:.2f}x (target >= 1.05x)")
    return 0


def cmd_evaluate_store(args: argparse.Namespace) -> int:
    from evaluation.report import print_store_report
    from evaluation.store_holdout import store_report
    from graph.projection import Projection
    from matching.tuning import active, active_focused, active_strict_focus, load_weights

    with _store(args) as store:
        projection = Projection.from_store(store)
        tuned = load_weights(store)
    print(f"{store.url}: hiding {args.share * 100:g}% of the links of cities with two or more (seed {args.seed}) ...",
          file=sys.stderr)
    peers, partners = active(tuned)
    # weights tuned on this very hold-out are reported on its test half only (tune fitted them on the other)
    same = tuned is not None and tuned.adopted and (tuned.figures.get("seed"), tuned.figures.get("share")) == (
        args.seed, args.share)
    with _one_blas_thread():
        report = store_report(projection, weights=peers, partner_weights=partners, seed=args.seed,
                              share=args.share, max_queries=args.queries, halves=(1,) if same else (0, 1),
                              focused_weights=active_focused(tuned), strict_focus=active_strict_focus(tuned))
    print(f"weights: {tuned.describe() if tuned else 'defaults (never tuned on this store)'}"
          + ("\nthe test half only: the weights were fitted on the other half of this hold-out" if same else ""))
    print_store_report(report)
    return 0


def real_data(dataset: str, folder: Path, notes: list[str] | None = None) -> tuple[list, list]:
    """(nodes, relationships) of a real data set in ../shared/data, from the evaluation's loaders (the one
    place the CLI imports them); `notes`: what the loader left out, a sentence each."""
    if dataset == "urbact":
        from evaluation.urbact import load_urbact

        projection = load_urbact(folder).history(before=10_000)  # every network
        rels = [r for items in projection.relationships.values() for r in items]
        # a few cities are listed twice in one network (as lead and as partner): one membership, the lead's
        rels.sort(key=lambda r: getattr(r, "role", None) == "lead")
        return [n for items in projection.nodes.values() for n in items], list({r.key: r for r in rels}.values())
    from evaluation.gcom import load_gcom

    return load_gcom(folder, notes)


def cmd_data(args: argparse.Namespace) -> int:
    from graph.bundle import write_bundle

    out: Path = args.out
    _check_new_folder(out, "--out ", formats=True)  # before the data is read
    notes: list[str] = []
    nodes, rels = real_data(args.dataset, args.data, notes)
    for note in notes:
        print(f"citypeers: note: {note}", file=sys.stderr)
    with _new_folder(out, "--out ") as folder:
        counts = write_bundle(folder, nodes, rels, fmt=args.format)
    cities, total = counts.get("City", 0), sum(counts.values())
    print(f"wrote a {args.format} bundle of {args.dataset} data to {out}: {cities:,} cities, {total:,} nodes and "
          f"relationships; load it with `citypeers import {out}{'/bundle.jsonl' if args.format == 'jsonl' else ''}`")
    return 0


def cmd_token(args: argparse.Namespace) -> int:
    from graph.tokens import create_token, parse_expiry, token_hash, token_id

    expires = parse_expiry(args.expires) if args.expires is not None else None  # an empty one is refused
    with _store(args, writes=True) as store:
        token = create_token(store, name=args.name, role=args.role, expires=expires)
    article = "an" if args.role[0] in "aeiou" else "a"
    print(f"created {article} {args.role} token for {args.name!r} (id {token_id(token_hash(token))}); it is shown "
          "only now, the store keeps its hash:")
    print(token)
    return 0


def cmd_token_list(args: argparse.Namespace) -> int:
    from graph.tokens import describe

    with _store(args) as store:
        tokens = store.tokens()
    for token in tokens:
        print(describe(token))
    if not tokens:
        print("no tokens; create one with: citypeers token create --role editor --name NAME")
    return 0


def cmd_token_revoke(args: argparse.Namespace) -> int:
    from graph.tokens import describe, find_token

    with _store(args, writes=True) as store:
        token = find_token(store, args.id)
        store.delete_token(token.hash)
    print(f"revoked {describe(token)}; it stops working at once")
    return 0


def _holdout_arguments(parser: argparse.ArgumentParser) -> None:
    """The store hold-out's options (evaluation/store_holdout.py), for `tune` and `evaluate store`."""
    parser.add_argument("--share", type=_share, default=0.2, help="share of eligible links to hide, above 0 and at "
                                                                  "most 1 (default 0.2)")
    parser.add_argument("--seed", type=_seed, default=0, help="seed of the hold-out (default 0)")
    parser.add_argument("--queries", type=_positive, default=2000,
                        help="at most this many queries a kind (default 2000)")


def cmd_list(args: argparse.Namespace) -> int:
    from graph.browse import listing

    with _store(args) as store:
        lines, total = listing(store, args.what, search=args.search, country=args.country, first=args.first)
    for text in lines:
        print(text)
    if not total:
        print(f"no {args.what}" + (" match these filters" if args.search or args.country else " in this store yet"))
    elif total > len(lines):
        print(f"({len(lines):,} of {total:,} shown; --first N for more, --search TEXT to narrow)")
    return 0


def cmd_show(args: argparse.Namespace) -> int:
    from graph.browse import details

    with _store(args) as store:
        print("\n".join(details(store, args.id)))
    return 0


def _port(text: str) -> int:
    if not text.isdecimal() or int(text) > 65535:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port number from 1 to 65535 (or 0: any free port)")
    return int(text)


def _path(text: str) -> Path:
    """A file or folder argument. An empty one (`--out "$DIR"` with $DIR unset) is refused: as a Path it was the
    current folder, which `import` then read as a bundle and `export` and `report` wrote into."""
    if not text:
        raise argparse.ArgumentTypeError("'' is empty; give a file or folder name (. for the current folder)")
    return Path(text)


def _share(text: str) -> float:
    """--share, refused as it is parsed: checked by the hold-out, it came after the store was read and the
    command had said it was fitting (two lines for one mistake), and "nan" passed as a float."""
    try:
        share = float(text)
    except ValueError:
        share = math.nan
    if not 0 < share <= 1:  # nan too
        raise argparse.ArgumentTypeError(f"{text!r} is not a share above 0 and at most 1, e.g. 0.2")
    return share


def _seed(text: str) -> int:
    """--seed, refused as it is parsed: checked where it is used, a negative one came after `tune` and `evaluate
    store` had read the store and said what they were starting (two lines for one mistake)."""
    if not text.isdecimal():
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number of 0 or more")
    return int(text)


def _population(text: str) -> int:
    """--min-population / --max-population: a whole number (argparse said only "invalid int value: '1e6'");
    below 0 or the wrong way round is said with both bounds by the filter check."""
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number of inhabitants, e.g. 100000") from None


def _positive(text: str) -> int:
    if not text.isdecimal() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number of at least 1")
    return int(text)


def _any_case(options: Iterable[str]) -> Callable[[str], str]:
    """The type of an option with fixed values, taken in any case (`--format JSONL`, `--role Editor` were
    refused); a value that is none of them is left as written, for argparse's "invalid choice" to show."""
    known = {o.lower(): o for o in options}

    def parse(text: str) -> str:
        return known.get(text.lower(), text)

    return parse


def _at_most(limit: int) -> Callable[[str], int]:
    """The type of an option from 1 to `limit`: refused when parsed, as --help says, not by the store later."""
    def parse(text: str) -> int:
        if not text.isdecimal() or not 1 <= int(text) <= limit:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number from 1 to {limit:,}")
        return int(text)

    return parse


class _Help(argparse.HelpFormatter):
    """Help that shows every option's default (unless its help already says it, or it has none)."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        text = action.help or ""
        if ("default" in text or action.default in (None, argparse.SUPPRESS, [])
                or action.default is False or not action.option_strings):  # `is False`: a default of 0 is shown
            return text
        default = action.default
        shown = "-".join(map(str, default)) if isinstance(default, tuple) else default
        return f"{text} (default {shown})"


STORE_HELP = "sqlite:///file.db (default sqlite:///citypeers.db, or $CITYPEERS_STORE), bolt://host:7687, neo4j://host:7687"


def _commands(parser: argparse.ArgumentParser) -> Iterator[argparse.ArgumentParser]:
    """Every (sub)command's parser under `parser`."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in dict.fromkeys(action.choices.values()):
                yield sub
                yield from _commands(sub)


class _Parser(argparse.ArgumentParser):
    """argparse's parser, whose "expected one argument" says how to give a value that starts with '-':
    `--expires -5d` read -5d as an option and said only that --expires lacked its value."""

    def error(self, message: str) -> NoReturn:
        needs = re.fullmatch(r"argument (--[\w-]+)(?:/[^:]+)?: expected one argument", message)
        if needs:
            message += f" (a value that starts with '-' is written {needs[1]}=VALUE)"
        super().error(message)


def build_parser() -> argparse.ArgumentParser:
    from graph.browse import KINDS
    from graph.bundle import FORMATS
    from graph.projection import GRAPH_FORMATS
    from graph.store import MAX_PAGE
    from graph.tokens import ROLES

    k_type, k_help = _at_most(MAX_K), f"how many, 1 to {MAX_K:,}"

    parser = _Parser(prog="citypeers", formatter_class=_Help,
                     description="A peer network and matching service for city leaders. Store: "
                     "--store URL, $CITYPEERS_STORE, or sqlite:///citypeers.db.")
    parser.add_argument("--store", metavar="URL", default=os.environ.get("CITYPEERS_STORE"), help=STORE_HELP)
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    def add(name: str, help_text: str, func: Callable[[argparse.Namespace], int]) -> argparse.ArgumentParser:
        sub = commands.add_parser(name, help=help_text, description=help_text)
        sub.set_defaults(func=func)
        return sub

    def group(name: str, help_text: str, dest: str, metavar: str) -> Any:
        sub = commands.add_parser(name, help=help_text, description=help_text)
        return sub.add_subparsers(dest=dest, metavar=metavar, required=True)

    def leaf(under: Any, name: str, help_text: str, func: Callable[[argparse.Namespace], int],
             description: str | None = None) -> argparse.ArgumentParser:
        sub = under.add_parser(name, help=help_text, description=description or help_text)
        sub.set_defaults(func=func)
        return sub

    serve = add("serve", "serve GraphQL on http://HOST:PORT/graphql (creates the store if it does not exist)",
                cmd_serve)
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on")
    serve.add_argument("--port", type=_port, default=8000, help="port to listen on, 1 to 65535, or 0 for any free "
                                                                "one (shown when it starts)")
    serve.add_argument("--seed-if-empty", action="store_true", help="load the seed programmes into an empty store")
    add("seed", "load the seed programmes (idempotent; creates the store if it does not exist)", cmd_seed)
    imp = add("import", "validate a bundle (CSV folder or .jsonl) and write it all or nothing (creates the store "
                        "if it does not exist)", cmd_import)
    imp.add_argument("path", type=_path, help="a folder of CSV files (cities.csv, faces.csv, ...) or a .jsonl file")
    imp.add_argument("--dry-run", action="store_true", help="validate only; write nothing")
    imp.add_argument("--progress", action="store_true", help="show a progress bar even when not on a terminal")
    imp.add_argument("--no-tune", action="store_true",
                     help="keep the matching weights as they are (by default an import that changes the data "
                          "re-learns them from it, as citypeers tune does)")
    exp = add("export", "write the store as a bundle (csv, jsonl) or a graph file (graphml, gexf, json)", cmd_export)
    exp.add_argument("path", type=_path, help="the file or folder to write")
    exp.add_argument("--format", choices=[*FORMATS, *GRAPH_FORMATS], type=_any_case([*FORMATS, *GRAPH_FORMATS]),
                     default=None,
                     help="default: from the file name (.jsonl, .graphml, .gexf, .json), else a CSV folder")
    gen = add("generate", "write a seeded synthetic bundle for scale tests (labelled synthetic)", cmd_generate)
    gen.add_argument("path", type=_path, help="a new or empty folder for the CSV bundle")
    gen.add_argument("--cities", type=_at_most(MAX_CITIES), required=True,
                     help=f"how many cities, 1 to {MAX_CITIES:,}")
    gen.add_argument("--seed", type=_seed, default=0, help="random seed: the same seed writes the same bundle")
    gen.add_argument("--challenges", type=_at_most(MAX_CHALLENGES), default=None,
                     help=f"how many challenges, 1 to {MAX_CHALLENGES:,} (default: cities/50, 40 to 2000)")
    add("status", "show the store's data version and node counts (or that it is empty)", cmd_status)
    lister = add("list", "list the cities, challenges, partners, cohorts or leaders in the store, by id", cmd_list)
    lister.add_argument("what", choices=list(KINDS), type=_any_case(KINDS), help="what to list")
    lister.add_argument("--search", metavar="TEXT", help="only those whose name contains TEXT (any case)")
    lister.add_argument("--country", metavar="CC", help="only cities or partners in this country (ISO code, e.g. NL)")
    lister.add_argument("--first", type=_at_most(MAX_PAGE), default=20, help=f"how many to show, 1 to {MAX_PAGE:,}")
    show = add("show", "show one node by id: its fields and relationships", cmd_show)
    show.add_argument("id", help="any node's id, e.g. amsterdam (`citypeers list` shows them)")
    token_what = group("token", "create, list and revoke API tokens (viewer, editor, admin)", "what", "ACTION")
    token_create = leaf(token_what, "create", "create a token; prints it once, stores only its hash", cmd_token)
    token_create.add_argument("--role", choices=ROLES, type=_any_case(ROLES), required=True,
                              help="viewer: reads; editor: writes too; admin: contact details too")
    token_create.add_argument("--name", required=True, help="who or what the token is for")
    token_create.add_argument("--expires", metavar="WHEN", help="a duration (90m, 12h, 30d) or a date or time "
                              "(2027-06-30, 2027-06-30T12:00Z); default: until revoked")
    leaf(token_what, "list", "list tokens: id, role, name, created, expiry (never the token)", cmd_token_list)
    token_revoke = leaf(token_what, "revoke", "revoke a token by the id `token list` shows", cmd_token_revoke)
    token_revoke.add_argument("id", help="the token's id (at least 6 characters of it)")
    what = group("recommend", "recommendations with reasons: peer cities, partner organisations, people to meet, "
                              "cities working on a challenge", "what", "WHAT")
    peers = leaf(what, "peers", "peer cities that share a city's challenges, cohorts and partners",
                 cmd_recommend_peers)
    peers.add_argument("city", help="city id, e.g. amsterdam (`citypeers list cities` shows them)")
    peers.add_argument("--k", type=k_type, default=10, help=k_help)
    peers.add_argument("--challenge", action="append", help="focus on a challenge id (repeatable)")
    peers.add_argument("--country", help="only peers in this country (ISO code, e.g. LV)")
    peers.add_argument("--region", help="only peers in this region (e.g. Europe)")
    peers.add_argument("--exclude-known", action="store_true", help="leave out cities it already peers with")
    peers.add_argument("--exclude-own-country", action="store_true", help="only peers abroad")
    peers.add_argument("--min-population", type=_population, help="size band: at least this many inhabitants")
    peers.add_argument("--max-population", type=_population, help="size band: at most this many inhabitants")
    peers.add_argument("--cohort", help="only members of this cohort (id, e.g. eu-digital-services)")
    peers.add_argument("--themes-of", metavar="COHORT",
                       help="focus on this cohort's themes, e.g. bhcli-class-1 (instead of --challenge)")
    partners = leaf(what, "partners", "partner organisations for a city: on its challenges, with its peers",
                    cmd_recommend_other)
    partners.add_argument("city", help="city id, e.g. gary")
    partners.add_argument("--k", type=k_type, default=10, help=k_help)
    partners.add_argument("--challenge", help="only for this challenge id")
    partners.add_argument("--sector", help="business, nonprofit, university, philanthropy, public-agency, network")
    partners.add_argument("--country", help="ISO country code of the organisation")
    people = leaf(what, "people", "leaders to meet in a leader's peer cities, same role first", cmd_recommend_other)
    people.add_argument("leader", help="leader id, e.g. gary-chief-of-staff (`citypeers list leaders` shows them)")
    people.add_argument("--k", type=k_type, default=10, help=k_help)
    cities = leaf(what, "cities", "cities working on a challenge", cmd_recommend_other)
    cities.add_argument("challenge", help="challenge id, e.g. leadership (`citypeers list challenges` shows them)")
    cities.add_argument("--k", type=k_type, default=10, help=k_help)
    groups = add("groups", "partition a cohort's cities into learning groups that share the most challenges",
                 cmd_groups)
    groups.add_argument("cohort", help="cohort id, e.g. eu-digital-services (`citypeers list cohorts` shows them)")
    _group_options(groups)
    groups.add_argument("--seed", type=_seed, default=0, help="random seed of the search")
    batch_what = group("batch", "batch matching for a cohort or everyone", "what", "WHAT")
    batch_peers_cmd = leaf(batch_what, "peers", "peer lists for every city, with exposure measured", cmd_batch)
    batch_peers_cmd.add_argument("--cohort", help="only this cohort's member cities (default: every city)")
    batch_peers_cmd.add_argument("--k", type=k_type, default=10, help=f"peers per city, 1 to {MAX_K:,}")
    batch_peers_cmd.add_argument("--max-exposure", type=_positive, help="cap how many lists one city may appear in")
    batch_peers_cmd.add_argument("--out", type=_path, help="write the suggestions: .csv or .json")
    similar = leaf(batch_what, "similar", "every city's most similar cities by shared challenges, at scale",
                   cmd_similar, description="Every city's top k by the challenge signal alone (rarity-weighted "
                                            "shared challenges), computed for all cities at once: about a "
                                            "minute for 100,000 cities. Use `batch peers` for lists with every "
                                            "signal and reasons.")
    similar.add_argument("--k", type=k_type, default=10, help=f"similar cities per city, 1 to {MAX_K:,}")
    similar.add_argument("--out", type=_path, required=True, help="the .csv to write: city, rank, peer, score")
    tune = add("tune", "learn the signal weights from this store's own links and keep them (with their figures) in "
               "the store", cmd_tune)
    _holdout_arguments(tune)
    tune.add_argument("--dry-run", action="store_true", help="print what it finds; store nothing")
    from reports.command import register as add_report_commands

    add_report_commands(commands, _positive, _group_options, _at_most, _path)
    datasets = group("evaluate", "measure recommendations on real data against baselines", "dataset", "DATASET")
    urbact = leaf(datasets, "urbact", "temporal hold-out on URBACT city networks (../shared/data/urbact)",
                  cmd_evaluate)
    urbact.add_argument("--data", type=_path, default=Path(__file__).resolve().parent.parent / "shared/data/urbact",
                        help="folder with the URBACT CSV files (default ../shared/data/urbact)")
    gcom = leaf(datasets, "gcom", "partner hold-out on Global Covenant of Mayors signatories (../shared/data/gcom)",
                cmd_evaluate_gcom)
    gcom.add_argument("--data", type=_path, default=Path(__file__).resolve().parent.parent / "shared/data/gcom",
                      help="folder with the GCoM CSV file (default ../shared/data/gcom)")
    held = leaf(datasets, "store", "hide some of the store's own memberships and partner links, ask for them back; "
                "the engine against every baseline", cmd_evaluate_store)
    _holdout_arguments(held)
    data = commands.add_parser("data", help="turn real data (../shared/data) into a bundle for `import`",
                               description="turn real data (../shared/data) into a bundle for `import`")
    data_sets = data.add_subparsers(dest="dataset", metavar="DATASET", required=True)
    for name, help_text in (("urbact", "URBACT city networks: cities, networks as cohorts, themes as challenges"),
                            ("gcom", "Global Covenant of Mayors: cities, commitments, coordinators, supporters")):
        source = data_sets.add_parser(name, help=help_text, description=help_text)
        source.set_defaults(func=cmd_data)
        source.add_argument("--out", type=_path, required=True, help="a new or empty folder for the bundle")
        source.add_argument("--format", choices=FORMATS, type=_any_case(FORMATS), default="csv",
                            help="bundle format")
        source.add_argument("--data", type=_path, default=Path(__file__).resolve().parent.parent / "shared/data" / name,
                            help=f"folder with the {name} files (default ../shared/data/{name})")
    for sub in _commands(parser):  # --store after the command too; defaults shown everywhere
        sub.formatter_class = _Help
        if "--store" not in sub._option_string_actions:
            sub.add_argument("--store", metavar="URL", default=argparse.SUPPRESS, help=STORE_HELP)
    return parser


class Terminated(KeyboardInterrupt):
    """SIGTERM (`kill`, a service manager, a CI job's timeout), raised where the command is: it stops as it does
    on Ctrl-C, so that what it was doing is undone (a write rolled back, a new store or a half-written export
    removed, report workers stopped). Python's default ended the process on the spot: an import so stopped
    left a new empty store behind, an export its temporary folder, a report its PDF workers running."""


def _terminate(signum: int, frame: Any) -> None:
    raise Terminated


def main(argv: Sequence[str] | None = None) -> int:
    import logging
    import signal
    import threading

    logging.getLogger("neo4j").addHandler(logging.NullHandler())  # its errors reach the user once, as ours
    try:
        parser = build_parser()
        unknown = _unknown_leading_option(sys.argv[1:] if argv is None else list(argv))
        if unknown is not None:  # `--db x.db import`: argparse read x.db as the command ("invalid choice")
            import difflib

            from graph.suggest import did_you_mean

            close = difflib.get_close_matches(unknown.split("=")[0], ["--store", "--help"], n=1)
            parser.error(f"unknown option {unknown!r} before the command; there, only --store URL and --help are "
                         f"known{'; ' + did_you_mean(close) if close else ''}")
        args = parser.parse_args(argv)
    except KeyboardInterrupt:  # Ctrl-C while the parser's modules load (a quarter of a second): not a traceback
        print("citypeers: interrupted", file=sys.stderr)
        return 130
    if args.func is cmd_serve or threading.current_thread() is not threading.main_thread():
        return _run(args)  # serve: uvicorn's own graceful shutdown
    before = signal.signal(signal.SIGTERM, _terminate)
    try:
        return _run(args)
    finally:
        signal.signal(signal.SIGTERM, before)  # a caller's own (main() called in a test, say)


def _unknown_leading_option(argv: list[str]) -> str | None:
    """The first option before the command that the top-level parser does not know (argparse takes any
    unambiguous start of a known one, --sto for --store), or None."""
    i = 0
    while i < len(argv) and argv[i].startswith("-") and argv[i] != "-":
        name = argv[i].split("=", 1)[0]
        known = next((o for o in ("--store", "--help", "-h") if o == name or (len(name) > 2 and o.startswith(name))),
                     None)
        if known is None:
            return argv[i]
        i += 2 if known == "--store" and "=" not in argv[i] else 1
    return None


def _run(args: argparse.Namespace) -> int:
    """Run the command: its failures as one message each, without a traceback."""
    try:
        return args.func(args)
    except ValidationError as exc:
        hidden = exc.total - len(exc.problems)
        print(f"citypeers: {exc.total:,} problem(s); nothing was written"
              + (f" (the first {len(exc.problems):,} shown)" if hidden else "") + ":", file=sys.stderr)
        for problem in exc.problems:
            print(f"  {one_line(str(problem))}", file=sys.stderr)
        if hidden:
            print(f"  ... and {hidden:,} more; fix these and run it again to see them", file=sys.stderr)
        return EXIT_ERROR
    except CitypeersError as exc:
        print(f"citypeers: error: {one_line(str(exc))}", file=sys.stderr)
        return EXIT_ERROR
    except BrokenPipeError:  # the reader stopped early (| head): not a failure of ours
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # the exit's flush must not fail again
        return 0
    except OSError as exc:
        print(one_line(f"citypeers: error: {exc.strerror or exc}: {exc.filename or ''}".rstrip(": ")), file=sys.stderr)
        return EXIT_ERROR
    except Terminated:
        print("citypeers: stopped (SIGTERM)", file=sys.stderr)
        return 128 + 15
    except KeyboardInterrupt:
        print("citypeers: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
