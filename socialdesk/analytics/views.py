"""The Analytics pages (issue 14, item 4): the overview, the ranked posts, pillars and campaigns.

Thin: check the query (a form; a bad one is a 400 that says what is wrong, never a 500),
authorize (``analytics.view``: owner, manager, analyst), call ``analytics.reading``, render.
Every chart has its table beside it (the accessible source) and the same figures as CSV
(``?export=<table>``). Chart data goes to the page in ``<script type="application/json">``
blocks read by ``analytics/charts.js``: no inline script, under the Content-Security-Policy.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse

from socialdesk.csv_cells import neutralise
from socialdesk.web.helpers import enter, render_page

from . import reading
from .forms import METRIC_LABELS, PeriodForm, RankingForm


def csv_response(filename: str, header: list[str], rows: Iterable[Iterable[Any]]) -> HttpResponse:
    """A CSV download; text cells are written so a spreadsheet never runs them."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    for row in rows:
        writer.writerow(
            ["" if v is None else neutralise(v) if isinstance(v, str) else v for v in row]
        )
    response = HttpResponse(out.getvalue(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def _refused(request: HttpRequest, template: str, form: PeriodForm) -> HttpResponse:
    return render_page(request, template, {"form": form, "refused": True}, status=400)


def _with_default_period(request: HttpRequest) -> Any:
    """The query, with the default preset (28 days) when it names no period, so the form
    shows what the page shows."""
    data = request.GET.copy()
    if not (data.get("days") or data.get("first") or data.get("last")):
        data["days"] = str(reading.DEFAULT_DAYS)
    return data


def _query(request: HttpRequest, **extra: str) -> str:
    """The page's query string with ``extra`` replaced (for export and page links)."""
    query = request.GET.copy()
    for name, value in extra.items():
        query[name] = value
    return query.urlencode()


# --- Overview --------------------------------------------------------------------------------


@login_required
def overview(request: HttpRequest, slug: str) -> HttpResponse:
    workspace = enter(request, slug, "analytics.view").workspace
    form = PeriodForm(workspace, _with_default_period(request))
    if not form.is_valid():
        return _refused(request, "analytics/overview.html", form)
    period = form.period
    assert period is not None
    figures = reading.overview(workspace, period)
    daily = figures["daily"]
    export = request.GET.get("export")
    if export == "daily":
        return csv_response(
            f"engagement-{slug}-{period.first}-{period.last}.csv",
            ["day", "posts", "engagement"],
            ([d["day"].isoformat(), d["posts"], d["engagement"]] for d in daily),
        )
    if export == "rates":
        return csv_response(
            f"engagement-rate-{slug}-{period.first}-{period.last}.csv",
            ["network", "posts", "engagement", "rate", "previous_rate", "formula"],
            (
                [
                    r["label"],
                    r["posts"],
                    r["engagement"],
                    r["rate"],
                    r["previous_rate"],
                    r["formula"],
                ]
                for r in figures["current"]["rates"]
            ),
        )
    if export == "top":
        return csv_response(
            f"top-posts-{slug}-{period.first}-{period.last}.csv",
            ["post", "channel", "published_at", "age", "engagement", "url"],
            (
                [
                    r["title"],
                    r["channel"],
                    r["published_at"].isoformat(),
                    r["age"],
                    r["value"],
                    r["url"],
                ]
                for r in figures["top_posts"]
            ),
        )
    context = {
        "form": form,
        "period": period,
        "figures": figures,
        "daily": daily,
        "flow": reading.workflow_figures(workspace, period),
        "chart": {
            "type": "line",
            "labels": [d["day"].strftime("%d %b") for d in daily],
            "datasets": [
                {"label": "Engagement", "data": [d["engagement"] for d in daily]},
                {"label": "Posts", "data": [d["posts"] for d in daily], "axis": "right"},
            ],
        },
        "query": _query(request),
    }
    return render_page(request, "analytics/overview.html", context)


# --- Posts ranked ----------------------------------------------------------------------------


@login_required
def posts(request: HttpRequest, slug: str) -> HttpResponse:
    workspace = enter(request, slug, "analytics.view").workspace
    form = RankingForm(workspace, _with_default_period(request))
    if not form.is_valid():
        return _refused(request, "analytics/posts.html", form)
    filters = form.filters()
    page = reading.ranking(workspace, filters)
    metric = METRIC_LABELS[filters.metric]
    if request.GET.get("export") == "csv":
        return csv_response(
            f"posts-{slug}-{filters.metric}-page-{page.page}.csv",
            ["post", "channel", "network", "published_at", "age", filters.metric]
            + [
                "benchmark_q1",
                "benchmark_median",
                "benchmark_q3",
                "benchmark_posts",
                "position",
                "url",
            ],
            (_ranking_cells(row) for row in page.rows),
        )
    context = {
        "form": form,
        "page": page,
        "metric": metric,
        "chart": {
            "type": "bar",
            "labels": [row["title"][:24] for row in page.rows],
            "datasets": [
                {"label": metric, "data": [row["value"] for row in page.rows]},
                {
                    "label": "Channel median (6 months)",
                    "data": [(row["benchmark"] or {}).get("median") for row in page.rows],
                    "kind": "line",
                },
            ],
        },
        "query": _query(request),
        "previous_query": _query(request, page=str(page.page - 1)),
        "next_query": _query(request, page=str(page.page + 1)),
        "offset": (page.page - 1) * reading.PAGE_SIZE,
        "last_shown": (page.page - 1) * reading.PAGE_SIZE + len(page.rows),
    }
    return render_page(request, "analytics/posts.html", context)


def _ranking_cells(row: dict[str, Any]) -> list[Any]:
    mark = row["benchmark"] or {}
    return [
        row["title"],
        row["channel"],
        row["network"],
        row["published_at"].isoformat(),
        row["age"],
        row["value"],
        mark.get("q1"),
        mark.get("median"),
        mark.get("q3"),
        mark.get("n", 0),
        row["position"],
        row["url"],
    ]


# --- Pillars and campaigns -------------------------------------------------------------------


@login_required
def mix(request: HttpRequest, slug: str) -> HttpResponse:
    workspace = enter(request, slug, "analytics.view").workspace
    form = PeriodForm(workspace, _with_default_period(request))
    if not form.is_valid():
        return _refused(request, "analytics/mix.html", form)
    period = form.period
    assert period is not None
    pillars = reading.pillars(workspace, period)
    campaigns = reading.campaigns(workspace, period)
    export = request.GET.get("export")
    if export == "pillars":
        return csv_response(
            f"pillars-{slug}-{period.first}-{period.last}.csv",
            [
                "pillar",
                "posts",
                "share",
                "target_share",
                "gap",
                "engagement",
                "engagement_per_post",
            ],
            (
                [
                    r["name"],
                    r["posts"],
                    r["share"],
                    r["target_share"],
                    r["gap"],
                    r["engagement"],
                    r["engagement_per_post"],
                ]
                for r in pillars
            ),
        )
    if export == "campaigns":
        return csv_response(
            f"campaigns-{slug}-{period.first}-{period.last}.csv",
            ["campaign", "starts_on", "ends_on", "posts", "engagement", "budget", "spend"]
            + ["clicks", "conversions", "roi"],
            (
                [c["name"], c["starts_on"].isoformat(), c["ends_on"].isoformat(), c["posts"]]
                + [
                    c["engagement"],
                    c["budget"],
                    c["spend"],
                    c["clicks"],
                    c["conversions"],
                    c["roi"],
                ]
                for c in campaigns
            ),
        )
    context = {
        "form": form,
        "period": period,
        "pillars": pillars,
        "campaigns": campaigns,
        "chart": {
            "type": "bar",
            "labels": [p["name"] for p in pillars],
            "datasets": [
                {"label": "Share of posts (%)", "data": [p["share"] for p in pillars]},
                {"label": "Target share (%)", "data": [p["target_share"] for p in pillars]},
            ],
        },
        "query": _query(request),
    }
    return render_page(request, "analytics/mix.html", context)
