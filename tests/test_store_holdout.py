"""The hold-out on any store: what it hides never reaches the fitted index; every baseline is in the table."""

from __future__ import annotations

import dataclasses
import re

import pytest

from evaluation.baselines import FOCUSED_BASELINES, PARTNER_BASELINES, PEER_BASELINES
from evaluation.metrics import Metrics
from evaluation.report import print_table
from evaluation.store_holdout import MIN_INTERVAL, hold_out, store_report, table, why_none
from graph.errors import UsageError
from graph.projection import Projection
from matching.peers import PeerRecommender
from tests.planted import planted_projection


@pytest.fixture(scope="module")
def projection():
    return planted_projection(seed=3)


def test_no_hidden_link_reaches_the_fitted_index(projection):
    split = hold_out(projection, seed=0, share=0.3)
    assert split.members and split.partners
    index = PeerRecommender().fit(split.training).index_
    cohort_col = {c: i for i, c in enumerate(index.cohort_ids)}
    partner_col = {p: i for i, p in enumerate(index.partner_ids)}
    for city, cohort in split.members:
        assert index.cohorts[index.city_row[city], cohort_col[cohort]] == 0
        assert city not in {m for m in (r.source for r in split.training.relationships["MEMBER_OF"]
                                        if r.target == cohort)}
    for partner, city in split.partners:
        assert index.partners[index.city_row[city], partner_col[partner]] == 0
    # every city hidden from keeps another membership (or partner), and each query's hits are real members
    kept = {r.source for r in split.training.relationships["MEMBER_OF"]}
    assert all(city in kept for city, _ in split.members)
    assert all(q.city not in q.hits and q.hits for q in split.unfocused)


def test_the_split_is_seeded_and_its_halves_are_disjoint(projection):
    a, b = hold_out(projection, seed=1), hold_out(projection, seed=1)
    assert a.members == b.members and a.unfocused == b.unfocused
    assert a.members != hold_out(projection, seed=2).members
    halves = {q.half for q in a.unfocused}
    assert halves == {0, 1}


def test_the_report_has_every_baseline_and_an_interval(projection):
    report = store_report(projection, seed=0, share=0.3)
    assert set(report["peers"]["rows"]) == {"engine", *PEER_BASELINES}
    assert set(report["peers on the cohort's themes"]["rows"]) == {"engine", *PEER_BASELINES, *FOCUSED_BASELINES}
    assert set(report["partners"]["rows"]) == {"engine", *PARTNER_BASELINES}
    for title in ("peers", "peers on the cohort's themes", "partners"):
        found = report[title]
        low, high = found["interval"]
        assert low <= found["difference"] <= high
        assert found["rows"][found["best"]]["recall@10"] == max(
            row["recall@10"] for name, row in found["rows"].items() if name != "engine")


def test_a_share_out_of_range_is_refused(projection):
    with pytest.raises(UsageError, match=r"share=1\.5 is out of range"):
        hold_out(projection, share=1.5)


def _rebuilt(projection: Projection, *, city=None, keep=None) -> Projection:
    """The projection with each city passed through `city` and only the relationships `keep` keeps."""
    nodes = [city(n) if city and n.KIND == "City" else n for kind in projection.nodes.values() for n in kind]
    rels = [r for kind in projection.relationships.values() for r in kind if keep is None or keep(r)]
    return Projection(nodes, rels, version=1)


def test_a_baseline_with_nothing_to_go_on_is_marked_as_ranking_like_popularity(projection, capsys):
    """No city has coordinates: "nearest cities" falls back on popularity for every query, and its row said
    nothing of it (it read as evidence of its own). Now the table names the row it copies, with coordinates
    it does not."""
    blind = _rebuilt(projection, city=lambda c: dataclasses.replace(c, latitude=None, longitude=None))
    peers = store_report(blind, seed=0, share=0.3)["peers"]
    queries = peers["rows"]["engine"]["queries"]
    assert queries and peers["same as"]["nearest cities"] == ("popularity", queries)
    print_table("peers", peers)
    out = capsys.readouterr().out
    assert next(line for line in out.splitlines() if line.lstrip().startswith("nearest cities")).endswith(
        "= popularity")
    assert "a baseline ranks by popularity where the store lacks what it uses (coordinates" in out
    assert "nearest cities" not in store_report(projection, seed=0, share=0.3)["peers"]["same as"]


def test_a_hybrid_baseline_that_adds_nothing_is_marked_as_its_other_half(projection):
    """No challenges at all: "challenge IDF + co-membership" ranks every query as co-membership does."""
    themeless = _rebuilt(projection, keep=lambda r: r.KIND not in ("FACES", "COVERS"))
    peers = store_report(themeless, seed=0, share=0.3)["peers"]
    queries = peers["rows"]["engine"]["queries"]
    assert peers["same as"]["challenge IDF"] == ("popularity", queries)
    assert peers["same as"]["challenge IDF + co-membership"] == ("co-membership", queries)


def _first_membership_only(projection: Projection) -> Projection:
    seen: set[str] = set()

    def keep(r) -> bool:
        if r.KIND != "MEMBER_OF":
            return True
        first = r.source not in seen
        seen.add(r.source)
        return first

    return _rebuilt(projection, keep=keep)


@pytest.mark.parametrize(("change", "title", "reason"), [
    ("no covers", "peers on the cohort's themes", r"none of the \d+ hidden memberships' cohorts has themes \(COVERS\)"),
    ("no partners", "partners", "no city works with two or more partners, so no partner link can be hidden while "
                                "its city keeps one"),
    ("one cohort each", "peers", "no city is in two or more cohorts with other members, so no membership can be "
                                 "hidden while its city keeps one"),
    ("tiny share", "peers", r"a share of 0\.001 of the \d+ memberships that could be hidden is none"),
])
def test_a_table_without_queries_says_why(projection, capsys, change, title, reason):
    """It said "no such links to hide in this store" whatever the cause, even where memberships were hidden
    but their cohorts have no themes to ask about."""
    share = 0.001 if change == "tiny share" else 0.3
    store = {"no covers": lambda: _rebuilt(projection, keep=lambda r: r.KIND != "COVERS"),
             "no partners": lambda: _rebuilt(projection, keep=lambda r: r.KIND != "PARTNERS_WITH"),
             "one cohort each": lambda: _first_membership_only(projection),
             "tiny share": lambda: projection}[change]()
    report = store_report(store, seed=0, share=share)
    assert not report[title]["rows"]["engine"]["queries"]
    assert re.fullmatch(reason, report[title]["none"]), report[title]["none"]
    print_table(title, report[title])
    assert re.search(rf"\(none: {reason}\)", capsys.readouterr().out)


def test_the_test_half_alone_says_its_queries_fell_in_the_other_half(projection):
    split = hold_out(projection, seed=0, share=0.3, max_queries=1)
    (query,) = split.unfocused
    assert why_none(split, "peers", (1 - query.half,)) == (
        f"the 1 hidden membership fell in the {'validation' if query.half == 0 else 'test'} half")


def _metrics(lists: dict[str, list[str]], queries: int, hits: set[str]) -> dict[str, Metrics]:
    out = {name: Metrics() for name in lists}
    for name, ranked in lists.items():
        for _ in range(queries):
            out[name].add(ranked, hits, warm=set())
    return out


def test_a_table_gives_no_ratio_without_a_baseline_hit_and_no_interval_from_a_handful_of_queries(capsys):
    """Three queries no baseline finds anything for: the table printed "= infx the best baseline" and a "95%
    bootstrap interval" from three points."""
    t = table(_metrics({"engine": ["a"], "popularity": ["b"], "co-membership": ["c"]}, 3, {"a"}))
    assert t["ratio"] is None and t["interval"] is None and t["difference"] == 1.0
    print_table("peers", t)
    out = capsys.readouterr().out
    assert "peers: 3 queries" in out and "recall@10: engine 1.000; no baseline finds a hit, so no ratio" in out
    assert "3 queries: too few for an interval" in out and "inf" not in out and "bootstrap" not in out
    one = table(_metrics({"engine": ["a"], "popularity": ["a", "b"]}, 1, {"a", "b"}))
    print_table("peers", one)
    assert "peers: 1 query\n" in (out := capsys.readouterr().out) and "1 query: too few for an interval" in out
    enough = table(_metrics({"engine": ["a", "b"], "popularity": ["a"]}, MIN_INTERVAL, {"a", "b"}))
    assert enough["ratio"] == 2.0 and enough["interval"] == (0.5, 0.5)
    print_table("peers", enough)
    assert "= 2.00x the best baseline (popularity, 0.500); difference +0.500, 95% bootstrap interval" in (
        capsys.readouterr().out)
