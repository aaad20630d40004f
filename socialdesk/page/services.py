"""What the public page reads, and the one write a person may ask of it (remove an entry).

Every public read starts at ``public_workspace(slug)``, which answers only for a workspace
that has a page channel, and then goes through ``PageEntry.objects.visible(workspace)``:
nothing unpublished and nothing of another workspace can reach a public view.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime

from django.db.models import Count, Max
from django.http import Http404

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
