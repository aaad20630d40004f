"""Ingestion into the inbox: ``ingest_items`` and ``ingest_channel`` with a connector that
answers from a list (the real networks: test_inbox_ingest_bluesky.py and
test_inbox_ingest_mastodon.py).

Crumb is the bakery's Bluesky channel (did:plc:crumb); Dana writes to it, and so does Crumb
itself when someone at the bakery answers from the Bluesky app.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import ClassVar

import pytest
from django.db import transaction
from django.utils import timezone

from socialdesk.content.services import PostContent, create_post
from socialdesk.inbox.ingest import ingest_channel, ingest_items
from socialdesk.inbox.models import (
    Contact,
    Conversation,
    ConversationStatus,
    Direction,
    InboxCursor,
    Message,
    Sentiment,
)
from socialdesk.networks.base import (
    Connector,
    ConnectorError,
    InboxAuthor,
    InboxItem,
    InboxPage,
    ItemKind,
    RateLimit,
)
from socialdesk.networks.models import Channel, ChannelStatus, Network
from socialdesk.publishing import connectors
from socialdesk.publishing.models import ChannelSpend, Delivery

CRUMB = "did:plc:crumb"
DANA = InboxAuthor("did:plc:dana", "dana.test", "Dana", "https://x.test/dana.png", 120)
ROOT = "at://did:plc:crumb/app.bsky.feed.post/root"


def at(minutes: int) -> datetime:
    return datetime(2026, 12, 7, 9, 0, tzinfo=UTC) + timedelta(minutes=minutes)


def reply(rkey: str, text: str, minutes: int, author: InboxAuthor = DANA, parent: str = ROOT):
    return InboxItem(
        remote_id=f"at://{author.remote_id}/app.bsky.feed.post/{rkey}",
        kind=ItemKind.COMMENT,
        thread_key=f"{ROOT} {author.remote_id}",
        author=author,
        text=text,
        sent_at=timezone.now() - timedelta(hours=1) + timedelta(minutes=minutes),
        reference={"root_uri": ROOT, "parent_uri": parent},
        parent_remote_id=parent,
        our_post_remote_id=ROOT,
    )


@pytest.fixture
def crumb(workspace) -> Channel:
    channel = Channel.objects.create(
        workspace=workspace,
        network=Network.BLUESKY,
        handle="crumb.test",
        remote_account_id=CRUMB,
    )
    channel.set_credentials({"handle": "crumb.test", "app_password": "x"})
    channel.save()
    return channel


class ListConnector(Connector):
    """Answers ``fetch_inbox`` from ``pages`` (an exception in it is raised)."""

    network = "bluesky"
    reads = True
    read_limits: ClassVar[tuple[RateLimit, ...]] = (RateLimit("requests", 3, timedelta(minutes=5)),)
    pages: ClassVar[list] = []
    calls: ClassVar[list] = []

    def read_cost(self):
        return {"requests": 1}

    def fetch_inbox(self, cursor, since):
        type(self).calls.append((cursor, since))
        answer = type(self).pages.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer

    def cost(self, content):
        return {}

    def validate(self, content):
        return []

    def publish(self, content, idempotency_key):
        raise NotImplementedError

    def find_published(self, idempotency_key, content=None):
        return None

    def delete(self, remote_id):
        pass

    def check_connection(self):
        raise NotImplementedError


@pytest.fixture
def network(monkeypatch) -> type[ListConnector]:
    ListConnector.pages = []
    ListConnector.calls = []
    monkeypatch.setitem(connectors.REGISTRY, Network.BLUESKY, lambda channel: ListConnector())
    return ListConnector


def page(items: Sequence[InboxItem], cursor: str = "c1") -> InboxPage:
    return InboxPage(list(items), cursor, {"requests": 1})


def test_a_reply_under_our_post_becomes_a_new_conversation_linked_to_its_delivery(
    workspace, owner, crumb
):
    post = create_post(workspace, owner, PostContent(text="Stollen!", channel_ids=[crumb.pk]))
    Delivery.objects.filter(post=post).update(remote_id=ROOT)

    result = ingest_items(crumb, [reply("r1", "Do you ship to Lyon?", 1)])

    assert result.created == 1 and result.conversations_created == 1
    conversation = Conversation.objects.get()
    assert conversation.kind == "comment"
    assert conversation.delivery == Delivery.objects.get(post=post)
    assert conversation.status == ConversationStatus.NEW
    assert conversation.waiting_since is not None
    assert conversation.needs_reply and conversation.language == "en"
    contact = conversation.contact
    assert (contact.remote_id, contact.handle) == ("did:plc:dana", "dana.test")
    assert contact.followers == 120
    message = conversation.messages.get()
    assert message.direction == Direction.INBOUND
    assert message.reference["parent_uri"] == ROOT


def test_the_same_items_twice_store_one_message_each(crumb):
    items = [reply("r1", "Lovely", 1), reply("r2", "Open on Sunday?", 2)]

    ingest_items(crumb, items)
    again = ingest_items(crumb, items + items)

    assert again.created == 0 and again.skipped == 4
    assert Message.objects.count() == 2
    assert Conversation.objects.count() == 1  # both from Dana under one post
    assert Contact.objects.count() == 1


def test_our_own_reply_made_on_the_network_is_outbound_and_makes_it_pending(crumb):
    crumb_author = InboxAuthor(CRUMB, "crumb.test")
    first = reply("r1", "Do you have rye?", 1)
    ours = reply("a1", "Yes, every Tuesday!", 2, author=crumb_author, parent=first.remote_id)
    stray = reply("a2", "Our own post elsewhere", 3, author=crumb_author, parent="at://x/y/z")

    result = ingest_items(crumb, [first, ours, stray])

    conversation = Conversation.objects.get()
    assert result.outbound == 1 and result.skipped == 1
    assert [m.direction for m in conversation.messages.all()] == ["in", "out"]
    assert conversation.status == ConversationStatus.PENDING
    assert conversation.first_response_at == ours.sent_at


def test_a_new_message_after_our_answer_makes_it_new_again_in_the_same_conversation(crumb):
    first = reply("r1", "Do you have rye?", 1)
    ingest_items(crumb, [first])
    conversation = Conversation.objects.get()
    answer = Message.objects.create(
        workspace=crumb.workspace,
        conversation=conversation,
        channel=crumb,
        direction=Direction.OUTBOUND,
        remote_id="at://did:plc:crumb/app.bsky.feed.post/answer",
        sent_at=timezone.now(),
    )
    from socialdesk.inbox import status

    status.on_outbound(conversation, answer.sent_at)
    again = reply("r2", "And on Sunday?", 70, parent=answer.remote_id)

    ingest_items(crumb, [again])

    conversation.refresh_from_db()
    assert conversation.status == ConversationStatus.NEW
    assert conversation.messages.count() == 3
    assert Conversation.objects.count() == 1


def test_a_corrected_sentiment_is_kept_when_new_messages_arrive(crumb):
    ingest_items(crumb, [reply("r1", "Lovely loaves, thank you!", 1)])
    conversation = Conversation.objects.get()
    conversation.sentiment = Sentiment.NEUTRAL
    conversation.sentiment_corrected = True
    conversation.save(update_fields=["sentiment", "sentiment_corrected"])

    ingest_items(crumb, [reply("r2", "The bread was stale and the staff rude.", 2)])

    conversation.refresh_from_db()
    assert conversation.sentiment == Sentiment.NEUTRAL
    assert conversation.messages.last().sentiment == Sentiment.NEGATIVE


def test_triage_of_a_later_message_moves_the_conversation(crumb):
    ingest_items(crumb, [reply("r1", "Lovely loaves, thank you!", 1)])
    ingest_items(crumb, [reply("r2", "But my order never arrived, I want a refund?", 2)])

    conversation = Conversation.objects.get()
    assert conversation.sentiment == Sentiment.NEGATIVE
    assert conversation.needs_reply
    assert conversation.priority == 3


def test_a_poll_stores_items_moves_the_cursor_and_spends_the_budget(crumb, network):
    network.pages = [page([reply("r1", "Hello?", 1)], "c1"), page([], "c2")]

    first = ingest_channel(crumb)
    second = ingest_channel(crumb)

    assert (first.created, second.created) == (1, 0)
    cursor = InboxCursor.objects.get(channel=crumb)
    assert cursor.cursor == "c2" and cursor.polled_at is not None
    assert [c for c, _ in network.calls] == ["", "c1"]
    assert ChannelSpend.objects.filter(channel=crumb, unit="requests").count() == 2


def test_the_backfill_window_is_the_workspace_setting(crumb, network, workspace):
    workspace.inbox_backfill_days = 3
    workspace.save(update_fields=["inbox_backfill_days"])
    network.pages = [page([])]
    now = timezone.now()

    ingest_channel(crumb, now=now)

    assert network.calls[0][1] == now - timedelta(days=3)


def test_a_poll_waits_when_the_read_budget_is_spent(crumb, network):
    network.pages = [page([]), page([]), page([]), page([])]

    results = [ingest_channel(crumb) for _ in range(4)]

    assert [r.paced_until is None for r in results] == [True, True, True, False]
    assert len(network.calls) == 3


def test_a_revoked_authorization_stops_ingestion_and_says_so(crumb, network):
    network.pages = [ConnectorError("Bluesky refused the credentials", auth_revoked=True)]

    result = ingest_channel(crumb)
    after = ingest_channel(crumb)

    crumb.refresh_from_db()
    assert crumb.status == ChannelStatus.NEEDS_RECONNECT
    cursor = InboxCursor.objects.get(channel=crumb)
    assert "refused the credentials" in cursor.stopped_reason
    assert result.stopped and after.stopped
    assert len(network.calls) == 1  # the stopped channel is not asked again


def test_a_transient_failure_keeps_the_cursor_and_is_reported(crumb, network):
    network.pages = [page([reply("r1", "Hi?", 1)], "c1"), ConnectorError("Bluesky answered 502.")]
    ingest_channel(crumb)

    result = ingest_channel(crumb)

    assert result.error == "Bluesky answered 502."
    assert InboxCursor.objects.get(channel=crumb).cursor == "c1"


def test_a_resolved_conversation_reopens_on_a_new_message(crumb):
    from socialdesk.inbox import status

    ingest_items(crumb, [reply("r1", "Do you have rye?", 1)])
    conversation = Conversation.objects.get()
    status.resolve(conversation)

    ingest_items(crumb, [reply("r2", "Sorry, one more thing?", 5)])

    conversation.refresh_from_db()
    assert conversation.status == ConversationStatus.NEW
    assert conversation.resolved_at is None
    assert conversation.last_message_at == Message.objects.get(remote_id__endswith="r2").sent_at


def test_a_batch_that_meets_a_concurrent_writer_stores_each_message_once(crumb, monkeypatch):
    from socialdesk.inbox import ingest

    items = [reply("r1", "Open on Sunday?", 1), reply("r2", "And Monday?", 2)]
    real = ingest._contacts
    calls = []

    def racing(channel, batch):
        found = real(channel, batch)
        if not calls:  # another poll stores r1 between our check and our insert
            calls.append(True)
            with transaction.atomic():
                conversation = Conversation.objects.create(
                    workspace=channel.workspace,
                    channel=channel,
                    contact=Contact.objects.create(
                        workspace=channel.workspace, network="bluesky", remote_id="did:plc:x"
                    ),
                    kind="comment",
                    thread_key="elsewhere",
                )
                Message.objects.create(
                    workspace=channel.workspace,
                    conversation=conversation,
                    channel=channel,
                    direction=Direction.INBOUND,
                    remote_id=items[0].remote_id,
                )
        return found

    monkeypatch.setattr(ingest, "_contacts", racing)

    result = ingest_items(crumb, items)

    assert Message.objects.filter(remote_id=items[0].remote_id).count() == 1
    assert Message.objects.filter(remote_id=items[1].remote_id).count() == 1
    # (The simulated writer ran inside this batch's transaction, so the constraint error
    # rolled it back with the batch; the second try stores both, each once.)
    assert calls == [True] and result.created == 2


def test_a_revoked_channel_is_said_on_the_channel_and_people_are_told(crumb, network, owner):
    network.pages = [ConnectorError("Bluesky refused the credentials", auth_revoked=True)]

    ingest_channel(crumb)

    move = crumb.transitions.order_by("at", "id").last()
    assert move.to_status == ChannelStatus.NEEDS_RECONNECT
    assert "refused the credentials" in move.reason
