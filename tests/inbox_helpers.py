"""Conversations built with the ORM for the inbox's page, API and queue tests."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.utils import timezone

from socialdesk.inbox import status
from socialdesk.inbox.models import Contact, Conversation, ConversationKind, Direction, Message
from socialdesk.networks.models import Channel
from socialdesk.workspaces.models import Workspace


def contact_of(workspace: Workspace, channel: Channel, handle: str, name: str = "") -> Contact:
    contact, _ = Contact.objects.get_or_create(
        workspace=workspace,
        network=channel.network,
        remote_id=f"id:{handle}",
        defaults={"handle": handle, "display_name": name or handle.split(".")[0].title()},
    )
    return contact


def conversation(
    workspace: Workspace,
    channel: Channel,
    handle: str,
    text: str,
    *,
    name: str = "",
    kind: str = ConversationKind.COMMENT,
    at: datetime | None = None,
    **fields,
) -> Conversation:
    """A conversation with one inbound message from ``handle``, ``at`` (default: now)."""
    at = at or timezone.now()
    contact = contact_of(workspace, channel, handle, name)
    found = Conversation.objects.create(
        workspace=workspace,
        channel=channel,
        contact=contact,
        kind=kind,
        thread_key=f"{handle}:{at.timestamp()}:{text[:20]}",
        last_message_at=at - timedelta(seconds=1),
        created_at=at,
        **fields,
    )
    inbound(found, text, at)
    return found


def inbound(conversation: Conversation, text: str, at: datetime | None = None) -> Message:
    at = at or timezone.now()
    message = Message.objects.create(
        workspace_id=conversation.workspace_id,
        conversation=conversation,
        channel_id=conversation.channel_id,
        direction=Direction.INBOUND,
        remote_id=f"remote:{conversation.pk}:{at.timestamp()}",
        author_contact=conversation.contact,
        text=text,
        sent_at=at,
        # What the page's "Ask us" form keeps, so an answer can reach the asker by email.
        reference={"email": "asker@example.org", "name": "Asker", "may_publish": False},
    )
    status.on_inbound(conversation, at)
    return message
