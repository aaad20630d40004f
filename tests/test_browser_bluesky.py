"""Issue 3's "done when", in a real Chromium against the real local Bluesky network: a person
connects a Bluesky account on the Channels page, writes a post with an image and its alt text
scheduled for the next minutes, the worker (driven synchronously, as of the chosen minute)
publishes it, and the post list shows it published with its link; the post is on the server
with the image and the alt text.

Screenshots go to ``artifacts/screenshots/channels-*.png`` and ``editor-media-*.png``.
"""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from atproto import AtUri, models
from chromium import shoot, sign_in
from django.utils import timezone
from PIL import Image

from socialdesk.networks.models import Channel, ChannelStatus, Network
from socialdesk.publishing import dispatch
from socialdesk.publishing.models import Delivery, DeliveryState
from socialdesk.workspaces.models import Workspace

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

ALT = "A round country loaf with a floured crust, cut open on a wooden board"


@pytest.fixture
def bakery(workspace, owner, channel) -> Workspace:
    """The cast's bakery, with its public page."""
    return workspace


def test_a_person_connects_bluesky_and_an_image_post_goes_out_at_the_chosen_minute(
    browser, live_server, bakery, owner, bluesky_server, tmp_path
):
    account = bluesky_server.create_account("crumb")
    base = live_server.url
    page = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
    sign_in(page, base, owner.email)

    # Connect: a wrong app password first, then the right one.
    page.get_by_role("link", name="Channels").click()
    page.wait_for_url(f"{base}/w/crumb/channels/")
    page.get_by_label("Handle").fill(account.handle)
    page.get_by_label("App password").fill("wrong-wrong-wrong")
    page.get_by_label("Server (PDS) address").fill(bluesky_server.pds_url)
    page.get_by_role("button", name="Connect Bluesky").click()
    page.locator("#id_app_password_error").wait_for()
    assert "Bluesky refused" in page.locator("#id_app_password_error").inner_text()
    assert page.get_by_label("App password").input_value() == ""
    shoot(page, "channels-refused")
    page.get_by_label("App password").fill(account.app_password)
    page.get_by_role("button", name="Connect Bluesky").click()
    page.wait_for_url(f"{base}/w/crumb/channels/")
    row = page.locator("tr", has_text=account.handle)
    assert row.locator(".status-connected").inner_text() == "Connected"
    shoot(page, "channels-connected")
    channel = Channel.objects.get(network=Network.BLUESKY)
    assert channel.remote_account_id == account.did
    assert channel.status == ChannelStatus.CONNECTED

    # Write the post with an image and its alt text, for the minute after next.
    image = tmp_path / "loaf.png"
    Image.new("RGB", (320, 200), (214, 160, 90)).save(image)
    due = (timezone.now() + timedelta(minutes=2)).replace(second=0, microsecond=0)
    page.get_by_role("link", name="Posts").click()
    page.get_by_role("link", name="New post").click()
    page.get_by_label("Text").fill("Today's country loaf, straight from the oven 🍞")
    page.get_by_label(f"Bluesky · {account.handle}").check()
    page.get_by_label("Image 1", exact=True).set_input_files(str(image))
    page.get_by_label("Describe image 1").fill(ALT)
    local = due.astimezone(bakery.zone).strftime("%Y-%m-%dT%H:%M")
    page.get_by_label("Publish at").fill(local)
    shoot(page, "editor-media-new")
    page.get_by_role("button", name="Create post").click()
    page.wait_for_url(re.compile(rf"{base}/w/crumb/posts/\d+/$"))
    delivery = Delivery.objects.get(channel=channel)
    assert delivery.state == DeliveryState.SCHEDULED
    assert delivery.scheduled_at == due

    # Saving keeps the author in the editor, which shows the image as a thumbnail with its
    # alt text.
    thumb = page.locator("img.media-thumb")
    assert thumb.get_attribute("alt") == ALT
    assert thumb.evaluate("img => img.naturalWidth") == 320
    shoot(page, "editor-media-attached")

    # The worker, driven synchronously: not a second early, then at the chosen minute. The
    # editor's own requests (panels loading, autosave) must be over first: the SQLite test
    # database is shared-cache in memory, where a write meeting another thread's lock fails.
    page.wait_for_load_state("networkidle")
    page.goto("about:blank")
    assert dispatch.run(delivery.pk, "test-worker", now=due - timedelta(seconds=1)) != "published"
    assert Delivery.objects.get(pk=delivery.pk).state == DeliveryState.SCHEDULED
    dispatch.run(delivery.pk, "test-worker", now=due)
    delivery.refresh_from_db()
    assert delivery.state == DeliveryState.PUBLISHED, delivery.last_error

    page.goto(f"{base}/w/crumb/posts/")
    row = page.locator("tr", has_text="Today's country loaf")
    assert row.locator(".state-published").count() == 1
    link = page.locator(f'a[href="{delivery.remote_url}"]')
    assert link.count() >= 1
    shoot(page, "channels-post-published")

    # On the server: the post, its image, and the alt text.
    uri = AtUri.from_str(delivery.remote_id)
    record = bluesky_server.client(account).com.atproto.repo.get_record(
        models.ComAtprotoRepoGetRecord.Params(
            repo=uri.host, collection=uri.collection, rkey=uri.rkey
        )
    )
    assert record.value.text == "Today's country loaf, straight from the oven 🍞"
    (embedded,) = record.value.embed.images
    assert embedded.alt == ALT
    assert embedded.image.mime_type == "image/png"
