"""A conversation's status, moved in one place by every door (ingestion, answering, the
inbox page, the API, rules).

New → Pending after our reply → New again when the contact writes → Resolved by a person;
a resolved conversation reopens (New) on the contact's next message. ``waiting_since`` is
the first inbound message still without an answer: the service-level clock runs from it.

A reply counts as an answer when it is **on the network**, not when a person presses Send:
``first_response_at`` is the time its delivery was published (``on_outbound``, called by
``answering.on_delivery_finished``), and ``waiting_since`` stays until then. While the reply
is on its way (queued, retried, or waiting for an approver) the conversation shows as
Pending (``on_reply_sending``): a support team works the New queue, and a conversation that
stayed New after someone answered would invite a second answer from a teammate. The
response clock keeps running meanwhile (``waiting_since`` is kept), because the contact has
no answer yet: a reply stuck in approval can still breach the target, and that is the point
of telling the managers. When the reply finally fails, or an approver rejects it
(``on_reply_failed``), the conversation is New again with ``waiting_since`` as it was.

So "Pending with ``waiting_since`` set" means exactly "our reply is on its way": nothing else
leaves a Pending conversation with a running response clock.
"""

from __future__ import annotations

from datetime import datetime

from django.utils import timezone

from .models import Conversation, ConversationStatus


def on_inbound(conversation: Conversation, at: datetime) -> None:
    """The contact wrote (at ``at``, the network's time): it waits for us again."""
    conversation.status = ConversationStatus.NEW
    conversation.resolved_at = None
    if conversation.waiting_since is None:
        conversation.waiting_since = at
    conversation.last_message_at = max(conversation.last_message_at, at)
    conversation.save(update_fields=["status", "resolved_at", "waiting_since", "last_message_at"])


def on_outbound(conversation: Conversation, at: datetime) -> None:
    """We answered: pending until the contact writes again."""
    if conversation.first_response_at is None:
        conversation.first_response_at = at
    conversation.waiting_since = None
    if conversation.status != ConversationStatus.RESOLVED:
        conversation.status = ConversationStatus.PENDING
    conversation.last_message_at = max(conversation.last_message_at, at)
    conversation.save(
        update_fields=["first_response_at", "waiting_since", "status", "last_message_at"]
    )


def on_reply_sending(conversation: Conversation) -> None:
    """A person sent a reply (or asked for its approval): out of the New queue while it is on
    its way; the clock and ``first_response_at`` wait for it to be on the network."""
    if conversation.status != ConversationStatus.NEW:
        return  # Pending already (a follow-up), or resolved by a person: left as it is
    conversation.status = ConversationStatus.PENDING
    conversation.save(update_fields=["status"])


def on_reply_failed(conversation: Conversation, replies_on_their_way: int = 0) -> bool:
    """A reply will never reach the network (its delivery failed, was missed or cancelled, or
    an approver rejected it): New again, ``waiting_since`` as it was, unless another reply is
    still on its way (``replies_on_their_way``), a reply reached the network since (nothing
    waits any more), or a person resolved it meanwhile. True when it went back to New."""
    if conversation.status != ConversationStatus.PENDING or conversation.waiting_since is None:
        return False
    if replies_on_their_way:
        return False
    conversation.status = ConversationStatus.NEW
    conversation.save(update_fields=["status"])
    return True


def resolve(conversation: Conversation, at: datetime | None = None) -> None:
    conversation.status = ConversationStatus.RESOLVED
    conversation.resolved_at = at or timezone.now()
    conversation.waiting_since = None
    conversation.save(update_fields=["status", "resolved_at", "waiting_since"])


def reopen(conversation: Conversation) -> None:
    """A person reopens it: it waits again from now."""
    conversation.status = ConversationStatus.NEW
    conversation.resolved_at = None
    conversation.waiting_since = conversation.waiting_since or timezone.now()
    conversation.save(update_fields=["status", "resolved_at", "waiting_since"])
