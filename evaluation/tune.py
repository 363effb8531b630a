"""`citypeers tune`: learn the signal weights from the store's own graph, check them, keep them with their
figures (matching/tuning.py).

The hold-out of evaluation/store_holdout.py hides some of the store's memberships and partner links. On its
validation half, every signal's value is read for each query's candidates (the engine's top POOL with every
signal weighted 1), labelled by whether the candidate is a hidden link, and SignalWeights fits
non-negative weights: for peers, one set for questions without focus and one for questions on given
challenges, each from its own queries (from both together when one kind has too few); for the latter
also the focus rule, strict unless a soft focus finds more of their validation hits (`_focus_rule`); then
each peer weighting drops the signals its validation queries do not need (`_pruned`). A small store, with
fewer than WANTED validation queries, pools further hold-outs of the hold-out's training graph (next seeds;
the test half's links are hidden from that graph, so from every round). On the test half,
the engine with those weights is compared with the defaults and every baseline: the weights are adopted
only when they do better than the defaults there (recall@10, then NDCG@10). With fewer than MIN_QUERIES
validation queries or MIN_HITS hits among the candidates the defaults are kept, and the note says so.
Nothing here depends on the data set: the same on any network.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

import numpy as np

from evaluation.metrics import K, Metrics
from evaluation.store_holdout import (
    HoldOut,
    Query,
    Ranker,
    hold_out,
    measure,
    partner_rankers,
    peer_rankers,
    say_why_empty,
    table,
    why_none,
)
from graph.projection import Projection
from matching.partners import DEFAULT_PARTNER_WEIGHTS, PARTNER_SIGNALS, PartnerRecommender
from matching.peers import DEFAULT_WEIGHTS, SIGNALS, PeerRecommender
from matching.tuning import SignalWeights, TunedWeights

POOL = 100  # candidates per query whose signals are read
MIN_QUERIES = 30
MIN_HITS = 10
WANTED = 200  # validation queries a fit would like: a small store pools more hold-out rounds up to this
ROUNDS = 8  # at most this many rounds beyond the first


@dataclass(frozen=True)
class _Round:
    """One hold-out's fitted peer model and its validation queries."""

    model: PeerRecommender
    training: Projection
    peers: tuple[Query, ...]  # unfocused first, then focused
    partners: tuple[Query, ...]


def _rounds(split: HoldOut, model: PeerRecommender, *, seed: int, share: float, max_queries: int | None
            ) -> Iterator[_Round]:
    """The split's validation half, then further hold-outs of its training graph, each with its own seed,
    for as long as the caller asks (a small store: more validation queries). The test half's links are
    hidden from the split's training graph, so from every round's too: no round sees them."""
    val = lambda qs: tuple(q for q in qs if q.half == 0)  # noqa: E731
    yield _Round(model, split.training, val(split.unfocused) + val(split.focused), val(split.partner_queries))
    for r in range(1, ROUNDS + 1):
        more = hold_out(split.training, seed=seed + r, share=share, max_queries=max_queries)
        if not (more.unfocused or more.partner_queries):
            return
        yield _Round(PeerRecommender().fit(more.training), more.training, more.unfocused + more.focused,
                     more.partner_queries)


def _pooled(rounds: list[_Round], source: Iterator[_Round], count: Callable[[_Round], int]) -> list[_Round]:
    """`rounds` extended from `source` until they hold WANTED queries by `count`, or a round adds none (a
    store without such links: a hold-out of its training graph has none either), or `source` runs dry."""
    while 0 < sum(count(r) for r in rounds) < WANTED and count(rounds[-1]):
        step = next(source, None)
        if step is None:
            break
        rounds.append(step)
    return [r for r in rounds if count(r)]


def _features(rank: Callable[[Query], list], queries: Sequence[Query], key: Callable) -> tuple[np.ndarray, ...]:
    X, y, groups = [], [], []
    for g, q in enumerate(queries):
        for m in rank(q):
            X.append([s.value for s in m.signals])
            y.append(float(key(m) in q.hits))
            groups.append(g)
    return np.array(X).reshape(len(X), -1) if X else np.zeros((0, 0)), np.array(y), np.array(groups, dtype=np.int64)


def _rows(rounds: list[_Round], queries: Callable[[_Round], tuple[Query, ...]],
          rank: Callable[[_Round], Callable[[Query], list]], key: Callable) -> tuple[np.ndarray, ...]:
    """Every round's candidate rows (`rank(round)` ranks a query) as one set, each round's query ids
    numbered on after the previous round's queries, so they index the rounds' queries laid end to end."""
    parts, offset = [], 0
    for r in rounds:
        X, y, g = _features(rank(r), queries(r), key)
        if len(y):
            parts.append((X, y, g + offset))
        offset += len(queries(r))
    if not parts:
        return np.zeros((0, 0)), np.zeros(0), np.zeros(0, dtype=np.int64)
    return tuple(np.concatenate([part[i] for part in parts]) for i in range(3))


def _fit_rows(X: np.ndarray, y: np.ndarray, groups: np.ndarray, names) -> tuple[dict[str, float] | None, str, int]:
    if len(np.unique(groups)) < MIN_QUERIES:
        return None, f"{len(np.unique(groups))} validation queries, at least {MIN_QUERIES} needed", 0
    hits = int(y.sum())
    if hits < MIN_HITS:
        return None, f"{hits} hits among the validation candidates, at least {MIN_HITS} needed", hits
    weights = SignalWeights().fit(X, y, groups=groups).weights_
    if not weights.any():
        return None, "no signal told hits from the other candidates", hits
    return dict(zip(names, weights.round(6).tolist(), strict=True)), "", hits


def _better(tuned: dict, default: dict) -> bool:
    return (tuned["recall@10"], tuned["ndcg@10"]) > (default["recall@10"], default["ndcg@10"])


def _decide(name: str, fitted: dict[str, float] | None, why: str, hits: int, validation: int,
            default: Metrics, tuned: Metrics | None, best: tuple[str, Metrics] | None, no_test: str = "") -> tuple:
    """(the weights to use or None, figures, a sentence), from the engine's test-half metrics with the
    defaults and with the fitted weights, and the best baseline's; `no_test`: why the test half is empty. The
    sentence names how many test queries decided, and NDCG@10 where recall@10 tied."""
    d = default.summary()
    figures = {"validation queries": validation, "validation hits": hits, "test queries": d["queries"],
               "default recall@10": d["recall@10"], "default ndcg@10": d["ndcg@10"]}
    if best is not None:
        figures["best baseline"], figures["best baseline recall@10"] = best[0], best[1].summary()["recall@10"]
    if fitted is None or tuned is None:
        return None, figures, f"{name}: defaults kept, too little data: {why}"
    t = tuned.summary()
    figures["tuned recall@10"], figures["tuned ndcg@10"] = t["recall@10"], t["ndcg@10"]
    if not d["queries"]:
        return None, figures, f"{name}: defaults kept, no test queries to check the fitted weights on ({no_test})"
    compared = f"recall@10 {t['recall@10']:.3f} against {d['recall@10']:.3f}"
    if t["recall@10"] == d["recall@10"]:
        compared += f" and NDCG@10 {t['ndcg@10']:.3f} against {d['ndcg@10']:.3f}"
    on = f"on the test half's {d['queries']:,} {'query' if d['queries'] == 1 else 'queries'}"
    if not _better(t, d):
        return None, figures, f"{name}: defaults kept, the fitted weights did no better {on}: {compared}"
    return fitted, figures, f"{name}: tuned, {compared} with the defaults {on}"


def _too_few(count: int, split: HoldOut, question: str) -> str:
    """Why a fit was not tried: too few validation queries (and, when there are none, why)."""
    why = f"{count} validation queries, at least {MIN_QUERIES} needed"
    return f"{why} ({why_none(split, question, (0,))})" if not count else why


def _best(baselines: dict[str, Metrics]) -> tuple[str, Metrics] | None:
    if not baselines:
        return None
    name = max(baselines, key=lambda n: (baselines[n].summary()["recall@10"], baselines[n].summary()["ndcg@10"]))
    return name, baselines[name]


def _split(rankers: dict[str, Ranker]) -> tuple[Ranker, dict[str, Ranker]]:
    engine = rankers.pop("engine")
    return engine, rankers


def tune(projection: Projection, *, seed: int = 0, share: float = 0.2, max_queries: int | None = 2000
         ) -> tuple[TunedWeights, dict]:
    """(the weights to store, the test half's tables with the weights in use). Each baseline is measured
    once on the test half; the engine with the defaults and with the fitted weights."""
    split: HoldOut = hold_out(projection, seed=seed, share=share, max_queries=max_queries)
    model = PeerRecommender().fit(split.training)
    half = lambda qs, h: [q for q in qs if q.half == h]  # noqa: E731
    source = _rounds(split, model, seed=seed, share=share, max_queries=max_queries)
    rounds = [next(source)]
    peer_rounds = _pooled(rounds, source, lambda r: len(r.peers))
    peer_val = [q for r in peer_rounds for q in r.peers]
    fitted, why, hits = None, _too_few(len(peer_val), split, "peers"), 0
    fitted_focused, strict_focus, focus_figures = None, True, {}
    if len(peer_val) >= MIN_QUERIES:
        def every_signal(r: _Round, strict: bool = True) -> Callable[[Query], list]:
            model_r = r.model.with_weights(dict.fromkeys(SIGNALS, 1.0), strict_focus=strict)
            return lambda q: model_r.recommend(q.city, k=POOL, challenges=q.focus)

        X, y, groups = _rows(peer_rounds, lambda r: r.peers, every_signal, lambda m: m.city.id)
        fitted, why, hits = _fit_rows(X, y, groups, SIGNALS)  # both questions together
        if fitted is not None:  # each question its own weights where it has enough queries, else these
            focused_rows = np.array([q.focus is not None for q in peer_val])[groups]
            own = [_fit_rows(X[rows], y[rows], groups[rows], SIGNALS)[0] for rows in (~focused_rows, focused_rows)]
            fitted, fitted_focused = own[0] or fitted, own[1] or fitted
            fitted_focused, strict_focus, focus_figures = _focus_rule(peer_rounds, fitted, fitted_focused,
                                                                      lambda r: every_signal(r, strict=False))
            fitted, fitted_focused, dropped = _simplified(peer_rounds, fitted, fitted_focused, strict_focus)
            focus_figures["signals dropped"] = dropped
    questions = {"peers": (half(split.unfocused, 1), False),
                 "peers on the cohort's themes": (half(split.focused, 1), True)}
    base, default, tuned = {}, {}, {}
    for title, (queries, focused) in questions.items():
        engine, baselines = _split(peer_rankers(model, focused=focused))
        base[title] = measure(queries, baselines)
        default[title] = measure(queries, {"engine": engine})["engine"]
        if fitted is not None:
            tuned[title] = measure(queries, {"engine": _split(peer_rankers(model.with_weights(
                fitted, fitted_focused, strict_focus=strict_focus), focused=False))[0]})["engine"]
    both = lambda ms: _merged(*ms.values())  # noqa: E731  unfocused and focused test queries together
    peers, peer_figures, peer_note = _decide("peers", fitted, why, hits, len(peer_val), both(default),
                                             both(tuned) if tuned else None, _best(base["peers"]),
                                             why_none(split, "peers", (1,)))
    peer_figures["validation rounds"] = len(peer_rounds)
    peer_figures.update(focus_figures)
    focused_peers = dict(fitted_focused) if peers is not None and fitted_focused != peers else None
    tables = {title: table({"engine": (tuned if peers is not None else default)[title], **base[title]}, seed=seed)
              for title in questions}

    def partner_model(r: _Round) -> PartnerRecommender:
        return PartnerRecommender(parent_weight=r.model.parent_weight).fit(r.training, index=r.model.index_)

    partner_rounds = _pooled(rounds, source, lambda r: len(r.partners))
    partner_val, partner_test = [q for r in partner_rounds for q in r.partners], half(split.partner_queries, 1)
    fitted_p, why_p, hits_p = None, _too_few(len(partner_val), split, "partners"), 0
    if len(partner_val) >= MIN_QUERIES:
        def every_partner_signal(r: _Round) -> Callable[[Query], list]:
            model_r = partner_model(r).with_weights(dict.fromkeys(PARTNER_SIGNALS, 1.0))
            return lambda q: model_r.recommend(q.city, k=POOL)

        fitted_p, why_p, hits_p = _fit_rows(*_rows(partner_rounds, lambda r: r.partners, every_partner_signal,
                                                   lambda m: m.partner.id), PARTNER_SIGNALS)
    partners_default = partner_model(rounds[0])
    engine_p, baselines_p = _split(partner_rankers(partners_default))
    base_p = measure(partner_test, baselines_p)
    default_p = measure(partner_test, {"engine": engine_p})["engine"]
    tuned_p = None
    if fitted_p is not None:
        tuned_p = measure(partner_test, {"engine": _split(partner_rankers(partners_default.with_weights(fitted_p)))[0]}
                          )["engine"]
    partners, partner_figures, partner_note = _decide("partners", fitted_p, why_p, hits_p, len(partner_val),
                                                      default_p, tuned_p, _best(base_p),
                                                      why_none(split, "partners", (1,)))
    partner_figures["validation rounds"] = len(partner_rounds)
    tables["partners"] = table({"engine": tuned_p if partners is not None else default_p, **base_p}, seed=seed)
    say_why_empty(tables, split, (1,))
    weights = TunedWeights(
        peers=dict(peers or {n: float(DEFAULT_WEIGHTS[n]) for n in SIGNALS}),
        partners=dict(partners or {n: float(DEFAULT_PARTNER_WEIGHTS[n]) for n in PARTNER_SIGNALS}),
        adopted=peers is not None or partners is not None, note=f"{peer_note}; {partner_note}.",
        data_version=projection.version, focused_peers=focused_peers, strict_focus=peers is None or strict_focus,
        figures={"peers": peer_figures, "partners": partner_figures, "seed": seed, "share": share, "k": K})
    return weights, tables


def _focus_rule(rounds: list[_Round], fitted: dict[str, float], strict_weights: dict[str, float],
                soft_candidates: Callable[[_Round], Callable[[Query], list]]) -> tuple[dict[str, float], bool, dict]:
    """(focused weights, strict focus or not, figures). Questions on given challenges keep the strict focus
    (only cities working on one of them) unless, on the validation queries, a soft focus (any city with a
    reason; weights fitted on the candidates it admits) finds more of their hits (recall@10, then NDCG@10):
    where a store's cohorts gather cities beyond the challenges they list, the strict rule cannot reach them."""
    soft_weights = _fit_rows(*_rows(rounds, _focused, soft_candidates, lambda m: m.city.id), SIGNALS)[0]
    if soft_weights is None:
        return strict_weights, True, {"focus rule": "strict (too little data to fit a soft focus)"}

    strict = _found(rounds, _focused, _peer_ranker(fitted, strict_weights, True))
    soft = _found(rounds, _focused, _peer_ranker(fitted, soft_weights, False))
    keep = strict >= soft
    figures = {"focus rule": "strict" if keep else "soft", "validation recall@10 strict focus": strict[0],
               "validation recall@10 soft focus": soft[0]}
    return (strict_weights, True, figures) if keep else (soft_weights, False, figures)


def _unfocused(r: _Round) -> tuple[Query, ...]:
    """A round's validation questions without focus."""
    return tuple(q for q in r.peers if q.focus is None)


def _focused(r: _Round) -> tuple[Query, ...]:
    """A round's validation questions on given challenges."""
    return tuple(q for q in r.peers if q.focus is not None)


def _peer_ranker(weights: dict[str, float], focused_weights: dict[str, float], strict: bool
                 ) -> Callable[[_Round], Ranker]:
    """round -> the engine of that round with these weights, ranking a query (for `_found`)."""
    def ranker(r: _Round) -> Ranker:
        model = r.model.with_weights(weights, focused_weights, strict_focus=strict)
        return lambda q: [m.city.id for m in model.recommend(q.city, k=K, challenges=q.focus)]
    return ranker


def _found(rounds: list[_Round], queries: Callable[[_Round], Sequence[Query]], ranker: Callable[[_Round], Ranker]
           ) -> tuple[float, float]:
    """(recall@10, NDCG@10) over every round's `queries(round)`, ranked by `ranker(round)`."""
    found = _merged(*(measure(queries(r), {"engine": ranker(r)})["engine"] for r in rounds)).summary()
    return found["recall@10"], found["ndcg@10"]


def _pruned(weights: dict[str, float], found: Callable[[dict[str, float]], tuple[float, float]]
            ) -> tuple[dict[str, float], list[str]]:
    """(`weights` without the signals the validation queries do not need, the signals dropped). From the
    lightest up, a signal is dropped (the others rescaled to sum to 1) when the engine without it finds at
    least as much of the validation queries' hits (`found`: recall@10, then NDCG@10). Least squares fits the
    labels across all queries and gives a little weight to a signal that only correlates with them there;
    within a query that weight reorders the candidates the other signals tie on, which on the synthetic
    networks cost more than it gained (docs/matching.md, "Fewer signals")."""
    best, dropped = found(weights), []
    if best <= (0.0, 0.0):  # the queries find nothing with any of them: no evidence to drop one on
        return weights, dropped
    for name in sorted((n for n, v in weights.items() if v > 0), key=lambda n: (weights[n], n)):
        rest = {n: (0.0 if n == name else v) for n, v in weights.items()}
        total = sum(rest.values())
        if total <= 0:
            continue
        trial = {n: round(v / total, 6) for n, v in rest.items()}
        score = found(trial)
        if score >= best:
            weights, best = trial, score
            dropped.append(name)
    return weights, dropped


def _simplified(rounds: list[_Round], weights: dict[str, float], focused_weights: dict[str, float], strict: bool
                ) -> tuple[dict[str, float], dict[str, float], dict[str, list[str]]]:
    """(peer weights, focused peer weights, the signals dropped from each): `_pruned` on the validation
    queries of the question each weighting serves; one weighting serving both is pruned on both together."""
    if weights == focused_weights:
        weights, dropped = _pruned(weights, lambda w: _found(rounds, lambda r: r.peers, _peer_ranker(w, w, strict)))
        return weights, dict(weights), {"peers": dropped, "peers on given challenges": dropped}
    weights, dropped = _pruned(weights, lambda w: _found(rounds, _unfocused, _peer_ranker(w, focused_weights, strict)))
    focused_weights, dropped_focused = _pruned(focused_weights, lambda w: _found(
        rounds, _focused, _peer_ranker(weights, w, strict)))
    return weights, focused_weights, {"peers": dropped, "peers on given challenges": dropped_focused}


def _merged(*parts: Metrics) -> Metrics:
    out = Metrics()
    for m in parts:
        out.hits += m.hits
        out.recalls += m.recalls
        out.warm_recalls += m.warm_recalls
        out.ndcgs += m.ndcgs
        out.tops += m.tops
    return out
