"""Every web form, fuzzed (issue 11, item 2): whatever a person or a script sends, the answer
is never a 5xx and no exception escapes (the test client re-raises them).

Nothing is listed by hand. The URL patterns of the web app are walked
(``django.urls.get_resolver()``), their path parameters filled from the demo workspace, and
each page is opened signed in as its owner (the pages outside ``/w/`` also signed out). The
``<form>``s on them are read with the standard library's ``html.parser``: POST forms get
hypothesis-generated values for their fields (valid choices mixed with hostile values: ids of
±2**63 and beyond, empty, NUL, very long text, odd dates and offsets, lists, files) with the
page's CSRF token, GET forms and the links' query strings get generated query strings. Routes
only the pages' scripts post to get the field names the scripts send.

Each example runs in a transaction that is rolled back, so every one starts from the same
demo (a fuzzed "delete" or "sign out" does not empty the pages for the next). CI runs a fixed,
small number of examples per form; to look harder locally:

    SOCIALDESK_FUZZ_EXAMPLES=200 python -m pytest tests/test_form_fuzz.py
"""

from __future__ import annotations

import os
import re
import socket
import time
from collections import Counter
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urljoin, urlsplit

import pytest
from api_helpers import png_bytes
from django.conf import settings as django_settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.test import Client
from django.urls import Resolver404, URLPattern, URLResolver, get_resolver, resolve
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from socialdesk.analytics.models import MetricSnapshot, Report, ShortLink
from socialdesk.content.media import upload_media
from socialdesk.content.models import MediaAsset, Post
from socialdesk.demo import build_demo
from socialdesk.inbox.answering import reply as answer_inbox
from socialdesk.inbox.answering import set_approval_roles
from socialdesk.inbox.models import Conversation, ReplyApproval, Rule
from socialdesk.listening.models import Alert, Mention, Topic
from socialdesk.networks.models import Channel
from socialdesk.notifications.models import Notification, Webhook
from socialdesk.notifications.services import create_webhook, notify
from socialdesk.page.models import PageEntry
from socialdesk.review.links import token_for
from socialdesk.review.models import Comment, ReviewLink
from socialdesk.web.ical import create_feed
from socialdesk.workflow.models import Stage
from socialdesk.workspaces.models import ApiToken, Invitation, Membership
from socialdesk.workspaces.roles import Role
from socialdesk.workspaces.services import invite_member

# Slow for the quick loop (the demo, about 1,400 requests), but in both database passes.
pytestmark = pytest.mark.slow

EXAMPLES = int(os.environ.get("SOCIALDESK_FUZZ_EXAMPLES", "4"))
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,  # the same examples on every run, so CI is reproducible
    database=None,
    suppress_health_check=list(HealthCheck),  # examples are whole requests: slow on purpose
)

# Routes that are not web pages: the API (fuzzed by test_schemathesis.py), uploaded files,
# the shop's signed conversion reports (tests/test_conversions.py).
NOT_PAGES = ("api/", "media/", "hooks/")

# --- Values ---------------------------------------------------------------------------------

HOSTILE = [
    "",
    " ",
    "0",
    "-1",
    str(2**63 - 1),
    str(2**63),
    str(-(2**63) - 1),
    "9" * 40,
    "1.0",
    "1e400",
    "NaN",
    "true",
    "null",
    "\x00",
    "a\x00b",
    "١٢",
    "👩‍🍳 crème brûlée",
    "x" * 5000,
    "2026-02-30",
    "2026-03-29T02:30",
    "2026-10-25T02:30",
    "24:00",
    "09:00+05:00",
    "09:00:00.123+05:00",
    "2026-12-01T09:00:00+14:59",
    "9999-12-31T23:59",
    "0001-01-01",
    "0001-01-01T00:00",
    "../../etc/passwd",
    "<script>alert(1)</script>",
    "http://127.0.0.1:1/",
    "[1, 2]",
]


# Sent in every field of every form once, whatever else hypothesis tries (cheap and sure).
EVERYWHERE = ["a\x00b", str(2**63), str(-(2**63) - 1), "x" * 5000, "Europe", "1e400"]


def offset_moments() -> st.SearchStrategy[str]:
    offsets = st.integers(-(24 * 60 - 1), 24 * 60 - 1).map(
        lambda m: f"{'+' if m >= 0 else '-'}{abs(m) // 60:02}:{abs(m) % 60:02}"
    )
    return st.tuples(st.datetimes(), offsets).map(lambda t: t[0].isoformat() + t[1])


TYPED: dict[str, st.SearchStrategy[str]] = {
    "number": st.integers(-(2**70), 2**70).map(str),
    "date": st.dates().map(lambda d: d.isoformat()),
    "datetime-local": st.datetimes().map(lambda d: d.isoformat(timespec="minutes")),
    "time": st.times().map(lambda t: t.isoformat(timespec="minutes")),
    "email": st.emails(),
}
ANY_TEXT = st.one_of(
    st.sampled_from(HOSTILE),
    st.text(max_size=30),  # any characters but lone surrogates, NUL included
    st.integers(-(2**70), 2**70).map(str),
    offset_moments(),
)


def files() -> st.SearchStrategy[Any]:
    return st.sampled_from(
        [
            ("bread.png", png_bytes(), "image/png"),
            ("bread.png", b"not an image", "image/png"),
            ("posts.csv", b"date,time,channels,text\n2030-01-01,09:00,page,Rye\n", "text/csv"),
            ("empty.bin", b"", "application/octet-stream"),
        ]
    ).map(lambda f: SimpleUploadedFile(*f))


# --- Discovery ------------------------------------------------------------------------------


@dataclass
class Field:
    name: str
    kind: str  # an input type, "select", "textarea" or "submit"
    options: list[str] = field(default_factory=list)  # valid values, where the page lists them

    def values(self) -> st.SearchStrategy[Any]:
        if self.kind == "file":
            return st.one_of(st.none(), files())
        choices = [st.sampled_from(self.options)] if self.options else []
        typed = [TYPED[self.kind]] if self.kind in TYPED else []
        one = st.one_of(*choices, *typed, ANY_TEXT)
        # Left out, one value, or the same name several times (a list of ids, say).
        return st.one_of(st.none(), one, st.lists(one, min_size=2, max_size=3))


@dataclass
class Form:
    page: str
    method: str
    action: str
    multipart: bool = False
    fields: dict[str, Field] = field(default_factory=dict)

    def key(self) -> tuple:
        """The same form on many pages (a decision per post, say) counts once."""
        try:
            route = resolve(urlsplit(self.action).path).route
        except Resolver404:
            route = self.action
        return (self.method, route, tuple(sorted(self.fields)))


class FormReader(HTMLParser):
    """The forms of a page (fields with ``form="id"`` outside them too) and the query-string
    names of its links."""

    def __init__(self, page: str) -> None:
        super().__init__(convert_charrefs=True)
        self.page = page
        self.forms: list[Form] = []
        self.by_id: dict[str, Form] = {}
        self.current: Form | None = None
        self.select: Field | None = None
        self.query_names: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form":
            method = "post" if a.get("hx-post") or a.get("method", "").lower() == "post" else "get"
            action = a.get("hx-post") or a.get("action") or self.page
            self.current = Form(
                self.page,
                method,
                urljoin(self.page, action),
                multipart="multipart" in a.get("enctype", ""),
            )
            self.forms.append(self.current)
            if a.get("id"):
                self.by_id[a["id"]] = self.current
        elif tag == "a" and "?" in a.get("href", ""):
            query = urlsplit(a["href"]).query
            self.query_names |= {part.split("=")[0] for part in query.split("&") if part}
        elif tag in ("input", "select", "textarea", "button") and a.get("name"):
            form = self.by_id.get(a.get("form", "")) or self.current
            if form is None:
                return
            kind = {"select": "select", "textarea": "textarea"}.get(tag, a.get("type", "text"))
            if tag == "button" or kind in ("submit", "image"):
                kind = "submit"
            found = form.fields.setdefault(a["name"], Field(a["name"], kind))
            value = a.get("value")
            if value is not None and kind in ("checkbox", "radio", "hidden", "submit"):
                found.options.append(value)
            if tag == "select":
                self.select = found
        elif tag == "option" and self.select is not None:
            self.select.options.append(a.get("value", ""))

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self.current = None
        elif tag == "select":
            self.select = None


def routes() -> list[str]:
    """Every route of the web app, as its pattern text (``w/<slug:slug>/posts/``)."""

    def walk(patterns: list, prefix: str) -> list[str]:
        found = []
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                found += walk(pattern.url_patterns, prefix + str(pattern.pattern))
            elif isinstance(pattern, URLPattern):
                found.append(prefix + str(pattern.pattern))
        return found

    return [r for r in walk(get_resolver().url_patterns, "") if not r.startswith(NOT_PAGES)]


PARAMETER = re.compile(r"<(?:(\w+):)?(\w+)>")


def fill(route: str, values: dict[str, str]) -> str:
    """The route with its parameters filled; a parameter the demo gives no value for fails
    the test (give it one below) rather than leaving the page out."""

    def value(match: re.Match) -> str:
        name = match.group(2)
        key = f"{route.split('/')[0]}:{name}" if name == "token" else name
        assert key in values, f"No value for <{name}> in {route}: add one in the demo fixture"
        return values[key]

    return "/" + PARAMETER.sub(value, route)


def script_field_names() -> set[str]:
    """The field names the pages' own scripts post (``form.append("delivery", …)``)."""
    names: set[str] = set()
    for script in Path(__file__).parent.parent.glob("socialdesk/*/static/*/*.js"):
        if "vendor" not in script.parts:
            names |= set(re.findall(r"\.(?:append|set)\(\"(\w+)\"", script.read_text()))
    return names


@pytest.fixture
def loopback_only(monkeypatch):
    """Forms that connect a network account look the server up by name: generated names
    must never reach a real resolver (tests talk to 127.0.0.1 only), so any other name
    is unknown, as it would be offline."""
    real = socket.getaddrinfo

    def getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
        if host not in ("127.0.0.1", "localhost", "::1"):
            raise socket.gaierror(socket.EAI_NONAME, "not resolved in tests")
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)


@pytest.fixture
def demo(db, settings, tmp_path, loopback_only):
    settings.MEDIA_ROOT = tmp_path
    built = build_demo()
    workspace = built.workspace
    owner = built.users[Role.OWNER.value]
    creator = Membership.objects.get(workspace=workspace, role=Role.CREATOR)
    asset = MediaAsset.objects.filter(workspace=workspace).first()
    if asset is None:
        asset = upload_media(workspace, owner, SimpleUploadedFile("a.png", png_bytes()), "Rye")
    create_webhook(
        workspace,
        owner,
        name="Slack",
        url="https://hooks.example.test/h",
        events=["delivery.failed"],
    )
    notify(workspace, [owner], "delivery.failed", "Rye failed", actor=creator.user)
    invitation = invite_member(workspace, owner, "new@crumb.example", Role.CREATOR)
    feed = create_feed(workspace, owner)
    link = ReviewLink.objects.filter(workspace=workspace).first()
    post = Post.objects.filter(workspace=workspace, deliveries__isnull=False).first()
    # A creator's reply waiting for approval in the conversation the fuzz opens, so that its
    # Approve, Edit & approve and Reject forms are fuzzed too.
    talk = Conversation.objects.filter(workspace=workspace).first()
    set_approval_roles(workspace, owner, ["creator"])
    waiting = answer_inbox(talk, creator.user, "Thanks, we will look into it.")
    values = {
        "slug": workspace.slug,
        "post_id": str(post.pk),
        "channel_id": str(Channel.objects.filter(workspace=workspace).first().pk),
        "media_id": str(asset.pk),
        "notification_id": str(Notification.objects.filter(workspace=workspace).first().pk),
        "webhook_id": str(Webhook.objects.filter(workspace=workspace).first().pk),
        "stage_id": str(Stage.objects.filter(workspace=workspace).first().pk),
        "comment_id": str(Comment.objects.filter(workspace=workspace).first().pk),
        "link_id": str(link.pk),
        "membership_id": str(creator.pk),
        "invitation_id": str(invitation.pk),
        "token_id": str(ApiToken.objects.filter(workspace=workspace).first().pk),
        "entry_id": str(PageEntry.objects.filter(workspace=workspace).first().pk),
        "kind": "atom",
        "path": "x",
        # The demo's inbox history (socialdesk/inbox/demo.py).
        "conversation_id": str(Conversation.objects.filter(workspace=workspace).first().pk),
        "rule_id": str(Rule.objects.filter(workspace=workspace).first().pk),
        # A short link's code (analytics.links): one of the demo's, or one nobody has (404).
        "code": next(iter(ShortLink.objects.values_list("code", flat=True)), "Zz9Zz9Zz"),
        "approval_id": str(ReplyApproval.objects.get(message=waiting).pk),
        "experiment_id": str(an_experiment(workspace, owner)),
        # The demo's weekly report (analytics.reports.build_demo).
        "report_id": str(Report.objects.filter(workspace=workspace).earliest("pk").pk),
        # A measured delivery of the demo (its post's analytics, analytics.post_detail).
        "delivery_id": str(MetricSnapshot.objects.filter(workspace=workspace).first().delivery_id),
        # The demo's listening (socialdesk/listening/demo.py).
        "alert_id": str(Alert.objects.filter(workspace=workspace).first().pk),
        "topic_id": str(Topic.objects.filter(workspace=workspace).first().pk),
        "mention_id": str(Mention.objects.filter(workspace=workspace).first().pk),
        "what": "volume",
        # A network connected through its connect page (networks.connect_views, issue 16).
        "network": "telegram",
        "key": "no-such-choice",
        "uidb64": "MQ",
        "invitations:token": Invitation.objects.get(pk=invitation.pk).token,
        "review:token": token_for(link),
        "ical:token": feed.token,
        "accounts:token": "set-password",
    }
    return owner, values


def read_pages(
    client: Client, urls: list[str], script_names: set[str]
) -> tuple[list[Form], dict[str, set[str]]]:
    """The forms on the pages, and per page the query-string names to fuzz: its links' and,
    for what scripts fetch (JSON, fragments), the names the scripts send."""
    forms: list[Form] = []
    query_names: dict[str, set[str]] = {}
    for url in urls:
        response = client.get(url)
        assert response.status_code < 500, url
        if response.status_code != 200:
            continue
        if "html" not in response.get("Content-Type", ""):
            query_names[url] = script_names
            continue
        reader = FormReader(url)
        reader.feed(response.content.decode())
        forms += reader.forms
        query_names[url] = reader.query_names
    return forms, query_names


def test_no_web_form_or_filter_answers_a_server_error(demo):
    owner, values = demo
    pages = [fill(route, values) for route in routes()]
    script_names = script_field_names()
    # CSRF checked, as in a browser: the fuzz must get past it to reach the views.
    signed_in = Client(enforce_csrf_checks=True)
    signed_in.force_login(owner)
    signed_out = Client(enforce_csrf_checks=True)
    forms, query_names = read_pages(signed_in, pages, script_names)
    outside = [p for p in pages if not p.startswith("/w/")]
    anonymous_forms, anonymous_names = read_pages(signed_out, outside, script_names)

    todo: list[tuple[Client, Form]] = []
    seen: set[tuple] = set()
    for client, found in ((signed_in, forms), (signed_out, anonymous_forms)):
        for form in found:
            if (id(client), *form.key()) not in seen:
                seen.add((id(client), *form.key()))
                todo.append((client, form))
    # Routes only scripts post to, with the names the scripts send.
    posted = {urlsplit(f.action).path for _, f in todo if f.method == "post"}
    script_fields = {n: Field(n, "text") for n in script_names}
    for page in pages:
        if page not in posted and page.startswith("/w/"):
            todo.append((signed_in, Form(page, "post", page, fields=dict(script_fields))))
    # Query strings: the names the page's links and GET forms use.
    for client, names_of in ((signed_in, query_names), (signed_out, anonymous_names)):
        for page, names in names_of.items():
            names = names | {
                n
                for c, f in todo
                if c is client and f.method == "get" and f.action == page
                for n in f.fields
            }
            if names:
                fields = {n: Field(n, "text") for n in names}
                todo.append((client, Form(page, "get", page, fields=fields)))

    took: Counter[str] = Counter()
    answers: Counter[tuple[str, int]] = Counter()
    print(f"\nfuzzing {len(todo)} forms and query strings, {EXAMPLES} examples each")
    # Every example starts from these cookies (a fuzzed sign-in, sign-out or password change
    # changes them) and, being rolled back, from the same database.
    cookies = {
        id(client): {name: morsel.value for name, morsel in client.cookies.items()}
        for client in (signed_in, signed_out)
    }
    for client, form in todo:
        started = time.monotonic()
        fuzz_form(client, cookies[id(client)], form, answers)
        who = "owner" if client is signed_in else "signed out"
        took[f"{form.method} {urlsplit(form.action).path} ({who})"] += time.monotonic() - started
    by_status: Counter[int] = Counter()
    for (_, status), count in answers.items():
        by_status[status] += count
    print("answers by status:", dict(sorted(by_status.items())))
    for name, seconds in took.most_common(5):
        print(f"{seconds:5.1f} s  {name}")
    # The fuzz got through to the views: some generated posts were accepted (and redirected),
    # on many different routes.
    accepted = {route for route, status in answers if status == 302}
    assert len(accepted) >= 10, accepted


def fuzz_form(
    client: Client, cookies: dict[str, str], form: Form, answers: Counter[tuple[str, int]]
) -> None:
    csrf_secret = cookies[django_settings.CSRF_COOKIE_NAME]
    # The form's token; a form htmx sends carries none (htmx sends the header), and Django
    # also takes the cookie's secret itself.
    token = next(iter(form.fields.get("csrfmiddlewaretoken", Field("", "")).options), csrf_secret)
    fields = {n: f for n, f in form.fields.items() if n != "csrfmiddlewaretoken"}
    strategy = st.fixed_dictionaries({name: f.values() for name, f in fields.items()})

    @FUZZ
    @given(data=strategy)
    def check(data: dict[str, Any]) -> None:
        sent = {k: v for k, v in data.items() if v is not None}
        for name in list(client.cookies):
            if name not in cookies:
                del client.cookies[name]
        for name, value in cookies.items():
            client.cookies[name] = value
        with transaction.atomic():
            response = send(client, form, sent, token)
            transaction.set_rollback(True)
        where = f"{form.method.upper()} {form.action} (form of {form.page}) with {sent!r:.300}"
        assert response.status_code < 500, where
        assert not (response.status_code == 403 and b"CSRF" in response.content), where
        answers[(form.key()[1], response.status_code)] += 1

    for value in EVERYWHERE:
        check = example(data={name: value for name in fields})(check)
    check()


def send(client: Client, form: Form, data: dict[str, Any], token: str) -> Any:
    if form.method == "get":
        return client.get(form.action, data)
    data["csrfmiddlewaretoken"] = token
    has_file = any(isinstance(v, SimpleUploadedFile) for v in data.values())
    if form.multipart or has_file:
        return client.post(form.action, data)
    return client.post(
        form.action,
        urlencode(data, doseq=True),
        content_type="application/x-www-form-urlencoded",
    )


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
