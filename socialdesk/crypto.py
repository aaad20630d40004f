"""Encryption at rest for channel credentials (OAuth and app tokens).

``ENCRYPTION_KEYS`` lists Fernet keys, newest first: the newest encrypts, every key decrypts,
so a key is rotated by putting a new one in front and running ``socialdesk rotate-keys``.
"""

from __future__ import annotations

import json
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings


class CredentialsUnreadable(Exception):
    """No configured key decrypts these credentials (a key was dropped from ENCRYPTION_KEYS)."""


def _fernet() -> MultiFernet:
    return MultiFernet([Fernet(key) for key in settings.ENCRYPTION_KEYS])


def encrypt_json(value: dict[str, Any]) -> str:
    return _fernet().encrypt(json.dumps(value).encode()).decode()


def decrypt_json(token: str) -> dict[str, Any]:
    if not token:
        return {}
    try:
        return json.loads(_fernet().decrypt(token.encode()))  # type: ignore[no-any-return]
    except InvalidToken:
        raise CredentialsUnreadable(
            "Stored credentials cannot be decrypted with ENCRYPTION_KEYS; "
            "put back the key they were encrypted with, or reconnect the channel."
        ) from None


def rotate(token: str) -> str:
    """Re-encrypt with the newest key."""
    return _fernet().rotate(token.encode()).decode() if token else token
