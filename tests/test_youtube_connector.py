"""The YouTube connector against recorded exchanges served over real HTTP.

No Google server runs here: ``tests/recordings/youtube/`` was written by hand from the YouTube
Data API v3 reference (see the README there), served by ``RecordedNetwork`` on 127.0.0.1 to
the real connector. The video is 600,000 bytes sent in chunks of 256 KiB: three ``PUT`` s,
each answered with what the session holds (``Range``), as the resumable protocol says.
"""

from __future__ import annotations

import json
import os
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from socialdesk.networks import google, youtube
from socialdesk.networks.base import ConnectorError, DeliveryContent, MediaFile
from socialdesk.networks.http import OutcomeUnknown
from socialdesk.networks.youtube import YouTubeConnector
from tests.recorded import RecordedNetwork

pytestmark = pytest.mark.any_database

CH = "UCbakeryCrumbCo0000000001"
VID = "Qx7bakeLoaf"
SIZE = 600_000
CHUNK = 256 * 1024
TEXT = "How we shape a sourdough loaf\n\nEvery morning at 5, Rui shapes sixty loaves."
KEY = "socialdesk-delivery-77"
UPLOAD = "/upload/youtube/v3/videos"


class SlowedNetwork(RecordedNetwork):
    """A recorded network where the n-th request (counted from 1) is answered late: its
    answer is taken from the recording first, so the requests the client makes meanwhile
    get the answers after it, as from a server that received it."""

    def __init__(self, network: str) -> None:
        self.slow: dict[int, float] = {}
        super().__init__(network)

    def next_response(self, sent: Any) -> dict[str, Any]:
        response = super().next_response(sent)
        number = next(n for n, s in enumerate(self.sent, start=1) if s is sent)
        wait = self.slow.get(number)
        if wait:
            time.sleep(wait)
        return response

    def reset(self) -> None:
        super().reset()
        self.slow = {}


@pytest.fixture(scope="module")
def server():
    recorded = SlowedNetwork("youtube")
    yield recorded
    recorded.stop()


@pytest.fixture
def yt(server, settings) -> SlowedNetwork:
    server.reset()
    settings.NETWORK_URL_OVERRIDES = {"youtube": server.url}
    settings.NETWORK_APPS = {
        "youtube": {"client_id": "crumb-tube.apps.googleusercontent.com", "client_secret": "s"}
    }
    server.play("oauth", "channels")
    return server


@pytest.fixture
def stored() -> list[dict]:
    return []


@pytest.fixture
def clip(tmp_path) -> MediaFile:
    path = tmp_path / "shaping.mp4"
    path.write_bytes(os.urandom(SIZE))
    return MediaFile(path, "video/mp4")


def credentials(**changes: Any) -> dict:
    return {
        "access_token": "ya29.a0AfB_tube-access",
        "refresh_token": "1//0gTubeRefreshToken",
        "expires_at": time.time() + 3600,
        "channel_id": CH,
        "uploads_playlist": "UUbakeryCrumbCo0000000001",
        **changes,
    }


def connector(stored: list[dict], **options: Any) -> YouTubeConnector:
    return YouTubeConnector(
        credentials(),
        stored.append,
        **{"chunk_size": CHUNK, "poll_interval": 0.01, "poll_timeout": 5, **options},
    )


def ranges(server: RecordedNetwork) -> list[str]:
    return [s.headers.get("Content-Range", "") for s in server.requests_to("PUT", UPLOAD)]


def our_upload_listed(
    server: RecordedNetwork, title: str = "How we shape a sourdough loaf"
) -> None:
    item = {
        "snippet": {
            "publishedAt": (datetime.now(UTC) - timedelta(minutes=3)).isoformat(),
            "title": title,
            "description": "Every morning at 5, Rui shapes sixty loaves.",
            "resourceId": {"kind": "youtube#video", "videoId": VID},
        }
    }
    server.answer("GET", "/youtube/v3/playlistItems", {"status": 200, "body": {"items": [item]}})


def test_a_video_is_uploaded_in_chunks_with_its_title_description_and_public_status(
    yt, stored, clip
):
    yt.play("upload")

    published = connector(stored).publish(DeliveryContent(TEXT, media=[clip]), KEY)

    assert published.remote_id == VID
    assert published.remote_url == f"https://www.youtube.com/watch?v={VID}"
    start = yt.requests_to("POST", UPLOAD)[0]
    assert start.query["uploadType"] == ["resumable"]
    assert start.query["part"] == ["snippet,status"]
    assert start.headers["X-Upload-Content-Length"] == str(SIZE)
    assert start.headers["X-Upload-Content-Type"] == "video/mp4"
    assert start.json == {
        "snippet": {
            "title": "How we shape a sourdough loaf",
            "description": "Every morning at 5, Rui shapes sixty loaves.",
        },
        "status": {"privacyStatus": "public", "selfDeclaredMadeForKids": False},
    }
    assert ranges(yt) == [
        f"bytes 0-262143/{SIZE}",
        f"bytes 262144-524287/{SIZE}",
        f"bytes 524288-599999/{SIZE}",
    ]
    puts = yt.requests_to("PUT", UPLOAD)
    assert b"".join(p.body for p in puts) == clip.path.read_bytes()
    assert puts[0].query["upload_id"] == ["xa298sd_f_bakery"]
    assert puts[0].headers["Authorization"] == "Bearer ya29.a0AfB_tube-access"
    # Asked first whether the channel already has it (one quota unit against an upload).
    assert yt.sent[0].path == "/youtube/v3/playlistItems"


def test_an_interrupted_chunk_is_resumed_from_what_the_session_holds(yt, stored, clip):
    yt.play("upload_resumed")
    yt.slow = {4: 0.6}  # the second chunk's answer never comes in time

    published = connector(stored, timeout=0.3).publish(DeliveryContent(TEXT, media=[clip]), KEY)

    assert published.remote_id == VID
    assert ranges(yt) == [
        f"bytes 0-262143/{SIZE}",
        f"bytes 262144-524287/{SIZE}",  # interrupted
        f"bytes */{SIZE}",  # what do you have? 0-262143
        f"bytes 262144-524287/{SIZE}",
        f"bytes 524288-599999/{SIZE}",
    ]
    assert len(yt.requests_to("POST", UPLOAD)) == 1  # one session, never a second video


def test_a_retry_in_the_same_worker_resumes_the_kept_session(yt, stored, clip, monkeypatch):
    yt.play("upload_resumed")
    yt.slow = {4: 0.6}
    monkeypatch.setattr(youtube, "MAX_INTERRUPTIONS", 0)
    made = connector(stored, timeout=0.3)
    with pytest.raises(ConnectorError) as interrupted:
        made.publish(DeliveryContent(TEXT, media=[clip]), KEY)
    assert not interrupted.value.permanent
    assert "resumes where it stopped" in interrupted.value.message

    assert made.publish(DeliveryContent(TEXT, media=[clip]), KEY).remote_id == VID
    assert ranges(yt)[2:] == [
        f"bytes */{SIZE}",
        f"bytes 262144-524287/{SIZE}",
        f"bytes 524288-599999/{SIZE}",
    ]
    assert len(yt.requests_to("POST", UPLOAD)) == 1


def test_a_video_still_processing_is_read_until_processed(yt, stored, clip):
    yt.play("upload", "processing")
    connector(stored, chunk_size=4 * CHUNK).publish(DeliveryContent(TEXT, media=[clip]), KEY)
    reads = [
        s for s in yt.requests_to("GET", "/youtube/v3/videos") if s.query["part"] == ["status"]
    ]
    assert len(reads) == 2 and reads[0].query["id"] == [VID]


def test_a_video_youtube_cannot_process_fails_for_good_with_its_reason(yt, stored, clip):
    yt.play("upload", "processing_failed")
    with pytest.raises(ConnectorError) as failed:
        connector(stored, chunk_size=4 * CHUNK).publish(DeliveryContent(TEXT, media=[clip]), KEY)
    assert failed.value.permanent
    assert "could not process the video (failed: codec)" in failed.value.message


def test_the_first_comment_is_a_comment_thread_on_the_video(yt, stored, clip):
    yt.play("upload", "first_comment")
    content = DeliveryContent(TEXT, media=[clip], first_comment="Recipe: crumb.example/sourdough")
    connector(stored).publish(content, KEY)
    [sent] = yt.requests_to("POST", "/youtube/v3/commentThreads")
    assert sent.json == {
        "snippet": {
            "videoId": VID,
            "topLevelComment": {"snippet": {"textOriginal": "Recipe: crumb.example/sourdough"}},
        }
    }


def test_a_timeout_after_the_first_comment_is_unknown_and_reconciling_finds_the_video(
    yt, stored, clip
):
    yt.play("upload", "first_comment")
    content = DeliveryContent(TEXT, media=[clip], first_comment="Recipe: crumb.example/sourdough")
    yt.slow = {6: 0.6}  # playlist, start, three chunks, then the comment
    with pytest.raises(OutcomeUnknown):
        connector(stored, timeout=0.3).publish(content, KEY)
    yt.slow = {}
    our_upload_listed(yt)
    made = connector(stored)

    found = made.find_published(KEY, content)

    assert found is not None and found.remote_id == VID
    other = DeliveryContent("Another title\n\nEvery morning at 5, Rui shapes sixty loaves.")
    assert made.find_published(KEY, other) is None


def test_a_retry_after_the_upload_finishes_without_uploading_or_commenting_twice(yt, stored, clip):
    yt.play("upload", "comments")
    our_upload_listed(yt)
    mine = {
        "snippet": {
            "topLevelComment": {
                "snippet": {
                    "textOriginal": "Recipe: crumb.example/sourdough",
                    "authorChannelId": {"value": CH},
                }
            }
        }
    }
    yt.answer(
        "GET",
        "/youtube/v3/commentThreads",
        {"status": 200, "body": {"items": [mine]}},
        query={"videoId": VID},
    )
    content = DeliveryContent(TEXT, media=[clip], first_comment="Recipe: crumb.example/sourdough")

    assert connector(stored).publish(content, KEY).remote_id == VID

    assert yt.requests_to("POST", UPLOAD) == []
    assert yt.requests_to("PUT", UPLOAD) == []
    assert yt.requests_to("POST", "/youtube/v3/commentThreads") == []


def test_the_rules_say_what_to_fix(yt, stored, clip, tmp_path):
    made = connector(stored)
    image = MediaFile(clip.path, "image/jpeg")
    long_title = DeliveryContent("T" * 101 + "\n" + "é" * 2501, media=[clip])
    messages = " ".join(str(p) for p in made.validate(long_title))
    assert "YouTube takes 100 characters, it has 101" in messages
    assert "YouTube takes 5000 bytes, they have 5002" in messages
    assert "exactly one" in str(made.validate(DeliveryContent("Loaf")))
    assert "exactly one" in str(made.validate(DeliveryContent("Loaf", media=[clip, clip])))
    assert "videos only" in str(made.validate(DeliveryContent("Loaf", media=[image])))
    assert "< and >" in str(made.validate(DeliveryContent("Loaf <3", media=[clip])))
    assert "it is the video's title" in str(made.validate(DeliveryContent(" \n", media=[clip])))
    assert made.validate(DeliveryContent(TEXT, media=[clip])) == []
    with pytest.raises(ConnectorError) as refused:
        made.publish(long_title, KEY)
    assert refused.value.permanent and yt.sent == []


def test_a_vertical_video_of_three_minutes_or_less_is_a_short():
    assert youtube.is_short(1080, 1920, 59.0)
    assert youtube.is_short(1080, 1080, 180.0)
    assert not youtube.is_short(1080, 1920, 181.0)
    assert not youtube.is_short(1920, 1080, 30.0)
    assert not youtube.is_short(None, None, 30.0)


def test_youtubes_400_is_permanent_with_its_reason(yt, stored, clip):
    yt.play("upload", "invalid_title")
    with pytest.raises(ConnectorError) as failed:
        connector(stored).publish(DeliveryContent(TEXT, media=[clip]), KEY)
    assert failed.value.permanent and not failed.value.rate_limited
    assert "invalid video title. (invalidTitle)" in failed.value.message


def test_a_spent_quota_waits_until_midnight_pacific(yt, stored, clip):
    yt.play("upload", "quota_exceeded")
    with pytest.raises(ConnectorError) as limited:
        connector(stored).publish(DeliveryContent(TEXT, media=[clip]), KEY)
    assert limited.value.rate_limited and not limited.value.permanent
    assert limited.value.retry_after == google.next_pacific_midnight(datetime.now(UTC))


def test_429_on_a_read_waits_for_retry_after(yt, stored):
    yt.play("rate_limited_429")
    with pytest.raises(ConnectorError) as limited:
        connector(stored).fetch_inbox("", datetime.now(UTC) - timedelta(days=1))
    wait = (limited.value.retry_after - datetime.now(UTC)).total_seconds()
    assert limited.value.rate_limited and 110 < wait <= 120


def test_a_5xx_is_transient(yt, stored):
    yt.play("server_error_500")
    with pytest.raises(ConnectorError) as failed:
        connector(stored).fetch_metrics([VID])
    assert not failed.value.permanent and not failed.value.rate_limited
    assert "Backend Error" in failed.value.message


def test_a_revoked_authorization_is_said_so_and_nothing_is_stored(yt, stored):
    yt.play("revoked_401")
    with pytest.raises(ConnectorError) as failed:
        connector(stored).check_connection()
    assert failed.value.auth_revoked
    assert stored == []
    assert [s.path for s in yt.sent] == ["/youtube/v3/channels", "/token"]


def test_an_expired_token_is_refreshed_and_stored_before_the_call(yt, stored):
    made = YouTubeConnector(credentials(expires_at=time.time() - 5), stored.append)
    info = made.check_connection()
    assert info.handle == "@crumbandco" and info.remote_account_id == CH
    assert stored[0]["access_token"] == "ya29.a0AfB_tube-refreshed"
    assert stored[0]["refresh_token"] == "1//0gTubeRefreshToken"
    assert yt.sent[-1].headers["Authorization"] == "Bearer ya29.a0AfB_tube-refreshed"


def test_comments_and_replies_on_our_videos_come_into_the_inbox(yt, stored):
    yt.play("comments")
    page = connector(stored).fetch_inbox("", datetime.now(UTC) - timedelta(days=7))

    assert [i.remote_id for i in page.items] == ["UgxTom", "UgxAna", "UgxAna.ana2"]
    tom, ana, again = page.items
    assert ana.kind == "comment" and ana.thread_key == "thread UgxAna"
    assert ana.our_post_remote_id == VID and ana.parent_remote_id == ""
    assert again.parent_remote_id == "UgxAna" and again.thread_key == "thread UgxAna"
    assert again.reference == {"comment_id": "UgxAna.ana2", "parent_id": "UgxAna", "video_id": VID}
    assert again.author.remote_id == "UCana000000000000000000a"
    assert ana.remote_url == f"https://www.youtube.com/watch?v={VID}&lc=UgxAna"
    assert page.spent == {"quota": 2}  # the threads, and the replies of one with more
    query = yt.requests_to("GET", "/youtube/v3/commentThreads")[0].query
    assert query["allThreadsRelatedToChannelId"] == [CH]
    later = connector(stored).fetch_inbox(
        (datetime.now(UTC) - timedelta(minutes=15)).isoformat(),
        datetime.now(UTC) - timedelta(days=7),
    )
    assert [i.remote_id for i in later.items] == ["UgxAna.ana2"]


def test_a_reply_is_a_comment_under_the_thread_and_reconciling_finds_ours(yt, stored):
    yt.play("comments")
    made = connector(stored)
    target = {"comment_id": "UgxAna.ana2", "parent_id": "UgxAna", "video_id": VID}
    reply = DeliveryContent("From a mill near Coimbra.", action="reply", target=target)

    published = made.publish(reply, "reply-3")

    assert published.remote_id == "UgxAna.rui2"
    assert yt.requests_to("POST", "/youtube/v3/comments")[0].json == {
        "snippet": {"parentId": "UgxAna", "textOriginal": "From a mill near Coimbra."}
    }
    earlier = DeliveryContent("A stone-ground T80.", action="reply", target=target)
    found = made.find_published("reply-2", earlier)
    assert found is not None and found.remote_id == "UgxAna.rui1"
    assert made.find_published("reply-4", reply) is None  # not in the recorded list
    assert "cannot hide" in str(made.validate(DeliveryContent("", action="hide", target=target)))


def test_statistics_give_views_likes_and_comments_and_subscribers(yt, stored):
    yt.play("statistics")
    made = connector(stored)
    found = made.fetch_metrics([VID, "OldBake0001", "GoneVideo01"])
    assert found[VID].views == 1532 and found[VID].likes == 87 and found[VID].replies == 12
    assert found["OldBake0001"].likes is None  # the owner hid the likes
    assert "GoneVideo01" not in found
    assert yt.requests_to("GET", "/youtube/v3/videos")[0].query["id"] == [
        f"GoneVideo01,OldBake0001,{VID}"
    ]
    assert made.fetch_followers() == 1240
    assert made.metrics_cost(120, followers=True) == {"quota": 4}


def test_delete_removes_the_video_and_one_already_gone_is_fine(yt, stored):
    yt.play("delete")
    made = connector(stored)
    made.delete(VID)
    made.delete("GoneVideo01")
    assert [s.query["id"] for s in yt.requests_to("DELETE", "/youtube/v3/videos")] == [
        [VID],
        ["GoneVideo01"],
    ]


def test_the_consent_opens_the_channel_with_its_uploads_playlist(yt):
    [account] = youtube.accounts(
        {"access_token": "ya29.a0AfB_tube-access", "refresh_token": "r", "expires_in": 3599}
    )
    assert account.info.handle == "@crumbandco" and account.info.display_name == "Crumb & Co"
    assert account.credentials["uploads_playlist"] == "UUbakeryCrumbCo0000000001"
    assert account.credentials["channel_id"] == CH
    yt.play("no_channel")
    assert youtube.accounts({"access_token": "a", "refresh_token": "r", "expires_in": 3599}) == []


def test_quota_is_declared_from_the_reference():
    limits = {limit.unit: limit for limit in YouTubeConnector.rate_limits}
    assert limits["quota"].points == 10_000 and limits["quota"].window == timedelta(days=1)
    assert limits["uploads"].points == 100
    made = YouTubeConnector(credentials(), lambda fresh: None)
    cost = made.cost(DeliveryContent("t", first_comment="c"))
    assert cost["uploads"] == 1 and cost["quota"] >= 51
    assert made.cost(DeliveryContent("r", action="reply")) == {"quota": 50}
    assert json.dumps(youtube.ABOUT.reference).startswith('"https://developers.google.com')
