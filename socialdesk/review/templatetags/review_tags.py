"""``{% load review_tags %}{% review_comments post %}``: the comments panel on any page of a
post whose view entered the workspace (``web.helpers.enter`` sets ``request.membership``).

It renders a placeholder that htmx replaces with the panel: the host page (the composer) may
place it inside its own form, and a form inside a form would break both.
"""

from __future__ import annotations

from typing import Any

from django import template
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.safestring import SafeString, mark_safe

from socialdesk.content.models import Post

register = template.Library()


@register.simple_tag(takes_context=True)
def review_comments(context: Any, post: Post | None) -> SafeString:
    from socialdesk.review import services

    request = context.get("request")
    membership = getattr(request, "membership", None)
    if request is None or membership is None or post is None or post.pk is None:
        return mark_safe("")
    if not membership.can("comments.view"):
        return mark_safe("")
    internal = services.sees_internal(membership)
    kwargs = {"slug": post.workspace.slug, "post_id": post.pk}
    loader = {
        "panel_url": reverse("post_comments", kwargs=kwargs),
        "versions_url": reverse("post_versions", kwargs=kwargs),
        "count": services.visible_comments(post, internal=internal).filter(parent=None).count(),
    }
    html = render_to_string("review/_comments_loader.html", loader, request=request)
    return mark_safe(html)  # noqa: S308 - rendered by the template engine, escaped there
