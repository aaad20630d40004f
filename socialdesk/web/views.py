"""The web shell's own pages: home, a new workspace, and accepting an invitation.

Pages about posts live in ``content.views``, about members and settings in
``workspaces.views``; this app holds the layout they share.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods

from socialdesk.workspaces import services
from socialdesk.workspaces.models import Invitation, Membership, User

from .forms import InvitedAccountForm, WorkspaceForm
from .helpers import apply_errors

FAVICON = Path(__file__).parent / "static" / "web" / "favicon.ico"


def favicon(request: HttpRequest) -> HttpResponse:
    """``/favicon.ico``, which browsers ask for whatever the page links (it was a 404)."""
    response = HttpResponse(FAVICON.read_bytes(), content_type="image/x-icon")
    response["Cache-Control"] = "public, max-age=86400"
    return response


@login_required
def home(request: HttpRequest) -> HttpResponse:
    """Go to the first workspace's home page; a person with none is asked to create one."""
    membership = (
        Membership.objects.filter(user=request.user).select_related("workspace").first()  # type: ignore[misc]
    )
    if membership is not None:
        return redirect("workspace", slug=membership.workspace.slug)
    return render(request, "web/first_workspace.html", {"form": WorkspaceForm()})


@login_required
@require_http_methods(["GET", "POST"])
def workspace_create(request: HttpRequest) -> HttpResponse:
    """Create a workspace with the signed-in person as its owner."""
    form = WorkspaceForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            workspace = services.create_workspace(
                request.user,  # type: ignore[arg-type]
                form.cleaned_data["name"],
                form.cleaned_data["slug"],
                form.cleaned_data["time_zone"],
            )
        except ValidationError as exc:
            apply_errors(form, exc, {})
        else:
            messages.success(request, f"Welcome to {workspace}. Write your first post.")
            return redirect("post_list", slug=workspace.slug)
    first = not Membership.objects.filter(user=request.user).exists()  # type: ignore[misc]
    template = "web/first_workspace.html" if first else "web/workspace_new.html"
    return render(request, template, {"form": form}, status=400 if form.errors else 200)


@require_http_methods(["GET", "POST"])
def accept_invitation(request: HttpRequest, token: str) -> HttpResponse:
    """Join a workspace from an emailed link.

    A signed-in person accepts with one button. A signed-out visitor signs in, or creates an
    account with the invited email address (the emailed link proves they own it), and joins
    in the same step.
    """
    invitation = get_object_or_404(Invitation.objects.select_related("workspace"), token=token)
    context: dict = {"invitation": invitation}
    if not invitation.is_open:
        return render(request, "web/invitation.html", {**context, "closed": True}, status=410)

    if request.user.is_authenticated:
        if request.method == "POST":
            try:
                membership = services.accept_invitation(invitation, request.user)  # type: ignore[arg-type]
            except ValidationError as exc:
                messages.error(request, " ".join(exc.messages))
                return redirect("home")
            messages.success(request, f"You joined {invitation.workspace}.")
            return redirect("post_list", slug=membership.workspace.slug)
        return render(request, "web/invitation.html", context)

    has_account = User.objects.filter(email__iexact=invitation.email).exists()
    login_url = reverse("login") + "?next=" + request.path
    context.update(has_account=has_account, login_url=login_url)
    if has_account:
        return render(request, "web/invitation.html", context)
    form = InvitedAccountForm(request.POST or None, email=invitation.email)
    if request.method == "POST" and form.is_valid():
        try:
            with transaction.atomic():
                user = User.objects.create_user(
                    email=invitation.email,
                    password=form.cleaned_data["password1"],
                    name=form.cleaned_data["name"],
                )
                membership = services.accept_invitation(invitation, user)
        except ValidationError as exc:  # used by someone else a moment ago
            messages.error(request, " ".join(exc.messages))
            return redirect("login")
        login(request, user, backend="socialdesk.workspaces.backends.MemberBackend")
        messages.success(request, f"Welcome to {invitation.workspace}.")
        return redirect("post_list", slug=membership.workspace.slug)
    status = 400 if form.errors else 200
    return render(request, "web/invitation.html", {**context, "form": form}, status=status)


class PasswordResetView(auth_views.PasswordResetView):
    """Django's reset, with links built from ``SITE_URL`` rather than the request's Host."""

    template_name = "web/accounts/password_reset_form.html"
    subject_template_name = "web/accounts/password_reset_subject.txt"
    email_template_name = "web/accounts/password_reset_email.txt"

    def form_valid(self, form: Any) -> HttpResponse:
        self.extra_email_context = {"site_url": settings.SITE_URL}
        return super().form_valid(form)
