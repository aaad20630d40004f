"""API: posts, with their deliveries summarised (list, create, read, update, delete).

The post's deliveries themselves (one per channel) are in ``socialdesk.publishing.api``.
"""

from datetime import datetime
from typing import Any, Literal

from django.db.models import QuerySet
from ninja import Field, Query, Router, Schema, Status

from socialdesk.api_support import (
    CURSOR_DESCRIPTION,
    LIMIT_DESCRIPTION,
    Id,
    MemberRequest,
    Moment,
    Slug,
    Text,
    WallClockTime,
    caller,
    invalid,
    paginate,
    requires,
    responses,
)
from socialdesk.publishing.models import Delivery, DeliveryState
from socialdesk.publishing.wallclock import zone_named
from socialdesk.workspaces.access import get_in_workspace

from . import services
from .models import Post

router = Router()


class DeliverySummary(Schema):
    id: int
    channel_id: int
    state: str
    scheduled_at: datetime | None
    time_zone: str = Field(description="The zone the time was read in (empty for a draft).")
    scheduled_local: str | None = Field(
        description="scheduled_at as the wall clock showed it in time_zone, with its offset."
    )

    @staticmethod
    def resolve_scheduled_local(obj: Delivery) -> str | None:
        if obj.scheduled_at is None:
            return None
        zone = zone_named(obj.time_zone) if obj.time_zone else obj.channel.zone
        return obj.scheduled_at.astimezone(zone).isoformat()


class PostOut(Schema):
    id: int
    title: str
    text: str
    thread: list[str] = Field(description="The parts published as replies after the text.")
    media_ids: list[int]
    label_ids: list[int]
    pillar_id: int | None
    campaign_id: int | None
    author_id: int | None
    version: int = Field(description="The number of the latest version.")
    deliveries: list[DeliverySummary]
    created_at: datetime
    updated_at: datetime

    @staticmethod
    def resolve_media_ids(obj: Post) -> list[int]:
        return sorted(m.pk for m in obj.media.all())

    @staticmethod
    def resolve_label_ids(obj: Post) -> list[int]:
        return sorted(label.pk for label in obj.labels.all())

    @staticmethod
    def resolve_version(obj: Post) -> int:
        return max((v.number for v in obj.versions.all()), default=0)

    @staticmethod
    def resolve_deliveries(obj: Post) -> list[Delivery]:
        return list(obj.deliveries.all())


class PostTime(Schema):
    """When a post goes out, as the creating and the changing request both say it."""

    scheduled_at: WallClockTime | None = Field(
        None,
        description=(
            "When to publish; none: the deliveries are drafts. With a UTC offset it is that "
            "instant; without one (2027-04-01T09:00:00) it is a wall-clock time read in "
            "time_zone, else in each channel's own zone, else the workspace's. A time the "
            "clocks skip, or show twice without repeated_time, is refused naming the choices."
        ),
    )
    time_zone: Text | None = Field(
        None, max_length=64, description="An IANA zone for a wall-clock scheduled_at."
    )
    repeated_time: Literal["earlier", "later"] | None = Field(
        None, description="Which reading of a wall-clock time the clocks show twice."
    )


class PostIn(PostTime):
    title: Text = Field("", max_length=200, description="Internal name, not published.")
    text: Text = ""
    thread: list[Text] = Field(
        [], max_length=10, description="Parts published as replies after the text, in order."
    )
    channel_ids: list[Id] = []
    media_ids: list[Id] = []
    label_ids: list[Id] = []
    pillar_id: Id | None = None
    campaign_id: Id | None = None


class PostPatch(PostTime):
    """Send only what changes; null clears pillar_id, campaign_id or scheduled_at."""

    title: Text | None = Field(None, max_length=200)
    text: Text | None = None
    thread: list[Text] | None = Field(None, max_length=10)
    channel_ids: list[Id] | None = None
    media_ids: list[Id] | None = None
    label_ids: list[Id] | None = None
    pillar_id: Id | None = None
    campaign_id: Id | None = None


class PostPage(Schema):
    items: list[PostOut]
    next_cursor: str | None


class PostFilters(Schema):
    from_: Moment | None = Field(
        None, alias="from", description="Deliveries scheduled at or after this time."
    )
    to: Moment | None = Field(None, description="Deliveries scheduled before this time.")
    channel: Id | None = Field(None, description="Has a delivery to this channel.")
    state: DeliveryState | None = Field(None, description="Has a delivery in this state.")
    label: Id | None = None
    pillar: Id | None = None
    campaign: Id | None = None
    cursor: str | None = Field(None, max_length=200, description=CURSOR_DESCRIPTION)
    limit: int = Field(50, ge=1, le=100, description=LIMIT_DESCRIPTION)


def _posts(workspace: Any) -> QuerySet[Post]:
    return Post.objects.filter(workspace=workspace).prefetch_related(
        "media", "labels", "deliveries", "versions"
    )


def _delivery_conditions(filters: Any) -> dict[str, Any]:
    """Delivery filters shared by posts and deliveries; from/to is a half-open range."""
    if filters.from_ and filters.to and filters.to <= filters.from_:
        raise invalid("to", "'to' must be later than 'from'.")
    conditions: dict[str, Any] = {}
    if filters.from_:
        conditions["scheduled_at__gte"] = filters.from_
    if filters.to:
        conditions["scheduled_at__lt"] = filters.to
    if filters.channel:
        conditions["channel_id"] = filters.channel
    if filters.state:
        conditions["state"] = filters.state
    return conditions


def _content(payload: Schema) -> services.PostContent:
    data = payload.dict(exclude_unset=True)
    cleared = {name for name, value in data.items() if value is None}
    values = {name: value for name, value in data.items() if value is not None}
    return services.PostContent(**values, cleared=cleared)


@router.get(
    "/workspaces/{slug}/posts",
    response=responses(PostPage),
    operation_id="posts_list",
    tags=["posts"],
)
@requires("posts.view")
def posts_list(request: MemberRequest, slug: Slug, filters: Query[PostFilters]) -> dict:
    """Posts, newest first. Delivery filters (from, to, channel, state) match posts that have
    one delivery meeting all of them."""
    posts = _posts(request.workspace)
    conditions = _delivery_conditions(filters)
    if conditions:
        matching = Delivery.objects.filter(workspace=request.workspace, **conditions)
        posts = posts.filter(pk__in=matching.values("post_id"))
    if filters.label:
        posts = posts.filter(
            pk__in=Post.labels.through.objects.filter(label_id=filters.label).values("post_id")
        )
    if filters.pillar:
        posts = posts.filter(pillar_id=filters.pillar)
    if filters.campaign:
        posts = posts.filter(campaign_id=filters.campaign)
    return paginate(posts, filters.cursor, filters.limit)


@router.post(
    "/workspaces/{slug}/posts",
    response=responses(PostOut, 201),
    operation_id="posts_create",
    tags=["posts"],
)
@requires("posts.create")
def posts_create(request: MemberRequest, slug: Slug, payload: PostIn) -> Status:
    """Create a post with a delivery per channel (scheduled when scheduled_at is given)."""
    post = services.create_post(request.workspace, caller(request), _content(payload))
    return Status(201, _posts(request.workspace).get(pk=post.pk))


@router.get(
    "/workspaces/{slug}/posts/{post_id}",
    response=responses(PostOut),
    operation_id="posts_read",
    tags=["posts"],
)
@requires("posts.view")
def posts_read(request: MemberRequest, slug: Slug, post_id: Id) -> Post:
    return get_in_workspace(Post, request.workspace, pk=post_id)


@router.patch(
    "/workspaces/{slug}/posts/{post_id}",
    response=responses(PostOut),
    operation_id="posts_update",
    tags=["posts"],
)
@requires("posts.edit")
def posts_update(request: MemberRequest, slug: Slug, post_id: Id, payload: PostPatch) -> Post:
    """Change a post; a change of text or media records a new version."""
    post = get_in_workspace(Post, request.workspace, pk=post_id)
    services.update_post(post, caller(request), _content(payload))
    return _posts(request.workspace).get(pk=post.pk)


@router.delete(
    "/workspaces/{slug}/posts/{post_id}",
    response=responses(None, 204),
    operation_id="posts_delete",
    tags=["posts"],
)
@requires("posts.delete")
def posts_delete(request: MemberRequest, slug: Slug, post_id: Id) -> Status:
    """Delete a post that has not been published."""
    services.delete_post(get_in_workspace(Post, request.workspace, pk=post_id))
    return Status(204, None)
