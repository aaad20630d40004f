"""Conversations to answer, for the answering tests (issue 13, item 3): a question asked on
the public page, a Bluesky reply under our post, a Mastodon direct message. Rows as ingestion
writes them (``inbox.answering`` documents the ``reference`` each network's message holds)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.utils import timezone

from socialdesk.inbox.models import Contact, Conversation, ConversationKind, Direction, Message
from socialdesk.networks.models import Channel, Network
from socialdesk.workspaces.models import Workspace


def conversation_with(
    workspace: Workspace,
    channel: Channel,
    *,
    remote_id: str,
    reference: dict[str, Any],
    text: str = "Do you have gluten-free bread?",
    contact_id: str = "ana@example.org",
    handle: str = "",
    name: str = "Ana Lima",
    kind: str = ConversationKind.QUESTION,
    minutes_ago: int = 5,
) -> tuple[Conversation, Message]:
    """A conversation holding one inbound message from one contact, waiting for us."""
    contact, _ = Contact.objects.get_or_create(
        workspace=workspace,
        network=channel.network,
        remote_id=contact_id,
        defaults={"handle": handle, "display_name": name},
    )
    at = timezone.now() - timedelta(minutes=minutes_ago)
    conversation = Conversation.objects.create(
        workspace=workspace,
        channel=channel,
        contact=contact,
        kind=kind,
        thread_key=remote_id,
        last_message_at=at,
        waiting_since=at,
    )
    message = inbound(conversation, remote_id=remote_id, reference=reference, text=text, at=at)
    return conversation, message


def inbound(
    conversation: Conversation,
    *,
    remote_id: str,
    reference: dict[str, Any],
    text: str,
    at: Any = None,
) -> Message:
    """The contact writes (again) in ``conversation``."""
    at = at or timezone.now()
    return Message.objects.create(
        workspace=conversation.workspace,
        conversation=conversation,
        channel=conversation.channel,
        direction=Direction.INBOUND,
        remote_id=remote_id,
        reference=reference,
        author_contact=conversation.contact,
        text=text,
        sent_at=at,
    )


def page_question(
    workspace: Workspace, channel: Channel, *, publish_allowed: bool = True, number: int = 1
) -> tuple[Conversation, Message]:
    return conversation_with(
        workspace,
        channel,
        remote_id=f"question-{number}",
        reference={
            "question_id": f"question-{number}",
            "email": "ana@example.org",
            "name": "Ana Lima",
            "may_publish": publish_allowed,
        },
    )


def bluesky_channel(workspace: Workspace, handle: str, app_password: str, pds_url: str) -> Channel:
    channel = Channel.objects.create(workspace=workspace, network=Network.BLUESKY, handle=handle)
    channel.set_credentials({"handle": handle, "app_password": app_password, "pds_url": pds_url})
    channel.save()
    return channel


def mastodon_channel(workspace: Workspace, instance_url: str, token: str) -> Channel:
    channel = Channel.objects.create(
        workspace=workspace, network=Network.MASTODON, handle="@crumb@bakery.example"
    )
    channel.set_credentials(
        {"instance_url": instance_url, "access_token": token, "account_id": "109382"}
    )
    channel.save()
    return channel


def answering_objects(workspace: Workspace, channel: Channel, author: Any) -> dict[str, int]:
    """One of each object the answering API acts on (tests/test_authorization_matrix.py): a
    page question to answer, a Bluesky reply to like or hide, a sent reply of ours to delete,
    a reply waiting for approval, and a saved reply."""
    from socialdesk.inbox.models import ReplyApproval, SavedReply

    conversation, question = page_question(workspace, channel, number=90)
    bluesky = bluesky_channel(workspace, "crumb.test", "app-pass-word", "http://127.0.0.1:9")
    did = "did:plc:crumbexample"
    _, theirs = conversation_with(
        workspace,
        bluesky,
        remote_id="at://did:plc:anaexample/app.bsky.feed.post/3kaaaaaaaaaa2",
        reference={
            "uri": "at://did:plc:anaexample/app.bsky.feed.post/3kaaaaaaaaaa2",
            "cid": "bafyreianaexample",
            "root": {"uri": f"at://{did}/app.bsky.feed.post/3kaaaaaaaaaa1", "cid": "bafyroot"},
        },
        contact_id="did:plc:anaexample",
        kind=ConversationKind.COMMENT,
    )
    ours = Message.objects.create(
        workspace=workspace,
        conversation=theirs.conversation,
        channel=bluesky,
        direction=Direction.OUTBOUND,
        remote_id=f"at://{did}/app.bsky.feed.post/3kaaaaaaaaaa3",
        author_user=author,
        text="Thank you!",
    )
    waiting = Message.objects.create(
        workspace=workspace,
        conversation=conversation,
        channel=channel,
        direction=Direction.OUTBOUND,
        author_user=author,
        text="Yes!!",
        reference={"in_reply_to": question.pk},
    )
    approval = ReplyApproval.objects.create(
        workspace=workspace, message=waiting, original_text="Yes!!"
    )
    saved = SavedReply.objects.create(workspace=workspace, name="Hours", text="Hi {first_name}")
    return {
        "conversation_id": conversation.pk,
        "message_id": theirs.pk,
        "reply_id": ours.pk,
        "approval_id": approval.pk,
        "saved_reply_id": saved.pk,
    }
