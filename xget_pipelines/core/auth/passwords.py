"""Password hashing (argon2id) and the password rules.

Each hash or check takes 64 MiB and about 0.1 s of a core (the library's defaults, RFC 9106's low-memory
profile): callers that run them on behalf of others bound how many run at once (the API's
``serving.limits.PasswordGate``). ``operations()`` counts those this process ran, for ``/metrics``.
"""

from __future__ import annotations

import threading

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_hasher = PasswordHasher()  # argon2id, the library's current defaults (RFC 9106 low-memory profile)
# Verifying against this for unknown users keeps the time of a failed login the same either way.
_DUMMY = _hasher.hash("not a password of anyone")

MIN_LENGTH = 10

_operations = 0
_operations_lock = threading.Lock()


def _count() -> None:
    global _operations
    with _operations_lock:
        _operations += 1


def operations() -> int:
    """argon2id hashes and checks this process has run (the one made at import aside)."""
    return _operations


def check_password_rules(password: str) -> None:
    if len(password) < MIN_LENGTH:
        raise ValueError(f"password too short: use at least {MIN_LENGTH} characters")
    if len(password) > 1024:
        raise ValueError("password too long: at most 1024 characters")


def hash_password(password: str) -> str:
    check_password_rules(password)
    _count()
    return _hasher.hash(password)


def verify_password(stored_hash: str | None, password: str) -> bool:
    _count()
    try:
        return _hasher.verify(stored_hash or _DUMMY, password) and stored_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(stored_hash: str) -> bool:
    return _hasher.check_needs_rehash(stored_hash)
