"""Plumbing shared by every API router: authentication, authorization, problem details,
input types and cursor pagination.

Each operation states its permission once, with ``@requires("posts.view")`` under its route
decorator: that one line checks it and puts it in the OpenAPI document (``x-permission``).
``tests/test_authorization_matrix.py`` reads the document and calls every operation as every
role, so an operation without a permission, or one that checks more than it declares, fails.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from functools import partial, wraps
from typing import Annotated, Any, TypeVar

from django.conf import settings
from django.core.exceptions import (
    ImproperlyConfigured,
    PermissionDenied,
    RequestDataTooBig,
    SuspiciousFileOperation,
    SuspiciousOperation,
    TooManyFieldsSent,
    TooManyFilesSent,
)
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError
from django.db.models import Q, QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.utils import timezone
from ninja import Field, Schema
from ninja.errors import AuthenticationError, HttpError
from ninja.errors import ValidationError as NinjaValidationError
from ninja.operation import Operation
from ninja.parser import Parser
from ninja.security import HttpBearer
from ninja.security import SessionAuth as NinjaSessionAuth
from ninja.utils import check_csrf, contribute_operation_callback
from pydantic import AfterValidator, AwareDatetime, BeforeValidator

from socialdesk.ids import MAX_ID
from socialdesk.publishing.wallclock import WallClockError
from socialdesk.workspaces import access
from socialdesk.workspaces.models import ApiToken, Membership, User, Workspace
from socialdesk.workspaces.roles import PERMISSIONS


def _whole_number(value: Any) -> Any:
    # Pydantic would read true as 1, and 1.0 or "1.0" as 1: an id is a whole number or, in a
    # path or query string (always text), its digits. The range is checked next.
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and value.isascii() and value.isdigit():
        if len(value) > len(str(MAX_ID)):
            raise ValueError(f"An id is at most {MAX_ID}.")
        return int(value)
    raise ValueError("An id is a whole number, e.g. 42.")


# Ids are 64-bit in every database; bigger numbers are refused before they reach SQL.
Id = Annotated[int, BeforeValidator(_whole_number), Field(ge=1, le=MAX_ID)]
Slug = Annotated[str, Field(pattern=r"^[-a-zA-Z0-9_]+$", max_length=60)]

# A token's last_used_at is written at most this often, so reads do not turn into writes.
LAST_USED_RESOLUTION = timedelta(minutes=1)


def _no_nul(value: str) -> str:
    # PostgreSQL cannot store NUL characters in text; refuse them as bad input, not a 500.
    if "\x00" in value:
        raise ValueError("Text may not contain NUL (\\x00) characters.")
    return value


Text = Annotated[str, AfterValidator(_no_nul)]


def _in_utc(value: datetime) -> datetime:
    # Python allows offsets up to ±24 h, PostgreSQL only ±16 h: store and compare in UTC.
    try:
        return value.astimezone(UTC)
    except OverflowError:
        raise ValueError("This time is outside the years 1 to 9999 in UTC.") from None


# An aware datetime, converted to UTC; a time without an offset is refused (see
# ``_pydantic_message``) because it would mean a different moment in every time zone.
Moment = Annotated[AwareDatetime, AfterValidator(_in_utc)]


def _wall_clock(value: datetime) -> datetime:
    return value if value.tzinfo is None else _in_utc(value)


# A time a person picks: with an offset it is that instant (converted to UTC); without one it
# is a wall-clock time, read by the scheduling service in the zone the request names (see
# ``publishing.wallclock``), which refuses a time the clocks skip or show twice.
WallClockTime = Annotated[datetime, AfterValidator(_wall_clock)]


# --- Request bodies -----------------------------------------------------------------------


class NotAnObject(ValueError):
    """The body is JSON, but not the object every operation's schema describes."""


class ObjectParser(Parser):
    """ninja's JSON parser, refusing a body that is not a JSON object. (ninja's schemas read
    fields as attributes of whatever they are given, so ``[1, 2, 3]`` or ``"text"`` would pass
    as an object with every field left at its default.)"""

    def parse_body(self, request: HttpRequest) -> dict[str, Any]:
        data = super().parse_body(request)
        if not isinstance(data, dict):
            raise NotAnObject(JSON_KINDS.get(type(data), "something else"))
        return data


JSON_KINDS = {
    list: "an array",
    str: "a string",
    int: "a number",
    float: "a number",
    bool: "true or false",
    type(None): "null",
}


# --- Authentication -----------------------------------------------------------------------


class BearerAuth(HttpBearer):
    """``Authorization: Bearer sd_...``: the token acts as its user, in its workspace only."""

    def authenticate(self, request: HttpRequest, token: str) -> User | None:
        if not token.startswith(ApiToken.PREFIX) or "\x00" in token:
            return None
        try:
            api_token = ApiToken.objects.select_related("user").get(token_hash=ApiToken.hash(token))
        except ApiToken.DoesNotExist:
            return None
        if not api_token.user.is_active:
            return None
        now = timezone.now()
        if api_token.last_used_at is None or now - api_token.last_used_at >= LAST_USED_RESOLUTION:
            # A plain UPDATE: concurrent requests with one token never overwrite other fields.
            ApiToken.objects.filter(pk=api_token.pk).update(last_used_at=now)
        request.api_token = api_token  # type: ignore[attr-defined]
        return api_token.user


class SessionAuth(NinjaSessionAuth):
    """The web UI's session cookie; unsafe methods need the CSRF token (``X-CSRFToken``).

    Unlike ninja's own class, a request without a signed-in session is simply not
    authenticated by this method (so it answers 401), rather than failing the CSRF check.
    """

    def __call__(self, request: HttpRequest) -> User | None:
        if not request.user.is_authenticated:
            return None
        if check_csrf(request) is not None:
            raise HttpError(
                403, "CSRF check failed: send the csrftoken cookie's value in X-CSRFToken."
            )
        return request.user  # type: ignore[return-value]


API_AUTH = [BearerAuth(), SessionAuth()]


def caller(request: HttpRequest) -> User:
    return request.auth  # type: ignore[attr-defined,no-any-return]


def token_of(request: HttpRequest) -> ApiToken | None:
    return getattr(request, "api_token", None)


def authorize(request: HttpRequest, slug: str, permission: str) -> Membership:
    """The caller's membership in workspace ``slug`` if it holds ``permission`` (404/403)."""
    return access.authorize(caller(request), slug, permission, token=token_of(request))


def authorize_unscoped(request: HttpRequest, permission: str) -> None:
    """For operations outside any workspace: only a token's scope can refuse them."""
    token = token_of(request)
    if token is not None and not token.allows(permission):
        raise PermissionDenied(f"This API token's scope does not allow {permission}.")


class MemberRequest(HttpRequest):
    """The request of an operation on a workspace path declared with ``@requires``: the
    caller's membership was checked and attached before the handler runs. (A type for mypy
    only; at run time it is Django's own request with two attributes set.)"""

    membership: Membership
    workspace: Workspace


Handler = TypeVar("Handler", bound=Callable[..., Any])


def requires(permission: str) -> Callable[[Handler], Handler]:
    """Declare an API operation's permission, once: it is both checked and documented.

    Put it under the route decorator::

        @router.get("/workspaces/{slug}/posts", ...)
        @requires("posts.view")
        def posts_list(request: MemberRequest, slug: Slug) -> ...:
            ...request.workspace...

    The operation's OpenAPI entry gets ``x-permission``. After ninja has validated the input
    (so bad input still answers 422) and before the handler runs, the caller is authorized in
    the ``{slug}`` workspace (404 for a non-member, 403 for a role or token scope without the
    permission) and ``request.membership`` and ``request.workspace`` are set. An operation
    without ``{slug}`` in its path lies outside any workspace: only a token's scope is checked.
    """
    if permission not in PERMISSIONS:
        raise ImproperlyConfigured(f"No rule for permission {permission!r}: add it to PERMISSIONS.")

    def declare(handler: Handler) -> Handler:
        if hasattr(handler, "_ninja_operation"):
            # The route decorator already built the operation; the check would be skipped.
            raise ImproperlyConfigured(
                f"Put @requires under the route decorator of {handler.__name__}."
            )
        contribute_operation_callback(handler, partial(_check_and_document, permission))
        return handler

    return declare


def _check_and_document(permission: str, operation: Operation) -> None:
    """Run by ninja when it builds the operation (the way its own ``add_decorator(...,
    mode="operation")`` does): document the permission, and wrap the function ninja calls
    with the validated input, so the check comes first."""
    extra = operation.openapi_extra or {}
    if "x-permission" in extra:
        raise ImproperlyConfigured(f"{operation.operation_id} declares its permission twice.")
    operation.openapi_extra = {**extra, "x-permission": permission}
    handler = operation.view_func
    in_workspace = "{slug}" in operation.path

    @wraps(handler)
    def checked(request: HttpRequest, **values: Any) -> Any:
        if in_workspace:
            membership = authorize(request, values["slug"], permission)
            request.membership = membership  # type: ignore[attr-defined]
            request.workspace = membership.workspace  # type: ignore[attr-defined]
        else:
            authorize_unscoped(request, permission)
        return handler(request, **values)

    operation.view_func = checked


# --- Problem details (RFC 9457) -----------------------------------------------------------


class FieldError(Schema):
    field: str
    message: str


class Problem(Schema):
    type: str
    title: str
    status: int
    detail: str
    errors: list[FieldError] = []


PROBLEM_TYPE = "urn:socialdesk:problem:"
ERROR_RESPONSES: dict[int, Any] = {401: Problem, 403: Problem, 404: Problem, 422: Problem}


def responses(ok: Any, status: int = 200) -> dict[int, Any]:
    """A response map: the success schema plus the documented problem responses."""
    return {status: ok, **ERROR_RESPONSES}


def problem(
    status: int,
    kind: str,
    title: str,
    detail: str,
    errors: list[dict[str, str]] | None = None,
    **extensions: Any,
) -> HttpResponse:
    body = {
        "type": PROBLEM_TYPE + kind,
        "title": title,
        "status": status,
        "detail": detail,
        "errors": errors or [],
        **extensions,
    }
    return HttpResponse(json.dumps(body), status=status, content_type="application/problem+json")


def _field_name(loc: list[Any] | tuple[Any, ...]) -> str:
    """``("body", "payload", "labels", 0)`` → ``labels.0``; drop ninja's wrapper names."""
    parts = [str(p) for p in loc]
    if parts and parts[0] in {"body", "query", "path", "form", "file", "header", "cookie"}:
        parts = parts[1:]
        if parts and parts[0] in {"payload", "filters", "params"}:
            parts = parts[1:]
    return ".".join(parts) or "body"


def _pydantic_message(error: dict[str, Any]) -> str:
    if error.get("type") == "timezone_aware":
        return "Give the time with its UTC offset, e.g. 2026-12-01T09:00:00+01:00."
    message = str(error.get("msg", "Invalid value."))
    return message.removeprefix("Value error, ")


def on_ninja_validation_error(request: HttpRequest, exc: NinjaValidationError) -> HttpResponse:
    errors = [
        {"field": _field_name(e.get("loc", ())), "message": _pydantic_message(e)}
        for e in exc.errors
    ]
    return problem(
        422,
        "invalid-input",
        "Invalid input",
        "Some fields are not valid; see errors.",
        errors,
    )


def on_django_validation_error(request: HttpRequest, exc: DjangoValidationError) -> HttpResponse:
    errors: list[dict[str, str]] = []
    if hasattr(exc, "error_dict"):
        for name, messages in exc.message_dict.items():
            field = "body" if name == "__all__" else name
            errors.extend({"field": field, "message": m} for m in messages)
    else:
        errors = [{"field": "body", "message": m} for m in exc.messages]
    extensions = {}
    if isinstance(exc, WallClockError):
        # The valid readings, ready to send back: the instant itself (with its offset), and
        # for a repeated time the ``repeated_time`` that picks it.
        extensions["choices"] = [
            {"label": c.label, "scheduled_at": c.instant}
            | (
                {"repeated_time": "earlier" if c.fold == 0 else "later"}
                if exc.kind == "repeated"
                else {}
            )
            for c in exc.choices
        ]
    return problem(
        422,
        "invalid-input",
        "Invalid input",
        "Some fields are not valid; see errors.",
        errors,
        **extensions,
    )


def on_not_found(request: HttpRequest, exc: Exception) -> HttpResponse:
    return problem(404, "not-found", "Not found", str(exc) or "Not found.")


def on_permission_denied(request: HttpRequest, exc: Exception) -> HttpResponse:
    return problem(403, "forbidden", "Forbidden", str(exc) or "You may not do this.")


def on_authentication_error(request: HttpRequest, exc: Exception) -> HttpResponse:
    response = problem(
        401,
        "unauthenticated",
        "Not signed in",
        "Send an API token as 'Authorization: Bearer sd_...' or sign in.",
    )
    response["WWW-Authenticate"] = 'Bearer realm="socialdesk"'
    return response


def on_http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    cause = exc.__cause__
    if isinstance(cause, json.JSONDecodeError):
        # django-ninja says only "Cannot parse request body"; the position is on the cause.
        return problem(
            400,
            "invalid-json",
            "Invalid JSON",
            f"The body is not valid JSON: {cause.msg} at line {cause.lineno}, "
            f"column {cause.colno}.",
            line=cause.lineno,
            column=cause.colno,
        )
    if isinstance(cause, NotAnObject):
        return problem(
            422,
            "invalid-input",
            "Invalid input",
            "Some fields are not valid; see errors.",
            [{"field": "body", "message": f"The body must be a JSON object {{…}}, not {cause}."}],
        )
    if isinstance(cause, UnicodeDecodeError):
        return problem(400, "invalid-json", "Invalid JSON", "The body is not UTF-8 text.")
    kinds = {400: "bad-request", 403: "forbidden", 404: "not-found", 409: "conflict"}
    kind = kinds.get(exc.status_code, "error")
    return problem(exc.status_code, kind, kind.replace("-", " ").capitalize(), str(exc))


def on_suspicious_request(request: HttpRequest, exc: SuspiciousOperation) -> HttpResponse:
    """What Django would answer with its bare "Bad Request (400)" page, as problem details."""
    if isinstance(exc, RequestDataTooBig):
        return problem(
            413,
            "too-large",
            "Request too large",
            f"The request body is larger than {settings.DATA_UPLOAD_MAX_MEMORY_SIZE:,} bytes "
            "(files are counted separately, up to MEDIA_MAX_BYTES); send less at once.",
        )
    if isinstance(exc, TooManyFieldsSent):
        return problem(
            400,
            "too-many-fields",
            "Too many fields",
            f"The request has more than {settings.DATA_UPLOAD_MAX_NUMBER_FIELDS:,} fields; "
            "send fewer.",
        )
    if isinstance(exc, TooManyFilesSent):
        return problem(
            400,
            "too-many-files",
            "Too many files",
            f"The request has more than {settings.DATA_UPLOAD_MAX_NUMBER_FILES:,} files; "
            "send fewer.",
        )
    if isinstance(exc, SuspiciousFileOperation):
        return problem(
            400,
            "bad-file-name",
            "Unusable file name",
            "A file name is too long or not allowed; rename the file (at most 255 "
            "characters, no folders) and send it again.",
        )
    return problem(
        400, "bad-request", "Bad request", "The request was refused as malformed or unsafe."
    )


def on_integrity_error(request: HttpRequest, exc: IntegrityError) -> HttpResponse:
    # Services check uniqueness first; this answers the rare lost race.
    return problem(
        409,
        "conflict",
        "Conflict",
        "This clashes with a record that was saved at the same moment; try again.",
    )


def install_problem_handlers(api: Any) -> None:
    api.add_exception_handler(NinjaValidationError, on_ninja_validation_error)
    api.add_exception_handler(DjangoValidationError, on_django_validation_error)
    api.add_exception_handler(Http404, on_not_found)
    api.add_exception_handler(PermissionDenied, on_permission_denied)
    api.add_exception_handler(AuthenticationError, on_authentication_error)
    api.add_exception_handler(HttpError, on_http_error)
    api.add_exception_handler(SuspiciousOperation, on_suspicious_request)
    api.add_exception_handler(IntegrityError, on_integrity_error)


def invalid(field: str, message: str) -> DjangoValidationError:
    return DjangoValidationError({field: [message]})


# --- Cursor pagination --------------------------------------------------------------------

M = TypeVar("M")


def _encode_cursor(created_at: datetime, pk: int) -> str:
    raw = json.dumps([created_at.isoformat(), pk]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_cursor(cursor: str) -> tuple[datetime, int]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        created, pk = json.loads(base64.urlsafe_b64decode(padded.encode()))
        moment = datetime.fromisoformat(created)
        if timezone.is_naive(moment) or not isinstance(pk, int) or not 0 < pk <= MAX_ID:
            raise ValueError
    except (ValueError, TypeError, binascii.Error, UnicodeError):
        raise invalid(
            "cursor", "This cursor is not one the API gave out; start again without it."
        ) from None
    return moment, pk


def paginate(queryset: QuerySet, cursor: str | None, limit: int) -> dict[str, Any]:
    """Newest first by (created_at, id): a keyset walk that never repeats or skips a row,
    whatever is created meanwhile. The cursor is opaque to clients."""
    queryset = queryset.order_by("-created_at", "-id")
    if cursor:
        created_at, pk = _decode_cursor(cursor)
        queryset = queryset.filter(
            Q(created_at__lt=created_at) | Q(created_at=created_at, pk__lt=pk)
        )
    rows = list(queryset[: limit + 1])
    next_cursor = None
    if len(rows) > limit:
        rows = rows[:limit]
        last = rows[-1]
        next_cursor = _encode_cursor(last.created_at, last.pk)
    return {"items": rows, "next_cursor": next_cursor}


LIMIT_DESCRIPTION = "How many items to return, 1 to 100."
CURSOR_DESCRIPTION = "The next_cursor of the previous page; omit it for the first page."
