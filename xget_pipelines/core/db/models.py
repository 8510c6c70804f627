"""Control-plane tables: X accounts with their per-operation rate-limit state, the watchlist and
scrape sessions. The schema is owned by Alembic (``migrations/``); these models mirror it.

Secrets (passwords, cookies) are stored encrypted (``*_enc`` columns, see ``core/secrets.py``).
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    pass


class Account(Base):
    __tablename__ = "accounts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    email: Mapped[str | None] = mapped_column(String(320))
    login_method: Mapped[str] = mapped_column(String(16), default="TWITTER")  # TWITTER | GOOGLE
    # Secrets, encrypted with core.secrets.SecretBox (Fernet tokens); cookies as an encrypted JSON object.
    password_enc: Mapped[str | None] = mapped_column(Text)
    email_password_enc: Mapped[str | None] = mapped_column(Text)
    mfa_secret_enc: Mapped[str | None] = mapped_column(Text)
    cookies_enc: Mapped[str | None] = mapped_column(Text)
    headers: Mapped[dict | None] = mapped_column(JSON)
    user_agent: Mapped[str | None] = mapped_column(String(512))
    proxy_url: Mapped[str | None] = mapped_column(String(512))
    # The proxy this account is bound to (sticky; see core/pools/binding.py). proxy_url is an
    # account-specific override kept from import files.
    proxy_id: Mapped[int | None] = mapped_column(ForeignKey("proxies.id", ondelete="SET NULL"), index=True)
    # Binding gives the account only proxies of this country (ISO 3166-1 alpha-2), or none (binding.py).
    wanted_country: Mapped[str | None] = mapped_column(String(2))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    error_msg: Mapped[str | None] = mapped_column(Text)
    # A soft-banned account rests until then (unix seconds); each quarantine in a row doubles the rest.
    quarantined_until: Mapped[float | None] = mapped_column(Float)
    quarantines: Mapped[int] = mapped_column(Integer, default=0)
    # Account upkeep (core/pools/account_upkeep.py). Why an inactive account is out: session, suspended,
    # locked, refused, login (a failed automatic login); None: out by hand, which upkeep leaves alone.
    out_cause: Mapped[str | None] = mapped_column(String(16))
    last_check_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_check: Mapped[str | None] = mapped_column(Text)  # what the last check said
    next_check_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), index=True)
    last_login_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))  # last automatic login
    login_failures: Mapped[int] = mapped_column(Integer, default=0)  # failed automatic logins in a row
    logins_day: Mapped[str | None] = mapped_column(String(10))  # the UTC day logins_on_day counts
    logins_on_day: Mapped[int] = mapped_column(Integer, default=0)  # automatic logins tried that day
    login_reason: Mapped[str | None] = mapped_column(Text)  # why the last one was made, and its outcome
    last_used: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class AccountOperation(Base):
    """Rate-limit window and lease of one account for one X operation."""

    __tablename__ = "account_operations"
    __table_args__ = (UniqueConstraint("account_id", "operation"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    operation: Mapped[str] = mapped_column(String(64))
    window_limit: Mapped[int | None] = mapped_column(Integer)
    remaining: Mapped[int | None] = mapped_column(Integer)
    reset_at: Mapped[float | None] = mapped_column(
        Float
    )  # when the window reopens (unix seconds), see core/pools/account_pool.py
    window_s: Mapped[float | None] = mapped_column(Float)  # learned upper bound of the window length
    window_started_at: Mapped[float | None] = mapped_column(Float)  # first response of the current window
    leased_until: Mapped[float | None] = mapped_column(
        Float
    )  # unix seconds; a crashed holder's lease expires
    lease_owner: Mapped[str | None] = mapped_column(String(128))
    requests: Mapped[int] = mapped_column(BigInteger, default=0)
    errors: Mapped[int] = mapped_column(BigInteger, default=0)  # 5xx, timeouts, refusals: health weighting
    soft_bans: Mapped[int] = mapped_column(Integer, default=0)  # 429s in a row while X said requests remained
    last_used: Mapped[float | None] = mapped_column(Float)


class WatchlistEntry(Base):
    """A search term (``python``, ``#ai``, ``"exact phrase"``) or a tracked account (``@handle``)."""

    __tablename__ = "watchlist"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(256), unique=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    added_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    params: Mapped[str | None] = mapped_column(Text)  # JSON of core/x/watch.py KeyParams; None: defaults


class ScrapeSession(Base):
    """One attempt to fetch every page of one (watchlist key, day) partition.

    The pages themselves and their cursors live in the lake (``raw/x_pages``); a session that is not
    ``complete`` is resumed from the last cursor stored there.
    """

    __tablename__ = "scrape_sessions"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    partition_key: Mapped[str] = mapped_column(String(300), index=True)
    status: Mapped[str] = mapped_column(String(16))  # running | complete | failed
    pages: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(Text)
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class FollowSnapshot(Base):
    """One full snapshot of an account's follower (or following) list, crawled over one or more runs of a
    ``followers:@handle`` / ``following:@handle`` key (``core/x/follow_crawl.py``).

    ``status`` is ``running`` until X's end of the list is reached, then ``complete`` with ``completed_at``.
    ``cursor``, ``pages`` and ``users`` say where it stood when its last run ended; the pages themselves are
    in the lake, and a run that continues the snapshot reads its true position back from them."""

    __tablename__ = "follow_snapshots"
    __table_args__ = (UniqueConstraint("watch_key", "number"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True)  # snapshot_id in cleaned/follower_snapshots
    watch_key: Mapped[str] = mapped_column(String(256), index=True)
    number: Mapped[int] = mapped_column(Integer)  # 1, 2, ... per key
    direction: Mapped[str] = mapped_column(String(16))  # followers | following
    account_id: Mapped[str] = mapped_column(String(32))
    expected: Mapped[int | None] = mapped_column(Integer)  # the profile's count when the snapshot began
    status: Mapped[str] = mapped_column(String(16))  # running | complete
    cursor: Mapped[str | None] = mapped_column(Text)
    pages: Mapped[int] = mapped_column(Integer, default=0)
    users: Mapped[int] = mapped_column(Integer, default=0)  # user entries listed (a user listed twice: twice)
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    completed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class FollowSnapshotSession(Base):
    """Which scrape session (one run of one (day, key) partition) fetched pages of which snapshot, and where
    the snapshot stood when it began: the lake's pages of the session continue from there."""

    __tablename__ = "follow_snapshot_sessions"

    session_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    snapshot_id: Mapped[str] = mapped_column(ForeignKey("follow_snapshots.id"), index=True)
    seq: Mapped[int] = mapped_column(Integer)  # 1, 2, ... within the snapshot
    day: Mapped[date] = mapped_column(Date)  # the partition's day (where its pages are in raw/x_pages)
    cursor_before: Mapped[str | None] = mapped_column(Text)
    pages_before: Mapped[int] = mapped_column(Integer, default=0)
    users_before: Mapped[int] = mapped_column(Integer, default=0)
    linked_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class Proxy(Base):
    """An HTTP(S) or SOCKS5 proxy with its health (see ``core/pools/proxies.py``).

    ``username`` is ``""`` when the proxy has no credentials, so the unique key (scheme, host, port,
    username) also holds for them (SQL treats NULLs as distinct). The password is stored encrypted.
    """

    __tablename__ = "proxies"
    __table_args__ = (UniqueConstraint("scheme", "host", "port", "username", name="uq_proxies_endpoint"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    scheme: Mapped[str] = mapped_column(String(8))  # http | https | socks5
    host: Mapped[str] = mapped_column(String(255))
    port: Mapped[int] = mapped_column(Integer)
    username: Mapped[str] = mapped_column(String(255), default="")
    password_enc: Mapped[str | None] = mapped_column(Text)
    country: Mapped[str | None] = mapped_column(String(2), index=True)  # ISO 3166-1 alpha-2, upper case
    city: Mapped[str | None] = mapped_column(String(128))
    isp: Mapped[str | None] = mapped_column(String(128))
    latency_ms: Mapped[float | None] = mapped_column(Float)  # median of the last check's successful attempts
    success_rate: Mapped[float | None] = mapped_column(Float)  # EWMA over attempts, see proxies.py
    checks: Mapped[int] = mapped_column(Integer, default=0)  # attempts made through the proxy, ever
    failures: Mapped[int] = mapped_column(Integer, default=0)  # of which failed
    consecutive_failures: Mapped[int] = mapped_column(Integer, default=0)
    last_check_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_error: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(
        String(16), default="CHECKING", index=True
    )  # ACTIVE | INACTIVE | CHECKING
    exit_ip: Mapped[str | None] = mapped_column(String(45))  # the address the check target saw, if it said
    exit_country: Mapped[str | None] = mapped_column(String(2))  # of exit_ip, looked up offline (geo.py)
    failed_checks: Mapped[int] = mapped_column(Integer, default=0)  # checks in a row with no success
    next_check_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), index=True)  # upkeep
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class XOperation(Base):
    """An X GraphQL operation as last found in X's web bundles (``core/x/operations.py``): its query id,
    the feature switches it requires with their values, its field toggles, the bundle it was read from,
    when that id was first seen and when a refresh last confirmed it."""

    __tablename__ = "x_operations"

    operation: Mapped[str] = mapped_column(String(64), primary_key=True)
    query_id: Mapped[str] = mapped_column(String(64))
    features: Mapped[dict] = mapped_column(JSON)
    field_toggles: Mapped[list] = mapped_column(JSON)
    source: Mapped[str] = mapped_column(String(512))
    found_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    checked_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


# -- the serving API (see core/auth and core/tasks.py) ------------------------------------------------


class User(Base):
    """A person (or a machine's service user) of the API. ``role`` is one of core.auth.permissions.ROLES;
    ``status`` is active, pending (open registration awaiting an admin) or disabled."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    email: Mapped[str | None] = mapped_column(String(320))
    password_hash: Mapped[str | None] = mapped_column(Text)  # argon2id; None for users of an external IdP
    role: Mapped[str] = mapped_column(String(16), default="viewer")
    status: Mapped[str] = mapped_column(String(16), default="active")
    preferences: Mapped[dict | None] = mapped_column(JSON)
    external_subject: Mapped[str | None] = mapped_column(String(320), unique=True)  # OIDC "iss|sub"
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    last_login_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # Tokens issued before this (epoch seconds) are refused: set when the password changes or the user is
    # disabled, so every session of the old password ends at once.
    sessions_since: Mapped[int | None] = mapped_column(Integer)


class LoginFailure(Base):
    """Failed password logins in a row for one username (lower case, whether or not a user has it), and until
    when its logins are refused (``core/auth/lockout.py``). A success, or an admin's unlock, deletes the
    row; so does a day without failures."""

    __tablename__ = "login_failures"

    username: Mapped[str] = mapped_column(String(64), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_failure_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)


class ApiKey(Base):
    """A machine credential: ``xk_<key_id>_<secret>``; only an argon2 hash of the whole key is stored.
    ``key_id`` is the OAuth2 client id of the client-credentials flow."""

    __tablename__ = "api_keys"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key_id: Mapped[str] = mapped_column(String(32), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(128))
    key_hash: Mapped[str] = mapped_column(Text)
    role: Mapped[str | None] = mapped_column(String(16))  # narrower than the user's, or None: the user's
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class RefreshToken(Base):
    """An issued refresh token (by its JWT id). Refreshing rotates it: the old one is revoked, and a revoked
    one presented again revokes the whole family (a stolen token is then useless to both holders)."""

    __tablename__ = "refresh_tokens"

    jti: Mapped[str] = mapped_column(String(64), primary_key=True)
    family: Mapped[str] = mapped_column(String(64), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class Task(Base):
    """A scrape task created over the API; the task sensor turns it into Dagster runs (one per day)."""

    __tablename__ = "tasks"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    type: Mapped[str] = mapped_column(String(16))  # USER_INFO USER_TWEETS SEARCH TOPIC FOLLOWERS HYDRATE
    target: Mapped[str] = mapped_column(String(256))
    watch_key: Mapped[str] = mapped_column(String(256))
    since: Mapped[str] = mapped_column(String(10))  # first day (YYYY-MM-DD)
    until: Mapped[str] = mapped_column(String(10))  # last day, inclusive
    params: Mapped[dict | None] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(
        String(16), index=True
    )  # CREATED PENDING RUNNING COMPLETED FAILED STOPPED
    progress: Mapped[float] = mapped_column(Float, default=0.0)
    result_count: Mapped[int | None] = mapped_column(Integer)
    runs: Mapped[dict | None] = mapped_column(JSON)  # {"<day>": {"run_id": ..., "status": ...}}
    error: Mapped[str | None] = mapped_column(Text)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    priority: Mapped[int] = mapped_column(Integer, default=0, server_default="0")  # Dagster's run priority
    schedule: Mapped[str | None] = mapped_column(String(100))  # cron (UTC): the task recurs
    next_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))  # a recurring task's next start


class HydrationId(Base):
    """A tweet id of a hydration dataset, as HYDRATE tasks handed it in (``core/db/hydration.py``): the input
    of the ``x_hydrate`` runs; what X said about each id is in the lake's ``ops/hydration``."""

    __tablename__ = "hydration_ids"

    dataset: Mapped[str] = mapped_column(String(100), primary_key=True)
    tweet_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    seq: Mapped[int] = mapped_column(Integer)  # the order ids were handed in, within the dataset
    task_id: Mapped[str | None] = mapped_column(String(36))  # the task that added it (kept if it is deleted)
    added_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class WatchBackfill(Base):
    """A backfill of one watchlist key over a range of days (``core/db/backfills.py``): its estimate, its
    plan and where its runs stand; the backfill sensor launches the runs."""

    __tablename__ = "watch_backfills"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    watch_key: Mapped[str] = mapped_column(String(256), index=True)
    since: Mapped[date] = mapped_column(Date)
    until: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(16), index=True)  # RUNNING COMPLETED FAILED CANCELING CANCELED
    estimate: Mapped[dict] = mapped_column(JSON)  # core/x/backfill.py Estimate.to_json()
    plan: Mapped[dict] = mapped_column(JSON)  # {"fetch": [days], "parse": [days]}
    runs: Mapped[dict | None] = mapped_column(JSON)  # counts of the runs per state, from the last tick
    error: Mapped[str | None] = mapped_column(Text)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class AuditEntry(Base):
    """Who changed what over the API (data corrections, users, keys, accounts, proxies)."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int | None] = mapped_column(Integer, index=True)
    action: Mapped[str] = mapped_column(String(64))
    subject: Mapped[str] = mapped_column(String(256), index=True)
    detail: Mapped[dict | None] = mapped_column(JSON)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class IdempotencyRecord(Base):
    """The stored answer to a POST sent with an ``Idempotency-Key``: a retry gets it again, unexecuted."""

    __tablename__ = "idempotency_keys"
    __table_args__ = (UniqueConstraint("principal", "key", name="uq_idempotency_principal_key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    principal: Mapped[str] = mapped_column(String(64))
    key: Mapped[str] = mapped_column(String(128))
    request_hash: Mapped[str] = mapped_column(String(64))
    status_code: Mapped[int | None] = mapped_column(Integer)  # None while the first request runs
    body: Mapped[str | None] = mapped_column(Text)
    content_type: Mapped[str | None] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class AlertIncident(Base):
    """Something wrong that a person is told about by email (``core/incidents.py``): opened once, reminded
    while it lasts, closed on recovery. One row per ``key`` (``pool:accounts_usable_low``,
    ``proxy:7:inactive``, ``run_failures:<job>``, ``account:<name>:out``): an incident that comes back
    reopens its row. ``pending`` is the message owed (opened, reminder, recovered) until a channel accepted
    it; ``claim`` is the sending process's token, so two sensor processes never send it twice."""

    __tablename__ = "alert_incidents"
    __table_args__ = (UniqueConstraint("key", name="uq_alert_incidents_key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(256))
    source: Mapped[str] = mapped_column(String(32), index=True)  # the key's first part: pool, proxy, ...
    status: Mapped[str] = mapped_column(String(16), index=True)  # open | resolved
    title: Mapped[str] = mapped_column(Text)  # what is wrong, one line
    detail: Mapped[str | None] = mapped_column(Text)  # the numbers behind it, as last seen
    remedy: Mapped[str] = mapped_column(Text)  # what a person does about it
    opened_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    last_seen_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    resolved_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    pending: Mapped[str | None] = mapped_column(String(16), index=True)  # opened | reminder | recovered
    notified_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))  # last message sent
    reminders: Mapped[int] = mapped_column(Integer, default=0)  # reminders sent while open
    claim: Mapped[str | None] = mapped_column(String(32))  # the sender holding the pending message
    claimed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
