"""Workflow history for the demo workspace, so the board, My work and the health page show
real figures: every published post went through the stages with decisions on its version;
planned posts sit in the stages they would be in, some of them late."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db.models import Min

from socialdesk.content.models import Label, Post
from socialdesk.workspaces.models import User, Workspace
from socialdesk.workspaces.roles import Role

from . import audit, services
from .approvals import record_approval
from .models import Decision, DecisionKind, PostWorkflow, StageVisit

# Share of a post's cycle spent in each stage, by stage key (the rest is waiting in Ready).
SHARES = {
    "idea": 0.30,
    "draft": 0.25,
    "review": 0.15,
    "approval": 0.10,
    "client-approval": 0.10,
    "ready": 0.10,
}
# Where the planned posts wait, in turn.
OPEN_STAGES = ["idea", "draft", "review", "approval", "draft", "review", "idea"]


def build(workspace: Workspace, users: dict[Role, User], now: datetime) -> None:
    """Write the history directly (the demo's past did not happen through the services)."""
    settings = services.settings_for(workspace)
    settings.banned_phrases = ["best in town", "cheapest"]
    settings.hashtag_max = 4
    settings.length_bounds = {"bluesky": [None, 300]}
    settings.save()
    Label.objects.get_or_create(workspace=workspace, name="legal")
    stages = services.stages(workspace)
    by_key = {s.key: s for s in stages}
    by_key["approval"].approvers.set([users[Role.APPROVER], users[Role.MANAGER]])
    posts = list(
        Post.objects.filter(workspace=workspace)
        .annotate(
            published=Min("deliveries__published_at"), planned=Min("deliveries__scheduled_at")
        )
        .order_by("created_at", "id")
    )
    assignees = {
        "idea": users[Role.CREATOR],
        "draft": users[Role.CREATOR],
        "review": users[Role.MANAGER],
        "approval": users[Role.APPROVER],
        "client-approval": users[Role.CLIENT],
        "ready": users[Role.MANAGER],
    }
    waiting = 0
    for index, post in enumerate(posts):
        lane, reasons = services.lane_for(post, settings)
        path = services.path_for(post, lane, stages)
        if post.published is not None:
            cycle = timedelta(days=8 + (index * 5) % 23, hours=index * 3 % 11)
            _history(
                post,
                path,
                lane,
                reasons,
                post.published - cycle,
                post.published,
                assignees,
                users,
                index,
                closed=True,
            )
        else:
            key = OPEN_STAGES[waiting % len(OPEN_STAGES)]
            waiting += 1
            if post.planned is not None and post.planned - now < timedelta(days=2):
                key = "ready"  # due soon: approved, so it goes out while a person watches
            target = by_key[key] if by_key[key] in path else path[0]
            upto = path[: path.index(target) + 1]
            publish = post.planned or now + timedelta(days=10)
            started = min(now - timedelta(days=3 + index % 9), publish - timedelta(days=1))
            _history(
                post,
                upto,
                lane,
                reasons,
                started,
                now - timedelta(hours=index + 2),
                assignees,
                users,
                index,
                closed=False,
                publish=publish,
                full_path=path,
            )
    for post in posts:
        _record_facts(post)
    audit.record(workspace, "demo.workflow_built", via="system: demo", detail=f"{len(posts)} posts")


def _record_facts(post: Post) -> None:
    """The facts publishing reads, as the services would have written them: the lane, and
    the approval (which puts an approved post's waiting deliveries on schedule)."""
    wf = PostWorkflow.objects.get(post=post)
    Post.objects.filter(pk=post.pk).update(fast_lane=wf.lane == "fast")
    post.refresh_from_db(fields=["fast_lane"])
    record_approval(post)


def plan_ready(post: Post, users: dict[Role, User], now: datetime) -> None:
    """Give a post planned again by a kept demo the history of one that passed its approvals
    and waits in Ready, so it goes out at its time."""
    settings = services.settings_for(post.workspace_id)
    stages = services.stages(post.workspace_id)
    lane, reasons = services.lane_for(post, settings)
    path = services.path_for(post, lane, stages)
    ready = next((s for s in path if s.key == "ready"), path[-1])
    assignees = {"approval": users[Role.APPROVER], "client-approval": users[Role.CLIENT]}
    upto = path[: path.index(ready) + 1]
    start = now - timedelta(days=2)
    _history(
        post, upto, lane, reasons, start, now, assignees, users, 0, closed=False, full_path=path
    )
    _record_facts(post)


def _history(
    post: Post,
    path: list,
    lane: str,
    reasons: list[str],
    start: datetime,
    end: datetime,
    assignees: dict[str, User],
    users: dict[Role, User],
    index: int,
    *,
    closed: bool,
    publish: datetime | None = None,
    full_path: list | None = None,
) -> None:
    full_path = full_path or path
    publish = publish or end
    total = end - start
    weights = [SHARES.get(s.key, 0.1) for s in path]
    scale = sum(weights)
    moment = start
    version = post.latest_version
    visits = []
    for position, stage in enumerate(path):
        is_last = position == len(path) - 1
        left = None if (is_last and not closed) else moment + total * (weights[position] / scale)
        if is_last and closed:
            left = end
        due, compressed = services.deadline(stage, full_path, start, publish)
        # Every third post ran late in review or approval, so overdue figures are not all zero.
        if (
            left is not None
            and due is not None
            and index % 3 == 0
            and stage.key in {"review", "approval"}
        ):
            due = left - timedelta(hours=20)
        visits.append(
            StageVisit(
                workspace_id=post.workspace_id,
                post=post,
                stage=stage,
                entered_at=moment,
                left_at=left,
                due_at=due,
                compressed=compressed,
                assignee=assignees.get(stage.key),
            )
        )
        if stage.is_approval and left is not None and version is not None:
            decider = users[Role.CLIENT] if stage.key == "client-approval" else users[Role.APPROVER]
            if decider.pk != post.author_id:
                Decision.objects.create(
                    workspace_id=post.workspace_id,
                    post=post,
                    version=version,
                    stage=stage,
                    decision=DecisionKind.APPROVE,
                    user=decider,
                    created_at=left,
                )
        moment = left or moment
    StageVisit.objects.bulk_create(visits)
    PostWorkflow.objects.create(
        workspace_id=post.workspace_id,
        post=post,
        stage=path[-1],
        lane=lane,
        lane_reasons=reasons,
        entered_at=visits[-1].entered_at,
        created_at=start,
    )
