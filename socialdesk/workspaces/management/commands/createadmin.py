"""``socialdesk createadmin``: a user who can sign in, and optionally a workspace they own."""

from __future__ import annotations

import getpass
import sys
from typing import Any

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.core.validators import validate_email
from django.db import transaction

from socialdesk.workspaces.models import User
from socialdesk.workspaces.services import create_workspace


class Command(BaseCommand):
    help = (
        "Create an administrator (prompts for what is missing when run in a terminal) and, "
        "with --workspace, a workspace they own."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--email")
        parser.add_argument(
            "--password",
            help="Visible to other users of this machine in the process list; "
            "leave it out to be prompted.",
        )
        parser.add_argument("--name", default="", help="Display name.")
        parser.add_argument("--workspace", default="", help="Name of a workspace to create.")
        parser.add_argument("--time-zone", default="UTC", help="The workspace's time zone.")
        parser.add_argument(
            "--no-input",
            "--noinput",
            action="store_false",
            dest="interactive",
            help="Never prompt; fail when something is missing.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        interactive = options["interactive"] and sys.stdin.isatty()
        email = (options["email"] or "").strip().lower()
        if not email and interactive:
            email = input("Email: ").strip().lower()
        if not email:
            raise CommandError("--email is required.")
        try:
            validate_email(email)
        except ValidationError:
            raise CommandError(f"--email: {email!r} is not an email address.") from None
        if User.objects.filter(email__iexact=email).exists():
            raise CommandError(f"--email: a user with {email} already exists.")

        candidate = User(email=email, name=options["name"])
        password = options["password"]
        if password is None and interactive:
            password = self._prompt_password(candidate)
        if not password:
            raise CommandError("--password is required (or run in a terminal to be prompted).")
        try:
            validate_password(password, user=candidate)
        except ValidationError as exc:
            raise CommandError("--password: " + " ".join(exc.messages)) from None

        try:
            with transaction.atomic():
                user = User.objects.create_superuser(
                    email=email, password=password, name=options["name"]
                )
                workspace = None
                if options["workspace"]:
                    workspace = create_workspace(
                        user, options["workspace"], time_zone=options["time_zone"]
                    )
        except ValidationError as exc:
            options_for = {"name": "--workspace", "slug": "--workspace", "time_zone": "--time-zone"}
            problems = "; ".join(
                f"{options_for.get(field, field)}: {' '.join(messages)}"
                for field, messages in exc.message_dict.items()
            )
            raise CommandError(f"Nothing was created. {problems}") from None
        self.stdout.write(self.style.SUCCESS(f"Created {user.email}."))
        if workspace is not None:
            self.stdout.write(
                self.style.SUCCESS(f"Created workspace {workspace.name} ({workspace.slug}).")
            )

    def _prompt_password(self, candidate: User) -> str:
        while True:
            password = getpass.getpass("Password: ")
            if password != getpass.getpass("Password (again): "):
                self.stderr.write("The passwords differ; try again.")
                continue
            try:
                validate_password(password, user=candidate)
            except ValidationError as exc:
                self.stderr.write(" ".join(exc.messages))
                continue
            return password
