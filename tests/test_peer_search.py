"""The pruned peer search returns exactly what scoring every city by brute force returns.

`PeerRecommender.recommend` skips most cities through bounds (matching/peers.py). Here every city is scored
with the recommender's own signal functions, eligibility is applied by its rules, and the best k by
(score, popularity, distance, id) must be what `recommend` returns, on a synthetic graph with a skewed
challenge popularity (a few challenges nearly everyone faces), for many cities, weights and filters.
"""

from __future__ import annotations

import numpy as np
import pytest

from graph.bundle import read_bundle
from graph.model import Challenge, City, Cohort, Faces, MemberOf
from graph.projection import Projection
from graph.synthetic import generate_bundle
from matching.index import dense_row, row_of
from matching.peers import SIGNALS, PeerRecommender, _largest_above

WEIGHTS = {
    "default": None,
    "every signal": {"challenges": 0.3, "text": 0.2, "cohorts": 0.2, "partners": 0.1, "context": 0.1,
                     "language": 0.1},
    "challenges only": {"challenges": 1.0},
    "context heavy": {"challenges": 0.2, "cohorts": 0.1, "context": 0.7},
    "popularity and proximity": {"challenges": 0.3, "cohorts": 0.2, "popularity": 0.2, "proximity": 0.3},
    "proximity heavy": {"challenges": 0.1, "context": 0.1, "proximity": 0.8},
}
FILTERS = [{}, {"region": "Europe"}, {"exclude_own_country": True}, {"min_population": 20_000},
           {"exclude_known": True}]


@pytest.fixture(scope="module")
def projection(tmp_path_factory) -> Projection:
    folder = tmp_path_factory.mktemp("search")
    generate_bundle(folder / "g", cities=1500, seed=11)
    bundle, problems = read_bundle(folder / "g")
    assert not problems
    return Projection(bundle.nodes, bundle.relationships, version=1)


def brute_force(model: PeerRecommender, city_id: str, k: int, region=None, exclude_own_country=False,
                min_population=None, exclude_known=False, challenges=None) -> list[tuple[float, str]]:
    index = model.index_
    row = index.city_row[city_id]
    if challenges is None:
        query = dense_row(index.challenges, row) * index.rarity
    else:  # focused: cities working on these challenges; only sharing one of them is a reason
        query = np.zeros(len(index.challenge_ids))
        query[[index.challenge_col[c] for c in challenges]] = 1.0
        query *= index.rarity
    values = {name: np.asarray(model._signal(index, name, row, query, None), dtype=np.float64) for name in SIGNALS}
    # the same summation order as the recommender: sparse signals first, then dense ones
    total = sum(model.weights_[n] * values[n] for n in ("challenges", "cohorts", "partners") if model.weights_[n] > 0)
    total = total + sum(model.weights_[n] * values[n] for n in ("text", "context", "language", "popularity",
                                                                "proximity") if model.weights_[n] > 0)
    nearness = index.geo.proximity(row, np.arange(len(index.city_ids)))  # ties: the nearer first, at any distance
    known = set(row_of(index.known_peers, row)[0].tolist())
    declined = set(row_of(index.not_again, row)[0].tolist())
    ranked = []
    for other in range(len(index.city_ids)):
        # unless strictly focused, a shared cohort or partner, or a weighted nearness or connectedness, too
        shares = values["challenges"][other] > 0 or ((challenges is None or not model.strict_focus_) and any(
            values[n][other] > 0 and (n in ("cohorts", "partners") or model.weights_[n] > 0)
            for n in ("cohorts", "partners", "popularity", "proximity")))
        if (other == row or not shares or other in declined or total[other] <= 0
                or (exclude_known and other in known)
                or (region is not None and index.region[other] != region)
                or (exclude_own_country and index.country[other] == index.country[row])
                or (min_population is not None and not index.population[other] >= max(min_population, 1))):
            continue
        # ties: the better connected, then the nearer (no coordinates last), then id
        ranked.append((-float(total[other]), -index.popularity[other], -nearness[other], index.city_ids[other]))
    return [(round(-score, 9), city) for score, _, _, city in sorted(ranked)[:k]]


@pytest.mark.parametrize("weights", list(WEIGHTS), ids=list(WEIGHTS))
@pytest.mark.parametrize("filters", FILTERS, ids=[",".join(f) or "no filter" for f in FILTERS])
def test_recommend_equals_brute_force(projection, weights, filters):
    model = PeerRecommender(weights=WEIGHTS[weights]).fit(projection)
    rng = np.random.default_rng(len(weights) * 31 + len(filters))
    for city_id in rng.choice(model.index_.city_ids, size=25, replace=False).tolist():
        for k in (1, 10):
            got = [(round(m.score, 9), m.city.id) for m in model.recommend(city_id, k=k, **filters)]
            assert got == brute_force(model, city_id, k, **filters), (city_id, k)


@pytest.mark.parametrize("strict", [True, False], ids=["strict focus", "soft focus"])
@pytest.mark.parametrize("weights", list(WEIGHTS), ids=list(WEIGHTS))
def test_focused_recommend_equals_brute_force(projection, weights, strict):
    """Focused on challenges (`challenges=`), strictly: only sharing one of them counts, while cohorts still
    add to the score under the default weights, so cities that share a cohort alone rank high but may not be
    returned. With a soft focus they may, as unfocused (the asked challenges score through `challenges`)."""
    model = PeerRecommender(weights=WEIGHTS[weights], strict_focus=strict).fit(projection)
    index = model.index_
    rng = np.random.default_rng(len(weights))
    beyond = 0  # suggestions working on none of the asked challenges
    for city_id in rng.choice(index.city_ids, size=20, replace=False).tolist():
        own = [index.challenge_ids[c] for c in row_of(index.direct, index.city_row[city_id])[0].tolist()]
        focus = sorted(set(own[:1]) | set(rng.choice(index.challenge_ids, size=2, replace=False).tolist()))
        for k in (1, 10):
            matches = model.recommend(city_id, k=k, challenges=focus)
            got = [(round(m.score, 9), m.city.id) for m in matches]
            assert got == brute_force(model, city_id, k, challenges=focus), (city_id, focus, k)
            beyond += sum(not m.focus_challenges for m in matches)
    if strict:
        assert beyond == 0
    elif model.weights_["proximity"] >= 0.3:  # soft: near cities working on none of them make the list too
        assert beyond > 0


def test_focused_peers_sharing_only_a_cohort_do_not_set_the_bar():
    """Focused on a challenge, a shared cohort still adds to the score but is no reason on its own. Here 60
    cohort-mates of the asking city face other things and outscore, by far, the two cities that face the
    challenge; the bound must come from those two, or they are cut before anyone checks."""
    cities = [City(id=f"c{i:02d}", name=f"Synthetic {i}", country="FR", region="Europe", population=50_000)
              for i in range(80)]
    nodes = [*cities, Challenge(id="rare", name="Rare"), Challenge(id="other", name="Other"),
             Cohort(id="class", name="Synthetic class", programme="Synthetic")]
    rels = [Faces(source=c, target="rare") for c in ("c00", "c41", "c77")]
    rels += [Faces(source=c.id, target="other") for c in cities if c.id not in ("c41", "c77")]
    rels += [MemberOf(source=c.id, target="class") for c in cities[:62] if c.id != "c41"]
    model = PeerRecommender().fit(Projection(nodes, rels, version=1))
    got = model.recommend("c00", k=10, challenges=["rare"])
    assert [m.city.id for m in got] == ["c41", "c77"]
    assert [(round(m.score, 9), m.city.id) for m in got] == brute_force(model, "c00", 10, challenges=["rare"])


def test_cities_sharing_nothing_never_crowd_out_the_few_that_share(monkeypatch):
    """Eligibility (shares a challenge, cohort or partner) is checked only near the top of the list. Here
    context dominates and 78 same-region, same-size cities share nothing with the asking city, so they fill
    the best-by-bound seeds; the two that do share must still be all that comes back."""
    import matching.peers as peers

    cities = [City(id=f"c{i:02d}", name=f"Synthetic {i}", country="FR", region="Europe", population=50_000)
              for i in range(80)]
    challenges = [Challenge(id="rare", name="Rare"), Challenge(id="other", name="Other")]
    faces = [Faces(source=c, target="rare") for c in ("c00", "c41", "c77")]
    faces += [Faces(source=c.id, target="other") for c in cities[1:] if c.id not in ("c41", "c77")]
    model = PeerRecommender(weights={"challenges": 0.1, "context": 0.9}).fit(
        Projection(cities + challenges, faces, version=1))
    calls = []
    monkeypatch.setattr(peers, "_largest_above", lambda values, m: calls.append(m) or _largest_above(values, m))
    assert [m.city.id for m in model.recommend("c00", k=10)] == ["c41", "c77"]
    assert brute_force(model, "c00", 10) == [(round(m.score, 9), m.city.id) for m in model.recommend("c00", k=10)]
    assert len(calls) >= 4  # two searches a call: the seeds were crowded out, so everyone's eligibility was checked
