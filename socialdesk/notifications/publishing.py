"""What the publishing engine tells people: missed, failed and late deliveries, paused
channels.

``publishing.dispatch`` calls these after recording the change. They never raise: a
notification that cannot be written is logged, and the delivery's own record stands (the
write runs in a savepoint, so a failure here cannot break the dispatcher's transaction).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING

from django.db import transaction
from django.urls import reverse

from socialdesk.workspaces.models import duration_text

from .services import notify, people_with_role

if TYPE_CHECKING:
    from socialdesk.networks.models import Channel
    from socialdesk.publishing.models import CrisisPause, Delivery
    from socialdesk.workspaces.models import User

log = logging.getLogger(__name__)

LEADS = ("owner", "manager")


def _post_url(delivery: Delivery) -> str:
    return reverse("post_edit", args=[delivery.workspace.slug, delivery.post_id])


def _safely(what: str, action) -> None:  # type: ignore[no-untyped-def]
    try:
        with transaction.atomic():
            action()
    except Exception:
        log.exception("Could not notify about %s", what)


def delivery_missed(delivery: Delivery) -> None:
    """Tell the post's author, the owners and the managers that a delivery was missed."""
    _tell_author_and_leads(delivery, "delivery.missed", f"Missed on {delivery.channel}")


def delivery_failed(delivery: Delivery) -> None:
    """Tell the post's author, the owners and the managers that a delivery failed for good."""
    _tell_author_and_leads(delivery, "delivery.failed", f"Failed on {delivery.channel}")


def deliveries_missed(deliveries: Sequence[Delivery]) -> None:
    """Tell about the deliveries one sweep found missed: per workspace, one notice (so one
    email) to each of their posts' authors, the owners and the managers, listing them all,
    rather than one per delivery (an outage can miss dozens at once)."""
    by_workspace: dict[int, list[Delivery]] = {}
    for delivery in deliveries:
        by_workspace.setdefault(delivery.workspace_id, []).append(delivery)
    for group in by_workspace.values():
        if len(group) == 1:
            delivery_missed(group[0])
        else:
            _safely(f"{len(group)} missed deliveries", lambda group=group: _tell_missed(group))


def _tell_missed(group: list[Delivery]) -> None:
    workspace = group[0].workspace
    lines = [
        f"- {delivery.post} on {delivery.channel}, due {delivery.scheduled_at:%Y-%m-%d %H:%M}Z"
        for delivery in group
    ]
    body = (
        "Not published: each was later than the workspace's late window "
        f"({duration_text(workspace.late_window)}) allows.\n"
        + "\n".join(lines)
        + "\n\nSchedule again those that still make sense."
    )
    authors = [delivery.post.author for delivery in group]
    notify(
        workspace,
        [*authors, *people_with_role(workspace, *LEADS)],
        "delivery.missed",
        f"{len(group)} posts missed",
        body=body,
        url=reverse("post_list", args=[workspace.slug]) + "?state=missed",
    )


def delivery_published_late(delivery: Delivery, late: str, why: str) -> None:
    """Tell the post's author, the owners and the managers that a delivery went out ``late``
    ("7 minutes"), and ``why`` when known ("no worker was running")."""
    from django.contrib.contenttypes.models import ContentType

    from .models import Notification

    told = Notification.objects.filter(
        event="delivery.late",
        target_type=ContentType.objects.get_for_model(delivery),
        target_id=delivery.pk,
    )
    if told.exists():  # a slow worker's late result after a reconcile: told once already
        return
    because = f" because {why}" if why else ""
    body = (
        f"It was due {delivery.scheduled_at:%Y-%m-%d %H:%M}Z and went out "
        f"{delivery.published_at:%Y-%m-%d %H:%M}Z, {late} late{because}."
    )
    _tell_author_and_leads(
        delivery,
        "delivery.late",
        f"Published {late} late on {delivery.channel}{because}",
        body=body,
    )


def unapproved_at_due(delivery: Delivery) -> None:
    """Tell the post's author, the approvers and the leads that a delivery was held as missed
    because its post was not approved in time."""
    _tell_author_and_leads(
        delivery, "delivery.missed", f"Not approved in time for {delivery.channel}", "approver"
    )


def _tell_author_and_leads(
    delivery: Delivery, event: str, headline: str, *more_roles: str, body: str | None = None
) -> None:
    if delivery.post_id is None:
        return  # an inbox write (reply, like …): the inbox tells its own people

    def act() -> None:
        post = delivery.post
        people = [post.author, *people_with_role(delivery.workspace, *LEADS, *more_roles)]
        notify(
            delivery.workspace,
            [p for p in people if p is not None],
            event,
            f"{headline}: {post}",
            body=delivery.last_error if body is None else body,
            url=_post_url(delivery),
            target=delivery,
        )

    _safely(f"{event} {delivery.pk}", act)


def channel_needs_reconnecting(channel: Channel, problem: str) -> None:
    """Tell the owners and managers, once per disconnection (the caller calls this only when
    it is the one that moved the channel to "needs reconnecting"), that the channel's due
    deliveries wait for them."""

    def act() -> None:
        from socialdesk.publishing.models import Delivery
        from socialdesk.publishing.models import DeliveryState as S

        # Those in flight now are paused too, as soon as their attempt hears the same answer.
        waiting = Delivery.engine.filter(
            channel=channel,
            state__in=[S.SCHEDULED, S.WAITING_RETRY, S.PUBLISHING],
        ).count()
        many = waiting != 1
        body = (
            f"{problem}\n\n{waiting} scheduled deliver{'ies' if many else 'y'} on this channel "
            f"{'are' if many else 'is'} paused until it is reconnected; any that are later than "
            "the workspace's late window by then will be missed."
        )
        notify(
            channel.workspace,
            people_with_role(channel.workspace, *LEADS),
            "channel.needs_reconnecting",
            f"Reconnect {channel}: its deliveries are paused",
            body=body,
            url=reverse("channel_list", args=[channel.workspace.slug]),
            target=channel,
        )

    _safely(f"channel {channel.pk}", act)


# The team hears about the crisis switch: everyone who plans or writes posts or answers
# people (a client and an analyst see the banner on their next page).
CRISIS_ROLES = ("owner", "manager", "creator", "approver", "community_manager")


def crisis_started(pause: CrisisPause, actor: User | None) -> None:
    """Tell the team that ``actor`` turned the crisis switch on, and why."""

    def act() -> None:
        workspace = pause.workspace
        who = actor.display_name if actor is not None else "Someone"
        notify(
            workspace,
            people_with_role(workspace, *CRISIS_ROLES),
            "crisis.started",
            f"Crisis switch on: {who} paused every scheduled post",
            body=f"Why: {pause.reason}\n\nNothing scheduled goes out until it is turned off.",
            url=reverse("crisis", args=[workspace.slug]),
            actor=actor,
            target=pause,
        )

    _safely("the crisis switch going on", act)


def crisis_ended(pause: CrisisPause, actor: User | None, held: int) -> None:
    """Tell the team that ``actor`` turned the crisis switch off, and how many posts wait for
    a decision."""

    def act() -> None:
        workspace = pause.workspace
        who = actor.display_name if actor is not None else "Someone"
        waiting = (
            f"{held} post{'s' if held != 1 else ''} that came due meanwhile "
            f"{'wait' if held != 1 else 'waits'} for a decision: send now, move or cancel."
            if held
            else "No post came due meanwhile."
        )
        notify(
            workspace,
            people_with_role(workspace, *CRISIS_ROLES),
            "crisis.ended",
            f"Crisis switch off: {who} turned it off",
            body=waiting,
            url=reverse("crisis", args=[workspace.slug]),
            actor=actor,
            target=pause,
        )

    _safely("the crisis switch going off", act)
