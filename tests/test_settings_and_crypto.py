import pytest
from cryptography.fernet import Fernet

from socialdesk import crypto


def test_credentials_are_encrypted_at_rest_and_survive_key_rotation(channel, settings):
    channel.set_credentials({"app_password": "abcd-efgh"})
    channel.save()
    assert "abcd" not in channel.credentials_encrypted
    old_key = settings.ENCRYPTION_KEYS[0]
    settings.ENCRYPTION_KEYS = [Fernet.generate_key().decode(), old_key]
    channel.refresh_from_db()
    assert channel.credentials == {"app_password": "abcd-efgh"}
    rotated = crypto.rotate(channel.credentials_encrypted)
    settings.ENCRYPTION_KEYS = settings.ENCRYPTION_KEYS[:1]
    assert crypto.decrypt_json(rotated) == {"app_password": "abcd-efgh"}


def test_a_dropped_key_gives_a_clear_error(channel, settings):
    channel.set_credentials({"token": "t"})
    settings.ENCRYPTION_KEYS = [Fernet.generate_key().decode()]
    with pytest.raises(crypto.CredentialsUnreadable, match="ENCRYPTION_KEYS"):
        _ = channel.credentials


def test_repr_never_shows_credentials(channel):
    channel.set_credentials({"token": "very-secret"})
    assert "very-secret" not in repr(channel) and "very-secret" not in str(channel)
