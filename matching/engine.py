"""The Engine: recommenders kept fitted to the store's current data version.

Each read checks the store's data version (one cheap query). When it moved:

- graphs up to `sync_limit` relationships are refitted before the read, so a committed write shows in
  the next recommendation, in this process or any other sharing the store;
- larger graphs keep serving the previous fit while a new one builds in a background thread (a refit takes
  ~15 s at 100k cities / 1M relationships, which no request should wait for), then swap it in at once.

Every request reads one immutable snapshot (version, projection, fitted recommenders), so it never mixes
two versions.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

from graph.errors import NotFoundError
from graph.projection import Projection
from graph.store import GraphStore
from matching.batch import BatchResult, batch_peers
from matching.groups import Grouping, learning_groups
from matching.partners import (
    CityMatch,
    PartnerMatch,
    PartnerRecommender,
    PersonMatch,
    cities_for_challenge,
    people_to_meet,
)
from matching.peers import PeerMatch, PeerRecommender

SYNC_LIMIT = 200_000  # relationships; refits of graphs this size take well under a second


@dataclass(frozen=True)
class Fitted:
    version: int
    projection: Projection
    peers: PeerRecommender
    partners: PartnerRecommender

    @property
    def size(self) -> int:
        return sum(len(rels) for rels in self.projection.relationships.values())


class Engine:
    def __init__(self, store: GraphStore, *, sync_limit: int = SYNC_LIMIT):
        self.store = store
        self.sync_limit = sync_limit
        self._fitted: Fitted | None = None
        self._fit_lock = threading.Lock()  # one fit at a time
        self._building = False

    def _fit(self) -> Fitted:
        projection = Projection.from_store(self.store)
        peers = PeerRecommender().fit(projection)
        partners = PartnerRecommender(parent_weight=peers.parent_weight).fit(projection, index=peers.index_)
        return Fitted(projection.version, projection, peers, partners)

    def current(self) -> Fitted:
        """The snapshot to serve this request from (see the module docstring for when it may be stale)."""
        version = self.store.version()
        fitted = self._fitted
        if fitted is not None and fitted.version == version:
            return fitted
        if fitted is not None and fitted.size > self.sync_limit:
            self._refit_in_background()
            return fitted
        with self._fit_lock:
            if self._fitted is None or self._fitted.version != version:
                self._fitted = self._fit()
            return self._fitted

    def _refit_in_background(self) -> None:
        with self._fit_lock:
            if self._building:
                return
            self._building = True

        def work() -> None:
            try:
                fitted = self._fit()
                with self._fit_lock:
                    self._fitted = fitted
            finally:
                self._building = False

        threading.Thread(target=work, name="citypeers-refit", daemon=True).start()

    def refresh(self) -> int:
        """Bring the engine up to date as far as the policy above allows; returns the version it serves."""
        return self.current().version

    def peers(self, city_id: str, **options: Any) -> list[PeerMatch]:
        return self.current().peers.recommend(city_id, **options)

    def partners(self, city_id: str, **options: Any) -> list[PartnerMatch]:
        return self.current().partners.recommend(city_id, **options)

    def people(self, leader_id: str, *, k: int = 10) -> list[PersonMatch]:
        fitted = self.current()
        return people_to_meet(fitted.peers, fitted.projection, leader_id, k=k)

    def groups(self, cohort_id: str, **options: Any) -> Grouping:
        fitted = self.current()
        return learning_groups(fitted.peers.index_, fitted.projection, cohort_id, **options)

    def batch_peers(self, cohort_id: str | None = None, **options: Any) -> BatchResult:
        """Peer lists for every city (or a cohort's member cities), with exposure measured."""
        fitted = self.current()
        projection = fitted.projection
        if cohort_id is None:
            cities = list(fitted.peers.index_.city_ids)
        else:
            if cohort_id not in {c.id for c in projection.nodes["Cohort"]}:
                raise NotFoundError(f"no cohort with id {cohort_id!r}")
            cities = sorted({r.source for r in projection.relationships["MEMBER_OF"]
                             if r.target == cohort_id and r.source in fitted.peers.index_.city_row})
        return batch_peers(fitted.peers, cities, **options)

    def cities_for_challenge(self, challenge_id: str, *, k: int = 10) -> list[CityMatch]:
        fitted = self.current()
        return cities_for_challenge(fitted.peers, fitted.projection, challenge_id, k=k)
