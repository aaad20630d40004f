"""The media library: cleaning and measuring images, video facts from ffprobe, network badges,
tags, folders, search, usage, deleting, and the library's pages and API."""

from __future__ import annotations

import io
import json
import os
import random
import stat
from pathlib import Path

import pytest
from api_helpers import call, png_bytes
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from PIL import ExifTags, Image

from socialdesk.content import compat, media
from socialdesk.content.media import delete_media, parse_ffprobe, search_media, upload_media
from socialdesk.content.models import MediaAsset, MediaFolder, MediaTag
from socialdesk.networks import catalog
from socialdesk.networks.models import Channel, Network
from socialdesk.publishing.models import DeliveryState

# ffprobe 5.1.7 (Debian 12) on a 1.5 s, 64×48 H.264 clip tagged rotate=90, made with:
#   ffmpeg -f lavfi -i testsrc=size=64x48:rate=10 -t 1.5 -c:v libx264 -pix_fmt yuv420p a.mp4
#   ffmpeg -i a.mp4 -c copy -metadata:s:v:0 rotate=90 clip.mp4
#   ffprobe -v error -print_format json -show_format -show_streams clip.mp4
FFPROBE_REPORT = Path(__file__).parent / "recordings" / "media" / "ffprobe_rotated_h264.json"
MP4 = b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 64


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


def phone_photo() -> bytes:
    """A 60×40 JPEG as a phone stores a portrait shot: left half blue, right half red, with
    EXIF orientation 6 (rotate 90° clockwise to display), a camera make and a GPS position."""
    image = Image.new("RGB", (60, 40), "red")
    image.paste((0, 0, 255), (0, 0, 30, 40))
    exif = Image.Exif()
    exif[ExifTags.Base.Orientation] = 6
    exif[ExifTags.Base.Make] = "PhoneMaker"
    exif[ExifTags.IFD.GPSInfo] = {
        ExifTags.GPS.GPSLatitudeRef: "N",
        ExifTags.GPS.GPSLatitude: (48.0, 51.0, 24.0),
        ExifTags.GPS.GPSLongitudeRef: "E",
        ExifTags.GPS.GPSLongitude: (2.0, 21.0, 7.0),
    }
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", exif=exif, quality=95)
    return buffer.getvalue()


def jpeg(name: str = "photo.jpg", content: bytes | None = None) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content or phone_photo(), content_type="image/jpeg")


def png(name: str = "bread.png", **kwargs) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, png_bytes(**kwargs), content_type="image/png")


def noisy_png(side: int = 600) -> bytes:
    """A PNG that cannot compress: over 1 MB at 600×600."""
    pixels = random.Random(5).randbytes(side * side * 3)
    buffer = io.BytesIO()
    Image.frombytes("RGB", (side, side), pixels).save(buffer, format="PNG")
    return buffer.getvalue()


# --- Cleaning and measuring images ---------------------------------------------------------


def test_a_phone_photo_is_stored_upright_without_location_or_camera_data(workspace, owner):
    original = phone_photo()
    with Image.open(io.BytesIO(original)) as before:
        assert before.getexif().get_ifd(ExifTags.IFD.GPSInfo)  # the test photo has a location

    asset = upload_media(workspace, owner, jpeg(content=original))

    stored = Path(asset.file.path).read_bytes()
    with Image.open(io.BytesIO(stored)) as after:
        assert dict(after.getexif()) == {}
        assert "exif" not in after.info and "xmp" not in after.info
        assert after.size == (40, 60)  # turned upright: the orientation is in the pixels now
        top, bottom = after.convert("RGB").getpixel((20, 5)), after.getpixel((20, 55))
    assert top[2] > 200 and top[0] < 60  # the blue half is on top once rotated clockwise
    assert bottom[0] > 200 and bottom[2] < 60
    assert b"PhoneMaker" not in stored
    assert (asset.width, asset.height) == (40, 60)
    assert asset.size == len(stored)
    assert asset.checksum == media.hashlib.sha256(stored).hexdigest()


def test_exif_in_a_png_is_removed_too(workspace, owner):
    exif = Image.Exif()
    exif[ExifTags.IFD.GPSInfo] = {ExifTags.GPS.GPSLatitudeRef: "S"}
    exif[ExifTags.Base.Make] = "PhoneMaker"
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), "green").save(buffer, format="PNG", exif=exif)
    upload = SimpleUploadedFile("a.png", buffer.getvalue(), content_type="image/png")

    asset = upload_media(workspace, owner, upload)

    with Image.open(asset.file.path) as after:
        assert dict(after.getexif()) == {}
    assert b"PhoneMaker" not in Path(asset.file.path).read_bytes()


def test_an_image_without_metadata_is_stored_byte_for_byte(workspace, owner):
    content = png_bytes(width=30, height=20)
    upload = SimpleUploadedFile("a.png", content, content_type="image/png")
    asset = upload_media(workspace, owner, upload)
    assert Path(asset.file.path).read_bytes() == content


def test_a_thumbnail_is_made_stored_and_served(workspace, owner, client):
    asset = upload_media(workspace, owner, png(width=1200, height=600))
    assert asset.thumbnail.name.endswith(".thumb.webp")
    with Image.open(asset.thumbnail.path) as thumbnail:
        assert thumbnail.format == "WEBP"
        assert thumbnail.size == (480, 240)
    response = client.get(asset.thumbnail.url)
    assert response.status_code == 200
    assert b"".join(response.streaming_content)[:4] == b"RIFF"


def test_an_animated_gif_is_kept_as_is_with_its_first_frame_as_thumbnail(workspace, owner):
    buffer = io.BytesIO()
    frames = [Image.new("RGB", (10, 10), color) for color in ("red", "green")]
    frames[0].save(buffer, format="GIF", save_all=True, append_images=frames[1:])
    upload = SimpleUploadedFile("a.gif", buffer.getvalue(), content_type="image/gif")
    asset = upload_media(workspace, owner, upload)
    assert Path(asset.file.path).read_bytes() == buffer.getvalue()
    assert asset.thumbnail


def test_a_failed_save_leaves_no_file_behind(workspace, owner, media_root, monkeypatch):
    def broken_save(*args, **kwargs):
        raise RuntimeError("database went away")

    monkeypatch.setattr(MediaAsset, "save", broken_save)
    with pytest.raises(RuntimeError):
        upload_media(workspace, owner, png())
    assert [p for p in Path(media_root).rglob("*") if p.is_file()] == []


# --- Video facts ----------------------------------------------------------------------------


def test_ffprobe_json_gives_length_displayed_size_and_codec():
    facts = parse_ffprobe(json.loads(FFPROBE_REPORT.read_text()))
    assert facts.duration == 1.5
    assert (facts.width, facts.height) == (48, 64)  # rotated 90°: shown portrait
    assert facts.codec == "h264"


def test_ffprobe_json_without_a_video_stream_gives_nothing():
    facts = parse_ffprobe({"streams": [{"codec_type": "audio"}], "format": {"duration": "x"}})
    assert (facts.duration, facts.width, facts.height, facts.codec) == (None, None, None, "")


@pytest.fixture
def fake_ffprobe(tmp_path, monkeypatch) -> Path:
    """An ``ffprobe`` first on PATH that answers with the recorded report and notes its
    arguments, so the upload's call to ffprobe runs for real without ffmpeg installed."""
    folder = tmp_path / "bin"
    folder.mkdir()
    script = folder / "ffprobe"
    script.write_text(
        f'#!/bin/sh\necho "$@" > "{folder}/args"\ncat "{FFPROBE_REPORT}"\n', encoding="utf-8"
    )
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setenv("PATH", f"{folder}:{os.environ.get('PATH', '')}")
    return folder


def test_a_video_upload_records_what_ffprobe_reads(workspace, owner, fake_ffprobe):
    upload = SimpleUploadedFile("clip.mp4", MP4, content_type="video/mp4")
    asset = upload_media(workspace, owner, upload)
    assert (asset.duration, asset.width, asset.height) == (1.5, 48, 64)
    assert asset.video_codec == "h264"
    arguments = (fake_ffprobe / "args").read_text()
    assert "-print_format json" in arguments and asset.file.path in arguments


def test_without_ffprobe_a_video_is_kept_and_the_library_says_why_details_are_missing(
    workspace, owner, tmp_path, monkeypatch
):
    monkeypatch.setenv("PATH", str(tmp_path))  # no ffprobe here
    upload = SimpleUploadedFile("clip.mp4", MP4, content_type="video/mp4")
    asset = upload_media(workspace, owner, upload)
    assert asset.duration is None and asset.video_codec == ""
    mastodon = compat.badge(asset, Network.MASTODON)
    assert mastodon.state == "warn"
    assert "ffprobe is not installed" in mastodon.summary


# --- Network badges -------------------------------------------------------------------------


def test_bluesky_refuses_an_image_over_its_1_mb_limit_mastodon_and_the_page_take_it(
    workspace, owner
):
    upload = SimpleUploadedFile("big.png", noisy_png(), content_type="image/png")
    asset = upload_media(workspace, owner, upload, alt_text="Noise")
    assert asset.size > 1_000_000
    bluesky = compat.badge(asset, Network.BLUESKY)
    assert bluesky.state == "no"
    assert bluesky.reasons == [
        f"This file is {asset.size / 1_000_000:.1f} MB; Bluesky takes images up to 1 MB."
    ]
    assert compat.badge(asset, Network.MASTODON).state == "ok"
    assert compat.badge(asset, Network.PAGE).state == "ok"


def test_bluesky_refuses_video_which_mastodon_and_the_page_take(workspace, owner, fake_ffprobe):
    upload = SimpleUploadedFile("clip.mp4", MP4, content_type="video/mp4")
    asset = upload_media(workspace, owner, upload)
    bluesky = compat.badge(asset, Network.BLUESKY)
    assert bluesky.state == "no"
    assert "video/mp4; Bluesky posts take JPEG, PNG, WebP, GIF images" in bluesky.reasons[0]
    assert compat.badge(asset, Network.MASTODON).state == "ok"
    assert compat.badge(asset, Network.PAGE).state == "ok"


def test_a_panorama_is_flagged_as_cropped_in_timelines_but_still_fits(workspace, owner):
    asset = upload_media(workspace, owner, png(width=400, height=100), alt_text="The shop front")
    bluesky = compat.badge(asset, Network.BLUESKY)
    assert bluesky.state == "warn"
    assert bluesky.reasons == [
        "At 400×100 it is cropped in the timeline preview; people see it whole when they open it."
    ]
    assert compat.badge(asset, Network.PAGE).state == "ok"


def test_an_image_without_alt_text_gets_a_note_and_with_it_fits_cleanly(workspace, owner):
    asset = upload_media(workspace, owner, png())
    assert compat.badge(asset, Network.MASTODON).state == "warn"
    media.update_alt_text(asset, "A loaf on a board")
    assert compat.badge(asset, Network.MASTODON).state == "ok"
    assert compat.badge(asset, Network.MASTODON).summary == (
        "Mastodon: fits. Format and size are accepted."
    )


def test_badges_follow_the_networks_the_workspace_publishes_to(workspace):
    built = [about.network for about in catalog.built()]
    assert compat.workspace_networks(workspace) == built
    assert {"page", "bluesky", "mastodon", "instagram"} <= set(built)
    Channel.objects.create(workspace=workspace, network=Network.BLUESKY, handle="crumb.bsky")
    assert compat.workspace_networks(workspace) == ["bluesky"]


# --- Tags, folders, search ------------------------------------------------------------------


def test_tags_and_folders_are_set_by_name_and_unused_tags_disappear(workspace, owner):
    asset = upload_media(workspace, owner, png(), folder="Christmas", tags=["Stollen, bread"])
    assert asset.folder.name == "Christmas"
    assert sorted(asset.tags.values_list("name", flat=True)) == ["bread", "stollen"]

    media.update_media(asset, folder="", tags=["Bread"])
    asset.refresh_from_db()
    assert asset.folder is None
    assert list(MediaTag.objects.values_list("name", flat=True)) == ["bread"]
    assert MediaFolder.objects.filter(workspace=workspace, name="Christmas").exists()


def test_a_too_long_tag_is_refused_with_the_field_named(workspace, owner):
    asset = upload_media(workspace, owner, png())
    with pytest.raises(media.ValidationError) as caught:
        media.update_media(asset, tags=["x" * 41])
    assert "tags" in caught.value.message_dict


def test_search_looks_in_names_alt_text_and_tags_and_filters_by_kind_folder_tag(
    workspace, other_workspace, owner, fake_ffprobe
):
    rye = upload_media(workspace, owner, png("rye.png", color="brown"), tags=["bread"])
    croissant = upload_media(
        workspace, owner, png("c.png", color="yellow"), alt_text="A croissant", folder="Pastry"
    )
    clip = upload_media(
        workspace, owner, SimpleUploadedFile("oven.mp4", MP4, content_type="video/mp4")
    )
    upload_media(other_workspace, None, png("rye.png", color="red"))

    def found(**filters) -> list[int]:
        return [a.pk for a in search_media(workspace, **filters)]

    assert found(q="rye") == [rye.pk]
    assert found(q="CROISSANT") == [croissant.pk]
    assert found(q="bread") == [rye.pk]
    assert found(kind="video") == [clip.pk]
    assert found(folder="Pastry") == [croissant.pk]
    assert found(tag="bread") == [rye.pk]
    assert found(missing_alt=True) == [clip.pk, rye.pk]


# --- Usage and deleting ---------------------------------------------------------------------


def test_media_of_a_scheduled_post_cannot_be_deleted_until_it_is_taken_out(workspace, owner, post):
    asset = upload_media(workspace, owner, png())
    post.media.add(asset)
    usage = media.media_usage(asset)
    assert [p.pk for p in usage.posts] == [post.pk]
    assert (usage.sent, usage.pending) == (0, 1)
    with pytest.raises(media.ValidationError) as caught:
        delete_media(asset)
    assert "1 scheduled delivery uses this media" in caught.value.messages[0]

    post.media.remove(asset)
    delete_media(asset)
    assert not MediaAsset.objects.filter(pk=asset.pk).exists()


def test_media_of_a_draft_is_deleted_and_leaves_the_draft(workspace, owner, post):
    asset = upload_media(workspace, owner, png())
    post.media.add(asset)
    post.deliveries.update(state=DeliveryState.DRAFT)
    delete_media(asset)
    assert post.media.count() == 0


def test_a_delivery_override_counts_as_use(workspace, owner, post):
    asset = upload_media(workspace, owner, png())
    post.deliveries.get().media_override.add(asset)
    assert media.media_usage(asset).pending == 1


# --- API --------------------------------------------------------------------------------


def test_the_api_filters_files_and_describes_media(workspace, owner, token_for, post):
    token = token_for(owner)
    upload = call(
        "post",
        "/workspaces/crumb/media",
        token,
        files={"file": png(), "folder": "Shop", "tags": "bread, rye"},
    )
    assert upload.status_code == 201, upload.content
    body = upload.json()
    assert (body["folder"], body["tags"]) == ("Shop", ["bread", "rye"])
    assert body["thumbnail_url"].endswith(".thumb.webp")
    asset_id = body["id"]

    changed = call(
        "patch",
        f"/workspaces/crumb/media/{asset_id}",
        token,
        json_body={"tags": ["wheat"], "folder": None},
    )
    assert changed.status_code == 200
    assert (changed.json()["folder"], changed.json()["tags"]) == (None, ["wheat"])

    listed = call("get", "/workspaces/crumb/media?tag=wheat&kind=image", token).json()
    assert [m["id"] for m in listed["items"]] == [asset_id]
    assert call("get", "/workspaces/crumb/media?q=nothing", token).json()["items"] == []

    post.media.add(asset_id)
    usage = call("get", f"/workspaces/crumb/media/{asset_id}/usage", token).json()
    assert [p["id"] for p in usage["posts"]] == [post.pk]
    assert (usage["sent"], usage["pending"]) == (0, 1)
    refused = call("delete", f"/workspaces/crumb/media/{asset_id}", token)
    assert refused.status_code == 422
    assert "scheduled" in refused.json()["errors"][0]["message"]

    badges = call("get", f"/workspaces/crumb/media/{asset_id}/compatibility", token).json()
    assert [b["network"] for b in badges] == ["page"]  # the bakery publishes to its page only
    assert badges[0]["state"] == "warn"  # no alt text yet


def test_the_api_refuses_a_bad_kind_filter_with_a_clear_message(owner, token_for):
    response = call("get", "/workspaces/crumb/media?kind=sculpture", token_for(owner))
    assert response.status_code == 422


# --- Pages ----------------------------------------------------------------------------------


def test_the_library_shows_cards_with_badges_and_alt_text_fields(workspace, owner, signed_in):
    upload_media(workspace, owner, png("loaf.png"), alt_text="A loaf", tags=["bread"])
    response = signed_in(owner).get(reverse("media_library", args=["crumb"]))
    assert response.status_code == 200
    html = response.content.decode()
    assert "loaf.png" in html and "#bread" in html
    assert 'role="tooltip"' in html and "Public page: fits." in html
    assert 'name="alt_text"' in html and "A loaf" in html


def test_the_library_searches_and_answers_htmx_with_the_grid_only(workspace, owner, signed_in):
    upload_media(workspace, owner, png("rye.png"))
    upload_media(workspace, owner, png("wheat.png", color="white"))
    response = signed_in(owner).get(
        reverse("media_library", args=["crumb"]), {"q": "wheat"}, headers={"HX-Request": "true"}
    )
    html = response.content.decode()
    assert "wheat.png" in html and "rye.png" not in html
    assert "<html" not in html


def test_a_plain_form_uploads_several_files_and_names_the_one_refused(owner, signed_in):
    client = signed_in(owner)
    files = [png("one.png"), png("two.png", color="blue"), SimpleUploadedFile("x.png", b"no")]
    response = client.post(
        reverse("media_upload", args=["crumb"]), {"files": files, "tags": "batch"}, follow=True
    )
    html = response.content.decode()
    assert "one.png was uploaded." in html and "two.png was uploaded." in html
    assert "x.png was not uploaded: This file type is not accepted" in html
    assert sorted(MediaAsset.objects.values_list("original_name", flat=True)) == [
        "one.png",
        "two.png",
    ]


def test_a_script_upload_answers_each_file_with_json(owner, signed_in):
    client = signed_in(owner)
    url = reverse("media_upload", args=["crumb"])
    headers = {"X-Requested-With": "XMLHttpRequest"}
    good = client.post(url, {"file": png("one.png")}, headers=headers)
    assert good.status_code == 201 and good.json()["name"] == "one.png"
    bad = client.post(url, {"file": SimpleUploadedFile("x.png", b"no")}, headers=headers)
    assert bad.status_code == 422
    assert bad.json() == {
        "name": "x.png",
        "errors": [f"This file type is not accepted; upload {media.ACCEPTED}."],
    }


def test_alt_text_saved_on_a_card_returns_the_card(workspace, owner, signed_in):
    asset = upload_media(workspace, owner, png())
    response = signed_in(owner).post(
        reverse("media_alt_text", args=["crumb", asset.pk]),
        {"alt_text": "Sourdough, sliced"},
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 200
    assert f'id="media-{asset.pk}"' in response.content.decode()
    assert "Saved" in response.content.decode()
    asset.refresh_from_db()
    assert asset.alt_text == "Sourdough, sliced"


def test_the_details_page_files_the_asset_and_lists_where_it_is_used(
    workspace, owner, signed_in, post
):
    asset = upload_media(workspace, owner, png())
    post.media.add(asset)
    client = signed_in(owner)
    url = reverse("media_detail", args=["crumb", asset.pk])
    page = client.get(url).content.decode()
    assert reverse("post_edit", args=["crumb", post.pk]) in page
    response = client.post(url, {"alt_text": "Rye", "folder": "Bread", "tags": "rye, dark"})
    assert response.status_code == 302
    asset.refresh_from_db()
    assert (asset.alt_text, asset.folder.name) == ("Rye", "Bread")


def test_deleting_media_of_a_scheduled_post_is_refused_on_the_confirmation_page(
    workspace, owner, signed_in, post
):
    asset = upload_media(workspace, owner, png())
    post.media.add(asset)
    client = signed_in(owner)
    url = reverse("media_delete", args=["crumb", asset.pk])
    page = client.get(url).content.decode()
    assert "1 scheduled delivery will publish this media" in page
    assert "Delete media</button>" not in page
    client.post(url)
    assert MediaAsset.objects.filter(pk=asset.pk).exists()


@pytest.mark.parametrize("role", ["client"])
def test_a_role_without_media_view_gets_403_and_an_outsider_404(
    workspace, role, person, outsider, signed_in, client
):
    url = reverse("media_library", args=["crumb"])
    assert signed_in(person(role)).get(url).status_code == 403
    client.force_login(outsider)
    assert client.get(url).status_code == 404


def test_an_analyst_sees_the_library_but_cannot_upload_or_edit(
    workspace, owner, analyst, signed_in
):
    asset = upload_media(workspace, owner, png())
    client = signed_in(analyst)
    page = client.get(reverse("media_library", args=["crumb"])).content.decode()
    assert "Drop files here" not in page and 'name="alt_text"' not in page
    assert client.post(reverse("media_upload", args=["crumb"]), {}).status_code == 403
    response = client.post(reverse("media_alt_text", args=["crumb", asset.pk]), {"alt_text": "x"})
    assert response.status_code == 403
