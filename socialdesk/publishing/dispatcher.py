"""The worker's dispatcher: due deliveries claimed in batches straight from the deliveries
table, their network calls made by a pool of threads (issue 12, speed).

The task queue used to carry one task per delivery: each one cost the queue's own claim and
result writes on top of the engine's, and a worker polled the queue at a fixed interval. The
database is the truth about what is due (DESIGN.md), so the dispatcher reads it directly:

- ``claim_due`` takes up to ``limit`` due ``scheduled`` deliveries in one transaction (on
  PostgreSQL ``SELECT … FOR UPDATE SKIP LOCKED``, so dispatchers in several processes or
  machines take disjoint rows; SQLite's write lock, taken at BEGIN, serialises them) and
  moves them all to ``publishing`` with one UPDATE and one INSERT of their transitions. The
  claim is the same move as ``dispatch.claim``'s (leased, attempt counted, recorded); it only
  does it for many rows at once. Deliveries whose channel declares a budget (pacing), or
  that are too late, or that wait for a retry or a reconciliation, are handed to
  ``dispatch.run`` one by one, which handles every case as the tasks did.
- A pool of threads makes the calls (``dispatch.attempt``): the calls mostly wait for the
  network, so one process keeps ``threads`` of them in flight.
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

from django.db import DatabaseError, close_old_connections, connection, transaction
from django.db.models import Case, DateTimeField, F, Q, Value, When
from django.utils import timezone

from socialdesk.networks.models import ChannelStatus

from . import dispatch, lateness
from .connectors import prefetch_media
from .models import Delivery, DeliveryState, DeliveryTransition
from .states import actor_label
from .tasks import default_worker_id

log = logging.getLogger(__name__)
S = DeliveryState

# The longest the dispatcher sleeps between two looks at the table: a post scheduled for
# "now" (or in the second before) waits at most this long.
WAKE_CAP = 0.5
# A delivery handed to ``dispatch.run`` is not handed over again for this long when the run
# left it due (it should not: a run always moves or defers what it cannot send).
RETRY_GUARD = timedelta(seconds=2)


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
    with transaction.atomic():
        rows = (
            Delivery.objects.filter(connected & _due_scheduled(now))
            .exclude(pk__in=skip)
            .select_related("channel", "workspace", "post")
            .order_by("scheduled_at", "id")
        )
        if connection.features.has_select_for_update_skip_locked:
            rows = rows.select_for_update(skip_locked=True, of=("self",))
        for delivery in rows[:limit]:
            if dispatch.too_late(delivery, now) or dispatch._budget(delivery)[1]:
                others.append(delivery.pk)
            else:
                claimed.append(delivery)
        if claimed:
            _claim_all(claimed, worker_id, now)
    if claimed:
        prefetch_media(claimed)
    room = limit - len(claimed) - len(others)
    if room > 0:
        others += list(
            Delivery.objects.filter(connected & _due_other(now))
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
    moved = Delivery.objects.filter(pk__in=ids, state=S.SCHEDULED, scheduled_at__lte=now).update(
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
        Delivery.objects.filter(state=S.SCHEDULED, scheduled_at__gt=now)
        .order_by("scheduled_at")
        .values_list("scheduled_at", flat=True)
        .first(),
        Delivery.objects.filter(state__in=[S.WAITING_RETRY, S.UNKNOWN], retry_at__gt=now)
        .order_by("retry_at")
        .values_list("retry_at", flat=True)
        .first(),
    ]
    soonest = min((moment for moment in ahead if moment is not None), default=None)
    if soonest is None:
        return cap
    return max(0.0, min(cap, (soonest - now).total_seconds()))


# Successes are written together: at most this many, at most this long after the first.
FINISH_BATCH = 50
FINISH_WAIT = 0.05


class Finisher:
    """Records the dispatcher's successful calls many at a time: one UPDATE (the
    compare-and-set of every row: still ``publishing`` and still this worker's claim) and one
    INSERT of their history, instead of two writes each.

    A process killed before a success is written leaves its delivery ``publishing``, as one
    killed during the call would: the sweeper makes it ``unknown`` and reconciliation finds the
    post. A row whose claim was taken meanwhile is recorded one by one
    (``dispatch._finish_attempt``: a late result)."""

    def __init__(self, worker_id: str) -> None:
        self.worker_id = worker_id
        self.waiting: list[tuple[Delivery, str, str, datetime]] = []
        self.changed = threading.Condition()
        self.stopping = False
        self.thread = threading.Thread(target=self._run, name="finish", daemon=True)
        self.thread.start()

    def add(self, delivery: Delivery, remote_id: str, remote_url: str) -> None:
        with self.changed:
            self.waiting.append((delivery, remote_id, remote_url, timezone.now()))
            if len(self.waiting) >= FINISH_BATCH:
                self.changed.notify_all()

    def stop(self) -> None:
        with self.changed:
            self.stopping = True
            self.changed.notify_all()
        self.thread.join(timeout=30)

    def _run(self) -> None:
        while True:
            with self.changed:
                while not self.waiting and not self.stopping:
                    self.changed.wait(timeout=1.0)
                if not self.waiting and self.stopping:
                    connection.close()
                    return
                if len(self.waiting) < FINISH_BATCH and not self.stopping:
                    self.changed.wait(timeout=FINISH_WAIT)
                batch, self.waiting = self.waiting[:FINISH_BATCH], self.waiting[FINISH_BATCH:]
            try:
                close_old_connections()
                record_published(batch, self.worker_id)
            except Exception:
                # Left ``publishing``: reconciled as after a crash (see the class).
                log.exception("Could not record %s published deliveries", len(batch))
                connection.close()


def record_published(results: list[tuple[Delivery, str, str, datetime]], worker_id: str) -> None:
    """``published`` for every ``(delivery, remote id, remote URL, when)`` still claimed by
    ``worker_id``: one UPDATE and one INSERT; the rest one by one."""
    if not results:
        return
    now = timezone.now()
    by_id = {delivery.pk: (delivery, rid, url, at) for delivery, rid, url, at in results}

    def each(index: int) -> Case:
        return Case(
            *(When(pk=pk, then=Value(row[index])) for pk, row in by_id.items()),
            default=Value(""),
        )

    with transaction.atomic():
        moved = Delivery.objects.filter(
            pk__in=list(by_id), state=S.PUBLISHING, claimed_by=worker_id
        ).update(
            state=S.PUBLISHED,
            updated_at=now,
            remote_id=each(1),
            remote_url=each(2),
            published_at=Case(
                *(When(pk=pk, then=Value(row[3])) for pk, row in by_id.items()),
                output_field=DateTimeField(),
            ),
            last_error="",
            lease_expires_at=None,
        )
        done = set(by_id)
        if moved != len(by_id):
            done = set(
                Delivery.objects.filter(
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
            delivery.remote_id, delivery.remote_url, delivery.published_at = (
                remote_id,
                remote_url,
                at,
            )
            delivery.last_error, delivery.lease_expires_at = "", None
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


class Dispatcher:
    """Claims due deliveries and keeps up to ``threads`` network calls in flight."""

    def __init__(self, worker_id: str, threads: int) -> None:
        self.worker_id = worker_id
        self.capacity = max(1, threads)
        self.pool = ThreadPoolExecutor(self.capacity, thread_name_prefix="send")
        self.busy: set[int] = set()
        self.ran: dict[int, float] = {}  # id → when it was last handed to ``dispatch.run``
        self.changed = threading.Condition()
        self.stopping = threading.Event()
        self.finisher = Finisher(worker_id)

    def run(self) -> None:
        """Until ``stop``: claim what is due, hand it to the pool, sleep until the next."""
        while not self.stopping.is_set():
            with self.changed:
                while len(self.busy) >= self.capacity and not self.stopping.is_set():
                    self.changed.wait(timeout=1.0)
                free = self.capacity - len(self.busy)
                skip = frozenset(self.busy) | self._recently_run()
            try:
                close_old_connections()
                claimed, others = claim_due(self.worker_id, free, skip=skip)
                if not claimed and not others:
                    pause = next_due_in(timezone.now())
                    if pause > 0:
                        self.stopping.wait(pause)
                    continue
            except DatabaseError:
                log.warning("The dispatcher could not read due deliveries", exc_info=True)
                connection.close()
                self.stopping.wait(1.0)
                continue
            for delivery in claimed:
                self._submit(delivery.pk, self._send, delivery)
            for delivery_id in others:
                self.ran[delivery_id] = time.monotonic()
                self._submit(delivery_id, self._run, delivery_id)
        connection.close()  # this thread's own

    def drain(self) -> None:
        """Send what is due now, then return (``socialdesk worker --batch``)."""
        while True:
            claimed, others = claim_due(self.worker_id, self.capacity, skip=self._recently_run())
            if not claimed and not others:
                break
            for delivery in claimed:
                self._submit(delivery.pk, self._send, delivery)
            for delivery_id in others:
                self.ran[delivery_id] = time.monotonic()
                self._submit(delivery_id, self._run, delivery_id)
            with self.changed:
                while self.busy:
                    self.changed.wait(timeout=1.0)

    def stop(self) -> None:
        """Stop claiming; the calls in flight finish (connectors time out their own calls)."""
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
        self.finisher.stop()

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

    def _send(self, delivery: Delivery) -> None:
        sent = dispatch.attempt(
            delivery, self.worker_id, channel_fresh=True, record_published=self.finisher.add
        )
        if sent.state != S.PUBLISHING:  # a success is told once the finisher wrote it
            lateness.tell_if_late(sent)

    def _run(self, delivery_id: int) -> None:
        dispatch.run(delivery_id, default_worker_id())
