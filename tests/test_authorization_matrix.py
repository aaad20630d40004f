"""Every API operation, called as every role: the OpenAPI document is the checklist.

A new operation fails here until it declares its permission with ``@requires`` (which puts it
in the document as ``x-permission``) and has an example request in ``EXAMPLES``; a handler
that checks more than it declares (a second permission of its own) fails for the roles where
the two differ, and one whose check is missing fails the outsider's 404.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from api_helpers import call, png_upload
from conftest import cast_fixtures
from django.core.exceptions import ImproperlyConfigured
from django.core.files.uploadedfile import SimpleUploadedFile
from django.http import HttpRequest
from django.test import Client
from django.utils import timezone
from inbox_answer_helpers import answering_objects
from inbox_helpers import conversation
from inbox_service_helpers import inbox_service_objects
from listening_action_helpers import listening_objects
from ninja import NinjaAPI, Router
from report_helpers import a_report
from review_helpers import review_comment_id, review_link_id
from workflow_helpers import spare_stage_id, stage_id, tickable_item, waiting_for_decision

from socialdesk.api_support import MemberRequest, Slug, requires
from socialdesk.content.media import upload_media
from socialdesk.notifications.services import create_webhook, notify
from socialdesk.publishing import crisis
from socialdesk.workspaces.models import ApiToken, Invitation, Membership, User
from socialdesk.workspaces.roles import PERMISSIONS, Role

# Some 1,900 small tests: the cast (conftest.py) is built once for the module, not once per
# test, where it cost twice what a test's own requests do. Each test's changes are undone
# after it (conftest's ``module_cast``).
workspace, other_workspace, members, outsider, channel, post, taxonomy = cast_fixtures()

# Read at collection time, to parametrize (before pytest-django allows the "testserver" host).
DOCUMENT: dict[str, Any] = Client(HTTP_HOST="localhost").get("/api/v1/openapi.json").json()
OPERATIONS = [
    (operation["operationId"], method, path, operation)
    for path, methods in DOCUMENT["paths"].items()
    for method, operation in methods.items()
]
OPERATION_IDS = [operation_id for operation_id, *_ in OPERATIONS]
ROLES = [role.value for role in Role]


def later(days: int) -> str:
    return (timezone.now() + timedelta(days=days)).isoformat()


# operation_id → the body of a valid request (None: no body). "files" marks multipart.
EXAMPLES: dict[str, Callable[[dict[str, Any]], Any]] = {
    "workspaces_list": lambda ctx: None,
    "workspaces_create": lambda ctx: {"name": "Second shop", "time_zone": "Europe/Berlin"},
    "workspaces_read": lambda ctx: None,
    "workspaces_update": lambda ctx: {"name": "Crumb and Company"},
    "workspaces_delete": lambda ctx: None,
    "members_list": lambda ctx: None,
    "members_update": lambda ctx: {"role": "approver"},
    "members_delete": lambda ctx: None,
    "members_data": lambda ctx: None,
    "members_erase": lambda ctx: {"confirm_email": "analyst@crumb.test"},
    "invitations_list": lambda ctx: None,
    "invitations_create": lambda ctx: {"email": "new.baker@crumb.test", "role": "creator"},
    "invitations_delete": lambda ctx: None,
    "tokens_list": lambda ctx: None,
    "tokens_create": lambda ctx: {"name": "nightly export", "scopes": ["read"]},
    "tokens_delete": lambda ctx: None,
    "channels_list": lambda ctx: None,
    "channels_create": lambda ctx: {"network": "mastodon", "handle": "@crumb@bakers.social"},
    "channels_read": lambda ctx: None,
    "channels_update": lambda ctx: {"display_name": "Crumb & Co"},
    "channels_delete": lambda ctx: None,
    "channels_pause": lambda ctx: None,
    "channels_resume": lambda ctx: None,
    "channels_check": lambda ctx: None,
    "networks_list": lambda ctx: None,
    # A network connected on its own pages: the answer says where (nothing is connected).
    "networks_connect": lambda ctx: {"fields": {}},
    "page_read": lambda ctx: None,
    "page_update": lambda ctx: {
        "bio": "Sourdough since 1998.",
        "links": [{"label": "Order a cake", "url": "https://crumb.test/cakes"}],
    },
    "posts_list": lambda ctx: None,
    "posts_create": lambda ctx: {
        "text": "Rye on Fridays",
        "channel_ids": [ctx["channel_id"]],
        "label_ids": [ctx["label_id"]],
        "scheduled_at": later(3),
    },
    "posts_read": lambda ctx: None,
    "posts_update": lambda ctx: {"text": "Rye on Saturdays too"},
    "posts_delete": lambda ctx: None,
    "media_upload": lambda ctx: {"files": {"file": png_upload(), "alt_text": "A loaf"}},
    "media_list": lambda ctx: None,
    "media_read": lambda ctx: None,
    "media_update": lambda ctx: {
        "alt_text": "A crusty sourdough loaf",
        "folder": "Bread",
        "tags": ["sourdough"],
    },
    "media_usage": lambda ctx: None,
    "media_compatibility": lambda ctx: None,
    "media_delete": lambda ctx: None,
    "labels_list": lambda ctx: None,
    "labels_create": lambda ctx: {"name": "vegan", "color": "#16a34a"},
    "labels_read": lambda ctx: None,
    "labels_update": lambda ctx: {"color": "#dc2626"},
    "labels_delete": lambda ctx: None,
    "pillars_list": lambda ctx: None,
    "pillars_create": lambda ctx: {"name": "Recipes", "target_share": 20},
    "pillars_read": lambda ctx: None,
    "pillars_update": lambda ctx: {"target_share": 40},
    "pillars_delete": lambda ctx: None,
    "campaigns_list": lambda ctx: None,
    "campaigns_create": lambda ctx: {
        "name": "Easter",
        "starts_on": "2030-04-01",
        "ends_on": "2030-04-21",
        "budget": "250.00",
    },
    "campaigns_read": lambda ctx: None,
    "campaigns_update": lambda ctx: {"goal": "Sell 200 stollen"},
    "campaigns_delete": lambda ctx: None,
    "hashtag_groups_list": lambda ctx: None,
    "hashtag_groups_create": lambda ctx: {"name": "Bread", "hashtags": "#bread, sourdough"},
    "hashtag_groups_read": lambda ctx: None,
    "hashtag_groups_update": lambda ctx: {"hashtags": "#rye"},
    "hashtag_groups_delete": lambda ctx: None,
    "post_templates_list": lambda ctx: None,
    "post_templates_create": lambda ctx: {"name": "Launch", "text": "New: {product}"},
    "post_templates_read": lambda ctx: None,
    "post_templates_update": lambda ctx: {"text": "Back: {product}"},
    "post_templates_delete": lambda ctx: None,
    "deliveries_list": lambda ctx: None,
    "deliveries_read": lambda ctx: None,
    "deliveries_update": lambda ctx: {"first_comment": "Order at crumb.test"},
    # Queues and slots, boost spend (calendar helper).
    "slots_list": lambda ctx: None,
    "slots_replace": lambda ctx: {"slots": [{"weekday": 0, "time": "09:30"}]},
    "queue_read": lambda ctx: None,
    "queue_update": lambda ctx: {"paused": True},
    "queue_add": lambda ctx: {"delivery_id": ctx["delivery_id"], "evergreen": True},
    "queue_reorder": lambda ctx: {"delivery_ids": []},
    "queue_remove": lambda ctx: None,
    "boosts_create": lambda ctx: {"amount": "12.50", "note": "Instagram boost"},
    "campaigns_budget": lambda ctx: None,
    "posts_import": lambda ctx: {
        "files": {
            "file": SimpleUploadedFile(
                "posts.csv", b"date,time,channels,text\n,,page:crumb,Imported by a script\n"
            )
        }
    },
    "posts_export": lambda ctx: None,
    "notifications_list": lambda ctx: None,
    "notifications_mark_read": lambda ctx: {"ids": [ctx["notification_id"]]},
    "notifications_mark_all_read": lambda ctx: None,
    "notification_preferences_read": lambda ctx: None,
    "notification_preferences_update": lambda ctx: {"email_mode": "digest"},
    "webhook_events_list": lambda ctx: None,
    "webhooks_list": lambda ctx: None,
    "webhooks_create": lambda ctx: {
        "name": "Slack #social",
        "url": "https://hooks.example.test/socialdesk",
        "events": ["delivery.failed", "post.approved"],
        "slack_compatible": True,
    },
    "webhooks_read": lambda ctx: None,
    "webhooks_update": lambda ctx: {"events": ["delivery.missed"]},
    "webhooks_delete": lambda ctx: None,
    # Port 9 on loopback refuses at once: the test answers 200 with ok=false, quickly.
    "webhooks_test": lambda ctx: None,
    # Workflow (socialdesk.workflow).
    "stages_list": lambda ctx: None,
    "stages_create": lambda ctx: {
        "name": "Legal check",
        "kind": "approval",
        "owner_role": "approver",
        "checks": ["approved"],
    },
    "stages_read": lambda ctx: None,
    "stages_update": lambda ctx: {"due_days_before": 10},
    "stages_delete": lambda ctx: None,
    "post_workflow_read": lambda ctx: None,
    "post_workflow_move": lambda ctx: {"stage_id": stage_id(ctx, "draft")},
    "post_workflow_override": lambda ctx: {
        "stage_id": stage_id(ctx, "draft"),
        "reason": "The client confirmed by phone.",
    },
    "post_workflow_tick": tickable_item,
    "post_workflow_submit": lambda ctx: None,
    "post_workflow_assign": lambda ctx: {"stage_id": stage_id(ctx, "draft"), "assignee_id": None},
    "decisions_list": lambda ctx: None,
    "decisions_create": waiting_for_decision,
    "workflow_settings_read": lambda ctx: None,
    "workflow_settings_update": lambda ctx: {"banned_phrases": ["best in town"], "hashtag_max": 5},
    "workflow_voice_check": lambda ctx: {"text": "The best bread in town #rye"},
    "audit_list": lambda ctx: None,
    "audit_export": lambda ctx: None,
    "workflow_health": lambda ctx: None,
    "my_work": lambda ctx: None,
    # Review (socialdesk.review): comments, client review links, version diff.
    "comments_list": lambda ctx: None,
    "comments_create": lambda ctx: {"body": "Lovely photo; can we say 7 am?"},
    "comments_resolve": lambda ctx: {"resolved": True},
    "review_links_list": lambda ctx: None,
    "review_links_create": lambda ctx: {
        "name": "Acme legal",
        "post_ids": [ctx["post_id"]],
        "expires_at": later(7),
    },
    "review_links_revoke": lambda ctx: None,
    "versions_diff": lambda ctx: None,
    "versions_list": lambda ctx: None,
    "versions_diff_against": lambda ctx: None,
    # Inbox (socialdesk.inbox.api): conversations and contacts.
    "conversations_list": lambda ctx: None,
    "conversations_read": lambda ctx: None,
    "conversations_take": lambda ctx: None,
    "conversations_assign": lambda ctx: {"assignee_id": None},
    "conversations_status": lambda ctx: {"status": "resolved"},
    "conversations_update": lambda ctx: {"tags": ["order"], "priority": 2},
    "contacts_list": lambda ctx: None,
    "contacts_read": lambda ctx: None,
    "contacts_update": lambda ctx: {"notes": "Orders every Friday."},
    # The inbox: answering (issue 13, item 3; objects from inbox_answer_helpers).
    "inbox_reply": lambda ctx: {"text": "Yes, every Friday."},
    "inbox_like": lambda ctx: None,
    "inbox_hide": lambda ctx: None,
    "inbox_unhide": lambda ctx: None,
    "inbox_delete_reply": lambda ctx: None,
    "inbox_replies_awaiting": lambda ctx: None,
    "inbox_reply_approve": lambda ctx: {"text": "Yes, on Fridays."},
    "inbox_reply_reject": lambda ctx: {"note": "Say which days."},
    "inbox_answer_settings_read": lambda ctx: None,
    "inbox_answer_settings_update": lambda ctx: {"approval_roles": ["creator"]},
    "inbox_notes_list": lambda ctx: None,
    "inbox_notes_create": lambda ctx: {"text": "@analyst can you check the order?"},
    "inbox_saved_replies_list": lambda ctx: None,
    "inbox_saved_replies_create": lambda ctx: {"name": "Allergens", "text": "Hi {first_name}"},
    "inbox_saved_replies_update": lambda ctx: {"text": "Hello {name}"},
    "inbox_saved_replies_delete": lambda ctx: None,
    # The inbox's service part (issue 13).
    "inbox_service_level_read": lambda ctx: None,
    "inbox_service_level_update": lambda ctx: {"first_response_minutes": 45},
    "inbox_contact_export": lambda ctx: None,
    "inbox_contact_erase": lambda ctx: None,
    "inbox_report": lambda ctx: None,
    "inbox_rules_list": lambda ctx: None,
    "inbox_rules_create": lambda ctx: {
        "name": "Allergens",
        "conditions": {"keywords": "gluten OR allerg*"},
        "actions": [{"type": "tag", "tag": "allergens"}],
    },
    "inbox_rules_try": lambda ctx: {"conditions": {"keywords": "gluten"}},
    "inbox_rules_update": lambda ctx: {"name": "Renamed", "actions": [{"type": "resolve"}]},
    "inbox_rules_delete": lambda ctx: None,
    "inbox_faq_questions_read": lambda ctx: None,
    "inbox_faq_questions_update": lambda ctx: {
        "is_answer": True,
        "questions": ["Do you deliver?", "Vous livrez ?"],
    },
    "inbox_faq_match": lambda ctx: {"text": "Do you deliver on Sundays?"},
    # Analytics (issue 14): metric snapshots and a channel's days.
    "post_metrics": lambda ctx: None,
    "channel_days": lambda ctx: None,
    # Analytics (issue 14): short links, clicks, conversions.
    "short_links_list": lambda ctx: None,
    "clicks_by_day": lambda ctx: None,
    "clicks_by_link": lambda ctx: None,
    "conversions_list": lambda ctx: None,
    "link_settings_read": lambda ctx: None,
    "link_settings_update": lambda ctx: {"short_links": False, "conversion_window_days": 14},
    "conversion_secret_rotate": lambda ctx: None,
    # Best times and experiments (issue 14 items 5 and 6).
    "best_times_read": lambda ctx: None,
    "experiments_list": lambda ctx: None,
    "experiments_create": lambda ctx: {
        "name": "Morning or evening",
        "metric": "clicks_per_view",
        "baseline_rate": 0.02,
        "minimum_effect": 0.01,
        "variants": [
            {"text": "Bread at 7", "channel_id": ctx["channel_id"]},
            {"text": "Warm bread at 7", "channel_id": ctx["channel_id"]},
        ],
    },
    "experiments_read": lambda ctx: None,
    "experiments_verdict": lambda ctx: None,
    # Analytics (issue 14 item 4): reading the numbers.
    "analytics_overview": lambda ctx: None,
    "analytics_posts": lambda ctx: None,
    # Reports (issue 14 item 7).
    "reports_list": lambda ctx: None,
    "reports_create": lambda ctx: {
        "name": "Monthly for the client",
        "sections": ["overview", "top_posts"],
        "period": "monthly",
        "emails": ["client@example.org"],
        "shared_with_clients": True,
    },
    "reports_read": lambda ctx: None,
    "reports_update": lambda ctx: {"name": "Weekly, renamed", "sections": ["mix"]},
    "reports_delete": lambda ctx: None,
    "reports_pdf": lambda ctx: None,
    "reports_send": lambda ctx: None,
    "listening_topics_list": lambda ctx: None,
    "listening_topics_create": lambda ctx: {"name": "Rival", "queries": ["rival*"]},
    "listening_topics_read": lambda ctx: None,
    "listening_share_of_voice": lambda ctx: None,
    "listening_topics_update": lambda ctx: {"name": "Crumb (paused)", "active": False},
    "listening_topics_delete": lambda ctx: None,
    "listening_queries_create": lambda ctx: {"text": "#crumb"},
    "listening_queries_update": lambda ctx: {"text": "crumb NOT crumbs"},
    "listening_queries_delete": lambda ctx: None,
    "listening_queries_try": lambda ctx: {"text": "crumb OR croiss*"},
    "listening_mentions_list": lambda ctx: None,
    "listening_sources_list": lambda ctx: None,
    "listening_sources_create": lambda ctx: {"kind": "feed", "url": "https://news.test/feed"},
    "listening_sources_delete": lambda ctx: None,
    "crisis_read": lambda ctx: None,
    "crisis_start": lambda ctx: {"reason": "A recall of the rye loaves"},
    # Ending needs a switch that is on: the lazy ``crisis_on`` turns it on first.
    "crisis_end": lambda ctx: ctx["crisis_on"] and None,
    "crisis_held_list": lambda ctx: None,
    "crisis_held_resume": lambda ctx: {"all": True},
    "crisis_held_reschedule": lambda ctx: {"all": True, "scheduled_at": later(2)},
    "crisis_held_cancel": lambda ctx: {"all": True},
    "listening_alerts_list": lambda ctx: None,
    "listening_alerts_read": lambda ctx: None,
    "listening_alerts_seen": lambda ctx: None,
    "listening_alert_settings_read": lambda ctx: None,
    "listening_alert_settings_update": lambda ctx: {
        "sensitivity": "high",
        "critical_words": ["allergic", "food poisoning"],
    },
    "listening_mentions_conversation": lambda ctx: None,
    "listening_mentions_idea": lambda ctx: None,
    "listening_mentions_lead": lambda ctx: None,
    "listening_leads_list": lambda ctx: None,
    "listening_leads_csv": lambda ctx: None,
}


def an_experiment(workspace, owner, channel) -> int:
    from socialdesk.analytics.experiments import ExperimentSpec, VariantSpec, create_experiment

    spec = ExperimentSpec(
        name="Wording",
        metric="clicks_per_view",
        baseline_rate=0.02,
        minimum_effect=0.01,
        variants=[VariantSpec("Loaves", channel.pk), VariantSpec("Warm loaves", channel.pk)],
    )
    return create_experiment(workspace, owner, spec).pk


def composer_aids(workspace) -> tuple[int, int]:
    """A hashtag group and a post template of the bakery (made once, found after)."""
    from socialdesk.content.models import HashtagGroup, PostTemplate

    group, _ = HashtagGroup.objects.get_or_create(
        workspace=workspace, name="Baking", defaults={"hashtags": "#baking"}
    )
    template, _ = PostTemplate.objects.get_or_create(
        workspace=workspace, name="Weekly", defaults={"text": "This week: {product}"}
    )
    return group.pk, template.pk


class Lazy(dict):
    """The path and body values, each made on first use: most operations need one or two,
    and making every kind of object for each of the ~1,700 requests below was most of this
    file's time. ``groups`` make several values at once, found by trying them in turn."""

    def __init__(self, makers: dict[str, Callable[[], Any]], groups: list, **known: Any):
        super().__init__(known)
        self.makers, self.groups = makers, groups

    def __missing__(self, key: str) -> Any:
        if key in self.makers:
            self[key] = self.makers[key]()
            return self[key]
        for group in self.groups:
            made = group()
            self.update({name: value for name, value in made.items() if name not in self})
            if key in made:
                return made[key]
        raise KeyError(key)

    def but(self, **changes: Any) -> Lazy:
        """A copy with ``changes`` (what one test sets), sharing what is made (makers cache)."""
        return Lazy(self.makers, self.groups, **{**self, **changes})


def once(make: Callable[[], Any]) -> Callable[[], Any]:
    return functools.cache(make)


@pytest.fixture
def objects(workspace, members, channel, post, taxonomy, settings, tmp_path) -> Lazy:
    """Ids of one object of each kind in the bakery, for the path parameters (made lazily)."""
    settings.MEDIA_ROOT = tmp_path
    settings.SOCIALDESK_FETCH_ALLOW = ["127.0.0.1:9"]  # the webhook below, on loopback
    question = once(lambda: conversation(workspace, channel, "ada@crumb.test", "Open on Sunday?"))
    aids = once(lambda: composer_aids(workspace))
    makers: dict[str, Callable[[], Any]] = {
        "member_id": lambda: (
            Membership.objects.get(workspace=workspace, user=members["analyst"]).pk
        ),
        "invitation_id": lambda: (
            Invitation.objects.create(
                workspace=workspace, email="pending@crumb.test", role=Role.CLIENT
            ).pk
        ),
        "number": lambda: post.versions.get().number,
        "delivery_id": lambda: post.deliveries.get().pk,
        "media_id": lambda: upload_media(workspace, members["owner"], png_upload()).pk,
        "group_id": lambda: aids()[0],
        "template_id": lambda: aids()[1],
        "stage_id": lambda: spare_stage_id(workspace),
        "comment_id": lambda: review_comment_id(post, members["owner"]),
        "link_id": lambda: review_link_id(workspace, members["owner"], post),
        "conversation_id": lambda: question().pk,
        "contact_id": lambda: question().contact_id,
        "notification_id": lambda: (
            notify(workspace, [members["owner"]], "post.ready", "Ready").pop().pk
        ),
        "webhook_id": lambda: (
            create_webhook(
                workspace, None, name="Ops", url="http://127.0.0.1:9/hook", events=["post.ready"]
            )[0].pk
        ),
        "experiment_id": lambda: an_experiment(workspace, members["owner"], channel),
        "crisis_on": lambda: crisis.start(workspace, members["owner"], "Oven fire").pk,
        "report_id": lambda: a_report(workspace, members["owner"]),
    }
    groups = [
        once(lambda: listening_objects(workspace)),
        once(lambda: answering_objects(workspace, channel, members["creator"])),
        once(lambda: inbox_service_objects(channel)),
    ]
    return Lazy(
        makers,
        groups,
        slug=workspace.slug,
        channel_id=channel.pk,
        network="bluesky",
        post_id=post.pk,
        label_id=taxonomy["label"].pk,
        pillar_id=taxonomy["pillar"].pk,
        campaign_id=taxonomy["campaign"].pk,
    )


def fill(path: str, values: dict[str, Any]) -> str:
    return re.sub(r"\{(\w+)\}", lambda m: str(values[m.group(1)]), path)


def request(method: str, path: str, token: str, operation_id: str, values: dict) -> Any:
    body = EXAMPLES[operation_id](values)
    url = fill(path, values)
    if isinstance(body, dict) and "files" in body:
        return call(method, url, token, files=body["files"])
    return call(method, url, token, json_body=body)


def own_token_id(user: User) -> int:
    """A second token of ``user``'s, to delete in tokens_delete."""
    membership = Membership.objects.filter(user=user).select_related("workspace").first()
    assert membership is not None
    token, _ = ApiToken.issue(membership.workspace, user, "spare")
    return token.pk


def undeclared(document: dict[str, Any]) -> list[str]:
    """The operations of an OpenAPI document without a known ``x-permission``: those whose
    handler lacks ``@requires`` (which is what puts it there)."""
    return [
        f"{method.upper()} {path} ({operation.get('operationId')})"
        for path, methods in document["paths"].items()
        for method, operation in methods.items()
        if operation.get("x-permission") not in PERMISSIONS
    ]


def test_every_operation_declares_a_known_permission_and_has_an_example():
    document = Client().get("/api/v1/openapi.json").json()
    assert undeclared(document) == []
    for operation_id, method, path, _ in OPERATIONS:
        assert operation_id in EXAMPLES, f"{method.upper()} {path} ({operation_id}) has no example"
    assert len(OPERATIONS) >= 40


def test_an_operation_without_requires_is_caught():
    router = Router()

    @router.get("/workspaces/{slug}/declared", operation_id="declared")
    @requires("posts.view")
    def declared(request: MemberRequest, slug: Slug) -> None: ...

    @router.get("/workspaces/{slug}/forgotten", operation_id="forgotten")
    def forgotten(request: HttpRequest, slug: Slug) -> None: ...

    api = NinjaAPI(urls_namespace="requires-test")
    api.add_router("", router)
    document = api.get_openapi_schema(path_prefix="")
    assert document["paths"]["/workspaces/{slug}/declared"]["get"]["x-permission"] == "posts.view"
    assert undeclared(document) == ["GET /workspaces/{slug}/forgotten (forgotten)"]


def test_requires_refuses_an_unknown_permission_and_the_wrong_order():
    with pytest.raises(ImproperlyConfigured, match="PERMISSIONS"):
        requires("posts.peek")
    router = Router()

    def handler(request: HttpRequest, slug: Slug) -> None: ...

    router.get("/workspaces/{slug}/upside-down", operation_id="upside_down")(handler)
    with pytest.raises(ImproperlyConfigured, match="under the route decorator"):
        requires("posts.view")(handler)


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize(
    ("operation_id", "method", "path", "operation"), OPERATIONS, ids=OPERATION_IDS
)
def test_each_role_gets_exactly_what_the_permission_table_grants(
    operation_id, method, path, operation, role, objects, person, token_for
):
    user = person(role)
    values = objects.but(token_id=own_token_id(user))
    response = request(method, path, token_for(user), operation_id, values)
    permission = operation["x-permission"]
    if "{slug}" not in path or role in PERMISSIONS[permission]:
        assert 200 <= response.status_code < 300, (
            f"{operation_id} as {role}: {response.status_code} {response.content[:300]!r}"
        )
    else:
        assert response.status_code == 403, (
            f"{operation_id} as {role} (not granted {permission}): {response.status_code}"
        )
        assert response["Content-Type"] == "application/problem+json"


SCOPED_OPERATIONS = [op for op in OPERATIONS if "{slug}" in op[2]]
OBJECT_OPERATIONS = [op for op in SCOPED_OPERATIONS if re.search(r"\{\w+_id\}", op[2])]


@pytest.mark.parametrize(
    ("operation_id", "method", "path", "operation"),
    SCOPED_OPERATIONS,
    ids=[op[0] for op in SCOPED_OPERATIONS],
)
def test_an_outsider_is_told_the_workspace_does_not_exist(
    operation_id, method, path, operation, objects, owner, outsider, token_for
):
    values = objects.but(token_id=own_token_id(owner))
    response = request(method, path, token_for(outsider), operation_id, values)
    assert response.status_code == 404, f"{operation_id}: {response.status_code}"
    assert response.json()["status"] == 404


@pytest.mark.parametrize(
    ("operation_id", "method", "path", "operation"),
    OBJECT_OPERATIONS,
    ids=[op[0] for op in OBJECT_OPERATIONS],
)
def test_an_outsider_in_their_own_workspace_cannot_reach_the_bakerys_objects(
    operation_id, method, path, operation, objects, owner, outsider, other_workspace, token_for
):
    values = objects.but(slug=other_workspace.slug, token_id=own_token_id(owner))
    response = request(method, path, token_for(outsider), operation_id, values)
    assert response.status_code == 404, f"{operation_id}: {response.status_code}"


# .get: an operation without a permission fails the test above, not the collection.
WRITE_OPERATIONS = [op for op in OPERATIONS if not op[3].get("x-permission", "").endswith(".view")]


@pytest.mark.parametrize(
    ("operation_id", "method", "path", "operation"),
    WRITE_OPERATIONS,
    ids=[op[0] for op in WRITE_OPERATIONS],
)
def test_a_read_only_token_cannot_write(
    operation_id, method, path, operation, objects, owner, token_for
):
    values = objects.but(token_id=own_token_id(owner))
    response = request(method, path, token_for(owner, scopes=["read"]), operation_id, values)
    assert response.status_code == 403, f"{operation_id}: {response.status_code}"
    assert "scope" in response.json()["detail"]
