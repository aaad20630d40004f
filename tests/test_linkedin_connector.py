"""The LinkedIn connector against recorded exchanges served over real HTTP.

LinkedIn cannot run here: ``tests/recordings/linkedin/`` holds exchanges written by hand from
LinkedIn's reference (see the README there), served by ``RecordedNetwork`` to the real
connector code over real HTTP on 127.0.0.1.

Crumb Bakery is the page (``urn:li:organization:2414183``); its administrator connected it.
"""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from PIL import Image

from socialdesk.networks import linkedin
from socialdesk.networks.base import (
    ConnectorError,
    DeliveryContent,
    LinkCard,
    MediaFile,
)
from socialdesk.networks.http import OutcomeUnknown
from socialdesk.networks.linkedin import LinkedInConnector, little_text, plain_text
from tests.recorded import RecordedNetwork, Sent

pytestmark = pytest.mark.any_database

ORG = "urn:li:organization:2414183"
SHARE = "urn:li:share:7312345678901234567"
TOKEN = "AQUvlL_DYEzvT2wz1QJiEPeLioeA"
REFRESH = "AQWAft_WjYZKwuWXLC5hQlghgTam"
KEY = "socialdesk-delivery-41"
TEXT = "Fresh sourdough at 7 #bakery (today only)"
COMMENTS = f"/rest/socialActions/{linkedin.urn_path(SHARE)}/comments"


class Recorded(RecordedNetwork):
    """``RecordedNetwork``, and a response may carry ``"delay"``: seconds before answering
    (a lost answer after a write)."""

    def next_response(self, sent: Sent) -> dict[str, Any]:
        response = super().next_response(sent)
        if response.get("delay"):
            time.sleep(float(response["delay"]))
        return response


@pytest.fixture(scope="module")
def server():
    recorded = Recorded("linkedin")
    yield recorded
    recorded.stop()


@pytest.fixture
def network(server, settings) -> Recorded:
    server.reset()
    settings.NETWORK_URL_OVERRIDES = {"linkedin": server.url}
    settings.NETWORK_APPS = {"linkedin": {"client_id": "78xe1zgd7p1q2f", "client_secret": "s3"}}
    server.play("publish")
    return server


def connector(**credentials: Any) -> tuple[LinkedInConnector, list[dict[str, Any]]]:
    stored: list[dict[str, Any]] = []
    values = {
        "access_token": TOKEN,
        "refresh_token": REFRESH,
        "expires_at": time.time() + 86400 * 30,
        "organization_urn": ORG,
        **credentials,
    }
    made = LinkedInConnector(values, stored.append, media_timeout=2.0, poll_interval=0.01)
    return made, stored


def image(tmp_path, name: str = "loaf.jpg", alt: str = "A sourdough loaf") -> MediaFile:
    path = tmp_path / name
    Image.new("RGB", (40, 30), "tan").save(path, "JPEG")
    return MediaFile(path, "image/jpeg", alt)


def body_of(sent: Sent) -> dict[str, Any]:
    return json.loads(sent.body)


# -- publishing ------------------------------------------------------------------------------


def test_an_image_post_with_alt_text_and_a_first_comment_as_the_page(network, tmp_path):
    made, _ = connector()
    picture = image(tmp_path)

    published = made.publish(
        DeliveryContent(TEXT, media=[picture], first_comment="Order by 6 pm for tomorrow."), KEY
    )

    assert published.remote_id == SHARE
    assert published.remote_url == f"https://www.linkedin.com/feed/update/{SHARE}/"
    [init] = network.requests_to("POST", "/rest/images")
    assert body_of(init) == {"initializeUploadRequest": {"owner": ORG}}
    assert init.headers["LinkedIn-Version"] == linkedin.VERSION
    assert init.headers["X-Restli-Protocol-Version"] == "2.0.0"
    assert init.headers["Authorization"] == f"Bearer {TOKEN}"
    [upload] = network.requests_to("PUT", "/dms-uploads/C4E10AQFoyyAjHPMQuQ/uploaded-image/0")
    assert upload.body == picture.path.read_bytes()
    [post] = network.requests_to("POST", "/rest/posts")
    sent = body_of(post)
    assert sent["author"] == ORG
    assert sent["commentary"] == r"Fresh sourdough at 7 {hashtag|\#|bakery} \(today only\)"
    assert sent["visibility"] == "PUBLIC"
    assert sent["lifecycleState"] == "PUBLISHED"
    assert sent["distribution"]["feedDistribution"] == "MAIN_FEED"
    assert sent["content"] == {
        "media": {"id": "urn:li:image:C4E10AQFoyyAjHPMQuQ", "altText": "A sourdough loaf"}
    }
    [comment] = network.requests_to("POST", COMMENTS)
    assert body_of(comment) == {
        "actor": ORG,
        "object": SHARE,
        "message": {"text": "Order by 6 pm for tomorrow."},
    }
    # Asked first whether the page already had it (no idempotency key on LinkedIn).
    assert network.requests_to("GET", "/rest/posts")[0].query["author"] == [ORG]


def test_several_images_make_one_multi_image_post(network, tmp_path):
    made, _ = connector()
    first, second = image(tmp_path, "a.jpg", "Rye"), image(tmp_path, "b.jpg", "Spelt")

    made.publish(DeliveryContent("Two loaves", media=[first, second]), KEY)

    [post] = network.requests_to("POST", "/rest/posts")
    assert body_of(post)["content"] == {
        "multiImage": {
            "images": [
                {"id": "urn:li:image:C4E10AQFoyyAjHPMQuQ", "altText": "Rye"},
                {"id": "urn:li:image:C4E10AQGE5rNw6WsRcA", "altText": "Spelt"},
            ]
        }
    }


def test_a_pdf_is_a_document_post_titled_by_its_file(network, tmp_path):
    made, _ = connector()
    path = tmp_path / "winter-menu.pdf"
    path.write_bytes(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n")

    made.publish(
        DeliveryContent("Our winter menu", media=[MediaFile(path, "application/pdf")]), KEY
    )

    [init] = network.requests_to("POST", "/rest/documents")
    assert init.query["action"] == ["initializeUpload"]
    [upload] = network.requests_to("PUT", "/dms-uploads/D5510AQHx5z9Vb6t_Zw/document-upload/0")
    assert upload.body == path.read_bytes()
    [post] = network.requests_to("POST", "/rest/posts")
    assert body_of(post)["content"] == {
        "media": {"id": "urn:li:document:D5510AQHx5z9Vb6t_Zw", "title": "winter-menu"}
    }


def test_a_link_card_is_an_article(network):
    made, _ = connector()

    made.publish(
        DeliveryContent(
            "Read about our flour",
            link=LinkCard("https://crumb.example/flour", "Our flour", "Stone-milled"),
        ),
        KEY,
    )

    [post] = network.requests_to("POST", "/rest/posts")
    assert body_of(post)["content"] == {
        "article": {
            "source": "https://crumb.example/flour",
            "title": "Our flour",
            "description": "Stone-milled",
        }
    }


def video(tmp_path) -> MediaFile:
    path = tmp_path / "shaping.mp4"
    path.write_bytes(bytes(range(256)) * 17579 + b"tail")  # 4,500,228 bytes
    return MediaFile(path, "video/mp4")


def test_a_video_goes_in_the_parts_linkedin_asks_for_and_is_waited_for(network, tmp_path):
    network.play("video")
    made, _ = connector()
    clip = video(tmp_path)

    published = made.publish(DeliveryContent("How we shape a loaf", media=[clip]), KEY)

    assert published.remote_id == SHARE
    [init, finalize] = network.requests_to("POST", "/rest/videos")
    assert body_of(init)["initializeUploadRequest"]["fileSizeBytes"] == clip.size
    data = clip.path.read_bytes()
    [part0] = network.requests_to("PUT", "/dms-uploads/C5505AQH-oV1qvnFtKA/uploadedVideo/0")
    [part1] = network.requests_to("PUT", "/dms-uploads/C5505AQH-oV1qvnFtKA/uploadedVideo/1")
    assert part0.body == data[: 4194303 + 1]
    assert part1.body == data[4194304 : 4500000 + 1]
    assert body_of(finalize)["finalizeUploadRequest"] == {
        "video": "urn:li:video:C5505AQH-oV1qvnFtKA",
        "uploadToken": "",
        "uploadedPartIds": [
            "/ambry-video/signedId/AQHj4cbVwOXZvAAAAXm-ODdPcbmUNAWMeBXbOh-OxGq-4dYQT3C1bWaEHXlG",
            "/ambry-video/signedId/AQEYzTwyHY4s8AAAAXm-ODgXsEN6RrzxaNYmSRZcPzOkDQ6z0tWg6HoGY70o",
        ],
    }
    # Waited through WAITING_UPLOAD and PROCESSING until AVAILABLE, then posted.
    assert (
        len(network.requests_to("GET", "/rest/videos/urn%3Ali%3Avideo%3AC5505AQH-oV1qvnFtKA")) == 3
    )
    [post] = network.requests_to("POST", "/rest/posts")
    assert body_of(post)["content"]["media"]["id"] == "urn:li:video:C5505AQH-oV1qvnFtKA"


def test_a_video_linkedin_cannot_process_fails_for_good_and_nothing_is_posted(network, tmp_path):
    network.play("video", "video_failed")
    made, _ = connector()

    with pytest.raises(ConnectorError) as caught:
        made.publish(DeliveryContent("How we shape a loaf", media=[video(tmp_path)]), KEY)

    assert caught.value.permanent
    assert "could not process shaping.mp4 (Video format is not supported)" in caught.value.message
    assert not network.requests_to("POST", "/rest/posts")


def test_a_video_still_processing_after_the_wait_is_tried_again(network, tmp_path):
    network.play("video")
    network.answer(
        "GET",
        "/rest/videos/urn%3Ali%3Avideo%3AC5505AQH-oV1qvnFtKA",
        {"status": 200, "body": {"status": "PROCESSING"}},
    )
    made, _ = connector()
    made.media_timeout = 0.05

    with pytest.raises(ConnectorError) as caught:
        made.publish(DeliveryContent("How we shape a loaf", media=[video(tmp_path)]), KEY)

    assert not caught.value.permanent
    assert "still processing" in caught.value.message


# -- the little text format ------------------------------------------------------------------


def test_little_text_escapes_reserved_characters_and_makes_hashtags():
    text = "Croissants (butter) @ 2€ *today* [new] <3 #viennoiserie ~ a_b | c {d} \\ e #1"

    escaped = little_text(text)

    assert escaped == (
        r"Croissants \(butter\) \@ 2€ \*today\* \[new\] \<3 {hashtag|\#|viennoiserie} \~ "
        r"a\_b \| c \{d\} \\ e {hashtag|\#|1}"
    )
    assert plain_text(escaped) == text


# -- validation ------------------------------------------------------------------------------


def test_validate_says_what_breaks_linkedins_rules(tmp_path):
    made, _ = connector()
    pdf = tmp_path / "menu.pdf"
    pdf.write_bytes(b"%PDF-1.7")
    gif = tmp_path / "x.webp"
    gif.write_bytes(b"RIFF")

    problems = made.validate(
        DeliveryContent(
            "x" * 3001,
            media=[
                image(tmp_path),
                MediaFile(pdf, "application/pdf"),
                MediaFile(gif, "image/webp"),
            ],
            thread=("more",),
            first_comment="y" * 1251,
        )
    )

    said = " | ".join(str(p) for p in problems)
    assert "LinkedIn takes up to 3000. Shorten it by 1" in said
    assert "LinkedIn has no threads" in said
    assert "first_comment: A LinkedIn comment takes up to 1250 characters" in said
    assert "x.webp is image/webp; LinkedIn takes JPEG, PNG or GIF images" in said
    assert "images, or one video, or one document: not a mix" in said
    assert made.validate(DeliveryContent(TEXT, media=[image(tmp_path)])) == []
    many = [image(tmp_path, f"{n}.jpg") for n in range(21)]
    assert "up to 20 images; remove 1" in str(made.validate(DeliveryContent("x", media=many)))


# -- failures --------------------------------------------------------------------------------


def test_content_linkedin_refuses_fails_for_good_with_its_words(network):
    network.play("rejected_422")
    made, _ = connector()

    with pytest.raises(ConnectorError) as caught:
        made.publish(DeliveryContent(TEXT), KEY)

    assert caught.value.permanent and not caught.value.auth_revoked
    assert "length of commentary exceeds the maximum of 3000 (code 100)" in caught.value.message


def test_a_revoked_token_asks_for_reconnection(network):
    network.play("revoked_401")
    made, _ = connector()

    with pytest.raises(ConnectorError) as caught:
        made.publish(DeliveryContent(TEXT), KEY)

    assert caught.value.auth_revoked
    assert "revoked by the user" in caught.value.message
    assert TOKEN not in caught.value.message


def test_a_429_without_a_reset_header_waits_until_midnight_utc(network):
    network.play("rate_limited_429")
    made, _ = connector()

    with pytest.raises(ConnectorError) as caught:
        made.publish(DeliveryContent(TEXT), KEY)

    error = caught.value
    assert error.rate_limited and not error.permanent
    tomorrow = (datetime.now(UTC) + timedelta(days=1)).date()
    assert error.retry_after == datetime(tomorrow.year, tomorrow.month, tomorrow.day, tzinfo=UTC)


def test_a_429_with_retry_after_already_past_still_says_rate_limited(network):
    network.answer(
        "POST",
        "/rest/posts",
        {"status": 429, "headers": {"Retry-After": "Mon, 07 Dec 2026 00:00:00 GMT"}, "body": {}},
    )
    made, _ = connector()

    with pytest.raises(ConnectorError) as caught:
        made.publish(DeliveryContent(TEXT), KEY)

    assert caught.value.rate_limited
    assert caught.value.retry_after == datetime(2026, 12, 7, tzinfo=UTC)


def test_a_server_error_is_tried_again(network):
    network.play("server_error_503")
    made, _ = connector()

    with pytest.raises(ConnectorError) as caught:
        made.publish(DeliveryContent(TEXT), KEY)

    assert not caught.value.permanent and not caught.value.rate_limited


def test_a_lost_answer_after_the_post_is_unknown_and_reconciling_finds_the_post(network):
    network.answer("POST", "/rest/posts", {"status": 201, "delay": 1.0, "body": ""})
    made, _ = connector()
    made.timeout = 0.3

    with pytest.raises(OutcomeUnknown):
        made.publish(DeliveryContent(TEXT), KEY)

    network.play("recent_posts")
    found = made.find_published(KEY, DeliveryContent(TEXT))
    assert found is not None and found.remote_id == SHARE
    # An old post with the same text (outside the window) or another text is not ours.
    assert made.find_published(KEY, DeliveryContent("Christmas stollen is back")) is None
    assert made.find_published(KEY, DeliveryContent("Something else")) is None


def test_a_retry_after_the_first_comment_failed_only_adds_the_comment(network):
    network.play("recent_posts")
    network.answer(
        "GET", COMMENTS, {"status": 200, "body": {"elements": [], "paging": {"count": 100}}}
    )
    made, _ = connector()

    published = made.publish(DeliveryContent(TEXT, first_comment="Order by 6 pm."), KEY)

    assert published.remote_id == SHARE
    assert not network.requests_to("POST", "/rest/posts")
    [comment] = network.requests_to("POST", COMMENTS)
    assert body_of(comment)["message"] == {"text": "Order by 6 pm."}


# -- tokens ----------------------------------------------------------------------------------


def test_a_token_about_to_expire_is_refreshed_and_stored_before_the_call(network):
    network.play("refresh")
    made, stored = connector(expires_at=time.time() + 60)

    made.check_connection()

    [fresh] = stored
    assert fresh["access_token"] == "AQXNnd2kXITHELmWblJigbHEuoFdfRhOwGA0QNnumBI8Xk"
    assert fresh["refresh_token"] == REFRESH
    assert fresh["expires_at"] > time.time() + 5_000_000
    assert fresh["organization_urn"] == ORG
    [refresh] = network.requests_to("POST", "/oauth/v2/accessToken")
    assert refresh.form["client_id"] == ["78xe1zgd7p1q2f"]
    [read] = network.requests_to("GET", "/rest/organizations/2414183")
    assert read.headers["Authorization"] == f"Bearer {fresh['access_token']}"


def test_a_refused_refresh_stores_nothing_and_asks_for_reconnection(network):
    network.play("refresh")
    made, stored = connector(expires_at=time.time() + 60, refresh_token="expired-refresh")

    with pytest.raises(ConnectorError) as caught:
        made.check_connection()

    assert caught.value.auth_revoked
    assert stored == []
    assert not network.requests_to("GET", "/rest/organizations/2414183")


# -- deleting, connecting --------------------------------------------------------------------


def test_delete_removes_the_post_and_a_post_already_gone_is_fine(network):
    made, _ = connector()

    made.delete(SHARE)
    network.answer(
        "DELETE",
        f"/rest/posts/{linkedin.urn_path(SHARE)}",
        {"status": 404, "body": {"message": "Not found", "status": 404}},
    )
    made.delete(SHARE)

    assert len(network.requests_to("DELETE", f"/rest/posts/{linkedin.urn_path(SHARE)}")) == 2


def test_the_pages_a_login_administers_are_the_accounts(network):
    network.play("oauth")

    found = linkedin.accounts({"access_token": TOKEN, "refresh_token": REFRESH, "expires_at": 1.0})

    assert [(a.info.remote_account_id, a.info.handle, a.info.display_name) for a in found] == [
        (ORG, "crumb-bakery", "Crumb Bakery"),
        ("urn:li:organization:5515715", "crumb-catering", "Crumb Catering"),
    ]
    assert found[1].credentials["organization_urn"] == "urn:li:organization:5515715"
    assert found[0].credentials["refresh_token"] == REFRESH
    assert made_build_needs_credentials()


def made_build_needs_credentials() -> bool:
    return linkedin.build({}, lambda fresh: None) is None and isinstance(
        linkedin.build({"access_token": "t", "organization_urn": ORG}, lambda fresh: None),
        LinkedInConnector,
    )


# -- inbox and metrics -----------------------------------------------------------------------


def test_the_inbox_reads_comments_on_recent_posts_but_not_the_pages_own(network):
    network.play("recent_posts")
    made, _ = connector()

    page = made.fetch_inbox("", datetime.now(UTC) - timedelta(days=7))

    assert [item.text for item in page.items] == [
        "Do you have a gluten-free one?",
        "See you at 7!",
    ]
    first = page.items[0]
    assert first.kind == "comment"
    assert first.our_post_remote_id == SHARE
    assert first.author.remote_id == "urn:li:person:A1b2C3d4"
    assert first.thread_key == f"{SHARE}|urn:li:person:A1b2C3d4"
    assert first.reference["comment_urn"].endswith("7312345700000000001)")
    assert first.reference["parent_comment"] == ""
    assert first.sent_at.tzinfo is not None
    assert page.spent == {"reads": 4}
    # Read again from the cursor: nothing new.
    assert made.fetch_inbox(page.cursor, datetime.now(UTC) - timedelta(days=7)).items == []


def test_a_reply_is_a_comment_of_the_page_under_the_comment(network):
    network.play("recent_posts")
    made, _ = connector()
    parent = "urn:li:comment:(urn:li:activity:7312345678901234000,7312345700000000003)"

    published = made.publish(
        DeliveryContent(
            "See you!", action="reply", target={"object": SHARE, "comment_urn": parent}
        ),
        KEY,
    )

    assert published.remote_id.endswith("7312345700000000004)")
    [reply] = network.requests_to(
        "POST", f"/rest/socialActions/{linkedin.urn_path(parent)}/comments"
    )
    assert body_of(reply) == {
        "actor": ORG,
        "object": SHARE,
        "message": {"text": "See you!"},
        "parentComment": parent,
    }


def test_a_reply_to_a_reply_goes_under_the_top_level_comment(network):
    network.play("recent_posts")
    made, _ = connector()
    top = "urn:li:comment:(urn:li:activity:7312345678901234000,7312345700000000003)"
    answer = "urn:li:comment:(urn:li:activity:7312345678901234000,7312345700000000009)"
    target = {"object": SHARE, "comment_urn": answer, "parent_comment": top}

    made.publish(DeliveryContent("Of course!", action="reply", target=target), KEY)

    [reply] = network.requests_to("POST", f"/rest/socialActions/{linkedin.urn_path(top)}/comments")
    assert body_of(reply)["parentComment"] == top


def test_metrics_map_share_statistics_and_followers(network):
    network.play("metrics")
    made, _ = connector()

    found = made.fetch_metrics(
        [SHARE, "urn:li:share:7200000000000000009", "urn:li:ugcPost:7300000000000000001"]
    )

    assert found[SHARE].views == 623
    assert found[SHARE].clicks == 17
    assert found[SHARE].likes == 24
    assert found[SHARE].replies == 5
    assert found[SHARE].reposts == 3
    assert found[SHARE].quotes is None
    assert found["urn:li:ugcPost:7300000000000000001"].views == 130
    assert "urn:li:share:7200000000000000009" not in found  # LinkedIn left it out
    assert made.fetch_followers() == 1834
