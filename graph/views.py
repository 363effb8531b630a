"""Slices of the network for a view: which nodes and relationships a filter, a focus or an overview shows.

- **Filtered view**: the cities that pass every city filter (country, region, population band, cohort,
  challenge with its sub-challenges, partner sector, community), and of the other kinds asked for, the
  nodes linked to those cities (all of a kind when no city filter is given); a challenge filter keeps only
  that challenge's subtree, a cohort filter that cohort, a sector filter partners of that sector.
- **Partner sector**: the cities that work with a partner of that sector, directly (PARTNERS_WITH) or
  through a cohort both are members of (a programme the partner organises or teaches in); the view's
  partners are that sector's partners working with a city in view, either way.
- **Focus**: the given nodes and every node within `hops` (0, 1 or 2) of them, of the kinds asked for; the
  attribute filters do not apply (it is how the page expands a neighbourhood).
- **Overview**: when more nodes match than `first`, the cities grouped by country or community, one node
  per group with its count; a link between two groups weighs the challenges, cohorts and partners their
  cities share (each group keeps its strongest few) plus the peer links between them.

Relationships in a view are all those between its nodes. Results are indices into `Network`.

>>> from graph.model import City, Challenge, Faces
>>> from graph.projection import Projection
>>> from graph.network import network_of
>>> p = Projection([City(id="a", name="A", country="FR"), City(id="b", name="B", country="DE"),
...                 Challenge(id="h", name="Housing")],
...                [Faces(source="a", target="h"), Faces(source="b", target="h")], version=1)
>>> view = slice_view(network_of(p), ViewFilters(country="FR"))
>>> [network_of(p).ids[i] for i in view.nodes], view.total
(['h', 'a'], 2)
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import networkx as nx
import numpy as np
import scipy.sparse as sp

from graph.browse import country_filter, region_filter, sector_filter
from graph.errors import NotFoundError, UsageError, blaming, shown
from graph.network import Network
from graph.suggest import closest, did_you_mean, not_found

KINDS = ("City", "Challenge", "Cohort", "Partner", "Leader")
DEFAULT_KINDS = ("City", "Challenge", "Cohort", "Partner")
MAX_NODES = 50_000
LINKS_PER_GROUP = 4


@dataclass(frozen=True)
class ViewFilters:
    kinds: tuple[str, ...] = DEFAULT_KINDS
    country: str | None = None
    region: str | None = None
    min_population: int | None = None
    max_population: int | None = None
    cohort: str | None = None
    challenge: str | None = None
    partner_sector: str | None = None
    community: int | None = None

    @property
    def on_cities(self) -> bool:
        """Whether a filter picks cities, so that the other kinds are those linked to them. Not the community
        alone: every kind has one, so it keeps the community's members of each kind itself (a community of
        challenges and organisations that no city works with drew nothing)."""
        return any(v is not None for v in (self.country, self.region, self.min_population, self.max_population,
                                           self.cohort, self.challenge, self.partner_sector))


@dataclass(frozen=True)
class View:
    nodes: np.ndarray  # node indices, in index order
    edges: np.ndarray  # relationship indices between them
    total: int  # nodes that matched, before `first`


@dataclass(frozen=True)
class Group:
    key: str  # "country:FR", "community:3"
    label: str
    cities: int
    position: np.ndarray


@dataclass(frozen=True)
class Overview:
    groups: tuple[Group, ...]
    links: tuple[tuple[int, int, float], ...]  # (group, group, weight)
    total: int  # cities in the groups


def checked(net: Network, filters: ViewFilters) -> ViewFilters:
    """`filters` with its values in the network's spelling ("nl" -> "NL", "europe" -> "Europe"), else an error
    naming the bad value: an unknown kind, country code or partner sector (with the valid ones), a region no
    city is in (with the closest), a cohort or challenge that does not exist (NotFoundError, the closest ids);
    the error's `argument` names the filter. A real country no city is in is no error: it matches nothing."""
    with blaming("filters.kinds"):
        for kind in filters.kinds:
            if kind not in KINDS:
                raise UsageError(f"unknown node kind {shown(kind)}; valid kinds: {', '.join(KINDS)}")
    for value, kind, argument in ((filters.cohort, "Cohort", "filters.cohortId"),
                                  (filters.challenge, "Challenge", "filters.challengeId")):
        if value is not None and (value not in net.index or net.kind[net.index[value]] != kind):
            with blaming(argument):
                raise not_found(kind, value, (net.ids[i] for i in np.flatnonzero(net.kind == kind)),
                                actual=str(net.kind[net.index[value]]) if value in net.index else None)
    with blaming("filters.country"):
        country = country_filter(filters.country)
    with blaming("filters.region"):
        region = region_filter(filters.region, net.regions)
    with blaming("filters.partnerSector"):
        sector = sector_filter(filters.partner_sector)
    return replace(filters, country=country, region=region, partner_sector=sector)


def _linked(net: Network, members: np.ndarray) -> np.ndarray:
    """Mask of nodes linked to any of `members` (a mask)."""
    return (net.adjacency @ members.astype(np.float64)) > 0


def city_mask(net: Network, filters: ViewFilters) -> np.ndarray:
    return _cities(net, checked(net, filters))


def _cities(net: Network, filters: ViewFilters) -> np.ndarray:
    """The cities `filters` (already checked) keep."""
    mask = net.kind == "City"
    if filters.country is not None:
        mask &= net.column("country") == filters.country
    if filters.region is not None:
        mask &= net.column("region") == filters.region
    if filters.min_population is not None or filters.max_population is not None:
        population = net.column("population", float)  # NaN where unknown: outside every band
        low = filters.min_population if filters.min_population is not None else -np.inf
        high = filters.max_population if filters.max_population is not None else np.inf
        mask &= (population >= low) & (population <= high)
    if filters.cohort is not None:
        mask &= _linked(net, _one_of(net, {filters.cohort}))
    if filters.challenge is not None:
        mask &= _linked(net, _one_of(net, net.descendants(filters.challenge)))
    if filters.partner_sector is not None:
        mask &= _linked(net, _sector_reach(net, filters.partner_sector))
    if filters.community is not None:
        mask &= net.communities == filters.community
    return mask


def _sector(net: Network, sector: str) -> np.ndarray:
    return (net.kind == "Partner") & (net.column("sector") == sector)


def _sector_reach(net: Network, sector: str) -> np.ndarray:
    """The partners of `sector` and the cohorts one of them is a member of: a city linked to any of these
    works with such a partner (a partnership, or a cohort membership; cities link to cohorts only so)."""
    partners = _sector(net, sector)
    return partners | ((net.kind == "Cohort") & _linked(net, partners))


def _one_of(net: Network, ids: set[str]) -> np.ndarray:
    mask = np.zeros(len(net.ids), dtype=bool)
    mask[[net.index[i] for i in ids if i in net.index]] = True
    return mask


def slice_view(net: Network, filters: ViewFilters = ViewFilters(), *, first: int = MAX_NODES) -> View:
    """The filtered view (see the module docstring), its `first` best-connected nodes when more match."""
    return _capped(net, view_mask(net, filters), first)


def view_mask(net: Network, filters: ViewFilters) -> np.ndarray:
    """Which nodes the filtered view holds, before any cap."""
    filters = checked(net, filters)
    cities = _cities(net, filters)
    mask = cities & ("City" in filters.kinds)
    linked = _linked(net, cities) if filters.on_cities else np.ones(len(net.ids), dtype=bool)
    for kind in filters.kinds:
        if kind != "City":
            mask |= (net.kind == kind) & linked
    if filters.challenge is not None:
        mask &= (net.kind != "Challenge") | _one_of(net, net.descendants(filters.challenge))
    if filters.cohort is not None:
        mask &= (net.kind != "Cohort") | _one_of(net, {filters.cohort})
    if filters.partner_sector is not None:
        partners = _sector(net, filters.partner_sector)
        mask &= (net.kind != "Partner") | partners
        if "Partner" in filters.kinds:  # and those working with a city in view through one of its cohorts
            mask |= partners & _linked(net, (net.kind == "Cohort") & linked)
    if filters.community is not None:
        mask &= net.communities == filters.community
    return mask


def focus_view(net: Network, focus: list[str], *, hops: int = 1, kinds: tuple[str, ...] = DEFAULT_KINDS,
               first: int = MAX_NODES) -> View:
    """The focus nodes and their neighbourhood within `hops` (of `kinds`)."""
    with blaming("hops"):
        if hops not in (0, 1, 2):
            raise UsageError(f"hops {hops} is not supported; use 0 (the focus nodes alone), 1 or 2")
    checked(net, ViewFilters(kinds=kinds))
    missing = list(dict.fromkeys(i for i in focus if i not in net.index))
    if missing:  # each of them, with the closest ids of any kind (graph.suggest)
        close = {m: closest(m, net.index) for m in missing[:10]}
        hint = {m: did_you_mean(cs) for m, cs in close.items()}
        if len(missing) == 1:
            said = "; ".join(filter(None, [f"no node with id {shown(missing[0])} to focus on", hint[missing[0]]]))
        else:
            named = ", ".join(shown(m) + (f" ({hint[m]})" if hint[m] else "") for m in close)
            more = f" and {len(missing) - 10:,} more" if len(missing) > 10 else ""
            said = f"no nodes with ids {named}{more} to focus on"
        with blaming("focus"):
            raise NotFoundError(said, suggestions=dict.fromkeys(c for cs in close.values() for c in cs))
    reached = np.zeros(len(net.ids), dtype=bool)
    reached[[net.index[i] for i in focus]] = True
    start = reached.copy()
    for _ in range(hops):
        reached |= _linked(net, reached)
    mask = start | (reached & np.isin(net.kind, kinds))
    return _capped(net, mask, first)


def check_first(first: int) -> None:
    if not 0 <= first <= MAX_NODES:
        with blaming("first"):
            raise UsageError(f"first {first} is out of range; ask for 0 to {MAX_NODES:,} nodes")


def _capped(net: Network, mask: np.ndarray, first: int) -> View:
    check_first(first)
    nodes = np.flatnonzero(mask)
    total = len(nodes)
    if total > first:  # the best-connected first, ties in index order
        keep = np.argsort(-net.degree[nodes], kind="stable")[:first]
        nodes = np.sort(nodes[keep])
        mask = np.zeros(len(net.ids), dtype=bool)
        mask[nodes] = True
    edges = np.flatnonzero(mask[net.source] & mask[net.target])
    return View(nodes=nodes, edges=edges, total=total)


def overview(net: Network, filters: ViewFilters, *, by: str, positions: np.ndarray | None) -> Overview:
    """The filtered cities grouped by "country" or "community" (see the module docstring). Each group sits at
    the mean of its cities' `positions`, or with `positions=None` where `networkx.spring_layout` puts it in
    the graph of the groups' links (so the overview of a force view needs no layout of the whole network)."""
    cities = np.flatnonzero(city_mask(net, filters))
    if by == "country":
        keys = [f"country:{c}" for c in net.column("country")[cities]]
    elif by == "community":
        keys = [f"community:{net.communities[i]}" for i in cities]
    else:
        raise UsageError(f"cannot group by {by!r}; valid: country, community")
    names = sorted(set(keys))
    number = {k: g for g, k in enumerate(names)}
    rows = np.array([number[k] for k in keys], dtype=np.int64)
    member = sp.csr_array((np.ones(len(cities)), (rows, cities)), shape=(len(names), len(net.ids)))
    counts = np.asarray(member.sum(axis=1)).ravel()
    others = sp.diags_array((np.isin(net.kind, ("Challenge", "Cohort", "Partner"))).astype(np.float64))
    touches = ((member @ net.adjacency @ others) > 0).astype(np.float64)
    city_only = sp.diags_array((net.kind == "City").astype(np.float64))
    weight = (touches @ touches.T + member @ city_only @ net.adjacency @ city_only @ member.T).toarray()
    np.fill_diagonal(weight, 0)
    links: set[tuple[int, int, float]] = set()
    for g in range(len(names)):
        for h in np.argsort(-weight[g], kind="stable")[:LINKS_PER_GROUP]:
            if weight[g, h] > 0:
                a, b = sorted((g, int(h)))
                links.add((a, b, float(weight[a, b])))
    if positions is not None:
        centres = (member @ positions) / np.maximum(counts, 1)[:, None]
    else:
        links_graph = nx.Graph()
        links_graph.add_nodes_from(range(len(names)))
        links_graph.add_weighted_edges_from(links)
        laid = nx.spring_layout(links_graph, seed=0, weight="weight", scale=10 * np.sqrt(len(names)))
        centres = np.array([laid[g] for g in range(len(names))]).reshape(len(names), 2)
    groups = tuple(Group(key=k, label=k.split(":", 1)[1] if by == "country" else f"community {k.split(':')[1]}",
                         cities=int(counts[g]), position=centres[g]) for g, k in enumerate(names))
    return Overview(groups=groups, links=tuple(sorted(links)), total=len(cities))
