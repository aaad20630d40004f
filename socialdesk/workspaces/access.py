"""Authorization in one place: membership lookup, the permission check, scoped fetches.

A user who is not a member of a workspace gets 404 for it and for everything in it, so they
never learn that it exists; a member whose role lacks a permission gets 403.
"""

from __future__ import annotations

from typing import TypeVar

from django.contrib.auth import SESSION_KEY
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Model
from django.http import Http404, HttpRequest

from .backends import preloaded
from .models import ApiToken, Membership, User, Workspace
from .roles import role_can

M = TypeVar("M", bound=Model)


def membership_for(user: User, workspace_slug: str) -> Membership:
    if not user.is_authenticated:
        raise Http404("No such workspace.")
    try:
        return Membership.objects.select_related("workspace", "user").get(
            workspace__slug=workspace_slug, user=user
        )
    except Membership.DoesNotExist:
        raise Http404("No such workspace.") from None


def request_membership(request: HttpRequest, workspace_slug: str) -> Membership | None:
    """The signed-in person's membership of ``workspace_slug``, with its workspace, or None
    (signed out, or not a member): read once per request and kept on it.

    A workspace page asks three times (``two_factor.RequireTwoFactorMiddleware`` for the
    workspace's two-factor rule, the view's ``enter``, the layout); on PostgreSQL each query
    is a round trip of about a millisecond, so they share this one (issue 12, item 5). The
    membership's ``user`` is ``request.user`` itself, not read again."""
    found: dict[tuple[int, str], Membership | None] = request.__dict__.setdefault(
        "_memberships", {}
    )
    if "_cached_user" not in request.__dict__:  # the first read of request.user
        _read_user_with_membership(request, workspace_slug, found)
    user = request.user
    if not user.is_authenticated:
        return None
    key = (user.pk, workspace_slug)
    if key not in found:
        try:
            membership = Membership.objects.select_related("workspace").get(
                workspace__slug=workspace_slug, user_id=user.pk
            )
        except Membership.DoesNotExist:
            found[key] = None
        else:
            membership.user = user  # type: ignore[assignment]
            found[key] = membership
    return found[key]


def _read_user_with_membership(
    request: HttpRequest, workspace_slug: str, found: dict[tuple[int, str], Membership | None]
) -> None:
    """The session's user and their membership of ``workspace_slug`` in one query; Django
    then authenticates the session with that user (``backends.preloaded``)."""
    try:
        user_id = User._meta.pk.to_python(request.session[SESSION_KEY])  # type: ignore[union-attr]
    except (KeyError, ValidationError):
        return  # signed out, or a session Django's own check will refuse
    membership = (
        Membership.objects.select_related("workspace", "user")
        .filter(workspace__slug=workspace_slug, user_id=user_id)
        .first()
    )
    with preloaded(membership.user if membership else None):
        user = request.user
        if not user.is_authenticated or user.pk != user_id:
            return
    if membership is not None:
        membership.user = user  # type: ignore[assignment]
    found[(user.pk, workspace_slug)] = membership


def enter_workspace(request: HttpRequest, workspace_slug: str, permission: str) -> Membership:
    """``authorize`` for a signed-in page: the same 404 and 403, with the request's one
    membership read (``request_membership``)."""
    membership = request_membership(request, workspace_slug)
    if membership is None:
        raise Http404("No such workspace.")
    return check(membership, permission)


def authorize(
    user: User, workspace_slug: str, permission: str, token: ApiToken | None = None
) -> Membership:
    """Return the user's membership if they hold ``permission`` there.

    Raises Http404 when the user is not a member (or the token belongs to another
    workspace), PermissionDenied when the role or the token's scope lacks the permission.
    """
    return check(membership_for(user, workspace_slug), permission, token)


def check(membership: Membership, permission: str, token: ApiToken | None = None) -> Membership:
    """``membership`` if its role (and ``token``'s scope) allows ``permission``; else
    Http404 for a token of another workspace, PermissionDenied for a missing permission."""
    if token is not None and token.workspace_id != membership.workspace_id:
        raise Http404("No such workspace.")
    if not role_can(membership.role, permission):
        raise PermissionDenied(
            f"Your role ({membership.get_role_display()}) does not allow {permission}."
        )
    if token is not None and not token.allows(permission):
        raise PermissionDenied(f"This API token's scope does not allow {permission}.")
    return membership


def get_in_workspace(model: type[M], workspace: Workspace, **lookup: object) -> M:
    """Fetch one row of ``workspace`` or raise Http404, whatever other workspaces hold."""
    try:
        return model._default_manager.filter(workspace=workspace).get(**lookup)  # type: ignore[no-any-return]
    except (model.DoesNotExist, ValueError):  # type: ignore[attr-defined]
        raise Http404(f"No such {model._meta.verbose_name}.") from None
