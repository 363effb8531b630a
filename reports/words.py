"""Wording shared by the documents and the CLI: counts with their noun in the right number.

>>> plural(1, "city", "cities"), plural(0, "city", "cities"), plural(3, "list")
('1 city', '0 cities', '3 lists')
"""

from __future__ import annotations


def plural(n: int, one: str, many: str | None = None) -> str:
    """`n` and the noun: `one` for 1, else `many` (default: `one` + "s")."""
    return f"{n} {one if n == 1 else many or one + 's'}"
