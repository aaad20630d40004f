"""Short links: each link of a delivery, as it goes to the network, becomes the workspace's
own redirect ``<SITE_URL>/l/<code>`` (issue 14, item 2).

The one path is ``network_texts``, which ``publishing.connectors.content_for`` calls for every
post it turns into a network's content, so the network's rules (its character counting
included) always see the text as it will go out:

- ``create=True`` (the engine sending, or reconciling): the delivery's links are made, once.
  A link is unique per delivery and per address as written (``one_link_per_url``), so a
  retried or reconciled delivery finds and reuses the links it made, and the network sees the
  same text at every attempt (what ``find_published`` may compare).
- ``create=False`` (checks at schedule time, pricing): nothing is written; a link not made
  yet is shown with a stand-in code of the same length, so the length counted is exact.

Short links are made only where the audience can follow them: on the public page (its
readers are on this site already), and on the other networks once ``SITE_URL`` is an address
the internet can reach (``site_is_public``). The embedded default's ``http://127.0.0.1:8000``
is not: a link on Bluesky pointing there would be broken for everyone but the operator, so
until ``SITE_URL`` is set those links carry UTM tags only, and the settings page says why.

The target of a short link is the address with the UTM tags the composer adds
(``content.composer.utm_tags``: the workspace's defaults, the campaign's name, the network
as source). A workspace with short links off (``LinkSettings.short_links``) gets those UTM
tags on its links and nothing else. A link of the installation's own site (a short link
already, the public page) is left as it is.

Codes come from ``secrets`` (8 characters of 62: 47 bits), not from sqids: a code derived
from the row's id would need the id before the code (two writes, or a decode on every
click) and would tell anyone how many links exist and what the next one is; a random code
is written with its row in one insert and looked up by a unique index.
"""

from __future__ import annotations

import ipaddress
import re
import secrets
import string
from collections.abc import Sequence
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from django.conf import settings
from django.db import IntegrityError, transaction

from socialdesk.content import composer
from socialdesk.networks.models import Channel, Network

from .models import MAX_TARGET, LinkSettings, ShortLink

if TYPE_CHECKING:
    from socialdesk.publishing.models import Delivery

ALPHABET = string.ascii_letters + string.digits
CODE_LENGTH = 8
# The stand-in for a code not made yet (``create=False``): same length, never a real code
# (``new_code`` uses no "-").
STAND_IN = "-" * CODE_LENGTH
PATH = "/l/"


def new_code() -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(CODE_LENGTH))


def short_url(code: str) -> str:
    """The public address of a short link (the site's address, as the public page's)."""
    return f"{settings.SITE_URL}{PATH}{code}"


def settings_for(workspace_id: int) -> LinkSettings:
    """The workspace's link settings (its defaults when it never changed them)."""
    found = LinkSettings.objects.filter(workspace_id=workspace_id).first()
    return found or LinkSettings(workspace_id=workspace_id)


def site_is_public() -> bool:
    """Whether people elsewhere on the internet can open ``SITE_URL``: not a loopback,
    private or link-local address, nor a local-only name. A name is taken as public (the
    operator chose it; resolving it here would say nothing of what others can reach)."""
    host = (urlsplit(settings.SITE_URL).hostname or "").lower()
    if not host or host == "localhost" or host.endswith((".localhost", ".local", ".internal")):
        return False
    try:
        return ipaddress.ip_address(host).is_global
    except ValueError:
        return True


def shortens_for(network: str) -> bool:
    """Whether a link on ``network`` may become a short link (see the module docstring)."""
    return network == Network.PAGE or site_is_public()


def counted_link_length(channels: Sequence[Channel]) -> dict[int, int]:
    """Channel id → the length a link typed in the composer will have on that channel, for
    the channels whose links go out as short links (``<SITE_URL>/l/<code>``, whatever was
    typed); the others are left out (their links go out as typed, with UTM tags). For the
    composer's live counter; the length check at scheduling (``network_texts``,
    ``create=False``) stays exact and decides."""
    if not channels or not settings_for(channels[0].workspace_id).short_links:
        return {}
    length = len(short_url(STAND_IN))
    return {c.pk: length for c in channels if shortens_for(c.network)}


def _own(url: str) -> bool:
    site = settings.SITE_URL
    return url == site or url.startswith((f"{site}/", f"{site}?", f"{site}#"))


def network_texts(delivery: Delivery, texts: Sequence[str], create: bool) -> list[str]:
    """``texts`` (a post's text, its thread parts, its first comment) as they go out on
    ``delivery``'s channel: each link tagged with UTM and, when the workspace has short links
    on, replaced by its short link. See the module's docstring for ``create``."""
    found = [m.group(0) for text in texts for m in composer.LINK.finditer(text)]
    links = [url for url in dict.fromkeys(found) if not _own(url)]
    if not links:
        return list(texts)
    post = delivery.post
    assert post is not None, "only a post's delivery has links to shorten"
    tags = composer.utm_tags(delivery.workspace, post.campaign, delivery.channel.network)
    tagged = {url: composer.apply_utm(url, tags) for url in links}
    if settings_for(delivery.workspace_id).short_links and shortens_for(delivery.channel.network):
        shortened = [url for url in links if len(url) <= MAX_TARGET]
        codes = _codes(delivery, {url: tagged[url] for url in shortened}, create=create)
        tagged.update({url: short_url(code) for url, code in codes.items()})

    def swap(match: re.Match[str]) -> str:
        return tagged.get(match.group(0), match.group(0))

    return [composer.LINK.sub(swap, text) for text in texts]


def _codes(delivery: Delivery, targets: dict[str, str], *, create: bool) -> dict[str, str]:
    """Link as written → code, for ``targets`` (link → target with UTM)."""
    existing = dict(
        ShortLink.objects.filter(delivery=delivery, source_url__in=list(targets)).values_list(
            "source_url", "code"
        )
    )
    for url, target in targets.items():
        if url in existing:
            continue
        existing[url] = _make(delivery, url, target) if create else STAND_IN
    return existing


def _make(delivery: Delivery, url: str, target: str) -> str:
    """Make the short link for ``url`` in ``delivery``, or return the one another attempt
    made meanwhile. A code already taken (1 in 2^47 per existing link) draws another."""
    post = delivery.post
    assert post is not None
    for _ in range(5):
        try:
            with transaction.atomic():
                return ShortLink.objects.create(
                    workspace_id=delivery.workspace_id,
                    delivery=delivery,
                    post=post,
                    channel_id=delivery.channel_id,
                    campaign_id=post.campaign_id,
                    pillar_id=post.pillar_id,
                    source_url=url,
                    target_url=target,
                    code=new_code(),
                ).code
        except IntegrityError:
            made = ShortLink.objects.filter(delivery=delivery, source_url=url).first()
            if made is not None:
                return made.code
    raise RuntimeError("Could not draw a free short-link code in 5 tries.")
