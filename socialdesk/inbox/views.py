"""The inbox pages: the list with its filters, the open conversation, the contact.

One page (``inbox``) shows the three panes; ``inbox_list`` is the list alone, which the page
polls every few seconds (it answers 204 when nothing changed, so a quiet inbox costs one
small query). Every action is a plain form POST that redirects back to the conversation,
so the page works without JavaScript; the script (``inbox/inbox.js``) adds the keyboard
shortcuts, the saved-reply picker and the "typing" flag of presence.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.db.models import Count, OuterRef, Q, Subquery
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from socialdesk.networks.models import Channel, Network
from socialdesk.web.helpers import enter, is_partial
from socialdesk.workspaces.access import get_in_workspace
from socialdesk.workspaces.models import Membership, User, Workspace

from . import answering, workqueue
from . import status as moves
from .listing import Filters, conversations_for, page_of, parse_filters, version_of
from .models import (
    Conversation,
    ConversationKind,
    ConversationStatus,
    Message,
    SavedReply,
    Sentiment,
    Tag,
)

MAX_REPLY = 5000
MAX_NOTE = 5000


def send_reply(
    conversation: Conversation, text: str, by: User, seen_message_id: int | None
) -> Message:
    """Answer through the engine (``answering.reply``); a teammate's answer or a new message
    from the contact since the page was read is refused with what happened."""
    try:
        return answering.reply(conversation, by, text, expected_last_message_id=seen_message_id)
    except answering.AnswerConflict as conflict:
        raise ValidationError({"text": [conflict.message]}) from conflict


# --- Pages --------------------------------------------------------------------------------


def _members(workspace: Workspace) -> list[User]:
    return workqueue.answerers(workspace)


def _list_context(
    request: HttpRequest, workspace: Workspace, filters: Filters, open_id: int | None
) -> dict[str, Any]:
    rows = conversations_for(workspace, filters)
    shown = rows.select_related("contact", "channel", "assignee").annotate(
        # The latest message's text, looked up only for the page's rows (inbox_thread_idx).
        preview=Subquery(
            Message.objects.filter(conversation=OuterRef("pk"))
            .order_by("-sent_at", "-id")
            .values("text")[:1]
        )
    )
    cursor = request.GET.get("cursor") or None
    try:
        page = page_of(shown, cursor)
    except ValidationError:
        cursor = None
        page = page_of(shown)
    query = filters.query()
    new_count = workqueue.new_count(workspace, filters.me)
    version = f"{version_of(rows)}-{new_count}"
    poll_query = {**query, "version": version}
    if open_id:
        poll_query["open"] = str(open_id)
    return {
        "conversations": page.items,
        "next_cursor": page.next_cursor,
        "cursor": cursor,
        "filters": filters,
        "filter_query": urlencode(query),
        "poll_url": reverse("inbox_list", args=[workspace.slug]) + "?" + urlencode(poll_query),
        "open_id": open_id,
        "inbox_new_count": new_count,
    }


def _filter_choices(workspace: Workspace) -> dict[str, Any]:
    return {
        "status_choices": ConversationStatus.choices,
        "kind_choices": ConversationKind.choices,
        "sentiment_choices": Sentiment.choices,
        "network_choices": Network.choices,
        "channels": list(Channel.objects.filter(workspace=workspace).order_by("network", "handle")),
        "tags": list(Tag.objects.filter(workspace=workspace)),
        "members": _members(workspace),
    }


def _conversation_context(
    request: HttpRequest, membership: Membership, conversation: Conversation
) -> dict[str, Any]:
    workspace = membership.workspace
    thread = list(conversation.messages.select_related("author_contact", "author_user"))
    contact = conversation.contact
    history = list(
        Conversation.objects.filter(workspace=workspace, contact=contact)
        .exclude(pk=conversation.pk)
        .select_related("channel")
        .order_by("-last_message_at", "-id")[:20]
    )
    saved_replies = [
        {"reply": saved, "text": answering.render(saved.text, conversation, request.user)}  # type: ignore[arg-type]
        for saved in SavedReply.objects.filter(workspace=workspace)
    ]
    delivery = conversation.delivery  # type: ignore[arg-type]
    return {
        "conversation": conversation,
        "thread": thread,
        "last_message_id": thread[-1].pk if thread else 0,
        "notes": list(conversation.notes.select_related("author")),
        "contact": contact,
        "history": history,
        "contact_counts": Conversation.objects.filter(
            workspace=workspace, contact=contact
        ).aggregate(
            total=Count("id"),
            open=Count("id", filter=~Q(status=ConversationStatus.RESOLVED)),
        ),
        "saved_replies": saved_replies,
        "post": delivery.post if delivery else None,
        "delivery": delivery,
        "presence": workqueue.present(conversation, exclude=request.user),  # type: ignore[arg-type]
        "can_reply": membership.can("inbox.reply"),
        "can_manage": membership.can("inbox.manage"),
        "is_mine": conversation.assignee_id == request.user.pk,
    }


def _open(workspace: Workspace, conversation_id: int) -> Conversation:
    try:
        return Conversation.objects.select_related(
            "contact", "channel", "assignee", "delivery__post"
        ).get(workspace=workspace, pk=conversation_id)
    except Conversation.DoesNotExist:
        raise Http404("No such conversation.") from None


def _page(
    request: HttpRequest,
    slug: str,
    conversation_id: int | None,
    extra: dict[str, Any] | None = None,
    status: int = 200,
) -> HttpResponse:
    membership = enter(request, slug, "inbox.view")
    workspace = membership.workspace
    filters = parse_filters(request.GET, request.user)  # type: ignore[arg-type]
    conversation = _open(workspace, conversation_id) if conversation_id else None
    context = {
        **_list_context(request, workspace, filters, conversation_id),
        **_filter_choices(workspace),
    }
    if conversation is not None:
        workqueue.touch_presence(conversation, request.user)  # type: ignore[arg-type]
        context.update(_conversation_context(request, membership, conversation))
    context.update(extra or {})
    return render(request, "inbox/inbox.html", context, status=status)


@login_required
def inbox(request: HttpRequest, slug: str) -> HttpResponse:
    return _page(request, slug, None)


@login_required
def conversation_detail(request: HttpRequest, slug: str, conversation_id: int) -> HttpResponse:
    return _page(request, slug, conversation_id)


@login_required
def inbox_list(request: HttpRequest, slug: str) -> HttpResponse:
    """The list alone, for the page's live refresh: 204 when it still shows ``version``."""
    membership = enter(request, slug, "inbox.view")
    workspace = membership.workspace
    filters = parse_filters(request.GET, request.user)  # type: ignore[arg-type]
    if not is_partial(request):
        query = urlencode(filters.query())
        return redirect(reverse("inbox", args=[slug]) + (f"?{query}" if query else ""))
    open_raw = request.GET.get("open") or ""
    open_id = int(open_raw) if open_raw.isascii() and open_raw.isdigit() else None
    rows = conversations_for(workspace, filters)
    version = f"{version_of(rows)}-{workqueue.new_count(workspace, filters.me)}"
    if request.GET.get("version") == version:
        response = HttpResponse(status=204)
    else:
        context = _list_context(request, workspace, filters, open_id)
        response = render(request, "inbox/_list_refresh.html", context)
    response["ETag"] = f'"{version}"'
    response["Cache-Control"] = "no-cache"
    return response


# --- Actions (plain form posts; each redirects back to the conversation) -------------------


def _back(request: HttpRequest, slug: str, conversation: Conversation) -> HttpResponse:
    url = reverse("inbox_conversation", args=[slug, conversation.pk])
    # The list's filters ride along as keep_<name> (an action's own fields, such as
    # "assignee" or "status", must not be read as filters).
    kept = {k.removeprefix("keep_"): v for k, v in request.POST.items() if k.startswith("keep_")}
    query = urlencode(parse_filters(kept, None).query())
    return redirect(f"{url}?{query}" if query else url)


def _acting(request: HttpRequest, slug: str, conversation_id: int, permission: str):  # type: ignore[no-untyped-def]
    membership = enter(request, slug, permission)
    return membership, _open(membership.workspace, conversation_id)


@login_required
@require_POST
def conversation_reply(request: HttpRequest, slug: str, conversation_id: int) -> HttpResponse:
    membership, conversation = _acting(request, slug, conversation_id, "inbox.reply")
    text = (request.POST.get("text") or "").replace("\x00", "").strip()
    saved_id = request.POST.get("saved_reply") or ""
    if not text and saved_id.isascii() and saved_id.isdigit():
        saved = get_in_workspace(SavedReply, membership.workspace, pk=int(saved_id))
        text = answering.render(saved.text, conversation, request.user)  # type: ignore[arg-type]
    seen_raw = request.POST.get("seen_message_id") or ""
    seen = int(seen_raw) if seen_raw.isascii() and seen_raw.isdigit() else None
    error = ""
    if not text:
        error = "Write a reply, or pick a saved reply."
    elif len(text) > MAX_REPLY:
        error = f"A reply is at most {MAX_REPLY:,} characters; this one has {len(text):,}."
    else:
        try:
            send_reply(conversation, text, request.user, seen)  # type: ignore[arg-type]
        except ValidationError as refused:
            error = " ".join(refused.messages)
    if error:
        # The page again, with what they wrote kept in the box.
        return _page(
            request,
            slug,
            conversation.pk,
            {"reply_error": error, "reply_text": text},
            status=400,
        )
    workqueue.touch_presence(conversation, request.user, typing=False)  # type: ignore[arg-type]
    messages.success(request, "Reply sent.")
    return _back(request, slug, conversation)


@login_required
@require_POST
def conversation_assign(request: HttpRequest, slug: str, conversation_id: int) -> HttpResponse:
    """``assignee``: "me" (anyone who may answer), "nobody" or a member's id (managers)."""
    target = request.POST.get("assignee") or ""
    mine = target == "me"
    membership, conversation = _acting(
        request, slug, conversation_id, "inbox.reply" if mine else "inbox.manage"
    )
    person: User | None
    if mine:
        person = request.user  # type: ignore[assignment]
    elif target in ("", "nobody"):
        person = None
    elif target.isascii() and target.isdigit():
        person = User.objects.filter(pk=int(target)).first()
        if person is None:
            messages.error(request, "No such member.")
            return _back(request, slug, conversation)
    else:
        messages.error(request, "Choose a member, yourself or nobody.")
        return _back(request, slug, conversation)
    try:
        workqueue.assign(conversation, person, by=request.user)  # type: ignore[arg-type]
    except ValidationError as refused:
        messages.error(request, " ".join(refused.messages))
        return _back(request, slug, conversation)
    who = "you" if mine else (person.display_name if person else "nobody")
    messages.success(request, f"Assigned to {who}.")
    return _back(request, slug, conversation)


@login_required
@require_POST
def conversation_status(request: HttpRequest, slug: str, conversation_id: int) -> HttpResponse:
    membership, conversation = _acting(request, slug, conversation_id, "inbox.reply")
    wanted = request.POST.get("status")
    if wanted == ConversationStatus.RESOLVED:
        moves.resolve(conversation)
        messages.success(request, "Resolved.")
    elif wanted == ConversationStatus.NEW:
        moves.reopen(conversation)
        messages.success(request, "Reopened.")
    else:
        messages.error(request, "Choose resolve or reopen.")
    return _back(request, slug, conversation)


@login_required
@require_POST
def conversation_note(request: HttpRequest, slug: str, conversation_id: int) -> HttpResponse:
    """An internal note; the members it @mentions are notified (``answering.add_note``)."""
    membership, conversation = _acting(request, slug, conversation_id, "inbox.reply")
    text = (request.POST.get("text") or "").replace("\x00", "").strip()
    if not text or len(text) > MAX_NOTE:
        messages.error(request, f"A note is 1 to {MAX_NOTE:,} characters.")
    else:
        try:
            answering.add_note(conversation, request.user, text)  # type: ignore[arg-type]
        except ValidationError as refused:
            messages.error(request, " ".join(refused.messages))
        else:
            messages.success(request, "Note added.")
    return _back(request, slug, conversation)


@login_required
@require_POST
def contact_notes(request: HttpRequest, slug: str, conversation_id: int) -> HttpResponse:
    """The contact's notes (one text, kept with the contact across conversations)."""
    membership, conversation = _acting(request, slug, conversation_id, "inbox.reply")
    text = (request.POST.get("notes") or "").replace("\x00", "").strip()
    if len(text) > MAX_NOTE:
        messages.error(request, f"Notes are at most {MAX_NOTE:,} characters.")
    else:
        contact = conversation.contact
        contact.notes = text
        contact.save(update_fields=["notes"])
        messages.success(request, "Contact notes saved.")
    return _back(request, slug, conversation)


@login_required
@require_POST
def conversation_presence(request: HttpRequest, slug: str, conversation_id: int) -> HttpResponse:
    """The page's heartbeat: I am here (typing or not); answers who else is."""
    membership = enter(request, slug, "inbox.view")
    conversation = _open(membership.workspace, conversation_id)
    typing = request.POST.get("typing") == "1" and membership.can("inbox.reply")
    workqueue.touch_presence(conversation, request.user, typing=typing)  # type: ignore[arg-type]
    context = {
        "conversation": conversation,
        "presence": workqueue.present(conversation, exclude=request.user),  # type: ignore[arg-type]
    }
    if not is_partial(request):
        return redirect("inbox_conversation", slug=slug, conversation_id=conversation.pk)
    return render(request, "inbox/_presence.html", context)
