"""The editorial calendar's business rules (issue 5, items 1 and 5): what a period holds,
duplicating a delivery, the content mix against the pillars' targets, and boost spend
against a campaign's budget.

The calendar's feed is one query (``deliveries_between``) on ``delivery_calendar_idx``
(workspace, scheduled_at) and one for the posts' images; everything else here is a few
aggregate queries.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import date, datetime, timedelta, tzinfo
from decimal import Decimal
from functools import lru_cache
from typing import Any

from django.apps import apps
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Count, Exists, F, OuterRef, QuerySet, Subquery, Sum, Window
from django.db.models.functions import RowNumber, Substr, TruncDate
from django.utils import timezone

from socialdesk.content.models import Campaign, MediaAsset, Pillar, Post
from socialdesk.content.services import PostContent, create_post
from socialdesk.database import OneOf
from socialdesk.networks.models import Channel
from socialdesk.workspaces.models import User, Workspace

from . import services
from .models import BoostSpend, Delivery, DeliveryState

S = DeliveryState
# What the calendar shows: everything with a time except what was called off.
SHOWN = [s for s in DeliveryState if s not in (S.DRAFT, S.CANCELLED)]
# A pillar's actual share may differ from its target by this many points before a warning.
MIX_TOLERANCE = 10
BUDGET_LEVELS = (100, 80)  # percent of a campaign's budget that earn a warning

_MEDIA_FIELDS = {f.name for f in MediaAsset._meta.get_fields()}
# The media library's small preview when it exists, else the file itself.
_THUMB = "thumbnail" if "thumbnail" in _MEDIA_FIELDS else "file"


@dataclass
class Filters:
    channel: int | None = None
    pillar: int | None = None
    campaign: int | None = None
    label: int | None = None
    state: str | None = None
    author: int | None = None
    stage: int | None = None  # the workflow app's stages, when it is installed
    assignee: int | None = None


def has_workflow() -> bool:
    """The team workflow (stages, assignments) is an upper floor that publishing never
    imports; the calendar reads its rows through the ORM's relations when its app (label
    ``workflow``) is installed, and falls back to delivery states otherwise."""
    return "workflow" in apps.app_configs


def deliveries_between(
    workspace: Workspace, start: datetime, end: datetime, filters: Filters | None = None
) -> QuerySet[Delivery]:
    """The deliveries of ``workspace`` with a time in [start, end), filtered, each with its
    post, channel and pillar in the same query."""
    rows, related = _filtered(workspace, start, end, filters)
    return rows.select_related(*related).order_by("scheduled_at", "id")


def _filtered(
    workspace: Workspace, start: datetime, end: datetime, filters: Filters | None
) -> tuple[QuerySet[Delivery], list[str]]:
    """The filtered deliveries of the period, and the relations worth selecting with them."""
    f = filters or Filters()
    rows = Delivery.objects.filter(
        workspace=workspace, scheduled_at__gte=start, scheduled_at__lt=end, state__in=SHOWN
    )
    if f.channel:
        rows = rows.filter(channel_id=f.channel)
    if f.pillar:
        rows = rows.filter(post__pillar_id=f.pillar)
    if f.campaign:
        rows = rows.filter(post__campaign_id=f.campaign)
    if f.label:
        rows = rows.filter(
            post__in=Post.labels.through.objects.filter(label_id=f.label).values("post_id")
        )
    if f.state:
        rows = rows.filter(state=f.state)
    if f.author:
        rows = rows.filter(post__author_id=f.author)
    related = ["channel", "channel__workspace", "post", "post__pillar"]
    if has_workflow():
        related.append("post__workflow__stage")
        if f.stage:
            rows = rows.filter(post__workflow__stage_id=f.stage)
        if f.assignee:
            # Assigned to the post's current stage: whose turn it is now.
            assignment = apps.get_model("workflow", "Assignment")
            rows = rows.filter(
                Exists(
                    assignment.objects.filter(
                        post_id=OuterRef("post_id"),
                        stage_id=OuterRef("post__workflow__stage_id"),
                        assignee_id=f.assignee,
                    )
                )
            )
    return rows, related


# What the calendar's feed reads of each delivery: plain values, no model instances (building
# five model objects per row cost most of the feed's time at a thousand events a month).
ROW_FIELDS = [
    "id",
    "post_id",
    "channel_id",
    "scheduled_at",
    "state",
    "post__title",
    "post__pillar__name",
    "post__pillar__color",
    "channel__handle",
    "channel__network",
    "channel__time_zone",
    "excerpt",
]


class LocalDay(TruncDate):
    """``TruncDate`` in ``zone`` for instants in [start, end), which SQLite computes with its
    own ``date()`` instead of Django's Python function per row (a month grid groups ~1,500
    rows by day, twice, per request; the Python function cost more than the rest of the feed).

    Written by hand because no library does it: the zone's UTC offsets over the period are
    found here, in Python (six weeks hold at most a change or two), and SQLite shifts each
    row by its offset. Other databases convert zones natively, through ``TruncDate``."""

    def __init__(self, expression: str, zone: tzinfo, start: datetime, end: datetime):
        super().__init__(expression, tzinfo=zone)
        self.zone, self.start, self.end = zone, start, end

    def as_sqlite(self, compiler: Any, connection: Any, **extra: Any) -> tuple[str, list]:
        sql, params = compiler.compile(self.lhs)
        *changes, (_, last) = utc_offsets(self.zone, self.start, self.end)
        case, case_params = "", []
        for until, offset in changes:
            case += f"WHEN {sql} < %s THEN %s "
            case_params += [*params, connection.ops.adapt_datetimefield_value(until), offset]
        shift = f"CASE {case}ELSE %s END" if case else "%s"
        return f"date({sql}, {shift})", [*params, *case_params, last]


@lru_cache(maxsize=256)
def utc_offsets(zone: tzinfo, start: datetime, end: datetime) -> list[tuple[datetime, str]]:
    """[(until, "+3600 seconds"), …]: each run of one UTC offset of ``zone`` in [start, end)
    and the instant it ends (the last one's is ``end``), as SQLite ``date()`` modifiers.

    Remembered per zone and period (a month grid asks for the same six weeks again and
    again): walking six weeks an hour at a time cost the feed 5 ms. Callers must not change
    the list."""

    def offset_at(instant: datetime) -> int:
        return int(instant.astimezone(zone).utcoffset().total_seconds())  # type: ignore[union-attr]

    runs: list[tuple[datetime, str]] = []
    step = timedelta(hours=1)  # no zone changes its offset twice within an hour
    at, current = start, offset_at(start)
    while at < end:
        following = min(at + step, end)
        if offset_at(following) != current and following < end:
            low, high = at, following  # the change is in (low, high]: find its second
            while high - low > timedelta(seconds=1):
                middle = low + (high - low) / 2
                low, high = (middle, high) if offset_at(middle) == current else (low, middle)
            runs.append((high.replace(microsecond=0), f"{current:+d} seconds"))
            current = offset_at(high)
        at = following
    runs.append((end, f"{current:+d} seconds"))
    return runs


def calendar_rows(
    workspace: Workspace,
    start: datetime,
    end: datetime,
    filters: Filters | None = None,
    *,
    per_day: int | None = None,
    zone: tzinfo | None = None,
) -> list[dict]:
    """``deliveries_between`` as dicts of ``ROW_FIELDS`` (plus the workflow stage's name and
    position when that app is installed) and ``thumb``, the first image of the post: two
    queries, however many rows.

    ``per_day`` (a month grid): only each day's first ``per_day`` deliveries (days in
    ``zone``), each with ``day_rank`` (1, 2, …) and ``day_total`` (all of its day's), chosen
    by the database with window functions, so a busy month reads a few rows a day; and
    ``timed_copies``, ``copies_between``'s count for the row's post. Two queries."""
    fields = list(ROW_FIELDS)
    if has_workflow():
        fields += ["post__workflow__stage__name", "post__workflow__stage__position"]
    deliveries = deliveries_between(workspace, start, end, filters)
    ranks: dict[int, tuple[int, int]] = {}
    if per_day:
        # First each day's first deliveries alone (id, rank, day total), then the posts,
        # channels and pillars of those: joining all of a busy month's 1,400 deliveries
        # before the window keeps 170 of them cost PostgreSQL twice the time of the two
        # queries (issue 12, item 5).
        day = LocalDay("scheduled_at", zone or workspace.zone, start, end)
        ranked = (
            deliveries.order_by()
            .annotate(
                day_rank=Window(RowNumber(), partition_by=[day], order_by=["scheduled_at", "id"]),
                day_total=Window(Count("id"), partition_by=[day]),
            )
            .filter(day_rank__lte=per_day)
            .values_list("id", "day_rank", "day_total")
        )
        ranks = {pk: (rank, total) for pk, rank, total in ranked}
        if not ranks:
            return []
        # For these few rows, the post's first image and how many of its copies the period
        # holds on a time (``timed_copies``) come as subqueries of the same query: two
        # queries fewer per month grid, each with a list of 170 ids to send.
        images = (
            Post.media.through.objects.filter(post_id=OuterRef("post_id"))
            .order_by("id")
            .values(f"mediaasset__{_THUMB}")[:1]
        )
        copies = (
            _filtered(workspace, start, end, filters)[0]
            .filter(post_id=OuterRef("post_id"), state__in=services.TIMED)
            .order_by()
            .values("post_id")
            .annotate(n=Count("id"))
            .values("n")
        )
        deliveries = (
            Delivery.objects.filter(OneOf(F("id"), list(ranks)))
            .annotate(thumb=Subquery(images), timed_copies=Subquery(copies))
            .order_by("scheduled_at", "id")
        )
        fields += ["thumb", "timed_copies"]
    rows = list(deliveries.annotate(excerpt=Substr("post__text", 1, 61)).values(*fields))
    if per_day:
        for row in rows:
            row["day_rank"], row["day_total"] = ranks[row["id"]]
            row["timed_copies"] = row["timed_copies"] or 0
        return rows
    thumbs = _first_images(deliveries.order_by().values("post_id")) if rows else {}
    for row in rows:
        row["thumb"] = thumbs.get(row["post_id"])
    return rows


def copies_between(
    workspace: Workspace,
    start: datetime,
    end: datetime,
    filters: Filters | None,
    post_ids: Collection[int],
    states: Collection[str],
) -> dict[int, int]:
    """How many deliveries in ``states`` each of ``post_ids`` has in the period: one query."""
    rows, _ = _filtered(workspace, start, end, filters)
    counted = (
        rows.filter(post_id__in=list(post_ids), state__in=list(states))
        .order_by()
        .values("post_id")
        .annotate(copies=Count("id"))
    )
    return {row["post_id"]: row["copies"] for row in counted}


def brief_rows(
    workspace: Workspace,
    start: datetime,
    end: datetime,
    filters: Filters | None,
    *,
    states: Collection[str],
    channel_ids: Collection[int] | None = None,
    networks: Collection[str] | None = None,
    times: Collection[datetime] | None = None,
) -> list[dict]:
    """The period's deliveries in ``states`` (on ``channel_ids``, on ``networks``, at
    ``times``) with just their channel, network, channel zone, state and time: what free
    slots and day budget warnings need, without reading every post of a busy month."""
    rows, _ = _filtered(workspace, start, end, filters)
    rows = rows.filter(state__in=list(states))
    if channel_ids is not None:
        rows = rows.filter(channel_id__in=list(channel_ids))
    if networks is not None:
        rows = rows.filter(channel__network__in=list(networks))
    if times is not None:
        rows = rows.filter(scheduled_at__in=list(times))
    fields = ["channel_id", "channel__network", "channel__time_zone", "state", "scheduled_at"]
    return list(rows.order_by().values(*fields))


def _first_images(post_ids: QuerySet | list[int]) -> dict[int, str]:
    """Each post's first attached medium's preview, for the posts in ``post_ids`` (a
    subquery, so a busy month sends no list of ids): one query for the whole period instead
    of a subquery per delivery."""
    links = (
        Post.media.through.objects.filter(post_id__in=post_ids)
        .order_by("post_id", "id")
        .values_list("post_id", f"mediaasset__{_THUMB}")
    )
    first: dict[int, str] = {}
    for post_id, thumb in links:
        first.setdefault(post_id, thumb)
    return first


# --- Duplicating --------------------------------------------------------------------------


def copy_post(
    post: Post,
    channel: Channel | list[Channel],
    *,
    text: str | None = None,
    actor: User | None = None,
    title: str | None = None,
) -> Post:
    """A new draft post with ``post``'s content (text, media, labels, pillar, campaign) and a
    delivery on each of ``channel`` (one channel or a list); ``title`` replaces the title."""
    channels = channel if isinstance(channel, list) else [channel]
    return create_post(
        Workspace(pk=post.workspace_id),
        actor,
        PostContent(
            text=post.text if text is None else text,
            title=post.title if title is None else title,
            channel_ids=[c.pk for c in channels],
            media_ids=list(post.media.values_list("id", flat=True)),
            label_ids=list(post.labels.values_list("id", flat=True)),
            pillar_id=post.pillar_id,
            campaign_id=post.campaign_id,
        ),
    )


COPY_MARK = " (copy)"


def copy_title(post: Post) -> str:
    """The title a duplicate gets: the original's (or its summary) with " (copy)", so the two
    never read the same in a list or a picker."""
    base = post.title or str(post)
    limit = Post._meta.get_field("title").max_length or 200
    return base[: limit - len(COPY_MARK)] + COPY_MARK


# What a delivery carries of its own, copied with it.
_OWN_FIELDS = ["text_override", "first_comment", "language", "visibility", "content_warning"]


def duplicate_delivery(
    delivery: Delivery,
    local_datetime: datetime,
    *,
    channel: Channel | None = None,
    zone: str | None = None,
    actor: User | None = None,
    now: datetime | None = None,
    fold: int | None = None,
) -> services.ScheduledDeliveries:
    """Copy the post of ``delivery`` as a new post titled "… (copy)", scheduled with the
    scheduling service's checks; nothing is created when they refuse.

    Without ``channel`` the copy has every channel of the post, each with its own text,
    first comment and details: the copy of ``delivery`` lands at wall-clock
    ``local_datetime`` in ``zone`` (``fold``: the reading of a repeated time; an aware time
    is that instant) and the others keep their distance from it, as a drag does
    (``services.schedule_alongside``). With ``channel`` the copy has that one channel, with
    ``delivery``'s text as published there.
    """
    if channel is not None and channel.workspace_id != delivery.workspace_id:
        raise ValidationError({"channel": ["No such channel in this workspace."]})
    post = delivery.post
    with transaction.atomic():
        if channel is not None:
            copy = copy_post(post, channel, text=delivery.text, actor=actor, title=copy_title(post))
            return services.schedule(copy, local_datetime, zone, actor, now=now, fold=fold)
        sources = list(post.deliveries.select_related("channel", "workspace").order_by("id"))
        copy = copy_post(post, [d.channel for d in sources], actor=actor, title=copy_title(post))
        targets = {d.channel_id: d for d in copy.deliveries.select_related("channel", "post")}
        for source in sources:
            target = targets[source.channel_id]
            changed = [f for f in _OWN_FIELDS if getattr(source, f) != getattr(target, f)]
            for name in changed:
                setattr(target, name, getattr(source, name))
            if changed:
                target.save(update_fields=changed)
            media = list(source.media_override.all())
            if media:
                target.media_override.set(media)
        pairs = [(source, targets[source.channel_id]) for source in sources]
        anchor = next(s for s in sources if s.pk == delivery.pk)
        return services.schedule_alongside(
            pairs, anchor, local_datetime, zone, actor, fold=fold, now=now, reason="duplicated"
        )


# --- Content mix --------------------------------------------------------------------------


@dataclass
class PillarShare:
    pillar: Pillar | None  # None: posts without a pillar
    count: int
    share: float  # percent of the period's deliveries
    target: int | None
    off_by: float | None  # actual − target, in points

    @property
    def warning(self) -> str:
        if self.pillar is None or self.off_by is None or abs(self.off_by) <= MIX_TOLERANCE:
            return ""
        side = "above" if self.off_by > 0 else "below"
        return (
            f"{self.pillar}: {self.share:.0f} % of this period's posts, "
            f"{abs(self.off_by):.0f} points {side} its {self.target} % target."
        )


def content_mix(
    workspace: Workspace, start: datetime, end: datetime, filters: Filters | None = None
) -> list[PillarShare]:
    """Each pillar's actual share of the period's deliveries against its target share.

    Pillars with a target appear even when the period has none of them (0 %): being absent
    is the biggest miss.
    """
    filtered, _ = _filtered(workspace, start, end, filters)
    rows = filtered.order_by().values("post__pillar_id").annotate(n=Count("id"))
    counts = {row["post__pillar_id"]: row["n"] for row in rows}
    total = sum(counts.values())
    pillars = {p.pk: p for p in Pillar.objects.filter(workspace=workspace)}
    shares = []
    for pk, pillar in pillars.items():
        if pk not in counts and not pillar.target_share:
            continue
        n = counts.get(pk, 0)
        share = 100 * n / total if total else 0.0
        target = pillar.target_share or None
        off = (share - target) if (target is not None and total) else None
        shares.append(PillarShare(pillar, n, share, target, off))
    if counts.get(None):
        shares.append(PillarShare(None, counts[None], 100 * counts[None] / total, None, None))
    shares.sort(key=lambda s: (s.pillar is None, -(s.count), str(s.pillar)))
    return shares


# --- Campaign budgets ---------------------------------------------------------------------


@dataclass
class BudgetStatus:
    campaign: Campaign
    spent: Decimal
    budget: Decimal

    @property
    def percent(self) -> float:
        return float(100 * self.spent / self.budget) if self.budget else 0.0

    @property
    def warning(self) -> str:
        if not self.budget:
            return ""
        for level in BUDGET_LEVELS:
            if self.percent >= level:
                what = "used up" if level == 100 else f"{level} % used"
                return (
                    f"{self.campaign}: boost budget {what} — {self.spent:,.2f} spent of "
                    f"{self.budget:,.2f} ({self.percent:.0f} %)."
                )
        return ""


def campaign_budget(campaign: Campaign) -> BudgetStatus:
    spent = BoostSpend.objects.filter(delivery__post__campaign=campaign).aggregate(s=Sum("amount"))[
        "s"
    ]
    return BudgetStatus(campaign, spent or Decimal(0), campaign.budget or Decimal(0))


def budgets_for(workspace: Workspace, start: date, end: date) -> list[BudgetStatus]:
    """Budget status of the campaigns running at some point in [start, end]: two queries.

    The spend is summed from the boosts' side (a few rows) up to their campaigns; summing
    from the campaigns' side joined every post and delivery of a campaign first, thousands
    of rows in a busy workspace."""
    campaigns = list(
        Campaign.objects.filter(
            workspace=workspace, starts_on__lte=end, ends_on__gte=start
        ).order_by("starts_on", "name")
    )
    if not campaigns:
        return []
    spent = dict(
        BoostSpend.objects.filter(delivery__post__campaign__in=[c.pk for c in campaigns])
        .order_by()
        .values_list("delivery__post__campaign")
        .annotate(total=Sum("amount"))
    )
    return [
        BudgetStatus(c, spent.get(c.pk) or Decimal(0), c.budget or Decimal(0)) for c in campaigns
    ]


def record_boost(
    delivery: Delivery,
    amount: Decimal | str | float,
    *,
    spent_on: date | None = None,
    note: str = "",
    actor: User | None = None,
) -> tuple[BoostSpend, BudgetStatus | None]:
    """Record money spent promoting ``delivery``; returns the spend and, when the post
    belongs to a campaign, its budget status (whose ``warning`` says 80 % / 100 %)."""
    try:
        value = Decimal(str(amount)).quantize(Decimal("0.01"))
    except ArithmeticError:
        raise ValidationError(
            {"amount": [f"{amount!r} is not an amount; write it as 12.50."]}
        ) from None
    errors: dict[str, list[str]] = {}
    if not value.is_finite() or value <= 0:
        errors["amount"] = ["The amount must be more than 0."]
    elif value >= Decimal("1e10"):
        errors["amount"] = ["The amount is too large."]
    if len(note) > 200:
        errors["note"] = ["Keep the note under 200 characters."]
    if errors:
        raise ValidationError(errors)
    spend = BoostSpend.objects.create(
        workspace_id=delivery.workspace_id,
        delivery=delivery,
        amount=value,
        spent_on=spent_on or timezone.localdate(),
        note=note,
        recorded_by=actor,
    )
    campaign = delivery.post.campaign
    return spend, campaign_budget(campaign) if campaign else None
