"""Password hashing (argon2id) and the password rules."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_hasher = PasswordHasher()  # argon2id, the library's current defaults (RFC 9106 low-memory profile)
# Verifying against this for unknown users keeps the time of a failed login the same either way.
_DUMMY = _hasher.hash("not a password of anyone")

MIN_LENGTH = 10


def check_password_rules(password: str) -> None:
    if len(password) < MIN_LENGTH:
        raise ValueError(f"password too short: use at least {MIN_LENGTH} characters")
    if len(password) > 1024:
        raise ValueError("password too long: at most 1024 characters")


def hash_password(password: str) -> str:
    check_password_rules(password)
    return _hasher.hash(password)


def verify_password(stored_hash: str | None, password: str) -> bool:
    try:
        return _hasher.verify(stored_hash or _DUMMY, password) and stored_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(stored_hash: str) -> bool:
    return _hasher.check_needs_rehash(stored_hash)
