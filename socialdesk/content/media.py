"""The media library: validate by content, clean, measure, checksum, store, file, find, delete.

An image is recognised by decoding its header with Pillow (JPEG, PNG, GIF, WebP), never by
its name or the browser's claimed type. Before it is stored, an image that carries metadata
(EXIF, XMP) is re-encoded without it: its EXIF orientation is applied to the pixels first, and
the location (GPS), camera serial numbers and everything else EXIF says are dropped, so that
a photo taken at someone's home never tells where the home is. An image without metadata is
stored byte for byte. A small WebP thumbnail is made for the library grid.

Video (MP4, MOV) is accepted by extension plus declared MIME type plus the ISO media ``ftyp``
box that both formats start with. Its duration, dimensions and codec are read with ffprobe
(from ffmpeg) when the server has it; without it they stay unknown and the library says so.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import re
import shutil
import subprocess
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile, File
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.db.models import Q, QuerySet
from PIL import Image, ImageOps

from socialdesk.publishing.models import Delivery, DeliveryState
from socialdesk.workspaces.models import User, Workspace

from .models import MediaAsset, MediaFolder, MediaKind, MediaTag, Post

logger = logging.getLogger(__name__)

# Pillow format → (MIME type, file extension).
IMAGE_FORMATS = {
    "JPEG": ("image/jpeg", "jpg"),
    "PNG": ("image/png", "png"),
    "GIF": ("image/gif", "gif"),
    "WEBP": ("image/webp", "webp"),
}
# File extension → accepted declared MIME types.
VIDEO_TYPES = {
    "mp4": ("video/mp4", {"video/mp4"}),
    "mov": ("video/quicktime", {"video/quicktime", "video/mp4"}),
}
ACCEPTED = "JPEG, PNG, GIF or WebP images, or MP4 or MOV video"
MAX_ALT_TEXT = 2000
MAX_TAGS = 20
MAX_TAG_LENGTH = 40
MAX_FOLDER_LENGTH = 80
THUMBNAIL_SIZE = (480, 480)
# The most pixels an image may have: 80 megapixels (e.g. 10,000 × 8,000), below Pillow's own
# decompression-bomb warning (about 89 megapixels), since decoding holds every pixel in memory.
MAX_IMAGE_PIXELS = 80_000_000
FFPROBE_TIMEOUT = 30  # seconds; a hostile file must not hold a request for long
FFPROBE_MISSING = (
    "Duration, size and codec unknown: ffprobe is not installed on this server "
    "(install ffmpeg to read video details)."
)
# States in which a delivery's content is on the network (or may be).
SENT_STATES = (DeliveryState.PUBLISHING, DeliveryState.PUBLISHED, DeliveryState.UNKNOWN)
# States in which a delivery will still be sent without anyone touching it again.
PENDING_STATES = (
    DeliveryState.SCHEDULED,
    DeliveryState.AWAITING_APPROVAL,
    DeliveryState.WAITING_RETRY,
)


def _file_error(message: str) -> ValidationError:
    return ValidationError({"file": [message]})


# --- Images ---------------------------------------------------------------------------------


def _too_many_pixels(pixels: int, size: str = "") -> ValidationError:
    return _file_error(
        f"This image is too large: {size}{pixels:,} pixels; the limit is "
        f"{MAX_IMAGE_PIXELS:,} pixels (e.g. 10,000 × 8,000). Make it smaller and upload it again."
    )


def _inspect_image(uploaded: UploadedFile) -> dict[str, Any] | None:
    """Kind, MIME, extension and size of an image, or None when Pillow cannot read it.

    An image with more than MAX_IMAGE_PIXELS is refused here (ValidationError naming
    ``file``), with its size, before any pixel is decoded.
    """
    uploaded.seek(0)
    try:
        with Image.open(uploaded) as image:
            image_format = image.format or ""
            width, height = image.size
            animated = bool(getattr(image, "is_animated", False))
    except Image.DecompressionBombError as error:
        # Pillow refuses at open, before we see the size; its message holds the pixel count.
        found = re.search(r"\((\d+) pixels\)", str(error))
        raise _too_many_pixels(int(found.group(1)) if found else MAX_IMAGE_PIXELS + 1) from None
    # Decoders raise many exception types on hostile input; every one of them means
    # "not an image we accept".
    except Exception:
        return None
    finally:
        uploaded.seek(0)
    if image_format not in IMAGE_FORMATS:
        return None
    if width * height > MAX_IMAGE_PIXELS:
        raise _too_many_pixels(width * height, f"{width:,} × {height:,} = ")
    mime, extension = IMAGE_FORMATS[image_format]
    kind = MediaKind.GIF if image_format == "GIF" and animated else MediaKind.IMAGE
    return {
        "kind": kind,
        "mime": mime,
        "ext": extension,
        "width": width,
        "height": height,
        "format": image_format,
        "animated": animated,
    }


def _carries_metadata(image: Image.Image) -> bool:
    """EXIF (any tag: orientation, GPS, camera, time) or XMP, which can hold a location too."""
    return bool(image.getexif()) or any(
        key in image.info for key in ("exif", "xmp", "XML:com.adobe.xmp")
    )


@dataclass(frozen=True)
class ProcessedImage:
    content: bytes | None  # the cleaned file; None: store the upload unchanged
    width: int
    height: int
    thumbnail: bytes


def process_image(data: Any, image_format: str) -> ProcessedImage:
    """Apply the EXIF orientation, strip EXIF and XMP, measure, and make a thumbnail of the
    image in ``data`` (a binary file object or an uploaded file).

    Animated images are stored unchanged (re-encoding every frame is slow and lossy; GIF has
    no EXIF); their thumbnail is the first frame. Only the colour profile is carried over to
    a cleaned file: it changes how the picture looks and says nothing about who took it.
    """
    data.seek(0)
    with Image.open(data) as opened:
        animated = bool(getattr(opened, "is_animated", False))
        clean = not animated and _carries_metadata(opened)
        image = opened if animated else ImageOps.exif_transpose(opened)
        image.load()
        icc_profile = opened.info.get("icc_profile")
        content = _encode_clean(image, image_format, icc_profile) if clean else None
        width, height = image.size
        thumbnail = _thumbnail(image)
    data.seek(0)
    return ProcessedImage(content, width, height, thumbnail)


def _encode_clean(image: Image.Image, image_format: str, icc_profile: bytes | None) -> bytes:
    # A fresh copy with an empty ``info`` so no encoder finds metadata to write back.
    pixels = image.copy()
    pixels.info = {}
    options: dict[str, Any] = {"icc_profile": icc_profile} if icc_profile else {}
    if image_format == "JPEG":
        if pixels.mode not in ("RGB", "L", "CMYK"):
            pixels = pixels.convert("RGB")
        options.update(quality=92, optimize=True)
    elif image_format == "WEBP":
        options.update(quality=92)
    buffer = io.BytesIO()
    pixels.save(buffer, format=image_format, **options)
    return buffer.getvalue()


def _thumbnail(image: Image.Image) -> bytes:
    preview = image.copy()
    preview.thumbnail(THUMBNAIL_SIZE)
    has_alpha = preview.mode in ("RGBA", "LA", "PA") or "transparency" in preview.info
    preview = preview.convert("RGBA" if has_alpha else "RGB")
    buffer = io.BytesIO()
    preview.save(buffer, format="WEBP", quality=80)
    return buffer.getvalue()


# --- Video ----------------------------------------------------------------------------------


def _inspect_video(uploaded: UploadedFile) -> dict[str, Any] | None:
    name = uploaded.name or ""
    extension = name.rsplit(".", 1)[-1].lower() if "." in name else ""
    if extension not in VIDEO_TYPES:
        return None
    mime, declared_ok = VIDEO_TYPES[extension]
    declared = (uploaded.content_type or "").split(";")[0].strip().lower()
    if declared not in declared_ok:
        raise _file_error(
            f"A .{extension} file must be sent as {' or '.join(sorted(declared_ok))}, "
            f"not {declared or 'no type'}."
        )
    uploaded.seek(0)
    head = uploaded.read(12)
    uploaded.seek(0)
    if head[4:8] != b"ftyp":
        raise _file_error(f"This file is not an {extension.upper()} video.")
    return {"kind": MediaKind.VIDEO, "mime": mime, "ext": extension, "width": None, "height": None}


@dataclass(frozen=True)
class VideoFacts:
    duration: float | None
    width: int | None
    height: int | None
    codec: str


def ffprobe_path() -> str | None:
    """Where ffprobe is, or None: it is optional (Debian: ``apt-get install ffmpeg``)."""
    return shutil.which("ffprobe")


def parse_ffprobe(report: dict[str, Any]) -> VideoFacts:
    """Duration, displayed size and codec from ``ffprobe -print_format json -show_format
    -show_streams``. A phone's portrait video is stored landscape with a rotation (side data
    in current ffmpeg, a ``rotate`` tag in old ones): width and height are swapped for it."""
    streams = report.get("streams") or []
    video = next((s for s in streams if s.get("codec_type") == "video"), None) or {}
    duration = _number((report.get("format") or {}).get("duration")) or _number(
        video.get("duration")
    )
    width, height = _number(video.get("width")), _number(video.get("height"))
    rotation = _number((video.get("tags") or {}).get("rotate")) or 0
    for side in video.get("side_data_list") or []:
        rotation = _number(side.get("rotation")) or rotation
    if width and height and int(abs(rotation)) % 180 == 90:
        width, height = height, width
    return VideoFacts(
        duration=round(duration, 3) if duration else None,
        width=int(width) if width else None,
        height=int(height) if height else None,
        codec=str(video.get("codec_name") or "")[:40],
    )


def _number(value: Any) -> float | None:
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def probe_video(path: str) -> VideoFacts | None:
    """What ffprobe says about the file at ``path``; None when ffprobe is absent or fails
    (the upload is kept either way: the details are a nicety, the checks at upload are not)."""
    executable = ffprobe_path()
    if executable is None:
        return None
    command = [
        executable,
        *("-v", "error", "-print_format", "json", "-show_format", "-show_streams", path),
    ]
    try:
        completed = subprocess.run(
            command, capture_output=True, timeout=FFPROBE_TIMEOUT, check=True
        )
        return parse_ffprobe(json.loads(completed.stdout or b"{}"))
    except (OSError, subprocess.SubprocessError, ValueError) as error:
        logger.warning("ffprobe could not read %s: %s", path, error)
        return None


# --- Upload ---------------------------------------------------------------------------------


def _check_alt_text(alt_text: str) -> None:
    if len(alt_text) > MAX_ALT_TEXT:
        raise ValidationError(
            {"alt_text": [f"Alt text is {len(alt_text)} characters; the limit is {MAX_ALT_TEXT}."]}
        )


def _checksum(content: File) -> str:
    digest = hashlib.sha256()
    content.seek(0)
    for chunk in content.chunks():
        digest.update(chunk)
    content.seek(0)
    return digest.hexdigest()


def upload_media(
    workspace: Workspace,
    user: User | None,
    uploaded: UploadedFile,
    alt_text: str = "",
    *,
    folder: str | None = None,
    tags: Iterable[str] | None = None,
) -> MediaAsset:
    """Store an uploaded file as a media asset of ``workspace``, cleaned and measured.

    Refuses (ValidationError naming ``file``, ``alt_text``, ``folder`` or ``tags``) anything
    over ``settings.MEDIA_MAX_BYTES``, empty files and types other than those listed above.
    ``folder`` is a folder's name (made when new); ``tags`` are names too. The row, the file
    and its thumbnail are written together: a failed database write removes the files.
    """
    size = uploaded.size or 0
    if size == 0:
        raise _file_error("The file is empty.")
    if size > settings.MEDIA_MAX_BYTES:
        raise _file_error(
            f"The file is {size} bytes; the limit is {settings.MEDIA_MAX_BYTES} bytes."
        )
    _check_alt_text(alt_text)
    tag_names = clean_tags(tags or [])
    folder_name = clean_folder(folder or "")
    facts = _inspect_image(uploaded) or _inspect_video(uploaded)
    if facts is None:
        raise _file_error(f"This file type is not accepted; upload {ACCEPTED}.")

    stored: File = uploaded
    processed = None
    if facts["kind"] != MediaKind.VIDEO:
        try:
            processed = process_image(uploaded, facts["format"])
        except Exception as error:  # a header that decodes but pixels that do not
            raise _file_error("This image is damaged and cannot be read.") from error
        if processed.content is not None:
            stored = ContentFile(processed.content)
        facts["width"], facts["height"] = processed.width, processed.height

    original_name = (uploaded.name or "").replace("\x00", "")[:255]
    asset = MediaAsset(
        workspace=workspace,
        original_name=original_name,
        kind=facts["kind"],
        mime_type=facts["mime"],
        size=stored.size or size,
        width=facts["width"],
        height=facts["height"],
        alt_text=alt_text,
        checksum=_checksum(stored),
        uploaded_by=user,
    )
    # The stored name comes from the checksum and the detected type, never the client's name.
    asset.file.save(f"upload.{facts['ext']}", stored, save=False)
    try:
        if processed is not None:
            asset.thumbnail.save("thumb.webp", ContentFile(processed.thumbnail), save=False)
        elif facts["kind"] == MediaKind.VIDEO:
            video = probe_video(asset.file.path)
            if video is not None:
                asset.duration, asset.video_codec = video.duration, video.codec
                asset.width, asset.height = video.width, video.height
        with transaction.atomic():
            if folder_name:
                asset.folder = _folder(workspace, folder_name)
            asset.save()
            if tag_names:
                asset.tags.set(_tags(workspace, tag_names))
    except BaseException:
        discard_files(asset)
        raise
    return asset


def discard_files(asset: MediaAsset) -> None:
    """Delete an asset's file and thumbnail from storage: for a caller whose own transaction
    rolled an upload's row back."""
    for file in (asset.file, asset.thumbnail):
        if file:
            file.delete(save=False)


# --- Alt text, folders, tags ----------------------------------------------------------------


def clean_tags(names: Iterable[str]) -> list[str]:
    """Tags as people type them ("Bread, christmas") to unique lower-case names."""
    cleaned: list[str] = []
    for raw in names:
        for part in str(raw).split(","):
            name = " ".join(part.split()).lower()
            if not name or name in cleaned:
                continue
            if len(name) > MAX_TAG_LENGTH:
                raise ValidationError(
                    {"tags": [f"The tag “{name[:20]}…” is too long; at most {MAX_TAG_LENGTH}."]}
                )
            cleaned.append(name)
    if len(cleaned) > MAX_TAGS:
        raise ValidationError({"tags": [f"{len(cleaned)} tags; an asset takes up to {MAX_TAGS}."]})
    return cleaned


def clean_folder(name: str) -> str:
    name = " ".join(str(name).split())
    if len(name) > MAX_FOLDER_LENGTH:
        raise ValidationError(
            {"folder": [f"The folder name is {len(name)} characters; at most {MAX_FOLDER_LENGTH}."]}
        )
    return name


def _folder(workspace: Workspace, name: str) -> MediaFolder:
    folder, _ = MediaFolder.objects.get_or_create(workspace=workspace, name=name)
    return folder


def _tags(workspace: Workspace, names: list[str]) -> list[MediaTag]:
    existing = {t.name: t for t in MediaTag.objects.filter(workspace=workspace, name__in=names)}
    return [
        existing.get(name) or MediaTag.objects.create(workspace=workspace, name=name)
        for name in names
    ]


UNCHANGED: Any = object()  # "leave the folder as it is" (None clears it)


def update_media(
    asset: MediaAsset,
    *,
    alt_text: str | None = None,
    folder: str | None = UNCHANGED,
    tags: Iterable[str] | None = None,
) -> MediaAsset:
    """Change what describes an asset; only what is given changes. ``folder`` is a name
    ("" or None takes the asset out of its folder); ``tags`` replaces every tag. Tags no
    asset uses any more are removed, so the tag filter lists only useful ones."""
    fields: list[str] = []
    if alt_text is not None:
        _check_alt_text(alt_text)
        asset.alt_text = alt_text
        fields.append("alt_text")
    tag_names = clean_tags(tags) if tags is not None else None
    folder_name = clean_folder(folder or "") if folder is not UNCHANGED else None
    with transaction.atomic():
        if folder_name is not None:
            asset.folder = _folder(asset.workspace, folder_name) if folder_name else None
            fields.append("folder")
        if fields:
            asset.save(update_fields=fields)
        if tag_names is not None:
            asset.tags.set(_tags(asset.workspace, tag_names))
            MediaTag.objects.filter(workspace_id=asset.workspace_id, assets=None).delete()
    return asset


def update_alt_text(asset: MediaAsset, alt_text: str) -> MediaAsset:
    """Describe the media for people who cannot see it."""
    return update_media(asset, alt_text=alt_text)


# --- Finding and usage ----------------------------------------------------------------------


def search_media(
    workspace: Workspace,
    *,
    q: str = "",
    kind: str = "",
    folder: str = "",
    tag: str = "",
    missing_alt: bool = False,
) -> QuerySet[MediaAsset]:
    """The workspace's media matching every given filter, newest first. ``q`` looks in the
    file name, the alt text and the tags; ``folder`` and ``tag`` are names."""
    assets = MediaAsset.objects.filter(workspace=workspace)
    for word in q.split()[:10]:
        matching_tags = MediaTag.objects.filter(workspace=workspace, name__icontains=word)
        assets = assets.filter(
            Q(original_name__icontains=word)
            | Q(alt_text__icontains=word)
            | Q(
                pk__in=MediaAsset.tags.through.objects.filter(mediatag__in=matching_tags).values(
                    "mediaasset_id"
                )
            )
        )
    if kind:
        assets = assets.filter(kind=kind)
    if folder:
        assets = assets.filter(folder__name=folder)
    if tag:
        assets = assets.filter(tags__name=tag.lower())
    if missing_alt:
        assets = assets.filter(alt_text="")
    return assets.select_related("folder").prefetch_related("tags").order_by("-created_at", "-id")


def posts_using(asset: MediaAsset) -> QuerySet[Post]:
    """Posts that show the asset: in their shared media or in one delivery's own media."""
    overriding = Delivery.objects.filter(media_override=asset).values("post_id")
    return (
        Post.objects.filter(workspace_id=asset.workspace_id)
        .filter(Q(media=asset) | Q(pk__in=overriding))
        .distinct()
        .order_by("-created_at", "-id")
    )


def _deliveries_showing(asset: MediaAsset) -> QuerySet[Delivery]:
    """Deliveries whose content includes the asset: their post's media unless they override it."""
    return Delivery.objects.filter(
        Q(post__media=asset, media_override=None) | Q(media_override=asset)
    ).distinct()


@dataclass(frozen=True)
class Usage:
    posts: list[Post]
    sent: int  # deliveries on a network (or maybe): the asset cannot be deleted
    pending: int  # deliveries still to be sent: deleting would change them


def media_usage(asset: MediaAsset) -> Usage:
    deliveries = _deliveries_showing(asset)
    # The shared media counts even when a delivery overrides it: be strict about "sent".
    sent = Delivery.objects.filter(
        Q(post__media=asset) | Q(media_override=asset), state__in=SENT_STATES
    )
    return Usage(
        posts=list(posts_using(asset).prefetch_related("deliveries__channel")),
        sent=sent.distinct().count(),
        pending=deliveries.filter(state__in=PENDING_STATES).count(),
    )


def delete_media(asset: MediaAsset) -> None:
    """Delete media unless a published (or publishing) delivery shows it (the network still
    links to it) or a scheduled one will (deleting would silently change what is published:
    take it out of those posts first). Drafts simply lose it. The files go once the row's
    deletion is committed."""
    usage = media_usage(asset)
    if usage.sent:
        raise ValidationError(
            {"media": ["A published post uses this media; delete the post on the network first."]}
        )
    if usage.pending:
        plural = "delivery uses" if usage.pending == 1 else "deliveries use"
        raise ValidationError(
            {
                "media": [
                    f"{usage.pending} scheduled {plural} this media; remove it from those posts "
                    "or unschedule them first."
                ]
            }
        )
    file, thumbnail = asset.file, asset.thumbnail
    with transaction.atomic():
        asset.delete()
        MediaTag.objects.filter(workspace_id=asset.workspace_id, assets=None).delete()
        transaction.on_commit(lambda: file.delete(save=False))
        if thumbnail:
            transaction.on_commit(lambda: thumbnail.delete(save=False))
