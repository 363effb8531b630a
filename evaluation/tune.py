"""`citypeers tune`: learn the signal weights from the store's own graph, check them, keep them with their
figures (matching/tuning.py).

The hold-out of evaluation/store_holdout.py hides some of the store's memberships and partner links. On its
validation half, every signal's value is read for each query's candidates (the engine's top POOL with every
signal weighted 1), labelled by whether the candidate is a hidden link, and SignalWeights fits
non-negative weights. On the test half, the engine with those weights is compared with the defaults and
every baseline: the weights are adopted only when they do better than the defaults there (recall@10, then
NDCG@10). With fewer than MIN_QUERIES validation queries or MIN_HITS hits among the candidates the
defaults are kept, and the note says so. Nothing here depends on the data set: the same on any network.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from evaluation.metrics import K
from evaluation.store_holdout import HoldOut, Query, hold_out, measure, partner_rankers, peer_rankers, table
from graph.projection import Projection
from matching.partners import DEFAULT_PARTNER_WEIGHTS, PARTNER_SIGNALS, PartnerRecommender
from matching.peers import DEFAULT_WEIGHTS, SIGNALS, PeerRecommender
from matching.tuning import SignalWeights, TunedWeights

POOL = 100  # candidates per query whose signals are read
MIN_QUERIES = 30
MIN_HITS = 10


def _features(rank: Callable[[Query], list], queries: Sequence[Query], key: Callable) -> tuple[np.ndarray, ...]:
    X, y, groups = [], [], []
    for g, q in enumerate(queries):
        for m in rank(q):
            X.append([s.value for s in m.signals])
            y.append(float(key(m) in q.hits))
            groups.append(g)
    return np.array(X).reshape(len(X), -1), np.array(y), np.array(groups)


def _fit(rank, queries, key, names) -> tuple[dict[str, float] | None, str, int]:
    """(weights or None, why not, hits among the candidates)."""
    if len(queries) < MIN_QUERIES:
        return None, f"{len(queries)} validation queries, at least {MIN_QUERIES} needed", 0
    X, y, groups = _features(rank, queries, key)
    hits = int(y.sum())
    if hits < MIN_HITS:
        return None, f"{hits} hits among the validation candidates, at least {MIN_HITS} needed", hits
    weights = SignalWeights().fit(X, y, groups=groups).weights_
    if not weights.any():
        return None, "no signal told hits from the other candidates", hits
    return dict(zip(names, weights.round(6).tolist(), strict=True)), "", hits


def _better(tuned: dict, default: dict) -> bool:
    return (tuned["recall@10"], tuned["ndcg@10"]) > (default["recall@10"], default["ndcg@10"])


def _check(name: str, fitted: dict[str, float] | None, why: str, hits: int, validation: int,
           test_rankers: Callable[[dict[str, float] | None], dict], test: Sequence[Query], seed: int) -> tuple:
    """(weights to use or None, figures, a sentence, test table of the weights in use)."""
    default_table = table(measure(test, test_rankers(None)), seed=seed)
    figures = {"validation queries": validation, "validation hits": hits, "test queries": len(test)}
    rows = default_table["rows"]
    if rows and rows["engine"]["queries"]:
        figures["default recall@10"] = rows["engine"]["recall@10"]
        figures["default ndcg@10"] = rows["engine"]["ndcg@10"]
        if default_table.get("best"):
            figures["best baseline"] = default_table["best"]
            figures["best baseline recall@10"] = rows[default_table["best"]]["recall@10"]
    if fitted is None:
        return None, figures, f"{name}: defaults kept, too little data: {why}", default_table
    tuned_table = table(measure(test, {"engine": test_rankers(fitted)["engine"]}), seed=seed)
    tuned = tuned_table["rows"]["engine"]
    figures["tuned recall@10"], figures["tuned ndcg@10"] = tuned["recall@10"], tuned["ndcg@10"]
    if not test or not _better(tuned, rows["engine"]):
        return None, figures, (f"{name}: defaults kept, the fitted weights did no better on the test half: "
                               f"recall@10 {tuned['recall@10']:.3f} against {rows['engine']['recall@10']:.3f}"), \
            default_table
    full = table(measure(test, test_rankers(fitted)), seed=seed)
    return fitted, figures, (f"{name}: tuned, recall@10 on the test half {tuned['recall@10']:.3f} against "
                             f"{rows['engine']['recall@10']:.3f} with the defaults"), full


def tune(projection: Projection, *, seed: int = 0, share: float = 0.2, max_queries: int | None = 2000
         ) -> tuple[TunedWeights, dict]:
    """(the weights to store, the test half's tables with the weights in use)."""
    split: HoldOut = hold_out(projection, seed=seed, share=share, max_queries=max_queries)
    model = PeerRecommender().fit(split.training)
    half = lambda qs, h: [q for q in qs if q.half == h]  # noqa: E731
    peer_val = half(split.unfocused, 0) + half(split.focused, 0)
    everything = model.with_weights(dict.fromkeys(SIGNALS, 1.0))
    fitted, why, hits = _fit(lambda q: everything.recommend(q.city, k=POOL, challenges=q.focus), peer_val,
                             lambda m: m.city.id, SIGNALS)

    def peer_test(weights):  # unfocused and focused test queries together
        m = model if weights is None else model.with_weights(weights)
        return peer_rankers(m, focused=False)

    peers, peer_figures, peer_note, _ = _check("peers", fitted, why, hits, len(peer_val), peer_test,
                                               half(split.unfocused, 1) + half(split.focused, 1), seed)
    tables = {}
    for title, queries, focused in (("peers", half(split.unfocused, 1), False),
                                    ("peers on the cohort's themes", half(split.focused, 1), True)):
        tables[title] = table(measure(queries, peer_rankers(model if peers is None else model.with_weights(peers),
                                                            focused=focused)), seed=seed)

    def partner_model(weights):
        return PartnerRecommender(weights=weights, parent_weight=model.parent_weight).fit(split.training,
                                                                                          index=model.index_)

    partner_val = half(split.partner_queries, 0)
    everything_p = partner_model(dict.fromkeys(PARTNER_SIGNALS, 1.0))
    fitted_p, why_p, hits_p = _fit(lambda q: everything_p.recommend(q.city, k=POOL), partner_val,
                                   lambda m: m.partner.id, PARTNER_SIGNALS)
    partners, partner_figures, partner_note, tables["partners"] = _check(
        "partners", fitted_p, why_p, hits_p, len(partner_val), lambda w: partner_rankers(partner_model(w)),
        half(split.partner_queries, 1), seed)
    tuned = TunedWeights(
        peers=dict(peers or {n: float(DEFAULT_WEIGHTS[n]) for n in SIGNALS}),
        partners=dict(partners or {n: float(DEFAULT_PARTNER_WEIGHTS[n]) for n in PARTNER_SIGNALS}),
        adopted=peers is not None or partners is not None, note=f"{peer_note}; {partner_note}.",
        data_version=projection.version,
        figures={"peers": peer_figures, "partners": partner_figures, "seed": seed, "share": share, "k": K})
    return tuned, tables
