"""The ``page`` network through the publishing engine: publish, repeat, reconcile, delete,
reschedule. The real connector, driven by ``dispatch.run`` as a worker would."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from page_helpers import make_due, publish, scheduled_post

from socialdesk.networks.base import ConnectorError, DeliveryContent
from socialdesk.networks.models import Channel, Network
from socialdesk.networks.page import PageConnector
from socialdesk.page.models import PageEntry
from socialdesk.page.services import remove_from_page
from socialdesk.publishing import connectors, dispatch
from socialdesk.publishing.models import Delivery, DeliveryState
from socialdesk.publishing.services import reschedule

S = DeliveryState


@pytest.fixture(autouse=True)
def site(settings, tmp_path):
    settings.SITE_URL = "https://social.crumb.test"
    settings.MEDIA_ROOT = tmp_path


def test_the_page_network_has_a_real_connector(channel):
    assert isinstance(connectors.connector_for(channel), PageConnector)


def test_a_due_page_delivery_is_published_and_shows_on_the_page(channel, owner, client):
    delivery = publish(channel, owner, "Stollen season starts today #christmas")

    entry = PageEntry.objects.get(delivery=delivery)
    assert delivery.remote_id == str(entry.pk)
    assert delivery.remote_url == f"https://social.crumb.test/@crumb/{entry.pk}"
    assert delivery.published_at is not None
    page = client.get("/@crumb").content.decode()
    assert "Stollen season starts today" in page
    assert 'href="/@crumb?tag=christmas"' in page


def test_publishing_twice_with_the_same_key_writes_one_entry(channel, owner):
    delivery = scheduled_post(channel, owner, "Kouign-amann, Saturday only")
    connector = PageConnector(channel)
    content = connectors.content_for(delivery)

    first = connector.publish(content, delivery.idempotency_key)
    second = connector.publish(content, delivery.idempotency_key)

    assert first == second
    assert PageEntry.objects.filter(delivery=delivery).count() == 1


def test_a_worker_that_crashed_after_writing_is_reconciled_without_a_second_entry(channel, owner):
    delivery = make_due(scheduled_post(channel, owner, "Brioche feuilletée is back"))
    written = PageConnector(channel).publish(
        connectors.content_for(delivery), delivery.idempotency_key
    )
    # The worker died between the write and recording it: the sweeper says "unknown".
    Delivery.objects.filter(pk=delivery.pk).update(state=S.UNKNOWN, retry_at=timezone.now())

    assert dispatch.run(delivery.pk, "w2") == S.PUBLISHED

    delivery.refresh_from_db()
    assert delivery.remote_id == written.remote_id
    assert PageEntry.objects.filter(delivery=delivery).count() == 1
    reasons = list(delivery.transitions.values_list("reason", flat=True))
    assert reasons[-1] == "reconciled: the network has the post"


def test_an_unknown_delivery_the_page_does_not_have_is_retried(channel, owner):
    delivery = make_due(scheduled_post(channel, owner, "Galette des rois pre-orders"))
    Delivery.objects.filter(pk=delivery.pk).update(state=S.UNKNOWN, retry_at=timezone.now())

    assert dispatch.run(delivery.pk, "w2") == S.PUBLISHED
    assert PageEntry.objects.filter(delivery=delivery).count() == 1


def test_deleting_removes_the_post_from_the_page_and_the_feeds(channel, owner, client):
    delivery = publish(channel, owner, "Pistachio escargot, limited run")

    remove_from_page(delivery)

    assert not PageEntry.objects.filter(delivery=delivery).exists()
    assert "Pistachio escargot" not in client.get("/@crumb").content.decode()
    assert "Pistachio escargot" not in client.get("/@crumb/feed.atom").content.decode()
    assert client.get(f"/@crumb/{delivery.remote_id}").status_code == 404
    # Deleting what is already gone is not an error.
    PageConnector(channel).delete(delivery.remote_id)


def test_a_rescheduled_delivery_appears_at_its_new_time_not_the_old_one(channel, owner, client):
    delivery = scheduled_post(channel, owner, "Chestnut loaf, new recipe")
    soon = timezone.localtime(timezone.now() + timedelta(hours=2), channel.zone)

    [delivery] = reschedule(delivery, soon.replace(tzinfo=None, second=0, microsecond=0))

    assert dispatch.run(delivery.pk, "w1") == S.SCHEDULED
    assert "Chestnut loaf" not in client.get("/@crumb").content.decode()
    later = delivery.scheduled_at + timedelta(seconds=1)
    assert dispatch.run(delivery.pk, "w1", now=later) == S.PUBLISHED
    assert "Chestnut loaf" in client.get("/@crumb").content.decode()


def test_an_empty_post_is_refused_by_the_page_with_a_reason():
    problems = PageConnector(Channel(network=Network.PAGE)).validate(DeliveryContent(text="  "))

    assert [p.field for p in problems] == ["text"]
    assert "Write some text or add an image" in problems[0].message


def test_a_key_that_is_not_a_delivery_of_this_channel_is_refused_for_good(
    channel, other_channel, outsider
):
    theirs = scheduled_post(other_channel, outsider, "Rival bagels")

    with pytest.raises(ConnectorError) as refused:
        PageConnector(channel).publish(DeliveryContent(text="x"), theirs.idempotency_key)

    assert refused.value.permanent
    assert not PageEntry.objects.exists()
    # Nor is a key that is no delivery's at all, such as the old id-based form.
    old_style = f"socialdesk-delivery-{theirs.pk}"
    with pytest.raises(ConnectorError):
        PageConnector(other_channel).publish(DeliveryContent(text="x"), old_style)
    assert PageConnector(other_channel).find_published(old_style) is None


def test_check_connection_names_the_workspace_page(channel):
    account = PageConnector(channel).check_connection()

    assert account.handle == "@crumb"
    assert account.remote_account_id == "crumb"
