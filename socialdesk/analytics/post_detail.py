"""One delivery's analytics (issue 14, item 4): its snapshots over age, each against the
channel's 6-month benchmark at that age, and its short links' clicks and conversions.

Read only, from what the metrics schedule stored (``analytics.metrics``) and what the short
links counted (``analytics.clicks``); nothing here reads a network. The API twin is
``GET /workspaces/{slug}/posts/{post_id}/metrics`` (each delivery's snapshots).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db.models import Count, Sum
from django.http import Http404

from socialdesk.networks.metrics import NetworkMetrics, network_metrics
from socialdesk.publishing.models import Delivery
from socialdesk.workspaces.models import Workspace

from .clicks import clicks_per
from .models import METRICS, Bucket, Conversion, MetricSchedule, MetricSnapshot, ShortLink
from .reading import INTERACTIONS, RANK_METRICS, benchmarks, position


@dataclass
class Reading:
    """One snapshot: its age, its figures (None: not given), and the chosen metric's value
    against the channel's benchmark at that age."""

    bucket: int
    age: str
    taken_at: Any
    late_hours: float
    figures: dict[str, int | None]
    value: int | None
    benchmark: dict[str, Any] | None
    position: str


@dataclass
class PostAnalytics:
    delivery: Delivery
    network: NetworkMetrics
    metric: str
    columns: list[str]  # the metrics this network gives, in ``METRICS`` order
    readings: list[Reading]
    next_snapshot_at: Any
    stopped_reason: str
    links: list[dict[str, Any]]  # each short link with its clicks
    clicks: int | None  # None: the delivery has no short link
    conversions: int
    conversion_values: list[tuple[str, Decimal]]  # (currency, total), by currency


def _value(snapshot: MetricSnapshot, metric: str) -> int | None:
    """The metric's value, as ``reading.ranking`` computes it (engagement: the interactions
    given, a missing one adding 0)."""
    if metric == "engagement":
        return sum(getattr(snapshot, name) or 0 for name in INTERACTIONS)
    value: int | None = getattr(snapshot, metric)
    return value


def default_metric(gives: set[str]) -> str:
    """Engagement where the network gives interactions; otherwise the first it gives
    (views, for the public page)."""
    if gives & set(INTERACTIONS):
        return "engagement"
    for metric in ("views", "clicks"):
        if metric in gives:
            return metric
    return "engagement"


def post_analytics(
    workspace: Workspace, delivery_id: int, metric: str | None = None
) -> PostAnalytics:
    """The delivery's figures, compared by ``metric`` (None: ``default_metric`` of its
    network); ``Http404`` when it is not a delivery of ``workspace`` (another workspace's
    delivery is not told apart from one that does not exist)."""
    if metric is not None and metric not in RANK_METRICS:
        raise ValueError(metric)
    delivery = (
        Delivery.objects.filter(pk=delivery_id, workspace=workspace)
        .select_related("channel", "post")
        .first()
    )
    if delivery is None:
        raise Http404("No such delivery in this workspace.")
    said = network_metrics(delivery.channel.network)
    given = {info.metric for info in said.gives}
    metric = metric or default_metric(given)
    columns = [name for name in METRICS if name in given]
    snapshots = list(MetricSnapshot.objects.filter(delivery=delivery).order_by("bucket"))
    rows = [
        {"channel_id": s.channel_id, "bucket": s.bucket, "published_at": s.published_at}
        for s in snapshots
    ]
    marks = benchmarks(workspace, rows, metric) if rows else {}
    readings = []
    for snapshot in snapshots:
        value = _value(snapshot, metric)
        local = snapshot.published_at.astimezone(workspace.zone)
        mark = marks.get((snapshot.channel_id, snapshot.bucket, local.date().replace(day=1)))
        age = snapshot.taken_at - snapshot.published_at
        readings.append(
            Reading(
                bucket=snapshot.bucket,
                age=str(Bucket(snapshot.bucket).label),
                taken_at=snapshot.taken_at,
                late_hours=round(age.total_seconds() / 3600 - snapshot.bucket, 1),
                figures={name: getattr(snapshot, name) for name in columns},
                value=value,
                benchmark=mark,
                position=position(value, mark),
            )
        )
    schedule = MetricSchedule.objects.filter(delivery=delivery).first()
    links_qs = ShortLink.objects.filter(delivery=delivery)
    per_link = clicks_per(links_qs, "id")
    links = [
        {"code": link.code, "url": link.source_url, "clicks": per_link.get(link.pk, 0)}
        for link in links_qs.order_by("pk")
    ]
    orders = Conversion.objects.filter(
        workspace=workspace, link__delivery=delivery, attributed=True
    )
    by_currency = list(
        orders.values("currency")
        .annotate(n=Count("id"), total=Sum("value"))
        .order_by("currency")
        .values_list("currency", "n", "total")
    )
    return PostAnalytics(
        delivery=delivery,
        network=said,
        metric=metric,
        columns=columns,
        readings=readings,
        next_snapshot_at=schedule.due_at if schedule else None,
        stopped_reason=schedule.stopped_reason if schedule else "",
        links=links,
        clicks=sum(link["clicks"] for link in links) if links else None,
        conversions=sum(n for _c, n, _t in by_currency),
        conversion_values=[(currency, total) for currency, _n, total in by_currency],
    )
