"""API: a channel's best times to post (issue 14 item 5), read with ``analytics.view``.

No ``from __future__ import annotations``: ninja reads the parameter types at import time.
"""

from datetime import datetime

from django.utils import timezone
from ninja import Field, Router, Schema

from socialdesk.api_support import Id, MemberRequest, Slug, requires, responses
from socialdesk.networks.models import Channel
from socialdesk.workspaces.access import get_in_workspace

from . import best_time
from .models import BestTimes, BestTimeSource

router = Router(tags=["analytics"])


class BestTimeSlotOut(Schema):
    weekday: int = Field(description="0 = Monday … 6 = Sunday, on the channel's clock.")
    hour: int = Field(description="0–23, on the channel's clock.")
    score: float = Field(description="Engagement relative to a typical post (1.0 = typical).")
    posts: int = Field(description="Posts behind this slot.")
    confidence: str = Field(description="high, medium or low (from the count and the spread).")


class BestTimesOut(Schema):
    channel_id: int
    time_zone: str
    source: str = Field(description="own, network (thin history: pooled) or none.")
    source_text: str
    computed_at: datetime | None = Field(description="Null: not computed yet.")
    own_posts: int
    posts: int
    top: list[BestTimeSlotOut] = Field(description="The best slots, best first (at most 3).")
    next_best_time: datetime | None = Field(description="UTC; null when there is none.")
    slots: list[BestTimeSlotOut]
    rule: str


def _slot(slot) -> dict:  # type: ignore[no-untyped-def]
    return {
        "weekday": slot.weekday,
        "hour": slot.hour,
        "score": round(slot.score, 4),
        "posts": slot.posts,
        "confidence": slot.confidence,
    }


@router.get(
    "/workspaces/{slug}/channels/{channel_id}/best-times",
    response=responses(BestTimesOut),
    operation_id="best_times_read",
)
@requires("analytics.view")
def best_times_read(request: MemberRequest, slug: Slug, channel_id: Id) -> dict:
    """The channel's best times as last computed (weekly), with the posts behind each slot."""
    channel = get_in_workspace(Channel, request.workspace, pk=channel_id)
    best = BestTimes.objects.filter(channel=channel).prefetch_related("slots").first()
    upcoming = best_time.next_best_time(channel, timezone.now(), best) if best else None
    source = best.source if best else BestTimeSource.NONE
    return {
        "channel_id": channel.pk,
        "time_zone": best.zone if best else channel.zone.key,
        "source": source,
        "source_text": BestTimeSource(source).label if best else "not computed yet",
        "computed_at": best.computed_at if best else None,
        "own_posts": best.own_posts if best else 0,
        "posts": best.posts if best else 0,
        "top": [_slot(s) for s in best_time.top_slots(best)],
        "next_best_time": upcoming[0] if upcoming else None,
        "slots": [_slot(s) for s in best.slots.all()] if best else [],
        "rule": best_time.RULE,
    }
