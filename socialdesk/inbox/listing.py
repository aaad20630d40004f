"""The inbox list: a workspace's conversations, filtered, newest first, a page at a time.

``conversations_for(workspace, filters)`` is what the inbox page, its live refresh and the
API all read. Pages are keyset-paginated on (last_message_at, id), so page 40 costs what
page 1 costs. The indexes on ``Conversation`` (``inbox_recent_idx``, ``inbox_list_idx``,
``inbox_assignee_idx``) are ordered the same way: the database walks one in order and stops
after a page; the other filters are checked on the rows walked (bench/inbox_list.py).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import Exists, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Substr
from django.utils import timezone

from socialdesk.ids import MAX_ID
from socialdesk.networks.models import Channel, Network
from socialdesk.workspaces.models import User, Workspace

from . import service_levels
from .models import (
    ApprovalState,
    Conversation,
    ConversationKind,
    ConversationStatus,
    Message,
    ReplyApproval,
    Sentiment,
)

PAGE_SIZE = 50
SLA_CHOICES = [
    ("breached", "Breached"),
    ("due_soon", "Due soon"),
    ("on_time", "On time"),
]
APPROVAL_CHOICES = [("awaiting", "Waiting for approval")]
# The sidebar badge counts at most this many (and shows "99+"): a count that stops early
# reads at most this many index entries, where an exact one reads every new conversation.
BADGE_CAP = 100
PREVIEW_CHARS = 90
# The "assignee" filter's words besides a user id.
ME, NOBODY = "me", "nobody"


@dataclass
class Filters:
    """What the list shows. Empty values mean "any". ``assignee`` is "me", "nobody" or a
    user id (as text); ``me`` is the person asking, needed for "me"."""

    status: str = ""
    assignee: str = ""
    channel: int | None = None
    network: str = ""
    kind: str = ""
    sentiment: str = ""
    tag: int | None = None
    spam: bool = False
    # "breached", "due_soon" or "on_time" (``service_levels.Thresholds``): open conversations
    # only, since a resolved one has no clock running.
    sla: str = ""
    # "awaiting": conversations with a reply waiting for an approver.
    approval: str = ""
    me: User | None = None
    # The moment the SLA filter reads the clocks at (tests fix it; default now).
    now: datetime | None = None
    errors: dict[str, str] = field(default_factory=dict)

    def query(self) -> dict[str, str]:
        """The filters as query-string values (for links that keep them)."""
        values = {
            "status": self.status,
            "assignee": self.assignee,
            "channel": str(self.channel or ""),
            "network": self.network,
            "kind": self.kind,
            "sentiment": self.sentiment,
            "tag": str(self.tag or ""),
            "spam": "1" if self.spam else "",
            "sla": self.sla,
            "approval": self.approval,
        }
        return {k: v for k, v in values.items() if v}


def _whole(value: str, name: str, errors: dict[str, str]) -> int | None:
    if not value:
        return None
    if value.isascii() and value.isdigit() and 0 < int(value) <= MAX_ID:
        return int(value)
    errors[name] = "Give an id (a whole number)."
    return None


def parse_filters(data: Any, me: User | None) -> Filters:
    """Read filters from a query dict (the page's GET, the API's query). A value that is not
    one of the choices is dropped and noted in ``errors`` (the page shows the list without
    it, the API answers 422)."""
    errors: dict[str, str] = {}

    def choice(name: str, allowed: list[str]) -> str:
        value = (data.get(name) or "").strip()
        if value and value not in allowed:
            errors[name] = f"Choose one of: {', '.join(allowed)}."
            return ""
        return value

    assignee = (data.get("assignee") or "").strip()
    if assignee not in ("", ME, NOBODY) and _whole(assignee, "assignee", errors) is None:
        errors["assignee"] = 'Give "me", "nobody" or a member\'s id.'
        assignee = ""
    return Filters(
        status=choice("status", ConversationStatus.values),
        assignee=assignee,
        channel=_whole((data.get("channel") or "").strip(), "channel", errors),
        network=choice("network", Network.values),
        kind=choice("kind", ConversationKind.values),
        sentiment=choice("sentiment", Sentiment.values),
        tag=_whole((data.get("tag") or "").strip(), "tag", errors),
        spam=(data.get("spam") or "") in ("1", "true", "on"),
        sla=choice("sla", [value for value, _ in SLA_CHOICES]),
        approval=choice("approval", [value for value, _ in APPROVAL_CHOICES]),
        me=me,
        errors=errors,
    )


def conversations_for(workspace: Workspace, filters: Filters) -> QuerySet[Conversation]:
    """The workspace's conversations that pass ``filters``, newest message first (id breaks
    ties). Spam is left out unless ``filters.spam`` asks for spam only."""
    rows: QuerySet[Conversation] = Conversation.objects.filter(
        workspace=workspace, spam=filters.spam
    )
    if filters.status:
        rows = rows.filter(status=filters.status)
    if filters.assignee == ME:
        rows = rows.filter(assignee=filters.me) if filters.me else rows.none()
    elif filters.assignee == NOBODY:
        rows = rows.filter(assignee__isnull=True)
    elif filters.assignee:
        rows = rows.filter(assignee_id=int(filters.assignee))
    if filters.channel:
        rows = rows.filter(channel_id=filters.channel)
    if filters.network:
        # The workspace's few channels of that network, looked up first: the list query
        # then needs no join to walk its index.
        channel_ids = list(
            Channel.objects.filter(workspace=workspace, network=filters.network).values_list(
                "pk", flat=True
            )
        )
        rows = rows.filter(channel_id__in=channel_ids)
    if filters.kind:
        rows = rows.filter(kind=filters.kind)
    if filters.sentiment:
        rows = rows.filter(sentiment=filters.sentiment)
    if filters.tag:
        rows = _tagged(rows, filters.tag)
    if filters.sla:
        rows = _by_sla(workspace, rows, filters.sla, filters.now)
    if filters.approval:
        # Few replies wait at any time (``inbox_approval_idx`` finds them): their
        # conversations are read from that side and sorted.
        waiting = ReplyApproval.objects.filter(
            workspace=workspace, state=ApprovalState.AWAITING
        ).values("message__conversation_id")
        rows = rows.filter(pk__in=Subquery(waiting))
    return rows.order_by("-last_message_at", "-id")


# "Due soon" conversations fewer than this are read from their clocks' side (the
# ``inbox_waiting_idx`` and ``inbox_created_idx`` ranges) and sorted; more are checked on
# the rows walked newest first, like a common tag.
SMALL_SLA = 1000


def sla_marks(workspace: Workspace, now: datetime | None = None) -> service_levels.Thresholds:
    """The workspace's SLA marks at ``now`` (one small query for its service level)."""
    return service_levels.thresholds(service_levels.level_of(workspace), now)


def _any(conditions: list[Q]) -> Q:
    """``conditions`` OR-ed; matches nothing when there are none."""
    if not conditions:
        return Q(pk__in=[])
    combined = conditions[0]
    for condition in conditions[1:]:
        combined |= condition
    return combined


def _sla_q(marks: service_levels.Thresholds, soon: bool) -> Q:
    """Conversations with a clock past its "breached" mark (``soon``: its "due soon" one)."""
    response = marks.response_soon if soon else marks.response_breached
    resolution = marks.resolution_soon if soon else marks.resolution_breached
    conditions = []
    if response is not None:
        conditions.append(Q(waiting_since__lt=response))
    if resolution is not None:
        conditions.append(Q(created_at__lt=resolution))
    return _any(conditions)


def _by_sla(
    workspace: Workspace, rows: QuerySet[Conversation], sla: str, now: datetime | None
) -> QuerySet[Conversation]:
    """``rows`` whose clocks are breached, due soon or on time (``service_levels`` marks), on
    the stored ``waiting_since`` and ``created_at``: no clock is run per row. Resolved and
    spam conversations have no clock, so they are in none of the three.

    Breached and on-time conversations are common: checked on the rows walked newest first.
    Due-soon ones are the few whose clock start falls between two marks: their ids are read
    from the two time indexes first (a walk would read the whole inbox to find ten)."""
    marks = sla_marks(workspace, now)
    rows = rows.filter(spam=False).exclude(status=ConversationStatus.RESOLVED)
    breached = _sla_q(marks, soon=False)
    if sla == "breached":
        return rows.filter(breached)
    if sla == "on_time":
        return rows.exclude(_sla_q(marks, soon=True))
    windows = []
    pairs = (
        ("waiting_since", marks.response_breached, marks.response_soon),
        ("created_at", marks.resolution_breached, marks.resolution_soon),
    )
    for name, breached_at, soon_at in pairs:
        if soon_at is None:
            continue
        window = {f"{name}__lt": soon_at}
        if breached_at is not None:
            window[f"{name}__gte"] = breached_at
        windows.append(Q(**window))
    candidates = list(
        Conversation.objects.filter(workspace=workspace, spam=False)
        .exclude(status=ConversationStatus.RESOLVED)
        .filter(_any(windows))
        .order_by()
        .values_list("pk", flat=True)[:SMALL_SLA]
    )
    if len(candidates) < SMALL_SLA:
        rows = rows.filter(pk__in=candidates)
    return rows.filter(_sla_q(marks, soon=True)).exclude(breached)


# A tag on fewer conversations than this is read from the tag's side and sorted; a tag on
# more is checked on the rows walked newest first (see ``_tagged``).
SMALL_TAG = 1000


def _tagged(rows: QuerySet[Conversation], tag_id: int) -> QuerySet[Conversation]:
    """``rows`` with tag ``tag_id``, the way that reads few rows for this tag.

    A common tag: EXISTS, so the database walks the list's index newest first and probes
    the tag table's unique index per row until a page is full (a join made SQLite read all
    the tag's conversations and sort them: 5,000 for a tag on 2.5 % of 200,000). A rare
    tag: a join, so its few conversations are read from the tag's side and sorted (walking
    200,000 rows to find ten would be the slow way). One capped count tells them apart."""
    through = Conversation.tags.through.objects
    if through.filter(tag_id=tag_id)[:SMALL_TAG].count() < SMALL_TAG:
        return rows.filter(tags=tag_id)
    return rows.filter(Exists(through.filter(conversation_id=OuterRef("pk"), tag_id=tag_id)))


# --- Keyset pages ---------------------------------------------------------------------------


def encode_cursor(conversation: Conversation | dict[str, Any]) -> str:
    """The cursor after ``conversation`` (a model or a row of ``for_the_list``)."""
    if isinstance(conversation, dict):
        moment, pk = conversation["last_message_at"], conversation["pk"]
    else:
        moment, pk = conversation.last_message_at, conversation.pk
    raw = json.dumps([moment.isoformat(), pk]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, int]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        moment_text, pk = json.loads(base64.urlsafe_b64decode(padded.encode()))
        moment = datetime.fromisoformat(moment_text)
        if timezone.is_naive(moment) or not isinstance(pk, int) or not 0 < pk <= MAX_ID:
            raise ValueError
    except (ValueError, TypeError, binascii.Error, UnicodeError):
        raise ValidationError(
            {"cursor": ["This cursor is not one the inbox gave out; start again without it."]}
        ) from None
    return moment, pk


@dataclass
class Page:
    items: list[Any]  # conversations, or for_the_list's dicts
    next_cursor: str | None


def page_of(rows: QuerySet[Any], cursor: str | None = None, limit: int = PAGE_SIZE) -> Page:
    """One page of ``rows`` (ordered as ``conversations_for`` orders them) after ``cursor``."""
    if cursor:
        moment, pk = decode_cursor(cursor)
        rows = rows.filter(Q(last_message_at__lt=moment) | Q(last_message_at=moment, pk__lt=pk))
    found = list(rows[: limit + 1])
    next_cursor = encode_cursor(found[limit - 1]) if len(found) > limit else None
    return Page(found[:limit], next_cursor)


VERSION_FIELDS = (
    "pk",
    "status",
    "assignee_id",
    "sentiment",
    "priority",
    "last_message_at",
    "waiting_since",
    "created_at",
)


def sla_of_row(
    marks: service_levels.Thresholds | None, status: str, waiting_since: Any, created_at: Any
) -> str:
    """A list row's SLA state ("breached", "due_soon", "on_time"), or "" when no clock runs
    (resolved) or no marks were read. Spam rows are never shown with other rows."""
    if marks is None or status == ConversationStatus.RESOLVED:
        return ""
    return marks.state(waiting_since, created_at)


def version_of(
    rows: QuerySet[Conversation],
    limit: int = PAGE_SIZE,
    marks: service_levels.Thresholds | None = None,
) -> str:
    """A short fingerprint of what the first page shows (which rows, their status, assignee,
    sentiment, priority, last message, SLA state at ``marks``): the live refresh answers
    "nothing changed" when the page already shows this version, without rendering anything.
    A row turning "due soon" or "breached" as time passes changes it too."""
    return _digest(
        (
            dict(zip(VERSION_FIELDS, row, strict=True))
            for row in rows.values_list(*VERSION_FIELDS)[:limit]
        ),
        marks,
    )


def version_of_page(
    items: list[dict[str, Any]], marks: service_levels.Thresholds | None = None
) -> str:
    """``version_of`` for a first page of ``for_the_list`` rows already read (no second
    query): the same digest."""
    return _digest(items, marks)


def _digest(rows: Any, marks: service_levels.Thresholds | None) -> str:
    digest = hashlib.blake2b(digest_size=8)
    for row in rows:
        values = tuple(row[name] for name in VERSION_FIELDS)
        state = sla_of_row(marks, row["status"], row["waiting_since"], row["created_at"])
        digest.update(repr((*values, state)).encode())
    return digest.hexdigest()


def badge_count(workspace: Workspace, user: User | None) -> int:
    """The sidebar's "Inbox 3": new conversations (not spam) that are ``user``'s or nobody's,
    counted up to ``BADGE_CAP`` (the badge shows "99+" beyond). Same rows as
    ``workqueue.new_count``; it stops early, so a workspace with 10,000 new ones costs what
    one with 100 costs (``inbox_new_idx``)."""
    rows = Conversation.objects.filter(
        workspace=workspace, status=ConversationStatus.NEW, spam=False
    )
    if user is not None:
        rows = rows.filter(Q(assignee=user) | Q(assignee__isnull=True))
    return rows.order_by()[:BADGE_CAP].count()


def badge_label(count: int) -> str:
    return f"{BADGE_CAP - 1}+" if count >= BADGE_CAP else str(count)


LIST_FIELDS = (
    *VERSION_FIELDS,
    "kind",
    "channel__network",
    "contact__display_name",
    "contact__handle",
    "contact__remote_id",
    "assignee__name",
    "assignee__email",
)


def for_the_list(rows: QuerySet[Conversation]) -> QuerySet[Any]:
    """``rows`` as plain dicts of what a list row shows: the contact's name, the channel's
    network, the assignee's name and the start of the latest message, in one query for the
    page (joins, and a subquery on ``inbox_thread_idx`` run for the page's rows only). No
    model instances: building 150 of them (conversation, contact, channel) cost more than
    the query."""
    latest = (
        Message.objects.filter(conversation=OuterRef("pk"))
        .order_by("-sent_at", "-id")
        .annotate(start=Substr("text", 1, PREVIEW_CHARS + 1))
        .values("start")[:1]
    )
    return rows.annotate(preview=Subquery(latest)).values(*LIST_FIELDS, "preview")
