"""Media uploads: recognised by content, measured, checksummed, limited in size."""

from __future__ import annotations

import hashlib
import io

import pytest
from api_helpers import call, png_bytes
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from socialdesk.content.models import MediaAsset
from socialdesk.publishing.models import DeliveryState


@pytest.fixture
def owner_token(owner, token_for, settings, tmp_path) -> str:
    settings.MEDIA_ROOT = tmp_path
    return token_for(owner)


def upload(token: str, name: str, content: bytes, mime: str, alt_text: str = ""):
    file = SimpleUploadedFile(name, content, content_type=mime)
    return call(
        "post", "/workspaces/crumb/media", token, files={"file": file, "alt_text": alt_text}
    )


def test_a_real_png_is_stored_with_its_dimensions_and_checksum(owner_token, workspace):
    content = png_bytes(width=64, height=48)
    response = upload(owner_token, "loaf.png", content, "image/png", alt_text="A loaf")
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["width"], body["height"]) == (64, 48)
    assert body["checksum"] == hashlib.sha256(content).hexdigest()
    assert body["size"] == len(content)
    assert (body["kind"], body["mime_type"], body["alt_text"]) == ("image", "image/png", "A loaf")
    asset = MediaAsset.objects.get(pk=body["id"])
    assert asset.workspace == workspace
    assert asset.file.read() == content


def test_the_type_comes_from_the_content_not_the_name(owner_token):
    buffer = io.BytesIO()
    Image.new("RGB", (5, 5), "brown").save(buffer, format="JPEG")
    response = upload(owner_token, "photo.png", buffer.getvalue(), "image/png")
    assert response.status_code == 201
    assert response.json()["mime_type"] == "image/jpeg"


def test_an_animated_gif_is_kind_gif(owner_token):
    buffer = io.BytesIO()
    frames = [Image.new("RGB", (4, 4), color) for color in ("red", "green", "blue")]
    frames[0].save(buffer, format="GIF", save_all=True, append_images=frames[1:])
    assert upload(owner_token, "a.gif", buffer.getvalue(), "image/gif").json()["kind"] == "gif"


def test_a_text_file_named_like_an_image_is_refused(owner_token):
    response = upload(owner_token, "evil.png", b"<?php echo 1; ?>", "image/png")
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "file"
    assert not MediaAsset.objects.exists()


def test_an_image_type_pillow_reads_but_we_do_not_accept_is_refused(owner_token):
    buffer = io.BytesIO()
    Image.new("RGB", (4, 4)).save(buffer, format="BMP")
    assert upload(owner_token, "x.bmp", buffer.getvalue(), "image/bmp").status_code == 422


def test_a_file_over_the_size_limit_is_refused(owner_token, settings):
    content = png_bytes(width=64, height=64)
    settings.MEDIA_MAX_BYTES = len(content) - 1
    response = upload(owner_token, "big.png", content, "image/png")
    assert response.status_code == 422
    assert "limit" in response.json()["errors"][0]["message"]
    assert not MediaAsset.objects.exists()


def test_a_video_is_accepted_by_extension_mime_and_signature(owner_token):
    mp4 = b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 64
    response = upload(owner_token, "clip.mp4", mp4, "video/mp4")
    assert response.status_code == 201
    assert (response.json()["kind"], response.json()["mime_type"]) == ("video", "video/mp4")
    assert upload(owner_token, "clip.mp4", mp4, "text/plain").status_code == 422
    assert (
        upload(owner_token, "clip.mov", b"not a movie at all", "video/quicktime").status_code == 422
    )


def test_alt_text_can_be_changed(owner_token):
    asset_id = upload(owner_token, "a.png", png_bytes(), "image/png").json()["id"]
    response = call(
        "patch", f"/workspaces/crumb/media/{asset_id}", owner_token, json_body={"alt_text": "Rye"}
    )
    assert response.json()["alt_text"] == "Rye"


def test_media_of_a_published_post_cannot_be_deleted_but_unused_media_can(post, owner_token):
    used = upload(owner_token, "a.png", png_bytes(color="red"), "image/png").json()["id"]
    unused = upload(owner_token, "b.png", png_bytes(color="blue"), "image/png").json()["id"]
    post.media.add(used)
    post.deliveries.update(state=DeliveryState.PUBLISHED)
    refused = call("delete", f"/workspaces/crumb/media/{used}", owner_token)
    assert refused.status_code == 422
    assert refused.json()["errors"][0]["field"] == "media"
    assert call("delete", f"/workspaces/crumb/media/{unused}", owner_token).status_code == 204
    assert list(MediaAsset.objects.values_list("pk", flat=True)) == [used]


def test_media_list_pages_with_a_cursor(owner_token):
    made = [
        upload(owner_token, f"{i}.png", png_bytes(width=i + 1), "image/png").json()["id"]
        for i in range(3)
    ]
    first = call("get", "/workspaces/crumb/media?limit=2", owner_token).json()
    second = call(
        "get", f"/workspaces/crumb/media?limit=2&cursor={first['next_cursor']}", owner_token
    ).json()
    assert [m["id"] for m in first["items"] + second["items"]] == made[::-1]
    assert second["next_cursor"] is None
