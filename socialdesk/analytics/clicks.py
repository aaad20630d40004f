"""The short-link redirect ``/l/<code>``, and counting clicks and page views without cookies.

A visitor is ``visitor(...)``: a keyed hash (BLAKE2b) of the day's random salt, the
workspace, the network address and the browser's user agent, as privacy-first web analytics
count (Plausible, Fathom). Nothing is stored on the visitor's device, no address is stored,
and the salt (``DailySalt``) is deleted once its day (UTC) is over, by the first count of the
next day and by the worker's beat (``on_heartbeat``); without it, no hash can be recomputed
from an address, so yesterday's visitors cannot be matched to today's or to anyone.

Not counted, but still redirected: known bots and link previewers (``crawlerdetect``:
facebookexternalhit, Twitterbot, Slackbot …), prefetches the browser makes on its own
(``Purpose: prefetch``, ``Sec-Purpose: prefetch…``, ``X-Purpose: preview``, ``X-Moz:
prefetch``) and HEAD requests (link checkers).

Fast path (≤ 5 ms p99 server time, issue 14): ``ShortLinkMiddleware`` sits right after
Django's security middleware and answers ``/l/…`` itself, so no session, CSRF, user,
two-factor, message or template work runs for it. A click costs one read by the unique
index on ``ShortLink.code`` and one insert; an unknown code is a plain 404 page, and a code
of the wrong shape is refused without a query.
"""

from __future__ import annotations

import hashlib
import logging
import re
import secrets
import threading
from collections.abc import Callable
from datetime import date, datetime
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from crawlerdetect import CrawlerDetect
from django.db import IntegrityError, connection, transaction
from django.db.models import Count, QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed, HttpResponseNotFound
from django.utils import timezone

from .links import CODE_LENGTH, PATH
from .models import Click, DailySalt, PageView, ShortLink

log = logging.getLogger(__name__)

# The parameter the landing page's address carries, for a conversion to name its click.
CLICK_PARAMETER = "sd_click"
CODE = re.compile(rf"^[A-Za-z0-9]{{{CODE_LENGTH}}}$")
NOT_FOUND_PAGE = (
    "<!doctype html><html lang=en><meta charset=utf-8><title>Link not found</title>"
    "<h1>Link not found</h1><p>This short link does not exist (any more).</p></html>"
)
# One detector for the process: it caches its answers per user agent (an LRU), so the
# regular expressions run once per browser, not once per click.
_bots = CrawlerDetect()
# Its patterns compile on first use (~20 ms): here, at import, so no click waits for them
# (and gunicorn's web processes share them, forked after the app is loaded).
_bots.is_crawler("Mozilla/5.0")
_salt_lock = threading.Lock()
_salt: tuple[date, bytes] | None = None


def is_prefetch(request: HttpRequest) -> bool:
    """The browser fetched the link ahead of a click that may never come."""
    meta = request.META
    purpose = f"{meta.get('HTTP_PURPOSE', '')} {meta.get('HTTP_SEC_PURPOSE', '')}".lower()
    other = f"{meta.get('HTTP_X_PURPOSE', '')} {meta.get('HTTP_X_MOZ', '')}".lower()
    return "prefetch" in purpose or "prefetch" in other or "preview" in other


def is_counted(request: HttpRequest) -> bool:
    """A person's visit, as far as the request tells: a GET that is not a prefetch, from a
    user agent that is not a known bot or link previewer."""
    if request.method != "GET" or is_prefetch(request):
        return False
    user_agent = request.META.get("HTTP_USER_AGENT", "")
    return not _bots.is_crawler(user_agent)


def todays_salt(today: date) -> bytes:
    """The salt of ``today`` (UTC), made by the first count of the day, shared by every
    process through the database; older salts are deleted when it is made."""
    global _salt
    kept = _salt
    if kept is not None and kept[0] == today:
        return kept[1]
    with _salt_lock:
        row = DailySalt.objects.filter(day=today).first()
        if row is None:
            try:
                with transaction.atomic():
                    row = DailySalt.objects.create(day=today, salt=secrets.token_hex(32))
            except IntegrityError:  # another process made it first
                row = DailySalt.objects.get(day=today)
            forget_old_salts(today)
        _salt = (today, bytes.fromhex(row.salt))
        return _salt[1]


def forget_old_salts(today: date) -> int:
    old = DailySalt.objects.filter(day__lt=today)
    if not old.exists():  # every beat asks; a read takes no write lock (SQLite)
        return 0
    deleted, _ = old.delete()
    return deleted


def on_heartbeat(now: datetime | None = None) -> None:
    """The worker's beat: delete salts of days that are over, even on a day without clicks."""
    try:
        forget_old_salts((now or timezone.now()).date())
    except Exception:  # never stops the beat
        log.exception("Could not delete old visitor salts")


def visitor(request: HttpRequest, workspace_id: int, now: datetime) -> str:
    """The day's anonymous name of the person behind ``request`` in one workspace."""
    address = request.META.get("REMOTE_ADDR", "")
    user_agent = request.META.get("HTTP_USER_AGENT", "")
    message = f"{workspace_id}\n{address}\n{user_agent}".encode()
    key = todays_salt(now.date())
    return hashlib.blake2b(message, key=key, digest_size=16).hexdigest()


def with_click(target: str, token: str) -> str:
    """``target`` with ``sd_click=<token>`` added to its query (its fragment kept last)."""
    parts = urlsplit(target)
    query = f"{parts.query}&" if parts.query else ""
    return urlunsplit(parts._replace(query=f"{query}{CLICK_PARAMETER}={token}"))


def _statements() -> tuple[str, str]:
    """The redirect's two statements, written once from the models' tables and columns: the
    ORM would compile them again for every click (about half of a click's CPU time). Every
    name comes from the models, none from a request; values are parameters."""
    link, click = ShortLink._meta, Click._meta
    quote = connection.ops.quote_name

    def column(meta: Any, name: str) -> str:
        return quote(meta.get_field(name).column)

    fields = ", ".join(column(link, name) for name in ("id", "workspace", "target_url"))
    read = f"SELECT {fields} FROM {quote(link.db_table)} WHERE {column(link, 'code')} = %s"  # noqa: S608
    names = ", ".join(
        column(click, name) for name in ("workspace", "link", "at", "visitor", "token")
    )
    write = f"INSERT INTO {quote(click.db_table)} ({names}) VALUES (%s, %s, %s, %s, %s)"  # noqa: S608
    return read, write


READ_LINK, WRITE_CLICK = _statements()


def follow(request: HttpRequest, code: str) -> HttpResponse:
    """``/l/<code>``: count the click (when it is a person's), then 302 to the link's target
    with the click's id. Never sets a cookie; never cached, so every click reaches us.

    One read by the unique index on the code, one insert, each one statement in autocommit
    (Django's ``connection``, so its connection handling and test isolation apply)."""
    if request.method not in ("GET", "HEAD"):
        return HttpResponseNotAllowed(["GET", "HEAD"])
    found = None
    if CODE.match(code):
        with connection.cursor() as cursor:
            cursor.execute(READ_LINK, [code])
            found = cursor.fetchone()
    if found is None:
        return HttpResponseNotFound(NOT_FOUND_PAGE, content_type="text/html; charset=utf-8")
    link_id, workspace_id, target = found
    if is_counted(request):
        now = timezone.now()
        token = secrets.token_urlsafe(12)
        values = [
            workspace_id,
            link_id,
            connection.ops.adapt_datetimefield_value(now),
            visitor(request, workspace_id, now),
            token,
        ]
        with connection.cursor() as cursor:
            cursor.execute(WRITE_CLICK, values)
        target = with_click(target, token)
    response = HttpResponse(status=302)
    response["Location"] = target
    response["Cache-Control"] = "no-store"
    return response


def count_page_view(request: HttpRequest, workspace_id: int, path: str) -> None:
    """Count a view of the public page (or one of its entries) as a click is counted."""
    if not is_counted(request):
        return
    now = timezone.now()
    PageView.objects.create(
        workspace_id=workspace_id,
        at=now,
        visitor=visitor(request, workspace_id, now),
        path=path[:200],
    )


def clicks_per(links: QuerySet[ShortLink], key: str) -> dict[Any, int]:
    """The people's clicks on ``links``, counted per ``key`` of their short link (a field of
    ``ShortLink``: ``"delivery_id"``, ``"campaign_id"``...). The one count of clicks every
    reader uses (experiments, campaigns' ROI): what ``follow`` stored, so bots, prefetches
    and HEAD requests are already left out. A key with no click is absent, not 0."""
    group = f"link__{key}"
    return dict(
        Click.objects.filter(link__in=links)
        .values(group)
        .annotate(n=Count("id"))
        .values_list(group, "n")
    )


class ShortLinkMiddleware:
    """Answers ``/l/<code>`` before the session, CSRF, authentication, two-factor, messages
    and htmx middleware: a redirect needs none of them (see the module's docstring)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        path = request.path_info
        if path.startswith(PATH):
            return follow(request, path[len(PATH) :])
        return self.get_response(request)
