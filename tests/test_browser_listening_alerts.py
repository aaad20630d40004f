"""Listening alerts, their settings, the mention actions and the leads in a real Chromium,
desktop and phone.

Screenshots in artifacts/screenshots/: listening-alerts-{desktop,phone}.png,
listening-alert-{desktop,phone}.png, listening-alert-settings-desktop.png,
listening-alert-settings-error-desktop.png, listening-leads-desktop.png.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from chromium import axe_violations, shoot, sign_in
from django.utils import timezone
from listening_action_helpers import bluesky_mention
from listening_alert_helpers import mentions_at

from socialdesk.inbox.models import Contact
from socialdesk.listening import alerts
from socialdesk.listening.models import Alert, Topic, TopicQuery

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def alerted(workspace, owner):
    """A week of ordinary mentions, a burst in the last hour (one spike alert), and a mention
    with a critical word (one critical alert)."""
    now = timezone.now()
    topic = Topic.objects.create(workspace=workspace, name="Crumb")
    TopicQuery.objects.create(workspace=workspace, topic=topic, text="crumb")
    week = []
    for hour in range(2, 170):
        week += [now - timedelta(hours=hour, minutes=10 * i) for i in range(2 + hour % 3)]
    mentions_at(topic, week, sentiment="positive")
    mentions_at(
        topic,
        [now - timedelta(minutes=50) + timedelta(seconds=40 * i) for i in range(38)],
        text="Crumb & Co was on the evening news! Their croissant looked amazing",
        author_handle="paris11eats.bsky.social",
        sentiment="positive",
    )
    (spike,) = alerts.check_topic(topic, now)
    mention = bluesky_mention(
        workspace,
        text="My daughter is allergic to nuts and the Crumb 'plain' brioche had hazelnut in it",
    )
    alerts.save_settings(
        topic,
        spikes=True,
        sensitivity="medium",
        sentiment_drops=True,
        critical_words="food poisoning\nallergic",
        cooldown_hours=6,
    )
    alerts.on_stored(workspace.pk, [mention.pk])
    critical = Alert.objects.get(kind="critical")
    return {"topic": topic, "spike": spike, "critical": critical, "mention": mention}


def test_the_owner_reads_alerts_tunes_them_and_turns_a_mention_into_a_lead(
    browser, live_server, owner, alerted
):
    base = live_server.url
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    sign_in(page, base, owner.email)
    page.goto(f"{base}/w/crumb/listening/alerts/")
    titles = page.locator(".alert-title").all_inner_texts()
    assert "critical words “allergic”" in titles[0]
    assert "mentions in the last hour; usual" in titles[1]
    assert axe_violations(page) == []
    shoot(page, "listening-alerts-desktop")

    page.locator(".alert-title").first.click()
    page.wait_for_url(f"{base}/w/crumb/listening/alerts/{alerted['critical'].pk}/")
    assert page.get_by_text("This may be the start of a crisis").is_visible()
    assert axe_violations(page) == []
    shoot(page, "listening-alert-desktop")
    page.get_by_role("button", name="Mark as lead").click()
    page.wait_for_url(f"{base}/w/crumb/listening/alerts/{alerted['critical'].pk}/")
    assert page.get_by_text("is a lead").is_visible()
    assert Contact.objects.get(is_lead=True).handle == "ann.bsky.social"
    page.get_by_role("button", name="Mark seen").click()
    page.wait_for_url(f"{base}/w/crumb/listening/alerts/{alerted['critical'].pk}/")
    assert page.get_by_text("seen by").is_visible()

    page.goto(f"{base}/w/crumb/listening/alerts/topics/{alerted['topic'].pk}/")
    shoot(page, "listening-alert-settings-desktop")
    page.get_by_label("Critical words").fill('allergic\n"food poisoning')
    page.get_by_role("button", name="Save alert settings").click()
    assert page.get_by_text("Line 2").is_visible()
    shoot(page, "listening-alert-settings-error-desktop")
    page.get_by_label("Critical words").fill("allergic\nfood poisoning\nallerg*")
    page.get_by_label("Sensitivity").select_option("high")
    page.get_by_role("button", name="Save alert settings").click()
    assert page.get_by_text("Alert settings of “Crumb” saved.").is_visible()
    assert alerts.settings_for(alerted["topic"]).sensitivity == "high"

    page.goto(f"{base}/w/crumb/listening/leads/")
    assert page.get_by_role("cell", name="bluesky").is_visible()
    assert axe_violations(page) == []
    shoot(page, "listening-leads-desktop")
    context.close()


def test_the_alert_pages_read_well_on_a_phone(browser, live_server, owner, alerted):
    base = live_server.url
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True)
    page = context.new_page()
    sign_in(page, base, owner.email)
    page.goto(f"{base}/w/crumb/listening/alerts/")
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, width
    shoot(page, "listening-alerts-phone")
    page.goto(f"{base}/w/crumb/listening/alerts/{alerted['spike'].pk}/")
    assert page.get_by_text("Mentions in the hour").is_visible()
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, width
    shoot(page, "listening-alert-phone")
    context.close()
