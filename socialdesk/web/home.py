"""A workspace's home page: what needs the signed-in person now, and what is coming up.

"Needs you" gathers what is otherwise spread over pages and hidden behind a notification
count: posts waiting for your decision, your overdue workflow steps, deliveries that failed,
and channels that cannot publish. "Coming up" is the next scheduled posts. What a person sees
follows their role's permissions (a client sees the decisions waiting for them, an analyst
what is coming up), and every item links to the page where it is handled.

A fixed number of queries whatever the size of the workspace (``tests/test_home.py`` counts
them): one for the steps, one for failed deliveries, one for the channels, one for what is
coming up, each cut to ``SHOWN``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone

from socialdesk.networks.models import Channel, ChannelStatus
from socialdesk.publishing.models import Delivery, DeliveryState
from socialdesk.workflow.services import open_steps
from socialdesk.workspaces.models import Membership

from .helpers import enter

# How many items each list shows (the pages they link to show all).
SHOWN = 8
# Failed deliveries older than this are history, not something that needs someone now.
FAILED_RECENTLY = timedelta(days=14)


@dataclass
class Item:
    title: str
    detail: str
    url: str
    when: object = None


@dataclass
class Home:
    approvals: list[Item] = field(default_factory=list)
    overdue: list[Item] = field(default_factory=list)
    failed: list[Item] = field(default_factory=list)
    channels: list[Item] = field(default_factory=list)
    coming_up: list[Item] = field(default_factory=list)
    shows: set[str] = field(default_factory=set)

    @property
    def needs_count(self) -> int:
        return len(self.approvals) + len(self.overdue) + len(self.failed) + len(self.channels)


def home_for(membership: Membership) -> Home:
    """What ``membership``'s person should see on the workspace's home page."""
    workspace, user = membership.workspace, membership.user
    now = timezone.now()
    slug = workspace.slug
    home = Home()
    # The editor for those who may edit; the read-only workflow page for everybody else.
    post_page = "post_edit" if membership.can("posts.edit") else "workflow_post"

    if membership.can("approvals.decide") or membership.can("workflow.move"):
        if membership.can("approvals.decide"):
            home.shows.add("approvals")
        if membership.can("workflow.move"):
            home.shows.add("overdue")
        for visit in open_steps(workspace, user)[: SHOWN * 2]:
            url = reverse("workflow_post", args=[slug, visit.post_id])
            if visit.stage.is_approval and membership.can("approvals.decide"):
                if len(home.approvals) < SHOWN:
                    home.approvals.append(
                        Item(str(visit.post), f"waiting in {visit.stage}", url, visit.due_at)
                    )
            elif visit.due_at is not None and visit.due_at < now and len(home.overdue) < SHOWN:
                home.overdue.append(
                    Item(str(visit.post), f"{visit.stage} was due", url, visit.due_at)
                )

    if membership.can("deliveries.schedule"):
        home.shows.add("failed")
        failed = (
            Delivery.objects.in_workspace(workspace)  # type: ignore[attr-defined]
            .filter(
                state__in=[DeliveryState.FAILED, DeliveryState.UNKNOWN],
                updated_at__gte=now - FAILED_RECENTLY,
            )
            .select_related("post", "channel")
            .order_by("-updated_at", "-id")[:SHOWN]
        )
        for delivery in failed:
            state = delivery.get_state_display().lower()
            home.failed.append(
                Item(
                    str(delivery.post),
                    f"{state} on {delivery.channel}: {delivery.last_error or 'no error given'}",
                    reverse("post_edit", args=[slug, delivery.post_id]),
                    delivery.updated_at,
                )
            )

    if membership.can("channels.manage"):
        home.shows.add("channels")
        broken = Channel.objects.in_workspace(workspace).exclude(  # type: ignore[attr-defined]
            status__in=[ChannelStatus.PAUSED, ChannelStatus.DISCONNECTED, ChannelStatus.EXAMPLE]
        )
        url = reverse("channel_list", args=[slug])
        for channel in broken[: SHOWN * 2]:
            if channel.status == ChannelStatus.NEEDS_RECONNECT:
                home.channels.append(Item(str(channel), "needs reconnecting", url))
            elif not channel.has_account:
                home.channels.append(Item(str(channel), "no account connected", url))
        home.channels = home.channels[:SHOWN]

    home.shows.add("coming_up")
    upcoming = (
        Delivery.objects.in_workspace(workspace)  # type: ignore[attr-defined]
        .filter(state=DeliveryState.SCHEDULED, scheduled_at__gte=now)
        .select_related("post", "channel")
        .order_by("scheduled_at", "id")[:SHOWN]
    )
    for delivery in upcoming:
        home.coming_up.append(
            Item(
                str(delivery.post),
                f"on {delivery.channel}",
                reverse(post_page, args=[slug, delivery.post_id]),
                delivery.scheduled_at,
            )
        )
    return home


@login_required
def workspace_home(request: HttpRequest, slug: str) -> HttpResponse:
    membership = enter(request, slug, "workspace.view")
    return render(request, "web/home.html", {"home": home_for(membership)})
