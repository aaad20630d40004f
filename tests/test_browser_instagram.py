"""Instagram end to end in a real Chromium (issue 16, Done when): connect Instagram through the
recorded OAuth flow, compose a carousel with alt texts and a first comment, watch scheduling
refuse an image Instagram would reject (a PNG), schedule it, and let the worker publish it
through the recorded container flow.

Instagram itself is ``RecordedNetwork`` playing ``tests/recordings/instagram/`` (written by
hand from Meta's reference) over real HTTP on 127.0.0.1: Chromium really goes to its consent
page, which sends it back to Socialdesk's callback with a code and the state. Screenshots:
``artifacts/screenshots/instagram-connect-desktop.png``, ``instagram-preview-desktop.png`` (the
preview alone) and ``instagram-composer-desktop.png``.
"""

from __future__ import annotations

import io
import re
from datetime import timedelta

import pytest
from chromium import SHOTS, axe_violations, shoot, sign_in
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from PIL import Image
from recorded import RecordedNetwork

from socialdesk.content.media import upload_media
from socialdesk.content.models import Post
from socialdesk.networks.models import Channel, Network
from socialdesk.publishing.dispatch import run
from socialdesk.publishing.models import Delivery, DeliveryState

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

IG = "17841400000000001"
CAPTION = (
    "Saturday's bake: sourdough, cinnamon buns and our first stollen of the year. Come early, "
    "the buns go by nine! #bakery #sourdough"
)


@pytest.fixture(scope="module")
def recorded():
    server = RecordedNetwork("instagram")
    yield server
    server.stop()


def picture(name: str, size: tuple[int, int], kind: str = "JPEG", colour="#c2410c"):
    buffer = io.BytesIO()
    Image.new("RGB", size, colour).save(buffer, kind)
    mime = "image/jpeg" if kind == "JPEG" else "image/png"
    return SimpleUploadedFile(name, buffer.getvalue(), content_type=mime)


@pytest.fixture
def bakery(recorded, workspace, owner, settings, tmp_path):
    recorded.reset()
    recorded.play("oauth", "publish_carousel")
    settings.NETWORK_URL_OVERRIDES = {"instagram": recorded.url}
    settings.NETWORK_APPS = {"instagram": {"client_id": "990602627938098", "client_secret": "s3"}}
    settings.MEDIA_ROOT = tmp_path
    settings.SITE_URL = "https://desk.example"
    library = {
        "loaf": upload_media(
            workspace, owner, picture("loaf.jpg", (1080, 1080)), "A round sourdough loaf"
        ),
        "buns": upload_media(
            workspace,
            owner,
            picture("buns.jpg", (1080, 1350), colour="#92400e"),
            "Cinnamon buns on a tray",
        ),
        "logo": upload_media(
            workspace, owner, picture("logo.png", (800, 800), "PNG", "#1d4ed8"), "Our logo"
        ),
    }
    return {**library, "server": recorded}


def test_connect_compose_a_carousel_schedule_and_publish_to_instagram(
    browser, live_server, bakery, owner
):
    base = live_server.url
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    sign_in(page, base, owner.email)

    # Connect: the page says what the operator registers, then Instagram's consent sends the
    # browser back with a code.
    page.goto(f"{base}/w/crumb/channels/connect/instagram/")
    assert page.get_by_text("reachable from the internet").is_visible()
    assert page.get_by_text("/channels/connect/instagram/callback/").is_visible()
    shoot(page, "instagram-connect-desktop")
    page.get_by_role("button", name="Continue on Instagram").click()
    page.wait_for_url(f"{base}/w/crumb/channels/")
    assert page.get_by_text("@crumbbakery is connected").is_visible()
    channel = Channel.objects.get(network=Network.INSTAGRAM)
    assert channel.credentials["access_token"] == "IGQWlong-lived-1"

    # Compose: a carousel of two library images and the logo, a caption, a first comment.
    page.goto(f"{base}/w/crumb/posts/new/")
    page.get_by_label("Text", exact=True).fill(CAPTION)
    page.get_by_label("Instagram · @crumbbakery", exact=True).check()
    for asset in ("loaf", "buns", "logo"):
        page.get_by_label(str(bakery[asset]), exact=True).check()
    page.get_by_label("First comment for @crumbbakery on Instagram").fill(
        "Order ahead at crumb.example/order"
    )
    page.get_by_label("Title").fill("Saturday bake")
    when = timezone.localtime(timezone.now() + timedelta(days=2)).replace(hour=9, minute=0)
    page.get_by_label("Publish at").fill(when.strftime("%Y-%m-%dT%H:%M"))

    # Scheduling refuses the PNG, in Instagram's rules' words.
    page.get_by_role("button", name="Create post").click()
    refused = page.get_by_text(re.compile("Instagram takes JPEG images"))
    assert page.get_by_text(re.compile("“Our logo” is a PNG file")).first.is_visible()
    refused.first.wait_for()
    assert not Delivery.objects.filter(state=DeliveryState.SCHEDULED).exists()

    # Without the PNG, and with one more photo uploaded with its alt text, it is scheduled.
    page.get_by_label(str(bakery["logo"]), exact=True).uncheck()
    page.get_by_label("Image 1", exact=True).set_input_files(
        {
            "name": "stollen.jpg",
            "mimeType": "image/jpeg",
            "buffer": picture("stollen.jpg", (1080, 1080), colour="#fbbf24").read(),
        }
    )
    page.get_by_label("Describe image 1").fill("A stollen dusted with sugar")
    page.get_by_label("Describe image 1").blur()  # its change redraws the previews
    preview = page.locator("[data-previews]").get_by_role(
        "region", name="Preview on Instagram @crumbbakery"
    )
    assert preview.locator(".pv-ig-dot").count() == 3
    # In the order Instagram gets them: the library's in upload order, then the new upload.
    shown = preview.locator(".pv-ig-frame img")
    assert shown.get_attribute("alt") == "A round sourdough loaf"
    assert preview.locator(".pv-ig-count").inner_text() == "1/3"
    assert "more" in preview.locator(".pv-ig-caption").inner_text()
    assert "Order ahead at crumb.example/order" in preview.inner_text()
    preview.get_by_role("button", name="Show photo 2 of 3").click()
    assert shown.get_attribute("alt") == "Cinnamon buns on a tray"
    preview.get_by_role("button", name="Show photo 3 of 3").click()
    assert shown.get_attribute("alt") == "A stollen dusted with sugar"
    preview.get_by_role("button", name="Show photo 1 of 3").click()
    preview.screenshot(path=str(SHOTS / "instagram-preview-desktop.png"))
    inside = "selector => !!document.querySelector(selector)?.closest('[data-previews]')"
    in_preview = [
        f"{v['id']}: {v['help']} at {v['targets']}"
        for v in axe_violations(page)
        if any(page.evaluate(inside, target[0]) for target in v["targets"])
    ]
    assert not in_preview, in_preview
    shoot(page, "instagram-composer-desktop")
    page.get_by_role("button", name="Create post").click()
    page.wait_for_url(re.compile(rf"{base}/w/crumb/posts/\d+/$"))
    assert page.get_by_role("status").first.inner_text().startswith("Post created and scheduled")

    post = Post.objects.get(title="Saturday bake")
    delivery = post.deliveries.get()
    assert delivery.state == DeliveryState.SCHEDULED
    assert delivery.first_comment == "Order ahead at crumb.example/order"

    # The worker publishes it through the container flow once it is due.
    Delivery.objects.filter(pk=delivery.pk).update(
        scheduled_at=timezone.now() - timedelta(seconds=5)
    )
    assert run(delivery.pk, "w1") == DeliveryState.PUBLISHED
    delivery.refresh_from_db()
    assert delivery.remote_url == "https://www.instagram.com/p/DAbCdEfGhIj/"
    server = bakery["server"]
    made = server.requests_to("POST", f"/v24.0/{IG}/media")
    children = [s for s in made if s.fields.get("is_carousel_item") == ["true"]]
    assert len(children) == 3
    assert sorted(s.fields["alt_text"][0] for s in children) == [
        "A round sourdough loaf",
        "A stollen dusted with sugar",
        "Cinnamon buns on a tray",
    ]
    assert all(s.fields["image_url"][0].startswith("https://desk.example/media/") for s in children)
    (carousel,) = [s for s in made if s.fields.get("media_type") == ["CAROUSEL"]]
    assert carousel.fields["caption"] == [CAPTION]
    assert len(server.requests_to("POST", f"/v24.0/{IG}/media_publish")) == 1
    (comment,) = server.requests_to("POST", "/v24.0/18000000000000300/comments")
    assert comment.fields["message"] == ["Order ahead at crumb.example/order"]
    context.close()
