"""What a request may name: the ids of each kind and the regions the data has, at one data version.

Requests are checked against it before any matching runs: an unknown id is a NotFoundError that suggests
the closest existing ids ("did you mean 'amsterdam'?"); a region no city is in is a UsageError with the
closest regions there are, and one that differs from a region only in case is taken as that one
("europe" -> "Europe"). Country codes and partner sectors are fixed lists, not the data's
(graph.browse.country_filter, sector_filter): a real country no city is in matches nothing.

>>> from graph.model import City
>>> vocab = Vocabulary.of({"City": [City(id="amsterdam", name="Amsterdam", country="NL", region="Europe"),
...                                 City(id="riga", name="Riga", country="LV", region="Europe")]})
>>> vocab.region("europe"), vocab.has_region("Europe")
('Europe', True)
>>> vocab.check_id("City", "Amsterdam")
Traceback (most recent call last):
...
graph.errors.NotFoundError: no city with id 'Amsterdam'; did you mean 'amsterdam'?
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from graph.browse import region_filter
from graph.model import Node
from graph.suggest import not_found


@dataclass(frozen=True)
class Vocabulary:
    ids: Mapping[str, frozenset[str]]  # kind -> ids
    regions: frozenset[str]  # the regions cities are in

    @classmethod
    def of(cls, nodes: Mapping[str, Sequence[Node]]) -> Vocabulary:
        return cls(ids={kind: frozenset(n.id for n in items) for kind, items in nodes.items()},
                   regions=frozenset(c.region for c in nodes.get("City", ()) if c.region))

    def check_id(self, kind: str, node_id: str) -> str:
        """`node_id` when a node of `kind` has it, else NotFoundError with the closest ids."""
        ids = self.ids.get(kind, frozenset())
        if node_id in ids:
            return node_id
        raise not_found(kind, node_id, ids, actual=next((k for k, of in self.ids.items() if node_id in of), None))

    def has_region(self, region: str) -> bool:
        return region in self.regions

    def region(self, given: str | None) -> str | None:
        """The data's spelling of a region filter (None stays None), else UsageError with the closest regions."""
        return region_filter(given, self.regions)
