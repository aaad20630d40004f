"""CSV import and export of posts (issue 5, item 7): every row checked first, every error
with its row and column, all or nothing, and export → import round-trips."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime

import pytest
from api_helpers import call, png_upload
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from fake_network import FakeConnector, install

from socialdesk.content import bulk
from socialdesk.content.media import upload_media
from socialdesk.content.models import Post
from socialdesk.networks.models import Channel, ChannelStatus, Network
from socialdesk.publishing.models import Delivery, DeliveryState, DeliveryTransition

HEADER = "date,time,time zone,channels,text,media,labels,pillar,campaign\n"
NOW = datetime(2029, 1, 1, 12, 0, tzinfo=UTC)


def csv_bytes(*rows: str, header: str = HEADER) -> bytes:
    return (header + "".join(r + "\n" for r in rows)).encode()


@pytest.fixture
def bluesky(workspace) -> Channel:
    return Channel.objects.create(
        workspace=workspace, network=Network.BLUESKY, handle="crumb.bsky.social", time_zone="UTC"
    )


def test_a_valid_file_creates_scheduled_posts_and_drafts_with_their_taxonomy(
    workspace, owner, channel, bluesky, taxonomy
):
    data = csv_bytes(
        '2030-03-06,09:00,Europe/Paris,page:crumb,"Fresh rye, today 🍞",,seasonal,'
        "Behind the scenes,Christmas stollen",
        "2030-03-07,18:30,,page:crumb;crumb.bsky.social,Pizza night,,,,",
        ",,,page:crumb,An idea for later,,,,",
    )
    plan = bulk.import_csv(workspace, owner, data, now=NOW)
    assert (plan.posts, plan.deliveries, plan.scheduled, plan.drafts) == (3, 4, 2, 1)

    rye = Post.objects.get(text="Fresh rye, today 🍞")
    assert [x.name for x in rye.labels.all()] == ["seasonal"]
    assert rye.pillar == taxonomy["pillar"] and rye.campaign == taxonomy["campaign"]
    assert rye.author == owner and rye.versions.get().number == 1
    delivery = rye.deliveries.get()
    assert delivery.state == DeliveryState.SCHEDULED
    assert delivery.scheduled_at == datetime(2030, 3, 6, 8, 0, tzinfo=UTC)  # Paris is UTC+1
    assert delivery.enqueued_for == delivery.scheduled_at
    move = DeliveryTransition.objects.get(delivery=delivery)
    assert (move.from_state, move.to_state, move.actor) == ("draft", "scheduled", owner)

    # No zone: each channel's own (the page follows the workspace's Paris, Bluesky is UTC).
    pizza = {
        d.channel_id: d.scheduled_at for d in Post.objects.get(text="Pizza night").deliveries.all()
    }
    assert pizza[channel.pk] == datetime(2030, 3, 7, 17, 30, tzinfo=UTC)
    assert pizza[bluesky.pk] == datetime(2030, 3, 7, 18, 30, tzinfo=UTC)

    idea = Post.objects.get(text="An idea for later").deliveries.get()
    assert idea.state == DeliveryState.DRAFT and idea.scheduled_at is None


def test_every_error_is_reported_with_its_row_and_column_and_nothing_is_written(
    workspace, owner, channel, taxonomy, settings, tmp_path
):
    settings.MEDIA_ROOT = tmp_path
    upload_media(workspace, owner, png_upload("loaf.png"), "A loaf")
    data = csv_bytes(
        "2030-03-06,09:00,,page:crumb,Fine row,loaf.png,,,",
        "2030-03-06,09:00,,instagram:crumb,Unknown channel,,,,",
        "06/03/2030,9h,,page:crumb,Bad date and time,,,,",
        "2030-03-31,02:30,Europe/Paris,page:crumb,In the spring gap,,,,",
        "2030-10-27,02:30,Europe/Paris,page:crumb,Happens twice,,,,",
        "2020-01-01,09:00,,page:crumb,In the past,,,,",
        "2030-03-06,09:00,Mars/Olympus,page:crumb,Bad zone,,,,",
        "2030-03-06,09:00,,page:crumb,Unknown things,nope.png,vegan,Recipes,Easter",
        "2030-03-06,,,page:crumb,Date without time,,,,",
    )
    with pytest.raises(ValidationError):
        bulk.import_csv(workspace, owner, data, now=NOW)
    assert not Post.objects.filter(workspace=workspace).exists()

    errors = bulk.validate_csv(workspace, data, now=NOW).errors
    found = {(e.row, e.column) for e in errors}
    assert found == {
        (3, "channels"),
        (4, "date"),
        (4, "time"),
        (5, "time"),
        (6, "time"),
        (7, "date"),
        (8, "time zone"),
        (9, "media"),
        (9, "labels"),
        (9, "pillar"),
        (9, "campaign"),
        (10, "time"),
    }
    text = {(e.row, e.column): e.message for e in errors}
    assert "page:crumb" in text[(3, "channels")]  # names the channels there are
    assert "2030-12-01" in text[(4, "date")] or "year-month-day" in text[(4, "date")]
    assert "does not exist" in text[(5, "time")] and "03:00" in text[(5, "time")]
    assert "twice" in text[(6, "time")]
    assert "in the past" in text[(7, "date")]
    assert "media library" in text[(9, "media")]
    assert str(errors[0]).startswith("Row 3, channels:")


def test_an_ambiguous_time_is_accepted_with_its_utc_offset(workspace, owner, channel):
    data = csv_bytes("2030-10-27,02:30 +01:00,Europe/Paris,page:crumb,Second 02:30,,,,")
    bulk.import_csv(workspace, owner, data, now=NOW)
    delivery = Delivery.objects.get(post__text="Second 02:30")
    assert delivery.scheduled_at == datetime(2030, 10, 27, 1, 30, tzinfo=UTC)


def test_the_networks_rules_are_checked_for_every_channel(workspace, owner, channel, monkeypatch):
    rule = "At most {limit} characters; this has {length}."
    install(monkeypatch, FakeConnector(max_length=10, length_message=rule))
    data = csv_bytes(
        "2030-03-06,09:00,,page:crumb,Short,,,,",
        "2030-03-06,09:00,,page:crumb,Far too long for it,,,,",
        ",,,page:crumb,Drafts are not checked against the network,,,,",
    )
    errors = bulk.validate_csv(workspace, data, now=NOW).errors
    assert [(e.row, e.column) for e in errors] == [(3, "text")]
    assert "Public page crumb: At most 10 characters" in errors[0].message


def test_scheduling_rules_hold_disconnected_channel_alt_text_and_approval(
    workspace, owner, channel, settings, tmp_path
):
    settings.MEDIA_ROOT = tmp_path
    upload_media(workspace, owner, png_upload("bare.png"), "")
    Channel.objects.filter(pk=channel.pk).update(status=ChannelStatus.DISCONNECTED)
    data = csv_bytes("2030-03-06,09:00,,page:crumb,Hello,bare.png,,,")
    columns = {e.column for e in bulk.validate_csv(workspace, data, now=NOW).errors}
    assert columns == {"channels", "media"}

    Channel.objects.filter(pk=channel.pk).update(status=ChannelStatus.CONNECTED)
    workspace.requires_approval = True
    workspace.save(update_fields=["requires_approval"])
    errors = bulk.validate_csv(
        workspace, csv_bytes("2030-03-06,09:00,,page:crumb,Hi,,,,"), now=NOW
    ).errors
    assert [(e.row, e.column) for e in errors] == [(2, "date")]
    assert "approval" in errors[0].message
    # As drafts the same posts import.
    assert bulk.validate_csv(workspace, csv_bytes(",,,page:crumb,Hi,,,,"), now=NOW).ok


def test_utf8_with_a_bom_semicolons_and_any_column_order_are_read(workspace, owner, channel):
    data = '\ufefftext;Channels;Date;Time\n"Grüße; aus Köln";page:crumb;2030-03-06;09:00\n'
    plan = bulk.import_csv(workspace, owner, data.encode(), now=NOW)
    assert plan.posts == 1
    assert Post.objects.get().text == "Grüße; aus Köln"


def test_other_encodings_unknown_columns_and_oversized_files_are_refused_clearly(workspace):
    latin1 = (HEADER + ",,,page:crumb,Café,,,,\n").encode("latin-1")
    [error] = bulk.validate_csv(workspace, latin1).errors
    assert error.row == 0 and "not UTF-8" in error.message and "CSV UTF-8" in error.message

    [error] = bulk.validate_csv(workspace, b"date,time,channels,text,colour\n").errors
    assert (error.row, error.column) == (1, "colour") and "Unknown column" in error.message

    missing = bulk.validate_csv(workspace, b"date,text\n").errors
    assert {(e.row, e.column) for e in missing} == {(1, "time"), (1, "channels")}

    [error] = bulk.validate_csv(workspace, b"x" * (bulk.MAX_BYTES + 1)).errors
    assert "the limit is 5 MB" in error.message


def test_export_then_import_round_trips(
    workspace, owner, channel, bluesky, taxonomy, settings, tmp_path
):
    settings.MEDIA_ROOT = tmp_path
    upload_media(workspace, owner, png_upload("loaf.png"), "A loaf")
    data = csv_bytes(
        '2030-03-06,09:00,Europe/Paris,page:crumb;bluesky:crumb.bsky.social,"Two lines\nof rye",'
        "loaf.png,seasonal,Behind the scenes,Christmas stollen",
        "2030-10-27,02:30 +01:00,Europe/Paris,page:crumb,The second 02:30,,,,",
        '2030-03-08,23:15,Europe/Paris,page:crumb,"Quotes ""and"", commas",,,,',
    )
    bulk.import_csv(workspace, owner, data, now=NOW)
    exported = bulk.export_csv(workspace, date(2030, 3, 1), date(2030, 10, 31))
    assert exported.startswith("\ufeff" + ",".join(bulk.COLUMNS))
    assert "02:30 +1" in exported  # the repeated hour keeps its offset

    Post.objects.filter(workspace=workspace).delete()
    bulk.import_csv(workspace, owner, exported.encode(), now=NOW)
    assert bulk.export_csv(workspace, date(2030, 3, 1), date(2030, 10, 31)) == exported
    assert Post.objects.filter(workspace=workspace).count() == 3


def test_export_covers_whole_local_days_and_leaves_out_other_workspaces(
    workspace, owner, channel, other_workspace, other_channel, outsider
):
    data = csv_bytes(
        "2030-03-06,00:00,,page:crumb,Midnight in Paris,,,,",
        "2030-03-06,23:59,,page:crumb,Last minute,,,,",
        "2030-03-07,00:00,,page:crumb,Next day,,,,",
    )
    bulk.import_csv(workspace, owner, data, now=NOW)
    bulk.import_csv(
        other_workspace, outsider, csv_bytes("2030-03-06,12:00,,page:rival,Rival,,,,"), now=NOW
    )
    text = bulk.export_csv(workspace, date(2030, 3, 6), date(2030, 3, 6))
    assert "Midnight in Paris" in text and "Last minute" in text
    assert "Next day" not in text and "Rival" not in text


# --- API ----------------------------------------------------------------------------------


def upload(data: bytes, **extra):
    return {"file": SimpleUploadedFile("posts.csv", data, content_type="text/csv"), **extra}


def test_api_dry_run_checks_without_writing_then_imports(workspace, owner, channel, token_for):
    data = csv_bytes("2030-03-06,09:00,,page:crumb,From a script,,,,")
    path = f"/workspaces/{workspace.slug}/posts.csv"
    response = call("post", path, token_for(owner), files=upload(data, dry_run="true"))
    assert response.status_code == 200, response.content
    assert response.json() == {
        "dry_run": True,
        "posts": 1,
        "deliveries": 1,
        "scheduled": 1,
        "drafts": 0,
        "post_ids": [],
    }
    assert not Post.objects.exists()
    response = call("post", path, token_for(owner), files=upload(data))
    assert response.status_code == 200
    [post_id] = response.json()["post_ids"]
    assert Post.objects.get(pk=post_id).text == "From a script"


def test_api_errors_name_row_and_column(workspace, owner, channel, token_for):
    data = csv_bytes("2030-03-06,09:00,,page:crumb,ok,,,,", "2030-13-01,09:00,,page:crumb,bad,,,,")
    response = call(
        "post", f"/workspaces/{workspace.slug}/posts.csv", token_for(owner), files=upload(data)
    )
    assert response.status_code == 422
    assert response["Content-Type"] == "application/problem+json"
    [error] = response.json()["errors"]
    assert error["field"] == "row 3: date" and "year-month-day" in error["message"]
    assert not Post.objects.exists()


def test_api_export_is_csv_and_a_client_may_export_but_not_import(
    workspace, owner, client_user, channel, token_for
):
    bulk.import_csv(workspace, owner, csv_bytes("2030-03-06,09:00,,page:crumb,Hello,,,,"), now=NOW)
    path = f"/workspaces/{workspace.slug}/posts.csv?start=2030-03-01&end=2030-03-31"
    response = call("get", path, token_for(client_user))
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert "Hello" in response.content.decode()
    refused = call(
        "post",
        f"/workspaces/{workspace.slug}/posts.csv",
        token_for(client_user),
        files=upload(csv_bytes(",,,page:crumb,x,,,,")),
    )
    assert refused.status_code == 403
    bad_range = call(
        "get",
        f"/workspaces/{workspace.slug}/posts.csv?start=2030-03-31&end=2030-03-01",
        token_for(owner),
    )
    assert bad_range.status_code == 422


# --- Web pages ----------------------------------------------------------------------------


def test_the_page_shows_every_error_then_imports_a_fixed_file_after_the_preview(
    workspace, owner, channel, signed_in, settings, tmp_path
):
    settings.DATA_DIR = tmp_path
    client = signed_in(owner)
    url = f"/w/{workspace.slug}/posts/bulk/"
    page = client.get(url)
    assert page.status_code == 200 and b"Download the example file" in page.content

    bad = csv_bytes("2030-03-06,09:00,,page:crumb,ok,,,,", "2030-03-06,25:00,,page:crumb,bad,,,,")
    response = client.post(url, {"file": SimpleUploadedFile("plan.csv", bad)})
    assert response.status_code == 400
    body = response.content.decode()
    assert "Nothing was imported" in body and ">3<" in body and "hours:minutes" in body

    good = csv_bytes(
        "2030-03-06,09:00,,page:crumb,ok,,,,", "2030-03-06,11:00,,page:crumb,fixed,,,,"
    )
    preview = client.post(url, {"file": SimpleUploadedFile("plan.csv", good)})
    assert preview.status_code == 200 and b"Import 2 posts" in preview.content
    assert not Post.objects.exists()
    pending = preview.context["pending"]
    done = client.post(url + "import/", {"pending": pending})
    assert done.status_code == 302
    assert Post.objects.count() == 2
    again = client.post(url + "import/", {"pending": pending}, follow=True)
    assert Post.objects.count() == 2 and b"upload it again" in again.content


def test_someone_elses_pending_file_cannot_be_imported(
    workspace, owner, manager, channel, signed_in, settings, tmp_path
):
    settings.DATA_DIR = tmp_path
    client = signed_in(owner)
    url = f"/w/{workspace.slug}/posts/bulk/"
    preview = client.post(
        url, {"file": SimpleUploadedFile("p.csv", csv_bytes(",,,page:crumb,x,,,,"))}
    )
    pending = preview.context["pending"]
    client.force_login(manager)
    client.post(url + "import/", {"pending": pending})
    assert not Post.objects.exists()


def test_a_client_sees_export_but_cannot_import_and_an_outsider_gets_404(
    workspace, client_user, outsider, signed_in
):
    client = signed_in(client_user)
    url = f"/w/{workspace.slug}/posts/bulk/"
    page = client.get(url)
    assert page.status_code == 200 and b"Check the file" not in page.content
    assert client.post(url, {"file": SimpleUploadedFile("p.csv", b"x")}).status_code == 403
    export = client.get(url + "export.csv?start=2030-03-01&end=2030-03-02")
    assert export.status_code == 200 and export["Content-Type"].startswith("text/csv")
    client.force_login(outsider)
    assert client.get(url).status_code == 404


def test_imported_deliveries_get_the_same_queued_task_as_scheduling_one_by_one(
    workspace, owner, channel, django_capture_on_commit_callbacks
):
    from django_tasks_db.models import DBTaskResult

    from socialdesk.publishing.tasks import enqueue_delivery

    data = csv_bytes("2030-03-06,09:00,,page:crumb,Queued,,,,", ",,,page:crumb,Draft,,,,")
    with django_capture_on_commit_callbacks(execute=True):
        bulk.import_csv(workspace, owner, data, now=NOW)
    delivery = Delivery.objects.get(post__text="Queued")
    [imported] = DBTaskResult.objects.all()
    with django_capture_on_commit_callbacks(execute=True):
        enqueue_delivery(delivery, run_after=delivery.scheduled_at)
    usual = DBTaskResult.objects.exclude(pk=imported.pk).get()
    fields = [
        "args_kwargs",
        "priority",
        "task_path",
        "queue_name",
        "run_after",
        "backend_name",
        "status",
    ]
    assert [getattr(imported, f) for f in fields] == [getattr(usual, f) for f in fields]
    assert imported.args_kwargs == {"args": [delivery.pk], "kwargs": {}}


def test_an_imported_post_matches_one_made_in_the_editor(workspace, owner, channel, taxonomy):
    from socialdesk.content.services import PostContent, create_post

    when = datetime(2030, 3, 6, 8, 0, tzinfo=UTC)
    made = create_post(
        workspace,
        owner,
        PostContent(
            text="Same",
            channel_ids=[channel.pk],
            label_ids=[taxonomy["label"].pk],
            scheduled_at=when,
        ),
    )
    bulk.import_csv(
        workspace, owner, csv_bytes("2030-03-06,09:00,,page:crumb,Same,,seasonal,,"), now=NOW
    )
    imported = Post.objects.exclude(pk=made.pk).get()
    # The idempotency key is each delivery's own (random): that both have one is checked below.
    skip = {"id", "post", "created_at", "updated_at", "idempotency_key"}

    def values(post: Post) -> dict:
        delivery = Delivery.objects.filter(post=post).values().get()
        version = post.versions.values("number", "text", "media_ids", "created_by").get()
        row = {k: v for k, v in delivery.items() if k.removesuffix("_id") not in skip}
        return {
            "post": (post.text, post.author_id, post.pillar_id, post.campaign_id),
            "labels": list(post.labels.values_list("pk", flat=True)),
            "version": version,
            "delivery": row,
        }

    assert values(imported) == values(made)
    keys = set(Delivery.objects.values_list("idempotency_key", flat=True))
    assert len(keys) == 2 and all(key.startswith("socialdesk-") for key in keys)


def test_formulas_are_exported_as_text_and_read_back_unchanged(workspace, owner, channel, taxonomy):
    hyperlink = '=HYPERLINK("http://evil.example","click")'
    texts = [hyperlink, "+33 1 23 45 67 89", "-20% today", "@crumb says hi", "'=already quoted"]
    rows = [f'2030-03-0{day},09:00,Europe/Paris,page:crumb,"{t.replace(chr(34), chr(34) * 2)}",,,,'
            for day, t in enumerate(texts, start=1)]  # fmt: skip
    bulk.import_csv(workspace, owner, csv_bytes(*rows), now=NOW)
    # A hand-made file's '= reads as a spreadsheet shows it: text that starts with =.
    assert Post.objects.filter(text="=already quoted").update(text="'=already quoted") == 1
    assert set(Post.objects.values_list("text", flat=True)) == set(texts)

    exported = bulk.export_csv(workspace, date(2030, 3, 1), date(2030, 3, 31))
    cells = [row[4] for row in csv.reader(io.StringIO(exported.removeprefix("\ufeff")))][1:]
    assert cells == [
        "'" + hyperlink,
        "'+33 1 23 45 67 89",
        "'-20% today",
        "'@crumb says hi",
        "''=already quoted",
    ]
    assert not any(cell.startswith(("=", "+", "-", "@")) for cell in cells)

    Post.objects.filter(workspace=workspace).delete()
    bulk.import_csv(workspace, owner, exported.encode(), now=NOW)
    assert set(Post.objects.values_list("text", flat=True)) == set(texts)
    assert bulk.export_csv(workspace, date(2030, 3, 1), date(2030, 3, 31)) == exported
