"""Named people and places the tests are built around.

``workspace`` is a bakery with one member per role (``owner``, ``manager``, ``creator``,
``approver``, ``client``, ``analyst``); ``outsider`` owns ``other_workspace`` and is a member
of nothing else. ``person(role)`` returns the user for a role name, ``token_for(user)`` a raw
API token acting as that user in their workspace.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from socialdesk.content.models import Campaign, Label, Pillar, Post
from socialdesk.content.services import PostContent, create_post
from socialdesk.networks.models import Channel, Network
from socialdesk.workspaces.models import ApiToken, Membership, User, Workspace
from socialdesk.workspaces.roles import Role

pytest_plugins = ["peers", "chromium"]  # real servers (tests/peers.py), a real browser

PASSWORD = "correct horse battery staple"
ROLES = [role.value for role in Role]


def pytest_sessionfinish(session, exitstatus):
    """Django removes the SQLite test database file; its -wal and -shm files stay behind when
    a live server thread still had it open. Remove them too."""
    from pathlib import Path

    from django.conf import settings as django_settings

    database = django_settings.DATABASES["default"]
    if database["ENGINE"].endswith("sqlite3") and database.get("TEST", {}).get("NAME"):
        for suffix in ("-wal", "-shm", "-journal"):
            Path(database["TEST"]["NAME"] + suffix).unlink(missing_ok=True)


def pytest_collection_modifyitems(config, items):
    """Leave out (not skip) the tests written for another pass of scripts/test.sh: the
    database-queue tests in the Redis pass, the Redis tests and the PostgreSQL-only tests in
    the passes they do not belong to. Every test runs, green, in the pass it was written for.
    Also marks ``slow`` the tests that are slow by nature, so ``-m "not slow"`` leaves them
    out (``-m`` is applied after this hook)."""
    import os

    from django.conf import settings as django_settings

    redis = django_settings.TASKS_BACKEND_NAME == "redis"
    postgresql = os.environ.get("DATABASE_URL", "").startswith("postgres")
    elsewhere = {"database_queue": redis, "redis_queue": not redis, "postgresql": not postgresql}
    keep: list[pytest.Item] = []
    leave: list[pytest.Item] = []
    for item in items:
        # Slow by nature, wherever they are: a real browser, the local Bluesky network (its
        # start costs ~25 s once per session). Others carry the mark themselves.
        if item.get_closest_marker("browser") or "bluesky_server" in getattr(
            item, "fixturenames", ()
        ):
            item.add_marker(pytest.mark.slow)
        marks = {mark.name for mark in item.iter_markers()}
        (leave if any(elsewhere[m] for m in marks & elsewhere.keys()) else keep).append(item)
    if leave:
        config.hook.pytest_deselected(items=leave)
        items[:] = keep


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    """Real hashing costs ~0.2 s a user; tests create many users."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def one_task_per_delivery(settings):
    """In this process the engine's tests drive it one step at a time through the task
    queue (a task per delivery, run when the test says). The dispatcher, which workers run by
    default, has its own tests (tests/test_dispatcher.py); worker processes that tests start
    (chaos, dead workers, the CLI) run it as production does."""
    settings.PUBLISHING_DISPATCHER = False


@pytest.fixture(autouse=True)
def fresh_connectors_and_queue():
    """Workers keep connectors per channel (``publishing.connectors``): not across tests.
    With the Redis queue (CI's third run) every test starts with an empty queue."""
    from socialdesk.networks import oauth
    from socialdesk.publishing.connectors import forget_connectors

    forget_connectors()
    oauth._refreshed.clear()  # refresh tokens just rotated away, kept per process
    # The inbox keeps each workspace's rules and FAQ index in memory for a few seconds; test
    # databases reuse ids, so a test must not meet the last one's.
    from socialdesk.inbox import faq, rules

    faq._cache.clear()
    rules._rules_cache.clear()
    rules._compiled.clear()
    rules._tag_ids.clear()
    from django.conf import settings as django_settings

    if django_settings.TASKS_BACKEND_NAME == "redis":
        import django_rq

        django_rq.get_connection().flushdb()
    yield
    forget_connectors()


def built_for_the_module(django_db_blocker, build: Callable[[], object]) -> Iterator[object]:
    """Run ``build`` inside a transaction that stays open until the module's last test and is
    then rolled back, so the next module finds the database as empty as ever; yield what it
    returned. For module-scoped fixtures of what many tests only read (the demo, the cast).

    Each test still asks for ``db``: its own transaction is a savepoint inside this one, so
    whatever a test changes is undone before the next test, which finds what was built as it
    was built. Not for ``transactional_db`` or ``live_server`` tests (they empty tables).
    The tests' own settings (fast password hashing, no dispatcher) are in force while it
    builds, as they are inside a test."""
    from django.db import transaction
    from django.test import override_settings

    test_settings = override_settings(
        PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"],
        PUBLISHING_DISPATCHER=False,
    )
    with django_db_blocker.unblock():
        outer = transaction.atomic()
        outer.__enter__()
        try:
            with test_settings:
                built = build()
        except BaseException:
            transaction.set_rollback(True)
            outer.__exit__(None, None, None)
            raise
    try:
        yield built
    finally:
        with django_db_blocker.unblock():
            transaction.set_rollback(True)
            outer.__exit__(None, None, None)


@pytest.fixture(scope="module")
def module_demo(django_db_setup, django_db_blocker):
    """The demo bakery (``socialdesk.demo``), built once for the whole test module (see
    ``built_for_the_module``): building it costs seconds, and most demo tests only read it.

    Returns the ``Demo`` with two more attributes: ``now``, the moment it was built for, and
    ``seconds``, how long building it took."""
    import time

    from socialdesk.demo import build_demo

    def build():
        now = timezone.now().replace(microsecond=0)
        started = time.perf_counter()
        built = build_demo(now=now)
        built.seconds = time.perf_counter() - started  # type: ignore[attr-defined]
        built.now = now  # type: ignore[attr-defined]
        return built

    yield from built_for_the_module(django_db_blocker, build)


@pytest.fixture(scope="module")
def module_cast(django_db_setup, django_db_blocker) -> Iterator[dict]:
    """The cast below (both workspaces, one member per role, the outsider, the channel, the
    post and the taxonomy) built once for the whole test module (see ``built_for_the_module``),
    for a module of many small tests: building it costs more than most tests' own work.
    A module uses it by overriding ``workspace``, ``other_workspace``, ``members``,
    ``outsider``, ``channel``, ``post`` and ``taxonomy`` with ``cast_fixtures``."""

    def build() -> dict:
        bakery = the_bakery()
        rival = the_rival()
        people = the_members(bakery)
        own_channel = the_channel(bakery)
        return {
            "workspace": bakery.pk,
            "other_workspace": rival.pk,
            "members": {role: user.pk for role, user in people.items()},
            "outsider": the_outsider(rival).pk,
            "channel": own_channel.pk,
            "post": the_post(bakery, people["owner"], own_channel).pk,
            "taxonomy": {name: row.pk for name, row in the_taxonomy(bakery).items()},
        }

    yield from built_for_the_module(django_db_blocker, build)  # type: ignore[misc]


def make_user(email: str, name: str = "") -> User:
    return User.objects.create_user(email=email, password=PASSWORD, name=name)


def the_bakery() -> Workspace:
    # Publishes without approval unless a test turns it on (new workspaces require it).
    return Workspace.objects.create(
        name="Crumb & Co", slug="crumb", time_zone="Europe/Paris", requires_approval=False
    )


def the_rival() -> Workspace:
    return Workspace.objects.create(
        name="Rival Rolls", slug="rival", time_zone="America/New_York", requires_approval=False
    )


def the_members(workspace: Workspace) -> dict[str, User]:
    people = {}
    for role in ROLES:
        user = make_user(f"{role}@crumb.test", name=role.title())
        Membership.objects.create(workspace=workspace, user=user, role=role)
        people[role] = user
    return people


def the_outsider(other_workspace: Workspace) -> User:
    user = make_user("outsider@rival.test", name="Outsider")
    Membership.objects.create(workspace=other_workspace, user=user, role=Role.OWNER)
    return user


def the_channel(workspace: Workspace) -> Channel:
    return Channel.objects.create(workspace=workspace, network=Network.PAGE, handle="crumb")


def the_taxonomy(workspace: Workspace) -> dict:
    today = timezone.localdate()
    return {
        "label": Label.objects.create(workspace=workspace, name="seasonal"),
        "pillar": Pillar.objects.create(
            workspace=workspace, name="Behind the scenes", target_share=30
        ),
        "campaign": Campaign.objects.create(
            workspace=workspace,
            name="Christmas stollen",
            starts_on=today,
            ends_on=today + timedelta(days=30),
            utm_campaign="stollen",
        ),
    }


def the_post(workspace: Workspace, owner: User, channel: Channel) -> Post:
    return create_post(
        workspace,
        owner,
        PostContent(
            text="Fresh sourdough at 7 🍞",
            channel_ids=[channel.pk],
            scheduled_at=timezone.now() + timedelta(days=2),
        ),
    )


def cast_fixtures() -> tuple:
    """Fixtures that take the cast from ``module_cast`` instead of making it for each test
    (fresh instances, read from the database): a module that wants that assigns them,
    ``workspace, other_workspace, members, outsider, channel, post, taxonomy =
    cast_fixtures()``."""

    @pytest.fixture
    def workspace(db, module_cast) -> Workspace:
        return Workspace.objects.get(pk=module_cast["workspace"])

    @pytest.fixture
    def other_workspace(db, module_cast) -> Workspace:
        return Workspace.objects.get(pk=module_cast["other_workspace"])

    @pytest.fixture
    def members(db, module_cast) -> dict[str, User]:
        users = User.objects.in_bulk(module_cast["members"].values())
        return {role: users[pk] for role, pk in module_cast["members"].items()}

    @pytest.fixture
    def outsider(db, module_cast) -> User:
        return User.objects.get(pk=module_cast["outsider"])

    @pytest.fixture
    def channel(db, module_cast) -> Channel:
        return Channel.objects.get(pk=module_cast["channel"])

    @pytest.fixture
    def post(db, module_cast) -> Post:
        return Post.objects.get(pk=module_cast["post"])

    @pytest.fixture
    def taxonomy(db, module_cast) -> dict:
        kinds = {"label": Label, "pillar": Pillar, "campaign": Campaign}
        return {
            name: kinds[name].objects.get(pk=pk) for name, pk in module_cast["taxonomy"].items()
        }

    return workspace, other_workspace, members, outsider, channel, post, taxonomy


@pytest.fixture
def workspace(db) -> Workspace:
    return the_bakery()


@pytest.fixture
def other_workspace(db) -> Workspace:
    return the_rival()


@pytest.fixture
def members(workspace) -> dict[str, User]:
    return the_members(workspace)


@pytest.fixture
def person(members) -> Callable[[str], User]:
    return members.__getitem__


@pytest.fixture
def owner(members) -> User:
    return members["owner"]


@pytest.fixture
def manager(members) -> User:
    return members["manager"]


@pytest.fixture
def creator(members) -> User:
    return members["creator"]


@pytest.fixture
def approver(members) -> User:
    return members["approver"]


@pytest.fixture
def client_user(members) -> User:
    """The workspace member with the client role (``client`` is Django's test client)."""
    return members["client"]


@pytest.fixture
def analyst(members) -> User:
    return members["analyst"]


@pytest.fixture
def outsider(other_workspace) -> User:
    return the_outsider(other_workspace)


@pytest.fixture
def token_for(workspace, other_workspace) -> Callable[..., str]:
    def issue(user: User, scopes: list[str] | None = None) -> str:
        membership = Membership.objects.filter(user=user).select_related("workspace").first()
        assert membership is not None, f"{user} is a member of no workspace"
        _, raw = ApiToken.issue(membership.workspace, user, "test", scopes)
        return raw

    return issue


@pytest.fixture
def signed_in(client: Client) -> Callable[[User], Client]:
    def sign_in(user: User) -> Client:
        client.force_login(user)
        return client

    return sign_in


@pytest.fixture
def channel(workspace) -> Channel:
    return the_channel(workspace)


@pytest.fixture
def other_channel(other_workspace) -> Channel:
    return Channel.objects.create(workspace=other_workspace, network=Network.PAGE, handle="rival")


@pytest.fixture
def taxonomy(workspace) -> dict:
    return the_taxonomy(workspace)


@pytest.fixture
def post(workspace, owner, channel) -> Post:
    return the_post(workspace, owner, channel)


@pytest.fixture
def other_post(other_workspace, outsider, other_channel) -> Post:
    return create_post(
        other_workspace, outsider, PostContent(text="Rival bagels", channel_ids=[other_channel.pk])
    )
