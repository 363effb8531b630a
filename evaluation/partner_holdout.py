"""GCoM partner hold-out: hide a seeded share of city-partner links, rank partners for the cities that lost
one; the hits are the hidden partners. Weights are chosen on a validation hold-out (its own seed) and
reported on the test hold-out, next to every partner baseline of evaluation.baselines.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable

import numpy as np

from evaluation.baselines import PARTNER_BASELINES, Baselines
from evaluation.metrics import K, Metrics


def partner_holdout(nodes: list, rels: list, *, seed: int, share: float = 0.2):
    """(training projection, {city: hidden partner ids}): `share` of city-partner links hidden, seeded."""
    from graph.projection import Projection

    links = sorted((r for r in rels if r.KIND == "PARTNERS_WITH"), key=lambda r: r.key)
    rng = np.random.default_rng(seed)
    hidden_idx = set(rng.choice(len(links), size=int(share * len(links)), replace=False).tolist())
    hidden: dict[str, set[str]] = {}
    for i in hidden_idx:
        hidden.setdefault(links[i].target, set()).add(links[i].source)
    kept = [r for r in rels if r.KIND != "PARTNERS_WITH"] + [r for i, r in enumerate(links) if i not in hidden_idx]
    return Projection(nodes, kept, version=seed), hidden


def gcom_rankers(projection, weights: dict[str, float] | None = None) -> dict[str, Callable[[str], list[str]]]:
    from matching.partners import PartnerRecommender

    model = PartnerRecommender(weights=weights).fit(projection)
    baselines = Baselines(model.index_)
    return {"engine": lambda city: [m.partner.id for m in model.recommend(city, k=K)],
            **{name: (lambda city, _n=name: baselines.partners(_n, city)) for name in PARTNER_BASELINES}}


def evaluate_partners(projection, hidden: dict[str, set[str]], rankers: dict[str, Callable[[str], list[str]]],
                      limit: int | None = None) -> dict[str, dict[str, float]]:
    cities = sorted(hidden)[:limit] if limit else sorted(hidden)
    out = {}
    for name, rank in rankers.items():
        metrics = Metrics()
        for city in cities:
            metrics.add(rank(city), hidden[city], warm=set())
        summary = metrics.summary()
        out[name] = {k: summary[k] for k in ("hit@10", "recall@10", "ndcg@10")}
        out[name]["cities"] = summary["queries"]
    return out


# GCoM has no WORKS_ON data, so the challenges signal is 0 there and cannot be tuned on it: fixed at 0.5.
PARTNER_GRID = {"peers": (0.0, 0.5, 1.0), "nearby": (0.0, 0.5, 1.0, 2.0), "nearby_in_country": (0.0, 0.5, 1.0),
                "cohort_mates": (0.0, 0.5, 1.0, 2.0)}


def grid_figures(model, hidden: dict[str, set[str]], cities: list[str],
                 progress: Callable[[], None] | None = None) -> list[tuple[dict[str, float], tuple[float, float]]]:
    """Each weighting of PARTNER_GRID that weighs a partner signal, with its (recall@10, NDCG@10) over
    `cities`, by the fitted PartnerRecommender `model`. Each city's signals are read once
    (`PartnerRecommender.signal_values`), and every weighting ranks them as `recommend` would, score for
    score; `progress()` after each weighting (math.prod of the grid's lengths)."""
    from matching.partners import PARTNER_SIGNALS, ranked, weighted

    partner_ids = np.array(model.index_.partner_ids)
    evidence = [model.signal_values(city) for city in cities]
    out = []
    for values in itertools.product(*PARTNER_GRID.values()):
        weights = {"challenges": 0.5, **dict(zip(PARTNER_GRID, values, strict=True))}
        if any(values):  # with no partner signal at all, not a candidate
            full = {name: weights.get(name, 0.0) for name in PARTNER_SIGNALS}
            metrics = Metrics()
            for city, (signals, reach, eligible) in zip(cities, evidence, strict=True):
                top = ranked(weighted(signals, full), reach, eligible, asked=False)[:K]
                metrics.add(partner_ids[top].tolist(), hidden[city], warm=set())
            summary = metrics.summary()
            out.append((weights, (summary["recall@10"], summary["ndcg@10"])))
        if progress is not None:
            progress()
    return out


def gcom_report(nodes: list, rels: list, *, validation_seed: int = 1, test_seed: int = 0,
                tune_cities: int = 1500, progress: Callable[[], None] | None = None) -> dict:
    """Choose partner weights on a validation hold-out (its own seed): the best recall@10, then NDCG@10, of
    `grid_figures`; then report the test hold-out. `progress()` after each weighting tried."""
    from matching.partners import PartnerRecommender

    projection, hidden = partner_holdout(nodes, rels, seed=validation_seed)
    model = PartnerRecommender().fit(projection)
    figures = grid_figures(model, hidden, sorted(hidden)[:tune_cities], progress)
    weights, (recall, ndcg) = max(figures, key=lambda item: item[1])  # the first of equals
    projection, hidden = partner_holdout(nodes, rels, seed=test_seed)
    return {"weights": weights, "validation recall@10": recall, "validation ndcg@10": ndcg,
            "test": evaluate_partners(projection, hidden, gcom_rankers(projection, weights))}
