"""API: metric snapshots of a post's deliveries, and a channel's daily rows (issue 14).

Read by analysts and above (``analytics.view``). A metric is null when the network does not
give it (never 0); each answer says what its network gives (``network.gives``).

No ``from __future__ import annotations``: ninja reads the parameter types at import time.
"""

from datetime import date, datetime, timedelta

from django.core.exceptions import ValidationError
from django.utils import timezone
from ninja import Field, Query, Router, Schema

from socialdesk.api_support import Id, MemberRequest, Slug, requires, responses
from socialdesk.content.models import Post
from socialdesk.networks.models import Channel
from socialdesk.workspaces.access import get_in_workspace

from . import metrics
from .models import MetricSnapshot

router = Router(tags=["analytics"])

MAX_DAYS = 400


class MetricGivenOut(Schema):
    metric: str = Field(description="likes, reposts, replies, quotes, views, clicks, followers.")
    source: str = Field(description="What the network calls it, and where it is read.")
    freshness: str


class NetworkMetricsOut(Schema):
    network: str
    label: str
    gives: list[MetricGivenOut]
    note: str = Field(description="What the network does not give.")


class SnapshotOut(Schema):
    bucket_hours: int = Field(description="The age this snapshot stands for, in hours.")
    bucket: str = Field(description="The same, as people read it: +1 h … +180 d.")
    taken_at: datetime
    age_hours: float = Field(description="The post's real age when read (taken_at − published).")
    late_hours: float = Field(description="How much later than its bucket it was read.")
    likes: int | None = Field(description="Null: the network does not give it.")
    reposts: int | None
    replies: int | None
    quotes: int | None
    views: int | None
    clicks: int | None

    @staticmethod
    def resolve_bucket_hours(obj: MetricSnapshot) -> int:
        return obj.bucket

    @staticmethod
    def resolve_bucket(obj: MetricSnapshot) -> str:
        return str(obj.get_bucket_display())  # type: ignore[attr-defined]

    @staticmethod
    def resolve_age_hours(obj: MetricSnapshot) -> float:
        return round(obj.age.total_seconds() / 3600, 2)

    @staticmethod
    def resolve_late_hours(obj: MetricSnapshot) -> float:
        return round(obj.late_by.total_seconds() / 3600, 2)


class DeliveryMetricsOut(Schema):
    delivery_id: int
    channel_id: int
    network: NetworkMetricsOut
    state: str
    published_at: datetime | None
    next_snapshot_at: datetime | None = Field(description="Null: no more snapshots are due.")
    stopped_reason: str = Field(description="Why its numbers are no longer read, if they aren't.")
    snapshots: list[SnapshotOut]


class PostMetricsOut(Schema):
    post_id: int
    deliveries: list[DeliveryMetricsOut]


@router.get(
    "/workspaces/{slug}/posts/{post_id}/metrics",
    response=responses(PostMetricsOut),
    operation_id="post_metrics",
)
@requires("analytics.view")
def post_metrics(request: MemberRequest, slug: Slug, post_id: Id) -> dict:
    """Each delivery's snapshots, at +1 h, +6 h, +24 h, +3 d, +7 d, +30 d, then monthly to
    six months, with their real age when read."""
    post = get_in_workspace(Post, request.workspace, pk=post_id)
    return {"post_id": post.pk, "deliveries": metrics.post_metrics(post.pk, post.workspace_id)}


class DaysQuery(Schema):
    from_: date | None = Field(None, alias="from", description="Default: 90 days before `to`.")
    to: date | None = Field(None, description="Default: today in the channel's time zone.")


class DayOut(Schema):
    day: date
    followers: int | None = Field(description="As read that day; null: not given or not read.")
    posts: int = Field(description="Posts published that day.")


class ChannelDaysOut(Schema):
    channel_id: int
    time_zone: str = Field(description="The zone whose days these are.")
    network: NetworkMetricsOut
    days: list[DayOut]


@router.get(
    "/workspaces/{slug}/channels/{channel_id}/days",
    response=responses(ChannelDaysOut),
    operation_id="channel_days",
)
@requires("analytics.view")
def channel_days(
    request: MemberRequest, slug: Slug, channel_id: Id, filters: Query[DaysQuery]
) -> dict:
    """The channel's followers and posts per day, in the channel's time zone (both ends
    included; at most 400 days)."""
    channel = get_in_workspace(Channel, request.workspace, pk=channel_id)
    end = filters.to or metrics.local_day(channel, timezone.now())
    try:
        start = filters.from_ or end - timedelta(days=90)
    except OverflowError:  # a `to` in the first days of year 1
        start = date.min
    if end < start or (end - start).days > MAX_DAYS:
        raise ValidationError(
            {"to": [f"Give a `to` on or after `from`, at most {MAX_DAYS} days later."]}
        )
    return {
        "channel_id": channel.pk,
        "time_zone": channel.zone.key,
        "network": metrics.network_metrics(channel.network),
        "days": metrics.channel_days(channel, start, end),
    }
