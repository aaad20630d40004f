"""Media uploads: validate by content, measure, checksum, store; delete when no longer needed.

An image is recognised by decoding its header with Pillow (JPEG, PNG, GIF, WebP), never by
its name or the browser's claimed type. Video (MP4, MOV) cannot be decoded here without
ffmpeg, so it is accepted by extension plus declared MIME type plus the ISO media ``ftyp``
box that both formats start with; its dimensions and duration stay unknown for now.
"""

from __future__ import annotations

import hashlib
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from PIL import Image

from socialdesk.publishing.models import Delivery, DeliveryState
from socialdesk.workspaces.models import User, Workspace

from .models import MediaAsset, MediaKind

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
# States in which a delivery's content is on the network (or may be).
SENT_STATES = (DeliveryState.PUBLISHING, DeliveryState.PUBLISHED, DeliveryState.UNKNOWN)


def _file_error(message: str) -> ValidationError:
    return ValidationError({"file": [message]})


def _checksum(uploaded: UploadedFile) -> str:
    digest = hashlib.sha256()
    for chunk in uploaded.chunks():
        digest.update(chunk)
    uploaded.seek(0)
    return digest.hexdigest()


def _inspect_image(uploaded: UploadedFile) -> dict[str, Any] | None:
    """Kind, MIME, extension and size of an image, or None when Pillow cannot read it."""
    uploaded.seek(0)
    try:
        with Image.open(uploaded) as image:
            image_format = image.format or ""
            width, height = image.size
            animated = bool(getattr(image, "is_animated", False))
    # Decoders raise many exception types on hostile input (and DecompressionBombError on
    # huge dimensions); every one of them means "not an image we accept".
    except Exception:
        return None
    finally:
        uploaded.seek(0)
    if image_format not in IMAGE_FORMATS:
        return None
    mime, extension = IMAGE_FORMATS[image_format]
    kind = MediaKind.GIF if image_format == "GIF" and animated else MediaKind.IMAGE
    return {"kind": kind, "mime": mime, "ext": extension, "width": width, "height": height}


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


def upload_media(
    workspace: Workspace, user: User | None, uploaded: UploadedFile, alt_text: str = ""
) -> MediaAsset:
    """Store an uploaded file as a media asset of ``workspace``.

    Refuses (ValidationError naming ``file`` or ``alt_text``) anything over
    ``settings.MEDIA_MAX_BYTES``, empty files and types other than those listed above. The
    row and the file are written together: a failed database write removes the file.
    """
    size = uploaded.size or 0
    if size == 0:
        raise _file_error("The file is empty.")
    if size > settings.MEDIA_MAX_BYTES:
        raise _file_error(
            f"The file is {size} bytes; the limit is {settings.MEDIA_MAX_BYTES} bytes."
        )
    if len(alt_text) > MAX_ALT_TEXT:
        raise ValidationError(
            {"alt_text": [f"Alt text is {len(alt_text)} characters; the limit is {MAX_ALT_TEXT}."]}
        )
    facts = _inspect_image(uploaded) or _inspect_video(uploaded)
    if facts is None:
        raise _file_error(f"This file type is not accepted; upload {ACCEPTED}.")
    original_name = (uploaded.name or "").replace("\x00", "")[:255]
    asset = MediaAsset(
        workspace=workspace,
        original_name=original_name,
        kind=facts["kind"],
        mime_type=facts["mime"],
        size=size,
        width=facts["width"],
        height=facts["height"],
        alt_text=alt_text,
        checksum=_checksum(uploaded),
        uploaded_by=user,
    )
    # The stored name comes from the checksum and the detected type, never the client's name.
    asset.file.save(f"upload.{facts['ext']}", uploaded, save=False)
    try:
        with transaction.atomic():
            asset.save()
    except Exception:
        asset.file.delete(save=False)
        raise
    return asset


def update_alt_text(asset: MediaAsset, alt_text: str) -> MediaAsset:
    """Describe the media for people who cannot see it."""
    if len(alt_text) > MAX_ALT_TEXT:
        raise ValidationError(
            {"alt_text": [f"Alt text is {len(alt_text)} characters; the limit is {MAX_ALT_TEXT}."]}
        )
    asset.alt_text = alt_text
    asset.save(update_fields=["alt_text"])
    return asset


def delete_media(asset: MediaAsset) -> None:
    """Delete media unless a published (or publishing) delivery shows it; the network still
    links to it. The file goes once the row's deletion is committed."""
    used = (
        Delivery.objects.filter(state__in=SENT_STATES).filter(post__media=asset).exists()
        or Delivery.objects.filter(state__in=SENT_STATES, media_override=asset).exists()
    )
    if used:
        raise ValidationError(
            {"media": ["A published post uses this media; delete the post on the network first."]}
        )
    file = asset.file
    with transaction.atomic():
        asset.delete()
        transaction.on_commit(lambda: file.delete(save=False))
