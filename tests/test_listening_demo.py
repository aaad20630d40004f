"""The demo bakery's listening: itself and two rivals, 90 days of believable mentions, a
local news feed, the spike it was alerted to, a critical-words alert and a lead; fast."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db.models import Count
from django.utils import timezone

from socialdesk.inbox.models import Contact
from socialdesk.listening import alerts
from socialdesk.listening.models import Alert, Mention, MentionMatch, Source, Topic

pytestmark = pytest.mark.slow  # builds the whole demo (once for the module)


@pytest.fixture
def demo(db, module_demo):
    """The demo, built once for the module (conftest's ``module_demo``, which times it)."""
    return module_demo


def test_the_bakery_follows_itself_and_two_rivals_for_ninety_days(demo):
    workspace = demo.workspace
    topics = {t.name: t.kind for t in Topic.objects.filter(workspace=workspace)}
    assert topics == {
        "Crumb & Co": "brand",
        "Levain Lane": "competitor",
        "Maison Farine": "competitor",
    }
    per_topic = dict(
        MentionMatch.objects.filter(topic__workspace=workspace)
        .values_list("topic__name")
        .annotate(n=Count("mention_id"))
    )
    assert per_topic["Crumb & Co"] > per_topic["Levain Lane"] > per_topic["Maison Farine"] > 150
    oldest = Mention.objects.filter(workspace=workspace).order_by("posted_at").first()
    assert timedelta(days=88) <= timezone.now() - oldest.posted_at <= timedelta(days=91)
    moods = dict(
        Mention.objects.filter(workspace=workspace).values_list("sentiment").annotate(n=Count("id"))
    )
    assert moods["positive"] > moods["neutral"] > moods["negative"] > 0
    assert set(Source.objects.filter(workspace=workspace).values_list("kind", flat=True)) == {
        "bluesky",
        "feed",
    }
    assert Mention.objects.filter(workspace=workspace, source_kind="feed").exists()


def test_it_was_alerted_to_a_spike_and_a_critical_word_waits(demo):
    workspace = demo.workspace
    spike = Alert.objects.get(workspace=workspace, kind="spike")
    assert spike.state == "seen" and spike.detail["count"] > spike.detail["threshold"]
    assert "mentions in the last hour; usual" in spike.title
    assert alerts.mentions_of(spike).count() == spike.detail["count"]
    critical = Alert.objects.get(workspace=workspace, kind="critical")
    assert critical.state == "new" and critical.proposes_crisis
    # The live check agrees with the stored alert: that hour is a spike by today's rules.
    brand = spike.topic
    again = alerts.check_spike(brand, alerts.settings_for(brand), spike.window_end)
    assert again is None  # the cool-down: that spike already has its alert
    assert Contact.objects.filter(workspace=workspace, is_lead=True).count() == 1
