"""What a request may name: the ids of each kind and the filter values the data has, at one data version.

Requests are checked against it before any matching runs: an unknown id is a NotFoundError that suggests
the closest existing ids ("did you mean 'amsterdam'?"); an unknown filter value (a country no city is in, a
region, a sector) is a UsageError naming the valid values; a value that differs from a valid one only in
case is taken as that one ("lv" -> "LV").

>>> from graph.model import City
>>> vocab = Vocabulary.of({"City": [City(id="amsterdam", name="Amsterdam", country="NL", region="Europe"),
...                                 City(id="riga", name="Riga", country="LV", region="Europe")]})
>>> vocab.value("country", "lv"), vocab.value("region", "europe")
('LV', 'Europe')
>>> vocab.check_id("City", "Amsterdam")
Traceback (most recent call last):
...
graph.errors.NotFoundError: no city with id 'Amsterdam'; did you mean 'amsterdam'?
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from graph.errors import UsageError, shown
from graph.model import PARTNER_SECTORS, Node
from graph.suggest import not_found

SHOWN = 25  # valid values listed in a message; past that, a count of the rest


@dataclass(frozen=True)
class Vocabulary:
    ids: Mapping[str, frozenset[str]]  # kind -> ids
    values: Mapping[str, tuple[str, ...]]  # filter -> the values the data has, sorted

    @classmethod
    def of(cls, nodes: Mapping[str, Sequence[Node]]) -> Vocabulary:
        cities, partners = nodes.get("City", ()), nodes.get("Partner", ())
        return cls(ids={kind: frozenset(n.id for n in items) for kind, items in nodes.items()},
                   values={"country": tuple(sorted({c.country for c in cities})),
                           "region": tuple(sorted({c.region for c in cities if c.region})),
                           "sector": tuple(sorted(set(PARTNER_SECTORS) | {p.sector for p in partners})),
                           "partner country": tuple(sorted({p.country for p in partners if p.country}))})

    def check_id(self, kind: str, node_id: str) -> str:
        """`node_id` when a node of `kind` has it, else NotFoundError with the closest ids."""
        ids = self.ids.get(kind, frozenset())
        if node_id in ids:
            return node_id
        raise not_found(kind, node_id, ids)

    def value(self, name: str, given: str | None) -> str | None:
        """The data's spelling of a filter value (None stays None), else UsageError naming the valid ones."""
        if given is None:
            return None
        valid = self.values[name]
        if given in valid:
            return given
        same = [v for v in valid if v.casefold() == given.strip().casefold()]
        if len(same) == 1:
            return same[0]
        listed = ", ".join(valid[:SHOWN]) + (f" and {len(valid) - SHOWN:,} more" if len(valid) > SHOWN else "")
        where = {"country": "no city is in country", "region": "no city is in region",
                 "sector": "no partner organisation has sector", "partner country": "no partner organisation is in "
                 "country"}[name]
        raise UsageError(f"{where} {shown(given)}; valid values: {listed or 'none yet (the store is empty)'}")
