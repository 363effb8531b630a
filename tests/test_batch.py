"""Diversity re-ranking, exposure and coverage."""

from __future__ import annotations

import pytest

from graph.errors import UsageError
from graph.model import Challenge, City, Faces
from graph.projection import Projection
from matching.batch import batch_peers, gini
from matching.peers import PeerRecommender


def _model(faces: dict[str, list[str]]) -> PeerRecommender:
    challenges = sorted({c for cs in faces.values() for c in cs})
    nodes = [City(id=c, name=c, country="FR") for c in faces] + [Challenge(id=c, name=c) for c in challenges]
    rels = [Faces(source=city, target=c) for city, cs in faces.items() for c in cs]
    return PeerRecommender(weights={"challenges": 1.0}).fit(Projection(nodes, rels, version=1))


def test_diversify_trades_a_near_copy_for_a_different_peer():
    model = _model({"me": ["a", "b", "c"], "twin1": ["a", "b"], "twin2": ["a", "b"], "other": ["c"]})
    assert [m.city.id for m in model.recommend("me", k=2)] == ["twin1", "twin2"]
    diverse = model.recommend("me", k=2, diversify=0.7)
    assert [m.city.id for m in diverse] == ["twin1", "other"]
    assert [m.city.id for m in model.recommend("me", k=2, diversify=0.0)] == ["twin1", "twin2"]
    with pytest.raises(UsageError, match="diversify=2 is out of range"):
        model.recommend("me", diversify=2)


def test_exclude_leaves_out_given_cities():
    model = _model({"me": ["a"], "x": ["a"], "y": ["a"]})
    assert [m.city.id for m in model.recommend("me", exclude=["x"])] == ["y"]


def test_coverage_caps_the_popular_city_and_keeps_every_list_full():
    # "a-hub" faces everything, so it tops every list; the cap spreads suggestions to the others.
    faces = {"a-hub": ["a", "b", "c", "d"], **{f"c{i}": ["abcd"[i % 4]] for i in range(8)}}
    model = _model(faces)
    plain = batch_peers(model, sorted(faces), k=1)
    assert sum(1 for ms in plain.lists.values() if ms and ms[0].city.id == "a-hub") == 8
    capped = batch_peers(model, sorted(faces), k=1, max_exposure=2)
    assert capped.exposure["a-hub"] <= 2 and capped.short_lists == 0
    assert capped.gini_after < capped.gini_before == plain.gini_before
    assert all(len(ms) == 1 for ms in capped.lists.values())


@pytest.mark.parametrize(("counts", "expected"), [([1, 1, 1], 0.0), ([0, 0, 0, 4], 0.75), ([], 0.0)])
def test_gini(counts, expected):
    assert gini(counts) == pytest.approx(expected)


def test_the_cap_reaches_past_the_best_3k_while_they_tie():
    """60 cities facing one challenge all tie, and their second keys tie too, so every city's best 3k were the
    same nine: the cap of 6 broke 126 times, with "has 9 candidates (its best 9)" while 50 tied cities went
    unsuggested. Candidates now go on while the last still ties the k-th."""
    model = _model({f"c{i:02d}": ["a"] for i in range(60)})
    capped = batch_peers(model, [f"c{i:02d}" for i in range(60)], k=3, max_exposure=6)
    assert capped.cap_breaks == () and capped.short_lists == 0
    assert max(capped.exposure.values()) <= 6 and sum(capped.exposure.values()) == 180
    assert set(capped.candidates.values()) == {59}
    # where the scores fall off within the best 3k, candidates stop there: a weaker city is not reached for
    model = _model({"me": ["a", "b"], **{f"t{i}": ["a", "b"] for i in range(8)}, **{f"w{i}": ["a"] for i in range(5)}})
    assert batch_peers(model, ["me"], k=3, max_exposure=6).candidates == {"me": 9}
