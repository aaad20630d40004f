"""End to end: the real worker loop publishes a due post, and it is on the public page.

The loop closes connections it finds inside a transaction, so this uses ``transactional_db``.
"""

from __future__ import annotations

from django_tasks_db.models import DBTaskResult
from page_helpers import make_due, scheduled_post

from socialdesk.publishing.models import Delivery, DeliveryState
from socialdesk.publishing.tasks import enqueue_delivery
from socialdesk.worker import run_worker


def test_the_worker_publishes_a_due_post_and_the_page_shows_it(
    transactional_db, workspace, owner, channel, client, settings, tmp_path
):
    settings.MEDIA_ROOT = tmp_path
    delivery = make_due(scheduled_post(channel, owner, "Worker-baked baguettes #live"))
    DBTaskResult.objects.all().delete()  # only the task below: due now
    enqueue_delivery(delivery)
    assert "Worker-baked baguettes" not in client.get("/@crumb").content.decode()

    run_worker(batch=True, worker_id="oven-page", interval=0.05)

    delivery = Delivery.objects.get(pk=delivery.pk)
    assert delivery.state == DeliveryState.PUBLISHED, delivery.last_error
    assert "Worker-baked baguettes" in client.get("/@crumb").content.decode()
    assert "Worker-baked baguettes" in client.get("/@crumb/feed.rss").content.decode()
