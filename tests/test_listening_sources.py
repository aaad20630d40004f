"""Listening sources (socialdesk.listening.sources): feeds read through the guarded fetch from a
real local HTTP server, incrementally and once per entry; polling paced and leased; a
failure written on the source, never raised."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.utils import timezone

from socialdesk.listening import sources
from socialdesk.listening.models import Mention, Source, SourceKind, Topic, TopicQuery

ENTRY = """<entry><id>urn:post:{n}</id><title>{title}</title>
<link href="https://blog.example/{n}"/><updated>2026-12-0{day}T10:00:00Z</updated>
<author><name>Mia</name></author><summary type="html">{summary}</summary></entry>"""


def atom(*entries: str) -> bytes:
    return (
        '<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom">'
        "<title>Bakery news</title><id>urn:feed</id><updated>2026-12-06T10:00:00Z</updated>"
        + "".join(entries)
        + "</feed>"
    ).encode()


class FeedServer:
    """A tiny feed server on 127.0.0.1: serves ``body`` with an ETag, answers 304 when the
    ETag comes back, and counts the requests."""

    def __init__(self) -> None:
        self.body = atom()
        self.status = 200
        self.requests: list[dict[str, str]] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - http.server's name
                server.requests.append(dict(self.headers))
                etag = f'"{hash(server.body)}"'
                if self.headers.get("If-None-Match") == etag:
                    self.send_response(304)
                    self.end_headers()
                    return
                self.send_response(server.status)
                self.send_header("Content-Type", "application/atom+xml")
                self.send_header("ETag", etag)
                self.send_header("Content-Length", str(len(server.body)))
                self.end_headers()
                self.wfile.write(server.body)

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}/feed.xml"

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def feed_server(settings) -> Iterator[FeedServer]:
    server = FeedServer()
    settings.SOCIALDESK_FETCH_ALLOW = [f"127.0.0.1:{server.httpd.server_address[1]}"]
    yield server
    server.stop()


@pytest.fixture
def topic(workspace) -> Topic:
    topic = Topic.objects.create(workspace=workspace, name="Croissants")
    TopicQuery.objects.create(workspace=workspace, topic=topic, text="croissant*")
    return topic


def test_a_feed_is_read_once_per_entry_and_incrementally(workspace, topic, feed_server):
    feed_server.body = atom(
        ENTRY.format(
            n=1,
            day=4,
            title="New croissants",
            summary="<p>Made with butter &amp; love, every morning</p>",
        ),
        ENTRY.format(n=2, day=5, title="Opening hours", summary="Open on Sunday"),
    )
    source = Source.objects.create(workspace=workspace, kind=SourceKind.FEED, url=feed_server.url)
    now = timezone.now()

    first = sources.poll_once(source.pk, now)
    assert first == {"source": source.pk, "polled": True, "seen": 2, "new": 2, "stored": 1}
    mention = Mention.objects.get()
    assert mention.remote_id == "urn:post:1"
    assert mention.text == "New croissants\nMade with butter & love, every morning"
    assert (mention.author_name, mention.url) == ("Mia", "https://blog.example/1")
    assert mention.source_ref == feed_server.url and mention.language == "en"
    assert list(mention.topics.all()) == [topic]

    # Not due again within POLL_EVERY: nothing is fetched.
    assert sources.poll_once(source.pk, now + timedelta(minutes=1))["polled"] is False
    assert len(feed_server.requests) == 1

    # Unchanged feed: the ETag comes back and the server says 304.
    later = now + sources.POLL_EVERY
    assert sources.poll_once(source.pk, later)["polled"] is True
    assert feed_server.requests[-1].get("If-None-Match")

    # A new entry: only it is new; the old ones are not stored twice.
    feed_server.body = atom(
        ENTRY.format(n=1, day=4, title="New croissants", summary="Butter"),
        ENTRY.format(n=3, day=6, title="Croissants aux amandes", summary="Dimanche"),
    )
    third = sources.poll_once(source.pk, later + sources.POLL_EVERY)
    assert (third["new"], third["stored"]) == (1, 1)
    assert Mention.objects.count() == 2
    source.refresh_from_db()
    assert source.cursor["newest"].startswith("2026-12-06") and source.last_error == ""


def test_a_feed_at_an_internal_address_is_refused_and_said_on_the_source(
    workspace, topic, settings
):
    settings.SOCIALDESK_FETCH_ALLOW = []
    source = Source.objects.create(
        workspace=workspace, kind=SourceKind.FEED, url="http://127.0.0.1:9/feed.xml"
    )
    outcome = sources.poll_once(source.pk)
    assert outcome["polled"] and "SOCIALDESK_FETCH_ALLOW" in outcome["error"]
    source.refresh_from_db()
    assert "SOCIALDESK_FETCH_ALLOW" in source.last_error and source.polling_until is None


def test_what_is_not_a_feed_or_a_failing_server_is_an_error_on_the_source(
    workspace, topic, feed_server
):
    source = Source.objects.create(workspace=workspace, kind=SourceKind.FEED, url=feed_server.url)
    feed_server.body = b"<html><body>hello</body></html>"
    now = timezone.now()
    assert "did not give an RSS or Atom feed" in sources.poll_once(source.pk, now)["error"]
    feed_server.status = 500
    feed_server.body = b"oops"
    assert "answered 500" in sources.poll_once(source.pk, now + sources.POLL_EVERY)["error"]
    assert not Mention.objects.exists()


def test_the_heartbeat_queues_each_due_source_once(workspace, topic, feed_server, monkeypatch):
    queued: list[int] = []
    monkeypatch.setattr(sources, "_hand_over", queued.append)
    due = Source.objects.create(workspace=workspace, kind=SourceKind.FEED, url=feed_server.url)
    Source.objects.create(
        workspace=workspace, kind=SourceKind.FEED, url=feed_server.url, active=False
    )
    now = timezone.now()
    Source.objects.create(
        workspace=workspace, kind=SourceKind.FEED, url=feed_server.url, polled_at=now
    )
    with django_capture_on_commit() as callbacks:
        assert sources.on_heartbeat(now) == [due.pk]
        assert sources.on_heartbeat(now + timedelta(seconds=5)) == []  # leased
    for callback in callbacks:
        callback()
    assert queued == [due.pk]
    # The queued task runs under the lease the heartbeat took.
    assert sources.poll_source.call(due.pk)["polled"] is True
    due.refresh_from_db()
    assert due.polling_until is None and due.polled_at is not None


def django_capture_on_commit():
    from django.test import TestCase

    return TestCase.captureOnCommitCallbacks(execute=False)
