"""The public page's "Ask us" form: a visitor's question lands in the workspace's inbox at once,
as a question conversation on the page channel (issue 13, item 1).

Spam protection without third-party services, said in full:

- **Honeypot**: a ``website`` field hidden from people (and from screen readers, and out of
  the tab order); a filled one is answered with the thank-you page and stored nowhere, so a
  bot learns nothing.
- **Signed time token**: the form carries ``signing.dumps`` of the workspace and the moment it
  was shown. A post made less than ``MIN_SECONDS`` after (no person types a question that
  fast) or more than ``MAX_AGE`` after, or with a token of another workspace or a forged one,
  is refused with a message and a fresh form.
- **Rate limits**: ``PER_ADDRESS`` questions per hour from one network address (kept only as
  a keyed hash, ``address_hash``) and ``PER_WORKSPACE`` per hour to one workspace; beyond
  them the answer is 429 with when to try again.

The form page itself is never cached (its token is fresh each time), unlike the public page,
which links to it. Everything works without JavaScript.
"""

from __future__ import annotations

import hashlib
import hmac
import time
import uuid
from dataclasses import dataclass
from datetime import timedelta

from django import forms
from django.conf import settings
from django.core import signing
from django.db import transaction
from django.utils import timezone

from socialdesk.inbox.ingest import ingest_items
from socialdesk.inbox.models import Message, PageQuestion
from socialdesk.networks.base import InboxAuthor, InboxItem, ItemKind
from socialdesk.networks.models import Channel, Network
from socialdesk.workspaces.models import Workspace

SALT = "socialdesk.page.ask"
MIN_SECONDS = 2.0
MAX_AGE = timedelta(days=1)
PER_ADDRESS = 5  # questions an hour from one network address
PER_WORKSPACE = 60  # questions an hour to one workspace
WINDOW = timedelta(hours=1)


def now() -> float:
    """This module's clock (seconds); tests move it instead of sleeping."""
    return time.time()


def make_token(workspace: Workspace, at: float | None = None) -> str:
    return signing.dumps({"w": workspace.pk, "t": now() if at is None else at}, salt=SALT)


def token_problem(workspace: Workspace, token: str) -> str:
    """Why this token does not let the form be sent (empty: it does)."""
    try:
        data = signing.loads(token, salt=SALT)
        shown_at = float(data["t"])
        workspace_id = int(data["w"])
    except (signing.BadSignature, KeyError, TypeError, ValueError):
        return "This form could not be checked. Please send your question again."
    if workspace_id != workspace.pk:
        return "This form belongs to another page. Please send your question again."
    age = now() - shown_at
    if age < MIN_SECONDS:
        return "That was very quick. Please check your question and send it again."
    if age > MAX_AGE.total_seconds():
        return "This form was open for more than a day. Please send your question again."
    return ""


def address_hash(address: str) -> str:
    """A keyed hash of a network address: enough to count, never the address itself."""
    key = settings.SECRET_KEY.encode()
    return hmac.new(key, f"page-ask:{address}".encode(), hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class Limited:
    message: str
    retry_after: int  # seconds


def rate_limited(workspace: Workspace, address: str) -> Limited | None:
    """None when one more question may be taken from ``address`` to ``workspace``."""
    since = timezone.now() - WINDOW
    recent = PageQuestion.objects.filter(asked_at__gt=since)
    from_address = recent.filter(address_hash=address_hash(address))
    if from_address.count() >= PER_ADDRESS:
        oldest = from_address.order_by("asked_at").values_list("asked_at", flat=True).first()
        return Limited(
            "You have sent several questions in the last hour. We will answer them: please "
            "wait a little before sending another.",
            _seconds_until(oldest),
        )
    to_workspace = recent.filter(workspace=workspace)
    if to_workspace.count() >= PER_WORKSPACE:
        oldest = to_workspace.order_by("asked_at").values_list("asked_at", flat=True).first()
        return Limited(
            "This page is receiving many questions right now. Please try again later.",
            _seconds_until(oldest),
        )
    return None


def _seconds_until(oldest) -> int:  # type: ignore[no-untyped-def]
    if oldest is None:
        return 60
    return max(1, int((oldest + WINDOW - timezone.now()).total_seconds()) + 1)


class AskForm(forms.Form):
    name = forms.CharField(max_length=100, strip=True, label="Your name")
    email = forms.EmailField(max_length=254, label="Your email", help_text="We answer by email.")
    question = forms.CharField(
        min_length=3,
        max_length=2000,
        strip=True,
        label="Your question",
        widget=forms.Textarea(attrs={"rows": 5}),
    )
    may_publish = forms.BooleanField(
        required=False,
        label="You may publish my question with your answer on this page (without my email).",
    )
    # The honeypot: hidden from people by the stylesheet and aria-hidden (see the template).
    website = forms.CharField(required=False, max_length=200)
    token = forms.CharField(widget=forms.HiddenInput, max_length=500)

    def clean_name(self) -> str:
        name = self.cleaned_data["name"]
        if any(ch in name for ch in "\r\n<>"):
            raise forms.ValidationError("Please write your name without line breaks or < >.")
        return name


def page_channel(workspace: Workspace) -> Channel | None:
    return Channel.objects.filter(workspace=workspace, network=Network.PAGE).order_by("pk").first()


def receive_question(
    workspace: Workspace,
    *,
    name: str,
    email: str,
    question: str,
    may_publish: bool,
    address: str,
) -> Message:
    """Put a question into the inbox at once: a QUESTION conversation on the workspace's page
    channel, the asker a contact of the page network whose id is their email (lower-cased),
    and its ``PageQuestion`` row (rate limits, consent). One transaction: all or nothing."""
    channel = page_channel(workspace)
    if channel is None:
        raise ValueError("This workspace has no public page.")
    remote_id = f"question:{uuid.uuid4().hex}"
    email = email.strip()
    item = InboxItem(
        remote_id=remote_id,
        kind=ItemKind.QUESTION,
        thread_key=remote_id,
        author=InboxAuthor(remote_id=email.lower(), handle=email, display_name=name),
        text=question,
        sent_at=timezone.now(),
        reference={"may_publish": may_publish, "email": email, "name": name},
    )
    with transaction.atomic():
        ingest_items(channel, [item])
        message = Message.objects.get(channel=channel, remote_id=remote_id)
        PageQuestion.objects.create(
            workspace=workspace,
            message=message,
            address_hash=address_hash(address),
            may_publish=may_publish,
        )
    return message
