"""Answering from the inbox (issue 13, item 3): replies, likes, hides and deletes through the
publishing engine, saved replies with variables, internal notes with @mentions, and reply
approval. Every door (the inbox pages, the API, rules) calls these functions.

Guarantees:

- **Through the engine.** A reply, like, hide, unhide or delete is a ``publishing.Delivery``
  of that kind, made by ``publishing.services.send_inbox_action``: claimed, keyed for
  idempotency, paced, reconciled, never sent twice, never dropped silently. What the network
  would refuse is refused here, before anything is written (``ValidationError``).
- **An answer counts when it is out, not when it is typed.** The engine tells the inbox
  how a delivery ended with the ``publishing.states.delivery_finished`` signal (connected in
  ``InboxConfig.ready``); ``on_delivery_finished`` then records the message's remote id and
  calls ``status.on_outbound`` with the time it was published, which becomes the
  conversation's ``first_response_at`` (the service-level clock and the inbox report read
  it). A signal rather than the inbox polling delivery states: nothing to sweep, and
  publishing still imports nothing from the inbox (DESIGN.md: lower floors never import
  upper ones). While the reply is on its way (or waits for an approver) the conversation
  shows as Pending so that nobody answers it twice (``status.on_reply_sending``); a reply
  that finally fails, is missed or cancelled, or is rejected by an approver puts it back to
  New with its ``waiting_since`` as it was (``status.on_reply_failed``) and tells its author.
- **No two answers cross.** ``reply`` locks the conversation row and refuses
  (``AnswerConflict``, naming who answered) when ``expected_last_message_id`` is no longer
  the conversation's latest message: a teammate answered meanwhile, or the contact wrote.
- **Approval before the network.** When the workspace lists the author's role in
  ``AnswerSettings.approval_roles``, the reply waits (``ReplyApproval``, no delivery) until an
  approver approves it (sent), edits it (sent edited; both texts kept) or rejects it with a
  note (never sent; its author is told).

What an inbox message's ``reference`` holds (written by ingestion), per network, and what the
connectors get as ``target``:

- Bluesky: ``uri`` and ``cid`` of the post, ``root`` (``{"uri", "cid"}``) of its thread
  (flat ``root_uri``/``root_cid`` are read too);
- Mastodon: ``id`` of the status, ``account`` (acct of its author), ``visibility`` and
  ``mentions`` (accts);
- page: ``question_id``, ``email``, ``name`` and ``may_publish`` (the asker's choice, as the
  "Ask us" form stores it).

The message's ``remote_id`` fills in a missing ``uri`` / ``id`` / ``question_id``.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Q
from django.urls import NoReverseMatch, reverse
from django.utils import timezone

from socialdesk.networks.models import Network
from socialdesk.notifications.services import notify, people_with_role
from socialdesk.publishing.models import Delivery, DeliveryKind, DeliveryState
from socialdesk.publishing.services import send_inbox_action
from socialdesk.publishing.states import FINAL
from socialdesk.workspaces.models import Membership, User, Workspace
from socialdesk.workspaces.roles import PERMISSIONS, Role

from . import retention, status
from .models import (
    AnswerSettings,
    ApprovalState,
    Contact,
    Conversation,
    ConversationStatus,
    Direction,
    Message,
    Note,
    ReplyApproval,
    SavedReply,
)

log = logging.getLogger(__name__)

MAX_REPLY = 10_000
MAX_NOTE = 5_000


class AnswerConflict(Exception):
    """Someone answered (or the contact wrote) since the person began their reply."""

    def __init__(self, message: str, latest: Message | None) -> None:
        super().__init__(message)
        self.message = message
        self.latest = latest


# --- Who may ------------------------------------------------------------------------------


def _membership(workspace: Workspace, user: User) -> Membership | None:
    return Membership.objects.filter(workspace=workspace, user=user, user__is_active=True).first()


def _require(workspace: Workspace, user: User, permission: str) -> Membership:
    """Re-checked at the moment of acting (a role may have changed since the page loaded)."""
    membership = _membership(workspace, user)
    if membership is None or not membership.can(permission):
        raise PermissionDenied(f"Your role does not allow {permission} in this workspace.")
    return membership


# --- Targets ------------------------------------------------------------------------------


def target_for(message: Message) -> dict[str, Any]:
    """What the network needs to act on ``message`` (see the module docstring), plus the
    message's id, so the inbox knows what a finished delivery was about."""
    reference = dict(message.reference or {})
    target: dict[str, Any] = {**reference, "message_id": message.pk}
    network = message.channel.network
    if network == Network.BLUESKY:
        target["uri"] = reference.get("uri") or message.remote_id
        root = reference.get("root") or {}
        if isinstance(root, dict) and root.get("uri"):
            target["root_uri"], target["root_cid"] = root.get("uri"), root.get("cid")
        target.pop("root", None)
        target.pop("parent", None)
    elif network == Network.MASTODON:
        target["id"] = str(reference.get("id") or message.remote_id)
        contact = message.author_contact
        if not target.get("account") and contact is not None:
            target["account"] = contact.handle.removeprefix("@")
        target["own_account"] = message.channel.handle.removeprefix("@")
    elif network == Network.PAGE:
        target["question_id"] = str(reference.get("question_id") or message.remote_id)
        contact = message.author_contact
        if contact is not None and not contact.erased:
            if not target.get("email") and "@" in contact.remote_id:
                target["email"] = contact.remote_id
            target.setdefault("name", contact.display_name)
        target["publish_allowed"] = bool(reference.get("may_publish"))  # ingest.py writes it
        target["text"] = message.text
    return target


# --- Saved replies and their variables ----------------------------------------------------

VARIABLES = {
    "first_name": "the contact's first name",
    "name": "the contact's name",
    "handle": "the contact's handle",
    "channel": "the channel answered on",
    "post_url": "the address of our post the conversation is under",
    "agent_name": "the name of the person answering",
}
_VARIABLE = re.compile(r"\{([^{}]*)\}")


def variable_problems(text: str) -> list[str]:
    """The variables of ``text`` Socialdesk does not know, as sentences (empty: all known)."""
    unknown = sorted({name for name in _VARIABLE.findall(text) if name not in VARIABLES})
    if not unknown:
        return []
    known = ", ".join(f"{{{name}}}" for name in VARIABLES)
    names = ", ".join(f"{{{name}}}" for name in unknown)
    return [f"Unknown variable{'s' if len(unknown) > 1 else ''} {names}; known: {known}."]


def render(text: str, conversation: Conversation, agent: User) -> str:
    """``text`` with its variables filled for ``conversation`` answered by ``agent``."""
    contact: Contact = conversation.contact
    name = "" if contact.erased else (contact.display_name or contact.handle)
    delivery = conversation.delivery
    values = {
        "first_name": name.split()[0] if name.split() else "",
        "name": name,
        "handle": "" if contact.erased or not contact.handle else f"@{contact.handle.lstrip('@')}",
        "channel": conversation.channel.display_name or conversation.channel.handle,
        "post_url": delivery.remote_url if delivery is not None else "",
        "agent_name": agent.display_name,
    }
    return _VARIABLE.sub(lambda m: values.get(m.group(1), m.group(0)), text)


def save_saved_reply(
    workspace: Workspace,
    actor: User,
    *,
    name: str,
    text: str,
    is_answer: bool = False,
    saved_reply: SavedReply | None = None,
) -> SavedReply:
    """Create (or, given ``saved_reply``, change) a saved reply. Refuses an empty name or
    text, a name already used, and any variable not in ``VARIABLES`` (listing the known)."""
    _require(workspace, actor, "inbox.manage")
    errors: dict[str, list[str]] = {}
    name, text = name.strip(), text.strip()
    if not name:
        errors["name"] = ["Give the saved reply a name."]
    elif len(name) > 100:
        errors["name"] = ["A name has at most 100 characters."]
    if not text:
        errors["text"] = ["Write the reply."]
    elif len(text) > MAX_REPLY:
        errors["text"] = [f"A saved reply has at most {MAX_REPLY:,} characters."]
    elif problems := variable_problems(text):
        errors["text"] = problems
    same_name = SavedReply.objects.filter(workspace=workspace, name=name)
    if saved_reply is not None:
        same_name = same_name.exclude(pk=saved_reply.pk)
    if name and same_name.exists():
        errors.setdefault("name", []).append(f"A saved reply named “{name}” exists already.")
    if errors:
        raise ValidationError(errors)
    if saved_reply is None:
        return SavedReply.objects.create(
            workspace=workspace, name=name, text=text, is_answer=is_answer, created_by=actor
        )
    saved_reply.name, saved_reply.text, saved_reply.is_answer = name, text, is_answer
    saved_reply.save(update_fields=["name", "text", "is_answer"])
    return saved_reply


def delete_saved_reply(saved_reply: SavedReply, actor: User) -> None:
    _require(saved_reply.workspace, actor, "inbox.manage")
    saved_reply.delete()


# --- Replies ------------------------------------------------------------------------------


def latest_message(conversation: Conversation) -> Message | None:
    """The conversation's latest message that counts for collisions: rejected replies do not."""
    return (
        conversation.messages.exclude(approval__state=ApprovalState.REJECTED)
        .select_related("author_user", "author_contact")
        .order_by("-sent_at", "-id")
        .first()
    )


def _answered_message(conversation: Conversation) -> Message:
    """The message a reply answers: the contact's latest."""
    inbound = (
        conversation.messages.filter(direction=Direction.INBOUND)
        .select_related("channel", "author_contact")
        .order_by("-sent_at", "-id")
        .first()
    )
    if inbound is None:
        raise ValidationError({"conversation": ["There is no message from the contact to answer."]})
    return inbound


def _collision_text(latest: Message) -> str:
    if latest.direction == Direction.INBOUND:
        return (
            f"{latest.author_contact or 'The contact'} wrote again meanwhile: read the new "
            "message before you send."
        )
    who = latest.author_user.display_name if latest.author_user else "someone"
    if latest.automatic:
        who = "an automatic answer"
    waiting = getattr(latest, "approval", None)
    if waiting is not None and waiting.state == ApprovalState.AWAITING:
        return f"{who} has answered meanwhile (waiting for approval): read it before you send."
    return f"{who} has answered meanwhile: read their reply before you send yours."


def needs_approval(workspace: Workspace, membership: Membership) -> bool:
    settings = AnswerSettings.objects.filter(workspace=workspace).first()
    return settings is not None and membership.role in (settings.approval_roles or [])


def approval_role_choices() -> list[tuple[str, str]]:
    """The roles whose replies can be made to wait: those that may answer the inbox and may
    not approve (the settings page offers these)."""
    return [
        (role.value, role.label)
        for role in Role
        if role in PERMISSIONS["inbox.reply"] and role not in PERMISSIONS["inbox.approve"]
    ]


def approval_roles_of(workspace: Workspace) -> list[str]:
    settings = AnswerSettings.objects.filter(workspace=workspace).first()
    return list(settings.approval_roles or []) if settings is not None else []


def waiting_count(workspace: Workspace) -> int:
    """How many replies wait for an approver (``inbox_approval_idx``)."""
    return ReplyApproval.objects.filter(workspace=workspace, state=ApprovalState.AWAITING).count()


def set_approval_roles(workspace: Workspace, actor: User, roles: list[str]) -> AnswerSettings:
    """Choose whose replies wait for approval. Owners and managers approve, so listing them
    would leave nobody to approve their own: refused."""
    _require(workspace, actor, "inbox.manage")
    # Any role that cannot approve; the community manager is the usual one to list.
    allowed = {role.value for role in Role if role not in PERMISSIONS["inbox.approve"]}
    wrong = sorted(set(roles) - allowed)
    if wrong:
        raise ValidationError(
            {"roles": [f"Not a role whose replies can wait for approval: {', '.join(wrong)}."]}
        )
    settings, _ = AnswerSettings.objects.get_or_create(workspace=workspace)
    settings.approval_roles = sorted(set(roles))
    settings.save(update_fields=["approval_roles"])
    return settings


def reply(
    conversation: Conversation,
    author: User,
    text: str,
    saved_reply: SavedReply | None = None,
    expected_last_message_id: int | None = None,
    *,
    automatic: bool = False,
) -> Message:
    """Answer the contact's latest message in ``conversation`` as ``author``.

    ``automatic``: sent by a rule (triage rules, FAQ answers) on behalf of ``author`` (the
    rule's owner): labelled as such (``Message.automatic``) and never held for approval,
    because the rule itself was set up by someone allowed to manage the inbox.

    ``text`` may be empty when ``saved_reply`` is given (its text is used); either way the
    known variables are filled. Refuses (``AnswerConflict``) when ``expected_last_message_id`` is
    given and is no longer the latest message. Returns the outbound message: with its
    delivery (due now, queued), or waiting for approval without one. Nothing is written when
    anything is refused.
    """
    workspace = conversation.workspace
    membership = _require(workspace, author, "inbox.reply")
    if saved_reply is not None and saved_reply.workspace_id != workspace.pk:
        raise ValidationError({"saved_reply_id": ["No such saved reply in this workspace."]})
    text = (text or "").strip() or (saved_reply.text if saved_reply is not None else "")
    # Known variables are filled; other braces a person typed ("code {SAVE10}") stay as they
    # are (a saved reply cannot hold unknown ones: they are refused when it is saved).
    text = render(text, conversation, author).strip()
    if not text:
        raise ValidationError({"text": ["Write a reply, or choose a saved reply."]})
    if len(text) > MAX_REPLY:
        raise ValidationError({"text": [f"A reply has at most {MAX_REPLY:,} characters."]})
    with transaction.atomic():
        # One answer at a time per conversation: the second waits here, then sees the first.
        locked = Conversation.objects.select_for_update().get(pk=conversation.pk)
        latest = latest_message(locked)
        if expected_last_message_id is not None and (
            latest is None or latest.pk != expected_last_message_id
        ):
            raise AnswerConflict(
                _collision_text(latest) if latest else "The conversation changed.", latest
            )
        answered = _answered_message(locked)
        message = Message.objects.create(
            workspace=workspace,
            conversation=locked,
            channel=locked.channel,
            direction=Direction.OUTBOUND,
            author_user=author,
            text=text,
            sent_at=timezone.now(),
            reference={"in_reply_to": answered.pk},
            automatic=automatic,
        )
        # Pending while it is on its way (status.py says why); counted when it is out.
        status.on_reply_sending(locked)
        if not automatic and needs_approval(workspace, membership):
            ReplyApproval.objects.create(workspace=workspace, message=message, original_text=text)
            _tell_approvers(message, author)
            return message
        _send(message, answered, author)
    return message


def _send(message: Message, answered: Message, actor: User) -> Delivery:
    """Give ``message`` its delivery (validated first: refused content raises, and the
    caller's transaction writes nothing)."""
    target = target_for(answered)
    target["message_id"] = message.pk  # the finished reply is this message
    target["answered_message_id"] = answered.pk
    visibility = ""
    if message.channel.network == Network.MASTODON and target.get("visibility") == "direct":
        visibility = "direct"
    delivery = send_inbox_action(
        message.channel,
        DeliveryKind.REPLY,
        target,
        text=message.text,
        actor=actor,
        visibility=visibility,
    )
    Message.objects.filter(pk=message.pk).update(delivery=delivery)
    message.delivery = delivery
    return delivery


def state_of(message: Message) -> str:
    """An outbound message's state in words for pages and the API: "awaiting approval",
    "rejected", else its delivery's state ("scheduled", "publishing", "published" …)."""
    approval = ReplyApproval.objects.filter(message=message).first()
    if approval is not None and approval.state != ApprovalState.APPROVED:
        return "awaiting approval" if approval.state == ApprovalState.AWAITING else "rejected"
    if message.delivery_id is None:
        return "received" if message.direction == Direction.INBOUND else "sent"
    return str(message.delivery.state) if message.delivery else "sent"


# --- Approval -----------------------------------------------------------------------------


def _inbox_url(conversation: Conversation) -> str:
    try:
        return reverse("inbox_conversation", args=[conversation.workspace.slug, conversation.pk])
    except NoReverseMatch:  # TODO(lead): the inbox pages (WORKSPACE UI) name this route
        return f"/w/{conversation.workspace.slug}/inbox/{conversation.pk}"


def _tell_approvers(message: Message, author: User) -> None:
    conversation = message.conversation
    approvers = people_with_role(
        conversation.workspace,
        *[role for role in PERMISSIONS["inbox.approve"]],
    )
    notify(
        conversation.workspace,
        approvers,
        "inbox.approval_requested",
        f"{author.display_name}'s reply to {conversation.contact} waits for approval",
        body=message.text,
        url=_inbox_url(conversation),
        actor=author,
        target=message,
    )


def _waiting(message: Message) -> ReplyApproval:
    approval = ReplyApproval.objects.select_for_update().filter(message_id=message.pk).first()
    if approval is None or approval.state != ApprovalState.AWAITING:
        raise ValidationError({"reply": ["This reply is not waiting for approval."]})
    return approval


def approve(message: Message, approver: User, text: str | None = None) -> Message:
    """Approve a waiting reply, optionally with ``text`` edited by the approver (the author's
    text is kept in ``ReplyApproval.original_text``), and send it."""
    conversation = message.conversation
    _require(conversation.workspace, approver, "inbox.approve")
    edited_text = (text or "").strip()
    if text is not None and not edited_text:
        raise ValidationError({"text": ["An edited reply cannot be empty."]})
    if len(edited_text) > MAX_REPLY:
        raise ValidationError({"text": [f"A reply has at most {MAX_REPLY:,} characters."]})
    with transaction.atomic():
        approval = _waiting(message)
        message.refresh_from_db()
        if edited_text and edited_text != message.text:
            message.text = edited_text
            message.save(update_fields=["text"])
            approval.edited = True
        approval.state = ApprovalState.APPROVED
        approval.decided_by = approver
        approval.decided_at = timezone.now()
        approval.save(update_fields=["state", "edited", "decided_by", "decided_at"])
        answered_id = (message.reference or {}).get("in_reply_to")
        answered = (
            Message.objects.filter(pk=answered_id).select_related("channel").first()
            if answered_id
            else None
        ) or _answered_message(conversation)
        _send(message, answered, approver)
    return message


def reject(message: Message, approver: User, note: str) -> Message:
    """Reject a waiting reply with a ``note`` its author is told; it is never sent."""
    conversation = message.conversation
    _require(conversation.workspace, approver, "inbox.approve")
    note = (note or "").strip()
    if not note:
        raise ValidationError({"note": ["Say why, so the author can do better."]})
    with transaction.atomic():
        approval = _waiting(message)
        approval.state = ApprovalState.REJECTED
        approval.decided_by = approver
        approval.decided_at = timezone.now()
        approval.note = note[:2000]
        approval.save(update_fields=["state", "decided_by", "decided_at", "note"])
        waits_again = _reply_will_not_go(message)
        notify(
            conversation.workspace,
            [message.author_user],
            "inbox.reply_rejected",
            f"{approver.display_name} did not approve your reply to {conversation.contact}",
            body=f"{note}\n\nYour reply: {message.text}" + _status_note(waits_again),
            url=_inbox_url(conversation),
            actor=approver,
            target=message,
        )
    return message


# --- Like, hide, unhide, delete -----------------------------------------------------------


def _act(message: Message, actor: User, kind: str) -> Delivery:
    _require(message.workspace, actor, "inbox.reply")
    if message.direction != Direction.INBOUND or not message.remote_id:
        verb = {"like": "liked", "hide": "hidden", "unhide": "unhidden"}[kind]
        raise ValidationError({"message": [f"Only a message from the contact can be {verb}."]})
    with transaction.atomic():
        return send_inbox_action(message.channel, kind, target_for(message), actor=actor)


def like(message: Message, actor: User) -> Delivery:
    """Like (Mastodon: favourite) the contact's message on the network."""
    return _act(message, actor, DeliveryKind.LIKE)


def hide(message: Message, actor: User) -> Delivery:
    """Hide the contact's reply under our post (Bluesky only: Mastodon has no such thing)."""
    return _act(message, actor, DeliveryKind.HIDE)


def unhide(message: Message, actor: User) -> Delivery:
    return _act(message, actor, DeliveryKind.UNHIDE)


def delete(message: Message, actor: User) -> Delivery:
    """Delete one of our published replies from the network (the message goes when it is
    gone; the delivery keeps who asked and when)."""
    if message.direction != Direction.OUTBOUND or not message.remote_id:
        raise ValidationError({"message": ["Only a reply of ours that was sent can be deleted."]})
    _require(message.workspace, actor, "inbox.reply")
    target = target_for(message)
    if message.channel.network == Network.BLUESKY:
        target["uri"] = message.remote_id
    with transaction.atomic():
        return send_inbox_action(message.channel, DeliveryKind.DELETE, target, actor=actor)


# --- Notes --------------------------------------------------------------------------------


def add_note(conversation: Conversation, author: User, text: str) -> Note:
    """An internal note (never sent); the members it @mentions (by email local part or name,
    as in review comments) who can read the inbox are notified."""
    from socialdesk.review.services import find_mentions

    workspace = conversation.workspace
    _require(workspace, author, "inbox.reply")
    text = (text or "").strip()
    if not text:
        raise ValidationError({"text": ["Write the note."]})
    if len(text) > MAX_NOTE:
        raise ValidationError({"text": [f"A note has at most {MAX_NOTE:,} characters."]})
    readers = set(
        Membership.objects.filter(
            workspace=workspace, role__in=list(PERMISSIONS["inbox.view"])
        ).values_list("user_id", flat=True)
    )
    mentioned = [
        user for user in find_mentions(workspace, text, internal=True) if user.pk in readers
    ]
    with transaction.atomic():
        note = Note.objects.create(
            workspace=workspace, conversation=conversation, author=author, text=text
        )
        note.mentions.set(mentioned)
        if mentioned:
            notify(
                workspace,
                mentioned,
                "inbox.mention",
                f"{author.display_name} mentioned you on a conversation with "
                f"{conversation.contact}",
                body=text,
                url=_inbox_url(conversation),
                actor=author,
                target=conversation,
            )
    return note


# --- What the engine tells us -------------------------------------------------------------


def on_delivery_finished(
    sender: Any, delivery: Delivery, from_state: str, to_state: str, **kwargs: Any
) -> None:
    """Receiver of ``publishing.states.delivery_finished`` (connected in ``InboxConfig``):
    record what an inbox write did, on the message it was about. In a savepoint: whatever
    fails here is undone alone and never breaks the engine's own transaction."""
    with transaction.atomic():
        _record_finished(delivery, to_state)
        _scrub_if_erased(delivery)


def _scrub_if_erased(delivery: Delivery) -> None:
    """A write that was on its way when its contact was erased was left alone then (the
    engine needed it): now that it has ended, what is personal in it goes too."""
    message_id = (delivery.target or {}).get("message_id")
    if not message_id:
        return
    about_erased = Message.objects.filter(pk=message_id, conversation__contact__erased=True)
    if about_erased.exists():
        retention.scrub_write(delivery)


def _record_finished(delivery: Delivery, to_state: str) -> None:
    target = delivery.target or {}
    message_id = target.get("message_id")
    if not message_id:
        return
    message = Message.objects.filter(pk=message_id).select_related("conversation").first()
    if message is None:
        return
    kind = delivery.kind
    if to_state != DeliveryState.PUBLISHED:
        if kind == DeliveryKind.REPLY:
            _tell_reply_failed(message, delivery, _reply_will_not_go(message))
        return
    at = delivery.published_at or timezone.now()
    if kind == DeliveryKind.REPLY:
        Message.objects.filter(pk=message.pk).update(
            remote_id=delivery.remote_id, remote_url=delivery.remote_url, sent_at=at
        )
        conversation = Conversation.objects.select_for_update().get(pk=message.conversation_id)
        status.on_outbound(conversation, at)
        _still_waiting_after(message, conversation)
    elif kind == DeliveryKind.LIKE:
        Message.objects.filter(pk=message.pk).update(liked=True)
    elif kind in (DeliveryKind.HIDE, DeliveryKind.UNHIDE):
        Message.objects.filter(pk=message.pk).update(hidden=kind == DeliveryKind.HIDE)
    elif kind == DeliveryKind.DELETE:
        message.delete()


def _still_waiting_after(reply: Message, conversation: Conversation) -> None:
    """A reply answers the message it was written to; what the contact wrote after that,
    while the reply was on its way (an approval can take hours), still waits for us: the
    conversation is New again, its clock running from the first of those messages."""
    answered_id = (reply.reference or {}).get("in_reply_to")
    answered = Message.objects.filter(pk=answered_id).first() if answered_id else None
    if answered is None:
        return
    later = (
        conversation.messages.filter(direction=Direction.INBOUND)
        .filter(Q(sent_at__gt=answered.sent_at) | Q(sent_at=answered.sent_at, pk__gt=answered.pk))
        .order_by("sent_at", "id")
        .first()
    )
    if later is not None and conversation.status != ConversationStatus.RESOLVED:
        status.on_inbound(conversation, later.sent_at)


def replies_on_their_way(conversation: Conversation, besides: Message | None = None) -> int:
    """How many of our replies in ``conversation`` may still reach the network: waiting for
    an approver, or carried by a delivery that has not ended."""
    outbound = conversation.messages.filter(direction=Direction.OUTBOUND)
    if besides is not None:
        outbound = outbound.exclude(pk=besides.pk)
    waiting = Q(approval__state=ApprovalState.AWAITING)
    moving = Q(delivery__isnull=False) & ~Q(delivery__state__in=FINAL)
    return outbound.filter(waiting | moving).count()


def _reply_will_not_go(message: Message) -> bool:
    """``message`` will never reach the network: its conversation waits for us again
    (``status.on_reply_failed``; True when it went back to New), unless another reply of ours
    is still on its way. The conversation row is locked, so a reply published at the same
    moment cannot cross it."""
    conversation = Conversation.objects.select_for_update().get(pk=message.conversation_id)
    message.conversation = conversation
    others = replies_on_their_way(conversation, besides=message)
    return status.on_reply_failed(conversation, others)


def _tell_reply_failed(message: Message, delivery: Delivery, waits_again: bool) -> None:
    conversation = message.conversation
    notify(
        conversation.workspace,
        [message.author_user],
        "inbox.reply_failed",
        f"Your reply to {conversation.contact} was not sent",
        body=(delivery.last_error or f"It ended {delivery.get_state_display().lower()}.")
        + _status_note(waits_again),
        url=_inbox_url(conversation),
        target=message,
    )


def _status_note(waits_again: bool) -> str:
    if waits_again:
        return "\n\nThe conversation is back in New: the contact is still waiting for an answer."
    return ""
