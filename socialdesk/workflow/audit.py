"""The audit log: every state change, approval, override and client action, with who, when,
what, on what and from where. ``record`` is the one writer; rows are never changed."""

from __future__ import annotations

from typing import Any

from django.db.models import Model
from django.http import HttpRequest
from django.utils import timezone

from socialdesk.workspaces.models import User, Workspace

from .models import AuditEvent


def client_ip(request: HttpRequest) -> str | None:
    # REMOTE_ADDR only: X-Forwarded-For is whatever the client wants it to be unless a
    # trusted proxy sets it, and the deployment decides that, not this function.
    address = request.META.get("REMOTE_ADDR") or None
    return address


def record(
    workspace: Workspace | int,
    action: str,
    *,
    actor: User | None = None,
    target: Model | None = None,
    detail: str = "",
    via: str = "",
    request: HttpRequest | None = None,
    data: dict[str, Any] | None = None,
    ip: str | None = None,
    user_agent: str = "",
) -> AuditEvent:
    """Write one audit row.

    ``actor`` is the signed-in person; ``via`` names a channel without one, such as
    "review link #12 (Acme legal)" or "system: reminders". ``action`` reads as
    ``<area>.<verb>`` ("post.stage_moved", "approval.approve", "override"). ``target`` is
    stored as model + pk + its text at the time, so the row survives the target's deletion.
    ``ip`` and ``user_agent`` are for callers without the request (``request`` wins).
    """
    workspace_id = workspace if isinstance(workspace, int) else workspace.pk
    event = AuditEvent(
        workspace_id=workspace_id,
        created_at=timezone.now(),
        actor=actor if actor is not None and actor.is_authenticated else None,
        via=via[:200],
        action=action[:60],
        detail=detail,
        data=data or {},
        ip=ip or None,
        user_agent=user_agent[:300],
    )
    if target is not None:
        event.target_type = target._meta.label_lower[:60]
        event.target_id = str(target.pk)[:40]
        event.target_repr = str(target)[:200]
    if request is not None:
        event.ip = client_ip(request)
        event.user_agent = request.META.get("HTTP_USER_AGENT", "")[:300]
    event.save()
    return event
