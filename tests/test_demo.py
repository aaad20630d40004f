"""``socialdesk demo``: the bakery, one person per role, every delivery state, a working token."""

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone

from socialdesk.content.models import Campaign, Label, Pillar, Post, PostVersion
from socialdesk.demo import DEMO_PASSWORD
from socialdesk.networks.models import Channel, ChannelStatus, Network
from socialdesk.publishing.models import Delivery, DeliveryState
from socialdesk.workspaces.models import ApiToken, Membership, User, Workspace
from socialdesk.workspaces.roles import Role

# The demo is built once for the module (conftest's ``module_demo``); each test's changes,
# reruns of the demo included, are undone after it. A run on an empty database is the
# module's own build.
pytestmark = pytest.mark.slow  # builds the whole demo (2-6 s) once, and again in a few tests


def run_demo() -> list[str]:
    out = StringIO()
    call_command("demo", stdout=out)
    return out.getvalue().strip().splitlines()


def counts() -> dict[str, int]:
    models = [
        Workspace, User, Membership, Channel, Label, Pillar, Campaign, Post, PostVersion,
        Delivery, ApiToken,
    ]  # fmt: skip
    return {model.__name__: model.objects.count() for model in models}


@pytest.fixture
def demo(db, module_demo) -> Workspace:
    return Workspace.objects.get(slug="crumb")


def test_running_the_demo_twice_gives_the_same_data_not_twice_the_data(demo):
    first = counts()  # after the first run, on an empty database
    run_demo()
    assert counts() == first
    assert first["Workspace"] == 1 and first["ApiToken"] == 1
    assert first["Post"] >= 16


def test_the_demo_has_a_delivery_in_every_state(demo):
    states = set(Delivery.objects.filter(workspace=demo).values_list("state", flat=True))
    assert states == set(DeliveryState.values)


def test_the_demo_has_one_person_per_role_who_can_sign_in(demo):
    memberships = Membership.objects.filter(workspace=demo).select_related("user")
    assert sorted(m.role for m in memberships) == sorted(Role.values)
    for membership in memberships:
        assert membership.user.email == f"{membership.role}@crumb.example"
        assert membership.user.check_password(DEMO_PASSWORD)


def test_the_demo_prints_the_logins_and_last_an_api_token_that_works(demo):
    lines = run_demo()
    assert any("owner@crumb.example" in line for line in lines)
    assert any(DEMO_PASSWORD in line for line in lines)
    assert lines[-1].startswith("API token: sd_")
    raw = lines[-1].removeprefix("API token: ")
    token = ApiToken.objects.get(token_hash=ApiToken.hash(raw))
    assert token.user.email == "owner@crumb.example"
    assert token.workspace.slug == "crumb"


def test_a_second_run_replaces_the_previous_demo_token(demo, module_demo):
    first = module_demo.token
    second = run_demo()[-1].removeprefix("API token: ")
    assert first != second
    assert not ApiToken.objects.filter(token_hash=ApiToken.hash(first)).exists()
    assert ApiToken.objects.filter(token_hash=ApiToken.hash(second)).exists()


def test_sent_deliveries_are_in_the_past_and_scheduled_ones_in_the_future(demo, module_demo):
    now = module_demo.now  # right after the demo was built
    published = Delivery.objects.filter(workspace=demo, state=DeliveryState.PUBLISHED)
    assert published.count() >= 10
    for delivery in published:
        assert delivery.remote_id and delivery.remote_url.startswith("http")
        assert delivery.published_at < now
    scheduled = Delivery.objects.filter(workspace=demo, state=DeliveryState.SCHEDULED)
    waiting = Delivery.objects.filter(workspace=demo, state=DeliveryState.AWAITING_APPROVAL)
    assert scheduled.count() >= 3 and waiting.count() >= 3
    assert scheduled.count() + waiting.count() >= 8
    assert all(d.scheduled_at > now for d in [*scheduled, *waiting])
    assert not Delivery.objects.due(now).exists(), "nothing is overdue right after the demo"
    failed = Delivery.objects.filter(workspace=demo, state=DeliveryState.FAILED)
    assert all(d.last_error for d in failed)


def test_the_demo_requires_approval_and_only_approved_posts_are_scheduled(demo):
    from socialdesk.publishing.checks import is_approved

    assert demo.approval_gate
    for delivery in Delivery.objects.filter(workspace=demo, state=DeliveryState.SCHEDULED):
        assert is_approved(delivery.post), delivery
    for delivery in Delivery.objects.filter(workspace=demo, state=DeliveryState.AWAITING_APPROVAL):
        assert not is_approved(delivery.post), delivery


def test_the_demo_spans_about_a_month_around_today(demo, module_demo):
    local_today = timezone.localdate(module_demo.now, demo.zone)
    times = Delivery.objects.filter(workspace=demo).exclude(scheduled_at=None)
    days = {timezone.localdate(d.scheduled_at, demo.zone) for d in times}
    assert min(days) <= local_today - timedelta(days=10)
    assert max(days) >= local_today + timedelta(days=10)


def test_the_demo_channels_pillars_and_campaign(demo):
    channels = {c.network: c for c in Channel.objects.filter(workspace=demo)}
    assert set(channels) == {Network.PAGE, Network.BLUESKY, Network.MASTODON}
    assert channels[Network.MASTODON].status == ChannelStatus.EXAMPLE
    assert channels[Network.BLUESKY].status == ChannelStatus.EXAMPLE
    shares = Pillar.objects.filter(workspace=demo).values_list("target_share", flat=True)
    assert sum(shares) == 100
    assert Campaign.objects.filter(workspace=demo).count() == 1
    assert Post.objects.filter(workspace=demo, campaign__isnull=False).count() >= 3


def test_keep_existing_leaves_a_persons_changes_and_renews_the_token(demo, module_demo):
    from socialdesk.demo import build_demo

    first = module_demo
    Post.objects.filter(workspace=first.workspace).first().delete()
    changed_count = Post.objects.filter(workspace=first.workspace).count()
    again = build_demo(now=first.now, keep_existing=True)  # right after, as a person would
    assert again.workspace.pk == first.workspace.pk
    assert Post.objects.filter(workspace=again.workspace).count() == changed_count
    assert again.token != first.token
    assert ApiToken.objects.filter(token_hash=ApiToken.hash(again.token)).exists()
    assert not ApiToken.objects.filter(token_hash=ApiToken.hash(first.token)).exists()


def test_the_demo_page_shows_its_published_posts_and_gets_new_ones_in_minutes(
    demo, module_demo, client
):
    from socialdesk.page.models import PageEntry

    on_page = Delivery.objects.filter(
        workspace=demo, channel__network=Network.PAGE, state=DeliveryState.PUBLISHED
    )
    assert on_page.count() >= 10
    for delivery in on_page:
        entry = PageEntry.objects.get(delivery=delivery)
        assert delivery.remote_url.endswith(f"/@crumb/{entry.pk}")
        assert entry.published_at == delivery.published_at
    soon = Delivery.objects.filter(
        workspace=demo,
        channel__network=Network.PAGE,
        state=DeliveryState.SCHEDULED,
        scheduled_at__lte=module_demo.now + timedelta(minutes=7),
    )
    assert soon.count() == 3
    page = client.get("/@crumb").content.decode()
    assert "Join the Croissant Club" in page
    assert "Lunch is ready" in page


def test_a_kept_demo_plans_the_live_page_posts_again_once_they_are_out(demo, module_demo):
    from socialdesk.demo import build_demo

    def live(after):
        return Delivery.objects.filter(
            channel__network="page",
            state=DeliveryState.SCHEDULED,
            scheduled_at__gt=after,
            scheduled_at__lte=after + timedelta(minutes=7),
        )

    start = module_demo.now  # the demo was built for that moment
    assert live(start).count() == 3
    build_demo(now=start, keep_existing=True)
    assert live(start).count() == 3, "nothing new is planned while the live posts still wait"
    later = start + timedelta(minutes=20)
    build_demo(now=later, keep_existing=True)
    assert live(later).count() == 3
