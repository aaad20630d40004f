"""The inbox pages: the list with its filters, the open conversation, the contact.

One page (``inbox``) shows the three panes; ``inbox_list`` is the list alone, which the page
polls every few seconds (it answers 204 when nothing changed, so a quiet inbox costs one
small query). Every action is a plain form POST that redirects back to the conversation,
so the page works without JavaScript; the script (``inbox/inbox.js``) adds the keyboard
shortcuts, the saved-reply picker and the "typing" flag of presence.
"""

from __future__ import annotations

from html import escape
from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.db.models import Count, Q, QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_http_methods, require_POST

from socialdesk.networks.models import Channel, Network
from socialdesk.web.helpers import enter, is_partial
from socialdesk.workspaces.access import get_in_workspace
from socialdesk.workspaces.models import Membership, User, Workspace

from . import answering, retention, workqueue
from . import status as moves
from .listing import (
    PREVIEW_CHARS,
    SLA_CHOICES,
    Filters,
    badge_count,
    conversations_for,
    for_the_list,
    page_of,
    parse_filters,
    sla_marks,
    sla_of_row,
    version_of,
    version_of_page,
)
from .models import (
    Contact,
    Conversation,
    ConversationKind,
    ConversationStatus,
    Message,
    ReplyApproval,
    SavedReply,
    Sentiment,
    Tag,
)
from .service_levels import Thresholds

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


STATUS_LABELS = dict(ConversationStatus.choices)
KIND_LABELS = dict(ConversationKind.choices)
SENTIMENT_LABELS = dict(Sentiment.choices)
NETWORK_LABELS = dict(Network.choices)


# One list row. The list is the inbox's hot path (every page, every refresh after a
# change): printing 50 rows through the template engine cost more than the query that
# found them (about 700 variable lookups, a ``{% url %}``, date filters and model methods
# per page; BENCHMARKS.md), so each row is this one small format string, every value
# escaped by ``format_html``. Classes and ids are the ones inbox.css, inbox.js and the
# browser tests use.
ROW_HTML = (
    '<li><a id="conv-{pk}" class="conv-row conv-{status}" data-conversation-link '
    'href="{url}"{current}>'
    '<span class="conv-top"><span class="conv-name">{name}</span> '
    '<time class="conv-time" datetime="{iso}">{when}</time></span>'
    "{preview}"
    '<span class="conv-meta">'
    '<span class="badge conv-status conv-status-{status}">{status_label}</span> '
    '<span class="conv-net"><span class="net net-{network}" aria-hidden="true"></span>'
    "{network_label}</span> "
    "<span>{kind_label}</span> "
    "{sentiment}"
    "{sla}"
    '<span class="conv-assignee">{assignee}</span>'
    "</span></a></li>\n"
)
PREVIEW_HTML = '<span class="conv-preview">{}</span>'
SENTIMENT_HTML = '<span class="sentiment sentiment-{}">{}</span> '
# Only the two states that call for action are shown; "on time" is the quiet default.
SLA_HTML = {
    "breached": '<span class="badge sla sla-breached">Breached</span> ',
    "due_soon": '<span class="badge sla sla-due-soon">Due soon</span> ',
}


def _rows_html(
    items: list[dict[str, Any]],
    workspace: Workspace,
    filter_query: str,
    open_id: int | None,
    marks: Thresholds | None = None,
) -> str:
    """The list's rows (``listing.for_the_list`` dicts) as HTML, in plain Python: the
    contact's name, the local time of the last message, the start of it, status, network,
    type, sentiment (unless neutral), a breached or due-soon badge (``marks``) and
    assignee; the open conversation is marked
    ``aria-current``. Every value from the database goes through ``escape`` (the standard
    library's, quotes included: Django's adds a lazy-string check per value, a third of
    the list's time here)."""
    base = escape(reverse("inbox_conversation", args=[workspace.slug, 0]).removesuffix("0/"))
    suffix = escape(f"/?{filter_query}" if filter_query else "/")
    zone = workspace.zone
    html = []
    for row in items:
        pk = int(row["pk"])
        at = row["last_message_at"].astimezone(zone)
        preview = row["preview"] or ""
        if len(preview) > PREVIEW_CHARS:
            preview = preview[: PREVIEW_CHARS - 1] + "…"
        network, sentiment, status = row["channel__network"], row["sentiment"], row["status"]
        name = row["contact__display_name"] or row["contact__handle"] or row["contact__remote_id"]
        if row["assignee_id"] is None:
            assignee = "Unassigned"
        else:
            assignee = row["assignee__name"] or row["assignee__email"].split("@")[0]
        html.append(
            ROW_HTML.format(
                pk=pk,
                status=escape(status),
                url=f"{base}{pk}{suffix}",
                current=' aria-current="true"' if pk == open_id else "",
                name=escape(name),
                iso=at.isoformat(),
                when=f"{at.day} {at:%b %H:%M}",
                preview=PREVIEW_HTML.format(escape(preview)) if preview else "",
                status_label=escape(STATUS_LABELS.get(status, status)),
                network=escape(network),
                network_label=escape(NETWORK_LABELS.get(network, network)),
                kind_label=escape(KIND_LABELS.get(row["kind"], row["kind"])),
                sentiment=(
                    ""
                    if sentiment == Sentiment.NEUTRAL
                    else SENTIMENT_HTML.format(
                        escape(sentiment), escape(SENTIMENT_LABELS.get(sentiment, sentiment))
                    )
                ),
                sla=SLA_HTML.get(
                    sla_of_row(marks, status, row["waiting_since"], row["created_at"]), ""
                ),
                assignee=escape(assignee),
            )
        )
    return mark_safe("".join(html))  # noqa: S308 - every value above went through escape()


def _badge(request: HttpRequest, workspace: Workspace, me: User | None) -> int:
    """The sidebar badge's count, once per request (the layout's tag reads the same)."""
    cached = getattr(request, "_inbox_new_count", None)
    if cached is None:
        cached = badge_count(workspace, me)
        request._inbox_new_count = cached  # type: ignore[attr-defined]
    return int(cached)


def _marks(request: HttpRequest, workspace: Workspace, filters: Filters) -> Thresholds | None:
    """The SLA marks for the list's badges, once per request (one small query for the
    workspace's service level); none for the spam list, which has no clocks."""
    if filters.spam:
        return None
    cached = getattr(request, "_inbox_sla_marks", None)
    if cached is None:
        cached = sla_marks(workspace, filters.now)
        request._inbox_sla_marks = cached  # type: ignore[attr-defined]
    return cached


def _list_context(
    request: HttpRequest,
    workspace: Workspace,
    filters: Filters,
    open_id: int | None,
    rows: QuerySet[Conversation] | None = None,
) -> dict[str, Any]:
    """The list pane: one query for the page's rows (with contact, channel, assignee and
    the latest message's start), one capped count for the badge. The refresh's version is
    worked out from the rows read, and only for the first page (older pages do not poll)."""
    if rows is None:
        rows = conversations_for(workspace, filters)
    marks = _marks(request, workspace, filters)
    cursor = request.GET.get("cursor") or None
    try:
        page = page_of(for_the_list(rows), cursor)
    except ValidationError:
        cursor = None
        page = page_of(for_the_list(rows))
    query = filters.query()
    filter_query = urlencode(query)
    new_count = _badge(request, workspace, filters.me)
    poll_url = version = ""
    if not cursor:
        version = f"{version_of_page(page.items, marks)}-{new_count}"
        poll_query = {**query, "version": version}
        if open_id:
            poll_query["open"] = str(open_id)
        poll_url = reverse("inbox_list", args=[workspace.slug]) + "?" + urlencode(poll_query)
    return {
        "conversations": page.items,
        "rows_html": _rows_html(page.items, workspace, filter_query, open_id, marks),
        "next_cursor": page.next_cursor,
        "cursor": cursor,
        "filters": filters,
        "filter_query": filter_query,
        "poll_url": poll_url,
        "list_version": version,
        "open_id": open_id,
        "inbox_new_count": new_count,
    }


def _filter_choices(workspace: Workspace) -> dict[str, Any]:
    return {
        "status_choices": ConversationStatus.choices,
        "sla_choices": SLA_CHOICES,
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
    # Replies that had to wait for an approver: their state (and a rejection's note) shows
    # on the message, to everyone; approvers get the buttons.
    approvals = {
        approval.message_id: approval
        for approval in ReplyApproval.objects.filter(
            message__conversation=conversation
        ).select_related("decided_by")
    }
    for message in thread:
        message.waiting = approvals.get(message.pk)  # type: ignore[attr-defined]
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
        "can_approve": membership.can("inbox.approve"),
        "can_export_contact": membership.can("contacts.export"),
        "can_erase_contact": membership.can("contacts.erase"),
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
        # Approvers see how many replies wait for them, linked to the list of those.
        "approvals_waiting": (
            answering.waiting_count(workspace) if membership.can("inbox.approve") else 0
        ),
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
    # "Nothing changed" costs two small queries: the first page's fingerprint (an index walk
    # of 50 rows, no joins) and the capped badge count.
    rows = conversations_for(workspace, filters)
    marks = _marks(request, workspace, filters)
    version = f"{version_of(rows, marks=marks)}-{_badge(request, workspace, filters.me)}"
    if request.GET.get("version") == version:
        response = HttpResponse(status=204)
    else:
        context = _list_context(request, workspace, filters, open_id, rows)
        response = render(request, "inbox/_list_refresh.html", context)
        version = context["list_version"] or version
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
    sent: Message | None = None
    if not text:
        error = "Write a reply, or pick a saved reply."
    elif len(text) > MAX_REPLY:
        error = f"A reply is at most {MAX_REPLY:,} characters; this one has {len(text):,}."
    else:
        try:
            sent = send_reply(conversation, text, request.user, seen)  # type: ignore[arg-type]
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
    if sent is not None and sent.delivery_id is None:
        messages.success(request, "Your reply waits for approval by an owner or a manager.")
    else:
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


# --- Reply approval (answering.approve / reject; approvers only) ---------------------------


def _waiting_reply(
    request: HttpRequest, slug: str, conversation_id: int, approval_id: int
) -> tuple[Conversation, ReplyApproval]:
    membership = enter(request, slug, "inbox.approve")
    conversation = _open(membership.workspace, conversation_id)
    try:
        approval = ReplyApproval.objects.select_related("message").get(
            workspace=membership.workspace, pk=approval_id, message__conversation=conversation
        )
    except ReplyApproval.DoesNotExist:
        raise Http404("No such reply waiting for approval.") from None
    return conversation, approval


@login_required
@require_POST
def reply_approve(
    request: HttpRequest, slug: str, conversation_id: int, approval_id: int
) -> HttpResponse:
    """Approve a waiting reply and send it; with ``text`` (Edit & approve) the approver's
    wording is sent and the author's is kept."""
    conversation, approval = _waiting_reply(request, slug, conversation_id, approval_id)
    edited = request.POST.get("text")
    text = None if edited is None else edited.replace("\x00", "").strip()
    if text is not None and len(text) > MAX_REPLY:
        messages.error(request, f"A reply is at most {MAX_REPLY:,} characters.")
        return _back(request, slug, conversation)
    try:
        answering.approve(approval.message, request.user, text)  # type: ignore[arg-type]
    except ValidationError as refused:
        messages.error(request, " ".join(refused.messages))
    else:
        edited_now = text is not None and text != approval.original_text
        messages.success(
            request, "Edited, approved and sent." if edited_now else "Approved and sent."
        )
    return _back(request, slug, conversation)


@login_required
@require_POST
def reply_reject(
    request: HttpRequest, slug: str, conversation_id: int, approval_id: int
) -> HttpResponse:
    """Reject a waiting reply with a note its author reads; it is never sent."""
    conversation, approval = _waiting_reply(request, slug, conversation_id, approval_id)
    note = (request.POST.get("note") or "").replace("\x00", "").strip()
    if len(note) > MAX_NOTE:
        messages.error(request, f"A note is at most {MAX_NOTE:,} characters.")
        return _back(request, slug, conversation)
    try:
        answering.reject(approval.message, request.user, note)  # type: ignore[arg-type]
    except ValidationError as refused:
        messages.error(request, " ".join(refused.messages))
    else:
        messages.success(request, "Rejected; the author is told why.")
    return _back(request, slug, conversation)


# --- The contact's personal data (retention.export_contact / erase_contact) -----------------


def confirm_word(contact: Contact) -> str:
    """What a person types to confirm erasing ``contact``: the handle, else the network id
    (an email address for a question from the public page)."""
    return contact.handle or contact.remote_id


@login_required
@require_POST
def contact_data(request: HttpRequest, slug: str, conversation_id: int) -> HttpResponse:
    """Download what the workspace holds about the conversation's contact, as JSON; a POST,
    since the export is recorded in the audit log."""
    membership = enter(request, slug, "contacts.export")
    conversation = _open(membership.workspace, conversation_id)
    contact = conversation.contact
    body = retention.export_contact(membership.workspace, contact, by=membership.user)
    response = HttpResponse(body, content_type="application/json")
    response["Content-Disposition"] = f'attachment; filename="contact-{slug}-{contact.pk}.json"'
    response["Cache-Control"] = "no-store"
    return response


@login_required
@require_http_methods(["GET", "POST"])
def contact_erase(request: HttpRequest, slug: str, conversation_id: int) -> HttpResponse:
    """Ask for the contact's handle (GET), erase on POST when it was typed right."""
    membership = enter(request, slug, "contacts.erase")
    conversation = _open(membership.workspace, conversation_id)
    contact = conversation.contact
    word = confirm_word(contact)
    error = ""
    if contact.erased:
        messages.info(request, "This contact was erased already.")
        return redirect("inbox_conversation", slug=slug, conversation_id=conversation.pk)
    if request.method == "POST":
        typed = (request.POST.get("confirm") or "").strip()
        if typed.lstrip("@").casefold() != word.lstrip("@").casefold():
            error = f"Type {word} exactly to confirm; nothing was erased."
        else:
            erased = retention.erase_contact(membership.workspace, contact, by=membership.user)
            messages.success(
                request,
                f"The contact's data was erased; their conversations now show {erased}.",
            )
            return redirect("inbox_conversation", slug=slug, conversation_id=conversation.pk)
    context = {
        "conversation": conversation,
        "contact": contact,
        "confirm_word": word,
        "error": error,
        "counts": Conversation.objects.filter(
            workspace=membership.workspace, contact=contact
        ).aggregate(conversations=Count("id")),
    }
    return render(request, "inbox/contact_erase.html", context, status=400 if error else 200)
