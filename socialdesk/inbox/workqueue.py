"""Working the queue: who answers which conversation, and who is looking at it right now.

- ``assign`` / ``assign_to_me`` / ``unassign``: a person hands a conversation to a member
  who may answer the inbox (or takes it). The status does not move here: it moves only in
  ``inbox.status``.
- ``auto_assign``: ingestion calls it for a conversation it has just created. The workspace
  setting (``InboxSettings.auto_assign``) says off, round robin or by capacity; only
  members marked available (``InboxMember.available``) and below their maximum of open
  conversations are picked.
- ``touch_presence`` / ``present``: the conversation page says every few seconds "I am
  here (and typing)"; the others see who is. Rows expire after ``PRESENCE_TTL``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Count, Q
from django.utils import timezone

from socialdesk.workspaces.models import Membership, User, Workspace
from socialdesk.workspaces.roles import PERMISSIONS

from .models import (
    AutoAssign,
    Conversation,
    ConversationStatus,
    InboxMember,
    InboxSettings,
    Presence,
)

# The page refreshes its presence every 5 s; three missed beats and the person has left.
PRESENCE_TTL = timedelta(seconds=15)
OPEN_STATUSES = (ConversationStatus.NEW, ConversationStatus.PENDING)


def answerers(workspace: Workspace) -> list[User]:
    """The active members who may answer the inbox: the people a conversation can go to."""
    roles = PERMISSIONS["inbox.reply"]
    return [
        m.user
        for m in Membership.objects.filter(
            workspace=workspace, role__in=roles, user__is_active=True
        )
        .select_related("user")
        .order_by("user__name", "user__email")
    ]


def assign(conversation: Conversation, person: User | None, by: User | None) -> Conversation:
    """Give ``conversation`` to ``person`` (None: to nobody). ``person`` must be an active
    member of the conversation's workspace whose role may answer the inbox; otherwise a
    ValidationError on ``assignee_id`` and nothing changes. ``by`` is who did it (None: a
    rule or automatic assignment); the caller has checked ``by``'s permission."""
    if person is not None:
        allowed = Membership.objects.filter(
            workspace_id=conversation.workspace_id,
            user=person,
            user__is_active=True,
            role__in=PERMISSIONS["inbox.reply"],
        ).exists()
        if not allowed:
            raise ValidationError(
                {
                    "assignee_id": [
                        "Assign the conversation to a member of this workspace who may answer "
                        "the inbox."
                    ]
                }
            )
    conversation.assignee = person
    conversation.save(update_fields=["assignee"])
    return conversation


def assign_to_me(conversation: Conversation, me: User) -> Conversation:
    return assign(conversation, me, by=me)


def unassign(conversation: Conversation, by: User | None) -> Conversation:
    return assign(conversation, None, by=by)


def settings_of(workspace: Workspace) -> InboxSettings:
    found, _ = InboxSettings.objects.get_or_create(workspace=workspace)
    return found


def set_auto_assign(workspace: Workspace, mode: str) -> InboxSettings:
    if mode not in AutoAssign.values:
        raise ValidationError({"auto_assign": [f"Choose one of: {', '.join(AutoAssign.values)}."]})
    inbox_settings = settings_of(workspace)
    inbox_settings.auto_assign = mode
    inbox_settings.save(update_fields=["auto_assign"])
    return inbox_settings


def set_availability(
    workspace: Workspace,
    user: User,
    *,
    available: bool | None = None,
    max_open: int | None = None,
) -> InboxMember:
    """Mark a member available (or not) for automatic assignment, and set their maximum of
    open conversations (1 to 500)."""
    if not Membership.objects.filter(
        workspace=workspace, user=user, role__in=PERMISSIONS["inbox.reply"]
    ).exists():
        raise ValidationError({"user_id": ["Only members who may answer the inbox take turns."]})
    if max_open is not None and not 1 <= max_open <= 500:
        raise ValidationError({"max_open": ["The maximum of open conversations is 1 to 500."]})
    member, _ = InboxMember.objects.get_or_create(workspace=workspace, user=user)
    changed = []
    if available is not None:
        member.available = available
        changed.append("available")
    if max_open is not None:
        member.max_open = max_open
        changed.append("max_open")
    if changed:
        member.save(update_fields=changed)
    return member


@dataclass(frozen=True)
class Load:
    member: InboxMember
    open_count: int

    @property
    def room(self) -> int:
        return self.member.max_open - self.open_count


def loads(workspace: Workspace) -> list[Load]:
    """Each available answerer's open conversations against their maximum."""
    members = list(
        InboxMember.objects.filter(
            workspace=workspace,
            available=True,
            user__is_active=True,
            user__memberships__workspace=workspace,
            user__memberships__role__in=PERMISSIONS["inbox.reply"],
        ).select_related("user")
    )
    counts = dict(
        Conversation.objects.filter(
            workspace=workspace,
            assignee_id__in=[m.user_id for m in members],
            status__in=OPEN_STATUSES,
        )
        .values_list("assignee_id")
        .annotate(n=Count("id"))
        .values_list("assignee_id", "n")
    )
    return [Load(m, counts.get(m.user_id, 0)) for m in members]


def auto_assign(conversation: Conversation) -> User | None:
    """Assign a conversation nobody has yet, as the workspace's setting says; return the
    person, or None (setting off, already assigned, nobody available with room).

    Round robin: the available person whose turn is oldest (never assigned first), skipping
    anyone at their maximum. By capacity: the one with the most room left; ties go to the
    oldest turn. Two conversations arriving together are assigned one after the other: the
    workspace's settings row is locked for the choice, so both do not go to the same turn.
    """
    with transaction.atomic():
        inbox_settings = settings_of(conversation.workspace)
        inbox_settings = InboxSettings.objects.select_for_update().get(pk=inbox_settings.pk)
        if inbox_settings.auto_assign == AutoAssign.OFF:
            return None
        conversation.refresh_from_db(fields=["assignee"])
        if conversation.assignee_id is not None:
            return None
        candidates = [load for load in loads(conversation.workspace) if load.room > 0]
        if not candidates:
            return None
        never = timezone.now() - timedelta(days=365 * 100)

        def turn(load: Load) -> tuple:
            return (load.member.last_assigned_at or never, load.member.user_id)

        if inbox_settings.auto_assign == AutoAssign.CAPACITY:
            chosen = min(candidates, key=lambda load: (-load.room, *turn(load)))
        else:
            chosen = min(candidates, key=turn)
        assign(conversation, chosen.member.user, by=None)
        InboxMember.objects.filter(pk=chosen.member.pk).update(last_assigned_at=timezone.now())
        return chosen.member.user


# --- Presence ------------------------------------------------------------------------------


def touch_presence(conversation: Conversation, user: User, typing: bool = False) -> None:
    """``user`` has the conversation open now (and is typing a reply, or not)."""
    now = timezone.now()
    updated = Presence.objects.filter(conversation=conversation, user=user).update(
        typing=typing, seen_at=now
    )
    if not updated:
        try:
            with transaction.atomic():
                Presence.objects.create(
                    workspace_id=conversation.workspace_id,
                    conversation=conversation,
                    user=user,
                    typing=typing,
                    seen_at=now,
                )
        except IntegrityError:
            # The same person's other tab made the row a moment ago: it is there; refresh it.
            Presence.objects.filter(conversation=conversation, user=user).update(
                typing=typing, seen_at=now
            )
    # Forget long-gone visitors of this conversation, so the table stays small.
    Presence.objects.filter(conversation=conversation, seen_at__lt=now - 4 * PRESENCE_TTL).delete()


def leave(conversation: Conversation, user: User) -> None:
    Presence.objects.filter(conversation=conversation, user=user).delete()


def present(conversation: Conversation, exclude: User | None = None) -> list[Presence]:
    """Who has the conversation open now, typing ones first, with their users."""
    rows = Presence.objects.filter(
        conversation=conversation, seen_at__gte=timezone.now() - PRESENCE_TTL
    ).select_related("user")
    if exclude is not None:
        rows = rows.exclude(user=exclude)
    return list(rows.order_by("-typing", "user__name", "user__email"))


def new_count(workspace: Workspace, user: User | None = None) -> int:
    """New conversations waiting (spam left out): mine and nobody's when ``user`` is given,
    the whole workspace's otherwise. The sidebar's "Inbox 3"."""
    rows = Conversation.objects.filter(
        workspace=workspace, status=ConversationStatus.NEW, spam=False
    )
    if user is not None:
        rows = rows.filter(Q(assignee=user) | Q(assignee__isnull=True))
    return rows.count()
