"""The ``page`` network: the workspace's own public page (``/@<slug>``) and its feeds.

Publishing to a page channel writes a ``page.PageEntry``, a copy of what was sent (text,
media with alt text, link card), and the page and the Atom, RSS and JSON feeds show it from
then on, for as long as its delivery is ``published``. The database is the page: there is no
outside server, so this connector is the one that touches the database.

Exactly once: the delivery is found by its idempotency key (``Delivery.idempotency_key``,
unique) and an entry is one-to-one with its delivery, so publishing again with the same key
returns the entry already written, and ``find_published`` answers from that row. ``delete``
removes the row, and with it the post from the page and the feeds.

No rate limit: the page is ours. ``validate`` refuses only what the page cannot show.
"""

from __future__ import annotations

import os
from pathlib import Path

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from .base import (
    AccountInfo,
    Connector,
    ConnectorError,
    DeliveryContent,
    Problem,
    Published,
)
from .models import Channel, Network

MAX_TEXT = 10_000
MAX_MEDIA = 10
SHOWN_TYPES = ("image/", "video/")


def public_url(workspace_slug: str, entry_id: int | None = None) -> str:
    base = f"{settings.SITE_URL}/@{workspace_slug}"
    return base if entry_id is None else f"{base}/{entry_id}"


class PageConnector(Connector):
    """One page channel (any number of page channels of a workspace share its one page)."""

    network = Network.PAGE

    def __init__(self, channel: Channel) -> None:
        self.channel = channel

    def __repr__(self) -> str:
        return f"<PageConnector channel {self.channel.pk}>"

    def cost(self, content: DeliveryContent) -> dict[str, int]:
        return {}

    def validate(self, content: DeliveryContent) -> list[Problem]:
        problems = []
        if not content.text.strip() and not content.media:
            problems.append(Problem("text", "Write some text or add an image: the page shows it."))
        if len(content.text) > MAX_TEXT:
            problems.append(
                Problem(
                    "text",
                    f"The page shows at most {MAX_TEXT:,} characters; "
                    f"this text has {len(content.text):,}.",
                )
            )
        if len(content.media) > MAX_MEDIA:
            problems.append(Problem("media", f"The page shows at most {MAX_MEDIA} files a post."))
        for number, media in enumerate(content.media, start=1):
            if not media.mime_type.startswith(SHOWN_TYPES):
                problems.append(
                    Problem(
                        "media",
                        f"File {number} ({media.mime_type}) is not an image or a "
                        "video; the page cannot show it.",
                    )
                )
            elif _media_name(media.path) is None:
                problems.append(Problem("media", f"File {number} is not in the media library."))
        return problems

    def publish(self, content: DeliveryContent, idempotency_key: str) -> Published:
        from socialdesk.page.models import PageEntry, hashtags
        from socialdesk.publishing.models import Delivery

        delivery = (
            Delivery.objects.filter(idempotency_key=idempotency_key, channel=self.channel)
            .select_related("workspace")
            .first()
        )
        if delivery is None:
            raise ConnectorError(
                f"{idempotency_key!r} is not a delivery of {self.channel}; nothing to publish.",
                permanent=True,
            )
        if existing := self._entry(delivery.pk):
            return existing
        if problems := self.validate(content):
            raise ConnectorError("; ".join(map(str, problems)), permanent=True)
        media = [
            {
                "name": _media_name(m.path),
                "mime_type": m.mime_type,
                "alt": m.alt_text,
                "size": _size(m.path),
            }
            for m in content.media
        ]
        tags = hashtags(content.text)
        try:
            with transaction.atomic():
                entry = PageEntry.objects.create(
                    workspace_id=delivery.workspace_id,
                    channel=self.channel,
                    delivery=delivery,
                    text=content.text,
                    media=media,
                    link_url=content.link.url if content.link else "",
                    link_title=content.link.title if content.link else "",
                    link_description=content.link.description if content.link else "",
                    tags=" " + " ".join(tags) + " " if tags else " ",
                    published_at=timezone.now(),
                )
        except IntegrityError:
            # Another attempt of the same delivery wrote it first: that one is the post.
            if existing := self._entry(delivery.pk):
                return existing
            raise
        self._touch()
        return Published(str(entry.pk), public_url(delivery.workspace.slug, entry.pk))

    def find_published(
        self, idempotency_key: str, content: DeliveryContent | None = None
    ) -> Published | None:
        from socialdesk.publishing.models import Delivery

        delivery_id = (
            Delivery.objects.filter(idempotency_key=idempotency_key, channel=self.channel)
            .values_list("pk", flat=True)
            .first()
        )
        return self._entry(delivery_id) if delivery_id is not None else None

    def delete(self, remote_id: str) -> None:
        from socialdesk.page.models import PageEntry

        if not str(remote_id).isdigit():
            return
        deleted, _ = PageEntry.objects.filter(channel=self.channel, pk=int(remote_id)).delete()
        if deleted:
            self._touch()

    def check_connection(self) -> AccountInfo:
        workspace = self.channel.workspace
        return AccountInfo(
            remote_account_id=workspace.slug,
            handle=f"@{workspace.slug}",
            display_name=self.channel.display_name or workspace.name,
        )

    def _entry(self, delivery_id: int) -> Published | None:
        from socialdesk.page.models import PageEntry

        entry = (
            PageEntry.objects.filter(delivery_id=delivery_id, channel=self.channel)
            .select_related("workspace")
            .first()
        )
        if entry is None:
            return None
        return Published(str(entry.pk), public_url(entry.workspace.slug, entry.pk))

    def _touch(self) -> None:
        """The page changed: move its ``Last-Modified``."""
        from socialdesk.page.models import PageProfile

        profile, created = PageProfile.objects.get_or_create(workspace_id=self.channel.workspace_id)
        if not created:
            PageProfile.objects.filter(pk=profile.pk).update(changed_at=timezone.now())


def _media_name(path: Path) -> str | None:
    """The file's name relative to ``MEDIA_ROOT`` (how the page links to it), or None when
    the file lives elsewhere."""
    root = Path(settings.MEDIA_ROOT).resolve()
    try:
        return Path(path).resolve().relative_to(root).as_posix()
    except ValueError:
        return None


def _size(path: Path) -> int:
    try:
        return os.path.getsize(path)
    except OSError:
        return 0
