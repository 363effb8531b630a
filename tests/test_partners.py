"""Partners, people and cities for a challenge: known answers on tiny graphs; through the Engine on every store."""

from __future__ import annotations

import dataclasses

import pytest

from graph import model
from graph.errors import NotFoundError, UsageError
from graph.model import Challenge, City, Faces, Leader, Partner, PartnersWith, PartOf, Serves, WorksOn
from graph.projection import Projection
from matching.engine import Engine
from matching.partners import PartnerRecommender, cities_for_challenge, people_to_meet
from matching.peers import NotFittedError, PeerRecommender

CITIES = [City(id=c, name=c.title(), country="FR", population=100_000) for c in ("a", "b", "c", "d")]
CHALLENGES = [Challenge(id="housing", name="Housing"), Challenge(id="social-housing", name="Social housing"),
              Challenge(id="transit", name="Transit")]
PARTNERS = [Partner(id="p-topic", name="Topic Org", sector="nonprofit", country="FR"),
            Partner(id="p-peers", name="Peers Org", sector="business", country="DE"),
            Partner(id="p-mine", name="Mine Org", sector="nonprofit"),
            Partner(id="p-none", name="Unrelated Org", sector="university")]
LEADERS = [Leader(id="l-a", name="Synthetic Leader A", role="mayor"),
           Leader(id="l-b-mayor", name="Synthetic Leader B1", role="mayor"),
           Leader(id="l-b-staff", name="Synthetic Leader B2", role="senior-staff"),
           Leader(id="l-d", name="Synthetic Leader D", role="deputy-mayor")]
RELS = [
    Faces(source="a", target="housing", priority=1), Faces(source="b", target="housing", priority=2),
    Faces(source="c", target="social-housing"), Faces(source="d", target="transit"),
    PartOf(source="social-housing", target="housing"),
    WorksOn(source="p-topic", target="housing"), WorksOn(source="p-none", target="transit"),
    PartnersWith(source="p-peers", target="b"), PartnersWith(source="p-mine", target="a"),
    PartnersWith(source="p-mine", target="b"),
    Serves(source="l-a", target="a"), Serves(source="l-b-mayor", target="b"), Serves(source="l-b-staff", target="b"),
    Serves(source="l-d", target="c"),
]
NODES = [*CITIES, *CHALLENGES, *PARTNERS, *LEADERS]


@pytest.fixture
def projection():
    return Projection(NODES, RELS, version=1)


def test_partners_on_the_city_challenges_and_with_its_peers(projection):
    matches = PartnerRecommender().fit(projection).recommend("a")
    assert [m.partner.id for m in matches] == ["p-topic", "p-peers"]  # p-mine is already a's partner
    topic, peers = matches
    assert [c.id for c in topic.shared_challenges] == ["housing"] and topic.via_cities == ()
    assert [c.id for c in peers.via_cities] == ["b"] and peers.shared_challenges == ()
    assert peers.reason == "Peers Org already works with B."
    for m in matches:
        assert sum(s.contribution for s in m.signals) == pytest.approx(m.score)


@pytest.mark.parametrize(("options", "expected"), [
    ({"sector": "business"}, ["p-peers"]), ({"country": "FR"}, ["p-topic"]),
    ({"challenge": "transit"}, ["p-none"]),
])
def test_partner_filters(projection, options, expected):
    assert [m.partner.id for m in PartnerRecommender().fit(projection).recommend("a", **options)] == expected


def test_partner_errors(projection):
    with pytest.raises(NotFittedError):
        PartnerRecommender().recommend("a")
    model = PartnerRecommender().fit(projection)
    with pytest.raises(NotFoundError, match="no city with id 'zz'"):
        model.recommend("zz")
    with pytest.raises(UsageError, match="partner weights"):
        PartnerRecommender(weights={"colour": 1}).fit(projection)


def test_a_mayor_meets_mayors_first(projection):
    peers = PeerRecommender().fit(projection)
    matches = people_to_meet(peers, projection, "l-a")
    assert [m.leader.id for m in matches] == ["l-b-mayor", "l-d", "l-b-staff"]
    assert matches[0].role_fit == 1.0 and matches[0].city.id == "b"
    assert matches[0].reason.startswith("Synthetic Leader B1 (mayor, B): also faces Housing")
    with pytest.raises(NotFoundError, match="no leader with id 'nobody'"):
        people_to_meet(peers, projection, "nobody")


def test_cities_for_a_challenge_direct_first_by_priority(projection):
    peers = PeerRecommender().fit(projection)
    matches = cities_for_challenge(peers, projection, "housing")
    assert [(m.city.id, m.score) for m in matches] == [("a", 1.0), ("b", 1.0), ("c", 0.5)]
    assert matches[0].reason == "A faces Housing (priority 1)."
    assert matches[2].reason == "C faces a part of Housing (Social housing)."
    assert [[c.id for c in m.challenges] for m in matches] == [["housing"], ["housing"], ["social-housing"]]


def test_the_engine_serves_all_recommenders_from_any_store(store):
    store.upsert(NODES, RELS)
    engine = Engine(store)
    assert [m.partner.id for m in engine.partners("a")] == ["p-topic", "p-peers"]
    assert engine.people("l-a")[0].leader.id == "l-b-mayor"
    assert [m.city.id for m in engine.cities_for_challenge("housing")] == ["a", "b", "c"]


def test_a_shared_index_gives_the_same_answers_and_must_match_the_data_version(projection):
    peers = PeerRecommender().fit(projection)
    shared = PartnerRecommender().fit(projection, index=peers.index_)
    assert shared.index_ is peers.index_
    assert shared.recommend("a") == PartnerRecommender().fit(projection).recommend("a")
    with pytest.raises(UsageError, match="the index is of data version 1, the projection of 2"):
        PartnerRecommender().fit(Projection(NODES, RELS, version=2), index=peers.index_)


def test_a_partner_in_a_cohort_with_the_city_shows_it_after_an_incremental_refresh(store):
    """A partner joining a cohort the city is in (as its organiser) shows as a shared cohort and in the reason
    of the next recommendation, through the incremental refresh of a large graph (memberships kept beside
    the index) as through a refit."""
    store.upsert([*NODES, model.Cohort(id="k", name="Class of 2026", programme="Synthetic programme")],
                 [*RELS, model.MemberOf(source="a", target="k")])
    engine = Engine(store, sync_limit=0)  # every graph counts as large: relationship writes refresh in place
    before = {m.partner.id: m for m in engine.partners("a")}
    assert before["p-topic"].shared_cohorts == () and before["p-topic"].reason == "Topic Org works on Housing."
    fitted = engine.current()
    store.upsert([], [model.MemberOf(source="p-topic", target="k", role="organiser")])
    after = {m.partner.id: m for m in engine.partners("a")}
    assert engine.current() is not fitted and engine.current().version == store.version()  # refreshed, not stale
    assert [c.id for c in after["p-topic"].shared_cohorts] == ["k"]
    assert after["p-topic"].reason == "Topic Org works on Housing and is in Class of 2026 with you."
    assert after["p-peers"].shared_cohorts == ()


def test_partner_ties_go_by_the_cities_they_work_with_never_by_id_alone():
    """Two organisations each work with one of the city's two peers (equally similar): equal scores. The one
    working with more cities in all comes first, though its id sorts last."""
    cities = [City(id=c, name=c.upper(), country="FR") for c in ("a", "b", "c", "z1", "z2")]
    partners = [Partner(id="p-aaa", name="Small Org", sector="network"),
                Partner(id="p-zzz", name="Big Org", sector="network")]
    rels = [Faces(source=c, target="housing") for c in ("a", "b", "c")]
    rels += [Faces(source=c, target="transit") for c in ("z1", "z2")]
    rels += [PartnersWith(source="p-aaa", target="b"), PartnersWith(source="p-zzz", target="c"),
             PartnersWith(source="p-zzz", target="z1"), PartnersWith(source="p-zzz", target="z2")]
    projection = Projection([*cities, *partners, CHALLENGES[0], CHALLENGES[2]], rels, version=1)
    got = PartnerRecommender(weights={"peers": 1.0}).fit(projection).recommend("a", k=2)
    assert got[0].score == got[1].score > 0
    assert [m.partner.id for m in got] == ["p-zzz", "p-aaa"]


def test_cohort_mates_and_reach_are_signals_whose_clauses_name_their_evidence():
    """An organisation working with the city's cohort-mates gets the cohort vote, named in the reason with
    those cities; popularity names the organisation's reach. A signal that did not contribute (weight 0)
    gets no clause."""
    cities = [City(id=c, name=c.upper(), country="FR") for c in ("a", "b", "c", "d")]
    partners = [Partner(id="p-class", name="Class Org", sector="network"),
                Partner(id="p-far", name="Far Org", sector="network")]
    rels = [model.MemberOf(source=c, target="k") for c in ("a", "b", "c")]
    rels += [PartnersWith(source="p-class", target="b"), PartnersWith(source="p-class", target="c"),
             PartnersWith(source="p-far", target="d"), Faces(source="a", target="housing"),
             Faces(source="d", target="housing")]
    projection = Projection([*cities, *partners, CHALLENGES[0], model.Cohort(id="k", name="Class of 2026",
                                                                     programme="Synthetic programme")], rels,
                            version=1)
    fitted = PartnerRecommender().fit(projection)
    got, filled = fitted.with_weights({"cohort_mates": 1.0}).recommend("a")  # Far Org shares no cohort-mate
    assert got.partner.id == "p-class" and [c.id for c in got.cohort_mates] == ["b", "c"] and got.reach == 2
    assert got.reason == "Class Org works with 2 of your cohort-mates (B, C)."
    # the short list is completed by reach, scoring 0 and saying so; not when asked on a challenge
    assert (filled.partner.id, filled.score, filled.reach) == ("p-far", 0.0, 1)
    assert filled.reason == "Far Org works with 1 city: listed for that reach, to complete the list."
    assert not any(s.contribution for s in filled.signals)
    asked = fitted.with_weights({"cohort_mates": 1.0}).recommend("a", challenge="housing")
    assert [m.partner.id for m in asked] == ["p-class"]
    assert dict((s.name, s.value) for s in got.signals)["cohort_mates"] == pytest.approx(1.0)
    by_reach = fitted.with_weights({"popularity": 1.0}).recommend("a")
    assert [(m.partner.id, m.reason) for m in by_reach] == [("p-class", "Class Org works with 2 cities."),
                                                            ("p-far", "Far Org works with 1 city.")]
    both = {m.partner.id: m for m in fitted.with_weights({"peers": 1.0, "cohort_mates": 1.0}).recommend("a")}
    assert both["p-far"].reason == "Far Org already works with D."  # peers only: no cohort clause
    assert both["p-class"].reason == "Class Org works with 2 of your cohort-mates (B, C)."  # no similar city
    for m in [got, filled, *by_reach, *both.values()]:
        assert sum(s.contribution for s in m.signals) == pytest.approx(m.score)


def test_the_vote_in_the_city_s_country_passes_over_a_border_and_names_its_cities():
    """A city by a border: its three nearest cities are across it and work with a foreign agency, its
    compatriots a little farther away with their own. The geography vote takes the foreign agency first;
    the vote in the city's country takes the national one, and its clause counts the compatriots only."""
    from matching.index import Geography

    at = {"home": ("FR", 49.0, 8.0), "de1": ("DE", 49.0, 8.1), "de2": ("DE", 49.05, 8.1), "de3": ("DE", 48.95, 8.1),
          "fr1": ("FR", 49.0, 7.7), "fr2": ("FR", 49.1, 7.7)}
    cities = [City(id=c, name=c.upper(), country=cc, latitude=lat, longitude=lon) for c, (cc, lat, lon) in at.items()]
    partners = [Partner(id="p-de", name="Land Agency", sector="public-agency"),
                Partner(id="p-fr", name="Region Agency", sector="public-agency")]
    rels = [PartnersWith(source="p-de", target=c) for c in ("de1", "de2", "de3")]
    rels += [PartnersWith(source="p-fr", target=c) for c in ("fr1", "fr2")]
    fitted = PartnerRecommender().fit(Projection([*cities, *partners], rels, version=1))
    assert [fitted.index_.city_ids[r] for r in fitted.index_.geo.nearest_in_country(fitted.index_.city_row["home"],
                                                                                     100)] == ["fr1", "fr2"]
    across = fitted.with_weights({"nearby": 1.0}).recommend("home")
    assert [m.partner.id for m in across] == ["p-de", "p-fr"]
    assert across[0].reason == "Land Agency works with 3 of your 5 nearest cities."
    home = fitted.with_weights({"nearby_in_country": 1.0}).recommend("home")
    assert home[0].partner.id == "p-fr" and [c.id for c in home[0].nearby_in_country] == ["fr1", "fr2"]
    assert home[0].reason == "Region Agency works with 2 of the 2 nearest cities in your country."
    assert home[0].score == pytest.approx(1.0)  # both compatriots work with it
    assert home[1].partner.id == "p-de" and home[1].score == 0  # listed for its reach, as a short list is
    # on a network in one country the two votes are the same
    one = [City(id=c.id, name=c.name, country="FR", latitude=c.latitude, longitude=c.longitude) for c in cities]
    geo = Geography.of(one)
    assert not geo.by_country and geo.nearest_in_country(0, 3).tolist() == geo.nearest(0, 3)[0].tolist()
    both = fitted.with_weights({"nearby": 1.0, "nearby_in_country": 1.0}).recommend("home")
    assert both[0].reason == ("Region Agency works with 2 of your 5 nearest cities and works with 2 of the 2 "
                              "nearest cities in your country.")
    # there the two clauses would say one thing twice ("works with 2 of your 5 nearest cities and works with 2
    # of the 5 nearest cities in your country"): it is said once
    fitted = PartnerRecommender(weights={"nearby": 1.0, "nearby_in_country": 1.0}).fit(Projection([*one, *partners],
                                                                                               rels, version=1))
    [first] = fitted.recommend("home", k=1)
    assert first.reason == "Land Agency works with 3 of your 5 nearest cities (all in your country)."
    assert [s.name for s in first.signals if s.contribution > 0] == ["nearby", "nearby_in_country"]


def test_graphql_names_the_compatriots_the_country_vote_counted(store):
    """Through the store and GraphQL, with stored weights giving the vote in the city's country all the
    weight: `nearbyInCountry` lists the compatriots and `nearbyCities` the nearest cities of any country."""
    import asyncio

    from matching.partners import PARTNER_SIGNALS
    from matching.peers import DEFAULT_WEIGHTS
    from matching.tuning import TunedWeights, save_weights
    from schema import Context, Loaders, build_schema

    at = {"home": ("FR", 49.0, 8.0), "de1": ("DE", 49.0, 8.1), "fr1": ("FR", 49.0, 7.7), "fr2": ("FR", 49.1, 7.7)}
    store.upsert([*(City(id=c, name=c.upper(), country=cc, latitude=lat, longitude=lon)
                    for c, (cc, lat, lon) in at.items()), Partner(id="p-fr", name="Region Agency", sector="network")],
                 [PartnersWith(source="p-fr", target=c) for c in ("de1", "fr1", "fr2")])
    save_weights(store, TunedWeights(peers=dict(DEFAULT_WEIGHTS), adopted=True, note="partners: tuned.",
                                     partners={**dict.fromkeys(PARTNER_SIGNALS, 0.0), "nearby_in_country": 1.0},
                                     data_version=store.version()))
    query = """{ recommendPartners(cityId: "home") { partner { id } nearbyCities { id } nearbyInCountry { id }
                 reason signals { name contribution } } }"""
    result = asyncio.run(build_schema().execute(query, context_value=Context(store=store, engine=Engine(store),
                                                                      loaders=Loaders(store))))
    assert result.errors is None, result.errors
    [got] = result.data["recommendPartners"]
    assert [c["id"] for c in got["nearbyInCountry"]] == ["fr1", "fr2"]
    assert [c["id"] for c in got["nearbyCities"]] == ["de1", "fr1", "fr2"]  # evidence, though weighted 0
    assert got["reason"] == "Region Agency works with 2 of the 2 nearest cities in your country."
    assert {s["name"] for s in got["signals"] if s["contribution"] > 0} == {"nearby_in_country"}


def test_the_cohort_vote_follows_a_new_partner_link_through_an_incremental_refresh(store):
    """With tuned weights giving the cohort vote all the weight, a cohort-mate's new partner is suggested,
    with that mate as its evidence, right after the write (the index refreshed in place, not refitted)."""
    from matching.partners import PARTNER_SIGNALS
    from matching.peers import DEFAULT_WEIGHTS
    from matching.tuning import TunedWeights, save_weights

    store.upsert([*CITIES, *PARTNERS, model.Cohort(id="k", name="Class of 2026", programme="Synthetic programme")],
                 [model.MemberOf(source=c, target="k") for c in ("a", "b", "c")]
                 + [PartnersWith(source="p-peers", target="b")])
    save_weights(store, TunedWeights(peers=dict(DEFAULT_WEIGHTS), adopted=True, note="partners: tuned.",
                                     partners={**dict.fromkeys(PARTNER_SIGNALS, 0.0), "cohort_mates": 1.0},
                                     data_version=store.version()))
    engine = Engine(store, sync_limit=0)  # every graph counts as large: relationship writes refresh in place
    assert [(m.partner.id, m.reason) for m in engine.partners("a")] == [
        ("p-peers", "Peers Org works with 1 of your cohort-mates (B).")]
    fitted = engine.current()
    store.upsert([], [PartnersWith(source="p-mine", target="c"), PartnersWith(source="p-mine", target="b")])
    got = {m.partner.id: m for m in engine.partners("a")}
    assert engine.current() is not fitted and engine.current().version == store.version()
    assert [c.id for c in got["p-mine"].cohort_mates] == ["b", "c"] and got["p-mine"].reach == 2
    assert got["p-mine"].score > got["p-peers"].score  # two of its two mates against one


def test_every_partner_explanation_is_true_of_the_graph():
    """On a seeded synthetic network with every partner signal weighted: each clause's evidence holds in the
    graph (cohort-mates share a cohort and work with the organisation, the reach is its cities, the nearest
    and similar cities work with it), each clause is there exactly when its signal contributed, and the
    contributions add up to the score."""
    from matching.partners import PARTNER_SIGNALS
    from tests.planted import partnered

    nodes, rels = partnered("cohorts", seed=3, cities=120, cohorts=12, partners=10)
    # two countries, split at 10 degrees east, so that the vote in the city's country differs from the vote
    nodes = [dataclasses.replace(n, country="DE" if n.longitude > 10 else "FR") if isinstance(n, City) else n
             for n in nodes]
    projection = Projection(nodes, rels, version=1)
    works: dict[str, set[str]] = {}
    for r in projection.relationships["PARTNERS_WITH"]:
        works.setdefault(r.source, set()).add(r.target)
    cohorts: dict[str, set[str]] = {}
    for r in projection.relationships["MEMBER_OF"]:
        cohorts.setdefault(r.source, set()).add(r.target)
    country = {n.id: n.country for n in nodes if isinstance(n, City)}
    fitted = PartnerRecommender(weights=dict.fromkeys(PARTNER_SIGNALS, 1.0)).fit(projection)
    checked = in_country = 0
    for city in sorted(cohorts)[:40]:
        for m in fitted.recommend(city):
            contributed = {s.name for s in m.signals if s.contribution > 0}
            assert sum(s.contribution for s in m.signals) == pytest.approx(m.score) and m.score > 0
            assert m.reach == len(works[m.partner.id]) and city not in works[m.partner.id]
            assert all(cohorts[c.id] & cohorts[city] and c.id in works[m.partner.id] for c in m.cohort_mates)
            assert {c.id for c in m.nearby_cities} <= works[m.partner.id] >= {c.id for c in m.via_cities}
            assert ("of your cohort-mates" in m.reason) == ("cohort_mates" in contributed and bool(m.cohort_mates))
            assert (f"works with {m.reach} cit" in m.reason) == ("popularity" in contributed)
            assert ("of your 100 nearest cities" in m.reason) == ("nearby" in contributed and bool(m.nearby_cities))
            assert {c.id for c in m.nearby_in_country} <= works[m.partner.id]
            assert {c.country for c in m.nearby_in_country} <= {country[city]}
            assert ("nearest cities in your country" in m.reason or "(all in your country)" in m.reason) == (
                "nearby_in_country" in contributed and bool(m.nearby_in_country))
            assert ("cohort_mates" in contributed) == bool(m.cohort_mates)
            checked += 1
            in_country += "nearest cities in your country" in m.reason
    assert checked >= 300 and in_country >= 30


def test_a_weighting_of_the_signal_values_lists_what_recommend_lists_score_for_score():
    """`citypeers evaluate gcom` reads each city's signals once and ranks them under every weighting of its
    grid: for any weights, `ranked(weighted(signal_values))` is recommend's list, order and scores alike,
    asked on a challenge or not (on a network with ties: several organisations score the same)."""
    import numpy as np

    from matching.partners import PARTNER_SIGNALS, ranked, weighted
    from tests.planted import partnered

    nodes, rels = partnered("cohorts", seed=2, cities=80, cohorts=8, partners=12)
    projection = Projection(nodes, rels, version=1)
    fitted = PartnerRecommender().fit(projection)
    ids = np.array(fitted.index_.partner_ids)
    rng = np.random.default_rng(0)
    challenge = projection.nodes["Challenge"][0].id
    compared = 0
    drawn = [dict(zip(PARTNER_SIGNALS, rng.choice([0.0, 0.5, 1.0], len(PARTNER_SIGNALS)), strict=True))
             for _ in range(5)]
    for weights in [dict.fromkeys(PARTNER_SIGNALS, 1.0), {"nearby": 1.0}, {"popularity": 0.3, "cohort_mates": 2.0},
                    *drawn]:
        model = fitted.with_weights(weights)
        full = {name: weights.get(name, 0.0) for name in PARTNER_SIGNALS}
        for city in [c.id for c in projection.nodes["City"][:25]]:
            for asked in (None, challenge):
                matches = model.recommend(city, k=15, challenge=asked)
                values, reach, eligible = fitted.signal_values(city, challenge=asked)
                total = weighted(values, full)
                top = ranked(total, reach, eligible, asked=asked is not None)[:15]
                assert ids[top].tolist() == [m.partner.id for m in matches]
                assert total[top].tolist() == [m.score for m in matches]
                compared += len(matches)
    assert compared > 1000


def test_the_gcom_grid_measures_each_weighting_as_recommend_ranks_and_chooses_the_best():
    """`evaluate gcom` ranks each weighting of its grid from signals read once: every weighting's validation
    recall@10 and NDCG@10 are recommend's own on that hold-out (a fifth of them checked, on a network where
    a short list's completion by reach matters), and the one chosen is the best, by recall then NDCG."""
    from evaluation.metrics import K
    from evaluation.partner_holdout import evaluate_partners, gcom_report, grid_figures, partner_holdout
    from tests.planted import partnered

    nodes, rels = partnered("geography", seed=1, cities=150, cohorts=15, partners=12)
    projection, hidden = partner_holdout(nodes, rels, seed=1)
    fitted = PartnerRecommender().fit(projection)
    figures = grid_figures(fitted, hidden, sorted(hidden))
    assert len(figures) == 143 and len(set(f for _, f in figures)) > 20
    for weights, got in figures[::5]:  # through recommend, a weighting takes ~50 ms here
        model = fitted.with_weights(weights)
        measured = evaluate_partners(projection, hidden, {"e": lambda c, m=model: [
            x.partner.id for x in m.recommend(c, k=K)]})["e"]
        assert got == (measured["recall@10"], measured["ndcg@10"]), weights
    report = gcom_report(nodes, rels)
    best = max(f for _, f in figures)
    assert (report["validation recall@10"], report["validation ndcg@10"]) == best
    assert report["weights"] == next(w for w, f in figures if f == best)
    assert {"engine", "30 nearest cities' partners", "co-membership cities' partners"} <= set(report["test"])
