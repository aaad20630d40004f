"""Review link tokens: the URL a client opens, and finding the link it names.

The token is ``django.core.signing`` over the link's id and its nonce, so the URL can be
shown again later (nothing secret is stored in the clear that would open it without the
server's SECRET_KEY) and a revoked link's nonce can be changed to kill every old URL.
``open_link`` answers one ``Http404`` for every way a token can be wrong — tampered,
unknown, expired, revoked, or chosen posts that were all deleted since — so a stranger
learns nothing, not even whether a link existed.
"""

from __future__ import annotations

import hmac
from datetime import datetime

from django.core import signing
from django.http import Http404
from django.utils import timezone

from .models import ReviewLink

SALT = "socialdesk.review.link"
MAX_TOKEN = 300


def _signer() -> signing.Signer:
    # No timestamp in the token: the expiry lives on the link, and the same link always
    # gives the same URL (so the team can copy it again later).
    return signing.Signer(salt=SALT)


def token_for(link: ReviewLink) -> str:
    return _signer().sign_object([link.pk, link.nonce])


def open_link(token: str, now: datetime | None = None) -> ReviewLink:
    """The open review link ``token`` names, or Http404 (always the same, on purpose)."""
    not_found = Http404("No such page.")
    if not token or len(token) > MAX_TOKEN:
        raise not_found
    try:
        pk, nonce = _signer().unsign_object(token)
        if not isinstance(pk, int) or not isinstance(nonce, str) or not 0 < pk < 2**63:
            raise ValueError
    except (signing.BadSignature, ValueError, TypeError):
        raise not_found from None
    link = ReviewLink.objects.select_related("workspace").filter(pk=pk).first()
    if link is None or not hmac.compare_digest(link.nonce, nonce):
        raise not_found
    if not link.is_open(now or timezone.now()):
        raise not_found
    if _nothing_left(link):
        raise not_found
    return link


def _nothing_left(link: ReviewLink) -> bool:
    """A link made for chosen posts, all of them deleted since: as dead as a revoked one
    (showing its empty page would name the link and the workspace to whoever has the URL)."""
    has_range = link.starts_on is not None and link.ends_on is not None
    return not has_range and not link.posts.exists()
