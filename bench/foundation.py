"""Foundation benchmarks (issue #2): generator, SQLite import, Bolt import against a plain UNWIND loop,
and projection time and memory at 100k cities / ~1M relationships.

Targets on a 2-core machine: generate 100k cities < 60 s; SQLite import >= 50,000 relationships/s;
Bolt into FalkorDB >= 0.9x a plain loop of 100-row UNWIND ... MERGE statements timed in the same run;
projection of 100k / 1M < 20 s using < 2 GB.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

from bench.common import median_of, report, timed, verdict
from graph.bundle import check_against_store, read_bundle
from graph.falkordb_server import FalkorDBServer
from graph.store import open_store
from graph.synthetic import generate_bundle

REPEATS = 9  # interleaved Bolt rounds: one round's ratio varies 0.65-1.2x, the median of nine far less


def run(cities: int = 100_000, bolt_relationships: int = 20_000, repeats: int = REPEATS) -> dict:
    with tempfile.TemporaryDirectory(prefix="citypeers-bench-", ignore_cleanup_errors=True) as scratch:
        work = Path(scratch)  # removed afterwards, with the graphs and stores in it
        gen_s, counts = timed(lambda: generate_bundle(work / "bundle", cities=cities, seed=1))
        rels_total = sum(n for k, n in counts.items() if k.isupper())

        # SQLite: parse + validate, then one upsert (one transaction).
        read_s, (bundle, problems) = timed(lambda: read_bundle(work / "bundle"))
        assert not problems, problems[:3]
        store = open_store(f"sqlite:///{work / 'bench.db'}")
        check_s, _ = timed(lambda: check_against_store(bundle, store))
        write_s, _ = timed(lambda: store.upsert(bundle.nodes, bundle.relationships))
        again_s, again = timed(lambda: store.upsert(bundle.nodes, bundle.relationships))
        assert again.changed == 0
        store.close()
        store_rate = rels_total / write_s
        e2e_rate = rels_total / (read_s + check_s + write_s)

        # Projection in a fresh process (peak memory is its own).
        proc = subprocess.run([sys.executable, "-m", "bench.projection_child", f"sqlite:///{work / 'bench.db'}"],
                              capture_output=True, text=True, check=True)
        proj = json.loads(proc.stdout)

        bolt = _bolt(bundle, bolt_relationships, repeats)

        rows = [
            ("generate", f"{gen_s:.1f} s", f"{cities:,} cities, {rels_total:,} relationships; target < 60 s: "
                                           f"{verdict(gen_s < 60)}"),
            ("sqlite: read + validate", f"{read_s + check_s:.1f} s", f"{len(bundle.nodes) + rels_total:,} rows"),
            ("sqlite: store upsert", f"{store_rate:,.0f} rel/s", f"{write_s:.1f} s, one transaction; target >= 50,000: "
                                                                 f"{verdict(store_rate >= 50_000)}"),
            ("sqlite: end to end", f"{e2e_rate:,.0f} rel/s", "read + validate + write (citypeers import)"),
            ("sqlite: re-import", f"{again_s:.1f} s", "unchanged bundle: 0 changes, version kept"),
            ("bolt: loop, 100-row pairs", f"{bolt['rel_per_s']['pairs']:,.0f} rel/s",
             f"median of {repeats}; {bolt_relationships:,} FACES without properties (the issue's baseline)"),
            ("bolt: loop, same data", f"{bolt['rel_per_s']['same_data']:,.0f} rel/s",
             f"with properties as maps, {bolt['rows_per_statement']['same_data']} rows per statement (as many as fit)"),
            ("bolt: BoltStore.upsert", f"{bolt['rel_per_s']['store']:,.0f} rel/s",
             f"{bolt['ratio_vs_pairs']:.2f}x pairs (target >= 0.9x: {verdict(bolt['ratio_vs_pairs'] >= 0.9)}), "
             f"{bolt['ratio_vs_same_data']:.2f}x same data"),
            ("projection: total", f"{proj['total_s']:.1f} s",
             f"read {proj['read_s']:.1f} s, matrix {proj['matrix_s']:.1f} s, networkx {proj['networkx_s']:.1f} s; "
             f"target < 20 s: {verdict(proj['total_s'] < 20)}"),
            ("projection: peak memory", f"{proj['peak_mb']:,.0f} MB",
             f"{proj['nodes']:,} nodes, {proj['edges']:,} edges; target < 2048 MB: {verdict(proj['peak_mb'] < 2048)}"),
        ]
        data = {"cities": cities, "relationships": rels_total, "generate_s": gen_s,
                "read_validate_s": read_s + check_s, "sqlite_write_s": write_s, "sqlite_store_rel_per_s": store_rate,
                "sqlite_end_to_end_rel_per_s": e2e_rate, "sqlite_reimport_s": again_s, "bolt": bolt,
                "projection": proj}
        report("foundation", rows, data)
        return data


def _bolt(bundle, n_rels: int, repeats: int) -> dict:
    """FACES relationships into FalkorDB: BoltStore.upsert against plain loops timed in the same run.

    - "pairs": the issue's baseline, 100-row ``UNWIND ... MERGE`` of (source, target) pairs without
      properties (100 rows fit in FalkorDB's 4,096-character query buffer only because there are no
      properties), one transaction per statement, on the same server with the store's id index;
    - "same data": a plain loop writing the same relationships with their properties as maps, as many rows
      per statement as fit under the limit, no validation, no change detection, no data version.
    """
    from graph.neo4j_store import FALKORDB_ENVELOPE, FALKORDB_MAX_MESSAGE, literal_size, plan_batches

    faces = [r for r in bundle.relationships if r.KIND == "FACES"][:n_rels]
    ends = {r.source for r in faces} | {r.target for r in faces}
    nodes = [n for n in bundle.nodes if n.id in ends]
    pairs_query = "UNWIND $rows AS r MATCH (a:Node {id: r[0]}) MATCH (b:Node {id: r[1]}) MERGE (a)-[:FACES]->(b)"
    same_query = ("UNWIND $rows AS r WITH r[0] AS s, r[1] AS t, r[2] AS p MATCH (a:Node {id: s}) "
                  "MATCH (b:Node {id: t}) MERGE (a)-[e:FACES]->(b) SET e = p")
    pair_batches = [[[r.source, r.target] for r in faces[i:i + 100]] for i in range(0, len(faces), 100)]
    same_batches = plan_batches(same_query, [[r.source, r.target, r.props()] for r in faces],
                                max_bytes=FALKORDB_MAX_MESSAGE, size=literal_size, envelope=FALKORDB_ENVELOPE)
    runs: dict[str, list[float]] = {"pairs": [], "same_data": [], "store": []}

    def loop(driver, query: str, batches: list) -> None:
        with driver.session() as session:
            for rows in batches:
                session.execute_write(lambda tx, rows=rows: tx.run(query, rows=rows).consume())

    with FalkorDBServer() as server:
        store = open_store(server.url())
        store.upsert(nodes)

        def clear() -> None:
            store._write(lambda tx: tx.run("MATCH ()-[e:FACES]->() DELETE e").consume())

        for _ in range(repeats):  # interleaved, so drift on a noisy machine hits all three alike
            clear()
            runs["pairs"].append(timed(lambda: loop(store._driver, pairs_query, pair_batches))[0])
            clear()
            runs["same_data"].append(timed(lambda: loop(store._driver, same_query, same_batches))[0])
            clear()
            seconds, result = timed(lambda: store.upsert([], faces))
            assert result.changed == len(faces)
            runs["store"].append(seconds)
        store.close()
        _check(server)

    rate = {k: n_rels / median_of(v) for k, v in runs.items()}
    return {"relationships": n_rels, "runs_s": runs, "rel_per_s": rate,
            "rows_per_statement": {"pairs": 100, "same_data": round(n_rels / len(same_batches), 1)},
            "ratio_vs_pairs": rate["store"] / rate["pairs"], "ratio_vs_same_data": rate["store"] / rate["same_data"]}


def _check(server: FalkorDBServer) -> None:
    crash = server.crash_report()
    if crash:
        raise RuntimeError(f"FalkorDB crashed during the benchmark:\n{crash}")
