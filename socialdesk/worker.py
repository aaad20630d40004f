"""The background worker: django-tasks-db's loop plus a heartbeat.

The task loop is django-tasks-db's own ``Worker`` (the one behind ``db_worker``); this module
only adds what it lacks: a ``WorkerHeartbeat`` row, written by a daemon thread every few
seconds, so that ``/health`` and ``socialdesk doctor`` can tell a running worker from a
stopped one. A clean shutdown (SIGINT, SIGTERM) removes the row; a crash leaves it to go
stale after ``WORKER_HEARTBEAT_STALE_SECONDS``. The same thread runs the publishing sweep at
each beat, so due deliveries that the queue lost are found within seconds.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
from datetime import timedelta

from django.conf import settings
from django.db import DatabaseError, close_old_connections, connection
from django.utils import timezone
from django.utils.crypto import get_random_string
from django_tasks_db.management.commands.db_worker import Worker

from socialdesk.publishing.dispatch import sweep
from socialdesk.publishing.models import WorkerHeartbeat

logger = logging.getLogger("socialdesk.worker")

# Well under the default staleness (30 s), so one slow write never makes a live worker look dead.
HEARTBEAT_SECONDS = 5.0


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
                close_old_connections()
                try:
                    self.beat()
                except DatabaseError:
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
        except Exception:
            logger.exception("The delivery sweep failed; retrying at the next beat")
            return
        if report.enqueued or report.missed or report.expired:
            logger.info(
                "Sweep: queued %s, missed %s, leases expired %s",
                report.enqueued,
                report.missed,
                report.expired,
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
) -> None:
    """Run tasks until SIGINT/SIGTERM (or ``batch``/``max_tasks`` says stop), with a heartbeat.

    ``Worker.shutdown`` (its signal handler) ends the loop with ``sys.exit`` when idle; the
    ``finally`` below still runs and removes the heartbeat.
    """
    worker_id = worker_id or new_worker_id()
    worker = Worker(
        queue_names=queue_names or ["*"],
        interval=interval,
        batch=batch,
        backend_name="default",
        startup_delay=False,
        max_tasks=max_tasks,
        worker_id=worker_id,
        excluded_queue_names=[],
    )
    heartbeat = Heartbeat(worker_id)
    heartbeat.start()
    logger.info("Worker %s started (pid %s)", worker_id, os.getpid())
    try:
        worker.configure_signals()
        worker.run()
    finally:
        heartbeat.stop()
        worker.reset_signals()
        logger.info("Worker %s stopped", worker_id)
