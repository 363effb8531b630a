"""Network-wide top-k: the same lists, scores and tie order as asking PeerRecommender city by city."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from graph.bundle import read_bundle
from graph.errors import UsageError
from graph.model import Challenge, City, Faces, PartOf
from graph.projection import Projection
from graph.synthetic import generate_bundle
from matching.index import on_sphere
from matching.peers import PeerRecommender
from matching.similar import DECIMALS, most_similar


def _expected(model: PeerRecommender, k: int) -> dict[str, list[tuple[str, float]]]:
    """City by city through recommend's own challenge signal, ranked by (-score, distance, id), the cities
    without coordinates after the located ones."""
    index = model.index_
    units = on_sphere(index.geo.radians)
    out = {}
    for i, city in enumerate(index.city_ids):
        query = np.zeros(len(index.challenge_ids))
        cols, vals = index.challenges.indices[index.challenges.indptr[i]:index.challenges.indptr[i + 1]], \
            index.challenges.data[index.challenges.indptr[i]:index.challenges.indptr[i + 1]]
        query[cols] = vals
        signal = np.round(model._signal(index, "challenges", i, query * index.rarity, None), DECIMALS)
        signal[i] = 0
        apart = np.nan_to_num(np.linalg.norm(units - units[i], axis=1), nan=np.inf)
        best = [j for j in np.lexsort((np.arange(signal.size), apart, -signal))[:k] if signal[j] > 0]
        out[city] = [(index.city_ids[j], float(signal[j])) for j in best]
    return out


def _assert_same(model: PeerRecommender, k: int) -> None:
    result = most_similar(model.index_, k=k)
    expected = _expected(model, k)
    for city in model.index_.city_ids:
        got = result.of(city)
        assert [c for c, _ in got] == [c for c, _ in expected[city]], city
        assert [s for _, s in got] == pytest.approx([s for _, s in expected[city]], abs=1e-9)


def test_synthetic_graph_matches_city_by_city(tmp_path):
    generate_bundle(tmp_path / "g", cities=600, seed=3)
    bundle, problems = read_bundle(tmp_path / "g")
    assert not problems
    _assert_same(PeerRecommender().fit(Projection(bundle.nodes, bundle.relationships, version=1)), k=10)


def test_ties_go_to_the_nearest_cities_then_by_id():
    """40 cities facing the same challenge, on a line of longitude, 10 of them without coordinates: every list
    is one long tie, recomputed in full, and takes the nearest. Ties once went by id alone, so every city's
    list was the same five cities."""
    cities = [City(id=f"c{i:02d}", name=f"C{i}", country="FR", latitude=45.0 if i >= 10 else None,
                   longitude=0.1 * i if i >= 10 else None) for i in range(40)]
    nodes = [*cities, Challenge(id="a", name="A")]
    model = PeerRecommender().fit(Projection(nodes, [Faces(source=c.id, target="a") for c in cities], version=1))
    result = most_similar(model.index_, k=5)
    assert result.recomputed > 0
    assert [c for c, _ in result.of("c20")] == ["c19", "c21", "c18", "c22", "c17"]
    assert [c for c, _ in result.of("c10")] == ["c11", "c12", "c13", "c14", "c15"]
    assert [c for c, _ in result.of("c03")] == ["c00", "c01", "c02", "c04", "c05"]  # no coordinates: by id
    assert len({tuple(c for c, _ in result.of(city)) for city in model.index_.city_ids}) > 25
    _assert_same(model, k=5)


def test_ties_beyond_the_margin_are_broken_by_id_without_coordinates():
    # 40 identical cities: every list is one long tie, so rows come back full and are recomputed.
    cities = [City(id=f"c{i:02d}", name=f"C{i}", country="FR") for i in range(40)]
    nodes = [*cities, Challenge(id="a", name="A"), Challenge(id="b", name="B"), Challenge(id="root", name="R")]
    rels = [Faces(source=c.id, target="a") for c in cities] + [Faces(source="c00", target="b"),
                                                                PartOf(source="b", target="root")]
    model = PeerRecommender().fit(Projection(nodes, rels, version=1))
    result = most_similar(model.index_, k=5)
    assert result.recomputed > 0
    assert [c for c, _ in result.of("c07")] == ["c00", "c01", "c02", "c03", "c04"]
    _assert_same(model, k=5)


@settings(max_examples=25, deadline=None)
@given(st.lists(st.sets(st.integers(0, 7), min_size=0, max_size=4), min_size=2, max_size=30), st.integers(1, 6))
def test_random_graphs_match_city_by_city(faced, k):
    cities = [City(id=f"c{i:02d}", name=f"C{i}", country="FR") for i in range(len(faced))]
    challenges = [Challenge(id=f"h{j}", name=f"H{j}") for j in range(8)]
    rels = [Faces(source=f"c{i:02d}", target=f"h{j}") for i, js in enumerate(faced) for j in js]
    rels += [PartOf(source="h1", target="h0"), PartOf(source="h2", target="h0")]  # a taxonomy, too
    _assert_same(PeerRecommender().fit(Projection([*cities, *challenges], rels, version=1)), k=k)


def test_k_out_of_range_is_a_usage_error():
    model = PeerRecommender().fit(Projection([City(id="a", name="A", country="FR")], [], version=1))
    with pytest.raises(UsageError, match="k=0 is out of range"):
        most_similar(model.index_, k=0)
    assert most_similar(model.index_, k=3).of("a") == []
