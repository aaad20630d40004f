"""CSV import in a real Chromium (issue 5, "Done when"): import a file with one bad row and
see the error with its row number, fix the file and import it; the calendar feed page.
Screenshots at 1280×800 and 390×844 go to ``artifacts/screenshots/``."""

from __future__ import annotations

from datetime import timedelta

import pytest
import test_browser
from chromium import AXE_SCRIPTS, SIZES, axe_violations, shoot, sign_in
from django.utils import timezone

from socialdesk.content.models import Post

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
bakery = test_browser.bakery  # the Paris bakery fixture, shared


def csv_file(*rows: str) -> dict:
    text = "date,time,time zone,channels,text,labels,pillar\n" + "".join(r + "\n" for r in rows)
    return {"name": "december.csv", "mimeType": "text/csv", "buffer": text.encode()}


def check_accessibility(page) -> None:
    if any(path.exists() for path in AXE_SCRIPTS):
        assert axe_violations(page) == []


@pytest.mark.parametrize("size", ["desktop", "phone"])
def test_a_bad_row_is_shown_with_its_number_then_the_fixed_file_imports(
    browser, live_server, bakery, settings, tmp_path, size
):
    settings.DATA_DIR = tmp_path
    base = live_server.url
    width, height = SIZES[size]
    context = browser.new_context(
        viewport={"width": width, "height": height}, is_mobile=size == "phone"
    )
    page = context.new_page()
    sign_in(page, base, bakery["owner"].email)
    page.goto(f"{base}/w/crumb/posts/")
    page.get_by_role("link", name="Import/Export").click()
    page.wait_for_url(f"{base}/w/crumb/posts/bulk/")
    check_accessibility(page)
    shoot(page, f"bulk-import-{size}")

    day = (timezone.localdate() + timedelta(days=20)).isoformat()
    good = f'{day},09:00,Europe/Paris,page:crumb,"Stollen is back, pre-order now",seasonal,Product'
    page.get_by_label("CSV file").set_input_files(
        csv_file(good, f"{day},9h30,Europe/Paris,page:crumb,Bread class on Saturday,,")
    )
    page.get_by_role("button", name="Check the file").click()
    errors = page.locator("table.bulk-errors tbody tr")
    errors.first.wait_for()
    assert errors.count() == 1
    cells = errors.first.locator("td").all_inner_texts()
    assert cells[:2] == ["3", "time"] and "hours:minutes" in cells[2]
    assert "Nothing was imported" in page.get_by_role("alert").first.inner_text()
    check_accessibility(page)
    shoot(page, f"bulk-import-error-{size}")
    assert not Post.objects.filter(text__startswith="Stollen is back").exists()

    page.get_by_label("CSV file").set_input_files(
        csv_file(good, f"{day},09:30,Europe/Paris,page:crumb,Bread class on Saturday,,")
    )
    page.get_by_role("button", name="Check the file").click()
    page.get_by_role("button", name="Import 2 posts").wait_for()
    shoot(page, f"bulk-import-preview-{size}")
    page.get_by_role("button", name="Import 2 posts").click()
    page.wait_for_url(f"{base}/w/crumb/posts/")
    assert "Imported 2 posts: 2 scheduled" in page.get_by_role("status").inner_text()
    assert page.locator("#post-results").get_by_text("Bread class on Saturday").count() == 1
    shoot(page, f"bulk-imported-{size}")
    context.close()


@pytest.mark.parametrize("size", ["desktop", "phone"])
def test_the_calendar_feed_page(browser, live_server, bakery, size):
    base = live_server.url
    width, height = SIZES[size]
    context = browser.new_context(
        viewport={"width": width, "height": height}, is_mobile=size == "phone"
    )
    page = context.new_page()
    sign_in(page, base, bakery["owner"].email)
    page.goto(f"{base}/w/crumb/settings/calendar/")
    page.get_by_role("button", name="Create my calendar address").click()
    address = page.get_by_label("Address to subscribe to").input_value()
    assert address.startswith(f"{base}/ical/") and address.endswith(".ics")
    check_accessibility(page)
    shoot(page, f"calendar-feed-{size}")
    feed = page.request.get(address)
    assert feed.ok and b"BEGIN:VEVENT" in feed.body()
    context.close()
