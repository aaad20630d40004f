"""Signing in (password, then a code when two-factor sign-in is on) and one's account page.

The password step replaces Django's ``LoginView`` so that every attempt passes the throttle
in ``signin`` first; a correct password for a person with an authenticator app only leaves a
short-lived note in the session, and the code step signs them in.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import REDIRECT_FIELD_NAME, login
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render, resolve_url
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods, require_POST
from django_otp import login as otp_login

from socialdesk.web.forms import EmailAuthenticationForm
from socialdesk.web.helpers import local_path

from . import signin, two_factor
from .models import SignInEvent, User

# The password step's note for the code step: who, how, since when, where to go after.
PENDING = "signin_pending"
PENDING_FOR_SECONDS = 10 * 60
Kind = SignInEvent.Kind


class CodeForm(forms.Form):
    code = forms.CharField(
        label="Code",
        max_length=20,
        help_text="The 6-digit code from your authenticator app, or one of your recovery codes.",
        widget=forms.TextInput(
            attrs={
                "autocomplete": "one-time-code",
                "autofocus": True,
                "autocapitalize": "off",
                "spellcheck": "false",
                "class": "mono",
            }
        ),
    )


def _safe_next(request: HttpRequest) -> str:
    candidate = request.POST.get(REDIRECT_FIELD_NAME) or request.GET.get(REDIRECT_FIELD_NAME, "")
    return local_path(request, candidate)


def _finish(
    request: HttpRequest, user: User, backend: str, next_url: str, device: Any = None
) -> HttpResponse:
    login(request, user, backend=backend)
    if device is not None:
        otp_login(request, device)
    signin.clear_account(user.email)
    request.session.pop(PENDING, None)
    return redirect(next_url or resolve_url(settings.LOGIN_REDIRECT_URL))


@sensitive_post_parameters()
@csrf_protect
@never_cache
@require_http_methods(["GET", "POST"])
def signin_password(request: HttpRequest) -> HttpResponse:
    """First step: email and password, throttled per account and per address."""
    next_url = _safe_next(request)
    if request.user.is_authenticated and request.method == "GET":
        return redirect(next_url or resolve_url(settings.LOGIN_REDIRECT_URL))
    form = EmailAuthenticationForm(request, data=request.POST if request.method == "POST" else None)
    status = 200
    throttled: signin.Throttled | None = None
    if request.method == "POST":
        email = request.POST.get("username", "").strip()
        address = signin.client_address(request)
        throttled = signin.check(email, address)
        if throttled is None and form.is_valid():
            user = form.get_user()
            backend = getattr(user, "backend", settings.AUTHENTICATION_BACKENDS[0])
            if two_factor.has_two_factor(user):
                request.session.cycle_key()
                request.session[PENDING] = {
                    "user": user.pk,
                    "backend": backend,
                    "since": signin.now().timestamp(),
                    "next": next_url,
                }
                return redirect("signin_code")
            signin.log_event(request, Kind.SIGNED_IN, user)
            return _finish(request, user, backend, next_url)
        known = signin.user_for_email(email) if email else None
        if throttled is None and email and request.POST.get("password"):
            signin.log_event(request, Kind.FAILED, known, email)
            throttled = signin.record_failure(email, address)
        elif throttled is not None:
            signin.log_event(request, Kind.THROTTLED, known, email)
        if throttled is not None:
            form = EmailAuthenticationForm(request, initial={"username": email})
            status = 429
    context = {"form": form, "next": next_url, "throttled": throttled}
    return render(request, "web/accounts/login.html", context, status=status)


def _pending_user(request: HttpRequest) -> tuple[User, str, str] | None:
    """Whoever is between the password and the code: a fresh note from the password step, or
    a signed-in person with an app whose session has not passed a code (a session from before
    they turned two-factor on, sent here by a workspace that requires it)."""
    note = request.session.get(PENDING)
    if note and signin.now().timestamp() - note.get("since", 0) < PENDING_FOR_SECONDS:
        user = User.objects.filter(pk=note.get("user"), is_active=True).first()
        if user is not None:
            return user, note["backend"], _safe_next(request) or note.get("next", "")
    if request.user.is_authenticated and two_factor.has_two_factor(request.user):  # type: ignore[arg-type]
        backend = request.session.get("_auth_user_backend", settings.AUTHENTICATION_BACKENDS[0])
        return request.user, backend, _safe_next(request)  # type: ignore[return-value]
    return None


@sensitive_post_parameters()
@csrf_protect
@never_cache
@require_http_methods(["GET", "POST"])
def signin_code(request: HttpRequest) -> HttpResponse:
    """Second step: a code from the app or a recovery code; wrong codes count as failed
    sign-ins for the throttle too."""
    pending = _pending_user(request)
    if pending is None:
        request.session.pop(PENDING, None)
        messages.info(request, "Sign in with your email and password first.")
        return redirect("login")
    user, backend, next_url = pending
    form = CodeForm(request.POST or None)
    status = 200
    throttled: signin.Throttled | None = None
    if request.method == "POST":
        address = signin.client_address(request)
        throttled = signin.check(user.email, address)
        if throttled is None and form.is_valid():
            device, recovery = two_factor.verify(user, form.cleaned_data["code"])
            if device is not None:
                signin.log_event(
                    request, Kind.RECOVERY_CODE_USED if recovery else Kind.SIGNED_IN, user
                )
                if recovery:
                    left = two_factor.recovery_codes_left(user)
                    messages.warning(
                        request,
                        f"You signed in with a recovery code; {left} left. "
                        "Make new ones on your account page if you are running low.",
                    )
                return _finish(request, user, backend, next_url, device)
            signin.log_event(request, Kind.CODE_FAILED, user)
            throttled = signin.record_failure(user.email, address)
            if throttled is None:
                form.add_error(
                    "code",
                    "That code is not right. App codes change every 30 seconds: check that "
                    "your phone's clock is right, or use a recovery code.",
                )
        elif throttled is not None:
            signin.log_event(request, Kind.THROTTLED, user)
        if throttled is not None:
            form = CodeForm()
            status = 429
        else:
            status = 400
    context = {
        "form": form,
        "next": next_url,
        "pending_email": user.email,
        "throttled": throttled,
    }
    return render(request, "web/accounts/login_code.html", context, status=status)


class PasswordResetConfirmView(auth_views.PasswordResetConfirmView):
    """Django's reset form; a new password also lifts the account's sign-in lock, which is
    what the throttle message offers."""

    template_name = "web/accounts/password_reset_confirm.html"

    def form_valid(self, form: Any) -> HttpResponse:
        response = super().form_valid(form)
        signin.clear_account(form.user.email)
        return response


# --- One's account page -------------------------------------------------------------------

RECENT_EVENTS = 15


def _account_page(
    request: HttpRequest, disable_form: CodeForm | None = None, status: int = 200
) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    disable_form = disable_form or CodeForm(auto_id="disable_%s")
    # The account page is for reading first: the focus stays at the top.
    disable_form.fields["code"].widget.attrs.pop("autofocus", None)
    context = {
        "two_factor_on": two_factor.has_two_factor(user),
        "recovery_left": two_factor.recovery_codes_left(user),
        "disable_form": disable_form,
        "events": SignInEvent.objects.filter(user=user)[:RECENT_EVENTS],
    }
    return render(request, "web/accounts/account.html", context, status=status)


@login_required
@require_http_methods(["GET"])
def account(request: HttpRequest) -> HttpResponse:
    """Your account: two-factor sign-in and your recent sign-ins."""
    return _account_page(request)


@login_required
@never_cache
@require_http_methods(["GET", "POST"])
def two_factor_setup(request: HttpRequest) -> HttpResponse:
    """Scan, confirm one code, receive ten recovery codes (shown once, on this response)."""
    user: User = request.user  # type: ignore[assignment]
    next_url = _safe_next(request)
    if two_factor.has_two_factor(user):
        messages.info(request, "Two-factor sign-in is already on.")
        return redirect(next_url or "account")
    device = two_factor.pending_app_device(user)
    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        codes = two_factor.confirm_app(user, device, form.cleaned_data["code"])
        if codes is not None:
            device.refresh_from_db()
            otp_login(request, device)
            signin.log_event(request, Kind.TWO_FACTOR_ON, user)
            context = {"codes": codes, "next": next_url, "first_time": True}
            response = render(request, "web/accounts/recovery_codes.html", context)
            response["Cache-Control"] = "no-store"
            return response
        form.add_error(
            "code",
            "That code is not right. Enter the code your app shows now; codes change every "
            "30 seconds.",
        )
    context = {
        "form": form,
        "next": next_url,
        "qr_svg": two_factor.qr_code_svg(device),
        "secret": two_factor.secret_text(device),
        "otpauth_url": device.config_url,
    }
    status = 400 if form.errors else 200
    return render(request, "web/accounts/two_factor_setup.html", context, status=status)


@login_required
@never_cache
@require_POST
def two_factor_disable(request: HttpRequest) -> HttpResponse:
    """Turn two-factor sign-in off with a fresh code (from the app, or a recovery code)."""
    user: User = request.user  # type: ignore[assignment]
    form = CodeForm(request.POST, auto_id="disable_%s")
    if form.is_valid():
        device, _ = two_factor.verify(user, form.cleaned_data["code"])
        if device is not None:
            two_factor.disable(user)
            signin.log_event(request, Kind.TWO_FACTOR_OFF, user)
            messages.success(request, "Two-factor sign-in is off.")
            return redirect("account")
        form.add_error("code", "That code is not right; two-factor sign-in stays on.")
    return _account_page(request, disable_form=form, status=400)


@login_required
@never_cache
@require_POST
def recovery_codes_renew(request: HttpRequest) -> HttpResponse:
    """Ten new recovery codes for a session that passed a second factor; the old ones stop
    working."""
    user: User = request.user  # type: ignore[assignment]
    if not two_factor.has_two_factor(user) or not two_factor.is_verified(request):
        messages.error(request, "Sign in with your code first to make new recovery codes.")
        return redirect("account")
    codes = two_factor.new_recovery_codes(user)
    response = render(request, "web/accounts/recovery_codes.html", {"codes": codes})
    response["Cache-Control"] = "no-store"
    return response
