"""A report's parameters: every one is printed on the report's cover and stored in report.json."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from graph.errors import UsageError

FORMATS = ("html", "pdf", "csv", "json")
SEEDS = 2**32  # the group search's and the layouts' generators take a seed below this (numpy, networkx)
PER_CITY = 100  # the most peers (k), partners or people a report lists per city (and per leader)


@dataclass(frozen=True)
class Parameters:
    """`max_exposure=None`: no cap (the CLI's default is 2 x k). `partners` / `people`: how many partner
    organisations per city and people per leader of the city to list."""

    k: int = 5
    min_size: int = 4
    max_size: int = 6
    min_countries: int = 1
    must_pair: tuple[tuple[str, str], ...] = ()
    cannot_pair: tuple[tuple[str, str], ...] = ()
    max_exposure: int | None = 10
    seed: int = 0
    partners: int = 3
    people: int = 3

    def __post_init__(self) -> None:
        for name in ("k", "partners", "people"):
            value = getattr(self, name)
            if not 1 <= value <= PER_CITY:
                raise UsageError(f"{name}={value} is out of range; use 1 to {PER_CITY}")
        from matching.groups import check_group_options  # here, not at the top: the CLI's parser imports this

        check_group_options(self.min_size, self.max_size, self.min_countries)  # the words groups say them in
        if self.max_exposure is not None and self.max_exposure < 1:
            raise UsageError(f"max_exposure={self.max_exposure} is invalid; use 1 or more, or no cap")
        if not 0 <= self.seed < SEEDS:
            raise UsageError(f"seed={self.seed} is out of range; use 0 to {SEEDS - 1} (2**32 - 1)")

    def as_json(self) -> dict[str, Any]:
        out = asdict(self)
        out["must_pair"] = [list(p) for p in self.must_pair]
        out["cannot_pair"] = [list(p) for p in self.cannot_pair]
        return out

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Parameters:
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        known["must_pair"] = tuple(tuple(p) for p in known.get("must_pair", ()))
        known["cannot_pair"] = tuple(tuple(p) for p in known.get("cannot_pair", ()))
        return cls(**known)


def exposure_cap(k: int, max_exposure: int | None, no_cap: bool, *, names: tuple[str, str]) -> int | None:
    """The exposure cap asked for: none with `no_cap`, else `max_exposure`, by default 2 x k. Both at once
    contradict each other: a usage error naming both (`names`: how the caller spells them).

    >>> exposure_cap(5, None, False, names=("--max-exposure", "--no-cap")), exposure_cap(5, None, True, names=("", ""))
    (10, None)
    >>> exposure_cap(5, 0, False, names=("maxExposure", "noCap"))
    Traceback (most recent call last):
    ...
    graph.errors.UsageError: maxExposure 0 is invalid; use 1 or more, or noCap for no cap
    """
    if no_cap and max_exposure is not None:
        raise UsageError(f"{names[1]} and {names[0]} {max_exposure} contradict each other; give one of them")
    if max_exposure is not None and max_exposure < 1:  # GraphQL's; the command line refuses it as it parses
        raise UsageError(f"{names[0]} {max_exposure} is invalid; use 1 or more, or {names[1]} for no cap")
    return None if no_cap else 2 * k if max_exposure is None else max_exposure


def parse_formats(text: str, valid: tuple[str, ...] = FORMATS, report: str = "a cohort report") -> tuple[str, ...]:
    """'html,pdf' -> ('html', 'pdf'), in `valid` order (the formats of `report`); any other is a usage error
    naming the valid ones.

    >>> parse_formats("json, html")
    ('html', 'json')
    >>> parse_formats("html", ("csv", "json"), "a network report")
    Traceback (most recent call last):
    ...
    graph.errors.UsageError: --format 'html': a network report has no html; use a comma-separated list of csv, json
    >>> parse_formats("pdf,xml,doc")
    Traceback (most recent call last):
    ...
    graph.errors.UsageError: --format 'pdf,xml,doc': unknown xml, doc; use a comma-separated list of html, pdf, csv, \
json
    """
    asked = [f.strip().lower() for f in text.split(",") if f.strip()]
    unknown = [f for f in asked if f not in valid]
    if unknown or not asked:  # every one of them (pdf,xml,doc named xml alone)
        other = [f for f in unknown if f in FORMATS]
        strange = [f for f in unknown if f not in FORMATS]
        what = "; ".join(filter(None, [
            "empty" if not asked else "",
            f"{report} has no {' or '.join(other)}" if other else "",
            f"unknown {', '.join(strange)}" if strange else ""]))
        raise UsageError(f"--format {text!r}: {what}; use a comma-separated list of {', '.join(valid)}")
    return tuple(f for f in valid if f in asked)
