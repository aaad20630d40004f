"""API: listening alerts and their settings per topic, the actions on a mention, and leads.

Alerts are read and marked seen with ``listening.view``; a topic's alert settings change
with ``listening.manage``; a mention becomes a conversation, an idea or a lead with
``listening.act``; leads are read with ``contacts.export`` (owners and managers).
No ``from __future__ import annotations``: ninja reads the parameter types at import time.
"""

from datetime import datetime
from typing import Any, Literal

from django.http import HttpResponse
from ninja import Field, Query, Router, Schema

from socialdesk.api_support import (
    CURSOR_DESCRIPTION,
    ERROR_RESPONSES,
    LIMIT_DESCRIPTION,
    Id,
    MemberRequest,
    Slug,
    Text,
    caller,
    paginate,
    requires,
    responses,
)
from socialdesk.workspaces.access import get_in_workspace

from . import actions, alerts
from .models import Alert, Mention, Topic

router = Router(tags=["listening"])


class AlertOut(Schema):
    id: int
    topic_id: int
    kind: Literal["spike", "sentiment", "critical"]
    state: Literal["new", "seen"]
    title: str = Field(description='What crossed what: "42 mentions in the last hour; usual 3±2"')
    detail: dict[str, Any] = Field(description="The figures: count, median, spread, k, …")
    window_start: datetime
    window_end: datetime
    mention_id: int | None
    proposes_crisis: bool
    created_at: datetime
    seen_at: datetime | None
    url: str = Field(description="The alert's page, which lists its mentions.")

    @staticmethod
    def resolve_url(alert: Alert) -> str:
        from socialdesk.notifications.webhooks import absolute

        return absolute(alerts.alert_path(alert, alert.workspace.slug))


class AlertPage(Schema):
    items: list[AlertOut]
    next_cursor: str | None


class AlertFilters(Schema):
    state: Literal["new", "seen"] | None = None
    topic_id: int | None = Field(None, ge=1, le=2**31 - 1)
    cursor: str | None = Field(None, max_length=200, description=CURSOR_DESCRIPTION)
    limit: int = Field(50, ge=1, le=100, description=LIMIT_DESCRIPTION)


class AlertSettingsOut(Schema):
    topic_id: int
    spikes: bool
    sensitivity: Literal["low", "medium", "high"]
    sentiment_drops: bool
    critical_words: list[str]
    cooldown_hours: int
    checked_at: datetime | None

    @staticmethod
    def resolve_critical_words(rules: Any) -> list[str]:
        return list(rules.critical_lines)


class AlertSettingsIn(Schema):
    spikes: bool = True
    sensitivity: Literal["low", "medium", "high"] = Field(
        "medium", description="How large a spike must be: k = 5, 3.5 or 2.5 spreads."
    )
    sentiment_drops: bool = True
    critical_words: list[Text] = Field(
        default_factory=list,
        max_length=50,
        description='Each a word, a phrase (food poisoning) or a query; e.g. ["allergic"].',
    )
    cooldown_hours: int = Field(6, ge=1, le=168)


class ConversationRef(Schema):
    conversation_id: int
    url: str


class IdeaRef(Schema):
    post_id: int
    url: str


class LeadOut(Schema):
    id: int
    network: str
    remote_id: str
    handle: str
    name: str = Field(alias="display_name")
    followers: int | None
    lead_since: datetime | None
    source_url: str = Field(alias="lead_url")


class LeadList(Schema):
    items: list[LeadOut]


def _alert(request: MemberRequest, alert_id: int) -> Alert:
    return get_in_workspace(Alert, request.workspace, pk=alert_id)


@router.get(
    "/workspaces/{slug}/listening/alerts",
    response=responses(AlertPage),
    operation_id="listening_alerts_list",
)
@requires("listening.view")
def alerts_list(request: MemberRequest, slug: Slug, filters: Query[AlertFilters]) -> dict:
    """The workspace's alerts, newest first."""
    rows = Alert.objects.filter(workspace=request.workspace).select_related("workspace")
    if filters.state:
        rows = rows.filter(state=filters.state)
    if filters.topic_id:
        rows = rows.filter(topic_id=filters.topic_id)
    return paginate(rows, filters.cursor, filters.limit)


@router.get(
    "/workspaces/{slug}/listening/alerts/{alert_id}",
    response=responses(AlertOut),
    operation_id="listening_alerts_read",
)
@requires("listening.view")
def alerts_read(request: MemberRequest, slug: Slug, alert_id: Id) -> Alert:
    return _alert(request, alert_id)


@router.post(
    "/workspaces/{slug}/listening/alerts/{alert_id}/seen",
    response=responses(AlertOut),
    operation_id="listening_alerts_seen",
)
@requires("listening.view")
def alerts_seen(request: MemberRequest, slug: Slug, alert_id: Id) -> Alert:
    """Mark the alert seen (the first time counts: who and when are kept)."""
    return alerts.mark_seen(_alert(request, alert_id), caller(request))


@router.get(
    "/workspaces/{slug}/listening/topics/{topic_id}/alert-settings",
    response=responses(AlertSettingsOut),
    operation_id="listening_alert_settings_read",
)
@requires("listening.view")
def alert_settings_read(request: MemberRequest, slug: Slug, topic_id: Id) -> Any:
    return alerts.settings_for(get_in_workspace(Topic, request.workspace, pk=topic_id))


@router.put(
    "/workspaces/{slug}/listening/topics/{topic_id}/alert-settings",
    response=responses(AlertSettingsOut),
    operation_id="listening_alert_settings_update",
)
@requires("listening.manage")
def alert_settings_update(
    request: MemberRequest, slug: Slug, topic_id: Id, payload: AlertSettingsIn
) -> Any:
    """Spikes and their sensitivity, sentiment drops, critical words, cool-down."""
    topic = get_in_workspace(Topic, request.workspace, pk=topic_id)
    return alerts.save_settings(
        topic,
        spikes=payload.spikes,
        sensitivity=payload.sensitivity,
        sentiment_drops=payload.sentiment_drops,
        critical_words="\n".join(line.replace("\n", " ") for line in payload.critical_words),
        cooldown_hours=payload.cooldown_hours,
    )


def _mention(request: MemberRequest, mention_id: int) -> Mention:
    return get_in_workspace(Mention, request.workspace, pk=mention_id)


@router.post(
    "/workspaces/{slug}/listening/mentions/{mention_id}/conversation",
    response=responses(ConversationRef),
    operation_id="listening_mentions_conversation",
)
@requires("listening.act")
def mentions_conversation(request: MemberRequest, slug: Slug, mention_id: Id) -> dict:
    """The inbox conversation that answers the mention (made on the first call). Only a
    Bluesky post found through one of the workspace's channels can be answered (422
    otherwise)."""
    from django.urls import reverse

    conversation = actions.to_conversation(_mention(request, mention_id))
    url = reverse("inbox_conversation", kwargs={"slug": slug, "conversation_id": conversation.pk})
    return {"conversation_id": conversation.pk, "url": url}


@router.post(
    "/workspaces/{slug}/listening/mentions/{mention_id}/idea",
    response=responses(IdeaRef),
    operation_id="listening_mentions_idea",
)
@requires("listening.act")
def mentions_idea(request: MemberRequest, slug: Slug, mention_id: Id) -> dict:
    """A draft post quoting and linking the mention (made on the first call)."""
    from django.urls import reverse

    post = actions.to_idea(_mention(request, mention_id), caller(request))
    return {
        "post_id": post.pk,
        "url": reverse("post_edit", kwargs={"slug": slug, "post_id": post.pk}),
    }


@router.post(
    "/workspaces/{slug}/listening/mentions/{mention_id}/lead",
    response=responses(LeadOut),
    operation_id="listening_mentions_lead",
)
@requires("listening.act")
def mentions_lead(request: MemberRequest, slug: Slug, mention_id: Id) -> Any:
    """Mark the mention's author as a lead; the first time, the lead is sent to the webhooks
    subscribed to ``listening.lead`` (the shape is in the README)."""
    return actions.mark_lead(_mention(request, mention_id), caller(request))


@router.get(
    "/workspaces/{slug}/listening/leads",
    response=responses(LeadList),
    operation_id="listening_leads_list",
)
@requires("contacts.export")
def leads_list(request: MemberRequest, slug: Slug) -> dict:
    """The workspace's leads, newest first (at most 1,000; the CSV has them all)."""
    return {"items": list(actions.leads(request.workspace)[:1000])}


@router.get(
    "/workspaces/{slug}/listening/leads.csv",
    response=ERROR_RESPONSES,
    operation_id="listening_leads_csv",
    openapi_extra={
        "responses": {
            "200": {
                "description": "The leads as CSV.",
                "content": {"text/csv": {"schema": {"type": "string"}}},
            }
        }
    },
)
@requires("contacts.export")
def leads_csv(request: MemberRequest, slug: Slug) -> HttpResponse:
    """The leads as CSV (cells a spreadsheet would run are neutralised)."""
    response = HttpResponse(
        actions.leads_csv(request.workspace), content_type="text/csv; charset=utf-8"
    )
    response["Content-Disposition"] = f'attachment; filename="leads-{slug}.csv"'
    return response
