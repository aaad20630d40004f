"""The approver and the client judge the same thing (issue 10, item 4): one partial with the
per-network previews, images and alt text, channels, publish times in a named zone and the
word diff since the version this reviewer last saw or decided on; a post's versions and any
two compared through the API; a client opening a post's address lands on the review view."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

import pytest
from api_helpers import call, png_upload
from django.utils import timezone
from workflow_helpers import waiting_for_decision

from socialdesk.content.media import update_alt_text, upload_media
from socialdesk.content.services import PostContent, create_post, update_post
from socialdesk.networks.models import Channel, Network
from socialdesk.review.links import token_for as link_token
from socialdesk.review.models import SeenVersion
from socialdesk.review.services import create_link
from socialdesk.workflow.approvals import decide

# A Tuesday, read in each channel's own zone (the post gives no zone).
PUBLISH = datetime(2027, 12, 14, 9, 0)
ALT = "A braided stollen dusted with sugar on a wooden board"


@pytest.fixture
def image_post(workspace, owner, creator, settings, tmp_path):
    """An image post on Bluesky (a New York channel) and Mastodon (the workspace's Paris
    zone), edited once: version 2 adds "and rye"."""
    settings.MEDIA_ROOT = tmp_path
    bluesky = Channel.objects.create(
        workspace=workspace,
        network=Network.BLUESKY,
        handle="crumb.bsky.social",
        display_name="Crumb on Bluesky",
        time_zone="America/New_York",
    )
    mastodon = Channel.objects.create(
        workspace=workspace, network=Network.MASTODON, handle="@crumb@bakers.social"
    )
    image = upload_media(
        workspace, creator, png_upload("stollen.png", width=640, height=400, color="#c58b4e")
    )
    update_alt_text(image, ALT)
    post = create_post(
        workspace,
        creator,
        PostContent(
            title="Stollen week",
            text="Fresh stollen at 9 this Tuesday",
            channel_ids=[bluesky.pk, mastodon.pk],
            media_ids=[image.pk],
            scheduled_at=PUBLISH,
        ),
    )
    update_post(post, creator, PostContent(text="Fresh stollen and rye at 9 this Tuesday"))
    waiting_for_decision({"slug": workspace.slug, "post_id": post.pk})
    return post


def review_part(html: str) -> str:
    """The shared partial of a page, without the member-only link to the versions page."""
    match = re.search(r'<div class="post-review".*?\n</div>', html, re.S)
    assert match, "the page has no review partial"
    return re.sub(r"<p><a href=\"[^\"]*/versions/[^\"]*\">.*?</p>", "", match.group(0), flags=re.S)


def client_page(client, workspace, owner, post):
    link = create_link(
        workspace, owner, "Acme", expires_at=timezone.now() + timedelta(days=7), post_ids=[post.pk]
    )
    client.logout()
    return link, client.get(f"/review/{link_token(link)}/")


def test_the_approver_and_the_client_see_the_same_previews_images_channels_times_and_diff(
    client, signed_in, workspace, owner, approver, image_post
):
    approver_page = signed_in(approver).get(f"/w/crumb/workflow/posts/{image_post.pk}/")
    _, client_response = client_page(client, workspace, owner, image_post)
    assert approver_page.status_code == 200 and client_response.status_code == 200
    mine, theirs = (
        review_part(approver_page.content.decode()),
        review_part(client_response.content.decode()),
    )
    assert mine == theirs
    # …and what they both show is the whole post.
    assert mine.count(f'alt="{ALT}"') == 2  # the image on each network
    assert f"Alt text:</span> {ALT}" in mine
    assert "Crumb on Bluesky" in mine and "@crumb@bakers.social" in mine
    assert "Tue 14 Dec, 09:00 (America/New_York)" in mine
    assert "Tue 14 Dec, 09:00 (Europe/Paris)" in mine
    assert '<ins><span class="visually-hidden">[added: </span> and rye<' in mine
    assert "From version 1 (the previous one) to version 2: 2 words added, 0 removed" in mine


def test_the_approver_page_has_the_decision_buttons_and_links_the_versions(
    signed_in, approver, image_post
):
    page = signed_in(approver).get(f"/w/crumb/workflow/posts/{image_post.pk}/").content.decode()
    assert 'value="approve"' in page and 'value="request_changes"' in page
    assert f"/w/crumb/posts/{image_post.pk}/versions/?from=1&amp;to=2" in page
    assert f'href="/w/crumb/posts/{image_post.pk}/versions/"' in page
    # The approver may not edit, so the page does not offer it.
    assert f'href="/w/crumb/posts/{image_post.pk}/"' not in page


def test_the_editor_links_the_versions_and_the_review_view(signed_in, creator, image_post):
    page = signed_in(creator).get(f"/w/crumb/posts/{image_post.pk}/").content.decode()
    assert f'href="/w/crumb/posts/{image_post.pk}/versions/"' in page
    assert f'href="/w/crumb/workflow/posts/{image_post.pk}/"' in page


def test_the_diff_starts_from_the_version_the_approver_last_saw(
    signed_in, approver, creator, image_post
):
    browser = signed_in(approver)
    browser.get(f"/w/crumb/workflow/posts/{image_post.pk}/")
    assert SeenVersion.objects.filter(user=approver, version__number=2).count() == 1
    update_post(image_post, creator, PostContent(text="Stollen and rye at 9 this Tuesday"))
    update_post(image_post, creator, PostContent(text="Stollen and rye at 10 this Tuesday"))
    page = browser.get(f"/w/crumb/workflow/posts/{image_post.pk}/").content.decode()
    assert "From version 2 (the one you last saw) to version 4" in page
    assert '<del><span class="visually-hidden">[removed: </span>Fresh ' in page
    # Seen again: a second look records nothing new.
    browser.get(f"/w/crumb/workflow/posts/{image_post.pk}/")
    assert SeenVersion.objects.filter(user=approver).count() == 2


def test_the_diff_starts_from_the_version_the_approver_last_decided_on(
    signed_in, approver, creator, image_post
):
    decide(image_post, "request_changes", comment="Say rye bread", user=approver)
    update_post(image_post, creator, PostContent(text="Fresh stollen and rye bread at 9"))
    update_post(image_post, creator, PostContent(text="Fresh stollen and rye bread at 10"))
    page = signed_in(approver).get(f"/w/crumb/workflow/posts/{image_post.pk}/").content.decode()
    assert "From version 2 (the one you last decided on) to version 4" in page


def test_the_client_diff_starts_from_what_this_link_last_showed(
    client, workspace, owner, creator, image_post
):
    link, first = client_page(client, workspace, owner, image_post)
    assert "From version 1 (the previous one) to version 2" in first.content.decode()
    update_post(image_post, creator, PostContent(text="Fresh stollen and rye at 10 this Tuesday"))
    again = client.get(f"/review/{link_token(link)}/").content.decode()
    assert "From version 2 (the one you last saw) to version 3" in again
    assert SeenVersion.objects.filter(review_link=link).count() == 2


def test_a_first_version_has_nothing_to_compare(signed_in, approver, post):
    page = signed_in(approver).get(f"/w/crumb/workflow/posts/{post.pk}/").content.decode()
    assert "This is the first version: nothing to compare yet." in page


# --- A client member opening a post's address ----------------------------------------------


def test_a_client_opening_a_posts_address_gets_the_read_only_review_view(
    signed_in, client_user, image_post
):
    browser = signed_in(client_user)
    response = browser.get(f"/w/crumb/posts/{image_post.pk}/")
    assert response.status_code == 302
    assert response["Location"] == f"/w/crumb/workflow/posts/{image_post.pk}/"
    page = browser.get(response["Location"]).content.decode()
    assert "does not allow" not in page
    assert 'class="post-review"' in page
    # A decision is pending and the client may take it; editing is not offered.
    assert 'value="request_changes"' in page
    assert f'href="/w/crumb/posts/{image_post.pk}/"' not in page
    # Saving through the composer stays refused.
    assert browser.post(f"/w/crumb/posts/{image_post.pk}/", {"text": "x"}).status_code == 403


def test_an_outsider_opening_a_posts_address_gets_404(signed_in, outsider, image_post):
    browser = signed_in(outsider)
    assert browser.get(f"/w/crumb/posts/{image_post.pk}/").status_code == 404
    assert browser.get(f"/w/crumb/workflow/posts/{image_post.pk}/").status_code == 404


# --- The versions API ---------------------------------------------------------------------


def test_the_api_lists_a_posts_versions(token_for, analyst, creator, image_post):
    answer = call(
        "GET", f"/api/v1/workspaces/crumb/posts/{image_post.pk}/versions", token_for(analyst)
    )
    assert answer.status_code == 200
    versions = answer.json()
    assert [v["number"] for v in versions] == [1, 2]
    assert versions[1]["text"] == "Fresh stollen and rye at 9 this Tuesday"
    assert versions[1]["created_by"] == creator.pk
    assert versions[0]["media_ids"] == [image_post.media.get().pk]
    assert versions[0]["created_at"]


def test_the_api_diffs_a_version_against_any_other(token_for, client_user, creator, image_post):
    update_post(image_post, creator, PostContent(text="Stollen and rye at 10 this Tuesday"))
    base = f"/api/v1/workspaces/crumb/posts/{image_post.pk}/versions"
    token = token_for(client_user)
    default = call("GET", f"{base}/3/diff", token).json()
    assert default["against"] == 2
    chosen = call("GET", f"{base}/3/diff?against=1", token).json()
    assert chosen["against"] == 1 and chosen["number"] == 3
    assert chosen["pieces"] == [
        {"op": "delete", "text": "Fresh"},
        {"op": "insert", "text": "Stollen"},
        {"op": "equal", "text": " "},
        {"op": "delete", "text": "stollen"},
        {"op": "insert", "text": "and rye"},
        {"op": "equal", "text": " at "},
        {"op": "delete", "text": "9"},
        {"op": "insert", "text": "10"},
        {"op": "equal", "text": " this Tuesday"},
    ]
    assert chosen["inserted_words"] == 4 and chosen["deleted_words"] == 3
    first = call("GET", f"{base}/1/diff", token).json()
    assert first["against"] is None and first["pieces"][0]["op"] == "insert"


@pytest.mark.parametrize("against", ["9", "0", "two"])
def test_a_bad_against_is_a_problem_not_a_crash(token_for, owner, image_post, against):
    url = f"/api/v1/workspaces/crumb/posts/{image_post.pk}/versions/2/diff?against={against}"
    answer = call("GET", url, token_for(owner))
    assert answer.status_code in (400, 422)
    assert answer["Content-Type"] == "application/problem+json"
    assert any(e.get("field") == "against" or "against" in str(e) for e in answer.json()["errors"])


def test_an_unknown_version_is_404(token_for, owner, image_post):
    url = f"/api/v1/workspaces/crumb/posts/{image_post.pk}/versions/7/diff"
    answer = call("GET", url, token_for(owner))
    assert answer.status_code == 404
    assert answer["Content-Type"] == "application/problem+json"


def test_an_outsider_gets_404_from_the_versions_api(token_for, outsider, image_post):
    base = f"/api/v1/workspaces/crumb/posts/{image_post.pk}/versions"
    assert call("GET", base, token_for(outsider)).status_code == 404
    assert call("GET", f"{base}/2/diff", token_for(outsider)).status_code == 404
