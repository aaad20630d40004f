"""Every page of the web UI in a real Chromium with the Content-Security-Policy enforced: not
one violation in the console, and htmx still swaps under the policy.

The list of pages is built from the URL patterns (each named route resolved with ids from the
demo workspace), so a new page is visited without anyone adding it here; a route with a
parameter this file does not know fails the test and says which."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta

import pytest
from chromium import shoot
from django.contrib.auth.tokens import default_token_generator
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode
from django_otp.plugins.otp_totp.models import TOTPDevice
from page_helpers import image

from socialdesk.analytics.models import MetricSnapshot, Report, ShortLink
from socialdesk.content.models import MediaAsset, Post
from socialdesk.demo import DEMO_PASSWORD, SLUG, build_demo
from socialdesk.inbox.models import Conversation, Rule
from socialdesk.listening.models import Alert, Mention, Topic
from socialdesk.networks.models import Channel
from socialdesk.notifications.models import Notification, Webhook
from socialdesk.page.models import PageEntry
from socialdesk.review.links import token_for as review_token
from socialdesk.review.models import Comment, ReviewLink
from socialdesk.review.services import add_comment, create_link
from socialdesk.workflow.models import Stage
from socialdesk.workspaces.models import ApiToken, Invitation, Membership
from socialdesk.workspaces.roles import Role

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

OWNER = "owner@crumb.example"
# What the browser says when the policy blocks something.
VIOLATION = re.compile(r"Content Security Policy|Refused to", re.I)


@pytest.fixture
def demo(transactional_db, settings, tmp_path):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.MEDIA_ROOT = tmp_path
    return build_demo()


def named_routes(patterns, prefix: str = "", namespace: str | None = None) -> Iterator:
    """(namespace, name, route) of every named URL pattern, depth first."""
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            inner = pattern.namespace or namespace
            yield from named_routes(pattern.url_patterns, prefix + str(pattern.pattern), inner)
        elif isinstance(pattern, URLPattern) and pattern.name:
            yield namespace, pattern.name, prefix + str(pattern.pattern)


def route_values(workspace) -> dict[str, object]:
    """A value for every parameter of the web UI's routes, from the demo workspace (plus the
    few things the demo does not make: a webhook, a comment, a review link)."""
    owner = Membership.objects.get(workspace=workspace, role=Role.OWNER).user
    post = Post.objects.filter(workspace=workspace).order_by("pk").first()
    assert post is not None
    link = ReviewLink.objects.filter(workspace=workspace).first() or create_link(
        workspace,
        owner,
        "Acme legal",
        expires_at=timezone.now() + timedelta(days=7),
        post_ids=[post.pk],
    )
    webhook = Webhook.objects.filter(workspace=workspace).first() or Webhook.objects.create(
        workspace=workspace, name="Team chat", url="https://hooks.example.org/socialdesk"
    )
    comment = Comment.objects.filter(post__workspace=workspace).first() or add_comment(
        post, "Check the opening hours", author=owner
    )
    media = MediaAsset.objects.filter(workspace=workspace).first() or image(
        Channel.objects.filter(workspace=workspace).earliest("pk"), owner, "A loaf on the counter"
    )
    invitation = Invitation.objects.filter(
        workspace=workspace
    ).first() or Invitation.objects.create(
        workspace=workspace, email="new@crumb.example", role=Role.CREATOR
    )
    notification = Notification.objects.filter(recipient=owner).first()
    entry = PageEntry.objects.filter(workspace=workspace).first()
    values: dict[str, object] = {
        "slug": SLUG,
        "post_id": post.pk,
        "channel_id": Channel.objects.filter(workspace=workspace).earliest("pk").pk,
        "media_id": media.pk,
        "stage_id": Stage.objects.filter(workspace=workspace).earliest("pk").pk,
        "membership_id": Membership.objects.filter(workspace=workspace).latest("pk").pk,
        "invitation_id": invitation.pk,
        "token_id": ApiToken.objects.filter(workspace=workspace).earliest("pk").pk,
        "webhook_id": webhook.pk,
        "link_id": link.pk,
        "comment_id": comment.pk,
        "notification_id": notification.pk if notification else 1,
        "entry_id": entry.pk if entry else 1,
        "kind": "atom",
        "uidb64": urlsafe_base64_encode(force_bytes(owner.pk)),
        # The demo's inbox history (socialdesk/inbox/demo.py).
        "conversation_id": Conversation.objects.filter(workspace=workspace).earliest("pk").pk,
        "rule_id": Rule.objects.filter(workspace=workspace).earliest("pk").pk,
        # A short link's code (analytics.links): a redirect, not a page, so left out by its answer.
        "code": next(iter(ShortLink.objects.values_list("code", flat=True)), "Zz9Zz9Zz"),
        # Approve and reject are POST-only (left out by their 405); any id does.
        "approval_id": 1,
        "experiment_id": an_experiment(workspace, owner),
        # The demo's weekly report (analytics.reports.build_demo).
        "report_id": Report.objects.filter(workspace=workspace).earliest("pk").pk,
        # A measured delivery of the demo (its post's analytics, analytics.post_detail).
        "delivery_id": MetricSnapshot.objects.filter(workspace=workspace).first().delivery_id,
        # The demo's listening (socialdesk/listening/demo.py).
        "alert_id": Alert.objects.filter(workspace=workspace).earliest("pk").pk,
        "topic_id": Topic.objects.filter(workspace=workspace).earliest("pk").pk,
        "mention_id": Mention.objects.filter(workspace=workspace).earliest("pk").pk,
        "what": "volume",
        # A network connected through its connect page (networks.connect_views, issue 16).
        "network": "telegram",
        "key": "no-such-choice",
    }
    # `token` means a different key on each route.
    values["token:review_client"] = review_token(link)
    values["token:accept_invitation"] = invitation.token
    values["token:password_reset_confirm"] = default_token_generator.make_token(owner)
    return values


def web_pages(workspace) -> dict[str, str]:
    """name: address of every route the web UI answers a GET with an HTML page, asked as the
    owner through Django's test client (fast); actions (POST only), downloads, feeds and
    JSON are left out by their answer, not by a list."""
    values = route_values(workspace)
    client = Client()
    client.force_login(Membership.objects.get(workspace=workspace, role=Role.OWNER).user)
    pages: dict[str, str] = {}
    for namespace, name, route in named_routes(get_resolver().url_patterns):
        if namespace is not None:  # the API: JSON for scripts (its docs page is added below)
            continue
        kwargs = {}
        for parameter in re.findall(r"<(?:\w+:)?(\w+)>", route):
            key = f"token:{name}" if parameter == "token" else parameter
            if key not in values and parameter == "token":
                continue
            assert key in values, f"route {name} ({route}): add a value for {key} to route_values"
            kwargs[parameter] = values[key]
        if len(kwargs) < len(re.findall(r"<(?:\w+:)?(\w+)>", route)):
            continue  # a token this test cannot mint (the calendar feed's): no HTML anyway
        url = reverse(name, kwargs=kwargs)
        answer = client.get(url)
        if answer.status_code == 200 and answer["Content-Type"].startswith("text/html"):
            pages[name] = url
    pages["api docs"] = reverse("api-v1:openapi-view")
    return pages


def watch(page, seen: list[str], where: list[str]) -> None:
    """Collect every console message that says the policy blocked something, and every page
    error (a script that stopped), with the page it happened on (``where[0]``)."""

    def on_console(message) -> None:
        if VIOLATION.search(message.text):
            seen.append(f"{where[0]}: {message.text[:300]}")

    page.on("console", on_console)
    page.on("pageerror", lambda error: seen.append(f"{where[0]}: page error: {error}"))


def test_every_page_runs_under_the_policy_without_a_violation(browser, live_server, demo):
    base = live_server.url
    workspace = demo.workspace
    pages = web_pages(workspace)
    assert {"calendar", "post_edit", "workflow_board", "public_page", "review_client"} <= set(
        pages
    ), sorted(pages)
    assert len(pages) >= 30, sorted(pages)

    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    seen: list[str] = []
    where = ["login"]
    watch(page, seen, where)
    page.goto(f"{base}/accounts/login/")
    page.get_by_label("Email address").fill(OWNER)
    page.get_by_label("Password").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{base}/w/{SLUG}/")

    extra = {
        "calendar, month": f"/w/{SLUG}/calendar/?view=dayGridMonth",
        "calendar, week": f"/w/{SLUG}/calendar/?view=timeGridWeek",
    }
    for name, url in {**pages, **extra}.items():
        where[0] = f"{name} ({url})"
        answer = page.goto(base + url)
        assert answer is not None and answer.ok, where[0]
        assert "default-src 'self'" in answer.headers["content-security-policy"], where[0]
        if name.startswith("calendar"):
            page.locator(".fc-event").first.wait_for()
            # FullCalendar's own stylesheet was let in by the nonce: its grid has borders.
            assert page.locator("style[data-fullcalendar]").count() == 1
        page.wait_for_load_state("load")
    assert seen == [], "\n".join(seen)
    page.goto(f"{base}/w/{SLUG}/calendar/?view=timeGridWeek")
    page.locator(".fc-timegrid-event").first.wait_for()
    shoot(page, "csp-calendar-week")

    # htmx under the policy: the post list's filter swaps the results and follows in the URL.
    where[0] = "post list filter"
    page.goto(f"{base}/w/{SLUG}/posts/")
    page.get_by_label("State").select_option("draft")
    page.wait_for_url("**/posts/?*state=draft*")
    assert page.locator("#post-results .state-draft").count() >= 1
    assert page.locator("#post-results .state-scheduled").count() == 0
    shoot(page, "csp-post-list")

    # ... and the composer's comments panel (loaded by htmx) posts a comment and swaps itself.
    where[0] = "composer comments"
    post = Post.objects.filter(workspace=workspace).order_by("pk").first()
    assert post is not None
    page.goto(f"{base}/w/{SLUG}/posts/{post.pk}/")
    panel = page.locator("#comments")
    panel.get_by_label("Comment", exact=True).fill("Checked under the policy.")
    panel.get_by_role("button", name=re.compile("^Comment")).click()
    page.locator("#comments .comment-body", has_text="Checked under the policy.").wait_for()
    shoot(page, "csp-composer")
    # Swagger UI, from django-ninja's static files, runs under the policy too.
    page.goto(f"{base}/api/v1/docs")
    page.locator("#swagger-ui .swagger-ui").first.wait_for()
    shoot(page, "csp-api-docs")
    # The period select submits its form by itself (app.js, not an inline onchange).
    where[0] = "workflow health period"
    page.goto(f"{base}/w/{SLUG}/workflow/health/")
    page.get_by_label("Period").select_option(label="Last 30 days")
    page.wait_for_url("**/workflow/health/?days=30")
    shoot(page, "csp-health")
    page.goto(f"{base}/@{SLUG}")
    shoot(page, "csp-public-page")
    assert seen == [], "\n".join(seen)
    context.close()

    # The sign-in code page, for someone with two-factor sign-in on.
    approver = Membership.objects.get(workspace=workspace, role=Role.APPROVER).user
    TOTPDevice.objects.create(user=approver, name="Authenticator app", confirmed=True)
    page = browser.new_context(viewport={"width": 1280, "height": 800}).new_page()
    watch(page, seen, where)
    where[0] = "sign-in code"
    page.goto(f"{base}/accounts/login/")
    page.get_by_label("Email address").fill(approver.email)
    page.get_by_label("Password").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{base}/accounts/login/code/")
    page.wait_for_load_state("load")
    assert seen == [], "\n".join(seen)


def an_experiment(workspace, owner) -> int:
    """One experiment on the demo's public page, for the routes that show one."""
    from datetime import timedelta

    from django.utils import timezone

    from socialdesk.analytics.experiments import ExperimentSpec, VariantSpec, create_experiment
    from socialdesk.analytics.models import ExperimentMetric
    from socialdesk.networks.models import Channel, Network

    page = Channel.objects.get(workspace=workspace, network=Network.PAGE)
    later = timezone.now() + timedelta(days=2)
    spec = ExperimentSpec(
        name="Morning or evening",
        metric=ExperimentMetric.CLICKS_PER_VIEW,
        baseline_rate=0.02,
        minimum_effect=0.01,
        variants=[
            VariantSpec("Bread at 7 https://crumb.example/bread", page.pk, later),
            VariantSpec("Warm bread at 7 https://crumb.example/bread", page.pk, later),
        ],
    )
    return create_experiment(workspace, owner, spec).pk
