"""The seam between the publishing engine and the network connectors.

A connector (``socialdesk.networks.base.Connector``) knows one network and nothing about the
database. The engine turns a delivery into a ``DeliveryContent`` (``content_for``) and a
stable idempotency key (``Delivery.idempotency_key``), and uses three methods:

- ``validate(content)``: the network's rules the content breaks (``Problem`` s), checked at
  schedule time and again at send time;
- ``publish(content, idempotency_key)``: one call per attempt; the connector's contract is
  that a repeat with the same key never posts twice;
- ``find_published(idempotency_key, content)``: asked before any retry of a delivery whose
  outcome is unknown.

The inbox's writes (replies, likes, hides, unhides, deletes; ``Delivery.kind``) use the same
three methods: ``content_for`` sets ``DeliveryContent.action`` and ``target``, and each
connector does what the action says, under the same contract.

A ``ConnectorError`` is the network's answer, and says what to do (retry, when, fail, or
pause for reconnection). Any other exception out of ``publish`` (a bug, a crash) leaves the
outcome unknown.

``connector_for(channel)`` finds the connector for a channel's network in ``REGISTRY``, or
returns None when there is none (yet): scheduling then skips content validation and sending
fails with a clear message. The page network registers itself here when it arrives
(issue 6); tests put a fake in ``REGISTRY`` with ``monkeypatch.setitem``.
"""

from __future__ import annotations

import importlib
import threading
from collections.abc import Callable, Hashable, Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from django.db.models import Value, prefetch_related_objects

from socialdesk.networks.base import (
    Connector,
    ConnectorError,
    DeliveryContent,
    MediaFile,
    Problem,
)
from socialdesk.networks.models import Channel, ChannelStatus, Network

if TYPE_CHECKING:
    from .models import Delivery


# Connectors kept per thread (a logged-in SDK client is not thread-safe) and per channel, so a
# worker logs in and opens its HTTP connection once per account, not once per delivery (a
# fresh atproto client cost ~25 ms, about what a local create takes; see BENCHMARKS.md).
# Keyed by what the person entered (never the refreshed session, which the cached connector
# itself keeps up to date): reconnecting with other credentials builds a new one.
_kept = threading.local()


def _cached(key: Hashable, build: Callable[[], Connector | None]) -> Connector | None:
    kept: dict[Hashable, Connector] = getattr(_kept, "connectors", None) or {}
    _kept.connectors = kept
    connector = kept.get(key)
    if connector is None:
        connector = build()
        if connector is not None:
            kept[key] = connector
    return connector


def forget_connectors() -> None:
    """Drop this thread's kept connectors (tests; a worker never needs to)."""
    _kept.connectors = {}


def _bluesky(channel: Channel) -> Connector | None:
    from socialdesk.networks.bluesky import BlueskyConnector

    credentials = channel.credentials
    if not credentials.get("handle") or not credentials.get("app_password"):
        return None
    key = (
        Network.BLUESKY,
        channel.pk,
        credentials["handle"],
        credentials["app_password"],
        credentials.get("pds_url", ""),
        credentials.get("web_url", ""),
    )

    def store(fresh: dict[str, str]) -> None:
        # The SDK refreshed the session: keep it, so the next call does not log in again.
        channel.set_credentials(fresh)
        Channel.objects.filter(pk=channel.pk).update(
            credentials_encrypted=channel.credentials_encrypted
        )

    return _cached(
        key, lambda: BlueskyConnector.from_credentials(credentials, on_credentials_change=store)
    )


def _page(channel: Channel) -> Connector | None:
    from socialdesk.networks.page import PageConnector

    return PageConnector(channel)


def _mastodon(channel: Channel) -> Connector | None:
    from socialdesk.networks.mastodon import MastodonConnector

    credentials = channel.credentials
    if not credentials.get("instance_url") or not credentials.get("access_token"):
        return None
    key = (Network.MASTODON, channel.pk, *sorted((k, str(v)) for k, v in credentials.items()))
    # Instance limits are cached per channel too (see networks.mastodon).
    return _cached(
        key,
        lambda: MastodonConnector.from_credentials(credentials, cache_key=f"channel-{channel.pk}"),
    )


def _catalogued(channel: Channel) -> Connector | None:
    """The networks of issue 16: their module's ``build(credentials, store)`` (``store`` keeps
    credentials the connector renewed, e.g. a refreshed access token)."""
    from socialdesk.networks import catalog

    module = catalog.module(channel.network)
    if module is None:
        return None
    credentials = channel.credentials

    def store(fresh: dict[str, Any]) -> None:
        channel.set_credentials(fresh)
        Channel.objects.filter(pk=channel.pk).update(
            credentials_encrypted=channel.credentials_encrypted
        )

    # Keyed by the stored (encrypted) credentials: a reconnect or a refresh elsewhere builds
    # a new connector; a refresh by this one is already in it.
    key = (channel.network, channel.pk, channel.credentials_encrypted)
    return _cached(key, lambda: module.build(credentials, store))


# network → factory building a connector for one channel (None: it cannot be built).
REGISTRY: dict[str, Callable[[Channel], Connector | None]] = {
    Network.PAGE: _page,
    Network.BLUESKY: _bluesky,
    Network.MASTODON: _mastodon,
    **{n: _catalogued for n in Network.values if n not in ("page", "bluesky", "mastodon")},
}


# The modules behind the networks whose SDKs take a while to import (atproto: ~1 s).
_MODULES = {
    Network.BLUESKY: "socialdesk.networks.bluesky",
    Network.MASTODON: "socialdesk.networks.mastodon",
}


def import_connected_networks() -> None:
    """Import the connectors of the networks that connected channels use, and let each build
    what its SDK builds on first use (its ``warm``), so that the first delivery after a worker
    starts does not wait for its SDK to load; a network nobody uses costs the worker no memory."""
    networks = Channel.objects.filter(status=ChannelStatus.CONNECTED).values_list(
        "network", flat=True
    )
    for network in set(networks):
        if network in _MODULES:
            module = importlib.import_module(_MODULES[network])
            if warm := getattr(module, "warm", None):
                warm()


def connector_for(channel: Channel) -> Connector | None:
    factory = REGISTRY.get(channel.network)
    return factory(channel) if factory is not None else None


# The links of a post's texts as they go out: ``analytics.links.network_texts`` (short links
# and UTM tags, issue 14), set by the analytics app when it is ready, so this floor never
# imports an upper one. Called with the delivery, its texts and whether the engine is
# sending (links are then made once per delivery) or only checking (nothing is written).
LinkRewriter = Callable[["Delivery", Sequence[str], bool], list[str]]
link_rewriter: LinkRewriter | None = None


def content_for(delivery: Delivery, *, sending: bool = False) -> DeliveryContent:
    """What to publish for ``delivery``: its text and media overrides, else the post's, with
    its links as they go out (``link_rewriter``); ``sending``: the engine is about to send
    it (or asks the network whether it did), so short links are made, not only counted.

    An inbox write (a reply, like, hide, unhide, delete; ``Delivery.kind``) has no post: its
    content is its own text and its ``target``, with ``action`` saying what to do."""
    if delivery.post_id is None:
        inbox: dict[str, Any] = {
            "text": delivery.text_override,
            "language": delivery.language,
            "action": delivery.kind,
            "target": dict(delivery.target or {}),
        }
        if delivery.channel.network == Network.MASTODON:
            from socialdesk.networks.mastodon import MastodonContent

            return MastodonContent(**inbox, visibility=delivery.visibility)
        return DeliveryContent(**inbox)
    assets = _media_of(delivery)
    # The composer's thread parts (content.Post) follow the text; the first comment is last.
    texts = [delivery.text, *delivery.post.thread, delivery.first_comment]
    if link_rewriter is not None:
        texts = link_rewriter(delivery, texts, sending)
    fields: dict[str, Any] = {
        "text": texts[0],
        "media": [MediaFile(_path_of(a), a.mime_type, a.alt_text) for a in assets],
        "thread": tuple(texts[1:-1]),
        "first_comment": texts[-1],
        "language": delivery.language,
    }
    if delivery.channel.network == Network.MASTODON:
        from socialdesk.networks.mastodon import MastodonContent

        return MastodonContent(
            **fields, visibility=delivery.visibility, spoiler_text=delivery.content_warning
        )
    if delivery.channel.network == Network.GOOGLE_BUSINESS:
        from socialdesk.networks.google_business import content_from

        # An update whose button opens the text's first link: posts have no topic, event,
        # offer or button of their own yet (networks.google_business).
        return content_from(fields)
    if delivery.channel.network == Network.WORDPRESS:
        from socialdesk.networks.wordpress import WordPressContent

        # A blog post's tags are the post's labels, its category the post's pillar.
        post = delivery.post
        return WordPressContent(
            **fields,
            tags=tuple(label.name for label in post.labels.all()),
            category=post.pillar.name if post.pillar is not None else "",
        )
    return DeliveryContent(**fields)


def prefetch_media(deliveries: list[Delivery]) -> None:
    """Read the media of many deliveries in two queries (the dispatcher's batches), so that
    ``content_for`` reads none for each."""
    if deliveries:
        prefetch_related_objects(deliveries, "media_override", "post__media")


def _media_of(delivery: Delivery) -> list[Any]:
    """The delivery's own media if it has any, else its post's, in upload order."""
    cached = getattr(delivery, "_prefetched_objects_cache", {})
    if "media_override" in cached and "media" in getattr(
        delivery.post, "_prefetched_objects_cache", {}
    ):
        own = sorted(delivery.media_override.all(), key=lambda asset: asset.pk)
        return own or sorted(delivery.post.media.all(), key=lambda asset: asset.pk)
    # Both lists in one query (the engine reads this for every delivery it sends).
    overrides = delivery.media_override.annotate(override=Value(True)).order_by()
    posts = delivery.post.media.annotate(override=Value(False)).order_by()
    both = sorted(overrides.union(posts, all=True), key=lambda asset: asset.pk)
    return [a for a in both if a.override] or [a for a in both if not a.override]


def _path_of(asset: Any) -> Path:
    # An asset with no stored file still gets a (missing) path: the network's own media rules
    # then say it cannot be read, at schedule time and before any call at send time.
    return Path(asset.file.path) if asset.file else Path(f"media-{asset.pk}-has-no-file")


def problem_text(problem: Problem | str) -> tuple[str, str]:
    """``(field, message)`` of one problem a connector reported."""
    if isinstance(problem, Problem):
        return problem.field, problem.message
    return "text", str(problem)


def is_connector_error(exc: BaseException) -> bool:
    """True when the network answered: the connector says what to do next."""
    return isinstance(exc, ConnectorError)


def retry_after_seconds(exc: BaseException, now: datetime) -> float | None:
    """The network's "retry after" as seconds from ``now`` (a time, or a number of seconds)."""
    value = getattr(exc, "retry_after", None)
    if value is None:
        return None
    if isinstance(value, datetime):
        return max(0.0, (value - now).total_seconds())
    return max(0.0, float(value))


def remote_identity(result: Any) -> tuple[str, str]:
    """``(remote_id, remote_url)`` of a ``Published`` (or of a ``(id, url)`` pair)."""
    if isinstance(result, tuple):
        remote_id, remote_url = result
        return str(remote_id or ""), str(remote_url or "")
    return str(getattr(result, "remote_id", "") or ""), str(getattr(result, "remote_url", "") or "")
