"""The demo bakery's review history: a comment thread with a mention and a reply, a comment
shared with the client, and an open review link for the next two weeks' posts.

Rows are written directly, as the workflow demo does: the demo's past did not happen through
the services, and rebuilding it must not send anyone a notification.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db.models import Min

from socialdesk.content.models import Post
from socialdesk.workspaces.models import User, Workspace
from socialdesk.workspaces.roles import Role

from .models import Comment, ReviewLink


def build(workspace: Workspace, users: dict[Role, User], now: datetime) -> ReviewLink:
    upcoming = (
        Post.objects.filter(workspace=workspace, deliveries__scheduled_at__gt=now)
        .annotate(first=Min("deliveries__scheduled_at"))
        .order_by("first", "id")
    )
    post = upcoming.first()
    if post is not None and post.latest_version is not None:
        version = post.latest_version
        creator, approver = users[Role.CREATOR], users[Role.APPROVER]
        first = Comment.objects.create(
            workspace=workspace,
            post=post,
            version=version,
            author=approver,
            body=f"@{creator.email.split('@')[0]} could the photo show the crumb a bit closer?",
            created_at=now - timedelta(hours=5),
        )
        first.mentions.set([creator])
        Comment.objects.create(
            workspace=workspace,
            post=post,
            version=version,
            parent=first,
            author=creator,
            body="Swapped it for the close-up from Tuesday's bake.",
            created_at=now - timedelta(hours=4),
        )
        Comment.objects.create(
            workspace=workspace,
            post=post,
            version=version,
            author=users[Role.MANAGER],
            body="This one goes out on the public page and Bluesky; tell us if the wording works.",
            internal=False,
            created_at=now - timedelta(hours=3),
        )
    today = now.astimezone(workspace.zone).date()
    return ReviewLink.objects.create(
        workspace=workspace,
        name="Inès (weekly plan)",
        starts_on=today,
        ends_on=today + timedelta(days=14),
        expires_at=now + timedelta(days=30),
        created_by=users[Role.MANAGER],
    )
