"""Nostr: kind 1 notes signed with the channel's key and sent to its relays (NIP-01).

Why no SDK: ``nostr-sdk`` (the maintained rust-nostr binding) runs its client on an async
runtime of its own inside a ~20 MB native module, and its API changes from release to release;
what Socialdesk needs is small and stable: an event id (a SHA-256 of the serialised event), a
BIP-340 Schnorr signature (``coincurve``, the libsecp256k1 binding) and a few messages over a
WebSocket (``websockets``' synchronous client). Tested against a real relay (``nostr-relay``)
on 127.0.0.1 (``tests/peers_open.py``).

Connecting (a form): the private key (``nsec1…`` or 64 hex digits; stored encrypted with the
channel's credentials) and the relays, one per line: ``wss://`` addresses, checked with
``guarded_fetch``; ``ws://`` only for relays the operator allows in ``SOCIALDESK_FETCH_ALLOW``
(the tests' relay on loopback).

Signed at send time: relays refuse events dated more than an hour ahead, and an event's id
covers its ``created_at``, so a note signed again on a retry is a different event.
Exactly once therefore rests on a label, not on the id: every note carries a NIP-32 label of
the delivery (``["L", "socialdesk.delivery"]``, ``["l", <digest of the idempotency key>,
"socialdesk.delivery"]``), a single-letter tag that relays index. Before signing, ``publish``
asks the relays for our notes with those labels (one ``REQ``), reuses what one of them
already has and signs only what is missing; ``find_published`` asks the same question. The
digest says nothing about the delivery; the label is visible to anyone reading the event,
like the ``["client", "socialdesk"]`` tag (NIP-89) every note carries.

Shapes: thread parts and the first comment are replies with NIP-10 marked ``e`` tags
(``root``, then ``reply`` for the part before). Relays store no files: each image goes as its
public address (``http.public_media_url``: ``MEDIA_PUBLIC_URL``, else ``SITE_URL`` +
``MEDIA_URL``, which must be reachable by the people reading) on a line of its own at the end
of the note, described by an ``imeta`` tag (NIP-92: url, MIME type, SHA-256, size, alt text);
a file outside the media library has no such address and is refused by ``validate``.
Deleting is a kind 5 deletion request (NIP-09) for the note and the replies we made under it;
relays may or may not honour it (the tests' relay does).

A note counts as sent when at least one relay answered ``OK`` true; refused by every relay it
is permanent with the relays' own words (``invalid:``, ``blocked:`` …); sent with no answer
from any relay, the outcome is unknown (``OutcomeUnknown``) and ``find_published`` settles it.

Reading: mentions and replies (``#p`` our key) into the inbox. Analytics: reactions (kind 7)
as likes, reposts (kind 6), replies, and the contact lists (kind 3) naming us as followers, as
the channel's relays know them: Nostr has no global counts and no views.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar

import coincurve
from django.core.exceptions import ValidationError
from websockets.exceptions import WebSocketException
from websockets.sync.client import ClientConnection
from websockets.sync.client import connect as ws_connect

from socialdesk import guarded_fetch

from . import oauth
from .base import (
    AccountInfo,
    Connector,
    ConnectorError,
    DeliveryContent,
    InboxAuthor,
    InboxItem,
    InboxPage,
    ItemKind,
    MediaFile,
    MetricInfo,
    Metrics,
    Problem,
    Published,
    RateLimit,
)
from .catalog import FormField, NetworkAbout
from .http import OutcomeUnknown, public_media_url

ABOUT = NetworkAbout(
    network="nostr",
    connect="form",
    # NIP-01 sets no length; relays cap whole events (nostr-relay: 4,096 bytes by default,
    # strfry 64 KB). Socialdesk keeps notes within what the smaller relays take.
    text_max=3000,
    operator_setup="Nothing to register: each channel brings its own key and relays.",
    accounts="Any Nostr key (nsec or hex) and one or more relays that accept its notes.",
    tested="Against a real relay (nostr-relay) on 127.0.0.1 in the test suite.",
    reads=(
        "Mentions and replies (#p) into the inbox; reactions as likes, reposts, replies and "
        "followers, as the channel's relays know them. Nostr has no views and no global counts."
    ),
    reference="https://github.com/nostr-protocol/nips",
)

FORM_FIELDS = (
    FormField(
        "private_key",
        "Private key",
        help="nsec1… or 64 hexadecimal digits. Stored encrypted; never shown again.",
        secret=True,
    ),
    FormField(
        "relays",
        "Relays",
        help="One wss:// address per line, e.g. wss://relay.example.org.",
        placeholder="wss://relay.example.org",
    ),
)

LABEL_NAMESPACE = "socialdesk.delivery"
CLIENT_TAG = ["client", "socialdesk"]
MAX_EVENT_BYTES = 4096  # nostr-relay's default max_event_size, the smallest common cap
RECONCILE_WINDOW = timedelta(days=7)
TIMEOUT = 10.0  # seconds for one relay's answer
INBOX_LIMIT = 200
_BECH32 = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"


# -- keys and events (NIP-01, NIP-19) -----------------------------------------------------------


def _polymod(values: Iterable[int]) -> int:
    generator = [0x3B6A57B2, 0x26508E6D, 0x1EA119FA, 0x3D4233DD, 0x2A1462B3]
    check = 1
    for value in values:
        top = check >> 25
        check = (check & 0x1FFFFFF) << 5 ^ value
        for i in range(5):
            check ^= generator[i] if (top >> i) & 1 else 0
    return check


def _hrp_expand(hrp: str) -> list[int]:
    return [ord(c) >> 5 for c in hrp] + [0] + [ord(c) & 31 for c in hrp]


def _convert(data: Iterable[int], source: int, target: int, pad: bool) -> list[int] | None:
    accumulator, bits, out = 0, 0, []
    for value in data:
        accumulator = (accumulator << source) | value
        bits += source
        while bits >= target:
            bits -= target
            out.append((accumulator >> bits) & ((1 << target) - 1))
    if pad and bits:
        out.append((accumulator << (target - bits)) & ((1 << target) - 1))
    elif not pad and (bits >= source or (accumulator << (target - bits)) & ((1 << target) - 1)):
        return None
    return out


def bech32_decode(text: str, hrp: str) -> bytes | None:
    """The bytes of a NIP-19 ``hrp1…`` string, or None when it is not one (checksum too)."""
    text = text.strip().lower()
    if not text.startswith(hrp + "1") or any(c not in _BECH32 for c in text[len(hrp) + 1 :]):
        return None
    data = [_BECH32.index(c) for c in text[len(hrp) + 1 :]]
    if len(data) < 6 or _polymod(_hrp_expand(hrp) + data) != 1:
        return None
    decoded = _convert(data[:-6], 5, 8, False)
    return bytes(decoded) if decoded is not None else None


def bech32_encode(hrp: str, data: bytes) -> str:
    five = _convert(data, 8, 5, True) or []
    polymod = _polymod([*_hrp_expand(hrp), *five, 0, 0, 0, 0, 0, 0]) ^ 1
    checksum = [(polymod >> 5 * (5 - i)) & 31 for i in range(6)]
    return hrp + "1" + "".join(_BECH32[d] for d in five + checksum)


def parse_private_key(text: str) -> bytes | None:
    """32 key bytes from ``nsec1…`` or hex, or None when it is neither (or not a valid key)."""
    text = text.strip()
    raw = bech32_decode(text, "nsec") if text.lower().startswith("nsec1") else None
    if raw is None:
        try:
            raw = bytes.fromhex(text)
        except ValueError:
            return None
    if len(raw) != 32:
        return None
    try:
        coincurve.PrivateKey(raw)
    except ValueError:
        return None
    return raw


def public_key_of(secret: bytes) -> str:
    """The x-only public key (hex), as Nostr names an account."""
    return coincurve.PrivateKey(secret).public_key_xonly.format().hex()


def event_id(pubkey: str, created_at: int, kind: int, tags: list[list[str]], content: str) -> str:
    serialised = json.dumps(
        [0, pubkey, created_at, kind, tags, content], separators=(",", ":"), ensure_ascii=False
    )
    return hashlib.sha256(serialised.encode()).hexdigest()


def sign_event(
    secret: bytes, kind: int, content: str, tags: list[list[str]], created_at: int | None = None
) -> dict[str, Any]:
    """A complete signed event, dated now unless told."""
    pubkey = public_key_of(secret)
    created = int(time.time()) if created_at is None else created_at
    identifier = event_id(pubkey, created, kind, tags, content)
    signature = coincurve.PrivateKey(secret).sign_schnorr(bytes.fromhex(identifier))
    return {
        "id": identifier,
        "pubkey": pubkey,
        "created_at": created,
        "kind": kind,
        "tags": tags,
        "content": content,
        "sig": signature.hex(),
    }


def label_of(idempotency_key: str, part: str = "") -> str:
    """The NIP-32 label value of one note of a delivery: opaque and stable."""
    return hashlib.sha256(f"socialdesk:{idempotency_key}{part}".encode()).hexdigest()[:32]


def _labels(event: Mapping[str, Any]) -> set[str]:
    return {
        str(tag[1])
        for tag in event.get("tags") or []
        if len(tag) >= 3 and tag[0] == "l" and tag[2] == LABEL_NAMESPACE
    }


def split_relays(text: str) -> list[str]:
    return [r.strip().rstrip("/") for r in text.replace(",", "\n").splitlines() if r.strip()]


def check_relay(url: str) -> None:
    """``wss://`` through ``guarded_fetch``; ``ws://`` only where the operator allows it.
    Raises ``guarded_fetch.FetchRefused``/``FetchFailed`` with words for people."""
    if url.startswith("wss://"):
        guarded_fetch.check("https://" + url[len("wss://") :])
        return
    if url.startswith("ws://"):
        target = guarded_fetch.check("http://" + url[len("ws://") :])
        if any(
            entry.admits(target.host, address, target.port)
            for entry in guarded_fetch.allow_list()
            for address in target.addresses
        ):
            return
        raise guarded_fetch.FetchRefused(f"{url}: use a wss:// (encrypted) relay address.")
    raise guarded_fetch.FetchRefused(f"{url}: a relay address starts with wss://.")


@dataclass
class _Sent:
    accepted: list[str]
    refused: list[str]  # the relays' own words
    silent: list[str]  # relays that took the event and never answered
    unreachable: list[str]


class NostrConnector(Connector):
    """One key, posting to its relays."""

    network = "nostr"
    # Relays publish no common limit; nostr-relay has none by default, public relays allow a
    # few notes a minute. Socialdesk paces itself to that.
    rate_limits: ClassVar[tuple[RateLimit, ...]] = (RateLimit("events", 10, timedelta(minutes=1)),)
    reads = True
    measures = True
    metric_table: ClassVar[tuple[MetricInfo, ...]] = (
        MetricInfo("likes", "reactions, kind 7 events tagging the note", "As the relays know."),
        MetricInfo("reposts", "reposts, kind 6 events tagging the note", "As the relays know."),
        MetricInfo("replies", "kind 1 replies tagging the note", "As the relays know."),
        MetricInfo("followers", "contact lists (kind 3) naming the key", "As the relays know."),
    )
    metric_note: ClassVar[str] = (
        "Nostr has no views and no global counts: each relay knows what reached it, and "
        "Socialdesk asks the channel's relays only."
    )

    def __init__(self, private_key: bytes, relays: Sequence[str], *, timeout: float = TIMEOUT):
        self._secret = private_key
        self.pubkey = public_key_of(private_key)
        self.relays = list(relays)
        self.timeout = timeout

    def __repr__(self) -> str:
        return f"<NostrConnector {self.pubkey[:12]}… on {len(self.relays)} relays>"

    # -- talking to relays ------------------------------------------------------------------

    def _open(self, relay: str) -> ClientConnection:
        check_relay(relay)
        return ws_connect(
            relay,
            open_timeout=self.timeout,
            close_timeout=1,
            max_size=2**22,
            user_agent_header="Socialdesk",
            proxy=None,
        )

    def _query(self, filters: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Events matching ``filters`` from every relay that answers, each once. Raises a
        transient error when none answers."""
        found: dict[str, dict[str, Any]] = {}
        answered = 0
        problems = []
        for relay in self.relays:
            try:
                with self._open(relay) as socket:
                    subscription = "sd" + hashlib.sha256(relay.encode()).hexdigest()[:8]
                    socket.send(json.dumps(["REQ", subscription, *filters]))
                    deadline = time.monotonic() + self.timeout
                    while True:
                        message = json.loads(socket.recv(timeout=deadline - time.monotonic()))
                        if message[0] == "EVENT" and len(message) >= 3:
                            found.setdefault(str(message[2].get("id")), message[2])
                        elif message[0] in ("EOSE", "CLOSED"):
                            break
                    socket.send(json.dumps(["CLOSE", subscription]))
                answered += 1
            except (OSError, TimeoutError, WebSocketException, ValueError, IndexError) as error:
                problems.append(f"{relay}: {type(error).__name__}")
            except (guarded_fetch.FetchRefused, guarded_fetch.FetchFailed) as error:
                problems.append(f"{relay}: {error}")
        if not answered:
            raise ConnectorError(
                f"No relay answered ({'; '.join(problems)}); it will be tried again."
            )
        return sorted(found.values(), key=lambda e: (int(e.get("created_at") or 0), e["id"]))

    def _send(self, event: Mapping[str, Any]) -> _Sent:
        sent = _Sent([], [], [], [])
        for relay in self.relays:
            try:
                socket = self._open(relay)
            except (OSError, TimeoutError, WebSocketException) as error:
                sent.unreachable.append(f"{relay}: {type(error).__name__}")
                continue
            except (guarded_fetch.FetchRefused, guarded_fetch.FetchFailed) as error:
                sent.refused.append(f"{relay}: {error}")
                continue
            with socket:
                try:
                    socket.send(json.dumps(["EVENT", event]))
                except (OSError, WebSocketException) as error:
                    sent.unreachable.append(f"{relay}: {type(error).__name__}")
                    continue
                try:
                    deadline = time.monotonic() + self.timeout
                    while True:
                        message = json.loads(socket.recv(timeout=deadline - time.monotonic()))
                        # One event in flight per connection: an ``OK`` without its id
                        # (nostr-relay's refusals) is still the answer to it.
                        if message[0] == "OK" and message[1] in (event["id"], ""):
                            words = str(message[3]) if len(message) > 3 else ""
                            # "duplicate:" is a relay that already has it (NIP-01).
                            if message[2] or words.startswith("duplicate:"):
                                sent.accepted.append(relay)
                            else:
                                sent.refused.append(f"{relay}: {words}")
                            break
                except (OSError, TimeoutError, WebSocketException, ValueError, IndexError):
                    sent.silent.append(relay)
        return sent

    def _publish_event(self, event: Mapping[str, Any]) -> None:
        sent = self._send(event)
        if sent.accepted:
            return
        if sent.silent:
            raise OutcomeUnknown(
                "The relays took the note and did not answer; whether it was stored is "
                "checked before any retry."
            )
        if sent.refused:
            transient = all("rate-limited" in words or "error:" in words for words in sent.refused)
            raise ConnectorError(
                "The relays refused the note: " + "; ".join(sent.refused) + ".",
                permanent=not transient,
            )
        raise ConnectorError(
            f"No relay could be reached ({'; '.join(sent.unreachable)}); it will be tried again."
        )

    # -- the connector interface ------------------------------------------------------------

    def cost(self, content: DeliveryContent) -> dict[str, int]:
        return {"events": 1 + len(content.thread) + bool(content.first_comment)}

    def validate(self, content: DeliveryContent) -> list[Problem]:
        if content.action != "post":
            return self.action_problems(content)
        problems = []
        if not content.text.strip():
            problems.append(Problem("text", "Write some text: a Nostr note is text."))
        texts = [("text", content.text), *(("thread", p) for p in content.thread)]
        if content.first_comment:
            texts.append(("first_comment", content.first_comment))
        for name, text in texts:
            # Room for the id, key, signature and tags the event carries (~700 bytes).
            if len(text.encode()) > MAX_EVENT_BYTES - 900 or len(text) > ABOUT.text_max:
                problems.append(
                    Problem(name, "Too long for a Nostr note: relays refuse events over 4 KB.")
                )
        for number, part in enumerate(content.thread, start=2):
            if not part.strip():
                problems.append(Problem("thread", f"Part {number} of the thread is empty."))
        for media in content.media:
            problems += media_problems(media)
            if public_media_url(media.path) is None:
                problems.append(
                    Problem(
                        "media",
                        f"{media.path.name} is not in Socialdesk's media library, so it has no "
                        "public address to put in the note: add it to the library first.",
                    )
                )
        return problems

    def _tags(
        self, label: str, *replying: tuple[str, str], media: Sequence[MediaFile] = ()
    ) -> list[list[str]]:
        tags = [list(CLIENT_TAG), ["L", LABEL_NAMESPACE], ["l", label, LABEL_NAMESPACE]]
        for item in media:
            tags.append(_imeta(item))
        for event_id_, marker in replying:
            tags.append(["e", event_id_, "", marker])
        if replying:
            tags.append(["p", self.pubkey])
        return tags

    def publish(self, content: DeliveryContent, idempotency_key: str) -> Published:
        problems = self.validate(content)
        if problems:
            raise ConnectorError(" ".join(str(p) for p in problems), permanent=True)
        parts = [("", content.text)]
        parts += [(f"#part-{n}", text) for n, text in enumerate(content.thread, start=2)]
        if content.first_comment.strip():
            parts.append(("#first-comment", content.first_comment))
        labels = {suffix: label_of(idempotency_key, suffix) for suffix, _ in parts}
        existing = self._labelled(list(labels.values()))
        root = parent = ""
        for suffix, text in parts:
            event = existing.get(labels[suffix])
            if event is None:
                replying: list[tuple[str, str]] = []
                if root:
                    replying.append((root, "root"))
                    if suffix != "#first-comment" and parent != root:
                        replying.append((parent, "reply"))
                media = content.media if not suffix else ()
                if media:
                    text = "\n".join(
                        [text.rstrip(), *(str(public_media_url(m.path)) for m in media)]
                    )
                tags = self._tags(labels[suffix], *replying, media=media)
                event = sign_event(self._secret, 1, text, tags)
                self._publish_event(event)
            if not root:
                root = parent = str(event["id"])
            elif suffix != "#first-comment":
                parent = str(event["id"])
        return Published(root, self.note_url(root))

    def _labelled(self, labels: list[str]) -> dict[str, dict[str, Any]]:
        since = int((datetime.now(UTC) - RECONCILE_WINDOW).timestamp())
        events = self._query(
            [{"authors": [self.pubkey], "kinds": [1], "#l": labels, "since": since}]
        )
        found: dict[str, dict[str, Any]] = {}
        for event in events:
            for label in _labels(event) & set(labels):
                found.setdefault(label, event)
        return found

    def note_url(self, identifier: str) -> str:
        # NIP-19 ``note1…`` opened through njump.me, a public Nostr web viewer.
        return "https://njump.me/" + bech32_encode("note", bytes.fromhex(identifier))

    def find_published(
        self, idempotency_key: str, content: DeliveryContent | None = None
    ) -> Published | None:
        label = label_of(idempotency_key)
        event = self._labelled([label]).get(label)
        return Published(str(event["id"]), self.note_url(str(event["id"]))) if event else None

    def delete(self, remote_id: str) -> None:
        """A kind 5 deletion request (NIP-09) for the note and our replies under it."""
        ours = self._query([{"authors": [self.pubkey], "kinds": [1], "#e": [remote_id]}])
        targets = [remote_id, *(str(e["id"]) for e in ours)]
        tags = [["e", target] for target in targets] + [["k", "1"], list(CLIENT_TAG)]
        self._publish_event(sign_event(self._secret, 5, "Deleted from Socialdesk", tags))

    def check_connection(self) -> AccountInfo:
        self._query([{"authors": [self.pubkey], "kinds": [0], "limit": 1}])
        return AccountInfo(self.pubkey, bech32_encode("npub", bytes.fromhex(self.pubkey)))

    # -- reading ----------------------------------------------------------------------------

    def read_cost(self) -> dict[str, int]:
        return {"reads": len(self.relays)}

    def fetch_inbox(self, cursor: str, since: datetime) -> InboxPage:
        """Notes of others that tag our key (replies, mentions), newer than ``cursor`` (the
        newest ``created_at`` already read; relays answer ``since`` inclusively, so notes of
        that second come again and are known by their ids)."""
        start = max(int(since.timestamp()), int(cursor) if cursor.isdigit() else 0)
        events = self._query(
            [{"kinds": [1], "#p": [self.pubkey], "since": start, "limit": INBOX_LIMIT}]
        )
        items = []
        newest = start
        for event in events:
            newest = max(newest, int(event.get("created_at") or 0))
            if event.get("pubkey") == self.pubkey:
                continue
            items.append(self._item(event))
        return InboxPage(items, str(newest), {"reads": len(self.relays)})

    def _item(self, event: Mapping[str, Any]) -> InboxItem:
        tags = [t for t in event.get("tags") or [] if len(t) >= 2]
        marked = {t[3]: str(t[1]) for t in tags if t[0] == "e" and len(t) >= 4}
        plain = [str(t[1]) for t in tags if t[0] == "e"]
        root = marked.get("root") or (plain[0] if plain else "")
        parent = marked.get("reply") or (plain[-1] if plain else "") or root
        author = str(event.get("pubkey") or "")
        identifier = str(event["id"])
        return InboxItem(
            remote_id=identifier,
            kind=ItemKind.COMMENT if parent else ItemKind.MENTION,
            thread_key=root or identifier,
            author=InboxAuthor(
                remote_id=author, handle=bech32_encode("npub", bytes.fromhex(author))
            ),
            text=str(event.get("content") or ""),
            sent_at=datetime.fromtimestamp(int(event.get("created_at") or 0), UTC),
            remote_url=self.note_url(identifier),
            reference={"id": identifier, "pubkey": author, "root": root, "parent": parent},
            parent_remote_id=parent,
            our_post_remote_id=root,
        )

    # -- measuring --------------------------------------------------------------------------

    def metrics_cost(self, posts: int, followers: bool = False) -> dict[str, int]:
        calls = (1 if posts else 0) + (1 if followers else 0)
        return {"reads": calls * len(self.relays)} if calls else {}

    def fetch_metrics(self, remote_ids: Sequence[str]) -> dict[str, Metrics]:
        ids = sorted({str(i) for i in remote_ids if str(i).strip()})
        if not ids:
            return {}
        events = self._query([{"kinds": [1, 6, 7], "#e": ids}])
        counts = {i: {1: 0, 6: 0, 7: 0} for i in ids}
        for event in events:
            kind = int(event.get("kind") or 0)
            if kind == 1 and event.get("pubkey") == self.pubkey:
                continue  # our own thread parts and first comment
            # A reaction or repost is about its last ``e`` tag (NIP-25, NIP-18).
            tagged = [str(t[1]) for t in event.get("tags") or [] if len(t) >= 2 and t[0] == "e"]
            about = tagged[-1] if kind in (6, 7) and tagged else None
            for identifier in [about] if about else tagged:
                if identifier in counts:
                    counts[identifier][kind] += 1
        return {i: Metrics(likes=c[7], reposts=c[6], replies=c[1]) for i, c in counts.items()}

    def fetch_followers(self) -> int | None:
        lists = self._query([{"kinds": [3], "#p": [self.pubkey]}])
        return len({str(e.get("pubkey")) for e in lists})


IMAGE_TYPES = ("image/jpeg", "image/png", "image/gif", "image/webp")


def media_problems(media: MediaFile) -> list[Problem]:
    if media.mime_type not in IMAGE_TYPES:
        return [
            Problem(
                "media",
                f"{media.path.name}: Nostr clients show JPEG, PNG, GIF or WebP images from a "
                "note's addresses; link other files in the text.",
            )
        ]
    return []


def _imeta(media: MediaFile) -> list[str]:
    """NIP-92's inline metadata of one image: its address, type, SHA-256, size and alt text."""
    try:
        data = media.path.read_bytes()
    except OSError as error:
        raise ConnectorError(
            f"The image {media.path.name} cannot be read: {error.strerror}.", permanent=True
        ) from None
    fields = [
        f"url {public_media_url(media.path)}",
        f"m {media.mime_type}",
        f"x {hashlib.sha256(data).hexdigest()}",
        f"size {len(data)}",
    ]
    if media.alt_text.strip():
        fields.append(f"alt {' '.join(media.alt_text.split())}")
    return ["imeta", *fields]


def connect(values: dict[str, str]) -> oauth.Account:
    secret = parse_private_key(values.get("private_key", ""))
    if secret is None:
        raise ValidationError(
            {"private_key": ["This is not a Nostr private key: give nsec1… or 64 hex digits."]}
        )
    relays = split_relays(values.get("relays", ""))
    if not relays:
        raise ValidationError({"relays": ["Give at least one relay address (wss://…)."]})
    for relay in relays:
        try:
            check_relay(relay)
        except (guarded_fetch.FetchRefused, guarded_fetch.FetchFailed) as error:
            raise ValidationError({"relays": [f"{relay}: {error}"]}) from None
    connector = NostrConnector(secret, relays)
    try:
        info = connector.check_connection()
    except ConnectorError as error:
        raise ValidationError({"relays": [error.message]}) from None
    return oauth.Account(
        info=info,
        credentials={
            "private_key": secret.hex(),
            "public_key": connector.pubkey,
            "relays": "\n".join(relays),
        },
    )


def build(credentials: dict[str, Any], store: Callable[[dict[str, Any]], None]) -> Connector | None:
    secret = parse_private_key(str(credentials.get("private_key") or ""))
    relays = split_relays(str(credentials.get("relays") or ""))
    if secret is None or not relays:
        return None
    return NostrConnector(secret, relays)
