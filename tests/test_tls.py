"""One TLS context per process (socialdesk/tls.py): shared, and still verifying."""

import ssl

import pytest

from socialdesk import tls

pytestmark = pytest.mark.any_database  # no database


def test_the_shared_context_is_made_once_and_verifies_certificates_and_host_names():
    context = tls.client_context()
    assert context is tls.client_context()
    assert context.verify_mode == ssl.CERT_REQUIRED and context.check_hostname
    untrusting = tls.client_context(trust_env=False)
    assert untrusting is tls.client_context(trust_env=False)
    assert untrusting.verify_mode == ssl.CERT_REQUIRED
