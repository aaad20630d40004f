"""The Matrix connector against a real Synapse on 127.0.0.1 (tests/peers_open.py): connect,
publish (text, image, thread, first comment), exactly once, reconcile, delete, inbox,
followers; and the homeserver's refusals as the engine's decisions."""

# The server fixture is imported (one module, one server): pytest's arguments redefine it.
# ruff: noqa: F811

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from django.core.exceptions import ValidationError
from PIL import Image

from socialdesk.networks import matrix
from socialdesk.networks.base import ConnectorError, DeliveryContent, ItemKind, MediaFile
from socialdesk.networks.http import OutcomeUnknown
from tests.peers_open import MatrixServer, MatrixUser, matrix_server  # noqa: F401

pytestmark = [pytest.mark.any_database, pytest.mark.slow]


@pytest.fixture(scope="module")
def room(matrix_server: MatrixServer) -> dict:
    owner = matrix_server.register("news")
    reader = matrix_server.register("reader")
    alias_name = f"news{owner.user_id[5:11]}"
    created = matrix_server.call(
        owner,
        "POST",
        "/_matrix/client/v3/createRoom",
        json={"preset": "public_chat", "room_alias_name": alias_name, "name": "News"},
    )
    matrix_server.call(reader, "POST", f"/_matrix/client/v3/join/{created['room_id']}", json={})
    return {
        "owner": owner,
        "reader": reader,
        "room_id": created["room_id"],
        "alias": f"#{alias_name}:localhost",
    }


@pytest.fixture
def allowed(settings, matrix_server: MatrixServer) -> None:
    settings.SOCIALDESK_FETCH_ALLOW = [matrix_server.url.removeprefix("http://")]


def connector(server: MatrixServer, room: dict, user: MatrixUser | None = None):
    user = user or room["owner"]
    return matrix.MatrixConnector(server.url, user.access_token, room["room_id"])


def messages(server: MatrixServer, room: dict, limit: int = 30) -> list[dict]:
    """The room's recent events as the reader sees them, oldest first."""
    found = server.call(
        room["reader"],
        "GET",
        f"/_matrix/client/v3/rooms/{room['room_id']}/messages",
        params={"dir": "b", "limit": str(limit)},
    )
    return [e for e in reversed(found["chunk"]) if e["type"] == "m.room.message"]


def picture(tmp_path: Path) -> MediaFile:
    path = tmp_path / "bread.png"
    Image.new("RGB", (32, 24), (200, 150, 90)).save(path)
    return MediaFile(path, "image/png", "A loaf of sourdough on the counter")


def test_connect_logs_in_once_and_keeps_the_token_not_the_password(
    matrix_server: MatrixServer,
    room: dict,
    allowed: None,
) -> None:
    owner = room["owner"]
    account = matrix.connect(
        {
            "homeserver": matrix_server.url + "/",
            "room": room["alias"],
            "user": owner.user_id,
            "password": owner.password,
            "access_token": "",
        }
    )
    assert account.credentials["room_id"] == room["room_id"]
    assert account.credentials["user_id"] == owner.user_id
    assert account.credentials["access_token"]
    assert owner.password not in account.credentials.values()
    assert account.info.handle == owner.user_id

    with pytest.raises(ValidationError) as wrong:
        matrix.connect(
            {
                "homeserver": matrix_server.url,
                "room": room["alias"],
                "user": owner.user_id,
                "password": "not it",
            }
        )
    assert "password" in wrong.value.message_dict

    stranger = matrix_server.register("stranger")
    with pytest.raises(ValidationError) as outside:
        matrix.connect(
            {
                "homeserver": matrix_server.url,
                "room": room["room_id"],
                "access_token": stranger.access_token,
            }
        )
    assert "has not joined" in outside.value.message_dict["room"][0]


def test_connect_refuses_an_internal_address_the_operator_did_not_allow(
    matrix_server: MatrixServer,
    room: dict,
    settings,
) -> None:
    settings.SOCIALDESK_FETCH_ALLOW = []
    with pytest.raises(ValidationError) as refused:
        matrix.connect(
            {
                "homeserver": matrix_server.url,
                "room": room["room_id"],
                "access_token": room["owner"].access_token,
            }
        )
    assert "SOCIALDESK_FETCH_ALLOW" in refused.value.message_dict["homeserver"][0]


def test_publish_once_reconcile_and_delete(
    matrix_server: MatrixServer,
    room: dict,
    allowed: None,
    tmp_path: Path,
) -> None:
    image = picture(tmp_path)
    content = DeliveryContent(
        text="Fresh bread today 🍞 at https://bakery.example/menu\n\nOpen <8am>.",
        media=[image],
        thread=("Rye on Thursdays.",),
        first_comment="Ask for the crust.",
    )
    sender = connector(matrix_server, room)
    assert sender.validate(content) == []
    published = sender.publish(content, "delivery-41")
    assert published.remote_url.startswith("https://matrix.to/#/")

    events = messages(matrix_server, room)[-4:]
    main, shown, part, comment = events
    assert main["event_id"] == published.remote_id
    assert main["content"]["body"] == content.text
    assert main["content"]["format"] == "org.matrix.custom.html"
    assert '<a href="https://bakery.example/menu">' in main["content"]["formatted_body"]
    assert "&lt;8am&gt;" in main["content"]["formatted_body"]
    assert shown["content"]["msgtype"] == "m.image"
    assert shown["content"]["body"] == image.alt_text
    server_name, media_id = shown["content"]["url"].removeprefix("mxc://").split("/")
    downloaded = matrix_server.http.get(
        f"/_matrix/client/v1/media/download/{server_name}/{media_id}",
        headers={"Authorization": f"Bearer {room['reader'].access_token}"},
    )
    assert downloaded.content == image.path.read_bytes()
    assert part["content"]["m.relates_to"]["rel_type"] == "m.thread"
    assert part["content"]["m.relates_to"]["event_id"] == published.remote_id
    assert comment["content"]["m.relates_to"] == {"m.in_reply_to": {"event_id": main["event_id"]}}

    # A retry with the same key sends nothing new and answers the same announcement.
    assert sender.publish(content, "delivery-41") == published
    assert [e["event_id"] for e in messages(matrix_server, room)[-4:]] == [
        e["event_id"] for e in events
    ]

    # Reconciling: by transaction id with our token; by text from another login.
    fresh = connector(matrix_server, room)
    assert fresh.find_published("delivery-41", content) == published
    assert fresh.find_published("delivery-42", None) is None
    other_login = matrix_server.http.post(
        "/_matrix/client/v3/login",
        json={
            "type": "m.login.password",
            "password": room["owner"].password,
            "identifier": {"type": "m.id.user", "user": room["owner"].user_id},
        },
    ).json()["access_token"]
    elsewhere = matrix.MatrixConnector(matrix_server.url, other_login, room["room_id"])
    assert elsewhere.find_published("delivery-41", content) == published

    sender.delete(published.remote_id)
    after = {e["event_id"]: e for e in messages(matrix_server, room)}
    for event in events:
        assert after[event["event_id"]]["content"] == {}, "redacted, with what came with it"
    sender.delete(published.remote_id)  # already redacted: not an error


def test_inbox_reads_replies_of_others_and_followers(
    matrix_server: MatrixServer,
    room: dict,
    allowed: None,
) -> None:
    sender = connector(matrix_server, room)
    since = datetime.now(UTC) - timedelta(minutes=5)
    first = sender.fetch_inbox("", since)
    ours = sender.publish(DeliveryContent(text="Closed on Monday."), "delivery-50")
    matrix_server.call(
        room["reader"],
        "PUT",
        f"/_matrix/client/v3/rooms/{room['room_id']}/send/m.room.message/r1",
        json={
            "msgtype": "m.text",
            "body": "> <@news> Closed on Monday.\n\nAnd Tuesday?",
            "m.relates_to": {"m.in_reply_to": {"event_id": ours.remote_id}},
        },
    )
    page = sender.fetch_inbox(first.cursor, since)
    assert [item.text for item in page.items] == ["And Tuesday?"]
    item = page.items[0]
    assert item.kind == ItemKind.COMMENT
    assert item.our_post_remote_id == ours.remote_id
    assert item.author.remote_id == room["reader"].user_id
    assert sender.fetch_inbox(page.cursor, since).items == []
    joined = matrix_server.call(
        room["reader"], "GET", f"/_matrix/client/v3/rooms/{room['room_id']}/joined_members"
    )["joined"]
    assert room["reader"].user_id in joined
    assert sender.fetch_followers() == len(joined) - 1  # everyone but the account itself


def test_revoked_token_and_rate_limit_are_the_engines_decisions(
    matrix_server: MatrixServer,
    room: dict,
    allowed: None,
) -> None:
    user = matrix_server.register("gone")
    matrix_server.call(
        room["owner"],
        "POST",
        f"/_matrix/client/v3/rooms/{room['room_id']}/invite",
        json={"user_id": user.user_id},
    )
    matrix_server.call(user, "POST", f"/_matrix/client/v3/join/{room['room_id']}", json={})
    matrix_server.call(user, "POST", "/_matrix/client/v3/logout", json={})
    with pytest.raises(ConnectorError) as revoked:
        connector(matrix_server, room, user).publish(DeliveryContent(text="hi"), "k-1")
    assert revoked.value.auth_revoked and "M_UNKNOWN_TOKEN" in revoked.value.message

    # Synapse's M_LIMIT_EXCEEDED (the test homeserver's limits are raised, so it is played).
    def limited(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            429,
            json={
                "errcode": "M_LIMIT_EXCEEDED",
                "error": "Too Many Requests",
                "retry_after_ms": 2500,
            },
        )

    slow = matrix.MatrixConnector(
        matrix_server.url,
        "t",
        room["room_id"],
        user_id="@x:localhost",
        transport=httpx.MockTransport(limited),
    )
    with pytest.raises(ConnectorError) as waited:
        slow.publish(DeliveryContent(text="hi"), "k-2")
    assert waited.value.rate_limited and not waited.value.permanent
    assert waited.value.retry_after is not None
    assert 1 < (waited.value.retry_after - datetime.now(UTC)).total_seconds() <= 2.5


class LosesAnswers(httpx.HTTPTransport):
    """Sends each write to the real homeserver, then loses its answer (a read timeout)."""

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = super().handle_request(request)
        if request.method == "PUT":
            response.close()
            raise httpx.ReadTimeout("the answer was lost", request=request)
        return response


def test_a_lost_answer_is_an_unknown_outcome_that_reconciling_settles(
    matrix_server: MatrixServer, room: dict, allowed: None
) -> None:
    content = DeliveryContent(text="Pretzels at noon.")
    lossy = matrix.MatrixConnector(
        matrix_server.url,
        room["owner"].access_token,
        room["room_id"],
        transport=LosesAnswers(),
    )
    with pytest.raises(OutcomeUnknown):
        lossy.publish(content, "delivery-60")
    sender = connector(matrix_server, room)
    found = sender.find_published("delivery-60", content)
    assert found is not None
    assert sender.publish(content, "delivery-60") == found  # the retry sends nothing new
    bodies = [e["content"].get("body") for e in messages(matrix_server, room)]
    assert bodies.count("Pretzels at noon.") == 1
