"""The notification emails: one notification at once, or the daily digest (text + HTML)."""

from __future__ import annotations

from collections.abc import Sequence

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection
from django.template.loader import render_to_string

from socialdesk.workspaces.models import User, Workspace

from .models import Notification
from .webhooks import absolute


def _send(to: User, subject: str, template: str, context: dict) -> None:
    context = {**context, "site_url": settings.SITE_URL}
    text = render_to_string(f"notifications/email/{template}.txt", context)
    html = render_to_string(f"notifications/email/{template}.html", context)
    # A bounded wait: a mail server that hangs must not hold a worker forever.
    connection = get_connection(timeout=getattr(settings, "EMAIL_TIMEOUT", None) or 30)
    message = EmailMultiAlternatives(
        subject=subject,
        body=text,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[to.email],
        connection=connection,
    )
    message.attach_alternative(html, "text/html")
    message.send()


def send_one(notification: Notification) -> None:
    workspace = notification.workspace
    _send(
        notification.recipient,
        f"[{workspace.name}] {notification.title}"[:200],
        "single",
        {
            "notification": notification,
            "workspace": workspace,
            "link": absolute(notification.url),
            "centre": absolute(f"/w/{workspace.slug}/notifications/"),
        },
    )


def send_digest(user: User, workspace: Workspace, notifications: Sequence[Notification]) -> None:
    count = len(notifications)
    items = [(n, absolute(n.url)) for n in notifications]
    _send(
        user,
        f"[{workspace.name}] Your daily digest: {count} notification{'s' if count != 1 else ''}",
        "digest",
        {
            "items": items,
            "count": count,
            "workspace": workspace,
            "centre": absolute(f"/w/{workspace.slug}/notifications/"),
        },
    )
