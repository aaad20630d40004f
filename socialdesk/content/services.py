"""Operations on posts that the API, the web UI, the CLI and the demo all call.

Each function validates everything first and then writes inside one transaction, so bad input
raises ``django.core.exceptions.ValidationError`` (a dict of field → messages) and leaves no
half-written record.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Model
from django.utils import timezone

from socialdesk.networks.models import Channel
from socialdesk.publishing import services as publishing
from socialdesk.publishing.models import Delivery, DeliveryState
from socialdesk.publishing.wallclock import fold_of, zone_named
from socialdesk.workspaces.models import User, Workspace
from socialdesk.workspaces.services import save_owned

from . import rules
from .models import Campaign, Label, MediaAsset, MediaKind, Pillar, Post, PostVersion

MAX_TEXT = 10_000


@dataclass
class PostContent:
    """What a person can set on a post; ``None`` means "leave as it is" on update."""

    text: str | None = None
    title: str | None = None
    # The parts that follow ``text`` as replies (a thread); empty parts are dropped.
    thread: list[str] | None = None
    channel_ids: list[int] | None = None
    media_ids: list[int] | None = None
    label_ids: list[int] | None = None
    pillar_id: int | None = None
    campaign_id: int | None = None
    # A wall-clock time (naive: read in ``time_zone``, else each channel's own zone, else the
    # workspace's) or an exact instant (aware). See ``publishing.wallclock``.
    scheduled_at: datetime | None = None
    time_zone: str | None = None
    # Which reading of a time the clocks show twice: "earlier" or "later".
    repeated_time: str | None = None
    # Fields explicitly set to null (pillar, campaign, scheduled_at) on update.
    cleared: set[str] = field(default_factory=set)


UNKNOWN_IDS_SHOWN = 10


def unknown_ids_message(noun: str, missing: list[int]) -> str:
    """Which ids are unknown: all of them when few, else how many and a few examples, so a
    request with 10,000 wrong ids does not get 10,000 ids back."""
    if len(missing) <= UNKNOWN_IDS_SHOWN:
        return f"No such {noun} in this workspace: {', '.join(map(str, missing))}."
    examples = ", ".join(map(str, missing[:3]))
    return f"{len(missing):,} {noun} ids are unknown in this workspace, for example {examples}."


def _in_workspace(model: type[Model], workspace: Workspace, ids: Iterable[int], name: str) -> list:
    ids = list(dict.fromkeys(ids))
    found = {obj.pk: obj for obj in model._default_manager.filter(workspace=workspace, pk__in=ids)}
    missing = [i for i in ids if i not in found]
    if missing:
        noun = str(model._meta.verbose_name)
        raise ValidationError({name: [unknown_ids_message(noun, missing)]})
    return [found[i] for i in ids]


def _resolve(workspace: Workspace, content: PostContent) -> dict:
    """Check every reference belongs to ``workspace``; collect all field errors at once."""
    errors: dict[str, list[str]] = {}
    resolved: dict = {}
    if content.text is not None and len(content.text) > MAX_TEXT:
        errors["text"] = [f"Text is {len(content.text)} characters; the limit is {MAX_TEXT}."]
    for number, part in enumerate(content.thread or [], start=2):
        if len(part) > MAX_TEXT:
            errors.setdefault("thread", []).append(
                f"Part {number} of the thread is {len(part)} characters; the limit is {MAX_TEXT}."
            )
    for check in (lambda: zone_named(content.time_zone), lambda: fold_of(content.repeated_time)):
        try:
            check()
        except ValidationError as exc:
            errors.update(exc.message_dict)
    if (
        content.scheduled_at is not None
        and timezone.is_aware(content.scheduled_at)
        and content.scheduled_at <= timezone.now()
    ):
        errors["scheduled_at"] = ["This time is in the past; choose a time in the future."]
    lookups = [
        ("channel_ids", Channel, content.channel_ids),
        ("media_ids", MediaAsset, content.media_ids),
        ("label_ids", Label, content.label_ids),
    ]
    for name, model, ids in lookups:
        if ids is not None:
            try:
                resolved[name] = _in_workspace(model, workspace, ids, name)
            except ValidationError as exc:
                errors.update(exc.message_dict)
    for name, model, pk in [
        ("pillar_id", Pillar, content.pillar_id),
        ("campaign_id", Campaign, content.campaign_id),
    ]:
        if pk is not None:
            try:
                resolved[name] = _in_workspace(model, workspace, [pk], name)[0]
            except ValidationError as exc:
                errors.update(exc.message_dict)
    if errors:
        raise ValidationError(errors)
    return resolved


def _parts(thread: list[str] | None) -> list[str]:
    return [part for part in (thread or []) if part.strip()]


def _record_version(post: Post, author: User | None) -> PostVersion:
    last = post.versions.order_by("-number").first()
    media_ids = list(post.media.order_by("id").values_list("id", flat=True))
    if last is not None and last.text == post.text and last.media_ids == media_ids:
        return last
    return PostVersion.objects.create(
        post=post,
        number=(last.number + 1) if last else 1,
        text=post.text,
        media_ids=media_ids,
        created_by=author,
    )


def _set_time(post: Post, content: PostContent, actor: User | None) -> None:
    """Give the post's unsent deliveries the content's time through the scheduling service
    (None with ``scheduled_at`` cleared: back to draft)."""
    publishing.set_post_time(
        post,
        content.scheduled_at,
        content.time_zone or None,
        actor,
        fold=fold_of(content.repeated_time),
        reason="in the post editor",
    )


def _check_alt_text(media: list[MediaAsset], scheduled: bool) -> None:
    """A scheduled post's images must be described: alt text is all a screen reader gets."""
    if not scheduled:
        return
    missing = [
        str(asset)
        for asset in media
        if asset.kind != MediaKind.VIDEO and not asset.alt_text.strip()
    ]
    if missing:
        raise ValidationError(
            {"media_ids": [f"Add alt text to {', '.join(missing)} before scheduling the post."]}
        )


def _check_rules(workspace_id: int, text: str, channels: list[Channel], scheduled: bool) -> None:
    """A post being scheduled must not say what the workspace forbids (``content.rules``: the
    brand voice's banned phrases, hashtag range and length per network), in the words the
    composer's live panel used."""
    if not scheduled:
        return
    problems = rules.forbidden(workspace_id, text, [c.network for c in channels])
    if problems:
        raise ValidationError({"text": problems})


def create_post(workspace: Workspace, author: User | None, content: PostContent) -> Post:
    """Create a post, its first version, and a delivery per chosen channel.

    With ``scheduled_at`` the deliveries are scheduled, otherwise they are drafts.
    """
    resolved = _resolve(workspace, content)
    _check_alt_text(resolved.get("media_ids", []), content.scheduled_at is not None)
    _check_rules(
        workspace.pk,
        content.text or "",
        resolved.get("channel_ids", []),
        content.scheduled_at is not None,
    )
    with transaction.atomic():
        post = Post.objects.create(
            workspace=workspace,
            author=author,
            title=content.title or "",
            text=content.text or "",
            thread=_parts(content.thread),
            pillar=resolved.get("pillar_id"),
            campaign=resolved.get("campaign_id"),
        )
        post.media.set(resolved.get("media_ids", []))
        post.labels.set(resolved.get("label_ids", []))
        publishing.set_channels(post, resolved.get("channel_ids", []), author)
        _record_version(post, author)
        if content.scheduled_at is not None:
            _set_time(post, content, author)
    return post


def update_post(post: Post, editor: User | None, content: PostContent) -> Post:
    """Change a post; a change of text or media records a new version."""
    resolved = _resolve(Workspace(pk=post.workspace_id), content)
    stays_scheduled = "scheduled_at" not in content.cleared and (
        post.deliveries.filter(state__in=publishing.TIMED).exists()
    )
    _check_alt_text(
        resolved["media_ids"] if "media_ids" in resolved else list(post.media.all()),
        content.scheduled_at is not None or stays_scheduled,
    )
    # The rules are asked when what they judge changes (the text, the time, the channels), so
    # a post scheduled before a rule was added can still have its title or labels edited.
    current = [d.channel for d in post.deliveries.exclude(state=DeliveryState.CANCELLED)]
    channels = resolved.get("channel_ids", current)
    text = post.text if content.text is None else content.text
    if (
        text != post.text
        or content.scheduled_at is not None
        or {c.pk for c in channels} != {c.pk for c in current}
    ):
        scheduled = content.scheduled_at is not None or stays_scheduled
        _check_rules(post.workspace_id, text, channels, scheduled)
    with transaction.atomic():
        changed: list[str] = []
        if content.text is not None:
            post.text = content.text
            changed.append("text")
        if content.title is not None:
            post.title = content.title
            changed.append("title")
        if content.thread is not None:
            post.thread = _parts(content.thread)
            changed.append("thread")
        if "pillar_id" in resolved or "pillar_id" in content.cleared:
            post.pillar = resolved.get("pillar_id")
            changed.append("pillar")
        if "campaign_id" in resolved or "campaign_id" in content.cleared:
            post.campaign = resolved.get("campaign_id")
            changed.append("campaign")
        post.save(update_fields=[*changed, "updated_at"])
        if "media_ids" in resolved:
            post.media.set(resolved["media_ids"])
        if "label_ids" in resolved:
            post.labels.set(resolved["label_ids"])
        if "channel_ids" in resolved:
            publishing.set_channels(post, resolved["channel_ids"], editor)
        _record_version(post, editor)
        if content.scheduled_at is not None or "scheduled_at" in content.cleared:
            _set_time(post, content, editor)
    return post


def delete_post(post: Post) -> None:
    """Delete a post unless one of its deliveries is already out or on its way."""
    sent = post.deliveries.filter(
        state__in=[DeliveryState.PUBLISHING, DeliveryState.PUBLISHED, DeliveryState.UNKNOWN]
    )
    if sent.exists():
        raise ValidationError(
            {
                "post": [
                    "This post has been published or is publishing; delete it on the network "
                    "first, then here."
                ]
            }
        )
    post.delete()


def save_campaign(campaign: Campaign, fields: list[str] | None = None) -> Campaign:
    """Validate and save a campaign: it ends on or after the day it starts, its budget is not
    negative, and its name is unique in the workspace."""
    errors: dict[str, list[str]] = {}
    if campaign.starts_on and campaign.ends_on and campaign.ends_on < campaign.starts_on:
        errors["ends_on"] = ["A campaign ends on or after the day it starts."]
    if campaign.budget is not None and campaign.budget < 0:
        errors["budget"] = ["The budget cannot be negative."]
    return save_owned(campaign, errors, fields)


EDITABLE_DELIVERY_STATES = publishing.UNSENT


def update_delivery(
    delivery: Delivery,
    text_override: str | None = None,
    first_comment: str | None = None,
    media_override_ids: list[int] | None = None,
) -> Delivery:
    """Change what one delivery publishes; ``None`` leaves a field as it is.

    Only a draft or scheduled delivery can change: once the dispatcher has claimed it, the
    network has (or may have) the content already. The state is re-read under a row lock, so
    an edit never races the dispatcher's claim.
    """
    errors: dict[str, list[str]] = {}
    for name, value in [("text_override", text_override), ("first_comment", first_comment)]:
        if value is not None and len(value) > MAX_TEXT:
            errors[name] = [f"Text is {len(value)} characters; the limit is {MAX_TEXT}."]
    media: list[MediaAsset] | None = None
    if media_override_ids is not None:
        try:
            workspace = Workspace(pk=delivery.workspace_id)
            media = _in_workspace(MediaAsset, workspace, media_override_ids, "media_override")
        except ValidationError as exc:
            errors.update(exc.message_dict)
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        locked = Delivery.objects.select_for_update().get(pk=delivery.pk)
        if locked.state not in EDITABLE_DELIVERY_STATES:
            state = locked.get_state_display().lower()
            raise ValidationError(
                {"state": [f"This delivery is {state}; only draft or scheduled ones can change."]}
            )
        if (
            locked.state == DeliveryState.SCHEDULED
            and text_override
            and text_override != locked.text_override
        ):
            # A scheduled delivery's own text is held to the same rules as the post's.
            problems = rules.forbidden(locked.workspace_id, text_override, [locked.channel.network])
            if problems:
                raise ValidationError({"text_override": problems})
        changed = []
        if text_override is not None:
            locked.text_override = text_override
            changed.append("text_override")
        if first_comment is not None:
            locked.first_comment = first_comment
            changed.append("first_comment")
        locked.save(update_fields=[*changed, "updated_at"])
        if media is not None:
            locked.media_override.set(media)
    return locked
