"""``socialdesk run``: migrate, collect static files, then serve with gunicorn plus the worker.

``socialdesk run`` on the command line runs this with ``--prepare-only`` in a child process
and then supervises from a process without Django (``socialdesk.cli.run``); run through
``manage.py`` or ``call_command`` it does both in one process.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connections

from socialdesk import cli


class Command(BaseCommand):
    help = (
        "Apply migrations, collect static files, then run the web server (gunicorn) and the "
        "background worker together until Ctrl-C."
    )
    requires_system_checks = "__all__"

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default=cli.DEFAULT_HOST, help="Address to listen on.")
        parser.add_argument("--port", type=int, default=cli.DEFAULT_PORT, help="Port to listen on.")
        parser.add_argument(
            "--prepare-only",
            action="store_true",
            help="Check, migrate and collect static files, then exit without serving.",
        )

    def handle(self, *args: Any, host: str, port: int, prepare_only: bool, **options: Any) -> None:
        if not cli.port_is_free(host, port):
            raise CommandError(
                f"Port {port} on {host} is already in use; stop what uses it or choose "
                f"another with --port."
            )
        call_command("migrate", interactive=False, verbosity=1)
        call_command("collectstatic", interactive=False, verbosity=0)
        self.stdout.write(f"Static files collected in {settings.STATIC_ROOT}.")
        if host not in ("0.0.0.0", "::", *settings.ALLOWED_HOSTS):  # noqa: S104
            self.stdout.write(
                self.style.WARNING(
                    f"{host} is not in ALLOWED_HOSTS; add it there or requests will get 400."
                )
            )
        self.stdout.flush()
        if prepare_only:
            return
        connections.close_all()  # the supervisor itself needs no database from here on
        code = cli.serve(host, port)
        if code:
            raise CommandError("Socialdesk stopped because a part of it died.", returncode=code)
