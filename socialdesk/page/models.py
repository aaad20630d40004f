"""The public page: its profile, its "link in bio" buttons, and the entries published on it.

What the public sees is ``PageEntry.objects.visible(workspace)``: entries written by the page
connector whose delivery is *published* on a *page* channel of that workspace. Nothing else
of the workspace (drafts, scheduled posts, other networks, other workspaces) is ever read by
the public views.
"""

from __future__ import annotations

import base64
import hashlib
import re
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from django.conf import settings
from django.core.validators import RegexValidator, URLValidator
from django.db import models
from django.utils import timezone
from django.utils.text import slugify

from socialdesk.networks.models import Channel, Network
from socialdesk.publishing.models import Delivery, DeliveryState
from socialdesk.workspaces.models import Workspace, WorkspaceOwned, WorkspaceOwnedQuerySet

# White text on the accent must stay readable (WCAG AA): the default is 6.3:1.
DEFAULT_ACCENT = "#9a3412"
hex_colour = RegexValidator(r"^#[0-9a-fA-F]{6}$", "Use a hex colour such as #9a3412.")

UTM_SOURCE = "socialdesk_page"
UTM_MEDIUM = "link_in_bio"


class PageProfile(models.Model):
    """How the page presents the brand: name, bio, avatar, accent colour, UTM campaign.

    Optional: a workspace without one shows its name and initial (``profile_for``).
    ``changed_at`` moves whenever something leaves the page (an entry deleted), so that
    ``Last-Modified`` moves too even though no remaining row changed.
    """

    workspace = models.OneToOneField(Workspace, on_delete=models.CASCADE, related_name="+")
    display_name = models.CharField(max_length=120, blank=True)
    bio = models.CharField(max_length=300, blank=True)
    avatar = models.ImageField(upload_to="page/avatars/", blank=True, max_length=300)
    accent = models.CharField(max_length=7, default=DEFAULT_ACCENT, validators=[hex_colour])
    utm_campaign = models.SlugField(
        max_length=100, blank=True, help_text="Empty: the workspace's address."
    )
    updated_at = models.DateTimeField(auto_now=True)
    changed_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return self.name

    @property
    def name(self) -> str:
        return self.display_name or self.workspace.name

    @property
    def initial(self) -> str:
        return (self.name.strip()[:1] or "?").upper()

    @property
    def accent_style(self) -> str:
        """The page's one inline style: the accent colour as a CSS variable. Checked again
        here, since a colour that skipped the form's validator must not write CSS."""
        accent = self.accent if re.fullmatch(r"#[0-9a-fA-F]{6}", self.accent) else DEFAULT_ACCENT
        return f":root{{--accent:{accent}}}"

    @property
    def accent_style_source(self) -> str:
        """The Content-Security-Policy source that allows exactly ``accent_style``: a hash,
        not a nonce, so that the public page stays the same bytes for its ETag and caches."""
        digest = hashlib.sha256(self.accent_style.encode()).digest()
        return f"'sha256-{base64.b64encode(digest).decode()}'"


def profile_for(workspace: Workspace) -> PageProfile:
    """The workspace's profile, or an unsaved default one (a public GET never writes)."""
    return PageProfile.objects.filter(workspace=workspace).first() or PageProfile(
        workspace=workspace, changed_at=workspace.created_at
    )


class PageLink(WorkspaceOwned):
    """One "link in bio" button. ``tracked_url`` adds UTM parameters for the brand's
    analytics, without overriding any the person already put in the URL."""

    label = models.CharField(max_length=80)
    url = models.URLField(max_length=500, validators=[URLValidator(schemes=["http", "https"])])
    position = models.PositiveSmallIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["position", "id"]

    def __str__(self) -> str:
        return self.label

    def tracked_url(self, campaign: str) -> str:
        parts = urlsplit(self.url)
        query = parse_qsl(parts.query, keep_blank_values=True)
        present = {name for name, _ in query}
        utm = {
            "utm_source": UTM_SOURCE,
            "utm_medium": UTM_MEDIUM,
            "utm_campaign": campaign,
            "utm_content": slugify(self.label) or "link",
        }
        query += [(name, value) for name, value in utm.items() if name not in present]
        return urlunsplit(parts._replace(query=urlencode(query)))


# Same rule as ``render``: a hashtag needs a letter ("workshop #2" is not one).
_TAG = re.compile(r"(?<![\w&/])#(\w*[^\W\d_][\w-]*)")


def hashtags(text: str) -> list[str]:
    """The text's hashtags, lower case, without ``#``, in order, each once."""
    seen: list[str] = []
    for match in _TAG.finditer(text):
        tag = match.group(1).rstrip("-").lower()
        if tag and tag not in seen:
            seen.append(tag)
    return seen


class PageEntryQuerySet(WorkspaceOwnedQuerySet):
    def visible(self, workspace: Workspace) -> PageEntryQuerySet:
        """What the public may see: the workspace's entries whose delivery is published on a
        page channel, newest first. Served by ``page_entry_list_idx``."""
        return (
            self.filter(
                workspace=workspace,
                channel__network=Network.PAGE,
                delivery__state=DeliveryState.PUBLISHED,
                delivery__workspace=workspace,
            )
            .select_related("channel")
            .order_by("-published_at", "-id")
        )

    def tagged(self, tag: str) -> PageEntryQuerySet:
        # ``tags`` is " a b c ": matching " tag " is exact and works the same on SQLite and
        # PostgreSQL (a JSON list would not be searchable on both).
        return self.filter(tags__contains=f" {tag.lower()} ")


class PageEntry(WorkspaceOwned):
    """A post as published on the page: a copy of what was sent, kept as it was sent.

    Written only by the page connector (one per delivery: the delivery id comes from the
    idempotency key, and the one-to-one makes a repeat find the same row); deleting it removes
    the post from the page and the feeds. ``media`` is a list of
    ``{"name", "mime_type", "alt", "size"}`` with ``name`` relative to ``MEDIA_ROOT``.
    """

    channel = models.ForeignKey(Channel, on_delete=models.CASCADE, related_name="+")
    delivery = models.OneToOneField(Delivery, on_delete=models.CASCADE, related_name="page_entry")
    text = models.TextField(blank=True)
    media = models.JSONField(default=list, blank=True)
    link_url = models.URLField(max_length=500, blank=True)
    link_title = models.CharField(max_length=300, blank=True)
    link_description = models.TextField(blank=True)
    tags = models.CharField(max_length=1000, blank=True, default=" ")
    published_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    objects = PageEntryQuerySet.as_manager()  # type: ignore[misc]

    class Meta:
        ordering = ["-published_at", "-id"]
        verbose_name_plural = "page entries"
        indexes = [
            # Serves the public page and the feeds: newest first within one workspace.
            models.Index(fields=["workspace", "-published_at", "-id"], name="page_entry_list_idx")
        ]

    def __str__(self) -> str:
        return f"page entry {self.pk} of delivery {self.delivery_id}"

    @property
    def title(self) -> str:
        """A one-line title for feeds: the first line, cut at a word near 80 characters."""
        first = (self.text.strip().splitlines() or [""])[0].strip()
        if len(first) <= 80:
            return first or "Untitled post"
        return first[:80].rsplit(" ", 1)[0].rstrip(",.;:") + "…"

    def images(self) -> list[dict]:
        return [m for m in self.media if str(m.get("mime_type", "")).startswith("image/")]

    def videos(self) -> list[dict]:
        return [m for m in self.media if str(m.get("mime_type", "")).startswith("video/")]

    def shown_media(self) -> list[dict]:
        """The images and videos to show, each with its ``url``, ``alt`` and ``kind``."""
        return [
            {
                "url": self.media_url(m["name"]),
                "alt": m.get("alt", ""),
                "kind": "video" if str(m.get("mime_type", "")).startswith("video/") else "image",
            }
            for m in self.media
        ]

    @staticmethod
    def media_url(name: str) -> str:
        return f"{settings.MEDIA_URL}{name}"
