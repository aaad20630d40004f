"""The Channels page: who sees and changes channels, and connecting, reconnecting and
disconnecting a Bluesky account against the real local Bluesky network (``bluesky_server``).
Also the post editor's images with alt text."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from atproto import models
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone
from PIL import Image

from socialdesk.content.models import Post
from socialdesk.content.services import PostContent, create_post
from socialdesk.networks.models import Channel, ChannelStatus, Network

MANAGERS = ["owner", "manager"]
OTHERS = ["creator", "approver", "client", "analyst"]


def channels_url(workspace) -> str:
    return reverse("channel_list", args=[workspace.slug])


def connect_url(workspace) -> str:
    return reverse("bluesky_connect", args=[workspace.slug])


@pytest.fixture
def alice(bluesky_server):
    return bluesky_server.create_account("alice")


def connect(client, workspace, bluesky_server, account, password: str | None = None):
    return client.post(
        connect_url(workspace),
        {
            "handle": f"@{account.handle}",
            "app_password": password or account.app_password,
            "pds_url": bluesky_server.pds_url,
            "time_zone": "",
        },
    )


def new_app_password(bluesky_server, account) -> str:
    created = bluesky_server.client(account).com.atproto.server.create_app_password(
        models.ComAtprotoServerCreateAppPassword.Data(name=f"again-{timezone.now().timestamp()}")
    )
    return created.password


# -- who may do what -----------------------------------------------------------------------


@pytest.mark.parametrize("role", MANAGERS + OTHERS)
def test_every_member_sees_the_channels_and_only_managers_see_the_connect_form(
    role, person, signed_in, workspace, channel
):
    response = signed_in(person(role)).get(channels_url(workspace))
    assert response.status_code == 200
    assert channel.handle in response.text
    assert ("Connect Bluesky" in response.text) == (role in MANAGERS)


@pytest.mark.parametrize("role", OTHERS)
def test_roles_without_channels_manage_cannot_connect_reconnect_or_disconnect(
    role, person, signed_in, workspace
):
    bluesky = Channel.objects.create(workspace=workspace, network=Network.BLUESKY, handle="a.test")
    client = signed_in(person(role))
    data = {"handle": "x.test", "app_password": "a", "pds_url": "http://127.0.0.1:1"}
    assert client.post(connect_url(workspace), data).status_code == 403
    for name in ("channel_reconnect", "channel_disconnect"):
        assert client.post(reverse(name, args=[workspace.slug, bluesky.pk])).status_code == 403
    assert Channel.objects.get(pk=bluesky.pk).status == ChannelStatus.CONNECTED


def test_an_outsider_gets_404_for_the_channels_page_and_its_actions(
    outsider, signed_in, workspace, channel
):
    client = signed_in(outsider)
    assert client.get(channels_url(workspace)).status_code == 404
    assert client.post(connect_url(workspace), {}).status_code == 404
    url = reverse("channel_disconnect", args=[workspace.slug, channel.pk])
    assert client.post(url).status_code == 404
    assert Channel.objects.get(pk=channel.pk).status == ChannelStatus.CONNECTED


def test_a_manager_cannot_reach_another_workspaces_channel(
    manager, signed_in, workspace, other_channel
):
    url = reverse("channel_disconnect", args=[workspace.slug, other_channel.pk])
    assert signed_in(manager).post(url).status_code == 404
    assert Channel.objects.get(pk=other_channel.pk).status == ChannelStatus.CONNECTED


# -- connecting ----------------------------------------------------------------------------


def test_connecting_stores_the_did_and_the_credentials_encrypted(
    owner, signed_in, workspace, bluesky_server, alice
):
    response = connect(signed_in(owner), workspace, bluesky_server, alice)

    assert response.status_code == 302
    channel = Channel.objects.get(workspace=workspace, network=Network.BLUESKY)
    assert channel.handle == alice.handle
    assert channel.remote_account_id == alice.did
    assert channel.status == ChannelStatus.CONNECTED
    assert channel.credentials["app_password"] == alice.app_password
    assert channel.credentials["pds_url"] == bluesky_server.pds_url
    assert channel.credentials["session"]
    assert alice.app_password not in channel.credentials_encrypted
    page = signed_in(owner).get(channels_url(workspace)).text
    assert alice.handle in page and "Connected" in page
    assert alice.app_password not in page


def test_a_wrong_app_password_shows_bluesky_s_answer_and_stores_nothing(
    owner, signed_in, workspace, bluesky_server, alice
):
    response = connect(signed_in(owner), workspace, bluesky_server, alice, "wrong-pass-word")

    assert response.status_code == 400
    assert "Bluesky refused this handle and app password" in response.text
    assert 'id="id_app_password_error"' in response.text
    assert "wrong-pass-word" not in response.text
    assert not Channel.objects.filter(network=Network.BLUESKY).exists()


def test_an_unreachable_server_is_reported_on_the_server_address(owner, signed_in, workspace):
    response = signed_in(owner).post(
        connect_url(workspace),
        {"handle": "nobody.test", "app_password": "x", "pds_url": "http://127.0.0.1:9"},
    )
    assert response.status_code == 400
    assert 'id="id_pds_url_error"' in response.text
    assert not Channel.objects.filter(network=Network.BLUESKY).exists()


def test_connecting_an_account_that_is_already_connected_is_refused(
    owner, signed_in, workspace, bluesky_server, alice
):
    client = signed_in(owner)
    connect(client, workspace, bluesky_server, alice)
    response = connect(client, workspace, bluesky_server, alice)
    assert response.status_code == 400
    assert "already connected" in response.text
    assert Channel.objects.filter(network=Network.BLUESKY).count() == 1


# -- reconnecting and disconnecting ------------------------------------------------------


def test_reconnecting_with_a_new_app_password_keeps_the_working_session(
    manager, signed_in, workspace, bluesky_server, alice
):
    client = signed_in(manager)
    connect(client, workspace, bluesky_server, alice)
    channel = Channel.objects.get(network=Network.BLUESKY)
    session = channel.credentials["session"]
    Channel.objects.filter(pk=channel.pk).update(status=ChannelStatus.NEEDS_RECONNECT)
    password = new_app_password(bluesky_server, alice)

    url = reverse("channel_reconnect", args=[workspace.slug, channel.pk])
    response = client.post(url, {"app_password": password, "pds_url": bluesky_server.pds_url})

    assert response.status_code == 302
    channel.refresh_from_db()
    assert channel.status == ChannelStatus.CONNECTED
    assert channel.credentials["app_password"] == password
    assert channel.credentials["session"] == session


def test_reconnecting_replaces_a_session_the_server_no_longer_accepts(
    manager, signed_in, workspace, bluesky_server, alice
):
    client = signed_in(manager)
    connect(client, workspace, bluesky_server, alice)
    channel = Channel.objects.get(network=Network.BLUESKY)
    channel.set_credentials({**channel.credentials, "session": "not a session"})
    channel.save(update_fields=["credentials_encrypted"])

    url = reverse("channel_reconnect", args=[workspace.slug, channel.pk])
    client.post(url, {"app_password": alice.app_password, "pds_url": bluesky_server.pds_url})

    channel.refresh_from_db()
    assert channel.credentials["session"] not in ("", "not a session")


def test_a_refused_reconnection_changes_nothing(
    manager, signed_in, workspace, bluesky_server, alice
):
    client = signed_in(manager)
    connect(client, workspace, bluesky_server, alice)
    channel = Channel.objects.get(network=Network.BLUESKY)
    Channel.objects.filter(pk=channel.pk).update(status=ChannelStatus.NEEDS_RECONNECT)
    before = channel.credentials

    url = reverse("channel_reconnect", args=[workspace.slug, channel.pk])
    response = client.post(url, {"app_password": "nope-nope", "pds_url": bluesky_server.pds_url})

    assert response.status_code == 400
    assert "Bluesky refused" in response.text
    channel.refresh_from_db()
    assert channel.status == ChannelStatus.NEEDS_RECONNECT
    assert channel.credentials == before


def test_disconnecting_asks_first_then_forgets_the_secrets(
    owner, signed_in, workspace, bluesky_server, alice
):
    client = signed_in(owner)
    connect(client, workspace, bluesky_server, alice)
    channel = Channel.objects.get(network=Network.BLUESKY)
    url = reverse("channel_disconnect", args=[workspace.slug, channel.pk])

    assert "Disconnect" in client.get(url).text
    assert Channel.objects.get(pk=channel.pk).status == ChannelStatus.CONNECTED
    response = client.post(url)

    assert response.status_code == 302
    channel.refresh_from_db()
    assert channel.status == ChannelStatus.DISCONNECTED
    assert "app_password" not in channel.credentials
    assert "session" not in channel.credentials
    assert channel.credentials["pds_url"] == bluesky_server.pds_url


def test_a_disconnected_account_connects_again_through_the_connect_form(
    owner, signed_in, workspace, bluesky_server, alice
):
    client = signed_in(owner)
    connect(client, workspace, bluesky_server, alice)
    channel = Channel.objects.get(network=Network.BLUESKY)
    client.post(reverse("channel_disconnect", args=[workspace.slug, channel.pk]))

    assert connect(client, workspace, bluesky_server, alice).status_code == 302
    channel.refresh_from_db()
    assert channel.status == ChannelStatus.CONNECTED
    assert Channel.objects.filter(network=Network.BLUESKY).count() == 1


def test_the_list_shows_a_channel_s_last_error(owner, signed_in, workspace, channel):
    post = create_post(
        workspace,
        owner,
        PostContent(
            text="Hi", channel_ids=[channel.pk], scheduled_at=timezone.now() + timedelta(days=1)
        ),
    )
    post.deliveries.update(last_error="The page refused the post: too many hashtags.")
    Channel.objects.filter(pk=channel.pk).update(status=ChannelStatus.NEEDS_RECONNECT)
    page = signed_in(owner).get(channels_url(workspace)).text
    assert "too many hashtags" in page
    assert "Needs reconnecting" in page


# -- the editor's images -------------------------------------------------------------------


def png(name: str = "loaf.png") -> SimpleUploadedFile:
    buffer = io.BytesIO()
    Image.new("RGB", (40, 30), (200, 120, 40)).save(buffer, "PNG")
    return SimpleUploadedFile(name, buffer.getvalue(), content_type="image/png")


def editor_data(channel, **extra) -> dict:
    return {"text": "Fresh loaves", "title": "", "channels": [channel.pk], **extra}


def test_the_editor_attaches_an_uploaded_image_with_its_alt_text(
    creator, signed_in, workspace, channel
):
    client = signed_in(creator)
    response = client.post(
        reverse("post_create", args=[workspace.slug]),
        editor_data(channel, image_1=png(), alt_1="Two sourdough loaves on a rack"),
    )
    assert response.status_code == 302
    post = Post.objects.get(text="Fresh loaves")
    (asset,) = post.media.all()
    assert asset.alt_text == "Two sourdough loaves on a rack"
    assert asset.mime_type == "image/png"

    edit = client.get(reverse("post_edit", args=[workspace.slug, post.pk])).text
    assert asset.file.url in edit and 'alt="Two sourdough loaves on a rack"' in edit
    client.post(
        reverse("post_edit", args=[workspace.slug, post.pk]),
        editor_data(channel, **{f"alt_media_{asset.pk}": "Three loaves"}),
    )
    asset.refresh_from_db()
    assert asset.alt_text == "Three loaves"
    client.post(
        reverse("post_edit", args=[workspace.slug, post.pk]),
        editor_data(channel, **{f"remove_media_{asset.pk}": "on"}),
    )
    assert post.media.count() == 0


def test_scheduling_an_image_without_alt_text_is_refused_and_nothing_is_saved(
    creator, signed_in, workspace, channel
):
    when = (timezone.now() + timedelta(days=2)).astimezone(workspace.zone)
    response = signed_in(creator).post(
        reverse("post_create", args=[workspace.slug]),
        editor_data(channel, image_1=png(), scheduled_at=when.strftime("%Y-%m-%dT%H:%M")),
    )
    assert response.status_code == 400
    assert "Describe this image before scheduling" in response.text
    assert not Post.objects.exists()


def test_a_file_that_is_not_an_image_is_refused_next_to_its_slot(
    creator, signed_in, workspace, channel
):
    text = SimpleUploadedFile("notes.png", b"not an image", content_type="image/png")
    response = signed_in(creator).post(
        reverse("post_create", args=[workspace.slug]), editor_data(channel, image_1=text)
    )
    assert response.status_code == 400
    assert 'id="id_image_1_error"' in response.text
    assert not Post.objects.exists()
