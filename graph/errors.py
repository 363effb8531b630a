"""One exception hierarchy for citypeers. Every message names the bad value and what would be valid."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any


class CitypeersError(Exception):
    """Base of every error citypeers raises on purpose. The CLI prints these without a traceback."""

    code = "CITYPEERS_ERROR"
    # the argument that held the bad value, as the API names it ("filters.cohortId"), when one did: a client
    # reads it as `extensions.argument` and can drop that value (the explorer does, for a link older than the data)
    argument: str | None = None


@contextmanager
def blaming(argument: str) -> Iterator[None]:
    """Mark a CitypeersError raised inside as about `argument` (unless it names one already)."""
    try:
        yield
    except CitypeersError as error:
        error.argument = error.argument or argument
        raise


@dataclass(frozen=True)
class Problem:
    """One thing wrong with one value: where it is, what it was, what would be valid."""

    field: str
    value: Any
    message: str
    where: str = ""  # "file:row" or "City amsterdam"; empty when the context says it

    def __str__(self) -> str:
        """A sentence: "cities.csv:3: country 'ZZ': unknown ...", "cities.csv:4: country is required"."""
        at = f"{one_line(self.where)}: " if self.where else ""
        if self.value is None:
            return f"{at}{self.field} {self.message}"
        return f"{at}{self.field} {shown(self.value)}: {self.message}"


PREVIEW = 30  # characters of an over-long value that a message about its length shows
SHOWN = 80  # characters of any value that a message shows
SHOWN_ITEMS = 5  # items of a list that a message shows


def shown(value: Any) -> str:
    """A value as a message shows it: text in quotes, lists as their items, numbers as they are; a long one
    cut to its start (a client's 900 KB id must not come back, nor fill the log, in every message).

    >>> shown("ZZ"), shown(["a", "b"]), shown(-1), shown(2.5), shown(200.0), shown(True), shown(list(range(9)))
    ("'ZZ'", "'a', 'b'", '-1', '2.5', '200', 'true', '0, 1, 2, 3, 4, ...')
    >>> len(shown("x" * 900_000))
    85

    A list in a list is "[...]", and an object too deep to write out "{...}": a JSON value 600 levels deep
    was a RecursionError, not a message.

    >>> deep = {}
    >>> for _ in range(5000):
    ...     deep = {"x": deep}
    >>> shown(["a", ["b"]]), shown({"x": 1}), shown(deep)
    ("'a', [...]", "{'x': 1}", '{...}')
    """
    if isinstance(value, str):
        return f"'{one_line(preview(value, SHOWN))}'"
    if isinstance(value, list | tuple):
        items = ("[...]" if isinstance(v, list | tuple) else shown(v) for v in value[:SHOWN_ITEMS])
        return ", ".join([*items, *(["..."] if len(value) > SHOWN_ITEMS else [])])
    return written_briefly(value)


def written_briefly(value: Any, limit: int = SHOWN) -> str:
    """written(value) cut to `limit` characters; a list or object nested too deep for str() is "[...]" or
    "{...}" (a RecursionError, not a message, for a JSON value 600 levels deep)."""
    try:
        return preview(written(value), limit)
    except RecursionError:
        return "[...]" if isinstance(value, list | tuple) else "{...}"


def written(value: Any) -> str:
    """A value as text, as a file or a JSON or GraphQL client writes it rather than as Python holds it.

    >>> written(True), written(200.0), written(2.5), written("x")
    ('true', '200', '2.5', 'x')
    """
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:  # a latitude "200", not "200.0"
        return str(int(value))
    return str(value)


# Control characters and line separators, and the invisible format characters that would make a message lie:
# zero-width spaces and joiners, direction marks, embeddings, overrides and isolates (a right-to-left override
# shows "riga" for "agir"), the word joiner and a byte-order mark (a CSV saved with two read "\ufeffid" as a
# header that printed as "id"). Named ranges rather than every Unicode Cf character: building that set from
# unicodedata at import cost the CLI's start-up 0.2 s (measured).
_BREAKING = re.compile("[\x00-\x1f\x7f-\x9f\u00ad\u061c\u200b-\u200f\u2028-\u202e\u2060-\u2064\u2066-\u206f"
                       "\ufeff\ufff9-\ufffb]")


def one_line(text: str) -> str:
    """`text` with its control characters, line breaks and invisible format characters written as escapes, so
    that a message stays on one line and a terminal shows it as it is (a cell holding a line break, an ESC in a
    file name, a byte-order mark or a right-to-left override in a header or a value).

    >>> print(one_line("a\\nb\\x1b[31m\\tKraków"))
    a\\nb\\x1b[31m\\tKraków
    >>> print(one_line("\\ufeffid, \\u202eagir, Tehran\\u200cnama"))
    \\ufeffid, \\u202eagir, Tehran\\u200cnama
    """
    return _BREAKING.sub(lambda found: repr(found.group())[1:-1], text)


def preview(text: str, limit: int = PREVIEW) -> str:
    """`text`, or its first `limit` characters and "..." when it is longer.

    >>> preview("Riga"), preview("x" * 31)
    ('Riga', 'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxx...')
    """
    return text if len(text) <= limit else text[:limit] + "..."


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


class StoreReadOnlyError(CitypeersError):
    """The store can be read but not written (its file or folder is not writable): a write, or a schema update
    that would write, is refused."""

    code = "STORE_READ_ONLY"


class StoreFullError(CitypeersError):
    """The disk (or file system) holding the store has no room for a write: nothing of it was kept."""

    code = "STORE_FULL"


class ValueTooLargeError(CitypeersError):
    """A single value does not fit in one message to the server (FalkorDB's Bolt endpoint renders a message as
    query text into 4,096 characters)."""

    code = "VALUE_TOO_LARGE"


class UsageError(CitypeersError):
    """A command or option was used wrongly (bad URL scheme, bad format name, ...)."""

    code = "BAD_USER_INPUT"
