"""Experiment pages: the list, the form that starts one, and one experiment with its verdict,
a table per variant and a chart (issue 14 item 6).

Read with ``analytics.view``; starting, concluding, stopping and queueing the winner again
need ``deliveries.schedule`` (the permission that schedules posts, which is what starting an
experiment does). Every action is a plain form POST that redirects back.
"""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from socialdesk.content.forms import LocalDateTimeField
from socialdesk.networks.models import Channel
from socialdesk.web.helpers import apply_errors, enter
from socialdesk.workspaces.access import get_in_workspace
from socialdesk.workspaces.models import Workspace

from . import experiment_stats, experiments
from .experiments import ExperimentSpec, VariantSpec
from .models import Experiment, ExperimentMetric, ExperimentState

VARIANT_ROWS = 4


class ExperimentForm(forms.Form):
    name = forms.CharField(label="Name", max_length=200)
    hypothesis = forms.CharField(
        label="Hypothesis",
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="What you expect and why, written before the results.",
    )
    metric = forms.ChoiceField(
        label="Metric",
        choices=ExperimentMetric.choices,
        help_text="Chosen before it starts, and not changed afterwards.",
    )
    baseline_percent = forms.DecimalField(
        label="Baseline rate (%)",
        min_value=0.01,
        max_value=99,
        decimal_places=2,
        help_text="What variant A usually gets, e.g. 2 for 2 clicks per 100 views.",
    )
    effect_points = forms.DecimalField(
        label="Smallest difference worth finding (points)",
        min_value=0.01,
        max_value=99,
        decimal_places=2,
        help_text="In percentage points: 1 means 2 % → 3 %. Smaller needs many more views.",
    )

    def __init__(self, *args, workspace: Workspace, **kwargs) -> None:  # type: ignore[no-untyped-def]
        super().__init__(*args, **kwargs)
        self.channels = list(Channel.objects.filter(workspace=workspace).order_by("handle"))
        choices = [("", "Choose a channel")] + [
            (str(c.pk), f"{c.handle} ({c.get_network_display()})")  # type: ignore[attr-defined]
            for c in self.channels
        ]
        for index, label in enumerate(experiments.LABELS[:VARIANT_ROWS]):
            required = index < experiments.MIN_VARIANTS
            self.fields[f"text_{label}"] = forms.CharField(
                label=f"Variant {label}: text",
                required=required,
                widget=forms.Textarea(attrs={"rows": 3}),
            )
            self.fields[f"channel_{label}"] = forms.ChoiceField(
                label=f"Variant {label}: channel", choices=choices, required=required
            )
            self.fields[f"time_{label}"] = LocalDateTimeField(
                label=f"Variant {label}: publish at",
                required=False,
                help_text="Read in the channel's time zone. Empty: a draft to schedule later.",
            )
            self.fields[f"description_{label}"] = forms.CharField(
                label=f"Variant {label}: what differs",
                required=False,
                max_length=200,
            )

    def variant_rows(self) -> list[tuple[str, list[forms.BoundField]]]:
        return [
            (
                label,
                [self[f"{name}_{label}"] for name in ("text", "channel", "time", "description")],
            )
            for label in experiments.LABELS[:VARIANT_ROWS]
        ]

    def spec(self) -> ExperimentSpec:
        data = self.cleaned_data
        variants = []
        for label in experiments.LABELS[:VARIANT_ROWS]:
            text = (data.get(f"text_{label}") or "").strip()
            if not text:
                continue
            channel = data.get(f"channel_{label}")
            if not channel:
                self.add_error(f"channel_{label}", "Choose the channel of this variant.")
                continue
            variants.append(
                VariantSpec(
                    text=text,
                    channel_id=int(channel),
                    scheduled_at=data.get(f"time_{label}"),
                    description=data.get(f"description_{label}") or "",
                )
            )
        return ExperimentSpec(
            name=data["name"],
            hypothesis=data.get("hypothesis") or "",
            metric=data["metric"],
            baseline_rate=float(data["baseline_percent"]) / 100,
            minimum_effect=float(data["effect_points"]) / 100,
            variants=variants,
        )


@login_required
@require_GET
def experiment_list(request: HttpRequest, slug: str) -> HttpResponse:
    membership = enter(request, slug, "analytics.view")
    rows = Experiment.objects.in_workspace(membership.workspace).select_related("winner")  # type: ignore[attr-defined]
    return render(
        request,
        "analytics/experiments/list.html",
        {"experiments": rows, "can_start": membership.can("deliveries.schedule")},
    )


@login_required
@require_http_methods(["GET", "POST"])
def experiment_create(request: HttpRequest, slug: str) -> HttpResponse:
    membership = enter(request, slug, "deliveries.schedule")
    workspace = membership.workspace
    form = ExperimentForm(request.POST or None, workspace=workspace)
    if request.method == "POST" and form.is_valid():
        spec = form.spec()
        if not form.errors:
            try:
                experiment = experiments.create_experiment(workspace, request.user, spec)  # type: ignore[arg-type]
            except ValidationError as error:
                apply_errors(form, error, {"variants": "__all__"})
            else:
                messages.success(request, f"Experiment “{experiment.name}” started.")
                if membership.can("analytics.view"):
                    return redirect("experiment_detail", slug, experiment.pk)
                return redirect("post_list", slug)
    return render(
        request,
        "analytics/experiments/form.html",
        {"form": form},
        status=400 if form.errors else 200,
    )


@login_required
@require_GET
def experiment_detail(request: HttpRequest, slug: str, experiment_id: int) -> HttpResponse:
    membership = enter(request, slug, "analytics.view")
    experiment = get_in_workspace(Experiment, membership.workspace, pk=experiment_id)
    rows = experiments.numbers(experiment)
    result = experiments.verdict(experiment, rows)
    comparisons = {c.label: c for c in result.comparisons}
    table = []
    intervals: list[tuple[float, float] | None] = []
    for row in rows:
        low, high = experiment_stats.wilson(row.successes, row.trials, result.confidence)
        intervals.append((low, high) if row.trials else None)
        table.append(
            {
                "row": row,
                "rate": row.rate,
                "low": low if row.trials else None,
                "high": high if row.trials else None,
                "comparison": comparisons.get(row.variant.label),
                "best": result.best_probability.get(row.variant.label),
                "remaining": max(0, experiment.required_per_variant - row.trials),
            }
        )
    chart = {
        "labels": [f"Variant {r.variant.label}" for r in rows],
        "rates": [round((r.rate or 0) * 100, 3) for r in rows],
        "low": [round(i[0] * 100, 3) if i else None for i in intervals],
        "high": [round(i[1] * 100, 3) if i else None for i in intervals],
        "required": experiment.required_per_variant,
        "trials": [r.trials for r in rows],
    }
    return render(
        request,
        "analytics/experiments/detail.html",
        {
            "experiment": experiment,
            "result": result,
            "table": table,
            "chart": chart,
            "unit": "followers" if experiment.metric.endswith("follower") else "views",
            "can_act": membership.can("deliveries.schedule"),
            "running": experiment.state == ExperimentState.RUNNING,
            "confidence_percent": f"{result.confidence * 100:g}",
        },
    )


def _act(request: HttpRequest, slug: str, experiment_id: int, action: str) -> HttpResponse:
    membership = enter(request, slug, "deliveries.schedule")
    experiment = get_in_workspace(Experiment, membership.workspace, pk=experiment_id)
    try:
        if action == "conclude":
            result = experiments.conclude(experiment)
            messages.success(request, f"Finished: {result.text}")
        elif action == "stop":
            experiments.stop(experiment)
            messages.success(request, "Experiment stopped without a verdict.")
        else:
            try:
                interval = int(request.POST.get("interval_days") or 30)
            except ValueError:
                raise ValidationError("The interval is a number of days.") from None
            entries = experiments.requeue_winner(experiment, request.user, interval)  # type: ignore[arg-type]
            messages.success(
                request,
                f"The winner is back in {len(entries)} queue{'s' if len(entries) != 1 else ''} "
                f"as an evergreen post, every {interval} days.",
            )
    except ValidationError as error:
        for text in error.messages:
            messages.error(request, text)
    if membership.can("analytics.view"):
        return redirect("experiment_detail", slug, experiment.pk)
    return redirect("post_list", slug)


@login_required
@require_POST
def experiment_conclude(request: HttpRequest, slug: str, experiment_id: int) -> HttpResponse:
    return _act(request, slug, experiment_id, "conclude")


@login_required
@require_POST
def experiment_stop(request: HttpRequest, slug: str, experiment_id: int) -> HttpResponse:
    return _act(request, slug, experiment_id, "stop")


@login_required
@require_POST
def experiment_requeue(request: HttpRequest, slug: str, experiment_id: int) -> HttpResponse:
    return _act(request, slug, experiment_id, "requeue")
