"""The Google Business Profile connector against recorded exchanges served over real HTTP.

No Google server runs here: ``tests/recordings/google_business/`` was written by hand from
Google's Business Profile API reference (see the README there), and ``RecordedNetwork`` serves
it on 127.0.0.1 to the real connector, which makes real requests. Crumb & Co is a bakery with
a branch in Lisboa (the connected location) and one in Porto.
"""

from __future__ import annotations

import json
import os
import time
from datetime import UTC, date, datetime, timedelta
from email.utils import format_datetime

import pytest
from PIL import Image

from socialdesk.networks import google, google_business
from socialdesk.networks.base import ConnectorError, DeliveryContent, MediaFile
from socialdesk.networks.google_business import GoogleBusinessConnector, GoogleBusinessContent
from socialdesk.networks.http import OutcomeUnknown
from tests.recorded import RecordedNetwork

pytestmark = pytest.mark.any_database

LOC = "accounts/1075402936/locations/9281089117903930794"
POSTS = f"/v4/{LOC}/localPosts"
POST_NAME = f"{LOC}/localPosts/1836450792013847112"
TEXT = "Fresh sourdough every morning from 7. Order ahead: https://crumb.example/order"
KEY = "socialdesk-delivery-41"


@pytest.fixture(scope="module")
def server():
    recorded = RecordedNetwork("google_business")
    yield recorded
    recorded.stop()


@pytest.fixture
def gbp(server, settings, tmp_path) -> RecordedNetwork:
    server.reset()
    settings.NETWORK_URL_OVERRIDES = {"google_business": server.url}
    settings.NETWORK_APPS = {
        "google_business": {
            "client_id": "crumb-app.apps.googleusercontent.com",
            "client_secret": "s",
        }
    }
    settings.SITE_URL = "https://desk.crumb.example"
    settings.MEDIA_ROOT = tmp_path
    server.play("oauth")
    return server


@pytest.fixture
def stored() -> list[dict]:
    return []


def credentials(**changes) -> dict:
    values = {
        "access_token": "ya29.a0AfB_byC-bakery-access",
        "refresh_token": "1//0gBakeryRefreshToken",
        "expires_at": time.time() + 3600,
        "account_name": "accounts/1075402936",
        "location_id": "locations/9281089117903930794",
        "location_name": LOC,
        "title": "Crumb & Co Bakery",
    }
    return {**values, **changes}


def connector(stored: list[dict], **options) -> GoogleBusinessConnector:
    built = google_business.build(credentials(**options.pop("creds", {})), stored.append)
    assert built is not None
    if options:
        built = GoogleBusinessConnector(
            credentials(), stored.append, **{"poll_interval": 0.01, **options}
        )
    return built


def photo(tmp_path) -> MediaFile:
    path = tmp_path / "2026" / "loaf.jpg"
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.frombytes("RGB", (160, 160), os.urandom(160 * 160 * 3)).save(path, quality=95)
    return MediaFile(path, "image/jpeg", "A round sourdough loaf")


def body_of(server: RecordedNetwork, method: str, path: str, index: int = -1) -> dict:
    return json.loads(server.requests_to(method, path)[index].body)


def test_an_update_with_a_photo_is_one_local_post_with_its_button_and_public_photo(
    gbp, stored, tmp_path
):
    gbp.play("publish_photo")
    content = google_business.content_from({"text": TEXT, "media": [photo(tmp_path)]})

    published = connector(stored).publish(content, KEY)

    assert published.remote_id == POST_NAME
    assert published.remote_url.startswith("https://local.google.com/place?id=")
    sent = gbp.requests_to("POST", POSTS)[0]
    assert sent.headers["Authorization"] == "Bearer ya29.a0AfB_byC-bakery-access"
    assert json.loads(sent.body) == {
        "topicType": "STANDARD",
        "summary": TEXT,
        "callToAction": {"actionType": "LEARN_MORE", "url": "https://crumb.example/order"},
        "media": [
            {"mediaFormat": "PHOTO", "sourceUrl": "https://desk.crumb.example/media/2026/loaf.jpg"}
        ],
    }
    assert stored == []  # the token was fresh: nothing refreshed


def test_an_event_carries_its_title_schedule_and_booking_button(gbp, stored):
    gbp.play("publish_event")
    content = GoogleBusinessContent(
        text="Bread-baking class for kids, Saturday morning.",
        topic="EVENT",
        event_title="Little bakers",
        event_start=datetime(2026, 12, 19, 10, 0),
        event_end=datetime(2026, 12, 19, 12, 0),
        action_type="BOOK",
        action_url="https://crumb.example/class",
        language="en",
    )

    connector(stored).publish(content, KEY)

    body = body_of(gbp, "POST", POSTS)
    assert body["topicType"] == "EVENT"
    assert body["languageCode"] == "en"
    assert body["callToAction"] == {"actionType": "BOOK", "url": "https://crumb.example/class"}
    assert body["event"]["title"] == "Little bakers"
    assert body["event"]["schedule"]["startDate"] == {"year": 2026, "month": 12, "day": 19}
    assert body["event"]["schedule"]["endTime"]["hours"] == 12


def test_an_offer_sends_its_coupon_and_a_call_button_needs_no_address(gbp, stored):
    gbp.play("publish_event")
    gbp.play("publish_photo")
    content = GoogleBusinessContent(
        text="Two croissants for one, this week only.",
        topic="OFFER",
        event_title="Croissant week",
        event_start=datetime(2026, 12, 14, 7, 0),
        event_end=datetime(2026, 12, 20, 19, 0),
        coupon_code="CRUMB2X1",
        terms="One per customer.",
        action_type="CALL",
    )
    assert connector(stored).validate(content) == []

    connector(stored).publish(content, KEY)

    body = body_of(gbp, "POST", POSTS)
    assert body["offer"] == {"couponCode": "CRUMB2X1", "termsConditions": "One per customer."}
    assert body["callToAction"] == {"actionType": "CALL"}


def test_the_rules_say_what_to_fix_before_any_call(gbp, stored, tmp_path, settings):
    one = photo(tmp_path)
    elsewhere = MediaFile(tmp_path.parent / "outside.png", "image/png")
    gif = MediaFile(one.path, "image/gif")
    long = DeliveryContent(text="x" * 1501, media=[one, one], first_comment="hi")
    problems = {p.field: p.message for p in connector(stored).validate(long)}
    assert "1501 characters" in problems["text"] and "Remove 1" in problems["text"]
    assert "one photo" in problems["media"]
    assert "no comments" in problems["first_comment"]

    offer = GoogleBusinessContent(text="Offer", topic="OFFER", action_type="ORDER")
    messages = [str(p) for p in connector(stored).validate(offer)]
    assert "event: Give the offer a title." in messages
    assert "event: Give the offer a start and an end." in messages
    assert "button: The button needs an http(s) address." in messages

    assert "JPEG or PNG" in str(connector(stored).validate(DeliveryContent("a", media=[gif])))
    assert "not in the media library" in str(
        connector(stored).validate(DeliveryContent("a", media=[elsewhere]))
    )
    settings.SITE_URL = "http://127.0.0.1:8000"
    [problem] = connector(stored).validate(DeliveryContent("Loaf", media=[one]))
    assert "not a public https address" in problem.message

    with pytest.raises(ConnectorError) as refused:
        connector(stored).publish(long, KEY)
    assert refused.value.permanent
    assert gbp.sent == []


def test_googles_400_is_permanent_with_its_words(gbp, stored):
    gbp.play("rejected_400")
    with pytest.raises(ConnectorError) as failed:
        connector(stored).publish(DeliveryContent("Open today"), KEY)
    assert failed.value.permanent and not failed.value.auth_revoked
    assert "Request contains an invalid argument. (badRequest)" in failed.value.message


def test_a_post_still_processing_is_read_again_until_it_is_live(gbp, stored):
    gbp.play("publish_processing")
    published = connector(stored, poll_timeout=5).publish(DeliveryContent(TEXT), KEY)
    assert published.remote_id == POST_NAME
    assert len(gbp.requests_to("GET", f"/v4/{POST_NAME}")) == 2


def test_a_post_google_rejects_fails_for_good_with_a_clear_message(gbp, stored):
    gbp.play("publish_rejected")
    with pytest.raises(ConnectorError) as failed:
        connector(stored, poll_timeout=5).publish(DeliveryContent(TEXT), KEY)
    assert failed.value.permanent
    assert "Google rejected the post for its content policy" in failed.value.message


def test_an_expired_token_is_refreshed_once_stored_and_the_post_made(gbp, stored):
    gbp.play("token_expired_401")
    published = connector(stored).publish(DeliveryContent(TEXT), KEY)
    assert published.remote_id == POST_NAME
    [fresh] = stored
    assert fresh["access_token"] == "ya29.a0AfB_byC-refreshed"
    assert fresh["refresh_token"] == "1//0gBakeryRefreshToken"  # Google sent none: kept
    assert fresh["expires_at"] > time.time() + 3000
    [refresh] = gbp.requests_to("POST", "/token")
    assert refresh.form["grant_type"] == ["refresh_token"]
    assert refresh.form["client_id"] == ["crumb-app.apps.googleusercontent.com"]
    posts = gbp.requests_to("POST", POSTS)
    assert posts[-1].headers["Authorization"] == "Bearer ya29.a0AfB_byC-refreshed"


def test_a_token_about_to_expire_is_refreshed_before_the_call(gbp, stored):
    gbp.play("publish_photo")
    near = {"expires_at": time.time() + 60}
    connector(stored, creds=near).publish(DeliveryContent(TEXT), KEY)
    assert [s["access_token"] for s in stored] == ["ya29.a0AfB_byC-refreshed"]
    assert gbp.sent[0].path == "/token"


def test_a_refused_refresh_is_a_revoked_authorization_and_stores_nothing(gbp, stored):
    gbp.play("token_expired_401", "refresh_refused")
    with pytest.raises(ConnectorError) as failed:
        connector(stored).publish(DeliveryContent(TEXT), KEY)
    assert failed.value.auth_revoked and failed.value.permanent
    assert "Token has been expired or revoked." in failed.value.message
    assert stored == []
    assert len(gbp.requests_to("POST", POSTS)) == 1


def test_a_refresh_that_cannot_be_made_is_transient_and_stores_nothing(gbp, stored):
    gbp.answer("POST", "/token", {"status": 503, "body": "unavailable"})
    with pytest.raises(ConnectorError) as failed:
        connector(stored, creds={"expires_at": time.time() - 10}).publish(
            DeliveryContent(TEXT), KEY
        )
    assert not failed.value.permanent and not failed.value.auth_revoked
    assert stored == []


def test_429_waits_for_retry_after(gbp, stored):
    gbp.play("rate_limited_429")
    with pytest.raises(ConnectorError) as limited:
        connector(stored).publish(DeliveryContent(TEXT), KEY)
    error = limited.value
    assert error.rate_limited and not error.permanent
    wait = (error.retry_after - datetime.now(UTC)).total_seconds()
    assert 25 < wait <= 30


def test_429_whose_reset_is_already_past_is_still_rate_limited(gbp, stored):
    past = format_datetime(datetime.now(UTC) - timedelta(minutes=5), usegmt=True)
    gbp.answer(
        "POST",
        POSTS,
        {
            "status": 429,
            "headers": {"Retry-After": past},
            "body": {
                "error": {"code": 429, "message": "slow down", "status": "RESOURCE_EXHAUSTED"}
            },
        },
    )
    with pytest.raises(ConnectorError) as limited:
        connector(stored).publish(DeliveryContent(TEXT), KEY)
    assert limited.value.rate_limited
    assert limited.value.retry_after <= datetime.now(UTC)


def test_a_spent_daily_quota_waits_until_midnight_pacific(gbp, stored):
    gbp.play("quota_exceeded_403")
    with pytest.raises(ConnectorError) as limited:
        connector(stored).publish(DeliveryContent(TEXT), KEY)
    error = limited.value
    assert error.rate_limited and not error.permanent
    pacific = error.retry_after.astimezone(google.PACIFIC)
    assert (pacific.hour, pacific.minute) == (0, 0)
    assert timedelta(0) < error.retry_after - datetime.now(UTC) <= timedelta(hours=24)


def test_midnight_pacific_follows_daylight_saving():
    summer = google.next_pacific_midnight(datetime(2026, 7, 1, 12, 0, tzinfo=UTC))
    winter = google.next_pacific_midnight(datetime(2026, 12, 7, 12, 0, tzinfo=UTC))
    assert summer == datetime(2026, 7, 2, 7, 0, tzinfo=UTC)
    assert winter == datetime(2026, 12, 8, 8, 0, tzinfo=UTC)


def test_a_5xx_is_transient_and_the_retry_posts(gbp, stored):
    gbp.play("server_error_503")
    made = connector(stored)
    with pytest.raises(ConnectorError) as failed:
        made.publish(DeliveryContent(TEXT), KEY)
    assert not failed.value.permanent and not failed.value.rate_limited
    assert made.publish(DeliveryContent(TEXT), KEY).remote_id == POST_NAME


def test_a_timeout_after_the_post_is_unknown_and_reconciling_finds_it(gbp, stored):
    gbp.play("publish_photo", "local_posts")
    gbp.delay = 0.6
    with pytest.raises(OutcomeUnknown):
        connector(stored, timeout=0.3).publish(DeliveryContent(TEXT), KEY)
    gbp.delay = 0
    made = connector(stored)

    found = made.find_published(KEY, DeliveryContent(f"  {TEXT}\n"))
    assert found is not None and found.remote_id == POST_NAME
    # The older post with the same text (October) is outside the window; another text is
    # not ours.
    assert made.find_published(KEY, DeliveryContent("Closed on Monday.")) is None
    assert made.find_published(KEY, None) is None


def test_delete_removes_the_post_and_one_already_gone_is_fine(gbp, stored):
    gbp.play("delete")
    made = connector(stored)
    made.delete(POST_NAME)
    made.delete(f"{LOC}/localPosts/404")
    assert len(gbp.requests_to("DELETE", f"/v4/{POST_NAME}")) == 1


def test_reviews_come_into_the_inbox_oldest_first_with_their_stars(gbp, stored):
    gbp.play("reviews")
    made = connector(stored)
    since = datetime.now(UTC) - timedelta(days=14)

    page = made.fetch_inbox("", since)

    assert [i.remote_id for i in page.items] == ["AIe9_BGx3", "AIe9_BGx2", "AIe9_BGx1"]
    tom, anonymous, ana = page.items
    assert ana.kind == "comment" and ana.thread_key == "review AIe9_BGx1"
    assert ana.text == "★★★★★ (5/5) — The best pastel de nata outside Belém. Friendly staff!"
    assert ana.author.display_name == "Ana Lima"
    assert ana.reference["review_name"] == f"{LOC}/reviews/AIe9_BGx1"
    assert anonymous.text == "★★★★☆ (4/5)"
    assert anonymous.author.display_name == "A Google user"
    assert tom.reference["answered"] is True
    assert page.spent == {"requests": 1}
    query = gbp.requests_to("GET", f"/v4/{LOC}/reviews")[0].query
    assert query["orderBy"] == ["updateTime desc"] and query["pageSize"] == ["50"]

    # The recorded times are relative to each answer: the marks are set against now.
    hour_ago = (datetime.now(UTC) - timedelta(hours=1)).isoformat()
    after = made.fetch_inbox(hour_ago, since)
    assert [i.remote_id for i in after.items] == ["AIe9_BGx1"]
    assert after.cursor > hour_ago
    now = datetime.now(UTC).isoformat()
    assert made.fetch_inbox(now, since) == google_business.InboxPage([], now, {"requests": 1})
    recent = made.fetch_inbox("", datetime.now(UTC) - timedelta(hours=1))
    assert [i.remote_id for i in recent.items] == ["AIe9_BGx1"]


def test_a_review_is_answered_in_public_and_reconciling_finds_the_answer(gbp, stored):
    gbp.play("reviews")
    made = connector(stored)
    target = {"review_name": f"{LOC}/reviews/AIe9_BGx1", "review_id": "AIe9_BGx1"}
    reply = DeliveryContent("Obrigado, Ana! See you soon.", action="reply", target=target)

    published = made.publish(reply, "reply-7")

    assert published.remote_id == f"{LOC}/reviews/AIe9_BGx1/reply"
    assert body_of(gbp, "PUT", f"/v4/{LOC}/reviews/AIe9_BGx1/reply") == {
        "comment": "Obrigado, Ana! See you soon."
    }
    assert made.find_published("reply-7", reply) == published
    other = DeliveryContent("Thanks!", action="reply", target=target)
    assert made.find_published("reply-8", other) is None
    assert "cannot like" in str(made.validate(DeliveryContent("", action="like", target=target)))
    too_long = DeliveryContent("é" * 2049, action="reply", target=target)
    assert "4098 bytes" in str(made.validate(too_long))


def test_the_location_numbers_map_to_views_and_clicks(gbp, stored):
    gbp.play("performance")
    metrics = connector(stored).fetch_location_metrics(date(2026, 12, 1), date(2026, 12, 3))
    assert metrics.views == 12 + 9 + 30 + 41 + 22 + 88 + 102 + 95 + 140 + 133 + 151
    assert metrics.clicks == 7 + 5 + 3 + 2 + 11 + 9 + 14
    assert metrics.likes is None
    query = gbp.sent[-1].query
    assert "WEBSITE_CLICKS" in query["dailyMetrics"]
    assert query["dailyRange.start_date.day"] == ["1"]
    assert query["dailyRange.end_date.day"] == ["3"]
    assert GoogleBusinessConnector.measures is False
    assert "no numbers of their own" in GoogleBusinessConnector.metric_note


def test_one_login_lists_every_location_of_every_page(gbp):
    gbp.play("accounts")
    found = google_business.accounts(
        {"access_token": "ya29.a0AfB_byC-bakery-access", "refresh_token": "r", "expires_in": 3599}
    )
    assert [a.info.handle for a in found] == [
        "Crumb & Co Bakery (Lisboa)",
        "Crumb & Co Bakery (Porto)",
    ]
    lisboa = found[0]
    assert lisboa.info.remote_account_id == "locations/9281089117903930794"
    assert lisboa.credentials["location_name"] == LOC
    assert lisboa.credentials["refresh_token"] == "r"
    assert lisboa.credentials["expires_at"] > time.time() + 3000
    assert gbp.requests_to("GET", "/v1/accounts/1075402936/locations")[0].query["readMask"] == [
        "name,title,storefrontAddress"
    ]


def test_check_connection_names_the_location(gbp, stored):
    gbp.play("location")
    info = connector(stored).check_connection()
    assert info.handle == "Crumb & Co Bakery (Lisboa)"
    assert info.remote_account_id == "locations/9281089117903930794"


def test_a_posts_first_link_becomes_its_learn_more_button():
    content = google_business.content_from({"text": "New rye (recipe: https://crumb.example/rye)."})
    assert (content.action_type, content.action_url) == ("LEARN_MORE", "https://crumb.example/rye")
    plain = google_business.content_from({"text": "Open on Sunday."})
    assert plain.action_type == "" and plain.topic == "STANDARD"


def test_build_needs_a_refresh_token_and_a_location(stored):
    assert google_business.build({"access_token": "a", "location_name": LOC}, stored.append) is None
    assert google_business.build(credentials(), stored.append) is not None


def test_reviews_are_read_page_after_page_until_one_already_read(gbp, stored):
    def review(number: int, minutes: int) -> dict:
        when = (datetime.now(UTC) - timedelta(minutes=minutes)).isoformat()
        return {
            "name": f"{LOC}/reviews/R{number}",
            "reviewId": f"R{number}",
            "reviewer": {"displayName": f"Guest {number}"},
            "starRating": "THREE",
            "createTime": when,
            "updateTime": when,
        }

    path = f"/v4/{LOC}/reviews"
    gbp.answer(
        "GET",
        path,
        {"status": 200, "body": {"reviews": [review(3, 10), review(2, 20)], "nextPageToken": "p2"}},
    )
    gbp.answer(
        "GET",
        path,
        {
            "status": 200,
            "body": {"reviews": [review(1, 30), review(0, 300)], "nextPageToken": "p3"},
        },
        query={"pageToken": "p2"},
    )
    mark = (datetime.now(UTC) - timedelta(minutes=60)).isoformat()

    page = connector(stored).fetch_inbox(mark, datetime.now(UTC) - timedelta(days=7))

    assert [i.remote_id for i in page.items] == ["R1", "R2", "R3"]
    assert page.spent == {"requests": 2}  # page 3 is not read: page 2 reached the mark
    assert [s.query.get("pageToken") for s in gbp.requests_to("GET", path)] == [None, ["p2"]]


def test_googles_times_are_read_with_nine_digit_fractions():
    assert google.parse_time("2026-10-01T09:00:00.000000123Z") == datetime(
        2026, 10, 1, 9, 0, tzinfo=UTC
    )
    assert google.parse_time("2026-12-07T10:00:00Z") == datetime(2026, 12, 7, 10, tzinfo=UTC)
    assert google.parse_time("yesterday") is None and google.parse_time(None) is None
