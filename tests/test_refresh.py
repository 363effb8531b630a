"""Incremental refresh: the index after relationship changes equals a full rebuild, and the Engine uses it."""

from __future__ import annotations

import random

import numpy as np
import pytest

from graph.bundle import read_bundle
from graph.model import Dismissed, Faces, MemberOf, PartnersWith, PeersWith, Serves, WorksOn
from graph.store import open_store
from graph.synthetic import generate_bundle
from matching.engine import Engine

SAME = ("direct", "challenges", "challenges_by_column", "partners", "partner_cities", "cohorts",
        "cohort_members", "known_peers", "not_again")


@pytest.fixture(scope="module")
def bundle(tmp_path_factory):
    folder = tmp_path_factory.mktemp("refresh")
    generate_bundle(folder / "g", cities=400, seed=7)
    loaded, problems = read_bundle(folder / "g")
    assert not problems
    return loaded


@pytest.fixture
def synthetic(bundle, tmp_path):
    opened = open_store(f"sqlite:///{tmp_path / 'r.db'}")
    opened.upsert(bundle.nodes, bundle.relationships)
    yield opened
    opened.close()


def _random_changes(bundle, rng: random.Random, n: int):
    ids = {kind: [x.id for x in bundle.nodes if kind == x.KIND] for kind in ("City", "Challenge", "Partner",
                                                                             "Cohort", "Leader")}
    existing = {kind: [r for r in bundle.relationships if kind == r.KIND] for kind in
                ("FACES", "MEMBER_OF", "PARTNERS_WITH", "PEERS_WITH")}
    city, pick = (lambda: rng.choice(ids["City"])), rng.choice
    makers = [
        lambda: ("up", Faces(source=city(), target=pick(ids["Challenge"]), priority=rng.randint(1, 5),
                             note=pick([None, "rents up 40% since 2019"]))),
        lambda: ("del", pick(existing["FACES"])),
        lambda: ("up", MemberOf(source=city(), target=pick(ids["Cohort"]), role="participant")),
        lambda: ("del", pick(existing["MEMBER_OF"])),
        lambda: ("up", MemberOf(source=pick(ids["Leader"]), target=pick(ids["Cohort"]))),
        lambda: ("up", PartnersWith(source=pick(ids["Partner"]), target=city())),
        lambda: ("del", pick(existing["PARTNERS_WITH"])),
        lambda: ("up", PeersWith(source=city(), target=city(), origin=pick(["met", "programme"]))),
        lambda: ("del", pick(existing["PEERS_WITH"])) if existing["PEERS_WITH"] else ("up", None),
        lambda: ("up", Dismissed(source=city(), target=city())),
        lambda: ("up", Serves(source=pick(ids["Leader"]), target=city(), role="mayor")),
        lambda: ("up", WorksOn(source=pick(ids["Partner"]), target=pick(ids["Challenge"]))),
    ]
    out = []
    while len(out) < n:
        op, rel = rng.choice(makers)()
        if rel is not None and not (rel.KIND in ("PEERS_WITH", "DISMISSED") and rel.source == rel.target):
            out.append((op, rel))
    return out


def _assert_same_index(a, b) -> None:
    for name in SAME:
        x, y = getattr(a, name), getattr(b, name)
        assert x.shape == y.shape and (abs(x - y) > 1e-12).nnz == 0, name
    np.testing.assert_allclose(a.rarity, b.rarity, rtol=0, atol=1e-12)
    np.testing.assert_array_equal(a.degree, b.degree)
    full = a.challenges[:, a.dense_cols].toarray()
    np.testing.assert_allclose(a.dense_block, full, rtol=0, atol=0)  # the block stays the columns' copy
    np.testing.assert_array_equal(a.dense_block32, full.astype(np.float32))  # and so does its float32 twin


@pytest.mark.parametrize("seed", range(4))
def test_incremental_equals_a_full_rebuild(synthetic, bundle, seed):
    engine = Engine(synthetic, sync_limit=0)  # every graph counts as large: refresh incrementally
    before = engine.current()
    rng = random.Random(seed)
    for op, rel in _random_changes(bundle, rng, 12):  # one write per change: twelve versions to catch up on
        if op == "up":
            synthetic.upsert([], [rel])
        else:
            synthetic.delete([], [rel.key])
    after = engine.current()
    assert after is not before and after.version == synthetic.version() and after.projection is not before.projection
    rebuilt = Engine(synthetic).current()
    _assert_same_index(after.peers.index_, rebuilt.peers.index_)
    assert sorted(r.key for rels in after.projection.relationships.values() for r in rels) == \
        sorted(r.key for rels in rebuilt.projection.relationships.values() for r in rels)
    for city in rng.sample(list(rebuilt.peers.index_.city_ids), 25):
        mine = [(m.city.id, round(m.score, 9), m.reason) for m in after.peers.recommend(city)]
        theirs = [(m.city.id, round(m.score, 9), m.reason) for m in rebuilt.peers.recommend(city)]
        assert mine == theirs, city
        assert [p.partner.id for p in after.partners.recommend(city)] == \
            [p.partner.id for p in rebuilt.partners.recommend(city)]


def test_a_link_shows_in_the_next_read_and_text_catches_up(synthetic, bundle):
    engine = Engine(synthetic, sync_limit=0)
    first = engine.current()
    city = first.peers.index_.city_ids[0]
    faced = {r.target for r in first.projection.outgoing("FACES", city)}
    challenge = next(c for c in first.peers.index_.challenge_ids if c not in faced)
    synthetic.upsert([], [Faces(source=city, target=challenge, priority=1)])
    served = engine.current()
    assert served.version == synthetic.version() and not served.exact  # texts re-encoded with the old idf
    assert challenge in {r.target for r in served.projection.outgoing("FACES", city)}
    engine.wait(timeout=600)  # the background refit restores exact text similarity (joined: no clock raced)
    assert engine._fitted.exact and engine._fitted.version == served.version


def test_the_taxonomy_and_node_writes_fall_back_to_a_rebuild(synthetic, bundle):
    engine = Engine(synthetic, sync_limit=0)
    first = engine.current()
    part_of = next(r for r in bundle.relationships if r.KIND == "PART_OF")
    synthetic.delete([], [part_of.key])
    changes = synthetic.changes(first.version)
    assert [c.key for c in changes] == [part_of.key] and changes[0].relationship is None
    assert first.with_changes(changes) is None  # the taxonomy: not incremental
    assert engine.current() is first  # keeps serving while the rebuild runs in the background
    city = next(n for n in bundle.nodes if n.KIND == "City")
    synthetic.upsert([city.__class__(**{**city.record(), "population": 5})], [])
    assert synthetic.changes(first.version) is None  # a node write: the log says "rebuild"



def test_every_store_feeds_the_incremental_refresh(store):
    """The contract stores (SQLite, FalkorDB over Bolt, Neo4j when configured) all keep the change log."""
    from tests.sample import NODES, RELATIONSHIPS

    store.upsert(NODES, RELATIONSHIPS)
    engine = Engine(store, sync_limit=0)
    first = engine.current()
    store.upsert([], [Faces(source="vilnius", target="mobility", priority=1)])
    served = engine.current()
    assert served.version == store.version() and served.projection is not first.projection
    assert "mobility" in {r.target for r in served.projection.outgoing("FACES", "vilnius")}
    assert served.peers.recommend("vilnius")[0].city.id == "tallinn"
    engine.wait()  # a background refit may still be reading the store the fixture closes next


def test_a_serving_engine_keeps_snapshots_out_of_gc_and_still_frees_old_ones(sqlite_store):
    import gc
    import weakref

    from graph.model import City

    engine = Engine(sqlite_store, freeze_gc=True)
    try:
        sqlite_store.upsert([City(id="riga", name="Riga", country="LV")])
        old = weakref.ref(engine.current().projection)
        assert gc.get_freeze_count() > 0  # the snapshot's objects are out of the collector's walks
        sqlite_store.upsert([City(id="tallinn", name="Tallinn", country="EE")])
        assert engine.current().version == 2
        assert old() is None  # the replaced snapshot went with its last reference, frozen or not
    finally:
        gc.unfreeze()
