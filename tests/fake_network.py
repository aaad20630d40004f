"""One scriptable network for the tests: a real ``Connector`` that keeps its posts in memory.

The publishing engine is tested against it wherever the network itself is not under test (the
Bluesky and Mastodon connectors have tests of their own, against a real server or recorded
exchanges). It keeps the contract of ``socialdesk.networks.base``: a publish repeated with the
same idempotency key returns the post made the first time, and ``find_published`` finds what
was created, so reconciliation after a lost answer works as it does on a real network.

Script what the next ``publish`` calls do by appending outcomes to ``script`` (one per call;
``otherwise`` answers once it is empty, success by default):

- ``OK``: create the post (or return the one made earlier for this key);
- an exception (``transient(...)``, ``permanent(...)``, ``revoked()``, ``rate_limited(...)``,
  or any other, such as ``TimeoutError``): raise it without creating anything;
- ``TIMEOUT_AFTER_WRITING``: create the post, then raise ``TimeoutError`` as if the answer was
  lost on the way back;
- a callable taking no argument: call it (it may drive another worker meanwhile) and use the
  outcome it returns.

``calls`` lists the idempotency keys of every publish call in order, ``log`` the same calls
with their content and the fake's ``clock`` at the time; ``posts`` maps each key to what was
created for it, ``created`` counts creations (a second post for one key would show there).

Put one in the registry for the page network with ``install(monkeypatch)``.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar

from socialdesk.networks.base import (
    AccountInfo,
    Connector,
    ConnectorError,
    DeliveryContent,
    Problem,
    Published,
    RateLimit,
)
from socialdesk.networks.models import Network

OK = "ok"
TIMEOUT_AFTER_WRITING = "timeout after writing"

Outcome = Any  # OK, TIMEOUT_AFTER_WRITING, an exception, or a callable returning one of these


def transient(message: str = "503 Service Unavailable") -> ConnectorError:
    """A failure worth retrying (a timeout, a 5xx)."""
    return ConnectorError(message)


def permanent(message: str = "Rejected") -> ConnectorError:
    """The network refuses this content for good."""
    return ConnectorError(message, permanent=True)


def revoked(message: str = "Token has been revoked") -> ConnectorError:
    """The stored credentials no longer work: the channel needs reconnecting."""
    return ConnectorError(message, auth_revoked=True)


def rate_limited(retry_after: datetime, message: str = "429 Too Many Requests") -> ConnectorError:
    """A 429 with the time the network said it may be asked again."""
    return ConnectorError(message, retry_after=retry_after)


@dataclass(frozen=True)
class Call:
    """One ``publish`` call as the network saw it."""

    idempotency_key: str
    content: DeliveryContent
    at: datetime | None  # the fake's ``clock`` then (None unless a test sets it)


class FakeConnector(Connector):
    """An in-memory network; see the module docstring for how to script it.

    ``max_length`` makes ``validate`` refuse longer text with ``length_message`` (formatted
    with ``length`` and ``limit``); ``problems`` are reported for any content. ``rate_limits``
    and ``cost`` (a function of the content) make the engine pace it; without them it is not
    paced. ``publishing_allowed=False`` makes any publish call fail the test that made it.
    """

    network: ClassVar[str] = Network.PAGE

    def __init__(
        self,
        *,
        max_length: int | None = None,
        length_message: str = "Is {length} characters; this network allows {limit}.",
        rate_limits: Sequence[RateLimit] = (),
        cost: Callable[[DeliveryContent], dict[str, int]] | None = None,
        publishing_allowed: bool = True,
    ) -> None:
        self.max_length = max_length
        self.length_message = length_message
        # An instance attribute: the engine reads ``rate_limits`` from the connector it holds,
        # so a test may change it on the fake it installed.
        self.rate_limits = tuple(rate_limits)  # type: ignore[misc]
        self._cost = cost
        self.publishing_allowed = publishing_allowed
        self.problems: list[Problem] = []
        self.script: list[Outcome] = []
        self.otherwise: Outcome = OK
        self.clock: datetime | None = None
        self.calls: list[str] = []
        self.log: list[Call] = []
        self.posts: dict[str, Published] = {}
        self.created = 0
        self.deleted: list[str] = []
        # Worker threads share one fake (tests/test_cli_worker.py).
        self._lock = threading.RLock()

    # --- The Connector interface -------------------------------------------------------

    def cost(self, content: DeliveryContent) -> dict[str, int]:
        return self._cost(content) if self._cost else {}

    def validate(self, content: DeliveryContent) -> list[Problem]:
        problems = list(self.problems)
        if self.max_length is not None and len(content.text) > self.max_length:
            message = self.length_message.format(length=len(content.text), limit=self.max_length)
            problems.append(Problem("text", message))
        return problems

    def publish(self, content: DeliveryContent, idempotency_key: str) -> Published:
        if not self.publishing_allowed:
            raise AssertionError("this test must never publish")
        with self._lock:
            self.calls.append(idempotency_key)
            self.log.append(Call(idempotency_key, content, self.clock))
            outcome = self.script.pop(0) if self.script else self.otherwise
        if callable(outcome) and not isinstance(outcome, BaseException):
            outcome = outcome()
        if outcome == TIMEOUT_AFTER_WRITING:
            self._create(idempotency_key)
            raise TimeoutError("read timed out")
        if isinstance(outcome, BaseException):
            raise outcome
        assert outcome == OK, f"unknown scripted outcome {outcome!r}"
        return self._create(idempotency_key)

    def find_published(
        self, idempotency_key: str, content: DeliveryContent | None = None
    ) -> Published | None:
        return self.posts.get(idempotency_key)

    def delete(self, remote_id: str) -> None:
        with self._lock:
            self.deleted.append(remote_id)
            for key, published in list(self.posts.items()):
                if published.remote_id == remote_id:
                    del self.posts[key]

    def check_connection(self) -> AccountInfo:
        return AccountInfo(remote_account_id="fake-account", handle="crumb")

    # --- Bookkeeping ------------------------------------------------------------------

    def _create(self, idempotency_key: str) -> Published:
        """The post for this key: the one made before, or a new ``post-N``."""
        with self._lock:
            if idempotency_key not in self.posts:
                self.created += 1
                remote_id = f"post-{self.created}"
                self.posts[idempotency_key] = Published(
                    remote_id, f"https://network.test/{remote_id}"
                )
            return self.posts[idempotency_key]


def install(monkeypatch, fake: FakeConnector | None = None) -> FakeConnector:
    """Make ``fake`` (a new one by default) the connector of every page channel."""
    from socialdesk.publishing import connectors

    fake = fake or FakeConnector()
    monkeypatch.setitem(connectors.REGISTRY, Network.PAGE, lambda channel: fake)
    return fake
