"""Users: registration, password login, roles, status, preferences; the principal a request acts as.

Registration (``XGET_API_REGISTRATION``): ``closed`` (only admins create users), ``approval`` (anyone
registers; the account is ``pending`` until an admin activates it) or ``open`` (active at once, as a viewer).

Password logins may count failures and lock a username (``lockout.py``); an admin clears that with
``unlock_user``, and a new password clears it too (the failures were guesses of the old one).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import re
import time
from dataclasses import dataclass, field

from sqlalchemy import Engine, func, insert, select, update

from xget_pipelines.core.auth import lockout
from xget_pipelines.core.auth.lockout import LockoutPolicy
from xget_pipelines.core.auth.passwords import hash_password, needs_rehash, verify_password
from xget_pipelines.core.auth.permissions import Permission, allows, check_role
from xget_pipelines.core.db.engine import read_only
from xget_pipelines.core.db.models import ApiKey, AuditEntry, RefreshToken, User
from xget_pipelines.core.errors import Conflict, InvalidField, NotAuthenticated, NotFound, XGetError

log = logging.getLogger(__name__)

_USERNAME = re.compile(r"^[A-Za-z0-9_.-]{3,64}$")
STATUSES = ("active", "pending", "disabled")
MAX_PREFERENCES_BYTES = 16_384


class UserError(XGetError):
    """Base of the errors of a user operation."""


class InvalidUser(UserError, InvalidField):
    """A bad value for a user (a username, role, status, password, preferences), named by ``field``."""


class UserNotFound(UserError, NotFound):
    def __init__(self, user_id: int):
        super().__init__(f"no user {user_id}")
        self.user_id = user_id


class UsernameTaken(UserError, Conflict):
    def __init__(self, username: str):
        super().__init__(f"username {username!r} is taken", "username")
        self.username = username


class AuthError(NotAuthenticated):
    """Credentials that do not authenticate (wrong, expired, revoked, disabled user)."""


class WrongPassword(AuthError):
    """A username and password that do not match (which of the two is wrong is never said)."""


@dataclass(frozen=True)
class Principal:
    """Who a request acts as: a user, through a password/refresh token, an API key, or an external IdP."""

    user_id: int
    username: str
    role: str
    via: str  # password | api_key | client_credentials | oidc
    key_id: str | None = None
    scopes: frozenset[str] = field(default_factory=frozenset)
    valid_until: float | None = None  # when its credential expires (epoch s): a token's exp, a key's expiry

    @property
    def name(self) -> str:
        """A stable name for logs and idempotency keys: the user, or the API key acting for them (never a
        secret)."""
        return f"key:{self.key_id}" if self.key_id else f"user:{self.user_id}"

    @property
    def rate_key(self) -> str:
        """The rate-limit bucket: the user's, whichever credential it comes through. Keys share it, so
        creating another key does not buy another limit."""
        return f"user:{self.user_id}"

    def can(self, permission: Permission) -> bool:
        return allows(self.role, permission)


def _expired(expires_at: dt.datetime | None) -> bool:
    if expires_at is None:
        return False
    aware = expires_at if expires_at.tzinfo else expires_at.replace(tzinfo=dt.UTC)
    return aware <= dt.datetime.now(dt.UTC)


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@dataclass(frozen=True)
class ApiUser:
    """A person who uses the API, as the API shows them (never the password hash)."""

    id: int
    username: str
    email: str | None
    role: str
    status: str
    preferences: dict
    created_at: dt.datetime
    last_login_at: dt.datetime | None
    failed_logins: int = 0  # in a row, since the last success or unlock (a day without one forgets them)
    locked_until: dt.datetime | None = None  # its password logins are refused until then (lockout.py)

    def as_dict(self) -> dict:
        return dataclasses.asdict(self)


def _api_user(row, failures: lockout.LoginFailures | None = None) -> ApiUser:
    return ApiUser(
        id=row.id,
        username=row.username,
        email=row.email,
        role=row.role,
        status=row.status,
        preferences=row.preferences or {},
        created_at=row.created_at,
        last_login_at=row.last_login_at,
        failed_logins=failures.failures if failures else 0,
        locked_until=failures.locked_until if failures else None,
    )


def check_username(username: str) -> str:
    if not _USERNAME.match(username or ""):
        raise InvalidUser(f"bad username {username!r}: 3-64 letters, digits, '_', '.' or '-'", "username")
    return username


def audit(conn, user_id: int | None, action: str, subject: str, detail: dict | None = None) -> None:
    conn.execute(
        insert(AuditEntry).values(user_id=user_id, action=action, subject=subject, detail=detail, at=_now())
    )


@dataclass(frozen=True)
class AuditRecord:
    """One entry of the control-plane audit log: who (``user_id``) did what (``action``) to what
    (``subject``, such as ``tweet:123``), when, with what detail."""

    id: int
    user_id: int | None
    action: str
    subject: str
    detail: dict | None
    at: dt.datetime


def audit_log(
    engine: Engine, subject: str | None = None, limit: int = 100, before_id: int | None = None
) -> list[AuditRecord]:
    """The audit log newest first (of one subject); ``before_id`` pages back from an entry."""
    query = select(AuditEntry).order_by(AuditEntry.id.desc()).limit(limit)
    if subject:
        query = query.where(AuditEntry.subject == subject)
    if before_id:
        query = query.where(AuditEntry.id < before_id)
    with read_only(engine) as conn:
        return [
            AuditRecord(r.id, r.user_id, r.action, r.subject, r.detail, r.at) for r in conn.execute(query)
        ]


def create_user(
    engine: Engine,
    username: str,
    password: str | None,
    role: str = "viewer",
    *,
    email: str | None = None,
    status: str = "active",
    actor: int | None = None,
    external_subject: str | None = None,
) -> ApiUser:
    check_username(username)
    check_role(role)
    if status not in STATUSES:
        raise InvalidUser(f"bad status {status!r}: use one of {', '.join(STATUSES)}", "status")
    try:
        hashed = hash_password(password) if password is not None else None
    except ValueError as exc:
        raise InvalidUser(str(exc), "password") from exc
    now = _now()
    with engine.begin() as conn:
        if conn.execute(select(User.id).where(func.lower(User.username) == username.lower())).first():
            raise UsernameTaken(username)
        user_id = conn.execute(
            insert(User).values(
                username=username,
                email=email,
                password_hash=hashed,
                role=role,
                status=status,
                preferences={},
                external_subject=external_subject,
                created_at=now,
                updated_at=now,
            )
        ).inserted_primary_key[0]
        audit(conn, actor, "user.create", f"user:{user_id}", {"role": role, "status": status})
        return _api_user(conn.execute(select(User).where(User.id == user_id)).one())


def authenticate(
    engine: Engine, username: str, password: str, policy: LockoutPolicy | None = None
) -> Principal:
    """The principal for a username and password; AuthError says why not (WrongPassword, without telling
    which was wrong).

    With a lockout ``policy`` the failed logins of the username are counted (``lockout.py``): a locked
    username is refused (``LoginLocked``) before any password is checked, a wrong password counts (the same
    for a username no one has), a success clears the count. A right password of a user who is not active
    neither counts nor clears."""
    key = lockout.key_of(username)
    with read_only(engine) as conn:
        if policy is not None:
            lockout.check_not_locked(conn, key)
        row = conn.execute(select(User).where(func.lower(User.username) == (username or "").lower())).first()
    if not verify_password(row.password_hash if row else None, password or ""):
        if policy is not None:
            failures = lockout.record_failure(engine, key, policy)
            if failures.locked_until is not None and row is not None:
                _note_lockout(engine, row, failures)
        raise WrongPassword("wrong username or password")
    if row.status != "active":
        raise AuthError(
            f"user {row.username!r} is {row.status}"
            + (": an admin must activate it" if row.status == "pending" else "")
        )
    with engine.begin() as conn:
        values = {"last_login_at": _now()}
        if needs_rehash(row.password_hash):
            values["password_hash"] = hash_password(password)
        conn.execute(update(User).where(User.id == row.id).values(**values))
        if policy is not None:
            lockout.clear(conn, key)
    return Principal(row.id, row.username, row.role, "password")


def _note_lockout(engine: Engine, row, failures: lockout.LoginFailures) -> None:
    """A user's logins are locked: in the audit log (with the count, never a password) and the log."""
    with engine.begin() as conn:
        audit(
            conn,
            None,
            "user.lockout",
            f"user:{row.id}",
            {"failed_logins": failures.failures, "locked_until": failures.locked_until.isoformat()},
        )
    log.warning(
        "user %r locked out until %s after %d failed logins in a row",
        row.username,
        failures.locked_until.isoformat(timespec="seconds"),
        failures.failures,
    )


def unlock_user(engine: Engine, user_id: int, actor: int | None) -> ApiUser:
    """Clear a user's failed logins and any lockout (an admin's), in the audit log."""
    with engine.begin() as conn:
        row = conn.execute(select(User).where(User.id == user_id)).first()
        if row is None:
            raise UserNotFound(user_id)
        cleared = lockout.clear(conn, lockout.key_of(row.username))
        audit(conn, actor, "user.unlock", f"user:{user_id}", {"failed_logins": cleared})
    return _api_user(row)


def active_principal(
    engine: Engine,
    user_id: int,
    via: str,
    key_id: str | None = None,
    role_cap: str | None = None,
    issued_at: int | None = None,
) -> Principal:
    """The principal of a user id from a token, if the user still exists and is active, the token was issued
    after the user's sessions last ended (``issued_at``), and, for a token minted from an API key (``key_id``
    with ``issued_at``), the key is still valid. Checked on every request, so disabling a user, changing a
    password, revoking a key or lowering a role takes effect at once."""
    from xget_pipelines.core.auth.permissions import narrower

    with read_only(engine) as conn:
        row = conn.execute(
            select(User.id, User.username, User.role, User.status, User.sessions_since).where(
                User.id == user_id
            )
        ).first()
        minted_from_key = key_id is not None and issued_at is not None  # a token (the key itself is checked)
        key = (
            conn.execute(select(ApiKey.revoked_at, ApiKey.expires_at).where(ApiKey.key_id == key_id)).first()
            if minted_from_key
            else None
        )
    if row is None or row.status != "active":
        raise AuthError("the user of this token no longer exists or is not active")
    if issued_at is not None and row.sessions_since is not None and issued_at < row.sessions_since:
        raise AuthError("this session ended (the password was changed or reset): log in again")
    if minted_from_key and (key is None or key.revoked_at is not None or _expired(key.expires_at)):
        raise AuthError(f"the API key {key_id} this token came from is revoked or expired")
    role = narrower(role_cap, row.role) if role_cap else row.role
    return Principal(row.id, row.username, role, via, key_id)


def get_user(engine: Engine, user_id: int) -> ApiUser:
    """A user, with their failed logins in a row and any lockout."""
    with read_only(engine) as conn:
        row = conn.execute(select(User).where(User.id == user_id)).first()
        if row is None:
            raise UserNotFound(user_id)
        key = lockout.key_of(row.username)
        return _api_user(row, lockout.failures_of(conn, [key]).get(key))


def list_users(engine: Engine) -> list[ApiUser]:
    """Every user, with their failed logins in a row and any lockout."""
    with read_only(engine) as conn:
        failures = lockout.failures_of(conn)
        return [
            _api_user(r, failures.get(lockout.key_of(r.username)))
            for r in conn.execute(select(User).order_by(User.id))
        ]


def update_user(
    engine: Engine,
    user_id: int,
    *,
    actor: int | None,
    role: str | None = None,
    status: str | None = None,
    email: str | None = None,
    password: str | None = None,
) -> ApiUser:
    values: dict = {}
    if role is not None:
        values["role"] = check_role(role)
    if status is not None:
        if status not in STATUSES:
            raise InvalidUser(f"bad status {status!r}: use one of {', '.join(STATUSES)}", "status")
        values["status"] = status
    if email is not None:
        values["email"] = email
    if password is not None:
        try:
            values["password_hash"] = hash_password(password)
        except ValueError as exc:
            raise InvalidUser(str(exc), "password") from exc
    ends_sessions = password is not None or (status is not None and status != "active")
    with engine.begin() as conn:
        if conn.execute(select(User.id).where(User.id == user_id)).first() is None:
            raise UserNotFound(user_id)
        if ends_sessions:  # every token of the old password (or of a disabled user) stops working now
            values["sessions_since"] = int(time.time())
            conn.execute(
                update(RefreshToken)
                .where(RefreshToken.user_id == user_id, RefreshToken.revoked_at.is_(None))
                .values(revoked_at=_now())
            )
        if values:
            values["updated_at"] = _now()
            conn.execute(update(User).where(User.id == user_id).values(**values))
            audit(
                conn,
                actor,
                "user.update",
                f"user:{user_id}",
                {k: v for k, v in values.items() if k in ("role", "status", "email")}
                | ({"password": "changed"} if password is not None else {}),
            )
        row = conn.execute(select(User).where(User.id == user_id)).one()
        key = lockout.key_of(row.username)
        if password is not None:  # the failed logins were guesses of the old password: forgotten with it
            lockout.clear(conn, key)
        return _api_user(row, lockout.failures_of(conn, [key]).get(key))


def set_preferences(engine: Engine, user_id: int, preferences: dict, replace: bool = False) -> dict:
    """Merge (or replace) a user's preferences: a JSON object of valid Unicode, at most 16 KiB."""
    import json

    try:  # a lone surrogate (JSON's "\ud800") would be kept, then break every answer that shows them
        json.dumps(preferences, ensure_ascii=False).encode()
    except UnicodeEncodeError:
        raise InvalidUser(
            "preferences hold a text that is not valid Unicode (a lone surrogate)", "preferences"
        ) from None
    with engine.begin() as conn:
        current = conn.execute(select(User.preferences).where(User.id == user_id)).scalar_one_or_none() or {}
        merged = dict(preferences) if replace else {**current, **preferences}
        merged = {k: v for k, v in merged.items() if v is not None}
        if len(json.dumps(merged)) > MAX_PREFERENCES_BYTES:
            raise InvalidUser(
                f"preferences too large: at most {MAX_PREFERENCES_BYTES} bytes of JSON", "preferences"
            )
        conn.execute(update(User).where(User.id == user_id).values(preferences=merged, updated_at=_now()))
    return merged


def delete_user(engine: Engine, user_id: int, actor: int | None) -> None:
    """Disable rather than delete, so the audit log and tasks keep their owner."""
    update_user(engine, user_id, actor=actor, status="disabled")


def count_admins(engine: Engine) -> int:
    with read_only(engine) as conn:
        return conn.execute(
            select(func.count()).select_from(User).where(User.role == "admin", User.status == "active")
        ).scalar_one()
