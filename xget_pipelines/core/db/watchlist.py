"""The watchlist: search terms and @accounts XGet collects every day, each with its collection parameters
(``core/x/watch.py`` ``KeyParams``: budget, product, expand), stored as JSON beside the key."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import Engine, select, update

from xget_pipelines.core.auth.users import audit
from xget_pipelines.core.db.engine import read_only
from xget_pipelines.core.db.models import WatchlistEntry
from xget_pipelines.core.errors import Conflict, InvalidField, NotFound
from xget_pipelines.core.x.watch import KeyParams, check_for_key, parse_params, parse_watch_key


@dataclass(frozen=True)
class Entry:
    key: str
    active: bool
    added_at: dt.datetime
    params: KeyParams
    id: int = 0
    kind: str = "search"


def add_keys(engine: Engine, keys: Iterable[str], params: KeyParams | None = None) -> list[str]:
    """Add (or reactivate) keys after validating each; returns the normalised keys. ``params``: the keys'
    collection parameters, replacing those stored for a key already there; None keeps them (a new key
    gets the defaults)."""
    parsed = [parse_watch_key(k).key for k in keys]
    for key in parsed if params is not None else ():
        check_for_key(key, params)  # an expansion the key's kind cannot have (InvalidParams)
    now = dt.datetime.now(dt.UTC)
    stored = None if params is None else _stored(params)
    with engine.begin() as conn:
        existing = {r.key: r for r in conn.execute(select(WatchlistEntry.key, WatchlistEntry.active))}
        for key in dict.fromkeys(parsed):
            if key not in existing:
                conn.execute(
                    WatchlistEntry.__table__.insert().values(
                        key=key, active=True, added_at=now, params=stored
                    )
                )
                continue
            changes: dict = {"active": True}
            if params is not None:
                changes["params"] = stored
            conn.execute(update(WatchlistEntry).where(WatchlistEntry.key == key).values(**changes))
    return parsed


def entries(engine: Engine, active_only: bool = True) -> list[Entry]:
    """The watchlist's entries with their parameters, in the order they were added."""
    query = select(WatchlistEntry).order_by(WatchlistEntry.id)
    if active_only:
        query = query.where(WatchlistEntry.active.is_(True))
    with read_only(engine) as conn:
        rows = conn.execute(query).all()
    return [_entry(r) for r in rows]


def _entry(row) -> Entry:
    return Entry(
        row.key, row.active, _utc(row.added_at), _params(row.params), row.id, parse_watch_key(row.key).kind
    )


# -- the API's side: one entry at a time, audited ------------------------------------------------------


def _stored(params: KeyParams) -> str | None:
    payload = params.to_json()
    return json.dumps(payload, sort_keys=True) if payload else None


def get_entry(engine: Engine, entry_id: int) -> Entry:
    with read_only(engine) as conn:
        row = conn.execute(select(WatchlistEntry).where(WatchlistEntry.id == entry_id)).first()
    if row is None:
        raise NotFound(f"no watchlist entry {entry_id}: list them with GET /v1/watchlist", "id")
    return _entry(row)


def create_entry(engine: Engine, key: str, params: KeyParams, actor: int | None) -> tuple[Entry, bool]:
    """Put ``key`` on the watchlist with ``params``; (the entry, whether it was new or reactivated).
    ``Conflict`` when it is already watched: change its parameters with ``update_entry`` instead."""
    try:
        normalised = parse_watch_key(key).key
    except ValueError as exc:
        raise InvalidField(str(exc), "key") from None
    check_for_key(normalised, params)
    now = dt.datetime.now(dt.UTC)
    with engine.begin() as conn:
        row = conn.execute(select(WatchlistEntry).where(WatchlistEntry.key == normalised)).first()
        if row is not None and row.active:
            raise Conflict(
                f"{normalised!r} is already on the watchlist (entry {row.id}): change its parameters with "
                f"PATCH /v1/watchlist/{row.id}",
                "key",
            )
        if row is None:
            conn.execute(
                WatchlistEntry.__table__.insert().values(
                    key=normalised, active=True, added_at=now, params=_stored(params)
                )
            )
        else:
            conn.execute(
                update(WatchlistEntry)
                .where(WatchlistEntry.id == row.id)
                .values(active=True, params=_stored(params))
            )
        find = select(WatchlistEntry.id).where(WatchlistEntry.key == normalised)
        entry_id = conn.execute(find).scalar_one()
        audit(conn, actor, "watchlist.add", f"watch:{normalised}", params.to_json() or None)
    return get_entry(engine, entry_id), row is None


def update_entry(engine: Engine, entry_id: int, params: KeyParams, actor: int | None) -> Entry:
    """Replace the parameters of a watchlist entry (active or not); the next partitions collected use them."""
    entry = get_entry(engine, entry_id)
    check_for_key(entry.key, params)
    with engine.begin() as conn:
        conn.execute(
            update(WatchlistEntry).where(WatchlistEntry.id == entry_id).values(params=_stored(params))
        )
        audit(conn, actor, "watchlist.update", f"watch:{entry.key}", params.to_json() or None)
    return dataclasses.replace(entry, params=params)


def remove_entry(engine: Engine, entry_id: int, actor: int | None) -> Entry:
    """Stop collecting an entry's key (its data stays in the lake; adding it again resumes it)."""
    entry = get_entry(engine, entry_id)
    with engine.begin() as conn:
        conn.execute(update(WatchlistEntry).where(WatchlistEntry.id == entry_id).values(active=False))
        audit(conn, actor, "watchlist.remove", f"watch:{entry.key}")
    return dataclasses.replace(entry, active=False)


def params_of(engine: Engine, key: str) -> KeyParams:
    """The collection parameters of ``key`` (the defaults for a key not on the watchlist: a task's)."""
    with read_only(engine) as conn:
        raw = conn.execute(select(WatchlistEntry.params).where(WatchlistEntry.key == key)).scalar()
    return _params(raw)


def _params(raw: str | None) -> KeyParams:
    return parse_params(json.loads(raw)) if raw else KeyParams()


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
