"""The watchlist: search terms and @accounts XGet collects every day."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from sqlalchemy import Engine, select, update

from xget_pipelines.core.db.engine import read_only
from xget_pipelines.core.db.models import WatchlistEntry
from xget_pipelines.core.errors import InvalidField
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


def expected_from(
    engine: Engine, keys: Iterable[str] | None, backfill_days: int
) -> dict[str, dt.date | None]:
    """The keys of a coverage report, each with the first day it was expected: the day it was added to the
    watchlist less the days the watchlist sensor then collects (``backfill_days``, today included); None for
    a key never on the watchlist (a scrape task's). ``keys`` None: the active watchlist, in its order.
    Raises ``InvalidField`` (field ``key``) for a key that cannot be a watchlist key."""
    wanted = None
    if keys is not None:
        try:
            wanted = [parse_watch_key(k).key for k in keys]
        except ValueError as exc:
            raise InvalidField(str(exc), "key") from exc
    with read_only(engine) as conn:
        entries = conn.execute(
            select(WatchlistEntry.key, WatchlistEntry.active, WatchlistEntry.added_at).order_by(
                WatchlistEntry.id
            )
        ).all()
    lead = dt.timedelta(days=max(backfill_days, 1) - 1)
    added = {e.key: _utc(e.added_at).date() - lead for e in entries}
    if wanted is None:
        return {e.key: added[e.key] for e in entries if e.active}
    return {k: added.get(k) for k in dict.fromkeys(wanted)}


def _utc(value: dt.datetime) -> dt.datetime:
    """SQLite hands back naive times; every time XGet stores is UTC."""
    return value if value.tzinfo is not None else value.replace(tzinfo=dt.UTC)
