"""Operations on workspaces and their members, shared by the API, the web UI and the CLI.

Bad input raises ``ValidationError`` with a dict of field → messages and writes nothing.
"""

from __future__ import annotations

from datetime import timedelta
from typing import TypeVar

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.db.models import Model, UniqueConstraint
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone
from django.utils.text import slugify

from .models import (
    UNAPPROVED_AT_DUE,
    ApiToken,
    Invitation,
    Membership,
    TokenScope,
    User,
    Workspace,
    validate_late_window,
    validate_time_zone,
)
from .roles import Role
from .two_factor import check_can_require_two_factor

M = TypeVar("M", bound=Model)


def _check_role(role: str) -> None:
    if role not in Role.values:
        raise ValidationError(
            {"role": [f"Unknown role {role!r}; use one of {', '.join(Role.values)}."]}
        )


def create_workspace(user: User, name: str, slug: str = "", time_zone: str = "UTC") -> Workspace:
    """Create a workspace with ``user`` as its owner."""
    errors: dict[str, list[str]] = {}
    name = name.strip()
    slug = slugify(slug or name)[:60]
    if not name:
        errors["name"] = ["Give the workspace a name."]
    if not slug:
        errors["slug"] = ["Use letters, digits or hyphens for the address."]
    elif Workspace.objects.filter(slug=slug).exists():
        errors["slug"] = [f"The address {slug!r} is taken; choose another."]
    try:
        validate_time_zone(time_zone)
    except ValidationError as exc:
        errors["time_zone"] = exc.messages
    if errors:
        raise ValidationError(errors)
    try:
        with transaction.atomic():
            workspace = Workspace.objects.create(name=name, slug=slug, time_zone=time_zone)
            Membership.objects.create(workspace=workspace, user=user, role=Role.OWNER)
    except IntegrityError:  # lost a race for the slug
        raise ValidationError(
            {"slug": [f"The address {slug!r} is taken; choose another."]}
        ) from None
    return workspace


def site_address(request: HttpRequest | None = None) -> str:
    """The address people reach Socialdesk at, without a trailing slash: ``SITE_URL`` when
    the operator set it, otherwise the one ``request`` came in on (its host was checked
    against ``ALLOWED_HOSTS``), so a link works on whatever port the product runs."""
    if request is None or settings.SITE_URL_EXPLICIT:
        return str(settings.SITE_URL)
    return request.build_absolute_uri("/").rstrip("/")


def invitation_link(invitation: Invitation, base: str | None = None) -> str:
    """The address that accepts ``invitation``; ``base`` from ``site_address``."""
    return (base or settings.SITE_URL) + reverse("accept_invitation", args=[invitation.token])


def invite_member(
    workspace: Workspace,
    invited_by: User | None,
    email: str,
    role: str,
    base: str | None = None,
) -> Invitation:
    """Invite ``email`` with ``role`` and email them a link to accept (console in embedded
    mode; the members page then offers the link to copy). ``base``: see ``site_address``."""
    _check_role(role)
    email = email.strip().lower()
    if Membership.objects.filter(workspace=workspace, user__email__iexact=email).exists():
        raise ValidationError({"email": [f"{email} is already a member of {workspace}."]})
    invitation = Invitation.objects.create(
        workspace=workspace, email=email, role=role, invited_by=invited_by
    )
    link = invitation_link(invitation, base)
    inviter = invited_by.display_name if invited_by else "Socialdesk"
    send_mail(
        f"{inviter} invited you to {workspace} on Socialdesk",
        f"You are invited to join {workspace} as {invitation.get_role_display()}.\n\n"
        f"Accept within 14 days: {link}\n",
        None,
        [email],
    )
    return invitation


def accept_invitation(invitation: Invitation, user: User) -> Membership:
    """Make ``user`` a member with the invited role; an invitation is used once."""
    if not invitation.is_open:
        raise ValidationError({"invitation": ["This invitation has expired or was already used."]})
    with transaction.atomic():
        membership, _ = Membership.objects.get_or_create(
            workspace_id=invitation.workspace_id, user=user, defaults={"role": invitation.role}
        )
        invitation.accepted_at = timezone.now()
        invitation.save(update_fields=["accepted_at"])
    return membership


def _is_last_owner(membership: Membership) -> bool:
    return (
        membership.role == Role.OWNER
        and not Membership.objects.filter(workspace_id=membership.workspace_id, role=Role.OWNER)
        .exclude(pk=membership.pk)
        .exists()
    )


def change_role(membership: Membership, role: str) -> Membership:
    """Give a member another role; a workspace always keeps at least one owner."""
    _check_role(role)
    if role != Role.OWNER and _is_last_owner(membership):
        raise ValidationError(
            {"role": ["A workspace needs an owner; make someone else owner first."]}
        )
    membership.role = role
    membership.save(update_fields=["role"])
    return membership


def remove_member(membership: Membership) -> None:
    """Remove a member (their API tokens for this workspace go with them)."""
    if _is_last_owner(membership):
        raise ValidationError({"member": ["The last owner cannot be removed."]})
    with transaction.atomic():
        membership.user.api_tokens.filter(workspace_id=membership.workspace_id).delete()
        membership.delete()


def update_workspace(
    workspace: Workspace,
    name: str | None = None,
    time_zone: str | None = None,
    requires_approval: bool | None = None,
    unapproved_at_due: str | None = None,
    requires_two_factor: bool | None = None,
    actor: User | None = None,
    late_window: timedelta | None = None,
) -> Workspace:
    """Change a workspace's settings; ``None`` leaves a field as it is. The slug never
    changes: it is in every URL and every API client's configuration. ``actor`` (who asks)
    must have two-factor sign-in before requiring it of everyone."""
    errors: dict[str, list[str]] = {}
    changed: list[str] = []
    if name is not None:
        if not name.strip():
            errors["name"] = ["Give the workspace a name."]
        workspace.name = name.strip()
        changed.append("name")
    if time_zone is not None:
        try:
            validate_time_zone(time_zone)
        except ValidationError as exc:
            errors["time_zone"] = exc.messages
        workspace.time_zone = time_zone
        changed.append("time_zone")
    if requires_approval is not None:
        workspace.requires_approval = requires_approval
        changed.append("requires_approval")
    if unapproved_at_due is not None:
        choices = dict(UNAPPROVED_AT_DUE)
        if unapproved_at_due not in choices:
            errors["unapproved_at_due"] = [f"Choose one of: {', '.join(choices)}."]
        workspace.unapproved_at_due = unapproved_at_due
        changed.append("unapproved_at_due")
    if requires_two_factor is not None:
        if requires_two_factor and not workspace.requires_two_factor and actor is not None:
            try:
                check_can_require_two_factor(actor)
            except ValidationError as exc:
                errors["requires_two_factor"] = exc.messages
        workspace.requires_two_factor = requires_two_factor
        changed.append("requires_two_factor")
    if late_window is not None:
        try:
            validate_late_window(late_window)
        except ValidationError as exc:
            errors["late_window_minutes"] = exc.messages
        workspace.late_window = late_window
        changed.append("late_window")
    if errors:
        workspace.refresh_from_db()
        raise ValidationError(errors)
    if changed:
        workspace.save(update_fields=changed)
    return workspace


def check_owner_rule(actor: Membership, role: str, target: Membership | None = None) -> None:
    """Only an owner may hand out the owner role or change or remove an owner, so a manager
    cannot promote themselves past the people who trust them."""
    touches_owner = role == Role.OWNER or (target is not None and target.role == Role.OWNER)
    if touches_owner and actor.role != Role.OWNER:
        raise PermissionDenied("Only an owner may grant, change or remove the owner role.")


def invite_member_as(
    actor: Membership, email: str, role: str, base: str | None = None
) -> Invitation:
    """``invite_member`` on behalf of a member, under the owner rule."""
    _check_role(role)
    check_owner_rule(actor, role)
    return invite_member(actor.workspace, actor.user, email, role, base)


def change_role_as(actor: Membership, membership: Membership, role: str) -> Membership:
    """``change_role`` on behalf of a member, under the owner rule."""
    _check_role(role)
    check_owner_rule(actor, role, membership)
    return change_role(membership, role)


def remove_member_as(actor: Membership, membership: Membership) -> None:
    """``remove_member`` on behalf of a member, under the owner rule."""
    check_owner_rule(actor, membership.role, membership)
    remove_member(membership)


def issue_api_token(membership: Membership, name: str, scopes: list[str]) -> tuple[ApiToken, str]:
    """Issue a token for the member's own use in their workspace; the raw secret is
    returned once and never stored."""
    errors: dict[str, list[str]] = {}
    name = name.strip()
    if not name:
        errors["name"] = ["Name the token after the script that will use it."]
    unknown = [s for s in scopes if s not in TokenScope.values]
    if unknown or not scopes:
        errors["scopes"] = [f"Use one or more of: {', '.join(TokenScope.values)}."]
    if errors:
        raise ValidationError(errors)
    return ApiToken.issue(membership.workspace, membership.user, name, list(dict.fromkeys(scopes)))


def save_owned(
    obj: M, errors: dict[str, list[str]] | None = None, fields: list[str] | None = None
) -> M:
    """Validate a workspace-owned row (field rules, then unique names) and save it.

    For simple rows (channels, labels, pillars, campaigns) whose rules are their fields and
    constraints. ``errors`` carries errors the caller found first. A clash with a unique
    constraint is reported under the constraint's last field (``name``, ``handle``); a clash
    lost to a concurrent request is reported the same way.
    """
    errors = dict(errors or {})
    try:
        obj.full_clean(exclude=["workspace"], validate_unique=False, validate_constraints=False)
    except ValidationError as exc:
        for name, messages in exc.message_dict.items():
            errors.setdefault(name, []).extend(messages)
    clash = _unique_clash(obj)
    if clash and clash[0] not in errors:
        errors[clash[0]] = [clash[1]]
    if errors:
        raise ValidationError(errors)
    try:
        with transaction.atomic():
            if fields is None:
                obj.save()
            else:
                obj.save(update_fields=fields)
    except IntegrityError:
        clash = _unique_clash(obj)
        if clash is None:
            raise
        raise ValidationError({clash[0]: [clash[1]]}) from None
    return obj


def _unique_clash(obj: Model) -> tuple[str, str] | None:
    for constraint in obj._meta.constraints:
        if not isinstance(constraint, UniqueConstraint) or constraint.condition is not None:
            continue
        values = {}
        for name in constraint.fields:
            model_field = obj._meta.get_field(name)
            values[name] = getattr(obj, getattr(model_field, "attname", name))
        others = type(obj)._default_manager.filter(**values).exclude(pk=obj.pk)
        if others.exists():
            field = constraint.fields[-1]
            shown = ", ".join(f"{k}={v!r}" for k, v in values.items() if k != "workspace")
            return field, (
                f"A {obj._meta.verbose_name} with {shown} already exists in this workspace; "
                "choose another."
            )
    return None
