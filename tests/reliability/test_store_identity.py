"""A store replaced under a running engine is never served from the old index (issue #22, point 4).

A wiped and refilled Bolt store counts its data version from 0 again, so the same version number can name
different data; the engine keys its index on the store's identity as well (GraphStore.state)."""

from __future__ import annotations

import pytest

from graph.model import Challenge, City, Faces, PeersWith
from matching.engine import Engine
from tests.conftest import wipe


def _fill(store, *, linked: bool) -> None:
    cities = [City(id=c, name=c.title(), country="NL") for c in ("amsterdam", "utrecht", "delft")]
    faces = [Faces(source=c.id, target="housing") for c in cities]
    link = [PeersWith(source="amsterdam", target="utrecht", origin="met")] if linked else []
    store.upsert([*cities, Challenge(id="housing", name="Housing")], [*faces, *link])


def test_a_store_has_an_identity_from_its_first_write(store):
    identity, version = store.state()
    assert version == store.version() == 0
    _fill(store, linked=False)
    identity, version = store.state()
    assert identity and version == store.version() == 1
    _fill(store, linked=False)  # unchanged: same identity, same version
    assert store.state() == (identity, 1)


def test_a_wiped_and_refilled_store_gets_a_new_identity_and_a_fresh_index(store):
    if not hasattr(store, "_write"):
        pytest.skip("a SQLite store is replaced as a new file, with an identity of its own (first test)")
    _fill(store, linked=True)
    engine = Engine(store)
    before = store.state()
    assert [m.city.id for m in engine.peers("amsterdam", exclude_known=True)] == ["delft"]  # utrecht is a known peer

    wipe(store)  # the store is replaced: same version number after the refill, different data
    _fill(store, linked=False)
    after = store.state()
    assert after[1] == before[1] and after[0] != before[0]
    assert sorted(m.city.id for m in engine.peers("amsterdam", exclude_known=True)) == ["delft", "utrecht"]
