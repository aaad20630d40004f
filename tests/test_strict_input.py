"""Strict input everywhere (issue 11, item 2): ids beyond the database's range, bodies that
are not objects, booleans sent as ids, times whose offset would be lost, and path ids that
are not integers are refused with a clear error; nothing is written and nothing answers 500."""

from __future__ import annotations

import pytest
from api_helpers import call

from socialdesk.content.models import Label, Post
from socialdesk.publishing.models import Slot

TOO_BIG = str(2**63)  # one past the largest 64-bit id: OverflowError on SQLite


# --- Web forms and filters -----------------------------------------------------------------


@pytest.mark.parametrize("field", ["channels", "labels", "library"])
def test_the_composer_refuses_an_id_beyond_the_database_with_a_form_error(
    signed_in, owner, workspace, channel, field
):
    response = signed_in(owner).post(
        "/w/crumb/posts/new/", {"text": "Rye", "channels": [channel.pk], field: TOO_BIG}
    )
    assert response.status_code in (200, 400)  # the page again, with the error
    assert field in response.context["form"].errors
    assert not Post.objects.exists()


def test_a_review_link_refuses_a_post_id_beyond_the_database(signed_in, manager, workspace):
    response = signed_in(manager).post(
        "/w/crumb/review-links/",
        {"name": "Acme legal", "posts": TOO_BIG, "expires_on": "2030-01-01"},
    )
    assert response.status_code in (200, 400)
    assert "posts" in response.context["form"].errors


@pytest.mark.parametrize(
    "section, field", [("risk", "regulated_campaigns"), ("stage", "approvers")]
)
def test_the_workflow_settings_refuse_ids_beyond_the_database(
    signed_in, owner, workspace, section, field
):
    data = {"section": section, f"{section}-{field}": TOO_BIG}
    if section == "stage":
        data.update({"stage-name": "Legal", "stage-owner_role": "approver"})
    response = signed_in(owner).post("/w/crumb/workflow/settings/", data)
    assert response.status_code in (200, 400)
    assert field in response.context[f"{section}_form"].errors


@pytest.mark.parametrize("actor", [TOO_BIG, "-" + TOO_BIG, "1e400", "١٢"])
def test_the_audit_log_ignores_an_actor_that_is_no_id(signed_in, owner, workspace, actor):
    response = signed_in(owner).get("/w/crumb/workflow/audit/", {"actor": actor})
    assert response.status_code == 200


@pytest.mark.parametrize(
    "path", [f"/w/crumb/posts/{TOO_BIG}/", f"/w/crumb/posts/{'9' * 40}/delete/"]
)
def test_a_page_for_an_id_beyond_the_database_is_404(signed_in, owner, workspace, path):
    assert signed_in(owner).get(path).status_code == 404


# --- API bodies ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "body, kind",
    [
        ("[1, 2, 3]", "an array"),
        ('"text"', "a string"),
        ("7", "a number"),
        ("null", "null"),
        ("true", "true or false"),
    ],
)
def test_a_body_that_is_not_an_object_is_refused_and_creates_nothing(
    owner, token_for, workspace, body, kind
):
    response = call_raw("post", "/workspaces/crumb/posts", token_for(owner), body)
    assert response.status_code == 422, response.content
    error = response.json()["errors"][0]
    assert error == {
        "field": "body",
        "message": f"The body must be a JSON object {{…}}, not {kind}.",
    }
    assert not Post.objects.exists()


def test_a_patch_that_is_not_an_object_is_refused_and_changes_nothing(owner, token_for, post):
    response = call_raw("patch", f"/workspaces/crumb/posts/{post.pk}", token_for(owner), "[1]")
    assert response.status_code == 422
    assert "JSON object" in response.json()["errors"][0]["message"]


@pytest.mark.parametrize("value", [True, False, 1.0, "1.0", " 1", "١"])
def test_an_id_must_be_a_whole_number_not_a_boolean_or_a_float(owner, token_for, channel, value):
    response = call(
        "post", "/workspaces/crumb/posts", token_for(owner), {"text": "Rye", "channel_ids": [value]}
    )
    assert response.status_code == 422, response.content
    assert response.json()["errors"][0]["field"] == "channel_ids.0"
    assert not Post.objects.exists()


def test_a_slot_time_with_an_offset_is_refused_not_silently_dropped(owner, token_for, channel):
    response = call(
        "put",
        f"/workspaces/crumb/channels/{channel.pk}/slots",
        token_for(owner),
        {"slots": [{"weekday": 0, "time": "09:00:00.123+05:00"}]},
    )
    assert response.status_code == 422, response.content
    assert "offset" in response.json()["errors"][0]["message"]
    assert not Slot.objects.exists()


def test_a_slot_time_without_an_offset_is_the_channels_wall_clock(owner, token_for, channel):
    response = call(
        "put",
        f"/workspaces/crumb/channels/{channel.pk}/slots",
        token_for(owner),
        {"slots": [{"weekday": 0, "time": "09:30"}]},
    )
    assert response.status_code == 200, response.content
    assert response.json()["items"][0]["time"] == "09:30"


@pytest.mark.parametrize("path_id", ["1.0", "true", "0", "-1", TOO_BIG, "1e0"])
def test_a_path_id_must_be_an_integer_in_the_databases_range(owner, token_for, workspace, path_id):
    label = Label.objects.create(workspace=workspace, name="seasonal", pk=1)
    response = call("delete", f"/workspaces/crumb/labels/{path_id}", token_for(owner))
    assert response.status_code == 422, (path_id, response.content)
    assert Label.objects.filter(pk=label.pk).exists()


def call_raw(method: str, path: str, token: str, body: str):
    from django.test import Client

    return Client().generic(
        method.upper(),
        "/api/v1" + path,
        body,
        "application/json",
        headers={"Authorization": f"Bearer {token}"},
    )


# --- NUL characters (PostgreSQL cannot store or compare them) ------------------------------


@pytest.mark.parametrize(
    "url", ["/w/crumb/workflow/audit/?action=a%00b", "/w/crumb/posts/?a%00=1", "/w/crumb%00/"]
)
def test_a_query_string_or_address_with_nul_is_a_clear_400(signed_in, owner, workspace, url):
    response = signed_in(owner).get(url)
    assert response.status_code == 400
    assert "NUL character" in response.content.decode()


def test_a_form_with_nul_is_a_clear_400_and_saves_nothing(signed_in, owner, workspace, channel):
    response = signed_in(owner).post(
        "/w/crumb/posts/new/", {"text": "Rye\x00", "channels": [channel.pk]}
    )
    assert response.status_code == 400
    assert "Nothing was saved" in response.content.decode()
    assert not Post.objects.exists()


def test_the_api_still_answers_nul_field_by_field(owner, token_for, workspace):
    response = call("post", "/workspaces/crumb/posts", token_for(owner), {"text": "Rye\x00"})
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "text"


def test_the_api_audit_filter_refuses_nul_with_a_422(owner, token_for, workspace):
    response = call("get", "/workspaces/crumb/audit?action=a%00b", token_for(owner))
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "action"


@pytest.mark.parametrize(
    "target", ["1e400", "posts", "https://elsewhere.test/", "//elsewhere.test"]
)
def test_a_next_that_is_not_a_page_here_falls_back_to_the_post(
    signed_in, owner, workspace, post, target
):
    response = signed_in(owner).post(
        f"/w/crumb/posts/{post.pk}/comments/", {"body": "Crust?", "next": target}
    )
    assert response.status_code == 302
    assert response["Location"].startswith(f"/w/crumb/posts/{post.pk}/")


def test_signing_in_with_a_next_that_is_not_a_page_here_goes_home(client, owner):
    client.force_login(owner)
    response = client.get("/accounts/login/", {"next": "1e400"})
    assert response.status_code == 302
    assert response["Location"] == "/"
