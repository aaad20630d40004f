"""API: deliveries, a post's appearance on one channel."""

from __future__ import annotations

from datetime import datetime

from django.db.models import QuerySet
from ninja import Field, Query, Router, Schema

from socialdesk.api_support import (
    CURSOR_DESCRIPTION,
    LIMIT_DESCRIPTION,
    Id,
    MemberRequest,
    Moment,
    Slug,
    Text,
    paginate,
    requires,
    responses,
)
from socialdesk.content import services as content_services
from socialdesk.content.posts_api import _delivery_conditions
from socialdesk.workspaces.access import get_in_workspace
from socialdesk.workspaces.models import Workspace

from .models import Delivery, DeliveryState

router = Router(tags=["deliveries"])


class DeliveryOut(Schema):
    id: int
    post_id: int
    channel_id: int
    state: str
    scheduled_at: datetime | None
    text: str = Field(description="What will be published: the override or the post's text.")
    text_override: str
    first_comment: str
    media_override_ids: list[int]
    remote_id: str
    remote_url: str
    attempts: int
    last_error: str
    published_at: datetime | None
    created_at: datetime
    updated_at: datetime

    @staticmethod
    def resolve_media_override_ids(obj: Delivery) -> list[int]:
        return sorted(m.pk for m in obj.media_override.all())


class DeliveryPage(Schema):
    items: list[DeliveryOut]
    next_cursor: str | None


class DeliveryFilters(Schema):
    from_: Moment | None = Field(None, alias="from", description="Scheduled at or after.")
    to: Moment | None = Field(None, description="Scheduled before.")
    channel: Id | None = None
    state: DeliveryState | None = None
    cursor: str | None = Field(None, max_length=200, description=CURSOR_DESCRIPTION)
    limit: int = Field(50, ge=1, le=100, description=LIMIT_DESCRIPTION)


class DeliveryPatch(Schema):
    """Only while the delivery is a draft or scheduled."""

    text_override: Text | None = Field(None, description="Empty: publish the post's text.")
    first_comment: Text | None = None
    media_override_ids: list[Id] | None = None


def _deliveries(workspace: Workspace) -> QuerySet[Delivery]:
    return (
        Delivery.objects.filter(workspace=workspace)
        .select_related("post")
        .prefetch_related("media_override")
    )


@router.get(
    "/workspaces/{slug}/deliveries",
    response=responses(DeliveryPage),
    operation_id="deliveries_list",
)
@requires("deliveries.view")
def deliveries_list(request: MemberRequest, slug: Slug, filters: Query[DeliveryFilters]) -> dict:
    """Deliveries, newest first; from/to is a half-open range of scheduled times."""
    deliveries = _deliveries(request.workspace).filter(**_delivery_conditions(filters))
    return paginate(deliveries, filters.cursor, filters.limit)


@router.get(
    "/workspaces/{slug}/deliveries/{delivery_id}",
    response=responses(DeliveryOut),
    operation_id="deliveries_read",
)
@requires("deliveries.view")
def deliveries_read(request: MemberRequest, slug: Slug, delivery_id: Id) -> Delivery:
    return get_in_workspace(Delivery, request.workspace, pk=delivery_id)


@router.patch(
    "/workspaces/{slug}/deliveries/{delivery_id}",
    response=responses(DeliveryOut),
    operation_id="deliveries_update",
)
@requires("deliveries.schedule")
def deliveries_update(
    request: MemberRequest, slug: Slug, delivery_id: Id, payload: DeliveryPatch
) -> Delivery:
    """Change this channel's text, first comment or media; refused once it is on its way."""
    delivery = get_in_workspace(Delivery, request.workspace, pk=delivery_id)
    return content_services.update_delivery(
        delivery,
        text_override=payload.text_override,
        first_comment=payload.first_comment,
        media_override_ids=payload.media_override_ids,
    )
