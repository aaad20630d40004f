"""A person's data on the members page in a real Chromium (1280×800): the owner downloads a
member's data, erases it after typing their email, and the audit log shows the history under
"erased person #1"; axe on the members and the erase pages."""

from __future__ import annotations

import io
import json
import zipfile

import pytest
from chromium import axe_violations, shoot, sign_in

from socialdesk.content.services import PostContent, create_post
from socialdesk.workspaces.models import Membership, User, Workspace
from tests.conftest import make_user

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def test_an_owner_exports_then_erases_a_members_data(browser, live_server, settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    workspace = Workspace.objects.create(name="Crumb & Co", slug="crumb", time_zone="Europe/Paris")
    owner = make_user("olivia@crumb.test", name="Olivia Owner")
    Membership.objects.create(workspace=workspace, user=owner, role="owner")
    ana = make_user("ana.quintero@crumb.test", name="Ana Quintero")
    membership = Membership.objects.create(workspace=workspace, user=ana, role="creator")
    create_post(workspace, ana, PostContent(text="Rye on Fridays"))

    context = browser.new_context(viewport={"width": 1280, "height": 800}, accept_downloads=True)
    page = context.new_page()
    sign_in(page, live_server.url, owner.email)
    page.goto(f"{live_server.url}/w/crumb/members/")
    assert axe_violations(page) == []
    shoot(page, "personal-data-1-members-desktop")

    phone = browser.new_context(viewport={"width": 390, "height": 844})
    small = phone.new_page()
    sign_in(small, live_server.url, owner.email)
    small.goto(f"{live_server.url}/w/crumb/members/")
    assert small.get_by_role("link", name="Erase… the data of Ana Quintero").is_visible()
    shoot(small, "personal-data-1-members-phone")
    phone.close()

    with page.expect_download() as downloading:
        page.get_by_role("button", name="Export data of Ana Quintero").click()
    download = downloading.value
    assert download.suggested_filename == f"personal-data-crumb-member-{membership.pk}.zip"
    with zipfile.ZipFile(io.BytesIO(open(download.path(), "rb").read())) as archive:
        person = json.loads(archive.read("person.json"))
    assert person["person"]["name"] == "Ana Quintero"
    assert person["tables"]["content.post.author"]["rows"][0]["title"] == ""

    page.get_by_role("link", name="Erase… the data of Ana Quintero").click()
    page.wait_for_url("**/members/*/erase/")
    assert page.get_by_role("heading", name="Erase the data of Ana Quintero?").is_visible()
    page.get_by_label("Type ana.quintero@crumb.test to confirm").fill("ana@crumb.test")
    page.get_by_role("button", name="Erase their data").click()
    assert page.get_by_role("alert").inner_text() == (
        "Type ana.quintero@crumb.test exactly to confirm the erasure."
    )
    page.get_by_label("Type ana.quintero@crumb.test to confirm").fill("ana.quintero@crumb.test")
    assert axe_violations(page) == []
    shoot(page, "personal-data-2-erase-desktop")
    page.get_by_role("button", name="Erase their data").click()
    page.wait_for_url(f"{live_server.url}/w/crumb/members/")
    notice = page.get_by_text("The data of Ana Quintero was erased")
    assert "erased person #1" in notice.inner_text()
    assert page.get_by_text("ana.quintero@crumb.test").count() == 0
    shoot(page, "personal-data-3-erased-desktop")

    page.goto(f"{live_server.url}/w/crumb/workflow/audit/")
    rows = page.locator("table.wf-audit tbody tr")
    assert "Erased the data of erased person #1" in rows.nth(0).inner_text()
    assert "Exported the data of erased person #1" in rows.nth(1).inner_text()
    assert "Quintero" not in page.content()
    shoot(page, "personal-data-4-audit-desktop")
    assert not User.objects.get(pk=ana.pk).is_active
    context.close()
