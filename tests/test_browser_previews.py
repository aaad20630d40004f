"""The composer's previews for the networks of issue 16 in a real Chromium: one channel of each,
a post with two photos, a thread part and a first comment, and each preview shaped like its
network (Facebook's bar and comments, X's thread and weighted limit, YouTube's title and
Short, Pinterest's pin, Telegram's bubbles, Discord's app tag, WordPress's title...), with
what a network refuses said on its card. axe-core finds nothing serious in the previews.
Screenshot: ``artifacts/screenshots/previews-networks.png`` (the previews panel)."""

from __future__ import annotations

import io

import pytest
from chromium import SHOTS, axe_violations, sign_in
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from socialdesk.content.composer import text_length
from socialdesk.content.media import upload_media
from socialdesk.networks.models import Channel, Network

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

NETWORKS = {
    Network.FACEBOOK: ("crumbbakery", "Crumb Bakery"),
    Network.GOOGLE_BUSINESS: ("Crumb Bakery, Lyon", "Crumb Bakery"),
    Network.LINKEDIN: ("crumb-bakery", "Crumb Bakery"),
    Network.TIKTOK: ("crumbbakes", "Crumb"),
    Network.YOUTUBE: ("CrumbBakery", "Crumb Bakery"),
    Network.PINTEREST: ("Bakes we love", "Crumb Bakery"),
    Network.THREADS: ("crumbbakery", "Crumb Bakery"),
    Network.X: ("crumbbakery", "Crumb Bakery"),
    Network.MATRIX: ("#crumb:matrix.example", "Crumb Bakery"),
    Network.NOSTR: ("npub1crumb7x9k2m4q8w6e5r3t1y0u9i8o7p6a5s4d3f2g", "Crumb Bakery"),
    Network.WORDPRESS: ("blog.crumb.example", "Crumb Bakery"),
    Network.TELEGRAM: ("@crumbnews", "Crumb News"),
    Network.DISCORD: ("#announcements", "Crumb Bot"),
}
FIRST_LINE = "Stollen is back from Monday"
TEXT = (
    FIRST_LINE + "\n"
    "Our bakers start the dough on Thursday and let it rest for three days, so the butter, "
    "the rum-soaked raisins and the marzipan settle together. Pre-order one for Christmas "
    "at https://crumb.example/shop/stollen and collect it any day from 7 to 19. 🎄"
)
PART = "Part two: gluten-free stollen too, on Saturdays only."
COMMENT = "Opening hours: crumb.example/hours"
# X counts CJK as 2 and a link as 23: 8 + 2 + 10 + 23 + 1 + 130 × 2 = 304, so the last
# twelve 焼 pass 280.
X_VERSION = "Stollen 🎄 is back: https://crumb.example/shop/stollen " + "焼" * 130


def picture(name: str, size: tuple[int, int], colour: str) -> SimpleUploadedFile:
    buffer = io.BytesIO()
    Image.new("RGB", size, colour).save(buffer, "JPEG")
    return SimpleUploadedFile(name, buffer.getvalue(), content_type="image/jpeg")


@pytest.fixture
def bakery(workspace, owner, settings, tmp_path) -> dict:
    settings.MEDIA_ROOT = tmp_path
    channels = {
        network: Channel.objects.create(
            workspace=workspace, network=network, handle=handle, display_name=name
        )
        for network, (handle, name) in NETWORKS.items()
    }
    # The portrait photo first (media go in upload order): YouTube shows a Short.
    photos = [
        upload_media(workspace, owner, picture("buns.jpg", (720, 1280), "#92400e"), "Buns"),
        upload_media(workspace, owner, picture("loaf.jpg", (1200, 800), "#c2410c"), "A loaf"),
    ]
    return {"channels": channels, "photos": photos, "owner": owner}


def test_each_network_previews_the_post_in_its_own_shape(browser, live_server, bakery):
    base = live_server.url
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    sign_in(page, base, bakery["owner"].email)
    page.goto(f"{base}/w/crumb/posts/new/")
    page.get_by_label("Text", exact=True).fill(TEXT)
    page.locator(".thread-parts > summary").click()
    page.get_by_label("Thread part 2").fill(PART)
    for asset in bakery["photos"]:
        page.get_by_label(str(asset), exact=True).check()
    channels = bakery["channels"]
    for channel in channels.values():
        page.locator(f"input[name=channels][value='{channel.pk}']").check()
    # The per-channel fields sit in tabs; set them all at once as typing would.
    x = channels[Network.X]
    page.evaluate(
        """([comment, xId, xText]) => {
            const all = (css) => document.querySelectorAll(css);
            all("textarea[data-comment]").forEach((t) => { t.value = comment; });
            document.querySelector(`[name=override_${xId}]`).value = xText;
            const typed = new Event("input", { bubbles: true });
            document.querySelector("textarea[name=text]").dispatchEvent(typed);
        }""",
        [COMMENT, x.pk, X_VERSION],
    )
    previews = page.locator("[data-previews]")

    def card(network: str):
        channel = channels[network]
        name = f"Preview on {channel.get_network_display()} {channel.handle}"
        return previews.get_by_role("region", name=name, exact=True)

    # X weighs its text: the counter says what the server's check says, and the preview
    # strikes what passes 280.
    weighted = text_length(Network.X, X_VERSION)
    assert weighted == 304
    counter = page.locator(f"[data-counters='{x.pk}']")
    assert counter.inner_text().strip() == "X 304 / 280 — 24 too many"
    over = card(Network.X).locator(".pv-over").first
    assert over.evaluate("span => span.lastChild.textContent") == "焼" * 12
    xs = card(Network.X)
    assert xs.locator(".pv-tpost").count() == 3  # the post, the part, the first comment
    assert xs.locator(".pv-actions").count() == 3
    assert xs.locator(".pv-x-media img").count() == 2

    fb = card(Network.FACEBOOK)
    assert fb.locator(".pv-fb-bar").inner_text().split() == [
        "👍", "Like", "💬", "Comment", "↗", "Share"
    ]  # fmt: skip
    assert fb.get_by_text("Just now · 🌐").is_visible()
    assert fb.locator(".pv-fb-photos img").count() == 2
    assert fb.locator(".pv-fb-comment").nth(1).inner_text().endswith(COMMENT)

    google = card(Network.GOOGLE_BUSINESS)
    assert google.locator(".pv-gbp-button").inner_text() == "Learn more"
    assert google.locator(".pv-gbp-photo").count() == 1
    assert "first comment is refused" in google.locator(".pv-refused").nth(1).inner_text()

    linkedin = card(Network.LINKEDIN)
    assert linkedin.locator(".pv-more").inner_text() == "see more"
    assert "collect it" not in linkedin.locator(".pv-li-text").inner_text()  # past 210
    assert linkedin.locator(".pv-li-comment").inner_text().endswith(COMMENT)

    threads = card(Network.THREADS)
    assert threads.locator(".pv-th-media img").count() == 2
    assert threads.locator(".pv-tpost.has-next").count() == 2

    youtube = card(Network.YOUTUBE)
    assert youtube.locator(".pv-yt-title").inner_text() == FIRST_LINE
    assert youtube.locator(".pv-yt-desc").inner_text().startswith("Our bakers")
    youtube.locator(".pv-yt-frame.is-short").wait_for()  # the first photo is portrait
    assert youtube.locator(".pv-yt-short").is_visible()

    tiktok = card(Network.TIKTOK)
    assert tiktok.locator(".pv-tt-caption strong").inner_text() == "@crumbbakes"
    box = tiktok.locator(".pv-tt").bounding_box()
    assert box is not None and abs(box["height"] / box["width"] - 16 / 9) < 0.05

    pin = card(Network.PINTEREST)
    assert pin.locator(".pv-pin-desc").inner_text() == TEXT
    radius = pin.locator(".pv-pin-img").evaluate("img => getComputedStyle(img).borderRadius")
    assert radius == "16px"

    telegram = card(Network.TELEGRAM)
    assert telegram.locator(".pv-tg-bubble").count() == 2
    assert telegram.locator(".pv-tg-name").first.inner_text() == "Crumb News"
    assert telegram.locator(".pv-tg-album img").count() == 2

    discord = card(Network.DISCORD)
    assert discord.locator(".pv-dc-tag").inner_text() == "APP"
    assert discord.locator(".pv-dc-files img").count() == 2

    matrix = card(Network.MATRIX)
    assert matrix.locator(".pv-mx-img").count() == 2
    assert matrix.locator(".pv-mx-reply").inner_text().endswith(COMMENT)

    nostr = card(Network.NOSTR)
    assert nostr.locator(".pv-ns-key").first.inner_text() == "npub1crumb…3f2g"
    assert "no files" in nostr.locator(".pv-refused").inner_text()

    wordpress = card(Network.WORDPRESS)
    assert wordpress.locator(".pv-wp-title").inner_text() == FIRST_LINE
    assert wordpress.locator(".pv-wp-featured").get_attribute("alt") == "Buns"
    assert wordpress.locator(".pv-wp-excerpt").inner_text().endswith(PART)  # parts follow

    inside = "selector => !!document.querySelector(selector)?.closest('[data-previews]')"
    in_previews = [
        f"{v['id']}: {v['help']} at {v['targets']}"
        for v in axe_violations(page)
        if any(page.evaluate(inside, target[0]) for target in v["targets"])
    ]
    assert not in_previews, in_previews
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.locator("section[aria-labelledby=preview-title]").screenshot(
        path=str(SHOTS / "previews-networks.png")
    )

    # A landscape photo alone: a plain 16:9 video on YouTube. No photo at all: Facebook shows
    # the text's link as its card, and the networks that need a picture say so.
    buns, loaf = bakery["photos"]
    page.get_by_label(str(buns), exact=True).uncheck()
    youtube.locator(".pv-yt-frame:not(.is-short)").wait_for()
    assert not youtube.locator(".pv-yt-short").is_visible()
    page.get_by_label(str(loaf), exact=True).uncheck()
    assert fb.locator(".pv-fb-link-host").inner_text() == "CRUMB.EXAMPLE"
    assert pin.get_by_text("A pin needs an image or a video.").is_visible()
    assert tiktok.get_by_text("A TikTok post is one video.").is_visible()
    context.close()
