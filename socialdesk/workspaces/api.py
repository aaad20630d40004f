"""API: workspaces, members, invitations and the caller's API tokens."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Literal

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from ninja import Field, Router, Schema, Status

from socialdesk import personal_data
from socialdesk.api_support import (
    Id,
    MemberRequest,
    Slug,
    Text,
    caller,
    requires,
    responses,
    token_of,
)

from . import services
from .access import get_in_workspace
from .models import ApiToken, Invitation, Membership, Workspace

router = Router(tags=["workspaces"])

RoleName = Literal["owner", "manager", "creator", "approver", "client", "analyst"]
ScopeName = Literal["read", "write"]


class WorkspaceOut(Schema):
    slug: str
    name: str
    time_zone: str
    requires_approval: bool
    approval_gate: bool = Field(
        description="Approval gates publishing now: required, and someone is an approver or client."
    )
    unapproved_at_due: str = Field(
        description="A post still unapproved at its time: hold (missed) or publish_fast_lane."
    )
    requires_two_factor: bool = Field(
        description="Members must sign in with a second factor to use the web pages."
    )
    late_window_minutes: int = Field(
        description="How late a due post may still go out (after downtime) before it is "
        "missed, in minutes: 15 to 10080 (7 days); 360 (6 hours) by default."
    )
    created_at: datetime
    role: str = Field(description="The caller's role in this workspace.")


class WorkspaceIn(Schema):
    name: Text = Field(min_length=1, max_length=120)
    slug: Text = Field("", max_length=60, description="Defaults to a slug of the name.")
    time_zone: Text = Field("UTC", max_length=64, description="An IANA time zone name.")


class WorkspacePatch(Schema):
    name: Text | None = Field(None, min_length=1, max_length=120)
    time_zone: Text | None = Field(None, max_length=64)
    requires_approval: bool | None = None
    unapproved_at_due: Literal["hold", "publish_fast_lane"] | None = None
    requires_two_factor: bool | None = Field(
        None,
        description="Members must sign in with a second factor to use the web pages; the "
        "caller must have it on to switch it on. API tokens are not affected.",
    )
    late_window_minutes: int | None = Field(
        None, ge=15, le=10080, description="The late window in minutes: 15 to 10080 (7 days)."
    )


def _workspace_out(membership: Membership) -> WorkspaceOut:
    ws = membership.workspace
    return WorkspaceOut(
        slug=ws.slug,
        name=ws.name,
        time_zone=ws.time_zone,
        requires_approval=ws.requires_approval,
        approval_gate=ws.approval_gate,
        unapproved_at_due=ws.unapproved_at_due,
        requires_two_factor=ws.requires_two_factor,
        late_window_minutes=int(ws.late_window.total_seconds() // 60),
        created_at=ws.created_at,
        role=membership.role,
    )


@router.get(
    "/workspaces",
    response=responses(list[WorkspaceOut]),
    operation_id="workspaces_list",
)
@requires("workspace.view")
def workspaces_list(request: HttpRequest) -> list[WorkspaceOut]:
    """The workspaces the caller belongs to (a token sees only its own workspace)."""
    memberships: QuerySet[Membership] = Membership.objects.filter(user=caller(request))
    token = token_of(request)
    if token is not None:
        memberships = memberships.filter(workspace_id=token.workspace_id)
    memberships = memberships.select_related("workspace").order_by("workspace__name")
    return [_workspace_out(m) for m in memberships]


@router.post(
    "/workspaces",
    response=responses(WorkspaceOut, 201),
    operation_id="workspaces_create",
)
@requires("workspace.create")
def workspaces_create(request: HttpRequest, payload: WorkspaceIn) -> Status:
    """Start a workspace with the caller as its owner."""
    workspace = services.create_workspace(
        caller(request), payload.name, payload.slug, payload.time_zone
    )
    return Status(
        201, _workspace_out(Membership.objects.get(workspace=workspace, user=caller(request)))
    )


@router.get(
    "/workspaces/{slug}",
    response=responses(WorkspaceOut),
    operation_id="workspaces_read",
)
@requires("workspace.view")
def workspaces_read(request: MemberRequest, slug: Slug) -> WorkspaceOut:
    return _workspace_out(request.membership)


@router.patch(
    "/workspaces/{slug}",
    response=responses(WorkspaceOut),
    operation_id="workspaces_update",
)
@requires("workspace.update")
def workspaces_update(request: MemberRequest, slug: Slug, payload: WorkspacePatch) -> WorkspaceOut:
    services.update_workspace(
        request.workspace,
        name=payload.name,
        time_zone=payload.time_zone,
        requires_approval=payload.requires_approval,
        unapproved_at_due=payload.unapproved_at_due,
        requires_two_factor=payload.requires_two_factor,
        actor=caller(request),
        late_window=(
            None
            if payload.late_window_minutes is None
            else timedelta(minutes=payload.late_window_minutes)
        ),
    )
    return _workspace_out(request.membership)


@router.delete(
    "/workspaces/{slug}",
    response=responses(None, 204),
    operation_id="workspaces_delete",
)
@requires("workspace.delete")
def workspaces_delete(request: MemberRequest, slug: Slug) -> Status:
    """Delete the workspace and everything in it."""
    Workspace.objects.filter(pk=request.membership.workspace_id).delete()
    return Status(204, None)


# --- Members ------------------------------------------------------------------------------


class MemberOut(Schema):
    id: int
    email: str
    name: str
    role: str
    created_at: datetime

    @staticmethod
    def resolve_email(obj: Membership) -> str:
        return obj.user.email

    @staticmethod
    def resolve_name(obj: Membership) -> str:
        return obj.user.name


class MemberPatch(Schema):
    role: RoleName


@router.get(
    "/workspaces/{slug}/members",
    response=responses(list[MemberOut]),
    operation_id="members_list",
)
@requires("members.view")
def members_list(request: MemberRequest, slug: Slug) -> QuerySet[Membership]:
    return Membership.objects.filter(workspace_id=request.membership.workspace_id).select_related(
        "user"
    )


@router.patch(
    "/workspaces/{slug}/members/{member_id}",
    response=responses(MemberOut),
    operation_id="members_update",
)
@requires("members.manage")
def members_update(
    request: MemberRequest, slug: Slug, member_id: Id, payload: MemberPatch
) -> Membership:
    """Change a member's role; only owners grant or take away the owner role."""
    actor = request.membership
    member = get_in_workspace(Membership, actor.workspace, pk=member_id)
    return services.change_role_as(actor, member, payload.role)


@router.delete(
    "/workspaces/{slug}/members/{member_id}",
    response=responses(None, 204),
    operation_id="members_delete",
)
@requires("members.manage")
def members_delete(request: MemberRequest, slug: Slug, member_id: Id) -> Status:
    """Remove a member; the last owner cannot be removed."""
    actor = request.membership
    member = get_in_workspace(Membership, actor.workspace, pk=member_id)
    services.remove_member_as(actor, member)
    return Status(204, None)


class EraseIn(Schema):
    confirm_email: Text = Field(
        max_length=254, description="The member's email address, typed to confirm."
    )


class ErasedOut(Schema):
    erased_as: str = Field(description='How the history names them now: "erased person #N".')
    account: Literal["kept", "anonymised"] = Field(
        description="kept: they are a member of another workspace; anonymised: they were not."
    )


def _binary(media_type: str, description: str) -> dict:
    """The OpenAPI responses of an operation that answers with a file."""
    problem = {"application/json": {"schema": {"$ref": "#/components/schemas/Problem"}}}
    return {
        # Integer codes, as django-ninja keys its own (a "200" beside its 200 is a duplicate).
        "responses": {
            200: {
                "description": description,
                "content": {media_type: {"schema": {"type": "string", "format": "binary"}}},
            },
            **{
                status: {"description": title, "content": problem}
                for status, title in [
                    (401, "Unauthorized"),
                    (403, "Forbidden"),
                    (404, "Not Found"),
                    (422, "Unprocessable Entity"),
                ]
            },
        }
    }


@router.get(
    "/workspaces/{slug}/members/{member_id}/data",
    operation_id="members_data",
    openapi_extra=_binary("application/zip", "person.json and one CSV per table, in a zip."),
)
@requires("members.export")
def members_data(request: MemberRequest, slug: Slug, member_id: Id) -> HttpResponse:
    """Everything the workspace holds about a member, as a zip (recorded in the audit log)."""
    member = get_in_workspace(Membership, request.workspace, pk=member_id)
    body = personal_data.export_person(request.workspace, member.user, by=caller(request))
    return personal_data.export_response(body, slug, member)


@router.post(
    "/workspaces/{slug}/members/{member_id}/erase",
    response=responses(ErasedOut),
    operation_id="members_erase",
)
@requires("members.erase")
def members_erase(request: MemberRequest, slug: Slug, member_id: Id, payload: EraseIn) -> ErasedOut:
    """Erase a member's data in this workspace: the membership and what is only about them
    go, the history stays naming "erased person #N". Not oneself, not the last owner."""
    member = get_in_workspace(Membership, request.workspace, pk=member_id)
    user = member.user
    erased = personal_data.erase_person(
        request.workspace, user, by=caller(request), confirm_email=payload.confirm_email
    )
    kept = Membership.objects.filter(user=user).exists()
    return ErasedOut(erased_as=erased.label, account="kept" if kept else "anonymised")


# --- Invitations --------------------------------------------------------------------------


class InvitationOut(Schema):
    """An invitation; its secret link goes only to the invited address, never to the API."""

    id: int
    email: str
    role: str
    created_at: datetime
    expires_at: datetime
    accepted_at: datetime | None
    is_open: bool


class InvitationIn(Schema):
    email: Text = Field(max_length=254)
    role: RoleName


@router.get(
    "/workspaces/{slug}/invitations",
    response=responses(list[InvitationOut]),
    operation_id="invitations_list",
)
@requires("members.manage")
def invitations_list(request: MemberRequest, slug: Slug) -> QuerySet[Invitation]:
    return Invitation.objects.in_workspace(request.workspace)  # type: ignore[return-value]


@router.post(
    "/workspaces/{slug}/invitations",
    response=responses(InvitationOut, 201),
    operation_id="invitations_create",
)
@requires("members.manage")
def invitations_create(request: MemberRequest, slug: Slug, payload: InvitationIn) -> Status:
    """Invite someone by email; they receive a link to accept within 14 days."""
    actor = request.membership
    _check_email(payload.email)
    base = services.site_address(request)
    return Status(201, services.invite_member_as(actor, payload.email, payload.role, base))


def _check_email(email: str) -> None:
    try:
        validate_email(email.strip())
    except ValidationError:
        raise ValidationError(
            {"email": ["Enter an email address such as sam@example.com."]}
        ) from None


@router.delete(
    "/workspaces/{slug}/invitations/{invitation_id}",
    response=responses(None, 204),
    operation_id="invitations_delete",
)
@requires("members.manage")
def invitations_delete(request: MemberRequest, slug: Slug, invitation_id: Id) -> Status:
    """Revoke an invitation: its link stops working."""
    get_in_workspace(Invitation, request.workspace, pk=invitation_id).delete()
    return Status(204, None)


# --- API tokens ---------------------------------------------------------------------------


class TokenOut(Schema):
    id: int
    name: str
    hint: str = Field(description="The first characters of the token, to recognise it.")
    scopes: list[str]
    created_at: datetime
    last_used_at: datetime | None


class TokenCreated(TokenOut):
    token: str = Field(description="The secret; shown only in this response.")


class TokenIn(Schema):
    name: Text = Field(min_length=1, max_length=80)
    scopes: list[ScopeName] = Field(["read", "write"], min_length=1)


@router.get(
    "/workspaces/{slug}/tokens",
    response=responses(list[TokenOut]),
    operation_id="tokens_list",
)
@requires("tokens.manage")
def tokens_list(request: MemberRequest, slug: Slug) -> QuerySet[ApiToken]:
    """The caller's own tokens in this workspace."""
    return ApiToken.objects.filter(workspace=request.workspace, user=request.membership.user)


@router.post(
    "/workspaces/{slug}/tokens",
    response=responses(TokenCreated, 201),
    operation_id="tokens_create",
)
@requires("tokens.manage")
def tokens_create(request: MemberRequest, slug: Slug, payload: TokenIn) -> Status:
    token, raw = services.issue_api_token(request.membership, payload.name, list(payload.scopes))
    out = TokenOut.from_orm(token).dict()
    return Status(201, {**out, "token": raw})


@router.delete(
    "/workspaces/{slug}/tokens/{token_id}",
    response=responses(None, 204),
    operation_id="tokens_delete",
)
@requires("tokens.manage")
def tokens_delete(request: MemberRequest, slug: Slug, token_id: Id) -> Status:
    """Delete one of the caller's tokens; scripts using it stop working at once."""
    get_in_workspace(
        ApiToken, request.workspace, pk=token_id, user=request.membership.user
    ).delete()
    return Status(204, None)
