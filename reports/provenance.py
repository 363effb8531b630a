"""Where a report comes from: a content hash of its inputs and the versions of the software that made it.

The hash covers every node and relationship of the snapshot the report was computed from (sorted, each
in its dataclass form), so two stores holding the same graph give the same hash whatever their data
version, and any change to any field gives another.
"""

from __future__ import annotations

import hashlib
import platform
from importlib import metadata

from graph.projection import Projection

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
