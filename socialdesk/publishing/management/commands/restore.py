"""``socialdesk restore PATH``: bring a backup back into an empty data folder and database."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from socialdesk.backup import BackupError, Progress, read_passphrase, restore_backup


class Command(BaseCommand):
    help = (
        "Restore a backup written by `socialdesk backup` into an EMPTY data folder and "
        "database (refuses otherwise, never overwrites), checking the passphrase and every "
        "file, then applying newer migrations. Same passphrase sources as `backup`."
    )
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("path", help="the backup file")
        parser.add_argument(
            "--passphrase-file", help="read the passphrase from this file (its first line)"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            passphrase = read_passphrase(options["passphrase_file"], confirm=False)
            result = restore_backup(Path(options["path"]), passphrase, Progress(self._say))
        except BackupError as exc:
            raise CommandError(str(exc), returncode=1) from None
        about = result.about
        if result.migrated:
            self.stdout.write(
                f"Applied {len(result.migrated)} migrations newer than the backup "
                f"({', '.join(result.migrated[:3])}{', …' if len(result.migrated) > 3 else ''})."
            )
        for warning in result.warnings:
            self.stdout.write(self.style.WARNING(f"Warning: {warning}"))
        self.stdout.write(
            self.style.SUCCESS(
                f"Restored the backup of {about['created_at']} (Socialdesk "
                f"{about['socialdesk_version']}, {about['database_vendor']}): "
                f"{result.files} files checked, {result.media_files} media files."
            )
        )

    def _say(self, line: str) -> None:
        self.stdout.write(line)
        self.stdout.flush()
