"""The Telegram channel connector against Bot API exchanges written by hand from
core.telegram.org/bots/api (``tests/recordings/telegram/``), served over real HTTP on
127.0.0.1 to the real connector code."""

from __future__ import annotations

import logging
import traceback
from datetime import UTC, datetime, timedelta

import pytest

from socialdesk.networks import telegram
from socialdesk.networks.base import ConnectorError, DeliveryContent, LinkCard, MediaFile
from socialdesk.networks.http import OutcomeUnknown
from tests.recorded import RecordedNetwork

pytestmark = pytest.mark.any_database

TOKEN = "110201543:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"  # the reference's example token
CHAT = "-1001234567890"


def path(method: str) -> str:
    return f"/bot{TOKEN}/{method}"


@pytest.fixture(scope="module")
def server():
    recorded = RecordedNetwork("telegram")
    yield recorded
    recorded.stop()


@pytest.fixture
def network(server, settings):
    server.reset()
    server.play("connect", "publish")
    settings.NETWORK_URL_OVERRIDES = {"telegram": server.url}
    return server


def connector(**more) -> telegram.TelegramConnector:
    credentials = {"bot_token": TOKEN, "chat_id": CHAT, "chat_username": "crumbbakery", **more}
    return telegram.TelegramConnector(credentials, timeout=2)


def refusal(code: int, description: str, **parameters):
    body = {"ok": False, "error_code": code, "description": description}
    if parameters:
        body["parameters"] = parameters
    return {"status": code, "body": body}


@pytest.fixture
def photo(tmp_path) -> MediaFile:
    file = tmp_path / "loaf.jpg"
    file.write_bytes(b"\xff\xd8\xff\xe0" + b"\0" * 64)
    return MediaFile(file, "image/jpeg", "A loaf")


@pytest.fixture
def video(tmp_path) -> MediaFile:
    file = tmp_path / "oven.mp4"
    file.write_bytes(b"\0\0\0\x18ftypmp42" + b"\0" * 64)
    return MediaFile(file, "video/mp4")


def test_text_and_thread_parts_are_plain_messages_each_replying_to_the_post(network):
    published = connector().publish(
        DeliveryContent("Fresh sourdough today", thread=["Part two"]), "key"
    )

    assert published.remote_id == "41"
    assert published.remote_url == "https://t.me/crumbbakery/41"
    main, part = (s.json for s in network.requests_to("POST", path("sendMessage")))
    assert main == {"chat_id": CHAT, "text": "Fresh sourdough today"}  # no parse_mode
    assert part == {"chat_id": CHAT, "text": "Part two", "reply_parameters": {"message_id": 41}}


def test_a_link_is_added_to_the_text_for_telegrams_preview(network):
    connector().publish(DeliveryContent("Rye", link=LinkCard("https://crumb.example/rye")), "k")
    assert (
        network.requests_to("POST", path("sendMessage"))[0]
        .json["text"]
        .endswith("https://crumb.example/rye")
    )


def test_one_photo_goes_with_its_caption_and_a_video_with_streaming(network, photo, video):
    assert connector().publish(DeliveryContent("A loaf", media=[photo]), "k").remote_id == "43"
    sent = network.requests_to("POST", path("sendPhoto"))[0]
    assert b'name="caption"' in sent.body and b"A loaf" in sent.body
    assert b'name="photo"; filename="loaf.jpg"' in sent.body

    assert connector().publish(DeliveryContent("The oven", media=[video]), "k").remote_id == "44"
    sent = network.requests_to("POST", path("sendVideo"))[0]
    assert b'name="supports_streaming"' in sent.body and b'name="video"' in sent.body


def test_an_album_is_one_media_group_with_the_caption_on_the_first(network, photo):
    published = connector().publish(DeliveryContent("Two loaves", media=[photo, photo]), "k")

    assert published.remote_id == "45,46"
    assert published.remote_url == "https://t.me/crumbbakery/45"
    sent = network.requests_to("POST", path("sendMediaGroup"))[0]
    assert b'"media": "attach://file0", "caption": "Two loaves"' in sent.body
    assert b'name="file1"' in sent.body


def test_a_private_channel_links_through_its_internal_id(network):
    published = connector(chat_username="").publish(DeliveryContent("Hi"), "k")
    assert published.remote_url == "https://t.me/c/1234567890/41"


def test_a_first_comment_and_a_long_caption_are_refused_with_what_to_do(photo):
    said = " ".join(
        str(p)
        for p in connector().validate(
            DeliveryContent("x" * 1025, media=[photo], first_comment="Order online")
        )
    )
    assert "linked discussion group" in said and "remove the first comment" in said
    assert "caption of 1,024 characters; this one has 1,025" in said
    assert connector().validate(DeliveryContent("x" * 4096)) == []
    assert "4,096" in str(connector().validate(DeliveryContent("🍞" * 2049)))  # UTF-16


def test_media_rules_name_the_type_and_size(tmp_path, photo):
    gif = MediaFile(photo.path, "image/gif")
    assert "JPEG, PNG or WEBP" in str(telegram.media_problems(gif))
    big = tmp_path / "big.jpg"
    big.write_bytes(b"\0" * (10 * 1024 * 1024 + 1))
    assert "up to 10 MB" in str(telegram.media_problems(MediaFile(big, "image/jpeg")))
    eleven = connector().validate(DeliveryContent("x", media=[photo] * 11))
    assert "up to 10 photos and videos" in str(eleven)


def test_telegrams_400_is_permanent_in_its_own_words(network):
    network.answer("POST", path("sendMessage"), refusal(400, "Bad Request: message text is empty"))
    with pytest.raises(ConnectorError) as raised:
        connector().publish(DeliveryContent("Hi"), "k")
    assert raised.value.permanent and not raised.value.auth_revoked
    assert "message text is empty" in raised.value.message


def test_a_429_waits_the_retry_after_telegram_gives(network):
    network.answer(
        "POST",
        path("sendMessage"),
        refusal(429, "Too Many Requests: retry after 35", retry_after=35),
    )
    before = datetime.now(UTC)
    with pytest.raises(ConnectorError) as raised:
        connector().publish(DeliveryContent("Hi"), "k")
    assert raised.value.rate_limited and not raised.value.permanent
    assert (
        before + timedelta(seconds=34) < raised.value.retry_after < before + timedelta(seconds=40)
    )


@pytest.mark.parametrize(
    ("code", "description"),
    [
        (401, "Unauthorized"),
        (403, "Forbidden: bot was kicked from the channel chat"),
        (400, "Bad Request: need administrator rights in the channel chat"),
        (400, "Bad Request: chat not found"),
    ],
)
def test_a_revoked_token_or_a_bot_without_the_channel_needs_reconnection(
    network, code, description
):
    network.answer("POST", path("sendMessage"), refusal(code, description))
    with pytest.raises(ConnectorError) as raised:
        connector().publish(DeliveryContent("Hi"), "k")
    assert raised.value.auth_revoked
    assert description in raised.value.message


def test_a_5xx_is_transient(network):
    network.answer("POST", path("sendMessage"), refusal(502, "Bad Gateway"))
    with pytest.raises(ConnectorError) as raised:
        connector().publish(DeliveryContent("Hi"), "k")
    assert not raised.value.permanent


def test_a_timeout_after_sending_is_unknown_and_find_published_says_it_cannot_tell(network):
    network.delay = 1.0
    slow = telegram.TelegramConnector({"bot_token": TOKEN, "chat_id": CHAT}, timeout=0.3)
    with pytest.raises(OutcomeUnknown) as unknown:
        slow.publish(DeliveryContent("Hi"), "k")
    network.delay = 0

    assert TOKEN not in "".join(traceback.format_exception(unknown.value))
    with pytest.raises(ConnectorError) as raised:
        connector().find_published("k", DeliveryContent("Hi"))
    assert "cannot list a channel's messages" in raised.value.message
    assert "not sent again" in raised.value.message


def test_a_thread_part_failing_after_the_post_is_out_is_permanent_and_names_the_post(network):
    network.answer(
        "POST",
        path("sendMessage"),
        {
            "status": 200,
            "body": {"ok": True, "result": {"message_id": 41, "chat": {"id": -1}, "date": 1}},
        },
        refusal(502, "Bad Gateway"),
    )
    with pytest.raises(ConnectorError) as raised:
        connector().publish(DeliveryContent("Hi", thread=["Two"]), "k")
    assert raised.value.permanent
    assert "https://t.me/crumbbakery/41" in raised.value.message
    assert "part 2" in raised.value.message


def test_no_error_and_no_log_line_carries_the_bot_token(network, caplog):
    caplog.set_level(logging.DEBUG, logger="httpx")
    network.answer("POST", path("sendMessage"), refusal(401, "Unauthorized"))
    with pytest.raises(ConnectorError) as raised:
        connector().publish(DeliveryContent("Hi"), "k")

    assert TOKEN not in str(raised.value)
    assert TOKEN not in "".join(traceback.format_exception(raised.value))
    assert TOKEN not in caplog.text and "/bot<token>/sendMessage" in caplog.text
    assert TOKEN not in repr(connector())


def test_an_unreachable_telegram_is_transient_and_says_no_token(settings):
    settings.NETWORK_URL_OVERRIDES = {"telegram": "http://127.0.0.1:9"}
    with pytest.raises(ConnectorError) as raised:
        connector().publish(DeliveryContent("Hi"), "k")
    assert not raised.value.permanent
    assert TOKEN not in "".join(traceback.format_exception(raised.value))


def test_delete_removes_every_message_of_an_album_and_a_gone_one_is_fine(network):
    network.answer(
        "POST",
        path("deleteMessage"),
        {"status": 200, "body": {"ok": True, "result": True}},
        refusal(400, "Bad Request: message to delete not found"),
    )
    connector().delete("45,46")
    sent = [s.json for s in network.requests_to("POST", path("deleteMessage"))]
    assert sent == [{"chat_id": CHAT, "message_id": 45}, {"chat_id": CHAT, "message_id": 46}]


def test_followers_are_the_subscribers_and_posts_have_no_numbers(network):
    assert connector().fetch_followers() == 2318
    numbers = connector().fetch_metrics(["41"])
    assert numbers["41"].views is None and numbers["41"].likes is None
    assert not connector().reads


def test_check_connection_names_the_channel(network):
    info = connector().check_connection()
    assert (info.remote_account_id, info.handle, info.display_name) == (
        CHAT,
        "@crumbbakery",
        "Crumb Bakery",
    )


def test_costs_count_every_message_an_album_makes():
    c = connector()
    assert c.cost(DeliveryContent("a", thread=["b"])) == {"messages": 2}
    assert c.cost(DeliveryContent("a", media=[None, None, None])) == {"messages": 3}  # type: ignore[list-item]
    assert telegram.build({"bot_token": TOKEN}, lambda fresh: None) is None
