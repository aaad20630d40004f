"""Experiments' lifecycle (``analytics.experiments``): variants become posts through the
content service, the sample is fixed up front, the verdict waits for it, and the winner goes
back into the queue as an evergreen post."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from socialdesk.analytics import experiment_stats as stats
from socialdesk.analytics import experiments
from socialdesk.analytics.experiments import ExperimentSpec, VariantSpec
from socialdesk.analytics.models import (
    Bucket,
    Experiment,
    ExperimentMetric,
    ExperimentState,
    MetricSnapshot,
)
from socialdesk.publishing.models import Delivery, DeliveryState, QueueEntry


def spec(channel, **changes) -> ExperimentSpec:
    later = timezone.now() + timedelta(days=1)
    values = {
        "name": "Sourdough wording",
        "metric": ExperimentMetric.CLICKS_PER_VIEW,
        "baseline_rate": 0.02,
        "minimum_effect": 0.01,
        "variants": [
            VariantSpec("Fresh sourdough at 7 🍞 https://crumb.example/bread", channel.pk, later),
            VariantSpec(
                "Warm loaves from 7 am https://crumb.example/bread",
                channel.pk,
                later + timedelta(days=7),
            ),
        ],
    }
    values.update(changes)
    return ExperimentSpec(**values)


def measure(experiment, views_clicks: dict[str, tuple[int, int]]) -> None:
    """Publish each variant's delivery and read it at +24 h with these views and clicks."""
    for variant in experiment.variants.all():
        views, clicks = views_clicks[variant.label]
        delivery = Delivery.objects.get(post=variant.post)
        published_at = timezone.now() - timedelta(days=2)
        Delivery.objects.filter(pk=delivery.pk).update(
            state=DeliveryState.PUBLISHED, published_at=published_at, remote_id=f"r{delivery.pk}"
        )
        MetricSnapshot.objects.create(
            workspace=experiment.workspace,
            delivery=delivery,
            channel=delivery.channel,
            published_at=published_at,
            taken_at=published_at + timedelta(hours=24),
            bucket=Bucket.H24,
            views=views,
            clicks=clicks,
            likes=3,
        )


def test_creating_an_experiment_schedules_a_post_per_variant_and_fixes_the_sample(
    workspace, owner, channel
):
    experiment = experiments.create_experiment(workspace, owner, spec(channel))

    assert experiment.state == ExperimentState.RUNNING
    # 2 % → 3 %, α = .05 two-sided, power .8 (Fleiss eq. 4.14 without correction): 3,826.
    assert experiment.required_per_variant == 3826
    a, b = experiment.variants.all()
    assert (a.label, b.label) == ("A", "B")
    assert a.post.text.startswith("Fresh sourdough")
    assert Delivery.objects.get(post=b.post).state == DeliveryState.SCHEDULED


def test_more_variants_share_alpha(workspace, owner, channel):
    later = timezone.now() + timedelta(days=1)
    variants = [
        VariantSpec(f"Variant {i}", channel.pk, later + timedelta(days=i)) for i in range(3)
    ]

    experiment = experiments.create_experiment(workspace, owner, spec(channel, variants=variants))

    assert experiment.required_per_variant > 3826  # each comparison at α = .025


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"name": " "}, "name"),
        ({"baseline_rate": 0.0}, "baseline_rate"),
        ({"minimum_effect": 1.5}, "minimum_effect"),
        ({"metric": "likes"}, "metric"),
    ],
)
def test_a_bad_experiment_is_refused_by_field(workspace, owner, channel, changes, field):
    with pytest.raises(ValidationError) as refused:
        experiments.create_experiment(workspace, owner, spec(channel, **changes))
    assert field in refused.value.message_dict


def test_variants_must_be_two_to_four_different_posts_on_our_channels(
    workspace, owner, channel, other_channel
):
    one = spec(channel).variants[:1]
    with pytest.raises(ValidationError, match="two to four"):
        experiments.create_experiment(workspace, owner, spec(channel, variants=one))
    same = [spec(channel).variants[0]] * 2
    with pytest.raises(ValidationError, match="the same"):
        experiments.create_experiment(workspace, owner, spec(channel, variants=same))
    theirs = [spec(channel).variants[0], VariantSpec("x", other_channel.pk)]
    with pytest.raises(ValidationError, match="no such channel"):
        experiments.create_experiment(workspace, owner, spec(channel, variants=theirs))


def test_the_verdict_waits_for_the_sample_and_says_how_much_is_missing(workspace, owner, channel):
    experiment = experiments.create_experiment(workspace, owner, spec(channel))
    measure(experiment, {"A": (3000, 60), "B": (3600, 110)})

    result = experiments.verdict(experiment)

    assert not result.ready
    assert result.missing == (3826 - 3000) + (3826 - 3600)
    assert result.text == "Not enough data yet: ~1,052 more views."
    with pytest.raises(ValidationError, match="Not enough data yet"):
        experiments.conclude(experiment)


def test_a_clear_winner_is_named_with_its_interval_and_concluded(workspace, owner, channel):
    experiment = experiments.create_experiment(workspace, owner, spec(channel))
    measure(experiment, {"A": (4000, 80), "B": (4000, 140)})

    result = experiments.conclude(experiment)

    assert result.ready and result.winner == "B"
    [comparison] = result.comparisons
    assert comparison.test == "two-proportion z-test" and comparison.p_value < 0.05
    assert result.text.startswith("B is better than A, 95 % interval +")
    assert result.best_probability["B"] > 0.99
    experiment.refresh_from_db()
    assert experiment.state == ExperimentState.FINISHED
    assert experiment.winner.label == "B" and experiment.verdict == result.text


def test_no_clear_difference_is_said_plainly(workspace, owner, channel):
    experiment = experiments.create_experiment(workspace, owner, spec(channel))
    measure(experiment, {"A": (4000, 80), "B": (4000, 84)})

    result = experiments.verdict(experiment)

    assert result.ready and result.winner == ""
    assert result.text.startswith("No clear difference (95 % intervals: B − A: −")


def test_small_counts_use_fishers_exact_test(workspace, owner, channel):
    experiment = experiments.create_experiment(
        workspace, owner, spec(channel, baseline_rate=0.3, minimum_effect=0.6)
    )
    assert experiment.required_per_variant == 10
    measure(experiment, {"A": (10, 1), "B": (10, 8)})  # 9 clicks: expected 4.5 a cell

    [comparison] = experiments.verdict(experiment).comparisons

    assert comparison.test == "Fisher's exact test"
    assert comparison.p_value == pytest.approx(stats.fisher_exact(8, 2, 1, 9))
    assert comparison.p_value < 0.05


def test_a_finished_experiment_cannot_be_stopped_and_a_stopped_one_has_no_verdict(
    workspace, owner, channel
):
    experiment = experiments.create_experiment(workspace, owner, spec(channel))
    experiments.stop(experiment)
    assert experiment.state == ExperimentState.STOPPED
    with pytest.raises(ValidationError, match="stopped and cannot be finished"):
        experiments.conclude(experiment)


def test_the_winner_is_queued_again_as_evergreen(workspace, owner, channel):
    experiment = experiments.create_experiment(workspace, owner, spec(channel))
    measure(experiment, {"A": (4000, 80), "B": (4000, 140)})
    with pytest.raises(ValidationError, match="finished experiment with a winner"):
        experiments.requeue_winner(experiment, owner)
    experiments.conclude(experiment)

    [entry] = experiments.requeue_winner(experiment, owner, interval_days=45)

    assert entry.evergreen and entry.interval_days == 45
    assert entry.delivery.post.text.startswith("Warm loaves")
    assert entry.delivery.post_id != experiment.winner.post_id
    assert QueueEntry.objects.filter(channel=channel).count() == 1


def test_engagement_per_follower_reads_the_channels_day(workspace, owner, channel):
    from socialdesk.analytics.models import ChannelDay

    experiment = experiments.create_experiment(
        workspace, owner, spec(channel, metric=ExperimentMetric.ENGAGEMENT_PER_FOLLOWER)
    )
    measure(experiment, {"A": (0, 0), "B": (0, 0)})
    ChannelDay.objects.create(
        workspace=workspace,
        channel=channel,
        day=timezone.localdate() - timedelta(days=5),
        followers=500,
    )

    a, b = experiments.numbers(experiment)

    assert (a.successes, a.trials) == (3, 500) and (b.successes, b.trials) == (3, 500)


# Pages ---------------------------------------------------------------------------------------


def form_data(channel, **changes) -> dict:
    data = {
        "name": "Morning or evening",
        "metric": "clicks_per_view",
        "baseline_percent": "2",
        "effect_points": "1",
        "text_A": "Bread at 7",
        "channel_A": str(channel.pk),
        "time_A": "2027-01-12T07:00",
        "text_B": "Bread at 7",
        "channel_B": str(channel.pk),
        "time_B": "2027-01-12T18:00",
        "description_B": "Evening",
    }
    data.update(changes)
    return data


def test_a_creator_starts_an_experiment_from_the_form(workspace, creator, channel, signed_in):
    response = signed_in(creator).post("/w/crumb/analytics/experiments/new/", form_data(channel))

    assert response.status_code == 302
    experiment = workspace_experiment(workspace)
    assert experiment.required_per_variant == 3826
    a, b = experiment.variants.all()
    # Read on the channel's wall clock (the workspace's Europe/Paris): 18:00 CET = 17:00 UTC.
    assert Delivery.objects.get(post=b.post).scheduled_at.isoformat() == "2027-01-12T17:00:00+00:00"
    assert b.description == "Evening"


def workspace_experiment(workspace):
    return Experiment.objects.get(workspace=workspace)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"baseline_percent": "0"}, "greater than or equal to 0.01"),
        ({"baseline_percent": "abc"}, "Enter a number"),
        ({"text_B": ""}, "This field is required"),
        ({"channel_B": "999999"}, "Select a valid choice"),
        ({"time_B": "2027-01-12T07:00"}, "Two variants are the same"),
        ({"baseline_percent": "95", "effect_points": "10"}, "below 100 %"),
    ],
)
def test_the_form_says_what_is_wrong_and_starts_nothing(
    workspace, owner, channel, signed_in, changes, message
):
    response = signed_in(owner).post(
        "/w/crumb/analytics/experiments/new/", form_data(channel, **changes)
    )

    assert response.status_code == 400
    assert message in response.content.decode()
    assert not Experiment.objects.exists()


def test_the_detail_page_shows_the_verdict_the_table_and_the_chart(
    workspace, owner, analyst, channel, signed_in
):
    experiment = experiments.create_experiment(workspace, owner, spec(channel))
    measure(experiment, {"A": (4000, 80), "B": (4000, 140)})

    html = (
        signed_in(analyst).get(f"/w/crumb/analytics/experiments/{experiment.pk}/").content.decode()
    )

    assert "B is better than A, 95 % interval +" in html
    assert "2.00 %" in html and "3.50 %" in html and "+1.50 points" in html
    assert 'id="xp-chart-data"' in html and "vendor/chart.umd.min.js" in html
    assert "Conclude with this verdict" not in html  # an analyst reads, does not act
    listing = signed_in(analyst).get("/w/crumb/analytics/experiments/").content.decode()
    assert "Sourdough wording" in listing


def test_concluding_and_requeueing_from_the_page(workspace, owner, channel, signed_in):
    experiment = experiments.create_experiment(workspace, owner, spec(channel))
    measure(experiment, {"A": (4000, 80), "B": (4000, 140)})
    client = signed_in(owner)
    base = f"/w/crumb/analytics/experiments/{experiment.pk}"

    client.post(f"{base}/conclude/")
    response = client.post(f"{base}/requeue/", {"interval_days": "60"}, follow=True)

    assert "back in 1 queue as an evergreen post, every 60 days" in response.content.decode()
    assert QueueEntry.objects.get(channel=channel).interval_days == 60
    bad = client.post(f"{base}/requeue/", {"interval_days": "soon"}, follow=True)
    assert "The interval is a number of days." in bad.content.decode()


def test_who_may_see_and_start_experiments(
    workspace, owner, creator, analyst, outsider, channel, signed_in
):
    experiment = experiments.create_experiment(workspace, owner, spec(channel))
    detail = f"/w/crumb/analytics/experiments/{experiment.pk}/"
    assert signed_in(creator).get(detail).status_code == 403
    assert signed_in(outsider).get(detail).status_code == 404
    assert signed_in(analyst).get("/w/crumb/analytics/experiments/new/").status_code == 403
    assert signed_in(analyst).post(f"{detail}stop/").status_code == 403
    assert signed_in(outsider).post(f"{detail}stop/").status_code == 404
    assert signed_in(creator).get("/w/crumb/analytics/experiments/new/").status_code == 200


def test_clicks_are_the_short_links_counted_clicks_where_a_delivery_has_short_links(
    workspace, owner, channel
):
    """People's clicks on the delivery's own short links (bots are never rows); a delivery
    without short links falls back to what the network reports in its latest snapshot."""
    from socialdesk.analytics.models import Click, ShortLink

    experiment = experiments.create_experiment(workspace, owner, spec(channel))
    posts = [variant.post_id for variant in experiment.variants.order_by("label")]
    linked, unlinked = (
        Delivery.objects.filter(post_id__in=posts).order_by("pk").select_related("post")[:2]
    )
    link = ShortLink.objects.create(
        workspace=workspace,
        delivery=linked,
        post=linked.post,
        channel=channel,
        source_url="https://crumb.example/bread",
        target_url="https://crumb.example/bread?utm_source=page",
        code="Ab3dEf7h",
    )
    now = timezone.now()
    for n in range(3):
        Click.objects.create(workspace=workspace, link=link, at=now, visitor="v", token=f"t{n}")
    MetricSnapshot.objects.create(
        workspace=workspace,
        delivery=unlinked,
        channel=channel,
        published_at=now,
        taken_at=now,
        bucket=Bucket.H1,
        clicks=5,
    )

    assert experiments.clicks_of([linked.pk, unlinked.pk]) == {linked.pk: 3, unlinked.pk: 5}
