"""``socialdesk doctor``: one line per check, what to fix, exit code 1 on any problem."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from socialdesk.health import doctor_checks


class Command(BaseCommand):
    help = "Check the database, migrations, worker, data folder, keys and email; say what to fix."
    # The checks must run even when the installation is broken; system checks could refuse.
    requires_system_checks: list[str] = []

    def handle(self, *args: Any, **options: Any) -> None:
        checks = doctor_checks()
        for check in checks:
            style = self.style.SUCCESS if check.ok else self.style.ERROR
            self.stdout.write(style(check.line()))
        problems = sum(1 for check in checks if not check.ok)
        if problems:
            raise CommandError(
                f"{problems} problem{'s' if problems > 1 else ''} found.", returncode=1
            )
        self.stdout.write("All good.")
