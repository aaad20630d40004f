"""API: answering from the inbox (issue 13, item 3): replies, likes, hides, deletes, internal
notes, saved replies, reply approval and its setting. Thin: parse, authorize, call
``inbox.answering``, render. A reply that crossed another answer is a 409 naming who
answered."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db.models import QuerySet
from ninja import Field, Router, Schema, Status
from ninja.errors import HttpError

from socialdesk.api_support import (
    Id,
    MemberRequest,
    Problem,
    Slug,
    Text,
    caller,
    requires,
    responses,
)
from socialdesk.publishing.models import Delivery
from socialdesk.workspaces.access import get_in_workspace

from . import answering
from .models import (
    AnswerSettings,
    ApprovalState,
    Conversation,
    Message,
    Note,
    ReplyApproval,
    SavedReply,
)

router = Router(tags=["inbox answering"])


# --- Schemas ------------------------------------------------------------------------------


class ReplyApprovalOut(Schema):
    id: int
    state: str = Field(description="awaiting, approved or rejected.")
    original_text: str = Field(description="The text as its author wrote it.")
    edited: bool
    decided_by_id: int | None
    decided_at: datetime | None
    note: str


class ReplyOut(Schema):
    id: int
    conversation_id: int
    author_id: int | None
    text: str
    state: str = Field(
        description='"awaiting approval", "rejected", or its delivery\'s state '
        "(scheduled, publishing, published, failed …)."
    )
    delivery_id: int | None
    remote_id: str
    remote_url: str
    sent_at: datetime
    approval: ReplyApprovalOut | None

    @staticmethod
    def resolve_author_id(obj: Message) -> int | None:
        return obj.author_user_id

    @staticmethod
    def resolve_state(obj: Message) -> str:
        return answering.state_of(obj)

    @staticmethod
    def resolve_approval(obj: Message) -> ReplyApproval | None:
        return ReplyApproval.objects.filter(message_id=obj.pk).first()


class ReplyIn(Schema):
    text: Text = Field("", max_length=answering.MAX_REPLY)
    saved_reply_id: Id | None = Field(None, description="Answer with this saved reply.")
    expected_last_message_id: Id | None = Field(
        None,
        description="The latest message the person saw; refused with 409 when someone "
        "answered, or the contact wrote, since.",
    )


class ActionOut(Schema):
    delivery_id: int
    kind: str
    state: str

    @staticmethod
    def resolve_delivery_id(obj: Delivery) -> int:
        return obj.pk


class NoteOut(Schema):
    id: int
    conversation_id: int
    author_id: int | None
    text: str
    mention_ids: list[int]
    created_at: datetime

    @staticmethod
    def resolve_mention_ids(obj: Note) -> list[int]:
        return sorted(user.pk for user in obj.mentions.all())


class NoteIn(Schema):
    text: Text = Field(min_length=1, max_length=answering.MAX_NOTE)


class SavedReplyOut(Schema):
    id: int
    name: str
    text: str
    is_answer: bool
    created_by_id: int | None
    created_at: datetime


class SavedReplyIn(Schema):
    name: Text = Field(min_length=1, max_length=100)
    text: Text = Field(
        min_length=1,
        max_length=answering.MAX_REPLY,
        description="May hold variables: " + ", ".join(f"{{{v}}}" for v in answering.VARIABLES),
    )
    is_answer: bool = Field(False, description="Proposed for questions that mean the same.")


class SavedReplyPatch(Schema):
    name: Text | None = Field(None, min_length=1, max_length=100)
    text: Text | None = Field(None, min_length=1, max_length=answering.MAX_REPLY)
    is_answer: bool | None = None


class ApproveIn(Schema):
    text: Text | None = Field(
        None, max_length=answering.MAX_REPLY, description="The approver's edit, sent instead."
    )


class RejectIn(Schema):
    note: Text = Field(min_length=1, max_length=2000, description="Why, for the author.")


class AnswerSettingsOut(Schema):
    approval_roles: list[str]


class AnswerSettingsIn(Schema):
    approval_roles: list[str] = Field(
        max_length=6, description="Roles whose replies wait for an owner or manager."
    )


# --- Replies ------------------------------------------------------------------------------


@router.post(
    "/workspaces/{slug}/inbox/conversations/{conversation_id}/replies",
    response={**responses(ReplyOut, 201), 409: Problem},
    operation_id="inbox_reply",
)
@requires("inbox.reply")
def inbox_reply(
    request: MemberRequest, slug: Slug, conversation_id: Id, payload: ReplyIn
) -> Status:
    """Answer the contact through the network (or wait for approval, by the workspace's
    choice). 409 when someone answered meanwhile."""
    conversation = get_in_workspace(Conversation, request.workspace, pk=conversation_id)
    saved = None
    if payload.saved_reply_id is not None:
        saved = get_in_workspace(SavedReply, request.workspace, pk=payload.saved_reply_id)
    try:
        message = answering.reply(
            conversation,
            caller(request),
            payload.text,
            saved_reply=saved,
            expected_last_message_id=payload.expected_last_message_id,
        )
    except answering.AnswerConflict as conflict:
        raise HttpError(409, conflict.message) from conflict
    return Status(201, message)


def _message(request: MemberRequest, message_id: int) -> Message:
    return get_in_workspace(Message, request.workspace, pk=message_id)


@router.post(
    "/workspaces/{slug}/inbox/messages/{message_id}/like",
    response=responses(ActionOut, 202),
    operation_id="inbox_like",
)
@requires("inbox.reply")
def inbox_like(request: MemberRequest, slug: Slug, message_id: Id) -> Status:
    """Like the contact's message on the network (sent by the engine)."""
    return Status(202, answering.like(_message(request, message_id), caller(request)))


@router.post(
    "/workspaces/{slug}/inbox/messages/{message_id}/hide",
    response=responses(ActionOut, 202),
    operation_id="inbox_hide",
)
@requires("inbox.reply")
def inbox_hide(request: MemberRequest, slug: Slug, message_id: Id) -> Status:
    """Hide the contact's reply under our post, where the network allows it (Bluesky)."""
    return Status(202, answering.hide(_message(request, message_id), caller(request)))


@router.post(
    "/workspaces/{slug}/inbox/messages/{message_id}/unhide",
    response=responses(ActionOut, 202),
    operation_id="inbox_unhide",
)
@requires("inbox.reply")
def inbox_unhide(request: MemberRequest, slug: Slug, message_id: Id) -> Status:
    """Show a hidden reply again."""
    return Status(202, answering.unhide(_message(request, message_id), caller(request)))


@router.delete(
    "/workspaces/{slug}/inbox/replies/{reply_id}",
    response=responses(ActionOut, 202),
    operation_id="inbox_delete_reply",
)
@requires("inbox.reply")
def inbox_delete_reply(request: MemberRequest, slug: Slug, reply_id: Id) -> Status:
    """Delete one of our sent replies from the network."""
    return Status(202, answering.delete(_message(request, reply_id), caller(request)))


# --- Approval -----------------------------------------------------------------------------


def _waiting_reply(request: MemberRequest, approval_id: int) -> Message:
    approval = get_in_workspace(ReplyApproval, request.workspace, pk=approval_id)
    return approval.message


@router.get(
    "/workspaces/{slug}/inbox/approvals",
    response=responses(list[ReplyOut]),
    operation_id="inbox_replies_awaiting",
)
@requires("inbox.view")
def inbox_replies_awaiting(request: MemberRequest, slug: Slug) -> QuerySet[Message]:
    """Replies waiting for an approver, oldest first (at most 200)."""
    return Message.objects.filter(
        workspace=request.workspace, approval__state=ApprovalState.AWAITING
    ).order_by("approval__requested_at", "id")[:200]


@router.post(
    "/workspaces/{slug}/inbox/approvals/{approval_id}/approve",
    response=responses(ReplyOut),
    operation_id="inbox_reply_approve",
)
@requires("inbox.approve")
def inbox_reply_approve(
    request: MemberRequest, slug: Slug, approval_id: Id, payload: ApproveIn
) -> Message:
    """Approve a waiting reply, with the approver's edit if given, and send it."""
    message = _waiting_reply(request, approval_id)
    return answering.approve(message, caller(request), payload.text)


@router.post(
    "/workspaces/{slug}/inbox/approvals/{approval_id}/reject",
    response=responses(ReplyOut),
    operation_id="inbox_reply_reject",
)
@requires("inbox.approve")
def inbox_reply_reject(
    request: MemberRequest, slug: Slug, approval_id: Id, payload: RejectIn
) -> Message:
    """Reject a waiting reply with a note its author is told; it is never sent."""
    message = _waiting_reply(request, approval_id)
    return answering.reject(message, caller(request), payload.note)


@router.get(
    "/workspaces/{slug}/inbox/answer-settings",
    response=responses(AnswerSettingsOut),
    operation_id="inbox_answer_settings_read",
)
@requires("inbox.view")
def inbox_answer_settings_read(request: MemberRequest, slug: Slug) -> Any:
    """Whose replies wait for approval."""
    settings = AnswerSettings.objects.filter(workspace=request.workspace).first()
    return {"approval_roles": settings.approval_roles if settings else []}


@router.put(
    "/workspaces/{slug}/inbox/answer-settings",
    response=responses(AnswerSettingsOut),
    operation_id="inbox_answer_settings_update",
)
@requires("inbox.manage")
def inbox_answer_settings_update(
    request: MemberRequest, slug: Slug, payload: AnswerSettingsIn
) -> AnswerSettings:
    """Choose the roles whose replies wait for an owner's or a manager's approval."""
    return answering.set_approval_roles(request.workspace, caller(request), payload.approval_roles)


# --- Notes --------------------------------------------------------------------------------


@router.get(
    "/workspaces/{slug}/inbox/conversations/{conversation_id}/notes",
    response=responses(list[NoteOut]),
    operation_id="inbox_notes_list",
)
@requires("inbox.view")
def inbox_notes_list(request: MemberRequest, slug: Slug, conversation_id: Id) -> Any:
    """The conversation's internal notes, oldest first."""
    conversation = get_in_workspace(Conversation, request.workspace, pk=conversation_id)
    return list(conversation.notes.prefetch_related("mentions").order_by("created_at", "id"))


@router.post(
    "/workspaces/{slug}/inbox/conversations/{conversation_id}/notes",
    response=responses(NoteOut, 201),
    operation_id="inbox_notes_create",
)
@requires("inbox.reply")
def inbox_notes_create(
    request: MemberRequest, slug: Slug, conversation_id: Id, payload: NoteIn
) -> Status:
    """Write an internal note (never sent); @mentions notify the members named."""
    conversation = get_in_workspace(Conversation, request.workspace, pk=conversation_id)
    return Status(201, answering.add_note(conversation, caller(request), payload.text))


# --- Saved replies ------------------------------------------------------------------------


@router.get(
    "/workspaces/{slug}/inbox/saved-replies",
    response=responses(list[SavedReplyOut]),
    operation_id="inbox_saved_replies_list",
)
@requires("inbox.view")
def inbox_saved_replies_list(request: MemberRequest, slug: Slug) -> Any:
    """The workspace's saved replies, by name (at most 500)."""
    return list(SavedReply.objects.filter(workspace=request.workspace).order_by("name")[:500])


@router.post(
    "/workspaces/{slug}/inbox/saved-replies",
    response=responses(SavedReplyOut, 201),
    operation_id="inbox_saved_replies_create",
)
@requires("inbox.manage")
def inbox_saved_replies_create(request: MemberRequest, slug: Slug, payload: SavedReplyIn) -> Status:
    """Save a reply for reuse; an unknown variable is refused with the list of known ones."""
    saved = answering.save_saved_reply(
        request.workspace,
        caller(request),
        name=payload.name,
        text=payload.text,
        is_answer=payload.is_answer,
    )
    return Status(201, saved)


@router.patch(
    "/workspaces/{slug}/inbox/saved-replies/{saved_reply_id}",
    response=responses(SavedReplyOut),
    operation_id="inbox_saved_replies_update",
)
@requires("inbox.manage")
def inbox_saved_replies_update(
    request: MemberRequest, slug: Slug, saved_reply_id: Id, payload: SavedReplyPatch
) -> SavedReply:
    """Change a saved reply's name, text or FAQ mark."""
    saved = get_in_workspace(SavedReply, request.workspace, pk=saved_reply_id)
    return answering.save_saved_reply(
        request.workspace,
        caller(request),
        name=payload.name if payload.name is not None else saved.name,
        text=payload.text if payload.text is not None else saved.text,
        is_answer=payload.is_answer if payload.is_answer is not None else saved.is_answer,
        saved_reply=saved,
    )


@router.delete(
    "/workspaces/{slug}/inbox/saved-replies/{saved_reply_id}",
    response=responses(None, 204),
    operation_id="inbox_saved_replies_delete",
)
@requires("inbox.manage")
def inbox_saved_replies_delete(request: MemberRequest, slug: Slug, saved_reply_id: Id) -> Status:
    """Delete a saved reply (replies already sent keep their text)."""
    saved = get_in_workspace(SavedReply, request.workspace, pk=saved_reply_id)
    answering.delete_saved_reply(saved, caller(request))
    return Status(204, None)
