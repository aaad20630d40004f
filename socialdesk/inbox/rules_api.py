"""API: a workspace's inbox rules (list, create, change, delete) and "try against history".

No ``from __future__ import annotations``: ninja reads the parameter types at import time.
"""

from datetime import datetime
from typing import Any

from django.http import HttpResponse
from ninja import Field, Router, Schema, Status

from socialdesk.api_support import Id, MemberRequest, Slug, Text, caller, requires, responses
from socialdesk.workspaces.access import get_in_workspace

from . import faq, rules
from .models import Rule, SavedReply

router = Router(tags=["inbox rules"])

CONDITIONS_HELP = (
    'keywords (AND, OR, NOT, -word, word*, "phrase", parentheses), kinds, networks, '
    "channel_ids, sentiments, languages, has_link, only_emoji, first_message, post_labels."
)
ACTIONS_HELP = (
    "Each {type: assign (user_id) | tag (tag) | priority (priority 0-3) | hide | like | "
    "reply (saved_reply_id) | answer_faq | resolve | notify (user_ids)}."
)


class RuleOut(Schema):
    id: int
    name: str
    enabled: bool
    position: int
    stop: bool
    conditions: dict[str, Any]
    actions: list[dict[str, Any]]
    matched_count: int
    last_matched_at: datetime | None
    created_at: datetime


class RuleList(Schema):
    items: list[RuleOut]


class RuleIn(Schema):
    name: Text = Field(..., max_length=100)
    conditions: dict[str, Any] = Field(default_factory=dict, description=CONDITIONS_HELP)
    actions: list[dict[str, Any]] = Field(..., max_length=20, description=ACTIONS_HELP)
    enabled: bool = True
    stop: bool = Field(False, description="Later rules are not tried on a message it matched.")
    position: int | None = Field(None, ge=0, le=100000)


class TryIn(Schema):
    conditions: dict[str, Any] = Field(default_factory=dict, description=CONDITIONS_HELP)


class Example(Schema):
    message_id: int
    conversation_id: int
    sent_at: datetime
    text: str


class TryOut(Schema):
    matched: int
    tried: int
    summary: str = Field(description='e.g. "would have matched 14: …"')
    examples: list[Example]


@router.get(
    "/workspaces/{slug}/inbox/rules",
    response=responses(RuleList),
    operation_id="inbox_rules_list",
)
@requires("inbox_settings.view")
def rules_list(request: MemberRequest, slug: Slug) -> dict:
    """The workspace's rules in the order they are tried."""
    return {"items": list(Rule.objects.filter(workspace=request.workspace))}


@router.post(
    "/workspaces/{slug}/inbox/rules",
    response=responses(RuleOut, 201),
    operation_id="inbox_rules_create",
)
@requires("inbox_settings.manage")
def rules_create(request: MemberRequest, slug: Slug, payload: RuleIn) -> Status:
    rule = rules.save_rule(request.workspace, by=caller(request), **payload.dict())
    return Status(201, rule)


@router.post(
    "/workspaces/{slug}/inbox/rules/try",
    response=responses(TryOut),
    operation_id="inbox_rules_try",
)
@requires("inbox_settings.view")
def rules_try(request: MemberRequest, slug: Slug, payload: TryIn) -> dict:
    """Which inbound messages of the last 30 days the conditions would have matched; nothing
    is done to them."""
    trial = rules.try_rule(request.workspace, payload.conditions)
    return {
        "matched": trial.matched,
        "tried": trial.tried,
        "summary": trial.summary,
        "examples": trial.examples,
    }


@router.put(
    "/workspaces/{slug}/inbox/rules/{rule_id}",
    response=responses(RuleOut),
    operation_id="inbox_rules_update",
)
@requires("inbox_settings.manage")
def rules_update(request: MemberRequest, slug: Slug, rule_id: Id, payload: RuleIn) -> Rule:
    rule = get_in_workspace(Rule, request.workspace, pk=rule_id)
    return rules.save_rule(request.workspace, rule=rule, **payload.dict())


@router.delete(
    "/workspaces/{slug}/inbox/rules/{rule_id}",
    response=responses(None, 204),
    operation_id="inbox_rules_delete",
)
@requires("inbox_settings.manage")
def rules_delete(request: MemberRequest, slug: Slug, rule_id: Id) -> HttpResponse:
    rules.delete_rule(get_in_workspace(Rule, request.workspace, pk=rule_id))
    return HttpResponse(status=204)


# --- FAQ answers ------------------------------------------------------------------------------


class FaqQuestionsIO(Schema):
    is_answer: bool = Field(description="Proposed for incoming questions that match.")
    questions: list[Text] = Field(
        ..., max_length=50, description="Ways people ask for it, in any language."
    )


class FaqMatchIn(Schema):
    text: Text = Field(..., min_length=1, max_length=5000)


class FaqMatchOut(Schema):
    saved_reply_id: int | None
    name: str | None
    score: float | None


@router.get(
    "/workspaces/{slug}/inbox/saved-replies/{saved_reply_id}/faq-questions",
    response=responses(FaqQuestionsIO),
    operation_id="inbox_faq_questions_read",
)
@requires("inbox_settings.view")
def faq_questions_read(request: MemberRequest, slug: Slug, saved_reply_id: Id) -> dict:
    reply = get_in_workspace(SavedReply, request.workspace, pk=saved_reply_id)
    questions = list(reply.faq_questions.values_list("text", flat=True))
    return {"is_answer": reply.is_answer, "questions": questions}


@router.put(
    "/workspaces/{slug}/inbox/saved-replies/{saved_reply_id}/faq-questions",
    response=responses(FaqQuestionsIO),
    operation_id="inbox_faq_questions_update",
)
@requires("inbox_settings.manage")
def faq_questions_update(
    request: MemberRequest, slug: Slug, saved_reply_id: Id, payload: FaqQuestionsIO
) -> dict:
    """Replace the questions a saved reply answers, and mark it as an FAQ answer or not."""
    reply = get_in_workspace(SavedReply, request.workspace, pk=saved_reply_id)
    questions = faq.set_questions(reply, payload.questions, is_answer=payload.is_answer)
    return {"is_answer": payload.is_answer, "questions": questions}


@router.post(
    "/workspaces/{slug}/inbox/faq/match",
    response=responses(FaqMatchOut),
    operation_id="inbox_faq_match",
)
@requires("inbox_settings.view")
def faq_match(request: MemberRequest, slug: Slug, payload: FaqMatchIn) -> dict:
    """The FAQ answer a text would get (nothing stored); all null below the threshold."""
    found = faq.match(request.workspace.pk, payload.text)
    if found is None:
        return {"saved_reply_id": None, "name": None, "score": None}
    reply = SavedReply.objects.get(pk=found.saved_reply_id)
    return {"saved_reply_id": reply.pk, "name": reply.name, "score": found.score}
