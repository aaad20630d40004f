"""The composer's rules and aids: per-network length rules, UTM tags, templates, autosaved drafts.

The length rules come from the connectors (``networks.bluesky``, ``networks.mastodon``,
``networks.page``): the page gets them as JSON to count as one types, and ``length_problems``
counts again with the connectors' own functions when the post is saved, so the server stays
the authority and the two can never disagree on the limit.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import datetime
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from django.core.exceptions import ValidationError
from django.db import transaction

from socialdesk.networks import bluesky, catalog, mastodon, page
from socialdesk.networks.models import Channel, Network
from socialdesk.workspaces.models import User, Workspace

from .models import Campaign, ComposerDraft, Post, UtmDefaults
from .services import MAX_TEXT

# How each network counts, for the page's counters: "graphemes" (user-perceived characters,
# ``Intl.Segmenter`` in the browser, ``regex`` ``\\X`` here) or "codepoints"; ``url`` is the
# length every link counts as (0: links count as typed); ``local_mentions``: a remote mention
# counts without its domain. The browser's link pattern is simpler than Mastodon's own (which
# also checks the top-level domain), so its count can differ for odd links: the save is checked
# here with the connector's counting, which decides.
MASTODON_DEFAULTS = mastodon.InstanceLimits()
NETWORK_RULES: dict[str, dict[str, Any]] = {
    Network.BLUESKY: {"max": bluesky.MAX_GRAPHEMES, "unit": "graphemes", "url": 0},
    Network.MASTODON: {
        "max": MASTODON_DEFAULTS.max_characters,
        "unit": "graphemes",
        "url": MASTODON_DEFAULTS.characters_reserved_per_url,
        "local_mentions": True,
    },
    Network.PAGE: {"max": page.MAX_TEXT, "unit": "codepoints", "url": 0},
}


def rules_for(network: str) -> dict[str, Any] | None:
    """The counting rules of ``network``: the three above, else its ``catalog`` entry."""
    if network in NETWORK_RULES:
        return NETWORK_RULES[network]
    about = catalog.about(network)
    if about is None:
        return None
    return {"max": about.text_max, "unit": about.text_unit, "url": about.url_length}


def text_length(network: str, text: str) -> int:
    """The length ``network`` counts for ``text``, with the connector's own counting."""
    if network == Network.BLUESKY:
        return bluesky.grapheme_count(text)
    if network == Network.MASTODON:
        return MASTODON_DEFAULTS.length(text)
    module = catalog.module(network) if network not in NETWORK_RULES else None
    if module is not None and hasattr(module, "text_length"):
        return int(module.text_length(text))  # a network that counts its own way (X)
    rules = rules_for(network)
    if rules is not None and rules["unit"] == "graphemes":
        return bluesky.grapheme_count(text)
    return len(text)


def length_problems(channel: Channel, texts: dict[str, str]) -> dict[str, list[str]]:
    """Which of ``texts`` (form field → text) are too long for ``channel``'s network."""
    rules = rules_for(channel.network)
    errors: dict[str, list[str]] = {}
    if rules is None or rules["max"] >= MAX_TEXT:
        return errors  # the post's own limit (``services.MAX_TEXT``) is checked for every post
    for name, text in texts.items():
        count = text_length(channel.network, text)
        if count > rules["max"]:
            errors.setdefault(name, []).append(
                f"{channel}: {count} characters; {channel.get_network_display()} allows "
                f"{rules['max']}. Remove {count - rules['max']}."
            )
    return errors


# --- UTM ------------------------------------------------------------------------------------

# A link as people type it: up to whitespace, without trailing punctuation that ends a sentence.
LINK = re.compile(r"https?://[^\s<>\"']+[^\s<>\"'.,;:!?)\]]")


def utm_defaults(workspace: Workspace) -> UtmDefaults:
    found = UtmDefaults.objects.filter(workspace=workspace).first()
    return found or UtmDefaults(workspace=workspace)


def utm_tags(workspace: Workspace, campaign: Campaign | None, source: str = "") -> dict[str, str]:
    """The tags to add: the workspace's defaults, the campaign's UTM name when it has one,
    ``source`` (a network's name) instead of the default source when given."""
    defaults = utm_defaults(workspace)
    tags = {
        "utm_source": source or defaults.source,
        "utm_medium": defaults.medium,
        "utm_campaign": (campaign.utm_campaign if campaign else "") or defaults.campaign,
    }
    return {key: value for key, value in tags.items() if value}


def apply_utm(text: str, tags: dict[str, str]) -> str:
    """Add ``tags`` to every link in ``text``; a tag a link already has is left as it is."""

    def tag(match: re.Match[str]) -> str:
        parts = urlsplit(match.group(0))
        query = parse_qsl(parts.query, keep_blank_values=True)
        present = {key for key, _ in query}
        query += [(key, value) for key, value in tags.items() if key not in present]
        return urlunsplit(parts._replace(query=urlencode(query)))

    return LINK.sub(tag, text)


# --- Templates ------------------------------------------------------------------------------

PLACEHOLDER = re.compile(r"\{([a-z][a-z0-9_]*)\}", re.IGNORECASE)


def placeholders(text: str) -> list[str]:
    """The distinct ``{names}`` in a template, in order of first use."""
    return list(dict.fromkeys(PLACEHOLDER.findall(text)))


def fill_template(text: str, values: dict[str, str]) -> str:
    """Replace each ``{name}`` with its value; a name without a value stays for a person to see."""
    return PLACEHOLDER.sub(lambda m: values.get(m.group(1), m.group(0)) or m.group(0), text)


# --- Drafts ---------------------------------------------------------------------------------

# What autosave keeps: the composer's text fields and choices, never files.
DRAFT_FIELD = re.compile(
    r"^(text|title|scheduled_at|pillar|campaign|thread_\d+|override_\d+|first_comment_\d+)$"
)
DRAFT_LISTS = ("channels", "labels", "library")
MAX_DRAFT_VALUE = 20_000


def draft_data(values: Any) -> dict[str, Any]:
    """Keep what a draft may hold from a submitted form (a ``QueryDict``)."""
    data: dict[str, Any] = {}
    for name in values:
        if DRAFT_FIELD.match(name):
            data[name] = str(values.get(name, ""))[:MAX_DRAFT_VALUE]
        elif name in DRAFT_LISTS:
            data[name] = [v for v in values.getlist(name) if v.isdigit()][:100]
    return data


def save_draft(
    workspace: Workspace, user: User, post: Post | None, data: dict[str, Any], now: datetime
) -> ComposerDraft:
    """Keep the person's unsaved composer content (one draft per person per post)."""
    if post is not None and post.workspace_id != workspace.pk:
        raise ValidationError({"post": ["No such post in this workspace."]})
    with transaction.atomic():
        draft, _ = ComposerDraft.objects.update_or_create(
            workspace=workspace,
            user=user,
            post=post,
            defaults={"data": data, "saved_at": now},
        )
    return draft


def draft_for(workspace: Workspace, user: User, post: Post | None) -> ComposerDraft | None:
    """The person's unsaved draft, unless the post was saved after it (then it is stale)."""
    draft = ComposerDraft.objects.filter(workspace=workspace, user=user, post=post).first()
    if draft is not None and post is not None and post.updated_at > draft.saved_at:
        return None
    return draft


def discard_draft(workspace: Workspace, user: User, post: Post | None) -> None:
    ComposerDraft.objects.filter(workspace=workspace, user=user, post=post).delete()


def channel_rules(channels: Iterable[Channel]) -> list[dict[str, Any]]:
    """Per channel, what the page needs to count and preview: network, handle, rules, signature."""
    return [
        {
            "id": channel.pk,
            "network": channel.network,
            "network_name": channel.get_network_display(),
            "handle": channel.handle,
            "display_name": channel.display_name or channel.handle,
            "signature": channel.signature,
            **(rules_for(channel.network) or {"max": page.MAX_TEXT, "unit": "codepoints"}),
        }
        for channel in channels
    ]
