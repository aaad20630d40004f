"""Approval decisions, bound to post versions, and the question "is this post approved?".

A decision belongs to the version that was current when it was taken, so editing the content
(a new version) needs approval again while moving only the time (no new version) does not.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.http import HttpRequest

from socialdesk.content.models import Post, PostVersion
from socialdesk.workspaces.models import Membership, User, Workspace
from socialdesk.workspaces.roles import Role

from . import audit, services
from .models import ApprovalRule, Decision, DecisionKind, Lane, PostWorkflow, Stage, StageKind

# Roles that may decide in any approval stage besides its approvers (they run the team).
LEADS = (Role.OWNER, Role.MANAGER)


@dataclass
class ApprovalState:
    """Where a stage's approvals stand for one version."""

    met: bool
    approved_by: list[str] = field(default_factory=list)
    waiting_for: list[str] = field(default_factory=list)
    changes_requested: list[Decision] = field(default_factory=list)

    @property
    def summary(self) -> str:
        if self.changes_requested:
            who = ", ".join(d.who for d in self.changes_requested)
            return f"Changes requested by {who}."
        if self.met:
            return "Approved by " + ", ".join(self.approved_by) + "."
        if self.waiting_for:
            return "Waiting for " + ", ".join(self.waiting_for) + "."
        return "Waiting for an approval of the current version."


def required_approvers(stage: Stage) -> list[User]:
    """The people whose approval the stage's "all" rule waits for: its named approvers, else
    every member with the stage's owner role."""
    named = list(stage.approvers.all())
    if named:
        return named
    return [
        m.user
        for m in Membership.objects.filter(
            workspace_id=stage.workspace_id, role=stage.owner_role
        ).select_related("user")
    ]


def eligible_approvers(stage: Stage, post: Post) -> list[User]:
    people = required_approvers(stage)
    settings = services.settings_for(post.workspace_id)
    if not settings.allow_self_approval:
        people = [p for p in people if p.pk != post.author_id]
    return people


def _lane_of(post: Post) -> str:
    wf = PostWorkflow.objects.filter(post=post).values_list("lane", flat=True).first()
    return wf or services.lane_for(post)[0]


def approval_state(post: Post, stage: Stage, version: PostVersion | None = None) -> ApprovalState:
    """Whether ``stage``'s rule is met for ``version`` (default: the current one).

    The lanes decide who must approve: in the fast lane the stage's own rule (one approver by
    default, "any"); in the strict lane every one of the stage's approvers, whatever its rule,
    and the client in the client approval stage. Each voter's latest decision counts; one
    outstanding "request changes" blocks. In a client approval stage the client side (a review
    link, or a member with the client role) counts as one voter.
    """
    version = version or post.latest_version
    if version is None:
        return ApprovalState(met=False)
    latest: dict[str, Decision] = {}
    decisions = Decision.objects.filter(post=post, version=version, stage=stage).select_related(
        "user"
    )
    for decision in decisions.order_by("created_at", "id"):
        voter = f"user:{decision.user_id}" if decision.user_id else "client"
        if stage.kind == StageKind.CLIENT_APPROVAL and decision.user_id:
            role = services.role_of(decision.user, post.workspace_id)
            if role == Role.CLIENT:
                voter = "client"
        latest[voter] = decision
    changes = [d for d in latest.values() if d.decision == DecisionKind.REQUEST_CHANGES]
    approvals = [d for d in latest.values() if d.decision == DecisionKind.APPROVE]
    approved_by = [d.who for d in approvals]
    if changes:
        return ApprovalState(False, approved_by, [], changes)
    strict = _lane_of(post) == Lane.STRICT
    if stage.kind == StageKind.CLIENT_APPROVAL or (
        stage.approval_rule == ApprovalRule.ANY and not strict
    ):
        return ApprovalState(bool(approvals), approved_by)
    required = eligible_approvers(stage, post)
    approved_ids = {d.user_id for d in approvals}
    waiting = [p for p in required if p.pk not in approved_ids]
    if not required:
        return ApprovalState(bool(approvals), approved_by)
    return ApprovalState(not waiting, approved_by, [str(p) for p in waiting])


def _workspace_requires_approval(post: Post) -> bool:
    return bool(
        Workspace.objects.filter(pk=post.workspace_id)
        .values_list("requires_approval", flat=True)
        .first()
    )


def lane_approvals_met(post: Post) -> bool:
    """True when the post's current version has every approval its lane requires (a lane
    without an approval stage requires none). Reads only: a post without workflow state yet
    is judged by the lane it would take."""
    wf = PostWorkflow.objects.filter(post=post).first()
    lane = wf.lane if wf is not None else services.lane_for(post)[0]
    required = [s for s in services.path_for(post, lane) if s.is_approval]
    version = post.latest_version
    if version is None:
        return False
    return all(approval_state(post, stage, version).met for stage in required)


def is_approved(post: Post) -> bool:
    """True when the workspace does not require approval, or the post's current version has
    every approval its lane requires."""
    return not _workspace_requires_approval(post) or lane_approvals_met(post)


def record_approval(post: Post, actor: User | None = None) -> bool:
    """Write the fact the publishing engine reads (``Post.approved_version``): the current
    version when its lane's approvals are met, else nothing. When it is approved, deliveries
    waiting for approval go on schedule if their time is still ahead
    (``publishing.services.resume_after_approval``); when it is not, scheduled ones wait
    again (``hold_for_approval``, only while the workspace's gate is on). Returns whether the
    post is approved now."""
    from socialdesk.publishing.services import hold_for_approval, resume_after_approval

    version = post.latest_version
    if version is None:
        return False
    if not lane_approvals_met(post):
        hold_for_approval(post, actor)  # its scheduled deliveries wait again, when gated
        return False
    if post.approved_version_id != version.pk:
        Post.objects.filter(pk=post.pk).update(approved_version=version)
        post.approved_version = version
    resume_after_approval(post, actor)
    return True


def _client_stage(post: Post) -> Stage:
    found = [s for s in services.stages(post.workspace_id) if s.kind == StageKind.CLIENT_APPROVAL]
    if not found:
        raise ValidationError(
            {"decision": ["This workspace's workflow has no client approval stage."]}
        )
    return found[0]


def can_decide(user: User, stage: Stage, post: Post) -> None:
    """Raise PermissionDenied unless ``user`` may decide in ``stage`` on ``post``."""
    role = services.role_of(user, post.workspace_id)
    if role is None:
        raise PermissionDenied("Only members of this workspace decide on its posts.")
    named = {u.pk for u in stage.approvers.all()}
    if stage.kind == StageKind.CLIENT_APPROVAL:
        allowed = role in (Role.CLIENT, *LEADS) or user.pk in named
    else:
        allowed = user.pk in named or role in LEADS or (not named and role == stage.owner_role)
    if not allowed:
        raise PermissionDenied(f"You are not an approver of “{stage}”.")


def decide(
    post: Post,
    decision: str,
    *,
    comment: str = "",
    user: User | None = None,
    review_link: Any = None,
    request: HttpRequest | None = None,
) -> Decision:
    """Record an approval decision on the post's current version.

    ``decision`` is "approve" or "request_changes" (which needs a comment). With
    ``user=None`` and ``review_link`` set, a client decides through a review link: the
    decision counts for the client approval stage. Otherwise the post must be in an approval
    stage and ``user`` one of its approvers, not the post's creator (unless the workspace
    allows self-approval). The decision is audited and announced; when the stage's rule is
    then met the post moves on to the next stage, and on "request changes" it goes back to
    the rework stage (Draft by default).
    """
    if decision not in DecisionKind.values:
        raise ValidationError({"decision": ["Decide “approve” or “request_changes”."]})
    comment = (comment or "").strip()
    if decision == DecisionKind.REQUEST_CHANGES and not comment:
        raise ValidationError(
            {"comment": ["Say what to change: requesting changes needs a comment."]}
        )
    version = post.latest_version
    if version is None:
        raise ValidationError({"decision": ["This post has no content to decide on yet."]})
    wf = services.workflow_of(post)
    via = ""
    if user is None:
        if review_link is None:
            raise PermissionDenied("A decision needs a person or a review link.")
        stage = _client_stage(post)
        label = str(review_link)
        via = f"review link #{review_link.pk}" + (f" ({label})" if label else "")
    else:
        stage = wf.stage
        if not stage.is_approval:
            raise ValidationError(
                {"decision": [f"This post is in “{stage}”, not in an approval stage."]}
            )
        can_decide(user, stage, post)
        settings = services.settings_for(post.workspace_id)
        if (
            decision == DecisionKind.APPROVE
            and post.author_id == user.pk
            and not settings.allow_self_approval
        ):
            raise PermissionDenied(
                "You created this post, so someone else must approve it "
                "(this workspace does not allow self-approval)."
            )
    with transaction.atomic():
        made = Decision.objects.create(
            workspace_id=post.workspace_id,
            post=post,
            version=version,
            stage=stage,
            decision=decision,
            comment=comment,
            user=user,
            review_link_id=getattr(review_link, "pk", None),
            via=via[:200],
        )
        audit.record(
            post.workspace_id,
            f"approval.{decision}",
            actor=user,
            via=via,
            target=post,
            detail=f"{stage}, version {version.number}" + (f": {comment}" if comment else ""),
            request=request,
            data={"stage": stage.key, "version": version.number, "decision_id": made.pk},
        )
        wf.refresh_from_db()
        moved_to: Stage | None = None
        if wf.stage_id == stage.pk:
            if decision == DecisionKind.REQUEST_CHANGES:
                moved_to = services.rework_stage(post, wf)
            elif approval_state(post, stage, version).met:
                moved_to = services.next_stage(post, wf)
            if moved_to is not None:
                services.move(
                    post,
                    moved_to,
                    user=user,
                    via=via,
                    check=False,
                    request=request,
                    announce=False,
                )
        if decision == DecisionKind.APPROVE:
            record_approval(post, user)
        transaction.on_commit(lambda: _announce(post, made, moved_to, review_link))
    return made


def _announce(post: Post, made: Decision, moved_to: Stage | None, review_link: Any) -> None:
    """Tell each person about one decision once: the author what was decided; for a client's
    decision through a review link, the owners and managers too; then whoever the stage the
    post moved to needs, unless told already."""
    from socialdesk.notifications.services import notify, people_with_role

    workspace = Workspace.objects.get(pk=post.workspace_id)
    url = f"/w/{workspace.slug}/posts/{post.pk}/"
    told: set[int] = set()
    author = [post.author] if post.author_id else []
    if review_link is not None:
        verb = "approved" if made.decision == DecisionKind.APPROVE else "asked for changes on"
        team = people_with_role(workspace, Role.OWNER, Role.MANAGER) + author
        told |= {
            n.recipient_id
            for n in notify(
                workspace,
                team,
                "review.client_action",
                f"{getattr(review_link, 'name', '') or review_link} (client) {verb} “{post}”",
                body=made.comment[:280],
                url=url,
                target=post,
            )
        }
    elif made.decision == DecisionKind.REQUEST_CHANGES:
        told |= {
            n.recipient_id
            for n in notify(
                workspace,
                author,
                "approval.changes_requested",
                f"Changes requested on {post}",
                body=made.comment,
                url=url,
                actor=made.user,
                target=post,
            )
        }
    else:
        told |= {
            n.recipient_id
            for n in notify(
                workspace,
                author,
                "post.approved",
                f"{made.who} approved {post}",
                url=url,
                actor=made.user,
                target=post,
            )
        }
    if made.user is not None:
        told.add(made.user.pk)
    if moved_to is not None:
        back = made.decision == DecisionKind.REQUEST_CHANGES
        services.announce_stage(post, moved_to, made.user, skip=told, back=back)
