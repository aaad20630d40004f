"""Sign-in throttling and each person's sign-in log.

The policy, in two sentences: after 5 failed sign-ins for one account (or 20 from one network
address) within a day, each further failure locks that account (or address) for a delay that
starts at one minute and doubles with every failure, up to 15 minutes for an account and an
hour for an address; attempts refused while locked are not checked and do not lengthen the
delay. A lock always ends by itself, a successful sign-in or a password reset clears the
account's count, and a count is forgotten after a day without failures.

So an attacker who stops trying locks a real person out for 15 minutes at most, and one who
keeps trying gets about a hundred guesses a day per account; the person can always reset the
password by email, which clears the account's lock at once.

Why not django-axes (the maintained choice, and it supports Django 5.2): it has one
``AXES_COOLOFF_TIME`` that is both the window in which failures are counted and the length of
the lock, and its clean-up deletes every attempt older than the current request's cool-off, for
every account; a delay that grows per account cannot be expressed without fighting both. It
also needs ``request`` in every ``authenticate()`` call, which Django's test client's
``login()`` and scripts do not pass. The few lines below do exactly the policy, with the
counter in the database so several gunicorn processes (and the embedded SQLite) share it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone

from .models import SignInEvent, SignInThrottle, User

ACCOUNT_FREE_FAILURES = 5
ADDRESS_FREE_FAILURES = 20
FIRST_DELAY = timedelta(minutes=1)
ACCOUNT_MAX_DELAY = timedelta(minutes=15)
ADDRESS_MAX_DELAY = timedelta(hours=1)
FORGET_AFTER = timedelta(days=1)
MAX_EMAIL = User._meta.get_field("email").max_length or 254
# A burst of refused attempts writes one "throttled" line in the person's log, not hundreds.
THROTTLED_LOG_EVERY = timedelta(minutes=1)


def now() -> datetime:
    """The clock of this module; tests move it instead of sleeping."""
    return timezone.now()


def client_address(request: HttpRequest) -> str:
    # REMOTE_ADDR only, as the audit log does: X-Forwarded-For is whatever a client says
    # unless a trusted proxy sets it, and a proxy deployment sets REMOTE_ADDR through it.
    return request.META.get("REMOTE_ADDR") or "unknown"


@dataclass(frozen=True)
class Throttled:
    """A refusal: which counter is locked and until when."""

    scope: str  # "account" or "address"
    until: datetime

    @property
    def minutes(self) -> int:
        return max(1, math.ceil((self.until - now()).total_seconds() / 60))

    @property
    def message(self) -> str:
        wait = "1 minute" if self.minutes == 1 else f"{self.minutes} minutes"
        if self.scope == "account":
            return (
                f"Too many failed sign-ins for this account. Try again in {wait}, "
                "or reset your password."
            )
        return f"Too many failed sign-ins from your network address. Try again in {wait}."


def _keys(email: str, address: str) -> dict[str, tuple[str, int, timedelta]]:
    """Counter key → (scope, free failures, longest delay)."""
    keys = {f"address:{address}": ("address", ADDRESS_FREE_FAILURES, ADDRESS_MAX_DELAY)}
    # An email longer than any account's names no account to protect (and would not fit
    # the key); the address's counter still counts the attempt.
    if email and len(email.strip()) <= MAX_EMAIL:
        keys[f"account:{email.strip().lower()}"] = (
            "account",
            ACCOUNT_FREE_FAILURES,
            ACCOUNT_MAX_DELAY,
        )
    return keys


def delay_after(failures: int, free: int, longest: timedelta) -> timedelta | None:
    """How long a counter is locked after its ``failures``-th failure; None while free."""
    if failures < free:
        return None
    # Capped exponent: 2**10 minutes already exceeds any cap, and keeps the number small.
    return min(FIRST_DELAY * 2 ** min(failures - free, 10), longest)


def check(email: str, address: str) -> Throttled | None:
    """The lock that refuses a sign-in for ``email`` from ``address`` now, if any (the one
    that ends last)."""
    keys = _keys(email, address)
    row = (
        SignInThrottle.objects.filter(key__in=keys, locked_until__gt=now())
        .order_by("-locked_until")
        .first()
    )
    if row is None or row.locked_until is None:
        return None
    return Throttled(scope=keys[row.key][0], until=row.locked_until)


def record_failure(email: str, address: str) -> Throttled | None:
    """Count one failed sign-in (wrong password or wrong code) for the account and the
    address; return the lock it starts, if any.

    Each counter is updated under a row lock (PostgreSQL) or SQLite's write lock, so two
    processes counting at once both count.
    """
    at = now()
    for key, (_scope, free, longest) in _keys(email, address).items():
        with transaction.atomic():
            row, _ = SignInThrottle.objects.select_for_update().get_or_create(
                key=key, defaults={"last_failure_at": at}
            )
            if row.last_failure_at < at - FORGET_AFTER:
                row.failures = 0
            row.failures += 1
            row.last_failure_at = at
            delay = delay_after(row.failures, free, longest)
            row.locked_until = at + delay if delay else None
            row.save(update_fields=["failures", "last_failure_at", "locked_until"])
    return check(email, address)


def clear_account(email: str) -> None:
    """Forget the account's failures: after a successful sign-in or a password reset.
    The address's count stays, so signing in to one's own account does not buy an attacker
    more guesses at others from the same address."""
    SignInThrottle.objects.filter(key=f"account:{email.strip().lower()}").delete()


def log_event(
    request: HttpRequest, kind: str, user: User | None, email: str = ""
) -> SignInEvent | None:
    """Add a line to the person's sign-in log; attempts on unknown emails are not kept (they
    belong to nobody who could read them)."""
    if user is None:
        return None
    at = now()
    if kind == SignInEvent.Kind.THROTTLED:
        recent = SignInEvent.objects.filter(
            user=user, kind=kind, created_at__gt=at - THROTTLED_LOG_EVERY
        )
        if recent.exists():
            return None
    return SignInEvent.objects.create(
        user=user,
        email=(email or user.email)[:254],
        kind=kind,
        ip=request.META.get("REMOTE_ADDR") or None,
        user_agent=request.META.get("HTTP_USER_AGENT", "")[:300],
        created_at=at,
    )


def user_for_email(email: str) -> User | None:
    return User.objects.filter(email__iexact=email.strip()).first()
