"""The hold-out on any store: what it hides never reaches the fitted index; every baseline is in the table."""

from __future__ import annotations

import pytest

from evaluation.baselines import FOCUSED_BASELINES, PARTNER_BASELINES, PEER_BASELINES
from evaluation.store_holdout import hold_out, store_report
from graph.errors import UsageError
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
        table = report[title]
        low, high = table["interval"]
        assert low <= table["difference"] <= high
        assert table["rows"][table["best"]]["recall@10"] == max(
            row["recall@10"] for name, row in table["rows"].items() if name != "engine")


def test_a_share_out_of_range_is_refused(projection):
    with pytest.raises(UsageError, match=r"share=1\.5 is out of range"):
        hold_out(projection, share=1.5)
