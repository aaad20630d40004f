"""Posts, their immutable versions, media, and the taxonomy (labels, pillars, campaigns)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
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


class MediaFolder(WorkspaceOwned):
    """A named shelf in the media library; an asset sits in at most one (flat, no nesting)."""

    name = models.CharField(max_length=80)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["workspace", "name"], name="unique_media_folder_name")
        ]

    def __str__(self) -> str:
        return self.name


class MediaTag(WorkspaceOwned):
    """A word to find media by; an asset has any number of them."""

    name = models.CharField(max_length=40)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["workspace", "name"], name="unique_media_tag_name")
        ]

    def __str__(self) -> str:
        return self.name


def media_path(instance: MediaAsset, filename: str) -> str:
    # Files are named by checksum so two workspaces never collide and names leak nothing.
    extension = filename.rsplit(".", 1)[-1].lower() if "." in filename else "bin"
    checksum = instance.checksum
    return f"workspaces/{instance.workspace_id}/{checksum[:2]}/{checksum}.{extension}"


def thumbnail_path(instance: MediaAsset, filename: str) -> str:
    extension = filename.rsplit(".", 1)[-1].lower() if "." in filename else "bin"
    checksum = instance.checksum
    return f"workspaces/{instance.workspace_id}/{checksum[:2]}/{checksum}.thumb.{extension}"


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
    # The media library (content.media): a small preview, where the asset is filed, what it
    # is about, and what ffprobe read from a video ("" when it was not run).
    thumbnail = models.FileField(upload_to=thumbnail_path, max_length=300, blank=True)
    folder = models.ForeignKey(
        MediaFolder, null=True, blank=True, on_delete=models.SET_NULL, related_name="assets"
    )
    tags = models.ManyToManyField(MediaTag, blank=True, related_name="assets")
    video_codec = models.CharField(max_length=40, blank=True)

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
    # The parts that follow ``text`` as replies, in order (a thread); networks without
    # threads publish ``text`` only.
    thread = models.JSONField(default=list, blank=True)
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
    # A fact the workflow writes when a decision completes the approval a post's lane needs
    # (``workflow.approvals``) and the publishing engine reads at schedule and send time:
    # the post is approved while this is its newest version. An edit records a new version,
    # so an approval never carries over to content nobody approved.
    approved_version = models.ForeignKey(
        "PostVersion", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # Another fact the workflow writes: True while the post is in the fast lane, where a
    # workspace may let an unapproved post go out at its time (``unapproved_at_due``).
    fast_lane = models.BooleanField(default=True)
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


# --- Composer aids (issue 5, item 3) --------------------------------------------------------


def normalize_hashtags(value: str) -> str:
    """``"baking, #bread"`` → ``"#baking #bread"``; refuses what no network takes as a tag."""
    words = value.replace(",", " ").split()
    tags = list(dict.fromkeys(w if w.startswith("#") else f"#{w}" for w in words))
    bad = [t for t in tags if len(t) < 2 or not t[1:].replace("_", "").isalnum()]
    if bad:
        raise ValidationError(
            {"hashtags": [f"Use letters, digits and underscores after #: fix {', '.join(bad)}."]}
        )
    if not tags:
        raise ValidationError({"hashtags": ["Give at least one hashtag."]})
    return " ".join(tags)


class HashtagGroup(WorkspaceOwned):
    """A saved set of hashtags the composer inserts in one click."""

    name = models.CharField(max_length=60)
    hashtags = models.CharField(max_length=500, help_text="Hashtags separated by spaces.")

    def clean(self) -> None:
        self.hashtags = normalize_hashtags(self.hashtags)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["workspace", "name"], name="unique_hashtag_group_name")
        ]

    def __str__(self) -> str:
        return self.name


class PostTemplate(WorkspaceOwned):
    """Reusable text with ``{placeholders}`` the composer asks for before inserting it."""

    name = models.CharField(max_length=80)
    text = models.TextField(max_length=5000)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["workspace", "name"], name="unique_post_template_name")
        ]

    def __str__(self) -> str:
        return self.name


class UtmDefaults(WorkspaceOwned):
    """The workspace's UTM tags for links; the campaign name comes from the post's campaign
    (its ``utm_campaign``), else ``campaign`` here."""

    source = models.CharField(max_length=100, default="socialdesk")
    medium = models.CharField(max_length=100, default="social")
    campaign = models.CharField(max_length=100, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["workspace"], name="one_utm_defaults")]

    def __str__(self) -> str:
        return f"UTM defaults of workspace {self.workspace_id}"


class ComposerDraft(WorkspaceOwned):
    """What a person typed in the composer and has not saved yet, one per person per post
    (``post`` null: a new post). Written by autosave; deleted when the post is saved."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    post = models.ForeignKey(
        Post, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    data = models.JSONField(default=dict)
    saved_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["workspace", "user", "post"], name="one_draft_per_user_and_post"
            ),
            # NULLs are distinct in a unique constraint: one new-post draft needs its own.
            models.UniqueConstraint(
                fields=["workspace", "user"],
                condition=models.Q(post=None),
                name="one_new_post_draft_per_user",
            ),
        ]

    def __str__(self) -> str:
        return f"draft of {self.user_id} for post {self.post_id or 'new'}"
