"""Backfills of a watchlist key over a range of days: the estimate first, then the launch, then the progress.

``POST /v1/watchlist/backfills`` needs ``watchlist:write`` (operators), like changing the watchlist: a
backfill of years spends the shared account pool for days or weeks. It estimates first
(``core/x/backfill.py``: a few days of the range are collected for real through the pool, so the request
takes as long as those partitions take: seconds against the emulator, up to minutes on a busy pool); with
``dry_run: true`` it stops there, otherwise the backfill is created and the backfill sensor launches its
runs. ``GET /v1/watchlist/backfills/{id}`` needs ``data:read``: where it stands, from ``ops/coverage``,
with the ETA at the throughput measured so far. ``POST /v1/watchlist/backfills/{id}/cancel`` needs
``watchlist:write``, like starting one: a RUNNING backfill becomes CANCELING (the sensor cancels its runs,
then CANCELED); a finished one is a 409 naming its state. The same as ``xget watch backfill``,
``xget watch backfill-status`` and ``xget watch backfill-cancel``; creating and canceling one are audited
(``watchlist.backfill``, ``watchlist.backfill_cancel``). GraphQL's ``startBackfill``, ``backfill`` and
``cancelBackfill`` call ``start_backfill``, ``read_backfill`` and ``cancel_backfill`` below, with these
models' checks.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request, Response
from pydantic import BaseModel, Field, StringConstraints
from starlette.concurrency import run_in_threadpool

from xget_pipelines import watch_backfill
from xget_pipelines.core.auth.permissions import Permission
from xget_pipelines.core.auth.users import Principal
from xget_pipelines.core.db import backfills
from xget_pipelines.core.errors import InvalidField, NoAccountAvailable, Unavailable, XRequestError
from xget_pipelines.core.secrets import SecretKeyError
from xget_pipelines.core.x.backfill import Estimate
from xget_pipelines.core.x.backfill_progress import backfill_progress
from xget_pipelines.core.x.breaker import CircuitOpen
from xget_pipelines.serving.deps import require
from xget_pipelines.serving.errors import ERROR_RESPONSES
from xget_pipelines.serving.state import ServingState, state

router = APIRouter(tags=["watchlist"], responses=ERROR_RESPONSES)
read_dep = require(Permission.DATA_READ)
write_dep = require(Permission.WATCHLIST_WRITE)
BackfillId = Path(
    ..., ge=1, le=2**31 - 1, description="The backfill's id (from POST /v1/watchlist/backfills)"
)


class BackfillIn(BaseModel):
    key: Annotated[str, StringConstraints(min_length=1, max_length=256)] = Field(
        description="A key on the watchlist (its budget and product apply)"
    )
    since: dt.date = Field(description="First day")
    until: dt.date | None = Field(default=None, description="Last day (default: yesterday, UTC)")
    samples: int | None = Field(
        default=None,
        ge=1,
        le=50,
        description="Days sampled for the estimate (default XGET_BACKFILL_SAMPLE_DAYS)",
    )
    dry_run: bool = Field(default=False, description="Only the estimate: launch nothing")


class SampledDayOut(BaseModel):
    day: dt.date
    outcome: str
    pages: int
    items: int


class CapacityOut(BaseModel):
    operation: str
    accounts: int = Field(description="Usable accounts for the operation now")
    limit: int = Field(description="Requests per window per account")
    window_s: float
    learned: bool = Field(description="Limit and window learned from X's headers (else X's observed figures)")


class EstimateOut(BaseModel):
    key: str
    since: dt.date
    until: dt.date
    budget: str
    product: str
    days: int = Field(description="Days in the range")
    collected_days: int = Field(description="Already collected: skipped")
    collected_pages: int
    sampled: list[SampledDayOut] = Field(description="Days collected now for the estimate (real partitions)")
    sampled_pages: int
    days_to_fetch: int = Field(description="Days the backfill's runs collect")
    pages: int = Field(description="Pages those runs are estimated to fetch")
    pages_low: int
    pages_high: int
    range_pages: int = Field(description="Pages of the whole range: collected, sampled and estimated")
    items: int
    operation: str
    capacity: CapacityOut
    utilisation: float = Field(description="Share of the pool's capacity assumed")
    account_hours: float
    hours: float | None = Field(description="Hours the backfill takes; null: no usable account")
    eta: dt.datetime | None
    estimated_at: dt.datetime
    advice: list[str] = Field(description="What would change the estimate")


class ProgressOut(BaseModel):
    days: int
    days_done: int
    days_failed: int
    pages: int = Field(description="Pages fetched by the backfill's runs so far")
    estimated_pages: int
    share_of_estimate: float | None
    pages_per_hour: float | None = Field(description="Measured since the backfill was created")
    utilisation: float | None = Field(description="Measured: pages per hour / the pool's capacity")
    pages_left: int
    eta: dt.datetime | None


class BackfillOut(BaseModel):
    id: int | None = Field(description="null for a dry run")
    status: str = Field(description="DRY_RUN, RUNNING, COMPLETED, FAILED, CANCELING or CANCELED")
    key: str
    since: dt.date
    until: dt.date
    runs: dict[str, int] = Field(default_factory=dict, description="The backfill's runs per state")
    error: str | None = None
    created_at: dt.datetime | None = None
    finished_at: dt.datetime | None = None
    estimate: EstimateOut
    progress: ProgressOut | None = None


def estimate(st: ServingState, body: BackfillIn) -> Estimate:
    """The estimate of ``body``'s backfill, its errors as the API answers them."""
    try:
        return watch_backfill.estimate(
            st.settings, st.engine, st.lake, body.key, body.since, body.until, body.samples
        )
    except LookupError as exc:  # X has no such account, list or community
        raise InvalidField(str(exc), "key") from exc
    except (NoAccountAvailable, XRequestError, CircuitOpen, SecretKeyError) as exc:
        raise Unavailable(f"the estimate could not sample X: {exc}") from exc


def start_backfill(st: ServingState, body: BackfillIn, actor: int | None) -> BackfillOut:
    """Estimate ``body``'s backfill, then create it unless a dry run (status DRY_RUN, no id). This route and
    GraphQL's ``startBackfill`` both call it: one behaviour, one audit."""
    found = estimate(st, body)
    if body.dry_run:
        return BackfillOut(
            id=None,
            status="DRY_RUN",
            key=found.key,
            since=found.since,
            until=found.until,
            estimate=found.to_json(),
        )
    return backfill_out(st, backfills.create(st.engine, found, actor))


def backfill_out(st: ServingState, b: backfills.Backfill) -> BackfillOut:
    """A stored backfill as served, with its progress read from ``ops/coverage`` now."""
    progress = backfill_progress(st.lake, b.watch_key, b.fetch, b.estimate, b.created_at)
    return BackfillOut(
        id=b.id,
        status=b.status,
        key=b.watch_key,
        since=b.since,
        until=b.until,
        runs=b.runs,
        error=b.error,
        created_at=b.created_at,
        finished_at=b.finished_at,
        estimate=b.estimate,
        progress=dataclasses.asdict(progress),
    )


def read_backfill(st: ServingState, backfill_id: int) -> BackfillOut:
    """Backfill ``backfill_id`` as served (NotFound if none): this route and GraphQL's ``backfill``."""
    return backfill_out(st, backfills.get(st.engine, backfill_id))


def cancel_backfill(st: ServingState, backfill_id: int, actor: int | None) -> BackfillOut:
    """Cancel backfill ``backfill_id`` (CANCELING; NotFound, or Conflict if finished): this route and
    GraphQL's ``cancelBackfill``."""
    return backfill_out(st, backfills.cancel(st.engine, backfill_id, actor))


@router.post(
    "/watchlist/backfills",
    status_code=201,
    response_model=BackfillOut,
    summary="Estimate a backfill of a watched key (pages, account-hours, ETA; a few days are collected to "
    "measure it), then launch it unless dry_run",
)
async def create_backfill(
    request: Request, body: BackfillIn, response: Response, principal: Principal = Depends(write_dep)
) -> BackfillOut:
    out = await run_in_threadpool(start_backfill, state(request), body, principal.user_id)
    if out.id is None:  # a dry run: nothing created
        response.status_code = 200
    return out


@router.get(
    "/watchlist/backfills/{backfill_id:int}",
    response_model=BackfillOut,
    summary="A backfill: its estimate, its runs, pages fetched so far against the estimate, and its ETA",
)
async def get_backfill(
    request: Request, backfill_id: int = BackfillId, _: Principal = Depends(read_dep)
) -> BackfillOut:
    return await run_in_threadpool(read_backfill, state(request), backfill_id)


@router.post(
    "/watchlist/backfills/{backfill_id:int}/cancel",
    response_model=BackfillOut,
    summary="Cancel a running backfill: no more runs are launched, its unfinished runs are canceled "
    "(CANCELING, then CANCELED); the days already collected stay",
)
async def cancel_backfill_route(
    request: Request, backfill_id: int = BackfillId, principal: Principal = Depends(write_dep)
) -> BackfillOut:
    return await run_in_threadpool(cancel_backfill, state(request), backfill_id, principal.user_id)
