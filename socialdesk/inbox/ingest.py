"""Reading the networks into the inbox (issue 13, items 1 and 2).

``ingest_channel(channel)`` is one poll of one channel: it asks the channel's connector for
what was said since the channel's cursor (``InboxCursor``), within the workspace's backfill
window, spends the call from the same per-channel budget ledger as publishing
(``publishing.pacing``), and hands the items to ``ingest_items``.

``ingest_items(channel, items)`` turns already-fetched ``InboxItem`` s into contacts,
conversations and messages. It guarantees:

- **Idempotent**: one message per remote id per channel (the database constraint
  ``one_message_per_remote_id`` backs it); items already stored are skipped, so a poll that
  reads the same item twice, or two doors handing the same item, change nothing.
- **Threads**: an item that answers a message we hold joins that message's conversation;
  otherwise the item's ``thread_key`` (see ``Conversation.thread_key``) finds or starts one.
  A conversation under one of our posts is linked to its delivery (``Delivery.remote_id``).
- **Our own account**: an item written by the channel's own account (a reply made on the
  network directly) is an outbound message of the conversation it belongs to, never a new
  conversation (one that belongs to none is skipped).
- **Status and triage**: each inbound message moves its conversation through
  ``inbox.status.on_inbound`` (outbound: ``on_outbound``), is classified by ``inbox.triage``,
  and then goes through ``inbox.rules.apply_rules``.
- **All or nothing**: one batch is one transaction; a batch that meets a concurrent writer's
  rows (a constraint error) is tried once more, and then finds them and skips them.

Written for speed (``bench/inbox.py``: ≥ 1,000 messages a second on one core): the batch
reads what exists with a few ``IN`` queries and writes contacts, conversations and messages
with ``bulk_create``. The status moves are ``inbox.status``'s own functions, run on the
conversations in memory with their ``save`` deferred (``_defer_saves``), so that a
conversation is written once per batch (new ones in the bulk insert, others in a
``bulk_update`` of the fields status and triage changed) instead of once per message. What
remains per message is its rules, which run last, on saved rows.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import IntegrityError, transaction
from django.utils import timezone

from socialdesk.networks.base import ConnectorError, InboxItem
from socialdesk.networks.models import Channel
from socialdesk.networks.states import mark_needs_reconnect
from socialdesk.publishing import pacing
from socialdesk.publishing.connectors import connector_for
from socialdesk.publishing.models import Delivery

from . import rules, status, triage
from .models import Contact, Conversation, ConversationKind, Direction, InboxCursor, Message

log = logging.getLogger(__name__)

ACTOR = "system: inbox ingestion"
KINDS = set(ConversationKind.values)
CHUNK = 500  # ids per IN (...) query: well within every database's parameter limit


@dataclass
class IngestResult:
    """What one poll or one batch did. ``stopped`` says why the channel is not read (it
    needs reconnecting, or has no account); ``error`` is a transient failure (the next poll
    tries again); ``paced_until`` is set when the budget had no room for the call."""

    channel_id: int
    fetched: int = 0
    created: int = 0
    skipped: int = 0  # already stored, or ours and in no conversation
    conversations_created: int = 0
    outbound: int = 0
    stopped: str = ""
    error: str = ""
    paced_until: datetime | None = None


def backfill_since(channel: Channel, now: datetime) -> datetime:
    return now - timedelta(days=channel.workspace.inbox_backfill_days)


def ingest_channel(channel: Channel, now: datetime | None = None) -> IngestResult:
    """One poll of ``channel`` (see the module docstring). Never raises for what the network
    says: a revoked authorization moves the channel to "needs reconnecting", tells people
    once, and writes why in ``InboxCursor.stopped_reason``; other failures are in ``error``."""
    now = now or timezone.now()
    result = IngestResult(channel.pk)
    cursor, _ = InboxCursor.objects.get_or_create(channel=channel)
    channel.refresh_from_db(fields=["status", "credentials_encrypted", "remote_account_id"])
    if not channel.is_connected:
        result.stopped = cursor.stopped_reason or f"The channel is {channel.status_text.lower()}."
        _save_cursor(cursor, stopped_reason=result.stopped)
        return result
    connector = connector_for(channel) if channel.has_account else None
    if connector is None or not connector.reads:
        result.stopped = "Nothing to read: this channel has no account that can be read."
        _save_cursor(cursor, stopped_reason=result.stopped)
        return result

    limits = (*pacing.limits_of(connector), *getattr(connector, "read_limits", ()))
    cost = {unit: points for unit, points in connector.read_cost().items() if points > 0}
    with transaction.atomic():
        pacing.lock_channel(channel.pk)
        blocked = pacing.room_at(channel.pk, cost, limits, now)
        if blocked is not None:
            result.paced_until = blocked.until
            return result
        pacing.spend(channel.pk, None, cost, limits, now)

    try:
        page = connector.fetch_inbox(cursor.cursor, backfill_since(channel, now))
    except ConnectorError as error:
        if error.auth_revoked:
            reason = f"Reading stopped: {error.message}"
            if mark_needs_reconnect(channel, error.message, ACTOR):
                from socialdesk.notifications import publishing as notices

                notices.channel_needs_reconnecting(channel, error.message)
            result.stopped = reason
            _save_cursor(cursor, polled_at=now, stopped_reason=reason[:500])
        elif error.permanent:
            # Said on the cursor until a poll succeeds (e.g. after the person reconnects).
            result.error = error.message
            _save_cursor(cursor, polled_at=now, stopped_reason=error.message[:500])
        else:
            result.error = error.message
            _save_cursor(cursor, polled_at=now)
        return result

    extra = {u: p - cost.get(u, 0) for u, p in page.spent.items() if p > cost.get(u, 0)}
    if extra:  # more pages than the least a call costs: counted too, after the fact
        with transaction.atomic():
            pacing.lock_channel(channel.pk)
            pacing.spend(channel.pk, None, extra, limits, timezone.now())

    batch = ingest_items(channel, page.items)
    result.fetched = len(page.items)
    result.created = batch.created
    result.skipped = batch.skipped
    result.conversations_created = batch.conversations_created
    result.outbound = batch.outbound
    newest = max((item.sent_at for item in page.items), default=cursor.seen_until)
    if cursor.seen_until and newest and cursor.seen_until > newest:
        newest = cursor.seen_until
    _save_cursor(cursor, cursor=page.cursor, seen_until=newest, polled_at=now, stopped_reason="")
    return result


def _save_cursor(row: InboxCursor, **fields: object) -> None:
    for name, value in fields.items():
        setattr(row, name, value)
    row.save(update_fields=list(fields))


def ingest_items(channel: Channel, items: Iterable[InboxItem]) -> IngestResult:
    """Store already-fetched items of ``channel`` (see the module docstring)."""
    ordered = sorted(items, key=lambda item: (item.sent_at, item.remote_id))
    try:
        return _ingest(channel, ordered)
    except IntegrityError:
        # Someone stored some of these meanwhile (another door, a poll that overran its
        # lease): this time they are found and skipped.
        log.info("Ingestion of channel %s met concurrent rows; trying once more", channel.pk)
        return _ingest(channel, ordered)


def _chunks(values: Sequence[str]) -> Iterable[Sequence[str]]:
    for start in range(0, len(values), CHUNK):
        yield values[start : start + CHUNK]


def _ingest(channel: Channel, ordered: list[InboxItem]) -> IngestResult:
    result = IngestResult(channel.pk, fetched=len(ordered))
    unique: dict[str, InboxItem] = {}
    for item in ordered:
        if item.remote_id and item.remote_id not in unique:
            unique[item.remote_id] = item
    ids = list(unique)
    stored: set[str] = set()
    for chunk in _chunks(ids):
        stored.update(
            Message.objects.filter(channel=channel, remote_id__in=chunk).values_list(
                "remote_id", flat=True
            )
        )
    new = [item for item in unique.values() if item.remote_id not in stored]
    result.skipped = len(ordered) - len(new)
    if not new:
        return result

    own = channel.remote_account_id
    workspace_id = channel.workspace_id
    now = timezone.now()
    with transaction.atomic():
        contacts = _contacts(channel, [i for i in new if not own or i.author.remote_id != own])
        conversation_of = _conversations_of_parents(channel, new)
        by_key = _conversations_by_key(channel, [i.thread_key for i in new])
        deliveries = _deliveries(channel, [i.our_post_remote_id for i in new])

        # Decide each item's conversation (creating the new ones in memory), in time order.
        placed: list[tuple[InboxItem, Conversation, bool, triage.Triage | None]] = []
        fresh: list[Conversation] = []
        for item in new:
            outbound = bool(own) and item.author.remote_id == own
            conversation = conversation_of.get(item.parent_remote_id) or by_key.get(item.thread_key)
            verdict = None if outbound else triage.classify(item.text, item.language)
            if conversation is None:
                if outbound:
                    result.skipped += 1
                    continue
                assert verdict is not None
                conversation = Conversation(
                    workspace_id=workspace_id,
                    channel=channel,
                    contact=contacts[item.author.remote_id],
                    kind=item.kind if item.kind in KINDS else ConversationKind.MENTION,
                    thread_key=item.thread_key[:500],
                    delivery_id=deliveries.get(item.our_post_remote_id),
                    last_message_at=item.sent_at,
                    created_at=now,
                    sentiment=verdict.sentiment,
                    language=verdict.language,
                    needs_reply=verdict.needs_reply,
                    spam=verdict.spam,
                    priority=verdict.priority,
                )
                fresh.append(conversation)
                by_key[conversation.thread_key] = conversation
            conversation_of[item.remote_id] = conversation
            placed.append((item, conversation, outbound, verdict))
        # Status, then triage, in time order, on the conversations in memory: status.py's
        # rules run unchanged, and what they save is written once per conversation below.
        created = {id(c) for c in fresh}
        dirty: dict[int, tuple[Conversation, set[str]]] = {}
        latest: dict[int, tuple[Conversation, triage.Triage]] = {}
        for item, conversation, outbound, verdict in placed:
            _defer_saves(conversation, dirty)
            if outbound:
                status.on_outbound(conversation, item.sent_at)
                result.outbound += 1
                continue
            status.on_inbound(conversation, item.sent_at)
            if verdict is not None and id(conversation) not in created:
                latest[id(conversation)] = (conversation, verdict)
        for conversation, verdict in latest.values():
            dirty[id(conversation)][1].update(triage.apply_to_conversation(conversation, verdict))
        for conversation, _fields in dirty.values():
            del conversation.save  # the model's own save again
        Conversation.objects.bulk_create(fresh)
        result.conversations_created = len(fresh)
        by_fields: dict[tuple[str, ...], list[Conversation]] = {}
        for conversation, fields in dirty.values():
            if id(conversation) not in created and fields:
                by_fields.setdefault(tuple(sorted(fields)), []).append(conversation)
        for fields_changed, conversations in by_fields.items():
            Conversation.objects.bulk_update(conversations, list(fields_changed))

        messages = []
        for item, conversation, outbound, verdict in placed:
            messages.append(
                Message(
                    workspace_id=workspace_id,
                    conversation=conversation,
                    channel=channel,
                    direction=Direction.OUTBOUND if outbound else Direction.INBOUND,
                    remote_id=item.remote_id[:500],
                    remote_url=item.remote_url[:1000],
                    reference=dict(item.reference),
                    author_contact=None if outbound else contacts[item.author.remote_id],
                    text=item.text,
                    sent_at=item.sent_at,
                    received_at=now,
                    sentiment=verdict.sentiment if verdict else "",
                    language=verdict.language if verdict else "",
                )
            )
        Message.objects.bulk_create(messages)
        for message in messages:
            if message.direction == Direction.INBOUND:
                rules.apply_rules(message)
        result.created = len(messages)
    return result


def _defer_saves(
    conversation: Conversation, dirty: dict[int, tuple[Conversation, set[str]]]
) -> set[str]:
    """Make ``conversation.save(update_fields=...)`` note the fields instead of writing
    them (until ``del conversation.save``); returns the set that collects them."""
    if id(conversation) not in dirty:
        fields: set[str] = set()

        def note(*args: object, update_fields: Iterable[str] = (), **kwargs: object) -> None:
            fields.update(update_fields)

        conversation.save = note  # type: ignore[method-assign,assignment]
        dirty[id(conversation)] = (conversation, fields)
    return dirty[id(conversation)][1]


def _contacts(channel: Channel, items: list[InboxItem]) -> dict[str, Contact]:
    """The contacts of these items' authors, created or brought up to date."""
    authors = {}
    for item in items:
        authors[item.author.remote_id] = item.author  # the newest item's view of them wins
    found: dict[str, Contact] = {}
    keys = list(authors)
    for chunk in _chunks(keys):
        for contact in Contact.objects.filter(
            workspace_id=channel.workspace_id, network=channel.network, remote_id__in=chunk
        ):
            found[contact.remote_id] = contact
    missing = []
    changed: list[Contact] = []
    for remote_id, author in authors.items():
        contact = found.get(remote_id)
        if contact is None:
            contact = Contact(
                workspace_id=channel.workspace_id,
                network=channel.network,
                remote_id=remote_id[:300],
                handle=author.handle[:300],
                display_name=author.display_name[:300],
                avatar_url=author.avatar_url[:1000],
                followers=author.followers,
            )
            missing.append(contact)
            found[remote_id] = contact
        elif not contact.erased:
            fresh = (
                author.handle[:300] or contact.handle,
                author.display_name[:300] or contact.display_name,
                author.avatar_url[:1000] or contact.avatar_url,
                author.followers if author.followers is not None else contact.followers,
            )
            current = (contact.handle, contact.display_name, contact.avatar_url, contact.followers)
            if fresh != current:
                (contact.handle, contact.display_name, contact.avatar_url, contact.followers) = (
                    fresh
                )
                changed.append(contact)
    Contact.objects.bulk_create(missing)
    if changed:
        Contact.objects.bulk_update(changed, ["handle", "display_name", "avatar_url", "followers"])
    return found


def _conversations_of_parents(channel: Channel, items: list[InboxItem]) -> dict[str, Conversation]:
    """Stored message remote id → its conversation, for the messages these items answer."""
    parents = sorted({i.parent_remote_id for i in items if i.parent_remote_id})
    found: dict[str, Conversation] = {}
    for chunk in _chunks(parents):
        for message in Message.objects.filter(channel=channel, remote_id__in=chunk).select_related(
            "conversation"
        ):
            found[message.remote_id] = message.conversation
    return found


def _conversations_by_key(channel: Channel, keys: list[str]) -> dict[str, Conversation]:
    wanted = sorted({key[:500] for key in keys})
    found: dict[str, Conversation] = {}
    for chunk in _chunks(wanted):
        for conversation in Conversation.objects.filter(channel=channel, thread_key__in=chunk):
            found[conversation.thread_key] = conversation
    return found


def _deliveries(channel: Channel, remote_ids: list[str]) -> dict[str, int]:
    """Our post's remote id → its delivery id on this channel."""
    wanted = sorted({r for r in remote_ids if r})
    found: dict[str, int] = {}
    for chunk in _chunks(wanted):
        found.update(
            Delivery.objects.filter(channel=channel, remote_id__in=chunk).values_list(
                "remote_id", "pk"
            )
        )
    return found
