"""Backfills of watchlist keys in the control plane: created with their estimate (``core/x/backfill.py``) by
``xget watch backfill`` or ``POST /v1/watchlist/backfills``, then driven by the backfill sensor, which
launches their runs and records here where the runs stand.

States: ``RUNNING`` (the sensor launches and follows its runs), then ``COMPLETED`` (every day's run
succeeded) or ``FAILED`` (some did: ``error`` names them; run the backfill again to retry only those days,
the collected ones are skipped). ``cancel`` (``xget watch backfill-cancel``,
``POST /v1/watchlist/backfills/{id}/cancel``) turns a RUNNING backfill ``CANCELING``: the sensor launches
nothing more for it, cancels its unfinished runs and, once none is left running, makes it ``CANCELED``
(``error`` says who canceled it, when, and how many days were done; the days collected stay in the lake, and
a new backfill of the range fetches only the others).

The sensor's updates are guarded (``record(..., expect=state)``): a tick that read a backfill RUNNING never
overwrites a cancel made while it ran.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sqlalchemy import Engine, insert, select, update

from xget_pipelines.core.auth.users import audit
from xget_pipelines.core.db.engine import read_only
from xget_pipelines.core.db.models import User, WatchBackfill
from xget_pipelines.core.errors import Conflict, NotFound
from xget_pipelines.core.x.backfill import Estimate

RUNNING, COMPLETED, FAILED = "RUNNING", "COMPLETED", "FAILED"
CANCELING, CANCELED = "CANCELING", "CANCELED"
FINISHED = (COMPLETED, FAILED, CANCELED)


@dataclass(frozen=True)
class Backfill:
    id: int
    watch_key: str
    since: dt.date
    until: dt.date
    status: str
    estimate: dict  # Estimate.to_json()
    fetch: list[dt.date]  # days its runs collect from X
    parse: list[dt.date]  # days already in raw (sampled by an estimate): parsed only, no X request
    created_at: dt.datetime
    runs: dict = field(default_factory=dict)  # run states counted by the sensor's last tick
    error: str | None = None
    created_by: int | None = None
    finished_at: dt.datetime | None = None

    @property
    def days(self) -> list[dt.date]:
        return sorted({*self.fetch, *self.parse})


def create(engine: Engine, estimate: Estimate, actor: int | None) -> Backfill:
    """Store a backfill of ``estimate``'s key and plan, RUNNING: the sensor launches it at its next tick."""
    now = dt.datetime.now(dt.UTC)
    plan = {
        "fetch": [d.isoformat() for d in estimate.fetch],
        "parse": [d.isoformat() for d in estimate.parse],
    }
    with engine.begin() as conn:
        backfill_id = conn.execute(
            insert(WatchBackfill)
            .values(
                watch_key=estimate.key,
                since=estimate.since,
                until=estimate.until,
                status=RUNNING,
                estimate=estimate.to_json(),
                plan=plan,
                runs={},
                created_by=actor,
                created_at=now,
                updated_at=now,
            )
            .returning(WatchBackfill.id)
        ).scalar_one()
        detail = {"since": estimate.since.isoformat(), "until": estimate.until.isoformat(), "id": backfill_id}
        audit(conn, actor, "watchlist.backfill", f"watch:{estimate.key}", detail)
    return get(engine, backfill_id)


def get(engine: Engine, backfill_id: int) -> Backfill:
    with read_only(engine) as conn:
        return _backfill(_row(conn, backfill_id))


def _row(conn, backfill_id: int):
    row = conn.execute(select(WatchBackfill).where(WatchBackfill.id == backfill_id)).first()
    if row is None:
        raise NotFound(
            f"no backfill {backfill_id}: start one with `xget watch backfill KEY --since DAY`", "id"
        )
    return row


def cancel(engine: Engine, backfill_id: int, actor: int | None) -> Backfill:
    """Stop a RUNNING backfill: it becomes CANCELING, and the sensor's next tick cancels its runs (then
    CANCELED). Canceling a CANCELING one again changes nothing; a finished one is a ``Conflict`` naming its
    state. ``error`` keeps who canceled it and when (the sensor adds the days done)."""
    now = dt.datetime.now(dt.UTC)
    with engine.begin() as conn:
        row = _row(conn, backfill_id)
        if row.status == CANCELING:
            return _backfill(row)
        stamp = f"canceled by {_who(conn, actor)} at {now.isoformat(timespec='seconds')}"
        changed = conn.execute(
            update(WatchBackfill)
            .where(WatchBackfill.id == backfill_id, WatchBackfill.status == RUNNING)
            .values(status=CANCELING, error=stamp, updated_at=now)
        ).rowcount
        if not changed:  # finished (or finishing at this very moment): nothing left to cancel
            status = conn.execute(
                select(WatchBackfill.status).where(WatchBackfill.id == backfill_id)
            ).scalar_one()
            raise Conflict(
                f"backfill {backfill_id} is {status}: only a RUNNING backfill can be canceled; to collect "
                "days it missed, start a new backfill of the range (collected days are skipped)",
                "status",
            )
        detail = {"id": backfill_id, "since": row.since.isoformat(), "until": row.until.isoformat()}
        audit(conn, actor, "watchlist.backfill_cancel", f"watch:{row.watch_key}", detail)
    return get(engine, backfill_id)


def _who(conn, actor: int | None) -> str:
    if actor is None:
        return "the command line"
    name = conn.execute(select(User.username).where(User.id == actor)).scalar_one_or_none()
    return name or f"user {actor}"


def latest(engine: Engine, key: str | None = None) -> Backfill | None:
    """The newest backfill (of ``key``), or None."""
    query = select(WatchBackfill).order_by(WatchBackfill.id.desc()).limit(1)
    if key is not None:
        query = query.where(WatchBackfill.watch_key == key)
    with read_only(engine) as conn:
        row = conn.execute(query).first()
    return None if row is None else _backfill(row)


def active(engine: Engine) -> list[Backfill]:
    """The backfills the sensor follows: RUNNING and CANCELING ones, oldest first."""
    with read_only(engine) as conn:
        rows = conn.execute(
            select(WatchBackfill)
            .where(WatchBackfill.status.in_([RUNNING, CANCELING]))
            .order_by(WatchBackfill.id)
        ).all()
    return [_backfill(r) for r in rows]


def record(engine: Engine, backfill_id: int, *, expect: str, **values) -> bool:
    """Update a backfill's ``runs``, ``status``, ``error`` or ``finished_at``, only if it is still in state
    ``expect`` (a user may have canceled it since the sensor read it); returns whether it was updated."""
    with engine.begin() as conn:
        return (
            conn.execute(
                update(WatchBackfill)
                .where(WatchBackfill.id == backfill_id, WatchBackfill.status == expect)
                .values(**values, updated_at=dt.datetime.now(dt.UTC))
            ).rowcount
            > 0
        )


def _backfill(row) -> Backfill:
    plan = row.plan or {}
    return Backfill(
        id=row.id,
        watch_key=row.watch_key,
        since=row.since,
        until=row.until,
        status=row.status,
        estimate=row.estimate,
        fetch=[dt.date.fromisoformat(d) for d in plan.get("fetch", [])],
        parse=[dt.date.fromisoformat(d) for d in plan.get("parse", [])],
        created_at=_utc(row.created_at),
        runs=row.runs or {},
        error=row.error,
        created_by=row.created_by,
        finished_at=None if row.finished_at is None else _utc(row.finished_at),
    )


def _utc(value: dt.datetime) -> dt.datetime:
    """SQLite hands back naive times; every time XGet stores is UTC."""
    return value if value.tzinfo is not None else value.replace(tzinfo=dt.UTC)
