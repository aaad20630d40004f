"""Editing the public page's profile and its link buttons: the settings page and the API,
through the one service (``page.services.save_profile``); and the page's refresh fragment."""

from __future__ import annotations

import pytest
from api_helpers import call, png_upload
from django.db import connection
from django.test.utils import CaptureQueriesContext
from page_helpers import image, publish

from socialdesk.content.models import MediaAsset
from socialdesk.page.models import PageLink, PageProfile
from socialdesk.page.services import MAX_LINKS

SETTINGS = "/w/crumb/settings/page/"


@pytest.fixture(autouse=True)
def media_in_tmp(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


def labels(workspace) -> list[str]:
    return list(PageLink.objects.filter(workspace=workspace).values_list("label", flat=True))


def add(client, label: str, url: str):
    return client.post(SETTINGS, {"action": "add", "new-label": label, "new-url": url})


def link_id(workspace, label: str) -> int:
    return PageLink.objects.get(workspace=workspace, label=label).pk


# --- The settings page -----------------------------------------------------------------------


def test_owner_edits_name_bio_and_campaign_and_the_public_page_shows_them(
    signed_in, owner, workspace, channel, client
):
    browser = signed_in(owner)
    answer = browser.post(
        SETTINGS,
        {
            "action": "profile",
            "display_name": "Crumb & Co Bakery",
            "bio": "Sourdough since 1998.",
            "utm_campaign": "bio-links",
            "avatar": "none",
        },
    )
    assert answer.status_code == 302
    profile = PageProfile.objects.get(workspace=workspace)
    assert (profile.display_name, profile.bio, profile.utm_campaign) == (
        "Crumb & Co Bakery",
        "Sourdough since 1998.",
        "bio-links",
    )
    page = client.get("/@crumb").content.decode()
    assert "Crumb &amp; Co Bakery" in page and "Sourdough since 1998." in page


def test_manager_adds_edits_reorders_and_deletes_buttons(signed_in, manager, workspace, channel):
    browser = signed_in(manager)
    assert add(browser, "Order a cake", "https://crumb.test/cakes").status_code == 302
    assert add(browser, "Opening hours", "https://crumb.test/hours").status_code == 302
    assert labels(workspace) == ["Order a cake", "Opening hours"]

    hours = link_id(workspace, "Opening hours")
    assert browser.post(SETTINGS, {"action": "up", "link": hours}).status_code == 302
    assert labels(workspace) == ["Opening hours", "Order a cake"]

    cakes = link_id(workspace, "Order a cake")
    form = browser.get(f"{SETTINGS}?edit={cakes}").content.decode()
    assert 'value="https://crumb.test/cakes"' in form
    browser.post(
        SETTINGS,
        {
            "action": "edit",
            "link": cakes,
            "edit-label": "Cakes",
            "edit-url": "https://crumb.test/c",
        },
    )
    assert labels(workspace) == ["Opening hours", "Cakes"]

    cakes = link_id(workspace, "Cakes")
    confirm = browser.get(f"{SETTINGS}?delete={cakes}").content.decode()
    assert "Delete the button “Cakes”" in confirm
    assert labels(workspace) == ["Opening hours", "Cakes"]  # asking deletes nothing
    browser.post(SETTINGS, {"action": "delete", "link": cakes})
    assert labels(workspace) == ["Opening hours"]


def test_moving_the_first_button_up_changes_nothing(signed_in, owner, workspace):
    browser = signed_in(owner)
    add(browser, "First", "https://crumb.test/1")
    add(browser, "Second", "https://crumb.test/2")
    browser.post(SETTINGS, {"action": "up", "link": link_id(workspace, "First")})
    browser.post(SETTINGS, {"action": "down", "link": link_id(workspace, "Second")})
    assert labels(workspace) == ["First", "Second"]


def test_a_button_changed_meanwhile_is_not_mistaken_for_another(signed_in, owner, workspace):
    browser = signed_in(owner)
    add(browser, "Menu", "https://crumb.test/menu")
    stale = link_id(workspace, "Menu")
    browser.post(SETTINGS, {"action": "down", "link": stale})  # ids are renewed on each save
    add(browser, "Shop", "https://crumb.test/shop")
    answer = browser.post(SETTINGS, {"action": "delete", "link": stale}, follow=True)
    assert "changed or removed meanwhile" in answer.content.decode()
    assert labels(workspace) == ["Menu", "Shop"]


def test_a_button_with_a_javascript_address_is_refused_with_what_to_fix(
    signed_in, owner, workspace
):
    answer = add(signed_in(owner), "Click me", "javascript:alert(1)")
    assert answer.status_code == 400
    assert "starting with http:// or https://" in answer.content.decode()
    assert labels(workspace) == []


def test_a_label_too_long_and_a_bad_campaign_are_refused_and_nothing_is_saved(
    signed_in, owner, workspace
):
    browser = signed_in(owner)
    answer = add(browser, "x" * 81, "https://crumb.test/")
    assert answer.status_code == 400
    assert "shorten it to 80" in answer.content.decode()
    answer = browser.post(
        SETTINGS,
        {"action": "profile", "display_name": "New name", "bio": "", "utm_campaign": "spring menu"},
    )
    assert answer.status_code == 400
    assert "hyphens and underscores only" in answer.content.decode()
    assert not PageProfile.objects.filter(workspace=workspace, display_name="New name").exists()


def test_the_twenty_first_button_is_refused(signed_in, owner, workspace):
    browser = signed_in(owner)
    PageLink.objects.bulk_create(
        PageLink(workspace=workspace, label=f"L{n}", url=f"https://crumb.test/{n}", position=n)
        for n in range(MAX_LINKS)
    )
    answer = add(browser, "One more", "https://crumb.test/more")
    assert answer.status_code == 400
    assert "at most 20 buttons" in answer.content.decode()
    assert PageLink.objects.filter(workspace=workspace).count() == MAX_LINKS


def test_an_avatar_chosen_from_the_library_is_shown_and_survives_deleting_it_from_the_library(
    signed_in, owner, workspace, channel, client
):
    asset = image(channel, owner, "Our shop front")
    browser = signed_in(owner)
    assert "Our shop front" in browser.get(SETTINGS).content.decode()
    browser.post(SETTINGS, {"action": "profile", "avatar": str(asset.pk)})
    profile = PageProfile.objects.get(workspace=workspace)
    assert profile.avatar.name.startswith("page/avatars/")
    asset.delete()
    page = client.get("/@crumb").content.decode()
    assert profile.avatar.url in page
    assert profile.avatar.storage.exists(profile.avatar.name)


def test_an_uploaded_avatar_goes_to_the_library_and_onto_the_page(signed_in, owner, workspace):
    browser = signed_in(owner)
    answer = browser.post(
        SETTINGS, {"action": "profile", "avatar": "none", "avatar_upload": png_upload("me.png")}
    )
    assert answer.status_code == 302
    profile = PageProfile.objects.get(workspace=workspace)
    assert profile.avatar
    assert MediaAsset.objects.filter(workspace=workspace, kind="image").count() == 1


def test_removing_the_avatar_shows_the_initial_again(signed_in, owner, workspace, channel, client):
    asset = image(channel, owner, "Logo")
    browser = signed_in(owner)
    browser.post(SETTINGS, {"action": "profile", "avatar": str(asset.pk)})
    browser.post(SETTINGS, {"action": "profile", "avatar": "none"})
    assert not PageProfile.objects.get(workspace=workspace).avatar
    assert "avatar-initial" in client.get("/@crumb").content.decode()


def test_the_settings_tabs_link_to_the_page_settings_for_managers(signed_in, manager):
    html = signed_in(manager).get(SETTINGS).content.decode()
    assert f'<a href="{SETTINGS}" aria-current="page">Public page</a>' in html


@pytest.mark.parametrize("role", ["creator", "approver", "client", "analyst"])
def test_roles_other_than_owner_and_manager_cannot_open_or_change_the_page_settings(
    signed_in, person, role, workspace
):
    browser = signed_in(person(role))
    assert browser.get(SETTINGS).status_code == 403
    assert add(browser, "Sneaky", "https://crumb.test/").status_code == 403
    assert labels(workspace) == []


def test_an_outsider_gets_404_for_the_page_settings(signed_in, outsider, workspace):
    browser = signed_in(outsider)
    assert browser.get(SETTINGS).status_code == 404
    assert add(browser, "Sneaky", "https://crumb.test/").status_code == 404


# --- The API ---------------------------------------------------------------------------------


def test_the_api_replaces_the_profile_and_its_buttons_whole(token_for, owner, workspace):
    token = token_for(owner)
    PageLink.objects.create(workspace=workspace, label="Old", url="https://crumb.test/old")
    body = {
        "display_name": "Crumb",
        "bio": "Bread.",
        "utm_campaign": "",
        "links": [
            {"label": "Menu", "url": "https://crumb.test/menu"},
            {"label": "Shop", "url": "http://crumb.test/shop?x=1"},
        ],
    }
    answer = call("PUT", "/workspaces/crumb/page", token, json_body=body)
    assert answer.status_code == 200, answer.content
    assert [link["label"] for link in answer.json()["links"]] == ["Menu", "Shop"]
    assert labels(workspace) == ["Menu", "Shop"]
    read = call("GET", "/workspaces/crumb/page", token).json()
    assert read["bio"] == "Bread."
    assert "utm_campaign=crumb" in read["links"][1]["tracked_url"]
    assert "x=1" in read["links"][1]["tracked_url"]


def test_the_api_refuses_a_bad_button_with_a_422_and_keeps_the_old_ones(
    token_for, owner, workspace
):
    PageLink.objects.create(workspace=workspace, label="Old", url="https://crumb.test/old")
    body = {
        "bio": "Changed",
        "links": [
            {"label": "Good", "url": "https://crumb.test/"},
            {"label": "Bad", "url": "ftp://crumb.test/"},
        ],
    }
    answer = call("PUT", "/workspaces/crumb/page", token_for(owner), json_body=body)
    assert answer.status_code == 422
    messages = [e["message"] for e in answer.json()["errors"]]
    assert any(m.startswith("Button 2:") and "https://" in m for m in messages)
    assert labels(workspace) == ["Old"]
    assert not PageProfile.objects.filter(workspace=workspace, bio="Changed").exists()


def test_the_api_sets_an_avatar_from_the_library(token_for, owner, workspace, channel):
    asset = image(channel, owner, "Logo")
    answer = call(
        "PUT", "/workspaces/crumb/page", token_for(owner), json_body={"avatar_media_id": asset.pk}
    )
    assert answer.status_code == 200
    assert "/page/avatars/" in answer.json()["avatar_url"]


@pytest.mark.parametrize("role", ["creator", "client", "analyst"])
def test_the_api_refuses_roles_without_channels_manage(token_for, person, role, workspace):
    token = token_for(person(role))
    assert call("GET", "/workspaces/crumb/page", token).status_code == 403
    assert call("PUT", "/workspaces/crumb/page", token, json_body={"bio": "x"}).status_code == 403


def test_the_api_answers_404_to_an_outsider(token_for, outsider, workspace):
    token = token_for(outsider)
    assert call("GET", "/workspaces/crumb/page", token).status_code == 404
    assert call("PUT", "/workspaces/crumb/page", token, json_body={"bio": "x"}).status_code == 404


# --- The page's refresh fragment -------------------------------------------------------------


def test_the_refresh_fragment_holds_only_the_posts_newest_first(client, owner, channel):
    publish(channel, owner, "First loaf #bread")
    publish(channel, owner, "Second loaf")
    answer = client.get("/@crumb/posts")
    html = answer.content.decode()
    assert answer.status_code == 200
    assert html.index("Second loaf") < html.index("First loaf")
    assert "<html" not in html and 'class="profile"' not in html
    assert answer["ETag"]


def test_the_refresh_fragment_answers_304_while_nothing_changed(client, owner, channel):
    publish(channel, owner, "Only loaf")
    etag = client.get("/@crumb/posts")["ETag"]
    assert client.get("/@crumb/posts", HTTP_IF_NONE_MATCH=etag).status_code == 304
    publish(channel, owner, "A new loaf")
    fresh = client.get("/@crumb/posts", HTTP_IF_NONE_MATCH=etag)
    assert fresh.status_code == 200 and "A new loaf" in fresh.content.decode()


def test_the_refresh_fragment_costs_the_same_queries_for_2_and_12_posts(client, owner, channel):
    for n in range(2):
        publish(channel, owner, f"Loaf {n}")
    with CaptureQueriesContext(connection) as few:
        client.get("/@crumb/posts")
    for n in range(10):
        publish(channel, owner, f"More {n}", media=[image(channel, owner, f"pic {n}")])
    with CaptureQueriesContext(connection) as many:
        client.get("/@crumb/posts")
    assert len(many) == len(few) <= 8


def test_the_public_page_asks_for_refreshes_only_on_its_first_page(client, owner, channel):
    for n in range(11):
        publish(channel, owner, f"Loaf {n}")
    first = client.get("/@crumb").content.decode()
    assert 'data-refresh="/@crumb/posts"' in first and 'aria-live="polite"' in first
    assert "data-refresh=" not in client.get("/@crumb?page=2").content.decode()


def test_the_refresh_fragment_is_404_for_a_workspace_without_a_page(client, workspace):
    assert client.get("/@crumb/posts").status_code == 404
