"""The ``page`` network measures from our own server (issue 14, item 1): a post's views are
the counted views of its own page, its clicks the counted clicks on its short links; both
flow into snapshots through the ordinary metrics schedule, and spend no budget."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from page_helpers import publish

from socialdesk.analytics import metrics_tasks, reading
from socialdesk.analytics.models import MetricSnapshot, ShortLink
from socialdesk.networks.metrics import network_metrics
from socialdesk.networks.page import PageConnector
from socialdesk.page.models import PageEntry
from socialdesk.publishing.models import ChannelSpend, Delivery

PERSON = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/120.0 Safari/537.36"
BOT = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"


@pytest.fixture(autouse=True)
def site(settings, tmp_path):
    settings.SITE_URL = "https://social.crumb.test"
    settings.MEDIA_ROOT = tmp_path


def entry_of(delivery: Delivery) -> PageEntry:
    return PageEntry.objects.get(delivery=delivery)


def test_views_of_a_posts_own_page_are_its_views_and_bots_are_left_out(channel, owner, client):
    delivery = publish(channel, owner, "Stollen season starts today")
    other = publish(channel, owner, "Rye on Thursdays")
    path = f"/@crumb/{entry_of(delivery).pk}"

    client.get(path, HTTP_USER_AGENT=PERSON)
    client.get(path, HTTP_USER_AGENT=PERSON, REMOTE_ADDR="10.0.0.2")
    client.get(path, HTTP_USER_AGENT=BOT)
    client.get(path, HTTP_USER_AGENT=PERSON, HTTP_SEC_PURPOSE="prefetch")
    client.get("/@crumb", HTTP_USER_AGENT=PERSON)  # the front page is not a post's view

    found = PageConnector(channel).fetch_metrics([delivery.remote_id, other.remote_id])

    assert found[delivery.remote_id].views == 2
    assert found[other.remote_id].views == 0
    mine = found[delivery.remote_id]
    assert (mine.likes, mine.reposts, mine.replies, mine.quotes) == (None, None, None, None)


def test_clicks_on_a_posts_short_link_are_its_clicks_and_a_post_without_one_has_none(
    channel, owner, client
):
    with_link = publish(channel, owner, "Order a cake at https://crumb.test/cakes")
    without = publish(channel, owner, "No link here")
    code = ShortLink.objects.get(delivery=with_link).code

    client.get(f"/l/{code}", HTTP_USER_AGENT=PERSON)
    client.get(f"/l/{code}", HTTP_USER_AGENT=PERSON)
    client.get(f"/l/{code}", HTTP_USER_AGENT=BOT)
    client.head(f"/l/{code}", HTTP_USER_AGENT=PERSON)

    found = PageConnector(channel).fetch_metrics([with_link.remote_id, without.remote_id])

    assert found[with_link.remote_id].clicks == 2
    assert found[without.remote_id].clicks is None, "nothing to click: not given, not 0"


def test_a_post_no_longer_on_the_page_is_left_out(channel, owner):
    delivery = publish(channel, owner, "Gone tomorrow")
    remote_id = delivery.remote_id
    entry_of(delivery).delete()

    assert PageConnector(channel).fetch_metrics([remote_id, "not-an-id", ""]) == {}


def test_another_channels_entries_are_not_read(channel, other_channel, owner):
    delivery = publish(channel, owner, "Ours")

    assert PageConnector(other_channel).fetch_metrics([delivery.remote_id]) == {}


def test_page_snapshots_flow_through_the_schedule_without_spending_and_reach_the_ranking(
    workspace, channel, owner, client
):
    delivery = publish(channel, owner, "Kouign-amann, Saturday only https://crumb.test/k")
    client.get(f"/@crumb/{entry_of(delivery).pk}", HTTP_USER_AGENT=PERSON)
    client.get(f"/l/{ShortLink.objects.get(delivery=delivery).code}", HTTP_USER_AGENT=PERSON)
    Delivery.objects.filter(pk=delivery.pk).update(published_at=timezone.now() - timedelta(hours=2))

    metrics_tasks.poll_once(channel.pk)

    snapshot = MetricSnapshot.objects.get(delivery=delivery)
    assert (snapshot.views, snapshot.clicks, snapshot.likes) == (1, 1, None)
    assert not ChannelSpend.objects.filter(channel=channel).exists()
    period = reading.make_period(workspace.zone, timezone.localdate() - timedelta(days=6), 7)
    page = reading.ranking(workspace, reading.RankingFilters(period=period, metric="views"))
    assert [row["delivery_id"] for row in page.rows] == [delivery.pk]


def test_the_page_network_says_what_it_gives_and_how_fresh():
    said = network_metrics("page")

    assert [info.metric for info in said.gives] == ["views", "clicks"]
    assert all("live when read" in info.freshness for info in said.gives)
    assert "no likes" in said.note
