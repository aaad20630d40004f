"""The sidebar's "Inbox 3": new conversations that are mine or nobody's, "99+" beyond."""

from __future__ import annotations

from typing import Any

from django import template

from socialdesk.inbox.listing import badge_count, badge_label

register = template.Library()


@register.simple_tag(takes_context=True)
def inbox_new_count(context: Any) -> int:
    request = context.get("request")
    workspace = getattr(request, "workspace", None)
    membership = getattr(request, "membership", None)
    if workspace is None or membership is None or not membership.can("inbox.view"):
        return 0
    # Counted once per request (capped, see listing.badge_count), though the sidebar shows
    # it twice (wide and phone menus) and the inbox's own list shows it too.
    cached = getattr(request, "_inbox_new_count", None)
    if cached is None:
        cached = badge_count(workspace, request.user)
        request._inbox_new_count = cached
    return int(cached)


@register.filter
def inbox_badge(count: int) -> str:
    """``count`` as the badge shows it: "99+" from the cap up."""
    return badge_label(int(count or 0))
