"""``ops/coverage``: how the collection of every (watch_key, day) partition ended, and the coverage report.

One row per partition with its latest outcome (``core/x/outcome.py`` says what complete, truncated and
failed mean). Rows are MERGEd on (watch_key, day): a re-run updates its row and never adds a second one.
A row is replaced only by an outcome that finished at the same time or later, so a late writer never
puts an older outcome back. The table is small (one row per partition: under 100k) and not partitioned;
two runs merging at once conflict in Delta and ``Lake.merge`` retries the loser on a fresh snapshot, which
then matches the winner's row instead of inserting a second one. ``xget sql`` sees it as ``ops_coverage``.

The report (``coverage_report``) lays the rows over the days a user asks about: a day in the range
without a row is ``missing``. Without an explicit ``since`` a key's range is the last ``window_days``
days, but never before the key was first expected (the day it was added to the watchlist, less the days
the watchlist sensor backfills, or its first collected day if earlier): days nobody asked for are not
missing. An explicit ``since`` lists every day from it.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

import pyarrow as pa

from xget_pipelines.core.errors import InvalidField
from xget_pipelines.core.lake.delta import Lake
from xget_pipelines.core.x.outcome import CollectionOutcome

TABLE = "ops/coverage"
SCHEMA = pa.schema(
    [
        pa.field("watch_key", pa.string(), nullable=False),
        pa.field("day", pa.date32(), nullable=False),
        pa.field("outcome", pa.string(), nullable=False),  # complete | truncated | failed
        pa.field("reason", pa.string()),
        pa.field("pages", pa.int64(), nullable=False),
        pa.field("items", pa.int64(), nullable=False),
        pa.field("max_pages", pa.int64(), nullable=False),
        pa.field("session_id", pa.string()),
        pa.field("run_id", pa.string()),
        pa.field("resumed", pa.bool_(), nullable=False),
        pa.field("finished_at", pa.timestamp("us", tz="UTC"), nullable=False),
        # Added with key budgets: tables written before lack it until the first merge adds it (merge_schema)
        pa.field("budget", pa.string()),
    ]
)
MISSING = "missing"
MAX_DAYS = 366  # the longest range one report covers
FIRST_DAY, LAST_DAY = dt.date(2006, 3, 21), dt.date(2100, 12, 31)  # X's first tweet; far enough


def record(lake: Lake, outcomes: Iterable[CollectionOutcome]) -> int | None:
    """Insert or update the rows of ``outcomes`` by (watch_key, day); the table's new version."""
    latest: dict[tuple[str, dt.date], CollectionOutcome] = {}
    for o in outcomes:  # a source holding a key twice makes MERGE fail: the newest of each wins
        known = latest.get((o.watch_key, o.day))
        if known is None or o.finished_at >= known.finished_at:
            latest[(o.watch_key, o.day)] = o
    if not latest:
        return lake.version(TABLE)
    source = pa.Table.from_pylist([dataclasses.asdict(o) for o in latest.values()], SCHEMA)
    lake.merge(
        TABLE,
        source,
        "t.watch_key = s.watch_key AND t.day = s.day",
        lambda m: m.when_matched_update_all(
            predicate="s.finished_at >= t.finished_at"
        ).when_not_matched_insert_all(),
        schema=SCHEMA,
        streamed_exec=False,
        merge_schema=True,
    )
    return lake.version(TABLE)


def read(lake: Lake, keys: Iterable[str] | None = None) -> list[CollectionOutcome]:
    """The rows of ``keys`` (every row with None)."""
    wanted = None if keys is None else sorted(set(keys))
    if wanted is not None and not wanted:
        return []
    rows = lake.read(TABLE, None if wanted is None else {"watch_key": wanted})
    if rows is None:
        return []
    names = [f.name for f in dataclasses.fields(CollectionOutcome)]
    return [CollectionOutcome(**{n: row.get(n) for n in names}) for row in rows.to_pylist()]


# -- the report ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DayCoverage:
    """One (key, day) of a report: the partition's row, or ``missing`` with nothing else."""

    watch_key: str
    day: dt.date
    outcome: str  # complete | truncated | failed | missing
    pages: int | None = None
    items: int | None = None
    max_pages: int | None = None
    reason: str | None = None
    budget: str | None = None
    run_id: str | None = None
    session_id: str | None = None
    finished_at: dt.datetime | None = None


@dataclass
class CoverageTotals:
    """Days of each outcome, and the pages and items of those days, for one key (``*``: every key)."""

    watch_key: str
    days: int = 0
    complete: int = 0
    truncated: int = 0
    failed: int = 0
    missing: int = 0
    pages: int = 0
    items: int = 0

    def add(self, day: DayCoverage) -> None:
        self.days += 1
        setattr(self, day.outcome, getattr(self, day.outcome) + 1)
        self.pages += day.pages or 0
        self.items += day.items or 0


@dataclass
class CoverageReport:
    until: dt.date
    days: list[DayCoverage] = field(default_factory=list)
    totals: list[CoverageTotals] = field(default_factory=list)  # per key, in the order asked
    total: CoverageTotals = field(default_factory=lambda: CoverageTotals("*"))


def coverage_report(
    lake: Lake,
    keys: Mapping[str, dt.date | None],
    *,
    until: dt.date,
    since: dt.date | None = None,
    window_days: int = 14,
    earliest: dt.date | None = None,
) -> CoverageReport:
    """Coverage of ``keys`` (key -> the first day it was expected, None if unknown) per day up to ``until``.

    ``since``: the first day for every key (default: see the module docstring); ``earliest``: no day
    before it is listed (the first day of the daily partitions). Raises ``InvalidField`` for a range that
    is empty, longer than ``MAX_DAYS`` or outside the years X has existed.
    """
    for name, value in (("since", since), ("until", until)):
        if value is not None and not FIRST_DAY <= value <= LAST_DAY:
            raise InvalidField(f"{name} {value} is outside {FIRST_DAY}..{LAST_DAY}", name)
    if since is not None and since > until:
        raise InvalidField(f"since ({since}) is after until ({until})", "since")
    if since is not None and (until - since).days >= MAX_DAYS:
        raise InvalidField(f"a coverage report spans at most {MAX_DAYS} days", "since")
    by_key: dict[str, dict[dt.date, CollectionOutcome]] = {k: {} for k in keys}
    for row in read(lake, keys):
        by_key[row.watch_key][row.day] = row
    report = CoverageReport(until)
    for key, expected in keys.items():
        rows = by_key[key]
        first = since or _default_first(until, window_days, expected, min(rows, default=None))
        if earliest is not None:
            first = max(first, earliest)
        totals = CoverageTotals(key)
        for offset in range((until - first).days + 1):
            day = first + dt.timedelta(days=offset)
            row = rows.get(day)
            entry = (
                DayCoverage(key, day, MISSING)
                if row is None
                else DayCoverage(
                    key,
                    day,
                    row.outcome,
                    row.pages,
                    row.items,
                    row.max_pages,
                    row.reason,
                    row.budget or f"{row.max_pages} pages",
                    row.run_id,
                    row.session_id,
                    row.finished_at,
                )
            )
            report.days.append(entry)
            totals.add(entry)
            report.total.add(entry)
        report.totals.append(totals)
    return report


def _default_first(
    until: dt.date, window_days: int, expected: dt.date | None, first_row: dt.date | None
) -> dt.date:
    window = until - dt.timedelta(days=max(window_days, 1) - 1)
    known = [d for d in (expected, first_row) if d is not None]
    return max(window, min(known)) if known else window
