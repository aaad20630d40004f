"""Analytics' tables: metric snapshots, short links, clicks and conversions."""

from __future__ import annotations

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone

from socialdesk.content.models import Campaign, Pillar, Post
from socialdesk.networks.models import Channel
from socialdesk.publishing.models import Delivery
from socialdesk.workspaces.models import WorkspaceOwned

# Short links, clicks and conversions
# (issue 14, items 2 and 3; ``analytics.links``, ``clicks``, ``conversions``)

# Conversions are attributed to a click at most this many days old, unless the workspace
# chose another window (``LinkSettings.conversion_window_days``).
CONVERSION_WINDOW_DAYS = 30
# A link longer than this is left as it is (with its UTM tags): no short link.
MAX_TARGET = 2000


class LinkSettings(WorkspaceOwned):
    """A workspace's choices about short links and conversions; a workspace without a row
    has the defaults (``links.settings_for``)."""

    # Off: links go out with their UTM tags only, and clicks are not counted.
    short_links = models.BooleanField(default=True)
    conversion_window_days = models.PositiveSmallIntegerField(
        default=CONVERSION_WINDOW_DAYS,
        validators=[MinValueValidator(1), MaxValueValidator(365)],
    )
    # The shop signs its conversion reports with this (HMAC-SHA256), encrypted at rest with
    # ``ENCRYPTION_KEYS`` (``socialdesk.crypto``); shown once, when made or rotated.
    conversion_secret_encrypted = models.TextField(blank=True)
    secret_rotated_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["workspace"], name="one_link_settings_per_workspace")
        ]

    def __str__(self) -> str:
        return f"link settings of workspace {self.workspace_id}"


class ShortLink(WorkspaceOwned):
    """The workspace's own redirect (``/l/<code>``) for one link in one delivery, so that a
    click knows its post, channel, campaign and pillar (copied when the link is made: what
    the post was part of when it went out)."""

    delivery = models.ForeignKey(Delivery, on_delete=models.CASCADE, related_name="short_links")
    post = models.ForeignKey(Post, on_delete=models.CASCADE, related_name="short_links")
    channel = models.ForeignKey(Channel, on_delete=models.CASCADE, related_name="+")
    campaign = models.ForeignKey(
        Campaign, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    pillar = models.ForeignKey(
        Pillar, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # The link as written in the post, and where the redirect sends: it with the UTM tags.
    source_url = models.CharField(max_length=MAX_TARGET)
    target_url = models.CharField(max_length=MAX_TARGET + 500)
    # Random (``links.new_code``), never derived from the id: a code says nothing about how
    # many links exist, and the next one cannot be guessed.
    code = models.CharField(max_length=16, unique=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["id"]
        constraints = [
            # One per link per delivery: a retried delivery finds the links it made.
            models.UniqueConstraint(fields=["delivery", "source_url"], name="one_link_per_url")
        ]
        indexes = [models.Index(fields=["workspace", "post"], name="shortlink_post_idx")]

    def __str__(self) -> str:
        return f"/l/{self.code} → {self.source_url}"


class Click(WorkspaceOwned):
    """One counted visit through a short link: no cookie, no address; ``visitor`` is a hash of
    the day's salt, the workspace, the address and the browser (``clicks.visitor``), so the
    same person counts once per day and cannot be followed from one day to the next."""

    link = models.ForeignKey(ShortLink, on_delete=models.CASCADE, related_name="clicks")
    at = models.DateTimeField()
    visitor = models.CharField(max_length=32)
    # The click id the landing URL carries (``sd_click``), which a conversion names.
    token = models.CharField(max_length=24, unique=True)

    class Meta:
        indexes = [
            models.Index(fields=["link", "at"], name="click_link_idx"),
            models.Index(fields=["workspace", "at"], name="click_day_idx"),
        ]

    def __str__(self) -> str:
        return f"click {self.token} on link {self.link_id}"


class PageView(WorkspaceOwned):
    """One view of the public page or one of its entries, counted as a click is."""

    at = models.DateTimeField()
    visitor = models.CharField(max_length=32)
    path = models.CharField(max_length=200)

    class Meta:
        indexes = [models.Index(fields=["workspace", "at"], name="pageview_day_idx")]

    def __str__(self) -> str:
        return f"view of {self.path} at {self.at}"


class DailySalt(models.Model):
    """Today's salt for visitor hashes. Yesterday's is deleted when today's is made, so a
    visitor hash cannot be recomputed (or matched to an address) once its day is over."""

    day = models.DateField(unique=True)
    salt = models.CharField(max_length=64)

    def __str__(self) -> str:
        return f"salt of {self.day}"


class Conversion(WorkspaceOwned):
    """An order (or sign-up) the shop reported for a click, with its value, attributed to the
    click's post, campaign and channel when the click is within the workspace's window (last
    click: the click named is the last one the shop saw)."""

    click = models.ForeignKey(
        Click, null=True, blank=True, on_delete=models.SET_NULL, related_name="conversions"
    )
    order_id = models.CharField(max_length=200)
    value = models.DecimalField(max_digits=14, decimal_places=2)
    currency = models.CharField(max_length=3)
    created_at = models.DateTimeField(default=timezone.now)
    # Empty when the click was older than the window (the order is kept, unattributed).
    attributed = models.BooleanField(default=False)
    link = models.ForeignKey(
        ShortLink, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    post = models.ForeignKey(
        Post, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    channel = models.ForeignKey(
        Channel, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    campaign = models.ForeignKey(
        Campaign, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    window_days = models.PositiveSmallIntegerField()

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            # Idempotent by order: the shop may send the same report again.
            models.UniqueConstraint(
                fields=["workspace", "order_id"], name="one_conversion_per_order"
            )
        ]
        indexes = [models.Index(fields=["workspace", "created_at"], name="conversion_day_idx")]

    def __str__(self) -> str:
        return f"order {self.order_id}: {self.value} {self.currency}"
