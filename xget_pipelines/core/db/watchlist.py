"""The watchlist: search terms and @accounts XGet collects every day."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from sqlalchemy import Engine, select, update

from xget_pipelines.core.db.engine import read_only
from xget_pipelines.core.db.models import WatchlistEntry
from xget_pipelines.core.x.watch import parse_watch_key


def add_keys(engine: Engine, keys: Iterable[str]) -> list[str]:
    """Add (or reactivate) keys after validating each; returns the normalised keys."""
    parsed = [parse_watch_key(k).key for k in keys]
    now = dt.datetime.now(dt.UTC)
    with engine.begin() as conn:
        existing = {r.key: r for r in conn.execute(select(WatchlistEntry.key, WatchlistEntry.active))}
        for key in dict.fromkeys(parsed):
            if key not in existing:
                conn.execute(WatchlistEntry.__table__.insert().values(key=key, active=True, added_at=now))
            elif not existing[key].active:
                conn.execute(update(WatchlistEntry).where(WatchlistEntry.key == key).values(active=True))
    return parsed


def deactivate(engine: Engine, key: str) -> bool:
    with engine.begin() as conn:
        return (
            conn.execute(
                update(WatchlistEntry).where(WatchlistEntry.key == key).values(active=False)
            ).rowcount
            > 0
        )


def active_keys(engine: Engine) -> list[str]:
    with read_only(engine) as conn:
        return [
            r.key
            for r in conn.execute(
                select(WatchlistEntry.key).where(WatchlistEntry.active.is_(True)).order_by(WatchlistEntry.id)
            )
        ]
