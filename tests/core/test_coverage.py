"""``ops/coverage``: one row per (key, day) whatever the writers do, and the report over days."""

from __future__ import annotations

import datetime as dt
import multiprocessing as mp
import os
import time
from pathlib import Path

import pytest

from xget_pipelines.core.errors import InvalidField
from xget_pipelines.core.lake import coverage
from xget_pipelines.core.lake.delta import Lake
from xget_pipelines.core.x.outcome import CollectionOutcome

D = dt.date(2026, 11, 10)
T0 = dt.datetime(2026, 11, 11, 1, tzinfo=dt.UTC)


def outcome(key="python", day=D, name="complete", at=T0, pages=3, items=40, run="r1") -> CollectionOutcome:
    return CollectionOutcome(
        watch_key=key,
        day=day,
        outcome=name,
        reason="why",
        pages=pages,
        items=items,
        max_pages=50,
        session_id="s-" + run,
        run_id=run,
        resumed=False,
        finished_at=at,
    )


def test_a_rerun_updates_the_row_and_an_older_outcome_never_replaces_a_newer_one(lake):
    coverage.record(lake, [outcome(name="truncated", pages=50, run="r1")])
    coverage.record(lake, [outcome(name="complete", at=T0 + dt.timedelta(hours=1), pages=70, run="r2")])
    coverage.record(lake, [outcome(name="failed", at=T0 - dt.timedelta(hours=1), run="r0")])  # a late writer
    (row,) = coverage.read(lake)
    assert (row.outcome, row.pages, row.run_id) == ("complete", 70, "r2")
    coverage.record(lake, [outcome(day=D + dt.timedelta(days=1)), outcome(key="@alice")])
    assert len(coverage.read(lake)) == 3 and len(coverage.read(lake, ["@alice"])) == 1


def _record(args) -> None:
    root, key_days, run, barrier = args
    lake = Lake(root)
    folder, n = barrier
    Path(folder, f"ready-{os.getpid()}").touch()
    deadline = time.monotonic() + 120
    while len(list(Path(folder).glob("ready-*"))) < n:  # all writers go at once, so their commits collide
        assert time.monotonic() < deadline, "the other writers never started"
        time.sleep(0.0005)
    for key, day in key_days:
        coverage.record(lake, [outcome(key, day, at=T0 + dt.timedelta(minutes=run), run=f"r{run}")])


def test_concurrent_writers_never_duplicate_a_partitions_row(tmp_path):
    """Six processes (Dagster runs are processes) record overlapping partitions into a table none of them
    found: one row per (key, day), with the newest outcome."""
    root = str(tmp_path / "lake")
    barrier = tmp_path / "barrier"
    barrier.mkdir()
    days = [D + dt.timedelta(days=i) for i in range(3)]
    jobs = [
        (root, [(k, d) for k in ("python", "@alice") for d in days], run, (str(barrier), 6))
        for run in range(6)
    ]
    pool = mp.get_context("spawn").Pool(len(jobs))
    try:
        pool.map(_record, jobs)
    finally:
        pool.close()
        pool.join()
    rows = coverage.read(Lake(root))
    assert sorted((r.watch_key, r.day) for r in rows) == sorted(
        (k, d) for k in ("python", "@alice") for d in days
    )
    assert {r.run_id for r in rows} == {"r5"}  # the newest outcome of each, whoever committed last


def test_the_report_lays_rows_over_the_days_and_counts_what_is_missing(lake):
    coverage.record(
        lake,
        [
            outcome(day=D, name="complete", pages=3, items=40),
            outcome(day=D - dt.timedelta(days=1), name="truncated", pages=50, items=1000),
            outcome(day=D - dt.timedelta(days=3), name="failed", pages=1, items=0),
            outcome(key="@alice", day=D, pages=2, items=5),
        ],
    )
    report = coverage.coverage_report(
        lake, {"python": None, "@alice": D}, until=D, since=D - dt.timedelta(days=3)
    )
    python = [(d.day, d.outcome) for d in report.days if d.watch_key == "python"]
    assert python == [
        (D - dt.timedelta(days=3), "failed"),
        (D - dt.timedelta(days=2), "missing"),
        (D - dt.timedelta(days=1), "truncated"),
        (D, "complete"),
    ]
    totals = {t.watch_key: t for t in report.totals}
    assert (totals["python"].complete, totals["python"].truncated, totals["python"].failed) == (1, 1, 1)
    assert totals["python"].missing == 1 and totals["python"].pages == 54 and totals["python"].items == 1040
    assert totals["@alice"].missing == 3 and totals["@alice"].complete == 1  # explicit since: every day
    assert (report.total.days, report.total.missing, report.total.items) == (8, 4, 1045)


def test_without_since_a_key_is_expected_from_when_it_was_added(lake):
    coverage.record(lake, [outcome(day=D - dt.timedelta(days=40))])  # collected long ago (a backfill)
    report = coverage.coverage_report(lake, {"python": D - dt.timedelta(days=2), "new": D}, until=D)
    days = {k: [d.day for d in report.days if d.watch_key == k] for k in ("python", "new")}
    assert len(days["python"]) == 14 and days["python"][-1] == D  # the window, not 40 days back
    assert days["new"] == [D]  # added today: yesterday was never expected
    fresh = coverage.coverage_report(lake, {"python": D - dt.timedelta(days=2)}, until=D, window_days=100)
    assert fresh.days[0].day == D - dt.timedelta(days=40)  # its first collected day is earlier than added
    assert fresh.days[0].outcome == "complete"
    bounded = coverage.coverage_report(lake, {"python": None}, until=D, earliest=D - dt.timedelta(days=1))
    assert [d.day for d in bounded.days] == [D - dt.timedelta(days=1), D]  # no day before the partitions


def test_a_report_refuses_an_empty_or_too_long_range(lake):
    with pytest.raises(InvalidField, match="after until") as bad:
        coverage.coverage_report(lake, {"python": None}, until=D, since=D + dt.timedelta(days=1))
    assert bad.value.field == "since"
    with pytest.raises(InvalidField, match="at most 366 days"):
        coverage.coverage_report(lake, {"python": None}, until=D, since=D - dt.timedelta(days=366))
    assert coverage.coverage_report(lake, {}, until=D).days == []
