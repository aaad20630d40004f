"""What the publishing engine tells people: missed and failed deliveries, paused channels.

``publishing.dispatch`` calls these after recording the change. They never raise: a
notification that cannot be written is logged, and the delivery's own record stands (the
write runs in a savepoint, so a failure here cannot break the dispatcher's transaction).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from django.db import transaction
from django.urls import reverse

from .services import notify, people_with_role

if TYPE_CHECKING:
    from socialdesk.networks.models import Channel
    from socialdesk.publishing.models import Delivery

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


def unapproved_at_due(delivery: Delivery) -> None:
    """Tell the post's author, the approvers and the leads that a delivery was held as missed
    because its post was not approved in time."""
    _tell_author_and_leads(
        delivery, "delivery.missed", f"Not approved in time for {delivery.channel}", "approver"
    )


def _tell_author_and_leads(delivery: Delivery, event: str, headline: str, *more_roles: str) -> None:
    def act() -> None:
        post = delivery.post
        people = [post.author, *people_with_role(delivery.workspace, *LEADS, *more_roles)]
        notify(
            delivery.workspace,
            [p for p in people if p is not None],
            event,
            f"{headline}: {post}",
            body=delivery.last_error,
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
        waiting = Delivery.objects.filter(
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
