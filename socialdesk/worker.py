"""The background worker: the task backend's own loop plus a heartbeat.

The task loop is the backend's own: django-tasks-db's ``Worker`` (the one behind
``db_worker``) for the database queue, or rq's worker and scheduler (django-tasks-rq) when
``SOCIALDESK_TASKS_BACKEND=redis``. This module only adds what they lack: a
``WorkerHeartbeat`` row, written by a daemon thread every few seconds, so that ``/health`` and
``socialdesk doctor`` can tell a running worker from a stopped one. A clean shutdown (SIGINT,
SIGTERM) removes the row; a crash leaves it to go stale after
``WORKER_HEARTBEAT_STALE_SECONDS``. The same thread runs the publishing sweep at each beat, so
due deliveries that the queue lost are found within seconds, whichever queue carries them, and
queues the inbox's polls of the channels due one (``inbox.tasks``) and the metrics polls of
the channels with a snapshot due (``analytics.metrics_tasks``), and the listening sources'
polls (``listening.sources``) and alert checks (``listening.alerts``).

Deliveries go through the dispatcher (``publishing.dispatcher``), whose ``threads`` send
threads keep that many network calls in flight, because most of a delivery's time is spent
waiting for the network. With the dispatcher off (``SOCIALDESK_DISPATCHER=0``) and the
database queue, ``threads`` runs several task loops in one process instead (each thread has
its own database connection).
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import threading
from datetime import timedelta
from types import FrameType

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import DatabaseError, close_old_connections, connection
from django.utils import timezone
from django.utils.crypto import get_random_string
from django_tasks_db.management.commands.db_worker import Worker

from socialdesk.analytics.best_time import on_heartbeat as refresh_best_times
from socialdesk.analytics.clicks import on_heartbeat as forget_old_salts
from socialdesk.analytics.metrics_tasks import on_heartbeat as poll_metrics
from socialdesk.analytics.reports import on_heartbeat as send_due_reports
from socialdesk.inbox.service_levels import on_heartbeat as inbox_service_beat
from socialdesk.inbox.tasks import on_heartbeat as poll_inboxes
from socialdesk.listening.alerts import on_heartbeat as check_listening_alerts
from socialdesk.listening.sources import on_heartbeat as poll_listening
from socialdesk.notifications.digest import on_heartbeat as send_due_digests
from socialdesk.publishing import queues, tasks
from socialdesk.publishing.connectors import import_connected_networks
from socialdesk.publishing.dispatch import sweep
from socialdesk.publishing.dispatcher import Dispatcher
from socialdesk.publishing.models import WorkerHeartbeat
from socialdesk.workflow.reminders import on_heartbeat as send_workflow_reminders

logger = logging.getLogger("socialdesk.worker")

# Well under the default staleness (30 s), so one slow write never makes a live worker look dead.
HEARTBEAT_SECONDS = 5.0
# With Redis: how often a worker without rq's scheduler checks whether it should take it over.
SCHEDULER_TAKEOVER_SECONDS = 15


def new_worker_id() -> str:
    """Unique across machines and restarts; at most 64 characters (django-tasks-db's limit)."""
    return f"{socket.gethostname()[:40]}-{os.getpid()}-{get_random_string(8)}"


class Heartbeat:
    """Upserts this process's ``WorkerHeartbeat`` every ``interval`` seconds in a thread.

    The thread uses its own database connection (Django's connections are per thread) and
    swallows database errors: a locked or briefly unreachable database must not kill the
    worker, it only delays a beat.
    """

    def __init__(self, worker_id: str, interval: float = HEARTBEAT_SECONDS) -> None:
        self.worker_id = worker_id
        self.interval = interval
        self.hostname = socket.gethostname()[:200]
        self.pid = os.getpid()
        self.started_at = timezone.now()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="heartbeat", daemon=True)

    def beat(self) -> None:
        now = timezone.now()
        WorkerHeartbeat.objects.update_or_create(
            worker_id=self.worker_id,
            defaults={"seen_at": now},
            create_defaults={
                "hostname": self.hostname,
                "pid": self.pid,
                "started_at": self.started_at,
                "seen_at": now,
            },
        )

    def start(self) -> None:
        """Beat and sweep once now (so the row exists before the first task runs), then keep on."""
        self.beat()
        self.sweep()
        self._thread.start()

    def _run(self) -> None:
        try:
            while not self._stop.wait(self.interval):
                # Nothing may end this loop but ``stop``: a worker whose heartbeat stops
                # while its tasks go on would have its claims taken as abandoned.
                try:
                    close_old_connections()
                    self.beat()
                except Exception:
                    logger.warning("Could not write the worker heartbeat", exc_info=True)
                self.sweep()
        finally:
            connection.close()

    def sweep(self) -> None:
        """The safety net beside the queue: find due work nobody is doing (see ``sweep``).

        Due deliveries normally reach the worker through tasks queued with ``run_after``; the
        sweep catches what a flushed queue or a killed worker dropped. Any error is logged and
        the next beat tries again.

        Only the longest-running live worker sweeps: with many workers, every one sweeping
        re-queued the same backlog many times over and slowed the drain (see BENCHMARKS.md).
        """
        try:
            if not self.is_sweeper():
                return
            report = sweep()
            send_due_digests()  # the daily notification digests; never raises
            send_workflow_reminders()  # steps due tomorrow and overdue; never raises
            queues.on_heartbeat()  # published evergreen posts back into their queues
            poll_inboxes()  # a poll task per channel due one (every 30 s); never raises
            inbox_service_beat()  # inbox breaches told, retention applied; never raises
            poll_metrics()  # a metrics poll per channel with a snapshot due; never raises
            forget_old_salts()  # visitor salts of days that are over; never raises
            refresh_best_times()  # each channel's best times, weekly; never raises
            poll_listening()  # a poll per listening source due one (5 min); never raises
            send_due_reports()  # weekly and monthly reports, once per period; never raises
            check_listening_alerts()  # spikes and sentiment drops, every 15 min; never raises
        except Exception:
            logger.exception("The delivery sweep failed; retrying at the next beat")
            return
        if report.enqueued or report.missed or report.expired or report.abandoned:
            logger.info(
                "Sweep: queued %s, missed %s, leases expired %s, claims of dead workers %s",
                report.enqueued,
                report.missed,
                report.expired,
                report.abandoned,
            )

    def is_sweeper(self) -> bool:
        """True when this worker is the oldest one whose heartbeat is fresh."""
        fresh_since = timezone.now() - timedelta(seconds=settings.WORKER_HEARTBEAT_STALE_SECONDS)
        oldest = (
            WorkerHeartbeat.objects.filter(seen_at__gte=fresh_since)
            .order_by("started_at", "worker_id")
            .values_list("worker_id", flat=True)
            .first()
        )
        return oldest in (None, self.worker_id)

    def stop(self) -> None:
        """Stop beating and remove the row, so a cleanly stopped worker is not "stale"."""
        self._stop.set()
        self._thread.join(timeout=self.interval + 5)
        try:
            WorkerHeartbeat.objects.filter(worker_id=self.worker_id).delete()
        except DatabaseError:
            logger.warning("Could not remove the worker heartbeat", exc_info=True)


def run_worker(
    *,
    interval: float = 0.1,
    queue_names: list[str] | None = None,
    worker_id: str | None = None,
    max_tasks: int | None = None,
    batch: bool = False,
    threads: int | None = None,
) -> None:
    """Run tasks until SIGINT/SIGTERM (or ``batch``/``max_tasks`` says stop), with a heartbeat.

    The backend decides the loop: rq's worker and scheduler for ``redis``, else
    django-tasks-db's ``Worker`` (in ``threads`` threads). The ``finally`` below removes the
    heartbeat however the loop ends.
    """
    worker_id = worker_id or new_worker_id()
    redis = settings.TASKS_BACKEND_NAME == "redis"
    dispatching = settings.PUBLISHING_DISPATCHER
    if redis and (threads or 1) > 1 and not dispatching:
        raise ImproperlyConfigured(
            "--threads applies to the database queue; with SOCIALDESK_TASKS_BACKEND=redis "
            "start more `socialdesk worker` processes instead."
        )
    heartbeat = Heartbeat(worker_id)
    # Claims name this heartbeat, so that the sweeper knows them as abandoned within seconds
    # of this process dying, instead of when their lease runs out (``dispatch.sweep``).
    tasks.claim_as(worker_id)
    heartbeat.start()
    dispatcher = None
    if dispatching:
        # Deliveries go through the dispatcher's send threads; the task loop below runs the
        # rest of the background work (emails, webhooks) in one thread.
        sends = threads or settings.PUBLISHING_SEND_THREADS
        threads = 1
        # Emails and webhooks can wait a second: a tighter poll only contends for SQLite's
        # write lock with the dispatcher (django-tasks-db polls in a write transaction).
        interval = max(interval, 1.0)
        try:
            import_connected_networks()
        except DatabaseError:
            logger.warning("Could not read the connected networks", exc_info=True)
        dispatcher = Dispatcher(f"{worker_id}:dispatch", sends)
        if batch:
            dispatcher.drain()
        else:
            threading.Thread(target=dispatcher.run, name="dispatch", daemon=True).start()
    logger.info("Worker %s started (pid %s)", worker_id, os.getpid())
    try:
        if redis:
            _run_rq(worker_id, queue_names, max_tasks=max_tasks, batch=batch)
        elif threads is not None and threads > 1:
            _run_db_threads(worker_id, queue_names, interval, threads, max_tasks, batch)
        else:
            worker = _db_worker(worker_id, queue_names, interval, max_tasks, batch)
            try:
                worker.configure_signals()
                worker.run()
            finally:
                worker.reset_signals()
    finally:
        if dispatcher is not None:
            dispatcher.stop()
        heartbeat.stop()
        tasks.claim_as("")
        logger.info("Worker %s stopped", worker_id)


def _db_worker(
    worker_id: str,
    queue_names: list[str] | None,
    interval: float,
    max_tasks: int | None,
    batch: bool,
) -> Worker:
    return Worker(
        queue_names=queue_names or ["*"],
        interval=interval,
        batch=batch,
        backend_name="default",
        startup_delay=False,
        max_tasks=max_tasks,
        worker_id=worker_id,
        excluded_queue_names=[],
    )


def _run_db_threads(
    worker_id: str,
    queue_names: list[str] | None,
    interval: float,
    threads: int,
    max_tasks: int | None,
    batch: bool,
) -> None:
    """``threads`` django-tasks-db loops in this process, stopped together by SIGINT/SIGTERM.

    Each loop claims its tasks under its own worker id (``<id>-t<n>``, within
    django-tasks-db's 64 characters) and its own database connection. On SQLite their writes
    queue on the file's write lock (IMMEDIATE transactions with a busy timeout, see
    settings); on PostgreSQL they claim with SKIP LOCKED like separate processes would.
    A signal lets every loop finish the task it is running, then stop.
    """
    loops = [
        _db_worker(f"{worker_id[:58]}-t{n}", queue_names, interval, max_tasks, batch)
        for n in range(threads)
    ]

    def stop(signum: int, frame: FrameType | None) -> None:
        logger.warning("Received %s: finishing running tasks, then stopping", signum)
        for loop in loops:
            loop.running = False

    def run(loop: Worker) -> None:
        try:
            loop.run()
        except Exception:
            logger.exception("Task loop %s died", loop.worker_id)
        finally:
            connection.close()

    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    workers = [
        threading.Thread(target=run, args=(loop,), name=f"tasks-{n}", daemon=True)
        for n, loop in enumerate(loops)
    ]
    try:
        for thread in workers:
            thread.start()
        # Join with a timeout so that the main thread stays free to take signals.
        while any(thread.is_alive() for thread in workers):
            for thread in workers:
                thread.join(timeout=0.5)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _run_rq(
    worker_id: str, queue_names: list[str] | None, *, max_tasks: int | None, batch: bool
) -> None:
    """rq's worker (no fork per task) with its scheduler waking ``SCHEDULER_TICK`` apart."""
    import django_rq
    from django_tasks_rq.backend import Job

    from socialdesk.rq_worker import SocialdeskRQWorker

    names = [name for name in (queue_names or ["*"]) if name != "*"] or list(settings.RQ_QUEUES)
    worker = django_rq.get_worker(
        *names,
        # A SimpleWorker, which rq's (narrower) annotation does not list.
        worker_class=SocialdeskRQWorker,  # type: ignore[arg-type]
        job_class=Job,
        name=worker_id,
        # rq retries taking over a dead worker's scheduler at each maintenance (default
        # every 10 minutes); the sweeper covers the gap, but sooner is better.
        maintenance_interval=SCHEDULER_TAKEOVER_SECONDS,
    )
    worker.work(with_scheduler=True, burst=batch, max_jobs=max_tasks, logging_level="WARNING")
