"""What a backfill of a watchlist key over a range of days will cost, measured before it is launched.

A backfill of years is thousands of (day, key) partitions and can take weeks of the account pool: the cost
should be known before the first run. The estimate is measured, not guessed:

1. The range's days are split into those already collected (``ops/coverage``: complete or truncated;
   skipped by the backfill) and those to fetch (missing or failed).
2. ``samples`` days (default 5) spread evenly over the days to fetch are collected for real, through
   ``scrape_partition``, with the key's budget and product: they become real partitions (raw pages and
   coverage; the backfill parses them into the cleaned tables without asking X again), not a wasted probe.
   Five, because the relative error of a mean of ``n`` days falls as ``1/sqrt(n)``: with days whose pages
   vary by a third around their mean, five days put the mean within about 15% (one standard error) at the
   cost of five partitions, and evenly spaced days of a long range fall on different weekdays and seasons
   (X's volume has both). A range of five days or fewer is collected whole: nothing is left to estimate.
3. Pages of the other days = the sample's mean pages per day × those days; the range given is the mean ± two
   standard errors of the sample (a single sampled day has no spread: the range is that one value), and
   never above the key's page budget × days (a budget caps every day).
4. Account-hours = pages ÷ the requests one account may send per hour of the operation that served most of
   the sample's pages (SearchTimeline for searches and older days of @accounts), as the pool learned it from
   X's headers (``core/pools/capacity.py``). Hours of the backfill = account-hours ÷ (usable accounts ×
   utilisation): the share of the pool's capacity runs really get. The pool does not record that share
   for past runs, so the estimate assumes ``utilisation`` (XGet's lease reached 0.9 of the capacity in
   ``bench/scrape.py``); once the backfill runs, its progress reports the utilisation it measures, and the
   ETA from it (``backfill_progress.py``).
"""

from __future__ import annotations

import datetime as dt
import math
import statistics
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass, field

from sqlalchemy import Engine

from xget_pipelines.core.errors import InvalidField
from xget_pipelines.core.lake import coverage
from xget_pipelines.core.lake.delta import Lake
from xget_pipelines.core.pools.capacity import Capacity, operation_capacity
from xget_pipelines.core.x import watch
from xget_pipelines.core.x.client import XClient
from xget_pipelines.core.x.outcome import COMPLETE, TRUNCATED
from xget_pipelines.core.x.scrape import scrape_partition

SAMPLE_DAYS = 5
MAX_DAYS = 20 * 366  # one key's backfill: at most twenty years of partitions
ESTIMATE_RUN_PREFIX = "backfill-estimate-"  # run id of the sample's partitions (ops/coverage run_id)
COLLECTED = (COMPLETE, TRUNCATED)


@dataclass(frozen=True)
class SampledDay:
    day: dt.date
    outcome: str  # complete | truncated | failed
    pages: int
    items: int


@dataclass
class Estimate:
    """The cost of backfilling ``key`` over since..until (module docstring). ``pages`` is what the
    backfill's runs will fetch (the days to fetch but the sampled ones), ``range_pages`` the whole range."""

    key: str
    since: dt.date
    until: dt.date
    budget: str
    product: str
    days: int  # in the range
    collected_days: int  # already collected before the estimate: skipped
    collected_pages: int
    sampled: list[SampledDay]
    days_to_fetch: int  # by the backfill's runs
    pages: int
    pages_low: int
    pages_high: int
    items: int
    operation: str
    capacity: Capacity
    utilisation: float
    account_hours: float
    hours: float | None  # None: no usable account
    eta: dt.datetime | None
    estimated_at: dt.datetime
    advice: list[str] = field(default_factory=list)
    # The backfill's plan (not served): days its runs collect, and days already in raw that only need parsing
    # into the cleaned tables (the sample's, and those of earlier estimates).
    fetch: list[dt.date] = field(default_factory=list, repr=False)
    parse: list[dt.date] = field(default_factory=list, repr=False)

    @property
    def sampled_pages(self) -> int:
        return sum(s.pages for s in self.sampled)

    @property
    def range_pages(self) -> int:
        return self.pages + self.sampled_pages + self.collected_pages

    def to_json(self) -> dict:
        """The stored and served form (dates as ISO strings)."""
        out = asdict(self)
        del out["fetch"], out["parse"]
        for name in ("since", "until", "eta", "estimated_at"):
            value = getattr(self, name)
            out[name] = value.isoformat() if value is not None else None
        out["sampled"] = [{**asdict(s), "day": s.day.isoformat()} for s in self.sampled]
        out["sampled_pages"], out["range_pages"] = self.sampled_pages, self.range_pages
        return out


def backfill_range(key: str, since: dt.date, until: dt.date, first_day: dt.date) -> watch.WatchKey:
    """Validate a backfill's key and range; InvalidField names what is wrong."""
    try:
        wk = watch.parse_watch_key(key)
    except ValueError as exc:
        raise InvalidField(str(exc), "key") from None
    if wk.kind in watch.FOLLOW_KINDS:
        raise InvalidField(
            f"{wk.key} is a snapshot of now: past days collect nothing, so there is nothing to backfill",
            "key",
        )
    if since > until:
        raise InvalidField(f"since ({since}) is after until ({until})", "since")
    if since < first_day:
        raise InvalidField(
            f"since {since} is before the first day of the partitions, {first_day}: set "
            "XGET_PARTITIONS_START_DATE earlier to reach further back",
            "since",
        )
    if until > dt.datetime.now(dt.UTC).date():
        raise InvalidField(f"until {until} is in the future: X has nothing to collect yet", "until")
    if (until - since).days + 1 > MAX_DAYS:
        raise InvalidField(f"a backfill covers at most {MAX_DAYS} days: split the range", "since")
    return wk


def days_between(since: dt.date, until: dt.date) -> list[dt.date]:
    return [since + dt.timedelta(days=i) for i in range((until - since).days + 1)]


def collected_days(
    lake: Lake, key: str, since: dt.date, until: dt.date
) -> dict[dt.date, coverage.CollectionOutcome]:
    """The days of the range ``ops/coverage`` says were collected (complete or truncated)."""
    return {
        row.day: row
        for row in coverage.read(lake, [key])
        if since <= row.day <= until and row.outcome in COLLECTED
    }


def sample_days(days: list[dt.date], samples: int) -> list[dt.date]:
    """``samples`` days spread evenly over ``days`` (the middle day of each of ``samples`` equal stretches):
    deterministic, so the same range samples the same days."""
    if len(days) <= samples:
        return list(days)
    return sorted({days[int((i + 0.5) * len(days) / samples)] for i in range(samples)})


def estimate(
    open_client: Callable[[], XClient],
    lake: Lake,
    engine: Engine,
    *,
    key: str,
    since: dt.date,
    until: dt.date,
    params: watch.KeyParams,
    first_day: dt.date,
    samples: int = SAMPLE_DAYS,
    utilisation: float = 0.9,
    max_pages: int = 50,
    page_size: int = 20,
    timeline_days: int = 2,
    now: float | None = None,
) -> Estimate:
    """Sample, extrapolate and price a backfill of ``key`` (module docstring). The sampled days are
    collected for real (run id ``backfill-estimate-<hex>``) with a client ``open_client()`` gives; the pool's
    capacity is read once that client is closed (it returns its accounts, with what X's headers taught them,
    when it closes). Raises InvalidField for a key or range that cannot be backfilled."""
    wk = backfill_range(key, since, until, first_day)
    if not 1 <= samples <= 50:
        raise InvalidField(f"samples {samples}: sample between 1 and 50 days", "samples")
    if not 0 < utilisation <= 1:
        raise InvalidField(
            f"utilisation {utilisation}: a share of the capacity, above 0 and at most 1", "utilisation"
        )
    days = days_between(since, until)
    done = collected_days(lake, wk.key, since, until)
    to_fetch = [d for d in days if d not in done]
    chosen = sample_days(to_fetch, samples)
    run_id = f"{ESTIMATE_RUN_PREFIX}{uuid.uuid4().hex[:12]}"
    sampled: list[SampledDay] = []
    operations: Counter = Counter()
    with open_client() as client:
        for day in chosen:
            result = scrape_partition(
                client,
                lake,
                engine,
                key=wk.key,
                day=day,
                run_id=run_id,
                max_pages=max_pages,
                page_size=page_size,
                timeline_days=timeline_days,
                params=params,
            )
            o = result.outcome
            sampled.append(SampledDay(day, o.outcome, o.pages, o.items))
            operations.update(result.operations)
    budget = params.budget_or(max_pages)
    rest = len(to_fetch) - len(sampled)
    pages, low, high = _extrapolate([s.pages for s in sampled], rest, budget.page_limit)
    items = round(statistics.fmean([s.items for s in sampled]) * rest) if sampled else 0
    operation = operations.most_common(1)[0][0] if operations else "SearchTimeline"
    capacity = operation_capacity(engine, operation, now)
    account_hours = pages / capacity.requests_per_account_hour
    hours = account_hours / (capacity.accounts * utilisation) if capacity.accounts else None
    at = dt.datetime.fromtimestamp(time.time() if now is None else now, dt.UTC)
    found = Estimate(
        key=wk.key,
        since=since,
        until=until,
        budget=str(budget),
        product=params.product,
        days=len(days),
        collected_days=len(done),
        collected_pages=sum(r.pages for r in done.values()),
        sampled=sampled,
        days_to_fetch=rest,
        pages=pages,
        pages_low=low,
        pages_high=high,
        items=items,
        operation=operation,
        capacity=capacity,
        utilisation=utilisation,
        account_hours=account_hours,
        hours=hours,
        eta=None if hours is None else at + dt.timedelta(hours=hours),
        estimated_at=at,
    )
    found.advice = advice(found)
    # A sampled day that failed is fetched again by the backfill; the others only need parsing.
    landed = {s.day for s in sampled if s.outcome in COLLECTED}
    found.fetch = [d for d in to_fetch if d not in landed]
    earlier = [d for d, row in done.items() if (row.run_id or "").startswith(ESTIMATE_RUN_PREFIX)]
    found.parse = sorted({*landed, *earlier})
    return found


def _extrapolate(pages: list[int], days: int, page_limit: int | None) -> tuple[int, int, int]:
    """(pages, low, high) of ``days`` more days from the sampled days' ``pages`` (module docstring)."""
    if not pages or days <= 0:
        return 0, 0, 0
    mean = statistics.fmean(pages)
    spread = 2 * statistics.stdev(pages) / math.sqrt(len(pages)) if len(pages) > 1 else 0.0
    cap = math.inf if page_limit is None else page_limit
    low, high = max(mean - spread, min(pages), 0), min(mean + spread, cap)
    return round(mean * days), math.floor(low * days), math.ceil(high * days)


def advice(e: Estimate) -> list[str]:
    """What would change the estimate, in words a user acts on."""
    notes: list[str] = []
    cap = e.capacity
    if e.days_to_fetch == 0:
        notes.append("nothing is left to fetch: every day of the range is collected or was sampled")
    if cap.accounts == 0:
        notes.append(
            f"no account can serve {cap.operation} now: import or re-login accounts (`xget accounts`), "
            "then estimate again"
        )
    elif e.hours:
        notes.append(
            f"{cap.accounts} usable accounts; with {cap.accounts * 2} it would take about "
            f"{e.hours / 2:.1f} h instead of {e.hours:.1f} h (the time falls with every account added)"
        )
    truncated = [s for s in e.sampled if s.outcome == TRUNCATED]
    if truncated and len(truncated) == len(e.sampled):
        notes.append(
            f"every sampled day stopped at the budget ({e.budget}): the days hold more than it; the estimate "
            "is the budget's cost, and a larger budget (`xget watch add KEY --budget ...`) costs more"
        )
    elif truncated:
        notes.append(f"{len(truncated)} of {len(e.sampled)} sampled days stopped at the budget ({e.budget})")
    failed = [s for s in e.sampled if s.outcome not in COLLECTED]
    if failed:
        notes.append(
            f"{len(failed)} sampled day(s) failed ({', '.join(str(s.day) for s in failed)}): the estimate "
            "counts what they stored; see `xget watch status`"
        )
    if not cap.learned:
        notes.append(
            f"the pool has not learned {cap.operation}'s limit from X yet: X's observed {cap.limit} requests "
            f"per {cap.window_s:.0f} s are assumed"
        )
    notes.append(
        "the x_api concurrency pool must let enough scrapes run at once (about one slot per 2-3 usable "
        "accounts) for the accounts, not the slots, to be the bound"
    )
    return notes
