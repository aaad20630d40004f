"""Scheduling: the operations the API, the web UI, the CLI and tasks all call.

``schedule``, ``reschedule``, ``unschedule``, ``cancel`` and ``publish_now`` take one
delivery or a whole post (meaning its deliveries that are still drafts or scheduled).
Each one validates everything first and then writes inside one transaction, so bad input
raises ``django.core.exceptions.ValidationError`` (a dict of field → messages, each saying
what to fix) and leaves nothing half-written. State changes go through
``states.transition`` and so are recorded.

Time: a person picks a wall-clock time (a naive datetime) in a zone: the one given, else the
channel's, else the workspace's. It is stored in UTC and never moves afterwards, whatever
daylight saving does. A wall-clock time that does not exist (spring-forward gap) or exists
twice (fall-back) is refused with a ``WallClockError`` that names the valid choices; an
ambiguous time is accepted with ``fold`` (0 = the first occurrence, 1 = the second, as in
Python's ``datetime.fold``) or with the intended UTC ``offset``.
"""

from __future__ import annotations

import re
import zoneinfo
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from socialdesk.content.models import Post
from socialdesk.networks.models import Channel
from socialdesk.workspaces.models import User

from . import pacing
from .connectors import connector_for, content_for, problem_text
from .models import Delivery, DeliveryState
from .states import TransitionConflict, transition
from .tasks import enqueue_delivery
from .wallclock import WallClockError, to_utc, zone_named

S = DeliveryState
# A delivery in one of these states can still be given a time, moved or taken back.
UNSENT = (S.DRAFT, S.SCHEDULED)

# A person, or a string naming the machinery ("system: cli"); see states.transition.
Actor = User | str | None


# --- Rules checked at schedule time and again at send time --------------------------------


def approval_required_and_missing(delivery: Delivery) -> bool:
    """True when the workspace requires approval before publishing and the post's current
    version lacks an approval its lane needs (``workflow.approvals.is_approved``)."""
    if not delivery.workspace.requires_approval:
        return False
    from socialdesk.workflow.approvals import is_approved

    return not is_approved(delivery.post)


def channel_problem(channel: Channel) -> str | None:
    if channel.is_connected:
        return None
    if channel.status == "needs_reconnect":
        return f"{channel} needs reconnecting: its authorization was revoked or expired."
    return f"{channel} is disconnected; connect it again first."


def content_problems(delivery: Delivery) -> dict[str, list[str]]:
    """What the channel's network refuses in this delivery's content, by field (empty: fine)."""
    connector = connector_for(delivery.channel)
    if connector is None:
        return {}
    errors: dict[str, list[str]] = {}
    for problem in connector.validate(content_for(delivery)):
        name, message = problem_text(problem)
        errors.setdefault(name, []).append(f"{delivery.channel}: {message}")
    return errors


def send_problems(delivery: Delivery) -> dict[str, list[str]]:
    """Everything that stops ``delivery`` going out now, except its time, by field."""
    errors: dict[str, list[str]] = {}
    if problem := channel_problem(delivery.channel):
        errors.setdefault("channel", []).append(problem)
    else:
        _merge(errors, content_problems(delivery))
    if approval_required_and_missing(delivery):
        errors.setdefault("approval", []).append(
            "This workspace requires approval before publishing, and the post is not approved."
        )
    return errors


# --- Budgets: warnings, not errors (issue 3, item 7) ----------------------------------------


class ScheduledDeliveries(list[Delivery]):
    """The deliveries ``schedule``, ``reschedule`` and ``publish_now`` return — a plain list,
    so existing callers keep working — with ``warnings``: sentences to show the person, such
    as a day's plan that would spend more than the network allows (``budget_warnings``). The
    engine paces such a plan (``pacing``): nothing is refused, some posts go out later."""

    warnings: list[str]

    def __init__(self, deliveries=(), warnings: list[str] | None = None) -> None:
        super().__init__(deliveries)
        self.warnings = list(warnings or [])


def _local_day_bounds(zone: zoneinfo.ZoneInfo, day: date) -> tuple[datetime, datetime]:
    start = datetime.combine(day, time(), tzinfo=zone).astimezone(UTC)
    end = datetime.combine(day + timedelta(days=1), time(), tzinfo=zone).astimezone(UTC)
    return start, end


def budget_warnings(channel: Channel, day: date) -> list[str]:
    """What the deliveries planned for ``channel`` on its local ``day`` (its zone, else the
    workspace's) would spend beyond a budget its network declares: one sentence per broken
    limit, naming the channel, the day and the budget. Empty when the plan fits.

    Counts scheduled deliveries (and retries) of that day against each declared limit over its
    busiest window; a window longer than the day counts the day's plan alone.
    """
    connector = connector_for(channel)
    limits = pacing.limits_of(connector)
    if not limits:
        return []
    start, end = _local_day_bounds(channel.zone, day)
    rows = Delivery.objects.filter(
        channel=channel,
        state__in=[S.SCHEDULED, S.WAITING_RETRY],
        scheduled_at__gte=start,
        scheduled_at__lt=end,
    ).select_related("post", "channel", "workspace")
    planned = [(d.scheduled_at, pacing.cost_of(connector, content_for(d))) for d in rows]
    label = channel.get_network_display()
    warnings = []
    for limit in limits:
        peak, at = pacing.busiest(planned, limit)
        if peak <= limit.points or at is None:
            continue
        window = pacing.window_text(limit.window)
        if limit.window < timedelta(days=1):
            when = f" in the {window} from {at.astimezone(channel.zone):%H:%M}"
        else:
            when = ""
        warnings.append(
            f"{channel} on {day:%A %d %B %Y}: the posts planned{when} spend {peak:,} "
            f"{limit.unit}, more than {pacing.budget_text(label, limit)} for this account. "
            "Socialdesk will hold some back until there is room, so they will go out late; "
            "spread them out to keep their times."
        )
    return warnings


def _with_warnings(deliveries: list[Delivery]) -> ScheduledDeliveries:
    warnings: list[str] = []
    seen: set[tuple[int, date]] = set()
    for delivery in deliveries:
        if delivery.scheduled_at is None:
            continue
        key = (delivery.channel_id, delivery.scheduled_at.astimezone(delivery.channel.zone).date())
        if key in seen:
            continue
        seen.add(key)
        warnings += budget_warnings(delivery.channel, key[1])
    return ScheduledDeliveries(deliveries, warnings)


# --- The operations -----------------------------------------------------------------------


def _deliveries(target: Delivery | Post, states: tuple[str, ...]) -> list[Delivery]:
    if isinstance(target, Post):
        rows = list(target.deliveries.select_related("channel", "workspace", "post").order_by("id"))
        chosen = [d for d in rows if d.state in states]
        if not chosen:
            raise ValidationError(
                {"deliveries": ["This post has no delivery that can be changed this way."]}
            )
        return chosen
    delivery = (
        Delivery.objects.select_related("channel", "workspace", "post").filter(pk=target.pk).first()
    )
    if delivery is None:
        raise ValidationError({"delivery": ["This delivery no longer exists."]})
    if delivery.state not in states:
        raise ValidationError(
            {
                "state": [
                    f"The delivery to {delivery.channel} is "
                    f"{delivery.get_state_display().lower()}; this cannot be done now."
                ]
            }
        )
    return [delivery]


def _merge(errors: dict[str, list[str]], more: dict[str, list[str]]) -> None:
    for name, messages in more.items():
        for message in messages:
            if message not in errors.setdefault(name, []):
                errors[name].append(message)


def _move_all(
    plan: list[tuple[Delivery, datetime | None]],
    to: DeliveryState,
    reason: str,
    actor: Actor,
    run_now: bool = False,
) -> list[Delivery]:
    """Apply the moves in one transaction; a delivery a worker took meanwhile undoes all."""
    with transaction.atomic():
        for delivery, when in plan:
            fields: dict = {"scheduled_at": when}
            if to == S.SCHEDULED:
                fields.update(retry_at=None, last_error="", attempts=0)
            try:
                transition(delivery, to, reason, actor, **fields)
            except TransitionConflict:
                raise ValidationError(
                    {"state": [f"The delivery to {delivery.channel} changed meanwhile; reload."]}
                ) from None
            if to == S.SCHEDULED:
                enqueue_delivery(delivery, run_after=None if run_now else when)
    return [delivery for delivery, _ in plan]


def _when(local: datetime, zone: zoneinfo.ZoneInfo, fold: int | None, offset, now: datetime):
    utc = to_utc(local, zone, fold=fold, offset=offset)
    if utc <= now:
        shown = local.astimezone(zone) if timezone.is_aware(local) else local
        raise ValidationError(
            {
                "scheduled_at": [
                    f"{shown:%Y-%m-%d %H:%M} in {zone.key} is in the past (it is now "
                    f"{now.astimezone(zone):%Y-%m-%d %H:%M} there); choose a later time."
                ]
            }
        )
    return utc


def _schedule(
    deliveries: list[Delivery],
    local_datetime: datetime,
    zone: zoneinfo.ZoneInfo | str | None,
    actor: Actor,
    fold: int | None,
    offset: timedelta | str | None,
    now: datetime | None,
    reason: str,
) -> ScheduledDeliveries:
    now = now or timezone.now()
    chosen_zone = zone_named(zone)
    errors: dict[str, list[str]] = {}
    plan: list[tuple[Delivery, datetime | None]] = []
    for delivery in deliveries:
        try:
            when = _when(local_datetime, chosen_zone or delivery.channel.zone, fold, offset, now)
        except WallClockError:
            raise
        except ValidationError as exc:
            _merge(errors, exc.message_dict)
            continue
        _merge(errors, send_problems(delivery))
        plan.append((delivery, when))
    if errors:
        raise ValidationError(errors)
    return _with_warnings(_move_all(plan, S.SCHEDULED, reason, actor))


def schedule(
    target: Delivery | Post,
    local_datetime: datetime,
    zone: zoneinfo.ZoneInfo | str | None = None,
    actor: Actor = None,
    *,
    fold: int | None = None,
    offset: timedelta | str | None = None,
    now: datetime | None = None,
) -> ScheduledDeliveries:
    """Schedule (or move) deliveries to the wall-clock ``local_datetime``.

    The zone is ``zone``, else each delivery's channel zone, else the workspace's: so a
    post on two channels in two zones goes out at that wall-clock time in each. Refuses a
    time in a gap or a repeated time without ``fold``/``offset``, a time in the past, a
    channel that is not connected, content the network refuses, and a post that needs an
    approval it lacks. On success the deliveries are ``scheduled`` at the UTC instant and
    a task is queued to run at that instant. A post means its draft and scheduled
    deliveries. Returns the deliveries, with ``warnings`` when a day's plan for a channel
    would exceed its network's budget (``budget_warnings``): warnings, not refusals.
    """
    deliveries = _deliveries(target, UNSENT)
    return _schedule(deliveries, local_datetime, zone, actor, fold, offset, now, "scheduled")


def reschedule(
    target: Delivery | Post,
    local_datetime: datetime,
    zone: zoneinfo.ZoneInfo | str | None = None,
    actor: Actor = None,
    *,
    fold: int | None = None,
    offset: timedelta | str | None = None,
    now: datetime | None = None,
) -> ScheduledDeliveries:
    """Move scheduled deliveries to another time, with the same checks as ``schedule``.

    A post means its scheduled deliveries only; its drafts stay drafts.
    """
    deliveries = _deliveries(target, (S.SCHEDULED,))
    return _schedule(deliveries, local_datetime, zone, actor, fold, offset, now, "rescheduled")


def unschedule(target: Delivery | Post, actor: Actor = None) -> list[Delivery]:
    """Take scheduled deliveries back to draft; any queued task then finds nothing to do."""
    deliveries = _deliveries(target, (S.SCHEDULED,))
    return _move_all([(d, None) for d in deliveries], S.DRAFT, "unscheduled", actor)


def cancel(target: Delivery | Post, actor: Actor = None) -> list[Delivery]:
    """Cancel scheduled deliveries for good (they keep their time, for the record)."""
    deliveries = _deliveries(target, (S.SCHEDULED,))
    return _move_all([(d, d.scheduled_at) for d in deliveries], S.CANCELLED, "cancelled", actor)


def publish_now(
    target: Delivery | Post, actor: Actor = None, *, now: datetime | None = None
) -> ScheduledDeliveries:
    """Schedule deliveries for now and queue them at once, with the same send checks."""
    now = now or timezone.now()
    deliveries = _deliveries(target, UNSENT)
    errors: dict[str, list[str]] = {}
    for delivery in deliveries:
        _merge(errors, send_problems(delivery))
    if errors:
        raise ValidationError(errors)
    return _with_warnings(
        _move_all([(d, now) for d in deliveries], S.SCHEDULED, "publish now", actor, run_now=True)
    )


# Language tags as BCP 47 writes them: "fr", "pt-BR", "zh-Hant-TW".
_LANGUAGE_TAG = re.compile(r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*$")


def set_delivery_details(
    delivery: Delivery,
    *,
    language: str | None = None,
    visibility: str | None = None,
    content_warning: str | None = None,
) -> Delivery:
    """Set what some networks add to a post (None: leave as it is): the text's language, and
    on Mastodon the visibility and the content warning. Only a delivery that has not gone out
    may change; a scheduled one is checked again against its network's rules (a content
    warning counts towards Mastodon's length), and nothing is saved when it is refused."""
    from socialdesk.networks.mastodon import VISIBILITIES

    errors: dict[str, list[str]] = {}
    if delivery.state not in UNSENT:
        errors["delivery"] = [
            f"This delivery is {delivery.get_state_display().lower()}; only one that has not "
            "gone out yet can change."
        ]
    changed = []
    if language is not None:
        language = language.strip()
        if language and not _LANGUAGE_TAG.match(language):
            errors["language"] = [f"{language!r} is not a language tag; use e.g. en, fr or pt-BR."]
        delivery.language = language
        changed.append("language")
    if visibility is not None:
        if visibility and visibility not in VISIBILITIES:
            errors["visibility"] = [f"Visibility must be one of {', '.join(VISIBILITIES)}."]
        delivery.visibility = visibility
        changed.append("visibility")
    if content_warning is not None:
        content_warning = content_warning.strip()
        if len(content_warning) > 500:
            errors["content_warning"] = [
                f"The content warning is {len(content_warning)} characters; the limit is 500."
            ]
        delivery.content_warning = content_warning
        changed.append("content_warning")
    if not errors and delivery.state == S.SCHEDULED:
        _merge(errors, content_problems(delivery))
    if errors:
        delivery.refresh_from_db(fields=["language", "visibility", "content_warning"])
        raise ValidationError(errors)
    if changed:
        delivery.save(update_fields=[*changed, "updated_at"])
    return delivery
