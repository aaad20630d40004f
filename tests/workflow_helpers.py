"""Helpers for the workflow tests and the authorization matrix's workflow examples."""

from __future__ import annotations

from typing import Any

from socialdesk.content.models import Post
from socialdesk.workflow import services
from socialdesk.workspaces.models import Membership, Workspace
from socialdesk.workspaces.roles import PERMISSIONS, Role


def stage(workspace: Workspace | str, key: str) -> Any:
    if isinstance(workspace, str):
        workspace = Workspace.objects.get(slug=workspace)
    return next(s for s in services.stages(workspace) if s.key == key)


def stage_id(ctx: dict[str, Any], key: str) -> int:
    return stage(ctx["slug"], key).pk


def spare_stage_id(workspace: Workspace) -> int:
    """A stage no post is in, so that deleting it is allowed."""
    return stage(workspace, "ready").pk


def waiting_for_decision(ctx: dict[str, Any]) -> dict[str, Any]:
    """Put the post in the approval stage with every role that may decide as its approver,
    and return a decision every one of them may take (the post's author too)."""
    workspace = Workspace.objects.get(slug=ctx["slug"])
    approval = stage(workspace, "approval")
    deciders = Membership.objects.filter(
        workspace=workspace, role__in=PERMISSIONS["approvals.decide"]
    )
    approval.approvers.set([m.user for m in deciders])
    post = Post.objects.filter(workspace=workspace, pk=ctx["post_id"]).first()
    if post is not None:
        services.move(post, approval, user=None, check=False)
    return {"decision": "request_changes", "comment": "Say when it comes out of the oven."}


def tickable_item(ctx: dict[str, Any]) -> dict[str, Any]:
    """A manual item every role that may move posts may tick on the bakery's post: a manual
    item is ticked by its stage's owner role (or a manager or an owner) and not by the post's
    author, so Review is made a creators' stage and self-approval is allowed (the owner wrote
    the post)."""
    workspace = Workspace.objects.get(slug=ctx["slug"])
    review = stage(workspace, "review")
    review.owner_role = Role.CREATOR
    services.save_stage(review, None)
    settings = services.settings_for(workspace)
    settings.allow_self_approval = True
    settings.save(update_fields=["allow_self_approval"])
    return {"stage_id": review.pk, "item": "Copy proofread"}
