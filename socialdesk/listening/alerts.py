"""Listening alerts (issue 15, item 4): volume spikes, sentiment drops and critical words.

Three checks, per topic, with the topic's ``AlertSettings`` (or their defaults):

- **Volume spike**: the mentions of the last hour against a robust baseline, the hourly
  counts of the 7 days before it (168 hours, hours without a mention counted as 0): their
  median and MAD (median absolute deviation, scaled by 1.4826 to read as a standard
  deviation). The hour is a spike when its count is above ``median + k·spread`` and at least
  ``MIN_SPIKE`` mentions, ``k`` set by the person's sensitivity (``K``). The spread is at
  least ``MIN_SPREAD`` and √median: a quiet topic's MAD is often 0, and then two mentions
  would be "infinitely" unusual. Median and MAD ignore the baseline's own rare bursts, which
  a mean and standard deviation would not.
- **Sentiment drop**: the net sentiment ((positive − negative) ÷ all) of the last 24 hours
  against the 7 days before, with at least ``MIN_SENTIMENT`` mentions in the day; a drop of
  more than ``DROP`` (by sensitivity) alerts.
- **Critical words**: each stored mention of the topic is checked at once, as it is stored
  (``on_stored``, called by ``matching.store_items``), against the topic's critical words (one
  per line: a word, a phrase, or any query of the listening language).

**One spike is one alert**: a topic's spike and sentiment alerts wait ``cooldown_hours`` after
the last of their kind, and a critical-words alert is made once per (topic, mention) (the
database constraint ``one_alert_per_mention`` backs it).

**Checked on the heartbeat**: ``on_heartbeat`` checks every active topic whose last check is
``CHECK_EVERY`` old (a compare-and-set on ``AlertSettings.checked_at``, so two workers never
check a topic twice in one period), i.e. at least hourly.

Every alert is stored (``Alert``, new until someone sees it) and told through
``notifications.notify`` (event ``listening.alert``): in-app to the members who read
listening, by email at once (per their preference), and to the workspace's webhooks
subscribed to it. Each says what crossed what ("42 mentions in the last hour; usual 3±2") and
links to the alert's page, which lists the mentions. Spikes of negative mentions, sentiment
drops and critical words propose the crisis switch; no alert ever flips it.
"""

from __future__ import annotations

import logging
import statistics
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Count, Q
from django.db.models.functions import TruncHour
from django.urls import reverse
from django.utils import timezone

from socialdesk.workspaces.models import Workspace
from socialdesk.workspaces.roles import PERMISSIONS

from .models import (
    Alert,
    AlertKind,
    AlertSettings,
    Mention,
    MentionMatch,
    Sensitivity,
    Topic,
)
from .query import Query, Text, compile_query

log = logging.getLogger(__name__)

CHECK_EVERY = timedelta(minutes=15)
WINDOW = timedelta(hours=1)
BASELINE = timedelta(days=7)
SENTIMENT_WINDOW = timedelta(hours=24)
# How many "standard deviations" (MAD-scaled) above the median a spike is.
K = {Sensitivity.LOW: 5.0, Sensitivity.MEDIUM: 3.5, Sensitivity.HIGH: 2.5}
# How far net sentiment (from −1 to +1) must fall below its 7-day level.
DROP = {Sensitivity.LOW: 0.5, Sensitivity.MEDIUM: 0.35, Sensitivity.HIGH: 0.2}
MIN_SPIKE = 5
MIN_SPREAD = 1.0
MIN_SENTIMENT = 10
MAD_SCALE = 1.4826
MAX_CRITICAL_LINES = 50
EVENT = "listening.alert"


def settings_for(topic: Topic) -> AlertSettings:
    """The topic's alert settings, made with the defaults on first use."""
    found = AlertSettings.objects.filter(topic=topic).first()
    if found is not None:
        return found
    try:
        with transaction.atomic():
            return AlertSettings.objects.create(workspace_id=topic.workspace_id, topic=topic)
    except IntegrityError:  # made meanwhile by another door
        return AlertSettings.objects.get(topic=topic)


# --- Critical words ------------------------------------------------------------------------


def critical_query(line: str) -> Query:
    """A critical-words line as a query: plain words are a phrase ("food poisoning" means the
    two words together), anything with the language's operators or quotes is read as is."""
    line = line.strip()
    plain = not any(mark in line for mark in '"()*#:') and not any(
        word in {"AND", "OR", "NOT"} or word.upper().startswith("NEAR/") for word in line.split()
    )
    return compile_query(f'"{line}"' if plain and " " in line else line)


def check_critical_words(text: str) -> list[str]:
    """The lines of ``text`` (one per line), checked; ValidationError on ``critical_words``
    naming the line that cannot be read."""
    from django.core.exceptions import ValidationError

    lines = [line.strip() for line in text.splitlines() if line.strip()]
    if len(lines) > MAX_CRITICAL_LINES:
        raise ValidationError(
            {"critical_words": [f"At most {MAX_CRITICAL_LINES} lines of critical words."]}
        )
    for number, line in enumerate(lines, start=1):
        try:
            critical_query(line)
        except ValidationError as error:
            raise ValidationError(
                {"critical_words": [f"Line {number} (“{line[:60]}”): {error.messages[0]}"]}
            ) from None
    return lines


def on_stored(workspace_id: int, mention_ids: list[int], now: datetime | None = None) -> int:
    """Check just-stored mentions against their topics' critical words; alert at once for
    each hit. Returns how many alerts were made. Never raises (storing must not fail for it)."""
    if not mention_ids:
        return 0
    try:
        return _critical(workspace_id, mention_ids, now or timezone.now())
    except Exception:
        log.exception("Critical words of workspace %s could not be checked", workspace_id)
        return 0


def _critical(workspace_id: int, mention_ids: list[int], now: datetime) -> int:
    rules = AlertSettings.objects.filter(workspace_id=workspace_id, topic__active=True).exclude(
        critical_words=""
    )
    queries: dict[int, list[tuple[str, Query]]] = {}
    for row in rules:
        compiled = []
        for line in row.critical_lines:
            try:
                compiled.append((line, critical_query(line)))
            except Exception:  # noqa: S112 - checked when saved; a stale line is skipped
                continue
        if compiled:
            queries[row.topic_id] = compiled
    if not queries:
        return 0
    made = 0
    matches = MentionMatch.objects.filter(
        mention_id__in=mention_ids, topic_id__in=list(queries)
    ).select_related("mention", "topic")
    for match in matches:
        mention = match.mention
        text = Text(mention.text, author=mention.author_handle, language=mention.language)
        words = [line for line, query in queries[match.topic_id] if query.matches(text)]
        if not words:
            continue
        quoted = ", ".join(f"“{word}”" for word in words)
        title = f"{match.topic.name}: critical words {quoted} in a mention"
        by = f" by @{mention.author_handle}" if mention.author_handle else ""
        body = f"{mention.text[:280]}\n— {mention.get_source_kind_display()}{by}"
        if _raise(
            match.topic,
            AlertKind.CRITICAL,
            title,
            body=body,
            detail={"words": words, "mention_id": mention.pk, "url": mention.url},
            window=(mention.posted_at, mention.posted_at),
            mention=mention,
            crisis=True,
            now=now,
        ):
            made += 1
    return made


# --- Volume and sentiment ------------------------------------------------------------------


@dataclass
class Baseline:
    median: float
    spread: float  # MAD × 1.4826, at least MIN_SPREAD and √median

    @property
    def usual(self) -> str:
        """ "3±2" """
        return f"{round(self.median):g}±{round(self.spread):g}"


def baseline_of(counts: list[int]) -> Baseline:
    """Median and robust spread of hourly counts (see the module docstring)."""
    median = statistics.median(counts) if counts else 0.0
    mad = statistics.median([abs(count - median) for count in counts]) if counts else 0.0
    spread = max(mad * MAD_SCALE, MIN_SPREAD, median**0.5)
    return Baseline(float(median), float(spread))


def hourly_counts(topic: Topic, start: datetime, end: datetime) -> list[int]:
    """Mentions of the topic per hour from ``start`` (an hour boundary) to ``end``, zeros
    included; read from the topic page's index (topic, posted_at)."""
    hours = int((end - start) / timedelta(hours=1))
    counts = [0] * hours
    rows = (
        MentionMatch.objects.filter(topic=topic, posted_at__gte=start, posted_at__lt=end)
        .annotate(hour=TruncHour("posted_at", tzinfo=UTC))
        .values("hour")
        .annotate(n=Count("mention_id"))
    )
    for row in rows:
        index = int((row["hour"] - start) / timedelta(hours=1))
        if 0 <= index < hours:
            counts[index] += row["n"]
    return counts


def _floor_hour(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


def check_spike(topic: Topic, rules: AlertSettings, now: datetime) -> Alert | None:
    """Alert when the last hour's mentions are a spike (see the module docstring)."""
    window_start = now - WINDOW
    rows = MentionMatch.objects.filter(topic=topic, posted_at__gte=window_start, posted_at__lt=now)
    count = rows.count()
    if count < MIN_SPIKE:
        return None
    base_end = _floor_hour(window_start)
    baseline = baseline_of(hourly_counts(topic, base_end - BASELINE, base_end))
    k = K.get(Sensitivity(rules.sensitivity), K[Sensitivity.MEDIUM])
    threshold = baseline.median + k * baseline.spread
    if count <= threshold:
        return None
    negative = rows.filter(sentiment="negative").count()
    title = (
        f"{topic.name}: {count} mentions in the last hour; usual {baseline.usual}"
        f" (alert above {threshold:.0f})"
    )
    body = f"{negative} of the {count} are negative." if negative else ""
    return _raise(
        topic,
        AlertKind.SPIKE,
        title,
        body=body,
        detail={
            "count": count,
            "median": baseline.median,
            "spread": round(baseline.spread, 2),
            "k": k,
            "threshold": round(threshold, 2),
            "negative": negative,
        },
        window=(window_start, now),
        crisis=negative * 2 > count,
        now=now,
        cooldown=timedelta(hours=rules.cooldown_hours),
    )


def net_sentiment(rows: Any) -> tuple[float, int, int]:
    """(net sentiment, mentions, negative ones) of MentionMatch rows."""
    figures = rows.aggregate(
        total=Count("mention_id"),
        positive=Count("mention_id", filter=Q(sentiment="positive")),
        negative=Count("mention_id", filter=Q(sentiment="negative")),
    )
    total = figures["total"] or 0
    if not total:
        return 0.0, 0, 0
    return (figures["positive"] - figures["negative"]) / total, total, figures["negative"]


def check_sentiment(topic: Topic, rules: AlertSettings, now: datetime) -> Alert | None:
    """Alert when the last day's net sentiment fell below the week before's."""
    day_start = now - SENTIMENT_WINDOW
    recent = MentionMatch.objects.filter(topic=topic, posted_at__gte=day_start, posted_at__lt=now)
    net, total, negative = net_sentiment(recent)
    if total < MIN_SENTIMENT:
        return None
    before = MentionMatch.objects.filter(
        topic=topic, posted_at__gte=day_start - BASELINE, posted_at__lt=day_start
    )
    usual, usual_total, _ = net_sentiment(before)
    if usual_total < MIN_SENTIMENT:
        return None
    drop = DROP.get(Sensitivity(rules.sensitivity), DROP[Sensitivity.MEDIUM])
    if usual - net <= drop:
        return None
    title = (
        f"{topic.name}: sentiment fell to {net:+.2f} over the last 24 hours "
        f"({negative} of {total} negative); usual {usual:+.2f}"
    )
    return _raise(
        topic,
        AlertKind.SENTIMENT,
        title,
        detail={
            "net": round(net, 3),
            "usual": round(usual, 3),
            "drop": drop,
            "total": total,
            "negative": negative,
        },
        window=(day_start, now),
        crisis=True,
        now=now,
        cooldown=max(timedelta(hours=rules.cooldown_hours), SENTIMENT_WINDOW),
    )


def check_topic(topic: Topic, now: datetime | None = None) -> list[Alert]:
    """Run the topic's volume and sentiment checks now (the heartbeat's step; tests call
    it directly)."""
    now = now or timezone.now()
    rules = settings_for(topic)
    made = []
    if rules.spikes:
        spike = check_spike(topic, rules, now)
        if spike is not None:
            made.append(spike)
    if rules.sentiment_drops:
        drop = check_sentiment(topic, rules, now)
        if drop is not None:
            made.append(drop)
    return made


def due_topics(now: datetime) -> list[Topic]:
    """Active topics not checked for ``CHECK_EVERY``, each claimed by a compare-and-set on
    its settings' ``checked_at``. A topic without settings gets its defaults first; in the
    steady state a beat with nothing due is two queries."""
    for topic in Topic.objects.filter(active=True, alert_settings__isnull=True):
        settings_for(topic)
    stale = Q(checked_at__isnull=True) | Q(checked_at__lte=now - CHECK_EVERY)
    due = AlertSettings.objects.filter(stale, topic__active=True).values_list("pk", "topic_id")
    claimed_ids = [
        topic_id
        for pk, topic_id in due
        if AlertSettings.objects.filter(stale, pk=pk).update(checked_at=now)
    ]
    if not claimed_ids:
        return []
    return list(Topic.objects.filter(pk__in=claimed_ids).select_related("workspace").order_by("pk"))


def on_heartbeat(now: datetime | None = None) -> int:
    """Check every due topic; returns how many alerts were made. Never raises."""
    now = now or timezone.now()
    made = 0
    try:
        for topic in due_topics(now):
            try:
                made += len(check_topic(topic, now))
            except Exception:
                log.exception("Alerts of topic %s could not be checked", topic.pk)
    except Exception:
        log.exception("Listening alerts could not be checked; retrying at the next beat")
    return made


# --- Raising -------------------------------------------------------------------------------


def alert_path(alert: Alert, slug: str) -> str:
    return reverse("listening_alert", kwargs={"slug": slug, "alert_id": alert.pk})


def crisis_path(slug: str) -> str:
    """The crisis switch's page (``publishing.crisis``), which an alert proposes."""
    return reverse("crisis", kwargs={"slug": slug})


def _raise(
    topic: Topic,
    kind: str,
    title: str,
    *,
    body: str = "",
    detail: dict[str, Any],
    window: tuple[datetime, datetime],
    now: datetime,
    mention: Mention | None = None,
    crisis: bool = False,
    cooldown: timedelta | None = None,
) -> Alert | None:
    """Store the alert and tell people, unless its kind is cooling down for the topic or
    the mention already raised it. One transaction: the alert and its notifications."""
    from socialdesk.notifications.services import notify, people_with_role

    workspace: Workspace = topic.workspace
    with transaction.atomic():
        if cooldown is not None:
            # Lock the topic's settings row so two checks cannot both pass the cool-down.
            AlertSettings.objects.select_for_update().filter(topic=topic).first()
            if Alert.objects.filter(topic=topic, kind=kind, created_at__gt=now - cooldown).exists():
                return None
        try:
            with transaction.atomic():
                alert = Alert.objects.create(
                    workspace=workspace,
                    topic=topic,
                    kind=kind,
                    title=title[:300],
                    detail=detail,
                    window_start=window[0],
                    window_end=window[1],
                    mention=mention,
                    proposes_crisis=crisis,
                    created_at=now,
                )
        except IntegrityError:  # this mention already raised it
            return None
        path = alert_path(alert, workspace.slug)
        text = body
        if crisis and crisis_path(workspace.slug):
            text = f"{body}\nIf this is a crisis, consider pausing scheduled posts.".strip()
        readers = people_with_role(workspace, *PERMISSIONS["listening.view"])
        notify(workspace, readers, EVENT, title, body=text, url=path, target=alert)
    return alert


def mentions_of(alert: Alert) -> Any:
    """The mentions an alert is about: its mention, or the topic's in its window."""
    if alert.mention_id:
        return Mention.objects.filter(pk=alert.mention_id)
    ids = MentionMatch.objects.filter(
        topic_id=alert.topic_id,
        posted_at__gte=alert.window_start,
        posted_at__lt=alert.window_end,
    ).values("mention_id")
    return Mention.objects.filter(pk__in=ids).order_by("-posted_at", "-pk")


def mark_seen(alert: Alert, user: Any, now: datetime | None = None) -> Alert:
    """Mark the alert seen (the first time only; a second call keeps the first)."""
    if alert.seen_at is None:
        now = now or timezone.now()
        Alert.objects.filter(pk=alert.pk, seen_at__isnull=True).update(
            state="seen", seen_at=now, seen_by=user
        )
        alert.refresh_from_db(fields=["state", "seen_at", "seen_by"])
    return alert


def save_settings(
    topic: Topic,
    *,
    spikes: bool,
    sensitivity: str,
    sentiment_drops: bool,
    critical_words: str,
    cooldown_hours: int,
) -> AlertSettings:
    """Change a topic's alert settings, checked first (ValidationError per field)."""
    from django.core.exceptions import ValidationError

    if sensitivity not in Sensitivity.values:
        raise ValidationError({"sensitivity": [f"Choose one of: {', '.join(Sensitivity.values)}."]})
    if not 1 <= cooldown_hours <= 168:
        raise ValidationError({"cooldown_hours": ["Give between 1 and 168 hours."]})
    lines = check_critical_words(critical_words)
    rules = settings_for(topic)
    rules.spikes, rules.sensitivity = spikes, sensitivity
    rules.sentiment_drops, rules.cooldown_hours = sentiment_drops, cooldown_hours
    rules.critical_words = "\n".join(lines)
    rules.save(
        update_fields=[
            "spikes",
            "sensitivity",
            "sentiment_drops",
            "critical_words",
            "cooldown_hours",
        ]
    )
    return rules
