"""API: the Analytics overview of a period against the one before, and posts ranked by a
metric with their channel's six-month benchmark (issue 14, item 4).

Read by analysts and above (``analytics.view``). The figures are ``analytics.reading``'s, the
same as the pages'. A period is a preset (``days``: 7, 28, 90, ending today in the
workspace's time zone) or ``from`` and ``to`` (local days, both included).

No ``from __future__ import annotations``: ninja reads the parameter types at import time.
"""

from datetime import date, datetime
from typing import Any, Literal

from ninja import Field, Query, Router, Schema

from socialdesk.api_support import Id, MemberRequest, Slug, requires, responses

from . import reading

router = Router(tags=["analytics"])

Metric = Literal["engagement", "likes", "reposts", "replies", "quotes", "views", "clicks"]


class AnalyticsPeriodQuery(Schema):
    days: int | None = Field(
        None, ge=1, le=reading.MAX_DAYS, description="7, 28 or 90 (default 28), ending today."
    )
    from_: date | None = Field(None, alias="from", description="First day of a custom period.")
    to: date | None = Field(None, description="Last day of a custom period (included).")


class AnalyticsPeriodOut(Schema):
    first: date
    last: date
    start: datetime = Field(description="The first day's midnight in the workspace's zone.")
    end: datetime = Field(description="The midnight after the last day (excluded).")


class ChangeOut(Schema):
    direction: str | None = Field(description="up, down, same; null: nothing to compare.")
    percent: float | None = Field(description="Null when the previous figure is 0 or unknown.")


class NetworkRateOut(Schema):
    network: str
    posts: int = Field(description="Measured deliveries on this network.")
    engagement: int
    rate: float | None = Field(description="Null: no follower count known for its channels.")
    previous_rate: float | None = None
    formula: str = Field(description="How the rate is computed for this network.")


class PeriodFiguresOut(Schema):
    period: AnalyticsPeriodOut
    posts: int = Field(description="Posts with a delivery published in the period.")
    deliveries: int
    measured: int = Field(description="Deliveries with at least one metric snapshot.")
    engagement: int = Field(description="likes + reposts + replies + quotes, latest readings.")
    followers_change: int | None = Field(description="Null: not known at both ends.")
    rates: list[NetworkRateOut]


class RankedPostOut(Schema):
    delivery_id: int
    post_id: int
    title: str
    channel_id: int
    channel: str
    network: str
    published_at: datetime
    bucket: int = Field(description="The age of the reading ranked, in hours.")
    age: str
    value: int | None = Field(description="Null: the network does not give this metric.")
    url: str


class AnalyticsOverviewOut(Schema):
    current: PeriodFiguresOut
    previous: PeriodFiguresOut
    changes: dict[str, ChangeOut] = Field(description="posts, engagement, followers_change.")
    top_posts: list[RankedPostOut]
    enough_data: bool = Field(description="False: one of the two periods has no measured post.")
    young: bool = Field(description="True: the period is recent and its numbers still grow.")


class BenchmarkOut(Schema):
    n: int = Field(description="The channel's earlier posts read at the same age.")
    q1: int
    median: int
    q3: int


class BenchmarkedPostOut(RankedPostOut):
    benchmark: BenchmarkOut | None = Field(
        description="Quartiles of the same channel's posts of the six months before this "
        "post's month, at the same age; null: none."
    )
    position: str = Field(
        description="top quartile, above, median, below, bottom quartile; no history (fewer "
        "than 5 earlier posts); no reading (metric not given)."
    )


class RankingQuery(AnalyticsPeriodQuery):
    metric: Metric = "engagement"
    age: int | None = Field(
        None, description="A snapshot age in hours; default: latest reading.", ge=1, le=4320
    )
    order: Literal["desc", "asc"] = "desc"
    channel: Id | None = None
    network: str | None = None
    pillar: Id | None = None
    campaign: Id | None = None
    label: Id | None = None
    author: Id | None = None
    page: int = Field(
        1, ge=1, le=reading.MAX_PAGE, description=f"{reading.PAGE_SIZE} posts per page."
    )


class RankingOut(Schema):
    period: AnalyticsPeriodOut
    metric: str
    page: int
    has_next: bool
    posts: list[BenchmarkedPostOut]


def _period(request: MemberRequest, query: AnalyticsPeriodQuery) -> reading.Period:
    return reading.parse_period(request.workspace, query.days, query.from_, query.to)


@router.get(
    "/workspaces/{slug}/analytics/overview",
    response=responses(AnalyticsOverviewOut),
    operation_id="analytics_overview",
)
@requires("analytics.view")
def analytics_overview(
    request: MemberRequest, slug: Slug, query: Query[AnalyticsPeriodQuery]
) -> dict[str, Any]:
    """The period against the one just before it: posts, engagement, engagement rate per
    network (with its formula), followers change, the top 5 posts."""
    return reading.overview(request.workspace, _period(request, query))


@router.get(
    "/workspaces/{slug}/analytics/posts",
    response=responses(RankingOut),
    operation_id="analytics_posts",
)
@requires("analytics.view")
def analytics_posts(request: MemberRequest, slug: Slug, query: Query[RankingQuery]) -> dict:
    """Published posts (one row per delivery) ranked by a metric, each against its channel's
    six-month benchmark at the same age."""
    filters = reading.RankingFilters(
        period=_period(request, query),
        metric=query.metric,
        age=query.age,
        ascending=query.order == "asc",
        channel=query.channel,
        network=query.network,
        pillar=query.pillar,
        campaign=query.campaign,
        label=query.label,
        author=query.author,
        page=query.page,
    )
    page = reading.ranking(request.workspace, filters)
    return {
        "period": filters.period,
        "metric": filters.metric,
        "page": page.page,
        "has_next": page.has_next,
        "posts": page.rows,
    }
