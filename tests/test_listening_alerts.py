"""Listening alerts (socialdesk.listening.alerts): spikes against a robust 7-day baseline,
sentiment drops, critical words at once; stored, told in-app, by email and by webhook, and
one spike is one alert."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from django.core import mail
from django.core.exceptions import ValidationError
from listening_alert_helpers import mentions_at

from socialdesk.listening import alerts
from socialdesk.listening.matching import Item, store_items
from socialdesk.listening.models import Alert, AlertKind, Topic, TopicQuery
from socialdesk.notifications.models import EmailRoute, Notification, WebhookCall
from socialdesk.notifications.services import create_webhook
from socialdesk.notifications.tasks import send_notification_email

NOW = datetime(2026, 12, 7, 18, 30, tzinfo=UTC)


@pytest.fixture
def topic(workspace) -> Topic:
    topic = Topic.objects.create(workspace=workspace, name="Crumb")
    TopicQuery.objects.create(workspace=workspace, topic=topic, text="crumb")
    return topic


def usual_week(topic: Topic, per_hour: int = 3) -> None:
    """``per_hour`` mentions in each of the 168 hours before the last one (some quiet)."""
    moments = []
    for hour in range(2, 170):
        start = NOW - timedelta(hours=hour)
        n = per_hour - 1 if hour % 3 == 0 else per_hour + (1 if hour % 5 == 0 else 0)
        moments += [start + timedelta(minutes=5 * i) for i in range(n)]
    mentions_at(topic, moments)


def burst(topic: Topic, n: int, **fields) -> None:
    mentions_at(
        topic, [NOW - timedelta(minutes=50) + timedelta(seconds=i) for i in range(n)], **fields
    )


def test_the_baseline_is_the_median_and_scaled_mad_and_not_moved_by_a_rare_burst():
    counts = [3] * 160 + [40] * 8  # a burst last week
    baseline = alerts.baseline_of(counts)
    assert baseline.median == 3
    assert baseline.spread == pytest.approx(3**0.5)  # MAD is 0: the floor √median holds
    assert baseline.usual == "3±2"


def test_a_burst_of_mentions_is_one_spike_alert_saying_what_crossed_what(
    workspace, topic, members, settings
):
    settings.SOCIALDESK_FETCH_ALLOW = ["127.0.0.1:9"]
    create_webhook(
        workspace, None, name="Ops", url="http://127.0.0.1:9/hook", events=["listening.alert"]
    )
    usual_week(topic)
    burst(topic, 42, sentiment="negative")
    with_alerts = alerts.check_topic(topic, NOW)
    # A negative burst also drags the day's sentiment down: two alerts, one of each kind.
    assert [alert.kind for alert in with_alerts] == [AlertKind.SPIKE, AlertKind.SENTIMENT]
    alert = with_alerts[0]
    assert alert.title.startswith("Crumb: 42 mentions in the last hour; usual 3±2")
    assert alert.detail["count"] == 42 and alert.detail["median"] == 3
    assert alert.proposes_crisis  # most of the burst is negative
    assert alert.state == "new"
    assert alerts.mentions_of(alert).count() == 42

    # In-app to the members who read listening (not to the creator, who does not).
    told = Notification.objects.filter(event="listening.alert", target_id=alert.pk)
    assert {n.recipient.email for n in told} == {
        members["owner"].email,
        members["manager"].email,
        members["analyst"].email,
        members["community_manager"].email,
    }
    assert told.first().url == f"/w/{workspace.slug}/listening/alerts/{alert.pk}/"
    # By webhook, with the same words.
    bodies = [json.loads(call.body) for call in WebhookCall.objects.filter(event="listening.alert")]
    (body,) = [body for body in bodies if body["title"] == alert.title]
    assert body["url"].endswith(f"/alerts/{alert.pk}/")

    # The spike goes on a quarter of an hour later: still one alert (cool-down).
    burst(topic, 30)
    assert alerts.check_topic(topic, NOW + timedelta(minutes=15)) == []
    assert Alert.objects.filter(kind=AlertKind.SPIKE).count() == 1


def test_the_alert_is_emailed_at_once(workspace, topic, owner):
    usual_week(topic)
    burst(topic, 42)
    (alert,) = alerts.check_topic(topic, NOW)
    told = Notification.objects.get(target_id=alert.pk, recipient=owner)
    assert told.email_route == EmailRoute.IMMEDIATE
    assert send_notification_email.call(told.pk) == "sent"
    assert f"[Crumb & Co] {alert.title}" in [email.subject for email in mail.outbox]


def test_an_ordinary_hour_and_a_quiet_topic_do_not_alert(topic):
    usual_week(topic)
    burst(topic, 5)
    assert alerts.check_topic(topic, NOW) == []


def test_sensitivity_decides_how_large_a_spike_must_be(topic):
    usual_week(topic)
    burst(topic, 11)  # above 3 + 2.5·1.7, below 3 + 5·1.7... with MAD spread
    rules = alerts.settings_for(topic)
    rules.sensitivity = "low"
    rules.save(update_fields=["sensitivity"])
    assert alerts.check_topic(topic, NOW) == []
    rules.sensitivity = "high"
    rules.save(update_fields=["sensitivity"])
    assert [a.kind for a in alerts.check_topic(topic, NOW)] == [AlertKind.SPIKE]


def test_a_sentiment_drop_alerts_and_proposes_the_crisis_switch(topic):
    week = [NOW - timedelta(days=1, hours=h) for h in range(1, 100)]
    mentions_at(topic, week[:80], sentiment="positive")
    mentions_at(topic, week[80:], sentiment="neutral")
    mentions_at(topic, [NOW - timedelta(hours=h) for h in range(1, 8)], sentiment="negative")
    mentions_at(
        topic, [NOW - timedelta(hours=h, minutes=30) for h in range(1, 6)], sentiment="positive"
    )
    rules = alerts.settings_for(topic)
    rules.spikes = False
    rules.save(update_fields=["spikes"])
    made = alerts.check_topic(topic, NOW)
    assert [a.kind for a in made] == [AlertKind.SENTIMENT]
    assert "sentiment fell to -0.17 over the last 24 hours (7 of 12 negative); usual +0.81" in (
        made[0].title
    )
    assert made[0].proposes_crisis


def test_critical_words_alert_at_once_when_a_mention_is_stored(workspace, topic):
    alerts.save_settings(
        topic,
        spikes=True,
        sensitivity="medium",
        sentiment_drops=True,
        critical_words="food poisoning\nallerg*",
        cooldown_hours=6,
    )
    items = [
        Item("feed", "a", "Got food poisoning after the Crumb quiche", NOW, author_handle="ann"),
        Item("feed", "b", "Crumb: poisoning the food scene with quality", NOW),  # not the phrase
        Item("feed", "c", "My son is allergic, and Crumb knew", NOW),
    ]
    store_items(workspace, items, now=NOW)
    made = Alert.objects.filter(kind=AlertKind.CRITICAL).order_by("mention__remote_id")
    assert [alert.detail["words"] for alert in made] == [["food poisoning"], ["allerg*"]]
    assert made[0].title == "Crumb: critical words “food poisoning” in a mention"
    assert made[0].mention.remote_id == "a" and made[0].proposes_crisis
    # The same mention is never alerted twice.
    assert alerts.on_stored(workspace.pk, [made[0].mention_id]) == 0


def test_a_critical_words_line_that_cannot_be_read_is_refused_with_its_line(topic):
    with pytest.raises(ValidationError) as refused:
        alerts.save_settings(
            topic,
            spikes=True,
            sensitivity="medium",
            sentiment_drops=True,
            critical_words='allergic\n"food poisoning',
            cooldown_hours=6,
        )
    assert "Line 2" in refused.value.message_dict["critical_words"][0]
    with pytest.raises(ValidationError, match="sensitivity"):
        alerts.save_settings(
            topic,
            spikes=True,
            sensitivity="wild",
            sentiment_drops=True,
            critical_words="",
            cooldown_hours=6,
        )


def test_the_heartbeat_checks_each_topic_once_per_period(topic):
    usual_week(topic)
    burst(topic, 42)
    assert alerts.on_heartbeat(NOW) == 1
    assert alerts.due_topics(NOW + timedelta(minutes=5)) == []
    assert alerts.due_topics(NOW + alerts.CHECK_EVERY) == [topic]


def test_marking_seen_keeps_who_and_when(topic, owner, manager):
    usual_week(topic)
    burst(topic, 42)
    alert = alerts.check_topic(topic, NOW)[0]
    alerts.mark_seen(alert, owner, NOW)
    alerts.mark_seen(alert, manager, NOW + timedelta(hours=1))
    alert.refresh_from_db()
    assert alert.state == "seen" and alert.seen_by == owner and alert.seen_at == NOW


def test_an_alert_page_offers_the_crisis_switch(workspace, topic, owner, signed_in):
    usual_week(topic)
    burst(topic, 42, sentiment="negative")
    spike = alerts.check_topic(topic, NOW)[0]
    page = signed_in(owner).get(f"/w/{workspace.slug}/listening/alerts/{spike.pk}/")
    assert b"This may be the start of a crisis" in page.content
    assert f'href="/w/{workspace.slug}/crisis/"'.encode() in page.content
    spike.refresh_from_db()
    assert spike.state == "new"  # reading the page does not mark it seen


def test_the_alert_list_filters_by_state_and_topic_and_refuses_nothing(
    workspace, topic, owner, analyst, creator, signed_in
):
    usual_week(topic)
    burst(topic, 42)
    spike = alerts.check_topic(topic, NOW)[0]
    client = signed_in(analyst)
    base = f"/w/{workspace.slug}/listening/alerts/"
    assert spike.title.encode() in client.get(base).content
    assert spike.title.encode() not in client.get(f"{base}?state=seen").content
    assert client.get(f"{base}?topic=99999999999999999999&state=x").status_code == 200
    assert client.post(f"{base}{spike.pk}/seen/").status_code == 302
    assert spike.title.encode() in client.get(f"{base}?state=seen").content
    # Settings are for owners and managers.
    assert client.get(f"{base}topics/{topic.pk}/").status_code == 403
    assert signed_in(creator).get(base).status_code == 403
