"""Contacts are personal data (issue 13, item 10): export, erasure, and a retention period.

**Export** (``export_contact``): a JSON document of the contact as the network named them,
the team's notes, and every conversation with the contact's messages (and our answers, which
are part of what was said to them).

**Erasure** (``erase_contact``) keeps the threads' shape, because the workspace needs its
own history (what was answered, when, by whom; the numbers of the inbox report): the Contact
row stays, renamed "erased contact #N", with its handle, avatar, follower count, notes and
network id replaced (the remote id becomes ``erased:<pk>``, so the person's id is gone and the
row stays unique). What the person **wrote** is removed: the text of their inbound messages
is replaced by "(erased)", and its links to the network (remote id, URL, reference) are
cleared, so nothing leads back to the original post. **Our** answers stay as written: they are
the workspace's words, and the team may need to know what it promised. Notes on their
conversations stay (the team's), but the contact's names and handle are replaced in their text.
FAQ proposals and rule hits about their messages are deleted. A message that arrives later
from the same person creates a new contact: erasure is not a block list.

**Retention** (``apply_retention``): a workspace sets ``ServiceLevel.retention_days``; resolved
conversations resolved longer ago than that are deleted with their messages, notes and
proposals (contacts with no conversation left go too). Run on the worker's heartbeat.

**The inbox's writes** (replies, likes, hides, unhides, deletes) are deliveries of the
publishing engine (``Delivery.engine``, kinds other than ``post``), found by the inbox message
they are about (``Message.delivery``, ``target["message_id"]``). Their ``target`` copies what
the contact is and wrote (a Bluesky post's URI holds their DID; Mastodon: their acct and
mentions; the page: the asker's email, name and question) and a reply's ``text_override`` is
a copy of our answer, so both would outlive an erasure or a retention period:

- erasure **scrubs** the writes that have ended (published, failed, cancelled, missed): the
  target keeps only the inbox message ids (``KEPT_TARGET_KEYS``), the text copy goes (the
  message keeps our answer), and the contact's names leave ``last_error``. The rows stay, with
  their transitions: who sent what when is the workspace's history.
- retention **deletes** the writes of the conversations it deletes, once they have ended.

A write still on its way is **never touched**: the engine needs its target, text and
idempotency key to send it exactly once and to reconcile an unknown outcome (Mastodon finds
its reply by text, Bluesky by parent, the page by question). Erasure leaves it as it is and
``answering.on_delivery_finished`` scrubs it when it ends (``scrub_write``); retention leaves
its conversation for a later run.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from django.core.exceptions import PermissionDenied
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.db.models import Count, Q, QuerySet
from django.utils import timezone

from socialdesk.publishing.models import Delivery, DeliveryKind
from socialdesk.publishing.states import FINAL
from socialdesk.workflow import audit
from socialdesk.workflow.models import AuditEvent
from socialdesk.workspaces.models import Membership, User, Workspace
from socialdesk.workspaces.roles import role_can

from .models import (
    Contact,
    Conversation,
    ConversationStatus,
    Direction,
    FaqProposal,
    Message,
    Note,
    RuleHit,
    ServiceLevel,
)

ERASED_TEXT = "(erased)"
# The inbox's kinds of delivery, and the states after which the engine never sends one again
# (published, failed, cancelled, missed).
INBOX_KINDS = [kind for kind in DeliveryKind.values if kind != DeliveryKind.POST]
ENDED = sorted(FINAL)
# What an ended write keeps of its target after erasure: which inbox messages it was about.
KEPT_TARGET_KEYS = ("message_id", "answered_message_id")
# Deleting in slices keeps each transaction short on a big inbox.
RETENTION_BATCH = 500


def _check(workspace: Workspace, by: User, permission: str) -> None:
    membership = Membership.objects.filter(workspace=workspace, user=by).first()
    if membership is None or not role_can(membership.role, permission):
        raise PermissionDenied(f"Your role may not do {permission}.")


def contact_document(contact: Contact) -> dict[str, Any]:
    """Everything the workspace holds about ``contact``, as a JSON-ready dict."""
    conversations = []
    for conversation in contact.conversations.order_by("created_at", "pk").prefetch_related("tags"):
        messages = [
            {
                "direction": m.direction,
                "sent_at": m.sent_at,
                "text": m.text,
                "remote_id": m.remote_id,
                "remote_url": m.remote_url,
                "language": m.language,
                "sentiment": m.sentiment,
                "automatic": m.automatic,
            }
            for m in conversation.messages.order_by("sent_at", "pk")
        ]
        conversations.append(
            {
                "id": conversation.pk,
                "kind": conversation.kind,
                "channel": str(conversation.channel),
                "status": conversation.status,
                "created_at": conversation.created_at,
                "tags": [t.name for t in conversation.tags.all()],
                "messages": messages,
            }
        )
    return {
        "contact": {
            "id": contact.pk,
            "network": contact.network,
            "remote_id": contact.remote_id,
            "handle": contact.handle,
            "display_name": contact.display_name,
            "avatar_url": contact.avatar_url,
            "followers": contact.followers,
            "notes": contact.notes,
            "first_seen_at": contact.first_seen_at,
            "erased": contact.erased,
        },
        "conversations": conversations,
    }


def export_contact(workspace: Workspace, contact: Contact, *, by: User) -> bytes:
    """The contact's data as UTF-8 JSON; recorded in the audit log. Needs contacts.export."""
    _check(workspace, by, "contacts.export")
    if contact.workspace_id != workspace.pk:
        raise PermissionDenied("This contact is not in this workspace.")
    document = {
        "exported_at": timezone.now(),
        "workspace": {"slug": workspace.slug, "name": workspace.name},
        **contact_document(contact),
    }
    audit.record(
        workspace,
        "contact.exported",
        actor=by,
        target=contact,
        detail=f"Exported the data of contact #{contact.pk}",
    )
    return json.dumps(document, cls=DjangoJSONEncoder, indent=2, ensure_ascii=False).encode()


def writes_about(workspace_id: int, message_ids: list[int]) -> QuerySet[Delivery]:
    """The inbox's deliveries about these messages: a reply carrying one of them, or a like,
    hide, unhide or delete of one (``answering.target_for`` puts the message id in the
    target)."""
    return Delivery.engine.filter(workspace_id=workspace_id, kind__in=INBOX_KINDS).filter(
        Q(inbox_message__in=message_ids) | Q(target__message_id__in=message_ids)
    )


def scrub_write(delivery: Delivery, names: Sequence[str] = (), label: str = ERASED_TEXT) -> None:
    """Remove what is personal from an ended inbox write (see the module docstring), in the
    database only: the engine may still hold ``delivery`` in memory while it tells the inbox
    how it ended, and what it holds is left as it is."""
    assert delivery.state in ENDED, "a write on its way is never touched"
    target = delivery.target or {}
    Delivery.engine.filter(pk=delivery.pk, state__in=ENDED).update(
        target={key: target[key] for key in KEPT_TARGET_KEYS if key in target},
        text_override="",
        last_error=_replace_names(delivery.last_error, list(names), label),
    )


def _replace_names(text: str, names: list[str], label: str) -> str:
    for name in names:
        text = re.sub(re.escape(name), label, text, flags=re.IGNORECASE)
    return text


@transaction.atomic
def erase_contact(workspace: Workspace, contact: Contact, *, by: User) -> Contact:
    """Erase ``contact`` as the module docstring says; all or nothing; audit-logged.
    Erasing an erased contact changes nothing."""
    _check(workspace, by, "contacts.erase")
    if contact.workspace_id != workspace.pk:
        raise PermissionDenied("This contact is not in this workspace.")
    contact = Contact.objects.select_for_update().get(pk=contact.pk)
    if contact.erased:
        return contact
    label = f"erased contact #{contact.pk}"
    names = sorted(
        {n for n in (contact.handle, contact.display_name, contact.remote_id) if len(n) > 1},
        key=len,
        reverse=True,
    )
    names += [f"@{n}" for n in names]
    names.sort(key=len, reverse=True)
    inbound = Message.objects.filter(
        workspace=workspace, conversation__contact=contact, direction=Direction.INBOUND
    )
    RuleHit.objects.filter(message__in=inbound).delete()
    FaqProposal.objects.filter(conversation__contact=contact).delete()
    inbound.update(text=ERASED_TEXT, remote_id="", remote_url="", reference={})
    thread = list(
        Message.objects.filter(workspace=workspace, conversation__contact=contact).values_list(
            "pk", flat=True
        )
    )
    for delivery in writes_about(workspace.pk, thread).filter(state__in=ENDED):
        scrub_write(delivery, names, label)
    for note in Note.objects.filter(conversation__contact=contact):
        text = _replace_names(note.text, names, label)
        if text != note.text:
            note.text = text
            note.save(update_fields=["text"])
    contact.remote_id = f"erased:{contact.pk}"
    contact.handle = ""
    contact.display_name = label
    contact.avatar_url = ""
    contact.followers = None
    contact.notes = ""
    contact.erased = True
    contact.save(
        update_fields=[
            "remote_id",
            "handle",
            "display_name",
            "avatar_url",
            "followers",
            "notes",
            "erased",
        ]
    )
    # Earlier audit rows about the contact (an export) named them in their text.
    AuditEvent.objects.filter(
        workspace=workspace, target_type="inbox.contact", target_id=str(contact.pk)
    ).update(target_repr=label)
    audit.record(workspace, "contact.erased", actor=by, target=contact, detail=f"Erased {label}")
    return contact


def apply_retention(now: datetime | None = None) -> int:
    """Delete resolved conversations older than their workspace's retention period; returns
    how many. Contacts left without any conversation are deleted with them."""
    now = now or timezone.now()
    deleted = 0
    for level in ServiceLevel.objects.exclude(retention_days=None):
        assert level.retention_days is not None
        cutoff = now - timedelta(days=level.retention_days)
        held: set[int] = set()
        while True:
            ids = list(
                Conversation.objects.filter(
                    workspace_id=level.workspace_id,
                    status=ConversationStatus.RESOLVED,
                    resolved_at__lt=cutoff,
                )
                .exclude(pk__in=held)
                .values_list("pk", flat=True)[:RETENTION_BATCH]
            )
            if not ids:
                break
            with transaction.atomic():
                messages = dict(
                    Message.objects.filter(conversation_id__in=ids).values_list(
                        "pk", "conversation_id"
                    )
                )
                writes = writes_about(level.workspace_id, list(messages))
                # A conversation with a write still on its way waits for a later run: the
                # engine needs that delivery as it is (module docstring).
                moving = writes.exclude(state__in=ENDED).values_list(
                    "inbox_message", "target__message_id"
                )
                waiting = {messages[m] for pair in moving for m in pair if m in messages}
                if waiting:
                    held.update(waiting)
                    ids = [pk for pk in ids if pk not in waiting]
                going = [m for m, conversation in messages.items() if conversation in ids]
                writes_about(level.workspace_id, going).delete()  # all ended: the rest waits
                contact_ids = set(
                    Conversation.objects.filter(pk__in=ids).values_list("contact_id", flat=True)
                )
                Conversation.objects.filter(pk__in=ids).delete()
                Contact.objects.filter(pk__in=contact_ids).annotate(
                    left=Count("conversations")
                ).filter(left=0).delete()
            deleted += len(ids)
    return deleted
