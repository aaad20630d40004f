"""Experiments: A/B tests of two to four variants of a post, with real statistics (issue 14
item 6).

The lifecycle, declared once (``TRANSITIONS``): an experiment is **running** from its
creation (its variants' posts are created and scheduled through ``content.services``, the
one path every door uses, which asks ``publishing`` for the deliveries), then **finished**
(``conclude``: the verdict is stored, with the winner if there is one) or **stopped**
(``stop``: abandoned, no verdict). A finished experiment's winner can be queued again as an
evergreen post (``requeue_winner``: ``publishing.planning.copy_post`` then
``publishing.queues.add_to_queue(evergreen=True)``).

The test is decided before it starts: the metric, the baseline rate of variant A and the
smallest absolute effect worth finding give the trials each variant needs
(``experiment_stats.sample_size``, α = 0.05 two-sided and power 0.8; with more than two
variants each one is compared with A at α / (k − 1), Bonferroni). The verdict waits for
that sample: looking early and stopping at the first "significant" answer inflates false
wins, so before it the page says how many more views (or followers) are needed.

The verdict compares each variant with A: the two-proportion z-test, or Fisher's exact test
when an expected cell is below 5, with Newcombe's interval of the difference in percentage
points; and each variant's Bayesian probability to be best (Beta posteriors, Monte Carlo with
a fixed seed), shown beside it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from socialdesk.content.models import Post
from socialdesk.content.services import PostContent, create_post
from socialdesk.networks.models import Channel
from socialdesk.publishing.models import Delivery, DeliveryState, QueueEntry
from socialdesk.workspaces.models import User, Workspace

from . import experiment_stats as stats
from .clicks import clicks_per
from .models import (
    ChannelDay,
    Experiment,
    ExperimentMetric,
    ExperimentState,
    ExperimentVariant,
    MetricSnapshot,
    ShortLink,
)

LABELS = "ABCD"
MIN_VARIANTS, MAX_VARIANTS = 2, 4
ENGAGEMENTS = ("likes", "reposts", "replies", "quotes")

TRANSITIONS: dict[str, frozenset[str]] = {
    ExperimentState.RUNNING: frozenset({ExperimentState.FINISHED, ExperimentState.STOPPED}),
    ExperimentState.FINISHED: frozenset(),
    ExperimentState.STOPPED: frozenset(),
}


@dataclass
class VariantSpec:
    """What a person sets for one variant: its text, its channel and its time (a naive
    wall-clock time is read in the channel's zone, as in the composer; None: a draft)."""

    text: str
    channel_id: int
    scheduled_at: datetime | None = None
    description: str = ""


@dataclass
class ExperimentSpec:
    name: str
    metric: str
    baseline_rate: float  # 0–1
    minimum_effect: float  # 0–1, absolute
    variants: list[VariantSpec]
    hypothesis: str = ""


def required_sample(baseline: float, effect: float, variants: int) -> int:
    """Trials each variant needs (α = 0.05 shared over the k − 1 comparisons with A)."""
    return stats.sample_size(baseline, effect, alpha=0.05 / max(1, variants - 1), power=0.8)


def validate(workspace: Workspace, spec: ExperimentSpec) -> list[Channel]:
    """Refuse a spec that cannot run, naming each field; returns the variants' channels."""
    errors: dict[str, list[str]] = {}
    if not spec.name.strip():
        errors["name"] = ["Give the experiment a name."]
    if spec.metric not in ExperimentMetric.values:
        errors["metric"] = [f"Choose one of: {', '.join(ExperimentMetric.values)}."]
    if not 0 < spec.baseline_rate < 1:
        errors["baseline_rate"] = ["The baseline rate must lie between 0 and 100 %."]
    if not 0 < spec.minimum_effect < 1:
        errors["minimum_effect"] = ["The smallest effect must be above 0 and below 100 points."]
    elif 0 < spec.baseline_rate < 1 and spec.baseline_rate + spec.minimum_effect >= 1:
        errors["minimum_effect"] = ["Baseline plus effect must stay below 100 %."]
    if not MIN_VARIANTS <= len(spec.variants) <= MAX_VARIANTS:
        errors["variants"] = ["An experiment has two to four variants."]
    ids = {v.channel_id for v in spec.variants}
    channels = {c.pk: c for c in Channel.objects.filter(workspace=workspace, pk__in=ids)}
    for index, variant in enumerate(spec.variants):
        if not variant.text.strip():
            errors.setdefault("variants", []).append(f"Variant {LABELS[index]} has no text.")
        if variant.channel_id not in channels:
            errors.setdefault("variants", []).append(
                f"Variant {LABELS[index]}: no such channel in this workspace."
            )
    texts = [(v.text.strip(), v.channel_id, v.scheduled_at) for v in spec.variants]
    if len(set(texts)) < len(texts):
        errors.setdefault("variants", []).append(
            "Two variants are the same: change the text, the channel or the time."
        )
    if errors:
        raise ValidationError(errors)
    return [channels[v.channel_id] for v in spec.variants]


def create_experiment(workspace: Workspace, actor: User | None, spec: ExperimentSpec) -> Experiment:
    """Create a running experiment and a post per variant on its channel, through the content
    service (and so publishing's): all of it, or nothing if any post is refused."""
    validate(workspace, spec)
    required = required_sample(spec.baseline_rate, spec.minimum_effect, len(spec.variants))
    with transaction.atomic():
        experiment = Experiment.objects.create(
            workspace=workspace,
            name=spec.name.strip(),
            hypothesis=spec.hypothesis.strip(),
            metric=spec.metric,
            baseline_rate=spec.baseline_rate,
            minimum_effect=spec.minimum_effect,
            required_per_variant=required,
            created_by=actor,
        )
        for label, variant in zip(LABELS, spec.variants, strict=False):
            post = create_post(
                workspace,
                actor,
                PostContent(
                    text=variant.text,
                    title=f"{experiment.name} — variant {label}"[:200],
                    channel_ids=[variant.channel_id],
                    scheduled_at=variant.scheduled_at,
                ),
            )
            ExperimentVariant.objects.create(
                experiment=experiment,
                label=label,
                post=post,
                description=variant.description.strip()[:200],
            )
    return experiment


def _move(experiment: Experiment, to: str) -> None:
    if to not in TRANSITIONS[experiment.state]:
        raise ValidationError(
            f"The experiment is {experiment.get_state_display().lower()} and cannot be "  # type: ignore[attr-defined]
            f"{'finished' if to == ExperimentState.FINISHED else 'stopped'}."
        )


# Numbers ------------------------------------------------------------------------------------


def clicks_of(delivery_ids: list[int]) -> dict[int, int]:
    """Clicks per delivery: the people's clicks on its short links (``analytics.clicks``:
    bots and prefetches are not counted), or, for a delivery without any, the clicks the
    network itself reports in its latest snapshot, if it reports any."""
    counted = clicks_per(ShortLink.objects.filter(delivery_id__in=delivery_ids), "delivery_id")
    with_links = set(
        ShortLink.objects.filter(delivery_id__in=delivery_ids).values_list("delivery_id", flat=True)
    )
    latest = _latest_snapshots([pk for pk in delivery_ids if pk not in with_links])
    return {pk: (s.clicks or 0) for pk, s in latest.items()} | {
        pk: counted.get(pk, 0) for pk in with_links
    }


def _latest_snapshots(delivery_ids: list[int]) -> dict[int, MetricSnapshot]:
    latest: dict[int, MetricSnapshot] = {}
    for snapshot in MetricSnapshot.objects.filter(delivery_id__in=delivery_ids).order_by(
        "delivery_id", "bucket"
    ):
        latest[snapshot.delivery_id] = snapshot
    return latest


@dataclass
class VariantNumbers:
    variant: ExperimentVariant
    successes: int = 0
    trials: int = 0
    published: int = 0
    deliveries: int = 0

    @property
    def rate(self) -> float | None:
        return self.successes / self.trials if self.trials else None


def numbers(experiment: Experiment) -> list[VariantNumbers]:
    """Each variant's successes (clicks or engagements) and trials (views or followers), from
    its deliveries' latest snapshots. Engagements are capped at the trials: a rate is a share
    of people, and one person may like and repost."""
    variants = list(experiment.variants.all())
    deliveries = list(
        Delivery.objects.filter(
            post_id__in=[v.post_id for v in variants if v.post_id]
        ).select_related("channel__workspace")
    )
    latest = _latest_snapshots([d.pk for d in deliveries])
    clicks = (
        clicks_of([d.pk for d in deliveries])
        if experiment.metric == ExperimentMetric.CLICKS_PER_VIEW
        else {}
    )
    followers = _followers(deliveries) if experiment.metric.endswith("follower") else {}
    rows = {v.pk: VariantNumbers(v) for v in variants}
    by_post = {v.post_id: rows[v.pk] for v in variants if v.post_id}
    for delivery in deliveries:
        row = by_post[delivery.post_id]
        row.deliveries += 1
        if delivery.state != DeliveryState.PUBLISHED:
            continue
        row.published += 1
        snapshot = latest.get(delivery.pk)
        if snapshot is None:
            continue
        engagements = sum(getattr(snapshot, name) or 0 for name in ENGAGEMENTS)
        if experiment.metric == ExperimentMetric.CLICKS_PER_VIEW:
            trials, successes = snapshot.views or 0, clicks.get(delivery.pk, 0)
        elif experiment.metric == ExperimentMetric.ENGAGEMENT_PER_VIEW:
            trials, successes = snapshot.views or 0, engagements
        else:
            trials, successes = followers.get(delivery.pk, 0), engagements
        row.trials += trials
        row.successes += min(successes, trials)
    return [rows[v.pk] for v in variants]


def _followers(deliveries: list[Delivery]) -> dict[int, int]:
    """Each published delivery's channel's followers on the day it went out (its zone)."""
    found: dict[int, int] = {}
    for delivery in deliveries:
        if delivery.published_at is None:
            continue
        day = delivery.published_at.astimezone(delivery.channel.zone).date()
        row = (
            ChannelDay.objects.filter(channel_id=delivery.channel_id, day__lte=day)
            .exclude(followers=None)
            .order_by("-day")
            .first()
        )
        if row is not None and row.followers:
            found[delivery.pk] = row.followers
    return found


# The verdict --------------------------------------------------------------------------------


@dataclass
class Comparison:
    """A variant against A: its difference in points, the interval, the test and its p."""

    label: str
    difference: float
    low: float
    high: float
    test: str
    p_value: float
    significant: bool


@dataclass
class Verdict:
    ready: bool
    text: str
    winner: str = ""  # a label, or "" (no winner, or not ready)
    missing: int = 0  # trials still needed in all
    comparisons: list[Comparison] = field(default_factory=list)
    best_probability: dict[str, float] = field(default_factory=dict)
    confidence: float = 0.95


def _unit(experiment: Experiment) -> str:
    return "followers" if experiment.metric.endswith("follower") else "views"


def _points(value: float) -> str:
    return f"{value * 100:+.1f}".replace("-", "−")


def verdict(experiment: Experiment, rows: list[VariantNumbers] | None = None) -> Verdict:
    """The experiment's verdict from the numbers so far (see the module's docstring)."""
    rows = rows if rows is not None else numbers(experiment)
    k = len(rows)
    alpha = experiment.alpha / max(1, k - 1)
    confidence = 1 - alpha
    counts = [(r.successes, r.trials) for r in rows]
    best = (
        dict(
            zip(
                [r.variant.label for r in rows],
                stats.probability_to_be_best(counts),
                strict=False,
            )
        )
        if all(t > 0 for _, t in counts)
        else {}
    )
    missing = sum(max(0, experiment.required_per_variant - r.trials) for r in rows)
    if missing:
        return Verdict(
            ready=False,
            text=f"Not enough data yet: ~{missing:,} more {_unit(experiment)}.",
            missing=missing,
            best_probability=best,
            confidence=confidence,
        )
    control = rows[0]
    comparisons = []
    for row in rows[1:]:
        args = (control.successes, control.trials, row.successes, row.trials)
        if stats.small_counts(*args):
            test = "Fisher's exact test"
            p_value = stats.fisher_exact(
                row.successes,
                row.trials - row.successes,
                control.successes,
                control.trials - control.successes,
            )
        else:
            test = "two-proportion z-test"
            p_value = stats.z_test(*args)[1]
        low, high = stats.newcombe(*args, confidence=confidence)
        comparisons.append(
            Comparison(
                label=row.variant.label,
                difference=row.successes / row.trials - control.successes / control.trials,
                low=low,
                high=high,
                test=test,
                p_value=p_value,
                significant=p_value < alpha and (low > 0 or high < 0),
            )
        )
    share = f"{confidence * 100:g} %"
    better = [c for c in comparisons if c.significant and c.low > 0]
    if better:
        top = max(better, key=lambda c: c.difference)
        return Verdict(
            ready=True,
            text=(
                f"{top.label} is better than A, {share} interval {_points(top.low)} to "
                f"{_points(top.high)} points."
            ),
            winner=top.label,
            comparisons=comparisons,
            best_probability=best,
            confidence=confidence,
        )
    if comparisons and all(c.significant and c.high < 0 for c in comparisons):
        worst = max(comparisons, key=lambda c: c.high)
        return Verdict(
            ready=True,
            text=(
                f"A is better, {share} interval of {worst.label} against A "
                f"{_points(worst.low)} to {_points(worst.high)} points."
            ),
            winner="A",
            comparisons=comparisons,
            best_probability=best,
            confidence=confidence,
        )
    spans = "; ".join(
        f"{c.label} − A: {_points(c.low)} to {_points(c.high)} points" for c in comparisons
    )
    return Verdict(
        ready=True,
        text=f"No clear difference ({share} intervals: {spans}).",
        comparisons=comparisons,
        best_probability=best,
        confidence=confidence,
    )


# Lifecycle ----------------------------------------------------------------------------------


def conclude(experiment: Experiment, now: datetime | None = None) -> Verdict:
    """Finish a running experiment whose sample is complete, storing its verdict and winner.
    Refused before the sample each variant needs is reached (stop it instead)."""
    _move(experiment, ExperimentState.FINISHED)
    result = verdict(experiment)
    if not result.ready:
        raise ValidationError(f"{result.text} Stop the experiment to end it without a verdict.")
    winner = experiment.variants.filter(label=result.winner).first() if result.winner else None
    changed = Experiment.objects.filter(pk=experiment.pk, state=ExperimentState.RUNNING).update(
        state=ExperimentState.FINISHED,
        finished_at=now or timezone.now(),
        verdict=result.text,
        winner=winner,
    )
    if not changed:
        raise ValidationError("The experiment was finished or stopped meanwhile.")
    experiment.refresh_from_db()
    return result


def stop(experiment: Experiment, now: datetime | None = None) -> None:
    """End a running experiment without a verdict (its posts are left as they are)."""
    _move(experiment, ExperimentState.STOPPED)
    Experiment.objects.filter(pk=experiment.pk, state=ExperimentState.RUNNING).update(
        state=ExperimentState.STOPPED, finished_at=now or timezone.now()
    )
    experiment.refresh_from_db()


def requeue_winner(
    experiment: Experiment, actor: User | None, interval_days: int = 30
) -> list[QueueEntry]:
    """Queue the winning variant again as an evergreen post on each of its channels: a copy of
    its post (``planning.copy_post``) put in the channel's queue with ``evergreen=True``."""
    from socialdesk.publishing import planning, queues

    if experiment.state != ExperimentState.FINISHED or experiment.winner is None:
        raise ValidationError("Only a finished experiment with a winner can queue it again.")
    post: Post | None = experiment.winner.post
    if post is None:
        raise ValidationError("The winning variant's post was deleted.")
    channels = [d.channel for d in post.deliveries.select_related("channel")]
    if not channels:
        raise ValidationError("The winning variant's post has no channel.")
    entries = []
    with transaction.atomic():
        copy = planning.copy_post(post, channels, actor=actor)
        for delivery in copy.deliveries.select_related("channel"):
            entry, _ = queues.add_to_queue(
                delivery, actor, evergreen=True, interval_days=interval_days
            )
            entries.append(entry)
    return entries
