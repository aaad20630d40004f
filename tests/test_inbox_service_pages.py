"""The inbox service settings page: service level and rules as plain form posts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from inbox_service_helpers import inbound

from socialdesk.inbox import rules
from socialdesk.inbox.models import Rule, ServiceLevel

URL = "/w/{}/inbox/settings/"


def level_form(**changes) -> dict:
    data = {"section": "level", "first_response_minutes": "30", "resolution_hours": "8"}
    for day in range(5):
        data |= {f"open_{day}": "1", f"start_{day}": "08:00", f"end_{day}": "18:00"}
    data["holidays"] = "2026-12-25\n2027-01-01"
    data["retention_days"] = "180"
    return data | changes


def test_a_manager_saves_hours_targets_holidays_and_retention(workspace, manager, signed_in):
    client = signed_in(manager)
    assert client.get(URL.format(workspace.slug)).status_code == 200
    response = client.post(URL.format(workspace.slug), level_form())
    assert response.status_code == 302
    level = ServiceLevel.objects.get(workspace=workspace)
    assert level.hours[0] == [["08:00", "18:00"]] and level.hours[5] == []
    assert level.first_response_target == timedelta(minutes=30)
    assert level.holidays == ["2026-12-25", "2027-01-01"] and level.retention_days == 180


def test_bad_hours_are_shown_not_saved(workspace, manager, signed_in):
    client = signed_in(manager)
    response = client.post(URL.format(workspace.slug), level_form(end_0="07:00", holidays="xmas"))
    assert response.status_code == 400
    page = response.content.decode()
    assert "Monday: 08:00–07:00 ends before it starts" in page and "not a date" in page
    assert not ServiceLevel.objects.exists()


def test_a_manager_tries_then_adds_a_rule(workspace, channel, manager, signed_in):
    rules.forget(workspace.pk)
    inbound(channel, "Y a-t-il du gluten ?", datetime.now(UTC) - timedelta(days=1))
    client = signed_in(manager)
    form = {
        "section": "rule",
        "name": "Gluten",
        "keywords": "gluten OR allerg*",
        "tag": "allergens",
        "priority": "2",
        "do": "try",
    }
    tried = client.post(URL.format(workspace.slug), form)
    assert tried.status_code == 200
    assert "would have matched 1: “Y a-t-il du gluten ?”" in tried.content.decode()
    assert not Rule.objects.exists()
    added = client.post(URL.format(workspace.slug), form | {"do": "save"})
    assert added.status_code == 302
    rule = Rule.objects.get()
    assert rule.conditions == {"keywords": "gluten OR allerg*"}
    assert rule.actions == [
        {"type": "tag", "tag": "allergens"},
        {"type": "priority", "priority": 2},
    ]
    page = client.get(URL.format(workspace.slug)).content.decode()
    assert "Gluten" in page
    client.post(f"/w/{workspace.slug}/inbox/settings/rules/{rule.pk}/toggle/")
    rule.refresh_from_db()
    assert rule.enabled is False
    client.post(f"/w/{workspace.slug}/inbox/settings/rules/{rule.pk}/delete/")
    assert not Rule.objects.exists()


def test_a_rule_without_actions_or_with_a_bad_query_is_refused(workspace, manager, signed_in):
    client = signed_in(manager)
    response = client.post(
        URL.format(workspace.slug),
        {"section": "rule", "name": "x", "keywords": "(gluten", "do": "save"},
    )
    assert response.status_code == 400
    page = response.content.decode()
    assert "A ( is not closed" in page and "Give one to twenty actions" in page
    assert not Rule.objects.exists()


def test_creators_cannot_open_the_settings_and_outsiders_do_not_see_them(
    workspace, creator, outsider, signed_in, client
):
    assert signed_in(creator).get(URL.format(workspace.slug)).status_code == 403
    client.force_login(outsider)
    assert client.get(URL.format(workspace.slug)).status_code == 404
    assert client.post(URL.format(workspace.slug), level_form()).status_code == 404


def test_a_manager_writes_the_questions_a_saved_reply_answers(workspace, manager, signed_in):
    from socialdesk.inbox.models import SavedReply

    reply = SavedReply.objects.create(workspace=workspace, name="Hours", text="7:30–19:00")
    client = signed_in(manager)
    response = client.post(
        URL.format(workspace.slug),
        {
            "section": "faq",
            "reply_id": str(reply.pk),
            "questions": "When are you open?\r\nVous ouvrez quand ?\r\n\r\n",
            "is_answer": "1",
        },
    )
    assert response.status_code == 302
    reply.refresh_from_db()
    assert reply.is_answer
    assert list(reply.faq_questions.values_list("text", flat=True)) == [
        "When are you open?",
        "Vous ouvrez quand ?",
    ]
    assert "Vous ouvrez quand ?" in client.get(URL.format(workspace.slug)).content.decode()
    missing = client.post(URL.format(workspace.slug), {"section": "faq", "reply_id": "x"})
    assert missing.status_code == 404
