"""What the public page reads, and the writes a person may ask of it: remove an entry, and
edit the profile and its link buttons (``save_profile``, for the settings page and the API).

Every public read starts at ``public_workspace(slug)``, which answers only for a workspace
that has a page channel, and then goes through ``PageEntry.objects.visible(workspace)``:
nothing unpublished and nothing of another workspace can reach a public view.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import datetime

from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.core.validators import URLValidator
from django.db import transaction
from django.db.models import Count, Max
from django.http import Http404
from django.utils import timezone

from socialdesk.content.models import MediaAsset, MediaKind
from socialdesk.networks.models import Channel, Network
from socialdesk.publishing.connectors import connector_for
from socialdesk.publishing.models import Delivery
from socialdesk.workspaces.models import Workspace

from .feeds import FEED_SIZE, PageState
from .models import PageEntry, PageLink, PageProfile, profile_for
from .render import text_to_html


def public_workspace(slug: str) -> Workspace:
    """The workspace whose page lives at ``/@<slug>``; 404 when there is none, or when the
    workspace has no page channel (it has not chosen to have a public page)."""
    workspace = Workspace.objects.filter(slug=slug).first()
    if (
        workspace is None
        or not Channel.objects.filter(workspace=workspace, network=Network.PAGE).exists()
    ):
        raise Http404("No public page here.")
    return workspace


@dataclass(frozen=True)
class PageVersion:
    """A cheap fingerprint of what the page shows, for ETag and Last-Modified.

    The count and the newest ``updated_at`` of the visible entries change when an entry
    appears, is edited or disappears; ``PageProfile.changed_at`` moves when the connector
    deletes one (so Last-Modified moves even though no remaining row changed). A delivery
    deleted with its post (a cascade) changes the count and the ETag, but not Last-Modified:
    clients that send only If-Modified-Since may keep the old copy until the next change.
    """

    etag_seed: str
    last_modified: datetime
    # Read for the fingerprint and kept, so rendering the page does not read it again.
    profile: PageProfile


def page_version(workspace: Workspace, *extra: object) -> PageVersion:
    profile = profile_for(workspace)
    entries = PageEntry.objects.visible(workspace).aggregate(n=Count("id"), at=Max("updated_at"))
    links = PageLink.objects.in_workspace(workspace).aggregate(n=Count("id"), at=Max("updated_at"))
    times = [
        t
        for t in (
            entries["at"],
            links["at"],
            profile.updated_at,
            profile.changed_at if profile.pk else None,
        )
        if t is not None
    ] or [workspace.created_at]
    seed = "|".join(
        str(part)
        for part in (
            workspace.pk,
            workspace.name,
            entries["n"],
            entries["at"],
            links["n"],
            links["at"],
            profile.updated_at,
            profile.changed_at,
            *extra,
        )
    )
    return PageVersion(hashlib.sha256(seed.encode()).hexdigest()[:32], max(times), profile)


def page_state(
    workspace: Workspace,
    version: PageVersion,
    entries: list[PageEntry] | None = None,
    tag: str = "",
) -> PageState:
    """The profile, links and entries (the newest ``FEED_SIZE`` unless given) of a page."""
    if entries is None:
        visible = PageEntry.objects.visible(workspace)
        if tag:
            visible = visible.tagged(tag)
        entries = list(visible[:FEED_SIZE])
    for entry in entries:
        # For templates, which cannot call with arguments; the feeds write their own.
        entry.html = text_to_html(entry.text, f"/@{workspace.slug}")  # type: ignore[attr-defined]
    return PageState(
        workspace=workspace,
        profile=version.profile,
        links=list(PageLink.objects.in_workspace(workspace)),
        entries=entries,
        last_modified=version.last_modified,
    )


def remove_from_page(delivery: Delivery) -> None:
    """Take a published delivery off the page and the feeds, through its connector.

    The delivery stays ``published`` in the engine's history (it was published; the state
    graph has no "deleted" state yet); the page shows only entries that still exist.
    """
    if delivery.channel.network != Network.PAGE or not delivery.remote_id:
        raise ValueError(f"Delivery {delivery.pk} is not on a public page.")
    connector = connector_for(delivery.channel)
    assert connector is not None
    connector.delete(delivery.remote_id)


# --- Editing the profile and its link buttons ---------------------------------------------

MAX_LINKS = 20
MAX_NAME = PageProfile._meta.get_field("display_name").max_length or 120
MAX_BIO = PageProfile._meta.get_field("bio").max_length or 300
MAX_CAMPAIGN = PageProfile._meta.get_field("utm_campaign").max_length or 100
MAX_LABEL = PageLink._meta.get_field("label").max_length or 80
MAX_URL = PageLink._meta.get_field("url").max_length or 500
_CAMPAIGN = re.compile(r"^[-a-zA-Z0-9_]*$")
_http_url = URLValidator(schemes=["http", "https"])


@dataclass(frozen=True)
class LinkIn:
    """One button as a person or a script gives it; ``check_link`` says whether it is valid."""

    label: str
    url: str


@dataclass(frozen=True)
class ProfileIn:
    """The whole editable profile: text fields and the buttons in their order."""

    display_name: str
    bio: str
    utm_campaign: str
    links: list[LinkIn]


def _no_control(value: str) -> bool:
    return not any(ord(c) < 32 and c not in "\t" for c in value)


def check_link(link: LinkIn) -> dict[str, list[str]]:
    """What is wrong with one button, by field (``label``, ``url``); empty when valid."""
    errors: dict[str, list[str]] = {}
    label = link.label.strip()
    if not label:
        errors["label"] = ["Give the button a label, such as “Order a cake”."]
    elif len(label) > MAX_LABEL:
        errors["label"] = [f"The label is {len(label)} characters; shorten it to {MAX_LABEL}."]
    elif not _no_control(label):
        errors["label"] = ["The label may not contain line breaks or control characters."]
    url = link.url.strip()
    if not url:
        errors["url"] = ["Give the address the button opens, starting with https://."]
    elif len(url) > MAX_URL:
        errors["url"] = [f"The address is {len(url)} characters; the limit is {MAX_URL}."]
    else:
        try:
            _http_url(url)
        except ValidationError:
            errors["url"] = [
                "Use a full web address starting with http:// or https://, "
                "such as https://example.com/menu."
            ]
    return errors


def check_profile(profile: ProfileIn) -> None:
    """Refuse the whole profile (ValidationError by field) if any part of it is invalid.

    Link errors are named ``links`` and say which button (“Button 3: …”), so that a script
    and a person both learn what to fix; nothing is saved when anything is wrong.
    """
    errors: dict[str, list[str]] = {}
    name = profile.display_name.strip()
    if len(name) > MAX_NAME:
        errors["display_name"] = [f"The name is {len(name)} characters; shorten it to {MAX_NAME}."]
    elif not _no_control(name):
        errors["display_name"] = ["The name may not contain line breaks or control characters."]
    bio = profile.bio.strip()
    if len(bio) > MAX_BIO:
        errors["bio"] = [f"The bio is {len(bio)} characters; shorten it to {MAX_BIO}."]
    campaign = profile.utm_campaign.strip()
    if len(campaign) > MAX_CAMPAIGN:
        errors["utm_campaign"] = [f"The campaign is longer than {MAX_CAMPAIGN} characters."]
    elif not _CAMPAIGN.match(campaign):
        errors["utm_campaign"] = [
            "Use letters, digits, hyphens and underscores only, such as spring-menu."
        ]
    if len(profile.links) > MAX_LINKS:
        errors["links"] = [
            f"A page has at most {MAX_LINKS} buttons; remove {len(profile.links) - MAX_LINKS}."
        ]
    else:
        for number, link in enumerate(profile.links, start=1):
            for texts in check_link(link).values():
                errors.setdefault("links", []).extend(f"Button {number}: {t}" for t in texts)
    if errors:
        raise ValidationError(errors)


def editable_profile(workspace: Workspace) -> ProfileIn:
    """The profile as it is now, in the shape ``save_profile`` takes (for the settings page,
    which changes one part and saves the whole)."""
    profile = profile_for(workspace)
    return ProfileIn(
        display_name=profile.display_name,
        bio=profile.bio,
        utm_campaign=profile.utm_campaign,
        links=[LinkIn(link.label, link.url) for link in PageLink.objects.in_workspace(workspace)],
    )


def save_profile(
    workspace: Workspace,
    changes: ProfileIn,
    *,
    avatar: MediaAsset | None = None,
    remove_avatar: bool = False,
) -> PageProfile:
    """Replace the page's profile and its buttons, whole, or change nothing.

    The one write behind the settings page and ``PUT …/page``. Everything is checked first
    (``check_profile``; ``avatar`` must be an image of this workspace's library); then the
    profile row (locked, made when missing) and the buttons are written in one transaction.
    The avatar is a copy of the library image, so deleting it from the library leaves the
    page intact; the old copy's file is removed once the new one is committed.
    """
    check_profile(changes)
    if avatar is not None and (
        avatar.workspace_id != workspace.pk or avatar.kind != MediaKind.IMAGE
    ):
        raise ValidationError({"avatar": ["Choose an image (JPEG, PNG or WebP) from the library."]})
    with transaction.atomic():
        PageProfile.objects.get_or_create(workspace=workspace)
        profile = PageProfile.objects.select_for_update().get(workspace=workspace)
        old_avatar = profile.avatar.name if profile.avatar else ""
        profile.display_name = changes.display_name.strip()
        profile.bio = changes.bio.strip()
        profile.utm_campaign = changes.utm_campaign.strip()
        # The buttons are replaced, so the page's Last-Modified must move even when the new
        # set is empty (no remaining row to carry a newer updated_at).
        profile.changed_at = timezone.now()
        fields = ["display_name", "bio", "utm_campaign", "changed_at", "updated_at"]
        if avatar is not None:
            avatar.file.open("rb")
            try:
                extension = avatar.file.name.rsplit(".", 1)[-1].lower()
                profile.avatar.save(f"avatar.{extension}", ContentFile(avatar.file.read()), False)
            finally:
                avatar.file.close()
            fields.append("avatar")
        elif remove_avatar:
            profile.avatar = ""  # type: ignore[assignment]
            fields.append("avatar")
        profile.save(update_fields=fields)
        PageLink.objects.in_workspace(workspace).delete()
        PageLink.objects.bulk_create(
            PageLink(workspace=workspace, label=ln.label.strip(), url=ln.url.strip(), position=n)
            for n, ln in enumerate(changes.links)
        )
        if old_avatar and "avatar" in fields and old_avatar != profile.avatar.name:
            storage = profile.avatar.storage
            transaction.on_commit(lambda: storage.delete(old_avatar))
    return profile


def move_link(links: list[LinkIn], index: int, step: int) -> list[LinkIn]:
    """``links`` with the one at ``index`` moved one place up (-1) or down (+1); unchanged at
    either end or for an index that is not there."""
    target = index + step
    if not (0 <= index < len(links) and 0 <= target < len(links)):
        return list(links)
    moved = list(links)
    moved[index], moved[target] = moved[target], moved[index]
    return moved
