"""API: experiments (issue 14 item 6): list, start, read, verdict.

Read with ``analytics.view``; starting one schedules posts, so it needs
``deliveries.schedule``, as scheduling a post does.

No ``from __future__ import annotations``: ninja reads the parameter types at import time.
"""

from datetime import datetime
from typing import Literal

from ninja import Field, Router, Schema, Status

from socialdesk.api_support import (
    Id,
    MemberRequest,
    Slug,
    Text,
    WallClockTime,
    caller,
    requires,
    responses,
)
from socialdesk.workspaces.access import get_in_workspace

from . import experiments
from .experiments import ExperimentSpec, VariantSpec
from .models import Experiment

router = Router(tags=["experiments"])


class ExperimentVariantIn(Schema):
    text: Text = Field(min_length=1, max_length=10_000)
    channel_id: Id
    scheduled_at: WallClockTime | None = Field(
        None,
        description="A wall-clock time (read in the channel's zone) or an exact instant with "
        "its offset; null: a draft to schedule later.",
    )
    description: Text = Field("", max_length=200, description="What differs in this variant.")


class ExperimentIn(Schema):
    name: Text = Field(min_length=1, max_length=200)
    hypothesis: Text = Field("", max_length=5000)
    metric: Literal["clicks_per_view", "engagement_per_view", "engagement_per_follower"]
    baseline_rate: float = Field(gt=0, lt=1, description="Variant A's expected rate, 0–1.")
    minimum_effect: float = Field(
        gt=0, lt=1, description="The smallest absolute change worth finding, 0–1 (0.01 = 1 point)."
    )
    variants: list[ExperimentVariantIn] = Field(min_length=2, max_length=4)


class ExperimentVariantOut(Schema):
    label: str
    post_id: int | None
    description: str


class ExperimentOut(Schema):
    id: int
    name: str
    hypothesis: str
    metric: str
    baseline_rate: float
    minimum_effect: float
    alpha: float
    power: float
    required_per_variant: int = Field(description="Views (or followers) each variant needs.")
    state: str
    created_at: datetime
    finished_at: datetime | None
    verdict: str = Field(description="Stored when finished; empty before.")
    winner: str | None
    variants: list[ExperimentVariantOut]

    @staticmethod
    def resolve_winner(obj: Experiment) -> str | None:
        return obj.winner.label if obj.winner else None

    @staticmethod
    def resolve_variants(obj: Experiment) -> list[dict]:
        return [
            {"label": v.label, "post_id": v.post_id, "description": v.description}
            for v in obj.variants.all()
        ]


class ExperimentComparisonOut(Schema):
    label: str
    difference: float = Field(description="Rate of this variant minus A's, 0–1.")
    low: float
    high: float
    test: str
    p_value: float
    significant: bool


class ExperimentVariantNumbersOut(Schema):
    label: str
    successes: int
    trials: int
    rate: float | None
    probability_to_be_best: float | None


class ExperimentVerdictOut(Schema):
    ready: bool = Field(description="False until every variant has its sample.")
    text: str
    winner: str | None
    missing: int = Field(description="Views (or followers) still needed, all variants.")
    confidence: float
    variants: list[ExperimentVariantNumbersOut]
    comparisons: list[ExperimentComparisonOut]


def _loaded(request: MemberRequest, experiment_id: int) -> Experiment:
    return get_in_workspace(Experiment, request.workspace, pk=experiment_id)


@router.get(
    "/workspaces/{slug}/experiments",
    response=responses(list[ExperimentOut]),
    operation_id="experiments_list",
)
@requires("analytics.view")
def experiments_list(request: MemberRequest, slug: Slug) -> list[Experiment]:
    """The workspace's experiments, newest first (at most 200)."""
    return list(
        Experiment.objects.in_workspace(request.workspace)  # type: ignore[attr-defined]
        .select_related("winner")
        .prefetch_related("variants")[:200]
    )


@router.post(
    "/workspaces/{slug}/experiments",
    response=responses(ExperimentOut, 201),
    operation_id="experiments_create",
)
@requires("deliveries.schedule")
def experiments_create(request: MemberRequest, slug: Slug, payload: ExperimentIn) -> Status:
    """Start an experiment: a post per variant on its channel, scheduled when a time is
    given, and the sample each variant needs fixed now."""
    spec = ExperimentSpec(
        name=payload.name,
        hypothesis=payload.hypothesis,
        metric=payload.metric,
        baseline_rate=payload.baseline_rate,
        minimum_effect=payload.minimum_effect,
        variants=[
            VariantSpec(v.text, v.channel_id, v.scheduled_at, v.description)
            for v in payload.variants
        ],
    )
    experiment = experiments.create_experiment(request.workspace, caller(request), spec)
    return Status(201, experiment)


@router.get(
    "/workspaces/{slug}/experiments/{experiment_id}",
    response=responses(ExperimentOut),
    operation_id="experiments_read",
)
@requires("analytics.view")
def experiments_read(request: MemberRequest, slug: Slug, experiment_id: Id) -> Experiment:
    return _loaded(request, experiment_id)


@router.get(
    "/workspaces/{slug}/experiments/{experiment_id}/verdict",
    response=responses(ExperimentVerdictOut),
    operation_id="experiments_verdict",
)
@requires("analytics.view")
def experiments_verdict(request: MemberRequest, slug: Slug, experiment_id: Id) -> dict:
    """The verdict from the numbers so far: "not enough data yet" until every variant has its
    sample, then each variant against A with its interval and test."""
    experiment = _loaded(request, experiment_id)
    rows = experiments.numbers(experiment)
    result = experiments.verdict(experiment, rows)
    return {
        "ready": result.ready,
        "text": result.text,
        "winner": result.winner or None,
        "missing": result.missing,
        "confidence": result.confidence,
        "variants": [
            {
                "label": r.variant.label,
                "successes": r.successes,
                "trials": r.trials,
                "rate": r.rate,
                "probability_to_be_best": result.best_probability.get(r.variant.label),
            }
            for r in rows
        ],
        "comparisons": [c.__dict__ for c in result.comparisons],
    }
