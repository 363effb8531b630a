"""Peer recommendations: known answers on tiny graphs, estimator manners, filters, and explanations that are
true of the graph (a property test on random graphs)."""

from __future__ import annotations

import dataclasses

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from graph.errors import NotFoundError, UsageError
from graph.model import Challenge, City, Cohort, Faces, MemberOf, Partner, PartnersWith, PartOf, PeersWith
from graph.projection import Projection
from matching.engine import Engine
from matching.peers import DEFAULT_WEIGHTS, SIGNALS, NotFittedError, PeerRecommender
from tests.sample import NODES, RELATIONSHIPS


def _fit(nodes=NODES, rels=RELATIONSHIPS, **params) -> PeerRecommender:
    return PeerRecommender(**params).fit(Projection(nodes, rels, version=1))


def _graph(faces: dict[str, list[str]], **extra) -> tuple[list, list]:
    challenges = sorted({c for cs in faces.values() for c in cs})
    nodes = [City(id=c, name=c.title(), country="FR") for c in faces] + [Challenge(id=c, name=c) for c in challenges]
    rels = [Faces(source=city, target=c) for city, cs in faces.items() for c in cs]
    return nodes + extra.get("nodes", []), rels + extra.get("rels", [])


def test_sharing_a_rare_challenge_beats_sharing_a_common_one():
    nodes, rels = _graph({"a": ["jobs", "rare"], "b": ["rare"], "c": ["jobs"], "d": ["jobs"], "e": ["jobs"]})
    matches = _fit(nodes, rels, weights={"challenges": 1.0}).recommend("a", k=4)
    assert [m.city.id for m in matches] == ["b", "c", "d", "e"]
    assert matches[0].score > matches[1].score


def test_a_shared_sub_challenge_counts_toward_its_parent_at_half_weight():
    nodes, rels = _graph({"a": ["housing"], "b": ["affordable"], "c": ["mobility"]},
                         rels=[PartOf(source="affordable", target="housing")])
    [match] = _fit(nodes, rels, weights={"challenges": 1.0}).recommend("a")
    assert match.city.id == "b" and match.score == pytest.approx(0.5)
    assert [c.id for c in match.related_challenges] == ["housing"] and match.shared_challenges == ()


def test_contributions_add_up_and_evidence_is_named():
    [tallinn, vilnius] = _fit().recommend("riga", k=2)
    assert tallinn.city.id == "tallinn"
    assert sum(s.contribution for s in tallinn.signals) == pytest.approx(tallinn.score)
    assert [s.name for s in tallinn.signals] == ["challenges", "cohorts", "context"]  # the weighted ones
    every = _fit(weights=dict.fromkeys(SIGNALS, 1.0)).recommend("riga", k=1)[0]
    assert [s.name for s in every.signals] == list(SIGNALS)
    assert [c.id for c in tallinn.shared_challenges] == ["housing"]
    assert tallinn.reason == "Tallinn also faces Housing; is also in Europe; is of similar size."
    assert vilnius.reason == "Vilnius works on related challenges (Housing); is also in Europe; is of similar size."
    assert 275 < tallinn.distance_km < 285 and vilnius.distance_km is None  # Vilnius has no coordinates here


def test_shared_cohorts_and_partners_are_evidence():
    nodes, rels = _graph({"a": ["x"], "b": ["x"]}, nodes=[Cohort(id="k", name="Class", programme="P"),
                                                          Partner(id="p", name="Org", sector="nonprofit")],
                         rels=[MemberOf(source="a", target="k"), MemberOf(source="b", target="k"),
                               PartnersWith(source="p", target="a"), PartnersWith(source="p", target="b")])
    [match] = _fit(nodes, rels).recommend("a")
    assert [c.id for c in match.shared_cohorts] == ["k"] and [p.id for p in match.shared_partners] == ["p"]
    # the partners signal has no weight by default: the shared partner is evidence, but no reason
    assert "is in Class with you" in match.reason and "works with Org" not in match.reason
    [match] = _fit(nodes, rels, weights={**DEFAULT_WEIGHTS, "partners": 0.2}).recommend("a")
    assert "is in Class with you" in match.reason and "works with Org too" in match.reason


@pytest.mark.parametrize(("options", "expected"), [
    ({}, ["b", "c", "d"]),
    ({"challenges": ["y"]}, ["c"]),
    ({"country": "DE"}, ["d"]),
    ({"exclude_own_country": True}, ["d"]),
    ({"exclude_known": True}, ["c", "d"]),
])
def test_focus_and_filters(options, expected):
    nodes, rels = _graph({"a": ["x", "y"], "b": ["x"], "c": ["y"], "d": ["x"]},
                         rels=[PeersWith(source="b", target="a")])
    nodes = [City(id="d", name="D", country="DE") if n.id == "d" else n for n in nodes]
    got = [m.city.id for m in _fit(nodes, rels, weights={"challenges": 1.0}).recommend("a", **options)]
    assert sorted(got) == expected


@pytest.mark.parametrize(("options", "expected"), [
    ({}, ["b", "c", "d", "e"]),
    ({"min_population": 2000}, ["c", "d"]),  # e's population is unknown: outside any band
    ({"max_population": 2000}, ["b", "c"]),
    ({"min_population": 1500, "max_population": 2500}, ["c"]),
    ({"cohort": "k"}, ["b", "e"]),
    ({"cohort": "k", "max_population": 1000}, ["b"]),
])
def test_size_band_and_cohort_filters(options, expected):
    from graph.model import Cohort, MemberOf

    nodes, rels = _graph({"a": ["x"], "b": ["x"], "c": ["x"], "d": ["x"], "e": ["x"]})
    population = {"a": 1000, "b": 1000, "c": 2000, "d": 3000}
    nodes = [dataclasses.replace(n, population=population.get(n.id)) if isinstance(n, City) else n for n in nodes]
    nodes.append(Cohort(id="k", name="K", programme="P"))
    rels += [MemberOf(source=c, target="k") for c in ("a", "b", "e")]
    got = [m.city.id for m in _fit(nodes, rels, weights={"challenges": 1.0}).recommend("a", **options)]
    assert sorted(got) == expected


def test_language_signal_counts_the_countries_main_language():
    # BE's first GeoNames language is Dutch, like NL's; FR's is French; CA's is English, like GB's
    nodes, rels = _graph({"nl": ["x"], "be": ["x"], "fr": ["x"], "ca": ["x"], "gb": ["x"]})
    countries = {"nl": "NL", "be": "BE", "fr": "FR", "ca": "CA", "gb": "GB"}
    nodes = [dataclasses.replace(n, country=countries[n.id]) if isinstance(n, City) else n for n in nodes]
    model = _fit(nodes, rels, weights={"challenges": 1.0, "language": 1.0})
    matches = model.recommend("nl")
    assert matches[0].city.id == "be"
    language = {m.city.id: next(s.value for s in m.signals if s.name == "language") for m in matches}
    assert language == {"be": 1.0, "ca": 0.0, "fr": 0.0, "gb": 0.0}
    assert next(s.value for s in model.recommend("ca")[0].signals if s.name == "language") == 1.0  # gb


def test_filter_errors_name_the_bad_value():
    model = _fit(*_graph({"a": ["x"], "b": ["x"]}), weights={"challenges": 1.0})
    with pytest.raises(NotFoundError, match="no cohort with id 'nope'"):
        model.recommend("a", cohort="nope")
    with pytest.raises(UsageError, match=r"^max_population 10 is below min_population 5000; give 0 <= "
                                         r"min_population <= max_population$"):
        model.recommend("a", min_population=5000, max_population=10)
    with pytest.raises(UsageError, match=r"^min_population -5 is below 0; "):  # never "-5..None"
        model.recommend("a", min_population=-5)


def test_estimator_manners():
    model = PeerRecommender(weights={"challenges": 1.0}, parent_weight=0.3)
    assert (model.weights, model.parent_weight) == ({"challenges": 1.0}, 0.3)  # stored as given
    with pytest.raises(NotFittedError, match="not fitted yet"):
        model.recommend("riga")
    assert model.fit(Projection(NODES, RELATIONSHIPS, version=1)) is model and model.index_.version == 1
    with pytest.raises(TypeError):
        PeerRecommender({"challenges": 1.0})  # keyword-only


@pytest.mark.parametrize(("call", "error", "message"), [
    (lambda m: m.recommend("nowhere"), NotFoundError, "no city with id 'nowhere'"),
    (lambda m: m.recommend("riga", challenges=["nope"]), NotFoundError, "no challenge with id 'nope'"),
    (lambda m: m.recommend("riga", k=0), UsageError, "k=0 is out of range"),
    (lambda m: PeerRecommender(weights={"colour": 1}).fit(Projection(NODES, [], version=0)), UsageError,
     "unknown signal weight 'colour'"),
])
def test_bad_requests_name_the_value(call, error, message):
    with pytest.raises(error, match=message):
        call(_fit())


def test_engine_refits_when_the_store_changes(store):
    store.upsert(NODES, RELATIONSHIPS)
    engine = Engine(store)
    assert [m.city.id for m in engine.peers("vilnius")] == ["riga", "tallinn"]
    store.upsert([], [Faces(source="vilnius", target="mobility")])
    assert engine.peers("vilnius")[0].city.id == "tallinn"  # now shares Mobility directly
    assert engine.refresh() == store.version()


cities = [f"c{i}" for i in range(6)]
challenge_ids = [f"h{i}" for i in range(5)]


PROPERTY_WEIGHTS = [None, dict.fromkeys(SIGNALS, 1.0), {"challenges": 0.2, "proximity": 0.5, "popularity": 0.3},
                    {"cohorts": 0.5, "context": 0.3, "language": 0.2}]


@settings(max_examples=80, deadline=None)
@given(st.sets(st.tuples(st.sampled_from(cities), st.sampled_from(challenge_ids)), min_size=1),
       st.sets(st.tuples(st.sampled_from(challenge_ids), st.sampled_from(challenge_ids))),
       st.sets(st.tuples(st.sampled_from(cities), st.sampled_from(["k1", "k2"]))),
       st.sets(st.tuples(st.sampled_from(["p1", "p2"]), st.sampled_from(cities))),
       st.lists(st.one_of(st.none(), st.tuples(st.floats(-60, 60), st.floats(-170, 170))), min_size=6, max_size=6),
       st.lists(st.sampled_from([None, "north", "south"]), min_size=6, max_size=6),
       st.lists(st.sampled_from([None, 1_000, 1_500, 40_000]), min_size=6, max_size=6),
       st.sampled_from(range(len(PROPERTY_WEIGHTS))),
       st.one_of(st.none(), st.sets(st.sampled_from(challenge_ids), min_size=1, max_size=2)), st.booleans())
def test_every_explanation_is_true_of_the_graph(faces, part_of, members, partners, places, regions, sizes,
                                                 weights, focus, strict):
    """On random graphs, with every signal weighted in turn, focused (strictly or not) or not: every clause
    of every reason and every piece of evidence is true of the graph, and the contributions add up to the
    score."""
    parent: dict[str, str] = {}
    for child, par in sorted(part_of):  # keep a forest: one parent, no cycles
        seen, node = {child}, par
        while node is not None and node not in seen:
            seen.add(node)
            node = parent.get(node)
        if child not in parent and node is None:
            parent[child] = par
    nodes = ([City(id=c, name=c, country="FR" if i % 2 else "DE", population=sizes[i], region=regions[i],
                   latitude=places[i][0] if places[i] else None, longitude=places[i][1] if places[i] else None)
              for i, c in enumerate(cities)]
             + [Challenge(id=h, name=h) for h in challenge_ids]
             + [Cohort(id=k, name=k, programme="p") for k in ("k1", "k2")]
             + [Partner(id=p, name=p, sector="network") for p in ("p1", "p2")])
    rels = ([Faces(source=c, target=h) for c, h in faces] + [PartOf(source=c, target=p) for c, p in parent.items()]
            + [MemberOf(source=c, target=k) for c, k in members]
            + [PartnersWith(source=p, target=c) for p, c in partners])
    model = _fit(nodes, rels, weights=PROPERTY_WEIGHTS[weights], strict_focus=strict)
    facing = {(c, h) for c, h in faces}
    city_of = {n.id: n for n in nodes if isinstance(n, City)}

    def ancestors(h):
        while h in parent:
            h = parent[h]
            yield h

    for city in cities:
        for match in model.recommend(city, k=5, challenges=sorted(focus) if focus else None):
            other = match.city.id
            me, them = city_of[city], city_of[other]
            assert other != city
            assert sum(s.contribution for s in match.signals) == pytest.approx(match.score)
            contributed = {s.name for s in match.signals if s.contribution > 0}
            for c in match.shared_challenges:
                assert (city, c.id) in facing and (other, c.id) in facing
            for c in match.related_challenges:  # both face it or one of its descendants
                for who in (city, other):
                    assert any(h == c.id or c.id in set(ancestors(h)) for w, h in facing if w == who)
            for k in match.shared_cohorts:
                assert (city, k.id) in members and (other, k.id) in members
            for p in match.shared_partners:
                assert (p.id, city) in partners and (p.id, other) in partners
            if focus and match.focus_challenges:  # it names the asked-about challenges it works on, only those
                assert f"works on {match.focus_challenges[0].name}" in match.reason
                # and does not say a challenge twice ("works on h1; also faces h1")
                assert not any(f"also faces {c.name}" in match.reason for c in match.focus_challenges)
                assert "has not listed" not in match.reason
                for c in match.focus_challenges:
                    assert c.id in focus and any(h == c.id or c.id in set(ancestors(h)) for w, h in facing
                                                 if w == other)
            elif focus:  # a soft focus only: working on none of them, it says so, then why it is suggested
                assert not strict and match.reason.startswith(f"{other} has not listed ")
                assert not any(h == c or c in set(ancestors(h)) for w, h in facing if w == other for c in focus)
            if not focus or not match.focus_challenges:  # something shared, or a learned nearness or connectedness
                assert match.shared_challenges or match.related_challenges or match.shared_cohorts \
                    or match.shared_partners or {"proximity", "popularity"} & contributed
            # a clause naming shared evidence only when its signal scored: challenges unfocused (focused, the
            # asked ones are named by "works on"), cohorts, partners
            assert ("also faces" in match.reason) == (not focus and "challenges" in contributed
                                                     and bool(match.shared_challenges))
            assert ("related challenges" in match.reason) == (not focus and "challenges" in contributed
                                                             and bool(match.related_challenges))
            assert (" with you" in match.reason) == ("cohorts" in contributed), match.reason
            assert (" too" in match.reason) == ("partners" in contributed), match.reason
            # context clauses only when their part contributed, and true
            assert ("is also in" in match.reason) == ("context" in contributed and me.region is not None
                                                     and me.region == them.region)
            if "is also in" in match.reason:
                assert f"is also in {me.region}" in match.reason
            if "is of similar size" in match.reason:
                assert "context" in contributed and min(me.population, them.population) >= 0.5 * max(
                    me.population, them.population)
            assert ("km away" in match.reason) == ("proximity" in contributed)
            if match.distance_km is not None:
                assert me.latitude is not None and them.latitude is not None
                assert f"is {match.distance_km:,.0f} km away" in match.reason or "proximity" not in contributed
            links = (f"{match.connections} cohorts and partners" if match.connections != 1
                     else "1 cohort or partner")
            told = f"is well connected ({links})" in match.reason or f"has {links}" in match.reason
            assert told == ("popularity" in contributed)
            if told:
                assert match.connections == sum(1 for c, _ in members if c == other) + sum(
                    1 for _, c in partners if c == other) > 0
                # "well connected" only above the median city's cohorts and partners
                degrees = sorted(sum(1 for c, _ in members if c == city) + sum(1 for _, c in partners if c == city)
                                 for city in cities)
                median = (degrees[(len(degrees) - 1) // 2] + degrees[len(degrees) // 2]) / 2
                assert ("is well connected" in match.reason) == (match.connections > median)
            assert ("has the same main language" in match.reason) == ("language" in contributed)
            assert "similar in size and region" not in match.reason


def test_dismissed_and_met_cities_are_not_suggested_again():
    from graph.model import Dismissed

    nodes, rels = _graph({"a": ["x"], "b": ["x"], "c": ["x"], "d": ["x"]})
    rels += [Dismissed(source="a", target="b"), PeersWith(source="c", target="a", origin="met")]
    model = _fit(nodes, rels)
    assert [m.city.id for m in model.recommend("a")] == ["d"]
    assert "a" not in [m.city.id for m in model.recommend("c")]  # a meeting counts both ways
    assert "a" in [m.city.id for m in model.recommend("b")]  # a dismissal only for the city that dismissed


def test_large_graphs_refit_in_the_background_and_serve_the_old_fit_meanwhile(sqlite_store):
    import time

    sqlite_store.upsert(NODES, RELATIONSHIPS)
    engine = Engine(sqlite_store, sync_limit=0)  # every graph counts as large here
    assert [m.city.id for m in engine.peers("vilnius")] == ["riga", "tallinn"]
    first = engine.current()
    vilnius = next(n for n in NODES if n.id == "vilnius")
    # a node write in the batch: the change log says "rebuild" (relationship-only writes refresh in place,
    # tests/test_refresh.py)
    sqlite_store.upsert([dataclasses.replace(vilnius, population=542_367)],
                        [Faces(source="vilnius", target="mobility")])
    assert engine.current() is first  # the stale fit is served at once; a new one builds
    deadline = time.monotonic() + 10
    while engine.current().version != sqlite_store.version():
        assert time.monotonic() < deadline, "the background refit did not land"
        time.sleep(0.02)
    assert engine.peers("vilnius")[0].city.id == "tallinn"


def test_ties_go_by_popularity_then_distance_never_by_id_alone():
    at = {"a": (50.0, 4.0), "b": (60.0, 20.0), "c": (40.0, -3.0), "d": (50.5, 4.5)}
    nodes = [City(id=c, name=c.upper(), country="FR", latitude=lat, longitude=lon) for c, (lat, lon) in at.items()]
    nodes += [Challenge(id="x", name="X"), Cohort(id="k", name="K", programme="P")]
    rels = [Faces(source=c, target="x") for c in at] + [MemberOf(source="c", target="k")]
    got = [m.city.id for m in _fit(nodes, rels, weights={"challenges": 1.0}).recommend("a")]
    assert got == ["c", "d", "b"]  # all tie on score: the better connected, then the nearer


def test_diversify_never_lifts_a_far_weaker_match_over_a_strong_one():
    from matching.peers import FLOOR
    from seeds import seed_graph

    model = _fit(*seed_graph())
    top = model.recommend("amsterdam", k=1)[0].score
    mixed = model.recommend("amsterdam", k=23, diversify=0.5)
    strong = [m.score >= FLOOR * top for m in mixed]
    assert any(strong) and not all(strong)  # both kinds are there ...
    assert strong == sorted(strong, reverse=True)  # ... and every strong one comes before every weak one
    assert {m.city.id for m in mixed} == {m.city.id for m in model.recommend("amsterdam", k=23)}


def test_proximity_reaches_every_city_until_it_fades_to_one_percent():
    """Proximity is exp(-distance / scale) for every city within the distance where that falls to 1% of its
    peak (ln(100) scales, the network's own), 0 beyond; the NEAREST cap only binds in crowds."""
    import numpy as np

    from matching.index import EARTH_KM, FADED, haversine

    # a 24 x 24 grid of cities 0.1 degree apart, asked from the middle: the reach's disc holds more than the 64
    # nearest that once had a value, and fewer than the whole grid
    at = {f"c{i:02d}{j:02d}": (45.0 + i / 10, 4.0 + j / 10) for i in range(24) for j in range(24)}
    nodes = [City(id=c, name=c, country="FR", latitude=lat, longitude=lon) for c, (lat, lon) in at.items()]
    nodes += [Challenge(id="x", name="X")]
    model = _fit(nodes, [Faces(source=c, target="x") for c in at], weights={"challenges": 0.5, "proximity": 0.5})
    geo = model.index_.geo
    row = model.index_.city_row["c1212"]
    rows, values = geo.near(row, 256)
    every = np.arange(len(at))
    distance = haversine(geo.radians[row], geo.radians[every])
    within = every[(distance <= geo.reach) & (every != row)]
    assert 64 < len(within) < len(at) - 1
    assert rows.tolist() == within.tolist()
    assert np.allclose(values, np.exp(-distance[within] / geo.scale)) and values.min() >= FADED * (1 - 1e-9)
    assert geo.reach * EARTH_KM == pytest.approx(np.log(100) * geo.scale * EARTH_KM)
    capped, _ = geo.near(row, 30)  # the cap keeps the nearest
    left = np.setdiff1d(within, capped)
    assert len(capped) == 30 and set(capped.tolist()) <= set(within.tolist())
    assert distance[capped].max() <= distance[left].min() + 1e-12
    far = model.recommend("c1212", k=len(at) - 1)
    clauses = {m.city.id: "km away" in m.reason for m in far}
    assert all(clauses[model.index_.city_ids[r]] for r in within)
    assert not any(clauses[c] for c in at if c != "c1212" and model.index_.city_row[c] not in set(within.tolist()))
