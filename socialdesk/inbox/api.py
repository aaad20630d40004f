"""API: the inbox's conversations (list and filter, read, assign, status, tags, priority,
sentiment correction) and contacts (list, read with their history, notes).

Replying, notes and saved replies are ANSWER's operations (``inbox.answering``); service
levels, rules and the report are SERVICE's.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from django.db import transaction
from django.db.models import Q
from django.http import Http404
from ninja import Field, Query, Router, Schema

from socialdesk.api_support import (
    CURSOR_DESCRIPTION,
    Id,
    MemberRequest,
    Slug,
    Text,
    caller,
    invalid,
    requires,
    responses,
)
from socialdesk.workspaces.models import User

from . import status as moves
from . import workqueue
from .listing import conversations_for, page_of, parse_filters
from .models import (
    Contact,
    Conversation,
    ConversationStatus,
    Message,
    Priority,
    Sentiment,
    Tag,
)

router = Router(tags=["inbox"])

MAX_NOTES = 5000
MAX_TAGS = 20
TagName = Annotated[Text, Field(min_length=1, max_length=60, pattern=r"^[^\s].*$")]


# --- Schemas ------------------------------------------------------------------------------


class ContactBrief(Schema):
    id: int
    network: str
    handle: str
    display_name: str


class ConversationOut(Schema):
    id: int
    channel_id: int
    network: str
    kind: str
    status: str
    assignee_id: int | None
    priority: int = Field(description="0 low, 1 normal, 2 high, 3 urgent.")
    sentiment: str
    sentiment_corrected: bool
    language: str
    needs_reply: bool
    spam: bool
    tags: list[str]
    contact: ContactBrief
    delivery_id: int | None
    post_id: int | None
    last_message_at: datetime
    waiting_since: datetime | None
    first_response_at: datetime | None
    resolved_at: datetime | None
    created_at: datetime

    @staticmethod
    def resolve_network(obj: Conversation) -> str:
        return obj.channel.network

    @staticmethod
    def resolve_tags(obj: Conversation) -> list[str]:
        return sorted(tag.name for tag in obj.tags.all())

    @staticmethod
    def resolve_post_id(obj: Conversation) -> int | None:
        return obj.delivery.post_id if obj.delivery else None


class MessageOut(Schema):
    id: int
    direction: str = Field(description='"in" from the contact, "out" from the team.')
    text: str
    remote_id: str
    remote_url: str
    author_contact_id: int | None
    author_user_id: int | None
    sent_at: datetime
    automatic: bool
    hidden: bool
    liked: bool


class ConversationDetail(ConversationOut):
    messages: list[MessageOut]

    @staticmethod
    def resolve_messages(obj: Conversation) -> list[Message]:
        return list(obj.messages.all())


class ConversationPage(Schema):
    items: list[ConversationOut]
    next_cursor: str | None


class ConversationFilters(Schema):
    status: Literal["new", "pending", "resolved"] | None = None
    assignee: Annotated[str, Field(pattern=r"^(me|nobody|[1-9][0-9]{0,18})$")] | None = Field(
        None, description='"me", "nobody" or a member\'s user id.'
    )
    channel: Id | None = None
    network: Literal["page", "bluesky", "mastodon"] | None = None
    kind: Literal["comment", "mention", "quote", "direct", "question"] | None = None
    sentiment: Literal["positive", "neutral", "negative"] | None = None
    tag: Annotated[str, Field(max_length=60)] | None = Field(None, description="A tag's name.")
    spam: bool = Field(False, description="Spam only (it is left out otherwise).")
    sla: Literal["breached", "due_soon", "on_time"] | None = Field(
        None,
        description="Open conversations whose response or resolution clock has run out "
        "(breached), has at most 30 minutes of business time left (due_soon), or neither "
        "(on_time).",
    )
    approval: Literal["awaiting"] | None = Field(
        None, description="awaiting: conversations with a reply waiting for an approver."
    )
    cursor: Annotated[str, Field(max_length=200)] | None = Field(
        None, description=CURSOR_DESCRIPTION
    )
    limit: int = Field(50, ge=1, le=100)


class ConversationAssignIn(Schema):
    assignee_id: Id | None = Field(description="A member who may answer the inbox; null: nobody.")


class StatusIn(Schema):
    status: Literal["new", "resolved"] = Field(
        description="resolved, or new to reopen; pending follows a reply by itself."
    )


class ConversationPatch(Schema):
    tags: list[TagName] | None = Field(
        None, max_length=MAX_TAGS, description="The whole set of tag names; new ones are made."
    )
    priority: Literal[0, 1, 2, 3] | None = None
    sentiment: Literal["positive", "neutral", "negative"] | None = Field(
        None, description="A person's correction: kept over what triage says."
    )


class ContactOut(Schema):
    id: int
    network: str
    remote_id: str
    handle: str
    display_name: str
    avatar_url: str
    followers: int | None
    notes: str
    first_seen_at: datetime
    erased: bool


class ContactDetail(ContactOut):
    conversations: list[ConversationOut]


class ContactPatch(Schema):
    notes: Text = Field(max_length=MAX_NOTES)


class ContactFilters(Schema):
    q: Annotated[Text, Field(max_length=100)] | None = Field(
        None, description="Part of the handle or display name."
    )
    network: Literal["page", "bluesky", "mastodon"] | None = None
    limit: int = Field(50, ge=1, le=100)
    offset: int = Field(0, ge=0, le=100_000)


# --- Conversations ------------------------------------------------------------------------


def _conversation(request: MemberRequest, conversation_id: int) -> Conversation:
    try:
        return (
            Conversation.objects.select_related("channel", "contact", "delivery")
            .prefetch_related("tags")
            .get(workspace=request.workspace, pk=conversation_id)
        )
    except Conversation.DoesNotExist:
        raise Http404("No such conversation.") from None


@router.get(
    "/workspaces/{slug}/inbox/conversations",
    response=responses(ConversationPage),
    operation_id="conversations_list",
)
@requires("inbox.view")
def conversations_list(
    request: MemberRequest, slug: Slug, filters: Query[ConversationFilters]
) -> dict[str, Any]:
    """The inbox list, newest message first, a page at a time (keyset: pass next_cursor)."""
    values = filters.dict()
    tag_name = values.pop("tag", None)
    parsed = parse_filters({k: ("" if v is None else str(v)) for k, v in values.items()}, None)
    parsed.me = caller(request)
    parsed.spam = filters.spam
    if tag_name:
        tag = Tag.objects.filter(workspace=request.workspace, name=tag_name).first()
        parsed.tag = tag.pk if tag else -1
    rows = conversations_for(request.workspace, parsed)
    if tag_name and parsed.tag == -1:
        rows = rows.none()
    rows = rows.select_related("channel", "contact", "delivery").prefetch_related("tags")
    # A cursor the inbox did not give out raises ValidationError: 422 with the field named.
    page = page_of(rows, filters.cursor, filters.limit)
    return {"items": page.items, "next_cursor": page.next_cursor}


@router.get(
    "/workspaces/{slug}/inbox/conversations/{conversation_id}",
    response=responses(ConversationDetail),
    operation_id="conversations_read",
)
@requires("inbox.view")
def conversations_read(request: MemberRequest, slug: Slug, conversation_id: Id) -> Conversation:
    """One conversation with its messages, oldest first."""
    return _conversation(request, conversation_id)


@router.post(
    "/workspaces/{slug}/inbox/conversations/{conversation_id}/take",
    response=responses(ConversationOut),
    operation_id="conversations_take",
)
@requires("inbox.reply")
def conversations_take(request: MemberRequest, slug: Slug, conversation_id: Id) -> Conversation:
    """Assign the conversation to the caller ("assign to me")."""
    conversation = _conversation(request, conversation_id)
    return workqueue.assign_to_me(conversation, caller(request))


@router.post(
    "/workspaces/{slug}/inbox/conversations/{conversation_id}/assign",
    response=responses(ConversationOut),
    operation_id="conversations_assign",
)
@requires("inbox.manage")
def conversations_assign(
    request: MemberRequest, slug: Slug, conversation_id: Id, payload: ConversationAssignIn
) -> Conversation:
    """Assign the conversation to a member who may answer the inbox, or to nobody."""
    conversation = _conversation(request, conversation_id)
    person = None
    if payload.assignee_id is not None:
        person = User.objects.filter(pk=payload.assignee_id).first()
        if person is None:
            raise invalid("assignee_id", "No such member.")
    return workqueue.assign(conversation, person, by=caller(request))


@router.post(
    "/workspaces/{slug}/inbox/conversations/{conversation_id}/status",
    response=responses(ConversationOut),
    operation_id="conversations_status",
)
@requires("inbox.reply")
def conversations_status(
    request: MemberRequest, slug: Slug, conversation_id: Id, payload: StatusIn
) -> Conversation:
    """Resolve the conversation, or reopen it (status new)."""
    conversation = _conversation(request, conversation_id)
    if payload.status == ConversationStatus.RESOLVED:
        moves.resolve(conversation)
    else:
        moves.reopen(conversation)
    return conversation


@router.patch(
    "/workspaces/{slug}/inbox/conversations/{conversation_id}",
    response=responses(ConversationOut),
    operation_id="conversations_update",
)
@requires("inbox.reply")
def conversations_update(
    request: MemberRequest, slug: Slug, conversation_id: Id, payload: ConversationPatch
) -> Conversation:
    """Set tags (the whole set), priority, or correct the sentiment (kept over triage's)."""
    conversation = _conversation(request, conversation_id)
    changed: list[str] = []
    with transaction.atomic():
        if payload.priority is not None:
            conversation.priority = Priority(payload.priority)
            changed.append("priority")
        if payload.sentiment is not None:
            conversation.sentiment = Sentiment(payload.sentiment)
            conversation.sentiment_corrected = True
            changed += ["sentiment", "sentiment_corrected"]
        if changed:
            conversation.save(update_fields=changed)
        if payload.tags is not None:
            names = sorted({name.strip() for name in payload.tags})
            tags = [
                Tag.objects.get_or_create(workspace=request.workspace, name=name)[0]
                for name in names
            ]
            conversation.tags.set(tags)
    return _conversation(request, conversation.pk)


# --- Contacts -----------------------------------------------------------------------------


def _contact(request: MemberRequest, contact_id: int) -> Contact:
    try:
        return Contact.objects.get(workspace=request.workspace, pk=contact_id)
    except Contact.DoesNotExist:
        raise Http404("No such contact.") from None


@router.get(
    "/workspaces/{slug}/inbox/contacts",
    response=responses(list[ContactOut]),
    operation_id="contacts_list",
)
@requires("inbox.view")
def contacts_list(
    request: MemberRequest, slug: Slug, filters: Query[ContactFilters]
) -> list[Contact]:
    """The workspace's contacts by handle; ``q`` searches handle and display name."""
    rows = Contact.objects.filter(workspace=request.workspace)
    if filters.q:
        rows = rows.filter(Q(handle__icontains=filters.q) | Q(display_name__icontains=filters.q))
    if filters.network:
        rows = rows.filter(network=filters.network)
    return list(rows.order_by("handle", "id")[filters.offset : filters.offset + filters.limit])


@router.get(
    "/workspaces/{slug}/inbox/contacts/{contact_id}",
    response=responses(ContactDetail),
    operation_id="contacts_read",
)
@requires("inbox.view")
def contacts_read(request: MemberRequest, slug: Slug, contact_id: Id) -> dict[str, Any]:
    """A contact with their conversations across channels, newest first (at most 100)."""
    contact = _contact(request, contact_id)
    history = list(
        Conversation.objects.filter(workspace=request.workspace, contact=contact)
        .select_related("channel", "contact", "delivery")
        .prefetch_related("tags")
        .order_by("-last_message_at", "-id")[:100]
    )
    return {**ContactOut.from_orm(contact).dict(), "conversations": history}


@router.patch(
    "/workspaces/{slug}/inbox/contacts/{contact_id}",
    response=responses(ContactOut),
    operation_id="contacts_update",
)
@requires("inbox.reply")
def contacts_update(
    request: MemberRequest, slug: Slug, contact_id: Id, payload: ContactPatch
) -> Contact:
    """Replace the team's notes about the contact."""
    contact = _contact(request, contact_id)
    contact.notes = payload.notes.strip()
    contact.save(update_fields=["notes"])
    return contact
