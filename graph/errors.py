"""One exception hierarchy for citypeers. Every message names the bad value and what would be valid."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any


class CitypeersError(Exception):
    """Base of every error citypeers raises on purpose. The CLI prints these without a traceback."""

    code = "CITYPEERS_ERROR"


@dataclass(frozen=True)
class Problem:
    """One thing wrong with one value: where it is, what it was, what would be valid."""

    field: str
    value: Any
    message: str
    where: str = ""  # "file:row" or "City amsterdam"; empty when the context says it

    def __str__(self) -> str:
        """A sentence: "cities.csv:3: country 'ZZ': unknown ...", "cities.csv:4: country is required"."""
        at = f"{self.where}: " if self.where else ""
        if self.value is None:
            return f"{at}{self.field} {self.message}"
        return f"{at}{self.field} {shown(self.value)}: {self.message}"


def shown(value: Any) -> str:
    """A value as a message shows it: text in quotes, lists as their items, numbers as they are.

    >>> shown("ZZ"), shown(["a", "b"]), shown(-1), shown(2.5)
    ("'ZZ'", "'a', 'b'", '-1', '2.5')
    """
    if isinstance(value, str):
        return f"'{value}'"
    if isinstance(value, list | tuple):
        return ", ".join(shown(v) for v in value)
    return str(value)


class ValidationError(CitypeersError):
    """One or more values are invalid. `problems` lists each of them, or the first of `total` found."""

    code = "VALIDATION_ERROR"

    def __init__(self, problems: Iterable[Problem], *, total: int | None = None):
        self.problems = list(problems)
        self.total = max(total or 0, len(self.problems))
        hidden = self.total - len(self.problems)
        shown = "; ".join(str(p) for p in self.problems) or "invalid input"
        super().__init__(shown + (f"; and {hidden:,} more problems not shown" if hidden else ""))


class NotFoundError(CitypeersError):
    """No node with a given id; `suggestions`: the closest existing ids, when they were looked for."""

    code = "NOT_FOUND"

    def __init__(self, message: str, suggestions: Iterable[str] = ()):
        super().__init__(message)
        self.suggestions = list(suggestions)


class StoreUnavailableError(CitypeersError):
    """The store at a URL cannot be reached or opened."""

    code = "STORE_UNAVAILABLE"


class StoreBusyError(CitypeersError):
    """The store is there but another writer holds it for longer than a write may wait (try again later)."""

    code = "STORE_BUSY"


class ValueTooLargeError(CitypeersError):
    """A single value does not fit in one message to the server (FalkorDB's Bolt endpoint renders a message as
    query text into 4,096 characters)."""

    code = "VALUE_TOO_LARGE"


class UsageError(CitypeersError):
    """A command or option was used wrongly (bad URL scheme, bad format name, ...)."""

    code = "BAD_USER_INPUT"
