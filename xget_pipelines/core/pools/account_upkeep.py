"""Account upkeep: one tick looks at the accounts that are due, so a dead session is found and renewed before
a scrape needs it, and an account X lets go of comes back without a person.

What an account gets when due (``account_cadence.py`` says why each is out):

- ACTIVE: ``checks.check_account``, one cheap request as the account (its own profile, leased like any
  request, so within its rate-limit window). Served: due again ``check_interval_s`` later. Refused: out with
  X's reason (the X client does it), and a refused session is logged in again in the same tick;
- out for its session (or a failed automatic login): ``account_login.login_account`` through its own proxy,
  when its credentials allow it (password, plus the TOTP secret or mailbox X may ask for; a GOOGLE account's
  email). A failure waits ``login_delay_s`` (backoff); ``logins_per_day`` automatic logins per UTC day at
  most; an account without the means stays out with a reason that says what a person must do;
- suspended, locked or refused: put back for one check every ``recheck_refused_s``; X serving it brings it
  back to ACTIVE, X refusing it again takes it out again with the reason.

A tick looks at most ``max_per_tick`` accounts (never-checked and longest overdue first), of which at most
``logins_per_tick`` log in, so its time is bounded; the rest wait for the next ticks. Quarantined accounts
are skipped: the first lease after a quarantine is their re-check. ``now`` is a parameter so that tests and
the chaos run drive ticks on their own clock.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import func, or_, select, update

from xget_pipelines.core.db.engine import read_only
from xget_pipelines.core.db.models import Account
from xget_pipelines.core.errors import XGetError
from xget_pipelines.core.pools.account_cadence import (
    CAUSES,
    LOGIN,
    RECHECKED,
    AccountCadence,
    AccountUpkeepTick,
    next_utc_day,
)
from xget_pipelines.core.pools.account_login import LoginSetup, login_account
from xget_pipelines.core.pools.account_pool import AccountPool
from xget_pipelines.core.pools.checks import AccountCheck, check_account
from xget_pipelines.core.pools.login_common import LoginError

Checker = Callable[[AccountPool, str], AccountCheck]  # (pool, username) -> what one check found


def due_accounts(pool: AccountPool, now: datetime, limit: int) -> tuple[list, int]:
    """At most ``limit`` accounts due at ``now`` (never-checked first, then the longest overdue) and how many
    are due in all: ACTIVE ones not in quarantine, and inactive ones upkeep knows the cause of."""
    due = (
        or_(Account.next_check_at.is_(None), Account.next_check_at <= now),
        or_(Account.active.is_(True), Account.out_cause.in_(CAUSES)),
        or_(Account.quarantined_until.is_(None), Account.quarantined_until <= now.timestamp()),
    )
    with read_only(pool.engine) as conn:
        total = conn.execute(select(func.count()).select_from(Account).where(*due)).scalar() or 0
        rows = conn.execute(
            select(Account)
            .where(*due)
            .order_by(Account.next_check_at.is_not(None), Account.next_check_at, Account.id)
            .limit(limit)
        ).all()
    return list(rows), total


# How long a tick holds an account it is looking at: longer than the slowest login (a Google sign-in, 90 s,
# or a code awaited in the mailbox, 60 s). Another tick (a second daemon, a tick that overran the sensor's
# time limit) skips the account meanwhile; a tick that died lets it be due again once this has passed.
CLAIM_S = 600.0


def claim(pool: AccountPool, account, until: datetime) -> bool:
    """Take ``account`` (a row as ``due_accounts`` read it) for this tick: its ``next_check_at`` moves to
    ``until`` only if no other tick moved it since it was read (compare and set), so two ticks never check
    or log in the same account at once."""
    seen = account.next_check_at
    unchanged = Account.next_check_at.is_(None) if seen is None else Account.next_check_at == seen
    with pool.engine.begin() as conn:
        taken = conn.execute(
            update(Account).where(Account.id == account.id, unchanged).values(next_check_at=until)
        )
    return taken.rowcount == 1


def _record(pool: AccountPool, account_id: int, **values) -> None:
    with pool.engine.begin() as conn:
        conn.execute(update(Account).where(Account.id == account_id).values(**values))


def _state(pool: AccountPool, account_id: int):
    with read_only(pool.engine) as conn:
        return conn.execute(select(Account).where(Account.id == account_id)).first()


def missing_credentials(account) -> str | None:
    """What a person must do before the account can log in by itself, or None when it can try."""
    if account.password_enc is None:
        return (
            "no password stored to log in again: re-import the account with its password (and TOTP secret "
            "or mailbox), or with fresh cookies from a logged-in browser (xget accounts add, "
            "PUT /v1/accounts/NAME)"
        )
    if account.login_method == "GOOGLE" and not account.email:
        return "a GOOGLE account logs in with its email, none stored: re-import it with the email"
    return None


class _Upkeep:
    """One tick's state: the pool, how to check and log in, the clock and what was done."""

    def __init__(self, pool, check, login, now, cadence, logins_left):
        self.pool, self.check, self.login = pool, check, login
        self.now, self.cadence, self.logins_left = now, cadence, logins_left
        self.tick = AccountUpkeepTick()

    def later(self, seconds: float) -> datetime:
        return self.now + timedelta(seconds=seconds)

    def visit(self, account) -> bool:
        """Handle one due account; False when it was left for a later tick (no login left this tick)."""
        if not claim(self.pool, account, self.later(CLAIM_S)):
            self.tick.taken.append(account.username)  # another tick has it
            return True
        handled = self._visit(account)
        if not handled:  # given back as it was: due again at the next tick
            _record(self.pool, account.id, next_check_at=account.next_check_at)
        return handled

    def _visit(self, account) -> bool:
        if account.active:
            return self.check_active(account)
        if account.out_cause in RECHECKED:
            self.recheck(account)
            return True
        return self.renew(account, account.error_msg or "session refused by X")

    def check_active(self, account) -> bool:
        found = self.check(self.pool, account.username)
        self.tick.checked += 1
        values = {"last_check_at": self.now, "last_check": found.detail}
        if found.ok:
            self.tick.healthy += 1
        if found.refused:
            self.tick.newly_out.append(account.username)
            after = _state(self.pool, account.id)
            if after.out_cause in RECHECKED:
                _record(
                    self.pool, account.id, next_check_at=self.later(self.cadence.recheck_refused_s), **values
                )
            else:
                _record(self.pool, account.id, **values)
                return self.renew(after, found.detail)
            return True
        _record(self.pool, account.id, next_check_at=self.later(self.cadence.check_interval_s), **values)
        return True

    def recheck(self, account) -> None:
        """A suspended or locked account: scheduled when first seen out, then put back for one check."""
        if account.next_check_at is None:  # just taken out (by a scrape): X said it moments ago
            _record(self.pool, account.id, next_check_at=self.later(self.cadence.recheck_refused_s))
            return
        _record(self.pool, account.id, active=True)
        found = self.check(self.pool, account.username)
        self.tick.checked += 1
        values = {"last_check_at": self.now, "last_check": found.detail}
        if found.ok:
            self.tick.healthy += 1
            self.tick.returned.append(account.username)
            values |= {
                "error_msg": None,
                "out_cause": None,
                "next_check_at": self.later(self.cadence.check_interval_s),
            }
        elif found.refused:  # X still refuses it: out again, with the cause and reason the client gave
            values["next_check_at"] = self.later(self.cadence.recheck_refused_s)
        else:  # X said nothing about the account (busy, down): out as it was, asked again at the next check
            values |= {
                "active": False,
                "error_msg": account.error_msg,
                "out_cause": account.out_cause,
                "next_check_at": self.later(self.cadence.check_interval_s),
            }
        _record(self.pool, account.id, **values)

    def renew(self, account, why: str) -> bool:
        """Log an account out for its session in again, within the backoff and the daily cap."""
        name, cap = account.username, self.cadence.logins_per_day
        missing = missing_credentials(account)
        if missing:
            self.tick.needs_person.append(name)
            _record(
                self.pool,
                account.id,
                error_msg=f"{_first(why)}; {missing}",
                next_check_at=self.later(self.cadence.recheck_refused_s),
            )
            return True
        day = self.now.date().isoformat()
        today = account.logins_on_day if account.logins_day == day else 0
        if today >= cap:
            self.tick.capped.append(name)
            retry = next_utc_day(self.now)
            _record(
                self.pool,
                account.id,
                error_msg=f"{_first(why)}; {cap} automatic logins a day reached "
                f"(XGET_ACCOUNT_LOGINS_PER_DAY): next try {retry:%Y-%m-%d %H:%M} UTC, "
                f"or log in by hand (xget accounts login {name})",
                next_check_at=retry,
            )
            return True
        if self.logins_left <= 0:
            return False
        self.logins_left -= 1
        # counted before the attempt, so a login that never returns still counts against the cap
        _record(self.pool, account.id, logins_day=day, logins_on_day=today + 1, last_login_at=self.now)
        try:
            self.login(self.pool, name)
        except LoginError as exc:
            if exc.step == "credentials":  # nothing was sent to X: only a person can fix it
                self.tick.needs_person.append(name)
                _record(
                    self.pool,
                    account.id,
                    active=False,
                    error_msg=f"{_first(why)}; {exc.reason}",
                    login_reason=f"not tried: {exc.reason}",
                    next_check_at=self.later(self.cadence.recheck_refused_s),
                )
                return True
            self.failed(account, why, str(exc))
            return True
        except XGetError as exc:
            self.failed(account, why, str(exc))
            return True
        self.tick.logged_in.append(name)
        _record(
            self.pool,
            account.id,
            login_failures=0,
            login_reason=f"logged in again after: {_first(why)}",
            last_check_at=self.now,
            last_check="logged in again",
            next_check_at=self.later(self.cadence.check_interval_s),
        )
        return True

    def failed(self, account, why: str, error: str) -> None:
        failures = (account.login_failures or 0) + 1
        retry = self.later(self.cadence.login_delay_s(failures))
        self.tick.login_failed.append(account.username)
        _record(
            self.pool,
            account.id,
            active=False,
            out_cause=LOGIN,
            login_failures=failures,
            error_msg=f"{error}; next automatic login {retry:%Y-%m-%d %H:%M} UTC",
            login_reason=f"failed ({failures} in a row) after: {_first(why)}: {error}",
            next_check_at=retry,
        )


def _first(reason: str) -> str:
    """The reason before anything upkeep appended to it (``; next ...``), so reasons never pile up."""
    return reason.split("; ")[0]


def upkeep_tick(
    pool: AccountPool,
    graphql_url: str,
    setup: LoginSetup,
    now: datetime,
    cadence: AccountCadence,
    max_per_tick: int = 8,
    logins_per_tick: int = 2,
    deadline_s: float = 5.0,
    *,
    check: Checker | None = None,
    login: Callable[[AccountPool, str], object] | None = None,
) -> AccountUpkeepTick:
    """Look at the accounts due at ``now`` (at most ``max_per_tick``; at most ``logins_per_tick`` logins)."""
    if max_per_tick < 1:
        raise ValueError("max_per_tick must be at least 1")
    upkeep = _Upkeep(
        pool,
        check or (lambda p, name: check_account(p, graphql_url, name, deadline_s=deadline_s)),
        login or (lambda p, name: login_account(p, name, setup)),
        now,
        cadence,
        logins_per_tick,
    )
    accounts, due = due_accounts(pool, now, max_per_tick)
    left = sum(0 if upkeep.visit(a) else 1 for a in accounts)
    upkeep.tick.backlog = due - len(accounts) + left
    with read_only(pool.engine) as conn:
        counts = dict(conn.execute(select(Account.active, func.count()).group_by(Account.active)).all())
    upkeep.tick.active, upkeep.tick.inactive = counts.get(True, 0), counts.get(False, 0)
    return upkeep.tick
