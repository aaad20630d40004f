"""The sidebar's "Inbox 3": new conversations that are mine or nobody's."""

from __future__ import annotations

from typing import Any

from django import template

from socialdesk.inbox.workqueue import new_count

register = template.Library()


@register.simple_tag(takes_context=True)
def inbox_new_count(context: Any) -> int:
    request = context.get("request")
    workspace = getattr(request, "workspace", None)
    membership = getattr(request, "membership", None)
    if workspace is None or membership is None or not membership.can("inbox.view"):
        return 0
    # Counted once per request, though the sidebar shows it twice (wide and phone menus).
    cached = getattr(request, "_inbox_new_count", None)
    if cached is None:
        cached = new_count(workspace, request.user)
        request._inbox_new_count = cached
    return int(cached)
