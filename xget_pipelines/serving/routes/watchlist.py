"""The watchlist's coverage: how completely each key's days were collected (``ops/coverage``).

Reading it needs ``data:read`` (every role): whether a day is complete is part of reading that day's data.
The same report as ``xget watch status``: complete, truncated, failed or missing per key and day, and the
totals.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, StringConstraints
from starlette.concurrency import run_in_threadpool

from xget_pipelines.core.auth.permissions import Permission
from xget_pipelines.core.auth.users import Principal
from xget_pipelines.core.db.watchlist import expected_from
from xget_pipelines.core.lake.coverage import coverage_report
from xget_pipelines.serving.deps import require
from xget_pipelines.serving.errors import ERROR_RESPONSES
from xget_pipelines.serving.state import state

router = APIRouter(tags=["watchlist"], responses=ERROR_RESPONSES)
read_dep = require(Permission.DATA_READ)


class CoverageDay(BaseModel):
    watch_key: str
    day: dt.date
    outcome: Literal["complete", "truncated", "failed", "missing"]
    pages: int | None = None  # pages the partition's collection stored, over every run of its session
    items: int | None = None  # distinct tweets of the day that landed
    max_pages: int | None = None  # the pages the day's timeline was allowed (0: no page bound)
    reason: str | None = None
    budget: str | None = None  # the key's budget: "50 pages", "2000 items" or "all"
    run_id: str | None = None
    session_id: str | None = None
    finished_at: dt.datetime | None = None


class CoverageTotals(BaseModel):
    watch_key: str  # "*": every key of the report
    days: int
    complete: int
    truncated: int
    failed: int
    missing: int
    pages: int
    items: int


class Coverage(BaseModel):
    until: dt.date
    days: list[CoverageDay]
    totals: list[CoverageTotals]
    total: CoverageTotals


@router.get(
    "/watchlist/coverage",
    response_model=Coverage,
    summary="Coverage per watchlist key and day: complete, truncated (cut at the page budget), failed or "
    "missing, with pages, items and totals",
)
async def coverage(
    request: Request,
    key: list[Annotated[str, StringConstraints(max_length=256)]] | None = Query(
        None,
        max_length=100,
        description="Only these keys (repeat key=, at most 100); default: the active watchlist",
    ),
    since: dt.date | None = Query(
        None,
        description="First day, every day from it listed (default: the last 14 days, from when each key was "
        "added)",
    ),
    until: dt.date | None = Query(None, description="Last day (default: today, UTC)"),
    _: Principal = Depends(read_dep),
) -> Coverage:
    st = state(request)

    def report():
        expected = expected_from(st.engine, key, st.settings.watch_backfill_days)
        return coverage_report(
            st.lake,
            expected,
            until=until or dt.datetime.now(dt.UTC).date(),
            since=since,
            earliest=dt.date.fromisoformat(st.settings.partitions_start_date),
        )

    found = await run_in_threadpool(report)
    return Coverage(
        until=found.until,
        days=[CoverageDay(**dataclasses.asdict(d)) for d in found.days],
        totals=[CoverageTotals(**dataclasses.asdict(t)) for t in found.totals],
        total=CoverageTotals(**dataclasses.asdict(found.total)),
    )
