"""The API's OpenAPI document is one that tools can read (Swagger UI, schemathesis, clients)."""

from __future__ import annotations

import json

import pytest

pytestmark = [pytest.mark.any_database, pytest.mark.django_db]


def test_no_operation_declares_a_response_code_twice(client):
    """A response declared as 200 by django-ninja and as "200" by hand becomes a duplicate
    key in the JSON document: Swagger UI then refuses the whole document."""
    body = client.get("/api/v1/openapi.json").content.decode()
    repeated = []

    def check(pairs: list[tuple[str, object]]) -> dict:
        keys = [key for key, _ in pairs]
        repeated.extend(key for key in set(keys) if keys.count(key) > 1)
        return dict(pairs)

    json.loads(body, object_pairs_hook=check)
    assert repeated == []


def test_no_two_api_schemas_share_a_name():
    """The OpenAPI document names each schema by its class name: two classes of one name
    would be published as one (and the API described wrongly)."""
    from collections import Counter

    from ninja import Schema

    import socialdesk.api  # noqa: F401 - imports every router and its schemas

    def every(cls: type) -> list[type]:
        return [cls, *(sub for child in cls.__subclasses__() for sub in every(child))]

    ours = [c for c in every(Schema) if c.__module__.startswith("socialdesk.")]
    shared = [name for name, n in Counter(c.__name__ for c in ours).items() if n > 1]
    assert shared == []


def test_the_metrics_operations_are_documented_for_analysts_with_null_for_not_given(client):
    """``GET …/posts/{id}/metrics`` and ``GET …/channels/{id}/days`` (issue 14) are read
    with ``analytics.view``, and a metric a network does not give is documented as null."""
    document = client.get("/api/v1/openapi.json").json()
    metrics = document["paths"]["/api/v1/workspaces/{slug}/posts/{post_id}/metrics"]["get"]
    days = document["paths"]["/api/v1/workspaces/{slug}/channels/{channel_id}/days"]["get"]
    assert metrics["x-permission"] == days["x-permission"] == "analytics.view"
    likes = document["components"]["schemas"]["SnapshotOut"]["properties"]["likes"]
    assert {"type": "null"} in likes["anyOf"]
    followers = document["components"]["schemas"]["DayOut"]["properties"]["followers"]
    assert {"type": "null"} in followers["anyOf"]


def test_best_times_and_experiments_are_documented_with_their_permissions(client):
    """Best times and experiments (issue 14 items 5 and 6): read with ``analytics.view``,
    started with ``deliveries.schedule`` (starting one schedules posts)."""
    paths = client.get("/api/v1/openapi.json").json()["paths"]
    best = paths["/api/v1/workspaces/{slug}/channels/{channel_id}/best-times"]["get"]
    listing = paths["/api/v1/workspaces/{slug}/experiments"]
    verdict = paths["/api/v1/workspaces/{slug}/experiments/{experiment_id}/verdict"]["get"]
    assert best["x-permission"] == verdict["x-permission"] == "analytics.view"
    assert listing["get"]["x-permission"] == "analytics.view"
    assert listing["post"]["x-permission"] == "deliveries.schedule"
    assert "201" in listing["post"]["responses"]


def test_the_analytics_reading_operations_are_documented_for_analysts(client):
    """``GET …/analytics/overview`` and ``GET …/analytics/posts`` (issue 14 item 4) are read
    with ``analytics.view``; a ranked post's benchmark may be null (no earlier posts)."""
    document = client.get("/api/v1/openapi.json").json()
    overview = document["paths"]["/api/v1/workspaces/{slug}/analytics/overview"]["get"]
    ranking = document["paths"]["/api/v1/workspaces/{slug}/analytics/posts"]["get"]
    assert overview["x-permission"] == ranking["x-permission"] == "analytics.view"
    names = {parameter["name"] for parameter in ranking["parameters"]}
    assert {"days", "from", "to", "metric", "age", "channel", "pillar", "page"} <= names
    benchmark = document["components"]["schemas"]["BenchmarkedPostOut"]["properties"]["benchmark"]
    assert {"type": "null"} in benchmark["anyOf"]


def test_listening_is_documented_with_its_permissions(client):
    """Listening (issue 15): read with ``listening.view``, changed with ``listening.manage``;
    trying a query stores nothing, so reading is enough."""
    paths = client.get("/api/v1/openapi.json").json()["paths"]
    topics = paths["/api/v1/workspaces/{slug}/listening/topics"]
    assert topics["get"]["x-permission"] == "listening.view"
    assert topics["post"]["x-permission"] == "listening.manage"
    assert "201" in topics["post"]["responses"]
    tried = paths["/api/v1/workspaces/{slug}/listening/queries/try"]["post"]
    assert tried["x-permission"] == "listening.view"
    mentions = paths["/api/v1/workspaces/{slug}/listening/mentions"]["get"]
    assert mentions["x-permission"] == "listening.view"
    assert {p["name"] for p in mentions["parameters"]} >= {
        "topic_id",
        "sentiment",
        "language",
        "source",
        "cursor",
        "limit",
    }
