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
from django.db import transaction
from django.db.models import Count, F
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST

from socialdesk.content.models import Post
from socialdesk.ids import parse_id
from socialdesk.review import showing
from socialdesk.web.helpers import enter, is_partial, render_page
from socialdesk.workspaces.access import get_in_workspace
from socialdesk.workspaces.models import Membership, User
from socialdesk.workspaces.services import update_workspace

from . import health, services, settings_service
from .approvals import approval_state, can_decide, decide
from .audit_api import audit_csv
from .forms import RiskForm, StageForm, SwitchesForm, VoiceForm
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
    for post in Post.objects.filter(workspace=workspace, workflow__isnull=True)[:200]:
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
        self.actor_id = parse_id(request.GET.get("actor"))
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
    from .audit_api import audit_events

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
    """What the panel shows: stage, lane and why, deadline, checklist, the live checks (of the
    composer's unsaved fields when the editor sends them, else of the saved post: what
    scheduling refuses, brand voice, where "Submit for approval" goes), approvals and the
    decision form."""
    wf = services.workflow_of(post)
    visit = services.current_visit(post)
    settings = services.settings_for(post.workspace_id)
    path = services.path_for(post, wf.lane)
    user = request.user
    if text is not None:
        draft = services.draft_from(membership.workspace, request.POST, post)
        draft.text = text
    else:
        draft = services.draft_of(post)
    live = services.live_checks(draft)
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
        "voice_problems": [problem for problem, _ in live.problems],
        "reading_grade": live.reading_grade,
        "live": live,
        "in_editor": in_editor(request, post),
        "may_tick": services.tick_refusal(user, post, wf.stage) is None,  # type: ignore[arg-type]
        "tickers": services.tickers(wf.stage),
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
    if is_partial(request):
        return render_page(request, "workflow/_post_panel.html", context)
    # What the client sees behind a review link, gathered by the same helper (review.showing).
    user: User = request.user  # type: ignore[assignment]
    review = showing.review_of(post, user=user)
    context["review"] = review
    context["versions_url"] = showing.versions_url(post, review.base, review.version)
    context["can_edit"] = membership.can("posts.edit")
    response = render_page(request, "workflow/post.html", context)
    showing.mark_seen(post, review.version, user=user)
    return response


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
    except PermissionDenied as error:
        if is_partial(request):
            return _panel(request, membership, post, extra={"refused": [str(error)]})
        messages.error(request, str(error))
    if is_partial(request):
        return _panel(request, membership, post)
    return redirect("workflow_post", slug=slug, post_id=post.pk)


# --- Submitting in one step, and the composer's live checks -----------------------------------


def submitted_message(post: Post, plan: services.SubmitPlan) -> str:
    """ "Submitted: “Rye launch” is in Approval now, where Léa Roux decides." """
    assert plan.target is not None
    verb = "Resubmitted" if plan.resubmit is not None else "Submitted"
    where = "back in" if plan.resubmit is not None and plan.resubmit == plan.target else "in"
    text = f"{verb}: “{post}” is {where} {plan.target} now"
    if plan.waiting_text:
        text += f", where {plan.waiting_text}"
    return text + "."


def refusal_messages(post: Post, error: ValidationError) -> list[str]:
    """What a refused submit says: that the post waits for someone where it is, or what has
    to pass first, each item with its stage."""
    if isinstance(error, services.SubmitRefused):
        plan = error.plan
        waits = {id(item) for item in plan.waiting_here}
        if plan.waiting_here and all(id(item) in waits for _, item in plan.failing):
            here = plan.passed[0] if plan.passed else None
            return [f"“{post}” is waiting in {here}, where {plan.waiting_here_text}."]
        return [f"“{post}” was not submitted; first:", *_messages_of(error)]
    return _messages_of(error)


@login_required
@require_POST
def submit_view(request: HttpRequest, slug: str, post_id: int) -> HttpResponse:
    """ "Submit for approval" (or "Resubmit"): ``services.submit``, from the post's page or
    from the editor. From the editor (``next=editor``) the composer's fields come along and
    are saved first, exactly as "Save changes" saves them (a refusal shows the editor with
    its errors and submits nothing); then back to where the button was, with what happened."""
    membership = enter(request, slug, "workflow.move")
    post = get_in_workspace(Post, membership.workspace, pk=post_id)
    back = request.POST.get("next", "")
    if back == "editor" and "text" in request.POST:
        from socialdesk.content.views import save_from_composer

        editing = enter(request, slug, "posts.edit")
        saved = save_from_composer(request, editing, post, quiet=True)
        if isinstance(saved, HttpResponse):
            return saved
    user = request.user if isinstance(request.user, User) else None
    try:
        plan = services.submit(post, user=user, request=request)
    except ValidationError as error:
        for message in refusal_messages(post, error):
            messages.error(request, message)
    except PermissionDenied as error:
        messages.error(request, str(error))
    else:
        messages.success(request, submitted_message(post, plan))
    if back == "editor":
        return redirect("post_edit", slug=slug, post_id=post.pk)
    return redirect("workflow_post", slug=slug, post_id=post.pk)


@login_required
@require_POST
def live_checks_view(request: HttpRequest, slug: str) -> HttpResponse:
    """The composer's live checks: the htmx partial the editor posts its fields to as one
    writes (``post``: the saved post being edited; none for a new one)."""
    membership = enter(request, slug, "posts.create")
    user = request.user if isinstance(request.user, User) else None
    post = None
    post_id = request.POST.get("post", "")
    if post_id:
        membership = enter(request, slug, "posts.edit")
        pk = int(post_id) if post_id.isdigit() else 0
        post = get_in_workspace(Post, membership.workspace, pk=pk)
    draft = services.draft_from(membership.workspace, request.POST, post, author=user)
    context = {"live": services.live_checks(draft), "new_post": post is None, "post": post}
    return render_page(request, "workflow/_live_checks.html", context)


def in_editor(request: HttpRequest, post: Post) -> bool:
    """True when htmx asks from the post's editor, whose own card shows the live checks."""
    htmx = getattr(request, "htmx", None)
    current = getattr(htmx, "current_url_abs_path", None) if htmx else None
    if not current:
        return False
    editor = reverse("post_edit", kwargs={"slug": request.workspace.slug, "post_id": post.pk})  # type: ignore[attr-defined]
    return current.split("?")[0] == editor


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


# --- Settings page (stages, switches, brand voice, risk rules) ------------------------------

# Which form field shows a service error about an API name.
_FIELD_OF = {"approver_ids": "approvers", "regulated_campaign_ids": "regulated_campaigns"}


def _add_errors(form: Any, error: ValidationError) -> None:
    """Put a service's ValidationError on the form's fields (unknown names on the form)."""
    if not hasattr(error, "error_dict"):
        form.add_error(None, error)
        return
    for name, texts in error.message_dict.items():
        field = _FIELD_OF.get(name, name)
        for text in texts:
            form.add_error(field if field in form.fields else None, text)


def _settings_forms(
    membership: Membership, section: str, data: Any
) -> tuple[StageForm, SwitchesForm, VoiceForm, RiskForm]:
    from .models import CampaignRisk, RequiredText

    workspace = membership.workspace
    settings = services.settings_for(workspace)
    required = []
    for rule in RequiredText.objects.filter(workspace=workspace).select_related(
        "campaign", "label"
    ):
        target = f"campaign {rule.campaign.name}" if rule.campaign else f"label {rule.label}"
        required.append(f"{target}: {rule.text}")
    bounds = "\n".join(
        f"{network}: {'' if low is None else low}-{'' if high is None else high}"
        for network, (low, high) in settings.length_bounds.items()
    )
    return (
        StageForm(data if section == "stage" else None, workspace=workspace, prefix="stage"),
        SwitchesForm(
            data if section == "switches" else None,
            prefix="switches",
            may_change_workspace=membership.can("workspace.update"),
            initial={
                "requires_approval": workspace.requires_approval,
                "unapproved_at_due": workspace.unapproved_at_due,
                "allow_self_approval": settings.allow_self_approval,
                "rapid_response_roles": settings.rapid_response_roles,
            },
        ),
        VoiceForm(
            data if section == "voice" else None,
            workspace=workspace,
            prefix="voice",
            initial={
                "banned_phrases": "\n".join(settings.banned_phrases),
                "required_texts": "\n".join(required),
                "hashtag_min": settings.hashtag_min,
                "hashtag_max": settings.hashtag_max,
                "length_bounds": bounds,
            },
        ),
        RiskForm(
            data if section == "risk" else None,
            workspace=workspace,
            prefix="risk",
            initial={
                "risky_labels": "\n".join(settings.risky_labels),
                "risky_keywords": "\n".join(settings.risky_keywords),
                "regulated_campaigns": list(
                    CampaignRisk.objects.filter(
                        campaign__workspace=workspace, regulated=True
                    ).values_list("campaign_id", flat=True)
                ),
            },
        ),
    )


def _stage_from(form: StageForm, stage: Stage) -> Stage:
    data = form.cleaned_data
    for name in (
        "name",
        "owner_role",
        "kind",
        "lanes",
        "start_days_before",
        "due_days_before",
        "approval_rule",
        "checks",
        "manual_items",
    ):
        setattr(stage, name, data[name])
    return stage


@login_required
@require_http_methods(["GET", "POST"])
def workflow_settings(request: HttpRequest, slug: str) -> HttpResponse:
    """The stages in order plus the switches, brand voice and risk rules; each section is
    its own plain form (``section`` says which was sent) saved through the same services the
    API uses, so both refuse the same input."""
    membership = enter(request, slug, "workflow.manage")
    workspace = membership.workspace
    user = request.user if isinstance(request.user, User) else None
    section = request.POST.get("section", "") if request.method == "POST" else ""
    stage_form, switches_form, voice_form, risk_form = _settings_forms(
        membership, section, request.POST if section else None
    )
    saved = None
    try:
        if section == "stage" and stage_form.is_valid():
            stage = _stage_from(stage_form, Stage(workspace=workspace))
            services.save_stage(
                stage, user, approver_ids=[u.pk for u in stage_form.cleaned_data["approvers"]]
            )
            saved = f"Stage “{stage.name}” added."
        elif section == "switches" and switches_form.is_valid():
            data = switches_form.cleaned_data
            with transaction.atomic():
                if membership.can("workspace.update"):
                    update_workspace(
                        workspace,
                        requires_approval=data["requires_approval"],
                        unapproved_at_due=data["unapproved_at_due"] or None,
                    )
                settings_service.update_settings(
                    workspace,
                    user,
                    {
                        "allow_self_approval": data["allow_self_approval"],
                        "rapid_response_roles": data["rapid_response_roles"],
                    },
                )
            saved = "Approval switches saved."
        elif section == "voice" and voice_form.is_valid():
            settings_service.update_settings(workspace, user, dict(voice_form.cleaned_data))
            saved = "Brand voice rules saved."
        elif section == "risk" and risk_form.is_valid():
            data = dict(risk_form.cleaned_data)
            data["regulated_campaign_ids"] = [c.pk for c in data.pop("regulated_campaigns")]
            settings_service.update_settings(workspace, user, data)
            saved = "Risk rules saved."
    except ValidationError as error:
        form = {"stage": stage_form, "switches": switches_form, "voice": voice_form}.get(
            section, risk_form
        )
        _add_errors(form, error)
    if saved:
        messages.success(request, saved)
        return redirect("workflow_settings", slug=slug)
    forms_ = (stage_form, switches_form, voice_form, risk_form)
    context = {
        "stages": _stage_rows(workspace),
        "stage_form": stage_form,
        "switches_form": switches_form,
        "voice_form": voice_form,
        "risk_form": risk_form,
        "tab": "workflow",
    }
    errors = any(f.errors for f in forms_)
    return render_page(request, "workflow/settings.html", context, status=400 if errors else 200)


def _stage_rows(workspace: Any) -> list[dict[str, Any]]:
    all_stages = services.stages(workspace)
    holding = dict(
        services.PostWorkflow.objects.filter(workspace=workspace)
        .values("stage_id")
        .annotate(n=Count("id"))
        .values_list("stage_id", "n")
    )
    approvers: dict[int, list[str]] = {}
    for stage in Stage.objects.filter(workspace=workspace).prefetch_related("approvers"):
        approvers[stage.pk] = [u.name or u.email for u in stage.approvers.all()]
    return [
        {
            "stage": stage,
            "posts": holding.get(stage.pk, 0),
            "approvers": approvers.get(stage.pk, []),
            "first": i == 0,
            "last": i == len(all_stages) - 1,
        }
        for i, stage in enumerate(all_stages)
    ]


@login_required
@require_http_methods(["GET", "POST"])
def stage_edit(request: HttpRequest, slug: str, stage_id: int) -> HttpResponse:
    membership = enter(request, slug, "workflow.manage")
    stage = get_in_workspace(Stage, membership.workspace, pk=stage_id)
    initial = {
        **{f: getattr(stage, f) for f in STAGE_FORM_FIELDS},
        "manual_items": "\n".join(stage.manual_items),
        "approvers": list(stage.approvers.values_list("pk", flat=True)),
    }
    form = StageForm(
        request.POST if request.method == "POST" else None,
        workspace=membership.workspace,
        initial=initial,
    )
    if request.method == "POST" and form.is_valid():
        try:
            services.save_stage(
                _stage_from(form, stage),
                request.user if isinstance(request.user, User) else None,
                approver_ids=[u.pk for u in form.cleaned_data["approvers"]],
            )
        except ValidationError as error:
            stage.refresh_from_db()
            _add_errors(form, error)
        else:
            messages.success(request, f"Stage “{stage.name}” saved.")
            return redirect("workflow_settings", slug=slug)
    context = {"form": form, "stage": stage, "tab": "workflow"}
    return render_page(
        request, "workflow/stage_edit.html", context, status=400 if form.errors else 200
    )


STAGE_FORM_FIELDS = [
    "name",
    "owner_role",
    "kind",
    "lanes",
    "start_days_before",
    "due_days_before",
    "approval_rule",
    "checks",
]


@login_required
@require_POST
def stage_move(request: HttpRequest, slug: str, stage_id: int) -> HttpResponse:
    membership = enter(request, slug, "workflow.manage")
    stage = get_in_workspace(Stage, membership.workspace, pk=stage_id)
    step = -1 if request.POST.get("direction") == "up" else 1
    settings_service.move_stage(
        stage, request.user if isinstance(request.user, User) else None, step
    )
    return redirect(reverse("workflow_settings", args=[slug]) + f"#stage-{stage.pk}")


@login_required
@require_http_methods(["GET", "POST"])
def stage_delete(request: HttpRequest, slug: str, stage_id: int) -> HttpResponse:
    """GET asks for confirmation; POST deletes, or says why not (posts are in the stage)."""
    membership = enter(request, slug, "workflow.manage")
    stage = get_in_workspace(Stage, membership.workspace, pk=stage_id)
    problems: list[str] = []
    if request.method == "POST":
        try:
            services.delete_stage(stage, request.user if isinstance(request.user, User) else None)
        except ValidationError as error:
            problems = _messages_of(error)
        else:
            messages.success(request, f"Stage “{stage.name}” deleted.")
            return redirect("workflow_settings", slug=slug)
    posts = services.PostWorkflow.objects.filter(stage=stage).count()
    context = {"stage": stage, "posts": posts, "problems": problems, "tab": "workflow"}
    return render_page(
        request, "workflow/stage_delete.html", context, status=400 if problems else 200
    )
