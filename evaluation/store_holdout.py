"""A hold-out on any store: hide some of its own links, ask for them back, compare with every baseline.

Memberships: among cities in two or more cohorts, a seeded share of city-to-cohort memberships is hidden,
at most one per city (so each keeps at least one), only in cohorts with another member. For each hidden
membership the city asks for peers twice: focused on the hidden cohort's themes (COVERS; when it has
some) and without focus. The hits are the cohort's other members. Partner links likewise: among cities with
two or more partners, one link each at most is hidden; the city asks for partners; the hit is the hidden one.

Everything is fitted on the store's graph without the hidden links (a test checks that none reaches the
index). The hidden queries are split in two seeded halves: `citypeers tune` fits weights on the first
(validation) and checks them on the second (test); `citypeers evaluate store` reports on both.

A table says what its figures can bear: why it has no queries (`why_none`: no city in two cohorts, say),
no ratio when the best baseline finds no hit, no interval from fewer than MIN_INTERVAL queries, and which
baselines ranked the queries exactly as another did (a baseline with nothing to go on in a store falls back
to popularity's order: "nearest cities" where no city has coordinates).

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
    share: float = 0.2
    eligible_members: int = 0  # memberships it could hide (a city in two or more cohorts with other members)
    eligible_partners: int = 0  # partner links it could hide (a city with two or more partners)


def _pick(links: list[tuple[str, str]], owner: Callable[[tuple[str, str]], str], share: float,
          rng: np.random.Generator) -> tuple[list[tuple[str, str]], int]:
    """(a seeded `share` of `links`, at most one per owner (the city), among owners with two or more; how many
    links such owners have)."""
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
    return sorted(picked), len(eligible)


def hold_out(projection: Projection, *, seed: int = 0, share: float = 0.2, max_queries: int | None = None) -> HoldOut:
    if not 0 < share <= 1:
        raise UsageError(f"share={share} is out of range; hide a fraction above 0 and at most 1")
    rng = seeded(seed)
    cities = set(projection.ids("City"))
    memberships = sorted((r.source, r.target) for r in projection.relationships["MEMBER_OF"] if r.source in cities)
    members: dict[str, set[str]] = {}
    for city, cohort in memberships:
        members.setdefault(cohort, set()).add(city)
    hidden_members, eligible_members = _pick([m for m in memberships if len(members[m[1]]) >= 2], lambda m: m[0],
                                             share, rng)
    links = sorted((r.source, r.target) for r in projection.relationships["PARTNERS_WITH"])
    hidden_partners, eligible_partners = _pick(links, lambda link: link[1], share, rng)
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
                   tuple(partner_queries), share, eligible_members, eligible_partners)


def why_none(split: HoldOut, question: str, halves: tuple[int, ...] = (0, 1)) -> str:
    """Why the hold-out has no queries of `question` ("peers", "peers on the cohort's themes", "partners") in
    `halves`, in words for a table or a note.

    >>> from tests.sample import NODES, RELATIONSHIPS
    >>> from graph.projection import Projection
    >>> why_none(hold_out(Projection(NODES, RELATIONSHIPS, version=1)), "peers")
    'no city is in two or more cohorts with other members, so no membership can be hidden while its city keeps one'
    """
    if question == "partners":
        hidden, eligible, queries = split.partners, split.eligible_partners, split.partner_queries
        links, owners = "partner links", "no city works with two or more partners, so no partner link can be hidden"
    else:
        hidden, eligible = split.members, split.eligible_members
        queries = split.focused if question != "peers" else split.unfocused
        links, owners = "memberships", "no city is in two or more cohorts with other members, so no membership can " \
                                       "be hidden"
    if not eligible:
        return f"{owners} while its city keeps one"
    if not hidden:
        return f"a share of {split.share:g} of the {eligible:,} {links} that could be hidden is none"
    if not queries:  # memberships were hidden, but their cohorts have no themes to ask about
        return f"none of the {len(hidden):,} hidden memberships' cohorts has themes (COVERS)"
    left = sum(q.half not in halves for q in queries)
    half = "validation" if 1 in halves else "test"
    which = f"the 1 hidden {links[:-1]}" if left == 1 else f"all {left:,} hidden {links}"
    return f"{which} fell in the {half} half"


def say_why_empty(tables: Mapping[str, dict], split: HoldOut, halves: tuple[int, ...]) -> None:
    """Give each table without queries (title -> `table`) the reason, as its "none" (`why_none`)."""
    for title, t in tables.items():
        if not t["rows"]["engine"]["queries"]:
            t["none"] = why_none(split, title, halves)


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


MIN_INTERVAL = 10  # fewer queries give no bootstrap interval: a 95% interval from a handful of points means nothing


def table(metrics: Mapping[str, Metrics], *, seed: int = 0) -> dict:
    """Each ranker's summary, the best baseline by recall@10 (then NDCG@10), the engine's ratio to it (None when
    that baseline finds no hit), a bootstrap interval on the engine's per-query recall@10 minus the best
    baseline's (None from fewer than MIN_INTERVAL queries), and `same as`: {baseline: (an earlier baseline, how
    many queries they ranked alike)} for a baseline that ranked every query as an earlier one did, or some as
    popularity did (its fallback where the store lacks what it uses).

    >>> from evaluation.metrics import Metrics
    >>> m = {name: Metrics() for name in ("engine", "popularity", "nearest cities")}
    >>> for name, ranked in (("engine", ["a"]), ("popularity", ["b"]), ("nearest cities", ["b"])):
    ...     m[name].add(ranked, {"a"}, warm=set())
    >>> t = table(m)
    >>> t["best"], t["ratio"], t["interval"], t["same as"]
    ('popularity', None, None, {'nearest cities': ('popularity', 1)})
    """
    rows = {name: m.summary() for name, m in metrics.items()}
    baselines = [name for name in rows if name != "engine"]
    same = {}
    for i, name in enumerate(baselines):
        alike = {other: sum(a == b for a, b in zip(metrics[name].tops, metrics[other].tops, strict=True))
                 for other in baselines[:i]}
        whole = [other for other, n in alike.items() if n and n == rows[name]["queries"]]
        if whole:
            same[name] = (whole[0], alike[whole[0]])
        elif alike.get("popularity"):
            same[name] = ("popularity", alike["popularity"])
    if not baselines or not rows["engine"]["queries"]:
        return {"rows": rows, "best": None, "same as": same}
    best = max(baselines, key=lambda n: (rows[n]["recall@10"], rows[n]["ndcg@10"]))
    diff, low, high = difference_interval(metrics["engine"].recalls, metrics[best].recalls, seed=seed)
    ratio = rows["engine"]["recall@10"] / rows[best]["recall@10"] if rows[best]["recall@10"] else None
    interval = (low, high) if rows["engine"]["queries"] >= MIN_INTERVAL else None
    return {"rows": rows, "best": best, "ratio": ratio, "difference": diff, "interval": interval, "same as": same}


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
    tables = {
        "peers": table(measure(pick(split.unfocused), peer_rankers(model, focused=False)), seed=seed),
        "peers on the cohort's themes": table(measure(pick(split.focused), peer_rankers(model, focused=True)),
                                              seed=seed),
        "partners": table(measure(pick(split.partner_queries), partner_rankers(partners)), seed=seed),
    }
    say_why_empty(tables, split, halves)
    return {"hidden memberships": len(split.members), "hidden partner links": len(split.partners), **tables}
