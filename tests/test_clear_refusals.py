"""Clear refusals: every refusal says what was wrong, in JSON on the API and in a page on
the web, instead of a misleading message or Django's bare "Bad Request (400)"."""

from __future__ import annotations

import struct
import zlib

from api_helpers import call, png_bytes
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from socialdesk.content.media import MAX_IMAGE_PIXELS
from socialdesk.content.models import MediaAsset, Post
from socialdesk.content.services import unknown_ids_message


def png_header(width: int, height: int) -> bytes:
    """A PNG that declares ``width`` × ``height`` pixels (and holds no pixel data at all)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IEND", b"")


def upload(token: str, name: str, content: bytes):
    file = SimpleUploadedFile(name, content, content_type="image/png")
    return call("post", "/workspaces/crumb/media", token, files={"file": file})


def test_a_30000_pixel_square_png_is_refused_for_its_size_not_its_type(owner, token_for):
    response = upload(token_for(owner), "huge.png", png_header(30_000, 30_000))
    assert response.status_code == 422
    (error,) = response.json()["errors"]
    assert error["field"] == "file"
    assert "900,000,000 pixels" in error["message"]
    assert f"the limit is {MAX_IMAGE_PIXELS:,} pixels" in error["message"]
    assert "type" not in error["message"]
    assert not MediaAsset.objects.exists()


def test_an_image_just_over_the_limit_names_its_width_and_height(owner, token_for):
    response = upload(token_for(owner), "wide.png", png_header(10_001, 8_000))
    message = response.json()["errors"][0]["message"]
    assert "10,001 × 8,000 = 80,008,000 pixels" in message


def test_too_many_form_fields_are_a_problem_on_the_api(owner, token_for, settings):
    fields = {f"f{i}": "x" for i in range(settings.DATA_UPLOAD_MAX_NUMBER_FIELDS + 10)}
    fields["file"] = SimpleUploadedFile("a.png", png_bytes(), content_type="image/png")
    response = call("post", "/workspaces/crumb/media", token_for(owner), files=fields)
    assert response.status_code == 400
    assert response["Content-Type"] == "application/problem+json"
    body = response.json()
    assert body["type"].endswith("too-many-fields")
    assert f"more than {settings.DATA_UPLOAD_MAX_NUMBER_FIELDS:,} fields" in body["detail"]


def test_a_very_long_file_name_is_stored_or_refused_plainly_never_a_bare_400(owner, token_for):
    response = upload(token_for(owner), "a" * 1000 + ".png", png_bytes())
    assert response["Content-Type"].startswith(("application/json", "application/problem+json"))
    if response.status_code == 201:
        assert len(MediaAsset.objects.get().original_name) <= 255
    else:
        assert "file name" in response.json()["detail"]


def test_too_many_form_fields_get_a_friendly_page_on_the_web(creator, signed_in, settings):
    fields = {f"f{i}": "x" for i in range(settings.DATA_UPLOAD_MAX_NUMBER_FIELDS + 10)}
    response = signed_in(creator).post("/w/crumb/posts/new/", fields)
    assert response.status_code == 400
    page = response.content.decode()
    assert "The request could not be read" in page and "too many fields" in page
    assert "<h1>Bad Request (400)</h1>" not in page


def test_malformed_json_is_answered_with_its_line_and_column(owner, token_for):
    response = Client().post(
        "/api/v1/workspaces/crumb/posts",
        data='{\n  "text": "rye",\n  "channel_ids": [1,,2]\n}',
        content_type="application/json",
        headers={"Authorization": f"Bearer {token_for(owner)}"},
    )
    assert response.status_code == 400
    body = response.json()
    assert body["type"].endswith("invalid-json")
    assert (body["line"], body["column"]) == (3, 21)
    assert "line 3, column 21" in body["detail"]


def test_ten_thousand_unknown_channel_ids_are_summarised(owner, token_for, channel):
    unknown = list(range(10_000_000, 10_010_000))
    response = call("post", "/workspaces/crumb/posts", token_for(owner), json_body={
        "text": "rye", "channel_ids": [channel.pk, *unknown],
    })  # fmt: skip
    assert response.status_code == 422
    (error,) = [e for e in response.json()["errors"] if e["field"] == "channel_ids"]
    assert error["message"] == (
        "10,000 channel ids are unknown in this workspace, "
        "for example 10000000, 10000001, 10000002."
    )
    assert len(response.content) < 2_000
    assert not Post.objects.exists()


def test_a_few_unknown_ids_are_all_named():
    assert unknown_ids_message("label", [7, 9]) == "No such label in this workspace: 7, 9."
