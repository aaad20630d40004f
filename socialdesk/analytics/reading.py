"""Reading the numbers (issue 14, item 4): every query of the Analytics pages and their API.

One place for the figures, so the pages, the API and the CSV exports say the same thing:

- ``overview``: a period against the one before it (posts, engagement, engagement rate,
  followers change, top posts).
- ``ranking``: posts ranked by one metric, each against its channel's benchmark
  (``benchmarks``: one query per page, whatever the page size).
- ``pillars`` and ``campaigns``: the mix against its target shares, campaigns' results.
- ``workflow_figures``: the workflow's and the inbox's own numbers, read from
  ``workflow.health`` and ``inbox.numbers`` (not computed twice).

A post's numbers are read from its deliveries' metric snapshots. "Engagement" is likes +
reposts + replies + quotes, each counted where the network gives it (a metric a network does
not give is None, and adds nothing). Unless a fixed age is asked for, a delivery counts with
its latest reading (its highest bucket), so a post published yesterday counts with its +24 h
numbers: comparing periods is fair only for periods old enough, and the page says so.
The overview's figures per channel and day come from the daily rollup of those latest
readings (``rollups.reading_days``), which says the same as summing them, in fewer rows.
"""

from __future__ import annotations

import math
from bisect import bisect_right
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import connection
from django.db.models import (
    Case,
    Count,
    DateField,
    F,
    Func,
    QuerySet,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Coalesce, TruncDate
from django.utils import timezone

from socialdesk.content.models import Campaign, Pillar
from socialdesk.networks.metrics import network_metrics
from socialdesk.networks.models import Channel, Network
from socialdesk.publishing.models import BoostSpend
from socialdesk.workspaces.models import Workspace

from .clicks import clicks_per
from .models import (
    BUCKETS,
    BenchmarkWindow,
    Bucket,
    ChannelDay,
    Conversion,
    MetricSnapshot,
    ShortLink,
)

PRESETS = (7, 28, 90)
DEFAULT_DAYS = 28
MAX_DAYS = 400
# The days a period may name: wide enough for any real history, and far from date.min and
# date.max, so "the period before" and "the day after" are always dates.
EARLIEST, LATEST = date(1970, 1, 1), date(2999, 12, 31)
INTERACTIONS = ("likes", "reposts", "replies", "quotes")
# What a ranking may sort by: the snapshot's metrics, and engagement (their sum).
RANK_METRICS = ("engagement", "likes", "reposts", "replies", "quotes", "views", "clicks")
PAGE_SIZE = 25
MAX_PAGE = 200  # bounded offset: 5,000 posts deep is far past what a person pages through
BENCHMARK_MONTHS = 6
MIN_BENCHMARK = 5  # fewer earlier posts than this: "not enough history", no quartiles
# A stored benchmark window still open to new readings is recomputed when older than this:
# a benchmark is context, and six months of posts move little in an hour.
BENCHMARK_FRESH = timedelta(hours=1)


def engagement_expression() -> Any:
    """likes + reposts + replies + quotes, a metric the network does not give adding 0."""
    total: Any = Value(0)
    for name in INTERACTIONS:
        total = total + Coalesce(F(name), Value(0))
    return total


def _metric_expression(metric: str) -> Any:
    return engagement_expression() if metric == "engagement" else F(metric)


# --- Periods ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Period:
    """Whole local days of the workspace's zone: ``first`` to ``last`` included; ``start`` and
    ``end`` (excluded) are the same as aware datetimes."""

    first: date
    last: date
    start: datetime
    end: datetime

    @property
    def days(self) -> int:
        return (self.last - self.first).days + 1

    def previous(self) -> Period:
        """The period of the same length just before this one."""
        return make_period(self.start.tzinfo, self.first - timedelta(days=self.days), self.days)


def make_period(zone: Any, first: date, days: int) -> Period:
    last = first + timedelta(days=days - 1)
    return Period(
        first=first,
        last=last,
        start=datetime.combine(first, time.min, tzinfo=zone),
        end=datetime.combine(last + timedelta(days=1), time.min, tzinfo=zone),
    )


def parse_period(
    workspace: Workspace,
    days: str | int | None = None,
    first: str | date | None = None,
    last: str | date | None = None,
    today: date | None = None,
) -> Period:
    """The period a page or the API asked for: a preset (``days``: 7, 28 or 90, ending today)
    or a custom range (``first`` and ``last``, ISO dates, both included). Raises
    ``ValidationError`` with a message a person can act on; nothing given means the last 28
    days."""
    zone = workspace.zone
    today = today or timezone.now().astimezone(zone).date()
    if first or last:
        if not (first and last):
            raise ValidationError("Give both the first and the last day of the range.")
        start_day, end_day = _day(first, "first"), _day(last, "last")
        for day in (start_day, end_day):
            if not EARLIEST <= day <= LATEST:
                raise ValidationError(f"A day is between {EARLIEST} and {LATEST}: not {day}.")
        if end_day < start_day:
            raise ValidationError("The last day is before the first day.")
        if (end_day - start_day).days + 1 > MAX_DAYS:
            raise ValidationError(f"A period is at most {MAX_DAYS} days long.")
        return make_period(zone, start_day, (end_day - start_day).days + 1)
    if days in (None, ""):
        count = DEFAULT_DAYS
    else:
        try:
            count = int(days)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            count = -1
        if count not in PRESETS:
            raise ValidationError("Choose 7, 28 or 90 days, or give a first and a last day.")
    return make_period(zone, today - timedelta(days=count - 1), count)


def _day(value: str | date, name: str) -> date:
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise ValidationError(
            f"The {name} day is not a date (YYYY-MM-DD): {value[:20]!r}."
        ) from None


# --- Snapshots of a period -------------------------------------------------------------------


def _channel_ids(workspace: Workspace, channel_ids: list[int] | None = None) -> list[int]:
    channels = Channel.objects.filter(workspace=workspace)
    if channel_ids is not None:
        channels = channels.filter(pk__in=channel_ids)
    return list(channels.values_list("pk", flat=True))


def latest_readings(channel_ids: list[int], start: datetime, end: datetime) -> QuerySet:
    """Each delivery published in [start, end) on these channels, as its latest snapshot
    (``latest``, kept by ``metrics.mark_latest``): read from ``snapshot_latest_idx``."""
    return MetricSnapshot.objects.filter(
        channel_id__in=channel_ids, latest=True, published_at__gte=start, published_at__lt=end
    )


def local_day(period: Period) -> Any:
    """``published_at``'s day in the period's zone, as a database expression.

    PostgreSQL converts in SQL (``AT TIME ZONE``). On SQLite Django's conversion is a Python
    function called per row, which costs more than the rest of the query on a busy period;
    there the day is SQLite's own ``date(published_at, '+N minutes')``, with N the zone's
    UTC offset, one CASE branch per stretch of the period with the same offset (a
    daylight-saving change makes two).
    """
    zone = period.start.tzinfo
    if connection.vendor != "sqlite":
        return TruncDate("published_at", tzinfo=zone)
    stretches = _stretches(period.start.astimezone(UTC), period.end.astimezone(UTC), zone)
    whens = [
        When(published_at__lt=until, then=_shifted(minutes)) for until, minutes in stretches[:-1]
    ]
    last = _shifted(stretches[-1][1])
    return Case(*whens, default=last, output_field=DateField()) if whens else last


def _stretches(start: datetime, end: datetime, zone: Any) -> list[tuple[datetime, int]]:
    """(until, UTC offset in minutes) of each stretch of [start, end) with one offset: a day
    at a time, then to the quarter hour in the day the offset changes."""
    found = []
    offset = _minutes(start, zone)
    day = start
    while day < end:
        following = min(day + timedelta(days=1), end)
        if _minutes(following, zone) != offset:
            change = day
            while _minutes(change, zone) == offset:
                change += timedelta(minutes=15)
            found.append((change, offset))
            offset = _minutes(change, zone)
        day = following
    found.append((end, offset))
    return found


def _minutes(at: datetime, zone: Any) -> int:
    delta = at.astimezone(zone).utcoffset() or timedelta(0)
    return int(delta.total_seconds() // 60)


def _shifted(minutes: int) -> Any:
    return Func(
        F("published_at"), Value(f"{minutes:+d} minutes"), function="date", output_field=DateField()
    )


def _readings_at(
    channel_ids: list[int], start: datetime, end: datetime, age: int | None
) -> QuerySet:
    if age is None:
        return latest_readings(channel_ids, start, end)
    return MetricSnapshot.objects.filter(
        channel_id__in=channel_ids, bucket=age, published_at__gte=start, published_at__lt=end
    )


# --- Clicks, conversions, ROI ----------------------------------------------------------------


def link_figures(
    workspace: Workspace, *, campaign_ids: list[int] | None = None
) -> dict[int, Any] | None:
    """Clicks on the campaigns' short links, and the orders attributed to them with their
    value: ``{campaign_id: {"clicks", "conversions", "value", "currency"}}``, or None while
    the workspace has no short link at all (pages then say "no click data yet").

    A campaign's orders may come in several currencies; the value is the sum in the currency
    most of them use, and the others are counted but not added (no exchange rate is
    invented)."""
    links = ShortLink.objects.filter(workspace=workspace)
    if not links.exists():
        return None
    if campaign_ids is not None:
        links = links.filter(campaign_id__in=campaign_ids)
    figures: dict[int, Any] = {}
    for campaign_id, clicks in clicks_per(links.exclude(campaign=None), "campaign_id").items():
        figures[campaign_id] = {"clicks": clicks, "conversions": 0, "value": None, "currency": ""}
    orders = Conversion.objects.filter(workspace=workspace, attributed=True).exclude(campaign=None)
    if campaign_ids is not None:
        orders = orders.filter(campaign_id__in=campaign_ids)
    by_currency: dict[int, list[tuple[str, int, Decimal]]] = {}
    for campaign_id, currency, count, value in (
        orders.values("campaign_id", "currency")
        .annotate(n=Count("id"), total=Sum("value"))
        .values_list("campaign_id", "currency", "n", "total")
    ):
        by_currency.setdefault(campaign_id, []).append((currency, count, value))
    for campaign_id, rows in by_currency.items():
        row = figures.setdefault(
            campaign_id, {"clicks": 0, "conversions": 0, "value": None, "currency": ""}
        )
        currency, _count, value = max(rows, key=lambda item: item[1])
        row |= {
            "conversions": sum(count for _c, count, _v in rows),
            "value": value,
            "currency": currency,
        }
    return figures


# --- Overview --------------------------------------------------------------------------------


def rate_formula(network: str) -> str:
    """How a network's engagement rate is computed, in words, from what it gives."""
    gives = {info.metric for info in network_metrics(network).gives}
    counted = [name for name in INTERACTIONS if name in gives]
    label = str(Network(network).label)
    if not counted:
        return f"{label}: no rate (Socialdesk reads no interactions here)."
    if "followers" not in gives:
        return f"{label}: no rate ({label} gives no follower count)."
    return (
        f"{label}: ({' + '.join(counted)}) ÷ followers on the day each post was published, "
        "summed over the period's posts."
    )


def _followers_by_day(
    channel_ids: list[int], first: date, last: date
) -> dict[int, list[tuple[date, int]]]:
    """Each channel's known follower counts from a month before ``first`` to ``last``."""
    rows = (
        ChannelDay.objects.filter(
            channel_id__in=channel_ids,
            day__gte=first - timedelta(days=31),
            day__lte=last,
            followers__isnull=False,
        )
        .order_by("channel_id", "day")
        .values_list("channel_id", "day", "followers")
    )
    known: dict[int, list[tuple[date, int]]] = defaultdict(list)
    for channel_id, day, followers in rows:
        known[channel_id].append((day, followers))
    return known


def _on_or_before(days: list[tuple[date, int]], day: date) -> int | None:
    """The follower count last known on or before ``day`` (``days`` is in day order)."""
    index = bisect_right(days, (day, math.inf))
    return days[index - 1][1] if index else None


def _figures(workspace: Workspace, channels: dict[int, Channel], period: Period) -> dict[str, Any]:
    from .rollups import reading_days  # rollups reads this module's engagement_expression

    ids = list(channels)
    # Per channel and local day, from the daily rollup: channels × days rows, whatever the
    # number of posts and snapshots.
    per_day = reading_days(ids, period.start.tzinfo or UTC, period.first, period.last)
    followers = _followers_by_day(ids, period.first, period.last)
    by_network: dict[str, dict[str, Any]] = {}
    engagement = 0
    for row in per_day:
        network = channels[row["channel_id"]].network
        slot = by_network.setdefault(
            network, {"engagement": 0, "audience": 0, "rated_engagement": 0, "posts": 0}
        )
        slot["engagement"] += row["engagement"] or 0
        slot["posts"] += row["posts"]
        engagement += row["engagement"] or 0
        audience = _on_or_before(followers.get(row["channel_id"], []), row["day"])
        if audience:
            slot["audience"] += audience * row["posts"]
            slot["rated_engagement"] += row["engagement"] or 0
    rates = {}
    for network, slot in sorted(by_network.items()):
        rate = slot["rated_engagement"] / slot["audience"] if slot["audience"] else None
        rates[network] = {
            "network": network,
            "label": str(Network(network).label),
            "posts": slot["posts"],
            "engagement": slot["engagement"],
            "rate": rate,
            "formula": rate_formula(network),
        }
    published = _published_deliveries(workspace, ids, period.start, period.end).aggregate(
        posts=Count("post_id", distinct=True), deliveries=Count("id")
    )
    days: dict[date, dict[str, int]] = {}
    for row in per_day:
        day = days.setdefault(row["day"], {"posts": 0, "engagement": 0})
        day["posts"] += row["posts"]
        day["engagement"] += row["engagement"] or 0
    return {
        "period": period,
        "posts": published["posts"],
        "deliveries": published["deliveries"],
        "days": days,
        "measured": sum(slot["posts"] for slot in by_network.values()),
        "engagement": engagement,
        "rates": list(rates.values()),
        "followers_change": _followers_change(followers, ids, period),
    }


def _published_deliveries(
    workspace: Workspace, channel_ids: list[int], start: datetime, end: datetime
) -> QuerySet:
    """The deliveries published in [start, end) on these channels (``delivery_published_idx``)."""
    from socialdesk.publishing.models import Delivery, DeliveryState

    return Delivery.objects.filter(
        workspace=workspace,
        channel_id__in=channel_ids,
        state=DeliveryState.PUBLISHED,
        published_at__gte=start,
        published_at__lt=end,
    )


def _followers_change(
    followers: dict[int, list[tuple[date, int]]], channel_ids: list[int], period: Period
) -> int | None:
    """Followers at the period's last known day minus the last known before it began, summed
    over the channels where both are known; None when none has both."""
    total = None
    for channel_id in channel_ids:
        days = followers.get(channel_id, [])
        before = _on_or_before(days, period.first - timedelta(days=1))
        after = _on_or_before(days, period.last)
        if before is None:
            # Nothing before the period: its first day in it stands for the start.
            inside = [f for d, f in days if d >= period.first]
            before = inside[0] if len(inside) > 1 else None
        if before is not None and after is not None:
            total = (total or 0) + after - before
    return total


def change(current: float | int | None, previous: float | int | None) -> dict[str, Any]:
    """How ``current`` moved from ``previous``: direction and percent, None where the
    comparison would say nothing (no previous figure, or zero before)."""
    if current is None or previous is None:
        return {"direction": None, "percent": None}
    direction = "up" if current > previous else "down" if current < previous else "same"
    percent = round(100 * (current - previous) / abs(previous), 1) if previous else None
    return {"direction": direction, "percent": percent}


def top_posts(channels: dict[int, Channel], period: Period, limit: int = 5) -> list[dict[str, Any]]:
    """The period's ``limit`` deliveries with the most engagement (latest readings). The
    winners are found first on the snapshots alone, then only they are joined to their
    posts: SQLite would otherwise join every reading of the period before sorting."""
    order = ("-value", "-published_at", "-id")
    readings = latest_readings(list(channels), period.start, period.end).annotate(
        value=engagement_expression()
    )
    best = list(readings.order_by(*order).values_list("id", flat=True)[:limit])
    rows = MetricSnapshot.objects.filter(pk__in=best).annotate(value=engagement_expression())
    return [_row(row, channels) for row in rows.order_by(*order).values(*_ROW_FIELDS, "value")]


def overview(workspace: Workspace, period: Period) -> dict[str, Any]:
    """The period's figures beside the previous period's, with their changes."""
    channels = {c.pk: c for c in Channel.objects.filter(workspace=workspace)}
    current = _figures(workspace, channels, period)
    previous = _figures(workspace, channels, period.previous())
    changes = {
        name: change(current[name], previous[name])
        for name in ("posts", "engagement", "followers_change")
    }
    previous_rates = {row["network"]: row["rate"] for row in previous["rates"]}
    for row in current["rates"]:
        row["previous_rate"] = previous_rates.get(row["network"])
        row["change"] = change(row["rate"], row["previous_rate"])
        for name in ("rate", "previous_rate"):
            row[f"{name}_percent"] = round(100 * row[name], 2) if row[name] is not None else None
    return {
        "current": current,
        "previous": previous,
        "daily": every_day(period, current["days"]),
        "changes": changes,
        "top_posts": top_posts(channels, period),
        # Readings keep coming for six months: a young period's engagement is still growing.
        "young": period.end > timezone.now() - timedelta(days=7),
        "enough_data": current["measured"] > 0 and previous["measured"] > 0,
    }


# --- Ranking ---------------------------------------------------------------------------------


@dataclass
class RankingFilters:
    period: Period
    metric: str = "engagement"
    age: int | None = None  # a bucket (hours), or None for each post's latest reading
    ascending: bool = False
    channel: int | None = None
    network: str | None = None
    pillar: int | None = None
    campaign: int | None = None
    label: int | None = None
    author: int | None = None
    page: int = 1

    def __post_init__(self) -> None:
        errors = []
        if self.metric not in RANK_METRICS:
            errors.append(f"Rank by one of: {', '.join(RANK_METRICS)}.")
        if self.age is not None and self.age not in BUCKETS:
            errors.append("The age is one of the snapshot ages (1, 6, 24, 72, 168 … 4320 hours).")
        if self.network is not None and self.network not in Network.values:
            errors.append(f"The network is one of: {', '.join(Network.values)}.")
        if not 1 <= self.page <= MAX_PAGE:
            errors.append(f"The page is between 1 and {MAX_PAGE}.")
        if errors:
            raise ValidationError(errors)


_ROW_FIELDS = (
    "id",
    "delivery_id",
    "channel_id",
    "bucket",
    "published_at",
    "delivery__post_id",
    "delivery__post__title",
    "delivery__post__text",
    "delivery__remote_url",
)


def _row(row: dict[str, Any], channels: dict[int, Channel]) -> dict[str, Any]:
    channel = channels[row["channel_id"]]
    title = row["delivery__post__title"] or row["delivery__post__text"] or ""
    return {
        "delivery_id": row["delivery_id"],
        "post_id": row["delivery__post_id"],
        "title": title if len(title) <= 80 else title[:79] + "…",
        "channel_id": channel.pk,
        "channel": channel.display_name or channel.handle,
        "network": channel.network,
        "published_at": row["published_at"],
        "bucket": row["bucket"],
        "age": str(Bucket(row["bucket"]).label),
        "value": row["value"],
        "url": row["delivery__remote_url"],
    }


@dataclass
class RankingPage:
    rows: list[dict[str, Any]]
    page: int
    has_next: bool
    filters: RankingFilters
    notes: list[str] = field(default_factory=list)


def ranking(workspace: Workspace, filters: RankingFilters) -> RankingPage:
    """One page of posts (deliveries) published in the period, ranked by ``filters.metric`` at
    ``filters.age`` (or each one's latest reading), each with its benchmark (``benchmarks``).

    Bounded offset pagination: the page after the last one shown is known from one extra row,
    no count. A metric the network does not give is None, ranked last whatever the order.
    """
    channels = {c.pk: c for c in Channel.objects.filter(workspace=workspace)}
    ids = [
        pk
        for pk, channel in channels.items()
        if (filters.channel is None or pk == filters.channel)
        and (filters.network is None or channel.network == filters.network)
    ]
    readings = _readings_at(ids, filters.period.start, filters.period.end, filters.age)
    if filters.pillar is not None:
        readings = readings.filter(delivery__post__pillar_id=filters.pillar)
    if filters.campaign is not None:
        readings = readings.filter(delivery__post__campaign_id=filters.campaign)
    if filters.label is not None:
        readings = readings.filter(delivery__post__labels=filters.label)
    if filters.author is not None:
        readings = readings.filter(delivery__post__author_id=filters.author)
    value = _metric_expression(filters.metric)
    ordered = value.asc(nulls_last=True) if filters.ascending else value.desc(nulls_last=True)
    tie = "published_at" if filters.ascending else "-published_at"
    offset = (filters.page - 1) * PAGE_SIZE
    found = list(
        readings.annotate(value=value)
        .order_by(ordered, tie, "-id")
        .values(*_ROW_FIELDS, "value")[offset : offset + PAGE_SIZE + 1]
    )
    rows = [_row(row, channels) for row in found[:PAGE_SIZE]]
    marks = benchmarks(workspace, rows, filters.metric)
    for row in rows:
        row["benchmark"] = marks.get((row["channel_id"], row["bucket"], _month(row, workspace)))
        row["position"] = position(row["value"], row["benchmark"])
    return RankingPage(
        rows=rows, page=filters.page, has_next=len(found) > PAGE_SIZE, filters=filters
    )


# --- Benchmarks ------------------------------------------------------------------------------


def _month(row: dict[str, Any], workspace: Workspace) -> date:
    local = row["published_at"].astimezone(workspace.zone)
    return local.date().replace(day=1)


def _months_before(month: date, count: int) -> date:
    index = month.year * 12 + month.month - 1 - count
    return date(index // 12, index % 12 + 1, 1)


def benchmarks(
    workspace: Workspace,
    rows: list[dict[str, Any]],
    metric: str,
    now: datetime | None = None,
) -> dict[tuple[int, int, date], dict[str, Any]]:
    """Each row's benchmark: quartiles of ``metric`` over the same channel's posts of the six
    months before the row's month (whole months of the workspace's zone), at the row's bucket.

    Whole months, not "the 182 days before each post", so that the posts of one month share
    one benchmark: a page needs at most one window per (channel, bucket, month). The windows
    are read from ``BenchmarkWindow`` in one query; those missing or stale are computed in
    ONE statement (``_compute``) and stored, so a page costs one query, or three the first
    time its windows are asked for, whatever its size. Returns {(channel, bucket, month):
    {"n", "q1", "median", "q3"}}, without the windows that have no earlier post.
    """
    if metric not in RANK_METRICS:
        raise ValueError(metric)
    now = now or timezone.now()
    keys = sorted({(row["channel_id"], row["bucket"], _month(row, workspace)) for row in rows})
    if not keys:
        return {}
    stored = {
        (w.channel_id, w.bucket, w.month): w
        for w in BenchmarkWindow.objects.filter(
            channel_id__in={k[0] for k in keys},
            bucket__in={k[1] for k in keys},
            month__in={k[2] for k in keys},
            metric=metric,
        )
    }
    zone = workspace.zone
    fresh = {key: stored[key] for key in keys if key in stored and _fresh(stored[key], zone, now)}
    missing = [key for key in keys if key not in fresh]
    if missing:
        computed = _compute(missing, metric, zone)
        windows = [
            BenchmarkWindow(
                channel_id=channel_id,
                bucket=bucket,
                month=month,
                metric=metric,
                posts=figures["n"],
                q1=figures["q1"],
                median=figures["median"],
                q3=figures["q3"],
                computed_at=now,
            )
            for (channel_id, bucket, month), figures in computed.items()
        ]
        BenchmarkWindow.objects.bulk_create(
            windows,
            update_conflicts=True,
            unique_fields=["channel", "bucket", "month", "metric"],
            update_fields=["posts", "q1", "median", "q3", "computed_at"],
        )
        fresh.update({(w.channel_id, w.bucket, w.month): w for w in windows})
    return {
        key: {"n": w.posts, "q1": w.q1, "median": w.median, "q3": w.q3}
        for key, w in fresh.items()
        if w.posts
    }


def _fresh(window: BenchmarkWindow, zone: Any, now: datetime) -> bool:
    """Final (no post of the window can be read at its age any more), or recent enough."""
    month_start = datetime.combine(window.month, time.min, tzinfo=zone)
    final = month_start + timedelta(hours=window.bucket)
    return window.computed_at >= final or now - window.computed_at < BENCHMARK_FRESH


def _compute(
    keys: list[tuple[int, int, date]], metric: str, zone: Any
) -> dict[tuple[int, int, date], dict[str, Any]]:
    """The windows' quartiles in one statement: a UNION ALL of one SELECT per window, each
    ordered by the database and cut at its quartiles (nearest rank, with window functions,
    which SQLite and PostgreSQL both have), on the (channel, bucket, published_at) index. A
    window without a post has n = 0."""
    table = MetricSnapshot._meta.db_table
    if metric == "engagement":
        value_sql = " + ".join(f"COALESCE({name}, 0)" for name in INTERACTIONS)
    else:
        value_sql = metric  # one of RANK_METRICS: a column name, never user text
    adapt = connection.ops.adapt_datetimefield_value  # SQLite: UTC text, as stored
    parts, params = [], []
    for index, (channel_id, bucket, month) in enumerate(keys):
        start = datetime.combine(_months_before(month, BENCHMARK_MONTHS), time.min, tzinfo=zone)
        end = datetime.combine(month, time.min, tzinfo=zone)
        # The only text put in is our own: an index, a column expression, the table's name.
        parts.append(
            f"SELECT {index} AS k, rn, n, v FROM ("  # noqa: S608
            f" SELECT v, ROW_NUMBER() OVER (ORDER BY v) AS rn, COUNT(*) OVER () AS n FROM ("
            f"  SELECT {value_sql} AS v FROM {table}"
            "   WHERE channel_id = %s AND bucket = %s AND published_at >= %s AND published_at < %s"
            " ) s WHERE v IS NOT NULL"
            ") r WHERE rn = (n + 3) / 4 OR rn = (2 * n + 3) / 4 OR rn = (3 * n + 3) / 4"
        )
        params += [channel_id, bucket, adapt(start), adapt(end)]
    with connection.cursor() as cursor:
        cursor.execute(" UNION ALL ".join(parts), params)
        found = cursor.fetchall()
    cuts: dict[int, dict[int, Any]] = defaultdict(dict)
    sizes: dict[int, int] = {}
    for index, rank, size, value in found:
        cuts[index][rank] = value
        sizes[index] = size
    result: dict[tuple[int, int, date], dict[str, Any]] = {}
    for index, key in enumerate(keys):
        n = sizes.get(index, 0)
        if not n:
            result[key] = {"n": 0, "q1": None, "median": None, "q3": None}
            continue
        ranks = [max(1, math.ceil(share * n / 4)) for share in (1, 2, 3)]
        q1, median, q3 = (cuts[index][rank] for rank in ranks)
        result[key] = {"n": n, "q1": q1, "median": median, "q3": q3}
    return result


def position(value: int | None, benchmark: dict[str, Any] | None) -> str:
    """Where a value stands against its benchmark: "top quartile", "above", "median",
    "below", "bottom quartile"; "no history" when fewer than ``MIN_BENCHMARK`` earlier posts,
    "no reading" when the network does not give the metric."""
    if value is None:
        return "no reading"
    if benchmark is None or benchmark["n"] < MIN_BENCHMARK:
        return "no history"
    if value > benchmark["q3"]:
        return "top quartile"
    if value < benchmark["q1"]:
        return "bottom quartile"
    if value > benchmark["median"]:
        return "above"
    if value < benchmark["median"]:
        return "below"
    return "median"


# --- Pillars and campaigns -------------------------------------------------------------------


def pillars(workspace: Workspace, period: Period) -> list[dict[str, Any]]:
    """Each pillar's share of the period's published posts beside its target share, and its
    engagement (latest readings). Posts without a pillar make a row of their own."""
    from socialdesk.content.models import Post

    ids = _channel_ids(workspace)
    delivered = _published_deliveries(workspace, ids, period.start, period.end)
    posts = (
        Post.objects.filter(workspace=workspace, pk__in=delivered.values("post_id"))
        .values("pillar_id")
        .annotate(posts=Count("id"))
        .order_by()
    )
    counts = {row["pillar_id"]: row["posts"] for row in posts}
    engagement = {
        row["delivery__post__pillar_id"]: row["total"]
        for row in latest_readings(ids, period.start, period.end)
        .values("delivery__post__pillar_id")
        .annotate(total=Sum(engagement_expression()))
        .order_by()
    }
    total = sum(counts.values())
    rows = []
    for pillar in Pillar.objects.filter(workspace=workspace):
        rows.append(
            _pillar_row(pillar.pk, pillar.name, pillar.target_share, counts, engagement, total)
        )
    if counts.get(None):
        rows.append(_pillar_row(None, "No pillar", None, counts, engagement, total))
    return rows


def _pillar_row(
    pk: int | None,
    name: str,
    target: int | None,
    counts: dict[Any, int],
    engagement: dict[Any, int],
    total: int,
) -> dict[str, Any]:
    posts = counts.get(pk, 0)
    share = round(100 * posts / total, 1) if total else None
    return {
        "pillar_id": pk,
        "name": name,
        "posts": posts,
        "share": share,
        "target_share": target,
        "gap": round(share - target, 1) if share is not None and target is not None else None,
        "engagement": engagement.get(pk, 0),
        "engagement_per_post": round(engagement.get(pk, 0) / posts, 1) if posts else None,
    }


def campaigns(workspace: Workspace, period: Period) -> list[dict[str, Any]]:
    """Campaigns running in the period: posts published in it, engagement, budget, boost spend
    (``publishing.BoostSpend``), and clicks, conversions and ROI through ``link_figures``."""
    running = Campaign.objects.filter(
        workspace=workspace, starts_on__lte=period.last, ends_on__gte=period.first
    )
    ids = _channel_ids(workspace)
    posts = {
        row["post__campaign_id"]: row["posts"]
        for row in _published_deliveries(workspace, ids, period.start, period.end)
        .filter(post__campaign__in=running)
        .values("post__campaign_id")
        .annotate(posts=Count("post_id", distinct=True))
        .order_by()
    }
    engagement = {
        row["delivery__post__campaign_id"]: row["total"]
        for row in latest_readings(ids, period.start, period.end)
        .filter(delivery__post__campaign__in=running)
        .values("delivery__post__campaign_id")
        .annotate(total=Sum(engagement_expression()))
        .order_by()
    }
    spend = {
        row["delivery__post__campaign_id"]: row["total"]
        for row in BoostSpend.objects.filter(
            workspace=workspace, delivery__post__campaign__in=running
        )
        .values("delivery__post__campaign_id")
        .annotate(total=Sum("amount"))
        .order_by()
    }
    links = link_figures(workspace, campaign_ids=[c.pk for c in running])
    rows = []
    for campaign in running:
        none_yet = {"clicks": 0, "conversions": 0, "value": None, "currency": ""}
        figures = links.get(campaign.pk, none_yet) if links is not None else None
        spent = spend.get(campaign.pk) or Decimal(0)
        value = figures["value"] if figures else None
        rows.append(
            {
                "campaign_id": campaign.pk,
                "name": campaign.name,
                "starts_on": campaign.starts_on,
                "ends_on": campaign.ends_on,
                "posts": posts.get(campaign.pk, 0),
                "engagement": engagement.get(campaign.pk, 0),
                "budget": campaign.budget,
                "spend": spent,
                "clicks": figures["clicks"] if figures else None,
                "conversions": figures["conversions"] if figures else None,
                "roi": round((value - spent) / spent, 2) if value is not None and spent else None,
            }
        )
    return rows


# --- The workflow's and the inbox's figures --------------------------------------------------


def workflow_figures(workspace: Workspace, period: Period) -> dict[str, Any]:
    """Cycle time and on-time rate (``workflow.health``) and the inbox's response times
    (``inbox.numbers``) for the period: read there, so both pages agree."""
    from socialdesk.inbox.numbers import inbox_report
    from socialdesk.workflow.health import figures

    flow = figures(workspace, period.start, period.end)
    inbox = inbox_report(workspace, period.start, period.end)
    return {
        "published_posts": flow["published_posts"],
        "cycle_median_hours": flow["cycle_median_hours"],
        "cycle_p90_hours": flow["cycle_p90_hours"],
        "on_time_rate": flow["on_time_rate"],
        "revisions_per_post": flow["revisions_per_post"],
        "approval_turnaround_hours": flow["approval_turnaround_hours"],
        "conversations": inbox["totals"]["conversations"],
        "first_response_median_s": inbox["totals"]["first_response_median_s"],
        "first_response_p90_s": inbox["totals"]["first_response_p90_s"],
        "resolution_median_s": inbox["totals"]["resolution_median_s"],
        "sla_hit_rate": inbox["totals"]["sla_hit_rate"],
    }


# --- Charts ----------------------------------------------------------------------------------


def daily_engagement(workspace: Workspace, period: Period) -> list[dict[str, Any]]:
    """Posts and engagement per local day of the period (latest readings), every day listed."""
    ids = _channel_ids(workspace)
    rows = (
        latest_readings(ids, period.start, period.end)
        .annotate(day=local_day(period))
        .values("day")
        .annotate(posts=Count("delivery_id"), engagement=Sum(engagement_expression()))
        .order_by()
    )
    return every_day(period, {row["day"]: row for row in rows})


def every_day(period: Period, found: dict[date, Any]) -> list[dict[str, Any]]:
    """Each day of the period with its posts and engagement (0 for a day without any)."""
    days = []
    for offset in range(period.days):
        day = period.first + timedelta(days=offset)
        row = found.get(day, {})
        days.append(
            {"day": day, "posts": row.get("posts", 0), "engagement": row.get("engagement") or 0}
        )
    return days
