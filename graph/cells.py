"""Spreadsheet-safe CSV cells: text that a spreadsheet would run as a formula gets a leading quote.

A cell starting with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return is a formula to Excel,
LibreOffice and Google Sheets (CSV injection: ``=HYPERLINK(...)``, ``=cmd|' /C calc'!A0``). Following
OWASP's advice such text is written with a leading single quote, which spreadsheets show as text. To keep
this reversible, text that itself starts with a quote gets one more, and reading takes exactly one off:

>>> escape("=1+2"), escape("'quoted"), escape("Riga")
("'=1+2", "''quoted", 'Riga')
>>> all(unescape(escape(t)) == t for t in ("=1+2", "'quoted", "''", "-", "Riga", ""))
True

Only text columns are escaped: numbers are written as they are (``-5`` is a number, not a formula, and a
numeric column never holds text), so `row` leaves ints and floats alone:

>>> row(["=evil", -5, 2.5, None])
["'=evil", -5, 2.5, None]
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

QUOTE = "'"
# The encoding of every CSV file citypeers writes for people (reports, batch lists, bundles): UTF-8 with a byte
# order mark, how Excel on Windows knows the file is UTF-8 (without it "Kraków" shows as "KrakÃ³w").
CSV_ENCODING = "utf-8-sig"
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_ESCAPED_STARTS = (*FORMULA_STARTS, QUOTE)


def escape(text: str) -> str:
    """`text` as a CSV cell a spreadsheet shows as text; `unescape` gives `text` back."""
    return QUOTE + text if text.startswith(_ESCAPED_STARTS) else text


def unescape(cell: str) -> str:
    """The text an escaped cell holds: one leading quote taken off."""
    return cell[1:] if cell.startswith(QUOTE) else cell


def row(values: Iterable[Any]) -> list[Any]:
    """A CSV row with its text cells escaped (reports, exports); other values unchanged."""
    return [escape(v) if isinstance(v, str) else v for v in values]
