"""Conversions (issue 14, item 3): the shop's signed report of an order for a click, recorded
once per order and attributed last-click to the click's post, channel and campaign within the
workspace's window; bad input named, a bad signature refused, nothing half written."""

from __future__ import annotations

import json
from datetime import timedelta
from decimal import Decimal

import pytest
from django.test import Client
from django.utils import timezone
from page_helpers import make_due, scheduled_post

from socialdesk.analytics.conversions import rotate_secret, sign
from socialdesk.analytics.models import Click, Conversion, LinkSettings, ShortLink
from socialdesk.content.models import Post
from socialdesk.publishing import dispatch

BROWSER = "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0"


@pytest.fixture
def secret(workspace) -> str:
    return rotate_secret(workspace)


@pytest.fixture
def click(channel, owner, taxonomy) -> Click:
    """A person's click on the link of a published post of the Christmas campaign."""
    delivery = scheduled_post(channel, owner, "Stollen: https://crumb.test/stollen")
    Post.objects.filter(pk=delivery.post_id).update(campaign=taxonomy["campaign"])
    dispatch.run(make_due(delivery).pk, "test-worker")
    link = ShortLink.objects.get(delivery=delivery)
    Client().get(f"/l/{link.code}", HTTP_USER_AGENT=BROWSER)
    return Click.objects.get()


def report(secret: str, body: object, *, slug: str = "crumb", signature: str | None = None):
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    header = sign(secret, raw) if signature is None else signature
    return Client().post(
        f"/hooks/conversions/{slug}",
        raw,
        content_type="application/json",
        HTTP_X_SOCIALDESK_SIGNATURE=header,
    )


def order(made: Click, **changes: object) -> dict[str, object]:
    base = {"click": made.token, "value": "24.50", "currency": "EUR", "order_id": "A-1001"}
    return base | changes


def test_a_signed_report_is_attributed_to_the_clicks_post_channel_and_campaign(
    secret, click, taxonomy
):
    response = report(secret, order(click))

    assert response.status_code == 201, response.content
    conversion = Conversion.objects.get()
    assert conversion.value == Decimal("24.50")
    assert conversion.currency == "EUR"
    assert conversion.attributed
    assert conversion.window_days == 30
    assert conversion.click == click
    assert conversion.post_id == click.link.post_id
    assert conversion.channel_id == click.link.channel_id
    assert conversion.campaign == taxonomy["campaign"]
    assert response.json()["created"] is True


def test_the_same_order_again_is_recorded_once(secret, click):
    first = report(secret, order(click))
    again = report(secret, order(click, value="99.00"))

    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json()["id"] == first.json()["id"]
    assert again.json()["value"] == "24.50"
    assert Conversion.objects.count() == 1


def test_a_click_older_than_the_window_records_the_order_unattributed(secret, click, workspace):
    LinkSettings.objects.filter(workspace=workspace).update(conversion_window_days=7)
    Click.objects.filter(pk=click.pk).update(at=timezone.now() - timedelta(days=8))

    response = report(secret, order(click))

    assert response.status_code == 201
    conversion = Conversion.objects.get()
    assert not conversion.attributed
    assert conversion.window_days == 7
    assert (conversion.post_id, conversion.campaign_id) == (None, None)


def test_a_wrong_signature_is_refused_and_nothing_written(secret, click):
    response = report(secret, order(click), signature="sha256=" + "0" * 64)
    assert response.status_code == 401
    assert response["Content-Type"] == "application/problem+json"
    assert not Conversion.objects.exists()


def test_the_old_secret_stops_working_when_it_is_rotated(secret, click, workspace):
    rotate_secret(workspace)
    assert report(secret, order(click)).status_code == 401


def test_a_workspace_without_a_secret_refuses_every_report(click):
    assert report("guess", order(click)).status_code == 401


def test_an_unknown_workspace_is_404(secret, click):
    assert report(secret, order(click), slug="nobody").status_code == 404


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"click": "nope-not-a-click"}, "click"),
        ({"click": 42}, "click"),
        ({"value": "twelve"}, "value"),
        ({"value": "-1"}, "value"),
        ({"value": "1.005"}, "value"),
        ({"value": "NaN"}, "value"),
        ({"value": True}, "value"),
        ({"value": "1e400"}, "value"),
        ({"currency": "euro"}, "currency"),
        ({"currency": None}, "currency"),
        ({"order_id": ""}, "order_id"),
        ({"order_id": "x" * 201}, "order_id"),
        ({"order_id": "A\x00"}, "order_id"),
    ],
)
def test_bad_input_is_a_400_naming_the_field(secret, click, changes, field):
    response = report(secret, order(click, **changes))

    assert response.status_code == 400, response.content
    assert response.json()["errors"][0]["field"] == field
    assert not Conversion.objects.exists()


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (b"{not json", "body"),
        (b"[1, 2]", "body"),
        (b"\xff\xfe", "body"),
        (json.dumps({"click": "x", "value": "1", "currency": "EUR"}).encode(), "order_id"),
    ],
)
def test_a_body_that_is_not_a_report_is_a_400(secret, click, body, field):
    response = report(secret, body)
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == field


def test_a_click_of_another_workspace_is_not_found(secret, click, other_workspace):
    other_secret = rotate_secret(other_workspace)
    response = report(other_secret, order(click), slug=other_workspace.slug)
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "click"


def test_only_post_is_allowed(secret, db):
    assert Client().get("/hooks/conversions/crumb").status_code == 405
