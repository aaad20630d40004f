"""API: comments on posts, client review links, and the word diff between two versions.

Client actions on a review link are plain form posts on the link's pages, not API calls: a
client has no account and no token.
"""

from datetime import date, datetime
from typing import Annotated, Any, Literal

from django.http import Http404
from django.urls import reverse
from ninja import Field, Query, Router, Schema, Status

from socialdesk.api_support import (
    Id,
    MemberRequest,
    Moment,
    Slug,
    Text,
    caller,
    invalid,
    requires,
    responses,
)
from socialdesk.content.models import Post, PostVersion
from socialdesk.workspaces.access import get_in_workspace

from . import services
from .diff import summary, word_diff
from .links import token_for
from .models import MAX_COMMENT, Comment, ReviewLink

router = Router(tags=["review"])


# --- Comments -----------------------------------------------------------------------------


class CommentOut(Schema):
    id: int
    post_id: int
    version: int = Field(description="The number of the version the comment was made on.")
    parent_id: int | None
    author_id: int | None
    author_name: str
    via_review_link_id: int | None
    body: str
    internal: bool
    mention_ids: list[int]
    created_at: datetime
    resolved_at: datetime | None
    resolved_by_id: int | None

    @staticmethod
    def resolve_version(obj: Comment) -> int:
        return obj.version.number

    @staticmethod
    def resolve_author_name(obj: Comment) -> str:
        return obj.who

    @staticmethod
    def resolve_via_review_link_id(obj: Comment) -> int | None:
        return obj.review_link_id

    @staticmethod
    def resolve_mention_ids(obj: Comment) -> list[int]:
        return sorted(user.pk for user in obj.mentions.all())


class CommentIn(Schema):
    body: Text = Field(min_length=1, max_length=MAX_COMMENT)
    parent_id: Id | None = Field(None, description="Reply to this comment's thread.")
    internal: bool | None = Field(
        None, description="Team only; default true for the team, always false for clients."
    )


class ResolveIn(Schema):
    resolved: bool = True


@router.get(
    "/workspaces/{slug}/posts/{post_id}/comments",
    response=responses(list[CommentOut]),
    operation_id="comments_list",
)
@requires("comments.view")
def comments_list(request: MemberRequest, slug: Slug, post_id: Id) -> Any:
    """The post's comments, oldest first; a client member gets only the shared ones."""
    post = get_in_workspace(Post, request.workspace, pk=post_id)
    internal = services.sees_internal(request.membership)
    return list(services.visible_comments(post, internal=internal).prefetch_related("mentions"))


@router.post(
    "/workspaces/{slug}/posts/{post_id}/comments",
    response=responses(CommentOut, 201),
    operation_id="comments_create",
)
@requires("comments.create")
def comments_create(request: MemberRequest, slug: Slug, post_id: Id, payload: CommentIn) -> Status:
    """Comment on the post's current version; @mentions of members notify them."""
    post = get_in_workspace(Post, request.workspace, pk=post_id)
    comment = services.add_comment(
        post,
        payload.body,
        author=caller(request),
        membership=request.membership,
        parent_id=payload.parent_id,
        internal=payload.internal,
        request=request,
    )
    return Status(201, comment)


@router.post(
    "/workspaces/{slug}/comments/{comment_id}/resolve",
    response=responses(CommentOut),
    operation_id="comments_resolve",
)
@requires("comments.resolve")
def comments_resolve(
    request: MemberRequest, slug: Slug, comment_id: Id, payload: ResolveIn
) -> Comment:
    """Resolve (or, with resolved=false, reopen) the comment's thread."""
    comment = get_in_workspace(Comment, request.workspace, pk=comment_id)
    return services.set_resolved(comment, caller(request), payload.resolved)


# --- Review links -------------------------------------------------------------------------


class ReviewLinkOut(Schema):
    id: int
    name: str
    status: str = Field(description="open, expired or revoked.")
    url: str | None = Field(description="The address to send the client; only while open.")
    post_ids: list[int]
    starts_on: date | None
    ends_on: date | None
    expires_at: datetime
    created_by_id: int | None
    created_at: datetime
    revoked_at: datetime | None

    @staticmethod
    def resolve_post_ids(obj: ReviewLink) -> list[int]:
        return sorted(post.pk for post in obj.posts.all())

    @staticmethod
    def resolve_url(obj: ReviewLink, context: Any) -> str | None:
        if obj.status != "open":
            return None
        request = context["request"]
        return request.build_absolute_uri(reverse("review_client", args=[token_for(obj)]))


class ReviewLinkIn(Schema):
    name: Text = Field(min_length=1, max_length=120)
    expires_at: Moment
    post_ids: list[Id] = Field([], max_length=200, description="Chosen posts; or a date range.")
    starts_on: date | None = Field(None, description="Posts scheduled from this day.")
    ends_on: date | None = Field(None, description="…to this day, inclusive.")


@router.get(
    "/workspaces/{slug}/review-links",
    response=responses(list[ReviewLinkOut]),
    operation_id="review_links_list",
)
@requires("review_links.view")
def review_links_list(request: MemberRequest, slug: Slug) -> Any:
    """The workspace's review links, newest first (at most 200)."""
    links = ReviewLink.objects.filter(workspace=request.workspace).prefetch_related("posts")
    return list(links[:200])


@router.post(
    "/workspaces/{slug}/review-links",
    response=responses(ReviewLinkOut, 201),
    operation_id="review_links_create",
)
@requires("review_links.manage")
def review_links_create(request: MemberRequest, slug: Slug, payload: ReviewLinkIn) -> Status:
    """Create a link for chosen posts or a date range; its url is in the answer."""
    link = services.create_link(
        request.workspace,
        caller(request),
        payload.name,
        expires_at=payload.expires_at,
        post_ids=payload.post_ids,
        starts_on=payload.starts_on,
        ends_on=payload.ends_on,
        request=request,
    )
    return Status(201, link)


@router.post(
    "/workspaces/{slug}/review-links/{link_id}/revoke",
    response=responses(ReviewLinkOut),
    operation_id="review_links_revoke",
)
@requires("review_links.manage")
def review_links_revoke(request: MemberRequest, slug: Slug, link_id: Id) -> ReviewLink:
    """Revoke a link: from now on it answers 404. Revoking twice is harmless."""
    link = get_in_workspace(ReviewLink, request.workspace, pk=link_id)
    services.revoke_link(link, caller(request), request=request)
    return link


# --- Version diff -------------------------------------------------------------------------


class DiffPiece(Schema):
    kind: str = Field(description="same, insert or delete.")
    text: str


class DiffOut(Schema):
    post_id: int
    from_version: int
    to_version: int
    revisions: int = Field(description="How many times the content changed after version 1.")
    inserted_words: int
    deleted_words: int
    pieces: list[DiffPiece]


class DiffQuery(Schema):
    from_: int | None = Field(None, alias="from", ge=1, le=2**31, description="Default: to − 1.")
    to: int | None = Field(None, ge=1, le=2**31, description="Default: the latest version.")


@router.get(
    "/workspaces/{slug}/posts/{post_id}/diff",
    response=responses(DiffOut),
    operation_id="versions_diff",
)
@requires("posts.view")
def versions_diff(request: MemberRequest, slug: Slug, post_id: Id, query: Query[DiffQuery]) -> dict:
    """A word-level diff between two versions of the post's text."""
    post = get_in_workspace(Post, request.workspace, pk=post_id)
    versions = {v.number: v for v in post.versions.all()}
    if not versions:
        raise invalid("post_id", "This post has no versions yet.")
    to_number = query.to or max(versions)
    from_number = query.from_ or max(to_number - 1, min(versions))
    for name, number in (("to", to_number), ("from", from_number)):
        if number not in versions:
            raise invalid(name, f"This post has no version {number}; it has 1 to {max(versions)}.")
    pieces = word_diff(versions[from_number].text, versions[to_number].text)
    counts = summary(pieces)
    return {
        "post_id": post.pk,
        "from_version": from_number,
        "to_version": to_number,
        "revisions": len(versions) - 1,
        "inserted_words": counts["inserted"],
        "deleted_words": counts["deleted"],
        "pieces": [{"kind": p.kind, "text": p.text} for p in pieces],
    }


# --- Versions and the diff of one version against another -----------------------------------

# The API's words for a diff piece (``review.diff`` says "same" for what did not change).
OPS = {"same": "equal", "insert": "insert", "delete": "delete"}


class VersionOut(Schema):
    number: int
    created_at: datetime
    created_by: int | None = Field(description="The id of the user who saved this version.")
    text: str
    media_ids: list[int]

    @staticmethod
    def resolve_created_by(obj: PostVersion) -> int | None:
        return obj.created_by_id


class DiffOp(Schema):
    op: Literal["equal", "insert", "delete"]
    text: str


class VersionDiffOut(Schema):
    post_id: int
    number: int
    against: int | None = Field(
        description="The version compared with; null for version 1 compared with nothing."
    )
    inserted_words: int
    deleted_words: int
    pieces: list[DiffOp] = Field(
        description="In reading order; a replacement is a delete followed by an insert."
    )


class AgainstQuery(Schema):
    against: int | None = Field(
        None, ge=1, le=2**31, description="A version number; default: the version before."
    )


@router.get(
    "/workspaces/{slug}/posts/{post_id}/versions",
    response=responses(list[VersionOut]),
    operation_id="versions_list",
)
@requires("posts.view")
def versions_list(request: MemberRequest, slug: Slug, post_id: Id) -> Any:
    """The post's versions, oldest first (each an immutable snapshot of its content)."""
    post = get_in_workspace(Post, request.workspace, pk=post_id)
    return list(post.versions.order_by("number"))


@router.get(
    "/workspaces/{slug}/posts/{post_id}/versions/{number}/diff",
    response=responses(VersionDiffOut),
    operation_id="versions_diff_against",
)
@requires("posts.view")
def versions_diff_against(
    request: MemberRequest,
    slug: Slug,
    post_id: Id,
    number: Annotated[int, Field(ge=1, le=2**31)],
    query: Query[AgainstQuery],
) -> dict:
    """The word diff that turns version ``against`` into version ``number``."""
    post = get_in_workspace(Post, request.workspace, pk=post_id)
    versions = {v.number: v for v in post.versions.all()}
    if number not in versions:
        raise Http404(f"This post has no version {number}.")
    against = query.against if query.against is not None else number - 1 or None
    if against is not None and against not in versions:
        raise invalid(
            "against", f"This post has no version {against}; it has 1 to {max(versions)}."
        )
    old = versions[against].text if against is not None else ""
    pieces = word_diff(old, versions[number].text)
    counts = summary(pieces)
    return {
        "post_id": post.pk,
        "number": number,
        "against": against,
        "inserted_words": counts["inserted"],
        "deleted_words": counts["deleted"],
        "pieces": [{"op": OPS[p.kind], "text": p.text} for p in pieces],
    }
