"""Review: comments on post versions and client review links.

A comment belongs to one version of a post (what the person was looking at when they wrote
it), may answer another comment (one level of threading: a reply to a reply joins the same
thread), and is internal (the team only) or external (the client sees it too). A review link
lets a client without an account look at chosen posts, approve them, ask for changes and
comment; its URL carries a signed token (see ``review.links``).
"""

from __future__ import annotations

import secrets

from django.conf import settings
from django.db import models
from django.utils import timezone

from socialdesk.content.models import Post, PostVersion
from socialdesk.workspaces.models import WorkspaceOwned

MAX_COMMENT = 5_000


def new_nonce() -> str:
    return secrets.token_urlsafe(24)


class ReviewLink(WorkspaceOwned):
    """A client's way in without an account: scoped to chosen posts, or else to the posts
    with a delivery scheduled in [starts_on, ends_on] (workspace dates), until ``expires_at``
    or until revoked. The nonce is part of the signed token: changing it kills old URLs."""

    name = models.CharField(max_length=120, help_text="Who it is for, e.g. “Acme legal”.")
    nonce = models.CharField(max_length=64, default=new_nonce, editable=False)
    posts = models.ManyToManyField(Post, blank=True, related_name="review_links")
    starts_on = models.DateField(null=True, blank=True)
    ends_on = models.DateField(null=True, blank=True)
    expires_at = models.DateTimeField()
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return self.name

    @property
    def via(self) -> str:
        """How the audit log names an action that came through this link."""
        return f"review link #{self.pk} ({self.name})"

    def is_open(self, now=None) -> bool:  # type: ignore[no-untyped-def]
        now = now or timezone.now()
        return self.revoked_at is None and self.expires_at > now

    @property
    def status(self) -> str:
        if self.revoked_at is not None:
            return "revoked"
        return "open" if self.is_open() else "expired"


class Comment(WorkspaceOwned):
    post = models.ForeignKey(Post, on_delete=models.CASCADE, related_name="comments")
    version = models.ForeignKey(PostVersion, on_delete=models.CASCADE, related_name="comments")
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.CASCADE, related_name="replies"
    )
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    # Set when a client wrote it through a review link (then ``author`` is empty).
    review_link = models.ForeignKey(
        ReviewLink, null=True, blank=True, on_delete=models.SET_NULL, related_name="comments"
    )
    author_name = models.CharField(max_length=150, blank=True)
    body = models.TextField(max_length=MAX_COMMENT)
    internal = models.BooleanField(
        default=True, help_text="Internal comments are for the team; clients never see them."
    )
    mentions = models.ManyToManyField(settings.AUTH_USER_MODEL, blank=True, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [
            # Serves the comments panel and the client page: one post's comments in order.
            models.Index(fields=["post", "created_at"]),
            # Serves the per-link action budget (``services.check_link_budget``).
            models.Index(fields=["review_link", "created_at"]),
        ]

    def __str__(self) -> str:
        return f"Comment {self.pk} on {self.post_id}"

    @property
    def who(self) -> str:
        if self.author is not None:
            return self.author.display_name
        return self.author_name or "Client"

    @property
    def is_resolved(self) -> bool:
        return self.resolved_at is not None


class SeenVersion(WorkspaceOwned):
    """That a reviewer (a member, or a client through a review link) had a version of a post
    in front of them, so the next time the review shows the changes since then.

    One row per reviewer and version, written when the review page shows it (see
    ``review.showing.mark_seen``); never updated, so a row is the earliest sighting."""

    post = models.ForeignKey(Post, on_delete=models.CASCADE, related_name="+")
    version = models.ForeignKey(PostVersion, on_delete=models.CASCADE, related_name="+")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    review_link = models.ForeignKey(
        ReviewLink, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    seen_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["version", "user"],
                condition=models.Q(user__isnull=False),
                name="seen_version_once_per_user",
            ),
            models.UniqueConstraint(
                fields=["version", "review_link"],
                condition=models.Q(review_link__isnull=False),
                name="seen_version_once_per_link",
            ),
            models.CheckConstraint(
                condition=models.Q(user__isnull=False) | models.Q(review_link__isnull=False),
                name="seen_version_has_a_reviewer",
            ),
        ]
        indexes = [
            # Serves ``showing.diff_base``: one reviewer's sightings of one post.
            models.Index(fields=["post", "user"]),
            models.Index(fields=["post", "review_link"]),
        ]

    def __str__(self) -> str:
        return f"{self.version} seen"
