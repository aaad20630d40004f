"""Users, workspaces, members, invitations and API tokens.

Every other row in Socialdesk belongs to exactly one workspace through ``WorkspaceOwned``;
``WorkspaceOwned.objects.in_workspace(ws)`` is the one place where querysets are scoped.
"""

from __future__ import annotations

import hashlib
import secrets
import zoneinfo
from datetime import timedelta
from typing import Any

from django.contrib.auth.models import AbstractUser, BaseUserManager
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone

from .roles import READ_PERMISSIONS, Role, role_can


def validate_time_zone(value: str) -> None:
    if value not in zoneinfo.available_timezones():
        raise ValidationError(
            f"{value!r} is not a time zone; use an IANA name such as Europe/Paris."
        )


# The late window (``Workspace.late_window``): how late a due delivery may still go out after
# downtime before it becomes "missed". Less than a quarter of an hour misses posts over a
# worker restart or one retry; more than a week publishes news nobody expects any more.
LATE_WINDOW_DEFAULT = timedelta(hours=6)
LATE_WINDOW_MIN = timedelta(minutes=15)
LATE_WINDOW_MAX = timedelta(days=7)


def validate_late_window(value: timedelta) -> None:
    if not LATE_WINDOW_MIN <= value <= LATE_WINDOW_MAX:
        raise ValidationError(
            "The late window must be between 15 minutes and 7 days (the default is 6 hours)."
        )


def duration_text(value: timedelta) -> str:
    """``timedelta(hours=6)`` as "6 hours", in the largest whole unit (minutes at least)."""
    minutes = int(value.total_seconds() // 60)
    for size, unit in ((1440, "day"), (60, "hour"), (1, "minute")):
        if (minutes >= size and minutes % size == 0) or size == 1:
            count = minutes // size
            return f"{count} {unit}{'' if count == 1 else 's'}"
    raise AssertionError("unreachable")


class UserManager(BaseUserManager["User"]):
    use_in_migrations = True

    def create_user(self, email: str, password: str | None = None, **extra: Any) -> User:
        if not email:
            raise ValueError("An email address is required.")
        user = self.model(email=self.normalize_email(email).lower(), **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_superuser(self, email: str, password: str | None = None, **extra: Any) -> User:
        extra.setdefault("is_staff", True)
        extra.setdefault("is_superuser", True)
        return self.create_user(email, password, **extra)


class User(AbstractUser):
    """A person who signs in with an email address; belongs to workspaces through members."""

    username = None  # type: ignore[assignment]
    email = models.EmailField("email address", unique=True)
    name = models.CharField(max_length=150, blank=True)

    USERNAME_FIELD = "email"
    REQUIRED_FIELDS = []  # type: ignore[misc]

    objects = UserManager()  # type: ignore[misc,assignment]

    def __str__(self) -> str:
        return self.name or self.email

    @property
    def display_name(self) -> str:
        return self.name or self.email.split("@")[0]


# Roles whose job is to approve; a workspace with none of them publishes without approval.
APPROVING_ROLES = (Role.APPROVER, Role.CLIENT)


# What happens to a post still unapproved at its time (``Workspace.unapproved_at_due``).
UNAPPROVED_AT_DUE = [
    ("hold", "Hold it as missed and tell its author and the approvers"),
    ("publish_fast_lane", "Publish it anyway if it is in the fast lane; hold the rest"),
]


class Workspace(models.Model):
    """One brand or client. Everything else belongs to exactly one workspace."""

    name = models.CharField(max_length=120)
    slug = models.SlugField(max_length=60, unique=True)
    time_zone = models.CharField(max_length=64, default="UTC", validators=[validate_time_zone])
    # How late a due delivery may still go out before it becomes "missed" (publishing engine).
    late_window = models.DurationField(
        default=LATE_WINDOW_DEFAULT, validators=[validate_late_window]
    )
    # On by default; it gates publishing only once someone can approve (``approval_gate``),
    # so a solo workspace keeps publishing directly.
    requires_approval = models.BooleanField(default=True)
    # What happens to a post still unapproved at its time.
    unapproved_at_due = models.CharField(max_length=20, choices=UNAPPROVED_AT_DUE, default="hold")
    # Members must sign in with a second factor before they see this workspace's pages
    # (``two_factor.RequireTwoFactorMiddleware``); API tokens are not affected.
    requires_two_factor = models.BooleanField(default=False)
    # Inbox (issue 13): how far back a newly connected channel's comments and mentions are
    # read on its first poll.
    inbox_backfill_days = models.PositiveSmallIntegerField(
        default=14, validators=[MinValueValidator(0), MaxValueValidator(365)]
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @property
    def zone(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.time_zone)

    @property
    def approval_gate(self) -> bool:
        """True when posts must be approved before they are published: the workspace requires
        approval and has someone whose role is to approve (an approver or a client)."""
        if not self.requires_approval:
            return False
        return self.memberships.filter(role__in=APPROVING_ROLES, user__is_active=True).exists()


class WorkspaceOwnedQuerySet(models.QuerySet):
    def in_workspace(self, workspace: Workspace | int) -> WorkspaceOwnedQuerySet:
        return self.filter(workspace=workspace)


class WorkspaceOwned(models.Model):
    """Base for every row that belongs to a workspace."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")

    objects = WorkspaceOwnedQuerySet.as_manager()

    class Meta:
        abstract = True


class Membership(models.Model):
    """A user's role in one workspace."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=20, choices=Role.choices)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = WorkspaceOwnedQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["workspace", "user"], name="one_membership_per_user")
        ]
        ordering = ["workspace", "user__email"]

    def __str__(self) -> str:
        return f"{self.user} ({self.role}) in {self.workspace}"

    def can(self, permission: str) -> bool:
        return role_can(self.role, permission)


def invitation_expiry() -> Any:
    return timezone.now() + timedelta(days=14)


class Invitation(WorkspaceOwned):
    """An invitation by email to join a workspace with a role; accepted through its token."""

    email = models.EmailField()
    role = models.CharField(max_length=20, choices=Role.choices)
    token = models.CharField(max_length=64, unique=True, default=secrets.token_urlsafe)
    invited_by = models.ForeignKey(User, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(default=invitation_expiry)
    accepted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.email} as {self.role}"

    @property
    def is_open(self) -> bool:
        return self.accepted_at is None and self.expires_at > timezone.now()


class TokenScope(models.TextChoices):
    READ = "read", "Read only"
    WRITE = "write", "Read and write"


class ApiToken(WorkspaceOwned):
    """A bearer token for scripts. Only a SHA-256 of the secret is stored.

    A token acts as its user in its workspace, limited by its scope: ``read`` keeps only the
    ``*.view`` permissions of the user's role.
    """

    PREFIX = "sd_"

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=80)
    token_hash = models.CharField(max_length=64, unique=True)
    hint = models.CharField(max_length=12, help_text="The first characters, to recognise it.")
    scopes = models.JSONField(default=list)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.name} ({self.hint}…)"

    @staticmethod
    def hash(raw: str) -> str:
        return hashlib.sha256(raw.encode()).hexdigest()

    @classmethod
    def issue(
        cls, workspace: Workspace, user: User, name: str, scopes: list[str] | None = None
    ) -> tuple[ApiToken, str]:
        """Create a token and return it with its raw secret, which is shown only once."""
        raw = cls.PREFIX + secrets.token_urlsafe(32)
        token = cls.objects.create(
            workspace=workspace,
            user=user,
            name=name,
            token_hash=cls.hash(raw),
            hint=raw[:10],
            scopes=scopes or [TokenScope.READ, TokenScope.WRITE],
        )
        return token, raw

    def allows(self, permission: str) -> bool:
        if TokenScope.WRITE in self.scopes:
            return True
        return TokenScope.READ in self.scopes and permission in READ_PERMISSIONS


class CalendarFeed(WorkspaceOwned):
    """A person's secret iCalendar address for one workspace's plan (issue 5, item 8).

    The address's token is derived, not stored: an HMAC of the row's random ``salt`` with the
    server's ``SECRET_KEY``. So the settings page can show the address again whenever its
    owner wants to copy it (calendar apps are set up on several devices), while the database
    alone (a backup, a leaked dump) holds only ``salt`` and a SHA-256 of the token, from
    which no address can be made. Revoking deletes the row; a new address gets a new salt.
    Rotating ``SECRET_KEY`` invalidates every address, as it does sessions.
    """

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="calendar_feeds")
    salt = models.CharField(max_length=64, default=secrets.token_hex, editable=False)
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    include_deadlines = models.BooleanField(
        default=False, help_text="Also show workflow stage deadlines."
    )
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["workspace", "user"], name="one_calendar_feed_per_user")
        ]

    def __str__(self) -> str:
        return f"calendar feed of {self.user} in workspace {self.workspace_id}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        self.token_hash = self.hash(self.token)
        super().save(*args, **kwargs)

    @property
    def token(self) -> str:
        from django.utils.crypto import salted_hmac

        digest = salted_hmac("socialdesk.calendar-feed", self.salt, algorithm="sha256")
        return digest.hexdigest()[:40]

    @staticmethod
    def hash(raw: str) -> str:
        return hashlib.sha256(raw.encode()).hexdigest()


class SignInThrottle(models.Model):
    """Failed sign-ins counted under one key: ``account:<email>`` or ``address:<ip>``.

    The counter lives in the database so that every web process (gunicorn runs several) sees
    the same number; ``signin.py`` holds the policy and is the only writer.
    """

    key = models.CharField(max_length=300, unique=True)
    failures = models.PositiveIntegerField(default=0)
    last_failure_at = models.DateTimeField()
    locked_until = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.key}: {self.failures} failures"


class SignInEvent(models.Model):
    """One sign-in or account-security event of a person, which they see on their account page.

    Kept per user, not in each workspace's audit log: signing in is the person's act, not a
    workspace's, and a failed attempt on an unknown email belongs to no workspace at all.
    ``user`` is null when the email matched nobody; ``email`` is what was typed.
    """

    class Kind(models.TextChoices):
        SIGNED_IN = "signed_in", "Signed in"
        FAILED = "failed", "Wrong password"
        CODE_FAILED = "code_failed", "Wrong two-factor code"
        THROTTLED = "throttled", "Refused: too many failed sign-ins"
        RECOVERY_CODE_USED = "recovery_code_used", "Signed in with a recovery code"
        TWO_FACTOR_ON = "two_factor_on", "Two-factor sign-in turned on"
        TWO_FACTOR_OFF = "two_factor_off", "Two-factor sign-in turned off"

    user = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.CASCADE, related_name="signin_events"
    )
    email = models.CharField(max_length=254, blank=True)
    kind = models.CharField(max_length=24, choices=Kind.choices)
    ip = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["user", "-created_at"], name="signin_event_user_recent")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} ({self.email}) at {self.created_at}"


class ErasedPerson(WorkspaceOwned):
    """A member whose data was erased (``personal_data.erase_person``), as the workspace's
    history now names them: "erased person #<number>".

    ``user`` is a stand-in account made for this row only: inactive, without a password,
    with no membership and no personal data. The rows the audit log and the post history
    must keep (posts, versions, decisions, comments, audit events …) are pointed at it
    instead of the person, so every page that shows an author or an actor shows
    "erased person #3" without knowing about erasure. Nothing links it back to the person.
    """

    number = models.PositiveIntegerField()
    user = models.OneToOneField(User, on_delete=models.PROTECT, related_name="erased_person")
    erased_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["workspace", "number"]
        constraints = [
            models.UniqueConstraint(fields=["workspace", "number"], name="one_erased_person_number")
        ]

    def __str__(self) -> str:
        return self.label

    @property
    def label(self) -> str:
        return f"erased person #{self.number}"
