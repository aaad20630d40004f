"""API: short links with their clicks, clicks by day and by link, conversions, and the
workspace's link settings and conversion secret (issue 14, items 2, 3 and 8).

Reading is ``analytics.view`` (owners, managers, analysts); changing the settings or the
secret is ``analytics.manage``. Conversions are created by the shop's signed report
(``POST /hooks/conversions/{slug}``, see ``analytics.conversions``), not here: its caller
holds the workspace's conversion secret, not a member's token.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from django.db import transaction
from django.db.models import Count, Q
from django.db.models.functions import TruncDate
from django.urls import reverse
from ninja import Field, Query, Router, Schema

from socialdesk.api_support import (
    CURSOR_DESCRIPTION,
    LIMIT_DESCRIPTION,
    Id,
    MemberRequest,
    Slug,
    invalid,
    paginate,
    requires,
    responses,
)
from socialdesk.page.feeds import absolute

from . import conversions
from .links import settings_for, short_url
from .models import Click, Conversion, LinkSettings, ShortLink

router = Router(tags=["analytics"])
MAX_DAYS = 366


class ShortLinkOut(Schema):
    id: int
    code: str
    url: str = Field(description="The short link as it went out.")
    source_url: str = Field(description="The link as written in the post.")
    target_url: str = Field(description="Where the short link sends: with UTM tags.")
    delivery_id: int
    post_id: int
    channel_id: int
    campaign_id: int | None
    pillar_id: int | None
    created_at: datetime
    clicks: int = Field(description="Counted clicks (bots and prefetches are not counted).")
    visitors: int = Field(description="Distinct visitors, counted per day.")

    @staticmethod
    def resolve_url(obj: ShortLink) -> str:
        return short_url(obj.code)

    @staticmethod
    def resolve_clicks(obj: ShortLink) -> int:
        return obj.click_count  # type: ignore[attr-defined, no-any-return]

    @staticmethod
    def resolve_visitors(obj: ShortLink) -> int:
        return obj.visitor_count  # type: ignore[attr-defined, no-any-return]


class ShortLinkPage(Schema):
    items: list[ShortLinkOut]
    next_cursor: str | None


class ShortLinkFilters(Schema):
    post_id: Id | None = None
    delivery_id: Id | None = None
    cursor: str | None = Field(None, description=CURSOR_DESCRIPTION)
    limit: int = Field(50, ge=1, le=100, description=LIMIT_DESCRIPTION)


class Period(Schema):
    since: date | None = Field(None, description="First day (UTC); default: 30 days ago.")
    until: date | None = Field(None, description="Last day (UTC), included; default: today.")
    link_id: Id | None = None
    post_id: Id | None = None


class ClicksOnDay(Schema):
    day: date
    clicks: int
    visitors: int = Field(description="Distinct visitors that day.")


class ClicksOfLink(Schema):
    link_id: int
    code: str
    post_id: int
    channel_id: int
    clicks: int
    visitors: int


class ConversionOut(Schema):
    id: int
    order_id: str
    value: str
    currency: str
    created_at: datetime
    attributed: bool = Field(description="The click was within the window: last click.")
    window_days: int
    click_id: int | None
    link_id: int | None
    post_id: int | None
    channel_id: int | None
    campaign_id: int | None

    @staticmethod
    def resolve_value(obj: Conversion) -> str:
        return str(obj.value)


class ConversionPage(Schema):
    items: list[ConversionOut]
    next_cursor: str | None


class ConversionFilters(Schema):
    post_id: Id | None = None
    campaign_id: Id | None = None
    cursor: str | None = Field(None, description=CURSOR_DESCRIPTION)
    limit: int = Field(50, ge=1, le=100, description=LIMIT_DESCRIPTION)


class LinkSettingsOut(Schema):
    short_links: bool = Field(description="Off: links go out with UTM tags only.")
    conversion_window_days: int
    has_conversion_secret: bool
    secret_rotated_at: datetime | None
    conversion_endpoint: str = Field(description="Where the shop POSTs its signed reports.")
    signature_header: str


class LinkSettingsIn(Schema):
    short_links: bool | None = None
    conversion_window_days: int | None = Field(None, ge=1, le=365)


class ConversionSecretOut(Schema):
    secret: str = Field(description="Shown this once; the old secret stops working now.")
    conversion_endpoint: str
    signature_header: str
    signature: str = Field(description="How to sign: sha256=<hex HMAC-SHA256(secret, body)>.")


def _period(filters: Period) -> tuple[date, date]:
    from django.utils import timezone

    until = filters.until or timezone.now().date()
    since = filters.since or until - timedelta(days=29)
    if since > until:
        raise invalid("since", "since is on or before until.")
    if (until - since).days >= MAX_DAYS:
        raise invalid("since", f"A period is at most {MAX_DAYS} days.")
    return since, until


def _clicks(request: MemberRequest, filters: Period) -> tuple[object, date, date]:
    since, until = _period(filters)
    clicks = Click.objects.in_workspace(request.workspace).filter(
        at__date__gte=since, at__date__lte=until
    )
    if filters.link_id is not None:
        clicks = clicks.filter(link_id=filters.link_id)
    if filters.post_id is not None:
        clicks = clicks.filter(link__post_id=filters.post_id)
    return clicks, since, until


def _settings_out(row: LinkSettings, slug: str) -> LinkSettingsOut:
    return LinkSettingsOut(
        short_links=row.short_links,
        conversion_window_days=row.conversion_window_days,
        has_conversion_secret=bool(row.conversion_secret_encrypted),
        secret_rotated_at=row.secret_rotated_at,
        conversion_endpoint=absolute(reverse("conversion_report", args=[slug])),
        signature_header=conversions.SIGNATURE_HEADER,
    )


@router.get(
    "/workspaces/{slug}/short-links",
    response=responses(ShortLinkPage),
    operation_id="short_links_list",
)
@requires("analytics.view")
def short_links_list(
    request: MemberRequest, slug: Slug, filters: Query[ShortLinkFilters]
) -> dict[str, object]:
    """The workspace's short links, newest first, each with its clicks and visitors; by post
    or by delivery with ``post_id`` / ``delivery_id``."""
    links = ShortLink.objects.in_workspace(request.workspace).annotate(
        click_count=Count("clicks"), visitor_count=Count("clicks__visitor", distinct=True)
    )
    if filters.post_id is not None:
        links = links.filter(post_id=filters.post_id)
    if filters.delivery_id is not None:
        links = links.filter(delivery_id=filters.delivery_id)
    return paginate(links, filters.cursor, filters.limit)


@router.get(
    "/workspaces/{slug}/clicks/by-day",
    response=responses(list[ClicksOnDay]),
    operation_id="clicks_by_day",
)
@requires("analytics.view")
def clicks_by_day(
    request: MemberRequest, slug: Slug, filters: Query[Period]
) -> list[dict[str, object]]:
    """Clicks and distinct visitors per day (UTC) of a period (default: the last 30 days),
    of one link or one post's links if asked; days without clicks are left out."""
    clicks, _, _ = _clicks(request, filters)
    rows = (
        clicks.annotate(day=TruncDate("at"))  # type: ignore[attr-defined]
        .values("day")
        .annotate(clicks=Count("id"), visitors=Count("visitor", distinct=True))
        .order_by("day")
    )
    return list(rows)


@router.get(
    "/workspaces/{slug}/clicks/by-link",
    response=responses(list[ClicksOfLink]),
    operation_id="clicks_by_link",
)
@requires("analytics.view")
def clicks_by_link(
    request: MemberRequest, slug: Slug, filters: Query[Period]
) -> list[dict[str, object]]:
    """Clicks and visitors of each link clicked in a period, most clicked first (at most
    500 links)."""
    since, until = _period(filters)
    within = Q(clicks__at__date__gte=since, clicks__at__date__lte=until)
    links = ShortLink.objects.in_workspace(request.workspace)
    if filters.link_id is not None:
        links = links.filter(pk=filters.link_id)
    if filters.post_id is not None:
        links = links.filter(post_id=filters.post_id)
    rows = (
        links.annotate(
            click_count=Count("clicks", filter=within),
            visitor_count=Count("clicks__visitor", filter=within, distinct=True),
        )
        .filter(click_count__gt=0)
        .order_by("-click_count", "id")
        .values("id", "code", "post_id", "channel_id", "click_count", "visitor_count")[:500]
    )
    return [
        {
            "link_id": row["id"],
            "code": row["code"],
            "post_id": row["post_id"],
            "channel_id": row["channel_id"],
            "clicks": row["click_count"],
            "visitors": row["visitor_count"],
        }
        for row in rows
    ]


@router.get(
    "/workspaces/{slug}/conversions",
    response=responses(ConversionPage),
    operation_id="conversions_list",
)
@requires("analytics.view")
def conversions_list(
    request: MemberRequest, slug: Slug, filters: Query[ConversionFilters]
) -> dict[str, object]:
    """Conversions the shop reported, newest first. The shop creates them with a signed
    ``POST /hooks/conversions/{slug}`` (see ``conversion_secret_rotate``)."""
    rows = Conversion.objects.in_workspace(request.workspace)
    if filters.post_id is not None:
        rows = rows.filter(post_id=filters.post_id)
    if filters.campaign_id is not None:
        rows = rows.filter(campaign_id=filters.campaign_id)
    return paginate(rows, filters.cursor, filters.limit)


@router.get(
    "/workspaces/{slug}/link-settings",
    response=responses(LinkSettingsOut),
    operation_id="link_settings_read",
)
@requires("analytics.view")
def link_settings_read(request: MemberRequest, slug: Slug) -> LinkSettingsOut:
    """Short links on or off, the conversion window, and whether a secret is set (never
    the secret itself)."""
    return _settings_out(settings_for(request.workspace.pk), request.workspace.slug)


@router.patch(
    "/workspaces/{slug}/link-settings",
    response=responses(LinkSettingsOut),
    operation_id="link_settings_update",
)
@requires("analytics.manage")
def link_settings_update(
    request: MemberRequest, slug: Slug, payload: LinkSettingsIn
) -> LinkSettingsOut:
    """Turn short links on or off (off: UTM tags only; links already sent keep working) and
    set the conversion window (1 to 365 days)."""
    changes = payload.dict(exclude_none=True)
    with transaction.atomic():
        row, _ = LinkSettings.objects.get_or_create(workspace=request.workspace)
        for name, value in changes.items():
            setattr(row, name, value)
        if changes:
            row.save(update_fields=list(changes))
    return _settings_out(row, request.workspace.slug)


@router.post(
    "/workspaces/{slug}/conversion-secret",
    response=responses(ConversionSecretOut),
    operation_id="conversion_secret_rotate",
)
@requires("analytics.manage")
def conversion_secret_rotate(request: MemberRequest, slug: Slug) -> ConversionSecretOut:
    """Make a new conversion secret (the old one, if any, stops working at once) and show
    it this once: the shop signs each report's body with it (HMAC-SHA256)."""
    secret = conversions.rotate_secret(request.workspace)
    return ConversionSecretOut(
        secret=secret,
        conversion_endpoint=absolute(reverse("conversion_report", args=[request.workspace.slug])),
        signature_header=conversions.SIGNATURE_HEADER,
        signature="sha256=<hex of HMAC-SHA256(secret, the exact request body)>",
    )
