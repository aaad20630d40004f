"""API: the crisis switch (issue 15, item 6): its state, on and off, the posts it holds, and
sending, moving or cancelling them (``publishing.crisis`` does the work).

Read with ``crisis.view`` (everybody: every page shows the banner); changed with
``crisis.manage`` (owners and managers). An alert may propose the switch; only a person's
request flips it. No ``from __future__ import annotations``: ninja reads the types at import.
"""

from datetime import datetime

from django.core.exceptions import ValidationError
from ninja import Field, Router, Schema, Status

from socialdesk.api_support import (
    Id,
    MemberRequest,
    Slug,
    Text,
    WallClockTime,
    caller,
    requires,
    responses,
)

from . import crisis
from .models import CrisisPause, Delivery

router = Router(tags=["crisis"])


class PauseOut(Schema):
    id: int
    reason: str
    started_at: datetime
    started_by: str = Field(description="Who turned it on (empty: no longer a member).")
    ended_at: datetime | None
    ended_by: str
    released_at: datetime | None = Field(
        description="When the last post it held was decided; empty while it holds some."
    )

    @staticmethod
    def resolve_started_by(pause: CrisisPause) -> str:
        return pause.started_by.email if pause.started_by else ""

    @staticmethod
    def resolve_ended_by(pause: CrisisPause) -> str:
        return pause.ended_by.email if pause.ended_by else ""


class CrisisOut(Schema):
    on: bool = Field(description="The switch is on: no scheduled post goes out.")
    holding: bool = Field(description="Posts are held: the switch is on, or undecided ones wait.")
    held_count: int
    pause: PauseOut | None = Field(description="The pause that holds posts, if any.")


class CrisisStartIn(Schema):
    reason: Text = Field(..., min_length=1, max_length=crisis.REASON_MAX)


class HeldOut(Schema):
    delivery_id: int
    post_id: int
    channel_id: int
    state: str
    scheduled_at: datetime | None
    text: str

    @staticmethod
    def resolve_delivery_id(delivery: Delivery) -> int:
        return delivery.pk


class HeldList(Schema):
    items: list[HeldOut]


class HeldChoice(Schema):
    """Which held posts: ``all``, or the deliveries named (each must be held)."""

    all: bool = False
    delivery_ids: list[Id] = Field([], max_length=1000)


class HeldMove(HeldChoice):
    scheduled_at: WallClockTime = Field(
        ...,
        description=(
            "The new time. With a UTC offset it is that instant; without one it is a "
            "wall-clock time read in time_zone, else in each channel's own zone. A time in "
            "the past is refused."
        ),
    )
    time_zone: Text | None = Field(None, max_length=64, description="An IANA zone.")


def _status(workspace_id: int) -> dict:
    pause = crisis.holding(workspace_id)
    held = crisis.held_deliveries(pause).count() if pause is not None else 0
    return {
        "on": pause is not None and pause.ended_at is None,
        "holding": pause is not None,
        "held_count": held,
        "pause": pause,
    }


def _ids(choice: HeldChoice) -> list[int] | None:
    if choice.all:
        if choice.delivery_ids:
            raise ValidationError({"delivery_ids": ["Give either all or delivery_ids, not both."]})
        return None
    if not choice.delivery_ids:
        raise ValidationError({"delivery_ids": ["Name the held deliveries, or give all: true."]})
    return list(choice.delivery_ids)


@router.get("/workspaces/{slug}/crisis", response=responses(CrisisOut), operation_id="crisis_read")
@requires("crisis.view")
def crisis_read(request: MemberRequest, slug: Slug) -> dict:
    """Whether the switch is on, who turned it on, when and why, and how many posts it holds."""
    return _status(request.workspace.pk)


@router.post(
    "/workspaces/{slug}/crisis/start",
    response=responses(PauseOut, 201),
    operation_id="crisis_start",
)
@requires("crisis.manage")
def crisis_start(request: MemberRequest, slug: Slug, payload: CrisisStartIn) -> Status:
    """Turn the switch on: from now no scheduled post of the workspace goes out (inbox replies
    a person sends still do). Refused when it is on already."""
    return Status(201, crisis.start(request.workspace, caller(request), payload.reason))


@router.post(
    "/workspaces/{slug}/crisis/end", response=responses(PauseOut), operation_id="crisis_end"
)
@requires("crisis.manage")
def crisis_end(request: MemberRequest, slug: Slug) -> CrisisPause:
    """Turn the switch off. Posts that came due meanwhile stay held until sent, moved or
    cancelled (``/crisis/held``). Refused when it is off."""
    return crisis.end(request.workspace, caller(request))


@router.get(
    "/workspaces/{slug}/crisis/held",
    response=responses(HeldList),
    operation_id="crisis_held_list",
)
@requires("crisis.view")
def crisis_held_list(request: MemberRequest, slug: Slug) -> dict:
    """The posts the switch holds, soonest first: while on, those due so far; once off, those
    that came due while it was on and wait for a decision."""
    pause = crisis.holding(request.workspace)
    return {"items": list(crisis.held_deliveries(pause)) if pause is not None else []}


@router.post(
    "/workspaces/{slug}/crisis/held/resume",
    response=responses(HeldList),
    operation_id="crisis_held_resume",
)
@requires("crisis.manage")
def crisis_held_resume(request: MemberRequest, slug: Slug, payload: HeldChoice) -> dict:
    """Send held posts now (after the switch is off); all or nothing."""
    ids = _ids(payload)
    if ids is None and crisis.holding(request.workspace) is None:
        return {"items": []}  # all of none
    return {"items": crisis.resume(request.workspace, caller(request), ids)}


@router.post(
    "/workspaces/{slug}/crisis/held/reschedule",
    response=responses(HeldList),
    operation_id="crisis_held_reschedule",
)
@requires("crisis.manage")
def crisis_held_reschedule(request: MemberRequest, slug: Slug, payload: HeldMove) -> dict:
    """Move held posts to a new time (after the switch is off); all or nothing."""
    ids = _ids(payload)
    if ids is None and crisis.holding(request.workspace) is None:
        return {"items": []}
    moved = crisis.reschedule(
        request.workspace, caller(request), payload.scheduled_at, payload.time_zone, ids
    )
    return {"items": moved}


@router.post(
    "/workspaces/{slug}/crisis/held/cancel",
    response=responses(HeldList),
    operation_id="crisis_held_cancel",
)
@requires("crisis.manage")
def crisis_held_cancel(request: MemberRequest, slug: Slug, payload: HeldChoice) -> dict:
    """Cancel held posts for good (after the switch is off); all or nothing."""
    ids = _ids(payload)
    if ids is None and crisis.holding(request.workspace) is None:
        return {"items": []}
    return {"items": crisis.cancel(request.workspace, caller(request), ids)}
