"""The inbox list's SLA filter: breached, due soon and on time read on stored columns agree
with each conversation's own clocks (service_levels.clocks_of), on the page, its live
refresh and the API; bad values are ignored on the page and a 422 in the API."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from api_helpers import call
from django.urls import reverse
from django.utils import timezone
from inbox_helpers import contact_of, conversation

from socialdesk.inbox import listing
from socialdesk.inbox import service_levels as sl
from socialdesk.inbox.listing import Filters, conversations_for
from socialdesk.inbox.models import Conversation, ConversationKind, ConversationStatus

pytestmark = pytest.mark.django_db

PARIS = ZoneInfo("Europe/Paris")
# Monday 14 December 2026, 10:40 in Paris: the weekend and Friday are behind it.
NOW = datetime(2026, 12, 14, 10, 40, tzinfo=PARIS)
ALL_DAY = [[["00:00", "24:00"]]] * 7


def expected_state(conversation: Conversation, level, now: datetime) -> str:
    """What the conversation's own clocks say: the oracle for the filter."""
    clocks = [c for c in sl.clocks_of(conversation, level, now) if c.remaining is not None]
    if conversation.status == ConversationStatus.RESOLVED or conversation.spam:
        return ""
    if any(c.breached for c in clocks):
        return "breached"
    if any(c.remaining is not None and c.remaining <= sl.DUE_SOON for c in clocks):
        return "due_soon"
    return "on_time"


@pytest.fixture
def many(workspace, channel):
    """120 conversations started over the ten days before NOW (nights, a weekend), some
    answered (no response clock), some resolved, a few spam."""
    rng = random.Random(7)
    contact = contact_of(workspace, channel, "ada.example")
    rows = []
    for n in range(120):
        created = NOW - timedelta(seconds=rng.uniform(0, 10 * 86400))
        waiting = None
        if rng.random() < 0.7:
            waiting = created + timedelta(seconds=rng.uniform(0, (NOW - created).total_seconds()))
        status = ConversationStatus.NEW if waiting else ConversationStatus.PENDING
        if rng.random() < 0.15:
            status, waiting = ConversationStatus.RESOLVED, None
        rows.append(
            Conversation(
                workspace=workspace,
                channel=channel,
                contact=contact,
                kind=ConversationKind.COMMENT,
                thread_key=f"t{n}",
                status=status,
                spam=rng.random() < 0.05,
                created_at=created,
                waiting_since=waiting,
                last_message_at=waiting or created,
            )
        )
    # Two due soon for sure: an answer owed since 09:50 (10 min left), and a conversation
    # started Wednesday 11:00 (20 min of its 24 business hours left).
    fixed = [
        (NOW - timedelta(minutes=50), NOW - timedelta(minutes=50)),
        (None, datetime(2026, 12, 9, 11, 0, tzinfo=PARIS)),
    ]
    for n, (waiting, created) in enumerate(fixed):
        rows.append(
            Conversation(
                workspace=workspace,
                channel=channel,
                contact=contact,
                kind=ConversationKind.COMMENT,
                thread_key=f"fixed{n}",
                status=ConversationStatus.NEW if waiting else ConversationStatus.PENDING,
                created_at=created,
                waiting_since=waiting,
                last_message_at=waiting or created,
            )
        )
    return Conversation.objects.bulk_create(rows)


def test_business_sub_walks_business_time_back(workspace):
    level = sl.level_of(workspace)
    # 1 h before Monday 10:40 is Monday 09:40; 2 h reach back to Friday 16:40.
    assert sl.business_sub(NOW, 3600, level) == datetime(2026, 12, 14, 9, 40, tzinfo=PARIS)
    assert sl.business_sub(NOW, 7200, level) == datetime(2026, 12, 11, 16, 40, tzinfo=PARIS)
    assert sl.business_sub(NOW, 0, level) == NOW
    rng = random.Random(3)
    for _ in range(50):
        seconds = rng.uniform(1, 60 * 3600)
        start = sl.business_sub(NOW, seconds, level)
        assert start is not None
        assert abs(sl.business_seconds(start, NOW, level) - seconds) < 1e-3


def test_each_sla_filter_value_matches_the_clocks(workspace, many):
    level = sl.level_of(workspace)
    expected = {
        c.pk: expected_state(c, level, NOW)
        for c in Conversation.objects.filter(workspace=workspace)
    }
    seen = set()
    for value in ("breached", "due_soon", "on_time"):
        found = set(
            conversations_for(workspace, Filters(sla=value, now=NOW)).values_list("pk", flat=True)
        )
        assert found == {pk for pk, state in expected.items() if state == value}, value
        assert found, f"the fixture has {value} conversations"
        seen |= found
    # Resolved and spam conversations have no clock: in none of the three.
    assert seen == {pk for pk, state in expected.items() if state}


def test_due_soon_reads_the_same_rows_when_many_are_due(workspace, many, monkeypatch):
    by_index = set(
        conversations_for(workspace, Filters(sla="due_soon", now=NOW)).values_list("pk", flat=True)
    )
    monkeypatch.setattr(listing, "SMALL_SLA", 1)  # too many candidates: walk the list instead
    walked = set(
        conversations_for(workspace, Filters(sla="due_soon", now=NOW)).values_list("pk", flat=True)
    )
    assert walked == by_index and by_index


def test_a_workspace_without_business_hours_never_breaches(workspace, many):
    sl.save_level(workspace, hours=[[]] * 7)
    assert not conversations_for(workspace, Filters(sla="breached", now=NOW)).exists()
    assert not conversations_for(workspace, Filters(sla="due_soon", now=NOW)).exists()
    assert conversations_for(workspace, Filters(sla="on_time", now=NOW)).exists()


# --- The page and the API (a level open all day, so that the real clock does not matter) ---


@pytest.fixture
def three_clocks(workspace, channel):
    sl.save_level(workspace, hours=ALL_DAY, first_response_minutes=60, resolution_hours=24)
    now = timezone.now()
    late = conversation(
        workspace, channel, "late.example", "Where is my order?", at=now - timedelta(minutes=90)
    )
    soon = conversation(
        workspace, channel, "soon.example", "Gluten-free today?", at=now - timedelta(minutes=45)
    )
    fresh = conversation(
        workspace, channel, "fresh.example", "Lovely bread!", at=now - timedelta(minutes=5)
    )
    return late, soon, fresh


def test_the_page_filters_by_sla_and_badges_the_rows(signed_in, owner, workspace, three_clocks):
    client = signed_in(owner)
    url = reverse("inbox", args=[workspace.slug])
    everything = client.get(url).content.decode()
    assert everything.count("sla-breached") == 1 and everything.count("sla-due-soon") == 1
    assert 'id="filter-sla"' in everything

    breached = client.get(url, {"sla": "breached"}).content.decode()
    assert "Where is my order?" in breached
    assert "Gluten-free" not in breached and "Lovely bread" not in breached
    soon = client.get(url, {"sla": "due_soon"}).content.decode()
    assert "Gluten-free today?" in soon and "Where is my order" not in soon
    on_time = client.get(url, {"sla": "on_time"}).content.decode()
    assert "Lovely bread!" in on_time and "Gluten-free" not in on_time
    # The live refresh keeps the filter, and a bad value is ignored, not a 500.
    assert "sla=breached" in breached
    bad = client.get(url, {"sla": "late!"})
    assert bad.status_code == 200 and "Lovely bread!" in bad.content.decode()


def test_the_live_refresh_filters_by_sla(signed_in, owner, workspace, three_clocks):
    client = signed_in(owner)
    fragment = client.get(
        reverse("inbox_list", args=[workspace.slug]),
        {"sla": "due_soon", "version": "stale"},
        headers={"HX-Request": "true"},
    )
    html = fragment.content.decode()
    assert fragment.status_code == 200
    assert "Gluten-free today?" in html and "Where is my order" not in html


def test_a_row_turning_breached_changes_the_list_version(signed_in, owner, workspace, three_clocks):
    late, soon, fresh = three_clocks
    rows = conversations_for(workspace, Filters())
    before = listing.version_of(rows, marks=listing.sla_marks(workspace))
    later = listing.sla_marks(workspace, timezone.now() + timedelta(minutes=20))
    assert listing.version_of(rows, marks=later) != before


def test_the_api_filters_by_sla_and_refuses_other_values(owner, token_for, three_clocks):
    late, soon, fresh = three_clocks
    token = token_for(owner)
    base = "/api/v1/workspaces/crumb/inbox/conversations"
    for value, wanted in (("breached", late), ("due_soon", soon), ("on_time", fresh)):
        items = call("get", f"{base}?sla={value}", token).json()["items"]
        assert [c["id"] for c in items] == [wanted.pk], value
    assert call("get", f"{base}?sla=late", token).status_code == 422


def test_resolved_conversations_are_in_no_sla_filter(owner, workspace, three_clocks):
    late, _, _ = three_clocks
    Conversation.objects.filter(pk=late.pk).update(
        status=ConversationStatus.RESOLVED, resolved_at=datetime.now(UTC)
    )
    assert not conversations_for(workspace, Filters(sla="breached")).exists()
