"""The editorial calendar and the queue pages (issue 5, items 1, 4 and 5).

The page is a shell: FullCalendar (from npm, ``static/vendor/fullcalendar.min.js``) asks
``calendar_feed`` for the visible range, and htmx loads ``calendar_summary`` (content mix,
campaign budgets) for it. Times go both ways as wall-clock times in the zone chosen on the
page (the workspace's by default): FullCalendar runs in "UTC" so it never converts them.
The move endpoint also takes an exact instant (a ``start`` with ``Z`` or an offset), and
reads wall-clock times with ``publishing.wallclock``: a time the clocks skip or repeat is
refused with the choices, which the page offers as buttons.

Moves and copies go through ``publishing.services`` (``reschedule``) and
``publishing.planning`` (``duplicate_delivery``), so permissions and every scheduling rule
apply; a refused move answers 400 with the reason and the page puts the event back.

Mounted with one ``include`` at ``w/<slug>/calendar/``.
"""

from __future__ import annotations

import json
import re
import zoneinfo
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from typing import Any

from django.apps import apps
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_GET, require_POST

from socialdesk.content.models import Campaign, Label, Pillar, Post
from socialdesk.ids import parse_id
from socialdesk.networks.models import Channel, Network
from socialdesk.publishing import planning, queues, services, wallclock
from socialdesk.publishing.models import Delivery, DeliveryState, Slot
from socialdesk.publishing.queues import WEEKDAY_CHOICES
from socialdesk.workspaces.access import get_in_workspace
from socialdesk.workspaces.models import Membership, Workspace

from .helpers import enter, render_page, time_zone_choices
from .templatetags.when import calendar_locale, when, zone_label

S = DeliveryState
MAX_RANGE = timedelta(days=100)  # a month view spans six weeks; a list view a few more
STATE_COLORS = {
    S.SCHEDULED: "#4338ca",
    S.AWAITING_APPROVAL: "#9a3412",
    S.PUBLISHING: "#0e7490",
    S.WAITING_RETRY: "#a16207",
    S.PUBLISHED: "#15803d",
    S.FAILED: "#b42318",
    S.UNKNOWN: "#9333ea",
    S.MISSED: "#b42318",
}
NO_PILLAR = "#6b7280"
# Stages in workflow order, early (cool) to late (warm); all carry white text at AA contrast.
STAGE_COLORS = ["#475569", "#4338ca", "#7c3aed", "#a21caf", "#be123c", "#b45309", "#15803d"]


# --- Parsing the page's parameters --------------------------------------------------------


def _zone(request: HttpRequest, workspace: Workspace) -> zoneinfo.ZoneInfo:
    name = request.GET.get("tz") or request.POST.get("tz") or workspace.time_zone
    zone = wallclock.zone_named(name)
    assert zone is not None
    return zone


def _local(value: str | None, name: str) -> datetime:
    """A wall-clock datetime (``2026-11-21T09:30[:00]``; a trailing offset or Z is dropped:
    the page sends wall-clock times in the chosen zone)."""
    text = (value or "").strip()
    for suffix in ("Z", "z"):
        text = text.removesuffix(suffix)
    if len(text) > 19 and text[19] in "+-.":
        text = text[:19]
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise ValidationError(
            {name: [f"{value!r} is not a date and time; write it as 2026-11-21T09:30."]}
        ) from None
    return parsed.replace(tzinfo=None)


def _moment(value: str | None, name: str) -> datetime:
    """A ``start`` sent to the move endpoint: with a trailing ``Z`` or an offset
    (``2027-11-07T06:30:00Z``, ``…T01:30:00-05:00``) it is that exact instant (aware); without,
    a wall-clock time in the chosen zone (naive), which ``publishing.wallclock`` reads."""
    text = (value or "").strip()
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise ValidationError(
            {
                name: [
                    f"{value!r} is not a date and time; write it as 2026-11-21T09:30, or "
                    "2026-11-21T08:30Z for an exact instant."
                ]
            }
        ) from None
    return parsed.replace(microsecond=0)


def _fold(request: HttpRequest) -> int | None:
    """The reading of a repeated time the person chose: ``repeated_time`` (earlier/later) or
    ``fold`` (0/1); None when neither is sent."""
    fold = wallclock.fold_of(request.POST.get("repeated_time") or None)
    raw = request.POST.get("fold", "")
    if fold is None and raw != "":
        if raw not in ("0", "1"):
            raise ValidationError({"fold": ["fold is 0 (the earlier reading) or 1 (the later)."]})
        fold = int(raw)
    return fold


def _filters(request: HttpRequest) -> planning.Filters:
    state = request.GET.get("state") or None
    return planning.Filters(
        channel=parse_id(request.GET.get("channel")),
        pillar=parse_id(request.GET.get("pillar")),
        campaign=parse_id(request.GET.get("campaign")),
        label=parse_id(request.GET.get("label")),
        state=state if state in S.values else None,
        author=parse_id(request.GET.get("author")),
        stage=parse_id(request.GET.get("stage")),
        assignee=parse_id(request.GET.get("assignee")),
    )


def _range(request: HttpRequest, zone: zoneinfo.ZoneInfo) -> tuple[datetime, datetime]:
    start = _local(request.GET.get("start"), "start").replace(tzinfo=zone).astimezone(UTC)
    end = _local(request.GET.get("end"), "end").replace(tzinfo=zone).astimezone(UTC)
    if end <= start:
        raise ValidationError({"end": ["'end' must be later than 'start'."]})
    if end - start > MAX_RANGE:
        raise ValidationError({"end": [f"Ask for at most {MAX_RANGE.days} days at a time."]})
    return start, end


def _bad(error: ValidationError) -> JsonResponse:
    return JsonResponse({"error": " ".join(error.messages)}, status=400)


def _text_color(background: str) -> str:
    """Black or white, whichever reads better on ``background`` (#rrggbb)."""
    try:
        r, g, b = (int(background[i : i + 2], 16) / 255 for i in (1, 3, 5))
    except (ValueError, IndexError):
        return "#ffffff"

    def lin(c: float) -> float:
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    luminance = 0.2126 * lin(r) + 0.7152 * lin(g) + 0.0722 * lin(b)
    return "#111827" if luminance > 0.22 else "#ffffff"


# --- Pages --------------------------------------------------------------------------------


def _stages(workspace: Workspace) -> list:
    if not planning.has_workflow():
        return []
    return list(apps.get_model("workflow", "Stage").objects.filter(workspace=workspace))


@lru_cache(maxsize=64)
def _zone_options(selected: str) -> str:
    """The ~600 <option>s of the time zone select, built once per selected zone: rendering
    them through the template language cost a third of the page's time."""
    options = (
        format_html(
            '<option value="{}"{}>{}</option>',
            value,
            " selected" if value == selected else "",
            label,
        )
        for value, label in time_zone_choices()
    )
    return mark_safe("".join(options))  # noqa: S308 - every part escaped by format_html


def _options(workspace: Workspace) -> dict[str, Any]:
    return {
        "stages": _stages(workspace),
        "channels": list(Channel.objects.filter(workspace=workspace)),
        "pillars": list(Pillar.objects.filter(workspace=workspace)),
        "campaigns": list(Campaign.objects.filter(workspace=workspace)),
        "labels": list(Label.objects.filter(workspace=workspace)),
        "states": [(s.value, s.label) for s in S if s not in (S.DRAFT, S.CANCELLED)],
        "authors": list(
            Membership.objects.filter(workspace=workspace)
            .select_related("user")
            .order_by("user__name", "user__email")
        ),
    }


@login_required
@require_GET
def calendar(request: HttpRequest, slug: str) -> HttpResponse:
    """The calendar page: filters, time zone, colour choice, and FullCalendar's mount point."""
    membership = enter(request, slug, "deliveries.view")
    workspace = membership.workspace
    try:
        zone = _zone(request, workspace)
    except ValidationError:
        zone = workspace.zone
    view = request.GET.get("view", "dayGridMonth")
    view_chosen = view == request.GET.get("view")
    if view not in ("dayGridMonth", "timeGridWeek", "timeGridDay", "listWeek"):
        view = "dayGridMonth"
    context = {
        **_options(workspace),
        "zone": zone.key,
        "zone_options": _zone_options(zone.key),
        "filters": _filters(request),
        "color_by": _color_by(request),
        "has_workflow": planning.has_workflow(),
        "view": view,
        "initial_date": request.GET.get("date", "")[:10],
        "can_schedule": membership.can("deliveries.schedule"),
        "can_spend": membership.can("taxonomy.manage"),
        "today": datetime.now(zone).date(),
        "view_chosen": view_chosen,
        "locale": calendar_locale(),
        "scroll_time": _scroll_time(workspace, zone),
    }
    return render_page(request, "web/calendar/calendar.html", context)


def _scroll_time(workspace: Workspace, zone: zoneinfo.ZoneInfo) -> str:
    """Where the week and day views open: the hour of the workspace's earliest queue slot (on
    this week's wall clock in the page's zone), else 08:00."""
    today = datetime.now(zone).date()
    earliest = None
    for slot in Slot.objects.filter(workspace=workspace).select_related("channel__workspace"):
        local = datetime.combine(today, slot.time, tzinfo=slot.channel.zone).astimezone(zone)
        if earliest is None or local.time() < earliest:
            earliest = local.time()
    hour = earliest.hour if earliest is not None else 8
    return f"{hour:02d}:00:00"


def _color_by(request: HttpRequest) -> str:
    value = request.GET.get("color", "pillar")
    return value if value in ("pillar", "stage", "state") else "pillar"


STATE_LABELS = dict(S.choices)
NETWORK_LABELS = dict(Network.choices)


def _summary(title: str, excerpt: str) -> str:
    """What ``str(post)`` says, from the row's title and the first 61 characters of text."""
    if title:
        return title
    return excerpt[:60] + ("…" if len(excerpt) > 60 else "")


def _wall(local: datetime) -> str:
    """``2026-11-21T09:30:00``: the wall-clock time FullCalendar reads (isoformat is several
    times faster than strftime, which counts at a thousand events)."""
    return local.replace(tzinfo=None).isoformat(timespec="seconds")


class _Events:
    """Turns feed rows (``planning.calendar_rows``) into FullCalendar events."""

    def __init__(self, slug: str, zone: zoneinfo.ZoneInfo, color_by: str, can_move: bool):
        self.zone = zone
        self.color_by = color_by
        self.can_move = can_move
        # One reverse() for all events; the post id is put in afterwards.
        self.post_url = reverse("post_edit", args=[slug, 999999999]).replace("999999999", "{}")
        self.text_colors: dict[str, str] = {}
        self.per_post: dict[int, int] = {}  # how many of each post's copies the feed holds

    def __call__(self, row: dict) -> dict:
        local = row["scheduled_at"].astimezone(self.zone)
        state = row["state"]
        stage_name = row.get("post__workflow__stage__name")
        if self.color_by == "stage" and stage_name is not None:
            position = row["post__workflow__stage__position"]
            color = STAGE_COLORS[position % len(STAGE_COLORS)]
        elif self.color_by in ("state", "stage"):
            color = STATE_COLORS.get(state, NO_PILLAR)
        else:
            color = row["post__pillar__color"] or NO_PILLAR
        if color not in self.text_colors:
            self.text_colors[color] = _text_color(color)
        thumb = row["thumb"]
        waiting = state == S.AWAITING_APPROVAL
        shown_stage = stage_name or STATE_LABELS.get(state, state)
        if waiting:  # never shown as "Scheduled": it goes out only once approved
            shown_stage = "Waiting for approval" + (f" · {stage_name}" if stage_name else "")
        # Kept small on purpose (a busy month holds over a thousand events): the channel's
        # names travel once in the answer's "channels", the post's address as "post_url".
        return {
            "id": str(row["id"]),
            "title": _summary(row["post__title"], row["excerpt"] or ""),
            "start": _wall(local),
            "color": color,
            "textColor": self.text_colors[color],
            "editable": self.can_move and state in (S.SCHEDULED, S.AWAITING_APPROVAL),
            "extendedProps": {
                "kind": "delivery",
                "post": row["post_id"],
                "ch": row["channel_id"],
                "n": self.per_post.get(row["post_id"], 1),
                "tz": zone_label(local),
                "stage": shown_stage,
                "pillar": row["post__pillar__name"] or "",
                "thumb": f"{settings.MEDIA_URL}{thumb}" if thumb else "",
                **({"flag": "waiting"} if waiting else {}),
            },
        }


@login_required
@require_GET
def calendar_feed(request: HttpRequest, slug: str) -> JsonResponse:
    """FullCalendar's events for [start, end): deliveries, free queue slots, and the day
    budget warnings of the channels that have a busy day in the range.

    ``per_day=N`` (the month grid) sends at most N events a day: a fuller day gets its first
    N - 1 deliveries and a "+K more" event that opens the day, so a busy month reads and
    sends a few events a day instead of every one of its thousands; week, day and list views
    ask for everything. Free slots and warnings then read just the deliveries they need."""
    membership = enter(request, slug, "deliveries.view")
    workspace = membership.workspace
    try:
        zone = _zone(request, workspace)
        start, end = _range(request, zone)
    except ValidationError as exc:
        return _bad(exc)
    filters = _filters(request)
    per_day = parse_id(request.GET.get("per_day"))  # any positive whole number; capped next
    per_day = max(2, min(per_day, 20)) if per_day else None
    event = _Events(slug, zone, _color_by(request), membership.can("deliveries.schedule"))
    rows = planning.calendar_rows(workspace, start, end, filters, per_day=per_day, zone=zone)
    more: list[dict] = []
    if per_day:
        rows, more = _month_grid(rows, zone, per_day, slug)
        event.per_post = {
            row["post_id"]: row["timed_copies"] for row in rows if row["timed_copies"]
        }
    else:
        for row in rows:
            if row["state"] in services.TIMED:
                event.per_post[row["post_id"]] = event.per_post.get(row["post_id"], 0) + 1
    events = [event(row) for row in rows] + more
    # Every channel of the workspace, read once: the answer names them, free slots use them.
    channel_list = list(Channel.objects.in_workspace(workspace).select_related("workspace"))
    if request.GET.get("slots", "1") == "1" and not filters.state:
        full = {m["extendedProps"]["day"] for m in more}
        slots = _free_slot_events(
            workspace, filters, start, end, zone, None if per_day else rows, channel_list
        )
        events += [s for s in slots if s["start"][:10] not in full]
    budgeted = _budgeted_networks()
    if per_day:  # the rows hold only part of each day: ask for the days' posts on budgets
        busy_rows = planning.brief_rows(
            workspace, start, end, filters, states=BUDGET_STATES, networks=budgeted
        )
    else:
        busy_rows = rows
    channels = {c.pk: {"name": str(c), "handle": c.handle} for c in channel_list}
    return JsonResponse(
        {
            "events": events,
            "channels": channels,
            "post_url": event.post_url,
            "warnings": _day_warnings(workspace, busy_rows, budgeted),
        }
    )


def _month_grid(
    rows: list[dict], zone: zoneinfo.ZoneInfo, per_day: int, slug: str
) -> tuple[list[dict], list[dict]]:
    """A month grid's rows (``calendar_rows`` with ``per_day``): a day with more than
    ``per_day`` deliveries shows its first ``per_day`` - 1 and a "+K more" event, last in its
    day, that opens the day view."""
    shown, more = [], []
    day_url = reverse("calendar", args=[slug])
    for row in rows:
        total = row["day_total"]
        if total <= per_day or row["day_rank"] < per_day:
            shown.append(row)
            continue
        day = row["scheduled_at"].astimezone(zone).date().isoformat()
        hidden = total - (per_day - 1)
        more.append(
            {
                "id": f"more-{day}",
                "title": f"+{hidden} more",
                "start": f"{day}T23:59:59",
                "editable": False,
                "url": f"{day_url}?view=timeGridDay&date={day}",
                "classNames": ["more-link"],
                "extendedProps": {"kind": "more", "day": day, "hidden": hidden, "all": total},
            }
        )
    return shown, more


def _free_slot_events(
    workspace, filters, start, end, zone, rows: list[dict] | None, channels: list[Channel]
) -> list[dict]:
    """``queues.free_slots`` of each channel with slots, with the times its deliveries hold
    taken from the feed's ``rows`` (every delivery of the range once no filter but the
    channel narrows them) instead of asking the database again; with ``rows`` None (a month
    grid's rows hold only part of each day), one brief query asks which slot times are held."""
    narrowed = [filters.pillar, filters.campaign, filters.label, filters.author, filters.stage]
    if any(narrowed) or filters.assignee:
        return []
    slots: dict[int, list[Slot]] = {}
    for slot in Slot.objects.filter(workspace=workspace):
        if not filters.channel or slot.channel_id == filters.channel:
            slots.setdefault(slot.channel_id, []).append(slot)
    if not slots:
        return []
    channel_ids = set(slots)
    channels = [c for c in channels if c.pk in channel_ids]
    slot_times = {
        c.pk: queues.free_slots(c, start, end, taken=set(), slots=slots[c.pk]) for c in channels
    }
    if rows is None:
        rows = planning.brief_rows(
            workspace,
            start,
            end,
            filters,
            states=queues.HOLDS_TIME,
            channel_ids=channel_ids,
            times={at for times in slot_times.values() for at in times},
        )
    taken: dict[int, set[datetime]] = {}
    for row in rows:
        if row["state"] in queues.HOLDS_TIME:
            taken.setdefault(row["channel_id"], set()).add(row["scheduled_at"])
    events = []
    for channel in channels:
        held = taken.get(channel.pk, set())
        for at in slot_times[channel.pk]:
            if at in held:
                continue
            local = at.astimezone(zone)
            events.append(
                {
                    "id": f"slot-{channel.pk}-{at:%Y%m%d%H%M}",
                    "title": f"Free slot · {channel.handle}",
                    "start": _wall(local),
                    "editable": False,
                    "classNames": ["free-slot"],
                    "extendedProps": {"kind": "slot", "ch": channel.pk},
                }
            )
    return events


def _budgeted_networks() -> set[str]:
    """Networks whose connector declares posting budgets; a day on any other never breaks one,
    so the feed does not ask about it."""
    from socialdesk.publishing import pacing
    from socialdesk.publishing.connectors import REGISTRY

    return {name for name, factory in REGISTRY.items() if pacing.limits_of(factory)}


# The deliveries that spend a day's posting budget when they go out.
BUDGET_STATES = (S.SCHEDULED, S.WAITING_RETRY)


def _day_warnings(workspace: Workspace, rows: list[dict], budgeted: set[str]) -> list[str]:
    """``services.budget_warnings`` for each channel-day with two or more posts (a single
    post never breaks a day's budget), at most 60 checks per answer."""
    per_day: dict[tuple[int, date], int] = {}
    for row in rows:
        if row["state"] not in BUDGET_STATES:
            continue
        if row["channel__network"] not in budgeted:
            continue
        zone = zoneinfo.ZoneInfo(row["channel__time_zone"]) if row["channel__time_zone"] else None
        day = row["scheduled_at"].astimezone(zone or workspace.zone).date()
        key = (row["channel_id"], day)
        per_day[key] = per_day.get(key, 0) + 1
    busy = sorted((key for key, count in per_day.items() if count > 1), key=lambda k: k[1])
    if not busy:
        return []
    channels = Channel.objects.in_workspace(workspace).filter(pk__in={c for c, _ in busy})
    by_id = {c.pk: c for c in channels.select_related("workspace")}
    warnings: list[str] = []
    for channel_id, day in busy[:60]:
        warnings += services.budget_warnings(by_id[channel_id], day)
    return warnings


@login_required
@require_GET
def calendar_summary(request: HttpRequest, slug: str) -> HttpResponse:
    """The visible period's content mix against the pillars' targets and the running
    campaigns' boost budgets (an htmx fragment; a page of its own without JS)."""
    membership = enter(request, slug, "deliveries.view")
    workspace = membership.workspace
    try:
        zone = _zone(request, workspace)
        start, end = _range(request, zone)
    except ValidationError as exc:
        return HttpResponse(" ".join(exc.messages), status=400)
    mix = planning.content_mix(workspace, start, end, _filters(request))
    last_day = (end - timedelta(seconds=1)).astimezone(zone).date()
    budgets = planning.budgets_for(workspace, start.astimezone(zone).date(), last_day)
    context = {
        "mix": mix,
        "mix_warnings": [s.warning for s in mix if s.warning],
        "budgets": budgets,
        "period_start": start.astimezone(zone).date(),
        "period_end": last_day,
    }
    return render_page(
        request, "web/calendar/summary_page.html", context, partial="web/calendar/_summary.html"
    )


# --- Moves --------------------------------------------------------------------------------


def _wants_json(request: HttpRequest) -> bool:
    return "application/json" in request.headers.get("Accept", "")


def _answer(request: HttpRequest, slug: str, payload: dict, status: int = 200) -> HttpResponse:
    """JSON for the calendar's scripts; a message and a redirect for a plain form post."""
    if _wants_json(request):
        return JsonResponse(payload, status=status)
    level = messages.error if status >= 400 else messages.success
    level(request, payload.get("error") or payload.get("message", ""))
    for warning in payload.get("warnings", []):
        messages.warning(request, warning)
    return redirect(reverse("calendar", args=[slug]) + f"?tz={request.POST.get('tz', '')}")


def _restore(request: HttpRequest, slug: str, workspace: Workspace) -> HttpResponse:
    """The undo of a move: every delivery the move changed back on its exact instant."""
    try:
        wanted = json.loads(request.POST.get("restore", ""))
        instants = {int(pk): datetime.fromisoformat(at) for pk, at in wanted.items()}
    except (ValueError, TypeError, AttributeError):
        return _answer(request, slug, {"error": "Nothing to undo; reload the page."}, status=400)
    post = get_in_workspace(Post, workspace, pk=parse_id(request.POST.get("post")) or 0)
    try:
        services.restore_times(post, instants, request.user)  # type: ignore[arg-type]
    except ValidationError as exc:
        return _answer(request, slug, {"error": " ".join(exc.messages)}, status=400)
    return _answer(request, slug, {"message": "Moved back."})


@login_required
@require_POST
def calendar_move(request: HttpRequest, slug: str) -> HttpResponse:
    """Move a post (drag and drop), or one channel's copy of it, and undo a move.

    ``delivery`` is the copy that was dragged. The post moves as one: that copy goes to
    ``start`` and every other scheduled copy of the post by the same wall-clock amount in its
    own zone (``services.reschedule(post, …, anchor=…)``), so copies that shared a time still
    share one. ``only=1`` moves the dragged copy alone and the confirmation says so.

    ``start`` is a wall-clock time in the page's zone, or an exact instant when it carries
    ``Z`` or an offset; ``repeated_time`` (or ``fold``) picks the reading of a time the clocks
    show twice. A time the clocks skip or show twice without a choice is refused with
    ``wallclock``'s message and, for the page to offer them, its ``choices``: each with a
    ``label``, the exact ``instant``, and for a repeated time the ``repeated_time`` to send.

    The answer's ``undo`` is what to post back to undo the whole move: the post and each
    moved copy's exact instant before it (``restore``).
    """
    membership = enter(request, slug, "deliveries.schedule")
    workspace = membership.workspace
    if "restore" in request.POST:
        return _restore(request, slug, workspace)
    delivery = get_in_workspace(Delivery, workspace, pk=parse_id(request.POST.get("delivery")) or 0)
    only = request.POST.get("only") in ("1", "on", "true")
    timed = delivery.post.deliveries.filter(state__in=services.TIMED)
    siblings = list(timed.select_related("channel"))
    together = not only and len(siblings) > 1 and delivery.state in services.TIMED
    before = {d.pk: d.scheduled_at for d in (siblings if together else [delivery])}
    try:
        zone = _zone(request, workspace)
        start = _moment(request.POST.get("start"), "start")
        fold = _fold(request)
        target: Delivery | Post = delivery.post if together else delivery
        moved = services.reschedule(
            target,
            start,
            zone,
            request.user,  # type: ignore[arg-type]
            fold=fold,
            anchor=delivery if together else None,
        )
    except wallclock.WallClockError as refusal:
        return _answer(request, slug, _refusal(refusal), status=400)
    except ValidationError as exc:
        return _answer(request, slug, {"error": " ".join(exc.messages)}, status=400)
    delivery.refresh_from_db(fields=["scheduled_at"])
    local = when(delivery.scheduled_at or start, zone)
    if together:
        others = [d for d in moved if d.pk != delivery.pk]
        times = "; ".join(f"{d.channel.handle} {when(d.scheduled_at, zone)}" for d in others)
        message = (
            f"Moved the post on all {len(moved)} channels: {delivery.channel.handle} to {local}"
        )
        message += f", {times}." if times else "."
    elif len(siblings) > 1:
        message = (
            f"Moved the {delivery.channel.handle} copy only, to {local}; the post's other "
            "channels keep their times."
        )
    else:
        message = f"Moved to {local}."
    return _answer(
        request,
        slug,
        {
            "message": message,
            "warnings": moved.warnings,
            # The exact instants they had, so undo puts them back even inside a repeated hour.
            "undo": {
                "post": delivery.post_id,
                "restore": json.dumps(
                    {str(pk): at.isoformat() for pk, at in before.items() if at is not None}
                ),
            },
        },
    )


def _refusal(refusal: wallclock.WallClockError) -> dict[str, Any]:
    choices = []
    for choice in refusal.choices:
        option = {"label": choice.label, "instant": choice.instant, "start": _wall(choice.local)}
        if refusal.kind == "repeated":
            option["repeated_time"] = "earlier" if choice.fold == 0 else "later"
        choices.append(option)
    return {"error": refusal.message_text, "kind": refusal.kind, "choices": choices}


@login_required
@require_POST
def calendar_duplicate(request: HttpRequest, slug: str) -> HttpResponse:
    """Copy a post, every channel of it (or only ``channel``), as a new post "… (copy)" on a
    day of the person's choosing (``planning.duplicate_delivery``)."""
    membership = enter(request, slug, "deliveries.schedule")
    if not membership.can("posts.create"):
        raise PermissionDenied("Your role does not allow creating posts.")
    workspace = membership.workspace
    delivery = get_in_workspace(Delivery, workspace, pk=parse_id(request.POST.get("delivery")) or 0)
    channel = None
    if request.POST.get("channel"):
        channel_id = parse_id(request.POST.get("channel")) or 0
        channel = get_in_workspace(Channel, workspace, pk=channel_id)
    try:
        zone = _zone(request, workspace)
        start = _moment(request.POST.get("start"), "start")
        copies = planning.duplicate_delivery(
            delivery,
            start,
            channel=channel,
            zone=zone.key,
            actor=request.user,  # type: ignore[arg-type]
            fold=_fold(request),
        )
    except wallclock.WallClockError as refusal:
        return _answer(request, slug, _refusal(refusal), status=400)
    except ValidationError as exc:
        return _answer(request, slug, {"error": " ".join(exc.messages)}, status=400)
    copy = next((c for c in copies if c.channel_id == delivery.channel_id), copies[0])
    times = ", ".join(f"{c.channel.handle} {when(c.scheduled_at, zone)}" for c in copies)
    return _answer(
        request,
        slug,
        {
            "message": f"Copied as “{copy.post.title}” on {len(copies)} "
            f"channel{'s' if len(copies) != 1 else ''}: {times}.",
            "warnings": copies.warnings,
            "delivery": copy.pk,
            "post": copy.post_id,
        },
    )


@login_required
@require_POST
def calendar_boost(request: HttpRequest, slug: str) -> HttpResponse:
    """Record boost spend on a delivery; warns at 80 % and 100 % of its campaign's budget."""
    membership = enter(request, slug, "taxonomy.manage")
    delivery = get_in_workspace(
        Delivery, membership.workspace, pk=parse_id(request.POST.get("delivery")) or 0
    )
    try:
        _, status = planning.record_boost(
            delivery,
            request.POST.get("amount", "").strip().replace(",", ".") or "0",
            note=request.POST.get("note", "")[:300],
            actor=request.user,  # type: ignore[arg-type]
        )
    except ValidationError as exc:
        return _answer(request, slug, {"error": " ".join(exc.messages)}, status=400)
    warnings = [status.warning] if status and status.warning else []
    spent = f" — {status.spent:,.2f} of {status.budget:,.2f} spent" if status else ""
    return _answer(
        request, slug, {"message": f"Boost spend recorded{spent}.", "warnings": warnings}
    )


# --- Queues -------------------------------------------------------------------------------


@login_required
@require_GET
def queue_list(request: HttpRequest, slug: str) -> HttpResponse:
    membership = enter(request, slug, "deliveries.view")
    channels = list(Channel.objects.filter(workspace=membership.workspace))
    return render_page(request, "web/calendar/queue_list.html", {"channels": channels})


def _queue_context(channel: Channel, membership: Membership) -> dict[str, Any]:
    now = datetime.now(UTC)
    entries = queues.waiting(channel)
    queued = {e.delivery_id for e in entries}
    drafts = (
        Delivery.objects.filter(channel=channel, state__in=services.UNSENT)
        .exclude(pk__in=queued)
        .select_related("post")
        .order_by("-post__created_at")[:50]
    )
    return {
        "channel": channel,
        "zone": channel.zone.key,
        "queue": queues.queue_for(channel),
        "slots": list(Slot.objects.filter(channel=channel)),
        "entries": entries,
        "drafts": drafts,
        "weekdays": WEEKDAY_CHOICES,
        "upcoming": queues.free_slots(channel, now, now + timedelta(days=14))[:10],
        # The coming year's changes of the clocks that move a slot, and the rule they follow.
        "clock_notes": queues.clock_notes(channel, now, now + timedelta(days=366)),
        "slot_rule": queues.SLOT_RULE,
        "can_manage": membership.can("channels.manage"),
        "can_schedule": membership.can("deliveries.schedule"),
    }


@login_required
def queue_detail(request: HttpRequest, slug: str, channel_id: int) -> HttpResponse:
    """A channel's weekly slots and its queue; every change is a plain form post."""
    membership = enter(request, slug, "deliveries.view")
    channel = get_in_workspace(Channel, membership.workspace, pk=channel_id)
    if request.method == "POST":
        return _queue_action(request, membership, channel)
    return render_page(
        request,
        "web/calendar/queue.html",
        _queue_context(channel, membership),
        partial="web/calendar/_queue.html",
    )


def _queue_action(request: HttpRequest, membership: Membership, channel: Channel) -> HttpResponse:
    action = request.POST.get("action", "")
    needs = {
        "slot_add": "channels.manage",
        "slot_remove": "channels.manage",
        "pause": "channels.manage",
        "resume": "channels.manage",
        "add": "deliveries.schedule",
        "up": "deliveries.schedule",
        "down": "deliveries.schedule",
        "remove": "deliveries.schedule",
    }
    if action not in needs:
        messages.error(request, "Unknown action; reload the page and try again.")
        return redirect("queue_detail", membership.workspace.slug, channel.pk)
    enter(request, membership.workspace.slug, needs[action])
    user = request.user
    result: queues.Refilled | None = None
    try:
        if action == "slot_add":
            day, at = queues.parse_slot(
                request.POST.get("weekday", ""), request.POST.get("time", "")
            )
            current = [(s.weekday, s.time) for s in Slot.objects.filter(channel=channel)]
            queues.set_slots(channel, [*current, (day, at)], user)  # type: ignore[arg-type]
            messages.success(request, f"Slot added: {WEEKDAY_CHOICES[day][1]} {at:%H:%M}.")
        elif action == "slot_remove":
            slot_id = parse_id(request.POST.get("slot"))
            current = [
                (s.weekday, s.time)
                for s in Slot.objects.filter(channel=channel).exclude(pk=slot_id)
            ]
            queues.set_slots(channel, current, user)  # type: ignore[arg-type]
            messages.success(request, "Slot removed.")
        elif action in ("pause", "resume"):
            result = queues.set_paused(channel, action == "pause", user)  # type: ignore[arg-type]
            messages.success(
                request, "Queue paused." if action == "pause" else "Queue running again."
            )
        else:
            delivery = get_in_workspace(
                Delivery,
                membership.workspace,
                pk=parse_id(request.POST.get("delivery")) or 0,
                channel=channel,
            )
            if action == "add":
                _, result = queues.add_to_queue(
                    delivery,
                    user,  # type: ignore[arg-type]
                    evergreen=request.POST.get("evergreen") == "on",
                    # Any positive whole number; the service checks the range.
                    interval_days=parse_id(request.POST.get("interval_days")) or 30,
                    variants=re.split(r"\r?\n---\r?\n", request.POST.get("variants", "")),
                )
                delivery.refresh_from_db()
                if delivery.scheduled_at:
                    when = delivery.scheduled_at.astimezone(channel.zone)
                    messages.success(request, f"Added to the queue: {when:%A %d %B, %H:%M}.")
                else:
                    messages.success(request, "Added to the queue; it waits for a free slot.")
            elif action in ("up", "down"):
                result = queues.move(channel, delivery.pk, -1 if action == "up" else 1, user)  # type: ignore[arg-type]
            else:
                result = queues.remove_from_queue(delivery, user)  # type: ignore[arg-type]
                messages.success(request, "Taken out of the queue; it keeps its time.")
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    for warning in result.warnings if result else []:
        messages.warning(request, warning)
    return redirect("queue_detail", membership.workspace.slug, channel.pk)


urlpatterns = [
    path("", calendar, name="calendar"),
    path("feed/", calendar_feed, name="calendar_feed"),
    path("summary/", calendar_summary, name="calendar_summary"),
    path("move/", calendar_move, name="calendar_move"),
    path("duplicate/", calendar_duplicate, name="calendar_duplicate"),
    path("boost/", calendar_boost, name="calendar_boost"),
    path("queues/", queue_list, name="queue_list"),
    path("queues/<int:channel_id>/", queue_detail, name="queue_detail"),
]
