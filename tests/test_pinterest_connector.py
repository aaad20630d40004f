"""The Pinterest connector against recorded exchanges served over real HTTP.

Pinterest cannot run here: ``tests/recordings/pinterest/`` holds exchanges written by hand
from Pinterest's API v5 reference (see the README there), served by ``RecordedNetwork`` to
the real connector code over real HTTP on 127.0.0.1.

Crumb Bakery (``crumbbakery``) pins to its board "Breads" (549755885175).
"""

from __future__ import annotations

import base64
import json
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from PIL import Image

from socialdesk.networks import pinterest
from socialdesk.networks.base import ConnectorError, DeliveryContent, LinkCard, MediaFile
from socialdesk.networks.http import OutcomeUnknown
from socialdesk.networks.pinterest import PinterestConnector
from tests.recorded import Sent
from tests.test_linkedin_connector import Recorded

pytestmark = pytest.mark.any_database

BOARD = "549755885175"
PIN = "813744226420795885"
TOKEN = "pina_AMAZBJQWADKLWAQAGCAD2D2ZVM5JPEQBQBIQCGQJXVD7GBD"
REFRESH = "pinr_AQEBAJMZBEQBQBIQCGQJXVD7GBDXEUYQZVWWAQAGC"
KEY = "socialdesk-delivery-52"


class Bucket(Recorded):
    """As ``Recorded``; the storage bucket's upload address is its root ("/"), which
    ``RecordedNetwork`` cannot name as a route (it strips the trailing slash)."""

    def next_response(self, sent: Sent) -> dict[str, Any]:
        return super().next_response(replace(sent, path="") if sent.path == "/" else sent)


@pytest.fixture(scope="module")
def server():
    recorded = Bucket("pinterest")
    yield recorded
    recorded.stop()


@pytest.fixture
def network(server, settings) -> Bucket:
    server.reset()
    settings.NETWORK_URL_OVERRIDES = {"pinterest": server.url}
    settings.NETWORK_APPS = {"pinterest": {"client_id": "1484362", "client_secret": "pin-s3"}}
    server.play("publish")
    return server


def connector(**credentials: Any) -> tuple[PinterestConnector, list[dict[str, Any]]]:
    stored: list[dict[str, Any]] = []
    values = {
        "access_token": TOKEN,
        "refresh_token": REFRESH,
        "expires_at": time.time() + 86400 * 20,
        "board_id": BOARD,
        "username": "crumbbakery",
        **credentials,
    }
    made = PinterestConnector(values, stored.append, media_timeout=2.0, poll_interval=0.01)
    return made, stored


def image(tmp_path, name: str = "loaf.png", alt: str = "A sourdough loaf") -> MediaFile:
    path = tmp_path / name
    Image.new("RGB", (60, 80), "tan").save(path, "PNG")
    return MediaFile(path, "image/png", alt)


def body_of(sent: Sent) -> dict[str, Any]:
    return json.loads(sent.body)


def test_an_image_pin_is_sent_inline_with_its_alt_text_link_and_marker(network, tmp_path):
    made, _ = connector()
    picture = image(tmp_path)

    published = made.publish(
        DeliveryContent(
            "Fresh sourdough at 7",
            media=[picture],
            link=LinkCard("https://crumb.example/sourdough", "Our sourdough"),
        ),
        KEY,
    )

    assert published.remote_id == PIN
    assert published.remote_url == f"https://www.pinterest.com/pin/{PIN}/"
    [pin] = network.requests_to("POST", "/v5/pins")
    assert pin.headers["Authorization"] == f"Bearer {TOKEN}"
    assert body_of(pin) == {
        "board_id": BOARD,
        "description": "Fresh sourdough at 7",
        "note": f"socialdesk:{KEY}",
        "media_source": {
            "source_type": "image_base64",
            "content_type": "image/png",
            "data": base64.b64encode(picture.path.read_bytes()).decode(),
        },
        "alt_text": "A sourdough loaf",
        "link": "https://crumb.example/sourdough",
        "title": "Our sourdough",
    }
    # Asked the board first (no idempotency key on Pinterest).
    assert network.requests_to("GET", f"/v5/boards/{BOARD}/pins")


def test_several_images_make_a_carousel_pin(network, tmp_path):
    made, _ = connector()
    first, second = image(tmp_path, "a.png"), image(tmp_path, "b.png")

    made.publish(DeliveryContent("Two loaves", media=[first, second]), KEY)

    [pin] = network.requests_to("POST", "/v5/pins")
    source = body_of(pin)["media_source"]
    assert source["source_type"] == "multiple_image_base64"
    assert [item["content_type"] for item in source["items"]] == ["image/png", "image/png"]
    assert base64.b64decode(source["items"][1]["data"]) == second.path.read_bytes()


def clip(tmp_path) -> MediaFile:
    path = tmp_path / "scoring.mp4"
    path.write_bytes(b"\x00\x00\x00\x18ftypmp42" + bytes(4000))
    return MediaFile(path, "video/mp4", "Scoring a loaf")


def test_a_video_is_registered_uploaded_to_the_bucket_waited_for_then_pinned(network, tmp_path):
    network.play("video")
    made, _ = connector()
    video = clip(tmp_path)

    published = made.publish(DeliveryContent("How we score", media=[video]), KEY)

    assert published.remote_id == PIN
    [register] = network.requests_to("POST", "/v5/media")
    assert body_of(register) == {"media_type": "video"}
    [upload] = [s for s in network.sent if s.path == "/"]
    assert "Authorization" not in upload.headers  # no Pinterest token to the bucket
    assert (
        b'name="key"' in upload.body and b"uploads/13/a8/b2/5097869512718371744.mp4" in upload.body
    )
    assert b'name="x-amz-signature"' in upload.body
    assert video.path.read_bytes() in upload.body
    assert len(network.requests_to("GET", "/v5/media/5097869512718371744")) == 3
    [pin] = network.requests_to("POST", "/v5/pins")
    assert body_of(pin)["media_source"] == {
        "source_type": "video_id",
        "media_id": "5097869512718371744",
        "cover_image_key_frame_time": 0,
    }


def test_a_video_pinterest_cannot_process_fails_for_good_and_nothing_is_pinned(network, tmp_path):
    network.play("video", "video_failed")
    made, _ = connector()

    with pytest.raises(ConnectorError) as caught:
        made.publish(DeliveryContent("How we score", media=[clip(tmp_path)]), KEY)

    assert caught.value.permanent
    assert "Pinterest could not process scoring.mp4" in caught.value.message
    assert not network.requests_to("POST", "/v5/pins")


def test_validate_says_what_breaks_pinterests_rules(tmp_path):
    made, _ = connector()

    problems = made.validate(
        DeliveryContent(
            "x" * 501,
            thread=("more",),
            first_comment="Order now",
            link=LinkCard("https://crumb.example/", "t" * 101),
        )
    )

    said = " | ".join(str(p) for p in problems)
    assert "Pinterest takes up to 500. Shorten it by 1" in said
    assert "Pinterest's API cannot comment: remove the first comment" in said
    assert "A pin needs an image or a video: add one" in said
    assert "takes up to 100 characters" in said
    six = [image(tmp_path, f"{n}.png") for n in range(6)]
    assert "up to 5 images; remove 1" in str(made.validate(DeliveryContent("x", media=six)))
    mixed = [image(tmp_path), clip(tmp_path)]
    assert "one video and nothing else" in str(made.validate(DeliveryContent("x", media=mixed)))
    gif = tmp_path / "a.gif"
    gif.write_bytes(b"GIF89a")
    assert "a.gif is image/gif" in str(pinterest.media_problems(MediaFile(gif, "image/gif")))
    assert made.validate(DeliveryContent("Sourdough", media=[image(tmp_path)])) == []


def test_a_media_file_gone_from_disk_fails_for_good_without_its_path(network, tmp_path):
    made, _ = connector()
    gone = MediaFile(tmp_path / "gone.png", "image/png")

    with pytest.raises(ConnectorError) as caught:
        made.publish(DeliveryContent("Sourdough", media=[gone]), KEY)

    assert caught.value.permanent
    assert caught.value.message == "gone.png cannot be read."
    assert not network.requests_to("POST", "/v5/pins")


def test_a_first_comment_is_refused_before_anything_is_sent(network, tmp_path):
    made, _ = connector()

    with pytest.raises(ConnectorError) as caught:
        made.publish(DeliveryContent("x", media=[image(tmp_path)], first_comment="Hi"), KEY)

    assert caught.value.permanent and "cannot comment" in caught.value.message
    assert network.sent == []


@pytest.mark.parametrize(
    ("trigger", "permanent", "revoked", "limited"),
    [
        ("too-big-image", True, False, False),
        ("revoked", True, True, False),
        ("limited", False, False, True),
        ("busy", False, False, False),
    ],
)
def test_pinterests_refusals_become_engine_decisions(
    network, tmp_path, trigger, permanent, revoked, limited
):
    network.play("errors")
    made, _ = connector()

    with pytest.raises(ConnectorError) as caught:
        made.publish(DeliveryContent(trigger, media=[image(tmp_path)]), KEY)

    error = caught.value
    assert (error.permanent, error.auth_revoked, error.rate_limited) == (
        permanent,
        revoked,
        limited,
    )
    if trigger == "too-big-image":
        assert "Images must be 20MB or smaller. (code 1)" in error.message
    if trigger == "limited":
        wait = error.retry_after - datetime.now(UTC)
        assert timedelta(seconds=35) < wait <= timedelta(seconds=42)
    assert TOKEN not in error.message


def test_a_429_whose_reset_is_already_past_is_still_rate_limited(network, tmp_path):
    network.play("errors")
    made, _ = connector()

    with pytest.raises(ConnectorError) as caught:
        made.publish(DeliveryContent("limited-past", media=[image(tmp_path)]), KEY)

    assert caught.value.rate_limited
    assert caught.value.retry_after == datetime(2026, 12, 7, tzinfo=UTC)


def test_a_lost_answer_after_the_pin_is_unknown_and_reconciling_finds_it_by_its_note(
    network, tmp_path
):
    network.answer("POST", "/v5/pins", {"status": 201, "delay": 1.0, "body": {"id": PIN}})
    made, _ = connector()
    made.timeout = 0.3
    content = DeliveryContent("Fresh sourdough at 7", media=[image(tmp_path)])

    with pytest.raises(OutcomeUnknown):
        made.publish(content, KEY)

    network.answer(
        "GET",
        f"/v5/boards/{BOARD}/pins",
        {
            "status": 200,
            "body": {
                "items": [
                    {"id": PIN, "description": "Fresh sourdough at 7", "note": f"socialdesk:{KEY}"},
                    {"id": "813744226420795884", "description": "Rye", "note": ""},
                ],
                "bookmark": None,
            },
        },
    )
    found = made.find_published(KEY, content)
    assert found is not None and found.remote_id == PIN
    # Another delivery with the same text is not this one (its note names another key).
    assert made.find_published("socialdesk-delivery-53", content) is None
    # A retry finds it too, and pins nothing.
    assert made.publish(content, KEY).remote_id == PIN
    assert len(network.requests_to("POST", "/v5/pins")) == 1


def test_a_pin_made_elsewhere_with_the_same_description_is_found(network):
    made, _ = connector()

    found = made.find_published(KEY, DeliveryContent("Rye,  48 hours of patience"))

    assert found is not None and found.remote_id == "813744226420795884"


def test_a_token_about_to_expire_is_refreshed_with_basic_auth_and_stored(network):
    network.play("refresh")
    made, stored = connector(expires_at=time.time() + 30)

    info = made.check_connection()

    assert info.handle == "crumbbakery/Breads"
    [fresh] = stored
    assert fresh["access_token"] == "pina_REFRESHEDAQAGCAD2D2ZVM5JPEQBQBIQCGQJXVD7GBD"
    assert fresh["refresh_token"] == REFRESH  # Pinterest sent none: the old one is kept
    [refresh] = network.requests_to("POST", "/v5/oauth/token")
    expected = base64.b64encode(b"1484362:pin-s3").decode()
    assert refresh.headers["Authorization"] == f"Basic {expected}"
    assert "client_secret" not in refresh.form


def test_a_refused_refresh_stores_nothing(network):
    network.play("refresh")
    made, stored = connector(expires_at=time.time() + 30, refresh_token="pinr_old")

    with pytest.raises(ConnectorError) as caught:
        made.check_connection()

    assert caught.value.auth_revoked and stored == []


def test_delete_and_a_pin_already_gone(network):
    made, _ = connector()

    made.delete(PIN)
    network.answer(
        "DELETE",
        f"/v5/pins/{PIN}",
        {"status": 404, "body": {"code": 50, "message": "Pin not found."}},
    )
    made.delete(PIN)

    assert len(network.requests_to("DELETE", f"/v5/pins/{PIN}")) == 2


def test_metrics_map_pin_analytics_and_followers(network):
    network.play("metrics")
    made, _ = connector()

    found = made.fetch_metrics([PIN, "813744226420795800"])

    assert found == {PIN: pinterest.Metrics(views=1400, reposts=32, clicks=69)}
    [read] = network.requests_to("GET", f"/v5/pins/{PIN}/analytics")
    assert read.query["metric_types"] == ["IMPRESSION,SAVE,PIN_CLICK,OUTBOUND_CLICK"]
    start = datetime.fromisoformat(read.query["start_date"][0]).date()
    end = datetime.fromisoformat(read.query["end_date"][0]).date()
    assert (end - start).days == 89
    assert made.fetch_followers() == 1287


def test_each_public_board_is_an_account(network):
    network.play("oauth")

    found = pinterest.accounts({"access_token": TOKEN, "refresh_token": REFRESH})

    assert [(a.info.remote_account_id, a.info.handle) for a in found] == [
        ("549755885175", "crumbbakery/Breads"),
        ("549755885176", "crumbbakery/Cakes"),
    ]
    assert found[1].credentials["board_id"] == "549755885176"
    assert pinterest.build({"access_token": TOKEN}, lambda fresh: None) is None
