"""The workflow's "Submit for approval" button, for pages of other apps (the composer) and
its own (a post's workflow page)."""

from __future__ import annotations

from typing import Any

from django import template
from django.urls import reverse

from socialdesk.content.models import Post

register = template.Library()


@register.inclusion_tag("workflow/_submit_button.html", takes_context=True)
def submit_button(context: Any, post: Post | None, where: str = "page") -> dict[str, Any]:
    """The button, for those who may move posts, while there is somewhere to submit the post
    to and it is not waiting for an approval decision. ``where``: "editor" (a button of the
    composer's form, which saves what is written first) or "page" (a form of its own)."""
    from socialdesk.workflow import services

    request = context.get("request")
    membership = getattr(request, "membership", None)
    hidden = {"show": False}
    if membership is None or post is None or post.pk is None:
        return hidden
    if not membership.can("workflow.move"):
        return hidden
    wf = services.workflow_of(post)
    if wf.stage.is_approval:
        return hidden  # the approvers' decision moves it on
    plan = services.submit_plan(post, wf)
    if plan.target is None:
        return hidden
    return {
        "show": True,
        "url": reverse("workflow_submit", args=[membership.workspace.slug, post.pk]),
        "label": plan.label,
        "where": where,
        "target": plan.target,
        "csrf_token": context.get("csrf_token"),
    }
