"""Stages, lanes, deadlines, the definition of done, and moving a post between stages.

Every write goes through a function here (``move``, ``tick``, ``assign``, ``save_stage``);
views, the API, tasks and the demo call them. Bad input raises ``ValidationError`` with a
message that says what to fix; a role that may not act raises ``PermissionDenied``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from urllib.parse import parse_qs, urlsplit

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F, Min, Q
from django.http import HttpRequest
from django.utils import timezone

from socialdesk.content.models import MediaKind, Post
from socialdesk.publishing.models import Delivery, DeliveryState
from socialdesk.workspaces.models import Membership, User, Workspace
from socialdesk.workspaces.roles import Role, role_can

from . import audit, voice
from .models import (
    CHECKS,
    Assignment,
    CampaignRisk,
    Decision,
    DecisionKind,
    Lane,
    ManualTick,
    PostWorkflow,
    Stage,
    StageKind,
    StageLanes,
    StageVisit,
    WorkflowSettings,
)

# The default workflow, after the ten-step content cycle agencies use: (key, name, kind,
# owner role, lanes, start days before publishing, due days before, checks, manual items).
DEFAULT_STAGES = [
    ("idea", "Idea", StageKind.WORK, Role.CREATOR, StageLanes.BOTH, 56, 28, [], []),
    (
        "draft",
        "Draft",
        StageKind.WORK,
        Role.CREATOR,
        StageLanes.BOTH,
        42,
        14,
        ["text_present", "alt_text", "utm", "brand_voice"],
        [],
    ),
    (
        "review",
        "Review",
        StageKind.WORK,
        Role.MANAGER,
        StageLanes.BOTH,
        28,
        14,
        ["text_present", "network_rules", "brand_voice"],
        ["Copy proofread"],
    ),
    (
        "approval",
        "Approval",
        StageKind.APPROVAL,
        Role.APPROVER,
        StageLanes.BOTH,
        28,
        7,
        ["approved"],
        [],
    ),
    (
        "client-approval",
        "Client approval",
        StageKind.CLIENT_APPROVAL,
        Role.CLIENT,
        StageLanes.STRICT,
        28,
        7,
        ["approved"],
        [],
    ),
    # Ready: scheduled and waiting; done when it is published, so due on the publish date.
    ("ready", "Ready", StageKind.WORK, Role.MANAGER, StageLanes.BOTH, 28, 0, [], []),
]

DEFAULT_RISKY_LABELS = ["legal", "crisis"]
DEFAULT_RISKY_KEYWORDS = [
    "cure",
    "cures",
    "clinically proven",
    "guaranteed",
    "weight loss",
    "risk-free",
    "investment",
    "returns",
    "financial advice",
]

Actor = User | None


# --- Stages and settings --------------------------------------------------------------------


def stages(workspace: Workspace | int) -> list[Stage]:
    """The workspace's stages in order, creating the default workflow on first use."""
    workspace_id = workspace if isinstance(workspace, int) else workspace.pk
    found = list(Stage.objects.filter(workspace_id=workspace_id).order_by("position", "id"))
    if found:
        return found
    try:
        with transaction.atomic():
            for position, row in enumerate(DEFAULT_STAGES):
                key, name, kind, role, lanes, start, due, checks, manual = row
                Stage.objects.create(
                    workspace_id=workspace_id,
                    key=key,
                    name=name,
                    position=position,
                    kind=kind,
                    owner_role=role,
                    lanes=lanes,
                    start_days_before=start,
                    due_days_before=due,
                    checks=list(checks),
                    manual_items=list(manual),
                )
    except IntegrityError:
        pass  # another request created them at the same moment
    return list(Stage.objects.filter(workspace_id=workspace_id).order_by("position", "id"))


def settings_for(workspace: Workspace | int) -> WorkflowSettings:
    workspace_id = workspace if isinstance(workspace, int) else workspace.pk
    found = WorkflowSettings.objects.filter(workspace_id=workspace_id).first()
    if found is not None:
        return found
    try:
        with transaction.atomic():
            return WorkflowSettings.objects.create(
                workspace_id=workspace_id,
                risky_labels=list(DEFAULT_RISKY_LABELS),
                risky_keywords=list(DEFAULT_RISKY_KEYWORDS),
            )
    except IntegrityError:
        return WorkflowSettings.objects.get(workspace_id=workspace_id)


def role_of(user: User | None, workspace_id: int) -> str | None:
    if user is None or not user.is_authenticated:
        return None
    membership = Membership.objects.filter(workspace_id=workspace_id, user=user).first()
    return membership.role if membership else None


# --- Lanes ----------------------------------------------------------------------------------


def lane_for(post: Post, settings: WorkflowSettings | None = None) -> tuple[str, list[str]]:
    """The post's lane and the reasons it is strict (empty for the fast lane)."""
    labels = [label.name for label in post.labels.all()]
    return lane_of(post.workspace_id, post.text, labels, post.campaign_id, settings)


def lane_of(
    workspace_id: int,
    text: str,
    label_names: list[str],
    campaign_id: int | None,
    settings: WorkflowSettings | None = None,
) -> tuple[str, list[str]]:
    """``lane_for`` of content that may not be saved yet (the composer's live checks)."""
    settings = settings or settings_for(workspace_id)
    reasons: list[str] = []
    risky = {name.strip().lower() for name in settings.risky_labels}
    for name in label_names:
        if name.strip().lower() in risky:
            reasons.append(f"Label “{name}” is high-risk.")
    for keyword in settings.risky_keywords:
        if keyword.strip() and voice._contains(text, keyword):
            reasons.append(f"Mentions “{keyword}” (a health or financial claim).")
    if campaign_id is not None:
        risk = CampaignRisk.objects.filter(campaign_id=campaign_id, regulated=True).first()
        if risk is not None:
            reasons.append(f"Campaign “{risk.campaign}” is regulated.")
    return (Lane.STRICT if reasons else Lane.FAST), reasons


def path_for(post: Post, lane: str, all_stages: list[Stage] | None = None) -> list[Stage]:
    """The stages a post in ``lane`` goes through, in order.

    The strict lane takes every stage; the fast lane skips strict-only stages (client
    approval by default), and a rapid-response author's fast-lane post skips approval too.
    """
    all_stages = all_stages if all_stages is not None else stages(post.workspace_id)
    if lane == Lane.STRICT:
        return list(all_stages)
    path = [s for s in all_stages if s.lanes == StageLanes.BOTH]
    settings = settings_for(post.workspace_id)
    author_role = None
    if post.author_id is not None:
        author_role = (
            Membership.objects.filter(workspace_id=post.workspace_id, user_id=post.author_id)
            .values_list("role", flat=True)
            .first()
        )
    if author_role and author_role in settings.rapid_response_roles:
        path = [s for s in path if not s.is_approval]
    return path


# --- A post's workflow ----------------------------------------------------------------------


def publish_at(post: Post) -> datetime | None:
    """The publish date deadlines count back from: the earliest planned or actual time."""
    return publish_times([post.pk]).get(post.pk)


def publish_times(post_ids: list[int]) -> dict[int, datetime]:
    """``publish_at`` for many posts in one query (posts without a time are left out)."""
    rows = (
        Delivery.objects.filter(post_id__in=post_ids)
        .exclude(state=DeliveryState.CANCELLED)
        .values("post_id")
        .annotate(planned=Min("scheduled_at"), published=Min("published_at"))
    )
    times = {row["post_id"]: row["published"] or row["planned"] for row in rows}
    return {post_id: when for post_id, when in times.items() if when is not None}


def deadline(
    stage: Stage, path: list[Stage], started: datetime, publish: datetime | None
) -> tuple[datetime | None, bool]:
    """When ``stage`` is due for a post started at ``started`` and published at ``publish``,
    and whether the deadline is compressed (the post was planned closer than the cycle)."""
    if publish is None:
        return None, False
    span = max((s.start_days_before for s in path), default=0)
    offset = timedelta(days=stage.due_days_before)
    available = publish - started
    if span > 0 and available < timedelta(days=span):
        factor = max(available, timedelta()) / timedelta(days=span)
        return publish - offset * factor, True
    return publish - offset, False


def assignee_for(post: Post, stage: Stage) -> User | None:
    found = Assignment.objects.filter(post=post, stage=stage).select_related("assignee").first()
    return found.assignee if found else None


def _open_visit(
    post: Post, stage: Stage, path: list[Stage], started: datetime, now: datetime
) -> StageVisit:
    due, compressed = deadline(stage, path, started, publish_at(post))
    return StageVisit.objects.create(
        workspace_id=post.workspace_id,
        post=post,
        stage=stage,
        entered_at=now,
        due_at=due,
        compressed=compressed,
        assignee=assignee_for(post, stage),
    )


def workflow_of(post: Post, now: datetime | None = None) -> PostWorkflow:
    """The post's workflow state, created on first use (posts from before the workflow
    existed start in the first stage), with its lane brought up to date."""
    now = now or timezone.now()
    wf = PostWorkflow.objects.filter(post=post).select_related("stage").first()
    lane, reasons = lane_for(post)
    if wf is None:
        path = path_for(post, lane)
        try:
            with transaction.atomic():
                wf = PostWorkflow.objects.create(
                    workspace_id=post.workspace_id,
                    post=post,
                    stage=path[0],
                    lane=lane,
                    lane_reasons=reasons,
                    entered_at=now,
                    created_at=post.created_at or now,
                )
                _open_visit(post, path[0], path, wf.created_at, now)
        except IntegrityError:
            wf = PostWorkflow.objects.select_related("stage").get(post=post)
        _record_lane(post, lane)
        return wf
    if wf.lane != lane or wf.lane_reasons != reasons:
        wf.lane, wf.lane_reasons = lane, reasons
        wf.save(update_fields=["lane", "lane_reasons"])
        _record_lane(post, lane)
        # Another lane may need other approvals: the approval fact is judged again.
        Post.objects.filter(pk=post.pk).update(approved_version=None)
        from .approvals import record_approval

        record_approval(post)
    return wf


def _record_lane(post: Post, lane: str) -> None:
    """Write the lane as the fact publishing reads (``Post.fast_lane``)."""
    fast = lane == Lane.FAST
    if post.fast_lane != fast:
        Post.objects.filter(pk=post.pk).update(fast_lane=fast)
        post.fast_lane = fast


def current_visit(post: Post) -> StageVisit | None:
    return StageVisit.objects.filter(post=post, left_at=None).order_by("-entered_at").first()


# --- Definition of done ---------------------------------------------------------------------

LINK = re.compile(r"https?://[^\s<>\"')\]]+")
UTM_KEYS = ("utm_source", "utm_medium", "utm_campaign")


@dataclass
class Item:
    """One item of a stage's checklist."""

    key: str
    label: str
    ok: bool
    problems: list[str] = field(default_factory=list)
    manual: bool = False

    @property
    def message(self) -> str:
        text = self.label
        if self.problems:
            text += ": " + " ".join(self.problems)
        return text


def link_problems(text: str) -> list[str]:
    problems = []
    for url in LINK.findall(text):
        query = parse_qs(urlsplit(url.rstrip(".,;:!?")).query)
        missing = [key for key in UTM_KEYS if not query.get(key)]
        if missing:
            problems.append(f"{url} lacks {', '.join(missing)}.")
    return problems


def _check(key: str, post: Post, stage: Stage) -> Item:
    label = CHECKS.get(key, key)
    problems: list[str] = []
    if key == "text_present":
        if not post.text.strip():
            problems.append("The post has no text yet.")
    elif key == "alt_text":
        for asset in post.media.all():
            if asset.kind != MediaKind.VIDEO and not asset.alt_text.strip():
                problems.append(f"Describe {asset} in its alt text.")
    elif key == "utm":
        texts = [post.text] + [d.text_override for d in post.deliveries.all()]
        for text in texts:
            problems.extend(link_problems(text))
    elif key == "network_rules":
        from socialdesk.publishing.checks import content_problems

        deliveries = list(post.deliveries.exclude(state=DeliveryState.CANCELLED))
        if not deliveries:
            problems.append("Choose at least one channel.")
        for delivery in deliveries:
            for messages in content_problems(delivery).values():
                problems.extend(messages)
    elif key == "brand_voice":
        problems.extend(voice.post_problems(post, settings_for(post.workspace_id)))
    elif key == "approved":
        from .approvals import approval_state

        state = approval_state(post, stage)
        if not state.met:
            problems.append(state.summary)
    return Item(key=key, label=label, ok=not problems, problems=problems)


def checklist(post: Post, stage: Stage) -> list[Item]:
    """The stage's definition of done for ``post``: automatic checks, then manual ticks."""
    items = [_check(key, post, stage) for key in stage.checks]
    ticked = set(ManualTick.objects.filter(post=post, stage=stage).values_list("item", flat=True))
    for name in stage.manual_items:
        done = name in ticked
        items.append(
            Item(
                key=f"manual:{name}",
                label=name,
                ok=done,
                problems=[] if done else ["Not ticked yet."],
                manual=True,
            )
        )
    return items


# Roles that run the team: they may tick any stage's manual items (as they may decide in any
# approval stage, ``approvals.LEADS``).
LEADS = (Role.OWNER, Role.MANAGER)


def _with_article(word: str) -> str:
    return ("an " if word[:1] in "aeiou" else "a ") + word


def tickers(stage: Stage) -> str:
    """Who ticks ``stage``'s manual items, in words: "a manager or an owner"."""
    roles = [Role(stage.owner_role).label.lower()]
    roles += [r.label.lower() for r in LEADS if r.value != stage.owner_role]
    named = [_with_article(role) for role in roles]
    return ", ".join(named[:-1]) + " or " + named[-1] if len(named) > 1 else named[0]


def tick_refusal(user: Actor, post: Post, stage: Stage) -> str | None:
    """Why ``user`` may not tick ``stage``'s manual items on ``post`` (None: they may).

    A manual item is someone's word that a thing was done ("Copy proofread"), so it is given by
    a member with the stage's owner role (or a manager or an owner, who run the team), and not
    by the post's author on their own post, unless the workspace allows self-approval (a team
    of one would otherwise wait for nobody). Unticking is not restricted: it only asks for the
    thing to be done again."""
    if user is None:
        return None  # the workflow's own writes
    role = role_of(user, post.workspace_id)
    if role is None:
        return "Only members of this workspace tick its checklists."
    if post.author_id == user.pk and not settings_for(post.workspace_id).allow_self_approval:
        return (
            f"You wrote this post, so someone else ticks the items of “{stage}”: {tickers(stage)}."
        )
    if role != stage.owner_role and role not in LEADS:
        return f"The items of “{stage}” are ticked by {tickers(stage)}."
    return None


def tick(post: Post, stage: Stage, item: str, done: bool, user: Actor) -> None:
    """Tick (or untick) one manual item of ``stage`` for ``post``; ticking is for the people
    ``tick_refusal`` allows (``PermissionDenied`` otherwise)."""
    if item not in stage.manual_items:
        names = ", ".join(f"“{name}”" for name in stage.manual_items) or "none"
        raise ValidationError(
            {"item": [f"“{item}” is not a manual item of {stage}; its items: {names}."]}
        )
    if done and (refusal := tick_refusal(user, post, stage)):
        raise PermissionDenied(refusal)
    with transaction.atomic():
        if done:
            ManualTick.objects.get_or_create(
                workspace_id=post.workspace_id,
                post=post,
                stage=stage,
                item=item,
                defaults={"ticked_by": user},
            )
        else:
            ManualTick.objects.filter(post=post, stage=stage, item=item).delete()
        audit.record(
            post.workspace_id,
            "checklist.tick" if done else "checklist.untick",
            actor=user,
            target=post,
            detail=f"{stage}: {item}",
        )


# --- Moving between stages -------------------------------------------------------------------


class MoveRefused(ValidationError):
    """The checklist of a stage the post would leave fails; ``failing`` names each item."""

    def __init__(self, failing: list[tuple[Stage, Item]]):
        self.failing = failing
        messages = [f"{stage}: {item.message}" for stage, item in failing]
        super().__init__({"checklist": messages})


def failing_items(post: Post, path: list[Stage], current: Stage, target: Stage) -> list:
    """Failing checklist items of every stage from ``current`` up to (not incl.) ``target``."""
    ids = [s.pk for s in path]
    start, end = ids.index(current.pk), ids.index(target.pk)
    failing: list[tuple[Stage, Item]] = []
    for stage in path[start:end]:
        failing.extend((stage, item) for item in checklist(post, stage) if not item.ok)
    return failing


def move(
    post: Post,
    target: Stage,
    *,
    user: Actor,
    override_reason: str | None = None,
    request: HttpRequest | None = None,
    now: datetime | None = None,
    via: str = "",
    check: bool = True,
    announce: bool = True,
) -> PostWorkflow:
    """Move ``post`` to stage ``target``.

    ``announce=False``: the caller tells people itself (an approval decision tells each
    person once, the move included: ``approvals._announce``).

    Moving forward needs the checklist of every stage left behind to pass; otherwise
    ``MoveRefused`` names each failing item. A manager or owner may override with a written
    reason (``override_reason``), which is recorded on the visit and in the audit log. Moving
    back is always allowed. ``check=False`` is for the workflow's own moves (an approval
    completing a stage, a content change reopening approval).
    """
    now = now or timezone.now()
    if target.workspace_id != post.workspace_id:
        raise ValidationError({"stage": ["No such stage in this workspace."]})
    overriding = override_reason is not None
    if overriding:
        override_reason = (override_reason or "").strip()
        if not override_reason:
            raise ValidationError(
                {"reason": ["Write why you override the checklist; the reason is recorded."]}
            )
        role = role_of(user, post.workspace_id)
        if role is None or not role_can(role, "workflow.override"):
            raise PermissionDenied("Only a manager or an owner can override a checklist.")
    with transaction.atomic():
        wf = workflow_of(post, now)
        wf = PostWorkflow.objects.select_for_update().select_related("stage").get(pk=wf.pk)
        path = path_for(post, wf.lane)
        if target.pk not in [s.pk for s in path]:
            lane = wf.get_lane_display().lower()
            raise ValidationError(
                {"stage": [f"A post in the {lane} does not go through “{target}”."]}
            )
        current = wf.stage
        if current.pk not in [s.pk for s in path]:
            current = path[0]  # its stage left the lane's path (lane changed): start over
        if current.pk == target.pk and wf.stage_id == target.pk:
            return wf
        positions = [s.pk for s in path]
        forward = positions.index(target.pk) > positions.index(current.pk)
        failing = failing_items(post, path, current, target) if (forward and check) else []
        if failing and not overriding:
            raise MoveRefused(failing)
        StageVisit.objects.filter(post=post, left_at=None).update(
            left_at=now, overridden=bool(failing)
        )
        _open_visit(post, target, path, wf.created_at, now)
        wf.stage, wf.entered_at = target, now
        wf.save(update_fields=["stage", "entered_at"])
        detail = f"{current} → {target}"
        data = {"from": current.key, "to": target.key}
        if failing:
            data["failing"] = [f"{s}: {i.message}" for s, i in failing]
            data["reason"] = override_reason
            audit.record(
                post.workspace_id,
                "override",
                actor=user,
                target=post,
                detail=f"{detail}; reason: {override_reason}; failing: "
                + "; ".join(data["failing"]),
                request=request,
                data=data,
                via=via,
            )
        audit.record(
            post.workspace_id,
            "post.stage_moved",
            actor=user,
            target=post,
            detail=detail,
            request=request,
            data=data,
            via=via,
        )
        if announce:
            transaction.on_commit(lambda: announce_stage(post, target, user, back=not forward))
    return wf


def announce_stage(
    post: Post, stage: Stage, actor: Actor, skip: set[int] | None = None, *, back: bool = False
) -> None:
    """Tell the people the new stage needs (after the move has committed), except ``skip``
    (ids of people told about the same event already). ``back``: the post moved back to an
    earlier stage, and the notification says so."""
    from socialdesk.notifications.services import notify, people_with_role

    workspace = Workspace.objects.get(pk=post.workspace_id)
    assignee = assignee_for(post, stage)
    url = f"/w/{workspace.slug}/posts/{post.pk}/"
    if stage.is_approval:
        from .approvals import eligible_approvers

        people = [assignee] if assignee else eligible_approvers(stage, post)
        event = "approval.requested"
        title = f"Approval requested: {post}"
    elif stage.key == "ready" or stage == stages(workspace)[-1]:
        people = [p for p in [post.author, assignee] if p is not None]
        event, title = "post.ready", f"Ready to publish: {post}"
    else:
        people = [assignee] if assignee else people_with_role(workspace, stage.owner_role)
        moved = "moved back to" if back else "moved to"
        event, title = "post.submitted", f"{post} {moved} {stage}"
    people = [p for p in people if p is not None and p.pk not in (skip or set())]
    notify(workspace, people, event, title, url=url, actor=actor, target=post)


def next_stage(post: Post, wf: PostWorkflow) -> Stage | None:
    path = path_for(post, wf.lane)
    ids = [s.pk for s in path]
    if wf.stage_id not in ids:
        return path[0]
    index = ids.index(wf.stage_id)
    return path[index + 1] if index + 1 < len(path) else None


def rework_stage(post: Post, wf: PostWorkflow) -> Stage:
    """Where a post goes when changes are requested: the last work stage owned by creators
    before the first approval stage (Draft in the default workflow)."""
    path = path_for(post, wf.lane)
    candidates = []
    for stage in path:
        if stage.is_approval:
            break
        candidates.append(stage)
    creators = [s for s in candidates if s.owner_role == Role.CREATOR]
    return (creators or candidates or path)[-1]


def content_changed(version: object) -> None:
    """A new version of a post's content: approvals of earlier versions no longer count, so a
    post past its first approval stage goes back to it (moving only the time makes no new
    version, so it keeps its approvals)."""
    post = version.post  # type: ignore[attr-defined]
    wf = PostWorkflow.objects.filter(post=post).select_related("stage").first()
    if wf is None:
        return
    path = path_for(post, wf.lane)
    ids = [s.pk for s in path]
    first_approval = next((s for s in path if s.is_approval), None)
    if first_approval is None or wf.stage_id not in ids:
        return
    if ids.index(wf.stage_id) <= ids.index(first_approval.pk):
        return
    move(post, first_approval, user=None, check=False, via="system: content changed")
    audit.record(
        post.workspace_id,
        "approval.reset",
        target=post,
        via="system: content changed",
        detail=f"Version {version.number} changed the content; approvals of earlier "  # type: ignore[attr-defined]
        "versions no longer count.",
    )


# --- Submitting in one step -------------------------------------------------------------------


def _waits(item: Item) -> bool:
    """True for an item only someone else can make pass: a manual tick, an approval."""
    return not item.ok and (item.manual or item.key == "approved")


@dataclass
class SubmitPlan:
    """Where "Submit for approval" takes a post: through ``passed`` (the stage it is in, then
    each stage whose checklist passes without anybody acting) to ``target``, the first stage
    where someone else must act (a manual item to tick, an approval to give) or the last one.
    ``failing`` names what the submitter must fix first (none: the submit goes through);
    ``waiting`` is what the people of ``target`` will do; ``resubmit`` the stage that asked
    for changes, when this is the answer to a change request."""

    target: Stage | None
    passed: list[Stage] = field(default_factory=list)
    failing: list[tuple[Stage, Item]] = field(default_factory=list)
    waiting: list[Item] = field(default_factory=list)
    resubmit: Stage | None = None

    @property
    def ok(self) -> bool:
        return self.target is not None and not self.failing

    @property
    def failing_messages(self) -> list[str]:
        return [f"{stage}: {item.message}" for stage, item in self.failing]

    @property
    def label(self) -> str:
        return "Resubmit" if self.resubmit is not None else "Submit for approval"

    waiting_text: str = ""
    # When the post already waits for someone else where it is (an approval to give, an item
    # only another person ticks): what, and who acts, in words.
    waiting_here: list[Item] = field(default_factory=list)
    waiting_here_text: str = ""


def who_acts(stage: Stage, waiting: list[Item], workspace_id: int, author_id: int | None) -> str:
    """What the people of ``stage`` do next, in words: "Léa Roux decides", "a manager or an
    owner ticks “Copy proofread”"."""
    from .approvals import required_approvers
    from .models import ApprovalRule, StageKind

    parts = []
    if any(item.key == "approved" for item in waiting):
        if stage.kind == StageKind.CLIENT_APPROVAL:
            parts.append("the client decides")
        else:
            people = required_approvers(stage)
            if not settings_for(workspace_id).allow_self_approval:
                people = [p for p in people if p.pk != author_id]
            names = [str(p) for p in people]
            if not names:
                parts.append(f"{_with_article(Role(stage.owner_role).label.lower())} decides")
            elif len(names) == 1:
                parts.append(f"{names[0]} decides")
            elif stage.approval_rule == ApprovalRule.ALL:
                parts.append(", ".join(names[:-1]) + f" and {names[-1]} decide")
            else:
                parts.append(", ".join(names[:-1]) + f" or {names[-1]} decides")
    manual = [f"“{item.label}”" for item in waiting if item.manual]
    if manual:
        parts.append(f"{tickers(stage)} ticks {' and '.join(manual)}")
    return "; ".join(parts)


def _walk(path: list[Stage], start: int, items_for) -> SubmitPlan:  # noqa: ANN001
    """Walk ``path`` from ``path[start]`` (where the post is) as ``submit`` does; ``items_for``
    gives a stage's checklist (of the saved post, or of the composer's unsaved content)."""
    plan = SubmitPlan(target=None)
    seen: set[tuple[str, str]] = set()

    def fail(stage: Stage, items: list[Item]) -> None:
        for item in items:
            # The same rule in two stages (brand voice in Draft and Review) is named once.
            if (item.key, item.message) not in seen:
                seen.add((item.key, item.message))
                plan.failing.append((stage, item))

    for index in range(start, len(path)):
        stage = path[index]
        items = items_for(stage)
        waiting = [i for i in items if _waits(i)]
        if index > start and (waiting or index == len(path) - 1):
            # Someone else acts here (or the workflow ends here): the submit lands. What the
            # submitter can fix here is asked for now, not left to the next person.
            fail(stage, [i for i in items if not i.ok and not _waits(i)])
            plan.target, plan.waiting = stage, waiting
            return plan
        if index == start:
            plan.waiting_here = waiting
        fail(stage, [i for i in items if not i.ok])
        plan.passed.append(stage)
    return plan


def _requesting_stage(post: Post, path: list[Stage], start: int) -> Stage | None:
    """The approval stage whose latest decision asked for changes, when the post is back
    before it (the rework after a change request)."""
    latest = Decision.objects.filter(post=post).order_by("-created_at", "-id").first()
    if latest is None or latest.decision != DecisionKind.REQUEST_CHANGES:
        return None
    ids = [s.pk for s in path]
    if latest.stage_id in ids and ids.index(latest.stage_id) > start:
        return path[ids.index(latest.stage_id)]
    return None


def submit_plan(post: Post, wf: PostWorkflow | None = None) -> SubmitPlan:
    """What ``submit`` would do now (the panel shows it before anyone presses the button)."""
    wf = wf or workflow_of(post)
    path = path_for(post, wf.lane)
    ids = [s.pk for s in path]
    start = ids.index(wf.stage_id) if wf.stage_id in ids else 0
    plan = _walk(path, start, lambda stage: checklist(post, stage))
    plan.resubmit = _requesting_stage(post, path, start)
    _describe(plan, path[start], post.workspace_id, post.author_id)
    return plan


def _describe(plan: SubmitPlan, here: Stage, workspace_id: int, author_id: int | None) -> None:
    if plan.target is not None:
        plan.waiting_text = who_acts(plan.target, plan.waiting, workspace_id, author_id)
    if plan.waiting_here:
        plan.waiting_here_text = who_acts(here, plan.waiting_here, workspace_id, author_id)


class SubmitRefused(MoveRefused):
    """``submit`` could not go through; ``failing`` names each item to fix first, ``plan``
    says where it would have gone (and whether the post waits for someone where it is)."""

    def __init__(self, plan: SubmitPlan):
        self.plan = plan
        super().__init__(plan.failing)


def submit(
    post: Post,
    *,
    user: Actor,
    request: HttpRequest | None = None,
    now: datetime | None = None,
) -> SubmitPlan:
    """Move ``post`` in one step to the first stage where someone else must act.

    From the post's stage, every stage whose checks all pass without anybody acting (the
    automatic checks pass, its manual items were ticked already, its approvals of this version
    were given) is passed; the post lands in the first stage with a manual item to tick (by
    its owner role, ``tick_refusal``) or an approval to give, or in the last stage. So after
    a change request the author's resubmission goes back to the approval stage that asked
    (the items ticked on the way the first time still count), not to the start.

    Refused with ``SubmitRefused`` naming every failing item of the stages passed and every
    automatic item of the landing stage (what the submitter can fix now); with a
    ``ValidationError`` when there is nowhere further to go. The move itself is ``move``'s
    (the same checks, audited and announced); a "post.submitted" or "post.resubmitted" event
    records the stages it went through."""
    with transaction.atomic():
        wf = workflow_of(post, now)
        wf = PostWorkflow.objects.select_for_update().select_related("stage").get(pk=wf.pk)
        plan = submit_plan(post, wf)
        if plan.target is None:
            raise ValidationError(
                {"stage": [f"“{post}” is in {wf.stage}, the last stage of its workflow."]}
            )
        if plan.failing:
            raise SubmitRefused(plan)
        move(post, plan.target, user=user, request=request, now=now)
        route = " → ".join(s.name for s in [*plan.passed, plan.target])
        audit.record(
            post.workspace_id,
            "post.resubmitted" if plan.resubmit is not None else "post.submitted",
            actor=user,
            target=post,
            detail=route,
            request=request,
            data={"through": [s.key for s in plan.passed], "to": plan.target.key},
        )
    return plan


# --- The composer's live checks ---------------------------------------------------------------


@dataclass
class Draft:
    """A post's content as the composer holds it, saved or not yet: what the live checks read.
    ``post`` is the saved post it edits (None for a new one), ``author`` who writes it."""

    workspace_id: int
    text: str = ""
    channels: list = field(default_factory=list)
    overrides: dict[int, str] = field(default_factory=dict)
    first_comments: dict[int, str] = field(default_factory=dict)
    thread: list[str] = field(default_factory=list)
    media: list = field(default_factory=list)
    label_ids: list[int] = field(default_factory=list)
    campaign_id: int | None = None
    post: Post | None = None
    author: User | None = None

    @property
    def networks(self) -> list[str]:
        return sorted({channel.network for channel in self.channels})

    def text_for(self, channel_id: int) -> str:
        return self.overrides.get(channel_id) or self.text


def _ids(values: list[str]) -> list[int]:
    return [int(v) for v in values if str(v).isdigit()]


def draft_from(
    workspace: Workspace, data, post: Post | None = None, author: User | None = None
) -> Draft:  # noqa: ANN001 - a QueryDict
    """The composer's fields (as it posts them) as a ``Draft``; ids outside the workspace are
    left out, as the form would refuse them."""
    from socialdesk.content.models import Label, MediaAsset
    from socialdesk.networks.models import Channel

    getlist = data.getlist
    channels = list(
        Channel.objects.filter(workspace=workspace, pk__in=_ids(getlist("channels"))).order_by(
            "network", "handle"
        )
    )
    media = []
    if post is not None:
        media = [a for a in post.media.order_by("id") if not data.get(f"remove_media_{a.pk}")]
    media += list(
        MediaAsset.objects.filter(workspace=workspace, pk__in=_ids(getlist("library"))).exclude(
            pk__in=[a.pk for a in media]
        )
    )
    campaign = data.get("campaign", "")
    label_ids = list(
        Label.objects.filter(workspace=workspace, pk__in=_ids(getlist("labels"))).values_list(
            "pk", flat=True
        )
    )
    clean = lambda value: str(value or "").replace("\x00", "")[:10_000]  # noqa: E731
    return Draft(
        workspace_id=workspace.pk,
        text=clean(data.get("text")),
        channels=channels,
        overrides={c.pk: clean(data.get(f"override_{c.pk}")) for c in channels},
        first_comments={c.pk: clean(data.get(f"first_comment_{c.pk}")) for c in channels},
        thread=[clean(data.get(f"thread_{n}")) for n in range(2, 5) if data.get(f"thread_{n}")],
        media=media,
        label_ids=label_ids,
        campaign_id=int(campaign) if str(campaign).isdigit() else None,
        post=post,
        author=author or (post.author if post is not None else None),
    )


def draft_of(post: Post) -> Draft:
    """A saved post as a ``Draft`` (what the editor shows before anything is typed)."""
    deliveries = list(
        post.deliveries.exclude(state=DeliveryState.CANCELLED).select_related("channel")
    )
    return Draft(
        workspace_id=post.workspace_id,
        text=post.text,
        channels=[d.channel for d in deliveries],
        overrides={d.channel_id: d.text_override for d in deliveries},
        first_comments={d.channel_id: d.first_comment for d in deliveries},
        thread=list(post.thread),
        media=list(post.media.order_by("id")),
        label_ids=[label.pk for label in post.labels.all()],
        campaign_id=post.campaign_id,
        post=post,
        author=post.author,
    )


def network_problems(draft: Draft) -> list[str]:
    """What each chosen channel's network refuses in the draft's texts: the composer's own
    length rules (``content.composer.length_problems``, the connectors' counting), in the
    words the editor uses when the post is saved."""
    from socialdesk.content.composer import length_problems

    problems: list[str] = []
    for channel in draft.channels:
        texts = {"text": draft.text_for(channel.pk)}
        texts.update({f"thread_{n}": part for n, part in enumerate(draft.thread, start=2)})
        texts["first_comment"] = draft.first_comments.get(channel.pk, "")
        for messages in length_problems(channel, texts).values():
            problems += [m for m in messages if m not in problems]
    return problems


def _draft_check(key: str, draft: Draft, stage: Stage, settings: WorkflowSettings) -> Item:
    """``_check`` of unsaved content: the same rules and words, read from the composer."""
    label = CHECKS.get(key, key)
    problems: list[str] = []
    if key == "text_present":
        if not draft.text.strip():
            problems.append("The post has no text yet.")
    elif key == "alt_text":
        for asset in draft.media:
            if asset.kind != MediaKind.VIDEO and not asset.alt_text.strip():
                problems.append(f"Describe {asset} in its alt text.")
    elif key == "utm":
        for text in [draft.text, *draft.overrides.values()]:
            problems.extend(p for p in link_problems(text) if p not in problems)
    elif key == "network_rules":
        if not draft.channels:
            problems.append("Choose at least one channel.")
        problems.extend(network_problems(draft))
    elif key == "brand_voice":
        required = voice.required_for(draft.workspace_id, draft.campaign_id, draft.label_ids)
        problems.extend(
            voice.text_problems(settings, draft.text, required=required, networks=draft.networks)
        )
    elif key == "approved":
        if draft.post is not None:
            return _check(key, draft.post, stage)
        problems.append("Waiting for an approval of the post.")
    return Item(key=key, label=label, ok=not problems, problems=problems)


def draft_checklist(draft: Draft, stage: Stage, settings: WorkflowSettings) -> list[Item]:
    """``checklist`` of the draft: its automatic checks on the unsaved content, the manual
    ticks of the saved post (none for a new one)."""
    items = [_draft_check(key, draft, stage, settings) for key in stage.checks]
    ticked: set[str] = set()
    if draft.post is not None:
        ticked = set(
            ManualTick.objects.filter(post=draft.post, stage=stage).values_list("item", flat=True)
        )
    for name in stage.manual_items:
        done = name in ticked
        problems = [] if done else ["Not ticked yet."]
        items.append(Item(f"manual:{name}", name, done, problems, manual=True))
    return items


@dataclass
class LiveChecks:
    """What the composer shows while one writes: ``problems``, every brand voice and network
    problem with whether scheduling refuses it (``blocking``: the workspace's forbidden
    wording, ``content.rules``, and the networks' lengths); and ``submit``, where "Submit for
    approval" would take the post and what it would ask for first."""

    blocking: list[str]
    problems: list[tuple[str, bool]]
    reading_grade: float
    submit: SubmitPlan
    stage: Stage | None = None


def live_checks(draft: Draft) -> LiveChecks:
    """The composer's live checks of ``draft`` (see ``LiveChecks``)."""
    from socialdesk.content import rules

    settings = settings_for(draft.workspace_id)
    forbidden = rules.checker(draft.workspace_id)
    blocking: list[str] = []
    for text, networks in [(draft.text, draft.networks)] + [
        (own, [c.network]) for c in draft.channels if (own := draft.overrides.get(c.pk))
    ]:
        blocking += [p for p in forbidden(text, networks) if p not in blocking]
    blocking += [p for p in network_problems(draft) if p not in blocking]
    required = voice.required_for(draft.workspace_id, draft.campaign_id, draft.label_ids)
    problems = voice.text_problems(settings, draft.text, required=required, networks=draft.networks)
    # The path and the stage it starts from: the saved post's, or the one a new post takes.
    post = draft.post
    start = 0
    current = None
    if post is not None:
        wf = workflow_of(post)
        path = path_for(post, wf.lane)
        ids = [s.pk for s in path]
        start = ids.index(wf.stage_id) if wf.stage_id in ids else 0
        current = wf.stage
    else:
        from socialdesk.content.models import Label

        names = list(Label.objects.filter(pk__in=draft.label_ids).values_list("name", flat=True))
        lane, _ = lane_of(draft.workspace_id, draft.text, names, draft.campaign_id, settings)
        unsaved = Post(workspace_id=draft.workspace_id, author=draft.author)
        path = path_for(unsaved, lane)
        current = path[0]
    plan = _walk(path, start, lambda stage: draft_checklist(draft, stage, settings))
    if post is not None:
        plan.resubmit = _requesting_stage(post, path, start)
    author_id = draft.author.pk if draft.author is not None else None
    _describe(plan, path[start], draft.workspace_id, author_id)
    listed = [(p, p in blocking) for p in problems]
    listed += [(p, True) for p in blocking if p not in problems]
    return LiveChecks(
        blocking=blocking,
        problems=listed,
        reading_grade=voice.reading_grade(draft.text),
        submit=plan,
        stage=current,
    )


def assign(post: Post, stage: Stage, assignee: User | None, user: Actor) -> None:
    """Make ``assignee`` (a member of the workspace) responsible for ``stage`` of ``post``."""
    if assignee is not None and role_of(assignee, post.workspace_id) is None:
        raise ValidationError({"assignee_id": ["This person is not a member of the workspace."]})
    with transaction.atomic():
        if assignee is None:
            Assignment.objects.filter(post=post, stage=stage).delete()
        else:
            Assignment.objects.update_or_create(
                post=post,
                stage=stage,
                defaults={"assignee": assignee, "workspace_id": post.workspace_id},
            )
        StageVisit.objects.filter(post=post, stage=stage, left_at=None).update(assignee=assignee)
        audit.record(
            post.workspace_id,
            "post.assigned",
            actor=user,
            target=post,
            detail=f"{stage}: {assignee or 'nobody'}",
        )


def refresh_deadlines(workspace: Workspace | int) -> int:
    """Recompute the due time of every open step (publish dates move); returns how many
    changed. Called by the board, My work and the reminders."""
    workspace_id = workspace if isinstance(workspace, int) else workspace.pk
    all_stages = stages(workspace_id)
    visits = list(
        StageVisit.objects.filter(workspace_id=workspace_id, left_at=None).select_related(
            "post", "stage"
        )
    )
    lanes = dict(
        PostWorkflow.objects.filter(workspace_id=workspace_id).values_list("post_id", "lane")
    )
    starts = dict(
        PostWorkflow.objects.filter(workspace_id=workspace_id).values_list("post_id", "created_at")
    )
    publishing = publish_times([visit.post_id for visit in visits])  # one query, not one a step
    changed = []
    for visit in visits:
        post = visit.post
        if post.pk not in lanes:
            continue
        path = path_for(post, lanes[post.pk], all_stages)
        due, compressed = deadline(visit.stage, path, starts[post.pk], publishing.get(post.pk))
        if due != visit.due_at or compressed != visit.compressed:
            visit.due_at, visit.compressed = due, compressed
            changed.append(visit)
    StageVisit.objects.bulk_update(changed, ["due_at", "compressed"])
    return len(changed)


def open_steps(workspace: Workspace | int, user: User | None = None):  # noqa: ANN201
    """Open stage visits (each post's current step), soonest deadline first; with ``user``,
    only the steps assigned to them or waiting for their decision."""
    workspace_id = workspace if isinstance(workspace, int) else workspace.pk
    visits = StageVisit.objects.filter(workspace_id=workspace_id, left_at=None).select_related(
        "post", "stage", "assignee"
    )
    if user is not None:
        role = role_of(user, workspace_id)
        mine = Q(assignee=user)
        unassigned_for_role = Q(assignee=None, stage__owner_role=role)
        approver = Q(stage__approvers=user)
        visits = visits.filter(mine | unassigned_for_role | approver).distinct()
    return visits.order_by(F("due_at").asc(nulls_last=True), "entered_at", "id")


# --- Stage configuration ----------------------------------------------------------------------

STAGE_FIELDS = [
    "name",
    "kind",
    "owner_role",
    "lanes",
    "start_days_before",
    "due_days_before",
    "checks",
    "manual_items",
    "approval_rule",
]


def save_stage(
    stage: Stage,
    user: Actor,
    approver_ids: list[int] | None = None,
    fields: list[str] | None = None,
) -> Stage:
    """Validate and save a stage (new or changed); its approvers must be members."""
    errors: dict[str, list[str]] = {}
    unknown = [c for c in stage.checks if c not in CHECKS]
    if unknown:
        errors["checks"] = [
            f"Unknown checks: {', '.join(unknown)}; choose from {', '.join(CHECKS)}."
        ]
    if not stage.name.strip():
        errors["name"] = ["Give the stage a name."]
    if stage.start_days_before < stage.due_days_before:
        errors["start_days_before"] = ["A stage starts before (or when) it is due."]
    if "approved" in stage.checks and not stage.is_approval:
        errors["checks"] = errors.get("checks", []) + [
            "Only approval stages can include the “approved” check."
        ]
    if len(set(stage.manual_items)) != len(stage.manual_items):
        errors["manual_items"] = ["Each manual item appears once."]
    approvers: list[User] = []
    if approver_ids is not None:
        approvers = list(
            User.objects.filter(pk__in=approver_ids, memberships__workspace_id=stage.workspace_id)
        )
        missing = set(approver_ids) - {u.pk for u in approvers}
        if missing:
            errors["approver_ids"] = [
                f"Not members of this workspace: {', '.join(map(str, sorted(missing)))}."
            ]
    if not stage.key:
        base = re.sub(r"[^a-z0-9]+", "-", stage.name.lower()).strip("-")[:30] or "stage"
        key, n = base, 1
        while Stage.objects.filter(workspace_id=stage.workspace_id, key=key).exists():
            n += 1
            key = f"{base}-{n}"
        stage.key = key
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        if stage.pk is None:
            last = (
                Stage.objects.filter(workspace_id=stage.workspace_id).order_by("-position").first()
            )
            if stage.position is None:
                stage.position = (last.position + 1) if last else 0
            stage.save()
        else:
            stage.save(update_fields=fields or STAGE_FIELDS)
        if approver_ids is not None:
            stage.approvers.set(approvers)
        audit.record(stage.workspace_id, "stage.saved", actor=user, target=stage)
    return stage


def delete_stage(stage: Stage, user: Actor) -> None:
    """Delete a stage no post is in; the last stage cannot go."""
    if PostWorkflow.objects.filter(stage=stage).exists():
        raise ValidationError(
            {"stage": [f"Posts are in “{stage}”; move them to another stage first."]}
        )
    if Stage.objects.filter(workspace_id=stage.workspace_id).count() <= 1:
        raise ValidationError({"stage": ["A workflow needs at least one stage."]})
    with transaction.atomic():
        audit.record(stage.workspace_id, "stage.deleted", actor=user, target=stage)
        stage.delete()
