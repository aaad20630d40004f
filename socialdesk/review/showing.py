"""What a reviewer sees of a post, gathered once for every page that asks for a decision.

The approver's page (``workflow/post.html``) and the client's page behind a review link
(``review/client.html``) both render ``review/_post_review.html`` with ``review_of``'s
result, so the two people judge the same thing: the post as each network will show it (text,
images with their alt text, the length against the network's limit), the channels, each
delivery's publish time in the zone it was read in, and the word diff against the version
this reviewer last saw or decided on (else the previous version).

Which versions a reviewer saw is recorded by ``mark_seen`` after the page is rendered, so the
diff of this visit is against the last visit, not against itself.
"""

from __future__ import annotations

import zoneinfo
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db.models import Max, Prefetch
from django.urls import reverse

from socialdesk.content.models import MediaAsset, Post, PostVersion
from socialdesk.publishing.models import Delivery
from socialdesk.workspaces.models import User

from .diff import Piece, summary, word_diff
from .models import ReviewLink, SeenVersion

# How a preview counts against each network's length limit (characters; the page has none).
NETWORK_LIMITS = {"bluesky": 300, "mastodon": 500}


def _limit_of(network: str) -> int | None:
    """The text limit shown beside a version: the two above, else the network's catalog entry."""
    if network in NETWORK_LIMITS:
        return NETWORK_LIMITS[network]
    from socialdesk.networks import catalog

    about = catalog.about(network)
    return about.text_max if about is not None and network != "page" else None


def for_review(posts: Any) -> Any:
    """``posts`` (a queryset) with what ``review_of`` reads, fetched in a few queries."""
    return posts.select_related("workspace").prefetch_related(
        Prefetch("media", queryset=MediaAsset.objects.order_by("id")),
        Prefetch(
            "deliveries",
            queryset=Delivery.objects.select_related("channel", "channel__workspace")
            .prefetch_related("media_override")
            .order_by("scheduled_at", "id"),
        ),
    )


def zone_of(delivery: Delivery) -> zoneinfo.ZoneInfo:
    """The zone a delivery's time was read in: the one recorded with it, else its channel's
    (which falls back to the workspace's). An unknown recorded name falls back too."""
    if delivery.time_zone:
        try:
            return zoneinfo.ZoneInfo(delivery.time_zone)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            pass
    return delivery.channel.zone


def zoned(instant: datetime, zone: zoneinfo.ZoneInfo) -> str:
    """``Tue 14 Dec, 09:00 (Europe/Paris)``: the wall-clock time in ``zone``, named.

    Written with ``strftime`` and English names on purpose: the zone's name is what makes the
    time unambiguous, and a reviewer in another country reads it the same way."""
    local = instant.astimezone(zone)
    return f"{local:%a} {local.day} {local:%b}, {local:%H:%M} ({zone.key})"


@dataclass
class Preview:
    delivery: Delivery
    text: str
    media: list[MediaAsset]
    when: str  # "" when the delivery has no time yet
    limit: int | None

    @property
    def channel(self) -> Any:
        return self.delivery.channel

    @property
    def length(self) -> int:
        return len(self.text)

    @property
    def too_long(self) -> bool:
        return self.limit is not None and self.length > self.limit


@dataclass
class Review:
    """One post as a reviewer judges it (see the module docstring)."""

    post: Post
    version: PostVersion | None
    previews: list[Preview]
    base: PostVersion | None = None  # the version the diff starts from
    base_reason: str = ""  # "last seen", "last decided on" or "previous"
    pieces: list[Piece] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def channels(self) -> list[Any]:
        seen: dict[int, Any] = {}
        for preview in self.previews:
            seen.setdefault(preview.channel.pk, preview.channel)
        return list(seen.values())

    @property
    def summary_id(self) -> str:
        """The id of the sentence that sums the diff up (``aria-describedby``)."""
        return f"review-diff-summary-{self.post.pk}"

    @property
    def changed(self) -> bool:
        return any(piece.kind != "same" for piece in self.pieces)


def previews(post: Post) -> list[Preview]:
    """The post on each of its channels, in publishing order (uses ``for_review``'s prefetch
    when it was applied)."""
    media = list(post.media.all())
    shown = []
    for delivery in post.deliveries.all():
        text = delivery.text_override or post.text
        when = zoned(delivery.scheduled_at, zone_of(delivery)) if delivery.scheduled_at else ""
        shown.append(
            Preview(
                delivery=delivery,
                text=text,
                media=list(delivery.media_override.all()) or media,
                when=when,
                limit=_limit_of(delivery.channel.network),
            )
        )
    return shown


def _reviewer(user: User | None, link: ReviewLink | None) -> dict[str, Any]:
    if link is not None:
        return {"review_link": link}
    if user is not None and user.is_authenticated:
        return {"user": user}
    return {}


def diff_base(
    post: Post, version: PostVersion, *, user: User | None = None, link: ReviewLink | None = None
) -> tuple[PostVersion | None, str]:
    """The version to compare ``version`` with, and why: the newest earlier version this
    reviewer saw or decided on, else the one just before; (None, "") for a first version."""
    from socialdesk.workflow.models import Decision

    earlier = post.versions.filter(number__lt=version.number)
    who = _reviewer(user, link)
    seen = decided = None
    if who:
        seen = (
            SeenVersion.objects.filter(post=post, version__number__lt=version.number, **who)
            .aggregate(n=Max("version__number"))
            .get("n")
        )
        decisions = Decision.objects.filter(post=post, version__number__lt=version.number)
        if link is not None:
            decisions = decisions.filter(review_link_id=link.pk)
        else:
            decisions = decisions.filter(user=user)
        decided = decisions.aggregate(n=Max("version__number")).get("n")
    if seen is not None and (decided is None or seen >= decided):
        return earlier.get(number=seen), "last seen"
    if decided is not None:
        return earlier.get(number=decided), "last decided on"
    previous = earlier.order_by("-number").first()
    return previous, "previous" if previous is not None else ""


def review_of(post: Post, *, user: User | None = None, link: ReviewLink | None = None) -> Review:
    """Everything the shared partial shows of ``post`` for this reviewer (a member ``user``
    or a client through ``link``)."""
    version = post.latest_version
    review = Review(post=post, version=version, previews=previews(post))
    if version is not None:
        base, reason = diff_base(post, version, user=user, link=link)
        if base is not None:
            review.base, review.base_reason = base, reason
            review.pieces = word_diff(base.text, version.text)
            review.counts = summary(review.pieces)
    return review


def mark_seen(
    post: Post,
    version: PostVersion | None,
    *,
    user: User | None = None,
    link: ReviewLink | None = None,
) -> None:
    """Record that this reviewer had ``version`` in front of them (once; repeats are no-ops,
    also when two tabs race)."""
    who = _reviewer(user, link)
    if version is None or not who:
        return
    row = SeenVersion(workspace_id=post.workspace_id, post=post, version=version, **who)
    SeenVersion.objects.bulk_create([row], ignore_conflicts=True)


def versions_url(post: Post, base: PostVersion | None, version: PostVersion | None) -> str:
    """The versions page, comparing ``base`` with ``version`` when both are given."""
    url = reverse("post_versions", kwargs={"slug": post.workspace.slug, "post_id": post.pk})
    if base is not None and version is not None:
        url += f"?from={base.number}&to={version.number}"
    return url
