"""Helpers for the workflow tests and the authorization matrix's workflow examples."""

from __future__ import annotations

from typing import Any

from socialdesk.content.models import Post
from socialdesk.workflow import services
from socialdesk.workspaces.models import Membership, Workspace
from socialdesk.workspaces.roles import PERMISSIONS


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
