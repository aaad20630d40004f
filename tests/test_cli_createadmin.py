"""``socialdesk createadmin`` without a terminal: everything from options, or a clear refusal."""

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from socialdesk.workspaces.models import Membership, User, Workspace
from socialdesk.workspaces.roles import Role

GOOD = "flour-water-salt-42"


def createadmin(*args: str) -> str:
    out = StringIO()
    call_command("createadmin", *args, "--no-input", stdout=out)
    return out.getvalue()


def test_createadmin_creates_a_user_and_a_workspace_they_own(db):
    output = createadmin(
        "--email", "Camille@Crumb.example", "--password", GOOD, "--name", "Camille",
        "--workspace", "Crumb & Co", "--time-zone", "Europe/Paris",
    )  # fmt: skip
    user = User.objects.get(email="camille@crumb.example")
    assert user.check_password(GOOD) and user.name == "Camille" and user.is_superuser
    workspace = Workspace.objects.get(slug="crumb-co")
    assert workspace.time_zone == "Europe/Paris"
    assert Membership.objects.get(workspace=workspace, user=user).role == Role.OWNER
    assert "Created camille@crumb.example" in output


def test_createadmin_without_a_workspace_creates_only_the_user(db):
    createadmin("--email", "solo@crumb.example", "--password", GOOD)
    assert User.objects.filter(email="solo@crumb.example").exists()
    assert not Workspace.objects.exists()


def test_createadmin_refuses_a_weak_password_and_creates_nothing(db):
    with pytest.raises(CommandError, match="--password: .*too common"):
        createadmin("--email", "weak@crumb.example", "--password", "password")
    assert not User.objects.exists()


def test_createadmin_without_an_email_and_no_terminal_says_what_is_missing(db):
    with pytest.raises(CommandError, match="--email is required"):
        createadmin("--password", GOOD)


def test_createadmin_refuses_an_existing_email(db, owner):
    with pytest.raises(CommandError, match="already exists"):
        createadmin("--email", owner.email, "--password", GOOD)


def test_a_bad_workspace_leaves_no_half_created_user(db):
    with pytest.raises(CommandError, match="--time-zone"):
        createadmin(
            "--email", "tz@crumb.example", "--password", GOOD,
            "--workspace", "Crumb", "--time-zone", "Mars/Olympus",
        )  # fmt: skip
    assert not User.objects.filter(email="tz@crumb.example").exists()
