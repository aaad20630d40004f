"""Published posts with metric snapshots, for the Analytics pages' tests (``analytics.reading``)."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from socialdesk.analytics.metrics import mark_latest
from socialdesk.analytics.models import ChannelDay, MetricSnapshot
from socialdesk.content.models import Post
from socialdesk.networks.models import Channel
from socialdesk.publishing.models import Delivery, DeliveryState


def published(
    channel: Channel,
    at: datetime,
    readings: dict[int, dict[str, int | None]],
    title: str = "",
    **post_fields: object,
) -> Delivery:
    """A post published on ``channel`` at ``at``, read at each bucket of ``readings``."""
    post = Post.objects.create(
        workspace=channel.workspace, title=title or f"post at {at:%Y-%m-%d %H:%M}", **post_fields
    )
    delivery = Delivery.objects.create(
        workspace=channel.workspace,
        post=post,
        channel=channel,
        state=DeliveryState.PUBLISHED,
        scheduled_at=at,
        published_at=at,
        remote_url=f"https://example.test/{post.pk}",
    )
    for bucket, numbers in readings.items():
        MetricSnapshot.objects.create(
            workspace=channel.workspace,
            delivery=delivery,
            channel=channel,
            published_at=at,
            taken_at=at + timedelta(hours=bucket),
            bucket=bucket,
            **numbers,
        )
    mark_latest([delivery.pk])
    return delivery


def followers(channel: Channel, day: date, count: int) -> ChannelDay:
    return ChannelDay.objects.create(
        workspace=channel.workspace, channel=channel, day=day, followers=count
    )
