"""A person's data on request: export everything a workspace holds about a member, or erase it.

The API (``workspaces.api``) and the members page both call ``export_person`` and
``erase_person``; each records itself in the workspace's audit log.

**What is held about a person** is every row with a foreign key (or many-to-many) to their
user account, listed in ``HOLDINGS`` with what the row says about them and what erasure does
to it. ``tests/test_personal_data.py`` walks every installed model and fails when a field
pointing at a user is missing here, so a new model cannot hold personal data unnoticed.

**Erasure** keeps what the audit log and the post history must keep (posts, versions,
decisions, comments, audit events, transitions …) and points it at a stand-in account,
``ErasedPerson.user``, named "erased person #N"; every page that shows an author or actor
then shows that name without knowing about erasure. Rows that are only about the person
(membership, tokens, drafts, notifications to them, assignments …) are deleted, and the
person's name, email and mention handles are replaced in the text of audit events,
notifications, comments and decisions. A post's own text is the brand's content and stays as
written. If the person is a member of no other workspace, the account itself is anonymised
(and signs in no more); otherwise it stays, with its own sign-in log, for the other workspaces.

This module sits above the apps (like ``backup``): it reaches every app's rows, by model label
through the app registry, so the apps need not know about it.
"""

from __future__ import annotations

import csv
import io
import json
import re
import zipfile
from dataclasses import dataclass
from typing import Any, Literal

from django.apps import apps
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models, transaction
from django.db.models import Q
from django.http import HttpResponse
from django.utils import timezone

from socialdesk.csv_cells import safe_row
from socialdesk.workflow import audit
from socialdesk.workspaces.models import ErasedPerson, Membership, User, Workspace
from socialdesk.workspaces.roles import Role

Erase = Literal["keep", "delete", "unlink", "account"]


@dataclass(frozen=True)
class Holding:
    """Rows of ``model`` whose ``field`` is the person.

    ``erase``: ``keep`` points the row at the stand-in (history the workspace must keep);
    ``delete`` removes it; ``unlink`` takes the person out of a many-to-many field;
    ``account`` rows belong to the account, not to a workspace: exported, and deleted only
    when the account is anonymised. ``workspace`` is the lookup from the row to its workspace.
    ``secret`` fields are never exported. ``label`` names a text field that names the
    person beside the key ("user 5 (ana@…)"); a kept row's is set to the stand-in's name.
    """

    model: str
    field: str
    holds: str
    erase: Erase
    workspace: str = "workspace"
    secret: tuple[str, ...] = ()
    label: str = ""

    @property
    def table(self) -> str:
        return f"{self.model.lower()}.{self.field}"


HOLDINGS = [
    Holding("workspaces.Membership", "user", "their membership and role", "delete"),
    Holding("workspaces.ApiToken", "user", "their API tokens", "delete", secret=("token_hash",)),
    Holding(
        "workspaces.CalendarFeed",
        "user",
        "their calendar feed",
        "delete",
        secret=("salt", "token_hash"),
    ),
    Holding(
        "workspaces.Invitation", "invited_by", "invitations they sent", "keep", secret=("token",)
    ),
    Holding("workspaces.SignInEvent", "user", "their sign-in log", "account", workspace=""),
    Holding("otp_totp.TOTPDevice", "user", "their authenticator apps", "account", "", ("key",)),
    Holding("otp_static.StaticDevice", "user", "their recovery code sets", "account", ""),
    Holding("workspaces.ErasedPerson", "user", "(a stand-in is nobody's data)", "keep"),
    Holding(
        "networks.ChannelTransition",
        "actor",
        "channel changes they made",
        "keep",
        label="actor_label",
    ),
    Holding("content.Post", "author", "posts they wrote", "keep"),
    Holding(
        "content.PostVersion", "created_by", "post versions they wrote", "keep", "post__workspace"
    ),
    Holding("content.MediaAsset", "uploaded_by", "media they uploaded", "keep"),
    Holding("content.ComposerDraft", "user", "their unsaved composer drafts", "delete"),
    Holding(
        "publishing.DeliveryTransition",
        "actor",
        "delivery changes they made",
        "keep",
        label="actor_label",
    ),
    Holding("publishing.BoostSpend", "recorded_by", "boost spend they recorded", "keep"),
    Holding("notifications.Notification", "recipient", "notifications to them", "delete"),
    Holding("notifications.Notification", "actor", "notifications about what they did", "keep"),
    Holding("notifications.NotificationPreference", "user", "their email choice", "delete"),
    Holding(
        "notifications.Webhook",
        "created_by",
        "webhooks they made",
        "keep",
        # A chat service's hook address is itself a secret.
        secret=("secret_encrypted", "url"),
    ),
    Holding("workflow.Stage", "approvers", "stages naming them as approver", "unlink"),
    Holding("workflow.Assignment", "assignee", "stages of posts assigned to them", "delete"),
    Holding("workflow.StageVisit", "assignee", "stage visits they were assigned", "keep"),
    Holding("workflow.ManualTick", "ticked_by", "checklist items they ticked", "keep"),
    Holding("workflow.Decision", "user", "their approval decisions", "keep"),
    Holding("workflow.AuditEvent", "actor", "audit events of what they did", "keep"),
    Holding("review.ReviewLink", "created_by", "review links they made", "keep", secret=("nonce",)),
    Holding(
        "review.ReviewLink", "revoked_by", "review links they revoked", "keep", secret=("nonce",)
    ),
    Holding("review.Comment", "author", "comments they wrote", "keep"),
    Holding("review.Comment", "resolved_by", "comments they resolved", "keep"),
    Holding("review.Comment", "mentions", "comments mentioning them", "unlink"),
    Holding("review.SeenVersion", "user", "which post versions they have seen", "delete"),
    # The inbox (issue 13). A contact (a person on a network, not a member) is exported and
    # erased by socialdesk.inbox.retention, which also scrubs what the engine's inbox writes
    # (reply, like … deliveries: no user field; their transitions' actor is above) copied of
    # the contact; these are the members' own inbox rows.
    Holding("inbox.Conversation", "assignee", "inbox conversations assigned to them", "keep"),
    Holding("inbox.Message", "author_user", "inbox replies they wrote", "keep"),
    Holding("inbox.Note", "author", "internal notes they wrote", "keep"),
    Holding("inbox.Note", "mentions", "internal notes mentioning them", "unlink"),
    Holding("inbox.SavedReply", "created_by", "saved replies they made", "keep"),
    Holding("inbox.Rule", "created_by", "inbox rules they made", "keep"),
    Holding("inbox.ReplyApproval", "decided_by", "inbox replies they approved or not", "keep"),
    Holding("inbox.InboxMember", "user", "their availability for inbox assignment", "delete"),
    Holding("inbox.Presence", "user", "conversations they had open just now", "delete"),
    Holding("analytics.Experiment", "created_by", "experiments they started", "keep"),
    Holding("analytics.Report", "created_by", "reports they made", "keep"),
    Holding("analytics.Report", "recipients", "reports sent to them", "unlink"),
    Holding("listening.TopicQuery", "created_by", "listening queries they wrote", "keep"),
    Holding("publishing.CrisisPause", "started_by", "crisis switches they turned on", "keep"),
    Holding("publishing.CrisisPause", "ended_by", "crisis switches they turned off", "keep"),
    Holding("listening.Alert", "seen_by", "listening alerts they marked seen", "keep"),
]

# Free text where people are named; the person's name, email and handles are replaced.
TEXT_ABOUT_PEOPLE = {
    "workflow.AuditEvent": ("via", "target_repr", "detail", "data"),
    "notifications.Notification": ("title", "body", "target_repr"),
    "review.Comment": ("body", "author_name"),
    "workflow.Decision": ("comment", "via"),
    "inbox.Note": ("text",),
}


def _model(label: str) -> type[models.Model]:
    return apps.get_model(label)


def _rows(holding: Holding, workspace: Workspace, user: User) -> models.QuerySet[Any]:
    lookup: dict[str, Any] = {holding.field: user}
    if holding.workspace:
        lookup[holding.workspace] = workspace
    return _model(holding.model)._default_manager.filter(**lookup).order_by("pk")


def _membership(workspace: Workspace, user: User) -> Membership:
    membership = Membership.objects.filter(workspace=workspace, user=user).first()
    if membership is None:
        raise ValidationError({"member": [f"{user} is not a member of {workspace}."]})
    return membership


# --- Export -------------------------------------------------------------------------------


def _value(field: models.Field, row: models.Model) -> Any:
    value = field.value_from_object(row)
    if isinstance(field, models.FileField):
        return value.name if value else ""
    return value


def _row_dict(row: models.Model, secret: tuple[str, ...]) -> dict[str, Any]:
    return {
        field.attname: _value(field, row)
        for field in row._meta.concrete_fields
        if field.name not in secret
    }


def _csv(rows: list[dict[str, Any]]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    if rows:
        writer.writerow(list(rows[0]))
    for row in rows:
        cells = [
            "" if v is None else v if isinstance(v, str) else _jsonish(v) for v in row.values()
        ]
        # Names, comments and user agents are typed by people: none may start a formula.
        writer.writerow(safe_row(cells))
    return buffer.getvalue()


def _jsonish(value: Any) -> str:
    if isinstance(value, dict | list):
        return json.dumps(value, cls=DjangoJSONEncoder, ensure_ascii=False)
    return str(json.loads(json.dumps(value, cls=DjangoJSONEncoder)))


def person_tables(workspace: Workspace, user: User) -> dict[str, dict[str, Any]]:
    """Everything ``workspace`` holds about ``user``: table name → what it holds, its rows."""
    membership = _membership(workspace, user)
    tables: dict[str, dict[str, Any]] = {}
    for holding in HOLDINGS:
        rows = [_row_dict(row, holding.secret) for row in _rows(holding, workspace, user)]
        tables[holding.table] = {"holds": holding.holds, "rows": rows}
    about = _model("workflow.AuditEvent")._default_manager.filter(
        _audit_about(workspace, user, membership)
    )
    tables["workflow.auditevent.about"] = {
        "holds": "audit events about them (sign-in attempts, changes to their membership)",
        "rows": [_row_dict(row, ()) for row in about.order_by("pk")],
    }
    invitations = _model("workspaces.Invitation")._default_manager.filter(
        workspace=workspace, email__iexact=user.email
    )
    tables["workspaces.invitation.email"] = {
        "holds": "invitations sent to their address",
        "rows": [_row_dict(row, ("token",)) for row in invitations.order_by("pk")],
    }
    return tables


def _audit_about(workspace: Workspace, user: User, membership: Membership | None) -> Q:
    about = Q(target_type="workspaces.user", target_id=str(user.pk))
    if membership is not None:
        about |= Q(target_type="workspaces.membership", target_id=str(membership.pk))
    return Q(workspace=workspace) & about


def _check_owner(workspace: Workspace, by: User, doing: str) -> None:
    if not Membership.objects.filter(workspace=workspace, user=by, role=Role.OWNER).exists():
        raise PermissionDenied(f"Only an owner may {doing} a member's data.")


def export_person(workspace: Workspace, member_user: User, *, by: User) -> bytes:
    """A zip of everything ``workspace`` holds about ``member_user``: ``person.json`` (the
    person, their membership, and every table with what it holds and its rows) and one CSV
    per table that has rows. Secrets (token hashes, authenticator keys) are left out.
    Only an owner (``by``) may; recorded in the audit log."""
    _check_owner(workspace, by, "export")
    membership = _membership(workspace, member_user)
    tables = person_tables(workspace, member_user)
    document = {
        "exported_at": timezone.now(),
        "workspace": {"slug": workspace.slug, "name": workspace.name},
        "person": {
            "id": member_user.pk,
            "email": member_user.email,
            "name": member_user.name,
            "date_joined": member_user.date_joined,
            "last_login": member_user.last_login,
            "is_active": member_user.is_active,
            "role": membership.role,
            "member_since": membership.created_at,
        },
        "tables": tables,
    }
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(
            "person.json", json.dumps(document, cls=DjangoJSONEncoder, indent=2, ensure_ascii=False)
        )
        for name, table in tables.items():
            if table["rows"]:
                archive.writestr(f"{name}.csv", _csv(table["rows"]))
    audit.record(
        workspace,
        "person.exported",
        actor=by,
        target=membership,
        detail=f"Exported the data of {member_user}",
    )
    return buffer.getvalue()


# --- Erasure ------------------------------------------------------------------------------


def export_response(body: bytes, slug: str, member: Membership) -> HttpResponse:
    """``export_person``'s zip as a download, the same from the API and the members page."""
    response = HttpResponse(body, content_type="application/zip")
    response["Content-Disposition"] = (
        f'attachment; filename="personal-data-{slug}-member-{member.pk}.zip"'
    )
    response["Cache-Control"] = "no-store"  # a person's data stays out of caches
    return response


def check_confirmation(member_user: User, typed: str) -> None:
    """Erasure is confirmed by typing the member's email address."""
    if typed.strip().lower() != member_user.email.lower():
        raise ValidationError(
            {"confirm_email": [f"Type {member_user.email} exactly to confirm the erasure."]}
        )


def _check_may_erase(workspace: Workspace, membership: Membership, by: User) -> None:
    others = Membership.objects.filter(workspace=workspace, role=Role.OWNER).exclude(
        pk=membership.pk
    )
    if membership.role == Role.OWNER and not others.exists():
        raise ValidationError({"member": ["The last owner's data cannot be erased."]})
    if membership.user_id == by.pk:
        raise ValidationError(
            {"member": ["You cannot erase your own data; ask another owner of the workspace."]}
        )
    _check_owner(workspace, by, "erase")


def _names(user: User) -> list[str]:
    """What the person is called in text: email, name, and the email's local part (the
    display name of someone without a name)."""
    names = {user.email, user.email.split("@")[0]}
    if len(user.name.strip()) > 1:
        names.add(user.name.strip())
    return sorted(names, key=len, reverse=True)


def _handles(user: User) -> list[str]:
    """Every ``@handle`` that mentions the person (see ``review.services.mention_handles``)."""
    email = user.email.lower()
    handles = {email, email.split("@")[0]}
    parts = user.name.strip().lower().split()
    if parts:
        handles |= {"".join(parts), ".".join(parts), "_".join(parts), parts[0]}
    return sorted(handles, key=len, reverse=True)


def _scrubber(user: User) -> tuple[re.Pattern[str], list[str]]:
    handles = "|".join(re.escape(h) for h in _handles(user))
    names = "|".join(re.escape(n) for n in _names(user))
    # A handle or name ends where no word goes on ("@ana." at a sentence's end is a mention).
    ends = r"(?![\w+-]|\.\w)"
    pattern = re.compile(rf"@(?:{handles}){ends}|(?<![\w.+-])(?:{names}){ends}", re.I)
    return pattern, _names(user)


def _scrub_text(workspace: Workspace, user: User, label: str) -> None:
    pattern, words = _scrubber(user)
    for model_label, fields in TEXT_ABOUT_PEOPLE.items():
        model = _model(model_label)
        # Narrow in the database first: only rows that contain one of the words.
        found = Q()
        for field in fields:
            for word in words:
                found |= Q(**{f"{field}__icontains": word})
        for row in model._default_manager.filter(found, workspace=workspace).iterator():
            for field in fields:
                value = getattr(row, field)
                if isinstance(value, str):
                    setattr(row, field, pattern.sub(label, value))
                else:  # JSON
                    text = json.dumps(value, ensure_ascii=False)
                    setattr(row, field, json.loads(pattern.sub(label, text)))
            row.save(update_fields=list(fields))


def _stand_in(workspace: Workspace) -> ErasedPerson:
    # The workspace row is locked so two erasures cannot take the same number (PostgreSQL;
    # SQLite writes one transaction at a time anyway).
    Workspace.objects.select_for_update().filter(pk=workspace.pk).first()
    last = ErasedPerson.objects.filter(workspace=workspace).order_by("-number").first()
    number = last.number + 1 if last else 1
    label = f"erased person #{number}"
    user = User.objects.create_user(
        f"erased-{workspace.pk}-{number}@invalid", password=None, name=label, is_active=False
    )
    return ErasedPerson.objects.create(workspace=workspace, number=number, user=user)


def _unlink(holding: Holding, workspace: Workspace, user: User) -> None:
    field = _model(holding.model)._meta.get_field(holding.field)
    assert isinstance(field, models.ManyToManyField)
    through = field.remote_field.through
    assert through is not None
    source = field.m2m_field_name()
    target = field.m2m_reverse_field_name()
    through._default_manager.filter(
        **{f"{source}__{holding.workspace}": workspace, target: user}
    ).delete()


def _anonymise_account(user: User) -> None:
    """The person is in no workspace any more: the account keeps nothing about them and can
    no longer sign in (inactive: open sessions end on their next request)."""
    for holding in HOLDINGS:
        if holding.erase == "account":
            _model(holding.model)._default_manager.filter(**{holding.field: user}).delete()
    _model("workspaces.ApiToken")._default_manager.filter(user=user).delete()
    _model("workspaces.SignInThrottle")._default_manager.filter(
        key=f"account:{user.email.lower()}"
    ).delete()
    user.groups.clear()
    user.user_permissions.clear()
    user.email = f"erased-{user.pk}@invalid"
    user.name = user.first_name = user.last_name = ""
    user.is_active = user.is_staff = user.is_superuser = False
    user.set_unusable_password()
    user.save(
        update_fields=[
            "email",
            "name",
            "first_name",
            "last_name",
            "is_active",
            "is_staff",
            "is_superuser",
            "password",
        ]
    )


def erase_person(
    workspace: Workspace, member_user: User, *, by: User, confirm_email: str
) -> ErasedPerson:
    """Erase what ``workspace`` holds about ``member_user``, as owner ``by`` asked, after
    they typed the member's email (``confirm_email``).

    All or nothing: one transaction. The membership and the rows only about the person go;
    the history stays, naming "erased person #N" (see the module's docstring). Refused with
    a ``ValidationError`` for oneself and for the last owner, ``PermissionDenied`` for a
    non-owner. Recorded in the audit log as "Erased the data of erased person #N".
    """
    check_confirmation(member_user, confirm_email)
    with transaction.atomic():
        membership = _membership(workspace, member_user)
        _check_may_erase(workspace, membership, by)
        erased = _stand_in(workspace)
        stand_in = erased.user
        # Audit rows about the person point at the stand-in, so no id leads back to them.
        _model("workflow.AuditEvent")._default_manager.filter(
            _audit_about(workspace, member_user, membership)
        ).update(
            target_type="workspaces.user", target_id=str(stand_in.pk), target_repr=erased.label
        )
        _model("workspaces.Invitation")._default_manager.filter(
            workspace=workspace, email__iexact=member_user.email
        ).delete()
        for holding in HOLDINGS:
            if holding.erase == "keep":
                now_names: dict[str, Any] = {holding.field: stand_in}
                if holding.label:
                    now_names[holding.label] = erased.label
                _rows(holding, workspace, member_user).update(**now_names)
            elif holding.erase == "delete":
                _rows(holding, workspace, member_user).delete()
            elif holding.erase == "unlink":
                _unlink(holding, workspace, member_user)
        _scrub_text(workspace, member_user, erased.label)
        if not Membership.objects.filter(user=member_user).exists():
            _anonymise_account(member_user)
        audit.record(
            workspace,
            "person.erased",
            actor=by,
            target=erased,
            detail=f"Erased the data of {erased.label}",
        )
    return erased
