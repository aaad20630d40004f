"""A post moves as one (issue 10, item 5): dragging one channel's copy in the calendar moves
every channel of the post and keeps their distances; "this channel only" moves one and says
so; undo puts every moved copy back; a duplicate copies every channel and reads "(copy)"; the
post list shows each channel's time when they differ; the review-link picker tells posts
apart by date, channels and picture."""

from __future__ import annotations

import json
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from socialdesk.content.models import Post
from socialdesk.content.services import PostContent, create_post
from socialdesk.networks.models import Channel, Network
from socialdesk.publishing import services
from socialdesk.publishing.models import Delivery, DeliveryState

pytestmark = pytest.mark.django_db

S = DeliveryState
PARIS = ZoneInfo("Europe/Paris")


def day(days: int, hour: int = 9, minute: int = 0) -> datetime:
    """A wall-clock time ``days`` from today in Paris (naive)."""
    return datetime.combine(timezone.localdate() + timedelta(days=days), time(hour, minute))


def local(delivery: Delivery, zone: ZoneInfo = PARIS) -> datetime:
    delivery.refresh_from_db()
    return delivery.scheduled_at.astimezone(zone).replace(tzinfo=None)


@pytest.fixture
def shop(workspace) -> Channel:
    return Channel.objects.create(workspace=workspace, network=Network.PAGE, handle="crumb-shop")


@pytest.fixture
def two_channel_post(workspace, owner, channel, shop) -> Post:
    """ "Stollen is back" on the page and the shop page, both at 09:00 Paris in four days."""
    post = create_post(
        workspace,
        owner,
        PostContent(title="Stollen", text="Stollen is back", channel_ids=[channel.pk, shop.pk]),
    )
    services.schedule(post, day(4), "Europe/Paris", owner)
    return post


def copies(post: Post) -> tuple[Delivery, Delivery]:
    page, shop = post.deliveries.order_by("channel__handle")
    return page, shop


def drag(client, workspace, delivery, start: datetime, **more):
    return client.post(
        f"/w/{workspace.slug}/calendar/move/",
        {"delivery": delivery.pk, "start": start.isoformat(), "tz": "Europe/Paris", **more},
        HTTP_ACCEPT="application/json",
    )


def test_dragging_one_channels_copy_moves_every_channel_of_the_post(
    workspace, creator, two_channel_post, signed_in
):
    page, shop = copies(two_channel_post)
    response = drag(signed_in(creator), workspace, page, day(6, 11))
    assert response.status_code == 200, response.content
    assert (local(page), local(shop)) == (day(6, 11), day(6, 11))
    message = response.json()["message"]
    assert message.startswith("Moved the post on all 2 channels: crumb to ")
    assert "crumb-shop" in message and "CET" in message or "CEST" in message
    assert shop.transitions.last().actor == creator


def test_copies_that_were_apart_keep_their_distance(workspace, owner, two_channel_post, signed_in):
    page, shop = copies(two_channel_post)
    drag(signed_in(owner), workspace, shop, day(4, 15), only="1")  # the shop at 15:00
    response = drag(signed_in(owner), workspace, page, day(7, 10))  # page: +3 days, +1 hour
    assert response.status_code == 200, response.content
    assert (local(page), local(shop)) == (day(7, 10), day(7, 16))


def test_copies_in_two_zones_keep_their_own_wall_clock_times(
    workspace, owner, channel, shop, signed_in
):
    """A copy read in New York moves by the same days and hours on New York's clock."""
    post = create_post(workspace, owner, PostContent(text="Bagels", channel_ids=[channel.pk]))
    services.schedule(post, day(4), "Europe/Paris", owner)
    services.set_channels(post, [channel, shop], owner)
    shop_copy = post.deliveries.get(channel=shop)
    services.reschedule(shop_copy, day(4, 8), "America/New_York", owner)
    page_copy = post.deliveries.get(channel=channel)
    drag(signed_in(owner), workspace, page_copy, day(5, 9))
    assert local(page_copy) == day(5, 9)
    assert local(shop_copy, ZoneInfo("America/New_York")) == day(5, 8)


def test_this_channel_only_moves_one_copy_and_says_so(
    workspace, owner, two_channel_post, signed_in
):
    page, shop = copies(two_channel_post)
    response = drag(signed_in(owner), workspace, page, day(6), only="1")
    assert response.status_code == 200, response.content
    assert (local(page), local(shop)) == (day(6), day(4))
    assert "crumb copy only" in response.json()["message"]
    assert "other channels keep their times" in response.json()["message"]


def test_undo_puts_every_moved_copy_back_where_it_was(
    workspace, owner, two_channel_post, signed_in
):
    page, shop = copies(two_channel_post)
    before = (page.scheduled_at, shop.scheduled_at)
    client = signed_in(owner)
    undo = drag(client, workspace, shop, day(9, 18)).json()["undo"]
    assert set(json.loads(undo["restore"])) == {str(page.pk), str(shop.pk)}
    back = client.post(f"/w/{workspace.slug}/calendar/move/", undo, HTTP_ACCEPT="application/json")
    assert back.status_code == 200, back.content
    page.refresh_from_db()
    shop.refresh_from_db()
    assert (page.scheduled_at, shop.scheduled_at) == before


def test_a_move_that_puts_one_copy_in_the_past_moves_none(
    workspace, owner, two_channel_post, signed_in
):
    page, shop = copies(two_channel_post)
    client = signed_in(owner)
    drag(client, workspace, shop, day(2), only="1")  # the shop two days earlier
    response = drag(client, workspace, page, day(1))  # -3 days: the shop lands in the past
    assert response.status_code == 400
    assert "crumb-shop" in response.json()["error"] and "past" in response.json()["error"]
    assert (local(page), local(shop)) == (day(4), day(2))


def test_a_published_copy_stays_where_it_went_out(workspace, owner, two_channel_post, signed_in):
    page, shop = copies(two_channel_post)
    Delivery.objects.filter(pk=shop.pk).update(state=S.PUBLISHED)  # as if it went out early
    response = drag(signed_in(owner), workspace, page, day(5))
    assert response.status_code == 200, response.content
    assert (local(page), local(shop)) == (day(5), day(4))


def test_undo_of_another_posts_deliveries_is_refused(
    workspace, owner, two_channel_post, post, signed_in
):
    page, _ = copies(two_channel_post)
    forged = {"post": post.pk, "restore": json.dumps({str(page.pk): "2040-01-01T09:00:00+00:00"})}
    response = signed_in(owner).post(
        f"/w/{workspace.slug}/calendar/move/", forged, HTTP_ACCEPT="application/json"
    )
    assert response.status_code == 400
    assert local(page) == day(4)


def test_an_outsider_cannot_move_or_undo(workspace, outsider, two_channel_post, signed_in):
    page, _ = copies(two_channel_post)
    client = signed_in(outsider)
    assert drag(client, workspace, page, day(5)).status_code == 404
    undo = {"post": two_channel_post.pk, "restore": "{}"}
    assert client.post(f"/w/{workspace.slug}/calendar/move/", undo).status_code == 404
    assert local(page) == day(4)


def test_duplicating_copies_every_channel_and_marks_the_title_copy(
    workspace, owner, two_channel_post, signed_in
):
    page, shop = copies(two_channel_post)
    Delivery.objects.filter(pk=shop.pk).update(text_override="Stollen in the shop")
    response = signed_in(owner).post(
        f"/w/{workspace.slug}/calendar/duplicate/",
        {"delivery": page.pk, "start": day(10, 12).isoformat(), "tz": "Europe/Paris"},
        HTTP_ACCEPT="application/json",
    )
    assert response.status_code == 200, response.content
    copy = Post.objects.get(pk=response.json()["post"])
    assert copy.pk != two_channel_post.pk
    assert copy.title == "Stollen (copy)"
    page_copy, shop_copy = copies(copy)
    assert (page_copy.state, shop_copy.state) == (S.SCHEDULED, S.SCHEDULED)
    assert (local(page_copy), local(shop_copy)) == (day(10, 12), day(10, 12))
    assert shop_copy.text == "Stollen in the shop"
    assert response.json()["message"].startswith("Copied as “Stollen (copy)” on 2 channels")
    # The original is untouched.
    assert (local(page), local(shop)) == (day(4), day(4))


def test_a_post_without_title_gets_its_summary_marked_copy(workspace, owner, channel, signed_in):
    post = create_post(
        workspace, owner, PostContent(text="Rye on Fridays", channel_ids=[channel.pk])
    )
    services.schedule(post, day(3), "Europe/Paris", owner)
    response = signed_in(owner).post(
        f"/w/{workspace.slug}/calendar/duplicate/",
        {"delivery": post.deliveries.get().pk, "start": day(5).isoformat(), "tz": "Europe/Paris"},
        HTTP_ACCEPT="application/json",
    )
    assert Post.objects.get(pk=response.json()["post"]).title == "Rye on Fridays (copy)"


def test_the_post_list_shows_each_channels_time_when_they_differ(
    workspace, owner, two_channel_post, signed_in
):
    page, shop = copies(two_channel_post)
    client = signed_in(owner)
    same = client.get(f"/w/{workspace.slug}/posts/").content.decode()
    assert same.count('class="channel-time"') == 0  # one time for the post says it all
    drag(client, workspace, page, day(6), only="1")
    body = client.get(f"/w/{workspace.slug}/posts/").content.decode()
    assert body.count('class="channel-time"') == 2
    wednesday = (timezone.localdate() + timedelta(days=6)).strftime("%a")
    assert f"{wednesday} " in body


def test_the_review_link_picker_shows_date_channels_and_picture(
    workspace, owner, two_channel_post, signed_in
):
    body = signed_in(owner).get(f"/w/{workspace.slug}/review-links/").content.decode()
    picker = body[body.index('class="choices post-picker"') :]
    item = picker[: picker.index("</li>")]
    assert "Stollen" in item and 'class="post-pick-thumb"' in item
    assert "crumb-shop" in item and "crumb" in item
    assert "09:00" in item  # its date and time, with the zone named
    assert "CET" in item or "CEST" in item


def test_the_service_moves_a_post_by_its_anchor(workspace, owner, two_channel_post):
    page, shop = copies(two_channel_post)
    moved = services.reschedule(two_channel_post, day(8, 7), "Europe/Paris", owner, anchor=shop)
    assert {d.pk for d in moved} == {page.pk, shop.pk}
    assert local(page) == local(shop) == day(8, 7)
    assert page.scheduled_at.tzinfo == UTC or page.scheduled_at.utcoffset() == timedelta(0)
