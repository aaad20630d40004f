"""The API of best times and experiments (``analytics.best_time_api``,
``analytics.experiments_api``): what it answers, and what it refuses with a clear 4xx."""

from __future__ import annotations

from datetime import UTC, datetime

from api_helpers import call
from test_best_time import NOW, history

from socialdesk.analytics import best_time
from socialdesk.networks.models import Channel, Network


def test_an_analyst_reads_a_channels_best_times(workspace, analyst, token_for):
    berlin = Channel.objects.create(
        workspace=workspace,
        network=Network.MASTODON,
        handle="@crumb@bakers.social",
        time_zone="Europe/Berlin",
    )
    history(berlin, weeks=12)
    best_time.refresh(berlin, NOW)

    response = call("GET", f"/workspaces/crumb/channels/{berlin.pk}/best-times", token_for(analyst))

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["source"] == "own" and body["time_zone"] == "Europe/Berlin"
    assert body["top"][0] == {
        "weekday": 1,
        "hour": 18,
        "score": body["top"][0]["score"],
        "posts": 12,
        "confidence": "high",
    }
    assert datetime.fromisoformat(body["next_best_time"]).astimezone(UTC).hour in (16, 17)
    assert "16 weeks" in body["rule"]


def test_a_channel_never_computed_says_so(channel, analyst, token_for):
    body = call(
        "GET", f"/workspaces/crumb/channels/{channel.pk}/best-times", token_for(analyst)
    ).json()

    assert body["source"] == "none" and body["source_text"] == "not computed yet"
    assert body["slots"] == [] and body["next_best_time"] is None


def experiment_body(channel, **changes) -> dict:
    body = {
        "name": "Morning or evening",
        "metric": "engagement_per_view",
        "baseline_rate": 0.05,
        "minimum_effect": 0.02,
        "variants": [
            {"text": "Bread at 7", "channel_id": channel.pk, "scheduled_at": "2027-01-12T07:00"},
            {
                "text": "Bread at 7",
                "channel_id": channel.pk,
                "scheduled_at": "2027-01-12T18:00",
                "description": "Evening",
            },
        ],
    }
    body.update(changes)
    return body


def test_a_creator_starts_an_experiment_and_an_analyst_reads_its_verdict(
    channel, creator, analyst, token_for
):
    created = call(
        "POST", "/workspaces/crumb/experiments", token_for(creator), experiment_body(channel)
    )

    assert created.status_code == 201, created.content
    experiment = created.json()
    assert experiment["state"] == "running" and experiment["required_per_variant"] > 0
    assert [v["label"] for v in experiment["variants"]] == ["A", "B"]
    read = call("GET", f"/workspaces/crumb/experiments/{experiment['id']}", token_for(analyst))
    assert read.json()["name"] == "Morning or evening"
    verdict = call(
        "GET", f"/workspaces/crumb/experiments/{experiment['id']}/verdict", token_for(analyst)
    ).json()
    assert verdict["ready"] is False
    assert verdict["missing"] == 2 * experiment["required_per_variant"]
    assert verdict["text"].startswith("Not enough data yet: ~")
    listing = call("GET", "/workspaces/crumb/experiments", token_for(analyst)).json()
    assert [e["id"] for e in listing] == [experiment["id"]]


def test_bad_experiments_are_refused_with_what_is_wrong(channel, other_channel, owner, token_for):
    token = token_for(owner)
    cases = [
        experiment_body(channel, metric="likes"),
        experiment_body(channel, baseline_rate=1.5),
        experiment_body(channel, variants=experiment_body(channel)["variants"][:1]),
        experiment_body(channel, baseline_rate=0.95, minimum_effect=0.1),
        experiment_body(
            channel,
            variants=[
                {"text": "a", "channel_id": channel.pk},
                {"text": "b", "channel_id": other_channel.pk},
            ],
        ),
        experiment_body(
            channel,
            variants=[
                {"text": "a", "channel_id": channel.pk, "scheduled_at": "2027-03-28T02:30"},
                {"text": "b", "channel_id": channel.pk},
            ],
        ),
    ]
    for body in cases:
        response = call("POST", "/workspaces/crumb/experiments", token, body)
        assert response.status_code in (400, 422), (body, response.status_code, response.content)
        assert response["Content-Type"] == "application/problem+json"
    assert call("GET", "/workspaces/crumb/experiments/999999", token).status_code == 404
