"""The Instagram connector against recorded exchanges served over real HTTP.

No Instagram server can run here: the exchanges in ``tests/recordings/instagram/`` were written
by hand from Meta's Instagram Platform reference (see the README there). ``RecordedNetwork``
serves them on 127.0.0.1 to the real connector, which makes real requests.

Crumb is the bakery's professional account (@crumbbakery, id 17841400000000001).
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from PIL import Image
from recorded import RecordedNetwork

from socialdesk.networks import instagram
from socialdesk.networks.base import ConnectorError, DeliveryContent, MediaFile
from socialdesk.networks.http import OutcomeUnknown
from socialdesk.networks.instagram import InstagramConnector

pytestmark = pytest.mark.any_database

IG = "17841400000000001"
V = "/v24.0"
KEY = "socialdesk-delivery-41"
CAPTION = "Fresh sourdough, out of the oven at 7."


@pytest.fixture(scope="module")
def recorded():
    server = RecordedNetwork("instagram")
    yield server
    server.stop()


@pytest.fixture
def net(recorded, settings, tmp_path):
    recorded.reset()
    settings.NETWORK_URL_OVERRIDES = {"instagram": recorded.url}
    settings.NETWORK_APPS = {"instagram": {"client_id": "990602627938098", "client_secret": "s3"}}
    settings.MEDIA_ROOT = tmp_path
    settings.SITE_URL = "https://desk.example"
    return recorded


def credentials(**more) -> dict:
    return {
        "access_token": "IGQWlong-lived-1",
        "ig_user_id": IG,
        "username": "crumbbakery",
        "expires_at": time.time() + 50 * 86400,
        "since": time.time() - 10 * 86400,
        **more,
    }


def connector(stored: list | None = None, **more) -> InstagramConnector:
    return InstagramConnector(
        credentials(**more),
        (stored.append if stored is not None else None),
        media_timeout=2.0,
        poll_interval=0.01,
    )


def image(root: Path, name: str, size=(1080, 1080), kind="JPEG", alt="") -> MediaFile:
    path = root / "media" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", size, (200, 150, 90)).save(path, kind)
    mime = {"JPEG": "image/jpeg", "PNG": "image/png"}[kind]
    return MediaFile(path, mime, alt)


def video(root: Path, name: str = "reel.mp4") -> MediaFile:
    path = root / "media" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 64)
    return MediaFile(path, "video/mp4")


def fields(sent) -> dict[str, str]:
    return {k: v[0] for k, v in sent.fields.items()}


def test_a_carousel_goes_out_as_children_then_a_carousel_then_a_publish_and_a_comment(
    net, tmp_path
):
    net.play("publish_carousel")
    media = [
        image(tmp_path, "a.jpg", alt="A sourdough loaf"),
        image(tmp_path, "b.jpg", (1080, 1350), alt="Croissants on a tray"),
        image(tmp_path, "c.jpg", (1080, 566)),
    ]
    content = DeliveryContent(CAPTION, media=media, first_comment="Order at crumb.example")

    published = connector().publish(content, KEY)

    assert published.remote_id == "18000000000000300"
    assert published.remote_url == "https://www.instagram.com/p/DAbCdEfGhIj/"
    children = [
        fields(s)
        for s in net.requests_to("POST", f"{V}/{IG}/media")
        if "is_carousel_item" in s.fields
    ]
    assert [c["image_url"] for c in children] == [
        "https://desk.example/media/media/a.jpg",
        "https://desk.example/media/media/b.jpg",
        "https://desk.example/media/media/c.jpg",
    ]
    assert [c.get("alt_text") for c in children] == [
        "A sourdough loaf",
        "Croissants on a tray",
        None,
    ]
    assert all("caption" not in c for c in children)
    carousel = [
        fields(s) for s in net.requests_to("POST", f"{V}/{IG}/media") if "children" in s.fields
    ]
    assert carousel == [
        {
            "media_type": "CAROUSEL",
            "children": "17900000000000101,17900000000000102,17900000000000103",
            "caption": CAPTION,
        }
    ]
    (publish,) = net.requests_to("POST", f"{V}/{IG}/media_publish")
    assert fields(publish) == {"creation_id": "17900000000000200"}
    (comment,) = net.requests_to("POST", f"{V}/18000000000000300/comments")
    assert fields(comment) == {"message": "Order at crumb.example"}
    assert publish.headers["Authorization"] == "Bearer IGQWlong-lived-1"
    assert "IGQW" not in publish.path


def test_a_retry_after_the_first_comment_failed_does_not_publish_again(net, tmp_path):
    net.play("publish_carousel")
    net.answer(
        "POST",
        f"{V}/18000000000000300/comments",
        {
            "status": 503,
            "body": {"error": {"message": "Service temporarily unavailable", "code": 2}},
        },
        {"status": 200, "body": {"id": "17850000000000400"}},
    )
    content = DeliveryContent(
        CAPTION, media=[image(tmp_path, "a.jpg"), image(tmp_path, "b.jpg")], first_comment="Hi"
    )
    ig = connector()
    with pytest.raises(ConnectorError) as failed:
        ig.publish(content, KEY)
    assert not failed.value.permanent

    assert ig.publish(content, KEY).remote_id == "18000000000000300"
    assert len(net.requests_to("POST", f"{V}/{IG}/media_publish")) == 1
    assert len(net.requests_to("POST", f"{V}/18000000000000300/comments")) == 2


def test_a_single_image_carries_its_caption_and_alt_text(net, tmp_path):
    net.play("publish_image")
    content = DeliveryContent(CAPTION, media=[image(tmp_path, "loaf.jpg", alt="A loaf")])

    assert connector().publish(content, KEY).remote_id == "18000000000000600"

    (made,) = net.requests_to("POST", f"{V}/{IG}/media")
    assert fields(made) == {
        "image_url": "https://desk.example/media/media/loaf.jpg",
        "alt_text": "A loaf",
        "caption": CAPTION,
    }


def test_a_video_is_a_reel_published_once_instagram_finished_processing_it(net, tmp_path):
    net.play("publish_reel_slow")
    content = DeliveryContent("Shaping the loaves", media=[video(tmp_path)])

    published = connector().publish(content, KEY)

    assert published.remote_url == "https://www.instagram.com/reel/DCdEfGhIjKl/"
    (made,) = net.requests_to("POST", f"{V}/{IG}/media")
    assert fields(made) == {
        "media_type": "REELS",
        "video_url": "https://desk.example/media/media/reel.mp4",
        "caption": "Shaping the loaves",
    }
    assert len(net.requests_to("GET", f"{V}/17900000000000700")) == 3


def test_a_container_still_processing_past_the_wait_is_tried_again_later(net, tmp_path):
    net.play("publish_reel_slow")
    net.answer(
        "GET",
        f"{V}/17900000000000700",
        {"status": 200, "body": {"status_code": "IN_PROGRESS", "id": "17900000000000700"}},
    )
    ig = connector()
    ig.media_timeout = 0.05
    with pytest.raises(ConnectorError) as error:
        ig.publish(DeliveryContent("Shaping", media=[video(tmp_path)]), KEY)
    assert not error.value.permanent
    assert "still processing" in error.value.message
    assert net.requests_to("POST", f"{V}/{IG}/media_publish") == []


def test_a_container_that_fails_processing_is_refused_in_instagrams_words(net, tmp_path):
    net.play("container_error")
    with pytest.raises(ConnectorError) as error:
        connector().publish(DeliveryContent("Shaping", media=[video(tmp_path)]), KEY)
    assert error.value.permanent
    assert "Media upload has failed with error code 2207026" in error.value.message
    assert net.requests_to("POST", f"{V}/{IG}/media_publish") == []


def test_a_rejected_container_is_permanent_and_says_why(net, tmp_path, settings):
    net.play("rejected_400")
    settings.SITE_URL = "http://127.0.0.1:8000"
    with pytest.raises(ConnectorError) as error:
        connector().publish(DeliveryContent(CAPTION, media=[image(tmp_path, "a.jpg")]), KEY)
    assert error.value.permanent and not error.value.auth_revoked
    assert "could not be fetched" in error.value.message
    assert "not reachable from the internet" in error.value.message


def test_an_expired_token_pauses_the_channel(net, tmp_path):
    net.play("token_expired_190")
    with pytest.raises(ConnectorError) as error:
        connector().publish(DeliveryContent(CAPTION, media=[image(tmp_path, "a.jpg")]), KEY)
    assert error.value.auth_revoked
    assert "Session has expired" in error.value.message
    with pytest.raises(ConnectorError) as checked:
        connector().check_connection()
    assert checked.value.auth_revoked


def test_meta_rate_limit_waits_as_long_as_the_usage_header_says(net, tmp_path):
    net.play("rate_limited")
    with pytest.raises(ConnectorError) as error:
        connector().publish(DeliveryContent(CAPTION, media=[image(tmp_path, "a.jpg")]), KEY)
    assert error.value.rate_limited and not error.value.permanent
    wait = error.value.retry_after - datetime.now(UTC)
    assert timedelta(minutes=29) < wait <= timedelta(minutes=30)


def test_a_429_whose_reset_is_already_past_is_still_rate_limited(net, tmp_path):
    net.play("rate_limited_429")
    with pytest.raises(ConnectorError) as error:
        connector().publish(DeliveryContent(CAPTION, media=[image(tmp_path, "a.jpg")]), KEY)
    assert error.value.rate_limited
    assert error.value.retry_after <= datetime.now(UTC)


def test_the_content_publishing_limit_used_up_waits_without_making_containers(net, tmp_path):
    net.play("publishing_limit_reached")
    with pytest.raises(ConnectorError) as error:
        connector().publish(DeliveryContent(CAPTION, media=[image(tmp_path, "a.jpg")]), KEY)
    assert error.value.rate_limited
    assert "100 posts a day" in error.value.message
    assert net.requests_to("POST", f"{V}/{IG}/media") == []
    limits = {(r.unit, r.points, r.window) for r in InstagramConnector.rate_limits}
    assert ("posts", 100, timedelta(hours=24)) in limits


def test_a_server_error_on_publish_is_an_unknown_outcome_that_reconciles(net, tmp_path):
    net.play("publish_server_error", "recent_media")
    content = DeliveryContent(CAPTION, media=[image(tmp_path, "a.jpg")])
    with pytest.raises(OutcomeUnknown):
        connector().publish(content, KEY)

    found = connector().find_published(KEY, content)

    assert found is not None
    assert found.remote_id == "18000000000000600"
    assert found.remote_url == "https://www.instagram.com/p/DBcDeFgHiJk/"
    other = DeliveryContent("Never posted", media=content.media)
    assert connector().find_published(KEY, other) is None


def test_a_timeout_after_the_publish_was_sent_is_an_unknown_outcome(net, tmp_path):
    net.play("publish_image")
    ig = connector()
    ig.api().client.timeout = __import__("httpx").Timeout(0.3)
    net.answer("POST", f"{V}/{IG}/media_publish", {"status": 200, "body": {"id": "x"}})
    original = net.next_response

    def slow(sent):
        if sent.path.endswith("/media_publish"):
            time.sleep(0.6)
        return original(sent)

    net.next_response = slow
    try:
        with pytest.raises(OutcomeUnknown):
            ig.publish(DeliveryContent(CAPTION, media=[image(tmp_path, "a.jpg")]), KEY)
    finally:
        del net.next_response


def test_server_errors_before_the_publish_are_transient(net, tmp_path):
    net.play("publish_image")
    net.answer(
        "GET",
        f"{V}/{IG}/content_publishing_limit",
        {"status": 502, "body": "<html>Bad Gateway</html>"},
    )
    with pytest.raises(ConnectorError) as error:
        connector().publish(DeliveryContent(CAPTION, media=[image(tmp_path, "a.jpg")]), KEY)
    assert not error.value.permanent and not error.value.rate_limited


def test_a_token_near_expiry_is_refreshed_and_stored(net, tmp_path):
    net.play("refresh", "account")
    stored: list = []
    ig = connector(stored, expires_at=time.time() + 3 * 86400)

    assert ig.fetch_followers() == 1843

    assert stored and stored[0]["access_token"] == "IGQWlong-lived-2"
    assert stored[0]["expires_at"] > time.time() + 59 * 86400
    assert stored[0]["ig_user_id"] == IG
    (call,) = net.requests_to("GET", f"{V}/me")
    assert call.headers["Authorization"] == "Bearer IGQWlong-lived-2"


def test_a_refused_refresh_stores_nothing_and_uses_the_token_while_it_lasts(net):
    net.play("refresh_refused", "account")
    stored: list = []
    ig = connector(stored, expires_at=time.time() + 3 * 86400)
    assert ig.fetch_followers() == 1843
    assert stored == []

    expired = connector(stored, expires_at=time.time() - 60)
    with pytest.raises(ConnectorError) as error:
        expired.fetch_followers()
    assert error.value.auth_revoked
    assert stored == []


def test_validate_refuses_what_instagram_would_refuse(tmp_path, settings):
    settings.MEDIA_ROOT = tmp_path
    ig = connector()
    png = image(tmp_path, "logo.png", kind="PNG")
    wide = image(tmp_path, "banner.jpg", (2000, 800))
    tall = image(tmp_path, "tall.jpg", (800, 1400))
    outside = MediaFile(
        image(tmp_path, "x.jpg").path.rename(tmp_path.parent / "x.jpg"), "image/jpeg"
    )

    messages = [p.message for p in ig.validate(DeliveryContent("Hi", media=[png]))]
    assert any("JPEG" in m for m in messages)
    messages = [p.message for p in ig.validate(DeliveryContent("Hi", media=[wide, tall]))]
    assert any("2000×800" in m and "1.91:1" in m for m in messages)
    assert any("800×1400" in m and "4:5" in m for m in messages)
    assert any(
        "not in the media library" in p.message
        for p in ig.validate(DeliveryContent("Hi", media=[outside]))
    )
    assert [p.field for p in ig.validate(DeliveryContent("No picture"))] == ["media"]
    many = [image(tmp_path, f"{i}.jpg") for i in range(11)]
    assert any("up to 10" in p.message for p in ig.validate(DeliveryContent("Hi", media=many)))
    long = DeliveryContent("x" * 2201, media=[image(tmp_path, "ok.jpg")])
    assert any("2201 characters" in p.message for p in ig.validate(long))
    tags = DeliveryContent(" ".join(f"#t{i}" for i in range(31)), media=long.media)
    assert any("31 hashtags" in p.message for p in ig.validate(tags))
    thread = DeliveryContent("Hi", media=long.media, thread=["part two"])
    assert [p.field for p in ig.validate(thread)] == ["thread"]
    assert ig.validate(DeliveryContent("Hi", media=[image(tmp_path, "sq.jpg")])) == []
    assert instagram.media_problems(png)
    assert instagram.media_problems(image(tmp_path, "fine.jpg", (1080, 1350))) == []


def test_delete_says_plainly_that_instagram_cannot(net):
    with pytest.raises(ConnectorError) as error:
        connector().delete("18000000000000600")
    assert error.value.permanent
    assert "Instagram app" in error.value.message
    assert net.sent == []


def test_the_inbox_reads_comments_replies_and_tags_but_not_our_own(net):
    net.play("inbox")
    since = datetime.now(UTC) - timedelta(days=1)

    page = connector().fetch_inbox("", since)

    texts = [(i.kind, i.author.handle, i.text) for i in page.items]
    assert texts == [
        ("comment", "@ana.eats", "Do you have a gluten-free one?"),
        ("comment", "@bob.bakes", "Looks amazing 😍"),
        ("mention", "@cafe.lover", "Breakfast at @crumbbakery ☕"),
        ("comment", "@ana.eats", "Great, see you then"),
    ]
    first, _bob, mention, reply = page.items
    assert first.our_post_remote_id == "18000000000000600"
    assert reply.parent_remote_id == "17860000000000001"
    assert reply.reference["reply_to"] == "17860000000000001"
    assert first.thread_key == reply.thread_key
    assert mention.reference["mention"] is True
    assert page.spent == {"calls": 3}
    # The comments of the post without comments were not read.
    assert net.requests_to("GET", f"{V}/17999999999999000/comments") == []

    # The next read starts at the newest item read (its second again: the inbox keeps it once).
    again = connector().fetch_inbox(page.cursor, since)
    assert [i.remote_id for i in again.items] == ["17860000000000004"]


def test_the_inbox_goes_on_without_tags_where_the_app_may_not_read_them(net):
    net.play("inbox", "tags_refused")
    page = connector().fetch_inbox("", datetime.now(UTC) - timedelta(days=1))
    assert [i.kind for i in page.items] == ["comment", "comment", "comment"]  # no mention


def test_replies_hide_and_delete_comments(net):
    net.play("comment_actions")
    ig = connector()
    target = {"id": "17860000000000004", "reply_to": "17860000000000001", "message_id": 3}
    reply = DeliveryContent("Thank you, Ana!", action="reply", target=target)

    assert ig.publish(reply, KEY).remote_id == "17860000000000009"
    (sent,) = net.requests_to("POST", f"{V}/17860000000000001/replies")
    assert fields(sent) == {"message": "Thank you, Ana!"}
    assert ig.find_published("another-key", reply).remote_id == "17860000000000009"

    hide = DeliveryContent("", action="hide", target={"id": "17860000000000002"})
    assert ig.publish(hide, KEY).remote_id == "17860000000000002"
    assert fields(net.requests_to("POST", f"{V}/17860000000000002")[0]) == {"hide": "true"}
    assert ig.find_published("k", hide) is not None
    unhide = DeliveryContent("", action="unhide", target={"id": "17860000000000002"})
    ig.publish(unhide, "k2")
    assert fields(net.requests_to("POST", f"{V}/17860000000000002")[1]) == {"hide": "false"}

    ig.publish(DeliveryContent("", action="delete", target={"id": "17860000000000005"}), "k3")
    assert len(net.requests_to("DELETE", f"{V}/17860000000000005")) == 1

    like = DeliveryContent("", action="like", target={"id": "17860000000000002"})
    assert "like it in the app" in ig.validate(like)[0].message
    mention = DeliveryContent("Thanks!", action="reply", target={"id": "1", "mention": True})
    assert any("tagged in" in p.message for p in ig.validate(mention))


def test_metrics_use_todays_insight_names_and_leave_out_a_deleted_post(net):
    net.play("insights", "account")
    ig = connector()

    found = ig.fetch_metrics(["18000000000000600", "17999999999999000"])

    assert set(found) == {"18000000000000600"}
    numbers = found["18000000000000600"]
    assert (numbers.views, numbers.likes, numbers.replies, numbers.reposts) == (2310, 201, 17, 12)
    assert numbers.clicks is None and numbers.quotes is None
    (call,) = net.requests_to("GET", f"{V}/18000000000000600/insights")
    assert "impressions" not in call.fields["metric"][0]
    assert call.fields["metric"][0].startswith("views,")
    assert ig.fetch_followers() == 1843
    assert "impressions" in InstagramConnector.metric_note
