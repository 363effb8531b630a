"""Finding things in a store: listings by kind and one node with its relationships, as lines of text for
`citypeers list` and `citypeers show`.

>>> from graph.model import City
>>> line(City(id="riga", name="Riga", country="LV", population=605802))
'riga  Riga (LV, population 605,802)'
"""

from __future__ import annotations

from collections.abc import Collection, Sequence

from graph.errors import UsageError, shown
from graph.model import PARTNER_SECTORS, Node, country_codes, country_meant, slug
from graph.store import GraphStore
from graph.suggest import closest, not_found

KINDS = {"cities": "City", "challenges": "Challenge", "partners": "Partner", "cohorts": "Cohort",
         "leaders": "Leader"}
WITH_COUNTRY = ("City", "Partner")


def line(node: Node) -> str:
    """One node as `id  name (what it is)`."""
    facts = {"City": lambda n: [n.country, n.region, f"population {n.population:,}" if n.population else None],
             "Partner": lambda n: [n.sector, n.country],
             "Cohort": lambda n: [n.programme, n.start and f"from {n.start}"],
             "Leader": lambda n: [n.role.replace("-", " "), n.title],
             "Challenge": lambda n: []}[node.KIND](node)
    shown = ", ".join(f for f in facts if f)
    return f"{node.id}  {node.name}" + (f" ({shown})" if shown else "")


def country_filter(country: str | None) -> str | None:
    """A country filter as an ISO 3166-1 alpha-2 code ("nl" -> "NL"), else UsageError.

    >>> country_filter(" nl"), country_filter(None)
    ('NL', None)
    """
    if country is None:
        return None
    code = country.strip().upper()
    if code not in country_codes():
        meant = country_meant(country)
        raise UsageError(f"unknown country code {shown(country)}; use an ISO 3166-1 alpha-2 code"
                         + (f": {meant[0]} for {meant[1]}" if meant else " such as NL, US, GB"))
    return code


def sector_filter(sector: str | None) -> str | None:
    """A partner sector filter as the model spells it ("Public agency" -> "public-agency"), else UsageError
    naming the valid sectors (a fixed list: graph.model.PARTNER_SECTORS).

    >>> sector_filter("University"), sector_filter(None)
    ('university', None)
    """
    return one_of(sector, PARTNER_SECTORS, "partner sector", "sectors")


def one_of(value: str | None, valid: Sequence[str], what: str, plural: str) -> str | None:
    """`value` spelt as one of a fixed list of lower-case, hyphenated names ("Public agency" -> "public-agency";
    None stays None), else UsageError naming the valid ones."""
    if value is None:
        return None
    spelt = value.strip().lower().replace(" ", "-").replace("_", "-")
    if spelt not in valid:
        raise UsageError(f"unknown {what} {shown(value)}; valid {plural}: {', '.join(valid)}")
    return spelt


REGIONS_SHOWN = 25  # regions a message lists when none is close to the one asked for; past that, a count


def region_filter(region: str | None, regions: Collection[str]) -> str | None:
    """A region filter in the spelling of `regions` (those the store's cities are in): as given, or the one it
    matches but for case; else UsageError with the closest regions (graph.suggest), or those there are.

    >>> region_filter("europe", ("Europe", "North America")), region_filter(None, ())
    ('Europe', None)
    >>> region_filter("Westerm Europe", ("Eastern Europe", "Western Europe"))
    Traceback (most recent call last):
    ...
    graph.errors.UsageError: no city in this store is in region 'Westerm Europe'; did you mean 'Western Europe'?
    """
    if region is None or region in regions:
        return region
    same = [r for r in regions if r.casefold() == region.strip().casefold()]
    if len(same) == 1:
        return same[0]
    by_slug: dict[str, str] = {}
    for known in sorted(regions):
        by_slug.setdefault(slug(known) or known.lower(), known)
    close = [by_slug[s] for s in closest(region, by_slug)]
    unknown = f"no city in this store is in region {shown(region)}"
    if close:
        raise UsageError(f"{unknown}; did you mean {' or '.join(shown(c) for c in close)}?")
    if not regions:
        raise UsageError(f"{unknown}; no city has a region yet")
    listed = sorted(regions)
    more = f" and {len(listed) - REGIONS_SHOWN:,} more" if len(listed) > REGIONS_SHOWN else ""
    raise UsageError(f"{unknown}; its cities are in {', '.join(listed[:REGIONS_SHOWN])}{more}")


def listing(store: GraphStore, what: str, *, search: str | None = None, country: str | None = None,
            first: int = 20) -> tuple[list[str], int]:
    """The first `first` nodes of a kind (by id) matching the filters, as lines, and how many match."""
    kind = KINDS[what]
    where = {}
    if country is not None:
        if kind not in WITH_COUNTRY:
            raise UsageError(f"--country filters cities and partners, not {what}")
        where["country"] = country_filter(country)
    page = store.list(kind, where=where, search=search, first=first)
    return [line(n) for n in page.items], store.count(kind, where=where, search=search)


def details(store: GraphStore, node_id: str) -> list[str]:
    """A node's fields and its relationships, one a line; NotFoundError with the closest ids when missing."""
    node = store.get([node_id]).get(node_id)
    if node is None:
        raise not_found("node", node_id, (n.id for n in store.nodes()))
    lines = [f"{node.KIND} {node.id}"]
    lines += [f"  {name}: {value}" for name, value in node.record().items() if name != "id"]
    rels = store.neighbours([node_id], direction="both")
    others = store.get({r.target if r.source == node_id else r.source for r in rels})
    for rel in sorted(rels, key=lambda r: (r.KIND, r.source, r.target)):
        out = rel.source == node_id
        other = others.get(rel.target if out else rel.source)
        name = f"{other.name} ({other.id})" if other is not None else (rel.target if out else rel.source)
        props = ", ".join(f"{k} {v}" for k, v in rel.props().items())
        arrow = f"-{rel.KIND}->" if out else f"<-{rel.KIND}-"
        lines.append(f"  {arrow} {name}" + (f"  [{props}]" if props else ""))
    return lines

