"""Service levels: the business clock (exact across DST and holidays), due and breached
states, breach notices once, the worker's beat, and the API."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from api_helpers import call
from django.core.exceptions import ValidationError
from inbox_service_helpers import answer, inbound

from socialdesk.inbox import service_levels as sl
from socialdesk.inbox.models import BreachNotice, ServiceLevel
from socialdesk.notifications.models import Notification

PARIS = ZoneInfo("Europe/Paris")
NEW_YORK = ZoneInfo("America/New_York")


def paris(*args: int) -> datetime:
    return datetime(*args, tzinfo=PARIS)


def level(workspace, **fields) -> ServiceLevel:
    row = sl.level_of(workspace)
    for name, value in fields.items():
        setattr(row, name, value)
    return row


ALL_DAY = [[["00:00", "24:00"]]] * 7


# --- The clock ------------------------------------------------------------------------------


def test_defaults_are_weekdays_nine_to_five_one_hour_and_a_day(workspace):
    row = sl.level_of(workspace)
    assert row.hours[0] == [["09:00", "17:00"]] and row.hours[5] == [] and row.hours[6] == []
    assert row.first_response_target == timedelta(hours=1)
    assert row.resolution_target == timedelta(hours=24)
    assert row.pk is None  # nothing written until someone changes it


def test_an_hour_inside_business_hours_counts_an_hour(workspace):
    # Monday 7 December 2026.
    assert (
        sl.business_seconds(paris(2026, 12, 7, 10), paris(2026, 12, 7, 11), level(workspace))
        == 3600
    )


def test_nights_and_weekends_do_not_count(workspace):
    row = level(workspace)
    assert sl.business_seconds(paris(2026, 12, 7, 18), paris(2026, 12, 8, 8), row) == 0
    # Friday 16:30 to Monday 09:30: half an hour each side of the weekend.
    assert sl.business_seconds(paris(2026, 12, 11, 16, 30), paris(2026, 12, 14, 9, 30), row) == 3600


def test_a_holiday_does_not_count(workspace):
    row = level(workspace, holidays=["2026-12-25"])  # a Friday
    thursday_4pm, monday_10am = paris(2026, 12, 24, 16), paris(2026, 12, 28, 10)
    assert sl.business_seconds(thursday_4pm, monday_10am, row) == 2 * 3600
    assert sl.business_seconds(thursday_4pm, monday_10am, level(workspace)) == 10 * 3600


def test_end_before_start_is_zero(workspace):
    assert (
        sl.business_seconds(paris(2026, 12, 7, 11), paris(2026, 12, 7, 10), level(workspace)) == 0
    )


def test_the_days_the_clocks_change_count_their_real_length(workspace):
    row = level(workspace, hours=ALL_DAY)
    # Paris springs forward on 29 March 2026 (23 h) and falls back on 25 October (25 h).
    assert sl.business_seconds(paris(2026, 3, 29), paris(2026, 3, 30), row) == 23 * 3600
    assert sl.business_seconds(paris(2026, 10, 25), paris(2026, 10, 26), row) == 25 * 3600
    night = [[["01:00", "05:00"]]] * 7
    row = level(workspace, hours=night)
    assert sl.business_seconds(paris(2026, 3, 29), paris(2026, 3, 30), row) == 3 * 3600
    assert sl.business_seconds(paris(2026, 10, 25), paris(2026, 10, 26), row) == 5 * 3600
    # A week across the change, office hours: DST does not move 09:00–17:00.
    office = level(workspace)
    assert sl.business_seconds(paris(2026, 3, 27, 9), paris(2026, 3, 30, 17), office) == 16 * 3600


def test_the_clock_reads_the_workspace_zone(workspace):
    workspace.time_zone = "America/New_York"
    row = level(workspace)
    # 09:00–10:00 in New York is 15:00–16:00 in Paris (winter).
    start = datetime(2026, 12, 7, 14, tzinfo=UTC)
    assert sl.business_seconds(start, start + timedelta(hours=1), row) == 3600
    assert sl.business_seconds(start - timedelta(hours=1), start, row) == 0


@pytest.mark.parametrize("zone", ["Europe/Paris", "America/New_York", "Australia/Lord_Howe"])
def test_adding_business_time_is_the_inverse_of_counting_it(workspace, zone):
    workspace.time_zone = zone
    shapes = [
        None,
        ALL_DAY,
        [[["01:30", "02:45"], ["08:00", "12:00"], ["13:00", "24:00"]]] * 5
        + [[], [["10:00", "11:00"]]],
    ]
    rng = random.Random(13)
    base = datetime(2026, 1, 1, tzinfo=UTC)
    for hours in shapes:
        row = level(workspace, holidays=["2026-04-03", "2026-11-01"])
        if hours is not None:
            row.hours = hours
        clock = sl.hours_of(row)
        for _ in range(60):
            start = base + timedelta(seconds=rng.randrange(365 * 86400))
            seconds = rng.choice([60, 3600, 4 * 3600, 86400, 3 * 86400, rng.randrange(1, 200000)])
            due = sl.business_add(start, seconds, clock)
            assert due is not None
            assert sl.business_seconds(start, due, clock) == pytest.approx(seconds, abs=1e-6)
            # And the instant is the first one: a second earlier, not enough time had passed.
            assert sl.business_seconds(start, due - timedelta(seconds=1), clock) < seconds


def test_a_level_without_any_hours_has_no_due_time(workspace):
    row = level(workspace, hours=[[]] * 7)
    assert sl.business_add(paris(2026, 12, 7, 10), 60, row) is None


def test_bad_hours_and_holidays_are_refused_with_the_day_named(workspace):
    with pytest.raises(ValidationError, match="Tuesday: 17:00–09:00 ends before it starts"):
        sl.clean_hours([[], [["17:00", "09:00"]], [], [], [], [], []])
    with pytest.raises(ValidationError, match="Monday: intervals overlap"):
        sl.clean_hours([[["09:00", "12:00"], ["11:00", "13:00"]], [], [], [], [], [], []])
    with pytest.raises(ValidationError, match="seven weekdays"):
        sl.clean_hours([[]])
    with pytest.raises(ValidationError, match="like 09:00"):
        sl.clean_hours([[["9h", "17h"]], [], [], [], [], [], []])
    with pytest.raises(ValidationError, match="not a date"):
        sl.clean_holidays(["Christmas"])
    assert sl.clean_holidays(["2026-12-25", "2026-01-01", "2026-12-25"]) == [
        "2026-01-01",
        "2026-12-25",
    ]


# --- A conversation's state ---------------------------------------------------------------


def test_a_waiting_question_is_due_in_twenty_minutes_then_breached(workspace, channel):
    message = inbound(channel, "Are you open on Sunday?", paris(2026, 12, 7, 10))
    conversation = message.conversation
    row = level(workspace)
    state = sl.sla_state(conversation, row, paris(2026, 12, 7, 10, 40))
    assert state["label"] == "due in 20 min" and not state["breached"]
    assert state["kind"] == "response"
    state = sl.sla_state(conversation, row, paris(2026, 12, 7, 11, 30))
    assert state["label"] == "breached 30 min ago" and state["breached"]


def test_the_inbox_list_reads_many_states_at_once(workspace, channel):
    waiting = inbound(channel, "Hello?", paris(2026, 12, 7, 10)).conversation
    answered = inbound(channel, "Hi", paris(2026, 12, 7, 10), who="max").conversation
    answer(answered, "Hello!", paris(2026, 12, 7, 10, 10))
    states = sl.sla_states(workspace, [waiting, answered], paris(2026, 12, 7, 10, 40))
    assert states[waiting.pk]["label"] == "due in 20 min"
    assert states[answered.pk]["kind"] == "resolution" and not states[answered.pk]["breached"]


def test_after_hours_the_clock_waits_for_the_morning(workspace, channel):
    message = inbound(channel, "Allergens in the rye?", paris(2026, 12, 11, 18))  # Friday evening
    row = level(workspace)
    state = sl.sla_state(message.conversation, row, paris(2026, 12, 13, 23))  # Sunday night
    assert state["due_at"] == paris(2026, 12, 14, 10)
    assert state["label"] == "due in 1 h"


def test_answered_it_has_only_the_resolution_clock(workspace, channel):
    message = inbound(channel, "Hello", paris(2026, 12, 7, 10))
    answer(message.conversation, "Hi!", paris(2026, 12, 7, 10, 5))
    clocks = sl.clocks_of(message.conversation, level(workspace), paris(2026, 12, 7, 12))
    assert [c.kind for c in clocks] == ["resolution"]
    assert clocks[0].due_at == paris(2026, 12, 10, 10)  # 24 business hours = 3 days of 8 h


# --- Breach notices -----------------------------------------------------------------------


def test_a_breach_tells_the_assignee_and_the_managers_once(
    workspace, channel, creator, owner, manager
):
    message = inbound(channel, "My order never came", paris(2026, 12, 7, 10))
    conversation = message.conversation
    conversation.assignee = creator
    conversation.save(update_fields=["assignee"])
    assert sl.check_breaches(paris(2026, 12, 7, 10, 59)) == 0
    assert sl.check_breaches(paris(2026, 12, 7, 11, 1)) == 1
    assert sl.check_breaches(paris(2026, 12, 7, 11, 30)) == 0  # told already
    told = Notification.objects.filter(event="inbox.sla_breached")
    assert {n.recipient for n in told} == {creator, owner, manager}
    assert all("Not answered in time" in n.title for n in told)
    # The contact writes again after our answer: a new wait, a new clock, a new notice.
    answer(conversation, "So sorry, checking", paris(2026, 12, 7, 11, 10))
    inbound(channel, "Still nothing", paris(2026, 12, 8, 9), conversation=conversation)
    assert sl.check_breaches(paris(2026, 12, 8, 10, 30)) == 1
    assert BreachNotice.objects.filter(conversation=conversation, kind="response").count() == 2


def test_resolved_and_spam_conversations_never_breach(workspace, channel, owner):
    from socialdesk.inbox import status

    spam = inbound(channel, "cheap followers", paris(2026, 12, 7, 10)).conversation
    spam.spam = True
    spam.save(update_fields=["spam"])
    done = inbound(channel, "thanks!", paris(2026, 12, 7, 10), who="max").conversation
    status.resolve(done, paris(2026, 12, 7, 10, 1))
    assert sl.check_breaches(paris(2026, 12, 9, 10)) == 0


def test_the_worker_beat_checks_breaches(workspace, channel, owner, monkeypatch):
    from socialdesk import worker

    inbound(channel, "Hello?", datetime.now(UTC) - timedelta(days=3))
    beats = []
    monkeypatch.setattr(worker, "inbox_service_beat", lambda: beats.append(sl.check_breaches()))
    worker.Heartbeat("test-worker").sweep()
    assert beats and beats[0] >= 1
    assert Notification.objects.filter(event="inbox.sla_breached", recipient=owner).exists()


def test_on_heartbeat_never_raises_and_checks_once_a_minute(monkeypatch):
    calls = []

    def broken(now=None):
        calls.append(now)
        raise RuntimeError("database gone")

    monkeypatch.setattr(sl, "_last_run", {})
    monkeypatch.setattr(sl, "check_breaches", broken)
    sl.on_heartbeat()  # logged, not raised
    sl.on_heartbeat()  # five seconds later: not again
    assert len(calls) == 1


# --- Storing it, and the API --------------------------------------------------------------


def test_saving_bad_targets_writes_nothing(workspace):
    with pytest.raises(ValidationError) as caught:
        sl.save_level(workspace, hours=[[]] * 7, first_response_minutes=0)
    assert "first_response_minutes" in caught.value.message_dict
    assert not ServiceLevel.objects.filter(workspace=workspace).exists()


def test_a_manager_sets_hours_and_targets_through_the_api(workspace, manager, token_for):
    token = token_for(manager)
    path = f"/workspaces/{workspace.slug}/inbox/service-level"
    got = call("get", path, token).json()
    assert got["first_response_minutes"] == 60 and got["time_zone"] == "Europe/Paris"
    body = {
        "hours": [[["08:00", "12:00"], ["14:00", "18:00"]]] * 6 + [[]],
        "holidays": ["2026-12-25"],
        "first_response_minutes": 30,
        "resolution_hours": 8,
        "retention_days": 365,
    }
    response = call("put", path, token, body)
    assert response.status_code == 200, response.content
    assert response.json()["hours"][5] == [["08:00", "12:00"], ["14:00", "18:00"]]
    saved = ServiceLevel.objects.get(workspace=workspace)
    assert saved.first_response_target == timedelta(minutes=30) and saved.retention_days == 365
    response = call("put", path, token, {"keep_for_ever": True})
    assert response.json()["retention_days"] is None


def test_bad_hours_through_the_api_answer_422(workspace, manager, token_for):
    path = f"/workspaces/{workspace.slug}/inbox/service-level"
    response = call("put", path, token_for(manager), {"hours": [[["18:00", "09:00"]]] * 7})
    assert response.status_code == 422
    assert "Monday" in response.content.decode()
    response = call("put", path, token_for(manager), {"first_response_minutes": "soon"})
    assert response.status_code == 422


@pytest.mark.parametrize("who, status_code", [("creator", 403), ("analyst", 403)])
def test_other_roles_cannot_change_the_service_level(
    workspace, person, token_for, who, status_code
):
    path = f"/workspaces/{workspace.slug}/inbox/service-level"
    response = call("put", path, token_for(person(who)), {"resolution_hours": 2})
    assert response.status_code == status_code


def test_an_outsider_does_not_see_the_service_level(workspace, outsider, token_for):
    path = f"/workspaces/{workspace.slug}/inbox/service-level"
    assert call("get", path, token_for(outsider)).status_code == 404
