"""``socialdesk roles``: who may do what (the README's table comes from ``--markdown``)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from socialdesk.workspaces.roles import PERMISSIONS, ROLE_DESCRIPTIONS, Role, permissions_markdown


class Command(BaseCommand):
    help = "Print the roles and the permission table."
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--markdown", action="store_true", help="Print a Markdown table.")

    def handle(self, *args: Any, markdown: bool, **options: Any) -> None:
        if markdown:
            self.stdout.write(permissions_markdown())
            return
        for role in Role:
            allowed = [name for name, roles in PERMISSIONS.items() if role in roles]
            self.stdout.write(f"{role.label}: {ROLE_DESCRIPTIONS[role]}")
            self.stdout.write(f"  {', '.join(allowed)}")
