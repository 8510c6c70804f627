"""How many requests of one X operation the account pool can send per hour, as the pool is now.

X limits each account per operation over a window (SearchTimeline: 50 requests per 15 minutes). The pool's
capacity for an operation is its usable accounts for it (``health.pool_health``: active, not quarantined,
not resting after a soft ban) times what one account may send per window, over the window's length. The
limit and the window are what the pool learned from X's headers (``account_operations``: ``window_limit``
and ``window_s``, the learned upper bound of the window, see ``account_lease.py``), the median over the
accounts that have used the operation; an operation no account has used yet takes X's observed limits
(``core/x/limits.py``, with their sources) and X's 900-second window.
"""

from __future__ import annotations

import statistics
import time
from dataclasses import dataclass

from sqlalchemy import Engine, select

from xget_pipelines.core.db.engine import read_only
from xget_pipelines.core.db.models import AccountOperation
from xget_pipelines.core.pools.health import pool_health
from xget_pipelines.core.x.limits import X_RATE_LIMITS, X_WINDOW_S


@dataclass(frozen=True)
class Capacity:
    """What the pool can send of ``operation``: ``accounts`` usable, ``limit`` requests per ``window_s``
    each; ``learned`` says whether limit and window come from X's headers (else X's observed figures)."""

    operation: str
    accounts: int
    limit: int
    window_s: float
    learned: bool

    @property
    def requests_per_account_hour(self) -> float:
        return self.limit * 3600.0 / self.window_s

    @property
    def requests_per_hour(self) -> float:
        return self.accounts * self.requests_per_account_hour


def operation_capacity(engine: Engine, operation: str, now: float | None = None) -> Capacity:
    """The pool's capacity for ``operation`` now (module docstring)."""
    now = time.time() if now is None else now
    health = pool_health(engine, now)
    ao = AccountOperation
    with read_only(engine) as conn:
        rows = conn.execute(
            select(ao.window_limit, ao.window_s).where(
                ao.operation == operation, ao.window_limit.is_not(None)
            )
        ).all()
    limits = [r.window_limit for r in rows if r.window_limit]
    windows = [r.window_s for r in rows if r.window_s]
    accounts = health.operations.get(operation, health.usable)
    limit = int(statistics.median(limits)) if limits else X_RATE_LIMITS.get(operation, 50)
    window = statistics.median(windows) if windows else X_WINDOW_S
    return Capacity(operation, accounts, limit, window, bool(limits and windows))
