"""CSV cells a spreadsheet will not run: the one helper every export and import uses.

A cell that starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return is read as a
formula by Excel, LibreOffice and Google Sheets, so post text such as
``=HYPERLINK("http://evil.example","click")`` would become a live link, or worse, in the
spreadsheet of whoever opens the export. Such a cell is written with a leading ``'``, as
OWASP recommends (spreadsheets show the text, not a formula).

The prefix is also added to a cell that already starts with quotes before such a
character (``'=x`` is written ``''=x``), so ``restore`` can remove exactly one quote from
every cell that has the prefix and an export read back by the import gives the same text.
"""

from __future__ import annotations

from collections.abc import Iterable

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
PREFIX = "'"


def _needs_prefix(value: str) -> bool:
    return value.lstrip(PREFIX).startswith(FORMULA_STARTS)


def neutralise(value: str) -> str:
    """``value`` as a cell a spreadsheet shows as text."""
    return PREFIX + value if _needs_prefix(value) else value


def restore(value: str) -> str:
    """What ``neutralise`` was given: exactly the prefix it adds is removed."""
    if value.startswith(PREFIX) and _needs_prefix(value):
        return value[len(PREFIX) :]
    return value


def safe_row(values: Iterable[str]) -> list[str]:
    return [neutralise(value) for value in values]
