"""Security headers on every kind of answer: a Content-Security-Policy with no inline script,
no framing by other sites, Permissions-Policy, Referrer-Policy, nosniff and
Cross-Origin-Opener-Policy; HSTS and Secure cookies only when SITE_URL is https."""

from __future__ import annotations

import base64
import hashlib
import re
import runpy
from datetime import timedelta
from pathlib import Path

import pytest
from api_helpers import call
from django.test import Client
from django.utils import timezone

import socialdesk.settings
from socialdesk.page.models import PageProfile
from socialdesk.review.links import token_for as review_token
from socialdesk.review.services import create_link

pytestmark = [pytest.mark.django_db, pytest.mark.any_database]


def policy(response) -> dict[str, list[str]]:
    directives = {}
    for part in response["Content-Security-Policy"].split(";"):
        name, *sources = part.split()
        directives[name] = sources
    return directives


def assert_secure_headers(response) -> dict[str, list[str]]:
    csp = policy(response)
    assert csp["default-src"] == ["'self'"]
    assert csp["script-src"] == ["'self'"], "scripts only from our own files"
    assert "'unsafe-inline'" not in csp["style-src"] and "'unsafe-eval'" not in str(csp)
    assert csp["frame-ancestors"] == ["'none'"] and csp["object-src"] == ["'none'"]
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] in {"same-origin", "no-referrer"}
    assert response["Cross-Origin-Opener-Policy"] == "same-origin"
    assert "camera=()" in response["Permissions-Policy"]
    assert "geolocation=()" in response["Permissions-Policy"]
    return csp


def test_every_kind_of_page_carries_the_headers(signed_in, owner, workspace, channel, post):
    link = create_link(
        workspace,
        owner,
        "Acme legal",
        expires_at=timezone.now() + timedelta(days=7),
        post_ids=[post.pk],
    )
    client = signed_in(owner)
    pages = {  # name: (address, status)
        "home (goes to the only workspace)": ("/", 302),
        "workspace": ("/w/crumb/", 200),
        "calendar": ("/w/crumb/calendar/", 200),
        "composer": (f"/w/crumb/posts/{post.pk}/", 200),
        "public page": ("/@crumb", 200),
        "review page": (f"/review/{review_token(link)}/", 200),
        "not found": ("/w/crumb/no-such-page/", 404),
    }
    for name, (url, status) in pages.items():
        response = client.get(url)
        assert response.status_code == status, name
        assert_secure_headers(response)
    client.logout()
    login = client.get("/accounts/login/")
    assert login.status_code == 200
    assert_secure_headers(login)


def test_an_api_answer_carries_the_headers(owner, workspace, token_for):
    response = call("GET", "/workspaces/crumb/posts", token_for(owner))
    assert response.status_code == 200
    assert_secure_headers(response)


def test_only_the_calendar_carries_a_nonce_and_it_is_the_one_fullcalendar_reads(
    signed_in, owner, workspace
):
    client = signed_in(owner)
    calendar = client.get("/w/crumb/calendar/")
    nonce = re.search(r'<meta name="csp-nonce" content="([^"]+)">', calendar.content.decode())
    assert nonce, "FullCalendar finds the nonce in <meta name=csp-nonce>"
    assert f"'nonce-{nonce.group(1)}'" in policy(calendar)["style-src"]
    # A new one for each answer.
    assert nonce.group(1) not in client.get("/w/crumb/calendar/")["Content-Security-Policy"]
    assert "nonce-" not in client.get("/w/crumb/")["Content-Security-Policy"]


def test_the_public_page_allows_its_accent_style_by_hash_also_on_a_304(client, channel):
    PageProfile.objects.create(workspace=channel.workspace, accent="#1d4ed8")
    page = client.get("/@crumb")
    html = page.content.decode()
    style = re.search(r"<style>(.*?)</style>", html, re.S)
    assert style and style.group(1) == ":root{--accent:#1d4ed8}"
    digest = base64.b64encode(hashlib.sha256(style.group(1).encode()).digest()).decode()
    assert f"'sha256-{digest}'" in policy(page)["style-src"]
    assert "nonce-" not in page["Content-Security-Policy"], "one cached page for everybody"
    unchanged = client.get("/@crumb", HTTP_IF_NONE_MATCH=page["ETag"])
    assert unchanged.status_code == 304
    assert unchanged["Content-Security-Policy"] == page["Content-Security-Policy"]


def test_a_bad_accent_in_the_database_writes_no_css(client, channel):
    PageProfile.objects.create(workspace=channel.workspace, accent="red}</")
    html = client.get("/@crumb").content.decode()
    assert re.findall(r"<style>(.*?)</style>", html, re.S) == [":root{--accent:#9a3412}"]


def settings_with(monkeypatch, site_url: str) -> dict[str, object]:
    """The settings module as a process started with this SITE_URL reads it."""
    monkeypatch.setenv("SITE_URL", site_url)
    monkeypatch.delenv("SECURE_COOKIES", raising=False)
    read = runpy.run_path(str(Path(socialdesk.settings.__file__)))
    return {
        "hsts": read["SECURE_HSTS_SECONDS"],
        "session": read["SESSION_COOKIE_SECURE"],
        "csrf": read["CSRF_COOKIE_SECURE"],
        "proxy": read.get("SECURE_PROXY_SSL_HEADER"),
    }


def test_an_https_site_url_turns_on_hsts_and_secure_cookies(monkeypatch):
    assert settings_with(monkeypatch, "https://social.example.org") == {
        "hsts": 365 * 24 * 3600,
        "session": True,
        "csrf": True,
        "proxy": ("HTTP_X_FORWARDED_PROTO", "https"),
    }
    assert settings_with(monkeypatch, "http://127.0.0.1:8000") == {
        "hsts": 0,
        "session": False,
        "csrf": False,
        "proxy": None,
    }


def test_hsts_is_sent_over_https_only_when_the_site_url_is_https(client, settings):
    assert "Strict-Transport-Security" not in client.get("/accounts/login/", secure=True)
    settings.SECURE_HSTS_SECONDS = 365 * 24 * 3600  # what an https SITE_URL sets (above)
    client = Client()  # the security middleware reads its settings when it starts
    response = client.get("/accounts/login/", secure=True)
    assert response["Strict-Transport-Security"] == "max-age=31536000"
    assert "Strict-Transport-Security" not in client.get("/accounts/login/")
