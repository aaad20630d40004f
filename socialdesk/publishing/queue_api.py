"""API: a channel's weekly slots and queue, boost spend and campaign budgets (issue 5,
items 4 and 5) — the same services as the queue page and the calendar."""

from __future__ import annotations

from datetime import date, datetime
from datetime import time as Time
from decimal import Decimal

from ninja import Field, Router, Schema, Status

from socialdesk.api_support import (
    Id,
    MemberRequest,
    Slug,
    Text,
    caller,
    requires,
    responses,
)
from socialdesk.content.models import Campaign
from socialdesk.networks.models import Channel
from socialdesk.workspaces.access import get_in_workspace

from . import planning, queues
from .models import WEEKDAYS, Delivery, Slot

router = Router(tags=["queues"])


class SlotIn(Schema):
    weekday: int = Field(ge=0, le=6, description="0 = Monday … 6 = Sunday.")
    time: Time = Field(description="Wall clock in the channel's time zone, e.g. 09:30.")


class SlotsIn(Schema):
    slots: list[SlotIn] = Field(max_length=queues.MAX_SLOTS)


class SlotOut(Schema):
    weekday: int
    weekday_name: str
    time: str


class SlotsOut(Schema):
    time_zone: str
    items: list[SlotOut]


class EntryOut(Schema):
    delivery_id: int
    post_id: int
    position: int
    scheduled_at: datetime | None
    evergreen: bool
    interval_days: int
    variants: list[str]
    not_before: datetime | None


class QueueOut(Schema):
    channel_id: int
    paused: bool
    entries: list[EntryOut]
    free_slots: list[datetime] = Field(description="The next free slot times (UTC), up to 10.")
    warnings: list[str]


class QueuePatch(Schema):
    paused: bool


class EntryIn(Schema):
    delivery_id: Id
    evergreen: bool = False
    interval_days: int = Field(30, ge=1, le=3650)
    variants: list[Text] = Field(default_factory=list, max_length=queues.MAX_VARIANTS)


class OrderIn(Schema):
    delivery_ids: list[Id] = Field(max_length=10_000)


class BoostIn(Schema):
    amount: Decimal = Field(gt=0, max_digits=12, decimal_places=2)
    spent_on: date | None = None
    note: Text = Field("", max_length=200)


class BudgetOut(Schema):
    campaign_id: int
    budget: Decimal
    spent: Decimal
    percent: float
    warning: str


def _slots(channel: Channel) -> dict:
    return {
        "time_zone": channel.zone.key,
        "items": [
            {"weekday": s.weekday, "weekday_name": WEEKDAYS[s.weekday], "time": f"{s.time:%H:%M}"}
            for s in Slot.objects.filter(channel=channel)
        ],
    }


def _queue(channel: Channel, warnings: list[str] | None = None) -> dict:
    now = datetime.now().astimezone()
    entries = [
        {
            "delivery_id": e.delivery_id,
            "post_id": e.delivery.post_id,
            "position": e.position,
            "scheduled_at": e.delivery.scheduled_at,
            "evergreen": e.evergreen,
            "interval_days": e.interval_days,
            "variants": e.variants,
            "not_before": e.not_before,
        }
        for e in queues.waiting(channel)
    ]
    horizon = now + queues.HORIZON
    return {
        "channel_id": channel.pk,
        "paused": queues.queue_for(channel).paused,
        "entries": entries,
        "free_slots": queues.free_slots(channel, now, horizon)[:10],
        "warnings": warnings or [],
    }


def _channel(request: MemberRequest, channel_id: int) -> Channel:
    return get_in_workspace(Channel, request.workspace, pk=channel_id)


@router.get(
    "/workspaces/{slug}/channels/{channel_id}/slots",
    response=responses(SlotsOut),
    operation_id="slots_list",
)
@requires("deliveries.view")
def slots_list(request: MemberRequest, slug: Slug, channel_id: Id) -> dict:
    """The channel's weekly slots, as wall-clock times in its zone."""
    return _slots(_channel(request, channel_id))


@router.put(
    "/workspaces/{slug}/channels/{channel_id}/slots",
    response=responses(SlotsOut),
    operation_id="slots_replace",
)
@requires("channels.manage")
def slots_replace(request: MemberRequest, slug: Slug, channel_id: Id, payload: SlotsIn) -> dict:
    """Replace the weekly slots; the queue is dealt the new times at once."""
    channel = _channel(request, channel_id)
    queues.set_slots(channel, [(s.weekday, s.time) for s in payload.slots], caller(request))
    return _slots(channel)


@router.get(
    "/workspaces/{slug}/channels/{channel_id}/queue",
    response=responses(QueueOut),
    operation_id="queue_read",
)
@requires("deliveries.view")
def queue_read(request: MemberRequest, slug: Slug, channel_id: Id) -> dict:
    """The waiting posts in order, whether the queue is paused, and the next free slots."""
    return _queue(_channel(request, channel_id))


@router.patch(
    "/workspaces/{slug}/channels/{channel_id}/queue",
    response=responses(QueueOut),
    operation_id="queue_update",
)
@requires("channels.manage")
def queue_update(request: MemberRequest, slug: Slug, channel_id: Id, payload: QueuePatch) -> dict:
    """Pause (waiting posts become drafts, keeping their place) or resume the queue."""
    channel = _channel(request, channel_id)
    result = queues.set_paused(channel, payload.paused, caller(request))
    return _queue(channel, result.warnings)


@router.post(
    "/workspaces/{slug}/channels/{channel_id}/queue/entries",
    response=responses(QueueOut, 201),
    operation_id="queue_add",
)
@requires("deliveries.schedule")
def queue_add(request: MemberRequest, slug: Slug, channel_id: Id, payload: EntryIn) -> Status:
    """Add a draft or scheduled delivery of this channel to the end of its queue; it takes
    the next free slot (or waits, when the queue is paused or has no free slot)."""
    channel = _channel(request, channel_id)
    delivery = get_in_workspace(
        Delivery, channel.workspace, pk=payload.delivery_id, channel=channel
    )
    _, result = queues.add_to_queue(
        delivery,
        caller(request),
        evergreen=payload.evergreen,
        interval_days=payload.interval_days,
        variants=list(payload.variants),
    )
    return Status(201, _queue(channel, result.warnings))


@router.put(
    "/workspaces/{slug}/channels/{channel_id}/queue/order",
    response=responses(QueueOut),
    operation_id="queue_reorder",
)
@requires("deliveries.schedule")
def queue_reorder(request: MemberRequest, slug: Slug, channel_id: Id, payload: OrderIn) -> dict:
    """Put the waiting posts in this order (every one, once); times are dealt out again."""
    channel = _channel(request, channel_id)
    result = queues.reorder(channel, list(payload.delivery_ids), caller(request))
    return _queue(channel, result.warnings)


@router.delete(
    "/workspaces/{slug}/channels/{channel_id}/queue/entries/{delivery_id}",
    response=responses(QueueOut),
    operation_id="queue_remove",
)
@requires("deliveries.schedule")
def queue_remove(request: MemberRequest, slug: Slug, channel_id: Id, delivery_id: Id) -> dict:
    """Take a delivery out of the queue; it keeps its time. Not queued: nothing to do."""
    channel = _channel(request, channel_id)
    delivery = get_in_workspace(Delivery, channel.workspace, pk=delivery_id, channel=channel)
    result = queues.remove_from_queue(delivery, caller(request))
    return _queue(channel, result.warnings)


@router.post(
    "/workspaces/{slug}/deliveries/{delivery_id}/boosts",
    response=responses(BudgetOut | None, 201),  # type: ignore[arg-type]
    operation_id="boosts_create",
)
@requires("taxonomy.manage")
def boosts_create(request: MemberRequest, slug: Slug, delivery_id: Id, payload: BoostIn) -> Status:
    """Record money spent promoting a delivery. Answers its campaign's budget status (with
    a warning at 80 % and 100 %), or null when the post has no campaign."""
    delivery = get_in_workspace(Delivery, request.workspace, pk=delivery_id)
    _, status = planning.record_boost(
        delivery,
        payload.amount,
        spent_on=payload.spent_on,
        note=payload.note,
        actor=caller(request),
    )
    return Status(201, _budget(status) if status else None)


def _budget(status: planning.BudgetStatus) -> dict:
    return {
        "campaign_id": status.campaign.pk,
        "budget": status.budget,
        "spent": status.spent,
        "percent": round(status.percent, 1),
        "warning": status.warning,
    }


@router.get(
    "/workspaces/{slug}/campaigns/{campaign_id}/budget",
    response=responses(BudgetOut),
    operation_id="campaigns_budget",
)
@requires("taxonomy.view")
def campaigns_budget(request: MemberRequest, slug: Slug, campaign_id: Id) -> dict:
    """Boost spend recorded against the campaign's budget."""
    campaign = get_in_workspace(Campaign, request.workspace, pk=campaign_id)
    return _budget(planning.campaign_budget(campaign))
