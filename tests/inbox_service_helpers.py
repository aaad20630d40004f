"""Small builders for the inbox service tests: a contact writes, the team answers."""

from __future__ import annotations

from datetime import datetime
from itertools import count

from socialdesk.inbox import status
from socialdesk.inbox.models import Contact, Conversation, Message
from socialdesk.networks.models import Channel

_ids = count(1)


def contact(channel: Channel, handle: str = "lea") -> Contact:
    found, _ = Contact.objects.get_or_create(
        workspace=channel.workspace,
        network=channel.network,
        remote_id=f"id-{handle}",
        defaults={"handle": handle, "display_name": handle.title()},
    )
    return found


def inbound(
    channel: Channel,
    text: str,
    at: datetime,
    *,
    who: str = "lea",
    kind: str = "comment",
    conversation: Conversation | None = None,
) -> Message:
    """A message from ``who``; a new conversation unless one is given."""
    person = contact(channel, who)
    if conversation is None:
        conversation = Conversation.objects.create(
            workspace=channel.workspace,
            channel=channel,
            contact=person,
            kind=kind,
            thread_key=f"t{next(_ids)}",
            created_at=at,
            last_message_at=at,
        )
    message = Message.objects.create(
        workspace=channel.workspace,
        conversation=conversation,
        channel=channel,
        direction="in",
        remote_id=f"r{next(_ids)}",
        author_contact=person,
        text=text,
        sent_at=at,
        received_at=at,
    )
    status.on_inbound(conversation, at)
    return message


def answer(conversation: Conversation, text: str, at: datetime, by=None) -> Message:
    message = Message.objects.create(
        workspace=conversation.workspace,
        conversation=conversation,
        channel=conversation.channel,
        direction="out",
        remote_id=f"r{next(_ids)}",
        author_user=by,
        text=text,
        sent_at=at,
        received_at=at,
    )
    status.on_outbound(conversation, at)
    return message


def inbox_service_objects(channel: Channel) -> dict[str, int]:
    """A contact (with a question) and a rule, for the authorization matrix's paths."""
    from django.utils import timezone

    from socialdesk.inbox.models import Rule, SavedReply

    message = inbound(channel, "Do you have gluten-free bread?", timezone.now(), who="matrix")
    rule = Rule.objects.create(
        workspace=channel.workspace, name="Matrix rule", actions=[{"type": "resolve"}]
    )
    reply, _ = SavedReply.objects.get_or_create(
        workspace=channel.workspace, name="Delivery", defaults={"text": "We deliver in the 11e."}
    )
    return {
        "contact_id": message.author_contact_id,
        "rule_id": rule.pk,
        "saved_reply_id": reply.pk,
    }
