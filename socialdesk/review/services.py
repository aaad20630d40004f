"""Review operations the web pages, the client page and the API all call.

Each validates first and writes inside one transaction; bad input raises
``django.core.exceptions.ValidationError`` naming the field, so nothing is half written.
Notifications are queued by ``notifications.services.notify`` after the commit; client
actions land in the audit log with the link they came through (``ReviewLink.via``).
"""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone

from socialdesk.content.models import Post, PostVersion
from socialdesk.notifications.services import notify, people_with_role
from socialdesk.publishing.models import Delivery
from socialdesk.workflow import audit
from socialdesk.workspaces.models import Membership, User, Workspace
from socialdesk.workspaces.roles import Role

from .models import MAX_COMMENT, Comment, ReviewLink

# A client on a review link may write this many comments an hour: enough for a real review,
# not enough to flood the team's notifications from a leaked link.
LINK_COMMENTS_PER_HOUR = 30
MAX_LINK_DAYS = 365
MAX_LINK_POSTS = 200
# Date ranges stay well inside what every database and time zone can represent.
FIRST_DAY, LAST_DAY = date(2000, 1, 1), date(2199, 12, 31)

# "@ana", "@ana.lima", "@ana@crumb.example"; not the middle of an email address.
MENTION = re.compile(r"(?<![\w@])@([\w.+-]+(?:@[\w-]+(?:\.[\w-]+)+)?)")


# --- Mentions -----------------------------------------------------------------------------


def mention_handles(workspace: Workspace) -> dict[str, User]:
    """Every handle that names exactly one active member: the email, its local part, the
    name without spaces or with dots/underscores, and the first name. A handle two members
    share names nobody (a mention must never reach the wrong person)."""
    seen: dict[str, set[int]] = {}
    users: dict[int, User] = {}
    memberships = Membership.objects.filter(workspace=workspace, user__is_active=True)
    for membership in memberships.select_related("user"):
        user = membership.user
        users[user.pk] = user
        email = user.email.lower()
        handles = {email, email.split("@")[0]}
        name = user.name.strip().lower()
        if name:
            parts = name.split()
            handles |= {"".join(parts), ".".join(parts), "_".join(parts), parts[0]}
        for handle in handles:
            seen.setdefault(handle, set()).add(user.pk)
    return {handle: users[next(iter(ids))] for handle, ids in seen.items() if len(ids) == 1}


def find_mentions(workspace: Workspace, body: str, *, internal: bool) -> list[User]:
    """The members ``body`` mentions; an internal comment cannot reach a client member,
    who could not read it."""
    handles = mention_handles(workspace)
    found: dict[int, User] = {}
    for raw in MENTION.findall(body):
        user = handles.get(raw.rstrip(".-").lower())
        if user is not None:
            found.setdefault(user.pk, user)
    if internal and found:
        clients = set(
            Membership.objects.filter(
                workspace=workspace, user_id__in=list(found), role=Role.CLIENT
            ).values_list("user_id", flat=True)
        )
        found = {pk: user for pk, user in found.items() if pk not in clients}
    return list(found.values())


# --- Comments -----------------------------------------------------------------------------


def visible_comments(post: Post, *, internal: bool) -> QuerySet[Comment]:
    """The post's comments in order; without ``internal`` only what a client may read."""
    comments = Comment.objects.filter(post=post).select_related(
        "author", "version", "resolved_by", "review_link"
    )
    if not internal:
        comments = comments.filter(internal=False)
    return comments.order_by("created_at", "id")


def threads(comments: QuerySet[Comment] | list[Comment]) -> list[tuple[Comment, list[Comment]]]:
    """Group comments into (first comment, replies) in order; replies whose first comment
    is not in ``comments`` are left out."""
    roots: dict[int, tuple[Comment, list[Comment]]] = {}
    replies: list[Comment] = []
    for comment in comments:
        if comment.parent_id is None:
            roots[comment.pk] = (comment, [])
        else:
            replies.append(comment)
    for reply in replies:
        if reply.parent_id in roots:
            roots[reply.parent_id][1].append(reply)
    return list(roots.values())


def sees_internal(membership: Membership | None) -> bool:
    """Team members read internal comments; a client member, like a review link, does not."""
    return membership is not None and membership.role != Role.CLIENT


def post_url(post: Post, anchor: str = "") -> str:
    url = reverse("post_versions", kwargs={"slug": post.workspace.slug, "post_id": post.pk})
    return url + (f"#{anchor}" if anchor else "")


def _clean_body(body: str) -> str:
    body = (body or "").strip()
    if not body:
        raise ValidationError({"body": ["Write the comment first; it is empty."]})
    if len(body) > MAX_COMMENT:
        raise ValidationError(
            {"body": [f"The comment is {len(body)} characters; the limit is {MAX_COMMENT}."]}
        )
    if "\x00" in body:
        raise ValidationError({"body": ["The comment may not contain NUL characters."]})
    return body


def check_link_budget(link: ReviewLink, now: datetime | None = None) -> None:
    now = now or timezone.now()
    recent = Comment.objects.filter(review_link=link, created_at__gte=now - timedelta(hours=1))
    if recent.count() >= LINK_COMMENTS_PER_HOUR:
        raise ValidationError(
            {
                "body": [
                    f"This review link has sent {LINK_COMMENTS_PER_HOUR} comments in the last "
                    "hour; please wait a little and try again."
                ]
            }
        )


def add_comment(
    post: Post,
    body: str,
    *,
    author: User | None = None,
    membership: Membership | None = None,
    link: ReviewLink | None = None,
    parent_id: int | None = None,
    internal: bool | None = None,
    request: HttpRequest | None = None,
    now: datetime | None = None,
) -> Comment:
    """Comment on the post's current version, as a member (``author`` with ``membership``)
    or as a client through ``link``.

    Internal by default for team members; always external for a client member or a link.
    A reply joins its thread's first comment; one can only answer what one can read, and
    an answer to an internal comment stays internal. Mentioned members are notified
    (``comment.mention``), and the thread's earlier writers get ``comment.reply``.
    """
    body = _clean_body(body)
    now = now or timezone.now()
    workspace = post.workspace
    if link is None and author is None:
        raise PermissionDenied("Sign in to comment.")
    if link is None and membership is None:
        membership = Membership.objects.filter(workspace=workspace, user=author).first()
        if membership is None:
            raise PermissionDenied("Only members of this workspace comment on its posts.")
    from_client = link is not None or not sees_internal(membership)
    internal = False if from_client else (True if internal is None else internal)
    parent = None
    if parent_id is not None:
        candidates = Comment.objects.filter(post=post)
        if from_client:
            candidates = candidates.filter(internal=False)
        parent = candidates.select_related("parent").filter(pk=parent_id).first()
        if parent is None:
            raise ValidationError({"parent_id": ["There is no such comment on this post."]})
        parent = parent.parent or parent
        internal = internal or parent.internal
    version = post.latest_version
    if version is None:
        raise ValidationError({"post": ["This post has no version to comment on yet."]})
    if link is not None:
        check_link_budget(link, now)
    mentioned = find_mentions(workspace, body, internal=internal)
    with transaction.atomic():
        comment = Comment.objects.create(
            workspace=workspace,
            post=post,
            version=version,
            parent=parent,
            author=author if link is None else None,
            review_link=link,
            author_name=f"{link.name} (client)" if link is not None else "",
            body=body,
            internal=internal,
            created_at=now,
        )
        comment.mentions.set(mentioned)
        _notify_comment(comment, parent, mentioned, author if link is None else None)
        if link is not None:
            _audit_client(link, "review.client_comment", post, request, body)
            _tell_team(link, post, f"{link.name} (client) commented on “{post}”", body)
    return comment


def _notify_comment(
    comment: Comment, parent: Comment | None, mentioned: list[User], actor: User | None
) -> None:
    post = comment.post
    who = comment.who
    url = post_url(post, f"comment-{comment.pk}")
    excerpt = comment.body[:280]
    if mentioned:
        notify(
            post.workspace,
            mentioned,
            "comment.mention",
            f"{who} mentioned you on “{post}”",
            body=excerpt,
            url=url,
            actor=actor,
            target=post,
        )
    if parent is not None:
        earlier = [parent.author, *(reply.author for reply in parent.replies.all())]
        skip = {user.pk for user in mentioned}
        readers = [u for u in earlier if u is not None and u.pk not in skip]
        if comment.internal and readers:
            clients = set(
                Membership.objects.filter(
                    workspace=post.workspace, role=Role.CLIENT, user__in=readers
                ).values_list("user_id", flat=True)
            )
            readers = [u for u in readers if u.pk not in clients]
        if readers:
            notify(
                post.workspace,
                readers,
                "comment.reply",
                f"{who} replied on “{post}”",
                body=excerpt,
                url=url,
                actor=actor,
                target=post,
            )


def set_resolved(comment: Comment, user: User, resolved: bool = True) -> Comment:
    """Resolve (or reopen) a thread; a reply stands for its thread's first comment."""
    root = comment.parent or comment
    root.resolved_at = timezone.now() if resolved else None
    root.resolved_by = user if resolved else None
    root.save(update_fields=["resolved_at", "resolved_by"])
    return root


# --- Review links -------------------------------------------------------------------------


def create_link(
    workspace: Workspace,
    user: User | None,
    name: str,
    *,
    expires_at: datetime,
    post_ids: list[int] | None = None,
    starts_on: date | None = None,
    ends_on: date | None = None,
    request: HttpRequest | None = None,
) -> ReviewLink:
    """A review link for chosen posts, or else for the posts scheduled between two dates
    (inclusive, in the workspace's time zone), open until ``expires_at``."""
    errors: dict[str, list[str]] = {}
    name = (name or "").strip()
    if not name:
        errors["name"] = ["Name the link after who it is for, e.g. “Acme legal”."]
    elif len(name) > 120:
        errors["name"] = ["Keep the name under 120 characters."]
    now = timezone.now()
    if timezone.is_naive(expires_at):
        errors["expires_at"] = ["Give the expiry with its UTC offset."]
    elif expires_at <= now:
        errors["expires_at"] = ["The expiry is in the past; choose a later time."]
    elif expires_at > now + timedelta(days=MAX_LINK_DAYS):
        errors["expires_at"] = [f"A review link lasts at most {MAX_LINK_DAYS} days."]
    post_ids = list(dict.fromkeys(post_ids or []))
    posts: list[Post] = []
    if post_ids:
        if len(post_ids) > MAX_LINK_POSTS:
            errors["post_ids"] = [f"A review link shows at most {MAX_LINK_POSTS} posts."]
        else:
            found = {p.pk: p for p in Post.objects.filter(workspace=workspace, pk__in=post_ids)}
            missing = [str(pk) for pk in post_ids if pk not in found]
            if missing:
                errors["post_ids"] = [f"No such post in this workspace: {', '.join(missing)}."]
            posts = [found[pk] for pk in post_ids if pk in found]
    elif starts_on is None or ends_on is None:
        errors["post_ids"] = ["Choose posts, or give a date range (from and to)."]
    for field, day in (("starts_on", starts_on), ("ends_on", ends_on)):
        if day is not None and not FIRST_DAY <= day <= LAST_DAY:
            errors[field] = [f"Choose a day between {FIRST_DAY:%Y} and {LAST_DAY:%Y}."]
    if errors:
        raise ValidationError(errors)
    if starts_on and ends_on and ends_on < starts_on:
        errors["ends_on"] = ["The range ends on or after the day it starts."]
    elif starts_on and ends_on and (ends_on - starts_on).days > MAX_LINK_DAYS:
        errors["ends_on"] = [f"A date range covers at most {MAX_LINK_DAYS} days."]
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        link = ReviewLink.objects.create(
            workspace=workspace,
            name=name,
            expires_at=expires_at,
            starts_on=None if posts else starts_on,
            ends_on=None if posts else ends_on,
            created_by=user,
        )
        link.posts.set(posts)
        audit.record(
            workspace,
            "review_link.create",
            actor=user,
            target=link,
            detail=f"Review link “{name}” until {expires_at:%Y-%m-%d %H:%M} UTC",
            request=request,
        )
    return link


def revoke_link(link: ReviewLink, user: User | None, request: HttpRequest | None = None) -> None:
    """Close the link for good: it answers 404 from now on. Revoking twice changes nothing."""
    if link.revoked_at is not None:
        return
    with transaction.atomic():
        ReviewLink.objects.filter(pk=link.pk, revoked_at=None).update(
            revoked_at=timezone.now(), revoked_by=user
        )
        link.refresh_from_db(fields=["revoked_at", "revoked_by"])
        audit.record(
            link.workspace,
            "review_link.revoke",
            actor=user,
            target=link,
            detail=f"Review link “{link.name}” revoked",
            request=request,
        )


def link_posts(link: ReviewLink) -> QuerySet[Post]:
    """The posts a link shows, in publishing order."""
    posts = Post.objects.filter(workspace_id=link.workspace_id)
    if link.starts_on is None or link.ends_on is None:
        posts = posts.filter(review_links=link)
    else:
        zone = link.workspace.zone
        start = datetime.combine(link.starts_on, time.min, tzinfo=zone)
        end = datetime.combine(link.ends_on + timedelta(days=1), time.min, tzinfo=zone)
        due = Delivery.objects.filter(
            workspace_id=link.workspace_id, scheduled_at__gte=start, scheduled_at__lt=end
        )
        posts = posts.filter(pk__in=due.values("post_id"))
    return posts.order_by("created_at", "id")


def post_on_link(link: ReviewLink, post_id: int) -> Post:
    """One post the link shows, or Http404 like any other wrong URL."""
    from django.http import Http404

    post = link_posts(link).filter(pk=post_id).select_related("workspace").first()
    if post is None:
        raise Http404("No such page.")
    return post


def client_decide(
    link: ReviewLink,
    post: Post,
    decision: str,
    comment: str = "",
    request: HttpRequest | None = None,
) -> Any:
    """A client's approval or request for changes through ``link`` (``workflow.approvals``
    checks the stage, records the audit row with the link and tells the team, each person
    once)."""
    from socialdesk.workflow.approvals import decide

    if decision not in ("approve", "request_changes"):
        raise ValidationError({"decision": ["Choose approve or request changes."]})
    comment = (comment or "").strip()
    if decision == "request_changes" and not comment:
        raise ValidationError({"comment": ["Say what should change; a comment is required."]})
    if len(comment) > MAX_COMMENT:
        raise ValidationError({"comment": [f"Keep the comment under {MAX_COMMENT} characters."]})
    check_link_budget(link)
    return decide(post, decision, comment=comment, review_link=link, request=request)


def link_decision(link: ReviewLink, post: Post, version: PostVersion | None) -> Any:
    """The latest decision made through ``link`` on ``version`` of the post, if any."""
    from socialdesk.workflow.models import Decision

    if version is None:
        return None
    decisions = Decision.objects.filter(post=post, version=version, review_link_id=link.pk)
    return decisions.order_by("-created_at", "-id").first()


def _tell_team(link: ReviewLink, post: Post, title: str, body: str) -> None:
    team = people_with_role(link.workspace, Role.OWNER, Role.MANAGER)
    if post.author is not None:
        team.append(post.author)
    notify(
        link.workspace,
        team,
        "review.client_action",
        title,
        body=body[:280],
        url=post_url(post),
        target=post,
    )


def _audit_client(
    link: ReviewLink, action: str, post: Post, request: HttpRequest | None, detail: str
) -> None:
    audit.record(
        link.workspace,
        action,
        target=post,
        detail=detail[:500],
        via=link.via,
        request=request,
    )
