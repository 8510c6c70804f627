"""The pool's health at a glance: how many accounts can serve, per X operation too, and why the others cannot.

An account can serve when it is active and not quarantined. For one operation it can serve unless it is
also resting on that operation after a soft ban (429s while X said requests remained): an account that
merely used up its window comes back within minutes and still counts. The operations are those XGet's
scrapes use plus any the pool has leased.
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field

from sqlalchemy import Engine, select

from xget_pipelines.core.db.engine import read_only
from xget_pipelines.core.db.models import Account, AccountOperation, Proxy
from xget_pipelines.core.pools.proxy_records import STATUSES

# The operations XGet's scrapes use (core/x/scrape.py); their health is reported even before first use.
SCRAPE_OPERATIONS = ("SearchTimeline", "UserByScreenName", "UserTweetsAndReplies")


@dataclass
class PoolHealth:
    total: int = 0
    usable: int = 0  # active and not quarantined: can serve as soon as a window opens
    quarantined: int = 0
    inactive: int = 0
    reasons: Counter = field(default_factory=Counter)  # why accounts are out, e.g. "suspended (X code 64)"
    operations: dict[str, int] = field(default_factory=dict)  # accounts that can serve each operation

    def low_operations(self, minimum: int) -> list[str]:
        return sorted(op for op, n in self.operations.items() if n < minimum)

    def as_dict(self) -> dict:
        return {
            "total": self.total,
            "usable": self.usable,
            "quarantined": self.quarantined,
            "inactive": self.inactive,
            "reasons": dict(self.reasons),
            "operations": dict(self.operations),
        }


def _reason(message: str | None) -> str:
    """The kind of a stored error, without its timestamps: "locked (X code 326)", "soft-banned"."""
    if not message:
        return "no reason recorded"
    return message.split(";")[0].split(":")[0].strip()


def pool_health(engine: Engine, now: float | None = None) -> PoolHealth:
    now = time.time() if now is None else now
    health = PoolHealth()
    ao = AccountOperation
    with read_only(engine) as conn:
        rows = conn.execute(
            select(Account.id, Account.active, Account.quarantined_until, Account.error_msg)
        ).all()
        operations = set(SCRAPE_OPERATIONS) | set(conn.execute(select(ao.operation).distinct()).scalars())
        resting = conn.execute(
            select(ao.operation, ao.account_id).where(ao.soft_bans > 0, ao.reset_at > now)
        ).all()
    usable_ids = set()
    for account_id, active, quarantined_until, error in rows:
        health.total += 1
        if not active:
            health.inactive += 1
            health.reasons[_reason(error)] += 1
        elif quarantined_until and quarantined_until > now:
            health.quarantined += 1
            health.reasons[_reason(error)] += 1
        else:
            health.usable += 1
            usable_ids.add(account_id)
    soft_banned = Counter(op for op, account_id in resting if account_id in usable_ids)
    health.operations = {op: health.usable - soft_banned[op] for op in sorted(operations)}
    return health


def rate_limited(engine: Engine, now: float | None = None) -> dict[str, int]:
    """Accounts per operation that used up their window and wait for it to reopen (0 for every operation an
    account has used, so a dashboard shows a flat line rather than no data)."""
    now = time.time() if now is None else now
    ao = AccountOperation
    with read_only(engine) as conn:
        known = conn.execute(select(ao.operation).distinct()).scalars().all()
        rows = conn.execute(select(ao.operation).where(ao.remaining == 0, ao.reset_at > now)).scalars()
        return {**dict.fromkeys(known, 0), **Counter(rows)}


def proxy_statuses(engine: Engine) -> dict[str, int]:
    """Proxies per status (every status, 0 where none): what a dashboard graphs. Needs no secret key."""
    with read_only(engine) as conn:
        counts = Counter(conn.execute(select(Proxy.status)).scalars())
    return {status: counts.get(status, 0) for status in STATUSES}
