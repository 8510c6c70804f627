"""Is an account usable? One cheap request as the account itself: its own profile (UserByScreenName).

A served profile means the session works. X's refusals (suspended 64, locked 326, bad auth 32) take
the account out of the pool with the reason, exactly as during a scrape (the X client does it);
a rate limit or an outage says nothing about the account and leaves it as it was.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from sqlalchemy import select

from xget_pipelines.core.db.engine import read_only
from xget_pipelines.core.db.models import Account
from xget_pipelines.core.errors import NoAccountAvailable, XGetError
from xget_pipelines.core.pools.account_pool import AccountPool
from xget_pipelines.core.x.client import XClient
from xget_pipelines.core.x.watch import user_by_screen_name_variables

OPERATION = "UserByScreenName"


@dataclass
class AccountCheck:
    username: str
    ok: bool
    detail: str
    refused: bool = False  # X refused the account: it is out of the pool now, with ``detail`` as reason


def _state(pool: AccountPool, username: str):
    """The account's row (active, error, quarantine), or None: one account, not the whole pool."""
    with read_only(pool.engine) as conn:
        return conn.execute(
            select(Account.active, Account.error_msg, Account.quarantined_until).where(
                Account.username == username
            )
        ).first()


def check_account(
    pool: AccountPool, graphql_url: str, username: str, deadline_s: float = 10.0
) -> AccountCheck:
    before = _state(pool, username)
    if before is None:
        return AccountCheck(username, False, "no such account in the pool")
    if not before.active:
        return AccountCheck(username, False, f"inactive: {before.error_msg or 'no reason recorded'}")
    try:
        with XClient(
            graphql_url,
            pool,
            lease_deadline_s=deadline_s,
            account=username,
            max_attempts=2,
            backoff_base_s=0.2,
        ) as client:
            page = client.fetch(OPERATION, user_by_screen_name_variables(username))
    except NoAccountAvailable:
        after = _state(pool, username)
        if not after.active or (after.quarantined_until or 0) > time.time():
            return AccountCheck(username, False, after.error_msg or "refused by X", refused=not after.active)
        return AccountCheck(username, False, "busy or rate-limited now: check again later")
    except XGetError as exc:
        return AccountCheck(username, False, f"X did not answer: {exc}")
    if page.summary.error_codes:
        return AccountCheck(username, False, f"X answered with errors {page.summary.error_codes}")
    return AccountCheck(username, True, f"session works (rate limit remaining {page.rate_remaining})")
