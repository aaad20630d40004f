"""The TikTok connector against recorded exchanges served over real HTTP.

TikTok cannot run here: ``tests/recordings/tiktok/`` holds exchanges written by hand from
TikTok's Content Posting API and Display API reference (see the README there), served by
``RecordedNetwork`` to the real connector code over real HTTP on 127.0.0.1.

Crumb Bakery (``@crumbbakery``) posts its baking videos.
"""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from socialdesk.networks import tiktok
from socialdesk.networks.base import ConnectorError, DeliveryContent, LinkCard, MediaFile
from socialdesk.networks.http import OutcomeUnknown
from socialdesk.networks.tiktok import TikTokConnector
from tests.recorded import RECORDINGS, Sent
from tests.test_linkedin_connector import Recorded

pytestmark = pytest.mark.any_database

OPEN_ID = "723f24d7-e717-40f8-a2b6-cb8464cd23b4"
TOKEN = "act.example12345Example12345Example"
REFRESH = "rft.example12345Example12345Example"
PUBLISH_ID = "v_pub_file~v2-1.7346512012345678901"
INBOX_ID = "v_inbox_file~v2.7346512099999999999"
VIDEO_ID = "7446500000000000001"
KEY = "socialdesk-delivery-63"
TEXT = "How we shape a loaf #sourdough"
ERRORS = json.loads((RECORDINGS / "tiktok" / "errors.json").read_text())["answers"]


@pytest.fixture(scope="module")
def server():
    recorded = Recorded("tiktok")
    yield recorded
    recorded.stop()


@pytest.fixture
def network(server, settings) -> Recorded:
    server.reset()
    settings.NETWORK_URL_OVERRIDES = {"tiktok": server.url}
    settings.NETWORK_APPS = {"tiktok": {"client_id": "awx1yz2example", "client_secret": "tt-s3"}}
    server.play("direct_post")
    return server


def connector(**credentials: Any) -> tuple[TikTokConnector, list[dict[str, Any]]]:
    stored: list[dict[str, Any]] = []
    values = {
        "access_token": TOKEN,
        "refresh_token": REFRESH,
        "expires_at": time.time() + 20 * 3600,
        "open_id": OPEN_ID,
        "username": "crumbbakery",
        "post_mode": "direct",
        **credentials,
    }
    made = TikTokConnector(
        values,
        stored.append,
        media_timeout=2.0,
        poll_interval=0.01,
        chunk_size=1000,
        chunk_min=1000,
    )
    return made, stored


def clip(tmp_path: Path, size: int = 2500) -> MediaFile:
    path = tmp_path / "shaping.mp4"
    path.write_bytes(
        (b"\x00\x00\x00\x18ftypmp42" + bytes(range(256)) * 20)[:size].ljust(size, b"\0")
    )
    return MediaFile(path, "video/mp4")


def body_of(sent: Sent) -> dict[str, Any]:
    return json.loads(sent.body)


def test_a_direct_post_asks_the_creator_first_uploads_in_chunks_and_waits(network, tmp_path):
    made, stored = connector()
    video = clip(tmp_path)

    published = made.publish(DeliveryContent(TEXT, media=[video]), KEY)

    assert published.remote_id == VIDEO_ID
    assert published.remote_url == f"https://www.tiktok.com/@crumbbakery/video/{VIDEO_ID}"
    [creator] = network.requests_to("POST", "/v2/post/publish/creator_info/query")
    assert creator.headers["Authorization"] == f"Bearer {TOKEN}"
    [init] = network.requests_to("POST", "/v2/post/publish/video/init")
    assert body_of(init) == {
        "post_info": {
            "title": TEXT,
            "privacy_level": "PUBLIC_TO_EVERYONE",
            "disable_comment": False,
            "disable_duet": True,  # as the creator has it
            "disable_stitch": False,
        },
        "source_info": {
            "source": "FILE_UPLOAD",
            "video_size": 2500,
            "chunk_size": 1000,
            "total_chunk_count": 2,
        },
    }
    chunks = network.requests_to("PUT", "/video")
    data = video.path.read_bytes()
    assert [c.headers["Content-Range"] for c in chunks] == [
        "bytes 0-999/2500",
        "bytes 1000-2499/2500",
    ]
    assert [c.body for c in chunks] == [data[:1000], data[1000:]]
    assert all("Authorization" not in c.headers for c in chunks)
    assert chunks[0].headers["Content-Type"] == "video/mp4"
    statuses = network.requests_to("POST", "/v2/post/publish/status/fetch")
    assert len(statuses) == 3 and body_of(statuses[0]) == {"publish_id": PUBLISH_ID}
    # The publish id was kept with the credentials while the video was on its way.
    assert stored[0]["pending"] == {KEY: {"publish_id": PUBLISH_ID, "mode": "direct"}}
    assert stored[-1]["pending"] == {}
    assert stored[-1]["access_token"] == TOKEN


def test_a_small_video_goes_in_one_piece(network, tmp_path):
    made, _ = connector()
    made.chunk_min = 5 * 1024 * 1024

    made.publish(DeliveryContent(TEXT, media=[clip(tmp_path, 2500)]), KEY)

    [init] = network.requests_to("POST", "/v2/post/publish/video/init")
    assert body_of(init)["source_info"]["total_chunk_count"] == 1
    assert body_of(init)["source_info"]["chunk_size"] == 2500
    [chunk] = network.requests_to("PUT", "/video")
    assert chunk.headers["Content-Range"] == "bytes 0-2499/2500"


def test_an_unaudited_app_sends_a_draft_to_the_creators_inbox_instead(network, tmp_path):
    network.play("inbox_draft")
    made, stored = connector()

    published = made.publish(DeliveryContent(TEXT, media=[clip(tmp_path)]), KEY)

    # The draft is no post yet: its publish id, and no URL.
    assert published.remote_id == INBOX_ID
    assert published.remote_url == ""
    [init] = network.requests_to("POST", "/v2/post/publish/inbox/video/init")
    assert "post_info" not in body_of(init)
    assert stored[0]["pending"][KEY] == {"publish_id": INBOX_ID, "mode": "inbox"}


def test_an_account_that_granted_only_uploads_goes_to_the_inbox_without_asking(network, tmp_path):
    network.play("inbox_draft")
    made, _ = connector(post_mode="inbox")

    published = made.publish(DeliveryContent(TEXT, media=[clip(tmp_path)]), KEY)

    assert published.remote_id == INBOX_ID
    assert not network.requests_to("POST", "/v2/post/publish/creator_info/query")
    assert not network.requests_to("POST", "/v2/post/publish/video/init")


def test_a_video_tiktok_fails_to_process_fails_for_good_with_its_reason(network, tmp_path):
    network.play("failed")
    made, _ = connector()

    with pytest.raises(ConnectorError) as caught:
        made.publish(DeliveryContent(TEXT, media=[clip(tmp_path)]), KEY)

    assert caught.value.permanent
    assert "TikTok could not publish the video: file_format_check_failed" in caught.value.message


def test_processing_that_outlasts_the_wait_is_unknown_and_settled_by_the_kept_publish_id(
    network, tmp_path
):
    made, stored = connector()
    made.media_timeout = 0.0
    content = DeliveryContent(TEXT, media=[clip(tmp_path)])

    with pytest.raises(OutcomeUnknown):
        made.publish(content, KEY)

    assert made.credentials["pending"][KEY]["publish_id"] == PUBLISH_ID
    # The second look still says PROCESSING_UPLOAD: the network cannot tell yet.
    with pytest.raises(ConnectorError) as caught:
        made.find_published(KEY, content)
    assert "still processing" in caught.value.message and not caught.value.permanent
    found = made.find_published(KEY, content)
    assert found is not None and found.remote_id == VIDEO_ID
    assert len(network.requests_to("POST", "/v2/post/publish/video/init")) == 1


def test_a_retry_with_a_kept_publish_id_posts_nothing_again(network, tmp_path):
    network.answer(
        "POST",
        "/v2/post/publish/status/fetch",
        {
            "status": 200,
            "body": {
                "data": {"status": "PUBLISH_COMPLETE", "publicaly_available_post_id": []},
                "error": {"code": "ok", "message": "", "log_id": "x"},
            },
        },
    )
    pending = {KEY: {"publish_id": PUBLISH_ID, "mode": "direct"}}
    made, stored = connector(pending=pending)

    published = made.publish(DeliveryContent(TEXT, media=[clip(tmp_path)]), KEY)

    # Complete but private or still in moderation: no post id yet, so the publish id.
    assert published.remote_id == PUBLISH_ID and published.remote_url == ""
    assert not network.requests_to("POST", "/v2/post/publish/video/init")
    assert stored[-1]["pending"] == {}


def test_without_a_kept_publish_id_reconciling_reads_recent_videos_by_caption(network):
    network.play("videos")
    made, _ = connector()

    found = made.find_published(KEY, DeliveryContent(TEXT))

    assert found is not None and found.remote_id == VIDEO_ID
    assert found.remote_url.endswith(f"/video/{VIDEO_ID}")
    [listing] = network.requests_to("POST", "/v2/video/list")
    assert listing.query["fields"] == ["id,title,video_description,create_time,share_url"]
    assert made.find_published(KEY, DeliveryContent("Croissant lamination")) is None  # too old


@pytest.mark.parametrize(
    ("code", "permanent", "revoked", "limited"),
    [
        ("access_token_invalid", True, True, False),
        ("spam_risk_too_many_posts", False, False, True),
        ("rate_limit_exceeded", False, False, True),
        ("invalid_params", True, False, False),
        ("internal_error", False, False, False),
        ("spam_risk_user_banned_from_posting", True, False, False),
    ],
)
def test_tiktoks_error_codes_become_engine_decisions(
    network, tmp_path, code, permanent, revoked, limited
):
    network.answer("POST", "/v2/post/publish/creator_info/query", ERRORS[code])
    made, _ = connector()

    with pytest.raises(ConnectorError) as caught:
        made.publish(DeliveryContent(TEXT, media=[clip(tmp_path)]), KEY)

    error = caught.value
    assert (error.permanent, error.auth_revoked, error.rate_limited) == (
        permanent,
        revoked,
        limited,
    )
    assert f"({code})" in error.message
    assert not network.requests_to("POST", "/v2/post/publish/video/init")
    now = datetime.now(UTC)
    if code == "rate_limit_exceeded":
        assert now < error.retry_after <= now + timedelta(minutes=1)
    if code == "spam_risk_too_many_posts":
        assert now + timedelta(minutes=59) < error.retry_after <= now + timedelta(hours=1)


def test_validate_says_what_tiktok_takes(tmp_path):
    made, _ = connector()
    picture = tmp_path / "loaf.jpg"
    picture.write_bytes(b"\xff\xd8\xff")

    problems = made.validate(
        DeliveryContent(
            "🍞" * 1101,  # 2202 UTF-16 code units
            media=[MediaFile(picture, "image/jpeg")],
            first_comment="Hi",
            link=LinkCard("https://crumb.example/"),
            thread=("more",),
        )
    )

    said = " | ".join(str(p) for p in problems)
    assert "The caption has 2202 characters; TikTok takes up to 2200" in said
    assert "loaf.jpg is an image; Socialdesk posts videos to TikTok" in said
    assert "TikTok's API cannot comment" in said
    assert "no link cards" in said
    assert "no threads" in said
    assert made.validate(DeliveryContent(TEXT, media=[clip(tmp_path)])) == []
    assert "exactly one" in str(made.validate(DeliveryContent(TEXT)))


def test_delete_is_refused_with_what_to_do(network):
    made, _ = connector()

    with pytest.raises(ConnectorError) as caught:
        made.delete(VIDEO_ID)

    assert caught.value.permanent
    assert "delete it in the TikTok app" in caught.value.message
    assert network.sent == []


def test_a_token_about_to_expire_is_refreshed_and_the_rotated_refresh_token_stored(network):
    network.play("oauth", "refresh")
    made, stored = connector(expires_at=time.time() + 60)

    made.check_connection()

    [fresh] = stored
    assert fresh["access_token"] == "act.refreshed67890Example67890"
    assert fresh["refresh_token"] == "rft.rotated67890Example67890"
    [refresh] = network.requests_to("POST", "/v2/oauth/token")
    assert refresh.form["client_key"] == ["awx1yz2example"]
    assert refresh.form["client_secret"] == ["tt-s3"]
    [read] = network.requests_to("GET", "/v2/user/info")
    assert read.headers["Authorization"] == "Bearer act.refreshed67890Example67890"


def test_a_refused_refresh_stores_nothing(network):
    network.play("refresh")
    made, stored = connector(expires_at=time.time() + 60, refresh_token="rft.expired")

    with pytest.raises(ConnectorError) as caught:
        made.check_connection()

    assert caught.value.auth_revoked and stored == []


def test_the_consenting_account_and_how_it_may_post(network):
    network.play("oauth")
    token = {
        "access_token": TOKEN,
        "refresh_token": REFRESH,
        "open_id": OPEN_ID,
        "scope": "user.info.basic,video.upload,video.list",
    }

    [account] = tiktok.accounts(token)

    assert account.info.remote_account_id == OPEN_ID
    assert account.info.handle == "crumbbakery"
    assert account.info.display_name == "Crumb Bakery"
    assert account.credentials["post_mode"] == "inbox"  # no video.publish granted
    [both] = tiktok.accounts({**token, "scope": "video.publish,video.upload"})
    assert both.credentials["post_mode"] == "direct"


def test_metrics_of_public_videos_and_followers(network):
    network.play("videos")
    made, _ = connector()

    found = made.fetch_metrics([VIDEO_ID, PUBLISH_ID])

    assert found == {VIDEO_ID: tiktok.Metrics(views=15200, likes=1830, replies=41, reposts=77)}
    [query] = network.requests_to("POST", "/v2/video/query")
    assert body_of(query) == {"filters": {"video_ids": [VIDEO_ID]}}  # no publish ids
    assert made.fetch_followers() == 5120


def test_the_composer_counts_a_caption_as_tiktok_does():
    from socialdesk.content.composer import text_length

    assert text_length("tiktok", "Loaf 🍞") == 7  # the emoji is two UTF-16 code units
