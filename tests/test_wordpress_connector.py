"""The WordPress connector against a real WordPress (Debian's package, MariaDB) on 127.0.0.1
(tests/peers_open.py): connect with an Application Password, publish (title, paragraphs,
featured image with alt text, tags and category, first comment), exactly once through the
slug, reconcile, trash, inbox, comment counts; and WordPress's refusals."""

# The server fixture is imported (one module, one server): pytest's arguments redefine it.
# ruff: noqa: F811

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from django.core.exceptions import ValidationError
from PIL import Image

from socialdesk.networks import wordpress
from socialdesk.networks.base import ConnectorError, DeliveryContent, ItemKind, MediaFile
from socialdesk.networks.http import OutcomeUnknown
from tests.peers_open import WordPressSite, wordpress_site  # noqa: F401

pytestmark = [pytest.mark.any_database, pytest.mark.slow]

REST = "/?rest_route="


@pytest.fixture
def allowed(settings, wordpress_site: WordPressSite) -> None:
    settings.SOCIALDESK_FETCH_ALLOW = [wordpress_site.url.removeprefix("http://")]


def connector(site: WordPressSite) -> wordpress.WordPressConnector:
    return wordpress.WordPressConnector(site.url, site.username, site.app_password)


def test_connect_with_an_application_password(
    wordpress_site: WordPressSite,
    allowed: None,
) -> None:
    site = wordpress_site
    account = wordpress.connect(
        {"site_url": site.url + "/", "username": site.username, "app_password": site.app_password}
    )
    assert account.credentials["site_url"] == site.url
    assert account.credentials["user_id"] == "1"
    assert account.info.handle == site.username
    with pytest.raises(ValidationError) as wrong:
        wordpress.connect(
            {"site_url": site.url, "username": site.username, "app_password": "abcd efgh ijkl"}
        )
    assert "app_password" in wrong.value.message_dict


def test_connect_refuses_an_internal_address_the_operator_did_not_allow(
    wordpress_site: WordPressSite,
    settings,
) -> None:
    settings.SOCIALDESK_FETCH_ALLOW = []
    with pytest.raises(ValidationError) as refused:
        wordpress.connect({"site_url": wordpress_site.url, "username": "x", "app_password": "y"})
    assert "SOCIALDESK_FETCH_ALLOW" in refused.value.message_dict["site_url"][0]


def test_publish_once_reconcile_and_trash(
    wordpress_site: WordPressSite,
    allowed: None,
    tmp_path: Path,
) -> None:
    image = tmp_path / "loaf.png"
    Image.new("RGB", (40, 30), (180, 120, 60)).save(image)
    content = wordpress.WordPressContent(
        text="Fresh bread today 🍞\nOur sourdough is back.\n\nOpen <8am> & late.",
        media=[MediaFile(image, "image/png", "A sourdough loaf")],
        thread=("Rye on Thursdays.",),
        first_comment="Ask for the crust.",
        tags=("Bread", "Sourdough"),
        category="Bakery news",
    )
    sender = connector(wordpress_site)
    assert sender.validate(content) == []
    published = sender.publish(content, "delivery-41")

    with wordpress_site.client() as http:
        post = http.get(f"{REST}/wp/v2/posts/{published.remote_id}&context=edit").json()
        assert post["status"] == "publish"
        assert post["title"]["raw"] == "Fresh bread today 🍞"
        assert post["slug"].startswith("fresh-bread-today-sd")
        assert published.remote_url == post["link"]
        raw = post["content"]["raw"]
        assert "<p>Our sourdough is back.</p>" in raw
        assert "<p>Open &lt;8am&gt; &amp; late.</p>" in raw
        assert "<p>Rye on Thursdays.</p>" in raw
        media = http.get(f"{REST}/wp/v2/media/{post['featured_media']}").json()
        assert media["alt_text"] == "A sourdough loaf"
        assert http.get(media["source_url"]).content == image.read_bytes()
        tags = {http.get(f"{REST}/wp/v2/tags/{t}").json()["name"] for t in post["tags"]}
        assert tags == {"Bread", "Sourdough"}
        category = http.get(f"{REST}/wp/v2/categories/{post['categories'][0]}").json()
        assert category["name"] == "Bakery news"
        comments = http.get(f"{REST}/wp/v2/comments&post={published.remote_id}").json()
        assert [c["content"]["rendered"].strip() for c in comments] == ["<p>Ask for the crust.</p>"]

        # A retry finds the post by its slug: no second post, no second comment.
        assert sender.publish(content, "delivery-41") == published
        assert len(http.get(f"{REST}/wp/v2/posts&search=Fresh bread").json()) == 1
        again = http.get(f"{REST}/wp/v2/comments&post={published.remote_id}").json()
        assert len(again) == 1
        # Tags and categories found by name, not made twice.
        assert len(http.get(f"{REST}/wp/v2/tags&search=Bread").json()) == 1

        fresh = connector(wordpress_site)
        assert fresh.find_published("delivery-41", content) == published
        assert fresh.find_published("delivery-41") == published
        assert fresh.find_published("delivery-42", content) is None

        sender.delete(published.remote_id)
        trashed = http.get(f"{REST}/wp/v2/posts/{published.remote_id}&context=edit").json()
        assert trashed["status"] == "trash"
        assert http.get(f"{REST}/wp/v2/posts/{published.remote_id}", auth=None).status_code == 401
        sender.delete(published.remote_id)  # already in the trash: not an error
        assert fresh.find_published("delivery-41", content) is None


def test_inbox_reads_comments_of_others_and_counts_them(
    wordpress_site: WordPressSite,
    allowed: None,
) -> None:
    sender = connector(wordpress_site)
    since = datetime.now(UTC) - timedelta(minutes=5)
    ours = sender.publish(DeliveryContent(text="Closed on Monday\nSee you Tuesday."), "d-50")
    first = sender.fetch_inbox("", since)
    with wordpress_site.client() as http:
        # A reader with an account of their own (anonymous comments through the API are off
        # by default); the administrator writes the comment in their name.
        reader = http.post(
            f"{REST}/wp/v2/users",
            json={
                "username": "ana",
                "email": "ana@example.com",
                "password": "pw-ana-123",
                "name": "Ana",
            },
        ).json()
        made = http.post(
            f"{REST}/wp/v2/comments",
            json={
                "post": int(ours.remote_id),
                "author": reader["id"],
                "content": "And Tuesday?",
                "status": "approved",
            },
        )
        assert made.status_code == 201, made.text
    page = sender.fetch_inbox(first.cursor, since)
    texts = [item.text for item in page.items]
    assert texts[-1] == "And Tuesday?"
    item = page.items[-1]
    assert item.kind == ItemKind.COMMENT
    assert item.our_post_remote_id == ours.remote_id
    assert item.author.display_name == "Ana"
    assert sender.fetch_inbox(page.cursor, since).items == []
    assert sender.fetch_metrics([ours.remote_id])[ours.remote_id].replies == 1
    assert sender.fetch_followers() is None


def test_refusals(wordpress_site: WordPressSite, allowed: None) -> None:
    revoked = wordpress.WordPressConnector(wordpress_site.url, wordpress_site.username, "nope")
    with pytest.raises(ConnectorError) as error:
        revoked.publish(DeliveryContent(text="Hello\nworld"), "k-1")
    assert error.value.auth_revoked
    problems = connector(wordpress_site).validate(DeliveryContent(text="x" * 250 + "\nbody"))
    assert problems and problems[0].field == "text"
    assert connector(wordpress_site).fetch_metrics(["999999"]) == {}  # gone: left out


class LosesAnswers(httpx.HTTPTransport):
    """Sends each new post to the real site, then loses its answer (a read timeout)."""

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = super().handle_request(request)
        if request.method == "POST" and request.url.params.get("rest_route") == "/wp/v2/posts":
            response.close()
            raise httpx.ReadTimeout("the answer was lost", request=request)
        return response


def test_a_lost_answer_is_an_unknown_outcome_that_reconciling_settles(
    wordpress_site: WordPressSite, allowed: None
) -> None:
    content = DeliveryContent(text="Pretzels at noon\nSalted, warm.")
    lossy = wordpress.WordPressConnector(
        wordpress_site.url,
        wordpress_site.username,
        wordpress_site.app_password,
        transport=LosesAnswers(),
    )
    with pytest.raises(OutcomeUnknown):
        lossy.publish(content, "delivery-60")
    sender = connector(wordpress_site)
    found = sender.find_published("delivery-60", content)
    assert found is not None
    assert sender.publish(content, "delivery-60") == found  # found by its slug: no second post
    with wordpress_site.client() as http:
        assert len(http.get(f"{REST}/wp/v2/posts&search=Pretzels").json()) == 1
