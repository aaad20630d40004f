"""Workflow pages: the board by stage, My work, workflow health, the audit log, and a post's
workflow panel (checklist, lane, brand voice, approvals). Thin: authorize, call, render.

Every action is a plain form post that redirects back; htmx requests get the part of the
page that changed instead.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db.models import F
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST

from socialdesk.content.models import Post
from socialdesk.web.helpers import enter, is_partial, render_page
from socialdesk.workspaces.access import get_in_workspace
from socialdesk.workspaces.models import Membership, User

from . import health, services, voice
from .api import audit_csv
from .approvals import approval_state, can_decide, decide
from .models import AuditEvent, Decision, Stage, StageVisit


def _messages_of(error: ValidationError) -> list[str]:
    if hasattr(error, "error_dict"):
        return [m for texts in error.message_dict.values() for m in texts]
    return list(error.messages)


# --- Board ---------------------------------------------------------------------------------


def _board_context(request: HttpRequest, membership: Membership) -> dict[str, Any]:
    workspace = membership.workspace
    all_stages = services.stages(workspace)
    # Posts from before the workflow existed join it on their first appearance here.
    known = set(
        services.PostWorkflow.objects.filter(workspace=workspace).values_list("post_id", flat=True)
    )
    for post in Post.objects.filter(workspace=workspace).exclude(pk__in=known)[:200]:
        services.workflow_of(post)
    services.refresh_deadlines(workspace)
    now = timezone.now()
    visits = (
        StageVisit.objects.filter(workspace=workspace, left_at=None)
        .select_related("post", "stage", "assignee")
        .order_by(F("due_at").asc(nulls_last=True), "entered_at")
    )
    lanes = dict(
        services.PostWorkflow.objects.filter(workspace=workspace).values_list("post_id", "lane")
    )
    columns: dict[int, dict[str, Any]] = {
        s.pk: {"stage": s, "cards": [], "overdue": 0} for s in all_stages
    }
    for visit in visits:
        column = columns.get(visit.stage_id)
        if column is None:
            continue
        overdue = visit.due_at is not None and visit.due_at < now
        column["overdue"] += overdue
        lane = lanes.get(visit.post_id, "fast")
        path = services.path_for(visit.post, lane, all_stages)
        ids = [s.pk for s in path]
        index = ids.index(visit.stage_id) if visit.stage_id in ids else -1
        following = path[index + 1].pk if 0 <= index < len(path) - 1 else None
        column["cards"].append(
            {
                "visit": visit,
                "overdue": overdue,
                "lane": lane,
                "targets": [s for s in path if s.pk != visit.stage_id],
                "next_id": following,
            }
        )
    return {
        "columns": list(columns.values()),
        "can_move": membership.can("workflow.move"),
        "can_override": membership.can("workflow.override"),
    }


@login_required
def board(request: HttpRequest, slug: str) -> HttpResponse:
    membership = enter(request, slug, "workflow.view")
    context = _board_context(request, membership)
    return render_page(request, "workflow/board.html", context, partial="workflow/_board.html")


@login_required
@require_POST
def move(request: HttpRequest, slug: str, post_id: int) -> HttpResponse:
    """Move a post to a stage (from the board or the post's panel); with ``reason``, a
    manager's override. A refusal shows the failing items, and the override form to those
    who may use it."""
    membership = enter(request, slug, "workflow.move")
    post = get_in_workspace(Post, membership.workspace, pk=post_id)
    back = request.POST.get("next") or ""
    try:
        target = Stage.objects.get(
            workspace=membership.workspace, pk=int(request.POST.get("stage", "0"))
        )
    except (Stage.DoesNotExist, ValueError):
        target = None
    refused: list[str] = []
    if target is None:
        refused = ["Choose a stage to move the post to."]
    else:
        override = request.POST.get("override") == "1"
        reason = request.POST.get("reason", "") if override else None
        try:
            services.move(post, target, user=request.user, override_reason=reason, request=request)  # type: ignore[arg-type]
        except ValidationError as error:
            refused = _messages_of(error)
        except PermissionDenied as error:
            refused = [str(error)]
    if refused:
        context = {
            "refused": refused,
            "refused_post": post,
            "refused_stage": target,
        }
        if is_partial(request) and back != "panel":
            context.update(_board_context(request, membership))
            return render_page(
                request, "workflow/board.html", context, partial="workflow/_board.html"
            )
        if is_partial(request):
            return _panel(request, membership, post, extra=context)
        for message in refused:
            messages.error(request, message)
    else:
        messages.success(request, f"“{post}” moved to {target}.")
        if is_partial(request):
            if back == "panel":
                return _panel(request, membership, post)
            context = _board_context(request, membership)
            return render_page(
                request, "workflow/board.html", context, partial="workflow/_board.html"
            )
    if back == "panel":
        return redirect("workflow_post", slug=slug, post_id=post.pk)
    return redirect("workflow_board", slug=slug)


# --- My work -------------------------------------------------------------------------------


@login_required
def my_work(request: HttpRequest, slug: str) -> HttpResponse:
    membership = enter(request, slug, "workflow.view")
    steps = health.steps(membership.workspace, request.user)  # type: ignore[arg-type]
    return render_page(request, "workflow/my_work.html", {"steps": steps, "now": timezone.now()})


# --- Health --------------------------------------------------------------------------------

PERIODS = {"30": 30, "90": 90, "365": 365}


@login_required
def workflow_health(request: HttpRequest, slug: str) -> HttpResponse:
    membership = enter(request, slug, "analytics.view")
    days = request.GET.get("days", "90")
    if days not in PERIODS:
        days = "90"
    end = timezone.now()
    start = end - timedelta(days=PERIODS[days])
    figures = health.figures(membership.workspace, start, end)
    longest = max((row["average_hours"] or 0 for row in figures["time_in_stage"]), default=0)
    for row in figures["time_in_stage"]:
        row["share"] = round(100 * (row["average_hours"] or 0) / longest) if longest else 0
    context = {"figures": figures, "days": days, "periods": list(PERIODS)}
    return render_page(request, "workflow/health.html", context)


# --- Audit log -----------------------------------------------------------------------------


class _Filters:
    def __init__(self, request: HttpRequest, zone: Any) -> None:
        self.action = (request.GET.get("action") or "").strip()[:60] or None
        try:
            self.actor_id: int | None = int(request.GET.get("actor") or 0) or None
        except ValueError:
            self.actor_id = None
        self.from_ = self._day(request.GET.get("from"), zone)
        to = self._day(request.GET.get("to"), zone)
        self.to = to + timedelta(days=1) if to else None  # the "to" day is included
        self.errors: list[str] = []
        if self.from_ and self.to and self.to <= self.from_:
            self.errors.append("The end date is before the start date.")
            self.to = None

    @staticmethod
    def _day(value: str | None, zone: Any) -> datetime | None:
        if not value:
            return None
        try:
            day = datetime.strptime(value, "%Y-%m-%d").date()
        except ValueError:
            return None
        return datetime.combine(day, time.min, tzinfo=zone)


@login_required
def audit_log(request: HttpRequest, slug: str) -> HttpResponse:
    from .api import audit_events

    membership = enter(request, slug, "audit.view")
    workspace = membership.workspace
    filters = _Filters(request, workspace.zone)
    events = audit_events(workspace, filters)
    if request.GET.get("format") == "csv":
        response = HttpResponse(audit_csv(events), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="audit-{slug}.csv"'
        return response
    page = Paginator(events, 50).get_page(request.GET.get("page"))
    actions = (
        AuditEvent.objects.filter(workspace=workspace)
        .order_by("action")
        .values_list("action", flat=True)
        .distinct()
    )
    people = User.objects.filter(memberships__workspace=workspace).order_by("email")
    query = request.GET.copy()
    query.pop("page", None)
    query.pop("format", None)
    context = {
        "page": page,
        "actions": list(actions),
        "people": people,
        "selected": request.GET,
        "filter_errors": filters.errors,
        "query": query.urlencode(),
    }
    return render_page(request, "workflow/audit.html", context, partial="workflow/_audit_rows.html")


# --- A post's workflow panel --------------------------------------------------------------


def panel_context(
    request: HttpRequest, membership: Membership, post: Post, text: str | None = None
) -> dict[str, Any]:
    """What the panel shows: stage, lane and why, deadline, checklist, brand voice problems
    (of ``text`` when the editor sends unsaved text), approvals and the decision form."""
    wf = services.workflow_of(post)
    visit = services.current_visit(post)
    settings = services.settings_for(post.workspace_id)
    path = services.path_for(post, wf.lane)
    user = request.user
    may_decide = False
    if wf.stage.is_approval and membership.can("approvals.decide"):
        try:
            can_decide(user, wf.stage, post)  # type: ignore[arg-type]
            may_decide = True
        except PermissionDenied:
            may_decide = False
    approvals = [(s, approval_state(post, s)) for s in path if s.is_approval]
    return {
        "post": post,
        "wf": wf,
        "visit": visit,
        "now": timezone.now(),
        "path": path,
        "next_stage": services.next_stage(post, wf),
        "items": services.checklist(post, wf.stage),
        "voice_problems": voice.post_problems(post, settings, text=text),
        "reading_grade": voice.reading_grade(post.text if text is None else text),
        "approvals": approvals,
        "decisions": Decision.objects.filter(post=post)
        .select_related("version", "user", "stage")
        .order_by("-created_at")[:10],
        "may_decide": may_decide,
        "self_approval_blocked": post.author_id == user.pk and not settings.allow_self_approval,
        "can_move": membership.can("workflow.move"),
        "can_override": membership.can("workflow.override"),
        "members": User.objects.filter(memberships__workspace_id=post.workspace_id).order_by(
            "email"
        ),
    }


def _panel(
    request: HttpRequest,
    membership: Membership,
    post: Post,
    extra: dict | None = None,
    text: str | None = None,
) -> HttpResponse:
    context = panel_context(request, membership, post, text=text)
    context.update(extra or {})
    return render_page(request, "workflow/_post_panel.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def panel(request: HttpRequest, slug: str, post_id: int) -> HttpResponse:
    """The htmx partial the editor includes; POST ``text`` checks unsaved text."""
    membership = enter(request, slug, "workflow.view")
    post = get_in_workspace(Post, membership.workspace, pk=post_id)
    text = request.POST.get("text") if request.method == "POST" else None
    if text is not None:
        text = text.replace("\x00", "")[:10_000]
    return _panel(request, membership, post, text=text)


@login_required
def post_workflow(request: HttpRequest, slug: str, post_id: int) -> HttpResponse:
    membership = enter(request, slug, "workflow.view")
    post = get_in_workspace(Post, membership.workspace, pk=post_id)
    context = panel_context(request, membership, post)
    return render_page(request, "workflow/post.html", context, partial="workflow/_post_panel.html")


@login_required
@require_POST
def tick(request: HttpRequest, slug: str, post_id: int) -> HttpResponse:
    membership = enter(request, slug, "workflow.move")
    post = get_in_workspace(Post, membership.workspace, pk=post_id)
    try:
        stage = Stage.objects.get(
            workspace=membership.workspace, pk=int(request.POST.get("stage", "0"))
        )
        done = request.POST.get("done") == "1"
        user = request.user  # type: ignore[assignment]
        services.tick(post, stage, request.POST.get("item", ""), done, user)  # type: ignore[arg-type]
    except (Stage.DoesNotExist, ValueError):
        messages.error(request, "No such stage in this workspace.")
    except ValidationError as error:
        for message in _messages_of(error):
            messages.error(request, message)
    if is_partial(request):
        return _panel(request, membership, post)
    return redirect("workflow_post", slug=slug, post_id=post.pk)


@login_required
@require_POST
def decide_view(request: HttpRequest, slug: str, post_id: int) -> HttpResponse:
    membership = enter(request, slug, "approvals.decide")
    post = get_in_workspace(Post, membership.workspace, pk=post_id)
    errors: list[str] = []
    try:
        decide(
            post,
            request.POST.get("decision", ""),
            comment=request.POST.get("comment", ""),
            user=request.user,  # type: ignore[arg-type]
            request=request,
        )
    except ValidationError as error:
        errors = _messages_of(error)
    except PermissionDenied as error:
        errors = [str(error)]
    if is_partial(request):
        return _panel(request, membership, post, extra={"decision_errors": errors})
    for message in errors:
        messages.error(request, message)
    if not errors:
        messages.success(request, "Your decision is recorded.")
    return redirect("workflow_post", slug=slug, post_id=post.pk)


@login_required
@require_POST
def assign(request: HttpRequest, slug: str, post_id: int) -> HttpResponse:
    membership = enter(request, slug, "workflow.move")
    post = get_in_workspace(Post, membership.workspace, pk=post_id)
    try:
        stage = Stage.objects.get(
            workspace=membership.workspace, pk=int(request.POST.get("stage", "0"))
        )
        raw = request.POST.get("assignee") or ""
        assignee = (
            User.objects.filter(pk=int(raw), memberships__workspace=membership.workspace).first()
            if raw
            else None
        )
        if raw and assignee is None:
            raise ValidationError({"assignee": ["This person is not a member of the workspace."]})
        services.assign(post, stage, assignee, request.user)  # type: ignore[arg-type]
    except (Stage.DoesNotExist, ValueError):
        messages.error(request, "No such stage in this workspace.")
    except ValidationError as error:
        for message in _messages_of(error):
            messages.error(request, message)
    if is_partial(request):
        return _panel(request, membership, post)
    return redirect("workflow_post", slug=slug, post_id=post.pk)


def panel_url(slug: str, post_id: int) -> str:
    return reverse("workflow_panel", kwargs={"slug": slug, "post_id": post_id})
