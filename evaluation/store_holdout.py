"""A hold-out on any store: hide some of its own links, ask for them back, compare with every baseline.

Memberships: among cities in two or more cohorts, a seeded share of city-to-cohort memberships is hidden,
at most one per city (so each keeps at least one), only in cohorts with another member. For each hidden
membership the city asks for peers twice: focused on the hidden cohort's themes (COVERS; when it has
some) and without focus. The hits are the cohort's other members. Partner links likewise: among cities with
two or more partners, one link each at most is hidden; the city asks for partners; the hit is the hidden one.

Everything is fitted on the store's graph without the hidden links (a test checks that none reaches the
index). The hidden queries are split in two seeded halves: `citypeers tune` fits weights on the first
(validation) and checks them on the second (test); `citypeers evaluate store` reports on both.

>>> from tests.sample import NODES, RELATIONSHIPS
>>> from graph.projection import Projection
>>> s = hold_out(Projection(NODES, RELATIONSHIPS, version=1), seed=0, share=1.0)
>>> len(s.members) <= len({r.source for r in RELATIONSHIPS if r.KIND == "MEMBER_OF"})
True
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np

from evaluation.baselines import FOCUSED_BASELINES, PARTNER_BASELINES, PEER_BASELINES, Baselines
from evaluation.metrics import K, Metrics, difference_interval
from graph.errors import UsageError
from graph.projection import Projection
from graph.rng import seeded
from matching.partners import PartnerRecommender
from matching.peers import PeerRecommender


@dataclass(frozen=True)
class Query:
    city: str
    hits: frozenset[str]  # the hidden cohort's other members, or the hidden partner
    focus: tuple[str, ...] | None = None  # the hidden cohort's themes (focused peer queries)
    half: int = 0  # 0: validation, 1: test


@dataclass(frozen=True)
class HoldOut:
    training: Projection  # the store's graph without the hidden links
    members: tuple[tuple[str, str], ...]  # hidden (city, cohort) memberships
    partners: tuple[tuple[str, str], ...]  # hidden (partner, city) links
    unfocused: tuple[Query, ...]
    focused: tuple[Query, ...]
    partner_queries: tuple[Query, ...]


def _pick(links: list[tuple[str, str]], owner: Callable[[tuple[str, str]], str], share: float,
          rng: np.random.Generator) -> list[tuple[str, str]]:
    """A seeded `share` of `links`, at most one per owner (the city), among owners with two or more."""
    count: dict[str, int] = {}
    for link in links:
        count[owner(link)] = count.get(owner(link), 0) + 1
    eligible = [link for link in links if count[owner(link)] >= 2]
    wanted = round(share * len(eligible))
    picked, seen = [], set()
    for i in rng.permutation(len(eligible)).tolist():
        if len(picked) >= wanted:
            break
        if owner(eligible[i]) not in seen:
            seen.add(owner(eligible[i]))
            picked.append(eligible[i])
    return sorted(picked)


def hold_out(projection: Projection, *, seed: int = 0, share: float = 0.2, max_queries: int | None = None) -> HoldOut:
    if not 0 < share <= 1:
        raise UsageError(f"share={share} is out of range; hide a fraction above 0 and at most 1")
    rng = seeded(seed)
    cities = set(projection.ids("City"))
    memberships = sorted((r.source, r.target) for r in projection.relationships["MEMBER_OF"] if r.source in cities)
    members: dict[str, set[str]] = {}
    for city, cohort in memberships:
        members.setdefault(cohort, set()).add(city)
    hidden_members = _pick([m for m in memberships if len(members[m[1]]) >= 2], lambda m: m[0], share, rng)
    links = sorted((r.source, r.target) for r in projection.relationships["PARTNERS_WITH"])
    hidden_partners = _pick(links, lambda link: link[1], share, rng)
    if max_queries is not None:  # a seeded sample of the queries (large stores)
        hidden_members = _sample(hidden_members, max_queries, rng)
        hidden_partners = _sample(hidden_partners, max_queries, rng)
    gone = {("MEMBER_OF", c, h) for c, h in hidden_members} | {("PARTNERS_WITH", p, c) for p, c in hidden_partners}
    training = Projection([n for kind in projection.nodes.values() for n in kind],
                          [r for rels in projection.relationships.values() for r in rels if r.key not in gone],
                          version=projection.version)
    themes: dict[str, list[str]] = {}
    for r in projection.relationships["COVERS"]:
        themes.setdefault(r.source, []).append(r.target)
    halves = rng.permutation(len(hidden_members)) % 2
    unfocused, focused = [], []
    for (city, cohort), half in zip(hidden_members, halves.tolist(), strict=True):
        hits = frozenset(members[cohort] - {city})
        unfocused.append(Query(city, hits, None, half))
        if themes.get(cohort):
            focused.append(Query(city, hits, tuple(sorted(themes[cohort])), half))
    partner_halves = rng.permutation(len(hidden_partners)) % 2
    partner_queries = [Query(city, frozenset({partner}), None, half)
                       for (partner, city), half in zip(hidden_partners, partner_halves.tolist(), strict=True)]
    return HoldOut(training, tuple(hidden_members), tuple(hidden_partners), tuple(unfocused), tuple(focused),
                   tuple(partner_queries))


def _sample(items: list, limit: int, rng: np.random.Generator) -> list:
    if len(items) <= limit:
        return items
    return sorted(items[i] for i in rng.choice(len(items), size=limit, replace=False).tolist())


Ranker = Callable[[Query], list[str]]


def peer_rankers(model: PeerRecommender, *, focused: bool) -> dict[str, Ranker]:
    """The engine (with the model's weights) and every peer baseline over the same index."""
    baselines = Baselines(model.index_)
    names = PEER_BASELINES + (FOCUSED_BASELINES if focused else ())
    out: dict[str, Ranker] = {"engine": lambda q: [m.city.id for m in model.recommend(q.city, k=K,
                                                                                           challenges=q.focus)]}
    out.update({name: (lambda q, _n=name: baselines.peers(_n, q.city, focus=q.focus)) for name in names})
    return out


def partner_rankers(model: PartnerRecommender) -> dict[str, Ranker]:
    baselines = Baselines(model.index_)
    out: dict[str, Ranker] = {"engine": lambda q: [m.partner.id for m in model.recommend(q.city, k=K)]}
    out.update({name: (lambda q, _n=name: baselines.partners(_n, q.city)) for name in PARTNER_BASELINES})
    return out


def measure(queries: tuple[Query, ...] | list[Query], rankers: Mapping[str, Ranker]) -> dict[str, Metrics]:
    out = {}
    for name, rank in rankers.items():
        metrics = Metrics()
        for q in queries:
            metrics.add(rank(q), set(q.hits), warm=set())
        out[name] = metrics
    return out


def table(metrics: Mapping[str, Metrics], *, seed: int = 0) -> dict:
    """Each ranker's summary, the best baseline by recall@10 (then NDCG@10), the engine's ratio to it, and a
    bootstrap interval on the engine's per-query recall@10 minus the best baseline's."""
    rows = {name: m.summary() for name, m in metrics.items()}
    baselines = [name for name in rows if name != "engine"]
    if not baselines or not rows["engine"]["queries"]:
        return {"rows": rows, "best": None}
    best = max(baselines, key=lambda n: (rows[n]["recall@10"], rows[n]["ndcg@10"]))
    diff, low, high = difference_interval(metrics["engine"].recalls, metrics[best].recalls, seed=seed)
    ratio = rows["engine"]["recall@10"] / rows[best]["recall@10"] if rows[best]["recall@10"] else float("inf")
    return {"rows": rows, "best": best, "ratio": ratio, "difference": diff, "interval": (low, high)}


def store_report(projection: Projection, *, weights: Mapping[str, float] | None = None,
                 partner_weights: Mapping[str, float] | None = None, seed: int = 0, share: float = 0.2,
                 max_queries: int | None = 2000, halves: tuple[int, ...] = (0, 1),
                 focused_weights: Mapping[str, float] | None = None, strict_focus: bool = True) -> dict:
    """The three tables (peers unfocused, peers focused on the hidden cohort's themes, partners) over the
    queries of `halves`, every ranker fitted on the hold-out's training graph. `focused_weights`: the peer
    weights for the focused questions (None: `weights`); `strict_focus`: their rule (PeerRecommender)."""
    split = hold_out(projection, seed=seed, share=share, max_queries=max_queries)
    model = PeerRecommender(weights=weights, focused_weights=focused_weights, strict_focus=strict_focus).fit(
        split.training)
    partners = PartnerRecommender(weights=partner_weights, parent_weight=model.parent_weight).fit(
        split.training, index=model.index_)
    pick = lambda qs: [q for q in qs if q.half in halves]  # noqa: E731
    return {
        "hidden memberships": len(split.members), "hidden partner links": len(split.partners),
        "peers": table(measure(pick(split.unfocused), peer_rankers(model, focused=False)), seed=seed),
        "peers on the cohort's themes": table(measure(pick(split.focused), peer_rankers(model, focused=True)),
                                              seed=seed),
        "partners": table(measure(pick(split.partner_queries), partner_rankers(partners)), seed=seed),
    }
