"""Where a report comes from: a content hash of its inputs and the versions of the software that made it.

The hash covers every node and relationship of the snapshot the report was computed from (sorted, each
in its dataclass form), so two stores holding the same graph give the same hash whatever their data
version, and any change to any field gives another. A cohort report's hash also covers the signal weights
`citypeers tune` stored and the engine uses (`with_weights`): they change suggestions without a new data
version. Without tuned weights in use (none stored, or not adopted) the engine's defaults apply, which the
software versions pin, and the hash is the graph's alone.
"""

from __future__ import annotations

import hashlib
import json
import platform
from importlib import metadata

from graph.projection import Projection
from matching.tuning import TunedWeights, active, active_focused, active_strict_focus

LIBRARIES = ("citypeers", "numpy", "scipy", "scikit-learn", "networkx", "matplotlib", "jinja2", "weasyprint")
_CHUNK = 20_000


def inputs_sha256(projection: Projection) -> str:
    """SHA-256 of the snapshot's nodes (by kind, by id) and relationships (by kind, source, target)."""
    digest = hashlib.sha256()
    for kind in sorted(projection.nodes):
        _update(digest, sorted(projection.nodes[kind], key=lambda n: n.id))
    for kind in sorted(projection.relationships):
        _update(digest, sorted(projection.relationships[kind], key=lambda r: (r.source, r.target)))
    return digest.hexdigest()


def with_weights(graph_sha256: str, tuned: TunedWeights | None) -> str:
    """The inputs' hash with the stored weights counted: `graph_sha256` itself when no tuned weights are in use,
    else the SHA-256 of it and the weights in use (peers, partners, and for peers on given challenges their
    weights and whether only cities working on them are suggested).

    >>> with_weights("ab12", None)
    'ab12'
    >>> tuned = TunedWeights(peers={"challenges": 1.0}, partners={"peers": 1.0}, adopted=True, note="", data_version=1)
    >>> with_weights("ab12", tuned) != "ab12", with_weights("ab12", tuned) == with_weights("ab12", tuned)
    (True, True)
    >>> with_weights("ab12", TunedWeights(**{**tuned.__dict__, "adopted": False}))  # kept the defaults
    'ab12'
    """
    peers, partners = active(tuned)
    if peers is None and partners is None:
        return graph_sha256
    weights = {"peers": peers, "partners": partners, "focused_peers": active_focused(tuned),
               "strict_focus": active_strict_focus(tuned)}
    text = f"{graph_sha256}\n{json.dumps(weights, sort_keys=True)}"
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _update(digest, items: list) -> None:
    for start in range(0, len(items), _CHUNK):
        digest.update("\n".join(map(repr, items[start:start + _CHUNK])).encode("utf-8"))
        digest.update(b"\n")


def software() -> dict[str, str]:
    """Versions of Python and of the libraries whose behaviour shapes the numbers or the documents."""
    out = {"python": platform.python_version()}
    for name in LIBRARIES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out
