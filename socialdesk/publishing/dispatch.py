"""Claiming, sending and sweeping: how a due delivery goes out exactly once.

The guarantees, and how they are kept:

- **One worker per delivery.** ``claim`` moves ``scheduled`` (due) or ``waiting_retry``
  (retry time come) to ``publishing`` with a compare-and-set (``states.transition``) and a
  lease (``lease_expires_at``); whoever loses the race gets None and does nothing. This
  holds on SQLite and on PostgreSQL (where a concurrent UPDATE waits for the winner and then
  finds the state changed), on one machine or many.
- **One network call per attempt**, carrying the delivery's ``idempotency_key`` (random,
  stored with the delivery when it is created, so never shared with another installation's
  delivery on the same account); every
  outcome is recorded as a transition, and every later move of an attempt is made only by
  the worker that holds the claim (``claimed_by``).
- **Never twice.** A ``ConnectorError`` is the network's answer; a transient one may be
  retried, because a connector's ``publish`` never posts twice for the same idempotency key
  (``networks.base``; Bluesky chooses the record key from it). Anything else raised during
  the call (a crash, a bug) means the outcome is unknown: the delivery becomes ``unknown``
  and is reconciled by asking the network (``find_published``) before any retry. A worker
  that dies mid-attempt stops beating (``WorkerHeartbeat``): within
  ``WORKER_HEARTBEAT_STALE_SECONDS`` plus one sweep the sweeper marks its claims
  ``unknown`` too, never ``scheduled`` (issue 12, item E). A worker waiting for a slow
  network keeps its claims, because its heartbeat thread beats on meanwhile. The lease is
  the backstop for a claim whose holder has no heartbeat (a task run outside
  ``socialdesk worker``): ``LEASE`` is far longer than any connector's own timeout, so a
  lease does not expire under a worker still waiting for the network.
- **Never dropped silently.** ``sweep`` re-enqueues every delivery that is due and not in
  flight (a lost queue, a killed worker, an expired lease, a retry whose time has come) and
  turns a delivery later than its workspace's ``late_window`` into ``missed`` rather than
  publishing it blindly.
- **Transient failures** retry with exponential backoff and jitter (``backoff``), at most
  ``MAX_ATTEMPTS`` network calls. Every retry waits at least that backoff, whatever the
  network said.
- **Rate limits** (a 429, ``ConnectorError.rate_limited``) are waited out, not failed: the
  retry comes after the network's reset time *plus* the backoff (a reset already past, or a
  server clock a little behind ours, never brings it back at once), and the call counts no
  attempt, because the engine could not have avoided it (its own pacing already keeps to the
  budgets the network publishes). What bounds the waiting is the late window: a delivery
  still rate-limited past it becomes ``missed``.
- **Before failing, ask.** When the attempts are used up, an earlier attempt may still have
  written the post while its answer was lost (a timeout, a dropped connection, a 5xx after
  the request was sent). So the delivery becomes ``unknown`` and is reconciled like any other
  (``reconcile``): a post that exists makes it ``published`` with its URL; only a network
  that answers "no such post" makes it ``failed``, with a notice that says what happened last
  and what a person can do. While the network cannot answer, it stays ``unknown``.
- **Permanent failures** fail with the network's own message in ``last_error``.
- **Revoked authorization** marks the channel ``needs_reconnect`` and *pauses* the delivery:
  back to ``scheduled`` with its time kept and attempts reset. The sweeper skips deliveries
  of channels that are not connected; once the channel is reconnected, the next sweep sends
  whatever is still within the late window, and the rest becomes ``missed``. A paused
  delivery is not failed, because nothing is wrong with it.
- **Paced to the networks' budgets** (issue 3, item 7): a claim first checks, under a lock
  on the channel row, that the attempt's ``cost`` fits every limit the connector declares,
  and records the spend in the same transaction (``pacing``). When it does not fit, no
  network call is made: the delivery stays ``scheduled`` (or ``waiting_retry``), recorded
  with a "paced: …" reason, and is queued for when the window has room.
- **Re-checked at send time**: the channel is still connected, the post still has any
  approval the workspace requires (else back to ``draft``), the network still accepts the
  content, and the delivery is still due and not too late.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import DatabaseError, transaction
from django.db.models import Q
from django.utils import timezone

from socialdesk.networks.base import ConnectorError, RateLimit
from socialdesk.networks.models import Channel, ChannelStatus
from socialdesk.networks.states import mark_needs_reconnect
from socialdesk.notifications import publishing as notices
from socialdesk.workspaces.models import Workspace

from . import claims, crisis, lateness, pacing
from .checks import account_missing, approval_missing, channel_problem
from .connectors import (
    connector_for,
    content_for,
    is_connector_error,
    problem_text,
    remote_identity,
    retry_after_seconds,
)
from .models import APPROVAL_HELD, APPROVAL_RESUMED, Delivery, DeliveryState, WorkerHeartbeat
from .states import GRAPH, TransitionConflict, transition
from .tasks import enqueue_delivery, oldest_waiting_task

log = logging.getLogger(__name__)
S = DeliveryState

# How long a claim lasts. Connectors time out their own calls well before this (tens of
# seconds); a lease that runs out means the worker died, not that the network is slow. A
# claim of ``socialdesk worker`` is taken back sooner, when its heartbeat goes stale.
LEASE = timedelta(minutes=5)
# Network calls per delivery before a transient failure becomes final.
MAX_ATTEMPTS = 5
# Backoff after the n-th failed attempt: BACKOFF_BASE * 2**(n-1), at most BACKOFF_CAP, then
# "equal jitter" (a random half of it added to the other half) so that the deliveries of one
# outage do not all come back in the same second. Every retry waits at least this, a
# rate-limited one on top of the network's reset time.
BACKOFF_BASE = timedelta(seconds=30)
BACKOFF_CAP = timedelta(minutes=30)
# How long after a queued task's due time the sweeper waits before taking it as lost.
SWEEP_GRACE = timedelta(seconds=30)
# At most this many deliveries per kind per sweep, so that one sweep stays short.
SWEEP_BATCH = 1000
# Behind a backlog, a delivery is taken as lost after at most this many graces (2 minutes).
SWEEP_BACKLOG_FACTOR = 4
# A task that starts this little before its delivery is due waits for it instead of leaving
# it to the sweeper: rq (the Redis queue) keeps ``run_after`` in whole seconds, rounded down,
# so its tasks may start up to a second early (see ``socialdesk.rq_worker``).
EARLY_WAKE = timedelta(seconds=2)


def wait(seconds: float) -> None:
    """Sleep; a seam for tests."""
    time.sleep(seconds)


def backoff(attempt: int) -> timedelta:
    """The delay before retrying after the ``attempt``-th failed attempt (1-based)."""
    return claims.backoff(attempt, BACKOFF_BASE, BACKOFF_CAP)


def too_late(delivery: Delivery, now: datetime) -> bool:
    """Later than the workspace's late window: publishing now would surprise people."""
    if delivery.scheduled_at is None:
        return False
    return now - delivery.scheduled_at > delivery.workspace.late_window


def _load(delivery_id: int) -> Delivery | None:
    return (
        Delivery.engine.select_related("channel", "workspace", "post")
        .filter(pk=delivery_id)
        .first()
    )


def _worker(worker_id: str) -> str:
    return f"system: worker {worker_id}"


def claim(
    delivery_id: int,
    worker_id: str,
    now: datetime | None = None,
    *,
    loaded: Delivery | None = None,
) -> Delivery | None:
    """Take a due delivery for one attempt: ``publishing``, leased to ``worker_id``.

    Returns None (and changes nothing) when the delivery is gone, not due, not in a state
    that can be sent, or someone else claimed or moved it first. Counts the attempt.
    ``loaded`` is the delivery as the caller just read it (saves reading it again): the
    compare-and-set below still decides on the row as it is.
    """
    now = now or timezone.now()
    delivery = loaded if loaded is not None else _load(delivery_id)
    if delivery is None:
        return None
    if delivery.state == S.SCHEDULED:
        if delivery.scheduled_at is None or delivery.scheduled_at > now:
            return None
        where = {"scheduled_at__lte": now}
    elif delivery.state == S.WAITING_RETRY:
        if delivery.retry_at is not None and delivery.retry_at > now:
            return None
        where = {"retry_at__lte": now} if delivery.retry_at is not None else {}
    else:
        return None
    # Pacing (issue 3, item 7; see ``pacing``): what this attempt would spend of the
    # channel's declared budgets, worked out before taking the lock.
    limits, cost = _budget(delivery)
    too_big = None
    try:
        with transaction.atomic():
            if cost:
                pacing.lock_channel(delivery.channel_id)
                blocked = pacing.room_at(delivery.channel_id, cost, limits, now)
                if blocked is not None and blocked.until is not None:
                    _defer(delivery, blocked, where, worker_id, now)
                    return None
                too_big = blocked
            transition(
                delivery,
                S.PUBLISHING,
                f"claimed by {worker_id}",
                _worker(worker_id),
                # The attempt count as read, so a stale read loses the race instead of
                # writing a wrong count (and no read-back is needed).
                where={**where, "attempts": delivery.attempts},
                lease_expires_at=now + LEASE,
                claimed_by=worker_id,
                retry_at=None,
                attempts=delivery.attempts + 1,
            )
            if cost and too_big is None:
                pacing.spend(delivery.channel_id, delivery.pk, cost, limits, now)
    except TransitionConflict:
        return None
    if too_big is not None:
        # More than the network allows in a whole window: it can never go out as it is.
        label = delivery.channel.get_network_display()
        message = (
            f"This post costs more than {pacing.budget_text(label, too_big.limit)} for one "
            "account; split it (a shorter thread, fewer images) and schedule it again."
        )
        _finish(delivery, S.FAILED, f"refused: {message}", worker_id, last_error=message)
        return None
    return delivery


def _budget(delivery: Delivery) -> tuple[tuple[RateLimit, ...], dict[str, int]]:
    """The channel's declared limits and what one attempt of ``delivery`` costs against them
    (nothing when the channel cannot send now: ``attempt`` then says why, spending nothing)."""
    if channel_problem(delivery.channel):
        return (), {}
    connector = connector_for(delivery.channel)
    limits = pacing.limits_of(connector)
    if not limits:
        return (), {}
    try:
        cost = pacing.cost_of(connector, _content(delivery))
    except DatabaseError:
        raise  # the database is busy or gone: nothing is claimed, the sweeper tries again
    except Exception:  # noqa: BLE001 - content the connector cannot price: ``attempt`` then
        cost = {}  # refuses it in the network's words (validate) before any call
    units = {limit.unit for limit in limits}
    return limits, {unit: points for unit, points in cost.items() if unit in units}


def _defer(
    delivery: Delivery, blocked: pacing.Blocked, where: dict, worker_id: str, now: datetime
) -> None:
    """Pacing: keep the delivery waiting, untouched by the network, until its budget has room.

    Recorded as a move to the same state (``scheduled → scheduled`` keeps ``scheduled_at``;
    ``waiting_retry → waiting_retry`` moves ``retry_at``) and queued for that instant.
    """
    until = blocked.until
    assert until is not None
    label = delivery.channel.get_network_display()
    zone = delivery.channel.zone
    shown = until.astimezone(zone)
    day = "" if shown.date() == now.astimezone(zone).date() else f" on {shown:%d %b}"
    reason = (
        f"paced: {pacing.budget_text(label, blocked.limit)} for this account is spent until "
        f"{shown:%H:%M}{day} ({zone.key})"
    )
    fields: dict[str, Any] = {"last_error": reason}
    if delivery.state == S.WAITING_RETRY:
        fields["retry_at"] = until
    transition(delivery, delivery.state, reason, _worker(worker_id), where=where, **fields)
    enqueue_delivery(delivery, run_after=until)


def _finish(
    delivery: Delivery, to: DeliveryState, reason: str, worker_id: str, **fields: Any
) -> Delivery:
    """``_finish_attempt``, then tell people when the delivery failed for good."""
    finished = _finish_attempt(delivery, to, reason, worker_id, **fields)
    if to == S.FAILED and finished.state == S.FAILED:
        notices.delivery_failed(finished)  # the post's author, the owners and the managers
    return finished


def _finish_attempt(
    delivery: Delivery, to: DeliveryState, reason: str, worker_id: str, **fields: Any
) -> Delivery:
    """End this worker's attempt; if the sweeper took the claim meanwhile, still record
    what we learnt when the graph allows it from ``unknown``."""
    fields.setdefault("lease_expires_at", None)
    try:
        return transition(
            delivery, to, reason, _worker(worker_id), where={"claimed_by": worker_id}, **fields
        )
    except TransitionConflict:
        current = _load(delivery.pk)
        if current is None or current.state != S.UNKNOWN or to not in GRAPH[S.UNKNOWN]:
            log.warning("delivery %s: lost its claim before recording %s", delivery.pk, to)
            return current or delivery
        try:
            return transition(
                current, to, f"late result of {worker_id}: {reason}", _worker(worker_id), **fields
            )
        except TransitionConflict:
            return _load(delivery.pk) or delivery


def _content(delivery: Delivery) -> Any:
    """``content_for(delivery)``, read once per run (pricing and sending use the same)."""
    cached = getattr(delivery, "_sending_content", None)
    if cached is None:
        cached = content_for(delivery, sending=True)
        delivery._sending_content = cached  # type: ignore[attr-defined]
    return cached


def attempt(
    delivery: Delivery,
    worker_id: str,
    *,
    channel_fresh: bool = False,
    record_published: Callable[[Delivery, str, str], None] | None = None,
) -> Delivery:
    """Make the one network call of a claimed (``publishing``) delivery and record how it
    went. Re-checks everything that may have changed since it was scheduled first.

    ``channel_fresh``: the caller read the channel within this same run (``run`` does, a
    moment before claiming), so it is not read again. ``record_published``: who records a
    success (the dispatcher writes many at once, ``dispatcher.Finisher``); by default it is
    recorded here, at once. Every other outcome is recorded here.
    """
    channel = delivery.channel if channel_fresh else Channel.objects.get(pk=delivery.channel_id)
    delivery.channel = channel
    if problem := channel_problem(channel):
        return _pause(delivery, problem, worker_id)
    if approval_missing(delivery):
        message = (
            "Not published: the post is not approved and this workspace's approval gate is on. "
            "It waits for approval and goes out at its time once approved."
        )
        # Waits, keeping its time; approval puts it back on schedule
        # (``services.resume_after_approval``), its time passing makes it missed (``sweep``).
        reason = f"{APPROVAL_HELD}: {message}"
        return _finish(delivery, S.AWAITING_APPROVAL, reason, worker_id, last_error=message)
    connector = connector_for(channel)
    if connector is None and (missing := account_missing(channel)):
        # Nothing to send with: wait for an account, as when authorization is revoked.
        return _failed_call(delivery, ConnectorError(missing, auth_revoked=True), worker_id)
    if connector is None:
        message = f"Socialdesk cannot publish to {channel.get_network_display()} yet."
        return _finish(delivery, S.FAILED, message, worker_id, last_error=message)
    try:
        content = _content(delivery)
        problems = [problem_text(p)[1] for p in connector.validate(content)]
    except Exception as exc:  # nothing was sent, so this is safe to retry
        if not is_connector_error(exc):
            exc = ConnectorError(f"checking the content failed: {type(exc).__name__}: {exc}")
        return _failed_call(delivery, exc, worker_id)
    if problems:
        message = " ".join(problems)
        return _finish(delivery, S.FAILED, f"refused: {message}", worker_id, last_error=message)

    try:
        result = connector.publish(content, idempotency_key=delivery.idempotency_key)
    except Exception as exc:  # any failure of the one call: classify it, never lose it
        if is_connector_error(exc):
            return _failed_call(delivery, exc, worker_id)
        message = f"{type(exc).__name__}: {exc}"
        log.warning("delivery %s: outcome unknown after %s", delivery.pk, message)
        delivery = _finish(
            delivery,
            S.UNKNOWN,
            f"outcome unknown: {message}",
            worker_id,
            last_error=message,
            retry_at=timezone.now(),
        )
        if delivery.state == S.UNKNOWN:
            enqueue_delivery(delivery)
        return delivery
    remote_id, remote_url = remote_identity(result)
    if record_published is not None:
        record_published(delivery, remote_id, remote_url)
        return delivery
    return _finish(
        delivery,
        S.PUBLISHED,
        "published",
        worker_id,
        remote_id=remote_id,
        remote_url=remote_url,
        published_at=timezone.now(),
        last_error="",
    )


def _pause(delivery: Delivery, problem: str, worker_id: str) -> Delivery:
    # The owners and managers are told once, by whoever marks the channel (``_failed_call``).
    log.warning("delivery %s paused: %s", delivery.pk, problem)
    return _finish(
        delivery, S.SCHEDULED, f"paused: {problem}", worker_id, last_error=problem, attempts=0
    )


def _failed_call(delivery: Delivery, exc: BaseException, worker_id: str) -> Delivery:
    now = timezone.now()
    message = str(getattr(exc, "message", "") or exc) or type(exc).__name__
    if getattr(exc, "auth_revoked", False):
        newly = mark_needs_reconnect(delivery.channel, message, _worker(worker_id))
        if newly:  # only the first failure tells people, not one per paused delivery
            notices.channel_needs_reconnecting(delivery.channel, message)
        return _pause(delivery, f"{delivery.channel} needs reconnecting: {message}", worker_id)
    if getattr(exc, "permanent", False):
        return _finish(
            delivery, S.FAILED, f"refused by the network: {message}", worker_id, last_error=message
        )
    if getattr(exc, "rate_limited", False):
        return _rate_limited(delivery, exc, message, worker_id, now)
    if delivery.attempts >= MAX_ATTEMPTS:
        # An earlier attempt may have written the post and lost its answer: ask first.
        check_at = now + backoff(delivery.attempts)
        delivery = _finish(
            delivery,
            S.UNKNOWN,
            f"gave up after {delivery.attempts} attempts: {message}; "
            "asking the network whether one of them went through",
            worker_id,
            last_error=message,
            retry_at=check_at,
        )
        if delivery.state == S.UNKNOWN:
            enqueue_delivery(delivery, run_after=check_at)
        return delivery
    retry_at = now + backoff(delivery.attempts)
    delivery = _finish(
        delivery,
        S.WAITING_RETRY,
        f"attempt {delivery.attempts} failed, retrying at {retry_at:%H:%M:%S}Z: {message}",
        worker_id,
        last_error=message,
        retry_at=retry_at,
    )
    if delivery.state == S.WAITING_RETRY:
        enqueue_delivery(delivery, run_after=retry_at)
    return delivery


def _rate_limited(
    delivery: Delivery, exc: BaseException, message: str, worker_id: str, now: datetime
) -> Delivery:
    """Wait out the network's rate limit: back to ``waiting_retry``, the attempt not counted.

    The retry comes after the reset the network announced plus the usual backoff, so that
    a reset already past (or announced by a server whose clock is behind ours) does not
    bring it straight back into the same limit.
    """
    attempts = max(0, delivery.attempts - 1)
    until_reset = timedelta(seconds=retry_after_seconds(exc, now) or 0)
    retry_at = now + until_reset + backoff(max(1, attempts))
    delivery = _finish(
        delivery,
        S.WAITING_RETRY,
        f"rate limited, waiting until {retry_at:%H:%M:%S}Z (not counted as an attempt): {message}",
        worker_id,
        last_error=message,
        retry_at=retry_at,
        attempts=attempts,
    )
    if delivery.state == S.WAITING_RETRY:
        enqueue_delivery(delivery, run_after=retry_at)
    return delivery


# Written after the last attempt's error while the network cannot say whether the post exists,
# so that the error stays what a failure notice quotes (``_attempt_error``).
CHECK_NOTE = "Could not check the network yet whether it went out: "


def _attempt_error(last_error: str) -> str:
    """What the last attempt ran into, without the note of a check that failed since."""
    return last_error.split(CHECK_NOTE)[0].strip()


def _give_up(delivery: Delivery, actor: str, *, checked: bool) -> Delivery:
    """``failed`` for good, and people told what happened last and what they can do."""
    network = delivery.channel.get_network_display()
    last = _attempt_error(delivery.last_error).rstrip(".")
    message = f"Not published: {delivery.attempts} attempts failed"
    message += f" (the last: {last})." if last else "."
    if checked:
        message += f" {network} was asked since and does not have the post."
    message += (
        f" Nothing was posted; schedule it again once {network} works again, or check the "
        "channel if it keeps failing."
    )
    failed = transition(
        delivery,
        S.FAILED,
        f"gave up after {delivery.attempts} attempts",
        actor,
        last_error=message,
        retry_at=None,
        lease_expires_at=None,
    )
    notices.delivery_failed(failed)  # the post's author, the owners and the managers
    return failed


def reconcile(delivery: Delivery, worker_id: str, now: datetime | None = None) -> Delivery:
    """Settle an ``unknown`` delivery by asking the network whether the post exists.

    Found: ``published`` with its remote id. Not found: ``waiting_retry`` due now, or
    ``failed`` (people told) when its attempts are used up. The network cannot tell (error)
    or no connector: stays ``unknown``, asked again later. Never publishes anything itself.
    """
    now = now or timezone.now()
    actor = _worker(worker_id)
    connector = connector_for(delivery.channel)
    if connector is None:
        # Nothing can answer until the channel is reconnected: ask again in an hour rather
        # than at every sweep (the sweeper skips it until ``retry_at``).
        log.error("delivery %s: outcome unknown and no connector to ask", delivery.pk)
        later = now + timedelta(hours=1)
        Delivery.engine.filter(pk=delivery.pk, state=S.UNKNOWN).update(
            retry_at=later,
            last_error="Outcome unknown, and the channel cannot be asked until it is reconnected.",
        )
        delivery.retry_at = later
        return delivery
    try:
        found = connector.find_published(
            idempotency_key=delivery.idempotency_key, content=content_for(delivery, sending=True)
        )
    except Exception as exc:  # the network could not tell us: ask again later
        later = now + backoff(max(1, delivery.attempts))
        note = f"{CHECK_NOTE}{exc}; asking again at {later:%H:%M:%S}Z."
        last_error = "\n".join(filter(None, [_attempt_error(delivery.last_error), note]))
        Delivery.engine.filter(pk=delivery.pk, state=S.UNKNOWN).update(
            retry_at=later, last_error=last_error
        )
        delivery.last_error = last_error
        delivery.retry_at = later
        enqueue_delivery(delivery, run_after=later)
        return delivery
    try:
        if found:
            remote_id, remote_url = remote_identity(found)
            return transition(
                delivery,
                S.PUBLISHED,
                "reconciled: the network has the post",
                actor,
                remote_id=remote_id,
                remote_url=remote_url,
                published_at=now,
                last_error="",
                retry_at=None,
                lease_expires_at=None,
            )
        if delivery.attempts >= MAX_ATTEMPTS:
            return _give_up(delivery, actor, checked=True)
        return transition(
            delivery,
            S.WAITING_RETRY,
            "reconciled: the network does not have the post; retrying",
            actor,
            retry_at=now,
            lease_expires_at=None,
        )
    except TransitionConflict:
        return _load(delivery.pk) or delivery


def run(delivery_id: int, worker_id: str, now: datetime | None = None) -> str:
    """Everything one task does for one delivery; returns the state it ends in.

    Safe to call for any delivery at any time, any number of times: it reconciles an
    ``unknown`` one, turns one that is too late into ``missed``, gives up on one whose
    attempts are used up, and otherwise claims and sends it if it is due.
    """
    delivery = _load(delivery_id)
    if delivery is None:
        return "gone"
    if now is None:
        ahead = _head_start(delivery, timezone.now())
        if ahead:
            wait(ahead)
            delivery = _load(delivery_id)  # it may have moved while we waited
            if delivery is None:
                return "gone"
        now = timezone.now()
    if delivery.state == S.UNKNOWN:
        delivery = reconcile(delivery, worker_id, now)
        lateness.tell_if_late(delivery)
        if delivery.state != S.WAITING_RETRY:
            return delivery.state
    if crisis.holds(delivery):  # the crisis switch: not sent, not missed; a person decides
        return delivery.state
    try:
        if delivery.state in (S.SCHEDULED, S.WAITING_RETRY) and too_late(delivery, now):
            return _miss(delivery, now, _worker(worker_id)).state
        if delivery.state == S.WAITING_RETRY and delivery.attempts >= MAX_ATTEMPTS:
            # Only rows from before reconciliation failed used-up deliveries itself get here.
            return _give_up(delivery, _worker(worker_id), checked=False).state
    except TransitionConflict:
        return (_load(delivery_id) or delivery).state
    claimed = claim(delivery_id, worker_id, now, loaded=delivery)
    if claimed is None:
        return (_load(delivery_id) or delivery).state
    sent = attempt(claimed, worker_id, channel_fresh=True)
    lateness.tell_if_late(sent)
    return sent.state


def _head_start(delivery: Delivery, now: datetime) -> float:
    """Seconds until ``delivery`` is due when that is within ``EARLY_WAKE``, else 0."""
    if delivery.state == S.SCHEDULED:
        due_at = delivery.scheduled_at
    elif delivery.state == S.WAITING_RETRY:
        due_at = delivery.retry_at
    else:
        return 0.0
    if due_at is None or due_at <= now or due_at - now > EARLY_WAKE:
        return 0.0
    return (due_at - now).total_seconds()


def _miss(delivery: Delivery, now: datetime, actor: str, *, tell: bool = True) -> Delivery:
    """``missed``, with why in ``last_error``; ``tell=False`` leaves telling people to the
    caller (the sweeper tells about all it found at once)."""
    late = now - (delivery.scheduled_at or now)
    hours = late.total_seconds() / 3600
    message = (
        f"Not published: it was due {delivery.scheduled_at:%Y-%m-%d %H:%M}Z, {hours:.1f} hours "
        f"ago, more than the workspace's late window allows. Schedule it again if it still "
        f"makes sense."
    )
    missed = transition(
        delivery,
        S.MISSED,
        "missed: too late to publish",
        actor,
        where={"scheduled_at": delivery.scheduled_at},
        last_error=message,
        retry_at=None,
    )
    if tell:
        notices.delivery_missed(missed)  # the post's author, the owners and the managers
    return missed


def _unapproved_at_due(delivery: Delivery, now: datetime, actor: str) -> str:
    """A delivery whose time came while its post was still unapproved: by the workspace's
    choice (``Workspace.unapproved_at_due``), a fast-lane post goes out anyway (now, through
    the usual claim); anything else is held as missed, and its author, the approvers and
    the leads are told. A post approved meanwhile (the gate off, or the fact written) goes."""
    workspace = delivery.workspace
    goes = not approval_missing(delivery) or (
        workspace.unapproved_at_due == "publish_fast_lane" and delivery.post.fast_lane
    )
    if goes:
        reason = "due while waiting for approval: sent by the workspace's choice"
        if not approval_missing(delivery):
            reason = APPROVAL_RESUMED
        transition(delivery, S.SCHEDULED, reason, actor, where={"scheduled_at__lte": now})
        enqueue_delivery(delivery)
        return S.SCHEDULED
    message = (
        f"Not published: it was due {delivery.scheduled_at:%Y-%m-%d %H:%M}Z and the post was "
        "still not approved. Approve it, then schedule it again."
    )
    missed = transition(
        delivery,
        S.MISSED,
        "missed: not approved in time",
        actor,
        where={"scheduled_at__lte": now},
        last_error=message,
    )
    notices.unapproved_at_due(missed)
    return S.MISSED


def _rescue_abandoned(in_flight: Any, now: datetime, actor: str) -> list[int]:
    """Claims of workers that died (their heartbeat went stale) → ``unknown``, without
    waiting for their lease; returns the ids moved. Only workers that died within the last
    ``LEASE`` are looked at: an older one's leases have run out already."""
    stopped = WorkerHeartbeat.stopped(now, within=LEASE)
    if not stopped:
        return []
    moved = []
    for delivery in in_flight.filter(WorkerHeartbeat.holds(stopped))[:SWEEP_BATCH]:
        holder = delivery.claimed_by
        seen = next(
            at
            for worker_id, at in stopped.items()
            if holder == worker_id or holder.startswith(f"{worker_id}:")
        )
        try:
            transition(
                delivery,
                S.UNKNOWN,
                f"worker {holder} stopped mid-attempt (no heartbeat since "
                f"{seen:%H:%M:%S}Z); outcome unknown",
                actor,
                # Still this claim: a new claim by another worker changes both.
                where={"claimed_by": holder, "lease_expires_at": delivery.lease_expires_at},
                lease_expires_at=None,
                retry_at=now,
            )
        except TransitionConflict:
            continue
        moved.append(delivery.pk)
    return moved


@dataclass
class SweepReport:
    enqueued: list[int] = field(default_factory=list)
    missed: list[int] = field(default_factory=list)
    expired: list[int] = field(default_factory=list)
    abandoned: list[int] = field(default_factory=list)


def sweep(now: datetime | None = None) -> SweepReport:
    """Find every delivery that needs work the queue is not doing, and do or queue it.

    1. ``publishing`` claimed by a worker whose heartbeat went stale, or with an expired
       lease: the worker died mid-attempt → ``unknown`` (reconciled by its task, never
       resent blindly).
    2. ``scheduled`` or ``waiting_retry`` later than the workspace's late window →
       ``missed`` (also when its channel is paused: it will not make sense later either).
    3. (Only without the dispatcher, which reads due work from the table itself.)
       Due and not in flight, on a connected channel: ``scheduled`` whose time has come,
       ``waiting_retry`` whose retry time has come, ``unknown`` due to be asked again —
       unless a task for it was queued to run less than ``SWEEP_GRACE`` ago, or after the
       longest-waiting task in the queue became ready (a backlog: its task is only waiting
       its turn, see ``tasks.oldest_waiting_task``) → enqueued.

    Safe to run often and from several machines at once: every move is a compare-and-set,
    and a task queued twice does its work once.
    """
    now = now or timezone.now()
    actor = "system: sweeper"
    report = SweepReport()

    def settle_later(delivery: Delivery) -> bool:
        try:
            transition(
                delivery,
                S.UNKNOWN,
                f"lease of {delivery.claimed_by or 'a worker'} expired mid-attempt; "
                "outcome unknown",
                actor,
                where={"lease_expires_at__lt": now},
                lease_expires_at=None,
                retry_at=now,
            )
        except TransitionConflict:
            return False
        return True

    in_flight = Delivery.engine.filter(state=S.PUBLISHING).select_related("workspace")
    report.abandoned = _rescue_abandoned(in_flight, now, actor)
    report.expired = claims.rescue_expired(in_flight, now, settle_later, batch=SWEEP_BATCH)

    windows = Workspace.objects.values_list("late_window", flat=True).distinct()
    missed = []
    # What the crisis switch holds is neither missed nor queued (``crisis.held``).
    held = crisis.held() or Q(pk__in=[])  # (``exclude`` of no rows excludes none)
    for window in windows:
        late = Delivery.engine.filter(
            state__in=[S.SCHEDULED, S.WAITING_RETRY],
            workspace__late_window=window,
            scheduled_at__lt=now - window,
        ).exclude(held)
        for delivery in late.select_related("workspace", "post", "channel")[:SWEEP_BATCH]:
            try:
                missed.append(_miss(delivery, now, actor, tell=False))
            except TransitionConflict:
                continue
            report.missed.append(delivery.pk)
    # One notice (and one email) per person and workspace, however many were missed.
    notices.deliveries_missed(missed)

    unapproved = Delivery.engine.filter(state=S.AWAITING_APPROVAL, scheduled_at__lte=now)
    for delivery in unapproved.select_related("workspace", "post", "channel")[:SWEEP_BATCH]:
        try:
            if _unapproved_at_due(delivery, now, actor) == S.MISSED:
                report.missed.append(delivery.pk)
        except TransitionConflict:
            continue

    if settings.PUBLISHING_DISPATCHER:
        # The dispatcher reads due work from the deliveries table itself: nothing to queue.
        return report
    lost_before = now - SWEEP_GRACE
    try:
        waiting_since = oldest_waiting_task()
    except Exception:  # the queue cannot be asked (Redis down): fall back on the grace alone
        log.warning("The sweeper could not measure the queue's backlog", exc_info=True)
        waiting_since = None
    if waiting_since is not None:
        # Backends do not run strictly in ready order (django-tasks-db takes delayed tasks
        # before immediate ones), so a backlog holds a lost delivery back a bounded time only.
        lost_before = max(
            min(lost_before, waiting_since - timedelta(seconds=1)),
            now - SWEEP_GRACE * SWEEP_BACKLOG_FACTOR,
        )
    due = (
        Delivery.engine.filter(channel__status=ChannelStatus.CONNECTED)
        .filter(
            Q(state=S.SCHEDULED, scheduled_at__lte=now)
            | Q(state=S.WAITING_RETRY, retry_at__lte=now)
            | Q(state=S.WAITING_RETRY, retry_at__isnull=True)
            | Q(state=S.UNKNOWN, retry_at__lte=now)
            | Q(state=S.UNKNOWN, retry_at__isnull=True)
        )
        .filter(Q(enqueued_for__isnull=True) | Q(enqueued_for__lte=lost_before))
        .exclude(held)
        .order_by("scheduled_at", "id")
    )
    for delivery in due[:SWEEP_BATCH]:
        enqueue_delivery(delivery)
        report.enqueued.append(delivery.pk)
    # The expired ones were just queued nowhere else: make sure they are asked about soon.
    for delivery_id in report.abandoned + report.expired:
        if delivery_id not in report.enqueued:
            enqueue_delivery(Delivery(pk=delivery_id))
            report.enqueued.append(delivery_id)
    return report
