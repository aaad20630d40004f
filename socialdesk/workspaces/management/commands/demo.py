"""``socialdesk demo``: (re)build the demo bakery and print how to sign in (see socialdesk.demo)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError

from socialdesk.demo import build_demo


class Command(BaseCommand):
    help = (
        "Reset (unless --keep-existing) and rebuild the demo workspace Crumb & Co Bakery "
        "(slug crumb) with one user per role; prints the logins and, last, an API token "
        "for the demo owner."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument(
            "--keep-existing",
            action="store_true",
            help="Leave an existing demo workspace as it is; only renew logins and the token.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        # `make run` runs this on a fresh machine before `socialdesk run` has migrated.
        call_command("migrate", interactive=False, verbosity=0)
        try:
            demo = build_demo(keep_existing=options["keep_existing"])
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages)) from None
        counts = demo.counts
        self.stdout.write(
            self.style.SUCCESS(
                f"Demo workspace {demo.workspace.name!r} is ready: {counts['posts']} posts, "
                f"{counts['deliveries']} deliveries on {counts['channels']} channels."
            )
        )
        self.stdout.write(
            f"\nSign in at {settings.SITE_URL}/ as any of these, password {demo.password!r}:\n"
        )
        for role, user in demo.users.items():
            self.stdout.write(f"  {role:<9} {user.email:<24} {user.name}")
        self.stdout.write("")
        # The last line, so scripts can take it with `tail -n 1`.
        self.stdout.write(f"API token: {demo.token}")
