"""Outgoing webhooks against a real HTTP server on 127.0.0.1.

The server runs in a thread and touches no database: the test thread sends (a webhook task
run with ``.call()``), the server records what it received and answers with the status the
test chose; every request is bounded by the sender's timeout and the server is shut down
after each test.
"""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from api_helpers import call
from task_queue import expected_run_after, flush, queued

from socialdesk.notifications.models import Notification, Webhook, WebhookCall, WebhookCallState
from socialdesk.notifications.services import create_webhook, notify
from socialdesk.notifications.tasks import MAX_ATTEMPTS, attempt_webhook_call, deliver_webhook_call
from socialdesk.notifications.webhooks import sign, validate_url, verify


@pytest.fixture(autouse=True)
def loopback_is_allowed(settings):
    """The receivers here listen on 127.0.0.1, which the operator must allow explicitly."""
    settings.SOCIALDESK_FETCH_ALLOW = ["127.0.0.1"]


class Receiver:
    """What a receiving system got, and what it answers next."""

    def __init__(self):
        self.requests: list[dict] = []
        self.statuses: list[int] = []  # answered in order; empty: 200

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}/hooks/socialdesk"


@pytest.fixture
def receiver():
    found = Receiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            length = int(self.headers.get("Content-Length", 0))
            found.requests.append(
                {"path": self.path, "headers": dict(self.headers), "body": self.rfile.read(length)}
            )
            self.send_response(found.statuses.pop(0) if found.statuses else 200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.timeout = 5
    found.server = server
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.daemon = True
    thread.start()
    yield found
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


@pytest.fixture
def hook(workspace, owner, receiver) -> tuple[Webhook, str]:
    return create_webhook(
        workspace,
        owner,
        name="Ops",
        url=receiver.url,
        events=["delivery.failed", "approval.requested"],
    )


def test_a_subscribed_event_is_posted_as_signed_json(
    workspace, creator, owner, hook, receiver, django_capture_on_commit_callbacks
):
    webhook, secret = hook
    flush()
    with django_capture_on_commit_callbacks(execute=True):
        notify(workspace, [creator], "approval.requested", "Approve “Rye”", actor=owner,
               url="/w/crumb/posts/3/")  # fmt: skip
    (pending,) = WebhookCall.objects.all()
    assert len(queued(pending.pk, "deliver_webhook_call")) == 1  # handed over after the commit

    assert deliver_webhook_call.call(pending.pk) == WebhookCallState.SENT
    (request,) = receiver.requests
    headers = request["headers"]
    assert request["path"] == "/hooks/socialdesk"
    assert headers["Content-Type"] == "application/json"
    assert headers["X-Socialdesk-Event"] == "approval.requested"
    # The receiver's check: HMAC-SHA256 over "<timestamp>.<raw body>" with the shared secret.
    assert verify(
        secret,
        request["body"],
        headers["X-Socialdesk-Signature"],
        headers["X-Socialdesk-Timestamp"],
    )
    assert not verify("another secret", request["body"], headers["X-Socialdesk-Signature"],
                      headers["X-Socialdesk-Timestamp"])  # fmt: skip
    body = json.loads(request["body"])
    assert body["event"] == "approval.requested"
    assert body["title"] == "Approve “Rye”"
    assert body["url"] == "http://127.0.0.1:8000/w/crumb/posts/3/"
    assert body["workspace"] == {"slug": "crumb", "name": "Crumb & Co"}
    assert body["actor"] == "Owner"
    webhook.refresh_from_db()
    assert webhook.last_status == "HTTP 200" and webhook.last_sent_at is not None


def test_events_a_webhook_did_not_choose_are_not_sent(workspace, creator, hook):
    notify(workspace, [creator], "post.ready", "Ready")
    assert WebhookCall.objects.count() == 0


def test_a_webhook_is_called_even_when_nobody_is_told_in_the_app(workspace, owner, hook):
    notify(workspace, [owner], "delivery.failed", "Failed", actor=owner)
    assert WebhookCall.objects.count() == 1


def test_slack_compatible_sends_text(workspace, owner, creator, receiver):
    webhook, _ = create_webhook(
        workspace, owner, name="Slack", url=receiver.url, events=["comment.mention"],
        slack_compatible=True,
    )  # fmt: skip
    notify(workspace, [creator], "comment.mention", "Ana mentioned you", body="@creator look",
           url="/w/crumb/posts/1/")  # fmt: skip
    attempt_webhook_call(WebhookCall.objects.get().pk)
    assert json.loads(receiver.requests[0]["body"]) == {
        "text": "Ana mentioned you\n@creator look\n"
        "<http://127.0.0.1:8000/w/crumb/posts/1/|Open in Socialdesk>"
    }


def test_a_failing_receiver_is_retried_with_backoff_a_bounded_number_of_times(
    workspace, owner, hook, receiver
):
    receiver.statuses = [503] * MAX_ATTEMPTS
    notify(workspace, [owner], "delivery.failed", "Failed")
    pending = WebhookCall.objects.get()
    flush()
    assert attempt_webhook_call(pending.pk) == WebhookCallState.PENDING
    (retry,) = queued(pending.pk, "deliver_webhook_call")
    pending.refresh_from_db()
    assert retry.run_after == expected_run_after(pending.next_attempt_at)  # later, not at once
    assert attempt_webhook_call(pending.pk) == "not due yet"  # run early: waits for its time
    for _ in range(MAX_ATTEMPTS - 2):
        time_passes(pending)
        assert attempt_webhook_call(pending.pk) == WebhookCallState.PENDING
    time_passes(pending)
    assert attempt_webhook_call(pending.pk) == WebhookCallState.FAILED
    assert attempt_webhook_call(pending.pk) == "nothing to do"
    pending.refresh_from_db()
    assert (pending.attempts, pending.response_status) == (MAX_ATTEMPTS, 503)
    assert len(receiver.requests) == MAX_ATTEMPTS
    # The same bytes every time, so a receiver can deduplicate.
    assert len({r["body"] for r in receiver.requests}) == 1


def time_passes(call: WebhookCall) -> None:
    """The retry's time has come (instead of waiting minutes for it)."""
    WebhookCall.objects.filter(pk=call.pk).update(next_attempt_at=None)


def test_a_receiver_that_refuses_the_request_is_not_retried(workspace, owner, hook, receiver):
    receiver.statuses = [410]
    notify(workspace, [owner], "delivery.failed", "Failed")
    assert attempt_webhook_call(WebhookCall.objects.get().pk) == WebhookCallState.FAILED
    webhook = hook[0]
    webhook.refresh_from_db()
    assert webhook.last_status == "HTTP 410 (attempt 1)"


def test_an_unreachable_receiver_is_recorded_not_raised(workspace, owner):
    create_webhook(workspace, owner, name="Gone", url="http://127.0.0.1:9/", events=["post.ready"])
    notify(workspace, [owner], "post.ready", "Ready")
    assert attempt_webhook_call(WebhookCall.objects.get().pk) == WebhookCallState.PENDING
    assert "Could not connect" in WebhookCall.objects.get().error


def test_an_old_or_altered_request_does_not_verify():
    body = b'{"event": "post.ready"}'
    now = int(time.time())
    signature = sign("s3cret", now, body)
    assert verify("s3cret", body, signature, str(now))
    assert not verify("s3cret", body + b" ", signature, str(now))
    assert not verify("s3cret", body, signature, str(now - 600), now=now)  # a replay
    assert not verify("s3cret", body, signature, "yesterday")


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("ftp://example.com/x", "http:// or https://"),
        ("javascript:alert(1)", "http:// or https://"),
        ("https:///nohost", "host name"),
        ("https://example.com:99999/", "not a valid URL"),
        ("https://exa mple.com/", "not a valid URL"),
    ],
)
def test_only_http_addresses_are_accepted(url, message):
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError) as caught:
        validate_url(url)
    assert message in caught.value.message_dict["url"][0]


def test_the_secret_is_stored_encrypted_and_shown_once_through_the_api(workspace, owner, token_for):
    token = token_for(owner)
    created = call("post", "/workspaces/crumb/webhooks", token, json_body={
        "name": "Zapier", "url": "https://hooks.example.test/a", "events": ["post.approved"],
    })  # fmt: skip
    assert created.status_code == 201
    secret = created.json()["secret"]
    webhook = Webhook.objects.get()
    assert secret and secret not in webhook.secret_encrypted and webhook.secret == secret
    read = call("get", f"/workspaces/crumb/webhooks/{webhook.pk}", token).json()
    assert "secret" not in read
    rotated = call("patch", f"/workspaces/crumb/webhooks/{webhook.pk}", token,
                   json_body={"rotate_secret": True}).json()  # fmt: skip
    assert rotated["secret"] not in (None, secret)


def test_bad_webhook_input_is_a_clear_422(workspace, owner, token_for):
    response = call("post", "/workspaces/crumb/webhooks", token_for(owner), json_body={
        "name": " ", "url": "file:///etc/passwd", "events": ["post.exploded"],
    })  # fmt: skip
    assert response.status_code == 422
    fields = {e["field"] for e in response.json()["errors"]}
    assert fields == {"name", "url", "events"}


def test_the_api_test_operation_reports_what_the_receiver_said(hook, owner, token_for, receiver):
    receiver.statuses = [500]
    answer = call("post", f"/workspaces/crumb/webhooks/{hook[0].pk}/test", token_for(owner))
    assert answer.json() == {"ok": False, "status": 500, "message": "HTTP 500"}
    assert json.loads(receiver.requests[0]["body"])["event"] == "webhook.test"


# --- The settings page ---------------------------------------------------------------------


def test_a_manager_adds_a_webhook_and_sees_its_secret_once(manager, signed_in, receiver):
    client = signed_in(manager)
    response = client.post("/w/crumb/settings/webhooks/", {
        "name": "Slack #social", "url": receiver.url, "events": ["delivery.failed"],
        "slack_compatible": "on",
    })  # fmt: skip
    webhook = Webhook.objects.get()
    assert response.status_code == 200
    assert webhook.secret in response.content.decode()
    assert response["Cache-Control"] == "no-store"
    assert webhook.secret not in client.get("/w/crumb/settings/webhooks/").content.decode()

    response = client.post(f"/w/crumb/settings/webhooks/{webhook.pk}/test/", follow=True)
    assert "Test sent to “Slack #social”: HTTP 200" in response.content.decode()
    assert len(receiver.requests) == 1

    client.post(f"/w/crumb/settings/webhooks/{webhook.pk}/toggle/")
    assert Webhook.objects.get().is_active is False
    client.post(f"/w/crumb/settings/webhooks/{webhook.pk}/delete/")
    assert Webhook.objects.count() == 0


def test_a_bad_address_is_shown_next_to_its_field(manager, signed_in):
    response = signed_in(manager).post("/w/crumb/settings/webhooks/", {
        "name": "X", "url": "ftp://example.com", "events": ["delivery.failed"],
    })  # fmt: skip
    assert response.status_code == 400
    assert "Use an http:// or https:// address." in response.content.decode()
    assert Webhook.objects.count() == 0


def test_creators_and_outsiders_cannot_manage_webhooks(creator, outsider, signed_in, hook):
    assert signed_in(creator).get("/w/crumb/settings/webhooks/").status_code == 403
    assert (
        signed_in(creator).post(f"/w/crumb/settings/webhooks/{hook[0].pk}/delete/").status_code
        == 403
    )
    assert signed_in(outsider).get("/w/crumb/settings/webhooks/").status_code == 404
    assert Webhook.objects.count() == 1


def test_a_paused_webhook_is_not_called(workspace, owner, hook):
    Webhook.objects.update(is_active=False)
    notify(workspace, [owner], "delivery.failed", "Failed")
    assert WebhookCall.objects.count() == 0


def test_a_call_whose_task_the_queue_lost_is_queued_again_by_the_heartbeat(
    workspace, owner, hook, receiver
):
    from datetime import timedelta

    from django.utils import timezone

    from socialdesk.notifications.tasks import LOST_AFTER, rescue_lost_work

    notify(workspace, [owner], "delivery.failed", "Failed")  # no commit: nothing was queued
    pending = WebhookCall.objects.get()
    flush()
    assert rescue_lost_work(timezone.now()) == 0  # not late yet
    # Its task should have run a while ago, and so should the owner's email (a failed
    # delivery is emailed at once).
    long_ago = timezone.now() - LOST_AFTER - timedelta(seconds=1)
    WebhookCall.objects.update(next_attempt_at=long_ago)
    Notification.objects.update(email_next_at=long_ago)
    assert rescue_lost_work(timezone.now()) == 2
    assert len(queued(pending.pk, "deliver_webhook_call")) == 1
    assert deliver_webhook_call.call(pending.pk) == WebhookCallState.SENT
    assert rescue_lost_work(timezone.now() + 2 * LOST_AFTER) == 1  # only the email is left


def test_a_second_run_of_the_task_during_an_attempt_sends_nothing(
    workspace, owner, hook, receiver, monkeypatch
):
    from socialdesk.notifications import webhooks

    notify(workspace, [owner], "delivery.failed", "Failed")
    pending = WebhookCall.objects.get()
    real_send = webhooks.send
    during = []

    def send_while_a_duplicate_runs(*args, **kwargs):
        during.append(attempt_webhook_call(pending.pk))  # the same task, queued twice
        return real_send(*args, **kwargs)

    monkeypatch.setattr(webhooks, "send", send_while_a_duplicate_runs)
    assert attempt_webhook_call(pending.pk) == WebhookCallState.SENT
    assert during == ["not due yet"]
    assert len(receiver.requests) == 1
