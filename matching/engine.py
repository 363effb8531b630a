"""The Engine: recommenders kept fitted to the store's current data version.

Each read checks the store's data version (one cheap query) and refits only when it has changed, so a
committed write is reflected in the next recommendation, in this process or in any other sharing the store.
"""

from __future__ import annotations

import threading
from typing import Any

from graph.projection import Projection
from graph.store import GraphStore
from matching.peers import PeerMatch, PeerRecommender


class Engine:
    def __init__(self, store: GraphStore, *, peers: PeerRecommender | None = None):
        self.store = store
        self._peers = peers or PeerRecommender()
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
                    self._version = projection.version
        return self._version  # type: ignore[return-value]

    def peers(self, city_id: str, **options: Any) -> list[PeerMatch]:
        self.refresh()
        return self._peers.recommend(city_id, **options)
