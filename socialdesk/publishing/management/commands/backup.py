"""``socialdesk backup PATH``: one encrypted archive of the database, media and keys."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from socialdesk.backup import BackupError, Progress, create_backup, read_passphrase


class Command(BaseCommand):
    help = (
        "Write one encrypted backup (database, media, generated keys) to PATH, a new file or "
        "a folder to put a dated file in, while Socialdesk runs. The passphrase comes from "
        "--passphrase-file, SOCIALDESK_BACKUP_PASSPHRASE, or is typed in a terminal."
    )
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("path", help="a new file, or an existing folder")
        parser.add_argument(
            "--passphrase-file", help="read the passphrase from this file (its first line)"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            passphrase = read_passphrase(options["passphrase_file"], confirm=True)
            result = create_backup(Path(options["path"]), passphrase, Progress(self._say))
        except BackupError as exc:
            raise CommandError(str(exc), returncode=1) from None
        self.stdout.write(
            self.style.SUCCESS(
                f"Backup written: {result.path} ({result.size} bytes, {result.files} files of "
                f"which {result.media_files} media)."
            )
        )
        for key, source in result.keys.items():
            if source == "environment":
                variable = "SECRET_KEY" if key == "secret_key" else "ENCRYPTION_KEYS"
                self.stdout.write(
                    f"Note: {variable} comes from the environment and is not in the backup; "
                    "keep it safe separately."
                )
        self.stdout.write("Keep the passphrase: without it the backup cannot be opened.")

    def _say(self, line: str) -> None:
        self.stdout.write(line)
        self.stdout.flush()
