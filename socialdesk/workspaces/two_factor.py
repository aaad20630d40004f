"""Two-factor sign-in through django-otp: an authenticator app (TOTP) and recovery codes.

A person has at most one confirmed ``TOTPDevice`` (the app) and one ``StaticDevice`` holding
their ten recovery codes; each recovery code works once (django-otp deletes it when used).
django-otp also throttles wrong codes per device, on top of ``signin``'s per-account and
per-address counters. A session that passed the second step is "verified"
(``django_otp.login``); ``RequireTwoFactorMiddleware`` asks for that in a workspace that
requires it. API tokens never pass through here: a token is its own second factor.
"""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import urlencode

import segno
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from .access import request_membership
from .models import User

RECOVERY_CODE_COUNT = 10
APP_DEVICE_NAME = "Authenticator app"
RECOVERY_DEVICE_NAME = "Recovery codes"


def has_two_factor(user: User) -> bool:
    return TOTPDevice.objects.filter(user=user, confirmed=True).exists()


def check_can_require_two_factor(user: User) -> None:
    """Whoever requires two-factor sign-in of a workspace must use it first, so the switch
    cannot send its own owner to a setup they did not expect."""
    if not has_two_factor(user):
        raise ValidationError(
            "Turn on two-factor sign-in for your own account first (Your account → Set up "
            "two-factor sign-in), then require it of everyone."
        )


def is_verified(request: HttpRequest) -> bool:
    """Whether this session passed a second factor (``OTPMiddleware`` adds ``is_verified``)."""
    check = getattr(request.user, "is_verified", None)
    return bool(check and check())


def pending_app_device(user: User) -> TOTPDevice:
    """The not yet confirmed app device being set up, made on first call; reloading the setup
    page shows the same secret, so a code from an app that already scanned it still works."""
    device = TOTPDevice.objects.filter(user=user, confirmed=False).first()
    if device is None:
        device = TOTPDevice.objects.create(user=user, name=APP_DEVICE_NAME, confirmed=False)
    return device


def qr_code_svg(device: TOTPDevice) -> str:
    """The ``otpauth://`` address as an inline SVG QR code for the app to scan."""
    return str(segno.make(device.config_url, error="m").svg_inline(scale=5, border=2))


def secret_text(device: TOTPDevice) -> str:
    """The secret in base32, in groups of four, for apps where one types it in."""
    from base64 import b32encode

    secret = b32encode(device.bin_key).decode().rstrip("=")
    return " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))


def normalize(code: str) -> str:
    return "".join(ch for ch in code.lower() if ch.isalnum())


@transaction.atomic
def confirm_app(user: User, device: TOTPDevice, code: str) -> list[str] | None:
    """Confirm the app with a code it shows; on success turn two-factor sign-in on and return
    the ten new recovery codes (shown once), else None."""
    if device.user_id != user.pk or device.confirmed:
        return None
    if not device.verify_token(normalize(code)):
        return None
    TOTPDevice.objects.filter(user=user, confirmed=True).delete()
    device.confirmed = True
    device.save(update_fields=["confirmed"])
    return new_recovery_codes(user)


@transaction.atomic
def new_recovery_codes(user: User) -> list[str]:
    """Replace the person's recovery codes with ten new ones and return them."""
    device, _ = StaticDevice.objects.get_or_create(
        user=user, name=RECOVERY_DEVICE_NAME, defaults={"confirmed": True}
    )
    device.token_set.all().delete()
    codes = [StaticToken.random_token() for _ in range(RECOVERY_CODE_COUNT)]
    StaticToken.objects.bulk_create(StaticToken(device=device, token=code) for code in codes)
    return [f"{code[:4]}-{code[4:]}" for code in codes]


def recovery_codes_left(user: User) -> int:
    return StaticToken.objects.filter(device__user=user, device__confirmed=True).count()


def verify(user: User, code: str) -> tuple[TOTPDevice | StaticDevice | None, bool]:
    """Check a code from the app or a recovery code (which is then used up).

    Returns the device that accepted it (or None) and whether it was a recovery code.
    """
    token = normalize(code)
    if not token:
        return None, False
    if token.isdigit():
        for app in TOTPDevice.objects.filter(user=user, confirmed=True):
            if app.verify_token(token):
                return app, False
        return None, False
    for recovery in StaticDevice.objects.filter(user=user, confirmed=True):
        if recovery.verify_token(token):
            return recovery, True
    return None, False


@transaction.atomic
def disable(user: User) -> None:
    """Turn two-factor sign-in off: forget the app and the recovery codes."""
    TOTPDevice.objects.filter(user=user).delete()
    StaticDevice.objects.filter(user=user).delete()


def _go(request: HttpRequest, url: str) -> HttpResponse:
    if getattr(request, "htmx", False):
        response = HttpResponse(status=204)
        response["HX-Redirect"] = url
        return response
    return HttpResponseRedirect(url)


class RequireTwoFactorMiddleware:
    """Keep a member out of the pages of a workspace that requires two-factor sign-in until
    their session passed a second factor: one without an app is sent to set it up, one with
    an app (but a session from before) to enter a code. Only ``/w/<slug>/…`` pages; the API
    authenticates with tokens and is not affected."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_view(
        self, request: HttpRequest, view_func: object, view_args: object, view_kwargs: dict
    ) -> HttpResponse | None:
        slug = view_kwargs.get("slug")
        if not slug or not request.path.startswith("/w/"):
            return None
        # The membership the view reads too, read with the signed-in user (one query for all).
        membership = request_membership(request, slug)
        user = request.user
        if not user.is_authenticated or is_verified(request):
            return None
        if membership is None or not membership.workspace.requires_two_factor:
            return None
        query = urlencode({"next": request.get_full_path()})
        if has_two_factor(user):  # type: ignore[arg-type]
            return _go(request, f"{reverse('signin_code')}?{query}")
        messages.info(
            request,
            "This workspace requires two-factor sign-in. Set it up to continue; "
            "it takes a minute with an authenticator app.",
        )
        return _go(request, f"{reverse('two_factor_setup')}?{query}")
