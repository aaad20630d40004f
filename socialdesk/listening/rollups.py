"""The daily rollup of a topic's mentions (``TopicDay``), and the figures the topic page
reads from it.

Why a rollup: the topic page must answer in ≤ 100 ms (p95) with a million mentions. Counting
a topic's matches per day and sentiment over 90 days reads every one of them; the rollup
holds at most one row per topic, day and sentiment, so volume, sentiment and share of voice
read a few hundred rows whatever the number of mentions.

How it stays right: ``refresh`` recounts the touched (topic, day) pairs from ``MentionMatch``
and writes the counts with an upsert. It runs inside ``matching.store_items``'s transaction,
after the matches are written, so a poll that stored nothing new, a re-run, or two polls
racing on the same item cannot count twice: the count is of the rows, not of the calls.
Accepted as inexact: a mention deleted later (a topic's deletion removes its days too) is
still counted until its day is refreshed again (``rebuild``).

Days are UTC days (the page says so): a workspace's time zone can change, a stored rollup
cannot follow it.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from django.db.models import Count, Q, Sum
from django.db.models.functions import TruncDate

from .models import MentionMatch, Topic, TopicDay, TopicKind

SENTIMENTS = ("positive", "neutral", "negative")


def day_of(moment: datetime) -> date:
    return moment.astimezone(UTC).date()


def day_start(day: date) -> datetime:
    return datetime.combine(day, time(), tzinfo=UTC)


def _counts(topic_id: int, start: date, end: date) -> list[TopicDay]:
    """The rollup rows of one topic from ``start`` to ``end`` (both included), counted."""
    rows = (
        MentionMatch.objects.filter(
            topic_id=topic_id,
            posted_at__gte=day_start(start),
            posted_at__lt=day_start(end + timedelta(days=1)),
        )
        .annotate(day=TruncDate("posted_at", tzinfo=UTC))
        .values("day", "sentiment")
        .annotate(
            n=Count("pk"),
            engagement_sum=Sum("mention__engagement"),
            engaged_n=Count("mention__engagement"),
        )
    )
    return [
        TopicDay(
            topic_id=topic_id,
            day=row["day"],
            sentiment=row["sentiment"] or "",
            mentions=row["n"],
            engagement=row["engagement_sum"] or 0,
            engaged=row["engaged_n"],
        )
        for row in rows
    ]


def _write(rows: list[TopicDay]) -> None:
    if rows:
        TopicDay.objects.bulk_create(
            rows,
            update_conflicts=True,
            unique_fields=["topic", "day", "sentiment"],
            update_fields=["mentions", "engagement", "engaged"],
            batch_size=500,
        )


def refresh(touched: Iterable[tuple[int, date]]) -> None:
    """Recount the (topic id, UTC day) pairs ``touched`` (see the module docstring)."""
    wanted = set(touched)
    spans: dict[int, tuple[date, date]] = {}
    for topic_id, day in wanted:
        low, high = spans.get(topic_id, (day, day))
        spans[topic_id] = (min(low, day), max(high, day))
    for topic_id, (low, high) in spans.items():
        rows = [row for row in _counts(topic_id, low, high) if (topic_id, row.day) in wanted]
        _write(rows)


def rebuild(topic_id: int) -> int:
    """Recount every day of one topic (after a bulk load, or to repair); returns the rows."""
    first = MentionMatch.objects.filter(topic_id=topic_id).order_by("posted_at").first()
    last = MentionMatch.objects.filter(topic_id=topic_id).order_by("-posted_at").first()
    TopicDay.objects.filter(topic_id=topic_id).delete()
    if first is None or last is None:
        return 0
    rows = _counts(topic_id, day_of(first.posted_at), day_of(last.posted_at))
    _write(rows)
    return len(rows)


def per_day(topic_id: int, start: date, end: date) -> list[dict[str, Any]]:
    """Every day from ``start`` to ``end``: mentions in all, and per sentiment (zeros kept,
    so a chart's days line up); plus the share of negative mentions."""
    days: dict[date, dict[str, Any]] = {}
    current = start
    while current <= end:
        days[current] = {"day": current, "total": 0, "engagement": 0}
        days[current].update({sentiment: 0 for sentiment in SENTIMENTS})
        current += timedelta(days=1)
    rows = TopicDay.objects.filter(topic_id=topic_id, day__gte=start, day__lte=end).values_list(
        "day", "sentiment", "mentions", "engagement"
    )
    for day, sentiment, mentions, engagement in rows:
        entry = days.get(day)
        if entry is None:
            continue
        entry["total"] += mentions
        entry["engagement"] += engagement
        key = sentiment if sentiment in SENTIMENTS else "neutral"
        entry[key] += mentions
    for entry in days.values():
        entry["negative_share"] = (
            round(100 * entry["negative"] / entry["total"], 1) if entry["total"] else None
        )
        rated = entry["positive"] + entry["negative"]
        entry["net"] = (
            round(100 * (entry["positive"] - entry["negative"]) / rated) if rated else None
        )
    return list(days.values())


def share_of_voice(topic: Topic, start: date, end: date) -> list[dict[str, Any]]:
    """The topic against the workspace's competitor topics (and its brand topics, when the
    topic is a competitor) over the period: mentions and engagement, each with its share in
    percent of all of them. The topic itself comes first. A theme is compared with nothing
    but itself and the competitors."""
    kinds = [TopicKind.BRAND, TopicKind.COMPETITOR]
    topics = list(
        Topic.objects.filter(workspace_id=topic.workspace_id, active=True, kind__in=kinds)
        .exclude(pk=topic.pk)
        .order_by("name")[:20]
    )
    everyone = [topic, *topics]
    sums = {
        row["topic_id"]: row
        for row in TopicDay.objects.filter(
            topic_id__in=[each.pk for each in everyone], day__gte=start, day__lte=end
        )
        .values("topic_id")
        .annotate(
            mentions_sum=Sum("mentions"),
            engagement_sum=Sum("engagement"),
            engaged_sum=Sum("engaged"),
            negative_sum=Sum("mentions", filter=Q(sentiment="negative")),
        )
    }
    all_mentions = sum((row["mentions_sum"] or 0) for row in sums.values())
    all_engagement = sum((row["engagement_sum"] or 0) for row in sums.values())
    result = []
    for each in everyone:
        row = sums.get(each.pk, {})
        mentions = row.get("mentions_sum") or 0
        engagement = row.get("engagement_sum") or 0
        result.append(
            {
                "topic": each,
                "name": each.name,
                "kind": each.get_kind_display(),
                "is_this": each.pk == topic.pk,
                "mentions": mentions,
                "mention_share": round(100 * mentions / all_mentions, 1) if all_mentions else 0.0,
                "engagement": engagement,
                "engagement_known": bool(row.get("engaged_sum")),
                "engagement_share": round(100 * engagement / all_engagement, 1)
                if all_engagement
                else None,
                "negative": row.get("negative_sum") or 0,
            }
        )
    return result
