"""The composer in a real Chromium: a post for two channels with a Mastodon version, counters
and previews that follow the typing, a hashtag group, an autosaved draft that survives a
reload, an image with alt text, and scheduling. Screenshots at 1280×800 and 390×844 go to
``artifacts/screenshots/``; axe-core (from npm) must find no serious or critical violation."""

from __future__ import annotations

import io
import re
from datetime import UTC, datetime

import pytest
from chromium import axe_violations, shoot, sign_in
from django.utils import timezone
from PIL import Image

from socialdesk.content.composer import text_length
from socialdesk.content.models import HashtagGroup, Post, PostTemplate
from socialdesk.networks.models import Channel, Network
from socialdesk.publishing.models import DeliveryState

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def bakery(workspace, owner, settings, tmp_path) -> dict:
    """The cast's bakery with a Bluesky and a Mastodon channel, a hashtag group, a template."""
    settings.MEDIA_ROOT = tmp_path
    bluesky = Channel.objects.create(
        workspace=workspace, network=Network.BLUESKY, handle="crumb.bsky.social"
    )
    mastodon = Channel.objects.create(
        workspace=workspace,
        network=Network.MASTODON,
        handle="crumb@bread.social",
        display_name="Crumb & Co",
        signature="— the Crumb bakers",
    )
    HashtagGroup.objects.create(workspace=workspace, name="Baking", hashtags="#baking #stollen")
    PostTemplate.objects.create(workspace=workspace, name="Launch", text="New: {product}!")
    return {"workspace": workspace, "owner": owner, "bluesky": bluesky, "mastodon": mastodon}


def serious_violations(page) -> list[str]:
    """axe-core's serious and critical findings in the page's main area (the composer; the
    shared sidebar is the layout's), with where they are."""
    inside = "selector => !!document.querySelector(selector)?.closest('#main')"
    return [
        f"{v['id']}: {v['help']} at {v['targets']}"
        for v in axe_violations(page)
        if any(page.evaluate(inside, target[0]) for target in v["targets"])
    ]


def png_bytes() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (320, 200), "#d97706").save(buffer, "PNG")
    return buffer.getvalue()


def test_compose_for_two_channels_with_a_mastodon_version_and_schedule(
    browser, live_server, bakery
):
    base = live_server.url
    bluesky, mastodon = bakery["bluesky"], bakery["mastodon"]
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    sign_in(page, base, bakery["owner"].email)
    page.goto(f"{base}/w/crumb/posts/new/")

    shared = "Stollen is back from Monday. Pre-order: https://crumb.fr/shop/stollen-2026"
    page.get_by_label("Text", exact=True).fill(shared)
    page.get_by_label("Bluesky · crumb.bsky.social", exact=True).check()
    page.get_by_label("Mastodon · crumb@bread.social", exact=True).check()

    # Counters per network: Bluesky counts the link as typed, Mastodon as 23 — the same
    # numbers the server's check (the connectors' counting) gives.
    counters = page.locator("[data-counters=text]")
    assert text_length(Network.BLUESKY, shared) == 74
    assert text_length(Network.MASTODON, shared) == 40 + 23
    assert "Bluesky 74 / 300" in counters.inner_text()
    assert "Mastodon 63 / 500" in counters.inner_text()

    # The hashtag group goes where the cursor is (the end of the text).
    page.get_by_label("Text", exact=True).press("End")
    page.locator("summary", has_text="Hashtags").click()
    page.get_by_role("button", name="Baking").click()
    assert page.get_by_label("Text", exact=True).input_value() == shared + " #baking #stollen"
    assert "Bluesky 91 / 300" in counters.inner_text()

    # Mastodon gets its own version, with the channel's signature; its preview follows.
    page.get_by_role("tab", name="Mastodon · crumb@bread.social").click()
    version = page.get_by_label("Version for crumb@bread.social on Mastodon")
    version.fill(
        "Stollen is back! 🎄 Baked by @baker@bread.social https://crumb.fr/shop/stollen-2026"
    )
    page.get_by_role("button", name="Add signature").click()
    assert version.input_value().endswith("\n\n— the Crumb bakers")
    mastodon_counter = page.locator(f"[data-counters='{mastodon.pk}']")
    expected = text_length(Network.MASTODON, version.input_value())
    assert f"Mastodon {expected} / 500" in mastodon_counter.inner_text()
    previews = page.locator("[data-previews]")
    on_mastodon = previews.get_by_role("region", name="Preview on Mastodon crumb@bread.social")
    on_bluesky = previews.get_by_role("region", name="Preview on Bluesky crumb.bsky.social")
    assert "— the Crumb bakers" in on_mastodon.inner_text()
    assert "#baking #stollen" in on_bluesky.inner_text()
    assert "— the Crumb bakers" not in on_bluesky.inner_text()
    page.get_by_label("First comment for crumb@bread.social on Mastodon").fill(
        "Opening hours: 7–19"
    )
    assert "Opening hours: 7–19" in on_mastodon.inner_text()

    # Too long for Bluesky: its counter says so at once.
    page.get_by_label("Text", exact=True).fill("🥐" * 301)
    assert "1 too many" in counters.inner_text()
    page.get_by_label("Text", exact=True).fill(shared + " #baking #stollen")

    # Autosave: the typed text is on the server and comes back after a reload.
    page.get_by_text(re.compile(r"^Saved \d\d:\d\d$")).wait_for()
    page.reload()
    assert page.get_by_label("Text", exact=True).input_value() == shared + " #baking #stollen"
    assert version.input_value().endswith("— the Crumb bakers")
    page.get_by_text("You have unsaved changes").wait_for()

    # An image with alt text, previewed on both networks.
    page.get_by_label("Image 1", exact=True).set_input_files(
        {"name": "stollen.png", "mimeType": "image/png", "buffer": png_bytes()}
    )
    page.get_by_label("Describe image 1").fill("A sliced stollen dusted with sugar")
    assert on_bluesky.locator("img[alt='A sliced stollen dusted with sugar']").count() == 1
    page.get_by_label("Title").fill("Stollen launch")
    year = timezone.now().year + 1
    page.get_by_label("Publish at").fill(f"{year}-01-15T09:00")
    shoot(page, "composer-desktop")
    violations = serious_violations(page)
    assert not violations, violations

    page.get_by_role("button", name="Create post").click()
    page.wait_for_url(re.compile(rf"{base}/w/crumb/posts/\d+/$"))  # kept on the post
    assert page.get_by_role("status").first.inner_text().startswith("Post created and scheduled")

    post = Post.objects.get(title="Stollen launch")
    assert post.text == shared + " #baking #stollen"
    assert [a.alt_text for a in post.media.all()] == ["A sliced stollen dusted with sugar"]
    on_bluesky_row = post.deliveries.get(channel=bluesky)
    on_mastodon_row = post.deliveries.get(channel=mastodon)
    assert on_bluesky_row.state == on_mastodon_row.state == DeliveryState.SCHEDULED
    assert on_bluesky_row.scheduled_at == datetime(year, 1, 15, 8, 0, tzinfo=UTC)
    assert on_bluesky_row.text_override == ""
    assert on_mastodon_row.text_override.endswith("— the Crumb bakers")
    assert on_mastodon_row.first_comment == "Opening hours: 7–19"

    # The saved post opens in the composer with its tabs, previews and no stale draft.
    page.goto(f"{base}/w/crumb/posts/{post.pk}/")
    assert page.get_by_text("You have unsaved changes").count() == 0
    shoot(page, "composer-edit-desktop")
    context.close()


def test_the_composer_fits_a_phone(browser, live_server, bakery):
    base = live_server.url
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True)
    page = context.new_page()
    sign_in(page, base, bakery["owner"].email)
    page.goto(f"{base}/w/crumb/posts/new/")
    page.get_by_label("Text", exact=True).fill(
        "Stollen is back from Monday 🎄 https://crumb.fr/shop"
    )
    page.get_by_label("Bluesky · crumb.bsky.social", exact=True).check()
    page.get_by_label("Mastodon · crumb@bread.social", exact=True).check()
    page.get_by_role("tab", name="Mastodon · crumb@bread.social").click()
    scroll_width = page.evaluate("document.documentElement.scrollWidth")
    assert scroll_width <= 390, f"the composer is {scroll_width}px wide"
    page.evaluate("window.scrollTo(0, 0)")  # the layout's sticky bar shows where it scrolled
    shoot(page, "composer-phone")
    violations = serious_violations(page)
    assert not violations, violations
    page.goto(f"{base}/w/crumb/composer/settings/")
    shoot(page, "composer-settings-phone")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    context.close()


def first_sunday_of_november(year: int) -> datetime:
    day = datetime(year, 11, 1)
    return day.replace(day=1 + (6 - day.weekday()) % 7)


def test_the_composer_names_the_zone_and_offers_both_readings_of_a_repeated_hour(
    browser, live_server, bakery
):
    """A Bluesky account of the Paris bakery posts for New York: the time is read in New York
    when it is the only channel, and 01:30 on the night New York's clocks go back is offered
    as its earlier (EDT) and later (EST) reading."""
    base = live_server.url
    bluesky = bakery["bluesky"]
    bluesky.time_zone = "America/New_York"
    bluesky.save(update_fields=["time_zone"])
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    sign_in(page, base, bakery["owner"].email)
    page.goto(f"{base}/w/crumb/posts/new/")

    note = page.locator("[data-zone-note]")
    assert note.inner_text() == "Read in Europe/Paris, the workspace's time zone."
    page.get_by_label("Text", exact=True).fill("Bagels and stollen, from Sunday")
    page.get_by_label("Title").fill("New York stollen")
    page.get_by_label("Bluesky · crumb.bsky.social", exact=True).check()
    assert note.inner_text() == "Read in America/New_York, the time zone of crumb.bsky.social."
    page.get_by_label("Mastodon · crumb@bread.social", exact=True).check()
    assert note.inner_text() == "Read in Europe/Paris, the workspace's time zone."
    page.get_by_label("Mastodon · crumb@bread.social", exact=True).uncheck()

    night = first_sunday_of_november(timezone.now().year + 1)
    page.get_by_label("Publish at").fill(f"{night:%Y-%m-%d}T01:30")
    page.get_by_role("button", name="Create post").click()
    page.get_by_role("group", name="Which reading of this time?").wait_for()
    assert "01:30 happens twice on" in page.locator("#id_scheduled_at_error").inner_text()
    shoot(page, "composer-repeated-hour")
    violations = serious_violations(page)
    assert not violations, violations

    page.get_by_label("The later 01:30 EST (UTC-5)").check()
    page.get_by_role("button", name="Create post").click()
    page.wait_for_url(re.compile(rf"{base}/w/crumb/posts/\d+/$"))
    saved = page.get_by_role("status").first.inner_text()
    assert saved == (
        f"Post created and scheduled for {night:%a %d %b %Y}, 01:30 in America/New_York (UTC-5)."
    )
    delivery = Post.objects.get(title="New York stollen").deliveries.get()
    assert delivery.scheduled_at == datetime(night.year, 11, night.day, 6, 30, tzinfo=UTC)
    context.close()
