"""Leasing X accounts per operation, honouring each account's rate-limit window.

One row of ``account_operations`` per (account, operation) holds what X's ``x-rate-limit-*`` headers
last said and who holds the account for that operation. A lease is exclusive per (account,
operation) and expires by itself (``leased_until``) so a crashed worker never strands an account.

How a window's end is known: see ``account_lease.py``.

Why not twscrape's ``AccountsPool``: it discards the page that arrives with ``remaining: 0``, polls
every 5 s and compares whole seconds after a reset, and orders by username so a large pool is barely
used. Here every page served is kept by the caller, the waiter sleeps exactly until the earliest
reset, and the least recently used account goes first.

On PostgreSQL concurrent workers pick rows with ``FOR UPDATE SKIP LOCKED``; on SQLite the engine opens
every transaction with ``BEGIN IMMEDIATE``, which serialises leases.
"""

from __future__ import annotations

import json
import os
import socket
import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime, timedelta

from sqlalchemy import (
    Boolean,
    Engine,
    Float,
    Insert,
    Integer,
    and_,
    bindparam,
    case,
    func,
    literal,
    null,
    or_,
    select,
    update,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from xget_pipelines.core.db.engine import autocommit_engine, is_sqlite, read_only, run_once
from xget_pipelines.core.db.models import Account, AccountOperation, Proxy
from xget_pipelines.core.errors import NoAccountAvailable
from xget_pipelines.core.pools import binding
from xget_pipelines.core.pools.account_lease import AccountLease
from xget_pipelines.core.pools.accounts import AccountRecord, operation_window, upsert_accounts
from xget_pipelines.core.pools.proxy_records import check_country
from xget_pipelines.core.pools.rotation import STRATEGIES
from xget_pipelines.core.secrets import SecretBox

# How often a pool gives every account a row for an operation it leases (and always when it finds no
# candidate): accounts added by another process are seen within this, or at once when none is free.
SEED_EVERY_S = 2.0
# An account's ``last_used`` (shown by the API) is rewritten at most this often: a release per request
# would otherwise rewrite the account's whole row every time.
LAST_USED_PRECISION = timedelta(seconds=60)


def _now() -> float:
    return time.time()


class AccountPool:
    """The shared pool of X accounts in the control-plane DB; ``secrets`` decrypts their credentials."""

    def __init__(
        self,
        engine: Engine,
        *,
        secrets: SecretBox,
        lease_ttl_s: float = 300.0,
        owner: str | None = None,
        strategy: str = "lru",
    ):
        if strategy not in STRATEGIES:
            raise ValueError(f"unknown rotation strategy {strategy!r}: use one of {', '.join(STRATEGIES)}")
        self.strategy = strategy
        self.secrets = secrets  # the installation's key: a wrong one could not read the stored cookies
        self.engine = engine
        self.lease_ttl_s = lease_ttl_s
        self.owner = owner or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        self._seeded: dict[str, float] = {}  # operation -> when this pool last gave every account its row
        self._cookie_cache: dict[str | None, dict] = {}
        # statements built once: the lease's (by whether they pick a username), release's
        self._built: dict = {}
        # PostgreSQL: a lease and a release are one statement each, committed on its own (no BEGIN/COMMIT
        # or ping round trips); SQLite serialises them in BEGIN IMMEDIATE transactions.
        self._fast = None if is_sqlite(engine) else autocommit_engine(engine)

    # -- accounts -------------------------------------------------------------------------------------

    def add_accounts(self, accounts: Iterable[tuple[str, Mapping[str, str]]]) -> int:
        """Insert or update cookie-authenticated accounts by username (re-adding reactivates them)."""
        records = [AccountRecord(username=u, cookies=dict(c)) for u, c in accounts]
        result = upsert_accounts(self.engine, self.secrets, records)
        return result.created + result.updated

    def mark_inactive(self, account_id: int, reason: str, cause: str | None = None) -> None:
        """Take an account out with the reason; ``cause`` is what account upkeep reads (``account_upkeep.py``:
        ``session`` is logged in again, ``suspended``/``locked``/``refused`` re-checked rarely; None: left
        alone until a person acts)."""
        with self.engine.begin() as conn:
            conn.execute(
                update(Account)
                .where(Account.id == account_id)
                .values(
                    active=False,
                    error_msg=reason,
                    out_cause=cause,
                    next_check_at=None,  # upkeep looks at it at its next tick
                    updated_at=datetime.now(UTC),
                )
            )

    def store_cookies(self, account_id: int, cookies: Mapping[str, str]) -> None:
        """Keep the session cookies X rotated (``Set-Cookie``), encrypted like every secret."""
        with self.engine.begin() as conn:
            conn.execute(
                update(Account)
                .where(Account.id == account_id)
                .values(
                    cookies_enc=self.secrets.encrypt(json.dumps(dict(cookies))),
                    updated_at=datetime.now(UTC),
                )
            )

    def set_user_agent(self, account_id: int, user_agent: str) -> None:
        """Give an account without one the browser it keeps from now on (only if it still has none)."""
        with self.engine.begin() as conn:
            conn.execute(
                update(Account)
                .where(Account.id == account_id, Account.user_agent.is_(None))
                .values(user_agent=user_agent)
            )

    def set_active(self, username: str, active: bool, reason: str | None = None) -> bool:
        """Disable an account by hand (with a reason), or enable it again (clears errors and quarantine)."""
        values = (
            {"active": False, "error_msg": reason or "disabled by hand", "out_cause": None}
            if not active
            else {
                "active": True,
                "error_msg": None,
                "out_cause": None,
                "quarantined_until": None,
                "quarantines": 0,
                "next_check_at": None,  # checked at the upkeep's next tick
            }
        )
        with self.engine.begin() as conn:
            return (
                conn.execute(
                    update(Account)
                    .where(Account.username == username)
                    .values(updated_at=datetime.now(UTC), **values)
                ).rowcount
                > 0
            )

    def set_wanted_country(self, username: str, country: str | None) -> bool:
        """The country whose proxies alone the account binds to (``binding.py``), or None for any. ValueError
        for a code that is not ISO 3166-1 alpha-2. A bound proxy of another country is replaced at the next
        lease (once the account's running rate-limit windows end)."""
        wanted = check_country(country)
        with self.engine.begin() as conn:
            return (
                conn.execute(
                    update(Account)
                    .where(Account.username == username)
                    .values(wanted_country=wanted, updated_at=datetime.now(UTC))
                ).rowcount
                > 0
            )

    def status(self) -> list[dict]:
        """One row per account: active flag, last error, and per-operation window state."""
        with read_only(self.engine) as conn:
            accounts = conn.execute(select(Account).order_by(Account.username)).all()
            ops = conn.execute(select(AccountOperation)).all()
        by_account: dict[int, list] = {}
        for op in ops:
            by_account.setdefault(op.account_id, []).append(operation_window(op))
        return [
            {
                "username": a.username,
                "active": a.active,
                "error": a.error_msg,
                "quarantined_until": a.quarantined_until if (a.quarantined_until or 0) > _now() else None,
                "wanted_country": a.wanted_country,
                "operations": by_account.get(a.id, []),
            }
            for a in accounts
        ]

    # -- leasing -----------------------------------------------------------------------------------

    def _seeding(self, operation: str) -> Insert:
        """The statement that gives every account a state row for this operation (rows are what leases lock).

        Run every SEED_EVERY_S per pool and whenever a lease finds no candidate, so an account added by
        another process is seen within seconds, and at once when it is the only one free.
        """
        ao = AccountOperation
        missing = select(Account.id, literal(operation), literal(0)).where(
            ~select(ao.id).where(ao.account_id == Account.id, ao.operation == operation).exists()
        )
        insert = sqlite_insert if is_sqlite(self.engine) else pg_insert
        return (
            insert(ao)
            .from_select(["account_id", "operation", "requests"], missing)
            .on_conflict_do_nothing(index_elements=["account_id", "operation"])
        )

    def _available(self, now: float):
        ao = AccountOperation
        return and_(
            Account.active.is_(True),
            or_(Account.quarantined_until.is_(None), Account.quarantined_until <= now),
            or_(ao.leased_until.is_(None), ao.leased_until <= now),
            or_(ao.remaining.is_(None), ao.remaining > 0, ao.reset_at.is_(None), ao.reset_at <= now),
        )

    def _order(self, operation: str) -> list:
        ao = AccountOperation
        if self.strategy == "round_robin":
            last = (
                select(ao.account_id)
                .where(ao.operation == operation, ao.last_used.is_not(None))
                .order_by(ao.last_used.desc())
                .limit(1)
                .scalar_subquery()
            )
            return [ao.account_id <= func.coalesce(last, 0), ao.account_id]
        lru = [ao.last_used.is_not(None), ao.last_used, ao.id]
        if self.strategy == "health":
            return [(ao.errors * 1.0) / (ao.requests + 1), *lru]
        return lru

    def try_lease(self, operation: str, username: str | None = None) -> AccountLease | None:
        """Lease the next account (by the pool's strategy) whose window for ``operation`` is open, or None.

        The account comes with its proxy (``binding.py``); an account that cannot be bound right now
        rests, with the reason, and the next candidate is tried. On PostgreSQL taking the candidate is one
        statement (``_take``): the common lease costs one round trip; a rebind takes a transaction more.
        """
        ao = AccountOperation
        for _ in range(8):  # candidates that must rest for their proxy are skipped
            now = _now()
            state = self._take(operation, username, now)
            if state is None:
                return None
            bound = binding.settled(self.secrets, state)
            if bound is None:
                with self.engine.begin() as conn:
                    bound = binding.resolve(conn, self.secrets, state.account_id, state.proxy_id, now)
                    if bound.rest_until is not None:
                        conn.execute(
                            update(Account)
                            .where(Account.id == state.account_id)
                            .values(
                                quarantined_until=bound.rest_until,
                                error_msg=bound.reason,
                                updated_at=datetime.now(UTC),
                            )
                        )
                        conn.execute(
                            update(ao)
                            .where(ao.id == state.id, ao.lease_owner == self.owner)
                            .values(leased_until=None, lease_owner=None)
                        )
                if bound.rest_until is not None:
                    continue
            window_open = state.reset_at is None  # ``_take`` cleared an ended window's figures
            return AccountLease(
                account_id=state.account_id,
                username=state.username,
                cookies=self._cookies(state.cookies_enc),
                user_agent=state.user_agent,
                proxy_url=bound.proxy_url or state.proxy_url,
                proxy_id=bound.proxy_id,
                operation=operation,
                row_id=state.id,
                limit=state.window_limit,
                remaining=state.remaining,
                reset_at=state.reset_at,
                window_s=state.window_s,
                window_started_at=None if window_open else state.window_started_at,
                soft_bans=state.soft_bans or 0,
            )
        return None

    def _take(self, operation: str, username: str | None, now: float):
        """Mark the best available row leased by this pool and return it with its account and proxy
        columns (``binding.bound_columns``), or None. An ended window's figures are cleared as it is taken.

        PostgreSQL: one statement, in autocommit -- the update picks its row with ``FOR UPDATE SKIP LOCKED``
        and a data-modifying CTE returns it joined to its account. SQLite: the same update and a select in
        one ``BEGIN IMMEDIATE`` transaction. The statements are built once per pool (SQLAlchemy then finds
        their compiled form by a memoised cache key instead of walking them on every lease).
        """
        params = {
            "p_operation": operation,
            "p_now": now,
            "p_until": now + self.lease_ttl_s,
            "p_owner": self.owner,
            "p_username": username,
        }
        take, details = self._statements(username is not None)
        if self._fast is not None:
            return self._seeded_take(
                lambda stmt, p: run_once(self._fast, stmt, p), take, params, operation, now
            )
        with self.engine.begin() as conn:

            def run(stmt, p):
                result = conn.execute(stmt, p)
                return result.first() if result.returns_rows else None

            row = self._seeded_take(run, take, params, operation, now)
            return None if row is None else conn.execute(details, {"p_row_id": row.id}).first()

    def _seeded_take(self, run: Callable, take, params: dict, operation: str, now: float):
        """``take`` run by ``run``, seeding the operation's rows first when due and again on a miss (an
        account added since the last seeding has no row for the operation yet)."""
        if now - self._seeded.get(operation, 0.0) > SEED_EVERY_S:
            run(self._seeding(operation), {})
            self._seeded[operation] = now
        row = run(take, params)
        if row is None and self._seeded[operation] != now:
            run(self._seeding(operation), {})
            self._seeded[operation] = now
            row = run(take, params)
        return row

    def _statements(self, by_username: bool) -> tuple:
        built = self._built.get(by_username)
        if built is not None:
            return built
        ao = AccountOperation
        now = bindparam("p_now", type_=Float)
        candidate = (
            select(ao.id)
            .join(Account, Account.id == ao.account_id)
            .where(
                ao.operation == bindparam("p_operation"),
                self._available(now),
                *([Account.username == bindparam("p_username")] if by_username else []),
            )
            .order_by(*self._order(bindparam("p_operation")))
            .limit(1)
        )
        if not is_sqlite(self.engine):
            candidate = candidate.with_for_update(of=ao, skip_locked=True)
        window_open = or_(ao.reset_at.is_(None), ao.reset_at <= now)
        take = (
            update(ao)
            .where(ao.id == candidate.scalar_subquery())
            .values(
                leased_until=bindparam("p_until"),
                lease_owner=bindparam("p_owner"),
                last_used=now,
                remaining=case((window_open, null()), else_=ao.remaining),
                reset_at=case((window_open, null()), else_=ao.reset_at),
            )
            .returning(ao.id)
        )
        columns = (
            ao.id,
            ao.account_id,
            ao.window_limit,
            ao.remaining,
            ao.reset_at,
            ao.window_s,
            ao.window_started_at,
            ao.soft_bans,
        )
        account = (
            Account.username,
            Account.cookies_enc,
            Account.user_agent,
            Account.proxy_url,
            Account.proxy_id,
            *binding.bound_columns(),
        )
        details = (
            select(*columns, *account)
            .join(Account, Account.id == ao.account_id)
            .outerjoin(Proxy, Proxy.id == Account.proxy_id)
            .where(ao.id == bindparam("p_row_id"))
        )
        if not is_sqlite(self.engine):
            taken = take.returning(*columns[1:]).cte("taken")
            take = select(*(taken.c[c.key] for c in columns), *account).select_from(
                taken.join(Account, Account.id == taken.c.account_id).outerjoin(
                    Proxy, Proxy.id == Account.proxy_id
                )
            )
        self._built[by_username] = (take, details)
        return take, details

    def _cookies(self, cookies_enc: str | None) -> dict:
        """An account's cookies, decrypted once per stored value (a lease per request would otherwise pay
        the decryption every time); a copy, so a caller that changes it changes nothing here."""
        cached = self._cookie_cache.get(cookies_enc)
        if cached is None:
            cached = json.loads(self.secrets.decrypt(cookies_enc) or "{}")
            if len(self._cookie_cache) > 10_000:
                self._cookie_cache.clear()
            self._cookie_cache[cookies_enc] = cached
        return dict(cached)

    def release(self, lease: AccountLease) -> None:
        """Return the account, storing what the last response said about its window (one statement on
        PostgreSQL: the account's row is updated in a CTE of the operation row's update)."""
        used_at = datetime.now(UTC)
        params = {
            "p_row_id": lease.row_id,
            "p_owner": self.owner,
            "p_limit": lease.limit,
            "p_remaining": lease.remaining,
            "p_reset_at": lease.reopens_at,
            "p_window_s": lease.window_s,
            "p_window_started_at": lease.window_started_at,
            "p_requests": lease.requests,
            "p_errors": lease.errors,
            "p_soft_bans": lease.soft_bans,
            "p_now": _now(),
            "p_used_at": used_at,
            "p_stale_before": used_at - LAST_USED_PRECISION,
            "p_served": bool(lease.successes),  # the recheck after a quarantine passed
            "p_account_id": lease.account_id,
        }
        released, account = self._release_statements()
        if self._fast is not None:
            run_once(self._fast, account, params)
        else:
            with self.engine.begin() as conn:
                conn.execute(released, params)
                conn.execute(account, params)
        lease.requests = lease.successes = lease.errors = 0

    def _release_statements(self) -> tuple:
        built = self._built.get("release")
        if built is not None:
            return built
        ao = AccountOperation
        released = (
            update(ao)
            .where(ao.id == bindparam("p_row_id"), ao.lease_owner == bindparam("p_owner"))
            .values(
                leased_until=None,
                lease_owner=None,
                window_limit=bindparam("p_limit"),
                remaining=bindparam("p_remaining"),
                reset_at=bindparam("p_reset_at"),
                window_s=bindparam("p_window_s"),
                window_started_at=bindparam("p_window_started_at"),
                requests=ao.requests + bindparam("p_requests", type_=Integer),
                errors=ao.errors + bindparam("p_errors", type_=Integer),
                soft_bans=bindparam("p_soft_bans"),
                last_used=bindparam("p_now"),
            )
        )
        # The account's own row (wide: its encrypted cookies) is written only when there is news: its
        # ``last_used`` is kept to the minute (as an API key's); a served recheck ends a quarantine series.
        served = bindparam("p_served", type_=Boolean)
        account = (
            update(Account)
            .where(
                Account.id == bindparam("p_account_id"),
                or_(
                    Account.last_used.is_(None),
                    Account.last_used < bindparam("p_stale_before", type_=Account.last_used.type),
                    and_(served, Account.quarantines > 0),
                ),
            )
            .values(
                last_used=bindparam("p_used_at"), quarantines=case((served, 0), else_=Account.quarantines)
            )
        )
        if (
            self._fast is not None
        ):  # one statement: the account is updated only if its row was ours to release
            mine = released.returning(ao.account_id).cte("released")
            account = account.where(Account.id.in_(select(mine.c.account_id)))
        self._built["release"] = (released, account)
        return released, account

    def quarantine(
        self, lease: AccountLease, reason: str, base_s: float = 3600.0, max_s: float = 86400.0
    ) -> float:
        """Rest a soft-banned account for every operation; the rest doubles with each quarantine in a
        row. The first lease after it is the recheck: a served request ends the series. Returns the end."""
        now = _now()
        with self.engine.begin() as conn:
            count = (
                conn.execute(select(Account.quarantines).where(Account.id == lease.account_id)).scalar() or 0
            )
            until = now + min(base_s * 2**count, max_s)
            conn.execute(
                update(Account)
                .where(Account.id == lease.account_id)
                .values(
                    quarantined_until=until,
                    quarantines=count + 1,
                    error_msg=f"{reason}; quarantined until "
                    f"{datetime.fromtimestamp(until, UTC):%Y-%m-%d %H:%M:%S} UTC",
                    updated_at=datetime.now(UTC),
                )
            )
        lease.soft_bans = 0
        self.release(lease)
        return until

    def next_free_at(self, operation: str, username: str | None = None) -> float | None:
        """When the earliest active account's window for ``operation`` opens (now if one is open,
        leased or not); None when no account is active. ``username`` narrows it to that account."""
        now = _now()
        ao = AccountOperation
        mine = [Account.username == username] if username else []
        with read_only(self.engine) as conn:
            active = conn.execute(
                select(func.count()).select_from(Account).where(Account.active.is_(True), *mine)
            ).scalar()
            if not active:
                return None
            rows = conn.execute(
                select(ao.reset_at, ao.remaining, Account.quarantined_until)
                .join(Account, Account.id == ao.account_id)
                .where(ao.operation == operation, Account.active.is_(True), *mine)
            ).all()
        if len(rows) < active:
            return now  # an account has never served this operation
        # A window's reset time is known exactly. A lease held by another worker can end any moment
        # (or expire by itself), so it never makes a waiter give up early.
        times = [
            max(
                r.reset_at if (r.remaining is not None and r.remaining <= 0 and r.reset_at) else now,
                r.quarantined_until or now,
            )
            for r in rows
        ]
        return min(times)

    def lease(self, operation: str, deadline_s: float, username: str | None = None) -> AccountLease:
        """Lease an account for ``operation``, waiting at most ``deadline_s`` for one to free up.

        Raises ``NoAccountAvailable`` at once when no account is active, or as soon as it is clear the
        earliest account frees up after the deadline. ``username`` leases that account only (checks).
        """
        give_up_at = _now() + deadline_s
        while True:
            lease = self.try_lease(operation, username)
            if lease is not None:
                return lease
            free_at = self.next_free_at(operation, username)
            if free_at is None:
                raise NoAccountAvailable(operation, None, self._inactive_summary())
            if free_at > give_up_at:
                raise NoAccountAvailable(operation, free_at, self._inactive_summary())
            # A reset time is exact; a lease held elsewhere may end early, so look again soon.
            time.sleep(min(max(free_at - _now(), 0.005), 0.25))

    def _inactive_summary(self) -> str:
        with read_only(self.engine) as conn:
            rows = conn.execute(
                select(Account.username, Account.error_msg).where(
                    or_(Account.active.is_(False), Account.quarantined_until > _now())
                )
            ).all()
        if not rows:
            return ""
        shown = ", ".join(f"{r.username} ({r.error_msg or 'no reason'})" for r in rows[:5])
        more = f" and {len(rows) - 5} more" if len(rows) > 5 else ""
        return f"{len(rows)} inactive or quarantined: {shown}{more}"
