"""``socialdesk demo`` never deletes a real workspace at the demo's address.

Apart from tests/test_demo.py, whose tests all find the demo already built: this one needs a
database where somebody else's workspace took the address first."""

import pytest
from django.core.management import CommandError, call_command

from socialdesk.workspaces.models import User, Workspace


def test_the_demo_never_deletes_a_real_workspace_that_took_its_address(db, owner, workspace):
    # conftest's `workspace` has slug "crumb" and is owned by owner@crumb.test, not the demo.
    with pytest.raises(CommandError, match="not the demo"):
        call_command("demo")
    assert Workspace.objects.get(pk=workspace.pk).name == "Crumb & Co"
    assert not User.objects.filter(email="owner@crumb.example").exists()
