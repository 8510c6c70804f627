"""Secrets at rest: account passwords, cookies and proxy credentials are encrypted in the control-plane DB.

The key is a Fernet key (AES-128-CBC + HMAC-SHA256). It comes from ``XGET_SECRET_KEY`` when set (a
deployment keeps it in its secret store); the embedded default generates one into
``<XGET_HOME>/secret.key`` with 0600 permissions on first use. Losing the key loses the secrets, not
the data: accounts must then be re-imported.
"""

from __future__ import annotations

import os
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken
from pydantic import SecretStr

from xget_pipelines.core.errors import XGetError


class SecretKeyError(XGetError):
    """The secret key is missing, malformed, or not the one the secrets were encrypted with."""


class SecretBox:
    """Encrypts and decrypts short secrets (strings). ``None`` stays ``None``."""

    def __init__(self, key: bytes | str):
        try:
            self._fernet = Fernet(key)
        except (ValueError, TypeError) as exc:
            raise SecretKeyError(
                "XGET_SECRET_KEY is not a valid key: generate one with "
                "`python -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())'`"
            ) from exc

    @classmethod
    def from_key_or_file(cls, key: str | SecretStr | None, home: Path) -> SecretBox:
        """The installation's box: ``key`` (``XGET_SECRET_KEY``) when given, else ``<home>/secret.key``
        (created on first use). Entry points call it with their settings' ``secret_key`` and ``home``."""
        if isinstance(key, SecretStr):
            key = key.get_secret_value()
        if key:
            return cls(key.encode())
        return cls(load_or_create_key(home / "secret.key"))

    def encrypt(self, value: str | None) -> str | None:
        if value is None:
            return None
        return self._fernet.encrypt(value.encode()).decode()

    def decrypt(self, token: str | None) -> str | None:
        if token is None:
            return None
        try:
            return self._fernet.decrypt(token.encode()).decode()
        except InvalidToken as exc:
            raise SecretKeyError(
                "a stored secret cannot be decrypted with this key: XGET_SECRET_KEY (or "
                "<XGET_HOME>/secret.key) "
                "is not the key the accounts were imported with"
            ) from exc


def load_or_create_key(path: Path) -> bytes:
    """Read the key file, or create it (0600, created atomically so two processes agree on one key)."""
    if path.exists():
        return path.read_bytes().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    key = Fernet.generate_key()
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process won the race: use its key
        return path.read_bytes().strip()
    with os.fdopen(fd, "wb") as handle:
        handle.write(key)
    return key
