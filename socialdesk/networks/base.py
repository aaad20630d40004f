"""The one small interface every network connector implements, and its one error type.

A connector knows one network and nothing about the database: the publishing engine turns a
delivery into a ``DeliveryContent`` and a stable idempotency key, calls the connector, and
decides what to do from the ``Published`` it gets back or the ``ConnectorError`` it catches.

- ``validate(content)`` lists what breaks the network's rules, without calling the network, so
  scheduling can refuse bad content with messages that say what to fix.
- ``publish(content, idempotency_key)`` makes the post (and its thread and first comment) and
  returns where it lives. Called again with the same key after a failure or a crash, it must not
  post twice: it finishes what is missing and returns the same ``Published``.
- ``find_published(idempotency_key, content)`` answers "does the account already have this
  post?" for a delivery whose outcome is unknown, before anything is retried.
- ``delete(remote_id)`` removes a published post; ``check_connection()`` says whose account the
  stored credentials open, or raises.

Reading (the inbox, issue 13): a network that can be read sets ``reads = True`` and implements
``fetch_inbox(cursor, since)``, which returns the comments, mentions, quotes and direct
messages made after ``cursor`` (the ``InboxPage.cursor`` of the previous call; empty the first
time) and not before ``since`` (the backfill window), oldest first, each an ``InboxItem``.
``read_cost()`` says what one call spends at least, counted in the same ledger as publishing
against ``rate_limits`` plus ``read_limits`` (``InboxPage.spent`` says what it did spend). The
connector keeps nothing: the cursor is stored by ``inbox.ingest``.

Measuring (issue 14): a network that gives numbers lists them in ``metric_table`` (what each
metric is called there and how fresh it is; shown on the Channels page and in the API) and
implements ``fetch_metrics(remote_ids)``, the current numbers of some of our published posts
(batched as the network allows; a post the network no longer shows is left out of the
answer), and ``fetch_followers()``. ``metrics_cost(posts, followers)`` says what reading that
many posts (and the followers) spends, in the same ledger as ``read_cost``. A metric the
network does not give is None, never 0. ``analytics.metrics`` schedules and stores them.

Modelled on Healthchecks' ``Transport``/``TransportError(permanent=...)``.
"""

from __future__ import annotations

import abc
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, ClassVar


class ConnectorError(Exception):
    """Anything that went wrong talking to a network, said in a way the engine can act on.

    ``permanent``: retrying the same call cannot succeed (content rejected by the network,
    authorization revoked); the delivery fails, or waits for a person, instead of retrying.
    ``rate_limited``: the network refused for its rate limit (a 429); nothing was done, and
    the engine waits rather than counting it as a failed attempt. ``retry_after``: when the
    network said it may be asked again (aware, UTC); given, it implies ``rate_limited``.
    ``auth_revoked``: the stored credentials no longer work; the channel needs reconnecting and
    its due deliveries pause rather than fail. Always also ``permanent``.
    ``message`` is shown to people: it carries the network's own words where there are some,
    and never a credential; it says what happened, not what comes next (the engine decides
    whether it is tried again).
    """

    def __init__(
        self,
        message: str,
        *,
        permanent: bool = False,
        retry_after: datetime | None = None,
        auth_revoked: bool = False,
        rate_limited: bool = False,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.permanent = permanent or auth_revoked
        self.retry_after = retry_after
        self.auth_revoked = auth_revoked
        self.rate_limited = rate_limited or retry_after is not None

    def __repr__(self) -> str:
        return (
            f"ConnectorError({self.message!r}, permanent={self.permanent}, "
            f"retry_after={self.retry_after!r}, auth_revoked={self.auth_revoked}, "
            f"rate_limited={self.rate_limited})"
        )


@dataclass(frozen=True)
class Problem:
    """One broken network rule: the field it is about and what to fix, in words for people."""

    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.field}: {self.message}"


@dataclass(frozen=True)
class MediaFile:
    """A file to attach, read from disk at publish time. ``mime_type`` is the stored, checked
    type (the media library sniffs it on upload); ``alt_text`` describes it for people who
    cannot see it."""

    path: Path
    mime_type: str
    alt_text: str = ""

    @property
    def size(self) -> int:
        return self.path.stat().st_size


@dataclass(frozen=True)
class LinkCard:
    """A link shown as a card under the post. Title and description are given, not fetched:
    the connector never fetches third-party pages."""

    url: str
    title: str = ""
    description: str = ""


@dataclass(frozen=True)
class DeliveryContent:
    """What to publish on one channel, already resolved from the post and its overrides.

    ``thread`` holds the parts that follow ``text``, each a reply to the one before;
    ``first_comment`` is a reply to the main post. ``language`` is an optional BCP 47 tag.

    The inbox's writes (issue 13) travel the same way: ``action`` says what to do (see
    ``ACTIONS``) and ``target`` what it is about, as the network names it (an inbox message's
    ``reference`` plus its ``remote_id``). A ``reply`` is published like a post, under
    ``target``; ``like``, ``hide``, ``unhide`` and ``delete`` carry no text. A connector's
    ``publish`` does what ``action`` says, with the same at-most-once contract, and its
    ``find_published`` answers "is it done?" for it.
    """

    text: str
    media: Sequence[MediaFile] = ()
    link: LinkCard | None = None
    thread: Sequence[str] = ()
    first_comment: str = ""
    language: str = ""
    action: str = "post"
    target: Mapping[str, Any] = field(default_factory=dict)

    @property
    def reply_to(self) -> Mapping[str, Any] | None:
        """What this content answers, for a reply; None for anything else."""
        return self.target if self.action == "reply" else None

    @property
    def is_write_of_text(self) -> bool:
        """A post or a reply: something with text that the network shows."""
        return self.action in ("post", "reply")


# What a delivery may ask a network to do (``DeliveryContent.action``).
ACTIONS = ("post", "reply", "like", "hide", "unhide", "delete")


@dataclass(frozen=True)
class Published:
    """Where a published post lives: the network's id for it and a URL people can open."""

    remote_id: str
    remote_url: str


@dataclass(frozen=True)
class AccountInfo:
    """The account the credentials open, as the network names it."""

    remote_account_id: str
    handle: str
    display_name: str = ""


@dataclass(frozen=True)
class RateLimit:
    """A budget the network publishes, per account: ``points`` of ``unit`` per ``window``.

    Several limits may count the same unit over different windows (Bluesky: write points per
    hour and per day); ``Connector.cost(content)`` says how many of each unit one publication
    spends.
    """

    unit: str
    points: int
    window: timedelta


class ItemKind:
    """What an inbox item is (the values of ``inbox.models.ConversationKind``)."""

    COMMENT = "comment"  # a reply in a thread, under one of our posts or our answer
    MENTION = "mention"  # a post that names our account
    QUOTE = "quote"  # a post that quotes one of ours
    DIRECT = "direct"  # a direct (private) message
    QUESTION = "question"  # a question asked on the public page


@dataclass(frozen=True)
class InboxAuthor:
    """Who wrote an inbox item, as the network names them. ``remote_id`` is the network's
    stable id (a DID, a Mastodon account id, an email on the page); ``followers`` is None when
    the network did not say."""

    remote_id: str
    handle: str = ""
    display_name: str = ""
    avatar_url: str = ""
    followers: int | None = None


@dataclass(frozen=True)
class InboxItem:
    """One thing someone said to or about the account, as read from the network.

    ``thread_key`` groups items into one conversation on the channel (see
    ``inbox.models.Conversation.thread_key``). ``reference`` is what answering needs
    (Bluesky: ``root_uri``, ``root_cid``, ``parent_uri``, ``parent_cid`` and the item's own
    ``uri``/``cid``; Mastodon: ``in_reply_to_id``, ``visibility``, ``conversation_id``) and
    ``parent_remote_id`` the item it answers, when it answers one. ``our_post_remote_id`` is
    the remote id of our post it is under (or quotes), when it is under one of ours.
    ``sent_at`` is aware, in UTC.
    """

    remote_id: str
    kind: str
    thread_key: str
    author: InboxAuthor
    text: str
    sent_at: datetime
    remote_url: str = ""
    reference: Mapping[str, Any] = field(default_factory=dict)
    parent_remote_id: str = ""
    our_post_remote_id: str = ""
    language: str = ""  # as the author tagged it, when the network carries it


@dataclass(frozen=True)
class FoundPost:
    """One public post a network's search found (listening, ``socialdesk.listening``);
    ``posted_at`` is aware, in UTC."""

    remote_id: str
    text: str
    posted_at: datetime
    author_handle: str = ""
    author_name: str = ""
    remote_url: str = ""
    language: str = ""  # as the author tagged it
    # What answering it needs (Bluesky: ``uri``, ``cid``, ``root_uri``, ``root_cid``, ``did``).
    reference: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class InboxPage:
    """What one ``fetch_inbox`` call found (oldest first), the cursor to give the next call,
    and what it spent of the rate limits, by unit."""

    items: Sequence[InboxItem]
    cursor: str
    spent: Mapping[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class Metrics:
    """One post's numbers as the network gave them at one moment; None: not given."""

    likes: int | None = None
    reposts: int | None = None
    replies: int | None = None
    quotes: int | None = None
    views: int | None = None
    clicks: int | None = None


@dataclass(frozen=True)
class MetricInfo:
    """One metric a network gives: ``metric`` is Socialdesk's word (a ``Metrics`` field, or
    ``followers``), ``source`` what the network calls it and where it is read, ``freshness``
    how current it is when read."""

    metric: str
    source: str
    freshness: str


class Connector(abc.ABC):
    """One network. Subclasses set ``network`` (a ``networks.models.Network`` value) and
    ``rate_limits``, and implement ``cost`` and the five methods below. Every network failure
    is raised as a ``ConnectorError``; any other exception is a bug."""

    network: ClassVar[str]
    rate_limits: ClassVar[tuple[RateLimit, ...]] = ()
    # True when ``fetch_inbox`` is implemented (the inbox polls only such networks).
    reads: ClassVar[bool] = False
    # Limits that only reads count against (units of ``rate_limits`` are shared: a Mastodon
    # read spends the same "requests" as publishing does).
    read_limits: ClassVar[tuple[RateLimit, ...]] = ()
    # True when ``fetch_metrics`` and ``fetch_followers`` are implemented (``analytics.metrics``
    # polls only such networks); ``metric_table`` says what they give.
    measures: ClassVar[bool] = False
    metric_table: ClassVar[tuple[MetricInfo, ...]] = ()
    # Said under the table: what the network does not give, in words for people.
    metric_note: ClassVar[str] = ""

    @abc.abstractmethod
    def cost(self, content: DeliveryContent) -> dict[str, int]:
        """How much of each rate-limit unit one ``publish(content)`` spends."""

    @abc.abstractmethod
    def validate(self, content: DeliveryContent) -> list[Problem]:
        """The network's rules this content breaks; empty when it can be published. Makes no
        network call."""

    @abc.abstractmethod
    def publish(self, content: DeliveryContent, idempotency_key: str) -> Published:
        """Publish, at most once per ``idempotency_key`` (see the module docstring)."""

    @abc.abstractmethod
    def find_published(
        self, idempotency_key: str, content: DeliveryContent | None = None
    ) -> Published | None:
        """The post published for this key (or, on networks without keys, with this content
        recently), or None when the account has no such post."""

    @abc.abstractmethod
    def delete(self, remote_id: str) -> None:
        """Remove a published post. Deleting one that is already gone is not an error."""

    def action_problems(self, content: DeliveryContent) -> list[Problem]:
        """What stops this network doing ``content.action`` (a like, hide, unhide, delete),
        without calling it; a connector that can do some overrides this. Default: none."""
        verb = content.action
        return [Problem("action", f"Socialdesk cannot {verb} on this network.")]

    @abc.abstractmethod
    def check_connection(self) -> AccountInfo:
        """Whose account the credentials open; raises ``ConnectorError`` when they do not."""

    # -- reading (optional) -----------------------------------------------------------------

    def read_cost(self) -> dict[str, int]:
        """The least one ``fetch_inbox`` call spends, by rate-limit unit."""
        return {}

    def fetch_inbox(self, cursor: str, since: datetime) -> InboxPage:
        """Items made after ``cursor`` and not before ``since``, oldest first (see the module
        docstring). Raises ``ConnectorError`` like every other call."""
        raise NotImplementedError(f"{type(self).__name__} does not read an inbox.")

    # -- measuring (optional) ----------------------------------------------------------------

    def metrics_cost(self, posts: int, followers: bool = False) -> dict[str, int]:
        """What ``fetch_metrics`` of ``posts`` posts (and ``fetch_followers``, when
        ``followers``) spends at most, by rate-limit unit."""
        return {}

    def fetch_metrics(self, remote_ids: Sequence[str]) -> dict[str, Metrics]:
        """The current numbers of these published posts (by their ``Published.remote_id``);
        posts the network no longer shows are left out. Raises ``ConnectorError``."""
        raise NotImplementedError(f"{type(self).__name__} does not read metrics.")

    def fetch_followers(self) -> int | None:
        """How many accounts follow the channel's account now; None when the network has no
        followers. Raises ``ConnectorError``."""
        raise NotImplementedError(f"{type(self).__name__} does not read followers.")
