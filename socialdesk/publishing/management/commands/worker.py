"""``socialdesk worker``: run background tasks and write a heartbeat (see socialdesk.worker)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from socialdesk.worker import run_worker


class Command(BaseCommand):
    help = (
        "Run the background worker with a heartbeat, until Ctrl-C: django-tasks-db's loop, or "
        "rq's worker and scheduler when SOCIALDESK_TASKS_BACKEND=redis."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--interval",
            type=float,
            default=0.1,
            help="Seconds to wait between polls when there is nothing to do (default 0.1).",
        )
        parser.add_argument(
            "--queue-name",
            default="*",
            help="Queues to process, separated by commas; * for all (default).",
        )
        parser.add_argument("--worker-id", default=None, help="Unique id (default: generated).")
        parser.add_argument(
            "--batch", action="store_true", help="Run what is ready, then exit (for cron)."
        )
        parser.add_argument(
            "--threads",
            type=int,
            default=None,
            help=(
                "Network calls this process keeps in flight (default: SOCIALDESK_SEND_THREADS, "
                "8). Deliveries mostly wait for the network, so one process can keep many in "
                "flight. With SOCIALDESK_DISPATCHER=0: task loops (database queue only)."
            ),
        )

    def handle(
        self,
        *args: Any,
        interval: float,
        queue_name: str,
        worker_id: str | None,
        batch: bool,
        threads: int | None,
        **options: Any,
    ) -> None:
        if threads is not None and threads < 1:
            raise CommandError("--threads must be 1 or more.")
        # The worker links to pages but never serves the API: reversing with the pages'
        # URLconf keeps the API's schemas out of its memory (socialdesk/site_urls.py).
        # Put back afterwards, for a worker run inside another process (tests, cron scripts).
        whole = settings.ROOT_URLCONF
        settings.ROOT_URLCONF = "socialdesk.site_urls"
        try:
            run_worker(
                interval=max(0.0, interval),
                queue_names=[name.strip() for name in queue_name.split(",") if name.strip()],
                worker_id=worker_id,
                batch=batch,
                threads=threads,
            )
        finally:
            settings.ROOT_URLCONF = whole
