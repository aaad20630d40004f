"""The Nostr connector against a real relay (nostr-relay) on 127.0.0.1 (tests/peers_open.py):
connect, publish (a thread and a first comment as NIP-10 replies), exactly once through the
delivery's label, reconcile, delete (NIP-09), inbox, metrics; and the relay's refusals."""

# The server fixture is imported (one module, one server): pytest's arguments redefine it.
# ruff: noqa: F811

from __future__ import annotations

import hashlib
import json
import os
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from django.core.exceptions import ValidationError
from websockets.sync.client import connect as ws_connect
from websockets.sync.server import serve

from socialdesk.networks import nostr
from socialdesk.networks.base import ConnectorError, DeliveryContent, ItemKind, MediaFile
from socialdesk.networks.http import OutcomeUnknown
from tests.peers_open import nostr_relay  # noqa: F401

pytestmark = [pytest.mark.any_database, pytest.mark.slow]


@pytest.fixture
def allowed(settings, nostr_relay: str) -> None:
    settings.SOCIALDESK_FETCH_ALLOW = [nostr_relay.removeprefix("ws://")]


def query(relay: str, *filters: dict) -> list[dict]:
    """What the relay holds for ``filters``, read without the connector."""
    with ws_connect(relay, proxy=None) as socket:
        socket.send(json.dumps(["REQ", "t", *filters]))
        found = []
        while (message := json.loads(socket.recv(timeout=10)))[0] == "EVENT":
            found.append(message[2])
        return found


def send(relay: str, event: dict) -> list:
    with ws_connect(relay, proxy=None) as socket:
        socket.send(json.dumps(["EVENT", event]))
        return json.loads(socket.recv(timeout=10))


def test_keys_and_event_ids_follow_nip_01_and_nip_19() -> None:
    # NIP-19's own example key pair.
    secret = nostr.parse_private_key(
        "nsec180cvv07tjdrrgpa0j7j7tmnyl2yr6yr7l8j4s3evf6u64th6gkwsgyumg0"
    )
    assert secret is not None and secret.hex() == (
        "3bf0c63fcb93463407af97a5e5ee64fa883d107ef9e558472c4eb9aaaefa459d"
    )
    # NIP-19's npub example, there and back.
    npub = "npub10elfcs4fr0l0r8af98jlmgdh9c8tcxjvz9qkw038js35mp4dma8qzvjptg"
    raw = nostr.bech32_decode(npub, "npub")
    assert raw is not None and raw.hex() == (
        "7e7e9c42a91bfef19fa929e5fda1b72e0ebc1a4c1141673e2794234d86addf4e"
    )
    assert nostr.bech32_encode("npub", raw) == npub
    assert nostr.bech32_decode(npub[:-1] + "q", "npub") is None  # the checksum is checked
    assert nostr.parse_private_key("nsec1notakey") is None
    event = nostr.sign_event(secret, 1, "héllo", [["client", "socialdesk"]], created_at=1700000000)
    serialised = json.dumps(
        [0, event["pubkey"], 1700000000, 1, [["client", "socialdesk"]], "héllo"],
        separators=(",", ":"),
        ensure_ascii=False,
    )
    assert event["id"] == hashlib.sha256(serialised.encode()).hexdigest()


def test_connect_checks_key_and_relays(nostr_relay: str, settings) -> None:
    key = os.urandom(32).hex()
    settings.SOCIALDESK_FETCH_ALLOW = []
    with pytest.raises(ValidationError) as refused:
        nostr.connect({"private_key": key, "relays": nostr_relay})
    assert "relays" in refused.value.message_dict
    with pytest.raises(ValidationError) as bad_key:
        nostr.connect({"private_key": "abc", "relays": nostr_relay})
    assert "private_key" in bad_key.value.message_dict

    settings.SOCIALDESK_FETCH_ALLOW = [nostr_relay.removeprefix("ws://")]
    account = nostr.connect({"private_key": key, "relays": f" {nostr_relay}/ \n"})
    assert account.credentials == {
        "private_key": key,
        "public_key": nostr.public_key_of(bytes.fromhex(key)),
        "relays": nostr_relay,
    }
    assert account.info.handle.startswith("npub1")


def test_publish_once_reconcile_and_delete(nostr_relay: str, allowed: None) -> None:
    secret = os.urandom(32)
    sender = nostr.NostrConnector(secret, [nostr_relay])
    content = DeliveryContent(
        text="Fresh bread today 🍞", thread=("Rye on Thursdays.",), first_comment="Ask for crust."
    )
    before = int(time.time()) - 1
    published = sender.publish(content, "delivery-41")
    assert published.remote_url.startswith("https://njump.me/note1")

    notes = query(nostr_relay, {"authors": [sender.pubkey], "kinds": [1]})
    by_text = {n["content"]: n for n in notes}
    main, part, comment = (
        by_text[t] for t in ("Fresh bread today 🍞", "Rye on Thursdays.", "Ask for crust.")
    )
    assert main["id"] == published.remote_id
    assert main["created_at"] >= before, "signed at send time"
    assert ["client", "socialdesk"] in main["tags"]
    assert ["e", main["id"], "", "root"] in part["tags"]
    assert ["e", main["id"], "", "root"] in comment["tags"]
    assert not any(t[0] == "e" and t[-1] == "reply" for t in comment["tags"])

    # A retry finds every note by its label and signs nothing new.
    assert sender.publish(content, "delivery-41") == published
    assert len(query(nostr_relay, {"authors": [sender.pubkey], "kinds": [1]})) == 3
    assert nostr.NostrConnector(secret, [nostr_relay]).find_published("delivery-41") == published
    assert sender.find_published("delivery-42") is None

    sender.delete(published.remote_id)
    assert query(nostr_relay, {"authors": [sender.pubkey], "kinds": [1]}) == []
    deletion = query(nostr_relay, {"authors": [sender.pubkey], "kinds": [5]})[0]
    assert {t[1] for t in deletion["tags"] if t[0] == "e"} == {
        main["id"],
        part["id"],
        comment["id"],
    }


def test_images_go_as_public_addresses_with_imeta(
    nostr_relay: str, allowed: None, settings, tmp_path: Path
) -> None:
    settings.MEDIA_ROOT = str(tmp_path)
    settings.MEDIA_PUBLIC_URL = "https://media.bakery.example/m"
    (tmp_path / "media").mkdir()
    image = tmp_path / "media" / "loaf.png"
    image.write_bytes(b"\x89PNG\r\n\x1a\n not really a picture")
    sender = nostr.NostrConnector(os.urandom(32), [nostr_relay])
    content = DeliveryContent(
        text="Fresh bread", media=[MediaFile(image, "image/png", "A sourdough loaf")]
    )
    assert sender.validate(content) == []
    published = sender.publish(content, "delivery-70")
    (note,) = query(nostr_relay, {"ids": [published.remote_id]})
    address = "https://media.bakery.example/m/media/loaf.png"
    assert note["content"] == f"Fresh bread\n{address}"
    assert [
        "imeta",
        f"url {address}",
        "m image/png",
        f"x {hashlib.sha256(image.read_bytes()).hexdigest()}",
        f"size {image.stat().st_size}",
        "alt A sourdough loaf",
    ] in note["tags"]


def test_inbox_and_metrics(nostr_relay: str, allowed: None) -> None:
    sender = nostr.NostrConnector(os.urandom(32), [nostr_relay])
    reader = os.urandom(32)
    since = datetime.now(UTC) - timedelta(minutes=1)
    first = sender.fetch_inbox("", since)
    assert first.items == []
    ours = sender.publish(DeliveryContent(text="Closed on Monday."), "delivery-50")
    reply = nostr.sign_event(
        reader, 1, "And Tuesday?", [["e", ours.remote_id, "", "root"], ["p", sender.pubkey]]
    )
    assert send(nostr_relay, reply)[2] is True
    for kind, content in ((7, "+"), (6, "")):
        event = nostr.sign_event(
            reader, kind, content, [["e", ours.remote_id], ["p", sender.pubkey]]
        )
        assert send(nostr_relay, event)[2] is True
    follows = nostr.sign_event(reader, 3, "", [["p", sender.pubkey]])
    assert send(nostr_relay, follows)[2] is True

    page = sender.fetch_inbox(first.cursor, since)
    assert [item.text for item in page.items] == ["And Tuesday?"]
    item = page.items[0]
    assert item.kind == ItemKind.COMMENT
    assert item.our_post_remote_id == ours.remote_id
    assert item.author.remote_id == nostr.public_key_of(reader)
    metrics = sender.fetch_metrics([ours.remote_id])[ours.remote_id]
    assert (metrics.likes, metrics.reposts, metrics.replies, metrics.views) == (1, 1, 1, None)
    assert sender.fetch_followers() == 1


def test_refusals(nostr_relay: str, settings, tmp_path: Path) -> None:
    settings.SOCIALDESK_FETCH_ALLOW = [nostr_relay.removeprefix("ws://"), "127.0.0.1:9"]
    sender = nostr.NostrConnector(os.urandom(32), [nostr_relay])
    settings.MEDIA_ROOT = str(tmp_path / "library")
    image = tmp_path / "a.png"  # outside the media library: no public address
    image.write_bytes(b"\x89PNG")
    problems = sender.validate(
        DeliveryContent(text="x" * 5000, media=[MediaFile(image, "image/png")])
    )
    assert {p.field for p in problems} == {"text", "media"}
    assert "media library" in problems[-1].message

    # A note dated over an hour ahead is refused by the relay: permanent, in its words.
    future = nostr.sign_event(os.urandom(32), 1, "later", [], created_at=int(time.time()) + 7200)
    with pytest.raises(ConnectorError) as refused:
        sender._publish_event(future)
    assert refused.value.permanent and "in the future" in refused.value.message

    # No relay answering is transient.
    gone = nostr.NostrConnector(os.urandom(32), ["ws://127.0.0.1:9"], timeout=2)
    with pytest.raises(ConnectorError) as unreachable:
        gone.publish(DeliveryContent(text="hi"), "k")
    assert not unreachable.value.permanent


@pytest.fixture
def mute_relay(nostr_relay: str):
    """A relay in front of the real one that stores what it is sent but never answers ``OK``
    (an answer lost on the way back); queries pass through."""

    def handle(client) -> None:
        with ws_connect(nostr_relay, proxy=None) as upstream:
            for message in client:
                upstream.send(message)
                verb = json.loads(message)[0]
                if verb == "EVENT":
                    upstream.recv(timeout=10)  # the real relay's OK, dropped
                if verb != "REQ":
                    continue
                while True:
                    answer = upstream.recv(timeout=10)
                    client.send(answer)
                    if json.loads(answer)[0] in ("EOSE", "CLOSED"):
                        break

    with serve(handle, "127.0.0.1", 0) as server:
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        yield f"ws://127.0.0.1:{server.socket.getsockname()[1]}"
        server.shutdown()


def test_a_lost_answer_is_an_unknown_outcome_that_reconciling_settles(
    nostr_relay: str, mute_relay: str, settings
) -> None:
    settings.SOCIALDESK_FETCH_ALLOW = [
        nostr_relay.removeprefix("ws://"),
        mute_relay.removeprefix("ws://"),
    ]
    secret = os.urandom(32)
    content = DeliveryContent(text="Pretzels at noon.")
    with pytest.raises(OutcomeUnknown):
        nostr.NostrConnector(secret, [mute_relay], timeout=1).publish(content, "delivery-60")
    sender = nostr.NostrConnector(secret, [nostr_relay])
    found = sender.find_published("delivery-60", content)
    assert found is not None
    assert sender.publish(content, "delivery-60") == found  # not signed again
    assert len(query(nostr_relay, {"authors": [sender.pubkey], "kinds": [1]})) == 1
