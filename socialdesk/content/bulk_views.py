"""Import and export pages: upload a CSV, see every error or a preview, confirm, import;
download a date range as CSV; download an example file.

Between "check" and "import" the uploaded file waits in the data folder under a random name
tied to the person and the workspace (``_pending_*``); the import validates it again, because
the workspace may have changed meanwhile. Nothing is written until every row passes.
"""

from __future__ import annotations

import secrets
import time
from datetime import timedelta
from pathlib import Path

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from socialdesk.networks.models import Channel
from socialdesk.web.helpers import enter
from socialdesk.workspaces.models import Membership

from . import bulk

# Export at most this many days at once, so one request stays small.
MAX_EXPORT_DAYS = 366
# A checked file not imported within this time is deleted.
PENDING_TTL = timedelta(hours=6)


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self) -> None:
        super().__init__(format="%Y-%m-%d")


class ImportForm(forms.Form):
    file = forms.FileField(
        label="CSV file",
        help_text=f"UTF-8, at most {bulk.MAX_BYTES // 1024 // 1024} MB and "
        f"{bulk.MAX_ROWS:,} posts.",
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,text/csv"}),
    )


class ExportForm(forms.Form):
    start = forms.DateField(label="From", widget=DateInput())
    end = forms.DateField(label="To (included)", widget=DateInput())

    def clean(self) -> dict:
        data = super().clean() or {}
        start, end = data.get("start"), data.get("end")
        if start and end:
            if end < start:
                self.add_error("end", "The end date is before the start date.")
            elif (end - start).days >= MAX_EXPORT_DAYS:
                self.add_error("end", f"Export at most {MAX_EXPORT_DAYS} days at once.")
        return data


def can_import(membership: Membership) -> bool:
    """Importing creates posts and schedules their deliveries: it needs both permissions."""
    return membership.can("posts.create") and membership.can("deliveries.schedule")


def _import_membership(request: HttpRequest, slug: str) -> Membership:
    membership = enter(request, slug, "posts.create")
    if not can_import(membership):
        raise PermissionDenied(
            f"Your role ({membership.get_role_display()}) does not allow deliveries.schedule."
        )
    return membership


def _pending_dir() -> Path:
    folder = Path(settings.DATA_DIR) / "imports"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _pending_prefix(membership: Membership) -> str:
    return f"{membership.workspace_id}-{membership.user_id}-"


def _store_pending(membership: Membership, data: bytes) -> str:
    folder = _pending_dir()
    cutoff = time.time() - PENDING_TTL.total_seconds()
    for old in folder.glob("*.csv"):
        if old.stat().st_mtime < cutoff:
            old.unlink(missing_ok=True)
    name = _pending_prefix(membership) + secrets.token_hex(16)
    (folder / f"{name}.csv").write_bytes(data)
    return name


def _pending_path(membership: Membership, name: str) -> Path | None:
    """The stored file for ``name`` if it is this person's in this workspace."""
    prefix = _pending_prefix(membership)
    rest = name.removeprefix(prefix)
    if (
        not name.startswith(prefix)
        or len(rest) != 32
        or not all(c in "0123456789abcdef" for c in rest)
    ):
        return None
    path = _pending_dir() / f"{name}.csv"
    return path if path.is_file() else None


def _page(request: HttpRequest, membership: Membership, **context: object) -> HttpResponse:
    today = timezone.localdate(timezone=membership.workspace.zone)
    status = context.pop("status", 200)
    context.setdefault("form", ImportForm())
    context.setdefault(
        "export_form", ExportForm(initial={"start": today, "end": today + timedelta(days=30)})
    )
    channels = Channel.objects.filter(workspace=membership.workspace).order_by("network", "handle")
    context.update(
        channel_keys=[bulk.channel_key(c) for c in channels],
        can_import=can_import(membership),
        columns=COLUMN_DOCS,
        separator=bulk.SEPARATOR,
        example=bulk.example_csv(),
    )
    return render(request, "content/bulk_page.html", context, status=status)  # type: ignore[arg-type]


COLUMN_DOCS = [
    ("date", "Day to publish, year-month-day: 2030-03-06. Leave date and time empty for a draft."),
    (
        "time",
        "24-hour clock: 09:30. For a time the clocks show twice, add the offset: 02:30 +01:00.",
    ),
    ("time zone", "An IANA name such as Europe/Paris. Empty: each channel's own zone."),
    ("channels", "network:handle, several separated by “;”: page:crumb;bluesky:crumb.bsky.social."),
    ("text", "The post's text. Quote it when it contains commas or line breaks."),
    ("media", "Names (or checksums) of files already in the media library, separated by “;”."),
    ("labels", "Existing label names, separated by “;”."),
    ("pillar", "An existing pillar's name."),
    ("campaign", "An existing campaign's name."),
]


@login_required
@require_http_methods(["GET", "POST"])
def bulk_page(request: HttpRequest, slug: str) -> HttpResponse:
    """GET: the import form, the export form and the column guide. POST: check an upload,
    show every error with its row and column, or the counts and an "Import" button."""
    if request.method == "GET":
        return _page(request, enter(request, slug, "posts.view"))
    membership = _import_membership(request, slug)
    form = ImportForm(request.POST, request.FILES)
    if not form.is_valid():
        return _page(request, membership, form=form, status=400)
    upload = form.cleaned_data["file"]
    if upload.size > bulk.MAX_BYTES:
        form.add_error(
            "file", f"The file is larger than {bulk.MAX_BYTES // 1024 // 1024} MB; split it."
        )
        return _page(request, membership, form=form, status=400)
    data = upload.read()
    plan = bulk.validate_csv(membership.workspace, data)
    pending = _store_pending(membership, data) if plan.ok else ""
    return _page(
        request,
        membership,
        plan=plan,
        file_name=upload.name,
        pending=pending,
        status=200 if plan.ok else 400,
    )


@login_required
@require_POST
def bulk_import(request: HttpRequest, slug: str) -> HttpResponse:
    """Import the checked file: all rows in one transaction, or none with the errors shown."""
    membership = _import_membership(request, slug)
    path = _pending_path(membership, request.POST.get("pending", ""))
    if path is None:
        messages.error(request, "That checked file is no longer here; upload it again.")
        return redirect("bulk_page", slug=slug)
    data = path.read_bytes()
    try:
        plan = bulk.import_csv(membership.workspace, request.user, data)  # type: ignore[arg-type]
    except ValidationError:
        plan = bulk.validate_csv(membership.workspace, data)
        return _page(request, membership, plan=plan, file_name="", status=400)
    path.unlink(missing_ok=True)
    messages.success(
        request,
        f"Imported {plan.posts:,} posts: {plan.scheduled:,} scheduled, {plan.drafts:,} drafts.",
    )
    return redirect("post_list", slug=slug)


@login_required
@require_GET
def bulk_export(request: HttpRequest, slug: str) -> HttpResponse:
    membership = enter(request, slug, "posts.view")
    form = ExportForm(request.GET)
    if not form.is_valid():
        return _page(request, membership, export_form=form, status=400)
    start, end = form.cleaned_data["start"], form.cleaned_data["end"]
    response = HttpResponse(
        bulk.export_csv(membership.workspace, start, end), content_type="text/csv; charset=utf-8"
    )
    name = f"{membership.workspace.slug}-posts-{start:%Y%m%d}-{end:%Y%m%d}.csv"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


@login_required
@require_GET
def bulk_example(request: HttpRequest, slug: str) -> HttpResponse:
    enter(request, slug, "posts.view")
    response = HttpResponse(bulk.example_csv(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="socialdesk-import-example.csv"'
    return response
