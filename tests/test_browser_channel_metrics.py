"""The Channels page says what each network lets Socialdesk measure, in a real Chromium at
desktop and phone sizes, for an analyst (who reads numbers but manages no channel): readable
tables with headers, nothing wider than the screen, no serious axe violations. Screenshots go
to ``artifacts/screenshots/`` (``channels-metrics-*.png``)."""

from __future__ import annotations

import pytest
from chromium import SIZES, axe_violations, shoot, sign_in

from socialdesk.networks.models import Channel, Network

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.mark.parametrize("size", SIZES)
def test_the_channels_page_says_what_each_network_measures(
    browser, live_server, workspace, channel, analyst, size
):
    Channel.objects.create(workspace=workspace, network=Network.BLUESKY, handle="crumb.bsky.social")
    base = live_server.url
    width, height = SIZES[size]
    context = browser.new_context(
        viewport={"width": width, "height": height}, is_mobile=size == "phone"
    )
    page = context.new_page()
    sign_in(page, base, analyst.email)

    page.goto(f"{base}/w/crumb/channels/")
    section = page.get_by_role("region", name="What each network lets Socialdesk measure")
    bluesky = section.get_by_role("table", name="Bluesky")
    assert bluesky.get_by_role("rowheader", name="Likes").is_visible()
    assert bluesky.get_by_role("rowheader", name="Followers").is_visible()
    assert section.get_by_text("Bluesky gives no views and no link clicks.").is_visible()
    assert section.get_by_text("Mastodon's API gives no views").is_visible()
    own = section.get_by_role("table", name="Public page")  # counted by Socialdesk itself
    assert own.get_by_role("rowheader", name="Views").is_visible()
    assert own.get_by_role("rowheader", name="Clicks").is_visible()
    scroll_width = page.evaluate("document.documentElement.scrollWidth")
    assert scroll_width <= width, f"the Channels page is {scroll_width}px wide"
    assert axe_violations(page) == []
    section.scroll_into_view_if_needed()
    shoot(page, f"channels-metrics-{size}")
    context.close()
