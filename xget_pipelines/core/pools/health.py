"""The pool's health at a glance: how many accounts can serve, and why the others cannot."""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field

from sqlalchemy import Engine, select

from xget_pipelines.core.db.engine import read_only
from xget_pipelines.core.db.models import Account


@dataclass
class PoolHealth:
    total: int = 0
    usable: int = 0  # active and not quarantined: can serve as soon as a window opens
    quarantined: int = 0
    inactive: int = 0
    reasons: Counter = field(default_factory=Counter)  # why accounts are out, e.g. "suspended (X code 64)"

    def as_dict(self) -> dict:
        return {"total": self.total, "usable": self.usable, "quarantined": self.quarantined,
                "inactive": self.inactive, "reasons": dict(self.reasons)}


def _reason(message: str | None) -> str:
    """The kind of a stored error, without its timestamps: "locked (X code 326)", "soft-banned"."""
    if not message:
        return "no reason recorded"
    return message.split(";")[0].split(":")[0].strip()


def pool_health(engine: Engine, now: float | None = None) -> PoolHealth:
    now = time.time() if now is None else now
    health = PoolHealth()
    with read_only(engine) as conn:
        rows = conn.execute(select(Account.active, Account.quarantined_until, Account.error_msg)).all()
    for active, quarantined_until, error in rows:
        health.total += 1
        if not active:
            health.inactive += 1
            health.reasons[_reason(error)] += 1
        elif quarantined_until and quarantined_until > now:
            health.quarantined += 1
            health.reasons[_reason(error)] += 1
        else:
            health.usable += 1
    return health
