"""`cohortReport`: a cohort's matching report (the figures and lists of report.json) without the files.

The resolver translates: arguments to `reports.params.Parameters`, one call to `reports.build.cohort_report`
(in a worker thread: it runs the group search, so the request deadline can abandon it), and the report's
data to GraphQL objects, with each id as the node it names.
"""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

import strawberry

from graph.cancel import checkpoint
from reports.build import cohort_report
from reports.params import Parameters, exposure_cap
from schema.context import Info
from schema.pages import Connection, connection, id_page
from schema.queries import PartnerMatch, PeerMatch, PersonMatch, SignalValue, pairs
from schema.types import PAGE_ARGS, Challenge, City, Cohort, to_type


@strawberry.type
class ExposureBin:
    times: int = strawberry.field(description="Suggested this many times ...")
    cities: int = strawberry.field(description="... this many cities.")


@strawberry.type
class CityCount:
    city: City
    times: int


@strawberry.type(description="A suggestion that took a city past the exposure cap, and why it had to.")
class CapBreak:
    city: City = strawberry.field(description="The city whose list needed it.")
    peer: City = strawberry.field(description="The city suggested beyond the cap.")
    exposure: int = strawberry.field(description="Lists the peer was already in.")
    candidates: int
    below_cap: int = strawberry.field(description="Candidates still below the cap when the city's turn came.")
    reason: str


@strawberry.type
class ShortList:
    city: City
    got: int
    why: str


@strawberry.type
class Coverage:
    k: int
    complete: bool = strawberry.field(description="Every city got k suggestions.")
    short: list[ShortList]


@strawberry.type
class Exposure:
    gini: float = strawberry.field(description="Of how often each city is suggested: 0 when all equally often.")
    gini_uncapped: float = strawberry.field(description="The same for the plain top-k lists, without the cap.")
    histogram: list[ExposureBin]
    most_suggested: list[CityCount]
    max: int
    cap: int | None
    cap_held: bool
    over_cap: list[CityCount]
    cap_breaks: list[CapBreak]


@strawberry.type
class GroupsAgainstRandom:
    objective: float
    random_mean: float
    random: list[float] = strawberry.field(description="Each random grouping's objective (same sizes and seed).")
    ratio: float | None
    beats_random: int = strawberry.field(description="How many of the random groupings these groups beat.")


@strawberry.type
class ReportGroup:
    number: int
    cities: list[City]
    countries: list[str]
    shared_challenges: list[Challenge]
    affinity: float


@strawberry.type
class ReportCity:
    city: City
    challenges: list[Challenge]
    peers: list[PeerMatch]
    partners: list[PartnerMatch]
    people: list[PersonMatch] = strawberry.field(description="For each leader of the city, the people to meet.")
    group: int | None


@strawberry.type
class MethodSignal:
    name: str
    weight: float
    meaning: str


@strawberry.type
class ReportParameters:
    k: int
    min_size: int
    max_size: int
    min_countries: int
    must_pair: list[list[strawberry.ID]]
    cannot_pair: list[list[strawberry.ID]]
    max_exposure: int | None
    seed: int
    partners: int
    people: int


@strawberry.type(description="A cohort's matching report: what `citypeers report cohort` writes to report.json.")
class CohortReport:
    cohort: Cohort
    data_version: int
    inputs_sha256: str = strawberry.field(description="Content hash of every node and relationship it used, and of "
                                                      "the tuned signal weights when they are in use.")
    parameters: ReportParameters
    cities_count: int
    countries_count: int
    suggestions: int
    coverage: Coverage
    exposure: Exposure
    groups_against_random: GroupsAgainstRandom
    groups: list[ReportGroup]
    all_cities: strawberry.Private[dict[str, ReportCity]]
    peer_signals: list[MethodSignal]
    partner_signals: list[MethodSignal]
    weights_source: str

    @strawberry.field(description=f"The cities' sections, by id ({PAGE_ARGS}).")
    def cities(self, first: int = 20, after: str | None = None) -> Connection[ReportCity]:
        ids, more = id_page(sorted(self.all_cities), first, after)
        return connection([(i, self.all_cities[i]) for i in ids], more, len(self.all_cities), ids[-1] if ids else after)


def _signals(items: list[dict[str, Any]]) -> list[SignalValue]:
    return [SignalValue(**s) for s in items]


class _Translate:
    """The report's ids as GraphQL nodes of the snapshot it was made from."""

    def __init__(self, fitted) -> None:
        self.nodes = {n.id: n for kind in fitted.projection.nodes.values() for n in kind}

    def node(self, ref: dict[str, Any] | str):
        return to_type(self.nodes[ref if isinstance(ref, str) else ref["id"]])

    def all(self, refs: list) -> list:
        return [self.node(r) for r in refs]

    def peer(self, p: dict[str, Any]) -> PeerMatch:
        return PeerMatch(score=p["score"], city=self.node(p), shared_challenges=self.all(p["shared_challenges"]),
                         related_challenges=self.all(p["related_challenges"]),
                         shared_partners=self.all(p["shared_partners"]), shared_cohorts=self.all(p["shared_cohorts"]),
                         signals=_signals(p["signals"]), reason=p["reason"])

    def partner(self, p: dict[str, Any]) -> PartnerMatch:
        return PartnerMatch(score=p["score"], partner=self.node(p), shared_challenges=self.all(p["shared_challenges"]),
                            via_cities=self.all(p["via_cities"]), nearby_cities=self.all(p["nearby_cities"]),
                            shared_cohorts=self.all(p["shared_cohorts"]), signals=_signals(p["signals"]),
                            reason=p["reason"], cohort_mates=self.all(p.get("cohort_mates", [])),
                            reach=p.get("reach", 0),  # reports written before 2026-12-06 have neither
                            nearby_in_country=self.all(p.get("nearby_in_country", [])))  # nor, before 12-07, this

    def person(self, p: dict[str, Any]) -> PersonMatch:
        return PersonMatch(score=p["score"], leader=self.node(p), city=self.node(p["city"]), role_fit=p["role_fit"],
                           shared_challenges=self.all(p["shared_challenges"]),
                           related_challenges=self.all(p["related_challenges"]),
                           shared_partners=self.all(p["shared_partners"]), shared_cohorts=self.all(p["shared_cohorts"]),
                           signals=_signals(p["signals"]), reason=p["reason"])

    def counts(self, items: list[dict[str, Any]]) -> list[CityCount]:
        return [CityCount(city=self.node(c), times=c["times"]) for c in items]

    def report(self, r: dict[str, Any]) -> CohortReport:
        s, e = r["summary"], r["summary"]["exposure"]
        exposure = Exposure(
            gini=e["gini"], gini_uncapped=e["gini_uncapped"], histogram=[ExposureBin(**h) for h in e["histogram"]],
            most_suggested=self.counts(e["most_suggested"]), max=e["max"], cap=e["cap"], cap_held=e["cap_held"],
            over_cap=self.counts(e["over_cap"]),
            cap_breaks=[CapBreak(city=self.node(b["city"]), peer=self.node(b["peer"]), exposure=b["exposure"],
                                 candidates=b["candidates"], below_cap=b["below_cap"], reason=b["reason"])
                        for b in e["cap_breaks"]])
        coverage = Coverage(k=s["coverage"]["k"], complete=s["coverage"]["complete"],
                            short=[ShortList(city=self.node(c), got=c["got"], why=c["why"])
                                   for c in s["coverage"]["short"]])
        cities = {c["id"]: ReportCity(city=self.node(c), challenges=self.all(c["challenges"]),
                                      peers=[self.peer(p) for p in c["peers"]],
                                      partners=[self.partner(p) for p in c["partners"]],
                                      people=[self.person(p) for p in c["people"]], group=c["group"])
                  for c in r["cities"]}
        groups = [ReportGroup(number=g["number"], cities=self.all(g["cities"]), countries=g["countries"],
                              shared_challenges=self.all(g["shared_challenges"]), affinity=g["affinity"])
                  for g in r["groups"]]
        method = r["method"]
        return CohortReport(
            cohort=self.node(r["cohort"]), data_version=r["data_version"], inputs_sha256=r["inputs_sha256"],
            parameters=ReportParameters(**r["parameters"]), cities_count=r["counts"]["cities"],
            countries_count=r["counts"]["countries"], suggestions=s["suggestions"], coverage=coverage,
            exposure=exposure, groups_against_random=GroupsAgainstRandom(**s["groups"]), groups=groups,
            all_cities=cities, peer_signals=[MethodSignal(**m) for m in method["peer_signals"]],
            partner_signals=[MethodSignal(**m) for m in method["partner_signals"]],
            weights_source=method["weights_source"])


@strawberry.type
class ReportQuery:
    @strawberry.field(description="A cohort's matching report: peers within the cohort (exposure-capped), partners, "
                                  "people, learning groups, exposure and coverage; as `citypeers report cohort`.")
    async def cohort_report(self, info: Info, cohort_id: strawberry.ID, k: int = 5, min_size: int = 4,
                            max_size: int = 6, min_countries: int = 1,
                            must_pair: list[list[strawberry.ID]] | None = None,
                            cannot_pair: list[list[strawberry.ID]] | None = None,
                            max_exposure: Annotated[int | None, strawberry.argument(
                                description="Default 2 x k; see noCap.")] = None,
                            no_cap: bool = False, seed: int = 0, partners: int = 3, people: int = 3) -> CohortReport:
        params = Parameters(k=k, min_size=min_size, max_size=max_size, min_countries=min_countries,
                            must_pair=tuple(pairs(must_pair, "mustPair")),
                            cannot_pair=tuple(pairs(cannot_pair, "cannotPair")),
                            max_exposure=exposure_cap(k, max_exposure, no_cap, names=("maxExposure", "noCap")),
                            seed=seed, partners=partners, people=people)
        fitted = info.context.engine.current()
        # each city done is a checkpoint: a request abandoned past its deadline stops there (graph/cancel.py)
        report = await asyncio.to_thread(cohort_report, fitted, cohort_id, params, progress=lambda _done: checkpoint())
        return _Translate(fitted).report(report)
