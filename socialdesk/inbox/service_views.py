"""Pages of the inbox's service part: the service-level and rules settings, and the inbox
report. Thin: parse the form, authorize, call the same services as the API, render.

Every action is a plain form post (no JavaScript needed); errors re-render the page with
status 400 and the reasons next to the fields.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST

from socialdesk.ids import parse_id
from socialdesk.networks.models import Channel
from socialdesk.web.helpers import enter, render_page
from socialdesk.workspaces.access import get_in_workspace
from socialdesk.workspaces.models import Membership, User

from . import answering, faq, numbers, rules, service_levels
from .models import ConversationKind, Priority, Rule, SavedReply, Sentiment
from .service_levels import WEEKDAYS

REPORT_PERIODS = {"7": 7, "30": 30, "90": 90}


def _level_form(level: Any) -> list[dict[str, Any]]:
    rows = []
    for number, name in enumerate(WEEKDAYS):
        intervals = level.hours[number] if number < len(level.hours) else []
        rows.append(
            {
                "number": number,
                "name": name,
                "open": bool(intervals),
                "start": intervals[0][0] if intervals else "09:00",
                "end": intervals[0][1] if intervals else "17:00",
                "more": intervals[1:],
            }
        )
    return rows


def _hours_from(post: Any, level: Any) -> list[list[list[str]]]:
    """One interval per weekday from the form; further intervals (set through the API) stay."""
    hours = []
    for number in range(7):
        kept = level.hours[number][1:] if number < len(level.hours) else []
        if post.get(f"open_{number}"):
            start = post.get(f"start_{number}", "").strip()
            end = post.get(f"end_{number}", "").strip()
            hours.append([[start, end], *kept])
        else:
            hours.append([])
    return hours


def _optional_bool(value: str) -> bool | None:
    return {"yes": True, "no": False}.get(value)


def _rule_from(post: Any) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The rule form's fields as the conditions and actions ``rules.clean_rule`` checks."""
    conditions: dict[str, Any] = {}
    if post.get("keywords", "").strip():
        conditions["keywords"] = post.get("keywords")
    for name in ("kinds", "sentiments", "networks"):
        if post.getlist(name):
            conditions[name] = post.getlist(name)
    if post.get("languages", "").strip():
        conditions["languages"] = [x.strip() for x in post["languages"].split(",") if x.strip()]
    for name in ("has_link", "only_emoji", "first_message"):
        value = _optional_bool(post.get(name, ""))
        if value is not None:
            conditions[name] = value
    if post.get("post_labels", "").strip():
        conditions["post_labels"] = [x.strip() for x in post["post_labels"].split(",")]
    actions: list[dict[str, Any]] = []
    if post.get("tag", "").strip():
        actions.append({"type": "tag", "tag": post["tag"].strip()})
    assignee = parse_id(post.get("assign", ""))
    if assignee:
        actions.append({"type": "assign", "user_id": assignee})
    if post.get("priority", "") != "":
        priority = parse_id(post.get("priority", "")) if post["priority"] != "0" else 0
        actions.append({"type": "priority", "priority": priority})
    reply = parse_id(post.get("reply", ""))
    if reply:
        actions.append({"type": "reply", "saved_reply_id": reply})
    for kind in ("answer_faq", "like", "hide", "resolve"):
        if post.get(kind):
            actions.append({"type": kind})
    notify = [parse_id(x) for x in post.getlist("notify")]
    if notify:
        actions.append({"type": "notify", "user_ids": notify})
    return conditions, actions


def _settings_context(membership: Membership, level: Any) -> dict[str, Any]:
    workspace = membership.workspace
    members = User.objects.filter(memberships__workspace=workspace, is_active=True).order_by(
        "email"
    )
    return {
        "tab": "inbox",
        "level": level,
        "weekdays": _level_form(level),
        "holidays_text": "\n".join(level.holidays),
        "first_response_minutes": int(level.first_response_target / timedelta(minutes=1)),
        "resolution_hours": int(level.resolution_target / timedelta(hours=1)),
        "rules": Rule.objects.filter(workspace=workspace),
        "kinds": ConversationKind.choices,
        "sentiments": Sentiment.choices,
        "networks": sorted({c.network for c in Channel.objects.filter(workspace=workspace)}),
        "priorities": Priority.choices,
        "members": members,
        "saved_replies": SavedReply.objects.filter(workspace=workspace).prefetch_related(
            "faq_questions"
        ),
        "can_manage": membership.can("inbox_settings.manage"),
        "approval_role_choices": answering.approval_role_choices(),
        "approval_roles": answering.approval_roles_of(workspace),
    }


@require_http_methods(["GET", "POST"])
def inbox_service_settings(request: HttpRequest, slug: str) -> HttpResponse:
    """Business hours, holidays, targets and retention; the rules, with "try" and "add"."""
    membership = enter(request, slug, "inbox_settings.view")
    workspace = membership.workspace
    level = service_levels.level_of(workspace)
    context = _settings_context(membership, level)
    if request.method == "GET":
        return render_page(request, "inbox/service_settings.html", context)
    membership = enter(request, slug, "inbox_settings.manage")
    section = request.POST.get("section", "")
    post = request.POST
    try:
        if section == "level":
            retention = post.get("retention_days", "").strip()
            service_levels.save_level(
                workspace,
                hours=_hours_from(post, level),
                holidays=[d for d in post.get("holidays", "").split() if d],
                first_response_minutes=post.get("first_response_minutes", "").strip(),
                resolution_hours=post.get("resolution_hours", "").strip(),
                retention_days=retention or None,
            )
            messages.success(request, "Service level saved.")
            return redirect("inbox_service_settings", slug=slug)
        if section == "approval":
            answering.set_approval_roles(workspace, membership.user, post.getlist("approval_roles"))
            messages.success(request, "Reply approval saved.")
            return redirect("inbox_service_settings", slug=slug)
        if section == "faq":
            reply = get_in_workspace(SavedReply, workspace, pk=parse_id(post.get("reply_id")))
            faq.set_questions(
                reply,
                post.get("questions", "").splitlines(),
                is_answer=bool(post.get("is_answer")),
            )
            messages.success(request, f"FAQ questions of “{reply.name}” saved.")
            return redirect("inbox_service_settings", slug=slug)
        if section == "rule":
            conditions, actions = _rule_from(post)
            if post.get("do") == "try":
                trial = rules.try_rule(workspace, conditions)
                context.update(trial=trial, rule_post=post)
                return render_page(request, "inbox/service_settings.html", context)
            rules.save_rule(
                workspace,
                name=post.get("name", ""),
                conditions=conditions,
                actions=actions,
                stop=bool(post.get("stop")),
                by=request.user if isinstance(request.user, User) else None,
            )
            messages.success(request, "Rule added.")
            return redirect("inbox_service_settings", slug=slug)
    except ValidationError as error:
        context.update(errors=error.message_dict, section=section, rule_post=post)
        if section == "level":
            context["level_post"] = post
        return render_page(request, "inbox/service_settings.html", context, status=400)
    return redirect("inbox_service_settings", slug=slug)


@require_POST
def inbox_rule_delete(request: HttpRequest, slug: str, rule_id: int) -> HttpResponse:
    membership = enter(request, slug, "inbox_settings.manage")
    rule = get_in_workspace(Rule, membership.workspace, pk=rule_id)
    rules.delete_rule(rule)
    messages.success(request, f"Rule “{rule.name}” deleted.")
    return redirect("inbox_service_settings", slug=slug)


@require_POST
def inbox_rule_toggle(request: HttpRequest, slug: str, rule_id: int) -> HttpResponse:
    membership = enter(request, slug, "inbox_settings.manage")
    rule = get_in_workspace(Rule, membership.workspace, pk=rule_id)
    rule.enabled = not rule.enabled
    rule.save(update_fields=["enabled"])
    rules.forget(membership.workspace.pk)
    messages.success(request, f"Rule “{rule.name}” {'on' if rule.enabled else 'off'}.")
    return redirect("inbox_service_settings", slug=slug)


def _report(request: HttpRequest, slug: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """The inbox report over the last 7, 30 or 90 days (local days), optionally one channel,
    and the choices the page shows. An unknown period or channel falls back to the default."""
    membership = enter(request, slug, "inbox_reports.view")
    workspace = membership.workspace
    period = request.GET.get("period", "30")
    days = REPORT_PERIODS.get(period, 30)
    channels = Channel.objects.filter(workspace=workspace)
    channel_id = parse_id(request.GET.get("channel", ""))
    if channel_id and not channels.filter(pk=channel_id).exists():
        channel_id = None
    today = timezone.localdate(timezone.now(), workspace.zone)
    end = datetime.combine(today + timedelta(days=1), time(), tzinfo=workspace.zone)
    start = datetime.combine(today - timedelta(days=days - 1), time(), tzinfo=workspace.zone)
    report = numbers.inbox_report(workspace, start, end, channel_id=channel_id)
    choices = {
        "period": str(days),
        "periods": list(REPORT_PERIODS),
        "channels": channels,
        "channel_id": channel_id,
        "start_day": start.date(),
        "end_day": today,
    }
    return report, choices


def inbox_report_page(request: HttpRequest, slug: str) -> HttpResponse:
    """The report's tables, and a chart beside the per-day ones (``inbox/report.js``)."""
    report, choices = _report(request, slug)
    query = {"period": choices["period"]}
    if choices["channel_id"]:
        query["channel"] = str(choices["channel_id"])
    context = {
        "report": report,
        **choices,
        "rows": _report_rows(report),
        "target_text": numbers.duration(report["targets"]["first_response_s"]),
        "days": _day_rows(report),
        "charts": _chart_data(report),
        "csv_query": urlencode(query),
    }
    return render_page(request, "inbox/report.html", context)


def inbox_report_csv(request: HttpRequest, slug: str) -> HttpResponse:
    """The same report as a CSV download (``numbers.report_csv``)."""
    report, choices = _report(request, slug)
    response = HttpResponse(numbers.report_csv(report), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = (
        f'attachment; filename="inbox-report-{slug}-{choices["end_day"]:%Y-%m-%d}-'
        f'{choices["period"]}d.csv"'
    )
    return response


def _day_rows(report: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        {
            **day,
            "total": sum(day["inbound"].values()),
            "frt": numbers.duration(day["first_response_median_s"]),
        }
        for day in report["per_day"]
    ]


def _chart_data(report: dict[str, Any]) -> dict[str, Any]:
    """What ``inbox/report.js`` draws, as plain lists (``json_script`` on the page): per day,
    inbound by sentiment and the median first response in business minutes (null: none)."""
    days = report["per_day"]
    return {
        "labels": [f"{day['day'].day} {day['day']:%b}" for day in days],
        "sentiments": [
            {
                "key": value,
                "label": label,
                "counts": [day["inbound"][value] for day in days],
            }
            for value, label in Sentiment.choices
        ],
        "first_response_minutes": [
            None
            if day["first_response_median_s"] is None
            else round(day["first_response_median_s"] / 60, 1)
            for day in days
        ],
        "target_minutes": round(report["targets"]["first_response_s"] / 60, 1),
    }


def _report_rows(report: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    def shaped(item: dict[str, Any]) -> dict[str, Any]:
        rate = item["sla_hit_rate"]
        return {
            **item,
            "frt_median": numbers.duration(item["first_response_median_s"]),
            "frt_p90": numbers.duration(item["first_response_p90_s"]),
            "res_median": numbers.duration(item["resolution_median_s"]),
            "res_p90": numbers.duration(item["resolution_p90_s"]),
            "sla": "—" if rate is None else f"{rate * 100:.0f} %",
        }

    return {
        "totals": [shaped({"name": "All conversations", **report["totals"]})],
        "channels": [shaped(row) for row in report["per_channel"]],
        "people": [shaped(row) for row in report["per_person"]],
    }
