"""What must hold for a delivery to go out: checked when it is scheduled and again at send
time (by ``services`` and ``dispatch``), in this one module.

Approval is a fact the workflow writes on the post (``Post.approved_version``); the engine
only reads it, so publishing never imports the workflow.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Exists, OuterRef, Subquery

from socialdesk.content import rules
from socialdesk.content.models import Post, PostVersion
from socialdesk.networks.models import Channel
from socialdesk.workspaces.models import APPROVING_ROLES, Membership

from .connectors import connector_for, content_for, problem_text
from .models import Delivery

APPROVAL_MISSING = (
    "This workspace requires approval before publishing, and the post is not approved."
)


def is_approved(post: Post) -> bool:
    """True when the post's newest version is the one the workflow recorded as approved."""
    if post.approved_version_id is None:
        return False
    newest = (
        PostVersion.objects.filter(post_id=post.pk).order_by("-number").values_list("pk", flat=True)
    ).first()
    return newest == post.approved_version_id


def approval_read() -> dict[str, Any]:
    """Annotations of a deliveries query that let ``approval_missing`` answer without a query
    of its own: the post's newest version and whether the workspace has someone to approve.
    The dispatcher reads them with its claim (with the content that it will send), so a burst
    costs no two queries per post (bench/publishing.py, the SDK ratio)."""
    return {
        "read_newest_version": Subquery(
            PostVersion.objects.filter(post_id=OuterRef("post_id"))
            .order_by("-number")
            .values("pk")[:1]
        ),
        "read_approval_gate": Exists(
            Membership.objects.filter(
                workspace_id=OuterRef("workspace_id"),
                role__in=APPROVING_ROLES,
                user__is_active=True,
            )
        ),
    }


def approval_missing(delivery: Delivery) -> bool:
    """True when the workspace's approval gate is on and the post is not approved. The
    inbox's kinds have no post: a reply that needs approval waits in the inbox before it
    becomes a delivery (``inbox.answering``)."""
    if delivery.post_id is None or not delivery.workspace.requires_approval:
        return False  # without reading the post's versions: the engine asks for each send
    if "read_approval_gate" in delivery.__dict__:  # read with the delivery (``approval_read``)
        approved = delivery.post.approved_version_id
        newest = delivery.read_newest_version  # type: ignore[attr-defined]
        return delivery.read_approval_gate and (approved is None or newest != approved)  # type: ignore[attr-defined]
    return not is_approved(delivery.post) and delivery.workspace.approval_gate


def channel_problem(channel: Channel) -> str | None:
    if channel.is_connected:
        return None
    if channel.status == "needs_reconnect":
        return f"{channel} needs reconnecting: its authorization was revoked or expired."
    if channel.status == "paused":
        return f"{channel} is paused; its posts wait until someone resumes it."
    if channel.status == "example":
        return (
            f"{channel} is an example without an account; its posts wait until a real "
            "account is connected."
        )
    return f"{channel} is disconnected; connect it again first."


def account_missing(channel: Channel) -> str | None:
    """Send time: a connected channel with none of the credentials its network needs.

    Not a refusal when scheduling (a post may be planned for an account connected later);
    the engine treats it like revoked authorization, so the delivery waits and the channel
    asks for reconnecting, instead of failing for good.
    """
    if channel.has_account:
        return None
    return f"no {channel.get_network_display()} account is connected to {channel.handle}"


def content_problems(delivery: Delivery) -> dict[str, list[str]]:
    """What the channel's network refuses in this delivery's content, by field (empty: fine)."""
    connector = connector_for(delivery.channel)
    if connector is None:
        return {}
    errors: dict[str, list[str]] = {}
    for problem in connector.validate(content_for(delivery)):
        name, message = problem_text(problem)
        errors.setdefault(name, []).append(f"{delivery.channel}: {message}")
    return errors


def schedule_problems(delivery: Delivery) -> dict[str, list[str]]:
    """What stops ``delivery`` being given a time, by field: its channel and content. A post
    that still needs approval may be given one; it waits for approval (``approval_missing``)."""
    errors: dict[str, list[str]] = {}
    if problem := channel_problem(delivery.channel):
        errors.setdefault("channel", []).append(problem)
    else:
        for name, messages in content_problems(delivery).items():
            errors.setdefault(name, []).extend(messages)
    return errors


def send_problems(delivery: Delivery) -> dict[str, list[str]]:
    """Everything that stops ``delivery`` going out now, except its time, by field."""
    errors = schedule_problems(delivery)
    if approval_missing(delivery):
        errors.setdefault("approval", []).append(APPROVAL_MISSING)
    return errors


def rule_problems(delivery: Delivery) -> dict[str, list[str]]:
    """What the workspace's own rules forbid in the delivery's text (``content.rules``: the
    brand voice's banned phrases, hashtag range and length per network, handed down by the
    workflow, which publishing never imports), by field: ``text_override`` when the delivery
    has its own text, else ``text``.

    Asked when a delivery is scheduled or moved (``services.schedule``), not at send time:
    a post scheduled before a rule was added keeps its place, and its approval is what the
    engine re-checks then."""
    problems = rules.forbidden(delivery.workspace_id, delivery.text, [delivery.channel.network])
    if not problems:
        return {}
    return {"text_override" if delivery.text_override else "text": problems}
