"""A channel's status, declared in one place, and the one function that moves it.

``GRAPH`` lists every allowed move; ``move_channel`` is the only code that changes
``Channel.status`` (a new channel starts ``connected``, the field's default). Like a
delivery's ``publishing.states.transition`` it guarantees:

- an undeclared move raises ``IllegalChannelMove`` and changes nothing;
- the move is a compare-and-set, ``UPDATE … WHERE id = … AND status = <from>`` with its row
  count checked, so a worker that hears "token revoked" and a person who pauses or
  disconnects the channel at the same moment cannot both move it from the same status: the
  loser gets ``ChannelMoveConflict`` and changes nothing;
- every move is recorded as a ``ChannelTransition`` (when, why, who or what) in the same
  transaction, with any other fields the move sets (new credentials on reconnecting).

What the statuses mean to the publishing engine (``publishing.dispatch``): only a
``connected`` channel is sent to. A delivery that comes due on a channel in any other status
is *paused* (back to ``scheduled``, its time kept) and goes out once the channel is connected
again, unless it is later than the workspace's late window by then (``missed``).

- ``needs_reconnect``: the network refused the channel's authorization (revoked or expired
  token). Set by the engine, which tells the owners and managers; a person reconnects.
- ``paused``: a person chose to hold the channel's publishing for a while (a crisis, a
  holiday). Its credentials stay; resuming makes it ``connected`` again.
- ``disconnected``: a person disconnected it and its secrets were erased; reconnecting
  with new credentials makes it ``connected``.
- ``example``: the demo's Bluesky and Mastodon channels, which have no account behind them.
  Shown as "Example — no account connected"; their past deliveries stay as history and the
  ones that come due wait, as on any channel that is not connected. Connecting a real
  account makes it ``connected``.

A ``connected`` channel with no credentials stored (one made through the API) is shown as
"not connected" (``Channel.status_text``); the engine moves it to ``needs_reconnect`` the
first time one of its deliveries comes due, and the delivery waits.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils import timezone

from socialdesk.workspaces.models import User

from .models import Channel, ChannelStatus, ChannelTransition

C = ChannelStatus

GRAPH: dict[ChannelStatus, frozenset[ChannelStatus]] = {
    C.CONNECTED: frozenset(
        {
            C.NEEDS_RECONNECT,  # the engine: the network refused the authorization
            C.PAUSED,  # a person holds publishing
            C.DISCONNECTED,  # a person disconnects; secrets erased
            C.EXAMPLE,  # the demo, once its plan is made: an account that is not real
        }
    ),
    C.NEEDS_RECONNECT: frozenset({C.CONNECTED, C.DISCONNECTED}),
    C.PAUSED: frozenset(
        {
            C.CONNECTED,  # resumed
            C.DISCONNECTED,
        }
    ),
    C.DISCONNECTED: frozenset({C.CONNECTED}),  # reconnected with new credentials
    # A real account connected in its place, or the example removed.
    C.EXAMPLE: frozenset({C.CONNECTED, C.DISCONNECTED}),
}


class IllegalChannelMove(ValueError):
    """A move that ``GRAPH`` does not declare."""


class ChannelMoveConflict(RuntimeError):
    """The channel was no longer in the expected status (someone else moved it first)."""


def actor_label(actor: User | str | None) -> str:
    """How the history names who moved something: a person, or the machinery's own name."""
    if actor is None:
        return "system"
    if isinstance(actor, User):
        return f"user {actor.pk} ({actor.email})"
    return actor


def allowed(from_status: str, to_status: str) -> bool:
    return ChannelStatus(to_status) in GRAPH[ChannelStatus(from_status)]


def move_channel(
    channel: Channel,
    to: ChannelStatus | str,
    reason: str,
    actor: User | str | None = None,
    **fields: Any,
) -> Channel:
    """Move ``channel`` from the status the caller read to ``to``, setting ``fields`` too.

    ``channel.status`` is the status the caller believes the row is in; the row moves only
    if it is still in it, otherwise ``ChannelMoveConflict`` is raised and nothing is
    written. ``actor`` is the person who asked, or a string naming the machinery
    (``"system: worker w1"``). ``fields`` are plain values (no expressions).

    Returns the same instance, updated in memory.
    """
    from_status = ChannelStatus(channel.status)
    to_status = ChannelStatus(to)
    if to_status not in GRAPH[from_status]:
        raise IllegalChannelMove(
            f"A channel cannot move from {from_status.label.lower()} to "
            f"{to_status.label.lower()} (channel {channel.pk})."
        )
    now = timezone.now()
    with transaction.atomic():
        moved = Channel.objects.filter(pk=channel.pk, status=from_status).update(
            status=to_status, **fields
        )
        if moved != 1:
            raise ChannelMoveConflict(
                f"Channel {channel.pk} is no longer {from_status.label.lower()}; "
                "someone else moved it first."
            )
        ChannelTransition.objects.create(
            workspace_id=channel.workspace_id,
            channel_id=channel.pk,
            from_status=from_status,
            to_status=to_status,
            at=now,
            reason=reason[:1000],
            actor=actor if isinstance(actor, User) else None,
            actor_label=actor_label(actor)[:200],
        )
    channel.status = to_status
    for name, value in fields.items():
        setattr(channel, name, value)
    return channel


def mark_needs_reconnect(channel: Channel, problem: str, actor: User | str | None) -> bool:
    """The network refused ``channel``'s authorization: ``connected → needs_reconnect``.

    True only for the one caller that made the move (so that people are told once, not
    once per paused delivery). A channel that is not connected (already marked, paused,
    disconnected) is left as it is: a paused one finds out again when it is resumed.
    """
    status = Channel.objects.filter(pk=channel.pk).values_list("status", flat=True).first()
    if status != ChannelStatus.CONNECTED:
        if status is not None:
            channel.status = status
        return False
    channel.status = status
    try:
        move_channel(channel, ChannelStatus.NEEDS_RECONNECT, problem, actor)
    except ChannelMoveConflict:
        channel.refresh_from_db(fields=["status"])
        return False
    return True


def recent_moves(channel: Channel, limit: int = 5) -> list[ChannelTransition]:
    """The channel's latest moves, newest first."""
    return list(channel.transitions.select_related("actor").order_by("-at", "-id")[:limit])
