"""The Engine: recommenders kept fitted to the store's current data version.

Each read checks the store's data version (one cheap query) and refits only when it has changed, so a
committed write is reflected in the next recommendation, in this process or in any other sharing the store.
"""

from __future__ import annotations

import threading
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


class Engine:
    def __init__(self, store: GraphStore, *, peers: PeerRecommender | None = None,
                 partners: PartnerRecommender | None = None):
        self.store = store
        self._peers = peers or PeerRecommender()
        self._partners = partners or PartnerRecommender()
        self._projection: Projection | None = None
        self._version: int | None = None
        self._lock = threading.Lock()

    def refresh(self) -> int:
        """Refit if the store's data version moved; returns the version the engine now serves."""
        version = self.store.version()
        if version != self._version:
            with self._lock:
                if version != self._version:
                    projection = Projection.from_store(self.store)
                    self._peers.fit(projection)
                    self._partners.fit(projection)
                    self._projection = projection
                    self._version = projection.version
        return self._version  # type: ignore[return-value]

    def peers(self, city_id: str, **options: Any) -> list[PeerMatch]:
        self.refresh()
        return self._peers.recommend(city_id, **options)

    def partners(self, city_id: str, **options: Any) -> list[PartnerMatch]:
        self.refresh()
        return self._partners.recommend(city_id, **options)

    def people(self, leader_id: str, *, k: int = 10) -> list[PersonMatch]:
        self.refresh()
        return people_to_meet(self._peers, self._projection, leader_id, k=k)  # type: ignore[arg-type]

    def groups(self, cohort_id: str, **options: Any) -> Grouping:
        self.refresh()
        return learning_groups(self._peers.index_, self._projection, cohort_id, **options)  # type: ignore[arg-type]

    def batch_peers(self, cohort_id: str | None = None, **options: Any) -> BatchResult:
        """Peer lists for every city (or a cohort's member cities), with exposure measured."""
        self.refresh()
        projection = self._projection
        assert projection is not None
        if cohort_id is None:
            cities = list(self._peers.index_.city_ids)
        else:
            if cohort_id not in {c.id for c in projection.nodes["Cohort"]}:
                raise NotFoundError(f"no cohort with id {cohort_id!r}")
            cities = sorted({r.source for r in projection.relationships["MEMBER_OF"]
                             if r.target == cohort_id and r.source in self._peers.index_.city_row})
        return batch_peers(self._peers, cities, **options)

    def cities_for_challenge(self, challenge_id: str, *, k: int = 10) -> list[CityMatch]:
        self.refresh()
        return cities_for_challenge(self._peers, self._projection, challenge_id, k=k)  # type: ignore[arg-type]
