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
PARTNER_GRID = {"peers": (0.0, 0.5, 1.0), "nearby": (0.0, 0.5, 1.0, 2.0), "nearby_in_country": (0.0, 0.5, 1.0)}


def gcom_report(nodes: list, rels: list, *, validation_seed: int = 1, test_seed: int = 0,
                tune_cities: int = 1500, progress: Callable[[], None] | None = None) -> dict:
    """Choose partner weights on a validation hold-out (its own seed), then report the test hold-out;
    `progress()` after each weighting tried (math.prod of the PARTNER_GRID's lengths)."""
    from matching.partners import PartnerRecommender

    projection, hidden = partner_holdout(nodes, rels, seed=validation_seed)
    fitted = PartnerRecommender().fit(projection)  # fitted once; each weighting is a copy sharing it
    best = None
    for values in itertools.product(*PARTNER_GRID.values()):
        weights = {"challenges": 0.5, **dict(zip(PARTNER_GRID, values, strict=True))}
        if not any(values):  # no partner signal at all: not a candidate
            if progress is not None:
                progress()
            continue
        model = fitted.with_weights(weights)
        engine = {"engine": lambda city, _m=model: [m.partner.id for m in _m.recommend(city, k=K)]}
        recall = evaluate_partners(projection, hidden, engine, limit=tune_cities)["engine"]["recall@10"]
        if best is None or recall > best[0]:
            best = (recall, weights)
        if progress is not None:
            progress()
    assert best is not None
    projection, hidden = partner_holdout(nodes, rels, seed=test_seed)
    return {"weights": best[1], "validation recall@10": best[0],
            "test": evaluate_partners(projection, hidden, gcom_rankers(projection, best[1]))}
