"""The demo bakery's weekly report in a real Chromium, at desktop and phone sizes: the client
reads the report shared with them (no Analytics tabs: those pages are not theirs), the owner
sees it under the Reports tab and downloads its PDF, whose first page is turned back into a
PNG with ``pdftoppm``. Nothing wider than the screen, no serious axe violations.

Screenshots go to ``artifacts/screenshots/``: ``report-client-<size>.png``,
``report-owner-<size>.png``, ``report-list-<size>.png``, ``report-email-<size>.png`` and
``report-pdf-page-1.png``.
"""

from __future__ import annotations

import io
import shutil
import subprocess
from datetime import UTC, datetime

import pytest
from chromium import SHOTS, SIZES, axe_violations, shoot, sign_in
from django.core.files.base import ContentFile

from socialdesk.analytics import best_time, reports
from socialdesk.analytics.models import Report
from socialdesk.demo import DEMO_PASSWORD, build_demo
from socialdesk.networks.models import Channel
from socialdesk.page.models import PageProfile

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def a_logo() -> bytes:
    """A small round logo, drawn here (the demo's page has no picture)."""
    from PIL import Image, ImageDraw

    image = Image.new("RGB", (160, 160), "#fef3c7")
    draw = ImageDraw.Draw(image)
    draw.ellipse((14, 14, 146, 146), fill="#b45309")
    draw.ellipse((46, 46, 114, 114), fill="#fef3c7")
    draw.rectangle((80, 60, 146, 100), fill="#fef3c7")
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


@pytest.fixture
def demo(transactional_db, settings, tmp_path):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.MEDIA_ROOT = tmp_path
    built = build_demo()
    profile = PageProfile.objects.get(workspace=built.workspace)
    profile.avatar.save("crumb-logo.png", ContentFile(a_logo()))
    now = datetime.now(UTC)
    for channel in Channel.objects.filter(workspace=built.workspace):
        best_time.refresh(channel, now)
    return built


def context_for(browser, size: str):
    width, height = SIZES[size]
    return browser.new_context(
        viewport={"width": width, "height": height}, is_mobile=size == "phone"
    ), width


def fits(page, width: int, what: str) -> None:
    scroll_width = page.evaluate("document.documentElement.scrollWidth")
    assert scroll_width <= width, f"the {what} is {scroll_width}px wide"


def test_the_weekly_report_as_a_page_for_client_and_owner_and_as_a_pdf(browser, live_server, demo):
    report = Report.objects.get(workspace=demo.workspace)
    base = f"{live_server.url}/w/{demo.workspace.slug}/analytics/reports/"
    for size in SIZES:
        context, width = context_for(browser, size)
        page = context.new_page()
        sign_in(
            page, live_server.url, "client@crumb.example", password=DEMO_PASSWORD, lands_on=None
        )
        page.goto(base)
        assert page.get_by_role("navigation", name="Analytics views").count() == 0
        page.get_by_role("link", name="Weekly bakery report").click()
        page.wait_for_url(f"{base}{report.pk}/")
        assert page.get_by_role("heading", name="Weekly bakery report", level=1).is_visible()
        assert page.get_by_role("img", name="Crumb & Co Bakery logo").is_visible()
        assert page.get_by_role("heading", name="Top posts").is_visible()
        assert page.get_by_role("button", name="Send now").count() == 0
        fits(page, width, "report page")
        assert axe_violations(page) == []
        shoot(page, f"report-client-{size}")
        context.close()

        context, width = context_for(browser, size)
        page = context.new_page()
        sign_in(page, live_server.url, "owner@crumb.example", password=DEMO_PASSWORD, lands_on=None)
        page.goto(base)
        tabs = page.get_by_role("navigation", name="Analytics views")
        assert tabs.get_by_role("link", name="Reports").get_attribute("aria-current") == "page"
        fits(page, width, "report list")
        shoot(page, f"report-list-{size}")
        page.goto(f"{base}{report.pk}/")
        assert page.get_by_role("button", name="Send now").is_visible()
        fits(page, width, "report page")
        assert axe_violations(page) == []
        shoot(page, f"report-owner-{size}")
        if size == "desktop":
            with page.expect_download() as download:
                page.get_by_role("link", name="Download PDF").click()
            pdf = SHOTS / "report-demo.pdf"
            download.value.save_as(pdf)
            assert pdf.read_bytes().startswith(b"%PDF-")
        context.close()

    # The email as a mail program shows it: CSS inlined, no script, the logo inline.
    html = reports.email_body(report, reports.last_period(report))
    for size in SIZES:
        context, width = context_for(browser, size)
        page = context.new_page()
        page.set_content(html)
        assert page.get_by_role("heading", name="Overview").is_visible()
        shoot(page, f"report-email-{size}")
        context.close()

    if not shutil.which("pdftoppm"):
        pytest.fail("pdftoppm is missing: apt-get install poppler-utils")
    subprocess.run(
        ["pdftoppm", "-png", "-f", "1", "-l", "1", "-singlefile", "-scale-to-x", "1280"]
        + ["-scale-to-y", "-1", str(pdf), str(SHOTS / "report-pdf-page-1")],
        check=True,
        capture_output=True,
        timeout=60,
    )
    text = subprocess.run(
        ["pdftotext", "-f", "1", "-l", "1", str(pdf), "-"],
        check=True,
        capture_output=True,
        timeout=60,
        text=True,
    ).stdout
    assert "Weekly bakery report" in text and "Crumb & Co Bakery" in text
    assert (SHOTS / "report-pdf-page-1.png").stat().st_size > 20_000
