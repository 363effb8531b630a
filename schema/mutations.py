"""Writes. Expected failures come back as union members (ValidationError with field-level problems,
NotFoundError), not as errors; every write needs an editor token (schema.permissions). A committed write
bumps the data version, so the next recommendation (in any process) reflects it.

An upsert of a node that exists updates it: the fields its input leaves out keep their stored values (an
editor's upsertLeader used to erase the admin-only contact it cannot even read, and an upsertCity with a
name and country erased the population and coordinates); a field sent as null is cleared (the optional
input fields default to UNSET, not None, to tell the two apart). An import replaces whole nodes, except a
leader's contact when the caller is not an admin."""

from __future__ import annotations

import dataclasses
import tempfile
from pathlib import Path
from typing import Annotated

import strawberry

from graph.bundle import ends_only, import_bundle
from graph.errors import SHOWN, Problem, preview, shown, written_briefly
from graph.errors import ValidationError as ModelValidationError
from graph.model import ID_PATTERN, RELATIONSHIP_TYPES, parse_node, parse_relationship
from graph.store import end_problems
from graph.suggest import closest, did_you_mean, not_found
from graph.tokens import allows
from schema.context import Info
from schema.permissions import IsAdminToTune, IsEditor
from schema.types import Challenge, City, Cohort, Leader, Partner, to_type
from schema.weights import MatchingWeights, tune_now


@strawberry.type
class FieldProblem:
    field: str
    value: str | None
    message: str
    where: str | None = strawberry.field(default=None, description="file:row or the item, when known")


@strawberry.type
class ValidationError:
    message: str
    problems: list[FieldProblem]
    total: int = strawberry.field(description="How many problems were found: `problems` lists the first of them "
                                              "(200 at most, for a bundle).")


@strawberry.type
class NotFoundError:
    message: str
    id: str


@strawberry.type
class Deleted:
    id: str
    changed: int = strawberry.field(description="Nodes and relationships removed.")


@strawberry.type(description="The relationship a link, unlink, dismissMatch or markMet wrote or removed (unlink "
                               "answers this type too: `changed` says whether it was removed).")
class Linked:
    kind: str
    source: str
    target: str
    changed: int = strawberry.field(description="Relationships written or removed: 0 when it was already so.")


@strawberry.type
class KindCount:
    kind: str
    count: int


@strawberry.type
class Imported:
    counts: list[KindCount] = strawberry.field(description="The bundle's rows by kind (a dry run's too).")
    changed: int = strawberry.field(description="Nodes and relationships written that differ from what was "
                                                "stored; 0 on a dry run, which writes nothing (see counts).")
    version: int = strawberry.field(description="The store's data version after the import.")
    dry_run: bool


def _invalid(exc: ModelValidationError) -> ValidationError:
    return ValidationError(message=str(exc), total=exc.total, problems=[
        FieldProblem(field=p.field, value=None if p.value is None else written_briefly(p.value, SHOWN),
                     message=p.message, where=p.where or None) for p in exc.problems])


@strawberry.input
class CityInput:
    id: strawberry.ID
    name: str
    country: str
    region: str | None = strawberry.UNSET
    population: int | None = strawberry.UNSET
    latitude: float | None = strawberry.UNSET
    longitude: float | None = strawberry.UNSET
    geonames_id: int | None = strawberry.UNSET


@strawberry.input
class ChallengeInput:
    id: strawberry.ID
    name: str
    description: str | None = strawberry.UNSET


@strawberry.input
class PartnerInput:
    id: strawberry.ID
    name: str
    sector: str
    country: str | None = strawberry.UNSET
    website: str | None = strawberry.UNSET


@strawberry.input
class CohortInput:
    id: strawberry.ID
    name: str
    programme: str
    start: str | None = strawberry.UNSET
    end: str | None = strawberry.UNSET
    description: str | None = strawberry.UNSET


@strawberry.input
class LeaderInput:
    id: strawberry.ID
    name: str
    role: str
    title: str | None = strawberry.UNSET
    contact: str | None = strawberry.UNSET


@strawberry.input(description="One relationship; give the properties its kind has (FACES: priority, since, note).")
class RelationshipInput:
    kind: str
    source: strawberry.ID
    target: strawberry.ID
    priority: int | None = None
    since: int | None = None
    note: str | None = None
    role: str | None = None
    year: int | None = None
    project: str | None = None
    origin: str | None = None


PRIVATE = ("contact",)  # fields only admins may read (schema.types.Leader): an editor's import keeps them
UPSERT = ("Create a {0} or update one by id: fields left out keep their stored values; a field sent as null "
          "is cleared.")


def _upsert(info: Info, kind: str, data: object) -> object:
    """Create the node, or update the stored one of the same kind with the fields the input gives (null: clear
    it; left out: keep it)."""
    given = {f.name: getattr(data, f.name) for f in dataclasses.fields(data)  # type: ignore[arg-type]
             if getattr(data, f.name) is not strawberry.UNSET}
    stored = info.context.store.get([given["id"]]).get(given["id"]) if ID_PATTERN.match(given["id"]) else None
    record = {**stored.record(), **given} if stored is not None and kind == stored.KIND else given
    try:
        node = parse_node(kind, record)
        info.context.store.upsert([node])
    except ModelValidationError as exc:
        return _invalid(exc)
    return to_type(node)


def _feedback(info: Info, kind: str, record: dict) -> object:
    """Write one relationship (link, markMet, dismissMatch), or say every problem at once: its fields' and,
    when its ends parse, theirs (a missing end also had to wait for the fields to be fixed), a missing end
    with the closest ids of the kinds it may have."""
    try:
        rel = parse_relationship(kind, record)  # inside: bad ids answer as the union's ValidationError
    except ModelValidationError as exc:
        ends = ends_only(kind, record) if kind in RELATIONSHIP_TYPES else None
        more = [] if ends is None else end_problems(
            [ends], {i: n.KIND for i, n in info.context.store.get({ends.source, ends.target}).items()})
        return _invalid(ModelValidationError(_suggesting(info, kind, [*exc.problems, *more])))
    try:
        changed = info.context.store.upsert([], [rel]).changed
    except ModelValidationError as exc:
        return _invalid(ModelValidationError(_suggesting(info, kind, exc.problems), total=exc.total))
    return Linked(kind=rel.KIND, source=rel.source, target=rel.target, changed=changed)


def _suggesting(info: Info, kind: str, problems: list[Problem]) -> list[Problem]:
    """`problems`, a missing end's with "did you mean ...?" from the ids of the kinds that end may have (the
    served snapshot's ids: a suggestion, never the check)."""
    out = []
    for p in problems:
        if p.field in ("source", "target") and p.message.startswith("no such node") and isinstance(p.value, str):
            vocabulary = info.context.engine.current().vocabulary.ids
            allowed = getattr(RELATIONSHIP_TYPES[kind], p.field.upper())
            close = closest(p.value, (i for k in allowed for i in vocabulary.get(k, ())))
            if close:
                p = Problem(p.field, p.value, f"{p.message}; {did_you_mean(close)}", p.where)
        out.append(p)
    return out


def _met(info: Info, city_id: str, peer_id: str) -> dict:
    """The PEERS_WITH record markMet writes: the pair's stored relationship, in either direction, with origin
    "met", else a new one from `city_id` to `peer_id`. Known peers are symmetric: a reverse copy listed each
    city twice in the other's knownPeers."""
    pair = {city_id, peer_id}
    stored = [r for r in info.context.store.neighbours([city_id], kinds=["PEERS_WITH"])
              if {r.source, r.target} == pair] if all(ID_PATTERN.match(i) for i in pair) else []
    rel = min(stored, key=lambda r: r.source != city_id, default=None)  # the asked direction, when both are stored
    if rel is None:
        return {"source": city_id, "target": peer_id, "origin": "met"}
    return {"source": rel.source, "target": rel.target, **rel.props(), "origin": "met"}


CityResult = Annotated[City | ValidationError, strawberry.union("CityResult")]
ChallengeResult = Annotated[Challenge | ValidationError, strawberry.union("ChallengeResult")]
PartnerResult = Annotated[Partner | ValidationError, strawberry.union("PartnerResult")]
CohortResult = Annotated[Cohort | ValidationError, strawberry.union("CohortResult")]
LeaderResult = Annotated[Leader | ValidationError, strawberry.union("LeaderResult")]
DeleteResult = Annotated[Deleted | NotFoundError, strawberry.union("DeleteResult")]
LinkResult = Annotated[Linked | ValidationError | NotFoundError, strawberry.union("LinkResult")]
ImportResult = Annotated[Imported | ValidationError, strawberry.union("ImportResult")]

EDITOR = [IsEditor]


@strawberry.type
class Mutation:
    @strawberry.mutation(permission_classes=EDITOR, description=UPSERT.format("city"))
    def upsert_city(self, info: Info, input: CityInput) -> CityResult:
        return _upsert(info, "City", input)  # type: ignore[return-value]

    @strawberry.mutation(permission_classes=EDITOR, description=UPSERT.format("challenge"))
    def upsert_challenge(self, info: Info, input: ChallengeInput) -> ChallengeResult:
        return _upsert(info, "Challenge", input)  # type: ignore[return-value]

    @strawberry.mutation(permission_classes=EDITOR, description=UPSERT.format("partner"))
    def upsert_partner(self, info: Info, input: PartnerInput) -> PartnerResult:
        return _upsert(info, "Partner", input)  # type: ignore[return-value]

    @strawberry.mutation(permission_classes=EDITOR, description=UPSERT.format("cohort"))
    def upsert_cohort(self, info: Info, input: CohortInput) -> CohortResult:
        return _upsert(info, "Cohort", input)  # type: ignore[return-value]

    @strawberry.mutation(permission_classes=EDITOR, description=UPSERT.format("leader") + " (So an editor who "
                         "leaves out the contact, which only admins may read, keeps it.)")
    def upsert_leader(self, info: Info, input: LeaderInput) -> LeaderResult:
        return _upsert(info, "Leader", input)  # type: ignore[return-value]

    @strawberry.mutation(permission_classes=EDITOR, description="Delete a node and its relationships.")
    def delete_node(self, info: Info, id: strawberry.ID) -> DeleteResult:
        if not ID_PATTERN.match(id) or not info.context.store.get([id]):  # not an id: nothing to ask the store
            known = (i for ids in info.context.engine.current().vocabulary.ids.values() for i in ids)
            said = not_found("Node", id, known)  # the served snapshot's ids: a suggestion, never the check
            return NotFoundError(message=str(said), id=preview(id, SHOWN))
        return Deleted(id=id, changed=info.context.store.delete([id]).changed)

    @strawberry.mutation(permission_classes=EDITOR, description="Add (or replace) a relationship of any kind.")
    def link(self, info: Info, input: RelationshipInput) -> LinkResult:
        record = {k: v for k, v in dataclasses.asdict(input).items() if v is not None and k != "kind"}
        return _feedback(info, input.kind, record)  # type: ignore[return-value]

    @strawberry.mutation(permission_classes=EDITOR, description="Remove a relationship.")
    def unlink(self, info: Info, kind: str, source_id: strawberry.ID, target_id: strawberry.ID) -> LinkResult:
        # (argument names: "source" would clash with Strawberry's permission machinery)
        if kind not in RELATIONSHIP_TYPES:  # as link answers it (a Bolt store would refuse it, SQLite find nothing)
            return _invalid(ModelValidationError([Problem("kind", kind, "unknown relationship kind; valid: "
                                                                        f"{', '.join(RELATIONSHIP_TYPES)}")]))
        changed = info.context.store.delete([], [(kind, source_id, target_id)]).changed
        if not changed:
            return NotFoundError(message=f"no {kind} relationship from {shown(source_id)} to "
                                         f"{shown(target_id)}", id=preview(f"{source_id}->{target_id}", SHOWN))
        return Linked(kind=kind, source=source_id, target=target_id, changed=changed)

    @strawberry.mutation(permission_classes=EDITOR,
                         description="A city declined a suggested peer: it is not suggested to that city again.")
    def dismiss_match(self, info: Info, city_id: strawberry.ID, peer_id: strawberry.ID,
                      note: str | None = None) -> LinkResult:
        return _feedback(info, "DISMISSED", {"source": city_id, "target": peer_id, "note": note})

    @strawberry.mutation(permission_classes=EDITOR,
                         description="Two cities met: they become known peers and are not suggested to each other. "
                                     "Either order: a pair that already peers keeps its one relationship (in its "
                                     "direction, its other properties kept), marked met.")
    def mark_met(self, info: Info, city_id: strawberry.ID, peer_id: strawberry.ID) -> LinkResult:
        return _feedback(info, "PEERS_WITH", _met(info, city_id, peer_id))

    @strawberry.mutation(permission_classes=[IsAdminToTune],
                         description="Admins: learn the signal weights from the store's own links (as citypeers "
                                     "tune), store them with their figures, and serve with them at once.")
    def tune_weights(self, info: Info, seed: int = 0, share: float = 0.2) -> MatchingWeights:
        return tune_now(info.context.store, info.context.engine, seed=seed, share=share)

    @strawberry.mutation(permission_classes=EDITOR,
                         description="Import a JSON Lines bundle: validated whole, written all or nothing. A row "
                                     "replaces its node, except that a leader's contact (admins only) is kept when "
                                     "the row leaves it out and the token is not an admin's.")
    def import_bundle(self, info: Info, json_lines: str, dry_run: bool = False) -> ImportResult:
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / "bundle.jsonl"
            try:
                path.write_text(json_lines, encoding="utf-8")
            except UnicodeEncodeError as exc:  # a lone surrogate (a JSON "\ud800"): not text, so not a bundle
                line = json_lines.count("\n", 0, exc.start) + 1
                return _invalid(ModelValidationError([Problem("jsonLines", json_lines[exc.start:exc.end],
                                                              "is a lone surrogate, not Unicode text",
                                                              f"bundle.jsonl:{line}")]))
            try:
                keep = () if allows(info.context.role, "admin") else PRIVATE  # an editor cannot read them
                report = import_bundle(info.context.store, path, dry_run=dry_run, keep=keep)
            except ModelValidationError as exc:
                return _invalid(exc)
        return Imported(counts=[KindCount(kind=k, count=n) for k, n in report.counts.items()], changed=report.changed,
                        version=report.version, dry_run=report.dry_run)
