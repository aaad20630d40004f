"""Pages of listening alerts and of the actions on a mention (issue 15, items 4 and 5).

Thin: authorize, call ``alerts`` or ``actions``, render. Every action is a plain form post
that redirects (no JavaScript needed); a refusal is shown as a message on the page it came
from, never a 500.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.views.decorators.http import require_http_methods, require_POST

from socialdesk.web.helpers import apply_errors, enter, local_path, render_page
from socialdesk.workspaces.access import get_in_workspace
from socialdesk.workspaces.roles import role_can

from . import actions, alerts
from .models import Alert, AlertKind, AlertState, Mention, Sensitivity, Topic

PAGE = 50


def _filters(request: HttpRequest) -> dict[str, str]:
    state = request.GET.get("state", "")
    topic = request.GET.get("topic", "")
    return {
        "state": state if state in AlertState.values else "",
        "topic": topic if topic.isdigit() and len(topic) < 12 else "",
    }


@login_required
def alert_list(request: HttpRequest, slug: str) -> HttpResponse:
    """The workspace's alerts, newest first, by state and topic."""
    membership = enter(request, slug, "listening.view")
    workspace = membership.workspace
    chosen = _filters(request)
    rows = Alert.objects.filter(workspace=workspace).select_related("topic")
    if chosen["state"]:
        rows = rows.filter(state=chosen["state"])
    if chosen["topic"]:
        rows = rows.filter(topic_id=int(chosen["topic"]))
    context = {
        "alerts": list(rows[:PAGE]),
        "topics": list(Topic.objects.filter(workspace=workspace)),
        "chosen": chosen,
        "new_count": Alert.objects.filter(workspace=workspace, state=AlertState.NEW).count(),
        "can_manage": role_can(membership.role, "listening.manage"),
        "states": AlertState.choices,
    }
    return render_page(request, "listening/alerts/list.html", context)


@login_required
def alert_detail(request: HttpRequest, slug: str, alert_id: int) -> HttpResponse:
    """One alert: what crossed what, the figures, and the mentions it is about."""
    membership = enter(request, slug, "listening.view")
    alert = get_in_workspace(Alert, membership.workspace, pk=alert_id)
    context = {
        "alert": alert,
        "mentions": list(alerts.mentions_of(alert)[:PAGE]),
        "crisis_url": alerts.crisis_path(slug) if alert.proposes_crisis else "",
        "can_act": role_can(membership.role, "listening.act"),
        "here": request.get_full_path(),
        "is_spike": alert.kind == AlertKind.SPIKE,
    }
    return render_page(request, "listening/alerts/detail.html", context)


@login_required
@require_POST
def alert_seen(request: HttpRequest, slug: str, alert_id: int) -> HttpResponse:
    membership = enter(request, slug, "listening.view")
    alert = get_in_workspace(Alert, membership.workspace, pk=alert_id)
    alerts.mark_seen(alert, request.user)
    return redirect(local_path(request, request.POST.get("next")) or "listening_alerts", slug=slug)


class AlertSettingsForm(forms.Form):
    spikes = forms.BooleanField(
        required=False,
        label="Alert on volume spikes",
        help_text="The last hour against the 7 days before it; checked every 15 minutes.",
    )
    sensitivity = forms.ChoiceField(choices=Sensitivity.choices, label="Sensitivity")
    sentiment_drops = forms.BooleanField(
        required=False,
        label="Alert when sentiment drops",
        help_text="The last 24 hours against the 7 days before.",
    )
    critical_words = forms.CharField(
        required=False,
        label="Critical words",
        help_text=(
            "One per line: a word, a phrase (food poisoning) or a query (allerg* OR "
            '"made me sick"). Any new mention with one alerts at once.'
        ),
        max_length=5000,
        widget=forms.Textarea(attrs={"rows": 5}),
    )
    cooldown_hours = forms.IntegerField(
        min_value=1,
        max_value=168,
        label="Cool-down (hours)",
        help_text=(
            "After a spike or drop alert, the same kind waits this long: one spike, one alert."
        ),
    )


@login_required
@require_http_methods(["GET", "POST"])
def alert_settings(request: HttpRequest, slug: str, topic_id: int) -> HttpResponse:
    """A topic's alert settings (owners and managers)."""
    membership = enter(request, slug, "listening.manage")
    topic = get_in_workspace(Topic, membership.workspace, pk=topic_id)
    rules = alerts.settings_for(topic)
    status = 200
    if request.method == "POST":
        form = AlertSettingsForm(request.POST)
        if form.is_valid():
            try:
                alerts.save_settings(topic, **form.cleaned_data)
            except ValidationError as error:
                apply_errors(form, error, {})
            else:
                messages.success(request, f"Alert settings of “{topic.name}” saved.")
                return redirect("listening_alert_settings", slug=slug, topic_id=topic.pk)
        status = 400
    else:
        form = AlertSettingsForm(
            initial={
                "spikes": rules.spikes,
                "sensitivity": rules.sensitivity,
                "sentiment_drops": rules.sentiment_drops,
                "critical_words": rules.critical_words,
                "cooldown_hours": rules.cooldown_hours,
            }
        )
    context = {"topic": topic, "form": form, "rules": rules}
    return render_page(request, "listening/alerts/settings.html", context, status=status)


# --- Mention actions and leads ---------------------------------------------------------------


def _mention(request: HttpRequest, slug: str, mention_id: int) -> tuple[Any, Mention]:
    membership = enter(request, slug, "listening.act")
    return membership, get_in_workspace(Mention, membership.workspace, pk=mention_id)


def _back(request: HttpRequest, slug: str) -> HttpResponse:
    return redirect(local_path(request, request.POST.get("next")) or "listening_alerts", slug=slug)


def _refused(request: HttpRequest, slug: str, error: ValidationError) -> HttpResponse:
    for text in error.messages:
        messages.error(request, text)
    return _back(request, slug)


@login_required
@require_POST
def mention_answer(request: HttpRequest, slug: str, mention_id: int) -> HttpResponse:
    """Open the mention as an inbox conversation, to answer it there."""
    _membership, mention = _mention(request, slug, mention_id)
    try:
        conversation = actions.to_conversation(mention)
    except ValidationError as error:
        return _refused(request, slug, error)
    return redirect("inbox_conversation", slug=slug, conversation_id=conversation.pk)


@login_required
@require_POST
def mention_idea(request: HttpRequest, slug: str, mention_id: int) -> HttpResponse:
    """Make the mention a draft post that quotes and links it."""
    _membership, mention = _mention(request, slug, mention_id)
    try:
        post = actions.to_idea(mention, request.user)  # type: ignore[arg-type]
    except ValidationError as error:
        return _refused(request, slug, error)
    messages.success(request, "A draft quoting the mention was made.")
    return redirect("post_edit", slug=slug, post_id=post.pk)


@login_required
@require_POST
def mention_lead(request: HttpRequest, slug: str, mention_id: int) -> HttpResponse:
    """Mark the mention's author as a lead (sent once to the CRM webhooks)."""
    _membership, mention = _mention(request, slug, mention_id)
    try:
        contact = actions.mark_lead(mention, request.user)  # type: ignore[arg-type]
    except ValidationError as error:
        return _refused(request, slug, error)
    messages.success(request, f"{contact} is a lead.")
    return _back(request, slug)


@login_required
def lead_list(request: HttpRequest, slug: str) -> HttpResponse:
    membership = enter(request, slug, "contacts.export")
    context = {"leads": list(actions.leads(membership.workspace)[:500])}
    return render_page(request, "listening/alerts/leads.html", context)


@login_required
def lead_csv(request: HttpRequest, slug: str) -> HttpResponse:
    membership = enter(request, slug, "contacts.export")
    response = HttpResponse(
        actions.leads_csv(membership.workspace), content_type="text/csv; charset=utf-8"
    )
    response["Content-Disposition"] = f'attachment; filename="leads-{slug}.csv"'
    return response
