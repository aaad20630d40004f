"""Conversions: the shop reports an order for a click, signed, server to server (issue 14, item 3).

The shop's server POSTs JSON ``{"click": "<sd_click>", "value": "24.50", "currency": "EUR",
"order_id": "A-1001"}`` to ``/hooks/conversions/<workspace>`` with the header
``X-Socialdesk-Signature: sha256=<hex>``, the HMAC-SHA256 of the exact body under the
workspace's conversion secret (``rotate_secret``; shown once, encrypted at rest).

Guarantees:

- **Signed.** A body whose signature does not match is refused (401) before it is read;
  a workspace without a secret refuses every report.
- **Idempotent by order.** One conversion per workspace and ``order_id``: the same report
  again (a retry of the shop's) returns the conversion recorded the first time, unchanged.
- **Last click, within a stated window.** The click the report names is the last one the shop
  saw (the landing address carried it); the conversion is attributed to that click's short
  link, post, channel and campaign when the click is at most
  ``LinkSettings.conversion_window_days`` (default 30) days older than the report. An
  older click still records the order, unattributed, with the window it was measured by.
- **All or nothing.** Every field is checked before anything is written, and a bad one is
  named (400); the row is one insert.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from socialdesk import crypto
from socialdesk.workspaces.models import Workspace

from .links import settings_for
from .models import Click, Conversion, LinkSettings

SIGNATURE_HEADER = "X-Socialdesk-Signature"
MAX_BODY = 10_000
MAX_ORDER_ID = Conversion._meta.get_field("order_id").max_length or 200
CURRENCY = re.compile(r"^[A-Z]{3}$")
# Up to 12 digits before the point and 2 after (the column's precision).
MAX_VALUE = Decimal("999999999999.99")
FIELDS = ("click", "value", "currency", "order_id")


class BadReport(ValueError):
    """A report refused as it is; ``field`` names what to fix (400)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


class BadSignature(Exception):
    """The report is not signed with the workspace's current secret (401)."""


@dataclass(frozen=True)
class Report:
    click: str
    value: Decimal
    currency: str
    order_id: str


def rotate_secret(workspace: Workspace, now: datetime | None = None) -> str:
    """A new conversion secret for ``workspace``, replacing the old one at once (reports
    signed with the old one are refused from now on). Returned once: only its encrypted
    form is kept."""
    secret = f"sdc_{secrets.token_urlsafe(32)}"
    encrypted = crypto.encrypt_json({"secret": secret})
    now = now or timezone.now()
    with transaction.atomic():
        row, made = LinkSettings.objects.get_or_create(
            workspace=workspace,
            defaults={"conversion_secret_encrypted": encrypted, "secret_rotated_at": now},
        )
        if not made:
            row.conversion_secret_encrypted = encrypted
            row.secret_rotated_at = now
            row.save(update_fields=["conversion_secret_encrypted", "secret_rotated_at"])
    return secret


def sign(secret: str, body: bytes) -> str:
    """The header value a shop sends: ``sha256=<hex of HMAC-SHA256(secret, body)>``."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def check_signature(link_settings: LinkSettings, body: bytes, header: str) -> None:
    encrypted = link_settings.conversion_secret_encrypted
    if not encrypted:
        raise BadSignature("This workspace has no conversion secret yet; make one first.")
    secret = str(crypto.decrypt_json(encrypted).get("secret", ""))
    if not hmac.compare_digest(sign(secret, body), header.strip()):
        raise BadSignature(
            f"The {SIGNATURE_HEADER} header is not the HMAC-SHA256 of this body under the "
            "workspace's conversion secret (sha256=<hex>)."
        )


def parse(body: bytes) -> Report:
    """The report in ``body``, every field checked; ``BadReport`` names the first bad one."""
    try:
        data: Any = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BadReport("body", f"The body is not JSON: {exc}.") from None
    if not isinstance(data, dict):
        raise BadReport("body", "The body must be a JSON object with " + ", ".join(FIELDS) + ".")
    for name in FIELDS:
        if name not in data:
            raise BadReport(name, f"{name} is missing.")
    click = data["click"]
    if not isinstance(click, str) or not re.fullmatch(r"[A-Za-z0-9_-]{1,24}", click):
        raise BadReport("click", "click is the sd_click value of the landing page's address.")
    return Report(click, _value(data["value"]), _currency(data["currency"]), _order(data))


def _value(raw: Any) -> Decimal:
    if isinstance(raw, bool) or not isinstance(raw, (str, int, float)):
        raise BadReport("value", 'value is a number or a decimal string, e.g. "24.50".')
    try:
        value = Decimal(str(raw).strip())
    except InvalidOperation:
        raise BadReport("value", f"value {str(raw)[:40]!r} is not a number.") from None
    if not value.is_finite() or value < 0 or value > MAX_VALUE:
        raise BadReport("value", f"value is between 0 and {MAX_VALUE}.")
    if value != value.quantize(Decimal("0.01")):
        raise BadReport("value", "value has at most 2 decimals.")
    return value.quantize(Decimal("0.01"))


def _currency(raw: Any) -> str:
    if not isinstance(raw, str) or not CURRENCY.match(raw.strip().upper()):
        raise BadReport("currency", 'currency is a three-letter ISO 4217 code, e.g. "EUR".')
    return raw.strip().upper()


def _order(data: dict[str, Any]) -> str:
    raw = data["order_id"]
    if isinstance(raw, int) and not isinstance(raw, bool):
        raw = str(raw)
    if not isinstance(raw, str) or not raw.strip() or "\x00" in raw:
        raise BadReport("order_id", "order_id is the shop's order number, as text.")
    if len(raw.strip()) > MAX_ORDER_ID:
        raise BadReport("order_id", f"order_id is at most {MAX_ORDER_ID} characters.")
    return raw.strip()


def record_conversion(
    workspace: Workspace, report: Report, now: datetime | None = None
) -> tuple[Conversion, bool]:
    """Record ``report`` once (see the module's docstring); returns it and whether it is new.
    ``BadReport("click")`` when the click is not one of this workspace's."""
    now = now or timezone.now()
    existing = Conversion.objects.filter(workspace=workspace, order_id=report.order_id).first()
    if existing is not None:
        return existing, False
    click = (
        Click.objects.filter(workspace=workspace, token=report.click).select_related("link").first()
    )
    if click is None:
        raise BadReport("click", "No click of this workspace has this id.")
    window = settings_for(workspace.pk).conversion_window_days
    attributed = click.at >= now - timedelta(days=window)
    link = click.link
    fields: dict[str, Any] = {}
    if attributed:
        fields = {
            "link": link,
            "post_id": link.post_id,
            "channel_id": link.channel_id,
            "campaign_id": link.campaign_id,
        }
    try:
        with transaction.atomic():
            conversion = Conversion.objects.create(
                workspace=workspace,
                click=click,
                order_id=report.order_id,
                value=report.value,
                currency=report.currency,
                created_at=now,
                attributed=attributed,
                window_days=window,
                **fields,
            )
    except IntegrityError:  # the same order, reported twice at the same moment
        return Conversion.objects.get(workspace=workspace, order_id=report.order_id), False
    return conversion, True
