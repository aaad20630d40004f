"""A delivery's lifecycle, declared in one place, and the one function that moves it.

``GRAPH`` lists every allowed move; ``transition`` is the only code that changes
``Delivery.state``. It guarantees:

- an undeclared move raises ``IllegalTransition`` and changes nothing;
- the move is a compare-and-set, ``UPDATE … WHERE id = … AND state = <from>`` with its row
  count checked, so two workers (or a worker and a person) can never both move the same
  delivery out of the same state: the loser gets ``TransitionConflict`` and changes nothing;
- every move is recorded as a ``DeliveryTransition`` (when, why, who or what) in the same
  transaction as the state change, so the history never disagrees with the state.

Why these states (see ``publishing.dispatch`` for who moves what):

- ``publishing``: claimed by one worker with a lease; exactly one network call is in flight.
- ``waiting_retry``: the network said "not now" (a 429, a 5xx, a timeout): a retry with the
  same idempotency key cannot post twice; ``retry_at`` says when to try again.
- ``unknown``: the call may or may not have created the post (exception mid-call, the worker
  died and its lease expired, or the attempts ran out after failures that may have hidden a
  write). Never retried or failed blindly: it is reconciled by asking the network
  (``find_published``) and becomes ``published``, ``waiting_retry``, or ``failed`` when the
  post is not there and no attempt is left.
- ``publishing → scheduled`` is the pause: the channel's authorization was revoked or the
  channel was disconnected. The delivery keeps its time and goes out when the channel is
  reconnected, unless by then it is later than the workspace's late window (→ ``missed``).
- ``awaiting_approval``: it has a time but its post is not approved while the workspace's
  approval gate is on (``Workspace.approval_gate``); the engine never sends it. Approval moves
  it to ``scheduled`` if its time is still ahead; its time passing unapproved makes it
  ``missed`` (or, where the workspace allows it, a fast-lane post goes out anyway). A content
  change after approval, or the send-time check, moves a scheduled one back here.
- ``missed``: too late to make sense (later than the workspace's ``late_window``); a person
  decides what to do, nothing is published blindly.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from django.db import transaction
from django.dispatch import Signal
from django.utils import timezone

from socialdesk.workspaces.models import User

from .models import Delivery, DeliveryState, DeliveryTransition

S = DeliveryState
log = logging.getLogger(__name__)

GRAPH: dict[DeliveryState, frozenset[DeliveryState]] = {
    S.DRAFT: frozenset({S.SCHEDULED, S.AWAITING_APPROVAL}),
    S.SCHEDULED: frozenset(
        {
            S.SCHEDULED,  # reschedule
            S.DRAFT,  # unschedule
            S.PUBLISHING,  # claimed by a worker
            S.CANCELLED,
            S.MISSED,
            S.AWAITING_APPROVAL,  # its content changed after approval, or the gate came on
        }
    ),
    S.AWAITING_APPROVAL: frozenset(
        {
            S.AWAITING_APPROVAL,  # moved to another time while it waits
            S.SCHEDULED,  # approved while its time is still ahead
            S.DRAFT,  # unscheduled
            S.CANCELLED,
            S.MISSED,  # its time came and it was still not approved
        }
    ),
    S.PUBLISHING: frozenset(
        {
            S.PUBLISHED,
            S.WAITING_RETRY,  # transient failure, the post was not created
            S.FAILED,  # permanent failure, or attempts used up
            S.UNKNOWN,  # crash or timeout during the call, or lease expired
            S.SCHEDULED,  # paused: channel needs reconnecting
            S.AWAITING_APPROVAL,  # approval required and missing at send time
        }
    ),
    S.WAITING_RETRY: frozenset(
        {
            S.PUBLISHING,
            S.FAILED,
            S.MISSED,
            S.WAITING_RETRY,  # paced: retry moved to when the network budget has room
        }
    ),
    S.UNKNOWN: frozenset({S.PUBLISHED, S.WAITING_RETRY, S.FAILED}),  # FAILED: checked, not there
    S.PUBLISHED: frozenset(),
    S.FAILED: frozenset(),
    S.CANCELLED: frozenset(),
    S.MISSED: frozenset(),
}

# States in which a worker may be talking to the network about this delivery.
IN_FLIGHT = frozenset({S.PUBLISHING, S.UNKNOWN})
# States from which nothing moves any more.
FINAL = frozenset(state for state, moves in GRAPH.items() if not moves)


# Sent after a delivery of one of the inbox's kinds (reply, like, hide …; never a post) moved
# to a final state or to ``published``, with ``delivery`` (updated in memory), ``from_state``
# and ``to_state``. The inbox listens (``inbox.apps``): publishing never imports the upper
# floors, they hear about what it did. Receivers run in the mover's transaction, and a
# receiver that raises is logged and does not undo the move (``send_robust``).
delivery_finished = Signal()
# The states after which the inbox is told.
TOLD = frozenset({S.PUBLISHED, S.FAILED, S.MISSED, S.CANCELLED})


class IllegalTransition(ValueError):
    """A move that ``GRAPH`` does not declare."""


class TransitionConflict(RuntimeError):
    """The delivery was no longer in the expected state (someone else moved it first)."""


def allowed(from_state: str, to_state: str) -> bool:
    return DeliveryState(to_state) in GRAPH[DeliveryState(from_state)]


def actor_label(actor: User | str | None) -> str:
    if actor is None:
        return "system"
    if isinstance(actor, User):
        return f"user {actor.pk} ({actor.email})"
    return actor


def transition(
    delivery: Delivery,
    to: DeliveryState | str,
    reason: str,
    actor: User | str | None = None,
    *,
    where: dict[str, Any] | None = None,
    at: datetime | None = None,
    **fields: Any,
) -> Delivery:
    """Move ``delivery`` from its current state to ``to``, setting ``fields`` on the way.

    ``delivery.state`` is the state the caller believes the row is in; the row moves only if
    it is still in that state (and still matches ``where``, extra lookups such as
    ``{"scheduled_at__lte": now}`` that must also still hold), otherwise
    ``TransitionConflict`` is raised and nothing is written. ``actor`` is the person who
    asked, or a string naming the machinery (``"system: sweeper"``). ``fields`` may hold
    expressions (``F("attempts") + 1``); the instance is refreshed for those.

    Returns the same instance, updated in memory.
    """
    from_state = DeliveryState(delivery.state)
    to_state = DeliveryState(to)
    if to_state not in GRAPH[from_state]:
        raise IllegalTransition(
            f"A delivery cannot move from {from_state.label.lower()} to "
            f"{to_state.label.lower()} (delivery {delivery.pk})."
        )
    now = at or timezone.now()  # ``at``: a move recorded after the fact (the demo's history)
    # No savepoint inside a caller's transaction: the move and its record stand or fall with
    # it (two round trips fewer per move, and the engine makes two per delivery). A lost race
    # writes nothing, so it is raised after the block and leaves the caller's transaction
    # usable.
    with transaction.atomic(savepoint=False):
        moved = Delivery.engine.filter(pk=delivery.pk, state=from_state, **(where or {})).update(
            state=to_state, updated_at=now, **fields
        )
        if moved == 1:
            DeliveryTransition.objects.create(
                workspace_id=delivery.workspace_id,
                delivery_id=delivery.pk,
                from_state=from_state,
                to_state=to_state,
                at=now,
                reason=reason[:1000],
                actor=actor if isinstance(actor, User) else None,
                actor_label=actor_label(actor)[:200],
            )
    if moved != 1:
        raise TransitionConflict(
            f"Delivery {delivery.pk} is no longer {from_state.label.lower()}"
            + (" with the expected values" if where else "")
            + "; someone else moved it first."
        )
    delivery.state = to_state
    delivery.updated_at = now
    computed = []
    for name, value in fields.items():
        if hasattr(value, "resolve_expression"):  # F(), Value() …: read back from the row
            computed.append(name)
        else:
            setattr(delivery, name, value)
    if computed:
        delivery.refresh_from_db(fields=computed)
    if to_state in TOLD and getattr(delivery, "kind", "post") != "post":
        tell_finished(delivery, from_state, to_state)
    return delivery


def tell_finished(delivery: Delivery, from_state: DeliveryState, to_state: DeliveryState) -> None:
    """Send ``delivery_finished`` (``transition`` does; so does the dispatcher, which records
    many successes in one statement)."""
    for receiver, result in delivery_finished.send_robust(
        sender=Delivery, delivery=delivery, from_state=from_state, to_state=to_state
    ):
        if isinstance(result, Exception):
            log.error("delivery %s: %s failed on %s: %r", delivery.pk, receiver, to_state, result)
