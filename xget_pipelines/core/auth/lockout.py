"""Failed password logins counted per username, and the lockout that follows (issue 16, finding 3).

Found before: 130 wrong passwords for ``admin`` got no 429 and no lockout. Now, after ``failures`` failed
logins in a row for a username, its logins are refused for ``first_s`` seconds (``LoginLocked``: 429 with
``Retry-After`` in the API) without any password being checked; each further failure once the lock has
passed doubles the next lock, up to ``max_s`` (by default 5 failures, then 1 min, 2, 4... capped at 1 h:
``XGET_API_LOGIN_LOCKOUT_*``). A success clears the count; so does an admin (``users.unlock_user``).

Decisions:

- The count is kept by username, lower-cased (logins match usernames without regard to case), and for
  usernames no user has just the same: the answers, their timing and the lockout never tell whether an
  account exists. (The failure that locks a real user also writes an audit row and a log line, a
  millisecond or so against the 0.1 s and more of the argon2 check, well inside its jitter; unknown
  usernames get none, so an attacker cannot fill the audit log.)
- Refused attempts do not count, nor extend the lock: an attacker keeps a username locked at most by trying
  once per lock, and an admin can unlock it; the per-address limit of failed logins (the API's) bounds how
  many usernames one address can lock.
- The state is a table of the control-plane DB (``login_failures``), so it survives restarts and every API
  replica sees the same. A count without a failure for a day (or the longest lock, if longer) is forgotten,
  and its row deleted when the next failure of any username is recorded.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass

from sqlalchemy import Connection, Engine, delete, insert, or_, select, update
from sqlalchemy.exc import IntegrityError

from xget_pipelines.core.db.engine import read_only
from xget_pipelines.core.db.models import LoginFailure
from xget_pipelines.core.errors import Throttled

FORGET_S = 86_400.0


@dataclass(frozen=True)
class LockoutPolicy:
    """After ``failures`` failed logins in a row, a lock of ``first_s``, doubling per further failure up to
    ``max_s``. ``failures`` 0: never locked."""

    failures: int = 5
    first_s: float = 60.0
    max_s: float = 3600.0

    def lock_for(self, failures: int) -> float:
        """Seconds of the lock that the ``failures``-th failure in a row starts (0: none)."""
        if self.failures <= 0 or failures < self.failures:
            return 0.0
        return min(self.max_s, self.first_s * 2.0 ** min(failures - self.failures, 40))

    @property
    def forget_s(self) -> float:
        return max(FORGET_S, self.max_s)


class LoginLocked(Throttled):
    """Logins of a username are refused until ``retry_after`` seconds from now."""

    def __init__(self, retry_after: float):
        super().__init__(
            f"too many failed logins for this username: try again in {math.ceil(retry_after)} s "
            "(Retry-After), or ask an admin to unlock the account",
            retry_after,
        )


@dataclass(frozen=True)
class LoginFailures:
    """The failed logins in a row of a username, and until when it is locked (None: it is not)."""

    failures: int
    locked_until: dt.datetime | None


def key_of(username: str | None) -> str:
    """The username as counted: lower case, at most the column's 64 characters (longer names are no one's)."""
    return (username or "").lower()[:64]


def _aware(value: dt.datetime | None) -> dt.datetime | None:
    return value.replace(tzinfo=dt.UTC) if value is not None and value.tzinfo is None else value  # SQLite


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _failures(row, now: dt.datetime) -> LoginFailures:
    until = _aware(row.locked_until)
    return LoginFailures(row.failures, until if until is not None and until > now else None)


def failures_of(conn: Connection, keys: list[str] | None = None) -> dict[str, LoginFailures]:
    """The failed logins of the usernames ``keys`` (``key_of``; None: all of them, at most a day's) that
    have any; ``locked_until`` only if the lock is still running."""
    now = _now()
    query = select(LoginFailure.username, LoginFailure.failures, LoginFailure.locked_until)
    if keys is not None:
        query = query.where(LoginFailure.username.in_(keys))
    return {row.username: _failures(row, now) for row in conn.execute(query)}


def check_not_locked(conn: Connection, key: str, now: dt.datetime | None = None) -> None:
    """Raise ``LoginLocked`` if the username ``key`` is locked now."""
    now = now or _now()
    until = _aware(
        conn.execute(select(LoginFailure.locked_until).where(LoginFailure.username == key)).scalar()
    )
    if until is not None and until > now:
        raise LoginLocked((until - now).total_seconds())


def check(engine: Engine, username: str) -> None:
    """Raise ``LoginLocked`` if ``username`` is locked now (one read; no password is checked)."""
    with read_only(engine) as conn:
        check_not_locked(conn, key_of(username))


def record_failure(
    engine: Engine, key: str, policy: LockoutPolicy, now: dt.datetime | None = None
) -> LoginFailures:
    """Count one failed login of the username ``key``; lock it if the policy says so. Returns the count."""
    now = now or _now()
    for attempt in range(2):  # two first failures at once: the second insert loses the race and updates
        try:
            with engine.begin() as conn:
                return _record(conn, key, policy, now)
        except IntegrityError:
            if attempt:
                raise
    raise AssertionError("unreachable")


def _record(conn: Connection, key: str, policy: LockoutPolicy, now: dt.datetime) -> LoginFailures:
    forget_before = now - dt.timedelta(seconds=policy.forget_s)
    conn.execute(  # counts a day old are forgotten (a still-running lock is kept)
        delete(LoginFailure).where(
            LoginFailure.last_failure_at < forget_before,
            or_(LoginFailure.locked_until.is_(None), LoginFailure.locked_until < now),
        )
    )
    bumped = conn.execute(
        update(LoginFailure)
        .where(LoginFailure.username == key)
        .values(failures=LoginFailure.failures + 1, last_failure_at=now)
    ).rowcount
    if not bumped:
        conn.execute(insert(LoginFailure).values(username=key, failures=1, last_failure_at=now))
    failures = conn.execute(select(LoginFailure.failures).where(LoginFailure.username == key)).scalar_one()
    lock_s = policy.lock_for(failures)
    until = None
    if lock_s:
        until = now + dt.timedelta(seconds=lock_s)
        conn.execute(
            update(LoginFailure)
            .where(
                LoginFailure.username == key,
                or_(LoginFailure.locked_until.is_(None), LoginFailure.locked_until < until),
            )
            .values(locked_until=until)
        )
    return LoginFailures(failures, until)


def clear(conn: Connection, key: str) -> int:
    """Forget the failed logins of the username ``key`` (a success, an unlock); returns their number."""
    failures = conn.execute(select(LoginFailure.failures).where(LoginFailure.username == key)).scalar()
    if failures is not None:
        conn.execute(delete(LoginFailure).where(LoginFailure.username == key))
    return failures or 0
