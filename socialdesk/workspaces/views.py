"""Members, invitations, workspace settings and one's own API tokens.

Every view authorizes through ``web.helpers.enter`` and fetches rows with
``access.get_in_workspace``. The owner rule (only an owner grants the owner role or changes or
removes an owner) is the services' ``check_owner_rule``; the page only hides what it refuses.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST

from socialdesk import personal_data
from socialdesk.web.helpers import apply_errors, enter

from . import services
from .access import get_in_workspace
from .forms import InviteForm, RoleForm, TokenForm, WorkspaceSettingsForm
from .models import ApiToken, Invitation, Membership
from .roles import PERMISSIONS, ROLE_DESCRIPTIONS, Role


def _may_manage(actor: Membership, target: Membership) -> bool:
    """Whether to show controls for ``target``: the same answer the services will give."""
    if not actor.can("members.manage"):
        return False
    try:
        services.check_owner_rule(actor, target.role, target)
    except PermissionDenied:
        return False
    return True


def _members_page(
    request: HttpRequest,
    membership: Membership,
    invite_form: InviteForm | None = None,
    status: int = 200,
) -> HttpResponse:
    workspace = membership.workspace
    is_owner = membership.role == Role.OWNER
    members = Membership.objects.in_workspace(workspace).select_related("user")
    rows = [
        {
            "membership": m,
            "manageable": _may_manage(membership, m),
            "form": RoleForm(initial={"role": m.role}, may_grant_owner=is_owner, prefix=f"m{m.pk}"),
        }
        for m in members
    ]
    invitations = list(
        Invitation.objects.in_workspace(workspace).filter(
            accepted_at=None, expires_at__gt=timezone.now()
        )
    )
    can_manage = membership.can("members.manage")
    base = services.site_address(request)
    for invitation in invitations:
        # The link is a secret: shown only to those who may invite.
        invitation.link = services.invitation_link(invitation, base) if can_manage else ""  # type: ignore[attr-defined]
    role_rows = [
        {
            "role": role,
            "description": ROLE_DESCRIPTIONS[role],
            "may": sorted(name for name, roles in PERMISSIONS.items() if role in roles),
        }
        for role in Role
    ]
    context = {
        "rows": rows,
        "invitations": invitations,
        "can_manage": can_manage,
        "may_export": membership.can("members.export"),
        "may_erase": membership.can("members.erase"),
        "email_to_console": settings.EMAIL_TO_CONSOLE,
        "invite_form": invite_form or InviteForm(may_grant_owner=is_owner),
        "role_rows": role_rows,
    }
    return render(request, "workspaces/members.html", context, status=status)


@login_required
def members(request: HttpRequest, slug: str) -> HttpResponse:
    membership = enter(request, slug, "members.view")
    return _members_page(request, membership)


@login_required
@require_POST
def member_invite(request: HttpRequest, slug: str) -> HttpResponse:
    membership = enter(request, slug, "members.manage")
    form = InviteForm(request.POST, may_grant_owner=membership.role == Role.OWNER)
    if form.is_valid():
        try:
            invitation = services.invite_member_as(
                membership,
                form.cleaned_data["email"],
                form.cleaned_data["role"],
                services.site_address(request),
            )
        except ValidationError as exc:
            apply_errors(form, exc, {})
        else:
            if settings.EMAIL_TO_CONSOLE:
                messages.success(
                    request,
                    f"Invitation made for {invitation.email}. Email is not set up, so it was "
                    "only written to the server's log: copy the link below and send it to them.",
                )
            else:
                messages.success(request, f"Invitation sent to {invitation.email}.")
            return redirect("members", slug=slug)
    return _members_page(request, membership, invite_form=form, status=400)


@login_required
@require_POST
def member_role(request: HttpRequest, slug: str, membership_id: int) -> HttpResponse:
    actor = enter(request, slug, "members.manage")
    target = get_in_workspace(Membership, actor.workspace, pk=membership_id)
    # Every role is a valid choice here; whether this actor may give it is the service's call.
    form = RoleForm(request.POST, may_grant_owner=True, prefix=f"m{target.pk}")
    if not form.is_valid():
        messages.error(request, "Choose one of the roles.")
        return redirect("members", slug=slug)
    try:
        services.change_role_as(actor, target, form.cleaned_data["role"])
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, f"{target.user} is now {target.get_role_display()}.")
    return redirect("members", slug=slug)


@login_required
@require_http_methods(["GET", "POST"])
def member_remove(request: HttpRequest, slug: str, membership_id: int) -> HttpResponse:
    """Ask first (GET), remove on POST; the last owner stays."""
    actor = enter(request, slug, "members.manage")
    target = get_in_workspace(Membership, actor.workspace, pk=membership_id)
    services.check_owner_rule(actor, target.role, target)  # ask nothing we would refuse
    if request.method == "POST":
        try:
            services.remove_member_as(actor, target)
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
            return redirect("members", slug=slug)
        if target.user_id == request.user.pk:
            messages.success(request, f"You left {actor.workspace}.")
            return redirect("home")
        messages.success(request, f"{target.user} was removed from {actor.workspace}.")
        return redirect("members", slug=slug)
    return render(request, "workspaces/member_remove.html", {"target": target})


@login_required
@require_POST
def member_data(request: HttpRequest, slug: str, membership_id: int) -> HttpResponse:
    """Download everything the workspace holds about a member (a zip); a POST, since it is
    recorded in the audit log."""
    actor = enter(request, slug, "members.export")
    target = get_in_workspace(Membership, actor.workspace, pk=membership_id)
    body = personal_data.export_person(actor.workspace, target.user, by=actor.user)
    return personal_data.export_response(body, slug, target)


@login_required
@require_http_methods(["GET", "POST"])
def member_erase(request: HttpRequest, slug: str, membership_id: int) -> HttpResponse:
    """Ask for the member's email (GET), erase on POST; refusals are shown on the page."""
    actor = enter(request, slug, "members.erase")
    target = get_in_workspace(Membership, actor.workspace, pk=membership_id)
    errors: list[str] = []
    if request.method == "POST":
        name = str(target.user)
        try:
            erased = personal_data.erase_person(
                actor.workspace,
                target.user,
                by=actor.user,
                confirm_email=request.POST.get("confirm_email", ""),
            )
        except ValidationError as exc:
            errors = exc.messages
        else:
            messages.success(
                request,
                f"The data of {name} was erased; the workspace's history now names them "
                f"{erased.label}.",
            )
            return redirect("members", slug=slug)
    context = {"target": target, "errors": errors}
    return render(request, "workspaces/member_erase.html", context, status=400 if errors else 200)


@login_required
@require_POST
def invitation_revoke(request: HttpRequest, slug: str, invitation_id: int) -> HttpResponse:
    """Withdraw an invitation; its link stops working at once."""
    actor = enter(request, slug, "members.manage")
    invitation = get_in_workspace(Invitation, actor.workspace, pk=invitation_id)
    invitation.delete()
    messages.success(request, f"The invitation to {invitation.email} was revoked.")
    return redirect("members", slug=slug)


@login_required
@require_http_methods(["GET", "POST"])
def workspace_settings(request: HttpRequest, slug: str) -> HttpResponse:
    membership = enter(request, slug, "workspace.update")
    form = WorkspaceSettingsForm(
        request.POST or None, instance=membership.workspace, user=membership.user
    )
    if request.method == "POST" and form.is_valid():
        form.save()
        messages.success(request, "Settings saved.")
        return redirect("workspace_settings", slug=slug)
    context = {"form": form, "tab": "workspace"}
    return render(request, "workspaces/settings.html", context, status=400 if form.errors else 200)


@login_required
@require_http_methods(["GET", "POST"])
def api_tokens(request: HttpRequest, slug: str) -> HttpResponse:
    """One's own tokens for this workspace; a new token's secret is shown once, here."""
    membership = enter(request, slug, "tokens.manage")
    form = TokenForm(request.POST or None)
    raw = None
    if request.method == "POST" and form.is_valid():
        try:
            _, raw = services.issue_api_token(membership, form.cleaned_data["name"], form.scopes())
        except ValidationError as exc:
            apply_errors(form, exc, {"scopes": "scope"})
        else:
            form = TokenForm()
    tokens = ApiToken.objects.in_workspace(membership.workspace).filter(user_id=request.user.pk)
    context = {"form": form, "tokens": tokens, "raw_token": raw, "tab": "tokens"}
    response = render(
        request, "workspaces/tokens.html", context, status=400 if form.errors else 200
    )
    if raw:
        response["Cache-Control"] = "no-store"
    return response


@login_required
@require_POST
def api_token_revoke(request: HttpRequest, slug: str, token_id: int) -> HttpResponse:
    membership = enter(request, slug, "tokens.manage")
    token = get_in_workspace(ApiToken, membership.workspace, pk=token_id, user_id=request.user.pk)
    token.delete()
    messages.success(request, f"The token “{token.name}” was revoked.")
    return redirect("api_tokens", slug=slug)
