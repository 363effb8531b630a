"""Queries: entities by id, paginated listings, and recommendations with their evidence.

Resolvers only translate: arguments to one call into graph/ or matching/, results to GraphQL objects.
"""

from __future__ import annotations

import asyncio
from enum import Enum
from typing import Annotated

import strawberry

from graph.browse import country_filter, one_of, sector_filter
from graph.errors import UsageError, blaming, shown
from graph.model import ID_PATTERN, LEADER_ROLES, NODE_TYPES, field_types
from graph.store import Order
from graph.suggest import not_found
from matching.peers import MAX_MATCHES, check_population_band
from schema.context import Info
from schema.pages import MAX_PAGE, Connection, check_first, connection
from schema.types import Challenge, City, Cohort, Leader, Node, Partner, to_type
from schema.weights import MatchingWeights, current_weights


def check_matches(first: int) -> int:
    """A recommendation field's `first`, checked here so that the message names the argument the client sent
    (the engine names its own `k`, and recommendPeople asks it for three times as many)."""
    if not 1 <= first <= MAX_MATCHES:
        raise UsageError(f"first={first} is out of range; ask for 1 to {MAX_MATCHES} matches")
    return first


def check_role(role: str | None) -> str | None:
    """A leader role as the model spells it ("Mayor" -> "mayor"), else UsageError naming the valid roles."""
    return one_of(role, LEADER_ROLES, "leader role", "roles")


@strawberry.input(description="Which cities may be suggested as peers.")
class PeerFilters:
    country: str | None = strawberry.field(default=None, description="ISO 3166-1 alpha-2")
    region: str | None = None
    min_population: int | None = strawberry.field(
        default=None, description="Size band: cities of unknown population are left out when a band is given.")
    max_population: int | None = None
    cohort_id: strawberry.ID | None = strawberry.field(default=None, description="Only this cohort's members.")
    exclude_own_country: bool = False


@strawberry.enum(description="Fields listings can be sorted by (each kind has some of them).")
class SortField(Enum):
    ID = "id"
    NAME = "name"
    COUNTRY = "country"
    REGION = "region"
    POPULATION = "population"
    SECTOR = "sector"
    PROGRAMME = "programme"
    START = "start"
    END = "end"


@strawberry.enum
class SortDirection(Enum):
    ASC = "asc"
    DESC = "desc"


@strawberry.input(description="Sort order of a listing: by a field, ties by id, empty values last either way.")
class ListOrder:
    field: SortField = SortField.ID
    direction: SortDirection = SortDirection.ASC


def _order(kind: str, order_by: ListOrder | None) -> Order:
    """The store's order for `order_by`; a field `kind` cannot be sorted by is refused naming the SortField
    values it can (the store's own message listed fields such as latitude, which SortField does not have:
    a client could not send them, until 2026-12-07)."""
    if order_by is None:
        return Order()
    try:
        return Order(order_by.field.value, descending=order_by.direction is SortDirection.DESC).check(kind)
    except UsageError:
        fields = set(field_types(NODE_TYPES[kind]))
        valid = [f.name for f in SortField if f.value in fields]
        raise UsageError(f"cannot sort {kind} by {order_by.field.name}; valid: {', '.join(valid)}") from None


def _page(nodes: list, order: Order, has_next: bool, end_cursor: str | None, total: int) -> Connection:
    return connection([(order.cursor(n), to_type(n)) for n in nodes], has_next, total, end_cursor)


def _connection(info: Info, kind: str, first: int, after: str | None, where: dict, search: str | None,
                order_by: ListOrder | None = None) -> Connection:
    check_first(first)
    order = _order(kind, order_by)
    store = info.context.store
    page = store.list(kind, where=where, search=search, first=first, after=after, order=order)
    return _page(page.items, order, page.has_next, page.end_cursor,
                 store.count(kind, where=where, search=search))


THROUGH_KIND = {"FACES": "Challenge", "MEMBER_OF": "Cohort", "SERVES": "City"}  # what a listing filter names
SUGGEST_FROM = 10_000  # the most ids an unknown id is compared with for suggestions (an error path, kept cheap)


def _known(store, kind: str, node_id: str) -> None:
    """NotFoundError, with the closest ids, unless the store has a `kind` node `node_id`: a listing filtered
    by an unknown cohort, challenge or city said nothing but an empty page."""
    node = store.get([node_id]).get(node_id) if ID_PATTERN.match(node_id) else None
    if node is None or kind != node.KIND:
        known = [n.id for n in store.nodes(kind)] if store.count(kind) <= SUGGEST_FROM else []
        raise not_found(kind, node_id, known, actual=node.KIND if node is not None else None)


def _related_connection(info: Info, first: int, after: str | None, where: dict, search: str | None,
                        through: list[tuple[str | None, str]], order_by: ListOrder | None = None,
                        kind: str = "City") -> Connection:
    """Cities (or another `kind`) joined to given nodes (a challenge they face, a cohort they are in, the city
    a leader serves), paged in `order_by`."""
    check_first(first)
    order = _order(kind, order_by)
    store = info.context.store
    ids: set[str] | None = None
    for node_id, rel_kind in through:
        if node_id is None:
            continue
        _known(store, THROUGH_KIND[rel_kind], node_id)
        found = {r.source for r in store.neighbours([node_id], kinds=[rel_kind], direction="in")}
        ids = found if ids is None else ids & found
    cities = [c for c in store.get(ids or ()).values() if kind == c.KIND
              and all(getattr(c, k) == v for k, v in where.items() if v is not None)
              and (not search or search.lower() in c.name.lower())]
    cities.sort(key=order.key)
    beyond = order.beyond(after) if after is not None else None  # a cursor that is not one: BAD_USER_INPUT
    rest = [c for c in cities if beyond is None or beyond(c)]
    page = rest[:first]
    return _page(page, order, len(rest) > first, order.cursor(page[-1]) if page else after, len(cities))


@strawberry.type
class SignalValue:
    name: str
    value: float = strawberry.field(description="The signal itself, 0 to 1.")
    contribution: float = strawberry.field(description="weight x value; the contributions add up to the score.")


@strawberry.type
class PeerMatch:
    score: float
    city: City
    shared_challenges: list[Challenge]
    related_challenges: list[Challenge] = strawberry.field(description="Shared only through the taxonomy.")
    shared_partners: list[Partner]
    shared_cohorts: list[Cohort]
    signals: list[SignalValue] = strawberry.field(
        description="The signals that have a weight; their contributions add up to the score.")
    reason: str
    focus_challenges: list[Challenge] = strawberry.field(
        default_factory=list, description="Focused queries: the asked-about challenges the peer works on.")
    distance_km: float | None = strawberry.field(default=None, description="Great-circle distance, when known.")
    connections: int = strawberry.field(default=0, description="The peer's cohorts and partners (its popularity).")


@strawberry.type
class PartnerMatch:
    score: float
    partner: Partner
    shared_challenges: list[Challenge]
    via_cities: list[City] = strawberry.field(description="Similar cities the organisation already works with.")
    nearby_cities: list[City] = strawberry.field(description="Nearest cities it already works with.")
    shared_cohorts: list[Cohort] = strawberry.field(
        description="Cohorts the organisation is in with the city (as a programme's organiser, say).")
    signals: list[SignalValue]
    reason: str
    cohort_mates: list[City] = strawberry.field(
        default_factory=list, description="Cities sharing a cohort with the city that already work with the "
                                          "organisation, closest (most shared, smallest cohorts) first.")
    reach: int = strawberry.field(default=0, description="The cities the organisation works with (its popularity).")
    nearby_in_country: list[City] = strawberry.field(
        default_factory=list, description="Nearest cities in the city's own country it already works with.")


@strawberry.type
class PersonMatch:
    score: float = strawberry.field(description="The city's peer score times the role fit.")
    leader: Leader
    city: City = strawberry.field(description="The peer city the leader serves.")
    role_fit: float = strawberry.field(description="1 for the same role, less for related ones.")
    shared_challenges: list[Challenge] = strawberry.field(description="Faced by both leaders' cities.")
    related_challenges: list[Challenge] = strawberry.field(description="Shared only through the taxonomy.")
    shared_partners: list[Partner]
    shared_cohorts: list[Cohort]
    signals: list[SignalValue] = strawberry.field(
        description="The peer city's signals, each contribution times the role fit: they add up to the score.")
    reason: str


@strawberry.type
class CityMatch:
    score: float = strawberry.field(description="1 for facing the challenge itself, 0.5 a level for a part of it.")
    city: City
    priority: int | None
    shared_challenges: list[Challenge] = strawberry.field(
        description="The challenge itself when the city faces it, else the parts of it the city faces.")
    signals: list[SignalValue] = strawberry.field(description="One signal, challenge: the score itself.")
    reason: str


@strawberry.type
class LearningGroup:
    cities: list[City]
    shared_challenges: list[Challenge]
    affinity: float


@strawberry.type
class CohortGrouping:
    groups: list[LearningGroup]
    objective: float
    random_objective: float = strawberry.field(description="Mean objective of random partitions, same sizes.")


async def _of_kind(info: Info, node_id: str, kind: str) -> Node | None:
    node = await info.context.loaders.node.load(node_id)
    return to_type(node) if node is not None and kind == node.KIND else None


def _all(items) -> list:
    return [to_type(i) for i in items]


def pairs(items: list[list[strawberry.ID]] | None, what: str) -> list[tuple[str, str]]:
    """mustPair / cannotPair arguments as (city, city) tuples: two different cities each, as the CLI's --must-pair
    and --cannot-pair take them."""
    for pair in items or []:
        if len(pair) != 2:
            raise UsageError(f"{what} takes pairs of two city ids, got [{shown(pair)}]")
        if pair[0] == pair[1]:
            raise UsageError(f"{what} [{shown(pair)}] pairs a city with itself; give two different city ids")
    return [(a, b) for a, b in items or []]


def _signals(signals) -> list[SignalValue]:
    return [SignalValue(name=s.name, value=s.value, contribution=s.contribution) for s in signals]


@strawberry.type
class Query:
    @strawberry.field(description="The store's data version: grows with every committed change.")
    def data_version(self, info: Info) -> int:
        return info.context.store.version()

    @strawberry.field(description="Any node by id.")
    async def node(self, info: Info, id: strawberry.ID) -> Node | None:
        return to_type(await info.context.loaders.node.load(id))

    @strawberry.field
    async def city(self, info: Info, id: strawberry.ID) -> City | None:
        return await _of_kind(info, id, "City")  # type: ignore[return-value]

    @strawberry.field
    async def challenge(self, info: Info, id: strawberry.ID) -> Challenge | None:
        return await _of_kind(info, id, "Challenge")  # type: ignore[return-value]

    @strawberry.field
    async def cohort(self, info: Info, id: strawberry.ID) -> Cohort | None:
        return await _of_kind(info, id, "Cohort")  # type: ignore[return-value]

    @strawberry.field
    async def leader(self, info: Info, id: strawberry.ID) -> Leader | None:
        return await _of_kind(info, id, "Leader")  # type: ignore[return-value]

    @strawberry.field(description=f"Cities, filtered and sorted (orderBy; default by id); at most {MAX_PAGE} per "
                                  "page. challengeId: cities facing it; cohortId: member cities.")
    def cities(self, info: Info, first: int = 20, after: str | None = None, country: str | None = None,
               region: str | None = None, search: str | None = None, challenge_id: strawberry.ID | None = None,
               cohort_id: strawberry.ID | None = None, order_by: ListOrder | None = None) -> Connection[City]:
        where = {"country": country_filter(country), "region": info.context.engine.region(region)}
        if challenge_id is None and cohort_id is None:
            return _connection(info, "City", first, after, where, search, order_by)
        return _related_connection(info, first, after, where, search,
                                   [(challenge_id, "FACES"), (cohort_id, "MEMBER_OF")], order_by)

    @strawberry.field
    def challenges(self, info: Info, first: int = 20, after: str | None = None, search: str | None = None,
                   order_by: ListOrder | None = None) -> Connection[Challenge]:
        return _connection(info, "Challenge", first, after, {}, search, order_by)

    @strawberry.field
    def partners(self, info: Info, first: int = 20, after: str | None = None, sector: str | None = None,
                 country: str | None = None, search: str | None = None,
                 order_by: ListOrder | None = None) -> Connection[Partner]:
        where = {"sector": sector_filter(sector), "country": country_filter(country)}
        return _connection(info, "Partner", first, after, where, search, order_by)

    @strawberry.field
    def cohorts(self, info: Info, first: int = 20, after: str | None = None, search: str | None = None,
                order_by: ListOrder | None = None) -> Connection[Cohort]:
        return _connection(info, "Cohort", first, after, {}, search, order_by)

    @strawberry.field(description="The signal weights recommendations use, and where they came from.")
    def matching_weights(self, info: Info) -> MatchingWeights:
        return current_weights(info.context.engine)

    @strawberry.field(description=f"Leaders, filtered and sorted (orderBy; default by id); at most {MAX_PAGE} per "
                                  f"page. role: one of {', '.join(LEADER_ROLES)}; cityId: leaders serving the city.")
    def leaders(self, info: Info, first: int = 20, after: str | None = None, role: str | None = None,
                search: str | None = None, city_id: strawberry.ID | None = None,
                order_by: ListOrder | None = None) -> Connection[Leader]:
        where = {"role": check_role(role)}
        if city_id is None:
            return _connection(info, "Leader", first, after, {k: v for k, v in where.items() if v}, search, order_by)
        return _related_connection(info, first, after, where, search, [(city_id, "SERVES")], order_by, kind="Leader")

    @strawberry.field(description="Peer cities that share the city's challenges, cohorts and partners.")
    def recommend_peers(self, info: Info, city_id: strawberry.ID, first: int = 10,
                        challenge_ids: Annotated[list[strawberry.ID] | None, strawberry.argument(
                            description="Focus on these challenges: peers working on them, ranked by closeness to "
                                        "the city (only those, unless matchingWeights.strictFocus is false: then "
                                        "others too, whose reason says they have not listed them)")] = None,
                        filters: PeerFilters | None = None, exclude_known: bool = False, diversify: float = 0.0,
                        themes_of_cohort: Annotated[strawberry.ID | None, strawberry.argument(
                            description="Focus on this cohort's themes (as challengeIds would)")] = None,
                        country: Annotated[str | None, strawberry.argument(
                            deprecation_reason="use filters: {country}")] = None,
                        region: Annotated[str | None, strawberry.argument(
                            deprecation_reason="use filters: {region}")] = None,
                        exclude_own_country: Annotated[bool, strawberry.argument(
                            deprecation_reason="use filters: {excludeOwnCountry}")] = False) -> list[PeerMatch]:
        f = filters or PeerFilters()
        check_population_band(f.min_population, f.max_population, ("minPopulation", "maxPopulation"))
        if challenge_ids is not None and not challenge_ids:  # answered [] in silence until 2026-12-07
            with blaming("challengeIds"):
                raise UsageError("challengeIds is an empty list: give one or more challenge ids to focus on, or "
                                 "leave challengeIds out for peers on every challenge")
        matches = info.context.engine.peers(
            city_id, k=check_matches(first), challenges=challenge_ids, country=f.country or country,
            region=f.region or region,
            exclude_known=exclude_known, exclude_own_country=f.exclude_own_country or exclude_own_country,
            min_population=f.min_population, max_population=f.max_population, cohort=f.cohort_id,
            diversify=diversify, cohort_themes=themes_of_cohort)
        return [PeerMatch(score=m.score, city=to_type(m.city), shared_challenges=_all(m.shared_challenges),
                          related_challenges=_all(m.related_challenges), shared_partners=_all(m.shared_partners),
                          shared_cohorts=_all(m.shared_cohorts), signals=_signals(m.signals), reason=m.reason,
                          focus_challenges=_all(m.focus_challenges), distance_km=m.distance_km,
                          connections=m.connections)
                for m in matches]

    @strawberry.field(description="Partner organisations for a city: on its challenges, and with its peers. Without "
                      "challengeId, a list short of `first` goes on with the best-connected organisations left, "
                      "scoring 0 and saying so.")
    def recommend_partners(self, info: Info, city_id: strawberry.ID, challenge_id: strawberry.ID | None = None,
                           sector: str | None = None, country: str | None = None,
                           first: int = 10) -> list[PartnerMatch]:
        matches = info.context.engine.partners(city_id, k=check_matches(first), challenge=challenge_id, sector=sector,
                                               country=country)
        return [PartnerMatch(score=m.score, partner=to_type(m.partner), shared_challenges=_all(m.shared_challenges),
                             via_cities=_all(m.via_cities), nearby_cities=_all(m.nearby_cities),
                             shared_cohorts=_all(m.shared_cohorts), cohort_mates=_all(m.cohort_mates),
                             reach=m.reach, nearby_in_country=_all(m.nearby_in_country), signals=_signals(m.signals),
                             reason=m.reason) for m in matches]

    @strawberry.field(description="Leaders to meet in the leader's peer cities, same role first.")
    def recommend_people(self, info: Info, leader_id: strawberry.ID, first: int = 10) -> list[PersonMatch]:
        return [PersonMatch(score=m.score, leader=to_type(m.leader), city=to_type(m.city), role_fit=m.role_fit,
                            shared_challenges=_all(m.peer.shared_challenges),
                            related_challenges=_all(m.peer.related_challenges),
                            shared_partners=_all(m.peer.shared_partners), shared_cohorts=_all(m.peer.shared_cohorts),
                            signals=_signals(m.signals), reason=m.reason)
                for m in info.context.engine.people(leader_id, k=check_matches(first))]

    @strawberry.field(description="Cities working on a challenge (directly, then through sub-challenges).")
    def cities_for_challenge(self, info: Info, challenge_id: strawberry.ID, first: int = 10) -> list[CityMatch]:
        return [CityMatch(score=m.score, city=to_type(m.city), priority=m.priority,
                          shared_challenges=_all(m.challenges),
                          signals=_signals(m.signals), reason=m.reason)
                for m in info.context.engine.cities_for_challenge(challenge_id, k=check_matches(first))]

    @strawberry.field(description="A cohort's cities in learning groups that share the most challenges.")
    async def cohort_groups(self, info: Info, cohort_id: strawberry.ID, min_size: int = 4, max_size: int = 6,
                            min_countries: int = 1, must_pair: list[list[strawberry.ID]] | None = None,
                            cannot_pair: list[list[strawberry.ID]] | None = None, seed: int = 0) -> CohortGrouping:
        # Local search over many restarts: in a worker thread, so the request deadline can abandon it.
        grouping = await asyncio.to_thread(
            info.context.engine.groups, cohort_id, min_size=min_size, max_size=max_size, min_countries=min_countries,
            must_pair=pairs(must_pair, "mustPair"), cannot_pair=pairs(cannot_pair, "cannotPair"), seed=seed)
        return CohortGrouping(groups=[LearningGroup(cities=_all(g.cities), shared_challenges=_all(g.shared_challenges),
                                                    affinity=g.affinity) for g in grouping.groups],
                              objective=grouping.objective, random_objective=grouping.random_objective)
