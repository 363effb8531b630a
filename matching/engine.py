"""The Engine: recommenders kept fitted to the store's current data version.

Each read checks the store's identity and data version (one cheap query, `GraphStore.state`). A store that
is not the one the index was built from (replaced, or wiped and refilled, whose version counts from 0
again) is refitted before the read, whatever its size. When only the version moved:

- graphs up to `sync_limit` relationships are refitted before the read, so a committed write shows in
  the next recommendation, in this process or any other sharing the store;
- larger graphs first try the store's change log (both stores keep one): a few relationship changes are
  applied to the current snapshot in milliseconds (matching/refresh.py), so the next read shows them;
- otherwise (node writes, the taxonomy, large imports) they keep serving the previous fit
  while a new one builds in a background thread (a refit takes ~15 s at 100k cities / 1M relationships,
  which no request should wait for), then swap it in at once. An incremental refresh that re-encoded
  texts also schedules one, so text similarity converges to a full build's idf.

Every request reads one immutable snapshot (version, projection, fitted recommenders), so it never mixes
two versions.

The signal weights `citypeers tune` stores (in this process or another: the CLI while a server runs) are
read again at most every `WEIGHTS_POLL` seconds; new ones are swapped in at once, on the same index (a
weight change needs no refit), so a served snapshot's weights are never more than that old.

A server passes `freeze_gc=True`: each new snapshot is moved out of the cyclic garbage collector's reach
(`gc.freeze()`). A snapshot is millions of long-lived objects at 100k cities; without this, every full
collection walks all of them while requests wait (measured: pauses of 177 ms at 10k cities, the whole p99).
Replaced snapshots are still freed by reference counting (they hold no reference cycles; a test checks).
"""

from __future__ import annotations

import copy
import gc
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from graph.browse import country_filter, sector_filter
from graph.errors import UsageError
from graph.heap import long_lived
from graph.network import Network, network_of
from graph.projection import Projection
from graph.store import LOG_LIMIT, Change, GraphStore
from matching.batch import BatchResult, batch_peers
from matching.groups import Grouping, GroupingScore, learning_groups, score_grouping
from matching.partners import (
    CityMatch,
    PartnerMatch,
    PartnerRecommender,
    PersonMatch,
    cities_for_challenge,
    partner_memberships,
    people_to_meet,
)
from matching.peers import DEFAULT_WEIGHTS, MAX_MATCHES, PeerMatch, PeerRecommender
from matching.themes import cohort_themes as themes_of
from matching.tuning import TunedWeights, active, active_focused, active_strict_focus, load_weights
from matching.vocabulary import Vocabulary

SYNC_LIMIT = 200_000  # relationships; refits of graphs this size take well under a second
WEIGHTS_POLL = 5.0  # seconds between reads of the stored weights (one small read)


@dataclass(frozen=True)
class Fitted:
    version: int
    projection: Projection
    peers: PeerRecommender
    partners: PartnerRecommender
    exact: bool = True  # False after an incremental refresh re-encoded texts with the last build's idf
    identity: str = ""  # the store's identity when fitted (GraphStore.state): a replaced store is refitted
    weights: TunedWeights | None = None  # what `citypeers tune` stored when this snapshot was fitted

    @cached_property
    def vocabulary(self) -> Vocabulary:
        """The ids and filter values requests are checked against (built on first use, per snapshot)."""
        return Vocabulary.of(self.projection.nodes)

    @property
    def size(self) -> int:
        return sum(len(rels) for rels in self.projection.relationships.values())

    def with_changes(self, changes: list[Change]) -> Fitted | None:
        """This snapshot after relationship `changes` (matching/refresh.py), or None: rebuild instead."""
        version = max(c.version for c in changes)
        projection = self.projection.with_changes(changes, version=version)
        index = self.peers.index_.with_changes(changes, projection)
        if index is None:
            return None
        peers = copy.copy(self.peers)
        peers.index_ = index
        partners = copy.copy(self.partners)
        partners.index_ = index
        if any(c.key[0] == "WORKS_ON" for c in changes):
            partners.works_on_ = projection.matrix("WORKS_ON").matrix.tocsr()
        if any(c.key[0] == "MEMBER_OF" for c in changes):
            partners.memberships_ = partner_memberships(projection)
        faces = any(c.key[0] == "FACES" for c in changes)
        updated = Fitted(version, projection, peers, partners, exact=self.exact and not faces, identity=self.identity,
                         weights=self.weights)
        if "vocabulary" in self.__dict__:  # relationship changes leave the nodes, so the vocabulary, as they were
            updated.__dict__["vocabulary"] = self.vocabulary
        return updated

    def with_weights(self, tuned: TunedWeights | None) -> Fitted:
        """This snapshot with the weights `tuned` makes active, on the same index (no refit)."""
        peer_weights, partner_weights = active(tuned)
        peers = self.peers.with_weights(dict(DEFAULT_WEIGHTS if peer_weights is None else peer_weights),
                                        active_focused(tuned), strict_focus=active_strict_focus(tuned))
        updated = Fitted(self.version, self.projection, peers, self.partners.with_weights(partner_weights),
                         exact=self.exact, identity=self.identity, weights=tuned)
        if "vocabulary" in self.__dict__:
            updated.__dict__["vocabulary"] = self.vocabulary
        return updated


class Engine:
    def __init__(self, store: GraphStore, *, sync_limit: int = SYNC_LIMIT, freeze_gc: bool = False,
                 weights_poll: float = WEIGHTS_POLL):
        self.store = store
        self.sync_limit = sync_limit
        self.freeze_gc = freeze_gc
        self.weights_poll = weights_poll
        self._weights_read = time.monotonic()  # when the stored weights were last read
        self._fitted: Fitted | None = None
        self._fit_lock = threading.Lock()  # one fit at a time
        self._building = False
        self._refit_thread: threading.Thread | None = None
        self._not_incremental: tuple[int, int] | None = None  # (from, to) versions the change log cannot bridge

    def _fit(self) -> Fitted:
        identity, _ = self.store.state()  # read first: a store replaced meanwhile is caught on the next read
        tuned = load_weights(self.store)
        self._weights_read = time.monotonic()
        peer_weights, partner_weights = active(tuned)
        with long_lived():  # the snapshot and its indexes are kept (graph.heap)
            projection = Projection.from_store(self.store)
            peers = PeerRecommender(weights=peer_weights, focused_weights=active_focused(tuned),
                                    strict_focus=active_strict_focus(tuned)).fit(projection)
            partners = PartnerRecommender(weights=partner_weights, parent_weight=peers.parent_weight).fit(
                projection, index=peers.index_)
            fitted = Fitted(projection.version, projection, peers, partners, weights=tuned, identity=identity)
            fitted.vocabulary  # built with the fit (in the background for a large graph), not by a request  # noqa: B018
        return self._settled(fitted)

    def reload_weights(self) -> None:
        """Refit now with the weights the store holds (after `tune` stored new ones)."""
        with self._fit_lock:
            self._fitted = self._fit()

    def _settled(self, fitted: Fitted) -> Fitted:
        """A new snapshot, out of the garbage collector's way when serving (see the module docstring)."""
        if self.freeze_gc:
            gc.freeze()
        return fitted

    def current(self) -> Fitted:
        """The snapshot to serve this request from (see the module docstring for when it may be stale)."""
        identity, version = self.store.state()
        fitted = self._fitted
        if fitted is not None and fitted.identity != identity:
            fitted = None  # another store, or this one wiped and refilled: nothing of the old index holds
        if fitted is not None and fitted.version == version:
            if not fitted.exact:
                self._refit_in_background()
            return self._weighted(fitted)
        if fitted is not None and fitted.size > self.sync_limit:
            updated = self._incremental(fitted) if self._not_incremental != (fitted.version, version) else None
            if updated is not None:
                if not updated.exact:
                    self._refit_in_background()
                return updated
            self._not_incremental = (fitted.version, version)  # not again for every request until the refit
            self._refit_in_background()
            return fitted
        with self._fit_lock:
            if self._fitted is None or (self._fitted.identity, self._fitted.version) != (identity, version):
                self._fitted = self._fit()
            return self._fitted

    def _weighted(self, fitted: Fitted) -> Fitted:
        """`fitted`, or a copy with the stored weights when they changed since (read every weights_poll s)."""
        if time.monotonic() - self._weights_read < self.weights_poll:
            return fitted
        self._weights_read = time.monotonic()
        tuned = load_weights(self.store)
        if tuned == fitted.weights:
            return fitted
        with self._fit_lock:
            if self._fitted is fitted:
                self._fitted = self._settled(fitted.with_weights(tuned))
            return self._fitted if self._fitted is not None else fitted

    def _incremental(self, fitted: Fitted) -> Fitted | None:
        """Apply the store's change log since `fitted`, when it has one that this index can absorb."""
        changes = self.store.changes(fitted.version)
        if not changes or len(changes) > LOG_LIMIT:
            return None
        with self._fit_lock:
            if self._fitted is not fitted:  # another request got there first
                return self._fitted if self._fitted is not None and self._fitted.version >= changes[-1].version \
                    else None
            updated = fitted.with_changes(changes)
            if updated is not None:
                self._fitted = self._settled(updated)
            return updated

    def _refit_in_background(self) -> None:
        with self._fit_lock:
            if self._building:
                return
            self._building = True

        def work() -> None:
            try:
                fitted = self._fit()
                with self._fit_lock:  # never replace a newer snapshot (incremental refreshes move on meanwhile)
                    if self._fitted is None or fitted.version >= self._fitted.version \
                            or fitted.identity != self._fitted.identity:
                        self._fitted = fitted
            finally:
                self._building = False

        self._refit_thread = threading.Thread(target=work, name="citypeers-refit", daemon=True)
        self._refit_thread.start()

    def wait(self, timeout: float | None = None) -> None:
        """Let a background refit finish: before the store it reads is closed, which would otherwise pull the
        connection from under it."""
        thread = self._refit_thread
        if thread is not None:
            thread.join(timeout)

    def refresh(self) -> int:
        """Bring the engine up to date as far as the policy above allows; returns the version it serves."""
        return self.current().version

    def peers(self, city_id: str, *, cohort_themes: str | None = None, **options: Any) -> list[PeerMatch]:
        """Peers of a city; `cohort_themes`: a cohort id whose themes (COVERS) focus the query, as
        `challenges=` would."""
        fitted = self.current()
        options = _focused(fitted, cohort_themes, options)
        return fitted.peers.recommend(city_id, **_checked_peer_options(fitted.vocabulary, city_id, options))

    def partners(self, city_id: str, **options: Any) -> list[PartnerMatch]:
        fitted = self.current()
        vocab = fitted.vocabulary
        vocab.check_id("City", city_id)
        if options.get("challenge") is not None:
            vocab.check_id("Challenge", options["challenge"])
        options = {**options, "sector": sector_filter(options.get("sector")),
                   "country": country_filter(options.get("country"))}
        return fitted.partners.recommend(city_id, **options)

    def region(self, given: str | None) -> str | None:
        """A listing's region filter in the data's spelling: one the snapshot served now knows (no refit for a
        listing, no scan of the cities), or one the store's region index finds (a city written since), else
        UsageError with the closest regions there are."""
        if given is None:
            return None
        fitted = self._fitted
        if fitted is not None and fitted.vocabulary.has_region(given):
            return given
        if self.store.list("City", where={"region": given}, first=1).items:
            return given
        return (fitted if fitted is not None else self.current()).vocabulary.region(given)

    def people(self, leader_id: str, *, k: int = 10) -> list[PersonMatch]:
        fitted = self.current()
        fitted.vocabulary.check_id("Leader", leader_id)
        return people_to_meet(fitted.peers, fitted.projection, leader_id, k=k)

    def groups(self, cohort_id: str, **options: Any) -> Grouping:
        fitted = self.current()
        fitted.vocabulary.check_id("Cohort", cohort_id)
        for a, b in [*options.get("must_pair", ()), *options.get("cannot_pair", ())]:
            fitted.vocabulary.check_id("City", a)
            fitted.vocabulary.check_id("City", b)
        return learning_groups(fitted.peers.index_, fitted.projection, cohort_id, **options)

    def score_grouping(self, cohort_id: str, groups: list[list[str]], **options: Any) -> GroupingScore:
        """A grouping given by hand, scored as `groups` scores its own (the explorer's what-if)."""
        fitted = self.current()
        return score_grouping(fitted.peers.index_, fitted.projection, cohort_id, groups, **options)

    def network(self) -> Network:
        """The current data version's network, with its layouts and communities (graph/network.py)."""
        return network_of(self.current().projection)

    def batch_peers(self, cohort_id: str | None = None, *, progress: Callable[[int], None] | None = None,
                    **options: Any) -> BatchResult:
        """Peer lists for every city (or a cohort's member cities), with exposure measured; `progress` is
        called with the number of cities done so far."""
        fitted = self.current()
        projection = fitted.projection
        if cohort_id is None:
            cities = list(fitted.peers.index_.city_ids)
        else:
            fitted.vocabulary.check_id("Cohort", cohort_id)
            cities = sorted({r.source for r in projection.relationships["MEMBER_OF"]
                             if r.target == cohort_id and r.source in fitted.peers.index_.city_row})
        return batch_peers(fitted.peers, cities, progress=progress, **options)

    def cities_for_challenge(self, challenge_id: str, *, k: int = 10) -> list[CityMatch]:
        fitted = self.current()
        fitted.vocabulary.check_id("Challenge", challenge_id)
        return cities_for_challenge(fitted.peers, fitted.projection, challenge_id, k=k)

    def why_no_peers(self, city_id: str, *, cohort_themes: str | None = None, **options: Any) -> str:
        """Why `peers(city_id, **options)` found nothing: the filters left out every candidate (how many),
        or the city shares nothing with any other city; asked on given challenges, under the strict focus,
        that no other city works on them."""
        fitted = self.current()
        options = _focused(fitted, cohort_themes, options)
        unfiltered = {k: v for k, v in options.items() if k in ("challenges", "diversify")}
        # counted up to recommend's largest k: a store of more cities asked k=its size and was refused (k=11975
        # is out of range) until 2026-12-07
        most = max(1, min(len(fitted.peers.index_.city_ids), MAX_MATCHES))
        candidates = len(fitted.peers.recommend(city_id, k=most, **unfiltered))
        asked = options.get("challenges")
        strict = bool(asked) and fitted.peers.strict_focus_  # only cities working on them may be suggested
        if asked:
            asked = ", ".join(asked) + (f" (the themes of {cohort_themes})" if cohort_themes else "")
        if candidates == 0:
            if strict:
                return f"no other city works on {asked}"
            if asked:
                return f"{city_id} shares no cohort or partner with another city, and no other city works on {asked}"
            return f"{city_id} shares no challenge, cohort or partner with another city"
        given = ", ".join(_filter_text(name, value) for name, value in options.items()
                          if name not in ("k", "challenges", "diversify") and value not in (None, False))
        them = ("the 1 city" if candidates == 1 else f"all {candidates:,} cities" if candidates < MAX_MATCHES
                else f"all of the {MAX_MATCHES:,} or more cities")
        if strict:
            return f"the filters ({given}) left out {them} other than {city_id} working on {asked}"
        return f"the filters ({given}) left out {them} {city_id} shares a challenge, cohort or partner with"


def _focused(fitted: Fitted, cohort_themes: str | None, options: dict[str, Any]) -> dict[str, Any]:
    """`options` with a cohort's themes (COVERS) as the challenges to focus on, when asked for."""
    if cohort_themes is None:
        return options
    if options.get("challenges"):
        raise UsageError("give challenges or a cohort's themes to focus on, not both")
    return {**options, "challenges": themes_of(fitted.projection, cohort_themes)}


def _filter_text(name: str, value: Any) -> str:
    """A filter as a message names it: "exclude known", "min population 1,000,000", "country LV"."""
    label = name.replace("_", " ")
    return label if value is True else f"{label} {value:,}" if isinstance(value, int) else f"{label} {value}"


def _checked_peer_options(vocab: Vocabulary, city_id: str, options: dict[str, Any]) -> dict[str, Any]:
    """Peer options with every id checked and filter values in the data's spelling (see matching/vocabulary)."""
    vocab.check_id("City", city_id)
    for challenge in options.get("challenges") or ():
        vocab.check_id("Challenge", challenge)
    if options.get("cohort") is not None:
        vocab.check_id("Cohort", options["cohort"])
    return {**options, "country": country_filter(options.get("country")),
            "region": vocab.region(options.get("region"))}
