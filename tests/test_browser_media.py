"""The media library in a real Chromium: drop two images, see each file's progress and error,
write alt text on a card, search, read a badge's reason; screenshots at desktop and phone
sizes, and axe-core finds no serious or critical accessibility violation."""

from __future__ import annotations

import base64
import io
import random
from pathlib import Path

import pytest
from chromium import axe_violations, shoot, sign_in
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from socialdesk.content.media import upload_media
from socialdesk.content.models import MediaAsset
from socialdesk.networks.models import Channel, Network
from socialdesk.workspaces.models import Workspace

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def picture(width: int, height: int, color: str) -> bytes:
    image = Image.new("RGB", (width, height), color)
    # A lighter band so the thumbnails are recognisably different pictures.
    image.paste((255, 255, 255), (0, height * 2 // 3, width, height * 2 // 3 + height // 10))
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=90)
    return buffer.getvalue()


@pytest.fixture
def bakery(workspace, owner, settings, tmp_path) -> Workspace:
    """The cast's bakery with two channels and three files in its library."""
    settings.MEDIA_ROOT = tmp_path / "media"
    Channel.objects.create(workspace=workspace, network=Network.PAGE, handle="crumb")
    Channel.objects.create(workspace=workspace, network=Network.BLUESKY, handle="crumb.bsky.social")
    noise = random.Random(5).randbytes(600 * 600 * 3)
    buffer = io.BytesIO()
    Image.frombytes("RGB", (600, 600), noise).save(buffer, format="PNG")
    upload_media(
        workspace,
        owner,
        SimpleUploadedFile("flour-texture.png", buffer.getvalue(), content_type="image/png"),
        alt_text="Flour dust, very close up",
        folder="Textures",
        tags=["flour"],
    )
    upload_media(
        workspace,
        owner,
        SimpleUploadedFile("shop-front.jpg", picture(900, 240, "#8b5a2b"), "image/jpeg"),
        tags=["shop"],
    )
    # The clip ffprobe_rotated_h264.json was recorded from; its details show when ffprobe is
    # installed, and the library says why they are missing when it is not.
    clip = (Path(__file__).parent / "recordings" / "media" / "rotated_h264.mp4").read_bytes()
    upload_media(
        workspace, owner, SimpleUploadedFile("oven-door.mp4", clip, content_type="video/mp4")
    )
    return workspace


def drop_files(page, selector: str, files: list[tuple[str, str, bytes]]) -> None:
    """Drop files on an element the way a browser does: a ``drop`` event carrying them."""
    payload = [(name, mime, base64.b64encode(data).decode()) for name, mime, data in files]
    transfer = page.evaluate_handle(
        """(files) => {
            const transfer = new DataTransfer();
            for (const [name, type, b64] of files) {
                const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
                transfer.items.add(new File([bytes], name, { type }));
            }
            return transfer;
        }""",
        payload,
    )
    page.dispatch_event(selector, "dragenter", {"dataTransfer": transfer})
    page.dispatch_event(selector, "drop", {"dataTransfer": transfer})


def test_owner_drops_images_describes_one_and_searches(browser, live_server, bakery):
    base = live_server.url
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    sign_in(page, base, "owner@crumb.test", lands_on=None)
    page.goto(f"{base}/w/crumb/media/")
    assert (
        page.get_by_role("link", name="Media", exact=True).get_attribute("aria-current") == "page"
    )
    assert axe_violations(page) == []

    # Two images dropped at once, each with its own progress row.
    drop_files(
        page,
        "[data-dropzone]",
        [
            ("rye-loaf.jpg", "image/jpeg", picture(640, 480, "#6b4423")),
            ("croissants.jpg", "image/jpeg", picture(480, 640, "#d9a441")),
        ],
    )
    uploads = page.locator(".upload-item")
    page.locator(".upload-item.is-done").nth(1).wait_for()
    assert uploads.count() == 2
    # The grid reloads once the batch is done; the new cards are there after that.
    page.locator(".media-card", has_text="rye-loaf.jpg").wait_for()
    page.locator(".media-card", has_text="croissants.jpg").wait_for()
    # A third file chosen with the file input: not an image, so its row says why.
    page.set_input_files(
        "#media-files",
        files=[{"name": "notes.png", "mimeType": "image/png", "buffer": b"just text"}],
    )
    failed = page.locator(".upload-item.is-failed")
    failed.wait_for()
    assert "This file type is not accepted" in failed.inner_text()
    assert MediaAsset.objects.count() == 5

    # Alt text written on the card, saved through htmx.
    card = page.locator(".media-card", has_text="rye-loaf.jpg")
    card.get_by_label("Alt text").fill("A dark rye loaf on a wooden board")
    card.get_by_role("button", name="Save alt text").click()
    page.locator(".media-card", has_text="rye-loaf.jpg").get_by_text("Saved").wait_for()
    assert MediaAsset.objects.get(original_name="rye-loaf.jpg").alt_text.startswith("A dark rye")

    # A badge's reason shows on keyboard focus.
    flour = page.locator(".media-card", has_text="flour-texture.png")
    bluesky = flour.locator(".compat", has_text="Bluesky")
    bluesky.focus()
    tip = flour.locator(".compat-tip", has_text="Bluesky takes images up to 1 MB")
    assert tip.is_visible()
    shoot(page, "media-library-desktop")
    assert axe_violations(page) == []

    # Search by alt text narrows the grid.
    page.get_by_label("Search").fill("rye loaf")
    page.wait_for_url("**/media/?*q=rye*")
    results = page.locator("#media-results")
    results.locator(".media-card").first.wait_for()
    page.wait_for_function("document.querySelectorAll('#media-results .media-card').length === 1")
    assert "rye-loaf.jpg" in results.inner_text()

    # The details page: badges with reasons, facts, usage.
    page.goto(
        f"{base}/w/crumb/media/{MediaAsset.objects.get(original_name='flour-texture.png').pk}/"
    )
    page.get_by_role("heading", name="Networks").wait_for()
    shoot(page, "media-detail-desktop")
    assert axe_violations(page) == []
    context.close()


def test_the_media_library_fits_a_phone(browser, live_server, bakery):
    base = live_server.url
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True)
    page = context.new_page()
    sign_in(page, base, "owner@crumb.test", lands_on=None)
    for name, path in {
        "media-library": "/w/crumb/media/",
        "media-detail": f"/w/crumb/media/{MediaAsset.objects.order_by('pk').first().pk}/",
    }.items():
        page.goto(base + path)
        scroll_width = page.evaluate("document.documentElement.scrollWidth")
        assert scroll_width <= 390, f"{path} is {scroll_width}px wide"
        shoot(page, f"{name}-phone")
        assert axe_violations(page) == []
    context.close()
