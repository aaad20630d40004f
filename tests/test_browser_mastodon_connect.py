"""The Connect Mastodon form in a real Chromium, at desktop and phone sizes: a refused
address shows its message next to the field, and nothing is wider than a phone's screen.
Screenshots go to ``artifacts/screenshots/`` (``channels-mastodon-*.png``)."""

from __future__ import annotations

import pytest
from chromium import SHOTS

from socialdesk.networks.models import Channel, ChannelStatus, Network
from socialdesk.workspaces.models import Membership, User, Workspace
from socialdesk.workspaces.roles import Role

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SIZES = {"desktop": (1280, 800), "phone": (390, 844)}
PASSWORD = "correct horse battery staple"


@pytest.fixture
def bakery(transactional_db, settings) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    workspace = Workspace.objects.create(name="Crumb & Co", slug="crumb", time_zone="Europe/Paris")
    owner = User.objects.create_user("ines@crumb.test", PASSWORD, name="Inès Moreau")
    Membership.objects.create(workspace=workspace, user=owner, role=Role.OWNER)
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
def test_the_connect_mastodon_form_explains_a_refused_address(browser, live_server, bakery, size):
    base = live_server.url
    width, height = SIZES[size]
    context = browser.new_context(
        viewport={"width": width, "height": height}, is_mobile=size == "phone"
    )
    page = context.new_page()
    page.goto(f"{base}/accounts/login/")
    page.get_by_label("Email address").fill("ines@crumb.test")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{base}/w/crumb/")

    page.goto(f"{base}/w/crumb/channels/")
    page.get_by_label("Instance").fill("http://mastodon.social")
    page.get_by_role("button", name="Continue on Mastodon").click()

    assert page.get_by_text("The instance must use https").is_visible()
    assert page.get_by_role("button", name="Reconnect @crumb@bakery.example").is_visible()
    scroll_width = page.evaluate("document.documentElement.scrollWidth")
    assert scroll_width <= width, f"the Channels page is {scroll_width}px wide"
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"channels-mastodon-{size}.png"), full_page=True)
    context.close()
