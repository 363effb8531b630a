"""The matching weights in use, where they came from, and the admin-only mutation that re-learns them."""

from __future__ import annotations

import json

import strawberry

from matching.tuning import TunedWeights


@strawberry.type
class Weight:
    name: str
    weight: float


@strawberry.type(description="The signal weights recommendations use, and their origin.")
class MatchingWeights:
    origin: str = strawberry.field(description='"tuned" (learned from this store by citypeers tune) or "defaults".')
    note: str = strawberry.field(description="Why these weights: the tuning's verdict, or that it never ran.")
    tuned_on_data_version: int | None = strawberry.field(description="The data version they were fitted on.")
    peers: list[Weight]
    focused_peers: list[Weight] = strawberry.field(
        description="The peer weights for questions on given challenges (peers(challenges: ...), themesOfCohort), "
                    "fitted on such questions alone; the same as peers unless tuning found them different.")
    partners: list[Weight]
    figures: str = strawberry.field(description="The tuning's validation and test figures, as JSON.")
    strict_focus: bool = strawberry.field(
        default=True, description="Peers on given challenges: true, only cities working on one of them; false "
                                  "(tuning found this store's links reach beyond the challenges cities list), "
                                  "also others with a reason, which says they have not listed them.")


def matching_weights(tuned: TunedWeights | None, peers: dict[str, float], partners: dict[str, float],
                     focused_peers: dict[str, float] | None = None, strict_focus: bool = True) -> MatchingWeights:
    """`peers` / `focused_peers` / `partners`: the weights the fitted recommenders use (defaults when not
    tuned; focused: as `peers` when None)."""
    return MatchingWeights(
        origin="tuned" if tuned is not None and tuned.adopted else "defaults",
        note=tuned.note if tuned else "never tuned on this store: run citypeers tune (or the tuneWeights mutation)",
        tuned_on_data_version=tuned.data_version if tuned else None,
        peers=[Weight(name=k, weight=v) for k, v in peers.items()],
        focused_peers=[Weight(name=k, weight=v) for k, v in (focused_peers or peers).items()],
        partners=[Weight(name=k, weight=v) for k, v in partners.items()],
        figures=json.dumps(tuned.figures if tuned else {}, sort_keys=True), strict_focus=strict_focus)


def current_weights(engine) -> MatchingWeights:
    fitted = engine.current()
    return matching_weights(fitted.weights, fitted.peers.weights_, fitted.partners.weights_,
                            fitted.peers.focused_weights_, fitted.peers.strict_focus_)


def tune_now(store, engine, *, seed: int, share: float) -> MatchingWeights:
    """Fit, store, and serve the new weights at once (evaluation/tune.py)."""
    from evaluation.tune import tune
    from graph.projection import Projection
    from matching.tuning import save_weights

    tuned, _ = tune(Projection.from_store(store), seed=seed, share=share)
    save_weights(store, tuned)
    engine.reload_weights()
    return current_weights(engine)

