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

Measuring: the page has no likes, reposts, replies or followers. Its views and link clicks
are ours, counted on this server (issue 14 item 2): ``fetch_metrics`` reads them from the
database, so it is as fresh as the last request and spends no network budget (no
``rate_limits``, ``metrics_cost`` is nothing). A post's views are the counted views of its own
page (``/@<slug>/<id>``, ``analytics.PageView``: people only, no cookie); its clicks are the
counted clicks on its delivery's short links (``analytics.Click``). Likes, reposts, replies
and quotes stay None ("not given"), never a made-up 0.

Answers to questions (issue 13; a reply whose ``target`` is a question asked on the page,
with the asker's ``email``, ``name`` and whether they allowed publishing, ``publish_allowed``):
the answer is emailed to the asker and, only if they allowed it, shown under the question on
the page (``published_answers``; the delivery itself is the record). Exactly once: before the
email goes, the delivery's ``remote_id`` is set with a compare-and-set (``answer-<id>``), so a
second attempt finds it and sends nothing; an email the mail server refused clears it again
(nothing was sent); a mail server that breaks mid-send fails the delivery for good, saying the
asker may or may not have it (a retry could send it twice). Accepted, and said here: a crash
between the mark and the hand-over to the mail server loses that email (at most once, never
twice); the answer is still on the page when allowed.
"""

from __future__ import annotations

import os
import smtplib
from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar

from django.conf import settings
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.db.models import Count
from django.urls import reverse
from django.utils import timezone

from .base import (
    AccountInfo,
    Connector,
    ConnectorError,
    DeliveryContent,
    MetricInfo,
    Metrics,
    Problem,
    Published,
)
from .catalog import NetworkAbout
from .models import Channel, Network

MAX_TEXT = 10_000

ABOUT = NetworkAbout(
    network="page",
    connect="none",
    text_max=MAX_TEXT,
    operator_setup="Nothing: the page is served by Socialdesk itself at /@handle.",
    accounts="One page per workspace handle.",
    tested="Itself: the tests read the page, its feeds and its questions.",
    reads="Questions asked on the page into the inbox; views and link clicks.",
)
# Mail errors raised before the message was handed over: nothing was sent.
NOTHING_SENT = (
    smtplib.SMTPConnectError,
    smtplib.SMTPHeloError,
    smtplib.SMTPAuthenticationError,
    smtplib.SMTPSenderRefused,
    smtplib.SMTPRecipientsRefused,
    ConnectionRefusedError,
)
MAX_MEDIA = 10
SHOWN_TYPES = ("image/", "video/")


def public_url(workspace_slug: str, entry_id: int | None = None) -> str:
    base = f"{settings.SITE_URL}/@{workspace_slug}"
    return base if entry_id is None else f"{base}/{entry_id}"


class PageConnector(Connector):
    """One page channel (any number of page channels of a workspace share its one page)."""

    network = Network.PAGE

    measures = True
    _OURS = "Counted by Socialdesk on this server: live when read (no delay, no budget)."
    metric_table: ClassVar[tuple[MetricInfo, ...]] = (
        MetricInfo("views", "views of the post's own page, /@<slug>/<id> (people only)", _OURS),
        MetricInfo("clicks", "clicks on the post's short links, /l/<code> (people only)", _OURS),
    )
    metric_note: ClassVar[str] = (
        "The public page has no likes, reposts, replies or followers. Views and clicks are "
        "counted by Socialdesk itself, without cookies; bots, link previewers and prefetches "
        "are left out. Views of the page's front page are not a post's views. A post without "
        "a short link (or with short links turned off) has no click count."
    )

    def __init__(self, channel: Channel) -> None:
        self.channel = channel

    def __repr__(self) -> str:
        return f"<PageConnector channel {self.channel.pk}>"

    def cost(self, content: DeliveryContent) -> dict[str, int]:
        return {}

    def action_problems(self, content: DeliveryContent) -> list[Problem]:
        if content.action not in ("hide", "unhide"):
            return [Problem("action", f"The public page cannot {content.action}.")]
        if not str(content.target.get("question_id") or "").strip():
            return [Problem("target", "Only a question asked on the page can be hidden there.")]
        return []

    def validate(self, content: DeliveryContent) -> list[Problem]:
        if not content.is_write_of_text:
            return self.action_problems(content)
        if content.reply_to is not None:
            return _answer_problems(content)
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
            Delivery.engine.filter(idempotency_key=idempotency_key, channel=self.channel)
            .select_related("workspace")
            .first()
        )
        if delivery is None:
            raise ConnectorError(
                f"{idempotency_key!r} is not a delivery of {self.channel}; nothing to publish.",
                permanent=True,
            )
        if content.reply_to is not None:
            return self._answer(delivery, content)
        if not content.is_write_of_text:
            # Hide / unhide a question and its answer: the delivery itself is the record
            # (``published_answers`` reads the latest one), so there is nothing else to write
            # and doing it again changes nothing.
            if problems := self.action_problems(content):
                raise ConnectorError("; ".join(map(str, problems)), permanent=True)
            self._touch()
            return Published(f"{content.action}-{delivery.pk}", "")
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

        row = (
            Delivery.engine.filter(idempotency_key=idempotency_key, channel=self.channel)
            .values_list("pk", "kind", "remote_id", "target", "workspace__slug")
            .first()
        )
        if row is None:
            return None
        delivery_id, kind, remote_id, target, slug = row
        if kind == "reply":
            return _answered(delivery_id, remote_id, target, slug) if remote_id else None
        if kind in ("hide", "unhide"):
            return None  # nothing was written outside the delivery: doing it again is safe
        return self._entry(delivery_id)

    def delete(self, remote_id: str) -> None:
        from socialdesk.page.models import PageEntry

        if not str(remote_id).isdigit():
            return
        deleted, _ = PageEntry.objects.filter(channel=self.channel, pk=int(remote_id)).delete()
        if deleted:
            self._touch()

    def fetch_metrics(self, remote_ids: Sequence[str]) -> dict[str, Metrics]:
        """The views and clicks of these entries, read from our own counts (two grouped
        queries for the whole batch). An entry no longer on the page is left out.

        Views are matched by the entry's address under the workspace's current slug:
        accepted, a view counted under an earlier slug stays with that old address."""
        from socialdesk.analytics.clicks import clicks_per
        from socialdesk.analytics.models import PageView, ShortLink
        from socialdesk.page.models import PageEntry

        ids = [int(remote_id) for remote_id in remote_ids if remote_id.isdigit()]
        entries = dict(
            PageEntry.objects.filter(pk__in=ids, channel=self.channel).values_list(
                "pk", "delivery_id"
            )
        )
        if not entries:
            return {}
        workspace = self.channel.workspace
        # As ``page.views`` counts them: ``request.path`` of the entry's page.
        paths = {
            reverse("public_entry", kwargs={"slug": workspace.slug, "entry_id": pk}): pk
            for pk in entries
        }
        views = dict(
            PageView.objects.filter(workspace=workspace, path__in=list(paths))
            .values("path")
            .annotate(n=Count("id"))
            .values_list("path", "n")
        )
        links = ShortLink.objects.filter(delivery_id__in=list(entries.values()))
        with_links = set(links.values_list("delivery_id", flat=True))
        clicks = clicks_per(links, "delivery_id")
        answer = {}
        for path, pk in paths.items():
            delivery_id = entries[pk]
            answer[str(pk)] = Metrics(
                views=views.get(path, 0),
                clicks=clicks.get(delivery_id, 0) if delivery_id in with_links else None,
            )
        return answer

    def fetch_followers(self) -> int | None:
        return None  # a page has no followers

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

    def _answer(self, delivery: Any, content: DeliveryContent) -> Published:
        """Email the answer to the asker (once) and, if they allowed it, show it on the page."""
        from socialdesk.publishing.models import Delivery

        if problems := self.validate(content):
            raise ConnectorError("; ".join(map(str, problems)), permanent=True)
        target = content.reply_to or {}
        marker = f"answer-{delivery.pk}"
        slug = delivery.workspace.slug
        marked = Delivery.engine.filter(pk=delivery.pk, remote_id="").update(remote_id=marker)
        if not marked:  # an earlier attempt sent it
            return _answered(delivery.pk, marker, target, slug)
        email = str(target.get("email") or "")
        if email:
            name = str(target.get("name") or "").strip()
            question = str(target.get("text") or "").strip()
            body = f"Hello {name},\n\n" if name else "Hello,\n\n"
            body += content.text.strip() + "\n"
            if question:
                quoted = "\n".join(f"> {line}" for line in question.splitlines())
                body += f"\n\nYou asked:\n{quoted}\n"
            if target.get("publish_allowed"):
                body += f"\nThe answer is also on our page: {public_url(slug)}\n"
            subject = f"Your question to {delivery.workspace.name}"
            try:
                send_mail(subject, body, None, [email])
            except NOTHING_SENT as error:
                # Refused before the message was handed over: the next attempt may send it.
                Delivery.engine.filter(pk=delivery.pk, remote_id=marker).update(remote_id="")
                raise ConnectorError(f"The answer could not be emailed: {error}") from error
            except (smtplib.SMTPException, OSError) as error:
                # It broke mid-send: the asker may have it. Retrying could send it twice.
                raise ConnectorError(
                    f"The mail server failed while the answer was being emailed ({error}); "
                    f"{email} may or may not have received it.",
                    permanent=True,
                ) from error
        if target.get("publish_allowed"):
            self._touch()
        return _answered(delivery.pk, marker, target, slug)

    def _touch(self) -> None:
        """The page changed: move its ``Last-Modified``."""
        from socialdesk.page.models import PageProfile

        profile, created = PageProfile.objects.get_or_create(workspace_id=self.channel.workspace_id)
        if not created:
            PageProfile.objects.filter(pk=profile.pk).update(changed_at=timezone.now())


def _answer_problems(content: DeliveryContent) -> list[Problem]:
    target = content.reply_to or {}
    problems = []
    if not content.text.strip():
        problems.append(Problem("text", "Write the answer."))
    if len(content.text) > MAX_TEXT:
        problems.append(
            Problem("text", f"An answer has at most {MAX_TEXT:,} characters on the page.")
        )
    if not target.get("email") and not target.get("publish_allowed"):
        problems.append(
            Problem(
                "target",
                "The asker left no email and did not allow publishing: the answer would "
                "reach nobody.",
            )
        )
    return problems


def _answered(delivery_id: int, remote_id: str, target: Any, slug: str) -> Published:
    shown = bool((target or {}).get("publish_allowed"))
    url = f"{public_url(slug)}#answer-{delivery_id}" if shown else ""
    return Published(remote_id, url)


def published_answers(workspace_id: int) -> dict[str, tuple[str, Any]]:
    """The answers to show under questions on the workspace's page: question id → (answer
    text, when it was published), for askers who allowed it, unless the team hid the
    question (its latest hide or unhide decides). For the page's rendering."""
    from socialdesk.publishing.models import Delivery

    done = Delivery.engine.filter(
        workspace_id=workspace_id, channel__network=Network.PAGE, state="published"
    ).order_by("published_at", "pk")
    hidden: dict[str, bool] = {}
    for kind, target in done.filter(kind__in=["hide", "unhide"]).values_list("kind", "target"):
        hidden[str((target or {}).get("question_id") or "")] = kind == "hide"  # the latest wins
    answers = done.filter(kind="reply", target__publish_allowed=True)
    shown = {}
    for row in answers:
        question_id = str(row.target.get("question_id") or "")
        if not hidden.get(question_id):
            shown[question_id] = (row.text_override, row.published_at)
    return shown


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
