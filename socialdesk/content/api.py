"""API: posts, media, and the taxonomy (labels, pillars, campaigns).

No ``from __future__ import annotations`` here: the taxonomy routes are made by one function
for three models, and ninja reads their parameter types at import time.
"""

import inspect
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from django.db.models import Model, QuerySet
from ninja import Field, File, Form, Query, Router, Schema, Status
from ninja.files import UploadedFile

from socialdesk.api_support import (
    CURSOR_DESCRIPTION,
    LIMIT_DESCRIPTION,
    Id,
    MemberRequest,
    Moment,
    Slug,
    Text,
    caller,
    invalid,
    paginate,
    requires,
    responses,
)
from socialdesk.publishing.models import Delivery, DeliveryState
from socialdesk.workspaces.access import get_in_workspace
from socialdesk.workspaces.services import save_owned

from . import compat, services
from . import media as media_service
from .composer import placeholders
from .models import (
    Campaign,
    HashtagGroup,
    Label,
    MediaAsset,
    MediaKind,
    Pillar,
    Post,
    PostTemplate,
)

router = Router()
HEX_COLOR = r"^#[0-9a-fA-F]{6}$"
TAXONOMY_TAGS = ["taxonomy"]


# --- Posts --------------------------------------------------------------------------------


class DeliverySummary(Schema):
    id: int
    channel_id: int
    state: str
    scheduled_at: datetime | None


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


class PostIn(Schema):
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
    scheduled_at: Moment | None = Field(
        None, description="When to publish, with its UTC offset; none: the deliveries are drafts."
    )


class PostPatch(Schema):
    """Send only what changes; null clears pillar_id, campaign_id or scheduled_at."""

    title: Text | None = Field(None, max_length=200)
    text: Text | None = None
    thread: list[Text] | None = Field(None, max_length=10)
    channel_ids: list[Id] | None = None
    media_ids: list[Id] | None = None
    label_ids: list[Id] | None = None
    pillar_id: Id | None = None
    campaign_id: Id | None = None
    scheduled_at: Moment | None = None


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


# --- Media --------------------------------------------------------------------------------


class MediaOut(Schema):
    id: int
    url: str
    thumbnail_url: str | None = Field(description="A small WebP preview; none for video.")
    original_name: str
    kind: str
    mime_type: str
    size: int = Field(description="Bytes.")
    width: int | None = Field(description="Pixels, as displayed (EXIF orientation applied).")
    height: int | None
    duration: float | None = Field(description="Seconds, for video read with ffprobe.")
    video_codec: str
    alt_text: str
    folder: str | None = Field(description="The folder's name.")
    tags: list[str]
    checksum: str = Field(description="SHA-256 of the stored file, hex.")
    created_at: datetime

    @staticmethod
    def resolve_url(obj: MediaAsset) -> str:
        return obj.file.url

    @staticmethod
    def resolve_thumbnail_url(obj: MediaAsset) -> str | None:
        return obj.thumbnail.url if obj.thumbnail else None

    @staticmethod
    def resolve_folder(obj: MediaAsset) -> str | None:
        return obj.folder.name if obj.folder else None

    @staticmethod
    def resolve_tags(obj: MediaAsset) -> list[str]:
        return sorted(tag.name for tag in obj.tags.all())


class MediaPage(Schema):
    items: list[MediaOut]
    next_cursor: str | None


class MediaFilters(Schema):
    q: Text = Field("", max_length=200, description="Words to find in name, alt text or tags.")
    kind: MediaKind | None = None
    folder: Text = Field("", max_length=media_service.MAX_FOLDER_LENGTH, description="A name.")
    tag: Text = Field("", max_length=media_service.MAX_TAG_LENGTH)
    missing_alt: bool = Field(False, description="Only media without alt text.")
    cursor: str | None = Field(None, max_length=200, description=CURSOR_DESCRIPTION)
    limit: int = Field(50, ge=1, le=100, description=LIMIT_DESCRIPTION)


class MediaPatch(Schema):
    """Send only what changes; folder null or "" takes the asset out of its folder, tags
    replaces every tag."""

    alt_text: Text | None = Field(None, max_length=media_service.MAX_ALT_TEXT)
    folder: Text | None = Field(None, max_length=media_service.MAX_FOLDER_LENGTH)
    tags: list[Text] | None = Field(None, max_length=media_service.MAX_TAGS)


class MediaUsePost(Schema):
    id: int
    title: str
    deliveries: list[DeliverySummary]

    @staticmethod
    def resolve_deliveries(obj: Post) -> list[Delivery]:
        return list(obj.deliveries.all())


class MediaUsage(Schema):
    posts: list[MediaUsePost]
    sent: int = Field(description="Deliveries on a network that show it: it cannot be deleted.")
    pending: int = Field(description="Scheduled deliveries that show it: delete refused too.")


class MediaBadge(Schema):
    network: str
    state: str = Field(description='"ok", "warn" (publishable, with a note) or "no".')
    reasons: list[str]
    summary: str


def _media(workspace: Any) -> QuerySet[MediaAsset]:
    return MediaAsset.objects.filter(workspace=workspace).select_related("folder")


@router.post(
    "/workspaces/{slug}/media",
    response=responses(MediaOut, 201),
    operation_id="media_upload",
    tags=["media"],
)
@requires("media.upload")
def media_upload(
    request: MemberRequest,
    slug: Slug,
    file: UploadedFile = File(...),  # noqa: B008
    alt_text: str = Form("", max_length=media_service.MAX_ALT_TEXT),  # noqa: B008
    folder: str = Form("", max_length=media_service.MAX_FOLDER_LENGTH),  # noqa: B008
    tags: str = Form("", max_length=1000, description="Comma-separated."),  # noqa: B008
) -> Status:
    """Upload an image (JPEG, PNG, GIF, WebP) or a video (MP4, MOV) as multipart form data.
    Images are stored with their EXIF orientation applied and their metadata (location
    included) removed."""
    asset = media_service.upload_media(
        request.workspace, caller(request), file, alt_text, folder=folder, tags=[tags]
    )
    return Status(201, _media(request.workspace).get(pk=asset.pk))


@router.get(
    "/workspaces/{slug}/media",
    response=responses(MediaPage),
    operation_id="media_list",
    tags=["media"],
)
@requires("media.view")
def media_list(request: MemberRequest, slug: Slug, filters: Query[MediaFilters]) -> dict:
    """Media, newest first, matching every filter given."""
    assets = media_service.search_media(
        request.workspace,
        q=filters.q,
        kind=filters.kind or "",
        folder=filters.folder,
        tag=filters.tag,
        missing_alt=filters.missing_alt,
    )
    return paginate(assets, filters.cursor, filters.limit)


@router.get(
    "/workspaces/{slug}/media/{media_id}",
    response=responses(MediaOut),
    operation_id="media_read",
    tags=["media"],
)
@requires("media.view")
def media_read(request: MemberRequest, slug: Slug, media_id: Id) -> MediaAsset:
    return get_in_workspace(MediaAsset, request.workspace, pk=media_id)


@router.patch(
    "/workspaces/{slug}/media/{media_id}",
    response=responses(MediaOut),
    operation_id="media_update",
    tags=["media"],
)
@requires("media.upload")
def media_update(
    request: MemberRequest, slug: Slug, media_id: Id, payload: MediaPatch
) -> MediaAsset:
    """Change the alt text, the folder or the tags."""
    asset = get_in_workspace(MediaAsset, request.workspace, pk=media_id)
    changes = payload.dict(exclude_unset=True)
    media_service.update_media(
        asset,
        alt_text=changes.get("alt_text"),
        folder=changes.get("folder", media_service.UNCHANGED),
        tags=changes.get("tags"),
    )
    return _media(request.workspace).get(pk=asset.pk)


@router.get(
    "/workspaces/{slug}/media/{media_id}/usage",
    response=responses(MediaUsage),
    operation_id="media_usage",
    tags=["media"],
)
@requires("media.view")
def media_usage(request: MemberRequest, slug: Slug, media_id: Id) -> Any:
    """The posts that show this media, and how many deliveries were sent or are scheduled."""
    asset = get_in_workspace(MediaAsset, request.workspace, pk=media_id)
    return media_service.media_usage(asset)


@router.get(
    "/workspaces/{slug}/media/{media_id}/compatibility",
    response=responses(list[MediaBadge]),
    operation_id="media_compatibility",
    tags=["media"],
)
@requires("media.view")
def media_compatibility(request: MemberRequest, slug: Slug, media_id: Id) -> Any:
    """Whether each network the workspace publishes to takes this media, and why not."""
    asset = get_in_workspace(MediaAsset, request.workspace, pk=media_id)
    return compat.badges(asset, compat.workspace_networks(request.workspace))


@router.delete(
    "/workspaces/{slug}/media/{media_id}",
    response=responses(None, 204),
    operation_id="media_delete",
    tags=["media"],
)
@requires("media.delete")
def media_delete(request: MemberRequest, slug: Slug, media_id: Id) -> Status:
    """Delete media that no published or scheduled post shows."""
    media_service.delete_media(get_in_workspace(MediaAsset, request.workspace, pk=media_id))
    return Status(204, None)


# --- Labels, pillars, campaigns -----------------------------------------------------------


class LabelOut(Schema):
    id: int
    name: str
    color: str


class LabelIn(Schema):
    name: Text = Field(min_length=1, max_length=60)
    color: str = Field("#6b7280", pattern=HEX_COLOR, description="A CSS hex colour.")


class LabelPatch(Schema):
    name: Text | None = Field(None, min_length=1, max_length=60)
    color: str | None = Field(None, pattern=HEX_COLOR)


class PillarOut(Schema):
    id: int
    name: str
    description: str
    color: str
    target_share: int = Field(description="Percent of the mix, 0 to 100.")


class PillarIn(Schema):
    name: Text = Field(min_length=1, max_length=60)
    description: Text = Field("", max_length=300)
    color: str = Field("#2563eb", pattern=HEX_COLOR)
    target_share: int = Field(0, ge=0, le=100)


class PillarPatch(Schema):
    name: Text | None = Field(None, min_length=1, max_length=60)
    description: Text | None = Field(None, max_length=300)
    color: str | None = Field(None, pattern=HEX_COLOR)
    target_share: int | None = Field(None, ge=0, le=100)


class CampaignOut(Schema):
    id: int
    name: str
    starts_on: date
    ends_on: date
    goal: str
    budget: Decimal
    utm_campaign: str


class CampaignIn(Schema):
    name: Text = Field(min_length=1, max_length=120)
    starts_on: date
    ends_on: date = Field(description="On or after starts_on.")
    goal: Text = Field("", max_length=300)
    budget: Decimal = Field(Decimal(0), ge=0, max_digits=12, decimal_places=2)
    utm_campaign: str = Field("", max_length=100, pattern=r"^[-a-zA-Z0-9_]*$")


class CampaignPatch(Schema):
    name: Text | None = Field(None, min_length=1, max_length=120)
    starts_on: date | None = None
    ends_on: date | None = None
    goal: Text | None = Field(None, max_length=300)
    budget: Decimal | None = Field(None, ge=0, max_digits=12, decimal_places=2)
    utm_campaign: str | None = Field(None, max_length=100, pattern=r"^[-a-zA-Z0-9_]*$")


def _save_simple(obj: Model, fields: list[str] | None = None) -> Model:
    return save_owned(obj, fields=fields)


def _save_campaign(obj: Model, fields: list[str] | None = None) -> Model:
    return services.save_campaign(obj, fields)  # type: ignore[arg-type]


def _taxonomy_routes(
    plural: str,
    model: type[Model],
    out: type,
    create: type,
    patch: type,
    save: Any,
    id_name: str = "",
    tags: list[str] | None = None,
) -> None:
    """CRUD for one taxonomy model: anyone reads, owners and managers change."""
    name = model._meta.verbose_name
    id_name = id_name or f"{name}_id"
    tags = tags or TAXONOMY_TAGS
    collection = f"/workspaces/{{slug}}/{plural}"
    item = f"{collection}/{{{id_name}}}"

    @requires("taxonomy.view")
    def list_(request: MemberRequest, slug: Slug) -> QuerySet:
        return model._default_manager.filter(workspace=request.workspace)

    @requires("taxonomy.manage")
    def create_(request: MemberRequest, slug: Slug, payload: create) -> Status:  # type: ignore[valid-type]
        obj = model(workspace=request.workspace, **payload.dict())  # type: ignore[attr-defined]
        return Status(201, save(obj))

    @requires("taxonomy.view")
    def read_(request: MemberRequest, slug: Slug, **ids: int) -> Model:
        return get_in_workspace(model, request.workspace, pk=ids[id_name])

    @requires("taxonomy.manage")
    def update_(request: MemberRequest, slug: Slug, payload: patch, **ids: int) -> Model:  # type: ignore[valid-type]
        obj = get_in_workspace(model, request.workspace, pk=ids[id_name])
        changes = payload.dict(exclude_none=True)  # type: ignore[attr-defined]
        for field, value in changes.items():
            setattr(obj, field, value)
        return save(obj, list(changes))

    @requires("taxonomy.manage")
    def delete_(request: MemberRequest, slug: Slug, **ids: int) -> Status:
        get_in_workspace(model, request.workspace, pk=ids[id_name]).delete()
        return Status(204, None)

    # The id's name differs per model: give the item handlers a real parameter for it.
    for handler in (read_, update_, delete_):
        _with_id_parameter(handler, id_name)

    router.get(
        collection,
        response=responses(list[out]),  # type: ignore[valid-type]
        operation_id=f"{plural}_list",
        tags=tags,
    )(list_)
    router.post(
        collection,
        response=responses(out, 201),
        operation_id=f"{plural}_create",
        tags=tags,
    )(create_)
    router.get(
        item,
        response=responses(out),
        operation_id=f"{plural}_read",
        tags=tags,
    )(read_)
    router.patch(
        item,
        response=responses(out),
        operation_id=f"{plural}_update",
        tags=tags,
    )(update_)
    router.delete(
        item,
        response=responses(None, 204),
        operation_id=f"{plural}_delete",
        tags=tags,
    )(delete_)


@requires("taxonomy.manage")
def _with_id_parameter(handler: Any, id_name: str) -> None:
    signature = inspect.signature(handler)
    params = [p for p in signature.parameters.values() if p.kind is not p.VAR_KEYWORD]
    params.append(inspect.Parameter(id_name, inspect.Parameter.KEYWORD_ONLY, annotation=Id))
    handler.__signature__ = signature.replace(parameters=params)
    handler.__annotations__ = {**handler.__annotations__, id_name: Id}


_taxonomy_routes("labels", Label, LabelOut, LabelIn, LabelPatch, _save_simple)
_taxonomy_routes("pillars", Pillar, PillarOut, PillarIn, PillarPatch, _save_simple)
_taxonomy_routes("campaigns", Campaign, CampaignOut, CampaignIn, CampaignPatch, _save_campaign)


# --- Composer aids: hashtag groups and templates (issue 5, item 3) -------------------------


class HashtagGroupOut(Schema):
    id: int
    name: str
    hashtags: str


class HashtagGroupIn(Schema):
    name: Text = Field(..., min_length=1, max_length=60)
    hashtags: Text = Field(..., max_length=500, description="Separated by spaces or commas.")


class HashtagGroupPatch(Schema):
    name: Text | None = Field(None, min_length=1, max_length=60)
    hashtags: Text | None = Field(None, max_length=500)


class PostTemplateOut(Schema):
    id: int
    name: str
    text: str
    placeholders: list[str] = Field(description="The {names} the composer asks for.")

    @staticmethod
    def resolve_placeholders(obj: PostTemplate) -> list[str]:
        return placeholders(obj.text)


class PostTemplateIn(Schema):
    name: Text = Field(..., min_length=1, max_length=80)
    text: Text = Field(..., min_length=1, max_length=5000)


class PostTemplatePatch(Schema):
    name: Text | None = Field(None, min_length=1, max_length=80)
    text: Text | None = Field(None, min_length=1, max_length=5000)


_taxonomy_routes(
    "hashtag_groups",
    HashtagGroup,
    HashtagGroupOut,
    HashtagGroupIn,
    HashtagGroupPatch,
    _save_simple,
    id_name="group_id",
    tags=["composer"],
)
_taxonomy_routes(
    "post_templates",
    PostTemplate,
    PostTemplateOut,
    PostTemplateIn,
    PostTemplatePatch,
    _save_simple,
    id_name="template_id",
    tags=["composer"],
)
