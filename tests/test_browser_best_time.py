"""Best times and experiments in a real Chromium at desktop and phone sizes: the heatmap is a
table with headers, an experiment shows its verdict, table and chart, the composer's "Use
this time" fills the time field; nothing wider than the screen, no serious axe violations.
Screenshots go to ``artifacts/screenshots/`` (``best-time-*.png``, ``experiment-*.png``)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from chromium import SIZES, axe_violations, shoot, sign_in
from test_best_time import history
from test_experiments import measure, spec

from socialdesk.analytics import best_time, experiments
from socialdesk.networks.models import Channel, Network

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def context_for(browser, size: str):
    width, height = SIZES[size]
    return browser.new_context(
        viewport={"width": width, "height": height}, is_mobile=size == "phone"
    ), width


def fits(page, width: int, what: str) -> None:
    scroll_width = page.evaluate("document.documentElement.scrollWidth")
    assert scroll_width <= width, f"the {what} is {scroll_width}px wide"


@pytest.mark.parametrize("size", SIZES)
def test_the_heatmap_reads_as_a_table(browser, live_server, workspace, analyst, size):
    berlin = Channel.objects.create(
        workspace=workspace,
        network=Network.MASTODON,
        handle="@crumb@bakers.social",
        time_zone="Europe/Berlin",
    )
    history(berlin, weeks=12)
    best_time.refresh(berlin, datetime.now(UTC))
    context, width = context_for(browser, size)
    page = context.new_page()
    sign_in(page, live_server.url, analyst.email)

    page.goto(f"{live_server.url}/w/crumb/analytics/best-times/{berlin.pk}/")

    table = page.get_by_role("table", name="Engagement of @crumb@bakers.social")
    assert table.get_by_role("rowheader", name="Tuesday").is_visible()
    assert table.get_by_role("columnheader", name="18:00").count() == 1
    assert page.get_by_text("Next best time:").is_visible()
    fits(page, width, "heatmap page")
    assert axe_violations(page) == []
    shoot(page, f"best-time-heatmap-{size}")
    context.close()


@pytest.mark.parametrize("size", SIZES)
def test_an_experiment_shows_its_verdict_table_and_chart(
    browser, live_server, workspace, owner, channel, size
):
    experiment = experiments.create_experiment(workspace, owner, spec(channel))
    measure(experiment, {"A": (4000, 80), "B": (4000, 140)})
    context, width = context_for(browser, size)
    page = context.new_page()
    sign_in(page, live_server.url, owner.email)

    page.goto(f"{live_server.url}/w/crumb/analytics/experiments/{experiment.pk}/")

    assert page.get_by_role("status").filter(has_text="B is better than A").is_visible()
    table = page.get_by_role("table", name="Each variant's numbers so far")
    assert table.get_by_role("rowheader", name="B", exact=True).is_visible()
    assert table.get_by_role("cell", name="> 99.9 %").is_visible()
    page.wait_for_function("window.Chart && Chart.getChart('xp-chart') !== undefined")
    fits(page, width, "experiment page")
    assert axe_violations(page) == []
    shoot(page, f"experiment-verdict-{size}")

    page.get_by_role("button", name="Conclude with this verdict").click()
    page.get_by_role("button", name="Queue variant B again as evergreen").click()
    assert page.get_by_text("back in 1 queue as an evergreen post").is_visible()
    context.close()


def test_use_this_time_fills_the_composer_on_the_channels_clock(
    browser, live_server, workspace, owner
):
    berlin = Channel.objects.create(
        workspace=workspace,
        network=Network.MASTODON,
        handle="@crumb@bakers.social",
        time_zone="Europe/Berlin",
    )
    history(berlin, weeks=12)
    best = best_time.refresh(berlin, datetime.now(UTC))
    instant, _ = best_time.next_best_time(berlin, datetime.now(UTC), best)
    context, width = context_for(browser, "desktop")
    page = context.new_page()
    sign_in(page, live_server.url, owner.email)

    page.goto(f"{live_server.url}/w/crumb/posts/new/")
    page.get_by_role("checkbox", name="Mastodon · @crumb@bakers.social").check()
    page.get_by_role("button", name="Use Tue").click()

    expected = instant.astimezone(berlin.zone).strftime("%Y-%m-%dT%H:%M")
    assert page.get_by_label("Publish at").input_value() == expected
    assert page.get_by_text(f"Publish at set to {expected.replace('T', ' ')}").count() == 1
    hint = page.locator("[data-best-time-hint]")
    hint.scroll_into_view_if_needed()
    shoot(page, "best-time-composer-desktop")
    context.close()


@pytest.mark.parametrize("size", SIZES)
def test_the_experiment_form_says_what_is_missing(
    browser, live_server, workspace, owner, channel, size
):
    context, width = context_for(browser, size)
    page = context.new_page()
    sign_in(page, live_server.url, owner.email)

    page.goto(f"{live_server.url}/w/crumb/analytics/experiments/")
    page.get_by_role("link", name="New experiment").click()
    page.get_by_label("Name").fill("Morning or evening")
    page.get_by_label("Baseline rate (%)").fill("2")
    page.get_by_label("Smallest difference worth finding (points)").fill("1")
    page.get_by_label("Variant A: text").fill("Bread at 7")
    page.get_by_label("Variant A: channel").select_option(str(channel.pk))
    page.get_by_role("button", name="Start experiment").click()

    assert page.get_by_text("This field is required.").first.is_visible()
    fits(page, width, "experiment form")
    assert axe_violations(page) == []
    shoot(page, f"experiment-form-{size}")
    page.get_by_label("Variant B: text").fill("Warm bread at 7")
    page.get_by_label("Variant B: channel").select_option(str(channel.pk))
    page.get_by_role("button", name="Start experiment").click()
    assert page.get_by_role("heading", name="Morning or evening").is_visible()
    assert page.get_by_text("Not enough data yet: ~7,652 more views.").is_visible()
    context.close()
