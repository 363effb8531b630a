"""The Engine: recommenders kept fitted to the store's current data version.

Each read checks the store's data version (one cheap query) and refits only when it has changed, so a
committed write is reflected in the next recommendation, in this process or in any other sharing the store.
"""

from __future__ import annotations

import threading
from typing import Any

from graph.projection import Projection
from graph.store import GraphStore
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

    def cities_for_challenge(self, challenge_id: str, *, k: int = 10) -> list[CityMatch]:
        self.refresh()
        return cities_for_challenge(self._peers, self._projection, challenge_id, k=k)  # type: ignore[arg-type]
