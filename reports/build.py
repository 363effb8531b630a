"""A report's data, the content of report.json (schema: docs/reports.md), from one engine snapshot.

Every number is the engine's own: peers come from `matching.batch.batch_peers` (the exposure cap and its
breaks included), learning groups from `matching.groups.learning_groups`, partners and people from the
recommenders the API serves. Signals are read generically from each match's `signals`, so renamed or new
signals show up without a change here. No timestamp: the same snapshot, parameters and seed give the same
data, byte for byte once written.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from typing import Any

from graph.errors import NotFoundError, shown
from graph.model import Node
from graph.suggest import not_found
from matching.batch import BatchResult, batch_peers
from matching.engine import Fitted
from matching.groups import Grouping, learning_groups
from matching.index import MatchingIndex
from matching.partners import people_to_meet
from matching.tuning import TunedWeights
from reports.params import Parameters
from reports.provenance import inputs_sha256, software, with_weights

SCHEMA = "citypeers-report/1"
MOST_SUGGESTED = 10
Progress = Callable[[int], None]

# What each signal means, for the "method" section; a signal not listed here is still reported, with a pointer.
MEANINGS = {
    "challenges": "rarity-weighted share of the city's challenges the peer faces too (taxonomy-aware)",
    "text": "cosine similarity of the TF-IDF vectors of both cities' challenge texts and notes",
    "cohorts": "the city's cohorts the peer is in too, each weighing 1 / log(1 + its size), over their total",
    "partners": "the same over the city's partner organisations",
    "context": "half same region, half population ratio (smaller / larger)",
    "language": "1 when both countries' main language is the same",
    "popularity": "how connected the peer is: log(1 + its cohorts and partners), the best connected at 1",
    "proximity": "great-circle nearness, decaying over the network's own scale (the median distance to the 10th "
                 "nearest city)",
}
PARTNER_MEANINGS = {
    "challenges": "rarity-weighted share of the city's challenges the organisation works on",
    "peers": "similarity-weighted share of the city's most similar cities that already work with the organisation",
    "nearby": "rank-weighted share of the city's nearest cities that already work with the organisation",
    "nearby_in_country": "the same among the city's nearest cities in its own country",
    "cohort_mates": "weighted share of the cities sharing the city's cohorts that already work with the organisation",
    "popularity": "how connected the organisation is: the cities it works with over the most any organisation has",
}
DEFAULTS_SOURCE = ("The engine's default weights: peer weights are the ratios `citypeers evaluate urbact` chose on "
                   "URBACT II (temporal hold-out), partner weights those `citypeers evaluate gcom` chose on its "
                   "validation split; docs/matching.md gives the evaluations and their figures.")


def weights_source(tuned: TunedWeights | None) -> str:
    """Where the report's weights come from, in a sentence or two: learned from this store, or the defaults
    (and why, when `citypeers tune` kept them)."""
    if tuned is None:
        return DEFAULTS_SOURCE + " `citypeers tune` has not been run on this store."
    if not tuned.adopted:
        return f"{DEFAULTS_SOURCE} `citypeers tune` kept them on data version {tuned.data_version}: {tuned.note}"
    return (f"Learned from this store's own links by `citypeers tune` on data version {tuned.data_version} "
            f"(docs/matching.md): {tuned.note}")


def ref(node: Node) -> dict[str, str]:
    return {"id": node.id, "name": node.name}  # type: ignore[attr-defined]


def _signals(signals: Iterable) -> list[dict[str, Any]]:
    return [{"name": s.name, "value": s.value, "contribution": s.contribution} for s in signals]


def _peer(rank: int, m) -> dict[str, Any]:
    return {"rank": rank, "id": m.city.id, "name": m.city.name, "country": m.city.country, "score": m.score,
            "signals": _signals(m.signals), "shared_challenges": [ref(c) for c in m.shared_challenges],
            "related_challenges": [ref(c) for c in m.related_challenges],
            "shared_partners": [ref(p) for p in m.shared_partners],
            "shared_cohorts": [ref(c) for c in m.shared_cohorts], "reason": m.reason}


def _partner(rank: int, m) -> dict[str, Any]:
    return {"rank": rank, "id": m.partner.id, "name": m.partner.name, "sector": m.partner.sector, "score": m.score,
            "signals": _signals(m.signals), "shared_challenges": [ref(c) for c in m.shared_challenges],
            "via_cities": [ref(c) for c in m.via_cities], "nearby_cities": [ref(c) for c in m.nearby_cities],
            "shared_cohorts": [ref(c) for c in m.shared_cohorts], "cohort_mates": [ref(c) for c in m.cohort_mates],
            "nearby_in_country": [ref(c) for c in m.nearby_in_country], "reach": m.reach, "reason": m.reason}


def _person(leader: Node, rank: int, m) -> dict[str, Any]:
    return {"leader": ref(leader), "rank": rank, "id": m.leader.id, "name": m.leader.name, "role": m.leader.role,
            "city": ref(m.city), "score": m.score, "role_fit": m.role_fit, "signals": _signals(m.signals),
            "shared_challenges": [ref(c) for c in m.peer.shared_challenges],
            "related_challenges": [ref(c) for c in m.peer.related_challenges],
            "shared_partners": [ref(p) for p in m.peer.shared_partners],
            "shared_cohorts": [ref(c) for c in m.peer.shared_cohorts], "reason": m.reason}


def cohort_report(fitted: Fitted, cohort_id: str, params: Parameters, *,
                  progress: Progress | None = None) -> dict[str, Any]:
    """The report of one cohort: its member cities' peers among the members, partners, people and groups.
    Parameters are checked (groups first: they fail fast on bad sizes or pairs) before the long part."""
    projection, index = fitted.projection, fitted.peers.index_
    cohort = next((c for c in projection.nodes["Cohort"] if c.id == cohort_id), None)
    if cohort is None:
        known = fitted.vocabulary.ids  # kind -> ids, as every other command reads them
        actual = next((kind for kind, ids in known.items() if cohort_id in ids), None)
        error = not_found("Cohort", cohort_id, known.get("Cohort", ()), actual=actual)  # "did you mean ...?"
        if error.suggestions or actual:
            raise error
        first = ", ".join(sorted(known.get("Cohort", ()))[:5]) or "none"
        raise NotFoundError(f"no cohort with id {shown(cohort_id)}; cohorts include: {first}")
    grouping = learning_groups(index, projection, cohort_id, min_size=params.min_size, max_size=params.max_size,
                               min_countries=params.min_countries, must_pair=params.must_pair,
                               cannot_pair=params.cannot_pair, seed=params.seed)
    members = sorted(c.id for g in grouping.groups for c in g.cities)
    batch = batch_peers(fitted.peers, members, k=params.k, max_exposure=params.max_exposure, cohort=cohort_id,
                        progress=_half(progress, 0))
    group_of = {c.id: n for n, g in enumerate(grouping.groups, 1) for c in g.cities}
    cities = _city_sections(fitted, members, batch, params, group_of, progress=_half(progress, len(members)))
    data = _head(fitted, "cohort", params, cities)
    data["cohort"] = {"id": cohort.id, "name": cohort.name, "programme": cohort.programme, "start": cohort.start,
                      "end": cohort.end}
    names = {c.id: c.name for c in fitted.peers.index_.cities}
    data["summary"] = exposure_summary(batch, params, names, ("member city of the cohort",
                                                              "member cities of the cohort"))
    data["summary"]["groups"] = _grouping_summary(grouping)
    data["groups"] = _groups(grouping, params, index)
    data["cities"] = cities
    return data


def _half(progress: Progress | None, offset: int) -> Progress | None:
    """Progress over two passes of the same cities: the second continues where the first ended."""
    return None if progress is None else (lambda done: progress(offset + done))


def _head(fitted: Fitted, kind: str, params: Parameters, cities: list[dict]) -> dict[str, Any]:
    peer_weights, partner_weights = fitted.peers.weights_, fitted.partners.weights_
    return {
        "schema": SCHEMA, "kind": kind, "data_version": fitted.version,
        # tuned weights move suggestions too: they are inputs as much as the graph
        "inputs_sha256": with_weights(inputs_sha256(fitted.projection), fitted.weights), "software": software(),
        "parameters": params.as_json(),
        "counts": {"cities": len(cities), "countries": len({c["country"] for c in cities})},
        "method": {
            "peer_signals": [{"name": n, "weight": w, "meaning": MEANINGS.get(n, "see docs/matching.md")}
                             for n, w in peer_weights.items()],
            "partner_signals": [{"name": n, "weight": w, "meaning": PARTNER_MEANINGS.get(n, "see docs/matching.md")}
                                for n, w in partner_weights.items()],
            "weights_source": weights_source(fitted.weights),
        },
    }


def _city_sections(fitted: Fitted, members: list[str], batch: BatchResult, params: Parameters,
                   group_of: dict[str, int], *, progress: Progress | None) -> list[dict[str, Any]]:
    """Every member city's section, in `members` order: a few whole-network searches each (peers, partners,
    people). Tried and dropped (2026-12-06): computing them in forked processes. The searches already use
    both cores through BLAS, so two processes saved ~2 s of 10 at 500 cities, and every forked process counts
    the parent's ~0.8 GB again in its resident memory (2.4 GB summed; 1.0 GB proportional)."""
    projection, index = fitted.projection, fitted.peers.index_
    names = {c.id: c for c in projection.nodes["Challenge"]}
    partners = fitted.partners.recommend
    leaders = {n.id: n for n in projection.nodes["Leader"]}
    serving: dict[str, list[str]] = {}
    for rel in projection.relationships["SERVES"]:
        serving.setdefault(rel.target, []).append(rel.source)
    out = []
    for done, city_id in enumerate(members, 1):
        city = index.cities[index.city_row[city_id]]
        faces = sorted(projection.outgoing("FACES", city_id), key=lambda r: (r.priority or 6, r.target))
        people = []
        searched = _OneSearch(fitted.peers)  # a city's leaders all look among the same peer cities
        for leader_id in sorted(serving.get(city_id, [])):
            people += [_person(leaders[leader_id], r, m)
                       for r, m in enumerate(people_to_meet(searched, projection, leader_id, k=params.people), 1)]
        out.append({
            "id": city.id, "name": city.name, "country": city.country, "region": city.region,
            "population": city.population, "latitude": city.latitude, "longitude": city.longitude,
            "challenges": [{**ref(names[r.target]), "priority": r.priority} for r in faces],
            "peers": [_peer(r, m) for r, m in enumerate(batch.lists[city_id], 1)],
            "partners": [_partner(r, m) for r, m in enumerate(partners(city_id, k=params.partners), 1)],
            "leaders": [ref(leaders[i]) for i in sorted(serving.get(city_id, []))],
            "people": people,
            "group": group_of.get(city_id),
        })
        if progress is not None:
            progress(done)
    return out


class _OneSearch:
    """A peer recommender that answers the same question once: `people_to_meet` searches the peers of the
    leader's city, the same search for every leader of a city (1.5 a city in the synthetic network, each a
    pass over every city)."""

    def __init__(self, peers: Any):
        self._peers, self._asked, self._answer = peers, None, None

    def recommend(self, city_id: str, **kwargs: Any) -> Any:
        asked = (city_id, sorted(kwargs.items()))
        if asked != self._asked:
            self._asked, self._answer = asked, self._peers.recommend(city_id, **kwargs)
        return self._answer


def exposure_summary(batch: BatchResult, params: Parameters, names: dict[str, str], pool: tuple[str, str], *,
                     shares: str = "a challenge, cohort or partner") -> dict[str, Any]:
    """Suggestions made, coverage and exposure (with the cap's breaks) of a batch. `pool` names the candidates
    (singular, plural), `shares` what a candidate must share with the city (the ranking's signals)."""
    short = [{"id": c, "name": names[c], "got": len(ms), "why": _short(batch, c, pool, shares)}
             for c, ms in batch.lists.items() if len(ms) < params.k]
    exposure = batch.exposure
    histogram = Counter(exposure.values())
    top = sorted(((c, n) for c, n in exposure.items() if n > 0), key=lambda kv: (-kv[1], kv[0]))[:MOST_SUGGESTED]
    cap = params.max_exposure
    over = sorted((c, n) for c, n in exposure.items() if cap is not None and n > cap)
    return {
        "suggestions": sum(len(ms) for ms in batch.lists.values()),
        "coverage": {"k": params.k, "complete": not short, "short": short},
        "exposure": {
            "gini": batch.gini_after, "gini_uncapped": batch.gini_before,
            "histogram": [{"times": t, "cities": histogram.get(t, 0)} for t in range(max(histogram, default=0) + 1)],
            "most_suggested": [{"id": c, "name": names[c], "times": n} for c, n in top],
            "max": max(exposure.values(), default=0), "cap": cap, "cap_held": not over,
            "over_cap": [{"id": c, "name": names[c], "times": n} for c, n in over],
            "cap_breaks": [{"city": b.city, "peer": b.peer, "exposure": b.exposure, "candidates": b.candidates,
                            "below_cap": b.below_cap, "reason": b.reason} for b in batch.cap_breaks],
        },
    }


def _short(batch: BatchResult, city: str, pool: tuple[str, str], shares: str) -> str:
    """Why `city` got fewer than k suggestions: too few others in the pool, or too few sharing anything.

    >>> from types import SimpleNamespace as B
    >>> pool = ("member city of the cohort", "member cities of the cohort")
    >>> for ids, n in (["a"], 0), (["a", "b"], 1), (["a", "b", "c"], 0), (["a", "b", "c", "d"], 2):
    ...     print(_short(B(lists=dict.fromkeys(ids), candidates=dict.fromkeys(ids, n)), "a", pool, "a challenge"))
    there is no other member city of the cohort
    there is only 1 other member city of the cohort
    it shares a challenge with no other member city of the cohort
    it shares a challenge with only 2 other member cities of the cohort
    """
    if batch.candidates is None:
        return "too few candidates"
    n, others = batch.candidates[city], len(batch.lists) - 1
    if others == 0:
        return f"there is no other {pool[0]}"
    if n >= others:
        return f"there {'is' if others == 1 else 'are'} only {others} other {pool[0] if others == 1 else pool[1]}"
    if n == 0:
        return f"it shares {shares} with no other {pool[0]}"
    return f"it shares {shares} with only {n} other {pool[0] if n == 1 else pool[1]}"


def _grouping_summary(grouping: Grouping) -> dict[str, Any]:
    randoms = list(grouping.random_objectives)
    beaten = sum(1 for r in randoms if r < grouping.objective)
    return {"objective": grouping.objective, "random_mean": grouping.random_objective, "random": randoms,
            "ratio": grouping.objective / grouping.random_objective if grouping.random_objective > 0 else None,
            "beats_random": beaten}


def _groups(grouping: Grouping, params: Parameters, index: MatchingIndex) -> list[dict[str, Any]]:
    """Each group with its shared challenges (faced by at least two members, as `learning_groups` counts them:
    directly or through a sub-challenge), each with how many members face it."""
    out = []
    for n, g in enumerate(grouping.groups, 1):
        ids = {c.id for c in g.cities}
        faced = index.challenges[[index.city_row[c.id] for c in g.cities]].toarray() > 0
        out.append({"number": n, "cities": [{**ref(c), "country": c.country} for c in g.cities],
                    "countries": sorted({c.country for c in g.cities}),
                    "shared_challenges": [{**ref(c), "members": int(faced[:, index.challenge_col[c.id]].sum())}
                                          for c in g.shared_challenges], "affinity": g.affinity,
                    "must_pair": [list(p) for p in params.must_pair if set(p) <= ids],
                    "cannot_pair_kept_apart": [list(p) for p in params.cannot_pair if set(p) & ids]})
    return out
