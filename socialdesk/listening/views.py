"""The Listening pages: the topics, a topic's settings and queries (with "try" before
saving), the sources, and the topic page with its charts, tables and CSV exports.

Thin: read the form, authorize (``listening.view`` to read, ``listening.manage`` to
change), call the services the API calls, render. Every action is a plain form post; a
refusal re-renders the page with status 400 and the reason next to the field.
"""

from __future__ import annotations

import csv
import io
from datetime import date, timedelta
from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Sum
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils import timezone
from django.utils.html import format_html_join
from django.views.decorators.http import require_http_methods, require_POST

from socialdesk.csv_cells import safe_row
from socialdesk.ids import parse_id
from socialdesk.networks.models import Channel, Network
from socialdesk.web.helpers import enter, render_page
from socialdesk.workspaces.access import get_in_workspace

from . import matching, rollups, services, topic_page
from .forms import NewTopicForm, QueryForm, SourceForm, StreamFilters, TopicForm
from .models import Source, Topic, TopicDay, TopicKind, TopicQuery
from .query import QueryError, compile_query

# A mention's source, shortly (``SourceKind``'s labels describe the sources themselves).
SOURCE_NAMES = {"bluesky": "Bluesky", "mastodon": "Mastodon", "feed": "Feed", "inbox": "Inbox"}
EXPORTS = ("mentions", "volume", "share", "words", "hashtags", "authors")


def _errors_into(form: Any, error: ValidationError, default: str) -> None:
    """A service's refusal onto the form's fields (unknown fields onto ``default``)."""
    detail = error.message_dict if hasattr(error, "error_dict") else {default: error.messages}
    for field, problems in detail.items():
        target = field if field in form.fields else default
        if field == "channel_id":
            target = "channel" if "channel" in form.fields else default
        for problem in problems:
            form.add_error(target, problem)


def _trial(workspace_id: int, text: str) -> dict[str, Any]:
    """What "try" shows: the matches among the last items, or where the query goes wrong."""
    try:
        compile_query(text)
    except QueryError as error:
        position = max(0, min(error.position, len(text)))
        return {
            "ok": False,
            "message": error.messages[0],
            "before": text[:position],
            "at": text[position : position + 1] or " ",
            "after": text[position + 1 :],
        }
    except ValidationError as error:
        return {"ok": False, "message": error.messages[0], "before": text, "at": "", "after": ""}
    result = matching.try_query(workspace_id, text)
    return {"ok": True, "result": result}


# -- the topics -------------------------------------------------------------------------------


def topic_list(request: HttpRequest, slug: str) -> HttpResponse:
    membership = enter(request, slug, "listening.view")
    workspace = membership.workspace
    topics = list(Topic.objects.filter(workspace=workspace).prefetch_related("queries"))
    today = timezone.now().date()
    week = dict(
        TopicDay.objects.filter(topic__workspace=workspace, day__gt=today - timedelta(days=7))
        .values("topic_id")
        .annotate(n=Sum("mentions"))
        .values_list("topic_id", "n")
    )
    groups = []
    for kind, label in TopicKind.choices:
        rows = [
            {"topic": topic, "week": week.get(topic.pk, 0)}
            for topic in topics
            if topic.kind == kind
        ]
        groups.append({"kind": kind, "label": label, "rows": rows})
    context = {
        "groups": groups,
        "has_topics": bool(topics),
        "can_manage": membership.can("listening.manage"),
        "sources": Source.objects.filter(workspace=workspace).count(),
    }
    return render_page(request, "listening/topics.html", context)


@require_http_methods(["GET", "POST"])
def topic_create(request: HttpRequest, slug: str) -> HttpResponse:
    membership = enter(request, slug, "listening.manage")
    workspace = membership.workspace
    form = NewTopicForm(request.POST or None)
    trial = None
    status = 200
    if request.method == "POST" and form.is_valid():
        text = form.cleaned_data["text"].strip()
        if request.POST.get("action") == "try":
            if text:
                trial = _trial(workspace.pk, text)
            else:
                form.add_error("text", "Write a query to try.")
                status = 400
        else:
            try:
                with transaction.atomic():  # the topic and its first query, or neither
                    topic = services.save_topic(
                        workspace,
                        name=form.cleaned_data["name"],
                        kind=form.cleaned_data["kind"],
                        active=form.cleaned_data["active"],
                    )
                    if text:
                        services.add_query(topic, text, request.user)  # type: ignore[arg-type]
            except ValidationError as error:
                _errors_into(form, error, "name")
                if text and form.has_error("text"):
                    trial = _trial(workspace.pk, text)
            else:
                messages.success(request, f"Listening for “{topic.name}”.")
                return redirect("listening_topic_edit", slug=slug, topic_id=topic.pk)
    if request.method == "POST" and form.errors:
        status = 400
    return render_page(
        request, "listening/topic_new.html", {"form": form, "trial": trial}, status=status
    )


@require_http_methods(["GET", "POST"])
def topic_edit(request: HttpRequest, slug: str, topic_id: int) -> HttpResponse:
    """The topic's name, kind and state, its queries (change, remove, add — each can be
    tried first), and its removal."""
    membership = enter(request, slug, "listening.manage")
    workspace = membership.workspace
    topic = get_in_workspace(Topic, workspace, pk=topic_id)
    action = request.POST.get("action", "") if request.method == "POST" else ""
    topic_form = TopicForm(
        request.POST if action == "topic" else None,
        initial={"name": topic.name, "kind": topic.kind, "active": topic.active},
    )
    query_form = QueryForm(request.POST if action in ("add", "try") else None)
    trial = None
    changing: dict[int, dict[str, Any]] = {}
    if action == "topic":
        if topic_form.is_valid():
            try:
                services.save_topic(workspace, topic=topic, **topic_form.cleaned_data)
            except ValidationError as error:
                _errors_into(topic_form, error, "name")
            else:
                messages.success(request, "Topic saved.")
                return redirect("listening_topic_edit", slug=slug, topic_id=topic.pk)
    elif action == "delete":
        name = topic.name
        topic.delete()
        messages.success(
            request, f"No longer listening for “{name}”; its mentions of other topics stay."
        )
        return redirect("listening_topics", slug=slug)
    elif action in ("add", "try"):
        text = query_form.cleaned_data["text"].strip() if query_form.is_valid() else ""
        if not text:
            pass  # the form says what is missing
        elif action == "try":
            trial = _trial(workspace.pk, text)
        else:
            try:
                services.add_query(topic, text, request.user)  # type: ignore[arg-type]
            except ValidationError as error:
                _errors_into(query_form, error, "text")
                trial = _trial(workspace.pk, text)
            else:
                messages.success(request, "Query added.")
                return redirect("listening_topic_edit", slug=slug, topic_id=topic.pk)
    elif action in ("change", "try_change", "remove"):
        query = TopicQuery.objects.filter(
            topic=topic, pk=parse_id(request.POST.get("query_id", "")) or 0
        ).first()
        if query is None:
            raise Http404("No such query.")
        if action == "remove":
            query.delete()
            messages.success(request, "Query removed.")
            return redirect("listening_topic_edit", slug=slug, topic_id=topic.pk)
        form = QueryForm(request.POST, prefix=f"q{query.pk}")
        entry: dict[str, Any] = {"form": form}
        if form.is_valid():
            text = form.cleaned_data["text"].strip()
            if action == "try_change":
                entry["trial"] = _trial(workspace.pk, text)
            else:
                try:
                    services.change_query(query, text)
                except ValidationError as error:
                    _errors_into(form, error, "text")
                    entry["trial"] = _trial(workspace.pk, text)
                else:
                    messages.success(request, "Query saved.")
                    return redirect("listening_topic_edit", slug=slug, topic_id=topic.pk)
        changing[query.pk] = entry
    elif action:
        raise Http404("No such action.")
    queries = []
    for number, query in enumerate(topic.queries.all(), start=1):
        entry = changing.get(query.pk) or {
            "form": QueryForm(initial={"text": query.text}, prefix=f"q{query.pk}")
        }
        entry["form"].fields["text"].label = f"Query {number}"
        queries.append({"query": query, **entry})
    query_form.fields["text"].label = "New query"
    failed = any(
        form.errors for form in [topic_form, query_form, *(e["form"] for e in changing.values())]
    )
    context = {
        "topic": topic,
        "topic_form": topic_form,
        "query_form": query_form,
        "queries": queries,
        "trial": trial,
    }
    return render_page(request, "listening/topic_edit.html", context, status=400 if failed else 200)


# -- the sources ------------------------------------------------------------------------------


def _channels(workspace: Any) -> list[tuple[int, str]]:
    found = Channel.objects.filter(
        workspace=workspace, network__in=[Network.BLUESKY, Network.MASTODON]
    ).order_by("network", "pk")
    return [(channel.pk, f"{channel} ({channel.get_network_display()})") for channel in found]


@require_http_methods(["GET", "POST"])
def sources(request: HttpRequest, slug: str) -> HttpResponse:
    membership = enter(request, slug, "listening.view")
    workspace = membership.workspace
    can_manage = membership.can("listening.manage")
    form = SourceForm(request.POST or None, channels=_channels(workspace))
    status = 200
    if request.method == "POST":
        membership = enter(request, slug, "listening.manage")
        action = request.POST.get("action", "add")
        if action in ("remove", "pause", "resume"):
            source = get_in_workspace(
                Source, workspace, pk=parse_id(request.POST.get("source_id", "")) or 0
            )
            if action == "remove":
                source.delete()
                messages.success(request, "Source removed; the mentions it found stay.")
            else:
                source.active = action == "resume"
                source.save(update_fields=["active"])
                messages.success(request, "Source resumed." if source.active else "Source paused.")
            return redirect("listening_sources", slug=slug)
        if form.is_valid():
            try:
                services.add_source(
                    workspace,
                    kind=form.cleaned_data["kind"],
                    url=form.cleaned_data["url"],
                    channel_id=form.cleaned_data["channel"],
                )
            except ValidationError as error:
                _errors_into(form, error, "kind")
            else:
                messages.success(request, "Source added; it is read within five minutes.")
                return redirect("listening_sources", slug=slug)
        status = 400
    context = {
        "form": form,
        "sources": Source.objects.filter(workspace=workspace).select_related("channel"),
        "can_manage": can_manage,
    }
    return render_page(request, "listening/sources.html", context, status=status)


# -- the topic page ---------------------------------------------------------------------------


def _filters(request: HttpRequest) -> tuple[StreamFilters, topic_page.Filters, dict[str, str]]:
    """The page's filters from the query string; a bad value is dropped (and said) rather
    than refused, so the page always shows."""
    sent = request.GET.copy()
    if not sent.get("period"):
        sent["period"] = "30"  # the default period, shown as chosen
    form = StreamFilters(sent)
    form.is_valid()
    data = {name: value for name, value in form.cleaned_data.items() if name not in form.errors}
    today = timezone.now().date()
    days = int(data.get("period") or 30)
    end: date = data.get("end") or today
    start: date = data.get("start") or end - timedelta(days=days - 1)
    if start > end or (end - start).days > 366:
        start, end = today - timedelta(days=29), today
    filters = topic_page.Filters(
        start=start,
        end=end,
        source=data.get("source") or "",
        sentiment=data.get("sentiment") or "",
        language=data.get("language") or "",
        text=(data.get("text") or "").strip(),
    )
    kept = {
        name: str(request.GET.get(name, ""))
        for name in ("period", "start", "end", "source", "sentiment", "language", "text")
        if name not in form.errors and request.GET.get(name)
    }
    return form, filters, kept


def _topic(request: HttpRequest, slug: str, topic_id: int) -> tuple[Any, Topic]:
    membership = enter(request, slug, "listening.view")
    return membership, get_in_workspace(Topic, membership.workspace, pk=topic_id)


def topic_detail(request: HttpRequest, slug: str, topic_id: int) -> HttpResponse:
    membership, topic = _topic(request, slug, topic_id)
    form, filters, kept = _filters(request)
    before = topic_page.parse_mark(request.GET.get("before", ""))
    page, next_mark = topic_page.stream(topic, filters, before)
    for mention in page:
        mention.source_name = SOURCE_NAMES.get(mention.source_kind, mention.source_kind)  # type: ignore[attr-defined]
    days = rollups.per_day(topic.pk, filters.start, filters.end)
    for day in days:  # formatted once here: the template's date filter is slow per row
        day["iso"] = day["day"].isoformat()
        day["label"] = f"{day['day']:%a} {day['day'].day} {day['day']:%b}"
    days.reverse()  # the tables read newest first; the charts oldest first
    # The day tables' rows are made here in one call each: up to 366 rows of template loop
    # were the slowest part of the page.
    volume_rows = format_html_join(
        "",
        '<tr><th scope="row"><time datetime="{}">{}</time></th><td>{}</td><td>{}</td>'
        "<td>{}</td><td>{}</td></tr>",
        (
            (d["iso"], d["label"], d["positive"], d["neutral"], d["negative"], d["total"])
            for d in days
        ),
    )
    sentiment_rows = format_html_join(
        "",
        '<tr><th scope="row"><time datetime="{}">{}</time></th><td>{}</td><td>{}</td></tr>',
        (
            (
                d["iso"],
                d["label"],
                "—" if d["net"] is None else d["net"],
                "—" if d["negative_share"] is None else d["negative_share"],
            )
            for d in days
        ),
    )
    share = rollups.share_of_voice(topic, filters.start, filters.end)
    terms = topic_page.terms(topic, filters)
    total = sum(day["total"] for day in days)
    charts = {
        "labels": [f"{day['day'].day} {day['day']:%b}" for day in reversed(days)],
        "sentiments": [
            {"key": key, "label": key.capitalize(), "counts": [day[key] for day in reversed(days)]}
            for key in rollups.SENTIMENTS
        ],
        "net": [day["net"] for day in reversed(days)],
        "negative_share": [day["negative_share"] for day in reversed(days)],
        "share": {
            "labels": [row["name"] for row in share],
            "mentions": [row["mention_share"] for row in share],
            "engagement": [row["engagement_share"] for row in share],
        },
        "words": terms["words"],
        "hashtags": terms["hashtags"],
        "authors": terms["authors"],
    }
    context = {
        "topic": topic,
        "form": form,
        "filters": filters,
        "query": urlencode(kept),
        "page": page,
        "next_mark": next_mark,
        "is_older_page": before is not None,
        "volume_rows": volume_rows,
        "sentiment_rows": sentiment_rows,
        "total": total,
        "share": share,
        "engagement_known": any(row["engagement_known"] for row in share),
        "terms": terms,
        "charts": charts,
        "text_window": topic_page.TEXT_WINDOW,
        "can_manage": membership.can("listening.manage"),
        # Each mention's actions (answer, content idea, lead: listening.actions).
        "can_act": membership.can("listening.act"),
        "here": request.get_full_path(),
        "exports": EXPORTS,
    }
    return render_page(request, "listening/topic.html", context, partial="listening/_stream.html")


def topic_csv(request: HttpRequest, slug: str, topic_id: int, what: str) -> HttpResponse:
    """One of the topic page's tables as CSV, with the page's filters."""
    _membership, topic = _topic(request, slug, topic_id)
    if what not in EXPORTS:
        raise Http404("No such export.")
    _form, filters, _kept = _filters(request)
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    if what == "mentions":
        writer.writerow(
            [
                "posted_at",
                "source",
                "author",
                "author_name",
                "sentiment",
                "language",
                "reach",
                "engagement",
                "url",
                "text",
            ]
        )
        mentions, _mark = topic_page.stream(topic, filters, limit=topic_page.EXPORT_LIMIT)
        for mention in mentions:
            writer.writerow(
                safe_row(
                    [
                        mention.posted_at.isoformat(),
                        mention.source_kind,
                        mention.author_handle,
                        mention.author_name,
                        mention.sentiment,
                        mention.language,
                        "" if mention.reach is None else str(mention.reach),
                        "" if mention.engagement is None else str(mention.engagement),
                        mention.url,
                        mention.text,
                    ]
                )
            )
    elif what == "volume":
        writer.writerow(["day", "mentions", "positive", "neutral", "negative", "net_sentiment"])
        for day in rollups.per_day(topic.pk, filters.start, filters.end):
            writer.writerow(
                [
                    day["day"].isoformat(),
                    day["total"],
                    day["positive"],
                    day["neutral"],
                    day["negative"],
                    "" if day["net"] is None else day["net"],
                ]
            )
    elif what == "share":
        writer.writerow(
            ["topic", "kind", "mentions", "mention_share_pct", "engagement", "engagement_share_pct"]
        )
        for row in rollups.share_of_voice(topic, filters.start, filters.end):
            writer.writerow(
                safe_row(
                    [
                        row["name"],
                        row["kind"],
                        str(row["mentions"]),
                        str(row["mention_share"]),
                        str(row["engagement"]) if row["engagement_known"] else "",
                        "" if row["engagement_share"] is None else str(row["engagement_share"]),
                    ]
                )
            )
    else:
        writer.writerow(["term" if what != "authors" else "author", "mentions"])
        for row in topic_page.terms(topic, filters)[what]:
            writer.writerow(safe_row([row["term"], str(row["count"])]))
    response = HttpResponse(buffer.getvalue(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = (
        f'attachment; filename="listening-{slug}-topic{topic.pk}-{what}-'
        f'{filters.start:%Y-%m-%d}-{filters.end:%Y-%m-%d}.csv"'
    )
    return response


@require_POST
def topic_toggle(request: HttpRequest, slug: str, topic_id: int) -> HttpResponse:
    """Pause or resume listening for a topic from the topic list."""
    membership = enter(request, slug, "listening.manage")
    topic = get_in_workspace(Topic, membership.workspace, pk=topic_id)
    topic.active = not topic.active
    topic.save(update_fields=["active"])
    return redirect("listening_topics", slug=slug)
