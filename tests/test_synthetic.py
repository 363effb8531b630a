"""The generator: deterministic for a seed, skewed challenge popularity, valid bundles."""

from __future__ import annotations

from collections import Counter

from graph.bundle import read_bundle
from graph.synthetic import generate_bundle


def test_same_seed_same_bundle_other_seed_other_bundle(tmp_path):
    generate_bundle(tmp_path / "a", cities=400, seed=5)
    generate_bundle(tmp_path / "b", cities=400, seed=5)
    generate_bundle(tmp_path / "c", cities=400, seed=6)
    read = lambda p: {f.name: f.read_bytes() for f in p.iterdir()}  # noqa: E731
    assert read(tmp_path / "a") == read(tmp_path / "b")
    assert read(tmp_path / "a")["faces.csv"] != read(tmp_path / "c")["faces.csv"]


def test_bundle_is_valid_and_popularity_is_skewed(tmp_path):
    generate_bundle(tmp_path / "g", cities=2000, seed=1)
    bundle, problems = read_bundle(tmp_path / "g")
    assert problems == []
    faces = Counter(r.target for r in bundle.relationships if r.KIND == "FACES")
    counts = sorted(faces.values(), reverse=True)
    assert counts[0] > 0.3 * 2000  # the most popular challenge: faced by about a third of cities or more
    assert counts[0] > 4 * counts[len(counts) // 2]  # ... and by far more than the median one
    per_city = Counter(r.source for r in bundle.relationships if r.KIND == "FACES")
    assert 7 <= sum(per_city.values()) / 2000 <= 9
