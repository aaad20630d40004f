"""Triage rules (issue 13, item 6): conditions → actions, applied to each new inbound message.

Ingestion calls ``apply_rules(message)`` once per new inbound message (after triage has set
its language and sentiment). It first matches the message against the FAQ answers
(``faq.propose``), then tries the workspace's enabled rules in order; a rule whose conditions
all hold does its actions (``stop`` ends the list there). It returns what was done, as
short sentences, and records each match (``RuleHit``).

**Conditions** (``Conditions``; every one given must hold):

- ``keywords``: a query over the message's words — ``refund OR "money back"``,
  ``gluten AND NOT "gluten-free"``, ``(late OR cold) delivery`` (words side by side mean AND),
  ``allerg*`` (a prefix), ``-spam`` (NOT). Operators are upper case (``AND``, ``OR``, ``NOT``),
  so the French "ou" and the English "or" stay words. Case and accents do not matter; a word
  matches a whole word, a "phrase" consecutive words. ``parse_query`` says what is wrong in a
  query people typed.
- ``kinds``, ``networks``, ``channel_ids``, ``sentiments``, ``languages`` (any of those given);
- ``has_link``, ``only_emoji``, ``first_message`` (the contact's first message to the
  workspace): true or false;
- ``post_labels``: the post the conversation is under carries one of these labels.

**Actions** (``Action``): ``assign`` (a member), ``tag``, ``priority``, ``hide`` and ``like``
(on the network), ``reply`` (with a saved reply), ``answer_faq`` (send the FAQ answer matched
above, if any), ``resolve``, ``notify`` (members). Answers sent by a rule are automatic and
labelled so (``Message.automatic``).

Rules can be tried against the last 30 days (``try_rule``) without acting.
"""

from __future__ import annotations

import logging
import re
import time
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Annotated, Any, Literal

import regex
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import F, Min
from django.utils import timezone
from pydantic import BaseModel, ConfigDict, Field
from pydantic import ValidationError as PydanticError

from socialdesk.ids import MAX_ID
from socialdesk.networks.models import Network
from socialdesk.workspaces.models import Membership, User, Workspace

from . import faq, status
from .models import (
    Conversation,
    ConversationKind,
    Direction,
    Message,
    Priority,
    Rule,
    RuleHit,
    SavedReply,
    Sentiment,
    Tag,
)

logger = logging.getLogger(__name__)

TRY_DAYS = 30
TRY_EXAMPLES = 5
MAX_QUERY = 500


# --- The keyword query ----------------------------------------------------------------------


class QueryError(ValueError):
    """A query people typed cannot be read; the message says where."""


def fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text.lower())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


_WORD = re.compile(r"\w+")
_TOKEN = re.compile(r'\s*(?:(\()|(\))|"([^"]*)("?)|(-)(?=[\w"(])|([^\s()"]+))')


def words_of(text: str) -> list[str]:
    return _WORD.findall(fold(text))


@dataclass(frozen=True)
class Words:
    """A text as the query reads it: its words in order, and as a set."""

    seq: tuple[str, ...]
    set: frozenset[str]

    @classmethod
    def of(cls, text: str) -> Words:
        seq = tuple(words_of(text))
        return cls(seq, frozenset(seq))


Test = Callable[[Words], bool]


def _word_test(term: str) -> Test:
    parts = words_of(term.rstrip("*"))
    if term.endswith("*") and len(parts) == 1:
        prefix = parts[0]
        return lambda w: any(word.startswith(prefix) for word in w.seq)
    if len(parts) == 1:
        word = parts[0]
        return lambda w: word in w.set
    return _phrase_test(parts)  # "gluten-free" reads as the phrase "gluten free"


def _phrase_test(parts: list[str]) -> Test:
    if not parts:
        raise QueryError('An empty phrase "" matches nothing; remove it.')
    size = len(parts)
    target = tuple(parts)

    def test(w: Words) -> bool:
        if not all(p in w.set for p in parts):
            return False
        seq = w.seq
        return any(seq[i : i + size] == target for i in range(len(seq) - size + 1))

    return test


class _Parser:
    """query := or; or := and ("OR" and)*; and := not (["AND"] not)*;
    not := ("NOT" | "-") not | atom; atom := "(" or ")" | "phrase" | word."""

    def __init__(self, query: str) -> None:
        self.tokens: list[tuple[str, str]] = []
        position = 0
        query = query.strip()
        while position < len(query):
            found = _TOKEN.match(query, position)
            if found is None or found.end() == position:
                raise QueryError(f"Cannot read the query from {query[position:][:20]!r}.")
            opening, closing, phrase, closed, minus, word = found.groups()
            if opening:
                self.tokens.append(("(", "("))
            elif closing:
                self.tokens.append((")", ")"))
            elif phrase is not None:
                if not closed:
                    raise QueryError('A phrase is not closed: add the second ".')
                self.tokens.append(("phrase", phrase))
            elif minus:
                self.tokens.append(("NOT", "-"))
            elif word in ("AND", "OR", "NOT"):
                self.tokens.append((word, word))
            else:
                self.tokens.append(("word", word))
            position = found.end()
            while position < len(query) and query[position].isspace():
                position += 1
        self.at = 0

    def peek(self) -> str | None:
        return self.tokens[self.at][0] if self.at < len(self.tokens) else None

    def take(self) -> tuple[str, str]:
        token = self.tokens[self.at]
        self.at += 1
        return token

    def parse(self) -> Test:
        if not self.tokens:
            raise QueryError("The query is empty.")
        test = self.or_()
        if self.peek() is not None:
            raise QueryError(f"Unexpected {self.tokens[self.at][1]!r}: is a ( missing?")
        return test

    def or_(self) -> Test:
        tests = [self.and_()]
        while self.peek() == "OR":
            self.take()
            tests.append(self.and_())
        if len(tests) == 1:
            return tests[0]
        return lambda w: any(t(w) for t in tests)

    def and_(self) -> Test:
        tests = [self.not_()]
        while self.peek() in ("AND", "NOT", "(", "phrase", "word"):
            if self.peek() == "AND":
                self.take()
            tests.append(self.not_())
        if len(tests) == 1:
            return tests[0]
        return lambda w: all(t(w) for t in tests)

    def not_(self) -> Test:
        if self.peek() == "NOT":
            self.take()
            inner = self.not_()
            return lambda w: not inner(w)
        return self.atom()

    def atom(self) -> Test:
        kind = self.peek()
        if kind is None:
            raise QueryError("The query ends too early: a word is missing after an operator.")
        token = self.take()
        if kind == "(":
            inner = self.or_()
            if self.peek() != ")":
                raise QueryError("A ( is not closed.")
            self.take()
            return inner
        if kind == "phrase":
            return _phrase_test(words_of(token[1]))
        if kind == "word":
            if not words_of(token[1].rstrip("*")):
                raise QueryError(f"{token[1]!r} has no letters or digits to match.")
            return _word_test(token[1])
        raise QueryError(f"Unexpected {token[1]!r}: a word or phrase must come first.")


def parse_query(query: str) -> Test:
    """A test of ``Words`` for ``query``; QueryError says what is wrong."""
    if len(query) > MAX_QUERY:
        raise QueryError(f"A query is at most {MAX_QUERY} characters.")
    return _Parser(query).parse()


# --- Rules as data ----------------------------------------------------------------------------


DbId = Annotated[int, Field(ge=1, le=MAX_ID, strict=True)]


class Conditions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    keywords: str = Field("", max_length=MAX_QUERY)
    kinds: list[ConversationKind] = Field(default_factory=list, max_length=10)
    networks: list[Network] = Field(default_factory=list, max_length=20)
    channel_ids: list[DbId] = Field(default_factory=list, max_length=100)
    sentiments: list[Sentiment] = Field(default_factory=list, max_length=3)
    languages: list[str] = Field(default_factory=list, max_length=50)
    has_link: bool | None = None
    only_emoji: bool | None = None
    first_message: bool | None = None
    post_labels: list[str] = Field(default_factory=list, max_length=50)


ActionType = Literal[
    "assign", "tag", "priority", "hide", "like", "reply", "answer_faq", "resolve", "notify"
]


class Action(BaseModel):
    model_config = ConfigDict(extra="forbid")

    type: ActionType
    user_id: DbId | None = None  # assign
    tag: str | None = Field(None, max_length=60)  # tag
    priority: Priority | None = None  # priority
    saved_reply_id: DbId | None = None  # reply
    user_ids: list[DbId] = Field(default_factory=list, max_length=50)  # notify


def _pydantic_errors(exc: PydanticError, where: str) -> list[str]:
    messages = []
    for error in exc.errors():
        place = ".".join(str(p) for p in error["loc"])
        messages.append(f"{where}{'.' + place if place else ''}: {error['msg']}")
    return messages


def clean_rule(workspace: Workspace, conditions: Any, actions: Any) -> tuple[dict, list[dict]]:
    """Validate a rule's conditions and actions for ``workspace``; return them as stored.

    Raises ValidationError with ``conditions`` and ``actions`` messages people can act on:
    a query that cannot be read, a member or saved reply or channel not in the workspace,
    an action missing what it needs."""
    errors: dict[str, list[str]] = {}
    cond: Conditions | None = None
    try:
        cond = Conditions.model_validate(conditions or {})
    except PydanticError as exc:
        errors["conditions"] = _pydantic_errors(exc, "conditions")
    # The query and the channels are checked even when another condition is wrong, so that
    # one answer lists every mistake.
    raw = conditions if isinstance(conditions, dict) else {}
    query = raw.get("keywords")
    if isinstance(query, str) and query.strip() and len(query) <= MAX_QUERY:
        try:
            parse_query(query)
        except QueryError as exc:
            errors.setdefault("conditions", []).append(f"keywords: {exc}")
    channel_ids = raw.get("channel_ids")
    if isinstance(channel_ids, list) and all(
        isinstance(i, int) and not isinstance(i, bool) and 1 <= i <= MAX_ID for i in channel_ids
    ):
        from socialdesk.networks.models import Channel

        known = set(
            Channel.objects.filter(workspace=workspace, pk__in=channel_ids).values_list(
                "pk", flat=True
            )
        )
        if set(channel_ids) - known:
            errors.setdefault("conditions", []).append("channel_ids: not channels of yours.")
    cleaned_actions: list[Action] = []
    if not isinstance(actions, list) or not actions or len(actions) > 20:
        errors["actions"] = ["Give one to twenty actions."]
    else:
        for number, raw in enumerate(actions):
            try:
                cleaned_actions.append(Action.model_validate(raw))
            except PydanticError as exc:
                errors.setdefault("actions", []).extend(_pydantic_errors(exc, f"actions.{number}"))
    members = set(
        Membership.objects.filter(workspace=workspace, user__is_active=True).values_list(
            "user_id", flat=True
        )
    )
    replies = set(SavedReply.objects.filter(workspace=workspace).values_list("pk", flat=True))
    for number, action in enumerate(cleaned_actions):
        problem = ""
        if action.type == "assign" and action.user_id not in members:
            problem = "assign needs user_id of a member."
        elif action.type == "tag" and not (action.tag or "").strip():
            problem = "tag needs a tag name."
        elif action.type == "priority" and action.priority is None:
            problem = "priority needs a priority (0 low … 3 urgent)."
        elif action.type == "reply" and action.saved_reply_id not in replies:
            problem = "reply needs saved_reply_id of a saved reply of yours."
        elif action.type == "notify" and (not action.user_ids or set(action.user_ids) - members):
            problem = "notify needs user_ids of members."
        if problem:
            errors.setdefault("actions", []).append(f"actions.{number}: {problem}")
    if errors:
        raise ValidationError(errors)
    assert cond is not None
    return (
        cond.model_dump(mode="json", exclude_defaults=True),
        [a.model_dump(mode="json", exclude_defaults=True) for a in cleaned_actions],
    )


# --- Matching ---------------------------------------------------------------------------------

_LINK = re.compile(r"https?://|www\.\w", re.IGNORECASE)
_NOT_EMOJI = regex.compile(r"[^\p{Extended_Pictographic}\p{Emoji_Modifier}\p{Emoji_Component}\s]")
_ANY_EMOJI = regex.compile(r"\p{Extended_Pictographic}")


def only_emoji(text: str) -> bool:
    """True for "😍😍", "👍🏽 🎉"; False for text, digits only, or nothing."""
    stripped = text.strip()
    return bool(stripped and _ANY_EMOJI.search(stripped) and not _NOT_EMOJI.search(stripped))


@dataclass
class Facts:
    """What conditions read about one inbound message; the costly ones are looked up once,
    when a rule asks (``first_message`` and ``post_labels`` need a query each)."""

    message: Message
    conversation: Conversation
    first_message_of: Callable[[Message], bool]
    labels_of: Callable[[Conversation], set[str]]
    _words: Words | None = None
    _first: bool | None = None
    _labels: set[str] | None = None

    @property
    def words(self) -> Words:
        if self._words is None:
            self._words = Words.of(self.message.text)
        return self._words

    @property
    def first(self) -> bool:
        if self._first is None:
            self._first = self.first_message_of(self.message)
        return self._first

    @property
    def labels(self) -> set[str]:
        if self._labels is None:
            self._labels = self.labels_of(self.conversation)
        return self._labels


def _is_first_message(message: Message) -> bool:
    if message.author_contact_id is None:
        return False
    return not Message.objects.filter(
        workspace_id=message.workspace_id,
        author_contact_id=message.author_contact_id,
        direction=Direction.INBOUND,
        sent_at__lt=message.sent_at,
    ).exists()


def _labels_of(conversation: Conversation) -> set[str]:
    if conversation.delivery_id is None:
        return set()
    from socialdesk.publishing.models import Delivery

    names = Delivery.objects.filter(pk=conversation.delivery_id).values_list(
        "post__labels__name", flat=True
    )
    return {fold(n) for n in names if n}


@dataclass
class Compiled:
    rule: Rule
    conditions: dict
    keywords: Test | None
    actions: list[dict]

    def matches(self, facts: Facts) -> bool:
        c = self.conditions
        message, conversation = facts.message, facts.conversation
        if c.get("kinds") and conversation.kind not in c["kinds"]:
            return False
        if c.get("networks") and conversation.channel.network not in c["networks"]:
            return False
        if c.get("channel_ids") and conversation.channel_id not in c["channel_ids"]:
            return False
        sentiment = message.sentiment or conversation.sentiment
        if c.get("sentiments") and sentiment not in c["sentiments"]:
            return False
        language = (message.language or conversation.language).split("-")[0].lower()
        if c.get("languages") and language not in [x.lower() for x in c["languages"]]:
            return False
        if c.get("has_link") is not None and bool(_LINK.search(message.text)) != c["has_link"]:
            return False
        if c.get("only_emoji") is not None and only_emoji(message.text) != c["only_emoji"]:
            return False
        if self.keywords is not None and not self.keywords(facts.words):
            return False
        if c.get("first_message") is not None and facts.first != c["first_message"]:
            return False
        if c.get("post_labels"):
            wanted = {fold(n) for n in c["post_labels"]}
            if not wanted & facts.labels:
                return False
        return True


_compiled: dict[tuple[int, str], Compiled] = {}


def compile_rule(rule: Rule) -> Compiled:
    """The rule with its query parsed (cached by its id and conditions)."""
    query = str(rule.conditions.get("keywords", "")).strip()
    key = (rule.pk or 0, repr(rule.conditions))
    found = _compiled.get(key)
    if found is not None and rule.pk:
        found.rule, found.actions = rule, rule.actions
        return found
    compiled = Compiled(rule, rule.conditions, parse_query(query) if query else None, rule.actions)
    if rule.pk:
        if len(_compiled) > 5000:
            _compiled.clear()
        _compiled[key] = compiled
    return compiled


# --- Acting -----------------------------------------------------------------------------------


def _network_action(kind: str, message: Message, rule: Rule, text: str = "") -> str:
    """Hide, like or answer on the network through ``inbox.answering`` (the publishing
    engine's guarantees), on behalf of the person who made the rule; an answer is labelled
    automatic. Refused (the rule's maker left, the network cannot hide ...): recorded as
    such, and the rest of the rule still runs."""
    from . import answering

    author = rule.created_by
    if author is None or not author.is_active:
        return f"{kind} skipped: the rule's maker can no longer act in this inbox"
    try:
        if kind == "reply":
            answering.reply(message.conversation, author, text, automatic=True)
        else:
            getattr(answering, kind)(message, author)
    except (ValidationError, PermissionDenied) as refused:
        reason = " ".join(getattr(refused, "messages", [str(refused)]))
        return f"{kind} refused: {reason}"
    return kind


# Tag ids by workspace and name: rules tag many messages with few tags. A tag deleted since
# is made again (the cache is checked against the database when adding fails).
_tag_ids: dict[tuple[int, str], int] = {}


def _tag_id(workspace_id: int, name: str) -> int:
    key = (workspace_id, name)
    tag_id = _tag_ids.get(key)
    if tag_id is None or not Tag.objects.filter(pk=tag_id, workspace_id=workspace_id).exists():
        tag, _ = Tag.objects.get_or_create(workspace_id=workspace_id, name=name)
        tag_id = _tag_ids[key] = tag.pk
    return tag_id


def _act(compiled: Compiled, message: Message, match: faq.Match | None) -> list[str]:
    from socialdesk.notifications.services import notify

    conversation = message.conversation
    rule = compiled.rule
    done: list[str] = []
    for action in compiled.actions:
        kind = action["type"]
        if kind == "assign":
            user = User.objects.filter(pk=action["user_id"], is_active=True).first()
            if user is not None:
                conversation.assignee = user
                conversation.save(update_fields=["assignee"])
                done.append(f"assigned to {user}")
        elif kind == "tag":
            name = action["tag"].strip()[:60]
            conversation.tags.add(_tag_id(message.workspace_id, name))
            done.append(f"tagged {name}")
        elif kind == "priority":
            conversation.priority = action["priority"]
            conversation.save(update_fields=["priority"])
            done.append(f"priority {Priority(action['priority']).label.lower()}")
        elif kind in ("hide", "like"):
            done.append(_network_action(kind, message, rule))
        elif kind == "reply":
            reply = SavedReply.objects.filter(
                workspace_id=message.workspace_id, pk=action["saved_reply_id"]
            ).first()
            if reply is not None:
                answered = _network_action("reply", message, rule, reply.text)
                done.append(f"{answered} with {reply.name}")
        elif kind == "answer_faq":
            if match is not None:
                reply = SavedReply.objects.get(pk=match.saved_reply_id)
                answered = _network_action("reply", message, rule, reply.text)
                done.append(f"{answered} with {reply.name}")
        elif kind == "resolve":
            status.resolve(conversation)
            done.append("resolved")
        elif kind == "notify":
            people = User.objects.filter(pk__in=action["user_ids"])
            notify(
                conversation.workspace,
                list(people),
                "inbox.rule_notice",
                f"Rule “{rule.name}”: {conversation}",
                body=message.text[:500],
                target=conversation,
            )
            done.append("notified")
    return done


# A workspace's enabled rules, kept in the process this long: ingestion reads them for every
# message. Changes through ``save_rule``/``delete_rule`` are seen at once in this process,
# within RULES_CACHE_SECONDS in the others.
RULES_CACHE_SECONDS = 5.0
_rules_cache: dict[int, tuple[float, list[Rule]]] = {}


def forget(workspace_id: int) -> None:
    _rules_cache.pop(workspace_id, None)


def _rules_of(workspace_id: int) -> list[Rule]:
    cached = _rules_cache.get(workspace_id)
    if cached is not None and time.monotonic() - cached[0] < RULES_CACHE_SECONDS:
        return cached[1]
    rules = list(Rule.objects.filter(workspace_id=workspace_id, enabled=True))
    _rules_cache[workspace_id] = (time.monotonic(), rules)
    return rules


def delete_rule(rule: Rule) -> None:
    workspace_id = rule.workspace_id
    rule.delete()
    forget(workspace_id)


def apply_rules(message: Message) -> list[str]:
    """Apply FAQ matching and the workspace's rules to a new inbound message; return what
    was done ("faq: proposed Opening hours", "Allergens: tagged allergens", …).

    Guarantees: each matched rule's local actions and its ``RuleHit`` commit together; a rule
    that fails is logged and skipped, never stops ingestion or the other rules; an outbound
    message, or a conversation marked as spam, is left alone (returns [])."""
    if message.direction != Direction.INBOUND:
        return []
    conversation = message.conversation
    if conversation.spam:
        return []
    done: list[str] = []
    match = None
    try:
        match = faq.propose(message)
    except Exception:
        logger.exception("FAQ matching failed for message %s", message.pk)
    if match is not None:
        done.append(f"faq: proposed {match.name} ({match.score:.2f})")
    facts = Facts(message, conversation, _is_first_message, _labels_of)
    now = timezone.now()
    for rule in _rules_of(message.workspace_id):
        try:
            compiled = compile_rule(rule)
            if not compiled.matches(facts):
                continue
            with transaction.atomic():
                actions = _act(compiled, message, match)
                RuleHit.objects.create(rule=rule, message=message, at=now, done=actions)
                Rule.objects.filter(pk=rule.pk).update(
                    matched_count=F("matched_count") + 1, last_matched_at=now
                )
            done += [f"{rule.name}: {what}" for what in actions]
        except Exception:
            logger.exception("Rule %s failed on message %s", rule.pk, message.pk)
            continue
        if rule.stop:
            break
    return done


# --- Trying a rule against history ------------------------------------------------------------


@dataclass
class Trial:
    matched: int
    tried: int
    examples: list[dict[str, Any]] = field(default_factory=list)

    @property
    def summary(self) -> str:
        """ "would have matched 14: “Do you deliver…”, “…” " """
        if not self.matched:
            return f"would have matched none of {self.tried} messages"
        quoted = ", ".join(f"“{e['text'][:60]}”" for e in self.examples)
        return f"would have matched {self.matched}: {quoted}"


def try_rule(
    workspace: Workspace,
    conditions: Any,
    *,
    now: datetime | None = None,
    days: int = TRY_DAYS,
    limit: int = 20000,
) -> Trial:
    """Evaluate ``conditions`` against the workspace's inbound messages of the last ``days``
    (at most ``limit``, newest first) without acting; ValidationError for bad conditions."""
    cleaned, _ = clean_rule(workspace, conditions, [{"type": "resolve"}])
    compiled = compile_rule(Rule(workspace=workspace, conditions=cleaned, actions=[]))
    now = now or timezone.now()
    messages = list(
        Message.objects.filter(
            workspace=workspace,
            direction=Direction.INBOUND,
            sent_at__gte=now - timedelta(days=days),
            sent_at__lte=now,
        )
        .select_related("conversation__channel")
        .order_by("-sent_at", "-pk")[:limit]
    )
    firsts = _first_message_ids(workspace, messages) if "first_message" in cleaned else set()
    labels: dict[int, set[str]] = {}
    trial = Trial(matched=0, tried=len(messages))
    for message in messages:
        facts = Facts(
            message,
            message.conversation,
            lambda m: m.pk in firsts,
            lambda c: labels.setdefault(c.pk, _labels_of(c)),
        )
        if compiled.matches(facts):
            trial.matched += 1
            if len(trial.examples) < TRY_EXAMPLES:
                trial.examples.append(
                    {
                        "message_id": message.pk,
                        "conversation_id": message.conversation_id,
                        "sent_at": message.sent_at,
                        "text": message.text,
                    }
                )
    return trial


def _first_message_ids(workspace: Workspace, messages: Iterable[Message]) -> set[int]:
    contacts = {m.author_contact_id for m in messages if m.author_contact_id}
    firsts = (
        Message.objects.filter(
            workspace=workspace, direction=Direction.INBOUND, author_contact_id__in=contacts
        )
        .values("author_contact_id")
        .annotate(first=Min("sent_at"))
    )
    first_at = {row["author_contact_id"]: row["first"] for row in firsts}
    return {
        m.pk
        for m in messages
        if m.author_contact_id and first_at.get(m.author_contact_id) == m.sent_at
    }


# --- Storing rules ----------------------------------------------------------------------------


def save_rule(
    workspace: Workspace,
    *,
    name: str,
    conditions: Any,
    actions: Any,
    enabled: bool = True,
    stop: bool = False,
    position: int | None = None,
    by: User | None = None,
    rule: Rule | None = None,
) -> Rule:
    """Create (or, with ``rule``, change) a rule after validating it; ValidationError and
    nothing written on bad input or a name already used."""
    name = (name or "").strip()
    errors: dict[str, list[str]] = {}
    if not name or len(name) > 100:
        errors["name"] = ["Give the rule a name of 1 to 100 characters."]
    elif (
        Rule.objects.filter(workspace=workspace, name__iexact=name)
        .exclude(pk=rule.pk if rule else None)
        .exists()
    ):
        errors["name"] = [f"A rule named {name!r} exists already."]
    try:
        cleaned_conditions, cleaned_actions = clean_rule(workspace, conditions, actions)
    except ValidationError as exc:
        errors.update(exc.message_dict)
    if errors:
        raise ValidationError(errors)
    if rule is None:
        last = Rule.objects.filter(workspace=workspace).order_by("-position").first()
        rule = Rule(
            workspace=workspace,
            created_by=by,
            position=position if position is not None else (last.position + 1 if last else 0),
        )
    elif position is not None:
        rule.position = position
    rule.name = name
    rule.conditions = cleaned_conditions
    rule.actions = cleaned_actions
    rule.enabled = enabled
    rule.stop = stop
    if rule.pk is None:
        rule.save()
    else:
        rule.save(update_fields=["name", "conditions", "actions", "enabled", "stop", "position"])
    forget(workspace.pk)
    return rule
