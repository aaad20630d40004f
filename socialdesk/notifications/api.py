"""API: one's own notifications and email preference; the workspace's outgoing webhooks."""

from __future__ import annotations

from datetime import datetime

from ninja import Field, Query, Router, Schema, Status

from socialdesk.api_support import (
    CURSOR_DESCRIPTION,
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

from . import services
from .models import EmailMode, Notification, Webhook

router = Router(tags=["notifications"])


class NotificationOut(Schema):
    id: int
    event: str
    title: str
    body: str
    url: str
    actor_id: int | None
    target_type: str | None = Field(description="app_label.model of what it is about.")
    target_id: int | None
    target_repr: str
    created_at: datetime
    read_at: datetime | None
    unread: bool

    @staticmethod
    def resolve_target_type(obj: Notification) -> str | None:
        if obj.target_type is None:
            return None
        return f"{obj.target_type.app_label}.{obj.target_type.model}"

    @staticmethod
    def resolve_unread(obj: Notification) -> bool:
        return obj.read_at is None


class NotificationPage(Schema):
    items: list[NotificationOut]
    next_cursor: str | None
    unread_count: int


class NotificationFilters(Schema):
    unread: bool | None = Field(None, description="true: only unread ones.")
    cursor: str | None = Field(None, max_length=200, description=CURSOR_DESCRIPTION)
    limit: int = Field(50, ge=1, le=100, description=LIMIT_DESCRIPTION)


class MarkRead(Schema):
    ids: list[Id] = Field(
        ..., max_length=500, description="Your notifications to mark read; others are ignored."
    )


class Marked(Schema):
    marked: int = Field(description="How many notifications changed from unread to read.")
    unread_count: int


class PreferenceOut(Schema):
    email_mode: EmailMode
    choices: dict[str, str]


class PreferenceIn(Schema):
    email_mode: EmailMode


@router.get(
    "/workspaces/{slug}/notifications",
    response=responses(NotificationPage),
    operation_id="notifications_list",
)
@requires("notifications.view")
def notifications_list(
    request: MemberRequest, slug: Slug, filters: Query[NotificationFilters]
) -> dict:
    """Your own notifications in this workspace, newest first."""
    rows = services.inbox(request.workspace, caller(request)).select_related("target_type")
    if filters.unread is not None:
        rows = rows.filter(read_at__isnull=filters.unread)
    page = paginate(rows, filters.cursor, filters.limit)
    page["unread_count"] = services.unread_count(request.workspace, caller(request))
    return page


@router.post(
    "/workspaces/{slug}/notifications/read",
    response=responses(Marked),
    operation_id="notifications_mark_read",
)
@requires("notifications.update")
def notifications_mark_read(request: MemberRequest, slug: Slug, payload: MarkRead) -> dict:
    """Mark some of your notifications read (ids that are not yours change nothing)."""
    user = caller(request)
    marked = services.mark_read_many(request.workspace, user, payload.ids)
    return {"marked": marked, "unread_count": services.unread_count(request.workspace, user)}


@router.post(
    "/workspaces/{slug}/notifications/read-all",
    response=responses(Marked),
    operation_id="notifications_mark_all_read",
)
@requires("notifications.update")
def notifications_mark_all_read(request: MemberRequest, slug: Slug) -> dict:
    marked = services.mark_all_read(request.workspace, caller(request))
    return {"marked": marked, "unread_count": 0}


@router.get(
    "/workspaces/{slug}/notifications/preferences",
    response=responses(PreferenceOut),
    operation_id="notification_preferences_read",
)
@requires("notifications.view")
def notification_preferences_read(request: MemberRequest, slug: Slug) -> dict:
    """How you are emailed about this workspace's notifications."""
    pref = services.email_mode_of(request.workspace, caller(request))
    return {"email_mode": pref, "choices": dict(EmailMode.choices)}


@router.put(
    "/workspaces/{slug}/notifications/preferences",
    response=responses(PreferenceOut),
    operation_id="notification_preferences_update",
)
@requires("notifications.update")
def notification_preferences_update(
    request: MemberRequest, slug: Slug, payload: PreferenceIn
) -> dict:
    pref = services.set_email_mode(request.workspace, caller(request), payload.email_mode)
    return {"email_mode": pref.email_mode, "choices": dict(EmailMode.choices)}


# --- Webhooks ---------------------------------------------------------------------------------


class WebhookOut(Schema):
    id: int
    name: str
    url: str
    events: list[str]
    slack_compatible: bool
    is_active: bool
    created_at: datetime
    last_status: str
    last_sent_at: datetime | None


class WebhookWithSecret(WebhookOut):
    secret: str | None = Field(
        None, description="The signing secret: returned only when created or rotated."
    )


class WebhookIn(Schema):
    name: Text = Field(..., max_length=80)
    url: Text = Field(..., max_length=500, description="An http:// or https:// address.")
    events: list[str] = Field(..., max_length=50, description="Event keys; see the events list.")
    slack_compatible: bool = False


class WebhookPatch(Schema):
    name: Text | None = Field(None, max_length=80)
    url: Text | None = Field(None, max_length=500)
    events: list[str] | None = Field(None, max_length=50)
    slack_compatible: bool | None = None
    is_active: bool | None = None
    rotate_secret: bool = False


class TestOutcome(Schema):
    ok: bool
    status: int | None
    message: str


class EventOut(Schema):
    key: str
    label: str


def _with_secret(hook: Webhook, secret: str | None) -> dict:
    data = WebhookOut.from_orm(hook).model_dump()
    data["secret"] = secret
    return data


@router.get(
    "/workspaces/{slug}/webhooks/events",
    response=responses(list[EventOut]),
    operation_id="webhook_events_list",
)
@requires("webhooks.view")
def webhook_events_list(request: MemberRequest, slug: Slug) -> list[dict]:
    """The events a webhook can subscribe to."""
    return [{"key": key, "label": label} for key, label in services.EVENTS.items()]


@router.get(
    "/workspaces/{slug}/webhooks",
    response=responses(list[WebhookOut]),
    operation_id="webhooks_list",
)
@requires("webhooks.view")
def webhooks_list(request: MemberRequest, slug: Slug) -> list[Webhook]:
    return list(Webhook.objects.in_workspace(request.workspace))


@router.post(
    "/workspaces/{slug}/webhooks",
    response=responses(WebhookWithSecret, 201),
    operation_id="webhooks_create",
)
@requires("webhooks.manage")
def webhooks_create(request: MemberRequest, slug: Slug, payload: WebhookIn) -> Status:
    """A new webhook; the answer holds its signing secret, which is not shown again."""
    hook, secret = services.create_webhook(
        request.workspace,
        caller(request),
        name=payload.name,
        url=payload.url,
        events=payload.events,
        slack_compatible=payload.slack_compatible,
    )
    return Status(201, _with_secret(hook, secret))


@router.get(
    "/workspaces/{slug}/webhooks/{webhook_id}",
    response=responses(WebhookOut),
    operation_id="webhooks_read",
)
@requires("webhooks.view")
def webhooks_read(request: MemberRequest, slug: Slug, webhook_id: Id) -> Webhook:
    return get_in_workspace(Webhook, request.workspace, pk=webhook_id)


@router.patch(
    "/workspaces/{slug}/webhooks/{webhook_id}",
    response=responses(WebhookWithSecret),
    operation_id="webhooks_update",
)
@requires("webhooks.manage")
def webhooks_update(
    request: MemberRequest, slug: Slug, webhook_id: Id, payload: WebhookPatch
) -> dict:
    """Change a webhook; with rotate_secret the answer holds the new secret, once."""
    hook = get_in_workspace(Webhook, request.workspace, pk=webhook_id)
    hook, secret = services.update_webhook(
        hook,
        name=payload.name,
        url=payload.url,
        events=payload.events,
        slack_compatible=payload.slack_compatible,
        is_active=payload.is_active,
        rotate_secret=payload.rotate_secret,
    )
    return _with_secret(hook, secret)


@router.delete(
    "/workspaces/{slug}/webhooks/{webhook_id}",
    response=responses(None, 204),
    operation_id="webhooks_delete",
)
@requires("webhooks.manage")
def webhooks_delete(request: MemberRequest, slug: Slug, webhook_id: Id) -> Status:
    get_in_workspace(Webhook, request.workspace, pk=webhook_id).delete()
    return Status(204, None)


@router.post(
    "/workspaces/{slug}/webhooks/{webhook_id}/test",
    response=responses(TestOutcome),
    operation_id="webhooks_test",
)
@requires("webhooks.manage")
def webhooks_test(request: MemberRequest, slug: Slug, webhook_id: Id) -> dict:
    """Send a signed test event now and answer how the receiver responded."""
    hook = get_in_workspace(Webhook, request.workspace, pk=webhook_id)
    outcome = services.send_test_event(hook, caller(request))
    return {"ok": outcome.ok, "status": outcome.status, "message": outcome.message}
