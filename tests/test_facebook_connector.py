"""The Facebook Pages connector against recorded exchanges served over real HTTP.

Facebook cannot run here: ``tests/recordings/facebook/`` holds exchanges written by hand from
Meta's Graph API reference (see the README there), served by ``RecordedNetwork`` on 127.0.0.1
to the real connector, which makes real HTTP requests.

Crumb & Co Bakery is the Page (id 104857600000001).
"""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from PIL import Image

from socialdesk.networks import facebook
from socialdesk.networks.base import ConnectorError, DeliveryContent, LinkCard, MediaFile
from socialdesk.networks.http import OutcomeUnknown
from tests.recorded import RecordedNetwork

pytestmark = pytest.mark.any_database

PAGE = "104857600000001"
POST = f"{PAGE}_900000000000001"
TOKEN = "EAAB-page-token-bakery"
KEY = "socialdesk-delivery-41"


@pytest.fixture(scope="module")
def server():
    recorded = RecordedNetwork("facebook")
    yield recorded
    recorded.stop()


@pytest.fixture
def graph(server, settings) -> RecordedNetwork:
    server.reset()
    server.play("oauth", "publish", "faults", "inbox", "metrics")
    settings.NETWORK_URL_OVERRIDES = {"facebook": server.url}
    settings.NETWORK_APPS = {"facebook": {"client_id": "1234567890", "client_secret": "app-secret"}}
    return server


@pytest.fixture
def page() -> facebook.FacebookConnector:
    connector = facebook.build({"access_token": TOKEN, "page_id": PAGE}, lambda fresh: None)
    assert connector is not None
    return connector


def jpeg(tmp_path: Path, name: str = "loaf.jpg", size: tuple[int, int] = (1200, 900)) -> MediaFile:
    path = tmp_path / name
    Image.new("RGB", size, (200, 160, 90)).save(path, "JPEG")
    return MediaFile(path, "image/jpeg", "A sourdough loaf on a board")


def fields(sent) -> dict[str, str]:
    return {k: v[0] for k, v in sent.fields.items()}


# -- connecting -----------------------------------------------------------------------------


def test_accounts_exchanges_for_a_long_lived_token_and_offers_pages_it_may_publish_to(graph):
    found = facebook.accounts({"access_token": "EAAB-short-user-token"})

    assert [a.info.remote_account_id for a in found] == [PAGE, "104857600000002"]
    assert found[0].info.handle == "Crumb & Co Bakery"
    assert found[0].credentials == {
        "access_token": "EAAB-page-token-bakery",
        "page_id": PAGE,
        "username": "crumbandco",
        "messaging": True,
    }
    assert found[1].credentials["messaging"] is False  # no MESSAGING task on that Page
    exchange = graph.requests_to("GET", "/v24.0/oauth/access_token")[0]
    assert exchange.query["grant_type"] == ["fb_exchange_token"]
    assert exchange.query["fb_exchange_token"] == ["EAAB-short-user-token"]
    listing = graph.requests_to("GET", "/v24.0/me/accounts")[0]
    assert listing.headers["Authorization"] == "Bearer EAAB-long-user-token"


def test_build_needs_a_page_and_its_token():
    assert facebook.build({"access_token": TOKEN}, lambda fresh: None) is None
    assert facebook.build({"page_id": PAGE}, lambda fresh: None) is None


# -- publishing -----------------------------------------------------------------------------


def test_a_text_post_with_a_link_then_its_thread_and_first_comment_as_page_comments(graph, page):
    content = DeliveryContent(
        "Cinnamon buns are back on Saturday.",
        link=LinkCard("https://crumb.example/buns"),
        thread=("Pre-order by Friday noon.",),
        first_comment="Gluten-free ones too.",
    )

    published = page.publish(content, KEY)

    assert published.remote_id == POST
    assert published.remote_url == f"https://www.facebook.com/{POST}"
    created = graph.requests_to("POST", f"/v24.0/{PAGE}/feed")
    assert len(created) == 1
    assert fields(created[0]) == {
        "message": "Cinnamon buns are back on Saturday.",
        "link": "https://crumb.example/buns",
    }
    assert created[0].headers["Authorization"] == f"Bearer {TOKEN}"
    assert "access_token" not in created[0].query
    comments = graph.requests_to("POST", f"/v24.0/{POST}/comments")
    assert [fields(c)["message"] for c in comments] == [
        "Pre-order by Friday noon.",
        "Gluten-free ones too.",
    ]
    # It looked for an earlier attempt first (a post with this text made recently).
    assert graph.requests_to("GET", f"/v24.0/{PAGE}/posts")


def test_one_photo_is_uploaded_with_its_caption_and_alt_text(graph, page, tmp_path):
    published = page.publish(DeliveryContent("Fresh rye", media=[jpeg(tmp_path)]), KEY)

    assert published.remote_id == f"{PAGE}_900000000000003"
    upload = graph.requests_to("POST", f"/v24.0/{PAGE}/photos")[0]
    assert upload.headers["Content-Type"].startswith("multipart/form-data")
    assert b'name="source"; filename="loaf.jpg"' in upload.body
    assert b"Fresh rye" in upload.body
    assert b"A sourdough loaf on a board" in upload.body
    assert not graph.requests_to("POST", f"/v24.0/{PAGE}/feed")


def test_several_photos_are_uploaded_unpublished_then_attached_to_one_post(graph, page, tmp_path):
    media = [jpeg(tmp_path, "a.jpg"), jpeg(tmp_path, "b.jpg")]
    graph.play("publish_photos")  # the unpublished uploads' answers

    published = page.publish(DeliveryContent("Two loaves", media=media), KEY)

    assert published.remote_id == POST
    uploads = graph.requests_to("POST", f"/v24.0/{PAGE}/photos")
    assert len(uploads) == 2
    assert all(b'name="published"\r\n\r\nfalse' in u.body for u in uploads)
    post = fields(graph.requests_to("POST", f"/v24.0/{PAGE}/feed")[0])
    assert post["message"] == "Two loaves"
    assert json.loads(post["attached_media[0]"]) == {"media_fbid": "900000000000201"}
    assert json.loads(post["attached_media[1]"]) == {"media_fbid": "900000000000202"}


def test_a_video_is_uploaded_and_its_page_post_read_back(graph, page, tmp_path):
    path = tmp_path / "kneading.mp4"
    path.write_bytes(b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 64)

    published = page.publish(
        DeliveryContent("How we knead", media=[MediaFile(path, "video/mp4")]), KEY
    )

    assert published.remote_id == f"{PAGE}_900000000000004"
    upload = graph.requests_to("POST", f"/v24.0/{PAGE}/videos")[0]
    assert b'name="description"\r\n\r\nHow we knead' in upload.body
    assert graph.requests_to("GET", "/v24.0/900000000000301")[0].query["fields"] == ["post_id"]


def test_a_video_still_processing_is_published_under_its_video_id(graph, page, tmp_path):
    path = tmp_path / "kneading.mp4"
    path.write_bytes(b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 64)
    graph.answer(
        "GET", "/v24.0/900000000000301", {"status": 200, "body": {"id": "900000000000301"}}
    )

    published = page.publish(
        DeliveryContent("How we knead", media=[MediaFile(path, "video/mp4")]), KEY
    )

    assert published.remote_id == "900000000000301"


def test_validation_says_what_to_fix_without_calling_facebook(graph, page, tmp_path):
    big = tmp_path / "huge.png"
    big.write_bytes(b"\x89PNG" + b"\x00" * 10_400_000)
    webp = tmp_path / "bun.webp"
    webp.write_bytes(b"RIFF0000WEBP")
    video = tmp_path / "v.mp4"
    video.write_bytes(b"0" * 10)

    problems = page.validate(
        DeliveryContent(
            "x" * 63_207,
            media=[
                MediaFile(big, "image/png"),
                MediaFile(webp, "image/webp"),
                MediaFile(video, "video/mp4"),
            ],
        )
    )

    said = " | ".join(str(p) for p in problems)
    assert "63207 characters; Facebook takes 63206" in said
    assert "huge.png is 10.4 MB; Facebook takes photos under 10 MB" in said
    assert "bun.webp is image/webp" in said
    assert "one video, or photos, not both" in said
    assert page.validate(DeliveryContent("")) and not graph.sent
    assert page.validate(DeliveryContent("Open today")) == []


def test_facebook_refusing_the_post_is_permanent_in_its_own_words(graph, page):
    with pytest.raises(ConnectorError) as raised:
        page.publish(DeliveryContent("Duplicate"), KEY)

    assert raised.value.permanent and not raised.value.auth_revoked
    assert "identical to the last one you posted" in raised.value.message
    assert "(code 506)" in raised.value.message


def test_a_revoked_page_token_asks_for_reconnection(graph, page):
    with pytest.raises(ConnectorError) as raised:
        page.publish(DeliveryContent("Revoked"), KEY)

    assert raised.value.auth_revoked and raised.value.permanent
    assert TOKEN not in raised.value.message


def test_the_page_limit_waits_as_long_as_the_usage_header_says(graph, page):
    before = datetime.now(UTC)
    with pytest.raises(ConnectorError) as raised:
        page.publish(DeliveryContent("Busy"), KEY)

    error = raised.value
    assert error.rate_limited and not error.permanent
    assert error.retry_after is not None
    wait = error.retry_after - before
    assert timedelta(minutes=11) < wait <= timedelta(minutes=12, seconds=5)


def test_a_429_whose_time_to_regain_access_is_already_zero_still_waits(graph, page):
    before = datetime.now(UTC)
    with pytest.raises(ConnectorError) as raised:
        page.publish(DeliveryContent("Throttled"), KEY)

    assert raised.value.rate_limited
    assert raised.value.retry_after is not None and raised.value.retry_after > before


def test_a_server_error_is_transient_and_the_retry_posts_once(graph, page):
    with pytest.raises(ConnectorError) as raised:
        page.publish(DeliveryContent("Flaky"), KEY)
    assert not raised.value.permanent and not raised.value.rate_limited

    assert page.publish(DeliveryContent("Flaky"), KEY).remote_id == f"{PAGE}_900000000000009"
    assert len(graph.requests_to("POST", f"/v24.0/{PAGE}/feed")) == 2  # the 500, then the post


def slow_writes(graph: RecordedNetwork, monkeypatch, seconds: float) -> None:
    """The network answers writes (POST) only after ``seconds``: reads stay quick."""
    answer = graph.next_response

    def later(sent):
        if sent.method == "POST":
            time.sleep(seconds)
        return answer(sent)

    monkeypatch.setattr(graph, "next_response", later)


def test_a_timeout_after_the_post_is_unknown_and_reconciled_by_its_text(graph, monkeypatch):
    slow = facebook.FacebookConnector(PAGE, TOKEN, timeout=0.3)
    slow_writes(graph, monkeypatch, 0.6)
    content = DeliveryContent("Stollen season starts today.")

    with pytest.raises(OutcomeUnknown):
        slow.publish(content, KEY)

    graph.answer(
        "GET",
        f"/v24.0/{PAGE}/posts",
        {
            "status": 200,
            "body": {
                "data": [
                    {
                        "id": POST,
                        "message": "Stollen season starts today.",
                        "created_time": "{2 min ago}",
                        "permalink_url": "https://www.facebook.com/crumbandco/posts/pfbid0stollen",
                    }
                ]
            },
        },
    )
    found = slow.find_published(KEY, content)
    assert found is not None
    assert found.remote_id == POST
    assert found.remote_url.endswith("pfbid0stollen")
    assert slow.find_published(KEY, DeliveryContent("Something else")) is None


def test_a_retry_after_the_post_was_made_only_adds_the_missing_comment(graph, page):
    graph.answer(
        "GET",
        f"/v24.0/{PAGE}/posts",
        {
            "status": 200,
            "body": {"data": [{"id": POST, "message": "Buns!", "created_time": "{3 min ago}"}]},
        },
    )
    graph.answer(
        "GET",
        f"/v24.0/{POST}/comments",
        {
            "status": 200,
            "body": {
                "data": [
                    {"id": "c1", "message": "Part two", "from": {"id": PAGE, "name": "Crumb"}},
                    {
                        "id": "c2",
                        "message": "First comment",
                        "from": {"id": "7000", "name": "Lena"},
                    },
                ]
            },
        },
    )

    published = page.publish(
        DeliveryContent("Buns!", thread=("Part two",), first_comment="First comment"), KEY
    )

    assert published.remote_id == POST
    assert not graph.requests_to("POST", f"/v24.0/{PAGE}/feed")
    written = graph.requests_to("POST", f"/v24.0/{POST}/comments")
    assert [fields(c)["message"] for c in written] == ["First comment"]


def test_delete_removes_the_post_and_a_post_already_gone_is_not_an_error(graph, page):
    page.delete(POST)
    page.delete(f"{PAGE}_900000000000404")

    assert graph.requests_to("DELETE", f"/v24.0/{POST}")


def test_check_connection_names_the_page(graph, page):
    info = page.check_connection()

    assert (info.remote_account_id, info.handle) == (PAGE, "Crumb & Co Bakery")


# -- the inbox ------------------------------------------------------------------------------


def test_the_inbox_reads_comments_and_messenger_messages_but_not_the_pages_own(graph, page):
    since = datetime.now(UTC) - timedelta(days=2)

    first = page.fetch_inbox("", since)

    assert [i.text for i in first.items] == [
        "Best croissants in town",
        "Are the cinnamon buns back on Saturday?",
        "Can I order a birthday cake for Friday?",
    ]
    comment = first.items[1]
    assert comment.kind == "comment"
    assert comment.thread_key == f"{POST}:7000000000000001"
    assert comment.author.display_name == "Lena Brandt"
    assert comment.our_post_remote_id == POST
    assert comment.reference == {"kind": "comment", "id": comment.remote_id, "post_id": POST}
    message = first.items[2]
    assert message.kind == "direct"
    assert message.thread_key == "messenger:t_100000000000001"
    assert message.reference["recipient_id"] == "6100000000000001"
    assert first.spent == {"calls": 4}
    assert graph.requests_to("GET", f"/v24.0/{PAGE}/conversations")[0].query["platform"] == [
        "messenger"
    ]

    # The next read takes only what is newer than the marks the cursor keeps.
    marks = json.loads(first.cursor)
    lena = {"id": "7000000000000001", "name": "Lena Brandt"}
    graph.answer(
        "GET",
        f"/v24.0/{POST}/comments",
        {
            "status": 200,
            "body": {
                "data": [
                    {
                        "id": "c-new",
                        "message": "And pretzels?",
                        "created_time": "{1 min ago}",
                        "from": lena,
                    },
                    {
                        "id": comment.remote_id,
                        "message": "seen",
                        "created_time": marks["comments"],
                        "from": lena,
                    },
                ]
            },
        },
    )
    graph.answer("GET", f"/v24.0/{PAGE}/conversations", {"status": 200, "body": {"data": []}})
    graph.answer(
        "GET", f"/v24.0/{PAGE}_900000000000002/comments", {"status": 200, "body": {"data": []}}
    )

    again = page.fetch_inbox(first.cursor, since)

    assert [i.remote_id for i in again.items] == ["c-new"]
    assert json.loads(again.cursor)["messages"] == marks["messages"]


def test_without_messenger_permission_the_inbox_reads_comments_only(graph, page):
    graph.play("inbox_no_messaging")

    found = page.fetch_inbox("", datetime.now(UTC) - timedelta(days=2))

    assert {i.kind for i in found.items} == {"comment"}


def test_replies_hides_and_likes_go_to_the_comment_or_the_conversation(graph, page):
    comment = {"kind": "comment", "id": "900000000000001_500000000000010", "post_id": POST}
    message = {
        "kind": "message",
        "id": "m_AAA2",
        "conversation_id": "t_100000000000001",
        "recipient_id": "6100000000000001",
    }

    answered = page.publish(
        DeliveryContent("Yes, from 7!", action="reply", target=comment), "reply-1"
    )
    sent = page.publish(DeliveryContent("Of course!", action="reply", target=message), "reply-2")
    page.publish(DeliveryContent("", action="hide", target=comment), "hide-1")
    page.publish(DeliveryContent("", action="like", target=comment), "like-1")

    assert answered.remote_id == "900000000000001_500000000000012"
    assert sent.remote_id == "m_AAA4"
    body = graph.requests_to("POST", f"/v24.0/{PAGE}/messages")[0].json
    assert body == {
        "recipient": {"id": "6100000000000001"},
        "messaging_type": "RESPONSE",
        "message": {"text": "Of course!"},
    }
    hide = graph.requests_to("POST", "/v24.0/900000000000001_500000000000010")[0]
    assert fields(hide) == {"is_hidden": "true"}
    assert graph.requests_to("POST", "/v24.0/900000000000001_500000000000010/likes")
    hide_message = DeliveryContent("", action="hide", target=message)
    assert "cannot hide a Messenger message" in str(page.validate(hide_message)[0])


# -- metrics --------------------------------------------------------------------------------


def test_metrics_read_reactions_comments_shares_and_views_in_one_batch(graph, page):
    second = f"{PAGE}_900000000000002"

    found = page.fetch_metrics([POST, second])

    assert found[POST] == facebook.Metrics(likes=42, replies=7, reposts=3, views=1280)
    assert found[second] == facebook.Metrics(likes=0, replies=0, reposts=0, views=None)
    read = graph.requests_to("GET", "/v24.0")[0]
    assert "insights.metric(post_media_view)" in read.query["fields"][0]
    assert "post_impressions" not in read.query["fields"][0]
    assert page.fetch_followers() == 1843
    assert page.metrics_cost(120, followers=True) == {"calls": 4}


def test_a_batch_with_a_deleted_post_is_read_one_by_one_and_the_gone_one_left_out(graph, page):
    gone = f"{PAGE}_900000000000404"
    missing = {
        "status": 400,
        "body": {
            "error": {
                "message": "(#100) Some of the aliases you requested do not exist",
                "code": 100,
            }
        },
    }
    graph.answer("GET", "/v24.0", missing, query={"ids": gone})
    graph.answer("GET", "/v24.0", missing, query={"ids": f"{POST},{gone}"})
    graph.answer(
        "GET",
        "/v24.0",
        {"status": 200, "body": {POST: {"id": POST, "reactions": {"summary": {"total_count": 5}}}}},
        query={"ids": POST},
    )

    found = page.fetch_metrics([POST, gone])

    assert list(found) == [POST]
    assert found[POST].likes == 5
