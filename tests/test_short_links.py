"""Short links (issue 14, item 2): a post's links go out as the workspace's own ``/l/<code>``,
made once per delivery; the redirect counts people, not bots, prefetches or cookies; the
public page counts its views the same way."""

from __future__ import annotations

import re
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from django.test import Client
from django.utils import timezone
from fake_network import FakeConnector, install
from page_helpers import make_due, publish, scheduled_post

from socialdesk.analytics import clicks
from socialdesk.analytics.links import STAND_IN
from socialdesk.analytics.models import Click, DailySalt, LinkSettings, PageView, ShortLink
from socialdesk.content.models import Post
from socialdesk.networks.base import ConnectorError
from socialdesk.page.models import PageEntry
from socialdesk.publishing import dispatch
from socialdesk.publishing.connectors import content_for
from socialdesk.publishing.models import Delivery, DeliveryState

SITE = "https://social.crumb.test"
BROWSER = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0 Safari/537.36"
)
SHORT = re.compile(re.escape(SITE) + r"/l/([A-Za-z0-9]{8})")


@pytest.fixture(autouse=True)
def site(settings):
    settings.SITE_URL = SITE


def code_in(text: str) -> str:
    found = SHORT.search(text)
    assert found, text
    return found.group(1)


def visit(code: str, **headers: str) -> object:
    headers.setdefault("HTTP_USER_AGENT", BROWSER)
    return Client(REMOTE_ADDR="203.0.113.7").get(f"/l/{code}", **headers)


# --- The text as it goes out ----------------------------------------------------------------


def test_a_published_link_becomes_a_short_link_to_the_target_with_utm_tags(
    channel, owner, taxonomy
):
    delivery = scheduled_post(channel, owner, "Stollen is back: https://crumb.test/stollen!")
    Post.objects.filter(pk=delivery.post_id).update(
        campaign=taxonomy["campaign"], pillar=taxonomy["pillar"]
    )
    delivery = make_due(delivery)
    assert dispatch.run(delivery.pk, "test-worker") == DeliveryState.PUBLISHED

    entry = PageEntry.objects.get(delivery=delivery)
    code = code_in(entry.text)
    assert entry.text == f"Stollen is back: {SITE}/l/{code}!"
    link = ShortLink.objects.get(code=code)
    assert (link.delivery_id, link.post_id, link.channel_id) == (
        delivery.pk,
        delivery.post_id,
        channel.pk,
    )
    assert link.campaign == taxonomy["campaign"]
    assert link.pillar == taxonomy["pillar"]
    assert link.source_url == "https://crumb.test/stollen"
    query = parse_qs(urlsplit(link.target_url).query)
    assert query == {
        "utm_source": ["page"],
        "utm_medium": ["social"],
        "utm_campaign": ["stollen"],
    }


def test_links_are_made_once_per_delivery_and_reused_by_a_retry(channel, owner):
    text = "Order https://crumb.test/cakes or see https://crumb.test/cakes and https://crumb.test/"
    delivery = make_due(scheduled_post(channel, owner, text))

    first = content_for(Delivery.objects.get(pk=delivery.pk), sending=True).text
    again = content_for(Delivery.objects.get(pk=delivery.pk), sending=True).text

    assert first == again
    assert ShortLink.objects.filter(delivery=delivery).count() == 2  # one per distinct link
    codes = SHORT.findall(first)
    assert codes[0] == codes[1] != codes[2]


def test_a_retry_after_a_transient_failure_sends_the_same_short_links(channel, owner, monkeypatch):
    network = install(monkeypatch)
    network.script = [ConnectorError("502 Bad Gateway")]
    delivery = make_due(scheduled_post(channel, owner, "Cakes: https://crumb.test/cakes"))

    assert dispatch.run(delivery.pk, "w1") == DeliveryState.WAITING_RETRY
    delivery.refresh_from_db()
    assert dispatch.run(delivery.pk, "w1", now=delivery.retry_at) == DeliveryState.PUBLISHED

    first, second = (call.content.text for call in network.log)
    assert first == second == f"Cakes: {SITE}/l/{ShortLink.objects.get().code}"


def test_the_networks_length_rule_counts_the_short_link_not_the_long_address(
    channel, owner, monkeypatch
):
    install(monkeypatch, FakeConnector(max_length=60))
    long_address = "https://crumb.test/" + "stollen-" * 20
    delivery = make_due(scheduled_post(channel, owner, f"Stollen: {long_address}"))

    assert dispatch.run(delivery.pk, "w1") == DeliveryState.PUBLISHED


def test_two_deliveries_of_one_post_get_links_of_their_own(workspace, owner, channel):
    from socialdesk.content.services import PostContent, create_post
    from socialdesk.networks.models import Channel, Network

    second = Channel.objects.create(workspace=workspace, network=Network.PAGE, handle="crumb2")
    post = create_post(
        workspace,
        owner,
        PostContent(text="See https://crumb.test/menu", channel_ids=[channel.pk, second.pk]),
    )
    texts = {content_for(d, sending=True).text for d in post.deliveries.all()}
    assert len(texts) == 2
    assert ShortLink.objects.filter(post=post).count() == 2


def test_checking_a_delivery_counts_the_short_link_but_writes_nothing(channel, owner):
    delivery = scheduled_post(channel, owner, "Menu: https://crumb.test/" + "x" * 200)

    checked = content_for(delivery).text

    assert checked == f"Menu: {SITE}/l/{STAND_IN}"
    assert len(checked) == len(content_for(delivery, sending=True).text)
    assert ShortLink.objects.count() == 1  # made by the sending call only


def test_with_short_links_off_links_carry_utm_tags_only(workspace, channel, owner):
    LinkSettings.objects.create(workspace=workspace, short_links=False)

    delivery = publish(channel, owner, "Menu: https://crumb.test/menu?day=mon#today")

    entry = PageEntry.objects.get(delivery=delivery)
    assert entry.text == (
        "Menu: https://crumb.test/menu?day=mon&utm_source=page&utm_medium=social#today"
    )
    assert not ShortLink.objects.exists()


def test_our_own_addresses_and_text_without_links_are_left_alone(channel, owner):
    delivery = publish(channel, owner, f"Our page: {SITE}/@crumb and nothing else.")
    assert (
        PageEntry.objects.get(delivery=delivery).text
        == f"Our page: {SITE}/@crumb and nothing else."
    )
    assert not ShortLink.objects.exists()


# --- The redirect ---------------------------------------------------------------------------


@pytest.fixture
def link(channel, owner) -> ShortLink:
    delivery = publish(channel, owner, "Cakes: https://crumb.test/cakes#top")
    return ShortLink.objects.get(delivery=delivery)


def test_a_click_is_counted_and_redirected_with_its_click_id(link):
    response = visit(link.code)

    assert response.status_code == 302
    click = Click.objects.get()
    target = urlsplit(response["Location"])
    assert (target.netloc, target.path, target.fragment) == ("crumb.test", "/cakes", "top")
    assert parse_qs(target.query)["sd_click"] == [click.token]
    assert parse_qs(target.query)["utm_source"] == ["page"]
    assert (click.link, click.workspace_id) == (link, link.workspace_id)
    assert not response.cookies
    assert response["Cache-Control"] == "no-store"


def test_the_same_person_is_one_visitor_a_day_and_nobody_is_stored(link):
    visit(link.code)
    visit(link.code)
    visit(link.code, HTTP_USER_AGENT=BROWSER + " Edg/131.0")

    visitors = list(Click.objects.order_by("id").values_list("visitor", flat=True))
    assert visitors[0] == visitors[1] != visitors[2]
    assert "203.0.113.7" not in "".join(visitors)


@pytest.mark.parametrize(
    "agent",
    [
        "facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)",
        "Twitterbot/1.0",
        "Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)",
        "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
    ],
)
def test_a_bot_is_redirected_but_not_counted(link, agent):
    response = visit(link.code, HTTP_USER_AGENT=agent)
    assert response.status_code == 302
    assert "sd_click" not in response["Location"]
    assert not Click.objects.exists()


@pytest.mark.parametrize(
    "header",
    [
        {"HTTP_PURPOSE": "prefetch"},
        {"HTTP_SEC_PURPOSE": "prefetch;prerender"},
        {"HTTP_X_MOZ": "prefetch"},
        {"HTTP_X_PURPOSE": "preview"},
    ],
)
def test_a_prefetch_is_redirected_but_not_counted(link, header):
    response = visit(link.code, **header)
    assert response.status_code == 302
    assert not Click.objects.exists()


def test_a_head_request_is_not_counted(link):
    response = Client().head(f"/l/{link.code}", HTTP_USER_AGENT=BROWSER)
    assert response.status_code == 302
    assert not Click.objects.exists()


@pytest.mark.parametrize("code", ["Zz9Zz9Zz", "short", "../../etc", "abcdefgh/"])
def test_an_unknown_code_is_a_plain_404_page(db, code):
    response = visit(code)
    assert response.status_code == 404
    assert b"Link not found" in response.content
    assert response["Content-Type"].startswith("text/html")
    assert not response.cookies


def test_experiments_and_campaigns_count_the_same_clicks_the_redirect_counted(
    channel, owner, taxonomy
):
    """One count of clicks (``clicks.clicks_per``) behind an experiment's variant and a
    campaign's ROI: a person's clicks, never a bot's."""
    from socialdesk.analytics import experiments, reading

    delivery = scheduled_post(channel, owner, "Stollen: https://crumb.test/stollen")
    Post.objects.filter(pk=delivery.post_id).update(campaign=taxonomy["campaign"])
    delivery = make_due(delivery)
    assert dispatch.run(delivery.pk, "test-worker") == DeliveryState.PUBLISHED
    code = ShortLink.objects.get(delivery=delivery).code
    visit(code)
    visit(code, HTTP_USER_AGENT="Twitterbot/1.0")
    visit(code, HTTP_USER_AGENT=BROWSER + " Edg/131.0")

    links = ShortLink.objects.filter(workspace=channel.workspace)
    assert clicks.clicks_per(links, "delivery_id") == {delivery.pk: 2}
    assert experiments.clicks_of([delivery.pk]) == {delivery.pk: 2}
    figures = reading.link_figures(channel.workspace)
    assert figures is not None
    assert figures[taxonomy["campaign"].pk]["clicks"] == 2


def test_the_redirect_reads_one_row_and_writes_one(link, django_assert_num_queries):
    visit(link.code)  # today's salt, made once a day
    with django_assert_num_queries(2):
        visit(link.code)


def test_yesterdays_salt_is_deleted_when_todays_is_made(link):
    yesterday = timezone.now().date() - timedelta(days=1)
    DailySalt.objects.create(day=yesterday, salt="00" * 32)
    clicks._salt = None

    visit(link.code)

    assert list(DailySalt.objects.values_list("day", flat=True)) == [timezone.now().date()]


def test_the_workers_beat_deletes_salts_of_days_that_are_over(db):
    DailySalt.objects.create(day=timezone.now().date() - timedelta(days=1), salt="00" * 32)
    DailySalt.objects.create(day=timezone.now().date(), salt="11" * 32)
    clicks.on_heartbeat()
    assert list(DailySalt.objects.values_list("day", flat=True)) == [timezone.now().date()]


# --- The public page's views ----------------------------------------------------------------


def test_the_public_page_counts_a_persons_views_not_a_bots(channel, owner):
    delivery = publish(channel, owner, "Fresh bread")
    entry = PageEntry.objects.get(delivery=delivery)
    browser = Client(REMOTE_ADDR="203.0.113.7", HTTP_USER_AGENT=BROWSER)

    assert browser.get("/@crumb").status_code == 200
    assert browser.get(f"/@crumb/{entry.pk}").status_code == 200
    bot = Client(HTTP_USER_AGENT="Twitterbot/1.0")
    assert bot.get("/@crumb").status_code == 200

    views = PageView.objects.order_by("id")
    assert [view.path for view in views] == ["/@crumb", f"/@crumb/{entry.pk}"]
    assert {view.workspace_id for view in views} == {channel.workspace_id}
    assert views[0].visitor == views[1].visitor


# --- Only where the audience can follow them -------------------------------------------------


@pytest.mark.parametrize(
    "site",
    ["http://127.0.0.1:8000", "http://localhost:8000", "http://192.168.1.20", "http://desk.local"],
)
def test_a_site_others_cannot_reach_keeps_long_links_off_the_page_but_shortens_on_the_page(
    settings, workspace, owner, channel, site
):
    """The embedded default's address would make every link on Bluesky or Mastodon a dead
    one; the public page is read on this very site, so its links are shortened anyway."""
    from socialdesk.analytics.links import network_texts, site_is_public
    from socialdesk.content.services import PostContent, create_post
    from socialdesk.networks.models import Channel, Network

    settings.SITE_URL = site
    assert not site_is_public()
    elsewhere = Channel.objects.create(
        workspace=workspace, network=Network.MASTODON, handle="crumb@bakers.social"
    )
    text = "Fresh stollen https://crumb.example/shop"
    post = create_post(
        workspace, owner, PostContent(text=text, channel_ids=[channel.pk, elsewhere.pk])
    )
    on = {
        d.channel.network: network_texts(d, [text], create=True)[0] for d in post.deliveries.all()
    }
    assert "/l/" not in on[Network.MASTODON] and "utm_source=mastodon" in on[Network.MASTODON]
    assert f"{site}/l/" in on[Network.PAGE]


def test_the_settings_page_says_why_links_elsewhere_are_not_shortened_yet(
    settings, signed_in, owner, workspace
):
    settings.SITE_URL = "http://127.0.0.1:8000"
    page = signed_in(owner).get(f"/w/{workspace.slug}/settings/links/").content.decode()
    assert "which people elsewhere cannot open" in page
    settings.SITE_URL = SITE
    page = signed_in(owner).get(f"/w/{workspace.slug}/settings/links/").content.decode()
    assert "which people elsewhere cannot open" not in page
