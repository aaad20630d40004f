"""The authentication backend: Django's ``ModelBackend``, able to take the signed-in person
from a query the request makes anyway.

A workspace page reads the session, then the user, then the membership: on PostgreSQL each
is a round trip. ``access.request_membership`` reads the membership with its user in one
query and hands the user to ``get_user`` here (``preloaded``), so Django's own
``auth.get_user`` still checks everything it checks (the backend named in the session, the
session's password hash, an active account) on the user that query read (issue 12, the
calendar's month view on PostgreSQL)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from django.contrib.auth.backends import ModelBackend

_preloaded: ContextVar[Any] = ContextVar("preloaded_user", default=None)


class MemberBackend(ModelBackend):
    def get_user(self, user_id: Any) -> Any:
        user = _preloaded.get()
        if user is not None and user.pk == user_id:
            return user if self.user_can_authenticate(user) else None
        return super().get_user(user_id)


@contextmanager
def preloaded(user: Any) -> Iterator[None]:
    """While inside, ``get_user`` answers with ``user`` when the session names its id."""
    token = _preloaded.set(user)
    try:
        yield
    finally:
        _preloaded.reset(token)
