"""Claiming background work, backing off after a failure, and rescuing the claims of workers
that died: the pieces the publishing engine (``dispatch``) and other background work that
calls out (``notifications.tasks``: emails and webhook calls) share.

The pattern, the same for a delivery and for a webhook call:

- **Claim** a row with a compare-and-set: ``UPDATE … WHERE id = … AND <what the caller
  read>`` with its row count checked, setting a *lease* (a time until which the row is
  taken). Two workers (a task queued twice, a rescued task that was only late) can never
  both take the same attempt: the loser changes nothing and does nothing. A delivery's claim
  is also a state move with a history row, so ``dispatch.claim`` makes it through
  ``states.transition`` (the same compare-and-set, plus the ``DeliveryTransition``);
  rows without a state graph call ``claim`` here.
- **Back off** exponentially after a failure, with "equal jitter" (a random half of the
  delay added to the other half) so that the work of one outage does not all come back in
  the same second.
- **Rescue**: a lease that ran out means the worker died (or the queue lost the task);
  whoever sweeps finds those rows with ``rescue_expired`` and decides, per row, what the
  lost attempt means (a delivery becomes ``unknown`` and is reconciled; a webhook call is
  queued again). Each decision is itself a compare-and-set, so sweepers on several machines
  can run at once.

This module knows no model: callers pass querysets and field names.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any, TypeVar

from django.db import models

Row = TypeVar("Row", bound=models.Model)


def claim(
    rows: models.QuerySet[Any],
    pk: int,
    lease: timedelta,
    now: datetime,
    *,
    lease_field: str = "lease_expires_at",
    **fields: Any,
) -> bool:
    """Take row ``pk`` of ``rows`` until ``now + lease``, setting ``fields`` too.

    ``rows`` carries what must still hold (``state="pending", attempts=2``): the row is taken
    only if it still matches, in one UPDATE. True for the one caller that took it.
    """
    taken = rows.filter(pk=pk).update(**{lease_field: now + lease}, **fields)
    return taken == 1


def backoff(attempt: int, base: timedelta, cap: timedelta, factor: float = 2) -> timedelta:
    """The delay before retrying after the ``attempt``-th failed attempt (1-based):
    ``base * factor**(attempt-1)``, at most ``cap``, of which a random half is kept."""
    ceiling = min(cap, base * factor ** max(0, attempt - 1))
    half = ceiling / 2
    return half + half * random.random()  # noqa: S311 - jitter, not security


def rescue_expired(
    rows: models.QuerySet[Row],
    expired_before: datetime,
    rescue: Callable[[Row], bool],
    *,
    lease_field: str = "lease_expires_at",
    batch: int = 1000,
) -> list[int]:
    """Call ``rescue`` on each row of ``rows`` (at most ``batch``) whose lease ended before
    ``expired_before``; returns the ids of those it rescued (``rescue`` returned True, i.e.
    its own compare-and-set won). Index ``lease_field`` with the rows' filter."""
    expired = rows.filter(**{f"{lease_field}__lt": expired_before}).order_by(lease_field, "pk")
    return [row.pk for row in expired[:batch] if rescue(row)]
