"""The inbox report (issue 13, item 8): how fast and how well the team answers, over a period.

``inbox_report(workspace, start, end)`` counts the conversations **started** in ``[start,
end)`` (spam left out) and the replies **sent** in it:

- first response time: from the conversation's start to our first answer **on the network**
  (``first_response_at``: the time the reply's delivery was published, see ``inbox.status``),
  in business seconds (``service_levels.business_seconds``), median and p90 (nearest rank);
- resolution time: start to resolution, in business seconds, median and p90;
- SLA hit rate: answered within the first-response target, among those answered plus those
  whose target has passed unanswered (those still within their target are not counted yet);
- replies per person (automatic answers as "automatic"): replies that reached the network,
  counted in the period they were published in (one still on its way, waiting for approval,
  rejected or failed is not a reply the contact got); volume by kind and by sentiment;
- the same times and rate per channel and per assignee;
- per local day of the workspace: inbound messages by sentiment, and the median first
  response of the conversations started that day (``per_day``, the report page's charts).

It reads each conversation's few timestamps once and computes in Python: a bakery's 90 days
(a few thousand conversations) takes well under a second.
"""

from __future__ import annotations

import csv
import io
import math
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from django.db.models import Count, Q
from django.utils import timezone

from socialdesk.csv_cells import safe_row
from socialdesk.networks.models import Channel
from socialdesk.publishing.models import DeliveryState
from socialdesk.workspaces.models import User, Workspace

from . import service_levels
from .models import Conversation, ConversationStatus, Direction, Message, Sentiment


def percentile(values: list[float], share: float) -> float | None:
    """Nearest-rank percentile (``share`` 0.5 = median, 0.9 = p90); None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(share * len(ordered)))
    return ordered[rank - 1]


@dataclass
class Group:
    """Times and hits of one slice (everything, a channel, a person)."""

    conversations: int = 0
    first_response: list[float] | None = None
    resolution: list[float] | None = None
    hits: int = 0
    misses: int = 0

    def __post_init__(self) -> None:
        self.first_response = []
        self.resolution = []

    def summary(self) -> dict[str, Any]:
        assert self.first_response is not None and self.resolution is not None
        counted = self.hits + self.misses
        return {
            "conversations": self.conversations,
            "answered": len(self.first_response),
            "resolved": len(self.resolution),
            "first_response_median_s": percentile(self.first_response, 0.5),
            "first_response_p90_s": percentile(self.first_response, 0.9),
            "resolution_median_s": percentile(self.resolution, 0.5),
            "resolution_p90_s": percentile(self.resolution, 0.9),
            "sla_hit_rate": round(self.hits / counted, 4) if counted else None,
            "sla_counted": counted,
        }


def inbox_report(
    workspace: Workspace,
    start: datetime,
    end: datetime,
    *,
    channel_id: int | None = None,
    now: datetime | None = None,
) -> dict[str, Any]:
    """The report's figures as a JSON-ready dict (see the module docstring)."""
    now = now or timezone.now()
    level = service_levels.level_of(workspace)
    hours = service_levels.hours_of(level)
    target = level.first_response_target.total_seconds()
    conversations = Conversation.objects.filter(
        workspace=workspace, created_at__gte=start, created_at__lt=end, spam=False
    )
    if channel_id is not None:
        conversations = conversations.filter(channel_id=channel_id)
    rows = conversations.values_list(
        "channel_id",
        "assignee_id",
        "kind",
        "sentiment",
        "created_at",
        "first_response_at",
        "resolved_at",
        "status",
    )
    everything = Group()
    by_channel: dict[int, Group] = defaultdict(Group)
    by_person: dict[int | None, Group] = defaultdict(Group)
    kinds: Counter[str] = Counter()
    sentiments: Counter[str] = Counter()
    first_by_day: dict[date, list[float]] = defaultdict(list)
    zone = workspace.zone
    for channel, assignee, kind, sentiment, created, answered, resolved, state in rows:
        kinds[kind] += 1
        sentiments[sentiment] += 1
        groups = (everything, by_channel[channel], by_person[assignee])
        first = service_levels.business_seconds(created, answered, hours) if answered else None
        took = (
            service_levels.business_seconds(created, resolved, hours)
            if resolved and state == ConversationStatus.RESOLVED
            else None
        )
        if first is not None:
            first_by_day[created.astimezone(zone).date()].append(first)
            hit: bool | None = first <= target
        else:
            due = service_levels.business_add(created, target, hours)
            hit = False if due is not None and due < now else None
        for group in groups:
            group.conversations += 1
            if first is not None:
                group.first_response.append(first)  # type: ignore[union-attr]
            if took is not None:
                group.resolution.append(took)  # type: ignore[union-attr]
            if hit is True:
                group.hits += 1
            elif hit is False:
                group.misses += 1
    replies = _replies(workspace, start, end, channel_id)
    per_day = _per_day(workspace, start, end, channel_id, hours, first_by_day)
    return {
        "start": start,
        "end": end,
        "targets": {
            "first_response_s": target,
            "resolution_s": level.resolution_target.total_seconds(),
        },
        "totals": everything.summary(),
        "volume_by_kind": dict(sorted(kinds.items())),
        "volume_by_sentiment": dict(sorted(sentiments.items())),
        "replies_per_person": replies,
        "per_channel": _named(by_channel, Channel.objects.filter(workspace=workspace)),
        "per_person": _named(by_person, User.objects.filter(pk__in=[k for k in by_person if k])),
        "per_day": per_day,
    }


def _per_day(
    workspace: Workspace,
    start: datetime,
    end: datetime,
    channel_id: int | None,
    hours: service_levels.Hours,
    first_by_day: dict[date, list[float]],
) -> list[dict[str, Any]]:
    """One row per local day from ``start`` to ``end``: inbound messages received that day by
    sentiment (a message triage left without one counts as neutral; spam left out), and the
    median and count of first responses to the conversations started that day."""
    zone = hours.zone
    inbound = Message.objects.filter(
        workspace=workspace,
        direction=Direction.INBOUND,
        sent_at__gte=start,
        sent_at__lt=end,
        conversation__spam=False,
    )
    if channel_id is not None:
        inbound = inbound.filter(channel_id=channel_id)
    counts: dict[date, Counter[str]] = defaultdict(Counter)
    for sent_at, sentiment in inbound.values_list("sent_at", "sentiment").iterator():
        counts[sent_at.astimezone(zone).date()][sentiment or Sentiment.NEUTRAL] += 1
    days = []
    day = start.astimezone(zone).date()
    last = (end - timedelta(microseconds=1)).astimezone(zone).date()
    while day <= last:
        firsts = first_by_day.get(day, [])
        days.append(
            {
                "day": day,
                "inbound": {value: counts[day][value] for value in Sentiment.values},
                "first_response_median_s": percentile(firsts, 0.5),
                "answered": len(firsts),
            }
        )
        day += timedelta(days=1)
    return days


def _replies(
    workspace: Workspace, start: datetime, end: datetime, channel_id: int | None
) -> list[dict[str, Any]]:
    # A reply's ``sent_at`` becomes its published time when it is out
    # (``answering.on_delivery_finished``); one without a delivery and without an approval is
    # ours as ingestion found it on the network (written in the network's own app).
    on_the_network = Q(delivery__state=DeliveryState.PUBLISHED) | Q(
        delivery__isnull=True, approval__isnull=True
    )
    sent = Message.objects.filter(
        on_the_network,
        workspace=workspace,
        direction=Direction.OUTBOUND,
        sent_at__gte=start,
        sent_at__lt=end,
    )
    if channel_id is not None:
        sent = sent.filter(channel_id=channel_id)
    counts = sent.values("author_user_id", "automatic").annotate(n=Count("pk"))
    users = {
        u.pk: str(u) for u in User.objects.filter(pk__in=[c["author_user_id"] for c in counts])
    }
    out: dict[str, int] = Counter()
    for row in counts:
        by = users.get(row["author_user_id"], "someone")
        name = "automatic" if row["automatic"] else by
        out[name] += row["n"]
    return [{"name": name, "replies": n} for name, n in sorted(out.items(), key=lambda x: -x[1])]


def _named(groups: dict[Any, Group], named: Iterable[Any]) -> list[dict[str, Any]]:
    names = {row.pk: str(row) for row in named}
    return [
        {"id": key, "name": names.get(key, "unassigned" if key is None else "?"), **g.summary()}
        for key, g in sorted(groups.items(), key=lambda kv: -kv[1].conversations)
    ]


def duration(seconds: float | None) -> str:
    """Business seconds as people read them: "—", "12 min", "3.5 h", "2.1 days" (8 h)."""
    if seconds is None:
        return "—"
    minutes = seconds / 60
    if minutes < 60:
        return f"{minutes:.0f} min"
    hours = minutes / 60
    if hours < 24:
        return f"{hours:.1f} h"
    return f"{hours / 24:.1f} days"


CSV_COLUMNS = [
    "section",
    "name",
    "conversations",
    "answered",
    "first_response_median_s",
    "first_response_p90_s",
    "resolution_median_s",
    "resolution_p90_s",
    "sla_hit_rate",
    "inbound_positive",
    "inbound_neutral",
    "inbound_negative",
]


def report_csv(report: dict[str, Any]) -> str:
    """The report as one CSV table, a row per slice: ``total``, each ``channel``, each
    ``person`` (times in business seconds, the hit rate from 0 to 1), then each ``day``
    (its date as the name, inbound messages by sentiment and its first responses). Names are
    the users' words: none may start a formula (``csv_cells``)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)

    def cell(value: Any) -> str:
        return "" if value is None else str(value)

    slices = [("total", {"name": "all conversations", **report["totals"]})]
    slices += [("channel", row) for row in report["per_channel"]]
    slices += [("person", row) for row in report["per_person"]]
    for section, row in slices:
        values = [section, *[cell(row.get(name)) for name in CSV_COLUMNS[1:9]], "", "", ""]
        writer.writerow(safe_row(values))
    for day in report["per_day"]:
        inbound = day["inbound"]
        writer.writerow(
            [
                "day",
                day["day"].isoformat(),
                "",
                str(day["answered"]),
                cell(day["first_response_median_s"]),
                "",
                "",
                "",
                "",
                *[str(inbound[value]) for value in ("positive", "neutral", "negative")],
            ]
        )
    return buffer.getvalue()
