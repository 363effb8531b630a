"""Issue #22, reliability suite: 8 concurrent API writers with a CLI import into the same store alongside.
Every write is acknowledged, the version grows by exactly one per write, and the change log has one entry
per version it keeps, in order, saying what each wrote."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import threading

from graph.store import CHANGELOG_KEEP, REBUILD, open_store
from graph.synthetic import generate_bundle
from tests.reliability.live import editor_token, graphql, live_server
from tests.reliability.storm import storm

CITIES = ["amsterdam", "athens", "berlin", "bratislava", "brussels", "budapest", "copenhagen", "dublin", "helsinki",
          "ljubljana", "london", "madrid", "nicosia", "prague", "reykjavik", "riga"]
WRITERS, QUOTA = 8, 400  # writes go on until the import is done (at most QUOTA each)


def _dismiss(writer: int, n: int) -> tuple[str, str]:
    return (f'mutation {{ dismissMatch(cityId: "{CITIES[writer]}", peerId: "{CITIES[writer + WRITERS]}", '
            f'note: "writer {writer} write {n}") {{ __typename }} }}', "Linked")


def test_eight_writers_and_an_import_stay_consistent(tmp_path):
    path = tmp_path / "busy.db"
    db = f"sqlite:///{path}"
    token = editor_token(db)
    imported = 1_500
    generate_bundle(tmp_path / "bundle", cities=imported, seed=7)
    with live_server(db) as base:
        before = graphql(base, "{ dataVersion }")[1]["data"]["dataVersion"]
        cities_before = graphql(base, "{ cities(first: 0) { totalCount } }")[1]["data"]["cities"]["totalCount"]
        result: dict = {}

        def run_import() -> None:
            result["import"] = subprocess.run([sys.executable, "-m", "cli", "--store", db, "import",
                                               str(tmp_path / "bundle")], capture_output=True, text=True, timeout=300)

        importer = threading.Thread(target=run_import)
        importer.start()

        imported_at: list[int] = []  # how many writes were acknowledged when the import's version was seen
        watch = threading.Lock()

        def until_imported(state) -> None:
            """Stop 20 writes after the import's version lands (or when its process ends): stopping only at the
            process's end let the writers go on while it re-learned the weights, on a busy machine past the
            CHANGELOG_KEEP versions the log keeps, and the import's entry fell out of the log checked below."""
            if not importer.is_alive():
                state.stop.set()
            with watch:
                if not imported_at:
                    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as look:
                        landed = look.execute("SELECT 1 FROM changelog WHERE body = ? AND version > ? LIMIT 1",
                                              (REBUILD, before)).fetchone()  # the seeds' is version 1
                    look.close()
                    if landed:
                        imported_at.append(len(state.acknowledged))
                if imported_at and len(state.acknowledged) >= imported_at[0] + 20:
                    state.stop.set()

        state = storm(base, token, _dismiss, writers=WRITERS, quota=QUOTA, seconds=120, on_ack=until_imported)
        importer.join(timeout=300)
        after = graphql(base, "{ dataVersion }")[1]["data"]["dataVersion"]
        cities_after = graphql(base, "{ cities(first: 0) { totalCount } }")[1]["data"]["cities"]["totalCount"]
    assert result["import"].returncode == 0, result["import"].stderr
    assert state.refused == [] and state.unanswered == 0
    writes = len(state.acknowledged)
    assert writes >= WRITERS * 2 and {w for w, _ in state.acknowledged} == set(range(WRITERS))
    assert after == before + writes + 1  # one version per write, one for the import
    assert cities_after == cities_before + imported
    with sqlite3.connect(path) as check:
        log = check.execute("SELECT version, body FROM changelog WHERE version > ? ORDER BY version",
                            (before,)).fetchall()
        assert check.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    check.close()
    # one entry per version, in order; the log keeps the last CHANGELOG_KEEP versions (the writers go on
    # while the import re-learns the weights, which can take them past it)
    assert [v for v, _ in log] == list(range(max(before + 1, after - CHANGELOG_KEEP + 1), after + 1))
    bodies = [body for _, body in log]
    assert bodies.count(REBUILD) == 1  # the import, with writes on both sides of it
    assert 0 < bodies.index(REBUILD) < len(bodies) - 1, "the import did not run alongside the writes"
    written = [json.loads(body)["upsert"] for _, body in log if body != REBUILD]
    assert all(len(rels) == 1 and rels[0][0] == "DISMISSED" for rels in written)
    with open_store(db) as store:
        dismissed = {(r.source, r.target): r.note for r in store.relationships("DISMISSED")}
    last = {w: max(n for v, n in state.acknowledged if v == w) for w in range(WRITERS)}
    assert dismissed == {(CITIES[w], CITIES[w + WRITERS]): f"writer {w} write {last[w]}" for w in range(WRITERS)}
    print(f"8 writers and an import: {writes} writes acknowledged, version {before} -> {after}")
