"""Peer cities for a city, by shared issues, with the evidence for every suggestion.

Signals (each in [0, 1], combined by `weights`; the contributions add up to the score):

- ``challenges``: rarity-weighted shared challenges (resource allocation), taxonomy-aware, normalised by
  the asking city's own total so that 1 means "faces everything I face";
- ``text``: cosine similarity of TF-IDF vectors of the challenges' descriptions and the cities' notes;
- ``cohorts`` / ``partners``: the share of the asking city's cohorts / partner organisations in common;
- ``context``: half same region, half population ratio (smaller / larger).

Default weights: the ratios `citypeers evaluate urbact` chose on URBACT II (challenges 1 : cohorts 1.5 :
context 0.5; text similarity did not help there), scaled to sum to 1. Partners get no weight until an
evaluation with partner data (GCoM) sets one; pass `weights=` to use them.

>>> from tests.sample import NODES, RELATIONSHIPS
>>> from graph.projection import Projection
>>> model = PeerRecommender().fit(Projection(NODES, RELATIONSHIPS, version=1))
>>> [m.city.id for m in model.recommend("riga", k=2)]
['tallinn', 'vilnius']
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import numpy as np

from graph.errors import NotFoundError, UsageError
from graph.model import Challenge, City, Cohort, Partner
from graph.projection import Projection
from matching.index import MatchingIndex

SIGNALS = ("challenges", "text", "cohorts", "partners", "context")
DEFAULT_WEIGHTS = {"challenges": 1 / 3, "text": 0.0, "cohorts": 0.5, "partners": 0.0, "context": 1 / 6}


@dataclass(frozen=True)
class Signal:
    name: str
    value: float  # the signal itself, 0..1
    contribution: float  # weight * value: the part of the score it explains


@dataclass(frozen=True)
class PeerMatch:
    city: City
    score: float
    signals: tuple[Signal, ...]
    shared_challenges: tuple[Challenge, ...]  # faced directly by both
    related_challenges: tuple[Challenge, ...]  # shared only through the taxonomy (a common parent)
    shared_partners: tuple[Partner, ...]
    shared_cohorts: tuple[Cohort, ...]
    reason: str


class NotFittedError(UsageError):
    pass


class PeerRecommender:
    """Recommend peer cities. scikit-learn manners: keyword-only hyperparameters, `fit` returns self,
    learned state ends in `_`, and using it unfitted raises NotFittedError."""

    def __init__(self, *, weights: Mapping[str, float] | None = None, parent_weight: float = 0.5):
        self.weights = weights
        self.parent_weight = parent_weight

    def fit(self, projection: Projection) -> PeerRecommender:
        weights = dict(DEFAULT_WEIGHTS if self.weights is None else self.weights)
        unknown = set(weights) - set(SIGNALS)
        if unknown:
            raise UsageError(f"unknown signal weight {sorted(unknown)[0]!r}; valid signals: {', '.join(SIGNALS)}")
        if any(w < 0 for w in weights.values()):
            raise UsageError(f"signal weights must be 0 or more, got {weights}")
        self.weights_ = {name: float(weights.get(name, 0.0)) for name in SIGNALS}
        self.index_ = MatchingIndex.build(projection, parent_weight=self.parent_weight)
        return self

    def with_weights(self, weights: Mapping[str, float]) -> PeerRecommender:
        """A fitted copy with other signal weights, sharing this one's index (for tuning)."""
        other = PeerRecommender(weights=weights, parent_weight=self.parent_weight)
        other.weights_ = {name: float(weights.get(name, 0.0)) for name in SIGNALS}
        other.index_ = self._index()
        return other

    def _index(self) -> MatchingIndex:
        if not hasattr(self, "index_"):
            raise NotFittedError("this PeerRecommender is not fitted yet; call fit(projection) first")
        return self.index_

    def recommend(self, city_id: str, *, k: int = 10, challenges: Iterable[str] | None = None,
                  country: str | None = None, region: str | None = None, exclude_known: bool = False,
                  exclude_own_country: bool = False) -> list[PeerMatch]:
        """The top `k` peers of `city_id`; with `challenges`, peers working on those challenges."""
        index = self._index()
        if not 1 <= k <= 1000:
            raise UsageError(f"k={k} is out of range; ask for 1 to 1000 matches")
        row = index.city_row.get(city_id)
        if row is None:
            raise NotFoundError(f"no city with id {city_id!r}")
        # The query: the city's own (expanded) challenges, or, when focused, the named challenges themselves
        # ("peers for Amsterdam on housing" = cities working on housing, ranked by closeness to Amsterdam).
        own = index.challenges[[row]].toarray().ravel()
        query = (own if challenges is None else self._focus(index, challenges)) * index.rarity
        scores = self._signals(index, row, query)
        total = sum(self.weights_[name] * values for name, values in scores.items())
        eligible = self._eligible(index, row, scores, country, region, exclude_known, exclude_own_country,
                                  focused=challenges is not None)
        candidates = np.flatnonzero(eligible & (total > 0))
        top = candidates[np.lexsort((np.array(index.city_ids)[candidates], -total[candidates]))][:k]
        return [self._explain(index, row, int(j), scores, float(total[j])) for j in top]

    @staticmethod
    def _focus(index: MatchingIndex, challenges: Iterable[str]) -> np.ndarray:
        mask = np.zeros(len(index.challenge_ids))
        for challenge in challenges:
            col = index.challenge_col.get(challenge)
            if col is None:
                raise NotFoundError(f"no challenge with id {challenge!r}")
            mask[col] = 1.0
        return mask

    @staticmethod
    def _signals(index: MatchingIndex, row: int, query: np.ndarray) -> dict[str, np.ndarray]:
        norm = query.sum()
        shared = index.challenges @ query
        out = {"challenges": shared / norm if norm > 0 else np.zeros(len(index.city_ids))}
        out["text"] = np.asarray((index.text @ index.text[[row]].T).todense()).ravel()
        for name, matrix in (("cohorts", index.cohorts), ("partners", index.partners)):
            mine = matrix[[row]]
            count = mine.sum()
            shared = np.asarray((matrix @ mine.T).todense()).ravel()
            out[name] = shared / count if count else np.zeros(len(index.city_ids))
        pop = index.population
        larger = np.maximum(np.maximum(pop, pop[row]), 1)
        ratio = np.where((pop > 0) & (pop[row] > 0), np.minimum(pop, pop[row]) / larger, 0.0)
        same_region = np.array([r is not None and r == index.region[row] for r in index.region], dtype=np.float64)
        out["context"] = 0.5 * same_region + 0.5 * ratio
        return out

    @staticmethod
    def _eligible(index: MatchingIndex, row: int, scores: dict[str, np.ndarray], country: str | None,
                  region: str | None, exclude_known: bool, exclude_own_country: bool, focused: bool) -> np.ndarray:
        ok = np.ones(len(index.city_ids), dtype=bool)
        ok[row] = False
        # a peer must share something real: a challenge, a cohort or a partner (context alone is not a reason)
        shares_group = (scores["cohorts"] > 0) | (scores["partners"] > 0)
        ok &= (scores["challenges"] > 0) | (shares_group & (not focused))
        countries = np.array(index.country)
        if country is not None:
            ok &= countries == country
        if exclude_own_country:
            ok &= countries != index.country[row]
        if region is not None:
            ok &= np.array([r == region for r in index.region])
        if exclude_known:
            ok[index.known_peers[[row]].indices] = False
        return ok

    def _explain(self, index: MatchingIndex, row: int, j: int, scores: dict[str, np.ndarray],
                 total: float) -> PeerMatch:
        def common(matrix, ids) -> list:
            both = matrix[[row]].multiply(matrix[[j]])
            return [index.nodes[ids[c]] for c in sorted(both.indices, key=lambda c: ids[c])]

        direct = common(index.direct, index.challenge_ids)
        implied = {a for c in direct for a in index.ancestors[c.id]}  # parents of what both face: nothing new
        related = [c for c in common(index.challenges, index.challenge_ids) if c not in direct and c.id not in implied]
        partners = common(index.partners, index.partner_ids)
        cohorts = common(index.cohorts, index.cohort_ids)
        signals = tuple(Signal(name, float(scores[name][j]), self.weights_[name] * float(scores[name][j]))
                        for name in SIGNALS)
        city = index.cities[j]
        return PeerMatch(city=city, score=total, signals=signals, shared_challenges=tuple(direct),
                         related_challenges=tuple(related), shared_partners=tuple(partners),
                         shared_cohorts=tuple(cohorts), reason=_reason(city, direct, related, partners, cohorts))


def _names(items: list, limit: int = 3) -> str:
    names = [i.name for i in items[:limit]]
    more = f" and {len(items) - limit} more" if len(items) > limit else ""
    return ", ".join(names) + more


def _reason(city: City, direct: list, related: list, partners: list, cohorts: list) -> str:
    parts = []
    if direct:
        parts.append(f"also faces {_names(direct)}")
    if related:
        parts.append(f"works on related challenges ({_names(related)})")
    if cohorts:
        parts.append(f"is in {_names(cohorts)} with you")
    if partners:
        parts.append(f"works with {_names(partners)} too")
    return f"{city.name} " + ("; ".join(parts) if parts else "is similar in size and region") + "."
