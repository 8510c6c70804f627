"""API keys for machines: ``xk_<key id>_<secret>``, shown once at creation, stored as a hash.

The secret is 256 random bits, so a fast keyed hash (HMAC-SHA256 with a per-key salt) is as safe
as a slow password hash here and costs microseconds per request instead of tens of milliseconds; argon2
is for passwords people choose. The key id is public (lists, logs, the OAuth2 client id).

A user holds at most ``max_active`` active keys (the caller passes its setting): keys share their user's
rate limit, and the cap keeps the keys a user can mint (each a credential to track and revoke) bounded.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import hmac
import secrets

from sqlalchemy import Engine, insert, select, update

from xget_pipelines.core.auth.permissions import check_role
from xget_pipelines.core.auth.users import (
    AuthError,
    InvalidUser,
    Principal,
    UserError,
    active_principal,
    audit,
)
from xget_pipelines.core.db.engine import read_only
from xget_pipelines.core.db.models import ApiKey, User
from xget_pipelines.core.errors import Conflict

PREFIX = "xk_"


class TooManyKeys(UserError, Conflict):
    """The user already holds the most active API keys allowed."""

    def __init__(self, user_id: int, active: int, limit: int):
        super().__init__(
            f"user {user_id} already holds {active} active API keys, the most allowed ({limit}): revoke one "
            "that is no longer used, then create this one"
        )
        self.user_id = user_id
        self.limit = limit


def _digest(salt: str, secret: str) -> str:
    return "hmac-sha256$" + salt + "$" + hmac.new(salt.encode(), secret.encode(), hashlib.sha256).hexdigest()


def _check(stored: str, secret: str) -> bool:
    try:
        _, salt, _hex = stored.split("$", 2)
    except ValueError:
        return False
    return hmac.compare_digest(stored, _digest(salt, secret))


@dataclasses.dataclass(frozen=True)
class ApiKeyInfo:
    """An API key as lists show it (never the key nor its hash)."""

    key_id: str
    name: str
    user_id: int
    role: str | None
    created_at: dt.datetime
    expires_at: dt.datetime | None
    last_used_at: dt.datetime | None
    revoked: bool

    def as_dict(self) -> dict:
        return dataclasses.asdict(self)


def _key_info(row) -> ApiKeyInfo:
    return ApiKeyInfo(
        key_id=row.key_id,
        name=row.name,
        user_id=row.user_id,
        role=row.role,
        created_at=row.created_at,
        expires_at=row.expires_at,
        last_used_at=row.last_used_at,
        revoked=row.revoked_at is not None,
    )


def create_key(
    engine: Engine,
    user_id: int,
    name: str,
    role: str | None = None,
    expires_in_days: int | None = None,
    *,
    max_active: int | None = None,
) -> tuple[ApiKeyInfo, str]:
    """A new key for a user; returns (its record, the key itself: shown this once). With ``max_active``, a
    user who already holds that many active (unrevoked, unexpired) keys gets ``TooManyKeys``."""
    if not name or len(name) > 128:
        raise InvalidUser("an API key needs a name of 1-128 characters (what uses it)", "name")
    if role is not None:
        check_role(role)
    if expires_in_days is not None and expires_in_days < 1:
        raise InvalidUser("expires_in_days must be at least 1", "expires_in_days")
    key_id = secrets.token_hex(6)
    secret = secrets.token_urlsafe(32)
    now = dt.datetime.now(dt.UTC)
    with engine.begin() as conn:
        if max_active is not None:
            # The user's row is locked (PostgreSQL; SQLite's BEGIN IMMEDIATE serializes writers anyway), so
            # concurrent creations are counted one after the other and cannot pass the cap together.
            conn.execute(select(User.id).where(User.id == user_id).with_for_update()).first()
            active = _active_keys(conn, user_id, now)
            if active >= max_active:
                raise TooManyKeys(user_id, active, max_active)
        conn.execute(
            insert(ApiKey).values(
                key_id=key_id,
                user_id=user_id,
                name=name,
                key_hash=_digest(secrets.token_hex(8), secret),
                role=role,
                created_at=now,
                expires_at=now + dt.timedelta(days=expires_in_days) if expires_in_days else None,
            )
        )
        audit(conn, user_id, "api_key.create", f"api_key:{key_id}", {"name": name, "role": role})
        row = conn.execute(select(ApiKey).where(ApiKey.key_id == key_id)).one()
    return _key_info(row), f"{PREFIX}{key_id}_{secret}"


def _active_keys(conn, user_id: int, now: dt.datetime) -> int:
    expiries = conn.execute(
        select(ApiKey.expires_at).where(ApiKey.user_id == user_id, ApiKey.revoked_at.is_(None))
    ).scalars()
    return sum(1 for expires_at in expiries if expires_at is None or _aware(expires_at) > now)


def split_key(key: str) -> tuple[str, str]:
    if not key.startswith(PREFIX) or key.count("_") < 2:
        raise AuthError("not an XGet API key (they look like xk_<id>_<secret>)")
    key_id, _, secret = key[len(PREFIX) :].partition("_")
    return key_id, secret


def authenticate_key(engine: Engine, key: str, via: str = "api_key") -> Principal:
    key_id, secret = split_key(key)
    return authenticate_client(engine, key_id, secret, via)


def authenticate_client(
    engine: Engine, key_id: str, secret: str, via: str = "client_credentials"
) -> Principal:
    """The principal of a key id and secret (the OAuth2 client-credentials flow sends them apart)."""
    if secret.startswith(PREFIX):  # the whole key given as the client secret
        key_id2, secret = split_key(secret)
        if key_id2 != key_id:
            raise AuthError("client id and secret are of different API keys")
    with read_only(engine) as conn:
        row = conn.execute(select(ApiKey).where(ApiKey.key_id == key_id)).first()
    if row is None or not _check(row.key_hash, secret):
        raise AuthError("unknown or wrong API key")
    now = dt.datetime.now(dt.UTC)
    if row.revoked_at is not None:
        raise AuthError(f"API key {key_id} was revoked")
    if row.expires_at is not None and _aware(row.expires_at) <= now:
        raise AuthError(f"API key {key_id} expired: create a new one")
    principal = active_principal(engine, row.user_id, via, key_id=key_id, role_cap=row.role)
    if row.expires_at is not None:
        principal = dataclasses.replace(principal, valid_until=_aware(row.expires_at).timestamp())
    if row.last_used_at is None or (now - _aware(row.last_used_at)).total_seconds() > 60:
        with engine.begin() as conn:  # at most once a minute per key: no write on every request
            conn.execute(update(ApiKey).where(ApiKey.key_id == key_id).values(last_used_at=now))
    return principal


def _aware(value: dt.datetime) -> dt.datetime:
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)  # SQLite drops the zone


def list_keys(engine: Engine, user_id: int | None = None) -> list[ApiKeyInfo]:
    query = select(ApiKey).order_by(ApiKey.id)
    if user_id is not None:
        query = query.where(ApiKey.user_id == user_id)
    with read_only(engine) as conn:
        return [_key_info(r) for r in conn.execute(query)]


def revoke_key(engine: Engine, key_id: str, actor: int, owner: int | None = None) -> bool:
    """Revoke a key (only the owner's when ``owner`` is given); False when there is no such key."""
    query = update(ApiKey).where(ApiKey.key_id == key_id, ApiKey.revoked_at.is_(None))
    if owner is not None:
        query = query.where(ApiKey.user_id == owner)
    with engine.begin() as conn:
        done = conn.execute(query.values(revoked_at=dt.datetime.now(dt.UTC))).rowcount > 0
        if done:
            audit(conn, actor, "api_key.revoke", f"api_key:{key_id}")
    return done
