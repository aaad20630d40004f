"""CSV import and export of posts (issue 5, item 7).

One row is one post: ``date, time, time zone, channels, text, media, labels, pillar,
campaign``. ``validate_csv`` reads the whole file and checks EVERY row before anything is
written, collecting each error with its row number (as a spreadsheet numbers it: the header
is row 1) and its column; ``import_csv`` then writes all rows in one transaction, or nothing.

The rules are the scheduling services' own: wall-clock times go through
``publishing.wallclock.to_utc`` (a time in a daylight-saving gap or overlap is refused with
the same words), a time must be in the future, a channel must be connected, every channel's
connector ``validate``s the content, scheduled images need alt text, a scheduled text must not
say what the workspace forbids (``content.rules``: banned phrases, hashtag range, length per
network), and a workspace that requires approval gets drafts only. The rows written are the
ones ``content.services.create_post`` writes (a post, its version 1), in batches, and the
deliveries go through the publishing engine's batch form
``publishing.services.schedule_batch`` (their draft → scheduled transitions and queued
tasks): 10,000 rows one by one would take a minute (``bench/bulk.py``).

``export_csv`` writes the same columns for a date range in the workspace's time zone, so an
export imports back to the same posts.
"""

from __future__ import annotations

import csv
import io
import re
import zoneinfo
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from socialdesk.bulk_rows import BulkRows
from socialdesk.csv_cells import restore, safe_row
from socialdesk.networks.base import DeliveryContent, MediaFile
from socialdesk.networks.models import Channel
from socialdesk.publishing.checks import channel_problem
from socialdesk.publishing.connectors import connector_for, problem_text
from socialdesk.publishing.models import Delivery, DeliveryState
from socialdesk.publishing.services import PlannedDelivery, schedule_batch
from socialdesk.publishing.wallclock import WallClockError, offset_label, to_utc, zone_named
from socialdesk.workspaces.models import User, Workspace

from . import rules
from .models import Campaign, Label, MediaAsset, MediaKind, Pillar, Post, PostVersion
from .services import MAX_TEXT

COLUMNS = ["date", "time", "time zone", "channels", "text", "media", "labels", "pillar", "campaign"]
REQUIRED = {"date", "time", "channels", "text"}
# Several values in one cell (channels, media, labels) are separated by this.
SEPARATOR = ";"
MAX_BYTES = 5 * 1024 * 1024
MAX_ROWS = 10_000
BOM = "\ufeff"

_TIME = re.compile(r"^(\d{1,2}):(\d{2})(?::(\d{2}))?\s*(?:(?:UTC)?([+-]\d{1,2}(?::?\d{2})?))?$")


@dataclass(frozen=True)
class RowError:
    """One thing to fix: ``row`` as a spreadsheet numbers it (header = 1, 0 = the whole file)."""

    row: int
    column: str
    message: str

    def __str__(self) -> str:
        where = f"Row {self.row}" if self.row else "File"
        return (
            f"{where}, {self.column}: {self.message}" if self.column else f"{where}: {self.message}"
        )


@dataclass
class ParsedRow:
    """A row that passed every check, resolved to the workspace's objects."""

    row: int
    text: str
    channels: list[Channel]
    media: list[MediaAsset]
    labels: list[Label]
    pillar: Pillar | None
    campaign: Campaign | None
    # channel pk → UTC instant; empty for a draft.
    times: dict[int, datetime] = field(default_factory=dict)
    # The zone the row's time was read in (None: each channel's own).
    zone: zoneinfo.ZoneInfo | None = None


@dataclass
class ImportPlan:
    """What ``validate_csv`` found: rows ready to import, or the errors to fix first."""

    rows: list[ParsedRow] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors

    @property
    def posts(self) -> int:
        return len(self.rows)

    @property
    def deliveries(self) -> int:
        return sum(len(r.channels) for r in self.rows)

    @property
    def scheduled(self) -> int:
        return sum(1 for r in self.rows if r.times)

    @property
    def drafts(self) -> int:
        return self.posts - self.scheduled

    def error_dict(self) -> dict[str, list[str]]:
        """The errors as a ``ValidationError`` dict, keyed ``row 3: time``."""
        out: dict[str, list[str]] = {}
        for error in self.errors:
            key = f"row {error.row}: {error.column}" if error.row else (error.column or "file")
            out.setdefault(key, []).append(error.message)
        return out


# --- Reading the file ---------------------------------------------------------------------


def decode(data: bytes) -> str:
    """The file's text: UTF-8, with or without a byte order mark. Anything else is refused
    with a ``ValidationError`` that says how to save the file as UTF-8."""
    if len(data) > MAX_BYTES:
        raise ValidationError(
            {
                "file": [
                    f"The file is {len(data) / 1024 / 1024:.1f} MB; the limit is "
                    f"{MAX_BYTES // 1024 // 1024} MB. Split it into smaller files."
                ]
            }
        )
    if data.startswith(b"\xff\xfe") or data.startswith(b"\xfe\xff"):
        raise ValidationError(
            {"file": ["The file is UTF-16; save it as “CSV UTF-8” and upload it again."]}
        )
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise ValidationError(
            {
                "file": [
                    f"The file is not UTF-8 (an unreadable byte on line {line}). Save it as "
                    "“CSV UTF-8” (in Excel: Save as → CSV UTF-8) and upload it again."
                ]
            }
        ) from None
    return text.removeprefix(BOM)


def _column_key(name: str) -> str:
    return " ".join(name.strip().lower().replace("_", " ").replace("-", " ").split())


_ALIASES = {"timezone": "time zone", "zone": "time zone", "channel": "channels", "label": "labels"}


def _split(value: str) -> list[str]:
    return [part.strip() for part in value.split(SEPARATOR) if part.strip()]


def _read_rows(text: str) -> tuple[list[dict[str, str]], list[RowError]]:
    """Rows as ``{column: value}`` (row number under ``"#"``), or the header's errors."""
    if not text.strip():
        return [], [RowError(0, "", "The file is empty; the first row must name the columns.")]
    first_line = text.split("\n", 1)[0]
    delimiter = ","
    if first_line.count(";") > first_line.count(",") and first_line.count(";") >= 3:
        delimiter = ";"  # spreadsheets in many European locales save CSV with semicolons
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        header = next(reader)
    except csv.Error as exc:
        return [], [RowError(1, "", f"The header row cannot be read: {exc}.")]
    keys = []
    errors = []
    for name in header:
        key = _column_key(name)
        key = _ALIASES.get(key, key)
        if key and key not in COLUMNS:
            errors.append(
                RowError(
                    1, name, f"Unknown column “{name}”; the columns are: {', '.join(COLUMNS)}."
                )
            )
        keys.append(key)
    for missing in sorted(REQUIRED - set(keys), key=COLUMNS.index):
        errors.append(RowError(1, missing, f"The column “{missing}” is missing from row 1."))
    if errors:
        return [], errors
    rows: list[dict[str, str]] = []
    try:
        # Numbered as a spreadsheet shows them: a record per row, whatever line breaks its
        # quoted text holds; blank rows (often at the end of a file) count but are skipped.
        for number, values in enumerate(reader, start=2):
            if not any(v.strip() for v in values):
                continue
            if len(rows) >= MAX_ROWS:
                return [], [
                    RowError(
                        number,
                        "",
                        f"The file has more than {MAX_ROWS:,} posts; split it into smaller files.",
                    )
                ]
            if len(values) > len(keys):
                extra = [v for v in values[len(keys) :] if v.strip()]
                if extra:
                    errors.append(
                        RowError(
                            number,
                            "",
                            f"This row has {len(values)} cells but the header names "
                            f"{len(keys)} columns; quote text that contains a {delimiter!r}.",
                        )
                    )
                    continue
            row = {key: restore(value) for key, value in zip(keys, values, strict=False) if key}
            row["#"] = str(number)
            rows.append(row)
    except csv.Error as exc:
        errors.append(RowError(len(rows) + 2, "", f"This row cannot be read: {exc}."))
    return rows, errors


# --- Looking things up once for the whole file --------------------------------------------


class _Lookup:
    """The workspace's channels, media and taxonomy, fetched once and indexed by name."""

    def __init__(self, workspace: Workspace) -> None:
        self.workspace = workspace
        # Whether approval gates publishing here (one query, not one a row).
        self.gated = workspace.approval_gate
        self.channels = list(Channel.objects.filter(workspace=workspace).order_by("id"))
        for channel in self.channels:
            channel.workspace = workspace  # Channel.zone reads the workspace's zone
        self.by_key: dict[str, Channel] = {}
        handles: dict[str, list[Channel]] = defaultdict(list)
        for channel in self.channels:
            self.by_key[channel_key(channel).lower()] = channel
            self.by_key[str(channel).lower()] = channel
            handles[channel.handle.lower()].append(channel)
        self.by_handle = handles
        self.media = list(MediaAsset.objects.filter(workspace=workspace).order_by("id"))
        self.media_by_name: dict[str, list[MediaAsset]] = defaultdict(list)
        self.media_by_checksum: dict[str, MediaAsset] = {}
        for asset in self.media:
            if asset.original_name:
                self.media_by_name[asset.original_name.lower()].append(asset)
            self.media_by_checksum[asset.checksum.lower()] = asset
        self.labels = {x.name.lower(): x for x in Label.objects.filter(workspace=workspace)}
        self.pillars = {x.name.lower(): x for x in Pillar.objects.filter(workspace=workspace)}
        self.campaigns = {x.name.lower(): x for x in Campaign.objects.filter(workspace=workspace)}
        self._connectors: dict[int, object] = {}
        # What the workspace forbids a scheduled post to say (``content.rules``), read once.
        self.forbidden = rules.checker(workspace.pk)

    def connector(self, channel: Channel):  # noqa: ANN201 - Connector | None
        if channel.pk not in self._connectors:
            self._connectors[channel.pk] = connector_for(channel)
        return self._connectors[channel.pk]

    def channel(self, name: str) -> tuple[Channel | None, str]:
        found = self.by_key.get(name.lower())
        if found is not None:
            return found, ""
        same = self.by_handle.get(name.lower().removeprefix("@"), []) or self.by_handle.get(
            name.lower(), []
        )
        if len(same) == 1:
            return same[0], ""
        known = ", ".join(channel_key(c) for c in self.channels) or "none yet"
        if len(same) > 1:
            return None, (
                f"“{name}” is a handle on several networks; write it as network:handle "
                f"(one of: {', '.join(channel_key(c) for c in same)})."
            )
        return None, f"No channel “{name}” in this workspace. The channels are: {known}."

    def asset(self, name: str) -> tuple[MediaAsset | None, str]:
        key = name.lower()
        if key in self.media_by_checksum:
            return self.media_by_checksum[key], ""
        if key.startswith("#") and key[1:].isdigit():
            for asset in self.media:
                if asset.pk == int(key[1:]):
                    return asset, ""
        same = self.media_by_name.get(key, [])
        if len(same) == 1:
            return same[0], ""
        if len(same) > 1:
            return None, (
                f"{len(same)} files in the media library are named “{name}”; write the one "
                f"you mean by its checksum ({', '.join(a.checksum[:12] + '…' for a in same)})."
            )
        return None, (
            f"“{name}” is not in the media library; upload it there first, or fix the name."
        )


def channel_key(channel: Channel) -> str:
    """How a channel is written in the CSV: ``network:handle``."""
    return f"{channel.network}:{channel.handle}"


def media_key(asset: MediaAsset, duplicated: set[str]) -> str:
    """How a file is written in the CSV: its name, or its checksum when the name is shared."""
    name = asset.original_name
    if name and name.lower() not in duplicated and SEPARATOR not in name:
        return name
    return asset.checksum


# --- Validating rows ----------------------------------------------------------------------


def _parse_date(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise ValueError(
            f"“{value}” is not a date; write it as year-month-day, e.g. 2026-12-01."
        ) from None


def _parse_time(value: str) -> tuple[time, str | None]:
    match = _TIME.match(value)
    if match:
        hours, minutes, seconds, offset = match.groups()
        try:
            return time(int(hours), int(minutes), int(seconds or 0)), offset
        except ValueError:
            pass
    raise ValueError(
        f"“{value}” is not a time; write it as hours:minutes on a 24-hour clock, e.g. 09:30 "
        "(add the UTC offset, e.g. 02:30 +01:00, for a time the clocks repeat)."
    )


def _validate_row(
    raw: dict[str, str], lookup: _Lookup, now: datetime, errors: list[RowError]
) -> ParsedRow | None:
    number = int(raw["#"])
    before = len(errors)

    def error(column: str, message: str) -> None:
        errors.append(RowError(number, column, message))

    value = {name: raw.get(name, "").strip() for name in COLUMNS}
    text = raw.get("text", "").replace("\r\n", "\n")
    if "\x00" in text:
        error("text", "The text contains a NUL character; remove it.")
    if len(text) > MAX_TEXT:
        error("text", f"The text is {len(text):,} characters; the limit is {MAX_TEXT:,}.")

    channels: list[Channel] = []
    for name in _split(value["channels"]):
        channel, problem = lookup.channel(name)
        if channel is None:
            error("channels", problem)
        elif channel not in channels:
            channels.append(channel)
    media: list[MediaAsset] = []
    for name in _split(value["media"]):
        asset, problem = lookup.asset(name)
        if asset is None:
            error("media", problem)
        elif asset not in media:
            media.append(asset)
    labels: list[Label] = []
    for name in _split(value["labels"]):
        label = lookup.labels.get(name.lower())
        if label is None:
            error("labels", f"No label “{name}” in this workspace; create it first or fix it.")
        elif label not in labels:
            labels.append(label)
    pillar = campaign = None
    if value["pillar"]:
        pillar = lookup.pillars.get(value["pillar"].lower())
        if pillar is None:
            error("pillar", f"No pillar “{value['pillar']}” in this workspace; create it first.")
    if value["campaign"]:
        campaign = lookup.campaigns.get(value["campaign"].lower())
        if campaign is None:
            error(
                "campaign",
                f"No campaign “{value['campaign']}” in this workspace; create it first.",
            )

    times: dict[int, datetime] = {}
    day = clock = offset = None
    if value["date"] or value["time"]:
        if not value["date"]:
            error("date", "A time without a date: add the date, or clear the time for a draft.")
        if not value["time"]:
            error("time", "A date without a time: add the time, e.g. 09:30, or clear the date.")
        if value["date"]:
            try:
                day = _parse_date(value["date"])
            except ValueError as exc:
                error("date", str(exc))
        if value["time"]:
            try:
                clock, offset = _parse_time(value["time"])
            except ValueError as exc:
                error("time", str(exc))
    zone: zoneinfo.ZoneInfo | None = None
    if value["time zone"]:
        try:
            zone = zone_named(value["time zone"])
        except ValidationError:
            error(
                "time zone",
                f"“{value['time zone']}” is not a time zone; use an IANA name such as "
                "Europe/Paris, or leave it empty for each channel's own zone.",
            )
    scheduled = bool(value["date"] or value["time"])
    if scheduled and not channels and not any(e.column == "channels" for e in errors[before:]):
        error("channels", "A scheduled post needs at least one channel; name it here.")
    if scheduled and lookup.gated:
        error(
            "date",
            "This workspace requires approval before publishing; leave date and time empty "
            "to import the post as a draft, and schedule it once approved.",
        )
    if day is not None and clock is not None and len(errors) == before:
        local = datetime.combine(day, clock)
        for channel in channels:
            chosen = zone or channel.zone
            try:
                when = to_utc(local, chosen, offset=offset)
            except WallClockError as exc:
                message = exc.message_text
                if exc.kind == "repeated":
                    # In a file, the reading is chosen by writing the time with its offset.
                    written = " or ".join(
                        f"“{c.local:%H:%M} {c.instant[-6:]}”" for c in exc.choices
                    )
                    message += f" In the file, write {written}."
                error("time", message)
                break
            except ValidationError as exc:
                for message in dict.fromkeys(m for ms in exc.message_dict.values() for m in ms):
                    error("time", message)
                break
            if when <= now:
                error(
                    "date",
                    f"{local:%Y-%m-%d %H:%M} in {chosen.key} is in the past (it is now "
                    f"{now.astimezone(chosen):%Y-%m-%d %H:%M} there); choose a later time.",
                )
                break
            times[channel.pk] = when
    if scheduled:
        for channel in channels:
            if reason := channel_problem(channel):
                error("channels", reason)
        undescribed = [
            str(a) for a in media if a.kind != MediaKind.VIDEO and not a.alt_text.strip()
        ]
        if undescribed:
            error(
                "media",
                f"Add alt text to {', '.join(undescribed)} in the media library before "
                "scheduling the post.",
            )
        for problem in lookup.forbidden(text, sorted({c.network for c in channels})):
            error("text", problem)
        if len(errors) == before:
            _network_problems(number, text, media, channels, lookup, errors)
    if len(errors) != before:
        return None
    return ParsedRow(number, text, channels, media, labels, pillar, campaign, times, zone)


def _network_problems(
    number: int,
    text: str,
    media: list[MediaAsset],
    channels: list[Channel],
    lookup: _Lookup,
    errors: list[RowError],
) -> None:
    """What each channel's network refuses in this row's content (its connector's rules)."""
    files = [MediaFile(Path(a.file.path), a.mime_type, a.alt_text) for a in media]
    content = DeliveryContent(text=text, media=files)
    for channel in channels:
        connector = lookup.connector(channel)
        if connector is None:
            continue
        for problem in connector.validate(content):  # type: ignore[attr-defined]
            name, message = problem_text(problem)
            column = "media" if name == "media" else "text"
            errors.append(RowError(number, column, f"{channel}: {message}"))


def validate_csv(workspace: Workspace, data: bytes, *, now: datetime | None = None) -> ImportPlan:
    """Read and check every row of ``data``; writes nothing.

    A problem with the file as a whole (size, encoding) is reported as a row-0 error, so the
    caller shows every error the same way.
    """
    now = now or timezone.now()
    plan = ImportPlan()
    try:
        text = decode(data)
    except ValidationError as exc:
        plan.errors = [RowError(0, "", m) for m in exc.messages]
        return plan
    raw_rows, plan.errors = _read_rows(text)
    if plan.errors and not raw_rows:
        return plan
    if not raw_rows:
        plan.errors.append(RowError(0, "", "The file has a header but no posts."))
        return plan
    lookup = _Lookup(workspace)
    for raw in raw_rows:
        parsed = _validate_row(raw, lookup, now, plan.errors)
        if parsed is not None:
            plan.rows.append(parsed)
    if plan.errors:
        plan.rows = []
    return plan


# --- Importing ----------------------------------------------------------------------------

IMPORT_REASON = "scheduled by CSV import"


def import_csv(
    workspace: Workspace,
    author: User | None,
    data: bytes,
    *,
    now: datetime | None = None,
    dry_run: bool = False,
) -> ImportPlan:
    """Validate every row, then create all the posts or none.

    Raises ``ValidationError`` (keys ``row N: column``) when any row has an error; with
    ``dry_run`` returns the plan without writing. Each post gets what ``create_post`` would
    give it: its labels, media, pillar, campaign, version 1, and a delivery per channel,
    scheduled through the state graph (with its recorded transition and queued task) when the
    row has a time, else a draft.
    """
    plan = validate_csv(workspace, data, now=now)
    if not plan.ok:
        raise ValidationError(plan.error_dict())
    if not dry_run:
        write_plan(workspace, author, plan)
    return plan


def write_plan(workspace: Workspace, author: User | None, plan: ImportPlan) -> list[Post]:
    """Write a validated plan in one transaction, with a few batched queries per table; the
    deliveries go through the publishing engine's batch form (``schedule_batch``)."""
    author_id = author.pk if author else None
    with transaction.atomic():
        # Posts through bulk_create: it returns their ids, which everything else points at.
        posts = Post.objects.bulk_create(
            [
                Post(
                    workspace=workspace,
                    author=author,
                    text=row.text,
                    pillar=row.pillar,
                    campaign=row.campaign,
                )
                for row in plan.rows
            ],
            batch_size=1000,
        )
        media_links = BulkRows(Post.media.through, ["post_id", "mediaasset_id"])
        label_links = BulkRows(Post.labels.through, ["post_id", "label_id"])
        versions = BulkRows(
            PostVersion, ["post_id", "text", "media_ids"], number=1, created_by_id=author_id
        )
        planned: list[PlannedDelivery] = []
        for post, row in zip(posts, plan.rows, strict=True):
            for asset in row.media:
                media_links.add(post_id=post.pk, mediaasset_id=asset.pk)
            for x in row.labels:
                label_links.add(post_id=post.pk, label_id=x.pk)
            versions.add(post_id=post.pk, text=post.text, media_ids=sorted(a.pk for a in row.media))
            for channel in row.channels:
                when = row.times.get(channel.pk)
                zone = (row.zone or channel.zone).key if when else ""
                planned.append(PlannedDelivery(post.pk, channel.pk, when, zone))
        for rows in (media_links, label_links, versions):
            rows.insert()
        schedule_batch(workspace, planned, author, IMPORT_REASON)
    return posts


# --- Exporting ----------------------------------------------------------------------------


def day_range(workspace: Workspace, start: date, end: date) -> tuple[datetime, datetime]:
    """The UTC instants from ``start`` 00:00 to the end of ``end``, in the workspace's zone."""
    if end < start:
        raise ValidationError({"end": ["The end date is before the start date."]})
    zone = workspace.zone
    first = datetime.combine(start, time(), tzinfo=zone).astimezone(UTC)
    last = datetime.combine(end + timedelta(days=1), time(), tzinfo=zone).astimezone(UTC)
    return first, last


def _time_text(instant: datetime, zone: zoneinfo.ZoneInfo) -> tuple[str, str]:
    """Date and time cells of ``instant`` in ``zone``; a time the clocks show twice gets
    its UTC offset, so importing it back picks the same instant."""
    local = instant.astimezone(zone)
    naive = local.replace(tzinfo=None)
    other = naive.replace(tzinfo=zone, fold=1 - local.fold)
    clock = local.strftime("%H:%M") if local.second == 0 else local.strftime("%H:%M:%S")
    if other.utcoffset() != local.utcoffset():
        clock += " " + offset_label(local.utcoffset()).removeprefix("UTC")
    return local.strftime("%Y-%m-%d"), clock


def export_rows(workspace: Workspace, start: date, end: date) -> list[list[str]]:
    """One row per post and scheduled time (deliveries of a post at different instants, e.g.
    channels in different zones, become separate rows) for deliveries scheduled from
    ``start`` to ``end`` inclusive, local days of the workspace; cancelled ones are left out.
    Times are written in the workspace's zone."""
    first, last = day_range(workspace, start, end)
    zone = workspace.zone
    deliveries = (
        Delivery.objects.filter(workspace=workspace, scheduled_at__gte=first, scheduled_at__lt=last)
        .exclude(state=DeliveryState.CANCELLED)
        .select_related("channel", "post__pillar", "post__campaign")
        .prefetch_related("post__media", "post__labels")
        .order_by("scheduled_at", "post_id", "channel__network", "channel__handle")
    )
    names: dict[str, int] = defaultdict(int)
    for name in MediaAsset.objects.filter(workspace=workspace).values_list(
        "original_name", flat=True
    ):
        names[name.lower()] += 1
    duplicated = {name for name, count in names.items() if count > 1}
    groups: dict[tuple[int, datetime], list[Delivery]] = {}
    for delivery in deliveries:
        assert delivery.scheduled_at is not None
        groups.setdefault((delivery.post_id, delivery.scheduled_at), []).append(delivery)
    rows = []
    for (_, instant), group in groups.items():
        post = group[0].post
        day, clock = _time_text(instant, zone)
        rows.append(
            [
                day,
                clock,
                zone.key,
                SEPARATOR.join(channel_key(d.channel) for d in group),
                post.text,
                SEPARATOR.join(
                    media_key(a, duplicated) for a in sorted(post.media.all(), key=lambda a: a.pk)
                ),
                SEPARATOR.join(x.name for x in sorted(post.labels.all(), key=lambda x: x.name)),
                post.pillar.name if post.pillar else "",
                post.campaign.name if post.campaign else "",
            ]
        )
    return rows


def export_csv(workspace: Workspace, start: date, end: date) -> str:
    """The CSV text (with a UTF-8 byte order mark, so spreadsheets read it as UTF-8)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    # Post text and names are the users': none may start a formula (see csv_cells).
    writer.writerows(safe_row(row) for row in export_rows(workspace, start, end))
    return BOM + buffer.getvalue()


EXAMPLE_ROWS = [
    [
        "2030-03-06",
        "09:00",
        "Europe/Paris",
        "page:crumb",
        "Fresh rye today 🍞",
        "",
        "seasonal",
        "",
        "",
    ],
    [
        "2030-03-07",
        "18:30",
        "",
        "page:crumb;bluesky:crumb.bsky.social",
        "Friday pizza night",
        "",
        "",
        "",
        "",
    ],
    ["", "", "", "page:crumb", "An idea for later: a draft, no date", "", "", "", ""],
]


def example_csv() -> str:
    """A small file to start from, shown and offered for download on the import page."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    writer.writerows(EXAMPLE_ROWS)
    return buffer.getvalue()
