"""A person's data on request (issue 11, item 8): an owner exports everything the workspace
holds about a member, or erases it, keeping the history under "erased person #N"; the API and
the members page go through the same service, and both leave an audit event."""

from __future__ import annotations

import csv
import io
import json
import re
import zipfile
from datetime import timedelta
from decimal import Decimal

import pytest
from api_helpers import call, png_upload
from django.apps import apps
from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse
from django.utils import timezone
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.models import TOTPDevice
from workflow_helpers import stage

from socialdesk import personal_data
from socialdesk.content.media import upload_media
from socialdesk.content.models import ComposerDraft, Post, PostVersion
from socialdesk.content.services import PostContent, create_post
from socialdesk.inbox.models import (
    Contact,
    Conversation,
    InboxMember,
    Message,
    Note,
    Presence,
    ReplyApproval,
    Rule,
    SavedReply,
)
from socialdesk.networks.models import ChannelTransition
from socialdesk.notifications.models import Notification, NotificationPreference
from socialdesk.notifications.services import create_webhook, notify
from socialdesk.publishing.models import BoostSpend, Delivery, DeliveryTransition
from socialdesk.review.models import Comment, SeenVersion
from socialdesk.review.services import add_comment, create_link
from socialdesk.workflow.models import (
    Assignment,
    AuditEvent,
    Decision,
    ManualTick,
    StageVisit,
)
from socialdesk.workspaces.models import (
    ApiToken,
    CalendarFeed,
    ErasedPerson,
    Invitation,
    Membership,
    SignInEvent,
    User,
)
from socialdesk.workspaces.roles import Role
from tests.conftest import PASSWORD, make_user

EMAIL = "ana.quintero@crumb.test"
NAME = "Ana Quintero"


@pytest.fixture
def ana(workspace, members) -> User:
    user = make_user(EMAIL, name=NAME)
    Membership.objects.create(workspace=workspace, user=user, role=Role.MANAGER)
    return user


@pytest.fixture
def ana_everywhere(client, workspace, members, owner, ana, channel, settings, tmp_path):
    """Ana has left a row in every table that can hold a person: through the services where
    that is short, directly otherwise."""
    settings.MEDIA_ROOT = tmp_path
    at = timezone.now()
    # Sign in through the page: her sign-in log, and the workspace's audit log.
    client.post(reverse("login"), {"username": EMAIL, "password": PASSWORD})
    client.post(reverse("login"), {"username": EMAIL, "password": "wrong"})
    post = create_post(
        workspace,
        ana,
        PostContent(
            text="Rye on Fridays", channel_ids=[channel.pk], scheduled_at=at + timedelta(days=3)
        ),
    )
    version = post.versions.get()
    owners_post = create_post(workspace, owner, PostContent(text="Stollen is back"))
    add_comment(owners_post, f"@ana.quintero can you check? cc {EMAIL}", author=owner)
    add_comment(owners_post, "=HYPERLINK(1) Looks good to me", author=ana)
    ApiToken.issue(workspace, ana, "nightly export")
    CalendarFeed.objects.create(workspace=workspace, user=ana)
    Invitation.objects.create(
        workspace=workspace, email="new@crumb.test", role="creator", invited_by=ana
    )
    TOTPDevice.objects.create(user=ana, name="Ana's phone", confirmed=True)
    StaticDevice.objects.create(user=ana, name="recovery codes")
    Invitation.objects.create(workspace=workspace, email=EMAIL, role="manager", accepted_at=at)
    delivery = Delivery.objects.filter(post=post).first()
    assert delivery is not None
    ChannelTransition.objects.create(
        workspace=workspace,
        channel=channel,
        from_status="connected",
        to_status="paused",
        reason="holiday",
        actor=ana,
        actor_label=f"user {ana.pk} ({EMAIL})",
    )
    upload_media(workspace, ana, png_upload())
    ComposerDraft.objects.create(workspace=workspace, user=ana, data={"text": "half"}, saved_at=at)
    BoostSpend.objects.create(
        workspace=workspace,
        delivery=delivery,
        amount=Decimal("5"),
        spent_on=at.date(),
        recorded_by=ana,
    )
    notify(workspace, [owner], "post.ready", f"{NAME} finished a post", actor=ana)
    NotificationPreference.objects.create(workspace=workspace, user=ana, email_mode="off")
    create_webhook(
        workspace, ana, name="Slack", url="https://hooks.example.test/x", events=["post.ready"]
    )
    approval = stage(workspace, "approval")
    approval.approvers.add(ana)
    Assignment.objects.create(workspace=workspace, post=owners_post, stage=approval, assignee=ana)
    StageVisit.objects.create(
        workspace=workspace, post=owners_post, stage=approval, entered_at=at, assignee=ana
    )
    ManualTick.objects.create(
        workspace=workspace, post=owners_post, stage=approval, item="Proofread", ticked_by=ana
    )
    Decision.objects.create(
        workspace=workspace,
        post=owners_post,
        version=owners_post.versions.get(),
        stage=approval,
        decision="approve",
        comment="Fine by me",
        user=ana,
    )
    link = create_link(
        workspace, ana, "Acme legal", expires_at=at + timedelta(days=7), post_ids=[post.pk]
    )
    link.revoked_by = ana
    link.save(update_fields=["revoked_by"])
    Comment.objects.filter(author=owner).update(resolved_by=ana)
    SeenVersion.objects.create(workspace=workspace, post=post, version=version, user=ana)
    # The inbox: a conversation assigned to her, her reply, her note, a note naming her, a
    # saved reply and a rule she made.
    contact = Contact.objects.create(workspace=workspace, network="page", remote_id="a@b.test")
    conversation = Conversation.objects.create(
        workspace=workspace,
        channel=channel,
        contact=contact,
        kind="question",
        thread_key="q1",
        assignee=ana,
    )
    Message.objects.create(
        workspace=workspace,
        conversation=conversation,
        channel=channel,
        direction="out",
        text="Yes, we are open",
        author_user=ana,
    )
    Note.objects.create(
        workspace=workspace, conversation=conversation, author=ana, text="Called them back"
    )
    Note.objects.create(
        workspace=workspace, conversation=conversation, author=owner, text="@ana.quintero look"
    ).mentions.add(ana)
    SavedReply.objects.create(workspace=workspace, name="Hours", text="9 to 5", created_by=ana)
    Rule.objects.create(workspace=workspace, name="Spam", created_by=ana)
    # ... a reply she approved, her availability for assignment, a conversation she has open.
    waiting = Message.objects.create(
        workspace=workspace, conversation=conversation, channel=channel, direction="out", text="Hi"
    )
    ReplyApproval.objects.create(
        workspace=workspace, message=waiting, original_text="Hi", decided_by=ana
    )
    InboxMember.objects.create(workspace=workspace, user=ana, available=True)
    Presence.objects.create(workspace=workspace, conversation=conversation, user=ana)
    from socialdesk.analytics.models import Experiment
    from socialdesk.listening.models import Topic, TopicQuery

    Experiment.objects.create(
        workspace=workspace,
        name="Wording",
        metric="clicks_per_view",
        baseline_rate=0.02,
        minimum_effect=0.01,
        required_per_variant=100,
        created_by=ana,
    )
    topic = Topic.objects.create(workspace=workspace, name="Crumb")
    TopicQuery.objects.create(workspace=workspace, topic=topic, text="crumb", created_by=ana)
    from socialdesk.publishing.models import CrisisPause

    CrisisPause.objects.create(
        workspace=workspace,
        reason="Oven fire",
        started_by=ana,
        ended_at=at,
        ended_by=ana,
        released_at=at,
    )

    # ... a report she made and receives.
    from socialdesk.analytics.models import Report

    report = Report.objects.create(
        workspace=workspace, name="Weekly", sections=["overview"], created_by=ana
    )
    report.recipients.add(ana)

    from socialdesk.listening.models import Alert

    Alert.objects.create(
        workspace=workspace,
        topic=topic,
        kind="spike",
        title="Crumb: 42 mentions in the last hour; usual 3±2",
        window_start=at,
        window_end=at,
        state="seen",
        seen_at=at,
        seen_by=ana,
    )
    return post


def user_fields():
    """(model label, field) of every field of every installed model that points at a user."""
    found = set()
    user_model = apps.get_model(settings.AUTH_USER_MODEL)
    for model in apps.get_models():
        for field in model._meta.get_fields():
            if field.concrete and field.is_relation and field.related_model is user_model:
                found.add((model._meta.label, field.name))
    return found


@pytest.mark.any_database
def test_every_field_pointing_at_a_person_is_in_the_holdings():
    listed = {(h.model, h.field) for h in personal_data.HOLDINGS}
    missing = user_fields() - listed
    assert not missing, (
        f"Add these to personal_data.HOLDINGS (what they hold, how to erase): {missing}"
    )
    assert listed <= user_fields(), f"Listed but gone: {listed - user_fields()}"


def read_zip(body: bytes) -> tuple[dict, dict[str, list[list[str]]]]:
    archive = zipfile.ZipFile(io.BytesIO(body))
    document = json.loads(archive.read("person.json"))
    tables = {
        name: list(csv.reader(io.StringIO(archive.read(name).decode())))
        for name in archive.namelist()
        if name.endswith(".csv")
    }
    return document, tables


def test_the_export_holds_every_table_with_her_rows_and_no_secret(
    workspace, owner, ana, ana_everywhere
):
    body = personal_data.export_person(workspace, ana, by=owner)
    document, tables = read_zip(body)
    assert document["person"]["email"] == EMAIL
    assert document["person"]["role"] == "manager"
    empty = [name for name, table in document["tables"].items() if not table["rows"]]
    # Only the stand-in table is empty: she is nobody's stand-in.
    assert empty == ["workspaces.erasedperson.user"]
    assert all(table["holds"] for table in document["tables"].values())
    for name, table in document["tables"].items():
        if table["rows"]:
            assert len(tables[f"{name}.csv"]) == len(table["rows"]) + 1  # with its header
    token_hash = ApiToken.objects.get(user=ana).token_hash
    device_key = TOTPDevice.objects.get(user=ana).key
    assert token_hash not in body.decode("latin-1") and token_hash not in json.dumps(document)
    assert device_key not in json.dumps(document)
    secretish = re.compile(r"token|secret|salt|nonce|hash|password")
    for name, table in document["tables"].items():
        for row in table["rows"]:
            assert not [key for key in row if secretish.search(key)], name
    assert "url" not in document["tables"]["notifications.webhook.created_by"]["rows"][0]
    # Her comment starts like a formula: the CSV cell is neutralised, the JSON is as written.
    comments = tables["review.comment.author.csv"]
    assert [cell for cell in comments[1] if "HYPERLINK" in cell] == [
        "'=HYPERLINK(1) Looks good to me"
    ]
    signins = document["tables"]["workspaces.signinevent.user"]["rows"]
    assert {row["kind"] for row in signins} == {"signed_in", "failed"}
    with pytest.raises(PermissionDenied, match="Only an owner may export"):
        personal_data.export_person(workspace, owner, by=ana)
    event = AuditEvent.objects.get(action="person.exported")
    assert (event.actor, event.detail) == (owner, f"Exported the data of {NAME}")


def workspace_dump(workspace) -> str:
    """Every row of every table that belongs to ``workspace``, as text."""
    lines = []
    for model in apps.get_models(include_auto_created=True):
        names = {f.name for f in model._meta.get_fields()}
        if "workspace" in names:
            rows = model._default_manager.filter(workspace=workspace)
        elif model is PostVersion:
            rows = model._default_manager.filter(post__workspace=workspace)
        elif model._meta.auto_created:
            # A many-to-many table: its rows through the model that declares the field.
            source = next(
                f
                for f in model._meta.concrete_fields
                if f.is_relation and f.related_model is not User
            )
            if "workspace" not in {f.name for f in source.related_model._meta.get_fields()}:
                continue
            rows = model._default_manager.filter(**{f"{source.name}__workspace": workspace})
        else:
            continue
        lines += [f"{model._meta.label} {row}" for row in rows.values()]
    return "\n".join(lines)


def test_erasing_leaves_no_trace_of_her_and_keeps_the_history(
    workspace, owner, ana, ana_everywhere
):
    post = ana_everywhere
    personal_data.export_person(workspace, ana, by=owner)
    dump = workspace_dump(workspace).lower()
    assert "quintero" in dump  # the dump does see her before

    erased = personal_data.erase_person(workspace, ana, by=owner, confirm_email=EMAIL)

    dump = workspace_dump(workspace).lower()
    for trace in ("quintero", EMAIL, "ana.q", f"user {ana.pk} "):
        assert trace not in dump, trace
    assert erased.label == "erased person #1"
    stand_in = erased.user
    # The history stays, by the stand-in.
    post.refresh_from_db()
    assert str(post.author) == "erased person #1"
    assert post.versions.get().created_by == stand_in
    assert Decision.objects.get().who == "erased person #1"
    assert Comment.objects.filter(author=stand_in).count() == 1
    assert DeliveryTransition.objects.filter(actor=stand_in).exists()
    signins = AuditEvent.objects.filter(workspace=workspace, action__startswith="signin.")
    assert {e.action for e in signins} == {"signin.signed_in", "signin.failed"}
    assert {e.who for e in signins} == {"erased person #1", "sign-in attempt"}
    assert {e.target_repr for e in signins} == {"erased person #1"}
    exported = AuditEvent.objects.get(action="person.exported")
    assert exported.detail == "Exported the data of erased person #1"
    mention = Comment.objects.get(author=owner)
    assert mention.body == "erased person #1 can you check? cc erased person #1"
    assert Notification.objects.get(recipient=owner, event="post.ready").title == (
        "erased person #1 finished a post"
    )
    last = AuditEvent.objects.filter(workspace=workspace).first()
    assert (last.action, last.actor, last.detail) == (
        "person.erased",
        owner,
        "Erased the data of erased person #1",
    )
    # The rows only about her are gone; so is the account, which had no other workspace.
    assert not Membership.objects.filter(user=ana).exists()
    assert not Notification.objects.filter(recipient=ana).exists()
    assert not Assignment.objects.exists()
    assert list(stage(workspace, "approval").approvers.all()) == []
    ana.refresh_from_db()
    assert (ana.email, ana.name, ana.is_active) == (f"erased-{ana.pk}@invalid", "", False)
    assert not ana.has_usable_password()
    assert not SignInEvent.objects.filter(user=ana).exists()
    assert not TOTPDevice.objects.filter(user=ana).exists()
    assert not ApiToken.objects.filter(user=ana).exists()
    assert not stand_in.is_active and not stand_in.has_usable_password()


def test_a_second_erasure_is_number_two_and_a_member_elsewhere_keeps_her_account(
    workspace, other_workspace, owner, ana, members
):
    Membership.objects.create(workspace=other_workspace, user=ana, role=Role.CREATOR)
    theirs = create_post(other_workspace, ana, PostContent(text="Bagels"))
    first = personal_data.erase_person(
        workspace, members["analyst"], by=owner, confirm_email="analyst@crumb.test"
    )
    second = personal_data.erase_person(workspace, ana, by=owner, confirm_email=EMAIL.upper())
    assert (first.label, second.label) == ("erased person #1", "erased person #2")
    ana.refresh_from_db()
    assert (ana.email, ana.name, ana.is_active) == (EMAIL, NAME, True)
    assert Post.objects.get(pk=theirs.pk).author == ana  # the other workspace is untouched
    assert Membership.objects.filter(user=ana, workspace=other_workspace).exists()


def test_an_owner_cannot_erase_themselves_nor_the_last_owner(workspace, owner, members):
    with pytest.raises(ValidationError, match="last owner"):
        personal_data.erase_person(workspace, owner, by=owner, confirm_email=owner.email)
    with pytest.raises(ValidationError, match="last owner"):
        personal_data.erase_person(
            workspace, owner, by=members["manager"], confirm_email=owner.email
        )
    second = make_user("second.owner@crumb.test")
    Membership.objects.create(workspace=workspace, user=second, role=Role.OWNER)
    with pytest.raises(ValidationError, match="cannot erase your own data"):
        personal_data.erase_person(workspace, owner, by=owner, confirm_email=owner.email)
    with pytest.raises(PermissionDenied):
        personal_data.erase_person(
            workspace, members["creator"], by=members["manager"], confirm_email="creator@crumb.test"
        )
    with pytest.raises(ValidationError, match="Type creator@crumb.test exactly"):
        personal_data.erase_person(
            workspace, members["creator"], by=owner, confirm_email="someone@crumb.test"
        )
    assert not ErasedPerson.objects.exists()
    assert Membership.objects.filter(workspace=workspace).count() == len(members) + 1  # + second


def test_a_failure_half_way_writes_nothing(workspace, owner, ana, ana_everywhere, monkeypatch):
    before = workspace_dump(workspace)
    users = list(User.objects.order_by("pk").values())

    def broken(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(personal_data, "_scrub_text", broken)
    with pytest.raises(RuntimeError):
        personal_data.erase_person(workspace, ana, by=owner, confirm_email=EMAIL)
    assert workspace_dump(workspace) == before
    assert list(User.objects.order_by("pk").values()) == users


# --- Through the API and the members page --------------------------------------------------


def member_id(workspace, user) -> int:
    return Membership.objects.get(workspace=workspace, user=user).pk


def test_the_owner_exports_and_erases_through_the_api(workspace, owner, ana, token_for):
    token = token_for(owner)
    path = f"/workspaces/{workspace.slug}/members/{member_id(workspace, ana)}"
    response = call("get", f"{path}/data", token)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/zip"
    assert read_zip(response.content)[0]["person"]["name"] == NAME

    wrong = call("post", f"{path}/erase", token, {"confirm_email": "nobody@crumb.test"})
    assert wrong.status_code == 422
    assert "Type ana.quintero@crumb.test exactly" in wrong.content.decode()
    done = call("post", f"{path}/erase", token, {"confirm_email": EMAIL})
    assert done.status_code == 200, done.content
    assert done.json() == {"erased_as": "erased person #1", "account": "anonymised"}
    assert call("get", f"{path}/data", token).status_code == 404

    mine = f"/workspaces/{workspace.slug}/members/{member_id(workspace, owner)}/erase"
    refused = call("post", mine, token, {"confirm_email": owner.email})
    assert refused.status_code == 422
    assert "last owner" in refused.content.decode()


@pytest.mark.parametrize("role", ["manager", "creator", "approver", "client", "analyst"])
def test_only_owners_may_export_or_erase_through_the_api(workspace, ana, person, token_for, role):
    token = token_for(person(role))
    path = f"/workspaces/{workspace.slug}/members/{member_id(workspace, ana)}"
    assert call("get", f"{path}/data", token).status_code == 403
    assert call("post", f"{path}/erase", token, {"confirm_email": EMAIL}).status_code == 403
    assert Membership.objects.filter(user=ana).exists()
    assert not AuditEvent.objects.filter(action__startswith="person.").exists()


def test_the_members_page_offers_export_and_erase_to_owners_only(
    workspace, owner, manager, ana, signed_in
):
    client = signed_in(manager)
    page = client.get(reverse("members", args=[workspace.slug])).content.decode()
    assert "Remove…" in page
    assert "Export data" not in page and "Erase…" not in page
    ana_id = member_id(workspace, ana)
    assert client.post(reverse("member_data", args=[workspace.slug, ana_id])).status_code == 403
    assert client.get(reverse("member_erase", args=[workspace.slug, ana_id])).status_code == 403

    client = signed_in(owner)
    page = client.get(reverse("members", args=[workspace.slug])).content.decode()
    every_member = Membership.objects.filter(workspace=workspace).count()
    assert page.count("Export data") == every_member  # herself too
    assert page.count("Erase…") == every_member - 1  # not herself
    download = client.post(reverse("member_data", args=[workspace.slug, ana_id]))
    assert download["Content-Type"] == "application/zip"
    assert read_zip(download.content)[0]["person"]["email"] == EMAIL

    erase = reverse("member_erase", args=[workspace.slug, ana_id])
    assert f"Type <strong>{EMAIL}</strong> to confirm" in client.get(erase).content.decode()
    wrong = client.post(erase, {"confirm_email": "ana@crumb.test"})
    assert wrong.status_code == 400
    assert "Type ana.quintero@crumb.test exactly" in wrong.content.decode()
    assert Membership.objects.filter(user=ana).exists()
    done = client.post(erase, {"confirm_email": EMAIL}, follow=True)
    assert "The data of Ana Quintero was erased" in done.content.decode()
    assert "erased person #1" in done.content.decode()
    assert not Membership.objects.filter(user=ana).exists()
