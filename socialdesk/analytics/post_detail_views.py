"""One delivery's analytics page, ``w/<slug>/analytics/posts/<delivery_id>/`` (issue 14,
item 4), linked from each row of Posts ranked: its snapshots over age as a chart, a table
and a CSV (``?export=csv``), each against the channel's 6-month benchmark at that age, and
its short links' clicks and conversions. ``?metric=`` picks the metric compared (a bad one
is a 400 that says so). Authorized as the other Analytics pages (``analytics.view``)."""

from __future__ import annotations

from django import forms
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.views.decorators.http import require_safe

from socialdesk.web.helpers import enter, render_page

from .forms import METRIC_LABELS
from .post_detail import PostAnalytics, post_analytics
from .views import csv_response


class MetricForm(forms.Form):
    metric = forms.ChoiceField(required=False, label="Compare", choices=list(METRIC_LABELS.items()))


def _chart(found: PostAnalytics, label: str) -> dict:
    """The compared metric at each age beside the channel's quartiles at that age (the
    other metrics are in the table: one scale, one question per chart)."""

    def mark(name: str) -> list:
        return [(r.benchmark or {}).get(name) for r in found.readings]

    return {
        "type": "line",
        "labels": [r.age for r in found.readings],
        "datasets": [
            {"label": f"{label}, this post", "data": [r.value for r in found.readings]},
            {"label": "Channel median (6 months)", "data": mark("median")},
            {"label": "Channel q3", "data": mark("q3")},
            {"label": "Channel q1", "data": mark("q1")},
        ],
    }


@login_required
@require_safe
def post_detail(request: HttpRequest, slug: str, delivery_id: int) -> HttpResponse:
    workspace = enter(request, slug, "analytics.view").workspace
    form = MetricForm(request.GET)
    if not form.is_valid():
        return render_page(
            request, "analytics/post_detail.html", {"form": form, "refused": True}, status=400
        )
    found = post_analytics(workspace, delivery_id, form.cleaned_data["metric"] or None)
    metric = found.metric
    label = METRIC_LABELS[metric]
    if request.GET.get("export") == "csv":
        return csv_response(
            f"post-{slug}-delivery-{delivery_id}-{metric}.csv",
            ["age", "age_hours", "taken_at", "late_hours", *found.columns, metric]
            + ["benchmark_q1", "benchmark_median", "benchmark_q3", "benchmark_posts"]
            + ["position"],
            (
                [
                    r.age.lstrip("+"),  # "+1 h" would read as a formula: "1 h", after publishing
                    r.bucket,
                    r.taken_at.isoformat(),
                    r.late_hours,
                    *(r.figures[name] for name in found.columns),
                    r.value,
                    (r.benchmark or {}).get("q1"),
                    (r.benchmark or {}).get("median"),
                    (r.benchmark or {}).get("q3"),
                    (r.benchmark or {}).get("n", 0),
                    r.position,
                ]
                for r in found.readings
            ),
        )
    post = found.delivery.post
    title = post.title or post.text or ""
    context = {
        "form": form,
        "found": found,
        "metric": metric,
        "label": label,
        "title": title if len(title) <= 80 else title[:79] + "…",
        "latest": found.readings[-1] if found.readings else None,
        "chart": _chart(found, label),
        "csv_query": f"metric={metric}&export=csv",
    }
    return render_page(request, "analytics/post_detail.html", context)
