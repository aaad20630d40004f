"""The X connector against X API v2 exchanges written by hand from docs.x.com
(``tests/recordings/x/``), served over real HTTP on 127.0.0.1 to the real connector code."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest

from socialdesk.networks import x
from socialdesk.networks.base import (
    ConnectorError,
    DeliveryContent,
    ItemKind,
    LinkCard,
    MediaFile,
)
from socialdesk.networks.http import OutcomeUnknown
from tests.recorded import RecordedNetwork

pytestmark = pytest.mark.any_database

USER = "2244994945"
MAIN, PART, COMMENT = "1445880548472328192", "1445880548472328193", "1445880548472328194"


@pytest.fixture(scope="module")
def server():
    recorded = RecordedNetwork("x")
    yield recorded
    recorded.stop()


@pytest.fixture
def network(server, settings):
    server.reset()
    settings.NETWORK_URL_OVERRIDES = {"x": server.url}
    settings.NETWORK_APPS = {"x": {"client_id": "x-client", "client_secret": "x-secret"}}
    return server


def credentials(**more):
    return {
        "access_token": "access-0",
        "refresh_token": "refresh-0",
        "expires_at": time.time() + 7200,
        "user_id": USER,
        "username": "crumbbakery",
        **more,
    }


def connector(stored=None, **more) -> x.XConnector:
    keep = stored.append if stored is not None else (lambda fresh: None)
    return x.XConnector(credentials(**more), keep, poll_max=0.01, media_timeout=2, timeout=2)


@pytest.fixture
def loaf(tmp_path) -> MediaFile:
    path = tmp_path / "loaf.png"
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 64)
    return MediaFile(path, "image/png", "A sourdough loaf")


@pytest.fixture
def clip(tmp_path) -> MediaFile:
    path = tmp_path / "oven.mp4"
    path.write_bytes(b"\0\0\0\x18ftypmp42" + b"\0" * 2048)
    return MediaFile(path, "video/mp4", "")


def problem(status, detail, title="Forbidden", **headers):
    return {
        "status": status,
        "headers": {"Content-Type": "application/problem+json", **headers},
        "body": {"title": title, "detail": detail, "type": "about:blank", "status": status},
    }


# -- publishing ------------------------------------------------------------------------------


def test_a_thread_with_an_image_alt_text_and_first_comment_chains_its_replies(network, loaf):
    network.play("publish")
    content = DeliveryContent(
        "Fresh sourdough today", media=[loaf], thread=["Part two"], first_comment="First comment"
    )

    published = connector().publish(content, "key-1")

    assert published.remote_id == MAIN
    assert published.remote_url == f"https://x.com/crumbbakery/status/{MAIN}"
    upload = network.requests_to("POST", "/2/media/upload")[0]
    assert upload.headers["Authorization"] == "Bearer access-0"
    assert b'name="media_category"' in upload.body and b"tweet_image" in upload.body
    assert network.requests_to("POST", "/2/media/metadata")[0].json == {
        "id": "1880028106020515840",
        "metadata": {"alt_text": {"text": "A sourdough loaf"}},
    }
    main, part, comment = (s.json for s in network.requests_to("POST", "/2/tweets"))
    assert main == {
        "text": "Fresh sourdough today",
        "media": {"media_ids": ["1880028106020515840"]},
    }
    assert part == {"text": "Part two", "reply": {"in_reply_to_tweet_id": MAIN}}
    assert comment == {"text": "First comment", "reply": {"in_reply_to_tweet_id": MAIN}}


def test_a_link_card_adds_its_address_to_the_text(network):
    network.play("publish")
    content = DeliveryContent("Rye is back", link=LinkCard("https://crumb.example/rye"))
    connector().publish(content, "key-link")
    assert network.requests_to("POST", "/2/tweets")[0].json["text"] == (
        "Rye is back\n\nhttps://crumb.example/rye"
    )


def test_a_video_is_uploaded_in_chunks_and_waited_for_while_x_processes_it(network, clip):
    network.play("video")

    published = connector().publish(DeliveryContent("Watch the oven", media=[clip]), "key-v")

    assert published.remote_id == "1445880548472328200"
    init = network.requests_to("POST", "/2/media/upload/initialize")[0].json
    assert init == {
        "media_type": "video/mp4",
        "total_bytes": clip.size,
        "media_category": "tweet_video",
    }
    append = network.requests_to("POST", "/2/media/upload/1880028106020515841/append")
    assert len(append) == 1 and b'name="segment_index"' in append[0].body
    statuses = network.requests_to("GET", "/2/media/upload")
    assert len(statuses) == 2  # in_progress, then succeeded
    assert statuses[0].query["command"] == ["STATUS"]
    tweets = network.requests_to("POST", "/2/tweets")
    assert tweets[0].json["media"] == {"media_ids": ["1880028106020515841"]}


def test_a_video_that_fails_processing_is_refused_permanently_and_nothing_is_posted(network, clip):
    network.play("video", "video-failed")

    with pytest.raises(ConnectorError) as raised:
        connector().publish(DeliveryContent("Watch the oven", media=[clip]), "key-vf")

    assert raised.value.permanent and not raised.value.auth_revoked
    assert "aspect ratio is outside 1:3 to 3:1" in raised.value.message
    assert network.requests_to("POST", "/2/tweets") == []


def test_a_400_is_permanent_with_xs_own_words(network):
    network.answer(
        "POST",
        "/2/tweets",
        {
            "status": 400,
            "body": {
                "errors": [{"parameters": {"text": [""]}, "message": "Text is too long."}],
                "title": "Invalid Request",
                "detail": "One or more parameters to your request was invalid.",
                "type": "https://api.x.com/2/problems/invalid-request",
            },
        },
    )
    with pytest.raises(ConnectorError) as raised:
        connector().publish(DeliveryContent("Hello"), "key-400")
    assert raised.value.permanent and not raised.value.rate_limited
    assert "One or more parameters to your request was invalid" in raised.value.message


def test_a_429_waits_until_xs_reset_and_the_daily_cap_wins_when_spent(network):
    reset = int(time.time()) + 600
    daily = int(time.time()) + 30000
    network.answer(
        "POST",
        "/2/tweets",
        problem(
            429,
            "Too Many Requests",
            "Too Many Requests",
            **{
                "x-rate-limit-reset": str(reset),
                "x-user-limit-24hour-remaining": "0",
                "x-user-limit-24hour-reset": str(daily),
            },
        ),
        problem(
            429, "Too Many Requests", "Too Many Requests", **{"x-rate-limit-reset": str(reset)}
        ),
    )
    with pytest.raises(ConnectorError) as first:
        connector().publish(DeliveryContent("Hello"), "key-429")
    assert first.value.rate_limited and not first.value.permanent
    assert first.value.retry_after == datetime.fromtimestamp(daily, UTC)
    with pytest.raises(ConnectorError) as second:
        connector().publish(DeliveryContent("Hello"), "key-429")
    assert second.value.retry_after == datetime.fromtimestamp(reset, UTC)


def test_a_429_whose_reset_is_already_past_is_still_rate_limited(network):
    past = int(time.time()) - 30
    network.answer(
        "POST", "/2/tweets", problem(429, "Too Many Requests", **{"x-rate-limit-reset": str(past)})
    )
    with pytest.raises(ConnectorError) as raised:
        connector().publish(DeliveryContent("Hello"), "key-past")
    assert raised.value.rate_limited
    assert raised.value.retry_after is not None
    assert raised.value.retry_after <= datetime.now(UTC)


def test_a_5xx_is_transient(network):
    network.answer("POST", "/2/tweets", problem(503, "Service Unavailable", "Service Unavailable"))
    with pytest.raises(ConnectorError) as raised:
        connector().publish(DeliveryContent("Hello"), "key-503")
    assert not raised.value.permanent and not raised.value.rate_limited


def test_a_timeout_after_the_post_was_sent_is_an_unknown_outcome_then_found(network):
    network.play("publish", "timeline")
    network.delay = 1.5
    slow = x.XConnector(credentials(), timeout=0.5)
    content = DeliveryContent("Fresh sourdough & rye today https://crumb.example/rye")

    with pytest.raises(OutcomeUnknown):
        slow.publish(content, "key-t")

    network.delay = 0
    found = connector().find_published("key-t", content)
    assert found is not None and found.remote_id == MAIN
    asked = network.requests_to("GET", f"/2/users/{USER}/tweets")[0]
    assert asked.query["max_results"] == ["100"] and "start_time" in asked.query


def test_find_published_finds_nothing_for_other_text_and_matches_a_reply_by_its_parent(network):
    network.play("timeline")
    assert connector().find_published("k", DeliveryContent("Never posted this")) is None
    # "Part two" exists only as a reply to MAIN: as a top-level post it is not there.
    assert connector().find_published("k", DeliveryContent("Part two")) is None
    reply = DeliveryContent("Part two", action="reply", target={"id": MAIN})
    found = connector().find_published("k", reply)
    assert found is not None and found.remote_id == PART


def test_a_retry_after_a_failed_thread_part_does_not_post_the_main_post_twice(network):
    network.play("publish", "timeline")
    network.answer(
        "POST",
        "/2/tweets",
        {"status": 201, "body": {"data": {"id": MAIN, "text": "x"}}},
        problem(503, "Service Unavailable", "Service Unavailable"),
        problem(403, "You are not allowed to create a Tweet with duplicate content."),
        {"status": 201, "body": {"data": {"id": "1445880548472328198", "text": "Part three"}}},
    )
    content = DeliveryContent(
        "Fresh sourdough & rye today https://crumb.example/rye", thread=["Part three"]
    )
    with pytest.raises(ConnectorError):
        connector().publish(content, "key-r")

    published = connector().publish(content, "key-r")

    assert published.remote_id == MAIN  # found among the recent posts, not made again
    bodies = [s.json for s in network.requests_to("POST", "/2/tweets")]
    assert len(bodies) == 4
    assert bodies[3] == {"text": "Part three", "reply": {"in_reply_to_tweet_id": MAIN}}


def test_a_duplicate_of_an_older_post_is_refused_in_xs_words(network):
    network.play("timeline")
    network.answer(
        "POST",
        "/2/tweets",
        problem(403, "You are not allowed to create a Tweet with duplicate content."),
    )
    with pytest.raises(ConnectorError) as raised:
        connector().publish(DeliveryContent("Good morning"), "key-d")
    assert raised.value.permanent and not raised.value.auth_revoked
    assert "duplicate content" in raised.value.message and "change the text" in raised.value.message


def test_delete_removes_the_post_and_a_gone_one_is_not_an_error(network):
    network.play("publish")
    connector().delete(MAIN)
    network.answer(
        "DELETE", "/2/tweets/404404", problem(404, "Could not find tweet.", "Not Found Error")
    )
    connector().delete("404404")
    assert len(network.requests_to("DELETE", "/2/tweets/404404")) == 1


# -- tokens ----------------------------------------------------------------------------------


def test_a_token_near_expiry_is_refreshed_first_and_the_rotated_refresh_token_stored(network):
    network.play("oauth", "publish")
    stored: list[dict] = []

    connector(stored, expires_at=time.time() + 60).publish(DeliveryContent("Hello"), "key-f")

    refresh = network.requests_to("POST", "/2/oauth2/token")[0]
    assert refresh.form["grant_type"] == ["refresh_token"]
    assert refresh.form["refresh_token"] == ["refresh-0"]
    assert refresh.headers["Authorization"].startswith("Basic ")  # a confidential client
    assert stored[0]["access_token"] == "access-after-refresh"
    assert stored[0]["refresh_token"] == "refresh-rotated"
    assert stored[0]["user_id"] == USER
    assert network.requests_to("POST", "/2/tweets")[0].headers["Authorization"] == (
        "Bearer access-after-refresh"
    )


def test_a_failed_refresh_stores_nothing_and_asks_for_reconnection(network):
    network.answer(
        "POST",
        "/2/oauth2/token",
        {
            "status": 400,
            "body": {
                "error": "invalid_request",
                "error_description": "Value passed for the token was invalid.",
            },
        },
    )
    stored: list[dict] = []
    with pytest.raises(ConnectorError) as raised:
        connector(stored, expires_at=time.time() + 60).publish(DeliveryContent("Hello"), "k")
    assert raised.value.auth_revoked
    assert stored == []
    assert network.requests_to("POST", "/2/tweets") == []


def test_a_refresh_x_cannot_answer_is_transient_and_stores_nothing(network):
    network.answer(
        "POST", "/2/oauth2/token", {"status": 503, "body": {"title": "Service Unavailable"}}
    )
    stored: list[dict] = []
    with pytest.raises(ConnectorError) as raised:
        connector(stored, expires_at=time.time() + 60).publish(DeliveryContent("Hello"), "k")
    assert not raised.value.permanent
    assert stored == []


def test_a_401_is_refreshed_once_then_called_again(network):
    network.play("oauth", "publish")
    network.answer(
        "POST",
        "/2/tweets",
        problem(401, "Unauthorized", "Unauthorized"),
        {"status": 201, "body": {"data": {"id": MAIN, "text": "Hello"}}},
    )
    stored: list[dict] = []
    published = connector(stored).publish(DeliveryContent("Hello"), "k")
    assert published.remote_id == MAIN
    assert stored[0]["refresh_token"] == "refresh-rotated"


def test_a_revoked_token_without_a_refresh_token_needs_reconnection(network):
    network.answer("POST", "/2/tweets", problem(401, "Unauthorized", "Unauthorized"))
    with pytest.raises(ConnectorError) as raised:
        connector(refresh_token="").publish(DeliveryContent("Hello"), "k")
    assert raised.value.auth_revoked and "reconnect" in raised.value.message


# -- validation ------------------------------------------------------------------------------


def test_text_is_counted_as_x_counts_it():
    assert x.text_length("hello") == 5
    assert x.text_length("see https://crumb.example/a/very/long/path/indeed.") == 4 + 23 + 1
    assert x.text_length("パン") == 4  # CJK weighs 2
    assert x.text_length("🍞") == 2
    assert x.text_length("👩‍🍳") == 2  # one emoji sequence
    assert x.text_length("e\u0301") == 1  # normalised to é first


def test_validate_says_what_to_fix(loaf, clip):
    c = connector()
    long = DeliveryContent("a" * 281, thread=["パ" * 141], first_comment="ok")
    said = [str(p) for p in c.validate(long)]
    assert any("281 of X's 280" in s for s in said)
    assert any("Part 2 of the thread counts 282" in s for s in said)
    assert c.validate(DeliveryContent("a" * 256 + " https://crumb.example/" + "x" * 200)) == []
    mixed = [str(p) for p in c.validate(DeliveryContent("hi", media=[loaf, clip]))]
    assert any("one video or one GIF" in s for s in mixed)
    five = [str(p) for p in c.validate(DeliveryContent("hi", media=[loaf] * 5))]
    assert any("up to 4 images" in s for s in five)


def test_media_problems_name_type_size_and_alt_text(tmp_path):
    big = tmp_path / "big.png"
    big.write_bytes(b"\0" * (5 * 1024 * 1024 + 1))
    assert "up to 5 MB" in str(x.media_problems(MediaFile(big, "image/png")))
    assert "X takes JPEG" in str(x.media_problems(MediaFile(big, "image/tiff")))
    small = tmp_path / "s.png"
    small.write_bytes(b"\0")
    assert "allows 1000" in str(x.media_problems(MediaFile(small, "image/png", "a" * 1001)))


def test_rate_limits_and_costs_follow_xs_published_limits():
    c = connector()
    assert ("posts", 100, timedelta(minutes=15)) in [
        (r.unit, r.points, r.window) for r in c.rate_limits
    ]
    assert c.cost(DeliveryContent("a", thread=["b", "c"], first_comment="d")) == {"posts": 4}
    assert c.metrics_cost(150, followers=True) == {"lookups": 3}


# -- reading and measuring -------------------------------------------------------------------


def test_mentions_become_comments_quotes_and_mentions_oldest_first_across_pages(network):
    network.play("mentions")
    page = connector().fetch_inbox("", datetime.now(UTC) - timedelta(days=1))

    assert [i.remote_id for i in page.items] == [
        "1460000000000000001",
        "1460000000000000005",
        "1460000000000000009",
    ]
    mention, quote, comment = page.items
    assert mention.kind == ItemKind.MENTION and mention.author.handle == "@early_bird"
    assert quote.kind == ItemKind.QUOTE and quote.our_post_remote_id == MAIN
    assert comment.kind == ItemKind.COMMENT and comment.our_post_remote_id == MAIN
    assert comment.thread_key == MAIN and comment.parent_remote_id == MAIN
    assert comment.text.endswith("friend & me")
    assert comment.author.followers == 340 and comment.reference["id"] == "1460000000000000009"
    assert page.cursor == "1460000000000000009"
    assert page.spent == {"mention_reads": 2}
    first = network.requests_to("GET", f"/2/users/{USER}/mentions")[0]
    assert "start_time" in first.query and "since_id" not in first.query


def test_the_next_poll_reads_from_the_cursor(network):
    network.play("mentions")
    connector().fetch_inbox("1460000000000000009", datetime.now(UTC) - timedelta(days=1))
    asked = network.requests_to("GET", f"/2/users/{USER}/mentions")[0]
    assert asked.query["since_id"] == ["1460000000000000009"]


def test_an_app_whose_access_has_no_mentions_is_told_plainly_not_as_a_revoked_token(network):
    network.answer(
        "GET",
        f"/2/users/{USER}/mentions",
        {
            "status": 403,
            "body": {
                "client_id": "27512824",
                "detail": "When authenticating requests to the Twitter API v2 endpoints, you "
                "must use keys and tokens from a Twitter developer App that is attached to a "
                "Project. You can create a project via the developer portal.",
                "registration_url": "https://developer.twitter.com/en/docs/projects/overview",
                "title": "Client Forbidden",
                "required_enrollment": "Appropriate Level of API Access",
                "reason": "client-not-enrolled",
                "type": "https://api.twitter.com/2/problems/client-forbidden",
            },
        },
    )
    with pytest.raises(ConnectorError) as raised:
        connector().fetch_inbox("", datetime.now(UTC) - timedelta(days=1))
    assert raised.value.permanent and not raised.value.auth_revoked
    assert "does not let this Socialdesk's app read mentions" in raised.value.message
    assert "Publishing still works" in raised.value.message


def test_metrics_come_from_public_metrics_and_a_deleted_post_is_left_out(network):
    network.play("metrics", "oauth")
    numbers = connector().fetch_metrics([MAIN, "1445880548472328100"])
    assert list(numbers) == [MAIN]
    assert numbers[MAIN].likes == 31 and numbers[MAIN].reposts == 4
    assert numbers[MAIN].replies == 2 and numbers[MAIN].quotes == 1
    assert numbers[MAIN].views == 1840 and numbers[MAIN].clicks is None
    asked = network.requests_to("GET", "/2/tweets")[0]
    assert asked.query["tweet.fields"] == ["public_metrics"]
    assert connector().fetch_followers() == 1287


def test_check_connection_names_the_account(network):
    network.play("oauth")
    info = connector().check_connection()
    assert (info.remote_account_id, info.handle, info.display_name) == (
        USER,
        "@crumbbakery",
        "Crumb Bakery",
    )


def test_build_needs_a_token_and_a_user_id():
    assert x.build({"access_token": "a"}, lambda fresh: None) is None
    built = x.build(credentials(), lambda fresh: None)
    assert isinstance(built, x.XConnector) and "access-0" not in repr(built)


# -- the inbox's writes ----------------------------------------------------------------------


def test_a_reply_answers_the_mention_and_like_and_hide_act_on_it(network):
    network.play("publish")
    mention = "1460000000000000009"
    network.answer(
        "POST", f"/2/users/{USER}/likes", {"status": 200, "body": {"data": {"liked": True}}}
    )
    network.answer(
        "PUT", f"/2/tweets/{mention}/hidden", {"status": 200, "body": {"data": {"hidden": True}}}
    )

    reply = DeliveryContent("Yes, it is vegan!", action="reply", target={"id": mention})
    assert connector().publish(reply, "k-reply").remote_id == MAIN
    connector().publish(DeliveryContent("", action="like", target={"id": mention}), "k-like")
    connector().publish(DeliveryContent("", action="hide", target={"id": mention}), "k-hide")

    assert network.requests_to("POST", "/2/tweets")[0].json == {
        "text": "Yes, it is vegan!",
        "reply": {"in_reply_to_tweet_id": mention},
    }
    assert network.requests_to("POST", f"/2/users/{USER}/likes")[0].json == {"tweet_id": mention}
    assert network.requests_to("PUT", f"/2/tweets/{mention}/hidden")[0].json == {"hidden": True}
    assert connector().cost(DeliveryContent("", action="like", target={"id": mention})) == {
        "likes": 1
    }
    refused = connector().validate(DeliveryContent("", action="unknown", target={"id": mention}))
    assert "cannot unknown on X" in str(refused)
