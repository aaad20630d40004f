"""The worker's dispatcher: due deliveries claimed in batches straight from the deliveries
table, their network calls made by a pool of threads (issue 12, speed).

The task queue used to carry one task per delivery: each one cost the queue's own claim and
result writes on top of the engine's, and a worker polled the queue at a fixed interval. The
database is the truth about what is due (DESIGN.md), so the dispatcher reads it directly:

- ``claim_due`` reads up to ``limit`` due ``scheduled`` deliveries, prices them (pacing),
  then in one transaction keeps those still free (on PostgreSQL ``SELECT … FOR UPDATE SKIP
  LOCKED``, so dispatchers in several processes or machines take disjoint rows; SQLite's
  write lock, taken at BEGIN, serialises them) and
  moves them all to ``publishing`` with one UPDATE and one INSERT of their transitions. The
  claim is the same move as ``dispatch.claim``'s (leased, attempt counted, paced to the
  channel's budget, recorded); it only does it for many rows at once. Deliveries that are too
  late, or that wait for a retry or a reconciliation, are handed to ``dispatch.run`` one by
  one, which handles every case as the tasks did.
- A pool of threads makes the calls (``dispatch.attempt``): the calls mostly wait for the
  network, so one process keeps ``threads`` of them in flight. Their successes are recorded
  together, by the dispatcher's own thread (``record_published``: one UPDATE, one INSERT).
- Between batches the dispatcher sleeps until the next due time (at most ``WAKE_CAP``), so a
  post scheduled ahead is claimed at its second, with no fixed polling interval.

Every guarantee of ``dispatch`` stands: a claim is a compare-and-set with a lease and a
history row; a worker that dies mid-call stops beating and its claims become ``unknown``
(``dispatch.sweep``), then are reconciled before anything is retried.

With the dispatcher on (``settings.PUBLISHING_DISPATCHER``, the default), ``tasks``
no longer queues a task per delivery; it only records when the delivery should be looked
at (``enqueued_for``, which the dispatcher reads as "not before").
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from typing import Any

from django.db import DatabaseError, close_old_connections, connection, transaction
from django.db.models import F, Q
from django.utils import timezone

from socialdesk.networks.models import ChannelStatus

from . import crisis, dispatch, lateness, pacing
from .checks import approval_read
from .connectors import prefetch_media
from .models import Delivery, DeliveryState, DeliveryTransition
from .states import TransitionConflict, actor_label, tell_finished
from .tasks import default_worker_id

log = logging.getLogger(__name__)
S = DeliveryState

# The longest the dispatcher sleeps between two looks at the table: a post scheduled for
# "now" (or in the second before) waits at most this long.
WAKE_CAP = 0.5
# A delivery handed to ``dispatch.run`` is not handed over again for this long when the run
# left it due (it should not: a run always moves or defers what it cannot send).
RETRY_GUARD = timedelta(seconds=2)
# Successes recorded by one UPDATE and one INSERT at most.
RECORD_BATCH = 100
# The longest a success waits to be recorded while every thread is busy (a batch of
# ``threads`` successes is recorded at once).
RECORD_WAIT = 0.25
# The fewest deliveries waiting behind the calls in flight, and the fewest successes recorded
# together while every thread is busy: with one or two send threads a claim and a record per
# delivery would cost more CPU than the SDK's own call (bench/publishing.py, the SDK ratio).
MIN_BATCH = 10


def _due_scheduled(now: datetime) -> Q:
    # ``enqueued_for`` is "not before": pacing defers a delivery without moving its time.
    return Q(state=S.SCHEDULED, scheduled_at__lte=now) & (
        Q(enqueued_for__isnull=True) | Q(enqueued_for__lte=now)
    )


def _due_other(now: datetime) -> Q:
    return (
        Q(state=S.WAITING_RETRY, retry_at__lte=now)
        | Q(state=S.WAITING_RETRY, retry_at__isnull=True)
        | Q(state=S.UNKNOWN, retry_at__lte=now)
        | Q(state=S.UNKNOWN, retry_at__isnull=True)
    )


def claim_due(
    worker_id: str, limit: int, now: datetime | None = None, skip: frozenset[int] = frozenset()
) -> tuple[list[Delivery], list[int]]:
    """Claim up to ``limit`` due deliveries; returns ``(claimed, others)``: the deliveries
    now ``publishing`` under ``worker_id`` (channel, workspace and post loaded), and the ids
    of other due work for ``dispatch.run`` (paced channels, too late, retries, unknown).
    ``skip``: ids this process is already working on."""
    now = now or timezone.now()
    connected = Q(channel__status=ChannelStatus.CONNECTED)
    claimed: list[Delivery] = []
    others: list[int] = []
    # Read and price the candidates before taking any lock: building a connector and
    # reading content hold nothing (on SQLite a write transaction holds the whole file).
    candidates = []
    # The crisis switch (``crisis.held``): one indexed look per batch, usually nothing held.
    held = crisis.held()
    if held is not None:
        connected &= ~held
    due = list(
        Delivery.engine.filter(connected & _due_scheduled(now))
        .exclude(pk__in=skip)
        .select_related("channel", "workspace", "post")
        # Whether the post is approved, read with the content that will be sent.
        .annotate(**approval_read())
        .order_by("scheduled_at", "id")[:limit]
    )
    # Pricing (a paced network's cost) reads each one's content: their media in two queries.
    prefetch_media(due)
    for delivery in due:
        if dispatch.too_late(delivery, now):
            others.append(delivery.pk)
        else:
            candidates.append((delivery, *dispatch._budget(delivery)))
    if candidates:
        with transaction.atomic():
            # Still due (not moved by a person meanwhile), and not taken by another
            # dispatcher (on PostgreSQL: locked here, skipping rows another holds; SQLite's
            # write lock already excludes the rest).
            still = Delivery.engine.filter(
                _due_scheduled(now), pk__in=[delivery.pk for delivery, _, _ in candidates]
            )
            if connection.features.has_select_for_update_skip_locked:
                still = still.select_for_update(skip_locked=True)
            free = set(still.values_list("pk", flat=True))
            tallies: dict[int, pacing.Tally] = {}
            for delivery, limits, cost in candidates:
                if delivery.pk not in free:
                    continue
                if cost:
                    # Pacing (see ``pacing``), as ``dispatch.claim`` does it: the channel
                    # locked and its windows summed once for the batch, each attempt checked
                    # and spent in turn.
                    tally = tallies.get(delivery.channel_id)
                    if tally is None:
                        pacing.lock_channel(delivery.channel_id)
                        tally = tallies[delivery.channel_id] = pacing.Tally(
                            delivery.channel_id, limits, now
                        )
                    if not tally.fits(cost):
                        tally.write()  # ``room_at`` reads the ledger: with this batch's spend
                        blocked = pacing.room_at(delivery.channel_id, cost, limits, now)
                        if blocked is not None:
                            if blocked.until is None:  # it never fits: ``run`` fails it
                                others.append(delivery.pk)
                            else:
                                where = {"scheduled_at__lte": now}
                                with contextlib.suppress(TransitionConflict):
                                    dispatch._defer(delivery, blocked, where, worker_id, now)
                            continue
                    tally.take(delivery.pk, cost)
                claimed.append(delivery)
            for tally in tallies.values():
                tally.write()
            if claimed:
                _claim_all(claimed, worker_id, now)
    room = limit - len(claimed) - len(others)
    if room > 0:
        others += list(
            Delivery.engine.filter(connected & _due_other(now))
            .exclude(pk__in=skip | set(others))
            .order_by("retry_at", "id")
            .values_list("pk", flat=True)[:room]
        )
    return claimed, others


def _claim_all(deliveries: list[Delivery], worker_id: str, now: datetime) -> None:
    """``dispatch.claim``'s move for rows this transaction has locked: one UPDATE, one
    INSERT of the history. A count that does not match (it cannot, under the lock) undoes
    the whole batch rather than claim part of it blindly."""
    lease = now + dispatch.LEASE
    ids = [delivery.pk for delivery in deliveries]
    moved = Delivery.engine.filter(pk__in=ids, state=S.SCHEDULED, scheduled_at__lte=now).update(
        state=S.PUBLISHING,
        updated_at=now,
        lease_expires_at=lease,
        claimed_by=worker_id,
        retry_at=None,
        attempts=F("attempts") + 1,
    )
    if moved != len(ids):
        raise DatabaseError(f"claimed {moved} of {len(ids)} locked deliveries; none taken")
    label = actor_label(dispatch._worker(worker_id))[:200]
    DeliveryTransition.objects.bulk_create(
        DeliveryTransition(
            workspace_id=delivery.workspace_id,
            delivery_id=delivery.pk,
            from_state=S.SCHEDULED,
            to_state=S.PUBLISHING,
            at=now,
            reason=f"claimed by {worker_id}",
            actor_label=label,
        )
        for delivery in deliveries
    )
    for delivery in deliveries:
        delivery.state = S.PUBLISHING
        delivery.updated_at = now
        delivery.lease_expires_at = lease
        delivery.claimed_by = worker_id
        delivery.retry_at = None
        delivery.attempts += 1


def next_due_in(now: datetime, cap: float = WAKE_CAP) -> float:
    """Seconds until the next delivery becomes due (scheduled, or a retry), at most ``cap``."""
    ahead = [
        Delivery.engine.filter(state=S.SCHEDULED, scheduled_at__gt=now)
        .order_by("scheduled_at")
        .values_list("scheduled_at", flat=True)
        .first(),
        Delivery.engine.filter(state__in=[S.WAITING_RETRY, S.UNKNOWN], retry_at__gt=now)
        .order_by("retry_at")
        .values_list("retry_at", flat=True)
        .first(),
    ]
    soonest = min((moment for moment in ahead if moment is not None), default=None)
    if soonest is None:
        return cap
    return max(0.0, min(cap, (soonest - now).total_seconds()))


def record_published(results: list[tuple[Delivery, str, str, datetime]], worker_id: str) -> None:
    """``published`` for every ``(delivery, remote id, remote URL, when)`` still claimed by
    ``worker_id``: one UPDATE and one INSERT; the rest one by one."""
    if not results:
        return
    now = timezone.now()
    by_id = {delivery.pk: (delivery, rid, url, at) for delivery, rid, url, at in results}

    with transaction.atomic():
        moved = _update_published(by_id, worker_id, now)
        done = set(by_id)
        if moved != len(by_id):
            done = set(
                Delivery.engine.filter(
                    pk__in=list(by_id), state=S.PUBLISHED, claimed_by=worker_id, updated_at=now
                ).values_list("pk", flat=True)
            )
        label = actor_label(dispatch._worker(worker_id))[:200]
        DeliveryTransition.objects.bulk_create(
            DeliveryTransition(
                workspace_id=by_id[pk][0].workspace_id,
                delivery_id=pk,
                from_state=S.PUBLISHING,
                to_state=S.PUBLISHED,
                at=now,
                reason="published",
                actor_label=label,
            )
            for pk in done
        )
    for pk, (delivery, remote_id, remote_url, at) in by_id.items():
        if pk in done:
            delivery.state = S.PUBLISHED
            delivery.remote_id, delivery.remote_url = remote_id, remote_url
            delivery.published_at, delivery.last_error, delivery.lease_expires_at = at, "", None
            if delivery.kind != "post":  # an inbox write: the inbox hears, as from ``transition``
                tell_finished(delivery, S.PUBLISHING, S.PUBLISHED)
            lateness.tell_if_late(delivery)
        else:  # the claim was taken meanwhile (the sweeper): a late result, if still useful
            finished = dispatch._finish_attempt(
                delivery,
                S.PUBLISHED,
                "published",
                worker_id,
                remote_id=remote_id,
                remote_url=remote_url,
                published_at=at,
                last_error="",
            )
            lateness.tell_if_late(finished)


def _update_published(
    by_id: dict[int, tuple[Delivery, str, str, datetime]], worker_id: str, now: datetime
) -> int:
    """One UPDATE joined to a list of (id, remote id, URL, published at); the rows changed.

    Written as SQL because the ORM's way to give each row its own values (``Case``/``When``,
    as ``bulk_update`` does) compiled three expressions per row: about a millisecond per
    delivery, the largest part of recording a success (bench/publishing.py, the burst).
    ``UPDATE … FROM`` works on PostgreSQL and on SQLite from 3.33."""
    table = connection.ops.quote_name(Delivery._meta.db_table)
    adapt = connection.ops.adapt_datetimefield_value
    rows = ", ".join(["(%s, %s, %s, %s)"] * len(by_id))
    params: list[Any] = []
    for pk, (_delivery, remote_id, remote_url, at) in by_id.items():
        params += [pk, remote_id, remote_url, adapt(at)]
    # Only the table's own name and placeholders are formatted in; every value is a parameter.
    sql = (
        f"WITH v(id, remote_id, remote_url, published_at) AS (VALUES {rows}) "  # noqa: S608
        f"UPDATE {table} SET state = %s, updated_at = %s, remote_id = v.remote_id, "
        "remote_url = v.remote_url, published_at = v.published_at, last_error = '', "
        f"lease_expires_at = NULL FROM v WHERE {table}.id = v.id "
        f"AND {table}.state = %s AND {table}.claimed_by = %s"
    )
    params += [S.PUBLISHED.value, adapt(now), S.PUBLISHING.value, worker_id]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.rowcount


class Dispatcher:
    """Claims due deliveries and keeps up to ``threads`` network calls in flight.

    One thread (``run``) does all of the dispatcher's own writing, in turn: it claims the
    next batch, hands it out, then records the successes the send threads handed back
    (``record_published``, many at once). On SQLite, whose write lock serialises writers,
    two threads of one process writing at once only made each other wait in the lock's busy
    handler; here the send
    threads write only the rarer outcomes (failures, retries), and the process has one
    regular writer.

    Under a backlog it claims in batches: up to ``threads`` more deliveries (``MIN_BATCH`` at
    least) wait in the pool's queue behind the calls in flight, and the next claim comes when
    that queue has emptied.
    Claiming each time one call ended took one or two deliveries per claim, and the claim's
    fixed cost (a read, a locking read, an UPDATE, an INSERT, the media) then was most of the
    engine's own work per delivery (bench/publishing.py, the burst). A claimed delivery waits
    at most one call's time in the queue, and only when every thread is busy anyway.

    A process killed before a success is recorded leaves its delivery ``publishing``, as one
    killed during the call (or waiting in the queue) would: the sweeper makes it ``unknown``
    (the worker's heartbeat stops) and reconciliation finds the post, or that there is none."""

    def __init__(self, worker_id: str, threads: int) -> None:
        self.worker_id = worker_id
        self.capacity = max(1, threads)
        self.batch = max(self.capacity, MIN_BATCH)
        self.pool = ThreadPoolExecutor(self.capacity, thread_name_prefix="send")
        self.busy: set[int] = set()
        self.ran: dict[int, float] = {}  # id → when it was last handed to ``dispatch.run``
        self.results: list[tuple[Delivery, str, str, datetime]] = []  # successes to record
        self.changed = threading.Condition()
        self.stopping = threading.Event()

    def run(self) -> None:
        """Until ``stop``: record successes, claim what is due, hand it to the pool, and sleep
        until the next due time or until a call ends."""
        while not self.stopping.is_set():
            with self.changed:
                # Wait for room for a whole batch (the queue behind the calls has emptied) or
                # for a batch of successes to record; a lone success waits RECORD_WAIT at most.
                self.changed.wait_for(
                    lambda: (
                        len(self.busy) <= self.capacity
                        or len(self.results) >= self.batch
                        or self.stopping.is_set()
                    ),
                    timeout=RECORD_WAIT,
                )
                results, self.results = self.results, []
                room = self.capacity + self.batch - len(self.busy)
                free = room if len(self.busy) <= self.capacity else 0
                skip = frozenset(self.busy) | self._recently_run()
            try:
                close_old_connections()
                # Claim first, so that the next calls start while the last ones are recorded.
                claimed, others = claim_due(self.worker_id, free, skip=skip) if free else ([], [])
                self._hand_out(claimed, others)
                self._record(results)
                results = []
                if not claimed and not others:
                    pause = next_due_in(timezone.now()) if free else 1.0
                    with self.changed:
                        if not self.results and not self.stopping.is_set():
                            self.changed.wait(timeout=pause)
            except DatabaseError:
                log.warning("The dispatcher could not reach the database", exc_info=True)
                with self.changed:
                    self.results = results + self.results  # recorded at the next turn
                connection.close()
                self.stopping.wait(1.0)
        connection.close()  # this thread's own

    def drain(self) -> None:
        """Send what is due now, then return (``socialdesk worker --batch``)."""
        while True:
            claimed, others = claim_due(self.worker_id, self.capacity, skip=self._recently_run())
            if not claimed and not others:
                break
            self._hand_out(claimed, others)
            with self.changed:
                while self.busy:
                    self.changed.wait(timeout=1.0)
                results, self.results = self.results, []
            self._record(results)

    def stop(self) -> None:
        """Stop claiming; the calls in flight finish (connectors time out their own calls)
        and their successes are recorded."""
        self.stopping.set()
        with self.changed:
            self.changed.notify_all()
        # Each pool thread closes its own database connection (Django keeps one per thread):
        # a barrier makes every thread take exactly one of these jobs.
        everyone = threading.Barrier(self.capacity, timeout=30)

        def close_connection() -> None:
            connection.close()
            with contextlib.suppress(threading.BrokenBarrierError):
                everyone.wait()

        for _ in range(self.capacity):
            self.pool.submit(close_connection)
        self.pool.shutdown(wait=True)
        with self.changed:
            results, self.results = self.results, []
        try:
            self._record(results)
        except DatabaseError:
            log.warning("Could not record %s published deliveries", len(results), exc_info=True)
        connection.close()

    def _record(self, results: list[tuple[Delivery, str, str, datetime]]) -> None:
        for start in range(0, len(results), RECORD_BATCH):
            record_published(results[start : start + RECORD_BATCH], self.worker_id)

    def _hand_out(self, claimed: list[Delivery], others: list[int]) -> None:
        for delivery in claimed:
            self._submit(delivery.pk, self._send, delivery)
        for delivery_id in others:
            self.ran[delivery_id] = time.monotonic()
            self._submit(delivery_id, self._run, delivery_id)

    def _recently_run(self) -> frozenset[int]:
        horizon = time.monotonic() - RETRY_GUARD.total_seconds()
        self.ran = {pk: at for pk, at in self.ran.items() if at > horizon}
        return frozenset(self.ran)

    def _submit(self, delivery_id: int, job: Callable[..., None], *args: object) -> None:
        with self.changed:
            self.busy.add(delivery_id)
        self.pool.submit(self._guarded, delivery_id, job, *args)

    def _guarded(self, delivery_id: int, job: Callable[..., None], *args: object) -> None:
        try:
            close_old_connections()
            job(*args)
        except Exception:
            # The claim stays ``publishing``: the sweeper makes it ``unknown`` when its lease
            # ends, and it is reconciled before anything is retried.
            log.exception("delivery %s: the dispatcher's job failed", delivery_id)
        finally:
            with self.changed:
                self.busy.discard(delivery_id)
                self.changed.notify_all()

    def _published(self, delivery: Delivery, remote_id: str, remote_url: str) -> None:
        with self.changed:
            self.results.append((delivery, remote_id, remote_url, timezone.now()))

    def _send(self, delivery: Delivery) -> None:
        sent = dispatch.attempt(
            delivery, self.worker_id, channel_fresh=True, record_published=self._published
        )
        if sent.state != S.PUBLISHING:  # a success is told once it is recorded
            lateness.tell_if_late(sent)

    def _run(self, delivery_id: int) -> None:
        dispatch.run(delivery_id, default_worker_id())
