"""Late posts (issue 12, item F): a delivery published ``PUBLISHING_LATE_SECONDS`` or more
after its time is told to its author, the owners and the managers, with the reason when the
delivery's history or the workers' heartbeats show one.

The same threshold makes ``/health`` say "degraded" when the oldest due delivery is that late
(``socialdesk.health``), so people and monitors agree on what "late" means.
"""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings

from socialdesk.notifications import publishing as notices

from .models import APPROVAL_HELD, Delivery, DeliveryState, WorkerHeartbeat

S = DeliveryState


def threshold() -> timedelta:
    return timedelta(seconds=settings.PUBLISHING_LATE_SECONDS)


def late_text(late: timedelta) -> str:
    """How late, as people say it: "7 minutes", "2.5 hours"."""
    minutes = round(late.total_seconds() / 60)
    if minutes < 90:
        return f"{minutes} minute{'' if minutes == 1 else 's'}"
    return f"{minutes / 60:.1f} hours"


def why_late(delivery: Delivery) -> str:
    """The likeliest reason ``delivery`` went out late: what its history recorded from its
    time on (an approval given long before does not count), else a gap in the workers'
    heartbeats at its time; "" when nothing explains it (a long queue, a slow network)."""
    due = delivery.scheduled_at
    if due is None:
        return ""
    since_due = delivery.transitions.filter(at__gte=due)
    reasons = list(since_due.values_list("to_state", "reason"))
    if any(reason.startswith(APPROVAL_HELD) or to == S.AWAITING_APPROVAL for to, reason in reasons):
        return "it waited for approval"
    if any(reason.startswith("paused:") for _, reason in reasons):
        return "it waited for its channel to be reconnected or resumed"
    if any(reason.startswith("paced:") for _, reason in reasons):
        return "the network's rate limit for this account was used up"
    if any("mid-attempt" in reason for _, reason in reasons):
        return "a worker stopped mid-call and the network had to be asked first"
    failures = sum(1 for to, _ in reasons if to == S.WAITING_RETRY)
    if failures:
        return f"the network failed {failures} time{'' if failures == 1 else 's'} first"
    # Rows of workers that stopped cleanly are gone, so this can only say "none we know of".
    if not WorkerHeartbeat.objects.filter(started_at__lte=due, seen_at__gte=due).exists():
        return "no worker was running"
    return ""


def tell_if_late(delivery: Delivery) -> None:
    """Call after ``delivery`` was published: if it went out late, tell its people once
    (publishing happens once per delivery) and say why when known. Never raises."""
    if delivery.state != S.PUBLISHED or not delivery.scheduled_at or not delivery.published_at:
        return
    if delivery.post_id is None:  # an inbox write: the inbox tells its own people
        return
    late = delivery.published_at - delivery.scheduled_at
    if late < threshold():
        return
    try:
        why = why_late(delivery)
    except Exception:  # noqa: BLE001 - a missing reason must not lose the notice
        why = ""
    notices.delivery_published_late(delivery, late_text(late), why)
