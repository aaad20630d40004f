"""The Bluesky connector against a real local Bluesky network (see tests/peers.py).

Alice is the bakery's Bluesky account, connected with an app password as a person would;
Bob is another account she mentions. Records are read back from the PDS itself, so what is
asserted is what the network stored.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from atproto import AtUri, Client, models
from atproto_client import exceptions as sdk
from atproto_client.models.common import XrpcError
from atproto_client.request import Response
from PIL import Image

from socialdesk.networks.base import (
    ConnectorError,
    DeliveryContent,
    LinkCard,
    MediaFile,
    Published,
)
from socialdesk.networks.bluesky import (
    BlueskyConnector,
    _translated_errors,
    grapheme_count,
    record_key,
)


@pytest.fixture(scope="module")
def alice(bluesky_server):
    return bluesky_server.create_account("alice")


@pytest.fixture(scope="module")
def bob(bluesky_server):
    return bluesky_server.create_account("bob")


@pytest.fixture(scope="module")
def alice_reader(bluesky_server, alice) -> Client:
    return bluesky_server.client(alice)


@pytest.fixture
def connector(bluesky_server, alice) -> BlueskyConnector:
    return BlueskyConnector(alice.handle, alice.app_password, pds_url=bluesky_server.pds_url)


def stored(reader: Client, published: Published) -> models.ComAtprotoRepoGetRecord.Response:
    uri = AtUri.from_str(published.remote_id)
    return reader.com.atproto.repo.get_record(
        models.ComAtprotoRepoGetRecord.Params(
            repo=uri.host, collection=uri.collection, rkey=uri.rkey
        )
    )


def posts_of(reader: Client, did: str) -> list[models.ComAtprotoRepoListRecords.Record]:
    return reader.com.atproto.repo.list_records(
        models.ComAtprotoRepoListRecords.Params(
            repo=did, collection="app.bsky.feed.post", limit=100
        )
    ).records


def image_file(tmp_path: Path, name: str, size: tuple[int, int], fmt: str) -> Path:
    path = tmp_path / name
    Image.new("RGB", size, (200, 120, 40)).save(path, fmt)
    return path


def test_facets_select_exactly_the_link_mention_and_tag_after_emoji_and_accents(
    connector, alice_reader, bob, request
):
    link = "https://crumb.example/pain?lang=fr"
    text = f"Café 🍞 déjà prêt 👩‍👩‍👧 — {link} avec @{bob.handle} #levain"

    published = connector.publish(DeliveryContent(text=text), request.node.name)

    record = stored(alice_reader, published).value
    assert record.text == text
    encoded = text.encode()
    selected = {
        type(facet.features[0]).__name__: (
            encoded[facet.index.byte_start : facet.index.byte_end].decode(),
            facet.features[0],
        )
        for facet in record.facets
    }
    assert selected["Link"][0] == link
    assert selected["Link"][1].uri == link
    assert selected["Mention"][0] == f"@{bob.handle}"
    assert selected["Mention"][1].did == bob.did
    assert selected["Tag"][0] == "#levain"
    assert selected["Tag"][1].tag == "levain"


def test_images_are_on_the_post_with_their_alt_text_and_bytes(
    connector, alice, alice_reader, tmp_path, request
):
    png = image_file(tmp_path, "loaf.png", (60, 40), "PNG")
    jpeg = image_file(tmp_path, "crumb.jpg", (30, 90), "JPEG")
    content = DeliveryContent(
        text="Two loaves 🍞",
        media=[
            MediaFile(png, "image/png", "A round loaf on a wooden board"),
            MediaFile(jpeg, "image/jpeg", "The open crumb of a sliced loaf"),
        ],
    )

    published = connector.publish(content, request.node.name)

    images = stored(alice_reader, published).value.embed.images
    assert [image.alt for image in images] == [
        "A round loaf on a wooden board",
        "The open crumb of a sliced loaf",
    ]
    assert [(i.aspect_ratio.width, i.aspect_ratio.height) for i in images] == [(60, 40), (30, 90)]
    for image, path in zip(images, [png, jpeg], strict=True):
        blob = alice_reader.com.atproto.sync.get_blob(
            models.ComAtprotoSyncGetBlob.Params(did=alice.did, cid=image.image.cid.encode())
        )
        assert blob == path.read_bytes()


def test_link_card_is_attached_as_an_external_embed(connector, alice_reader, request):
    card = LinkCard("https://crumb.example/stollen", "Christmas stollen", "Order by the 20th")

    published = connector.publish(DeliveryContent(text="Stollen 🎄", link=card), request.node.name)

    external = stored(alice_reader, published).value.embed.external
    assert (external.uri, external.title, external.description) == (
        "https://crumb.example/stollen",
        "Christmas stollen",
        "Order by the 20th",
    )


def test_thread_parts_chain_and_first_comment_answers_the_main_post(
    connector, alice, alice_reader, request
):
    content = DeliveryContent(
        text="How we bake 🧵", thread=["1. Feed the starter", "2. Bake hot"], first_comment="Menu ↓"
    )

    published = connector.publish(content, request.node.name)

    by_text = {r.value.text: r for r in posts_of(alice_reader, alice.did)}
    main, first, second = (by_text[t] for t in ["How we bake 🧵", *content.thread])
    comment = by_text["Menu ↓"]
    assert main.uri == published.remote_id and main.value.reply is None
    assert (first.value.reply.root.uri, first.value.reply.parent.uri) == (main.uri, main.uri)
    assert (second.value.reply.root.uri, second.value.reply.parent.uri) == (main.uri, first.uri)
    assert (comment.value.reply.root.uri, comment.value.reply.parent.uri) == (main.uri, main.uri)
    assert second.value.reply.parent.cid == first.cid


def test_publishing_the_same_key_twice_leaves_one_post(bluesky_server, request):
    carol = bluesky_server.create_account("carol")
    connector = BlueskyConnector(carol.handle, carol.app_password, pds_url=bluesky_server.pds_url)
    content = DeliveryContent(text="Only once ☝️", thread=["still once"], first_comment="once")

    first = connector.publish(content, "socialdesk-delivery-7")
    again = connector.publish(content, "socialdesk-delivery-7")

    assert again == first
    texts = sorted(r.value.text for r in posts_of(bluesky_server.client(carol), carol.did))
    assert texts == ["Only once ☝️", "once", "still once"]


def test_find_published_finds_the_post_of_a_key_and_nothing_for_another(connector, request):
    content = DeliveryContent(text="Did this go out? 🤔")
    published = connector.publish(content, request.node.name)

    assert connector.find_published(request.node.name) == published
    assert connector.find_published(request.node.name, content) == published
    assert connector.find_published(f"{request.node.name}-never-sent") is None


def test_a_key_already_used_by_another_text_is_not_published_again(connector, request):
    connector.publish(DeliveryContent(text="First text"), request.node.name)

    with pytest.raises(ConnectorError) as caught:
        connector.publish(DeliveryContent(text="Different text"), request.node.name)

    assert caught.value.permanent and not caught.value.auth_revoked
    assert "record key" in caught.value.message


def test_delete_removes_the_post(connector, alice_reader, request):
    published = connector.publish(DeliveryContent(text="Gone soon 🫥"), request.node.name)

    connector.delete(published.remote_id)

    assert connector.find_published(request.node.name) is None
    with pytest.raises(sdk.BadRequestError, match="RecordNotFound"):
        stored(alice_reader, published)


def test_check_connection_names_the_account(connector, alice, alice_reader):
    alice_reader.com.atproto.repo.put_record(
        models.ComAtprotoRepoPutRecord.Data(
            repo=alice.did,
            collection="app.bsky.actor.profile",
            rkey="self",
            record=models.AppBskyActorProfile.Record(display_name="Crumb & Co 🥐"),
        )
    )

    account = connector.check_connection()

    assert (account.remote_account_id, account.handle) == (alice.did, alice.handle)
    assert account.display_name == "Crumb & Co 🥐"


def test_a_wrong_app_password_means_the_authorization_is_revoked(bluesky_server, alice):
    connector = BlueskyConnector(
        alice.handle, "abcd-efgh-ijkl-mnop", pds_url=bluesky_server.pds_url
    )

    with pytest.raises(ConnectorError) as caught:
        connector.check_connection()

    assert caught.value.auth_revoked and caught.value.permanent
    assert "reconnect" in caught.value.message
    assert "abcd-efgh" not in caught.value.message


def test_the_stored_session_is_reused_without_logging_in_again(bluesky_server, alice):
    saved: list[dict[str, str]] = []
    first = BlueskyConnector(
        alice.handle,
        alice.app_password,
        pds_url=bluesky_server.pds_url,
        on_credentials_change=saved.append,
    )
    first.check_connection()
    assert len(saved) == 1 and saved[0]["session"].startswith(f"{alice.handle}:::{alice.did}")

    later: list[dict[str, str]] = []
    second = BlueskyConnector.from_credentials(saved[0], on_credentials_change=later.append)
    assert second.check_connection().remote_account_id == alice.did
    assert later == []  # no new login, no refresh: nothing new to store


def test_a_broken_stored_session_falls_back_to_the_app_password(bluesky_server, alice):
    good = BlueskyConnector(alice.handle, alice.app_password, pds_url=bluesky_server.pds_url)
    good.check_connection()
    handle, did, access, refresh, pds = good.session.split(":::")
    # Same shape and expiry, but the server will not accept the signature.
    forged = f"{handle}:::{did}:::{access[:-4]}AAAA:::{refresh[:-4]}AAAA:::{pds}"
    saved: list[dict[str, str]] = []
    connector = BlueskyConnector(
        alice.handle,
        alice.app_password,
        pds_url=bluesky_server.pds_url,
        session=forged,
        on_credentials_change=saved.append,
    )

    assert connector.check_connection().remote_account_id == alice.did
    assert saved and saved[-1]["session"] != forged


def test_301_characters_fail_validation_with_a_clear_message(connector):
    problems = connector.validate(DeliveryContent(text="é" * 300 + "👩‍👩‍👧"))

    assert [(p.field, p.message) for p in problems] == [
        ("text", "The text has 301 characters; Bluesky allows 300. Remove 1.")
    ]
    assert connector.validate(DeliveryContent(text="e\u0301" * 300)) == []


def test_invalid_content_is_refused_before_any_network_call():
    offline = BlueskyConnector("nobody.test", "x", pds_url="http://127.0.0.1:9")

    with pytest.raises(ConnectorError) as caught:
        offline.publish(DeliveryContent(text="x" * 301), "k")

    assert caught.value.permanent and "301 characters" in caught.value.message


def test_media_rules_are_checked(tmp_path):
    connector = BlueskyConnector("nobody.test", "x")
    small = image_file(tmp_path, "a.png", (4, 4), "PNG")
    big = tmp_path / "huge.jpg"
    big.write_bytes(b"\xff" * 1_200_000)
    video = tmp_path / "clip.mp4"
    video.write_bytes(b"\x00" * 10)
    content = DeliveryContent(
        text="Pictures",
        media=[
            MediaFile(small, "image/png", "x" * 2001),
            MediaFile(big, "image/jpeg"),
            MediaFile(video, "video/mp4"),
            MediaFile(small, "image/png"),
            MediaFile(small, "image/png"),
        ],
        link=LinkCard("https://crumb.example"),
    )

    messages = [str(p) for p in connector.validate(content)]

    assert messages == [
        "media: Bluesky takes up to 4 images a post; this one has 5.",
        "media: The alt text of a.png has 2001 characters; Bluesky allows 2000.",
        "media: huge.jpg is 1.2 MB; Bluesky takes images up to 1 MB.",
        "media: clip.mp4 is video/mp4; Bluesky posts take JPEG, PNG, WebP, GIF images.",
        "link: Bluesky shows either images or a link card under a post, not both: "
        "remove the card or the images.",
    ]


def test_graphemes_are_counted_as_people_see_them():
    assert grapheme_count("é👩‍👩‍👧🇫🇷e\u0301") == 4


def test_rate_limits_are_declared_in_write_points():
    hour, day = BlueskyConnector.rate_limits
    assert (hour.unit, hour.points, hour.window) == ("write points", 5_000, timedelta(hours=1))
    assert (day.unit, day.points, day.window) == ("write points", 35_000, timedelta(days=1))
    thread = DeliveryContent(text="a", thread=["b", "c"], first_comment="d")
    assert BlueskyConnector("n.test", "x").cost(DeliveryContent(text="a")) == {"write points": 3}
    assert BlueskyConnector("n.test", "x").cost(thread) == {"write points": 12}


def test_record_keys_are_stable_valid_tids_per_key():
    key = record_key("socialdesk-delivery-42")

    assert key == record_key("socialdesk-delivery-42")
    assert key != record_key("socialdesk-delivery-43")
    assert re.fullmatch(r"[234567abcdefghij][234567abcdefghijklmnopqrstuvwxyz]{12}", key)


def error_response(status: int, error: str = "", message: str = "", **headers: str) -> Response:
    content = XrpcError(error=error, message=message) if error else None
    return Response(success=False, status_code=status, content=content, headers=headers)


def translated(error: Exception) -> ConnectorError:
    with pytest.raises(ConnectorError) as caught, _translated_errors():
        raise error
    return caught.value


def test_429_is_transient_and_retries_at_the_reset_time():
    reset = int(datetime(2026, 11, 21, 12, 0, tzinfo=UTC).timestamp())
    error = translated(
        sdk.RateLimitExceededError(
            error_response(429, "RateLimitExceeded", "slow down", **{"ratelimit-reset": str(reset)})
        )
    )

    assert not error.permanent
    assert error.retry_after == datetime(2026, 11, 21, 12, 0, tzinfo=UTC)


def test_server_errors_and_timeouts_are_transient():
    assert not translated(sdk.RequestException(error_response(503))).permanent
    assert not translated(sdk.NetworkError(error_response(502))).permanent
    assert not translated(sdk.InvokeTimeoutError()).permanent


def test_a_rejected_record_is_permanent_with_the_networks_message():
    error = translated(
        sdk.BadRequestError(error_response(400, "InvalidRequest", "Invalid app.bsky.feed.post"))
    )

    assert error.permanent and not error.auth_revoked
    assert "Invalid app.bsky.feed.post" in error.message


def test_an_expired_token_means_the_authorization_is_revoked():
    error = translated(sdk.BadRequestError(error_response(400, "ExpiredToken", "Token expired")))

    assert error.auth_revoked and error.permanent


def test_view_post_links_point_where_the_post_can_be_seen():
    uri = "at://did:plc:abc123/app.bsky.feed.post/3kabc"
    on_bluesky = BlueskyConnector("crumb.bsky.social", "x")
    assert on_bluesky._published(uri).remote_url == (
        "https://bsky.app/profile/did:plc:abc123/post/3kabc"
    )
    # A self-hosted PDS: bsky.app would not show it, so the record on the PDS itself...
    self_hosted = BlueskyConnector("crumb.pds.test", "x", pds_url="https://pds.crumb.test/")
    assert self_hosted._published(uri).remote_url == (
        "https://pds.crumb.test/xrpc/com.atproto.repo.getRecord"
        "?repo=did%3Aplc%3Aabc123&collection=app.bsky.feed.post&rkey=3kabc"
    )
    # ... unless the channel names its own app view, which is then kept with the credentials.
    with_app_view = BlueskyConnector.from_credentials(
        {
            "handle": "crumb.pds.test",
            "app_password": "x",
            "pds_url": "https://pds.crumb.test",
            "web_url": "https://social.crumb.test",
        }
    )
    assert with_app_view._published(uri).remote_url == (
        "https://social.crumb.test/profile/did:plc:abc123/post/3kabc"
    )
    assert with_app_view.credentials()["web_url"] == "https://social.crumb.test"
    assert "web_url" not in self_hosted.credentials()


def test_a_worker_keeps_one_logged_in_connector_per_channel(db, workspace):
    from socialdesk.networks.models import Channel, Network
    from socialdesk.publishing.connectors import connector_for

    channel = Channel(workspace=workspace, network=Network.BLUESKY, handle="crumb.pds.test")
    channel.set_credentials(
        {"handle": "crumb.pds.test", "app_password": "a", "pds_url": "http://127.0.0.1:9"}
    )
    channel.save()
    first = connector_for(channel)
    assert connector_for(Channel.objects.get(pk=channel.pk)) is first
    # Reconnected with another app password: a new connector, never the old login.
    channel.set_credentials(
        {"handle": "crumb.pds.test", "app_password": "b", "pds_url": "http://127.0.0.1:9"}
    )
    assert connector_for(channel) is not first
