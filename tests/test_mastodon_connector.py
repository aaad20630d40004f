"""The Mastodon connector against recorded exchanges served over real HTTP.

No complete Mastodon server installs on this machine: the exchanges in
``tests/recordings/mastodon/`` were written from Mastodon's official API reference (see the
README there). ``RecordedInstance`` serves them from a real HTTP server on 127.0.0.1, so the
real ``Mastodon.py`` client makes real requests, and every request it made is kept for the
test to read back: its headers (``Idempotency-Key``, ``Authorization``) and its form fields.

Crumb is the bakery's account (``@crumb@bakery.example``, id 109382).
"""

from __future__ import annotations

import json
import re
import socket
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from django.utils import timezone
from PIL import Image

from socialdesk.content.services import PostContent, create_post
from socialdesk.networks.base import ConnectorError, DeliveryContent, LinkCard, MediaFile
from socialdesk.networks.mastodon import (
    SCOPES,
    InstanceLimits,
    MastodonConnector,
    MastodonContent,
    authorization_url,
    exchange_code,
    forget_instance_limits,
    register_app,
)
from socialdesk.networks.models import Channel, Network
from socialdesk.publishing.dispatch import run
from socialdesk.publishing.models import Delivery, DeliveryState

RECORDINGS = Path(__file__).parent / "recordings" / "mastodon"
TOKEN = "bakery-access-token"
KEY = "socialdesk-delivery-7"
ALT = "A round sourdough loaf on a floured board"


@dataclass
class Sent:
    """One request the client made."""

    method: str
    path: str
    headers: dict[str, str]
    form: dict[str, list[str]]
    body: bytes
    query: dict[str, list[str]] = field(default_factory=dict)


_MINUTES_AGO = re.compile(r"\{(\d+) min ago\}")


def _minutes_ago(minutes: int) -> str:
    return (datetime.now(UTC) - timedelta(minutes=minutes)).isoformat().replace("+00:00", "Z")


class RecordedInstance:
    """A Mastodon instance that answers from recorded exchanges (see the recordings' README)."""

    def __init__(self) -> None:
        self.routes: dict[tuple[str, str], list[dict[str, Any]]] = {}
        self.sent: list[Sent] = []
        instance = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:  # quiet
                pass

            def serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                path = urlsplit(self.path).path.rstrip("/") or "/"
                form: dict[str, list[str]] = {}
                if "urlencoded" in (self.headers.get("Content-Type") or ""):
                    form = parse_qs(body.decode(), keep_blank_values=True)
                query = parse_qs(urlsplit(self.path).query, keep_blank_values=True)
                instance.sent.append(
                    Sent(self.command, path, dict(self.headers.items()), form, body, query)
                )
                response = instance.next_response(self.command, path)
                self.send_response_only(response["status"])
                headers = dict(response.get("headers") or {})
                headers.setdefault("Date", self.date_time_string())
                payload = response.get("body")
                data = payload if isinstance(payload, str) else json.dumps(payload)
                data = data.replace("{instance}", instance.url).replace("{recent}", _minutes_ago(5))
                # "{3 min ago}": statuses of one thread, written minutes apart.
                data = _MINUTES_AGO.sub(lambda m: _minutes_ago(int(m.group(1))), data).encode()
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_PUT = do_DELETE = serve  # noqa: N815

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def play(self, *names: str) -> None:
        """Answer from these recordings from now on (later ones win on the same route)."""
        for name in names:
            recording = json.loads((RECORDINGS / f"{name}.json").read_text())
            assert "written by hand" in recording["source"].lower()
            for exchange in recording["exchanges"]:
                request = exchange["request"]
                self.routes[(request["method"], request["path"])] = list(exchange["responses"])

    def answer(self, method: str, path: str, *responses: dict[str, Any]) -> None:
        self.routes[(method, path)] = list(responses)

    def next_response(self, method: str, path: str) -> dict[str, Any]:
        queue = self.routes.get((method, path))
        if not queue:
            return {"status": 404, "body": {"error": "Record not found"}}
        return queue.pop(0) if len(queue) > 1 else queue[0]

    def requests_to(self, method: str, path: str) -> list[Sent]:
        return [s for s in self.sent if (s.method, s.path) == (method, path)]

    def reset(self) -> None:
        self.routes.clear()
        self.sent.clear()
        self.play("instance", "verify_credentials")

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(scope="module")
def server():
    recorded = RecordedInstance()
    yield recorded
    recorded.stop()


@pytest.fixture
def instance(server) -> RecordedInstance:
    server.reset()
    forget_instance_limits()
    yield server
    forget_instance_limits()


@pytest.fixture
def crumb(instance) -> MastodonConnector:
    return MastodonConnector(instance.url, TOKEN, account_id="109382", media_poll_interval=0.01)


@pytest.fixture
def loaf(tmp_path) -> MediaFile:
    path = tmp_path / "loaf.jpg"
    Image.new("RGB", (64, 48), (200, 150, 90)).save(path, "JPEG")
    return MediaFile(path, "image/jpeg", ALT)


STATUSES = ("POST", "/api/v1/statuses")


# --- Publishing --------------------------------------------------------------------------


def test_a_status_with_an_image_is_posted_with_its_alt_text_and_idempotency_key(
    instance, crumb, loaf
):
    instance.play("publish_with_media")

    published = crumb.publish(DeliveryContent("Fresh sourdough at 7 🍞", media=[loaf]), KEY)

    assert published.remote_id == "113300000000000001"
    assert published.remote_url == "https://bakery.example/@crumb/113300000000000001"
    [upload] = instance.requests_to("POST", "/api/v2/media")
    assert ALT.encode() in upload.body and b"loaf.jpg" in upload.body
    assert loaf.path.read_bytes() in upload.body
    [status] = instance.requests_to(*STATUSES)
    assert status.form["status"] == ["Fresh sourdough at 7 🍞"]
    assert status.form["media_ids[]"] == ["22348641"]
    assert status.headers["Idempotency-Key"] == KEY
    assert status.headers["Authorization"] == f"Bearer {TOKEN}"


def test_media_still_processing_is_waited_for_before_the_status_is_posted(instance, crumb, loaf):
    instance.play("media_processing")

    published = crumb.publish(DeliveryContent("Fresh sourdough at 7 🍞", media=[loaf]), KEY)

    assert published.remote_id == "113300000000000002"
    calls = [(s.method, s.path) for s in instance.sent if s.path != "/api/v2/instance"]
    assert calls == [
        ("POST", "/api/v2/media"),  # 202: url null
        ("GET", "/api/v1/media/22348641"),  # 206: still processing
        ("GET", "/api/v1/media/22348641"),  # 200: done
        STATUSES,
    ]


def test_media_that_never_finishes_processing_fails_transiently_and_posts_nothing(instance, loaf):
    instance.play("media_processing")
    processing = json.loads((RECORDINGS / "media_processing.json").read_text())
    still = processing["exchanges"][1]["responses"][0]
    instance.answer("GET", "/api/v1/media/22348641", still)
    connector = MastodonConnector(instance.url, TOKEN, media_timeout=0.1, media_poll_interval=0.02)

    with pytest.raises(ConnectorError) as caught:
        connector.publish(DeliveryContent("Fresh sourdough", media=[loaf]), KEY)

    assert not caught.value.permanent
    assert "still processing loaf.jpg" in caught.value.message
    assert instance.requests_to(*STATUSES) == []


def test_visibility_content_warning_and_language_are_sent(instance, crumb):
    instance.play("publish_text")
    content = MastodonContent(
        "Rye, spelt and a sourdough starter named Kevin",
        language="en-GB",
        visibility="unlisted",
        spoiler_text="Long bread talk",
    )

    crumb.publish(content, KEY)

    [status] = instance.requests_to(*STATUSES)
    assert status.form["visibility"] == ["unlisted"]
    assert status.form["spoiler_text"] == ["Long bread talk"]
    assert status.form["language"] == ["en"]


def test_the_channels_default_visibility_applies_when_the_post_sets_none(instance):
    instance.play("publish_text")
    connector = MastodonConnector(instance.url, TOKEN, visibility="private")

    connector.publish(DeliveryContent("Followers only: tomorrow's bake"), KEY)

    [status] = instance.requests_to(*STATUSES)
    assert status.form["visibility"] == ["private"]
    assert "spoiler_text" not in status.form


def test_a_link_card_is_made_by_mastodon_from_the_link_added_to_the_text(instance, crumb):
    instance.play("publish_text")

    crumb.publish(DeliveryContent("Menu", link=LinkCard("https://bakery.example/menu")), KEY)

    [status] = instance.requests_to(*STATUSES)
    assert status.form["status"] == ["Menu\n\nhttps://bakery.example/menu"]


def test_thread_parts_chain_and_the_first_comment_answers_the_main_status(instance, crumb):
    instance.play("thread")
    content = DeliveryContent(
        "Our week in bread, a thread 🧵",
        thread=["Monday: rye."],
        first_comment="Order at the counter.",
    )

    published = crumb.publish(content, KEY)

    assert published.remote_id == "113300000000000010"
    main, part, comment = instance.requests_to(*STATUSES)
    assert "in_reply_to_id" not in main.form
    assert part.form["in_reply_to_id"] == ["113300000000000010"]
    assert part.form["status"] == ["Monday: rye."]
    assert comment.form["in_reply_to_id"] == ["113300000000000010"]
    assert comment.form["status"] == ["Order at the counter."]
    assert [s.headers["Idempotency-Key"] for s in (main, part, comment)] == [
        KEY,
        f"{KEY}#part-2",
        f"{KEY}#first-comment",
    ]


# --- Errors ------------------------------------------------------------------------------


def test_422_is_permanent_with_mastodons_own_message(instance, crumb):
    instance.play("rejected_422")

    with pytest.raises(ConnectorError) as caught:
        crumb.publish(DeliveryContent("Fresh sourdough"), KEY)

    assert caught.value.permanent and not caught.value.auth_revoked
    assert "Validation failed: Text character limit of 500 exceeded" in caught.value.message


def test_429_waits_until_the_rate_limit_reset_the_headers_give(instance, crumb):
    instance.play("rate_limited_429")

    with pytest.raises(ConnectorError) as caught:
        crumb.publish(DeliveryContent("Fresh sourdough"), KEY)

    error = caught.value
    assert not error.permanent
    assert error.retry_after is not None
    # X-RateLimit-Reset is 60 s after the response's Date: 60 s from now on our clock.
    wait = (error.retry_after - datetime.now(UTC)).total_seconds()
    assert 50 < wait <= 61
    assert len(instance.requests_to(*STATUSES)) == 1  # the client did not sleep and retry


def test_401_means_the_authorization_is_revoked(instance, crumb):
    instance.play("token_revoked_401")

    with pytest.raises(ConnectorError) as publishing:
        crumb.publish(DeliveryContent("Fresh sourdough"), KEY)
    with pytest.raises(ConnectorError) as checking:
        crumb.check_connection()

    assert publishing.value.auth_revoked and publishing.value.permanent
    assert "The access token is invalid" in publishing.value.message
    assert checking.value.auth_revoked
    assert TOKEN not in publishing.value.message


def test_403_also_means_the_authorization_is_revoked(instance, crumb):
    instance.answer(*STATUSES, {"status": 403, "body": {"error": "This action is not allowed"}})

    with pytest.raises(ConnectorError) as caught:
        crumb.publish(DeliveryContent("Fresh sourdough"), KEY)

    assert caught.value.auth_revoked


def test_a_5xx_is_transient_and_the_retry_sends_the_same_idempotency_key(instance, crumb):
    instance.play("server_error_then_ok")
    content = DeliveryContent("Fresh sourdough at 7 🍞")

    with pytest.raises(ConnectorError) as caught:
        crumb.publish(content, KEY)
    published = crumb.publish(content, KEY)

    assert not caught.value.permanent and caught.value.retry_after is None
    assert "503" in caught.value.message
    assert published.remote_id == "113300000000000003"
    first, retry = instance.requests_to(*STATUSES)
    assert first.headers["Idempotency-Key"] == retry.headers["Idempotency-Key"] == KEY


def test_an_unreachable_instance_is_transient():
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    connector = MastodonConnector(f"http://127.0.0.1:{port}", TOKEN, timeout=2)

    with pytest.raises(ConnectorError) as caught:
        connector.publish(DeliveryContent("Fresh sourdough"), KEY)

    assert not caught.value.permanent
    assert "could not be reached" in caught.value.message


# --- Limits and validation ---------------------------------------------------------------


def test_links_count_as_23_characters_against_the_instances_limit(instance, crumb):
    link = "https://bread.shop/" + "menu/" * 30  # 168 characters
    fits = "a" * 476 + " " + link  # 476 + 1 + 23 = 500
    over = "a" * 477 + " " + link  # 501

    assert len(fits) > 500
    assert crumb.validate(DeliveryContent(fits)) == []
    [problem] = crumb.validate(DeliveryContent(over))
    assert problem.field == "text"
    assert "counts 501 characters" in problem.message and "allows 500" in problem.message
    assert "each link counts as 23" in problem.message


def test_limits_are_the_instances_own_and_read_once_per_channel(instance):
    recorded = json.loads((RECORDINGS / "instance.json").read_text())
    answer = recorded["exchanges"][0]["responses"][0]
    answer["body"]["configuration"]["statuses"]["max_characters"] = 1000
    instance.answer("GET", "/api/v2/instance", answer)
    connector = MastodonConnector(instance.url, TOKEN, cache_key="channel-1")
    again = MastodonConnector(instance.url, TOKEN, cache_key="channel-1")

    assert connector.validate(DeliveryContent("b" * 900)) == []
    assert again.validate(DeliveryContent("b" * 1001)) != []
    assert len(instance.requests_to("GET", "/api/v2/instance")) == 1


def test_the_content_warning_counts_against_the_limit(instance, crumb):
    content = MastodonContent("c" * 490, spoiler_text="Bread talk!")  # 490 + 11

    [problem] = crumb.validate(content)

    assert "counts 501 characters (with the content warning)" in problem.message


def test_media_rules_come_from_the_instance(instance, crumb, loaf, tmp_path):
    heavy = tmp_path / "heavy.bmp"
    heavy.write_bytes(b"BM" + b"\0" * 100)
    content = DeliveryContent(
        "Five loaves",
        media=[*[loaf] * 4, MediaFile(heavy, "image/bmp", "x" * 1501)],
    )

    messages = [p.message for p in crumb.validate(content)]

    assert "This Mastodon instance takes up to 4 attachments a post; this one has 5." in messages
    assert "heavy.bmp is image/bmp; this instance refuses it." in messages
    assert "The alt text of heavy.bmp has 1501 characters; this instance allows 1500." in messages


def test_invalid_content_is_refused_before_anything_is_uploaded(instance, crumb, loaf):
    with pytest.raises(ConnectorError) as caught:
        crumb.publish(DeliveryContent("d" * 501, media=[loaf]), KEY)

    assert caught.value.permanent
    assert instance.requests_to("POST", "/api/v2/media") == []


def test_an_unreachable_instance_leaves_mastodons_default_limits():
    limits = MastodonConnector("http://127.0.0.1:9", TOKEN, timeout=1).limits()

    assert limits == InstanceLimits()
    assert (limits.max_characters, limits.characters_reserved_per_url) == (500, 23)


def test_remote_mentions_count_without_their_domain():
    limits = InstanceLimits()

    assert limits.length("hi @baker@bread.example") == len("hi @baker")
    assert limits.length("👩‍👩‍👧 é") == 3


def test_rate_limits_are_declared_as_mastodon_publishes_them(crumb, loaf):
    assert {(r.unit, r.points, r.window) for r in MastodonConnector.rate_limits} == {
        ("requests", 300, timedelta(minutes=5)),
        ("media uploads", 30, timedelta(minutes=30)),
    }
    content = DeliveryContent("x", media=[loaf, loaf], thread=["y"], first_comment="z")
    assert crumb.cost(content) == {"requests": 7, "media uploads": 2}


# --- Delete, reconcile, connection -------------------------------------------------------


def test_delete_removes_the_status_and_a_gone_one_is_not_an_error(instance, crumb):
    instance.play("delete")

    crumb.delete("113300000000000001")
    crumb.delete("113300000000000099")

    assert [s.path for s in instance.sent if s.method == "DELETE"] == [
        "/api/v1/statuses/113300000000000001",
        "/api/v1/statuses/113300000000000099",
    ]


def test_find_published_finds_the_top_level_status_with_this_text(instance, crumb):
    instance.play("account_statuses")
    content = DeliveryContent("Fresh sourdough at 7 🍞\nhttps://bakery.example/menu")

    found = crumb.find_published(KEY, content)

    # The newer reply with the same text is not it: the main status is never a reply.
    assert found is not None and found.remote_id == "113300000000000020"
    assert found.remote_url == "https://bakery.example/@crumb/113300000000000020"
    assert instance.requests_to("GET", "/api/v1/accounts/verify_credentials") == []


def test_find_published_decodes_mastodons_html_before_comparing(instance, crumb):
    instance.play("account_statuses")

    found = crumb.find_published(KEY, DeliveryContent("Croissants are back & warm."))

    assert found is not None and found.remote_id == "113300000000000021"


def test_find_published_finds_nothing_for_other_text_or_outside_the_window(instance, crumb):
    instance.play("account_statuses")

    assert crumb.find_published(KEY, DeliveryContent("Baguettes sold out")) is None
    assert crumb.find_published(KEY, DeliveryContent("Stollen season.")) is None  # 2019
    assert crumb.find_published(KEY) is None  # nothing to match without the content


def test_check_connection_names_the_account(instance, crumb):
    account = crumb.check_connection()

    assert (account.remote_account_id, account.handle, account.display_name) == (
        "109382",
        "@crumb@bakery.example",
        "Crumb Bakery",
    )


def test_the_oauth_flow_registers_the_app_and_trades_the_code_for_a_token(instance):
    instance.play("oauth")
    redirect = "https://desk.example/channels/mastodon/callback"

    app = register_app(instance.url + "/", redirect)
    url = authorization_url(app, redirect, state="s3cr3t-state")
    credentials, account = exchange_code(app, redirect, "the-code")

    assert app["instance_url"] == instance.url
    assert app["client_id"] == "TWhM-tNSuncnqN7DBJmoyeLnk6K3iJJ71KKXxgL1hPM"
    [registration] = instance.requests_to("POST", "/api/v1/apps")
    assert registration.form["scopes"] == [" ".join(SCOPES)]
    assert registration.form["redirect_uris"] == [redirect]
    query = parse_qs(urlsplit(url).query)
    assert url.startswith(f"{instance.url}/oauth/authorize?")
    assert query["client_id"] == [app["client_id"]]
    assert query["state"] == ["s3cr3t-state"]
    assert query["redirect_uri"] == [redirect]
    [token] = instance.requests_to("POST", "/oauth/token")
    assert token.form["grant_type"] == ["authorization_code"]
    assert token.form["code"] == ["the-code"]
    assert credentials["access_token"] == "ZA-Yj3aBD8U8Cm7lKUp-lm9O9BmDgdhHzDeqsY8tlL0"
    assert credentials["account_id"] == "109382"
    assert account.handle == "@crumb@bakery.example"


def test_an_instance_that_refuses_the_code_asks_to_connect_again(instance):
    instance.play("oauth")
    instance.answer("POST", "/oauth/token", {"status": 400, "body": {"error": "invalid_grant"}})
    app = {"instance_url": instance.url, "client_id": "id", "client_secret": "secret"}

    with pytest.raises(ConnectorError) as caught:
        exchange_code(app, "https://desk.example/cb", "stale-code")

    assert caught.value.permanent
    assert "connect the account again" in caught.value.message


# --- Through the publishing engine -------------------------------------------------------


@pytest.mark.django_db
def test_a_due_delivery_on_a_mastodon_channel_is_published_with_its_link(
    instance, workspace, owner
):
    instance.play("publish_text")
    channel = Channel.objects.create(workspace=workspace, network=Network.MASTODON, handle="crumb")
    channel.set_credentials(
        {"instance_url": instance.url, "access_token": TOKEN, "account_id": "109382"}
    )
    channel.save(update_fields=["credentials_encrypted"])
    post = create_post(
        workspace,
        owner,
        PostContent(
            text="Fresh sourdough at 7 🍞",
            channel_ids=[channel.pk],
            scheduled_at=timezone.now() + timedelta(days=1),
        ),
    )
    delivery = post.deliveries.get()
    Delivery.objects.filter(pk=delivery.pk).update(
        scheduled_at=timezone.now() - timedelta(seconds=5)
    )

    assert run(delivery.pk, "w1") == DeliveryState.PUBLISHED

    delivery.refresh_from_db()
    assert delivery.remote_id == "113300000000000005"
    assert delivery.remote_url == "https://bakery.example/@crumb/113300000000000005"
    [status] = instance.requests_to(*STATUSES)
    assert status.headers["Idempotency-Key"] == delivery.idempotency_key
    assert status.form["status"] == ["Fresh sourdough at 7 🍞"]
