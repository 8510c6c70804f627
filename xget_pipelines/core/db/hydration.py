"""The tweet ids of hydration datasets in the control plane: the input of HYDRATE tasks.

Why here and not in the lake: a task and its ids are written in one transaction (``TaskStore.create``), so
a task never exists without its ids and a refused or failed request leaves none behind; the API writes to
the control plane only, and the ``x_hydrate`` run reads it through the control-plane resource like the
task sensor does. What X said about each id is data, and goes to the lake (``ops/hydration``,
``core/x/hydrate_status.py``).

A dataset's ids are a set kept in the order they were handed in: adding ids the dataset already has adds
nothing (the primary key is (dataset, tweet_id)), so re-creating a task with the same dataset neither loses
nor doubles an id, and its run skips the ids that already have a status. The ids stay when a task is
deleted: they are the dataset's, and its statuses in the lake refer to them.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Connection, Engine, func, insert, select

from xget_pipelines.core.db.engine import read_only
from xget_pipelines.core.db.models import HydrationId

_CHUNK = 500  # ids a statement: under SQLite's bound-parameter limit with room to spare


def add_ids(conn: Connection, dataset: str, ids: list[int], task_id: str | None, now: dt.datetime) -> int:
    """Append the ids of ``ids`` (distinct) the dataset does not hold yet, after its last; how many were new.

    Inside the caller's transaction: a concurrent request adding to the same dataset makes one of the two
    fail on the keys (nothing of it is kept), never a duplicate."""
    known: set[int] = set()
    for start in range(0, len(ids), _CHUNK):
        chunk = ids[start : start + _CHUNK]
        known.update(
            conn.execute(
                select(HydrationId.tweet_id).where(
                    HydrationId.dataset == dataset, HydrationId.tweet_id.in_(chunk)
                )
            ).scalars()
        )
    last = conn.execute(select(func.max(HydrationId.seq)).where(HydrationId.dataset == dataset)).scalar()
    new = [tid for tid in ids if tid not in known]
    rows = [
        {"dataset": dataset, "tweet_id": tid, "seq": (last or 0) + n, "task_id": task_id, "added_at": now}
        for n, tid in enumerate(new, start=1)
    ]
    for start in range(0, len(rows), _CHUNK * 10):
        conn.execute(insert(HydrationId), rows[start : start + _CHUNK * 10])
    return len(new)


def dataset_ids(engine: Engine, dataset: str) -> list[int]:
    """The dataset's ids in the order they were handed in."""
    with read_only(engine) as conn:
        return list(
            conn.execute(
                select(HydrationId.tweet_id).where(HydrationId.dataset == dataset).order_by(HydrationId.seq)
            ).scalars()
        )


def count(conn: Connection, dataset: str) -> int:
    return conn.execute(
        select(func.count()).select_from(HydrationId).where(HydrationId.dataset == dataset)
    ).scalar_one()
