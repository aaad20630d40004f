"""From a mention to action (issue 15, item 5): answer it, make it a content idea, or mark
its author as a lead.

- ``to_conversation``: the mention becomes an inbox conversation (kind "mention") on the
  channel whose search found it, through the inbox's own ingestion
  (``inbox.ingest.ingest_items``), so it is answered like any other: the reply goes through
  the publishing engine as a reply to the post. Only a Bluesky post found through one of the
  workspace's channels can be answered this way (a feed entry has no thread to answer in).
  Twice gives the same conversation (ingestion is idempotent by remote id).
- ``to_idea``: a draft post (``content.services.create_post``) that quotes the mention and
  links it, for the team to rework; twice gives the same draft while it exists.
- ``mark_lead``: the mention's author as an inbox contact marked as a lead, and the lead sent
  once to the workspace's webhooks subscribed to ``listening.lead`` (the CRM shape is
  ``lead_data``, documented in the README). Twice changes nothing and sends nothing.
"""

from __future__ import annotations

import csv
import io
from datetime import datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from socialdesk.csv_cells import safe_row
from socialdesk.workspaces.models import User

from .models import Mention, SourceKind

LEAD_EVENT = "listening.lead"
QUOTE_LENGTH = 240


def _did_of(mention: Mention) -> str:
    """The author's DID: kept at search time, else read from the post's at:// URI."""
    did = str(mention.reference.get("did", ""))
    if not did and mention.remote_id.startswith("at://"):
        did = mention.remote_id[len("at://") :].split("/", 1)[0]
    return did


def to_conversation(mention: Mention) -> Any:
    """The inbox conversation that answers the mention (made on first call)."""
    from socialdesk.inbox.ingest import ingest_items
    from socialdesk.inbox.models import Conversation, Message
    from socialdesk.networks.base import InboxAuthor, InboxItem
    from socialdesk.networks.models import Channel

    if mention.conversation_id:
        found = Conversation.objects.filter(pk=mention.conversation_id).first()
        if found is not None:
            return found
    channel = None
    if mention.source_kind == SourceKind.BLUESKY and mention.source_ref.isdigit():
        channel = Channel.objects.filter(
            workspace_id=mention.workspace_id, pk=int(mention.source_ref)
        ).first()
    reference = dict(mention.reference)
    if channel is None or not reference.get("cid"):
        raise ValidationError(
            {
                "mention": [
                    "Only a Bluesky post found through one of this workspace's channels can be "
                    "answered from the inbox; open its link to answer where it was written."
                ]
            }
        )
    did = _did_of(mention)
    item = InboxItem(
        remote_id=mention.remote_id,
        kind="mention",
        thread_key=mention.remote_id,
        author=InboxAuthor(
            remote_id=did or mention.author_handle,
            handle=mention.author_handle,
            display_name=mention.author_name,
            followers=mention.reach,
        ),
        text=mention.text,
        sent_at=mention.posted_at,
        remote_url=mention.url,
        reference=reference,
        language=mention.language,
    )
    ingest_items(channel, [item])
    message = Message.objects.filter(channel=channel, remote_id=mention.remote_id).first()
    if message is None:  # ingestion skips a post of the channel's own account
        raise ValidationError(
            {"mention": ["This post is the channel's own: there is nobody to answer."]}
        )
    Mention.objects.filter(pk=mention.pk).update(conversation=message.conversation_id)
    mention.conversation_id = message.conversation_id
    return message.conversation


def idea_text(mention: Mention) -> str:
    """The draft's text: the mention quoted (shortened), who said it, and its link."""
    quote = mention.text.strip()
    if len(quote) > QUOTE_LENGTH:
        quote = quote[: QUOTE_LENGTH - 1].rstrip() + "…"
    who = f"@{mention.author_handle}" if mention.author_handle else mention.author_name
    lines = [f"“{quote}”" + (f" — {who}" if who else "")]
    if mention.url:
        lines.append(mention.url)
    return "\n".join(lines)


def to_idea(mention: Mention, user: User | None) -> Any:
    """A draft post quoting and linking the mention (made on first call)."""
    from socialdesk.content.models import Post
    from socialdesk.content.services import PostContent, create_post

    if mention.idea_id:
        found = Post.objects.filter(pk=mention.idea_id).first()
        if found is not None:
            return found
    who = mention.author_handle or mention.author_name or "someone"
    with transaction.atomic():
        locked = Mention.objects.select_for_update().get(pk=mention.pk)
        if locked.idea_id and Post.objects.filter(pk=locked.idea_id).exists():
            return Post.objects.get(pk=locked.idea_id)
        post = create_post(
            mention.workspace,
            user,
            PostContent(title=f"Idea from a mention by {who}"[:200], text=idea_text(mention)),
        )
        Mention.objects.filter(pk=mention.pk).update(idea=post)
    mention.idea_id = post.pk
    return post


def lead_data(contact: Any, mention: Mention | None = None) -> dict[str, Any]:
    """The JSON shape a CRM receives as the webhook body's ``data`` (see the README)."""
    return {
        "contact_id": contact.pk,
        "network": contact.network,
        "remote_id": contact.remote_id,
        "handle": contact.handle,
        "name": contact.display_name,
        "followers": contact.followers,
        "lead_since": contact.lead_since.isoformat() if contact.lead_since else None,
        "source_url": contact.lead_url,
        "mention": (
            {
                "id": mention.pk,
                "text": mention.text,
                "url": mention.url,
                "posted_at": mention.posted_at.isoformat(),
                "sentiment": mention.sentiment,
            }
            if mention is not None
            else None
        ),
        "notes": contact.notes,
    }


def mark_lead(mention: Mention, user: User | None, now: datetime | None = None) -> Any:
    """The mention's author as a contact marked as a lead, sent once to the CRM webhooks."""
    from socialdesk.inbox.models import Contact
    from socialdesk.notifications.services import notify

    now = now or timezone.now()
    if mention.source_kind == SourceKind.BLUESKY:
        network, remote_id = "bluesky", _did_of(mention) or mention.author_handle
    else:
        network = mention.source_kind
        remote_id = mention.author_handle or mention.author_name
    if not remote_id:
        raise ValidationError({"mention": ["This mention does not say who wrote it."]})
    with transaction.atomic():
        try:
            with transaction.atomic():
                contact, _ = Contact.objects.get_or_create(
                    workspace_id=mention.workspace_id,
                    network=network,
                    remote_id=remote_id[:300],
                    defaults={
                        "handle": mention.author_handle,
                        "display_name": mention.author_name,
                        "followers": mention.reach,
                    },
                )
        except IntegrityError:  # made meanwhile by another door
            contact = Contact.objects.get(
                workspace_id=mention.workspace_id, network=network, remote_id=remote_id[:300]
            )
        if contact.erased:
            raise ValidationError(
                {"mention": ["This person asked to be forgotten: they cannot be a lead."]}
            )
        # Compare-and-set: only the first marking sends the lead.
        changed = Contact.objects.filter(pk=contact.pk, is_lead=False).update(
            is_lead=True, lead_since=now, lead_url=mention.url[:1000]
        )
        contact.refresh_from_db()
        if changed:
            notify(
                mention.workspace,
                [],
                LEAD_EVENT,
                f"New lead: {contact}",
                body=mention.text[:280],
                url=mention.url,
                actor=user,
                data=lead_data(contact, mention),
            )
    return contact


def leads(workspace: Any) -> Any:
    from socialdesk.inbox.models import Contact

    return Contact.objects.filter(workspace=workspace, is_lead=True, erased=False).order_by(
        "-lead_since", "-pk"
    )


LEAD_COLUMNS = ["network", "handle", "name", "remote_id", "followers", "lead_since", "source_url"]


def leads_csv(workspace: Any) -> str:
    """The workspace's leads as CSV (cells that a spreadsheet would run are neutralised)."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(LEAD_COLUMNS)
    for contact in leads(workspace):
        writer.writerow(
            safe_row(
                [
                    contact.network,
                    contact.handle,
                    contact.display_name,
                    contact.remote_id,
                    "" if contact.followers is None else str(contact.followers),
                    contact.lead_since.isoformat() if contact.lead_since else "",
                    contact.lead_url,
                ]
            )
        )
    return out.getvalue()
