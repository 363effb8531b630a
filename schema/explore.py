"""The explorer's API fields: `networkView` (a slice of the graph with positions and communities, in one
request) and `scoreGrouping` (a hand-edited grouping scored as `cohortGroups` scores its own).

Resolvers translate: arguments into graph.views / matching.groups calls, results into the types below.
Layouts and communities are computed once per data version (graph/network.py); docs/explorer.md has the
semantics of every argument.
"""

from __future__ import annotations

import asyncio
from enum import Enum

import numpy as np
import strawberry

from graph.cancel import checkpoint
from graph.errors import blaming
from graph.network import Network
from graph.views import (
    DEFAULT_KINDS,
    MAX_NODES,
    ViewFilters,
    check_first,
    focus_view,
    overview,
    slice_view,
    view_mask,
)
from matching.peers import check_population_band
from schema.context import Info
from schema.queries import LearningGroup, _all, pairs


@strawberry.enum(description="Where nodes are drawn: GEO from the cities' coordinates (longitude, Web Mercator "
                             "latitude, north up), FORCE from a force layout of the whole network.")
class ViewLayout(Enum):
    GEO = "geo"
    FORCE = "force"


@strawberry.enum(description="What an overview's nodes are: the cities of one country, or of one community.")
class ViewGrouping(Enum):
    COUNTRY = "country"
    COMMUNITY = "community"


@strawberry.input(description="Which part of the network a view shows: cities passing every filter given, and "
                              "the nodes of the other kinds linked to them.")
class NetworkFilters:
    kinds: list[str] | None = strawberry.field(
        default=None, description=f"Node kinds to show (default {', '.join(DEFAULT_KINDS)}; Leader too on request).")
    country: str | None = strawberry.field(default=None, description="ISO 3166-1 alpha-2")
    region: str | None = None
    min_population: int | None = strawberry.field(
        default=None, description="Population band; cities of unknown population are left out when one is given.")
    max_population: int | None = None
    cohort_id: strawberry.ID | None = strawberry.field(default=None, description="Member cities of this cohort.")
    challenge_id: strawberry.ID | None = strawberry.field(
        default=None, description="Cities facing this challenge or one of its sub-challenges.")
    partner_sector: str | None = strawberry.field(
        default=None, description="Cities working with a partner of this sector (business, nonprofit, university, "
                                  "philanthropy, public-agency, network), directly or through a cohort both are "
                                  "members of; the view's partners: that sector's, working with a city in view.")
    community: int | None = strawberry.field(default=None, description="Nodes of this community (see ViewNode).")


@strawberry.type(description="A node as drawn: a City, Challenge, Cohort, Partner or Leader, or in an overview a "
                             "Country or Community standing for `size` cities.")
class ViewNode:
    id: strawberry.ID
    kind: str
    label: str
    x: float
    y: float
    size: int = strawberry.field(description="Cities an overview node stands for; 1 for any other node.")
    degree: int = strawberry.field(description="Relationships of the node in the whole network.")
    community: int | None = strawberry.field(
        description="Louvain community (seed 0) over the whole network but leaders (a leader takes its city's), 0 "
                    "the largest; computed once per data version, when first selected.")
    country: str | None
    region: str | None
    population: int | None
    sector: str | None
    main_cohort: strawberry.ID | None = strawberry.field(description="A city's latest cohort (by year).")
    main_challenge: strawberry.ID | None = strawberry.field(
        description="The top-level challenge of a city's highest-priority challenge.")


@strawberry.type
class ViewEdge:
    source: strawberry.ID
    target: strawberry.ID
    kind: str = strawberry.field(description="The relationship kind (FACES, MEMBER_OF, ...), or LINK in an overview.")
    weight: float = strawberry.field(description="FACES: 6 - priority (priority 1 weighs 5); overview links: what "
                                                 "the two groups share; otherwise 1.")


@strawberry.type
class NetworkView:
    nodes: list[ViewNode]
    edges: list[ViewEdge]
    edge_index: list[int] = strawberry.field(
        description="The same relationships as edges, compactly for large views: a flat list of triples (position "
                    "of the source in nodes, of the target, of the kind in edgeKinds); ~9x smaller than edges.")
    edge_kinds: list[str]
    total_count: int = strawberry.field(description="Nodes that matched (in an overview: the cities grouped).")
    hidden_count: int = strawberry.field(description="Matching nodes not in `nodes` (in an overview: every matching "
                                                     "node, of every kind).")
    grouped_by: ViewGrouping | None = strawberry.field(
        description="Set when more nodes matched than `first` and the view is an overview of them instead.")
    data_version: int


@strawberry.type
class GroupViolation:
    constraint: str = strawberry.field(description="size, countries, must-pair or cannot-pair")
    message: str
    group: int | None = strawberry.field(description="0-based index of the group it is about, if one.")
    city_ids: list[strawberry.ID]


@strawberry.type
class GroupingScore:
    groups: list[LearningGroup]
    objective: float = strawberry.field(description="As cohortGroups' objective: shared-challenge affinity within "
                                                    "groups, summed.")
    violations: list[GroupViolation]


def _filters(given: NetworkFilters | None) -> ViewFilters:
    f = given or NetworkFilters()
    # checked as recommendPeers checks them (a band below 0 or upside down was answered, matching nothing, until
    # 2026-12-07)
    with blaming("filters.minPopulation" if (f.min_population or 0) < 0 else "filters.maxPopulation"):
        check_population_band(f.min_population, f.max_population, ("minPopulation", "maxPopulation"))
    return ViewFilters(kinds=tuple(f.kinds) if f.kinds is not None else DEFAULT_KINDS, country=f.country,
                       region=f.region, min_population=f.min_population, max_population=f.max_population,
                       cohort=f.cohort_id, challenge=f.challenge_id, partner_sector=f.partner_sector,
                       community=f.community)


def _nodes(net: Network, nodes: np.ndarray, positions: np.ndarray, communities: bool) -> list[ViewNode]:
    xy = positions[nodes].round(3).tolist()  # plain floats for the plain-data executor
    community = net.communities[nodes].tolist() if communities else [None] * len(nodes)
    degree = net.degree[nodes].tolist()
    cohorts, challenges = net.main_cohort, net.main_challenge
    out = []
    for k, i in enumerate(nodes.tolist()):
        node = net.nodes[i]
        c = community[k]
        out.append(ViewNode(id=node.id, kind=node.KIND, label=node.name, x=xy[k][0], y=xy[k][1], size=1,
                            degree=degree[k], community=c if c is None or c >= 0 else None,
                            country=getattr(node, "country", None), region=getattr(node, "region", None),
                            population=getattr(node, "population", None), sector=getattr(node, "sector", None),
                            main_cohort=cohorts.get(node.id), main_challenge=challenges.get(node.id)))
    return out


def _wants(info: Info, field: str, name: str) -> bool:
    """Whether the query selects `field { name }` (or `field` itself when name == field)."""
    for selected in info.selected_fields:
        for sub in selected.selections:
            if getattr(sub, "name", None) == field:
                return name == field or any(getattr(s, "name", None) == name for s in sub.selections)
    return False


def network_view(info: Info, filters: NetworkFilters | None, focus: list[strawberry.ID] | None, hops: int,
                 first: int, layout: ViewLayout, aggregate_by: ViewGrouping | None) -> NetworkView:
    check_first(first)
    checkpoint()  # an alias queued behind others past the request's deadline does not start (graph/cancel.py)
    net = info.context.engine.network()
    view_filters = _filters(filters)
    if not focus and aggregate_by is not None and (total := int(view_mask(net, view_filters).sum())) > first:
        groups = overview(net, view_filters, by=aggregate_by.value,
                          positions=net.geo if layout is ViewLayout.GEO else None)
        nodes = [ViewNode(id=g.key, kind=aggregate_by.value.title(), label=g.label, x=float(g.position[0]),
                          y=float(g.position[1]), size=g.cities, degree=0, community=None, country=None,
                          region=None, population=None, sector=None, main_cohort=None, main_challenge=None)
                 for g in groups.groups]
        edges = [ViewEdge(source=groups.groups[a].key, target=groups.groups[b].key, kind="LINK", weight=w)
                 for a, b, w in groups.links]
        return NetworkView(nodes=nodes, edges=edges, edge_index=_compact(nodes, edges), edge_kinds=["LINK"],
                           total_count=groups.total, hidden_count=total, grouped_by=aggregate_by,
                           data_version=net.version)
    view = (focus_view(net, list(focus), hops=hops, kinds=view_filters.kinds, first=first) if focus
            else slice_view(net, view_filters, first=first))
    checkpoint()
    positions = net.geo if layout is ViewLayout.GEO else net.force
    ids = net.ids
    edges = []
    if _wants(info, "edges", "edges"):
        edges = [ViewEdge(source=ids[s], target=ids[t], kind=k, weight=w) for s, t, k, w in
                 zip(net.source[view.edges].tolist(), net.target[view.edges].tolist(),
                     net.edge_kind[view.edges].tolist(), net.weight[view.edges].tolist(), strict=True)]
    kinds = sorted(set(net.edge_kind[view.edges].tolist()))
    position = np.full(len(ids), -1, dtype=np.int64)
    position[view.nodes] = np.arange(len(view.nodes))
    kind_number = np.array([kinds.index(k) for k in net.edge_kind[view.edges]], dtype=np.int64)
    triples = np.column_stack([position[net.source[view.edges]], position[net.target[view.edges]], kind_number])
    communities = _wants(info, "nodes", "community") or view_filters.community is not None
    return NetworkView(nodes=_nodes(net, view.nodes, positions, communities), edges=edges,
                       edge_index=triples.ravel().tolist(), edge_kinds=kinds, total_count=view.total,
                       hidden_count=view.total - len(view.nodes), grouped_by=None, data_version=net.version)


def _compact(nodes: list[ViewNode], edges: list[ViewEdge]) -> list[int]:
    position = {n.id: k for k, n in enumerate(nodes)}
    return [v for e in edges for v in (position[e.source], position[e.target], 0)]


@strawberry.type
class ExploreQuery:
    @strawberry.field(description=f"A slice of the network to draw, in one request: nodes with positions and "
                                  f"attributes, and every relationship between them. With focus: those nodes and "
                                  f"their neighbours within hops (0, 1 or 2). When more than first (at most "
                                  f"{MAX_NODES:,}) match: an overview grouped by aggregateBy, or with aggregateBy "
                                  f"null the first best-connected.")
    async def network_view(self, info: Info, filters: NetworkFilters | None = None,
                           focus: list[strawberry.ID] | None = None, hops: int = 1, first: int = 5_000,
                           layout: ViewLayout = ViewLayout.GEO,
                           aggregate_by: ViewGrouping | None = ViewGrouping.COUNTRY) -> NetworkView:
        # layouts and communities can take seconds on a new data version: off the event loop
        return await asyncio.to_thread(network_view, info, filters, focus, hops, first, layout, aggregate_by)

    @strawberry.field(description="Score a grouping of a cohort's cities given by hand (cohortGroups' result, "
                                  "edited) with the same objective as cohortGroups, and list the constraints it "
                                  "breaks.")
    def score_grouping(self, info: Info, cohort_id: strawberry.ID, groups: list[list[strawberry.ID]],
                       min_size: int = 4, max_size: int = 6, min_countries: int = 1,
                       must_pair: list[list[strawberry.ID]] | None = None,
                       cannot_pair: list[list[strawberry.ID]] | None = None) -> GroupingScore:
        score = info.context.engine.score_grouping(
            cohort_id, [list(g) for g in groups], min_size=min_size, max_size=max_size, min_countries=min_countries,
            must_pair=pairs(must_pair, "mustPair"), cannot_pair=pairs(cannot_pair, "cannotPair"))
        return GroupingScore(groups=[LearningGroup(cities=_all(g.cities), shared_challenges=_all(g.shared_challenges),
                                                   affinity=g.affinity) for g in score.groups],
                             objective=score.objective,
                             violations=[GroupViolation(constraint=v.constraint, message=v.message, group=v.group,
                                                        city_ids=list(v.cities)) for v in score.violations])
