"""The Connect Mastodon form in a real Chromium, at desktop and phone sizes: a refused
address shows its message next to the field, and nothing is wider than a phone's screen.
Screenshots go to ``artifacts/screenshots/`` (``channels-mastodon-*.png``)."""

from __future__ import annotations

import pytest
from chromium import SIZES, shoot, sign_in

from socialdesk.networks.models import Channel, ChannelStatus, Network

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def bakery(workspace) -> None:
    """The cast's bakery with a Bluesky channel and a Mastodon one to reconnect."""
    Channel.objects.create(workspace=workspace, network=Network.BLUESKY, handle="crumb.bsky.social")
    mastodon = Channel.objects.create(
        workspace=workspace,
        network=Network.MASTODON,
        handle="@crumb@bakery.example",
        status=ChannelStatus.NEEDS_RECONNECT,
    )
    mastodon.set_credentials({"instance_url": "https://bakery.example"})
    mastodon.save()


@pytest.mark.parametrize("size", SIZES)
def test_the_connect_mastodon_form_explains_a_refused_address(
    browser, live_server, bakery, owner, size
):
    base = live_server.url
    width, height = SIZES[size]
    context = browser.new_context(
        viewport={"width": width, "height": height}, is_mobile=size == "phone"
    )
    page = context.new_page()
    sign_in(page, base, owner.email)

    page.goto(f"{base}/w/crumb/channels/")
    page.get_by_label("Instance").fill("http://mastodon.social")
    page.get_by_role("button", name="Continue on Mastodon").click()

    assert page.get_by_text("The instance must use https").is_visible()
    assert page.get_by_role("button", name="Reconnect @crumb@bakery.example").is_visible()
    scroll_width = page.evaluate("document.documentElement.scrollWidth")
    assert scroll_width <= width, f"the Channels page is {scroll_width}px wide"
    shoot(page, f"channels-mastodon-{size}")
    context.close()
