"""A conversation's status, moved in one place by every door (ingestion, answering, the
inbox page, the API, rules).

New → Pending after our reply → New again when the contact writes → Resolved by a person;
a resolved conversation reopens (New) on the contact's next message. ``waiting_since`` is
the first inbound message still without an answer: the service-level clock runs from it.
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
