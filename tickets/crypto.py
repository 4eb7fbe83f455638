"""Encryption of the customers' remote-access passwords (terms §5).

MultiFernet over the dedicated REMOTE_ACCESS_KEYS (never SECRET_KEY): the first key encrypts, every
key decrypts, so keys rotate by prepending a new one. Decryption refuses tokens older than
REMOTE_ACCESS_TTL_MINUTES, a second guard behind the sweeper that wipes them.
"""

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.views.decorators.debug import sensitive_variables


class SecretExpiredError(Exception):
    """The token is too old, or no configured key can read it."""


def _fernet() -> MultiFernet:
    keys = [key.strip() for key in settings.REMOTE_ACCESS_KEYS if key.strip()]
    if not keys:
        raise ImproperlyConfigured("REMOTE_ACCESS_KEYS is empty: remote access cannot work.")
    try:
        return MultiFernet([Fernet(key) for key in keys])
    except ValueError as exc:
        # Do not echo the key itself.
        raise ImproperlyConfigured("REMOTE_ACCESS_KEYS holds an invalid Fernet key.") from exc


def ttl_seconds() -> int:
    return settings.REMOTE_ACCESS_TTL_MINUTES * 60


@sensitive_variables("plaintext")
def secret_encrypt(*, plaintext: str) -> bytes:
    """Encrypt a secret with the newest key."""
    return _fernet().encrypt(plaintext.encode())


@sensitive_variables()
def secret_decrypt(*, token: bytes) -> str:
    """Decrypt a secret, refusing it once older than the time limit."""
    try:
        return _fernet().decrypt(bytes(token), ttl=ttl_seconds()).decode()
    except InvalidToken as exc:
        raise SecretExpiredError from exc


def secret_rotate(*, token: bytes) -> bytes:
    """Re-encrypt a token with the newest key, keeping its original timestamp."""
    return _fernet().rotate(bytes(token))
