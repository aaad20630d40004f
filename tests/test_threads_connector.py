"""The Threads connector against recorded exchanges served over real HTTP.

Threads cannot run here: ``tests/recordings/threads/`` holds exchanges written by hand from
Meta's Threads API reference (see the README there), served by ``RecordedNetwork`` on
127.0.0.1 to the real connector, which makes real HTTP requests.

@crumbandco is the bakery's Threads profile (id 25900000000000001).
"""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from socialdesk.networks import threads
from socialdesk.networks.base import ConnectorError, DeliveryContent, LinkCard, MediaFile
from socialdesk.networks.http import OutcomeUnknown
from tests.recorded import RecordedNetwork

pytestmark = pytest.mark.any_database

USER = "25900000000000001"
POST = "18050000000000001"
TOKEN = "THQVJ-long-token"
KEY = "socialdesk-delivery-52"
DAY = 86400


@pytest.fixture(scope="module")
def server():
    recorded = RecordedNetwork("threads")
    yield recorded
    recorded.stop()


@pytest.fixture
def graph(server, settings, tmp_path) -> RecordedNetwork:
    server.reset()
    server.play("oauth", "publish", "faults")
    settings.NETWORK_URL_OVERRIDES = {"threads": server.url}
    settings.NETWORK_APPS = {"threads": {"client_id": "990602627938098", "client_secret": "s3cret"}}
    settings.MEDIA_ROOT = str(tmp_path)
    settings.MEDIA_PUBLIC_URL = "https://media.crumb.example/m"
    return server


def credentials(**changes: Any) -> dict[str, Any]:
    now = time.time()
    return {
        "access_token": TOKEN,
        "threads_user_id": USER,
        "username": "crumbandco",
        "issued_at": now - 10 * DAY,
        "expires_at": now + 50 * DAY,
        **changes,
    }


class Stored:
    """What the connector asked to store (the channel's credentials, encrypted, in life)."""

    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []

    def __call__(self, fresh: dict[str, Any]) -> None:
        self.calls.append(fresh)


@pytest.fixture
def stored() -> Stored:
    return Stored()


@pytest.fixture
def profile(graph, stored) -> threads.ThreadsConnector:
    connector = threads.ThreadsConnector(credentials(), stored, poll_interval=0.02)
    return connector


def jpeg(tmp_path: Path, name: str, size: tuple[int, int] = (1080, 1350)) -> MediaFile:
    path = tmp_path / name
    Image.new("RGB", size, (180, 140, 80)).save(path, "JPEG")
    return MediaFile(path, "image/jpeg", f"Photo {name}")


def fields(sent) -> dict[str, str]:
    return {k: v[0] for k, v in sent.fields.items()}


# -- connecting and the token ---------------------------------------------------------------


def test_accounts_trades_for_a_long_lived_token_and_reads_the_profile(graph):
    found = threads.accounts({"access_token": "THQVJ-short-token", "user_id": int(USER)})

    assert len(found) == 1
    account = found[0]
    assert (account.info.remote_account_id, account.info.handle) == (USER, "@crumbandco")
    assert account.credentials["access_token"] == TOKEN
    assert account.credentials["threads_user_id"] == USER
    assert account.credentials["expires_at"] - time.time() > 59 * DAY
    exchange = graph.requests_to("GET", "/access_token")[0]
    assert exchange.query["grant_type"] == ["th_exchange_token"]
    assert exchange.query["client_secret"] == ["s3cret"]
    assert graph.requests_to("GET", "/v1.0/me")[0].headers["Authorization"] == f"Bearer {TOKEN}"


def test_a_token_near_expiry_is_refreshed_and_stored_before_the_call(graph, stored):
    connector = threads.ThreadsConnector(
        credentials(expires_at=time.time() + 3 * DAY), stored, poll_interval=0.02
    )

    connector.check_connection()

    assert len(stored.calls) == 1
    assert stored.calls[0]["access_token"] == "THQVJ-refreshed-token"
    assert stored.calls[0]["threads_user_id"] == USER
    assert stored.calls[0]["expires_at"] - time.time() > 59 * DAY
    refresh = graph.requests_to("GET", "/refresh_access_token")[0]
    assert refresh.query["grant_type"] == ["th_refresh_token"]
    me = graph.requests_to("GET", "/v1.0/me")[0]
    assert me.headers["Authorization"] == "Bearer THQVJ-refreshed-token"


def test_a_token_younger_than_a_day_is_not_refreshed(graph, stored):
    now = time.time()
    connector = threads.ThreadsConnector(
        credentials(issued_at=now - 3600, expires_at=now + 3 * DAY), stored
    )

    connector.check_connection()

    assert stored.calls == [] and not graph.requests_to("GET", "/refresh_access_token")


def test_a_refused_refresh_stores_nothing_and_asks_for_reconnection(graph, stored):
    graph.play("refresh_refused")
    connector = threads.ThreadsConnector(credentials(expires_at=time.time() + DAY), stored)

    with pytest.raises(ConnectorError) as raised:
        connector.check_connection()

    assert raised.value.auth_revoked
    assert stored.calls == []


def test_a_refresh_that_cannot_reach_threads_stores_nothing_and_keeps_the_valid_token(
    graph, stored, settings
):
    settings.NETWORK_URL_OVERRIDES = {"threads": "http://127.0.0.1:9"}  # nothing listens
    connector = threads.ThreadsConnector(credentials(expires_at=time.time() + DAY), stored)

    connector.ensure_fresh()  # the token still works for a day: no error, tried again later

    assert stored.calls == []
    assert connector.credentials["access_token"] == TOKEN
    expired = threads.ThreadsConnector(credentials(expires_at=time.time() - 60), stored)
    with pytest.raises(ConnectorError) as raised:
        expired.ensure_fresh()
    assert raised.value.auth_revoked and stored.calls == []


# -- publishing -----------------------------------------------------------------------------


def test_a_text_post_goes_through_its_container_then_the_thread_and_first_comment(graph, profile):
    content = DeliveryContent(
        "Cinnamon buns are back on Saturday.",
        link=LinkCard("https://crumb.example/buns"),
        thread=("Pre-order by Friday noon.",),
        first_comment="Gluten-free ones too.",
    )

    published = profile.publish(content, KEY)

    assert published.remote_id == POST
    assert published.remote_url == "https://www.threads.com/@crumbandco/post/DAbcMain"
    created = [fields(s) for s in graph.requests_to("POST", f"/v1.0/{USER}/threads")]
    assert created[0] == {
        "media_type": "TEXT",
        "text": "Cinnamon buns are back on Saturday.",
        "link_attachment": "https://crumb.example/buns",
    }
    # The thread's part answers the post; the next part would answer it; the first comment
    # answers the post itself.
    assert created[1] == {
        "media_type": "TEXT",
        "text": "Pre-order by Friday noon.",
        "reply_to_id": POST,
    }
    assert created[2] == {
        "media_type": "TEXT",
        "text": "Gluten-free ones too.",
        "reply_to_id": POST,
    }
    published_ids = [
        fields(s)["creation_id"] for s in graph.requests_to("POST", f"/v1.0/{USER}/threads_publish")
    ]
    assert published_ids == ["17890000000000001", "17890000000000021", "17890000000000023"]
    assert graph.requests_to("GET", f"/v1.0/{USER}/threads_publishing_limit")
    assert all(s.headers["Authorization"] == f"Bearer {TOKEN}" for s in graph.sent)


def test_a_carousel_waits_for_each_item_to_finish_processing(graph, profile, tmp_path):
    media = [jpeg(tmp_path, "a.jpg"), jpeg(tmp_path, "b.jpg")]

    published = profile.publish(DeliveryContent("Two loaves", media=media), KEY)

    assert published.remote_id == "18050000000000005"
    created = [fields(s) for s in graph.requests_to("POST", f"/v1.0/{USER}/threads")]
    assert created[0] == {
        "media_type": "IMAGE",
        "image_url": "https://media.crumb.example/m/a.jpg",
        "alt_text": "Photo a.jpg",
        "is_carousel_item": "true",
    }
    assert created[2] == {
        "media_type": "CAROUSEL",
        "children": "17890000000000031,17890000000000032",
        "text": "Two loaves",
    }
    # The second item was still processing twice before it finished.
    assert len(graph.requests_to("GET", "/v1.0/17890000000000032")) == 3


def test_a_video_that_fails_processing_is_permanent_in_threads_words(graph, profile, tmp_path):
    path = tmp_path / "knead.mp4"
    path.write_bytes(b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 64)

    with pytest.raises(ConnectorError) as raised:
        profile.publish(DeliveryContent("Kneading", media=[MediaFile(path, "video/mp4")]), KEY)

    assert raised.value.permanent
    assert "FAILED_PROCESSING_VIDEO" in raised.value.message
    assert not graph.requests_to("POST", f"/v1.0/{USER}/threads_publish")


def test_media_still_processing_after_the_timeout_is_transient(graph, stored, tmp_path):
    graph.answer(
        "GET",
        "/v1.0/17890000000000041",
        {"status": 200, "body": {"status": "IN_PROGRESS", "id": "17890000000000041"}},
    )
    slow = threads.ThreadsConnector(credentials(), stored, media_timeout=0.1, poll_interval=0.03)
    path = tmp_path / "knead.mp4"
    path.write_bytes(b"\x00\x00\x00\x18ftypmp42")

    with pytest.raises(ConnectorError) as raised:
        slow.publish(DeliveryContent("Kneading", media=[MediaFile(path, "video/mp4")]), KEY)

    assert not raised.value.permanent and "still processing" in raised.value.message


def test_validation_counts_emoji_bytes_and_checks_media(graph, profile, tmp_path, settings):
    tall = jpeg(tmp_path, "tall.jpg", size=(100, 1200))
    gif = tmp_path / "a.gif"
    Image.new("RGB", (10, 10)).save(gif, "GIF")

    problems = profile.validate(
        DeliveryContent(
            "🥐" * 126,  # 126 × 4 bytes = 504
            media=[tall, MediaFile(gif, "image/gif")],
            thread=("",),
        )
    )

    said = " | ".join(str(p) for p in problems)
    assert "counts 504 characters on Threads" in said
    assert "tall.jpg is more than 10 times longer" in said
    assert "a.gif is image/gif; Threads takes JPEG or PNG" in said
    assert "Part 2 of the thread is empty" in said
    assert threads.text_length("Brot 🥐") == 9
    assert profile.validate(DeliveryContent("Open today")) == []
    settings.MEDIA_PUBLIC_URL = ""  # then SITE_URL + MEDIA_URL serves the library
    assert profile.validate(DeliveryContent("Loaf", media=[jpeg(tmp_path, "l.jpg")])) == []
    elsewhere = tmp_path.parent / f"{tmp_path.name}-elsewhere"
    elsewhere.mkdir()
    no_address = profile.validate(DeliveryContent("Loaf", media=[jpeg(elsewhere, "l.jpg")]))
    assert "not in Socialdesk's media library" in str(no_address)
    assert not graph.sent
    too_many = [jpeg(tmp_path, f"{n}.jpg", (400, 400)) for n in range(21)]
    settings.MEDIA_PUBLIC_URL = "https://media.crumb.example/m"
    assert "up to 20" in str(profile.validate(DeliveryContent("Many", media=too_many)))


def test_the_publishing_limit_reached_waits_without_making_a_container(graph, profile):
    graph.answer(
        "GET",
        f"/v1.0/{USER}/threads_publishing_limit",
        {"status": 200, "body": {"data": [{"quota_usage": 250, "config": {"quota_total": 250}}]}},
    )

    with pytest.raises(ConnectorError) as raised:
        profile.publish(DeliveryContent("One more"), KEY)

    assert raised.value.rate_limited and raised.value.retry_after is not None
    assert not graph.requests_to("POST", f"/v1.0/{USER}/threads")


def test_threads_refusing_the_post_is_permanent_in_its_own_words(graph, profile):
    with pytest.raises(ConnectorError) as raised:
        profile.publish(DeliveryContent("Refused"), KEY)

    assert raised.value.permanent and not raised.value.auth_revoked
    assert "exceeds the 500 character limit" in raised.value.message


def test_a_revoked_token_asks_for_reconnection(graph, profile):
    with pytest.raises(ConnectorError) as raised:
        profile.publish(DeliveryContent("Revoked"), KEY)

    assert raised.value.auth_revoked
    assert TOKEN not in raised.value.message


def test_a_429_waits_for_its_retry_after(graph, profile):
    before = datetime.now(UTC)
    with pytest.raises(ConnectorError) as raised:
        profile.publish(DeliveryContent("Busy"), KEY)

    assert raised.value.rate_limited
    assert raised.value.retry_after is not None
    assert timedelta(seconds=110) < raised.value.retry_after - before < timedelta(seconds=130)


def test_a_429_whose_reset_is_already_past_is_still_a_rate_limit(graph, profile):
    graph.answer(
        "POST",
        f"/v1.0/{USER}/threads",
        {
            "status": 429,
            "headers": {"Retry-After": "Mon, 07 Dec 2026 08:00:00 GMT"},
            "body": {"error": {"message": "Application request limit reached", "code": 4}},
        },
        query={"text": "Late"},
    )

    with pytest.raises(ConnectorError) as raised:
        profile.publish(DeliveryContent("Late"), KEY)

    # The engine waits its own backoff when the reset is behind it (networks.http).
    assert raised.value.rate_limited and not raised.value.permanent
    assert raised.value.retry_after is not None
    assert raised.value.retry_after <= datetime.now(UTC)


def test_a_server_error_is_transient_and_the_retry_publishes(graph, profile):
    with pytest.raises(ConnectorError) as raised:
        profile.publish(DeliveryContent("Flaky"), KEY)
    assert not raised.value.permanent

    assert profile.publish(DeliveryContent("Flaky"), KEY).remote_id == POST


def test_a_timeout_after_publishing_is_unknown_and_reconciled_by_its_text(
    graph, stored, monkeypatch
):
    slow = threads.ThreadsConnector(credentials(), stored, timeout=0.3, poll_interval=0.02)
    answer = graph.next_response

    def late_publish(sent):
        if sent.path.endswith("/threads_publish"):
            time.sleep(0.6)
        return answer(sent)

    monkeypatch.setattr(graph, "next_response", late_publish)
    content = DeliveryContent("Stollen season starts today.")

    with pytest.raises(OutcomeUnknown):
        slow.publish(content, KEY)

    graph.answer(
        "GET",
        f"/v1.0/{USER}/threads",
        {
            "status": 200,
            "body": {
                "data": [
                    {
                        "id": POST,
                        "text": "Stollen season starts today.",
                        "timestamp": "{1 min ago}",
                        "permalink": "https://www.threads.com/@crumbandco/post/DAbcStollen",
                    }
                ]
            },
        },
    )
    found = slow.find_published(KEY, content)
    assert found is not None and found.remote_id == POST
    assert slow.find_published(KEY, DeliveryContent("Something else")) is None


def test_a_retry_after_the_post_finishes_only_the_missing_thread_part(graph, profile):
    graph.answer(
        "GET",
        f"/v1.0/{USER}/threads",
        {
            "status": 200,
            "body": {"data": [{"id": POST, "text": "Buns!", "timestamp": "{2 min ago}"}]},
        },
    )
    graph.answer(
        "GET",
        f"/v1.0/{POST}/replies",
        {
            "status": 200,
            "body": {
                "data": [
                    {"id": "18050000000000002", "text": "Part two", "username": "crumbandco"},
                    {"id": "1806", "text": "Part three", "username": "someone.else"},
                ]
            },
        },
    )
    graph.answer("GET", "/v1.0/18050000000000002/replies", {"status": 200, "body": {"data": []}})

    profile.publish(DeliveryContent("Buns!", thread=("Part two", "Part three")), KEY)

    created = [fields(s) for s in graph.requests_to("POST", f"/v1.0/{USER}/threads")]
    assert created == [
        {"media_type": "TEXT", "text": "Part three", "reply_to_id": "18050000000000002"}
    ]
    assert not graph.requests_to("GET", f"/v1.0/{USER}/threads_publishing_limit")


def test_delete_and_hide(graph, profile):
    graph.play("inbox")
    profile.delete(POST)

    assert graph.requests_to("DELETE", f"/v1.0/{POST}")
    profile.publish(DeliveryContent("", action="hide", target={"id": "18060000000000001"}), "h2")
    assert fields(graph.requests_to("POST", "/v1.0/18060000000000001/manage_reply")[0]) == {
        "hide": "true"
    }
    assert "cannot like" in str(
        profile.validate(DeliveryContent("", action="like", target={"id": "1"}))
    )
    assert profile.cost(DeliveryContent("x", thread=("y",), first_comment="z")) == {
        "posts": 1,
        "replies": 2,
    }


# -- inbox and metrics ----------------------------------------------------------------------


def test_the_inbox_reads_replies_and_mentions_but_not_our_own(graph, profile):
    graph.play("inbox")
    since = datetime.now(UTC) - timedelta(days=2)

    page = profile.fetch_inbox("", since)

    assert [(i.kind, i.text) for i in page.items] == [
        ("mention", "Best rye in Berlin is @crumbandco"),
        ("comment", "Do you deliver to Kreuzberg?"),
        ("comment", "Perfect, thanks"),
    ]
    reply = page.items[2]
    assert reply.thread_key == f"{POST}:mila.bakes"
    assert reply.author.handle == "@mila.bakes"
    assert reply.parent_remote_id == "18060000000000002"
    assert reply.our_post_remote_id == POST
    assert reply.reference["id"] == "18060000000000003"
    marks = json.loads(page.cursor)
    assert set(marks) == {"replies", "mentions"}


def test_a_reply_from_the_inbox_is_a_reply_container(graph, profile):
    published = profile.publish(
        DeliveryContent("Yes, Saturdays!", action="reply", target={"id": POST}), "reply-1"
    )

    assert published.remote_id == "18050000000000002"
    assert fields(graph.requests_to("POST", f"/v1.0/{USER}/threads")[0])["reply_to_id"] == POST


def test_metrics_come_from_media_insights_and_followers_from_user_insights(graph, profile):
    graph.play("metrics")

    found = profile.fetch_metrics([POST, "18050000000000404"])

    assert found == {
        POST: threads.Metrics(views=812, likes=64, replies=9, reposts=5, quotes=2),
    }
    asked = graph.requests_to("GET", f"/v1.0/{POST}/insights")[0].query["metric"][0]
    assert asked == "views,likes,replies,reposts,quotes,shares"
    assert profile.fetch_followers() == 2317
