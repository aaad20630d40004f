"""Review objects for the authorization matrix: one comment and one review link."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from socialdesk.review.services import add_comment, create_link


def review_comment_id(post, author) -> int:
    return add_comment(post, "Check the opening hours", author=author).pk


def review_link_id(workspace, creator, post) -> int:
    link = create_link(
        workspace,
        creator,
        "Acme legal",
        expires_at=timezone.now() + timedelta(days=7),
        post_ids=[post.pk],
    )
    return link.pk
