"""rq's worker, tuned for the publishing engine (used when ``SOCIALDESK_TASKS_BACKEND=redis``).

Two changes to rq's defaults, both for due-to-send latency and throughput:

- **No fork per task** (``SimpleWorker``): rq's default worker forks a "work horse" for
  every job, which costs milliseconds and throws away what a process keeps warm between
  deliveries (database connection, logged-in network clients in ``connectors``). A task that
  crashes the process is covered the same way as with the database queue: the process's
  heartbeat goes stale and the sweeper reconciles the delivery it held.
- **A scheduler that looks every ``SCHEDULER_TICK``** instead of every second, so that a
  task queued with ``run_after`` reaches the queue within a tenth of a second. rq keeps
  scheduled times in whole seconds (rounded down), so a task can still start up to a second
  early: ``dispatch.run`` waits out such a short head start (``EARLY_WAKE``) instead of
  leaving the delivery to the sweeper.
"""

from __future__ import annotations

import os
import time
from typing import Any

from rq.scheduler import RQScheduler
from rq.worker import SimpleWorker

SCHEDULER_TICK = 0.1


class FastScheduler(RQScheduler):
    """rq's scheduler loop with the same locks and heartbeat (every ``interval`` = 1 s), but
    moving due jobs to their queue every ``SCHEDULER_TICK``."""

    def start(self) -> Any:
        self._worker_pid = os.getpid()  # the scheduler runs in a child of the worker
        return super().start()

    def work(self) -> None:
        self._install_signal_handlers()
        self.register_birth()
        last_beat = 0.0
        while True:
            # A worker killed with SIGKILL cannot stop its scheduler: the orphan stops itself
            # (and its lock expires), so a restarted worker's scheduler takes over.
            if self._stop_requested or os.getppid() != getattr(self, "_worker_pid", os.getppid()):
                self.stop()
                break
            if self.should_reacquire_locks:
                self.acquire_locks()
            if time.monotonic() - last_beat >= self.interval:
                self.heartbeat()
                last_beat = time.monotonic()
            self.enqueue_scheduled_jobs()
            time.sleep(SCHEDULER_TICK)


class SocialdeskRQWorker(SimpleWorker):
    def _start_scheduler(self, burst: bool = False, *args: Any, **kwargs: Any) -> None:
        # rq's own method builds an ``RQScheduler``; the same steps with ours.
        self.scheduler = FastScheduler(
            self.queues, connection=self.connection, serializer=self.serializer
        )
        self.scheduler.acquire_locks()
        if not self.scheduler.acquired_locks:
            return  # another worker's scheduler has the queues: it moves the due jobs
        if burst:
            try:
                self.scheduler.register_birth()
                self.scheduler.enqueue_scheduled_jobs()
            finally:
                self.scheduler.release_locks()
                self.scheduler.register_death()
        else:
            self.scheduler.start()
