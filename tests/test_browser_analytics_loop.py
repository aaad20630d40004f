"""The measuring loop in a real Chromium (issue 14, "Done when"): the owner writes a post with a
link to the bakery's shop on its public page, in a campaign with boost spend; the engine
publishes it with its own short link; a visitor opens ``/@crumb``, clicks the link and lands
on the shop with its UTM tags and click id; the shop's server reports the order for that click
through the signed endpoint; the Analytics pages show the click, the conversion and the
campaign's ROI after a plain reload (a click is counted by the redirect itself: no task
runs in between).

The shop is a tiny HTTP server on 127.0.0.1 (``shop``). ``SITE_URL`` is the live server's
loopback address: not public, so links are shortened only on the page network, as in the
product (``links.shortens_for``). Screenshots of the overview, the ranked posts, pillars &
campaigns and the post's page at 1280x800 and 390x844 go to ``artifacts/screenshots/``
(``analytics-loop-*.png``)."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import timedelta
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo

import httpx
import pytest
from chromium import SIZES, axe_violations, shoot, sign_in
from django.utils import timezone
from page_helpers import make_due
from reading_helpers import followers, published

from socialdesk.analytics.conversions import SIGNATURE_HEADER, sign
from socialdesk.analytics.models import Click, Conversion, ShortLink
from socialdesk.content.models import Campaign, Pillar, Post
from socialdesk.networks.models import Channel, Network
from socialdesk.publishing import dispatch, planning
from socialdesk.publishing.models import Delivery, DeliveryState

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


class ShopPage(BaseHTTPRequestHandler):
    """The shop's product page: says which address it was opened with, and remembers it."""

    seen: list[str] = []

    def do_GET(self) -> None:  # noqa: N802 (http.server's name)
        type(self).seen.append(self.path)
        body = (
            "<!doctype html><html lang=en><meta charset=utf-8><title>Stollen — Crumb shop</title>"
            "<h1>Christmas stollen</h1><p>Order yours for Saturday.</p></html>"
        ).encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def shop() -> Iterator[str]:
    """The shop's site on a free loopback port; its address, without a trailing slash."""
    ShopPage.seen = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), ShopPage)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def bakery(workspace, channel, owner, analyst, live_server, settings) -> dict:
    """The bakery with some history to read beside the new post: a Bluesky channel with two
    months of posts and followers, two pillars, and the Christmas campaign."""
    settings.SITE_URL = live_server.url
    sky = Channel.objects.create(workspace=workspace, network=Network.BLUESKY, handle="crumb.sky")
    bread = Pillar.objects.create(workspace=workspace, name="Bread", target_share=60)
    Pillar.objects.create(workspace=workspace, name="Team", target_share=40)
    today = timezone.localdate()
    campaign = Campaign.objects.create(
        workspace=workspace,
        name="Christmas stollen",
        starts_on=today - timedelta(days=10),
        ends_on=today + timedelta(days=20),
        utm_campaign="stollen",
        budget=Decimal("150.00"),
    )
    now = timezone.now()
    for n in range(24):
        likes = 6 + (n * 7) % 19
        published(
            sky,
            now - timedelta(days=1 + n * 2.3, hours=n % 6),
            {24: {"likes": likes, "reposts": likes // 3, "replies": n % 4}},
            title=f"Morning bake {n}: rye, spelt and the queue at seven",
            pillar=bread,
        )
    for n in range(60):
        followers(sky, today - timedelta(days=60 - n), 840 + 3 * n)
    return {"campaign": campaign, "bread": bread}


# A person's phone. Headless Chromium says "HeadlessChrome" in its user agent, which the
# redirect rightly takes for a bot (``crawlerdetect``) and does not count.
PHONE_BROWSER = (
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Mobile Safari/537.36"
)


def new_page(browser, size: str, **options):
    width, height = SIZES[size]
    context = browser.new_context(
        viewport={"width": width, "height": height}, is_mobile=size == "phone", **options
    )
    return context, context.new_page()


def campaign_row(page):
    return (
        page.get_by_role("region", name="Campaigns running in the period")
        .get_by_role("row")
        .filter(has_text="Christmas stollen")
    )


def cells(row) -> list[str]:
    return [text.strip() for text in row.locator("th, td").all_inner_texts()]


def test_a_click_on_the_public_page_and_its_order_show_in_analytics_with_the_campaigns_roi(
    browser, live_server, workspace, channel, owner, analyst, bakery, shop
):
    base = live_server.url
    owner_context, desk = new_page(browser, "desktop")
    sign_in(desk, base, owner.email)

    # 1. The owner writes the post, on the public page, in the Christmas campaign.
    desk.goto(f"{base}/w/crumb/posts/new/")
    desk.get_by_label("Text", exact=True).fill(
        f"Stollen is back for Christmas, with marzipan. Order yours: {shop}/stollen"
    )
    desk.get_by_label("Public page · crumb").check()
    desk.get_by_label("Campaign").select_option(label="Christmas stollen")
    soon = timezone.now().astimezone(ZoneInfo(workspace.time_zone)) + timedelta(minutes=30)
    desk.get_by_label("Publish at").fill(f"{soon:%Y-%m-%dT%H:%M}")
    desk.get_by_role("button", name="Create post").click()
    desk.wait_for_url(f"{base}/w/crumb/posts/*/**")
    post = Post.objects.get(title="", campaign=bakery["campaign"])
    delivery = post.deliveries.get()

    # 2. Its time comes: the engine publishes it (one step of the worker, run here).
    delivery = make_due(delivery)
    assert dispatch.run(delivery.pk, "test-worker") == DeliveryState.PUBLISHED
    link = ShortLink.objects.get(delivery=delivery)
    assert link.campaign == bakery["campaign"]
    planning.record_boost(delivery, "20.00", note="Boosted on the page", actor=owner)

    # 3. The owner makes the shop's conversion secret (shown once) and hands it to the shop.
    desk.goto(f"{base}/w/crumb/settings/links/")
    desk.get_by_role("button", name="Make a secret").click()
    secret = desk.get_by_label("The new conversion secret").input_value()

    # Before the click, the campaign has no click yet.
    desk.goto(f"{base}/w/crumb/analytics/mix/")
    assert cells(campaign_row(desk))[1:4] == ["—", "0", "0"]

    # 4. A visitor opens the public page and clicks the post's link.
    visitor_context, visit = new_page(browser, "phone", user_agent=PHONE_BROWSER)
    visit.goto(f"{base}/@crumb")
    entry = visit.locator("article[data-entry]").filter(has_text="Stollen is back")
    short = entry.locator(f"a[href='{base}/l/{link.code}']")
    assert short.count() == 1
    short.click()
    visit.wait_for_url(f"{shop}/stollen?**")
    landed = urlsplit(visit.url)
    query = parse_qs(landed.query)
    assert query["utm_source"] == ["page"]
    assert query["utm_medium"] == ["social"]
    assert query["utm_campaign"] == ["stollen"]
    click = Click.objects.get()
    assert query["sd_click"] == [click.token]
    assert visit.get_by_role("heading", name="Christmas stollen").is_visible()
    assert ShopPage.seen[0] == f"{landed.path}?{landed.query}"
    visitor_context.close()

    # 5. The visitor orders; the shop's server reports the order for that click, signed.
    body = json.dumps(
        {"click": query["sd_click"][0], "value": "54.00", "currency": "EUR", "order_id": "S-1"}
    ).encode()
    answer = httpx.post(
        f"{base}/hooks/conversions/crumb",
        content=body,
        headers={"Content-Type": "application/json", SIGNATURE_HEADER: sign(secret, body)},
        timeout=10,
    )
    assert answer.status_code in (200, 201), answer.text
    conversion = Conversion.objects.get()
    assert (conversion.click, conversion.campaign, conversion.attributed) == (
        click,
        bakery["campaign"],
        True,
    )

    # 6. A reload shows the click, the order and the ROI: (54 - 20) / 20 = 170 %.
    desk.reload()
    row = campaign_row(desk)
    assert cells(row)[1:5] == ["170 %", "1", "1", "20.00"], cells(row)
    owner_context.close()

    # 7. The analyst reads the pages at both sizes; each is photographed and checked.
    for size in SIZES:
        context, page = new_page(browser, size)
        errors: list[str] = []
        page.on("console", lambda m, errors=errors: m.type == "error" and errors.append(m.text))
        sign_in(page, base, analyst.email)
        width = SIZES[size][0]
        for name, path in [
            ("overview", "/w/crumb/analytics/"),
            ("posts", "/w/crumb/analytics/posts/?days=90"),
            ("mix", "/w/crumb/analytics/mix/"),
            ("post", f"/w/crumb/posts/{post.pk}/"),
        ]:
            page.goto(f"{base}{path}")
            if name != "post":
                page.wait_for_function("() => window.Chart !== undefined")
            if name == "mix":
                assert cells(campaign_row(page))[1:4] == ["170 %", "1", "1"]
            assert page.evaluate("document.documentElement.scrollWidth") <= width, name
            assert axe_violations(page) == [], name
            shoot(page, f"analytics-loop-{name}-{size}")
        assert errors == []
        context.close()
    assert Delivery.objects.get(pk=delivery.pk).state == DeliveryState.PUBLISHED


@pytest.mark.parametrize(
    ("site", "counted"), [("https://social.crumb.example", 40 + 39), ("", 40 + 34)]
)
def test_the_composers_counter_counts_a_link_as_it_will_go_out(
    browser, live_server, workspace, owner, settings, site, counted
):
    """With a public ``SITE_URL``, a link on Bluesky goes out as the short link
    ``<SITE_URL>/l/<code>`` (39 characters here, whatever was typed: 34), and the counter
    counts that as it is typed; on a site others cannot reach, the link goes out (and
    counts) as typed."""
    settings.SITE_URL = site or live_server.url
    Channel.objects.create(workspace=workspace, network=Network.BLUESKY, handle="crumb.bsky.social")
    context, page = new_page(browser, "desktop")
    sign_in(page, live_server.url, owner.email)
    page.goto(f"{live_server.url}/w/crumb/posts/new/")
    page.get_by_label("Bluesky · crumb.bsky.social", exact=True).check()
    page.get_by_label("Text", exact=True).fill(
        "Stollen is back from Monday. Pre-order: https://crumb.fr/shop/stollen-2026"
    )
    counters = page.locator("[data-counters=text]")
    assert f"Bluesky {counted} / 300" in counters.inner_text()
    context.close()
