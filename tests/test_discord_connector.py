"""The Discord webhook connector against exchanges written by hand from
discord.com/developers/docs (``tests/recordings/discord/``), served over real HTTP on
127.0.0.1 to the real connector code."""

from __future__ import annotations

import json
import logging
import traceback
from datetime import UTC, datetime, timedelta

import pytest

from socialdesk.networks import discord
from socialdesk.networks.base import ConnectorError, DeliveryContent, LinkCard, MediaFile
from socialdesk.networks.http import OutcomeUnknown
from tests.recorded import RecordedNetwork

pytestmark = pytest.mark.any_database

ID = "1180000000000000001"
TOKEN = "Xq8yXmsY4Jx6lOLjDgLRx7k0-bWDHNtHnmE1dqeyBn3uWlkP1VqT9yVmXNqkS3N6Ej0p"
HOOK = f"/api/v10/webhooks/{ID}/{TOKEN}"
URL = f"https://discord.com/api/webhooks/{ID}/{TOKEN}"
MESSAGE = "1180000000000000501"


@pytest.fixture(scope="module")
def server():
    recorded = RecordedNetwork("discord")
    yield recorded
    recorded.stop()


@pytest.fixture
def network(server, settings):
    server.reset()
    server.play("webhook")
    settings.NETWORK_URL_OVERRIDES = {"discord": server.url}
    return server


def connector(**more) -> discord.DiscordConnector:
    credentials = {
        "webhook_url": URL,
        "guild_id": "1180000000000000200",
        "channel_id": "1180000000000000100",
        **more,
    }
    return discord.DiscordConnector(credentials, timeout=2)


@pytest.fixture
def loaf(tmp_path) -> MediaFile:
    file = tmp_path / "loaf.png"
    file.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 64)
    return MediaFile(file, "image/png", "A sourdough loaf")


def refusal(status, message, code=0, **more):
    return {"status": status, "body": {"message": message, "code": code, **more}}


def payload_of(sent) -> dict:
    marker = b'name="payload_json"\r\n\r\n'
    start = sent.body.index(marker) + len(marker)
    return json.loads(sent.body[start : sent.body.index(b"\r\n--", start)])


def test_a_post_with_a_file_carries_its_alt_text_and_a_thread_part_follows(network, loaf):
    published = connector().publish(
        DeliveryContent("Fresh sourdough today", media=[loaf], thread=["Part two"]), "k"
    )

    assert published.remote_id == MESSAGE
    assert published.remote_url == (
        f"https://discord.com/channels/1180000000000000200/1180000000000000100/{MESSAGE}"
    )
    first, part = network.requests_to("POST", HOOK)
    assert first.query["wait"] == ["true"]
    assert payload_of(first) == {
        "content": "Fresh sourdough today",
        "allowed_mentions": {"parse": []},
        "attachments": [{"id": 0, "filename": "loaf.png", "description": "A sourdough loaf"}],
    }
    assert b'name="files[0]"; filename="loaf.png"' in first.body
    assert part.json == {"content": "Part two", "allowed_mentions": {"parse": []}}


def test_a_link_is_added_to_the_text_for_discords_embed(network):
    connector().publish(DeliveryContent("Rye", link=LinkCard("https://crumb.example/rye")), "k")
    assert (
        network.requests_to("POST", HOOK)[0].json["content"].endswith("https://crumb.example/rye")
    )


def test_validate_refuses_a_first_comment_long_text_and_too_many_files(loaf):
    said = " ".join(
        str(p)
        for p in connector().validate(
            DeliveryContent("x" * 2001, media=[loaf] * 11, first_comment="Hi")
        )
    )
    assert "no comments: remove the first comment" in said
    assert "2,000 characters a message; this one has 2,001" in said
    assert "up to 10 files" in said
    assert connector().validate(DeliveryContent("x" * 2000)) == []


def test_a_file_over_the_request_limit_is_refused(tmp_path):
    big = tmp_path / "big.mov"
    big.write_bytes(b"\0" * (25 * 1024 * 1024 + 1))
    assert "25 MB a message" in str(discord.media_problems(MediaFile(big, "video/quicktime")))


def test_discords_400_is_permanent_with_its_words(network):
    network.answer(
        "POST",
        HOOK,
        refusal(
            400,
            "Invalid Form Body",
            50035,
            errors={
                "content": {
                    "_errors": [
                        {
                            "code": "BASE_TYPE_MAX_LENGTH",
                            "message": "Must be 2000 or fewer in length.",
                        }
                    ]
                }
            },
        ),
    )
    with pytest.raises(ConnectorError) as raised:
        connector().publish(DeliveryContent("Hi"), "k")
    assert raised.value.permanent and not raised.value.auth_revoked
    assert "Invalid Form Body (Must be 2000 or fewer in length.)" in raised.value.message


def test_a_429_waits_the_json_retry_after_and_says_nothing_more(network):
    network.answer(
        "POST",
        HOOK,
        {
            "status": 429,
            "headers": {
                "Retry-After": "2",
                "X-RateLimit-Limit": "5",
                "X-RateLimit-Remaining": "0",
                "X-RateLimit-Reset-After": "1.337",
                "X-RateLimit-Scope": "shared",
            },
            "body": {
                "message": "You are being rate limited.",
                "retry_after": 1.337,
                "global": False,
            },
        },
    )
    before = datetime.now(UTC)
    with pytest.raises(ConnectorError) as raised:
        connector().publish(DeliveryContent("Hi"), "k")
    assert raised.value.rate_limited and not raised.value.permanent
    waited = (raised.value.retry_after - before).total_seconds()
    assert 1.3 <= waited < 2


def test_a_global_429_with_only_the_header_waits_the_header(network):
    network.answer(
        "POST",
        HOOK,
        {"status": 429, "headers": {"Retry-After": "7", "X-RateLimit-Global": "true"}, "body": ""},
    )
    before = datetime.now(UTC)
    with pytest.raises(ConnectorError) as raised:
        connector().publish(DeliveryContent("Hi"), "k")
    assert before + timedelta(seconds=6) < raised.value.retry_after < before + timedelta(seconds=9)


@pytest.mark.parametrize(
    "answer",
    [
        refusal(404, "Unknown Webhook", 10015),
        refusal(401, "Invalid Webhook Token", 50027),
    ],
)
def test_a_deleted_or_regenerated_webhook_needs_reconnection(network, answer):
    network.answer("POST", HOOK, answer)
    with pytest.raises(ConnectorError) as raised:
        connector().publish(DeliveryContent("Hi"), "k")
    assert raised.value.auth_revoked
    assert answer["body"]["message"] in raised.value.message


def test_a_5xx_is_transient(network):
    network.answer("POST", HOOK, refusal(502, "Bad Gateway"))
    with pytest.raises(ConnectorError) as raised:
        connector().publish(DeliveryContent("Hi"), "k")
    assert not raised.value.permanent


def test_a_timeout_after_sending_is_unknown_and_find_published_says_it_cannot_tell(network):
    network.delay = 1.0
    slow = discord.DiscordConnector({"webhook_url": URL}, timeout=0.3)
    with pytest.raises(OutcomeUnknown) as unknown:
        slow.publish(DeliveryContent("Hi"), "k")
    network.delay = 0

    assert TOKEN not in "".join(traceback.format_exception(unknown.value))
    with pytest.raises(ConnectorError) as raised:
        connector().find_published("k", DeliveryContent("Hi"))
    assert "cannot list the channel's messages" in raised.value.message
    assert (
        connector().find_published("k", DeliveryContent("", action="delete", target={"id": "1"}))
        is None
    )


def test_a_thread_part_failing_after_the_post_is_out_is_permanent_and_names_the_post(network):
    network.answer(
        "POST",
        HOOK,
        {"status": 200, "body": {"id": MESSAGE, "channel_id": "1180000000000000100"}},
        refusal(500, "Internal Server Error"),
    )
    with pytest.raises(ConnectorError) as raised:
        connector().publish(DeliveryContent("Hi", thread=["Two"]), "k")
    assert raised.value.permanent
    assert MESSAGE in raised.value.message and "part 2" in raised.value.message


def test_no_error_and_no_log_line_carries_the_webhook_token(network, caplog):
    caplog.set_level(logging.DEBUG, logger="httpx")
    network.answer("POST", HOOK, refusal(401, "Invalid Webhook Token", 50027))
    with pytest.raises(ConnectorError) as raised:
        connector().publish(DeliveryContent("Hi"), "k")
    assert TOKEN not in "".join(traceback.format_exception(raised.value))
    assert TOKEN not in caplog.text and f"/webhooks/{ID}/<token>" in caplog.text
    assert TOKEN not in repr(connector())


def test_delete_removes_the_message_and_a_gone_one_is_fine(network):
    connector().delete(MESSAGE)
    network.answer("DELETE", f"{HOOK}/messages/404", refusal(404, "Unknown Message", 10008))
    connector().delete("404")
    assert len(network.requests_to("DELETE", f"{HOOK}/messages/404")) == 1


def test_check_connection_names_the_webhook_and_nothing_is_read(network):
    info = connector().check_connection()
    assert (info.remote_account_id, info.handle) == ("1180000000000000100", "Crumb Announcements")
    c = connector()
    assert not c.reads and not c.measures
    assert c.cost(DeliveryContent("a", thread=["b", "c"])) == {"messages": 3}
    assert discord.build({"webhook_url": "https://example.com/hook"}, lambda fresh: None) is None
