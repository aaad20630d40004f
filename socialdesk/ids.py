"""Ids as people and scripts send them, read strictly at the edge.

Every id is a 64-bit integer in every database, so the only ids there can be are 1 to
2**63 - 1. A bigger number must be refused before it reaches SQL: SQLite raises
``OverflowError`` for it (a 500), where PostgreSQL would merely find nothing.
"""

from __future__ import annotations

import re
from typing import Any

from django import forms

MAX_ID = 2**63 - 1

# ASCII digits only: Python's int() also reads " 7", "+7", "7_0" and "٧" (Arabic-Indic seven).
_DIGITS = re.compile(r"[0-9]{1,19}")


def parse_id(value: Any) -> int | None:
    """The id that ``value`` (a query-string or form value) spells, or None if it spells none:
    only digits, 1 to ``MAX_ID``. For filters, where an id that is no id matches nothing."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if 0 < value <= MAX_ID else None
    if not isinstance(value, str) or not _DIGITS.fullmatch(value):
        return None
    number = int(value)
    return number if 0 < number <= MAX_ID else None


class ModelMultipleChoiceField(forms.ModelMultipleChoiceField):
    """Django's, but a value that is no id in the database's range is the field's own
    "not a valid value" error before any query. (Django's field checks each value with the
    database, and SQLite raises ``OverflowError`` for an id ≥ 2**63; Django guards only the
    single-value lookups against that, not ``pk__in``.)"""

    def _check_values(self, value: Any) -> Any:
        if self.to_field_name is None:
            for pk in value:
                if parse_id(pk) is None:
                    raise forms.ValidationError(
                        self.error_messages["invalid_pk_value"],
                        code="invalid_pk_value",
                        params={"pk": str(pk)[:40]},
                    )
        return super()._check_values(value)  # type: ignore[misc]  # (not in django-stubs)
