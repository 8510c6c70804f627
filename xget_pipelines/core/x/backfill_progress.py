"""Where a running backfill stands: days and pages fetched so far against the estimate, and when it will end.

Read from ``ops/coverage``, the one record of every partition's collection: a day of the backfill's plan is
done once its row finished after the backfill was created (an older row is the missing or failed day the
backfill was made for). The throughput is measured, not assumed: pages fetched ÷ hours since the backfill was
created, and the utilisation it implies (that throughput ÷ the pool's capacity the estimate saw). The ETA is
the pages left (the pages per day fetched so far, or the estimate's until five days are in, × the days left)
at the measured throughput; before any page is in, at the estimate's.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from xget_pipelines.core.lake import coverage
from xget_pipelines.core.lake.delta import Lake
from xget_pipelines.core.x.outcome import FAILED

MEASURED_AFTER_DAYS = 5  # days fetched before their pages per day replace the estimate's


@dataclass(frozen=True)
class BackfillProgress:
    days: int  # the backfill's days to fetch
    days_done: int  # of them, collected (complete or truncated) since the backfill began
    days_failed: int
    pages: int  # fetched by the backfill's runs so far
    estimated_pages: int
    share_of_estimate: float | None  # pages / estimated_pages
    pages_per_hour: float | None  # measured since the backfill was created
    utilisation: float | None  # pages_per_hour / the pool's capacity in the estimate
    pages_left: int
    eta: dt.datetime | None

    def as_dict(self) -> dict:
        out = dict(self.__dict__)
        out["eta"] = None if self.eta is None else self.eta.isoformat()
        return out


def backfill_progress(
    lake: Lake,
    key: str,
    fetch: list[dt.date],
    estimate: dict,
    created_at: dt.datetime,
    now: dt.datetime | None = None,
) -> BackfillProgress:
    """Progress of the backfill of ``key`` whose runs fetch the days ``fetch`` (module docstring)."""
    now = now or dt.datetime.now(dt.UTC)
    wanted = set(fetch)
    rows = [r for r in coverage.read(lake, [key]) if r.day in wanted and r.finished_at >= created_at]
    done = [r for r in rows if r.outcome != FAILED]
    pages = sum(r.pages for r in rows)
    estimated = int(estimate.get("pages") or 0)
    hours = max((now - created_at).total_seconds() / 3600, 1e-9)
    rate = pages / hours if pages else None
    capacity = estimate.get("capacity") or {}
    full = capacity.get("accounts", 0) * capacity.get("limit", 0) * 3600 / (capacity.get("window_s") or 900)
    left_days = len(wanted) - len(done)
    if len(done) >= MEASURED_AFTER_DAYS:
        per_day = sum(r.pages for r in done) / len(done)
    else:
        per_day = estimated / len(wanted) if wanted else 0
    pages_left = round(per_day * left_days)
    speed = rate or full * float(estimate.get("utilisation") or 0.9)
    eta = now + dt.timedelta(hours=pages_left / speed) if speed else None
    return BackfillProgress(
        days=len(wanted),
        days_done=len(done),
        days_failed=len(rows) - len(done),
        pages=pages,
        estimated_pages=estimated,
        share_of_estimate=round(pages / estimated, 4) if estimated else None,
        pages_per_hour=None if rate is None else round(rate, 1),
        utilisation=round(rate / full, 4) if rate and full else None,
        pages_left=pages_left,
        eta=eta,
    )
