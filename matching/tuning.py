"""Signal weights learned from a deployment's own graph, kept in its store.

`citypeers tune` (evaluation/tune.py) fits them on a hold-out of the store's own links and checks them on
another; the result, adopted or not, is stored with its figures and the data version it came from, and the
Engine fits its recommenders with the adopted weights. The score stays a non-negative weighted sum of the
signals, so contributions still add up to it and every reason stays true.

`SignalWeights` is the constrained linear ranker: least squares of the hit labels on the candidates'
signal values with non-negative coefficients (scikit-learn's LinearRegression(positive=True), which solves
it with scipy's nnls), each query's candidates weighing as much in total as any other query's.

>>> import numpy as np
>>> X = np.array([[1.0, 0.2], [0.1, 0.9], [0.9, 0.1], [0.0, 1.0]]); y = np.array([1, 0, 1, 0])
>>> SignalWeights().fit(X, y, groups=np.array([0, 0, 1, 1])).weights_.round(2).tolist()
[1.0, 0.0]
>>> SignalWeights().fit(np.c_[X, np.ones(4)], y, groups=np.array([0, 0, 1, 1])).weights_.round(2).tolist()
[1.0, 0.0, 0.0]
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field

import numpy as np
from sklearn.linear_model import LinearRegression

from graph.errors import UsageError
from graph.store import GraphStore
from matching.partners import DEFAULT_PARTNER_WEIGHTS
from matching.peers import DEFAULT_WEIGHTS

SETTING = "matching.weights"


class SignalWeights:
    """Non-negative signal weights from (candidate signal values, hit labels, query ids); scikit-learn
    manners. `weights_` sums to 1 (all zero when no signal separates hits from the rest)."""

    def __init__(self, *, balance_queries: bool = True):
        self.balance_queries = balance_queries

    def fit(self, X: np.ndarray, y: np.ndarray, *, groups: np.ndarray | None = None) -> SignalWeights:
        X, y = np.asarray(X, dtype=np.float64), np.asarray(y, dtype=np.float64)
        if X.ndim != 2 or len(X) != len(y) or not len(y):
            raise UsageError(f"need one row of signal values per label; got {X.shape} values and {y.shape} labels")
        weight = None
        inverse = np.zeros(len(y), dtype=np.int64)
        if groups is not None:
            _, inverse, counts = np.unique(groups, return_inverse=True, return_counts=True)
            if self.balance_queries:
                weight = 1.0 / counts[inverse]
        # A signal with the same value for every candidate of every query (a language all cities share) cannot
        # order anything: it gets no weight, so no reason names it for nothing.
        means = np.zeros((inverse.max() + 1, X.shape[1]))
        np.add.at(means, inverse, X)
        means /= np.bincount(inverse)[:, None]
        varies = np.abs(X - means[inverse]).max(axis=0) > 1e-12
        coef = np.zeros(X.shape[1])
        if varies.any():
            coef[varies] = LinearRegression(positive=True).fit(X[:, varies], y, sample_weight=weight).coef_
        total = coef.sum()
        self.weights_ = coef / total if total > 0 else np.zeros_like(coef)
        return self


@dataclass(frozen=True)
class TunedWeights:
    """What `citypeers tune` found: the weights, whether they are in use, why, and the figures."""

    peers: dict[str, float]  # the weights in use for peers (the defaults when not adopted)
    partners: dict[str, float]
    adopted: bool  # False: the defaults are kept (too little data, or the fit did no better on the test half)
    note: str  # one sentence saying which, and why
    data_version: int  # the store's data version they were fitted on
    figures: dict = field(default_factory=dict)  # validation and test figures, by question
    # peers for questions on given challenges ("peers on housing"), fitted on those questions alone; None:
    # the same as `peers` (weights stored before 2026-12-06, or too few such questions to fit on)
    focused_peers: dict[str, float] | None = None
    # questions on given challenges: True, only cities working on one of them are suggested; False (tune found
    # the store's own links reach beyond the challenges cities list), any city with a reason, those working on
    # them scoring through `challenges`. Weights stored before 2026-12-06: True.
    strict_focus: bool = True

    def to_json(self) -> str:
        return json.dumps(asdict(self))  # signals in their order

    @classmethod
    def from_json(cls, text: str) -> TunedWeights:
        return cls(**json.loads(text))

    def describe(self) -> str:
        """One line for `citypeers status`."""
        def listed(weights: dict[str, float], defaults: Mapping[str, float]) -> str:
            # adopted for the other kind only: say that these are still the defaults (a signal added since the
            # weights were stored is 0 in them)
            same = {k: float(weights.get(k, 0.0)) for k in defaults} == {k: float(v) for k, v in defaults.items()}
            kept = " (defaults)" if self.adopted and same and not set(weights) - set(defaults) else ""
            return kept + " " + ", ".join(f"{k} {v:.3g}" for k, v in weights.items() if v > 0)

        peers, partners = listed(self.peers, DEFAULT_WEIGHTS), listed(self.partners, DEFAULT_PARTNER_WEIGHTS)
        origin = f"tuned on data version {self.data_version}" if self.adopted else "defaults"
        focused = ""
        if self.focused_peers is not None and self.focused_peers != self.peers:
            focused = "; peers on given challenges " + ", ".join(f"{k} {v:.3g}" for k, v in self.focused_peers.items()
                                                                  if v > 0)
        if not self.strict_focus:
            focused += "; peers on given challenges may include cities that have not listed them"
        return f"{origin}: peers{peers}{focused}; partners{partners}. {self.note}"


def save_weights(store: GraphStore, tuned: TunedWeights) -> None:
    store.put_setting(SETTING, tuned.to_json())


def load_weights(store: GraphStore) -> TunedWeights | None:
    text = store.setting(SETTING)
    return TunedWeights.from_json(text) if text else None


def active(tuned: TunedWeights | None) -> tuple[Mapping[str, float] | None, Mapping[str, float] | None]:
    """(peer weights, partner weights) for the recommenders: the tuned ones when adopted, else None (defaults)."""
    if tuned is None or not tuned.adopted:
        return None, None
    return tuned.peers, tuned.partners


def active_strict_focus(tuned: TunedWeights | None) -> bool:
    """Whether questions on given challenges suggest only cities working on them: True unless adopted weights
    say otherwise."""
    return tuned is None or not tuned.adopted or tuned.strict_focus


def active_focused(tuned: TunedWeights | None) -> Mapping[str, float] | None:
    """The peer weights for focused questions when tuned ones are adopted and differ, else None (the same as
    the unfocused ones)."""
    if tuned is None or not tuned.adopted:
        return None
    return tuned.focused_peers
