"""Posts, their immutable versions, media, and the taxonomy (labels, pillars, campaigns)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models

from socialdesk.workspaces.models import WorkspaceOwned


class Label(WorkspaceOwned):
    name = models.CharField(max_length=60)
    color = models.CharField(max_length=7, default="#6b7280", help_text="A CSS hex colour.")

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["workspace", "name"], name="unique_label_name")
        ]

    def __str__(self) -> str:
        return self.name


class Pillar(WorkspaceOwned):
    """A content theme with a target share of the mix, in percent."""

    name = models.CharField(max_length=60)
    description = models.CharField(max_length=300, blank=True)
    color = models.CharField(max_length=7, default="#2563eb")
    target_share = models.PositiveSmallIntegerField(
        default=0, validators=[MinValueValidator(0), MaxValueValidator(100)]
    )

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["workspace", "name"], name="unique_pillar_name")
        ]

    def __str__(self) -> str:
        return self.name


class Campaign(WorkspaceOwned):
    """A dated group of posts with a goal, a budget and a UTM campaign name."""

    name = models.CharField(max_length=120)
    starts_on = models.DateField()
    ends_on = models.DateField()
    goal = models.CharField(max_length=300, blank=True)
    budget = models.DecimalField(max_digits=12, decimal_places=2, default=0)
    utm_campaign = models.SlugField(max_length=100, blank=True)

    class Meta:
        ordering = ["-starts_on", "name"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(ends_on__gte=models.F("starts_on")),
                name="campaign_ends_after_start",
            ),
            models.UniqueConstraint(fields=["workspace", "name"], name="unique_campaign_name"),
        ]

    def __str__(self) -> str:
        return self.name


class MediaKind(models.TextChoices):
    IMAGE = "image", "Image"
    GIF = "gif", "Animated GIF"
    VIDEO = "video", "Video"


def media_path(instance: MediaAsset, filename: str) -> str:
    # Files are named by checksum so two workspaces never collide and names leak nothing.
    extension = filename.rsplit(".", 1)[-1].lower() if "." in filename else "bin"
    checksum = instance.checksum
    return f"workspaces/{instance.workspace_id}/{checksum[:2]}/{checksum}.{extension}"


class MediaAsset(WorkspaceOwned):
    file = models.FileField(upload_to=media_path, max_length=300)
    original_name = models.CharField(max_length=255, blank=True)
    kind = models.CharField(max_length=10, choices=MediaKind.choices)
    mime_type = models.CharField(max_length=100)
    size = models.PositiveBigIntegerField(help_text="Bytes.")
    width = models.PositiveIntegerField(null=True, blank=True)
    height = models.PositiveIntegerField(null=True, blank=True)
    duration = models.FloatField(null=True, blank=True, help_text="Seconds, for video.")
    alt_text = models.TextField(blank=True, max_length=2000)
    checksum = models.CharField(max_length=64, help_text="SHA-256 of the file.")
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["workspace", "checksum"])]

    def __str__(self) -> str:
        return self.original_name or self.checksum[:12]


class Post(WorkspaceOwned):
    """One piece of content moving through the workflow.

    ``text`` and the relations hold the current content; every change of content is also
    recorded as an immutable ``PostVersion`` (see ``content.services``).
    """

    title = models.CharField(max_length=200, blank=True, help_text="Internal name, not published.")
    text = models.TextField(blank=True)
    media = models.ManyToManyField(MediaAsset, blank=True, related_name="posts")
    labels = models.ManyToManyField(Label, blank=True, related_name="posts")
    pillar = models.ForeignKey(
        Pillar, null=True, blank=True, on_delete=models.SET_NULL, related_name="posts"
    )
    campaign = models.ForeignKey(
        Campaign, null=True, blank=True, on_delete=models.SET_NULL, related_name="posts"
    )
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["workspace", "-created_at", "-id"])]

    def __str__(self) -> str:
        return self.title or (self.text[:60] + ("…" if len(self.text) > 60 else ""))

    @property
    def latest_version(self) -> PostVersion | None:
        return self.versions.order_by("-number").first()


class PostVersion(models.Model):
    """An immutable snapshot of a post's content. Comments and approvals point at one."""

    post = models.ForeignKey(Post, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField()
    text = models.TextField(blank=True)
    media_ids = models.JSONField(default=list)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["post", "number"]
        constraints = [
            models.UniqueConstraint(fields=["post", "number"], name="unique_version_number")
        ]

    def __str__(self) -> str:
        return f"v{self.number} of post {self.post_id}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None:
            raise ValueError("A post version is immutable; record a new version instead.")
        super().save(*args, **kwargs)

    @property
    def workspace_id(self) -> int:
        return self.post.workspace_id
