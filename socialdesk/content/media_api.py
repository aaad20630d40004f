"""API: the media library (upload, search, alt text, folders and tags, usage, per-network
compatibility, delete)."""

from datetime import datetime
from typing import Any

from django.db.models import QuerySet
from ninja import Field, File, Form, Query, Router, Schema, Status
from ninja.files import UploadedFile

from socialdesk.api_support import (
    CURSOR_DESCRIPTION,
    LIMIT_DESCRIPTION,
    Id,
    MemberRequest,
    Slug,
    Text,
    caller,
    paginate,
    requires,
    responses,
)
from socialdesk.publishing.models import Delivery
from socialdesk.workspaces.access import get_in_workspace

from . import compat
from . import media as media_service
from .models import MediaAsset, MediaKind, Post
from .posts_api import DeliverySummary

router = Router()


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
