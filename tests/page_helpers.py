"""Putting posts on a workspace's public page the way the product does: a post with a page
delivery, due now, sent by the publishing engine (``dispatch.run``) through the real page
connector."""

from __future__ import annotations

import io
from datetime import timedelta

from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from PIL import Image

from socialdesk.content.media import upload_media
from socialdesk.content.models import MediaAsset, Post
from socialdesk.content.services import PostContent, create_post
from socialdesk.networks.models import Channel
from socialdesk.publishing import dispatch
from socialdesk.publishing.models import Delivery, DeliveryState
from socialdesk.workspaces.models import User


def png(colour: str = "#d97706", size: tuple[int, int] = (64, 48)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, colour).save(buffer, "PNG")
    return buffer.getvalue()


def image(channel: Channel, user: User, alt: str, colour: str = "#d97706") -> MediaAsset:
    upload = SimpleUploadedFile("photo.png", png(colour), content_type="image/png")
    return upload_media(channel.workspace, user, upload, alt_text=alt)


def scheduled_post(
    channel: Channel, user: User, text: str, media: list[MediaAsset] | None = None
) -> Delivery:
    post = create_post(
        channel.workspace,
        user,
        PostContent(
            text=text,
            channel_ids=[channel.pk],
            media_ids=[m.pk for m in media or []],
            scheduled_at=timezone.now() + timedelta(days=1),
        ),
    )
    return post.deliveries.get()


def make_due(delivery: Delivery) -> Delivery:
    Delivery.objects.filter(pk=delivery.pk).update(
        scheduled_at=timezone.now() - timedelta(seconds=5)
    )
    delivery.refresh_from_db()
    return delivery


def publish(
    channel: Channel, user: User, text: str, media: list[MediaAsset] | None = None
) -> Delivery:
    """A post published on the page through the engine; returns its delivery."""
    delivery = make_due(scheduled_post(channel, user, text, media))
    state = dispatch.run(delivery.pk, "test-worker")
    assert state == DeliveryState.PUBLISHED, Delivery.objects.get(pk=delivery.pk).last_error
    delivery.refresh_from_db()
    return delivery


def post_of(delivery: Delivery) -> Post:
    return Post.objects.get(pk=delivery.post_id)
