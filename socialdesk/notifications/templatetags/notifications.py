from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django import template
from django.utils import timezone
from django.utils.timesince import timesince

from socialdesk.notifications.services import unread_count

register = template.Library()


@register.simple_tag(takes_context=True)
def unread_notifications(context: Any) -> int:
    """The signed-in user's unread count in the current workspace (0 outside one), counted
    once per request: the sidebar shows it twice (the wide list and the phone menu)."""
    request = context.get("request")
    workspace = context.get("current_workspace")
    user = getattr(request, "user", None)
    if workspace is None or user is None or not user.is_authenticated:
        return 0
    counted = getattr(request, "_unread_notifications", None)
    if counted is None:
        counted = unread_count(workspace, user)
        request._unread_notifications = counted  # type: ignore[union-attr]
    return int(counted)


@register.filter
def ago(moment: datetime) -> str:
    """ "3 hours ago": one unit is enough in a list of notifications (the title has the rest)."""
    if moment is None:
        return ""
    if timezone.now() - moment < timedelta(minutes=1):
        return "just now"
    return f"{timesince(moment, depth=1)} ago"
