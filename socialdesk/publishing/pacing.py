"""Pacing to the networks' published budgets (issue 3, item 7).

Each connector declares the limits its network publishes per account (``rate_limits``, a
tuple of ``networks.base.RateLimit``: Bluesky 5,000 write points per hour and 35,000 per day,
Mastodon 300 requests per 5 minutes and 30 media uploads per 30 minutes) and what one
publication costs (``cost(content)``: a Bluesky create is 3 points). The engine never spends
more than a limit allows in any sliding window, and scheduling warns when a day's plan for a
channel would.

Design — a ledger, reserved under a lock, in the claim's own transaction:

- Every claimed attempt writes what it will spend as ``ChannelSpend`` rows (channel, unit,
  points, at), in the same transaction as the move to ``publishing``. The database is the
  truth: a worker restart, or several workers on several machines, see the same spend.
- Before writing, the claimer takes a lock on the channel row (``SELECT … FOR UPDATE`` on
  PostgreSQL; on SQLite every write transaction is ``IMMEDIATE`` and so already exclusive),
  then sums the spend of each declared window and checks that the attempt's cost fits. Two
  workers claiming deliveries of the same channel therefore check-and-spend one after the
  other, never both against the same remaining budget.
- When the cost does not fit, no network call is made: ``room_at`` says the earliest instant
  at which it will fit (when enough old spend leaves the window) and ``dispatch.claim``
  defers the delivery to then through the state graph, with a reason such as "paced:
  Bluesky's 5,000 write points per hour budget for this account is spent until 14:05".
- Spend is counted per attempt, whatever the network answered (a 429 or an error may still
  have spent the budget on the network's side), and is not refunded when an attempt stops
  before its call (paused channel, content refused): over-counting is the safe direction.
  ``find_published`` (reconciliation, a read) is not counted: the declared limits are for
  writes and requests that publish.
- Why not derive spend from ``DeliveryTransition`` rows × ``cost()``: the cost depends on the
  content, which may change after the attempt, and recomputing it for a day of deliveries on
  every claim is slow. The ledger records the cost actually reserved.

Connectors (or test doubles) without ``rate_limits`` or ``cost`` are not paced.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db.models import Q, Sum

from socialdesk.networks.base import RateLimit
from socialdesk.networks.models import Channel

from .models import ChannelSpend


def limits_of(connector: Any) -> tuple[RateLimit, ...]:
    """The limits a connector declares (none for a connector that declares nothing)."""
    return tuple(getattr(connector, "rate_limits", ()) or ())


def cost_of(connector: Any, content: Any) -> dict[str, int]:
    """What one publication of ``content`` spends, by unit (empty when it is not declared)."""
    cost = getattr(connector, "cost", None)
    if cost is None:
        return {}
    return {unit: int(points) for unit, points in (cost(content) or {}).items() if points > 0}


def window_text(window: timedelta) -> str:
    """``hour``, ``day``, ``5 minutes``, ``minute``, ``30 seconds``."""
    seconds = int(window.total_seconds())
    for size, name in ((86400, "day"), (3600, "hour"), (60, "minute"), (1, "second")):
        if seconds % size == 0:
            count = seconds // size
            return name if count == 1 else f"{count} {name}s"
    return str(window)  # pragma: no cover - sub-second windows are not declared anywhere


def budget_text(network_label: str, limit: RateLimit) -> str:
    """``Bluesky's 5,000 write points per hour budget``."""
    return f"{network_label}'s {limit.points:,} {limit.unit} per {window_text(limit.window)} budget"


@dataclass(frozen=True)
class Blocked:
    """Why an attempt cannot be made now: the limit it would break and when it fits again.
    ``until`` is None when the attempt costs more than the whole window allows."""

    limit: RateLimit
    until: datetime | None


def lock_channel(channel_id: int) -> None:
    """Hold the channel row until the current transaction ends, so that checking the budget
    and writing the spend happen one claimer at a time. Call inside ``transaction.atomic``."""
    list(Channel.objects.select_for_update().filter(pk=channel_id).values_list("pk"))


def _fits_at(spent: Sequence[tuple[datetime, int]], limit: RateLimit, cost: int, now: datetime):
    """The earliest instant ≥ ``now`` at which ``cost`` more fits in ``limit``'s sliding
    window, given ``spent`` (time, points) in the window at ``now``, oldest first."""
    total = sum(points for _, points in spent)
    if total + cost <= limit.points:
        return now
    for at, points in spent:
        # At at + window this spend leaves the window (a spend counts while at > t - window).
        total -= points
        if total + cost <= limit.points:
            return max(now, at + limit.window)
    return None  # pragma: no cover - only when cost > points, handled by the caller


def room_at(
    channel_id: int, cost: dict[str, int], limits: Iterable[RateLimit], now: datetime
) -> Blocked | None:
    """None when ``cost`` fits every limit's window now; else the limit that blocks longest
    and when it will fit. Reads the ledger: call under ``lock_channel`` before ``spend``."""
    relevant = [(limit, cost.get(limit.unit, 0)) for limit in limits]
    relevant = [(limit, points) for limit, points in relevant if points > 0]
    for limit, points in relevant:
        if points > limit.points:
            return Blocked(limit, None)
    if not relevant:
        return None
    # The usual answer, "it fits now", from one query that sums every window at once; the
    # rows themselves are read only to work out when a blocked attempt will fit.
    longest = max(limit.window for limit, _ in relevant)
    totals = ChannelSpend.objects.filter(channel_id=channel_id, at__gt=now - longest).aggregate(
        **{
            f"window_{number}": Sum("points", filter=Q(unit=limit.unit, at__gt=now - limit.window))
            for number, (limit, _) in enumerate(relevant)
        }
    )
    if all(
        (totals[f"window_{number}"] or 0) + points <= limit.points
        for number, (limit, points) in enumerate(relevant)
    ):
        return None
    worst: Blocked | None = None
    for limit, points in relevant:
        spent = list(
            ChannelSpend.objects.filter(
                channel_id=channel_id, unit=limit.unit, at__gt=now - limit.window
            )
            .order_by("at", "id")
            .values_list("at", "points")
        )
        fits = _fits_at(spent, limit, points, now)
        if fits is not None and fits > now and (worst is None or fits > (worst.until or fits)):
            worst = Blocked(limit, fits)
    return worst


def spent(channel_id: int, limit: RateLimit, now: datetime) -> int:
    """Points of ``limit.unit`` spent in the window that ends at ``now``."""
    total = ChannelSpend.objects.filter(
        channel_id=channel_id, unit=limit.unit, at__gt=now - limit.window
    ).aggregate(total=Sum("points"))["total"]
    return int(total or 0)


def spend(
    channel_id: int,
    delivery_id: int | None,
    cost: dict[str, int],
    limits: Iterable[RateLimit],
    now: datetime,
) -> None:
    """Record what one attempt spends, and forget spend older than the longest window."""
    limits = tuple(limits)
    units = {limit.unit for limit in limits}
    ChannelSpend.objects.bulk_create(
        ChannelSpend(channel_id=channel_id, delivery_id=delivery_id, unit=unit, points=p, at=now)
        for unit, p in cost.items()
        if unit in units and p > 0
    )
    if limits:
        longest = max(limit.window for limit in limits)
        ChannelSpend.objects.filter(channel_id=channel_id, at__lte=now - longest).delete()


class Tally:
    """A channel's windows for one claim of many deliveries (``dispatcher.claim_due``): summed
    once, then counted in memory as each delivery takes its share, and written as one INSERT.

    ``room_at`` and ``spend`` per delivery cost a sum, an INSERT and a DELETE each, more than
    a Bluesky post itself on the local network (bench/publishing.py, the SDK ratio). Use under
    ``lock_channel``; ``write`` before anything else reads the ledger (``room_at`` when a
    delivery does not fit) and before the transaction ends."""

    def __init__(self, channel_id: int, limits: Iterable[RateLimit], now: datetime) -> None:
        self.channel_id, self.limits, self.now = channel_id, tuple(limits), now
        self.pending: list[ChannelSpend] = []
        self.totals = [0] * len(self.limits)
        if self.limits:
            longest = max(limit.window for limit in self.limits)
            sums = ChannelSpend.objects.filter(
                channel_id=channel_id, at__gt=now - longest
            ).aggregate(
                **{
                    f"window_{number}": Sum(
                        "points", filter=Q(unit=limit.unit, at__gt=now - limit.window)
                    )
                    for number, limit in enumerate(self.limits)
                }
            )
            self.totals = [sums[f"window_{n}"] or 0 for n in range(len(self.limits))]

    def fits(self, cost: dict[str, int]) -> bool:
        return all(
            total + cost.get(limit.unit, 0) <= limit.points
            for limit, total in zip(self.limits, self.totals, strict=True)
        )

    def take(self, delivery_id: int, cost: dict[str, int]) -> None:
        for number, limit in enumerate(self.limits):
            self.totals[number] += cost.get(limit.unit, 0)
        units = {limit.unit for limit in self.limits}
        self.pending += [
            ChannelSpend(
                channel_id=self.channel_id,
                delivery_id=delivery_id,
                unit=unit,
                points=p,
                at=self.now,
            )
            for unit, p in cost.items()
            if unit in units and p > 0
        ]

    def write(self) -> None:
        """Record the spend taken so far, and forget spend older than the longest window."""
        if not self.pending:
            return
        ChannelSpend.objects.bulk_create(self.pending)
        self.pending = []
        longest = max(limit.window for limit in self.limits)
        ChannelSpend.objects.filter(channel_id=self.channel_id, at__lte=self.now - longest).delete()


def busiest(
    planned: Sequence[tuple[datetime, dict[str, int]]], limit: RateLimit
) -> tuple[int, datetime | None]:
    """The most of ``limit.unit`` that ``planned`` (time, cost) spends in any one window
    ``[t, t + limit.window)``, and the ``t`` where that happens (None when nothing is spent)."""
    events = sorted(
        (when, cost.get(limit.unit, 0)) for when, cost in planned if cost.get(limit.unit, 0)
    )
    best, best_start = 0, None
    total, tail = 0, 0
    for head_at, points in events:
        total += points
        while events[tail][0] <= head_at - limit.window:
            total -= events[tail][1]
            tail += 1
        if total > best:
            best, best_start = total, events[tail][0]
    return best, best_start
