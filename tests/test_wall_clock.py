"""Every door turns a wall-clock time into the instant a person meant, in every IANA zone
(issue 9, item 2: one wall-clock module used by every door).

For each zone of ``zoneinfo.available_timezones()`` and each change of its UTC offset in the
two years from ``START`` (found by stepping a day at a time, then halving down to the
second), the tests check ``publishing.wallclock`` just before, inside and after the gap
(clocks forward) or the repeated time (clocks back), and that a daily 09:00 queue slot stays
at 09:00 local across the change. Then the editor and the calendar's move endpoint are driven
through Django's test client for ``DOOR_ZONES``, with the cases ``door_cases`` gives; the API
and CSV import doors reuse the same cases.

The expected instants are computed here from the offsets on either side of each change
(``wall clock − offset``), not by ``wallclock`` itself, so the module is checked against
arithmetic and not against itself.
"""

from __future__ import annotations

import zoneinfo
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from functools import cache

import pytest
from django.urls import reverse

from socialdesk.content.services import PostContent, create_post
from socialdesk.networks.models import Channel, Network
from socialdesk.publishing import queues, services, wallclock
from socialdesk.publishing.models import Delivery, Slot

START = datetime(2030, 1, 1, tzinfo=UTC)  # fixed, and later than any test run will be
END = START + timedelta(days=731)  # two years
MINUTE = timedelta(minutes=1)
# Zones whose doors are driven through the test client: ordinary summer time on both sides
# of the equator, a negative summer time (Dublin), a two-hour jump (Troll), changes at
# midnight (Havana, Santiago), Ramadan changes (Casablanca), Lord Howe's 30 minutes and
# Chatham's 02:45.
DOOR_ZONES = [
    "Europe/Berlin",
    "America/New_York",
    "Australia/Lord_Howe",
    "Pacific/Chatham",
    "Europe/Dublin",
    "Antarctica/Troll",
    "America/Havana",
    "America/Santiago",
    "Africa/Casablanca",
    "Australia/Sydney",
]


@dataclass(frozen=True)
class Transition:
    """One change of a zone's UTC offset: ``at`` is the first UTC second of the new one."""

    zone: zoneinfo.ZoneInfo
    at: datetime
    before: timedelta
    after: timedelta

    @property
    def forward(self) -> bool:
        """Clocks jump forward (a gap); otherwise they go back (a repeated time)."""
        return self.after > self.before

    @property
    def wall_from(self) -> datetime:
        """The wall clock the change happens at, read with the old offset (naive)."""
        return (self.at + self.before).replace(tzinfo=None)

    @property
    def wall_to(self) -> datetime:
        """The wall clock right after the change (naive)."""
        return (self.at + self.after).replace(tzinfo=None)

    def instant(self, wall: datetime, offset: timedelta) -> datetime:
        """``wall`` read with ``offset``, as UTC."""
        return (wall - offset).replace(tzinfo=UTC)

    def __str__(self) -> str:
        change = "forward" if self.forward else "back"
        return f"{self.zone.key} {change} at {self.wall_from:%Y-%m-%d %H:%M}"


def _offset(zone: zoneinfo.ZoneInfo, at: datetime) -> timedelta:
    return at.astimezone(zone).utcoffset() or timedelta()


@cache
def transitions(name: str) -> tuple[Transition, ...]:
    """The offset changes of zone ``name`` in [START, END), in order.

    Stepping a day at a time finds every change unless two fall within one day, which no
    zone's rules do in these years (the closest, Casablanca's around Ramadan, are weeks
    apart); each is then halved down to the second.
    """
    zone = zoneinfo.ZoneInfo(name)
    found = []
    low, previous = START, _offset(zone, START)
    while low < END:
        high = low + timedelta(days=1)
        offset = _offset(zone, high)
        if offset != previous:
            lo, hi = int(low.timestamp()), int(high.timestamp())  # whole seconds
            while hi - lo > 1:
                middle = (lo + hi) // 2
                if _offset(zone, datetime.fromtimestamp(middle, UTC)) == offset:
                    hi = middle
                else:
                    lo = middle
            found.append(Transition(zone, datetime.fromtimestamp(hi, UTC), previous, offset))
            previous = offset
        low = high
    return tuple(found)


@cache
def every_transition() -> tuple[Transition, ...]:
    return tuple(t for name in sorted(zoneinfo.available_timezones()) for t in transitions(name))


def inside(change: Transition) -> list[datetime]:
    """Wall-clock minutes inside the gap or the repeated time: first, middle and last."""
    start = min(change.wall_from, change.wall_to)
    length = abs(change.after - change.before)
    middle = start + timedelta(minutes=length // MINUTE // 2)
    return sorted({start, middle, start + length - MINUTE})


def refusal(local: datetime, zone: zoneinfo.ZoneInfo, **how) -> wallclock.WallClockError | None:
    try:
        wallclock.to_utc(local, zone, **how)
    except wallclock.WallClockError as refused:
        return refused
    return None


# --- (a) to_utc around every change of every zone ------------------------------------------


def test_every_zone_has_its_changes_found():
    """A guard on the scan: the zones with summer time have two changes a year, and the two
    odd ones the tests name are there."""
    assert len(zoneinfo.available_timezones()) > 400
    assert len(transitions("Europe/Berlin")) == 4
    assert len(transitions("Asia/Tokyo")) == 0
    assert len(every_transition()) > 500


def check_gap(change: Transition) -> list[str]:
    zone, problems = change.zone, []
    last = change.wall_from - MINUTE
    if wallclock.to_utc(last, zone) != change.at - MINUTE:
        problems.append(f"{change}: the minute before the jump is not {change.at - MINUTE}")
    if wallclock.to_utc(change.wall_to, zone) != change.at:
        problems.append(f"{change}: the first minute after the jump is not {change.at}")
    for wall in inside(change):
        refused = refusal(wall, zone)
        if refused is None or refused.kind != "gap":
            problems.append(f"{change}: {wall:%H:%M} does not exist but was not refused as such")
            continue
        expected = [(last, change.at - MINUTE), (change.wall_to, change.at)]
        if [(c.local, c.utc) for c in refused.choices] != expected:
            problems.append(f"{change}: {wall:%H:%M} offers {refused.choices}")
        for choice in refused.choices:
            shown = choice.utc.astimezone(zone).replace(tzinfo=None)
            if wallclock.to_utc(choice.local, zone) != choice.utc or shown != choice.local:
                problems.append(f"{change}: choice {choice.label} does not round-trip")
        jump = f"jump from {change.wall_from:%H:%M} to {change.wall_to:%H:%M}"
        if jump not in refused.message_text:
            problems.append(f"{change}: the message does not say {jump!r}")
    return problems


def check_repeat(change: Transition) -> list[str]:
    zone, problems = change.zone, []
    earlier_wall = change.wall_to - MINUTE  # the last minute shown once, before
    if wallclock.to_utc(earlier_wall, zone) != change.instant(earlier_wall, change.before):
        problems.append(f"{change}: {earlier_wall:%H:%M}, shown once, moved")
    later_wall = change.wall_from  # the first minute shown once, after
    if wallclock.to_utc(later_wall, zone) != change.instant(later_wall, change.after):
        problems.append(f"{change}: {later_wall:%H:%M}, shown once, moved")
    for wall in inside(change):
        earlier = change.instant(wall, change.before)
        later = change.instant(wall, change.after)
        refused = refusal(wall, zone)
        if refused is None or refused.kind != "repeated":
            problems.append(f"{change}: {wall:%H:%M} happens twice but was not refused as such")
            continue
        if [c.utc for c in refused.choices] != [earlier, later] or earlier == later:
            problems.append(f"{change}: {wall:%H:%M} offers {refused.choices}")
        if [c.fold for c in refused.choices] != [0, 1]:
            problems.append(f"{change}: the choices' folds are not 0 and 1")
        if wallclock.to_utc(wall, zone, fold=0) != earlier:
            problems.append(f"{change}: fold=0 of {wall:%H:%M} is not the earlier reading")
        if wallclock.to_utc(wall, zone, fold=1) != later:
            problems.append(f"{change}: fold=1 of {wall:%H:%M} is not the later reading")
        if wallclock.to_utc(wall, zone, offset=change.after) != later:
            problems.append(f"{change}: the offset after the change does not pick the later")
    return problems


def test_to_utc_gives_the_instant_meant_around_every_change_of_every_zone():
    problems = []
    for change in every_transition():
        problems += check_gap(change) if change.forward else check_repeat(change)
    assert problems == []


def test_lord_howe_moves_its_clocks_by_thirty_minutes():
    forward, back = sorted(transitions("Australia/Lord_Howe")[:2], key=lambda t: not t.forward)
    assert (forward.before, forward.after) == (timedelta(hours=10, minutes=30), timedelta(hours=11))
    assert (forward.wall_from.time(), forward.wall_to.time()) == (time(2, 0), time(2, 30))
    refused = refusal(forward.wall_from.replace(minute=15), forward.zone)
    assert refused is not None
    assert refused.message_text.endswith(
        "the clocks jump from 02:00 to 02:30. Choose 01:59 (UTC+10:30) or 02:30 (UTC+11)."
    )
    assert (back.wall_from.time(), back.wall_to.time()) == (time(2, 0), time(1, 30))
    twice = refusal(back.wall_to.replace(minute=45), back.zone)
    assert twice is not None and [c.label for c in twice.choices] == [
        "01:45 +11 (UTC+11)",
        "01:45 +1030 (UTC+10:30)",
    ]


def test_chatham_jumps_from_quarter_to_three_at_twelve_forty_five():
    forward, back = sorted(transitions("Pacific/Chatham")[:2], key=lambda t: not t.forward)
    assert (forward.before, forward.after) == (
        timedelta(hours=12, minutes=45),
        timedelta(hours=13, minutes=45),
    )
    assert (forward.wall_from.time(), forward.wall_to.time()) == (time(2, 45), time(3, 45))
    refused = refusal(forward.wall_from.replace(hour=3, minute=0), forward.zone)
    assert refused is not None
    assert refused.message_text.endswith(
        "the clocks jump from 02:45 to 03:45. Choose 02:44 (UTC+12:45) or 03:45 (UTC+13:45)."
    )
    assert (back.wall_from.time(), back.wall_to.time()) == (time(3, 45), time(2, 45))


# --- (b) a daily 09:00 slot stays at 09:00 local ------------------------------------------


def daily(name: str) -> Channel:
    """A channel (not saved: ``occurrences`` only reads its zone) in zone ``name``."""
    return Channel(time_zone=name, network=Network.PAGE, handle=name)


EVERY_DAY_AT_NINE = [Slot(weekday=day, time=time(9)) for day in range(7)]


def test_a_daily_nine_oclock_slot_stays_at_nine_local_across_every_change():
    problems = []
    for change in every_transition():
        zone = change.zone
        around = list(
            queues.occurrences(
                daily(zone.key),
                change.at - timedelta(days=3),
                change.at + timedelta(days=3),
                EVERY_DAY_AT_NINE,
            )
        )
        shown = [at.astimezone(zone) for at in around]
        days = [s.date() for s in shown]
        if any(s.time() != time(9) for s in shown) or len(set(days)) != len(days):
            problems.append(f"{change}: {[s.isoformat() for s in shown]}")
        if not 5 <= len(around) <= 7:
            problems.append(f"{change}: {len(around)} nine o'clocks in six days")
    assert problems == []


def test_a_slot_the_clocks_skip_moves_later_by_the_jump_and_a_repeated_one_goes_out_once():
    problems = []
    for change in every_transition():
        wall = inside(change)[1]
        instant, note = wallclock.slot_instant(wall.date(), wall.time(), change.zone)
        if change.forward:
            moved = instant.astimezone(change.zone).replace(tzinfo=None)
            if moved != wall + (change.after - change.before) or "goes out at" not in note:
                problems.append(f"{change}: a {wall:%H:%M} slot went out at {moved:%H:%M}")
        elif instant != change.instant(wall, change.before) or "earlier" not in note:
            problems.append(f"{change}: a {wall:%H:%M} slot is not at the earlier reading")
    assert problems == []


# --- (c) the doors store the instant meant -------------------------------------------------


@dataclass(frozen=True)
class DoorCase:
    """A wall-clock time a person sends through a door, and what must come of it: the UTC
    ``instant`` stored, or a refusal of kind ``refused`` ("gap" or "repeated") offering the
    ``choices`` (UTC instants)."""

    zone: str
    local: datetime
    fold: int | None = None
    instant: datetime | None = None
    refused: str | None = None
    choices: tuple[datetime, ...] = ()

    @property
    def repeated_time(self) -> str:
        """The API's and the editor's word for ``fold`` ("" when none is chosen)."""
        return {None: "", 0: "earlier", 1: "later"}[self.fold]

    def __str__(self) -> str:
        chosen = f" ({self.repeated_time})" if self.repeated_time else ""
        return f"{self.local:%Y-%m-%d %H:%M}{chosen} in {self.zone}"


def door_cases(zone: str) -> list[DoorCase]:
    """For the first change forward and the first change back of ``zone`` from START: 09:00
    local that day and the day after, a time in the gap, and a time shown twice with no
    choice, with the earlier and with the later reading. Any door can be checked against
    them: send ``local`` (with ``repeated_time``) in ``zone``, expect ``instant`` or a
    refusal of kind ``refused`` offering ``choices``."""
    changes = transitions(zone)
    firsts = [next(t for t in changes if t.forward), next(t for t in changes if not t.forward)]
    cases = []
    for change in firsts:
        for day in (0, 1):
            nine = datetime.combine(change.wall_from.date() + timedelta(days=day), time(9))
            offset = change.before if nine < min(change.wall_from, change.wall_to) else change.after
            cases.append(DoorCase(zone, nine, instant=change.instant(nine, offset)))
        wall = inside(change)[1]
        if change.forward:
            cases.append(
                DoorCase(zone, wall, refused="gap", choices=(change.at - MINUTE, change.at))
            )
            continue
        earlier, later = change.instant(wall, change.before), change.instant(wall, change.after)
        cases.append(DoorCase(zone, wall, refused="repeated", choices=(earlier, later)))
        cases.append(DoorCase(zone, wall, fold=0, instant=earlier))
        cases.append(DoorCase(zone, wall, fold=1, instant=later))
    return cases


def test_the_door_cases_agree_with_the_module():
    """The cases are computed by arithmetic; the module must agree before any door is."""
    for zone in DOOR_ZONES:
        for case in door_cases(zone):
            refused = refusal(case.local, zoneinfo.ZoneInfo(zone), fold=case.fold)
            if case.refused:
                assert refused is not None and refused.kind == case.refused, case
                assert tuple(c.utc for c in refused.choices) == case.choices, case
            else:
                assert refused is None, case
                assert wallclock.to_utc(case.local, zoneinfo.ZoneInfo(zone), fold=case.fold) == (
                    case.instant
                ), case


@pytest.mark.django_db
@pytest.mark.parametrize("zone", DOOR_ZONES)
def test_the_editor_stores_the_instant_meant(zone, workspace, owner, signed_in):
    """A Paris workspace's channel in ``zone``: the editor reads the time in the channel's
    zone, refuses a skipped or unchosen repeated time, and keeps the reading chosen."""
    shop = Channel.objects.create(
        workspace=workspace, network=Network.PAGE, handle="shop", time_zone=zone
    )
    client = signed_in(owner)
    url = reverse("post_create", args=[workspace.slug])
    for number, case in enumerate(door_cases(zone)):
        title = f"case {number}"
        data = {
            "text": "Fresh bread",
            "title": title,
            "channels": [shop.pk],
            "scheduled_at": case.local.strftime("%Y-%m-%dT%H:%M"),
            "repeated_time": case.repeated_time,
        }
        response = client.post(url, data)
        if case.refused:
            assert response.status_code == 400, case
            words = "does not exist" if case.refused == "gap" else "happens twice"
            (error,) = response.context["form"].errors["scheduled_at"]
            assert words in error, case
            if case.refused == "repeated":
                assert [v for v, _, _ in response.context["form"].repeated_options()] == [
                    "earlier",
                    "later",
                ], case
            continue
        assert response.status_code == 302, (
            case,
            response.context and response.context["form"].errors,
        )
        stored = Delivery.objects.get(post__title=title).scheduled_at
        assert stored == case.instant, case


@pytest.mark.django_db
@pytest.mark.parametrize("zone", DOOR_ZONES)
def test_the_calendar_move_stores_the_instant_meant(zone, workspace, owner, channel, signed_in):
    """The calendar shown in ``zone``: a wall-clock ``start`` with the reading chosen, or the
    exact instant with ``Z``, moves the post to the instant meant; a refusal offers choices."""
    post = create_post(workspace, owner, PostContent(text="Fresh bread", channel_ids=[channel.pk]))
    delivery = post.deliveries.get()
    services.schedule(delivery, START + timedelta(days=800), actor=owner)
    client = signed_in(owner)
    url = reverse("calendar_move", args=[workspace.slug])
    for case in door_cases(zone):
        sent = {"delivery": delivery.pk, "start": case.local.isoformat(), "tz": zone}
        if case.repeated_time:
            sent["repeated_time"] = case.repeated_time
        response = client.post(url, sent, HTTP_ACCEPT="application/json")
        if case.refused:
            assert response.status_code == 400, case
            body = response.json()
            assert body["kind"] == case.refused, case
            offered = [datetime.fromisoformat(c["instant"]) for c in body["choices"]]
            assert tuple(offered) == case.choices, case
            continue
        assert response.status_code == 200, (case, response.content)
        delivery.refresh_from_db()
        assert delivery.scheduled_at == case.instant, case
        # The same instant sent as UTC with a Z lands on the same instant.
        exact = case.instant.replace(tzinfo=None).isoformat() + "Z"  # type: ignore[union-attr]
        client.post(url, {**sent, "start": exact}, HTTP_ACCEPT="application/json")
        delivery.refresh_from_db()
        assert delivery.scheduled_at == case.instant, case


@pytest.mark.django_db
@pytest.mark.parametrize("zone", DOOR_ZONES)
def test_the_api_stores_the_instant_meant(zone, workspace, owner, token_for):
    """``POST /posts`` with a wall-clock ``scheduled_at`` and ``time_zone``: the instant meant,
    or a 422 offering the choices; ``repeated_time`` picks a reading."""
    from api_helpers import call

    channel = Channel.objects.create(workspace=workspace, network=Network.PAGE, handle="api")
    token = token_for(owner)
    for case in door_cases(zone):
        body = {
            "text": "Fresh bread",
            "channel_ids": [channel.pk],
            "scheduled_at": case.local.isoformat(),
            "time_zone": zone,
        }
        if case.repeated_time:
            body["repeated_time"] = case.repeated_time
        response = call("post", f"/workspaces/{workspace.slug}/posts", token, json_body=body)
        if case.refused:
            assert response.status_code == 422, case
            offered = [
                datetime.fromisoformat(c["scheduled_at"]) for c in response.json()["choices"]
            ]
            assert tuple(offered) == case.choices, case
            continue
        assert response.status_code == 201, (case, response.json())
        stored = datetime.fromisoformat(response.json()["deliveries"][0]["scheduled_at"])
        assert stored == case.instant, case


@pytest.mark.django_db
@pytest.mark.parametrize("zone", DOOR_ZONES)
def test_the_csv_import_stores_the_instant_meant(zone, workspace, owner):
    """A CSV row with a date, a time and ``zone``: the instant meant, or the row refused in
    the time column; a repeated time is chosen by writing its offset, as the error says."""
    from socialdesk.content.bulk import import_csv, validate_csv

    channel = Channel.objects.create(workspace=workspace, network=Network.PAGE, handle="csv")
    for number, case in enumerate(door_cases(zone)):
        clock = case.local.strftime("%H:%M")
        if case.fold is not None:
            chosen = case.instant.astimezone(zoneinfo.ZoneInfo(zone))  # type: ignore[union-attr]
            clock += " " + chosen.strftime("%z")[:3] + ":" + chosen.strftime("%z")[3:]
        row = f"{case.local:%Y-%m-%d},{clock},{zone},csv,Fresh bread {number},,,,\n"
        data = ("date,time,time zone,channels,text,media,labels,pillar,campaign\n" + row).encode()
        if case.refused:
            plan = validate_csv(workspace, data)
            messages = [e.message for e in plan.errors if e.column == "time"]
            assert messages, (case, plan.errors)
            if case.refused == "repeated":
                assert "In the file, write" in messages[0], messages
            continue
        import_csv(workspace, owner, data)
        stored = Delivery.objects.get(channel=channel, post__text=f"Fresh bread {number}")
        assert stored.scheduled_at == case.instant, case
