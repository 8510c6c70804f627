"""Proxy upkeep: one tick checks the proxies that are due, so dead ones leave the pool before a scrape
finds them and revived ones come back without a person.

A proxy is due when its ``next_check_at`` has passed, or it has none (imported and never checked, or
checked before upkeep existed): ACTIVE ones every ``Cadence.interval_s``, those that failed their last
checks (INACTIVE, or ACTIVE and failing) with exponential backoff capped at the interval, so a proxy
that comes back is ACTIVE again within two check periods however long it was down (``Cadence``).

A tick checks at most ``max_per_tick`` of them, the longest overdue first (never-checked ones before
all), so its time is bounded (at most ``ceil(max_per_tick / concurrency) * attempts * timeout_s`` plus
one direct request to the target) and a backlog drains over the next ticks. A target that answers
neither directly nor through any proxy marks nothing (``ProxyPool.acheck``): the tick reports it and
the same proxies are due again next tick.

``now`` is a parameter so that tests and the chaos run drive ticks on their own clock.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import Engine, func, or_, select

from xget_pipelines.core.db.engine import read_only
from xget_pipelines.core.db.models import Proxy
from xget_pipelines.core.pools.proxies import ProxyPool
from xget_pipelines.core.pools.proxy_records import ACTIVE, INACTIVE, Cadence, TargetUnreachable
from xget_pipelines.core.redact import redact_urls


@dataclass
class UpkeepTick:
    """What one tick did: ``checked`` proxies, of which ``revived`` came back to ACTIVE and
    ``newly_inactive`` went out; ``backlog`` were due and left for the next ticks."""

    checked: int = 0
    revived: list[str] = field(default_factory=list)  # redacted URLs
    newly_inactive: list[str] = field(default_factory=list)
    active: int = 0  # ACTIVE after the tick, of all proxies
    inactive: int = 0
    backlog: int = 0
    target: str = ""
    target_error: str | None = None  # set when the target was unreachable: nothing was marked

    def summary(self) -> str:
        if self.target_error:
            return self.target_error
        parts = [f"checked {self.checked} through {self.target}"]
        if self.revived:
            parts.append(f"revived {len(self.revived)} ({', '.join(self.revived[:5])})")
        if self.newly_inactive:
            parts.append(f"newly INACTIVE {len(self.newly_inactive)} ({', '.join(self.newly_inactive[:5])})")
        parts.append(f"{self.active} ACTIVE, {self.inactive} INACTIVE")
        if self.backlog:
            parts.append(f"{self.backlog} more due (next ticks)")
        return "; ".join(parts)

    def metadata(self) -> dict:
        return {
            "checked": self.checked,
            "revived": len(self.revived),
            "newly_inactive": len(self.newly_inactive),
            "active": self.active,
            "inactive": self.inactive,
            "backlog": self.backlog,
            "target": self.target,
            "target_unreachable": self.target_error is not None,
        }


def due_proxies(engine: Engine, now: datetime, limit: int) -> tuple[list[int], int]:
    """The ids of at most ``limit`` proxies due at ``now``, the longest overdue first, and how many are
    due in all."""
    due = or_(Proxy.next_check_at.is_(None), Proxy.next_check_at <= now)
    with read_only(engine) as conn:
        total = conn.execute(select(func.count()).select_from(Proxy).where(due)).scalar() or 0
        ids = (
            conn.execute(
                select(Proxy.id)
                .where(due)
                .order_by(Proxy.next_check_at.is_not(None), Proxy.next_check_at, Proxy.id)
                .limit(limit)
            )
            .scalars()
            .all()
        )
    return list(ids), total


def upkeep_tick(
    pool: ProxyPool,
    target_url: str,
    now: datetime,
    cadence: Cadence,
    max_per_tick: int = 32,
    timeout_s: float = 5.0,
    attempts: int = 3,
    concurrency: int = 16,
) -> UpkeepTick:
    """Check the proxies due at ``now`` (at most ``max_per_tick``) through each to ``target_url``."""
    if max_per_tick < 1:
        raise ValueError("max_per_tick must be at least 1")
    tick = UpkeepTick(target=redact_urls(target_url))
    ids, due = due_proxies(pool.engine, now, max_per_tick)
    tick.backlog = due - len(ids)
    if ids:
        try:
            results = pool.check(
                ids,
                target_url=target_url,
                timeout_s=timeout_s,
                attempts=attempts,
                concurrency=concurrency,
                now=now,
                cadence=cadence,
            )
        except TargetUnreachable as exc:
            tick.target_error = str(exc)
            tick.backlog = due
            results = []
        tick.checked = len(results)
        for r in results:
            if r.status == ACTIVE and r.previous_status == INACTIVE:
                tick.revived.append(r.proxy)
            elif r.status == INACTIVE and r.previous_status != INACTIVE:
                tick.newly_inactive.append(r.proxy)
    with read_only(pool.engine) as conn:
        counts = dict(conn.execute(select(Proxy.status, func.count()).group_by(Proxy.status)).all())
    tick.active, tick.inactive = counts.get(ACTIVE, 0), counts.get(INACTIVE, 0)
    return tick
