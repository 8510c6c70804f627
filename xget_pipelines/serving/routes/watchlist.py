"""The watchlist: its keys with their collection parameters, and how completely each key's days were
collected (``ops/coverage``).

Reading either needs ``data:read`` (every role): what is collected, and whether a day is complete, are part
of reading the data. Changing the watchlist needs ``watchlist:write`` (operators): every key spends the
shared account pool every day. The same as ``xget watch add|list|remove|status``; GraphQL's ``watchlist``
query and ``addWatchKey``/``updateWatchKey``/``removeWatchKey`` mutations call the same functions with the
same permissions. Every change is audited (``watchlist.add``, ``.update``, ``.remove``).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Path, Query, Request
from pydantic import BaseModel, Field, StringConstraints
from starlette.concurrency import run_in_threadpool

from xget_pipelines.core.auth.permissions import Permission
from xget_pipelines.core.auth.users import Principal
from xget_pipelines.core.db.watchlist import (
    Entry,
    create_entry,
    entries,
    expected_from,
    get_entry,
    remove_entry,
    update_entry,
)
from xget_pipelines.core.lake.coverage import coverage_report
from xget_pipelines.core.x.watch import KeyParams, parse_params
from xget_pipelines.serving.deps import require
from xget_pipelines.serving.errors import ERROR_RESPONSES
from xget_pipelines.serving.state import state

router = APIRouter(tags=["watchlist"], responses=ERROR_RESPONSES)
read_dep = require(Permission.DATA_READ)
write_dep = require(Permission.WATCHLIST_WRITE)
EntryId = Path(..., ge=1, le=2**31 - 1, description="The entry's id (GET /v1/watchlist)")


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


# -- the keys (after /watchlist/coverage: "coverage" is not an entry id) --------------------------------


class WatchParamsIn(BaseModel):
    budget: str | int | None = Field(
        default=None,
        description="How much of each day: 'all', pages ('50', '50 pages') or items ('2000 items'); "
        "default: XGET_X_MAX_PAGES_PER_PARTITION pages",
    )
    product: str | None = Field(default=None, description="Search tab: Latest (default) or Top")
    expand: list[Annotated[str, StringConstraints(max_length=40)]] | None = Field(
        default=None,
        max_length=8,
        description="What else to collect around each day's tweets: 'conversations:N' (reply trees of tweets "
        "with N+ replies), 'quotes', 'retweeters:N' (of tweets with N+ retweets), 'media' (an @account's "
        "media tab); each with a budget equal to the key's",
    )

    def params(self) -> KeyParams:
        return parse_params(self.model_dump(include={"budget", "product", "expand"}, exclude_none=True))


class WatchKeyIn(WatchParamsIn):
    key: Annotated[str, StringConstraints(min_length=1, max_length=256)] = Field(
        description="A search (any X search expression) or an @handle"
    )


class WatchEntryOut(BaseModel):
    id: int
    key: str
    kind: str = Field(description="search or account")
    active: bool
    added_at: dt.datetime
    budget: str = Field(description="The budget each day gets: '50 pages', '2000 items' or 'all'")
    budget_is_default: bool = Field(description="No budget of its own: XGET_X_MAX_PAGES_PER_PARTITION")
    product: str
    expand: list[str] = Field(description="The key's expansions, e.g. ['conversations:5', 'media']")


class WatchList(BaseModel):
    items: list[WatchEntryOut]


def _out(request: Request, entry: Entry) -> WatchEntryOut:
    default_pages = state(request).settings.x_max_pages_per_partition
    return WatchEntryOut(
        id=entry.id,
        key=entry.key,
        kind=entry.kind,
        active=entry.active,
        added_at=entry.added_at,
        budget=str(entry.params.budget_or(default_pages)),
        budget_is_default=entry.params.budget is None,
        product=entry.params.product,
        expand=[str(e) for e in entry.params.expand],
    )


@router.get("/watchlist", response_model=WatchList, summary="The watchlist's keys with their parameters")
async def list_watchlist(
    request: Request,
    include_inactive: bool = Query(False, description="Also keys no longer collected (their data stays)"),
    _: Principal = Depends(read_dep),
) -> WatchList:
    found = await run_in_threadpool(entries, state(request).engine, not include_inactive)
    return WatchList(items=[_out(request, e) for e in found])


@router.post(
    "/watchlist",
    status_code=201,
    response_model=WatchEntryOut,
    summary="Watch a key (a search or an @handle) with its budget, product and expansions; the watchlist "
    "sensor collects its last days, the schedules every new day",
)
async def add_watch_key(
    request: Request, body: WatchKeyIn, principal: Principal = Depends(write_dep)
) -> WatchEntryOut:
    params = body.params()
    entry, _ = await run_in_threadpool(
        create_entry, state(request).engine, body.key, params, principal.user_id
    )
    return _out(request, entry)


@router.get("/watchlist/{entry_id:int}", response_model=WatchEntryOut, summary="One watchlist entry")
async def get_watch_key(
    request: Request, entry_id: int = EntryId, _: Principal = Depends(read_dep)
) -> WatchEntryOut:
    return _out(request, await run_in_threadpool(get_entry, state(request).engine, entry_id))


@router.patch(
    "/watchlist/{entry_id:int}",
    response_model=WatchEntryOut,
    summary="Replace a key's parameters (omitted ones go back to their defaults); its next partitions use "
    "them",
)
async def update_watch_key(
    request: Request, body: WatchParamsIn, entry_id: int = EntryId, principal: Principal = Depends(write_dep)
) -> WatchEntryOut:
    params = body.params()
    entry = await run_in_threadpool(update_entry, state(request).engine, entry_id, params, principal.user_id)
    return _out(request, entry)


@router.delete(
    "/watchlist/{entry_id:int}",
    response_model=WatchEntryOut,
    summary="Stop collecting a key; its data stays in the lake, and adding it again resumes it",
)
async def remove_watch_key(
    request: Request, entry_id: int = EntryId, principal: Principal = Depends(write_dep)
) -> WatchEntryOut:
    entry = await run_in_threadpool(remove_entry, state(request).engine, entry_id, principal.user_id)
    return _out(request, entry)
