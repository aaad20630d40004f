"""Best time to post, per channel, from its own history (issue 14 item 5).

The rule, stated here and on the page:

- **Window**: the posts the channel published in the last 16 weeks (``WINDOW``).
- **A post's engagement**: likes + reposts + replies + quotes (a metric the network does not
  give counts as nothing) at its **+24 h** snapshot; a post without one uses its +6 h, else its
  +3 d snapshot (the nearest ages that exist); a post with none of these is not counted.
- **Normalised per post**: each post's engagement is divided by its own channel's typical post
  (the recency-weighted mean engagement of that channel's posts in the window), so 1.0 is a
  typical post and a channel with a big audience does not drown a small one in the fallback.
- **Weighted to recent weeks**: a post's weight halves every 8 weeks of age (``HALF_LIFE``): a
  post of last week counts 1, one from 8 weeks ago ½, one from 16 weeks ago ¼.
- **Slot**: the weekday and hour the post went out, on its channel's own wall clock (so a
  post at 18:00 in Berlin is an 18:00 post in winter and in summer: DST weeks read right).
  A slot's score is the weighted mean of its posts' normalised engagement.
- **Confidence** from the count and the spread: the standard error of the slot's mean
  (weighted standard deviation / √n) relative to the score. *High*: 4 posts or more and an
  error ≤ 25 % of the score; *medium*: 2 posts or more and ≤ 50 %; else *low*.
- **Ranking** shrinks a slot toward a typical post (1.0) by ``PRIOR_WEIGHT`` posts' worth, so
  one lucky post does not make a best time.
- **Thin history**: fewer than ``MIN_OWN_POSTS`` (20) measured posts in the window. Then the
  workspace's other channels on the same network are pooled with this one (each post on its
  own channel's clock), and the page says so. Never industry averages. Fewer than
  ``MIN_ANY_POSTS`` (5) in the pool: "not enough history yet", and no slots.

Refreshed weekly for every channel by the worker's heartbeat (``on_heartbeat``, never raises).
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta

from django.db import transaction
from django.utils import timezone

from socialdesk.networks.models import Channel
from socialdesk.publishing import wallclock

from .models import BestTimes, BestTimeSlot, BestTimeSource, Bucket, MetricSnapshot

log = logging.getLogger(__name__)

WINDOW = timedelta(weeks=16)
HALF_LIFE = timedelta(weeks=8)
MIN_OWN_POSTS = 20
MIN_ANY_POSTS = 5
PRIOR_WEIGHT = 2.0
REFRESH_EVERY = timedelta(days=7)
# Channels refreshed per heartbeat at most, so that one beat stays short; the rest follow.
PER_BEAT = 20
# The ages read, nearest to +24 h first.
AGES = (Bucket.H24.value, Bucket.H6.value, Bucket.D3.value)
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
TOP = 3


RULE = (
    "Engagement (likes, reposts, replies and quotes) of each post at +24 h (else its +6 h or "
    "+3 d reading), relative to the channel's typical post (1.0 = typical), over the last 16 "
    "weeks, each post's weight halving every 8 weeks. Hours are the channel's own clock. "
    "Confidence: high with 4 posts or more whose spread keeps the error within 25 % of the "
    "score, medium with 2 or more and within 50 %, else low. Fewer than 20 posts of its own: "
    "the workspace's other channels on the network are pooled in. Refreshed weekly."
)


@dataclass
class PostReading:
    channel_id: int
    published_at: datetime
    engagement: int
    weekday: int = 0
    hour: int = 0
    weight: float = 1.0
    relative: float = 1.0


@dataclass
class SlotResult:
    weekday: int
    hour: int
    score: float
    weight: float
    posts: int
    confidence: str

    @property
    def rank_score(self) -> float:
        return (self.score * self.weight + PRIOR_WEIGHT) / (self.weight + PRIOR_WEIGHT)


@dataclass
class Computation:
    source: str
    own_posts: int
    posts: int
    zone: str
    slots: list[SlotResult] = field(default_factory=list)


def recency_weight(published_at: datetime, now: datetime) -> float:
    """Halves every ``HALF_LIFE`` of age."""
    age = max(timedelta(0), now - published_at)
    return 0.5 ** (age / HALF_LIFE)


def readings(channels: list[Channel], now: datetime) -> list[PostReading]:
    """Every measured post of ``channels`` in the window, with its engagement at +24 h (or the
    nearest age read), its slot on its own channel's clock, its weight and its engagement
    relative to its channel's typical post."""
    zones = {c.pk: c.zone for c in channels}
    rows = (
        MetricSnapshot.objects.filter(
            channel_id__in=list(zones),
            bucket__in=AGES,
            published_at__gte=now - WINDOW,
            published_at__lt=now,
        )
        .values_list(
            "delivery_id",
            "channel_id",
            "published_at",
            "bucket",
            "likes",
            "reposts",
            "replies",
            "quotes",
        )
        .order_by()
    )
    chosen: dict[int, tuple[int, PostReading]] = {}
    for delivery_id, channel_id, published_at, bucket, *counts in rows:
        preference = AGES.index(bucket)
        if delivery_id in chosen and chosen[delivery_id][0] <= preference:
            continue
        engagement = sum(count or 0 for count in counts)
        chosen[delivery_id] = (preference, PostReading(channel_id, published_at, engagement))
    posts = [reading for _, reading in chosen.values()]
    for post in posts:
        local = post.published_at.astimezone(zones[post.channel_id])
        post.weekday, post.hour = local.weekday(), local.hour
        post.weight = recency_weight(post.published_at, now)
    typical: dict[int, float] = {}
    for channel_id in zones:
        own = [p for p in posts if p.channel_id == channel_id]
        total = sum(p.weight for p in own)
        if total:
            typical[channel_id] = sum(p.weight * p.engagement for p in own) / total
    for post in posts:
        mean = typical.get(post.channel_id, 0.0)
        # A channel whose posts all had no engagement says nothing about hours: all typical.
        post.relative = post.engagement / mean if mean > 0 else 1.0
    return posts


def confidence(posts: int, score: float, spread: float) -> str:
    """High, medium or low, from the count and the standard error relative to the score."""
    if posts < 2 or score <= 0:
        return "low"
    relative_error = spread / math.sqrt(posts) / score
    if posts >= 4 and relative_error <= 0.25:
        return "high"
    if relative_error <= 0.5:
        return "medium"
    return "low"


def slots_of(posts: list[PostReading]) -> list[SlotResult]:
    by_slot: dict[tuple[int, int], list[PostReading]] = {}
    for post in posts:
        by_slot.setdefault((post.weekday, post.hour), []).append(post)
    results = []
    for (weekday, hour), members in sorted(by_slot.items()):
        weight = sum(p.weight for p in members)
        score = sum(p.weight * p.relative for p in members) / weight
        variance = sum(p.weight * (p.relative - score) ** 2 for p in members) / weight
        results.append(
            SlotResult(
                weekday=weekday,
                hour=hour,
                score=score,
                weight=weight,
                posts=len(members),
                confidence=confidence(len(members), score, math.sqrt(variance)),
            )
        )
    return results


def compute(channel: Channel, now: datetime) -> Computation:
    """The channel's best times from its own history, or, when that is thin, from the
    workspace's channels on the same network (see the module's docstring)."""
    zone = channel.zone.key
    own = readings([channel], now)
    if len(own) >= MIN_OWN_POSTS:
        return Computation(BestTimeSource.OWN, len(own), len(own), zone, slots_of(own))
    siblings = list(
        Channel.objects.filter(workspace_id=channel.workspace_id, network=channel.network)
        .exclude(pk=channel.pk)
        .select_related("workspace")
    )
    pool = readings([channel, *siblings], now) if siblings else own
    if len(pool) < MIN_ANY_POSTS:
        return Computation(BestTimeSource.NONE, len(own), len(pool), zone)
    source = BestTimeSource.NETWORK if siblings and len(pool) > len(own) else BestTimeSource.OWN
    return Computation(source, len(own), len(pool), zone, slots_of(pool))


def refresh(channel: Channel, now: datetime | None = None) -> BestTimes:
    """Compute the channel's best times and store them in place of the last ones."""
    now = now or timezone.now()
    result = compute(channel, now)
    with transaction.atomic():
        best, _ = BestTimes.objects.update_or_create(
            channel=channel,
            defaults={
                "workspace_id": channel.workspace_id,
                "computed_at": now,
                "source": result.source,
                "own_posts": result.own_posts,
                "posts": result.posts,
                "zone": result.zone,
            },
        )
        BestTimeSlot.objects.filter(best_times=best).delete()
        BestTimeSlot.objects.bulk_create(
            [
                BestTimeSlot(
                    best_times=best,
                    weekday=s.weekday,
                    hour=s.hour,
                    score=s.score,
                    weight=s.weight,
                    posts=s.posts,
                    confidence=s.confidence,
                )
                for s in result.slots
            ]
        )
    return best


def stale_channels(now: datetime, limit: int = PER_BEAT) -> list[Channel]:
    """Channels whose best times were never computed or are older than a week."""
    fresh = BestTimes.objects.filter(computed_at__gt=now - REFRESH_EVERY).values("channel_id")
    return list(
        Channel.objects.exclude(pk__in=fresh).select_related("workspace").order_by("pk")[:limit]
    )


def on_heartbeat(now: datetime | None = None) -> list[int]:
    """Refresh the best times of up to ``PER_BEAT`` channels not refreshed this week; returns
    their ids. Never raises: a failure is logged and the next beat tries again."""
    now = now or timezone.now()
    done = []
    try:
        for channel in stale_channels(now):
            try:
                refresh(channel, now)
                done.append(channel.pk)
            except Exception:
                log.exception("Could not compute the best times of channel %s", channel.pk)
                # Mark it computed-with-nothing so one bad channel does not stop the others.
                BestTimes.objects.update_or_create(
                    channel=channel,
                    defaults={
                        "workspace_id": channel.workspace_id,
                        "computed_at": now,
                        "source": BestTimeSource.NONE,
                        "zone": channel.zone.key,
                    },
                )
    except Exception:
        log.exception("Could not refresh the best times; retrying at the next beat")
    return done


# Reading -------------------------------------------------------------------------------------


def stored(channel: Channel) -> BestTimes | None:
    return BestTimes.objects.filter(channel=channel).first()


def ranked(slots: list[BestTimeSlot] | list[SlotResult]) -> list[BestTimeSlot]:
    """Slots best first: shrunk toward a typical post, then the most posts."""

    def key(slot: BestTimeSlot | SlotResult) -> tuple[float, int]:
        rank = (slot.score * slot.weight + PRIOR_WEIGHT) / (slot.weight + PRIOR_WEIGHT)
        return (-rank, -slot.posts)

    return sorted(slots, key=key)  # type: ignore[arg-type]


def top_slots(best: BestTimes | None, count: int = TOP) -> list[BestTimeSlot]:
    """The ``count`` best slots that beat a typical post (none when nothing does)."""
    if best is None or best.source == BestTimeSource.NONE:
        return []
    better = [s for s in best.slots.all() if s.score > 1.0]
    return ranked(better)[:count]


def next_best_time(
    channel: Channel, after: datetime, best: BestTimes | None = None, lead: timedelta | None = None
) -> tuple[datetime, BestTimeSlot] | None:
    """The first start of one of the channel's top slots at least ``lead`` (15 min) after
    ``after``, as a UTC instant on the channel's wall clock (``wallclock.slot_instant``: an
    hour the clocks skip moves later by the jump, a repeated one takes the earlier reading)."""
    best = best if best is not None else stored(channel)
    slots = top_slots(best)
    if not slots:
        return None
    zone = channel.zone
    earliest = after + (lead if lead is not None else timedelta(minutes=15))
    start = earliest.astimezone(zone).date()
    for offset in range(8):
        day = start + timedelta(days=offset)
        candidates = []
        for slot in slots:
            if slot.weekday != day.weekday():
                continue
            instant, _ = wallclock.slot_instant(day, time(slot.hour), zone)
            if instant >= earliest:
                candidates.append((instant, slot))
        if candidates:
            return min(candidates, key=lambda pair: pair[0])
    return None


def next_slot_start(channel: Channel, slot: BestTimeSlot, after: datetime) -> datetime:
    """The first start of ``slot`` after ``after`` on the channel's wall clock (UTC)."""
    zone = channel.zone
    start = after.astimezone(zone).date()
    for offset in range(8):
        day = start + timedelta(days=offset)
        if day.weekday() == slot.weekday:
            instant, _ = wallclock.slot_instant(day, time(slot.hour), zone)
            if instant > after:
                return instant
    raise AssertionError("a weekday comes back within eight days")


@dataclass
class HeatCell:
    weekday: int
    hour: int
    slot: BestTimeSlot | None
    level: int  # 0 (no posts) … 5 (best)
    top: bool


def heatmap(best: BestTimes | None) -> list[tuple[str, list[HeatCell]]]:
    """Seven rows (Monday first) of 24 cells, each with its slot and a colour level 0–5: 0 for
    no posts, 1–5 by score (below typical 1–2, above 3–5), so the table reads without colour."""
    slots = {(s.weekday, s.hour): s for s in best.slots.all()} if best else {}
    top = {(s.weekday, s.hour) for s in top_slots(best)} if best else set()
    rows = []
    for weekday, name in enumerate(WEEKDAYS):
        cells = []
        for hour in range(24):
            slot = slots.get((weekday, hour))
            cells.append(HeatCell(weekday, hour, slot, level_of(slot), (weekday, hour) in top))
        rows.append((name, cells))
    return rows


def level_of(slot: BestTimeSlot | None) -> int:
    if slot is None:
        return 0
    if slot.score < 0.5:
        return 1
    if slot.score < 1.0:
        return 2
    if slot.score < 1.5:
        return 3
    if slot.score < 2.0:
        return 4
    return 5


def local_label(instant: datetime, channel: Channel) -> str:
    local = instant.astimezone(channel.zone)
    return f"{local:%a %-d %b, %H:%M}"
