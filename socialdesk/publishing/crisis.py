"""The crisis switch (issue 15, item 6): one switch per workspace that stops every scheduled
post at once, and what happens to the posts that came due while it was on.

What it guarantees:

- **The engine never sends a held post.** ``held`` is the one rule, read once per batch by
  the dispatcher (``dispatcher.claim_due``) and the sweeper (``dispatch.sweep``) and once per
  task by ``dispatch.run`` (the task-per-delivery and Redis queue path): one indexed query
  (``crisis_pause_holding_idx``) that finds no row unless some workspace is in a crisis or
  has not yet decided what to do with what came due in one. A held delivery stays
  ``scheduled`` with its time: it is neither claimed nor turned into ``missed`` by the late
  window, so nothing is sent and nothing is dropped silently.
- **What is held.** While the switch is on: every post of the workspace that is
  ``scheduled`` (whatever its time) or ``waiting_retry``. Once it is off: the posts still
  ``scheduled`` at or before the moment it went off, until a person resumes (sends now),
  moves or cancels each (``resume``, ``reschedule``, ``cancel``, through the publishing
  services every other door uses). Posts due after the switch went off go out as usual.
- **Inbox writes are not held** (replies, likes, hides …: ``Delivery.kind`` other than
  ``post``). A person sends each of them now, in answer to someone; in a crisis answering
  people is what a team must still be able to do, and nothing goes out on its own: an inbox
  write is created due "now" only by a person's action (``services.send_inbox_action``).
- **A delivery already claimed** (in flight) when the switch goes on finishes its one
  network call: the switch stops what has not started, it cannot recall a request on its
  way. The claim and the look at ``held`` are a moment apart (under a second).
- **Who and when**: each pause records who turned it on, when and why, and who turned it off
  and when; every move of a delivery is in its history with the person who decided; the
  audit log and the team hear through ``crisis_changed`` and ``notifications.publishing``.
- An alert can propose the switch (it links to the page ``crisis``); only a person flips it.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q, QuerySet
from django.dispatch import Signal
from django.utils import timezone

from socialdesk.notifications import publishing as notices
from socialdesk.workspaces.models import User, Workspace

from . import services
from .models import CrisisPause, Delivery, DeliveryKind, DeliveryState

S = DeliveryState

# Sent after the switch went on or off and after a person decided about held deliveries,
# with ``pause``, ``action`` ("crisis.started", "crisis.ended", "crisis.resumed",
# "crisis.rescheduled", "crisis.cancelled"), ``actor`` and ``deliveries`` (a list, empty for
# the switch itself). The workflow's audit log listens: publishing never imports it.
crisis_changed = Signal()

REASON_MAX = 1000


def held() -> Q | None:
    """The deliveries the crisis switch holds now, as a filter; None when it holds none.

    One query on ``crisis_pause_holding_idx`` (rows of pauses not yet released: normally
    none). Callers apply it with ``exclude`` to what they would claim or miss."""
    rows = list(
        CrisisPause.objects.filter(released_at__isnull=True).values_list("workspace_id", "ended_at")
    )
    if not rows:
        return None
    holding = Q()
    for workspace_id, ended_at in rows:
        posts = Q(workspace_id=workspace_id, kind=DeliveryKind.POST)
        if ended_at is None:
            holding |= posts & Q(state__in=[S.SCHEDULED, S.WAITING_RETRY])
        else:
            holding |= posts & Q(state=S.SCHEDULED, scheduled_at__lte=ended_at)
    return holding


def holds(delivery: Delivery) -> bool:
    """True when the crisis switch holds ``delivery`` (``held``, for one delivery)."""
    if delivery.kind != DeliveryKind.POST:
        return False
    row = (
        CrisisPause.objects.filter(released_at__isnull=True, workspace_id=delivery.workspace_id)
        .values("ended_at")
        .first()
    )
    if row is None:
        return False
    if row["ended_at"] is None:  # the switch is on
        return delivery.state in (S.SCHEDULED, S.WAITING_RETRY)
    return (
        delivery.state == S.SCHEDULED
        and delivery.scheduled_at is not None
        and delivery.scheduled_at <= row["ended_at"]
    )


def current(workspace: Workspace | int) -> CrisisPause | None:
    """The workspace's pause that is on, if any (what the banner shows)."""
    return (
        CrisisPause.objects.filter(workspace=workspace, ended_at__isnull=True)
        .select_related("started_by")
        .first()
    )


def holding(workspace: Workspace | int) -> CrisisPause | None:
    """The workspace's pause that still holds posts: on, or off with posts undecided."""
    return (
        CrisisPause.objects.filter(workspace=workspace, released_at__isnull=True)
        .select_related("started_by", "ended_by")
        .first()
    )


def held_deliveries(pause: CrisisPause) -> QuerySet[Delivery]:
    """The posts ``pause`` holds, soonest first: while it is on, those due so far; once it is
    off, those that came due before it went off and wait for a person's decision."""
    until = pause.ended_at or timezone.now()
    return (
        Delivery.objects.filter(
            workspace_id=pause.workspace_id, state=S.SCHEDULED, scheduled_at__lte=until
        )
        .select_related("channel", "post", "workspace")
        .order_by("scheduled_at", "id")
    )


def upcoming(workspace: Workspace | int, hours: int = 24) -> int:
    """How many posts are scheduled to go out in the next ``hours`` (the confirmation says
    what turning the switch on stops)."""
    now = timezone.now()
    return Delivery.objects.filter(
        workspace=workspace,
        state__in=[S.SCHEDULED, S.AWAITING_APPROVAL],
        scheduled_at__lte=now + timedelta(hours=hours),
    ).count()


def start(workspace: Workspace, actor: User, reason: str) -> CrisisPause:
    """Turn the switch on: from this commit the engine claims none of the workspace's posts.

    Refuses (``ValidationError``, nothing written) an empty or too long reason and a switch
    that is already on. A previous pause whose held posts were never decided is released:
    the new one holds them (and everything else) now, and lists them when it ends."""
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": ["Say why: the team sees it on every page."]})
    if len(reason) > REASON_MAX:
        raise ValidationError({"reason": [f"At most {REASON_MAX} characters."]})
    if "\x00" in reason:
        raise ValidationError({"reason": ["The reason contains a NUL character."]})
    now = timezone.now()
    try:
        with transaction.atomic():
            previous = CrisisPause.objects.select_for_update().filter(
                workspace=workspace, released_at__isnull=True
            )
            if any(row.ended_at is None for row in previous):
                raise ValidationError({"switch": ["The crisis switch is already on."]})
            previous.update(released_at=now)
            pause = CrisisPause.objects.create(
                workspace=workspace, started_at=now, started_by=actor, reason=reason
            )
            crisis_changed.send(
                CrisisPause, pause=pause, action="crisis.started", actor=actor, deliveries=[]
            )
            notices.crisis_started(pause, actor)
    except IntegrityError:
        # Two people at once: the other one's switch is on (``one_holding_crisis_pause``).
        raise ValidationError({"switch": ["The crisis switch is already on."]}) from None
    return pause


def end(workspace: Workspace, actor: User) -> CrisisPause:
    """Turn the switch off. The posts that came due meanwhile stay held until a person
    decides about each (``held_deliveries``); with none, the pause is released at once."""
    now = timezone.now()
    with transaction.atomic():
        pause = (
            CrisisPause.objects.select_for_update()
            .filter(workspace=workspace, ended_at__isnull=True)
            .first()
        )
        if pause is None:
            raise ValidationError({"switch": ["The crisis switch is already off."]})
        pause.ended_at, pause.ended_by = now, actor
        pause.save(update_fields=["ended_at", "ended_by"])
        _release_if_done(pause, now)
        crisis_changed.send(
            CrisisPause, pause=pause, action="crisis.ended", actor=actor, deliveries=[]
        )
        notices.crisis_ended(pause, actor, held=held_deliveries(pause).count())
    return pause


def _release_if_done(pause: CrisisPause, now: datetime | None = None) -> None:
    if pause.ended_at is None or pause.released_at is not None:
        return
    if not held_deliveries(pause).exists():
        pause.released_at = now or timezone.now()
        pause.save(update_fields=["released_at"])


def _chosen(pause: CrisisPause, delivery_ids: Iterable[int] | None) -> list[Delivery]:
    """The held deliveries named (None: all of them); refuses ids that are not held."""
    if pause.ended_at is None:
        raise ValidationError(
            {"switch": ["The crisis switch is still on: turn it off first, then decide."]}
        )
    rows = held_deliveries(pause)
    if delivery_ids is None:
        return list(rows)
    wanted = list(dict.fromkeys(delivery_ids))
    found = {delivery.pk: delivery for delivery in rows.filter(pk__in=wanted)}
    missing = [pk for pk in wanted if pk not in found]
    if missing:
        raise ValidationError(
            {
                "delivery_ids": [
                    "Not held by the crisis switch (sent, moved or cancelled meanwhile?): "
                    + ", ".join(str(pk) for pk in missing[:20])
                ]
            }
        )
    return [found[pk] for pk in wanted]


def _decide(
    workspace: Workspace,
    actor: User,
    delivery_ids: Iterable[int] | None,
    action: str,
    apply: Any,
) -> list[Delivery]:
    pause = holding(workspace)
    if pause is None:
        raise ValidationError({"switch": ["No post is held by the crisis switch."]})
    done: list[Delivery] = []
    with transaction.atomic():
        for delivery in _chosen(pause, delivery_ids):
            done += apply(delivery)  # the service's own fresh copy, as it left it
        _release_if_done(pause)
        if done:
            crisis_changed.send(
                CrisisPause, pause=pause, action=action, actor=actor, deliveries=done
            )
    return done


def resume(
    workspace: Workspace, actor: User, delivery_ids: Iterable[int] | None = None
) -> list[Delivery]:
    """Send held posts now (``services.publish_now``, with its send checks), all of them or
    those named; all or nothing: one that cannot go out refuses the whole choice."""
    return _decide(
        workspace,
        actor,
        delivery_ids,
        "crisis.resumed",
        lambda delivery: services.publish_now(delivery, actor),
    )


def reschedule(
    workspace: Workspace,
    actor: User,
    local_datetime: datetime,
    zone: str | None = None,
    delivery_ids: Iterable[int] | None = None,
) -> list[Delivery]:
    """Move held posts to a new time (``services.reschedule``: the wall-clock time in
    ``zone``, else each channel's zone; a time in the past is refused); all or nothing."""
    return _decide(
        workspace,
        actor,
        delivery_ids,
        "crisis.rescheduled",
        lambda delivery: services.reschedule(delivery, local_datetime, zone, actor),
    )


def cancel(
    workspace: Workspace, actor: User, delivery_ids: Iterable[int] | None = None
) -> list[Delivery]:
    """Cancel held posts for good (``services.cancel``); all or nothing."""
    return _decide(
        workspace,
        actor,
        delivery_ids,
        "crisis.cancelled",
        lambda delivery: services.cancel(delivery, actor),
    )
