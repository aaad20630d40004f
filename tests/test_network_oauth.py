"""The shared OAuth 2 flow of the networks of issue 16 (``networks.oauth``, the connect pages
in ``networks.connect_views``) and the HTTP client every such connector uses
(``networks.http``), against an example network's recorded exchanges served over real HTTP
(``tests/recordings/oauth_example``, from RFC 6749 and RFC 7636)."""

from __future__ import annotations

import base64
import hashlib
import time
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from api_helpers import call
from django.test import Client
from django.urls import reverse

from socialdesk.networks import catalog, http, oauth
from socialdesk.networks.base import ConnectorError
from socialdesk.networks.models import Channel, ChannelStatus
from tests.recorded import RecordedNetwork

NETWORK = "x"


@pytest.fixture(scope="module")
def server():
    recorded = RecordedNetwork("oauth_example")
    yield recorded
    recorded.stop()


@pytest.fixture
def example(server, settings, monkeypatch) -> RecordedNetwork:
    """The example network in the place of X, its app configured, its addresses here."""
    server.reset()
    server.play("consent")
    monkeypatch.setitem(catalog.MODULES, NETWORK, "tests.fake_oauth_network")
    settings.NETWORK_APPS = {NETWORK: {"client_id": "app-1", "client_secret": "secret-1"}}
    settings.NETWORK_URL_OVERRIDES = {NETWORK: server.url}
    oauth._refreshed.clear()
    return server


@pytest.fixture
def browser(owner) -> Client:
    client = Client()
    client.force_login(owner)
    return client


def start(browser, workspace, **extra):
    return browser.post(reverse("network_connect", args=[workspace.slug, NETWORK]), extra)


def consent(example, response) -> str:
    """What the person's browser does on the network: open the authorize address, and come
    back to the callback address it is redirected to (path and query)."""
    assert response.status_code == 302
    answer = httpx.get(response["Location"], follow_redirects=False)
    assert answer.status_code == 302
    back = urlsplit(answer.headers["location"])
    return f"{back.path}?{back.query}"


def test_a_network_without_an_app_says_to_ask_the_administrator(
    browser, workspace, settings, monkeypatch
):
    monkeypatch.setitem(catalog.MODULES, NETWORK, "tests.fake_oauth_network")
    settings.NETWORK_APPS = {}
    page = browser.get(reverse("network_connect", args=[workspace.slug, NETWORK]))
    assert page.status_code == 200
    assert "ask your administrator to configure X" in page.content.decode()
    refused = start(browser, workspace)
    assert refused.status_code == 400
    assert "ask your administrator" in refused.content.decode()
    assert not Channel.objects.filter(network=NETWORK).exists()


def test_consent_connects_the_account_with_pkce_and_encrypted_tokens(browser, workspace, example):
    response = start(browser, workspace, time_zone="Europe/Paris")
    query = parse_qs(urlsplit(response["Location"]).query)
    assert query["client_id"] == ["app-1"]
    assert query["code_challenge_method"] == ["S256"]
    assert query["scope"] == ["read write"]
    done = browser.get(consent(example, response))
    assert done.status_code == 302
    channel = Channel.objects.get(workspace=workspace, network=NETWORK)
    assert (channel.handle, channel.remote_account_id, channel.time_zone) == (
        "crumb",
        "acct-1",
        "Europe/Paris",
    )
    assert channel.credentials["refresh_token"] == "refresh-1"
    assert "refresh-1" not in channel.credentials_encrypted
    assert channel.credentials["expires_at"] > time.time() + 7000
    # The verifier that reached the token address is the one the challenge was made from.
    (token_call,) = example.requests_to("POST", "/oauth/token")
    verifier = token_call.form["code_verifier"][0]
    digest = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=")
    assert digest.decode() == query["code_challenge"][0]
    assert token_call.form["client_secret"] == ["secret-1"]


def test_a_state_is_good_once_and_only_in_the_browser_that_started_it(
    browser, owner, workspace, example
):
    back = consent(example, start(browser, workspace))
    other = Client()
    other.force_login(owner)
    stranger = other.get(back, follow=True)
    assert "does not belong to a connection started in this browser" in stranger.content.decode()
    assert browser.get(back).status_code == 302
    again = browser.get(back, follow=True)
    assert "already used" in again.content.decode()
    assert Channel.objects.filter(network=NETWORK).count() == 1


def test_an_old_flow_expires(browser, workspace, example, monkeypatch):
    back = consent(example, start(browser, workspace))
    later = time.time() + oauth.FLOW_TTL.seconds + 5
    monkeypatch.setattr(oauth.time, "time", lambda: later)
    answer = browser.get(back, follow=True)
    assert "took longer than 10 minutes" in answer.content.decode()
    assert not Channel.objects.filter(network=NETWORK).exists()


def test_denial_and_a_refused_code_connect_nothing(browser, workspace, example):
    state = parse_qs(urlsplit(start(browser, workspace)["Location"]).query)["state"][0]
    callback = reverse("network_callback", args=[NETWORK])
    denied = browser.get(f"{callback}?error=access_denied&state={state}", follow=True)
    assert "You did not allow Socialdesk on X" in denied.content.decode()
    example.play("refused")
    back = consent(example, start(browser, workspace))
    refused = browser.get(back, follow=True)
    assert "did not accept the authorization" in refused.content.decode()
    assert not Channel.objects.filter(network=NETWORK).exists()


def test_a_login_that_opens_two_accounts_asks_which(browser, workspace, example):
    example.play("two_accounts")
    chooser = browser.get(consent(example, start(browser, workspace)))
    assert chooser.status_code == 302 and "/choose/" in chooser["Location"]
    page = browser.get(chooser["Location"])
    assert "Crumb Café" in page.content.decode()
    assert "access-1" not in page.content.decode()
    picked = browser.post(chooser["Location"], {"account": "1"})
    assert picked.status_code == 302
    channel = Channel.objects.get(network=NETWORK)
    assert channel.remote_account_id == "acct-2"
    again = browser.post(chooser["Location"], {"account": "0"}, follow=True)
    assert "expired or was already made" in again.content.decode()
    assert Channel.objects.filter(network=NETWORK).count() == 1


def test_reconnecting_keeps_the_refresh_token_a_new_consent_does_not_give(
    browser, workspace, example
):
    browser.get(consent(example, start(browser, workspace)))
    channel = Channel.objects.get(network=NETWORK)
    channel.status = ChannelStatus.NEEDS_RECONNECT
    channel.save()
    example.answer(
        "POST",
        "/oauth/token",
        {"status": 200, "body": {"access_token": "access-9", "token_type": "bearer"}},
    )
    browser.get(consent(example, start(browser, workspace, channel=str(channel.pk))))
    channel.refresh_from_db()
    assert channel.status == ChannelStatus.CONNECTED
    assert channel.credentials["access_token"] == "access-9"
    assert channel.credentials["refresh_token"] == "refresh-1"
    assert Channel.objects.filter(network=NETWORK).count() == 1


def test_refresh_rotates_tokens_and_a_refusal_or_an_outage_changes_nothing(example):
    stored = {"access_token": "access-1", "refresh_token": "refresh-1", "expires_at": 0}
    assert oauth.needs_refresh(stored)
    fresh = oauth.refresh(NETWORK, stored)
    assert (fresh["access_token"], fresh["refresh_token"]) == ("access-2", "refresh-2")
    assert not oauth.needs_refresh(fresh)
    example.play("refused")
    revoked = {**stored, "refresh_token": "refresh-revoked"}
    with pytest.raises(ConnectorError) as refused:
        oauth.refresh(NETWORK, revoked)
    assert refused.value.auth_revoked
    example.answer("POST", "/oauth/token", {"status": 503, "body": "<html>down</html>"})
    with pytest.raises(ConnectorError) as outage:
        oauth.refresh(NETWORK, {**stored, "refresh_token": "refresh-during-outage"})
    assert not outage.value.permanent
    assert revoked["refresh_token"] == "refresh-revoked"


# --- networks.http: what each answer means to the engine -----------------------------------


def api(example) -> http.Api:
    return http.Api(NETWORK, "Example", headers={"Authorization": "Bearer t"}, timeout=2.0)


URL = "https://api.example.network/things"


def test_answers_become_the_engines_decisions(example):
    client = api(example)
    example.answer("GET", "/things", {"status": 401, "body": {"message": "Token expired"}})
    with pytest.raises(ConnectorError) as revoked:
        client.call("GET", URL)
    assert revoked.value.auth_revoked and "Token expired" in revoked.value.message
    example.answer("GET", "/things", {"status": 400, "body": {"message": "Text too long"}})
    with pytest.raises(ConnectorError) as refused:
        client.call("GET", URL)
    assert refused.value.permanent and not refused.value.auth_revoked
    example.answer("GET", "/things", {"status": 502, "body": "<html>bad gateway</html>"})
    with pytest.raises(ConnectorError) as outage:
        client.call("GET", URL)
    assert not outage.value.permanent
    assert "Bearer t" not in outage.value.message


def test_a_429_waits_for_the_reset_even_one_already_past(example):
    client = api(example)
    example.answer("GET", "/things", {"status": 429, "headers": {"Retry-After": "120"}, "body": {}})
    with pytest.raises(ConnectorError) as limited:
        client.call("GET", URL)
    assert limited.value.rate_limited
    wait = limited.value.retry_after - datetime.now(UTC)
    assert timedelta(seconds=100) < wait <= timedelta(seconds=120)
    past = "Mon, 07 Dec 2026 00:00:00 GMT"
    example.answer("GET", "/things", {"status": 429, "headers": {"Retry-After": past}, "body": {}})
    with pytest.raises(ConnectorError) as gone:
        client.call("GET", URL)
    assert gone.value.rate_limited and not gone.value.permanent
    assert gone.value.retry_after < datetime.now(UTC)


def test_a_write_without_an_answer_is_an_unknown_outcome_and_a_read_is_retried(example):
    client = http.Api(NETWORK, "Example", timeout=0.3)
    example.answer("POST", "/things", {"status": 200, "body": {"id": "1"}})
    example.answer("GET", "/things", {"status": 200, "body": {"id": "1"}})
    example.delay = 1.0
    with pytest.raises(http.OutcomeUnknown):
        client.call("POST", URL, json={"text": "Fresh loaves"})
    with pytest.raises(ConnectorError) as read:
        client.call("GET", URL)
    assert not read.value.permanent


def test_the_networks_list_and_connect_api(owner, token_for, workspace, example):
    token = token_for(owner)
    listed = call("GET", f"/workspaces/{workspace.slug}/networks", token)
    assert listed.status_code == 200
    names = {n["network"]: n for n in listed.json()}
    assert {"page", "bluesky", "mastodon", NETWORK} <= set(names)
    assert names[NETWORK]["configured"] is True
    answer = call("POST", f"/workspaces/{workspace.slug}/networks/{NETWORK}/connect", token, {})
    assert answer.status_code == 200
    assert answer.json()["connected"] is False
    assert answer.json()["connect_page"].endswith(f"/channels/connect/{NETWORK}/")


def test_two_threads_refreshing_one_token_ask_the_network_once(example):
    import threading

    stored = {"access_token": "access-1", "refresh_token": "refresh-once", "expires_at": 0}
    results: list[dict] = []
    threads = [
        threading.Thread(target=lambda: results.append(oauth.refresh(NETWORK, stored)))
        for _ in range(3)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert [r["access_token"] for r in results] == ["access-2"] * 3
    refreshes = [
        s for s in example.requests_to("POST", "/oauth/token") if s.form.get("refresh_token")
    ]
    assert len(refreshes) == 1


def test_a_form_network_that_cannot_be_reached_is_a_clear_refusal_not_a_500(
    browser, owner, token_for, workspace, monkeypatch
):
    from socialdesk.networks import telegram

    def unreachable(values):
        raise ConnectorError("Telegram could not be reached; it will be tried again.")

    monkeypatch.setattr(telegram, "connect", unreachable)
    page = browser.post(
        reverse("network_connect", args=[workspace.slug, "telegram"]),
        {"bot_token": "123:abc", "chat": "@crumbnews", "time_zone": ""},
    )
    assert page.status_code == 400
    assert "could not be reached" in page.content.decode()
    fields = {f.name: "x" for f in telegram.FORM_FIELDS}
    answer = call(
        "POST",
        f"/workspaces/{workspace.slug}/networks/telegram/connect",
        token_for(owner),
        {"fields": fields},
    )
    assert answer.status_code == 422  # the API's answer to a refusal (api_support)
    assert "could not be reached" in answer.content.decode()
    assert not Channel.objects.filter(network="telegram").exists()
