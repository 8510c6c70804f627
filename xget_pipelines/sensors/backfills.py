"""The backfill sensor: backfills of watchlist keys (``xget watch backfill``,
``POST /v1/watchlist/backfills``) become ``x_ingest`` runs, a few at a time, and their progress flows back.

Each tick (every 30 s), for each RUNNING backfill (``core/db/backfills.py``):
- its runs are looked up by tag (``xget/backfill``); days without a run are requested, as long as fewer than
  ``backfill_runs_in_flight`` of its runs are queued or running: a year of days is hundreds of runs, and
  Dagster's run queue must keep room for the daily collection, so a backfill is released bit by bit, and its
  runs have a lower priority (``dagster/priority`` -1) than the watchlist's and tasks' (0). Every scrape step
  still claims a slot of the ``x_api`` concurrency pool, which bounds how many fetch at once.
- days the estimate sampled are already in ``raw/x_pages``: their run selects the cleaned assets only (parsed
  from raw, no request to X), and the sensor reports their ``raw_x_pages`` partition materialized (a runless
  event with the partition's outcome) so the UI does not show them missing.
- run keys are ``backfill:<id>:<day>`` (a repeated tick never launches twice); days are requested sampled
  first, then newest first.
- when every day has a finished run the backfill is COMPLETED, or FAILED naming the failed days.
- the tick records its counts only if the backfill is still RUNNING (a guarded update): if it was canceled
  while the tick ran, what the tick would have requested for it is dropped.
For each CANCELING backfill (``xget watch backfill-cancel``): nothing more is requested; its unfinished
runs are cancelled (queued ones dequeued, started ones terminated: ``run_cancel.py``, as the task sensor
stops tasks); once none is left running it is CANCELED, its ``error`` saying who canceled it, when, and how
many of its days were done. What its finished runs collected stays in the lake.
Progress (days, pages against the estimate, ETA) is logged on each tick (the sensor's ticks in the UI) and
read by ``xget watch backfill-status`` and ``GET /v1/watchlist/backfills/{id}``. Sensors never scrape.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter

import dagster as dg
from sqlalchemy import Engine

from xget_pipelines.assets.cleaned import TABLES, asset_key
from xget_pipelines.core.db import backfills
from xget_pipelines.core.lake import coverage
from xget_pipelines.core.x.backfill_progress import backfill_progress
from xget_pipelines.jobs import x_ingest_job
from xget_pipelines.partitions import watchlist_partitions
from xget_pipelines.resources import LakeResource, WatchlistResource
from xget_pipelines.sensors.run_cancel import UNFINISHED, cancel_runs

BACKFILL_TAG = "xget/backfill"
DAY_TAG = "xget/backfill_day"
PRIORITY = -1  # below the watchlist's and the tasks' runs (0): the daily collection goes first
CLEANED_KEYS = [asset_key(table) for table in TABLES]


def run_request(backfill: backfills.Backfill, day: dt.date) -> dg.RunRequest:
    parse_only = day in set(backfill.parse)
    return dg.RunRequest(
        run_key=f"backfill:{backfill.id}:{day.isoformat()}",
        partition_key=dg.MultiPartitionKey({"date": day.isoformat(), "watch": backfill.watch_key}),
        asset_selection=CLEANED_KEYS if parse_only else None,
        tags={
            BACKFILL_TAG: str(backfill.id),
            DAY_TAG: day.isoformat(),
            "xget/reason": "backfill-parse" if parse_only else "backfill",
            "xget/watch_key": backfill.watch_key,
            "dagster/priority": str(PRIORITY),
        },
    )


def order(backfill: backfills.Backfill) -> list[dt.date]:
    """The days in the order they are requested: the sampled ones (cheap), then the newest first."""
    parse = sorted(backfill.parse)
    return parse + sorted(set(backfill.fetch) - set(parse), reverse=True)


def _sampled_materialization(backfill: backfills.Backfill, row) -> dg.AssetMaterialization:
    return dg.AssetMaterialization(
        asset_key="raw_x_pages",
        partition=f"{row.day.isoformat()}|{backfill.watch_key}",
        description=f"collected by the estimate of backfill {backfill.id}",
        metadata={
            "outcome": row.outcome,
            "outcome_reason": row.reason or "",
            "pages": row.pages,
            "items": row.items,
            "budget": row.budget or "",
            "session_id": row.session_id or "",
            "backfill": backfill.id,
        },
    )


def _runs_by_day(instance: dg.DagsterInstance, backfill: backfills.Backfill) -> dict[str, dg.DagsterRun]:
    """The backfill's runs by day (the newest run of a day if there are several)."""
    runs = instance.get_runs(filters=dg.RunsFilter(tags={BACKFILL_TAG: str(backfill.id)}))
    by_day: dict[str, dg.DagsterRun] = {}
    for run in sorted(runs, key=lambda r: r.run_id):
        by_day[run.tags.get(DAY_TAG, "")] = run
    return by_day


def _cancel(
    context: dg.SensorEvaluationContext,
    instance: dg.DagsterInstance,
    engine: Engine,
    backfill: backfills.Backfill,
    by_day: dict[str, dg.DagsterRun],
) -> None:
    """A CANCELING backfill: cancel its unfinished runs; once none is left running, CANCELED, with the days
    done added to who canceled it and when (``backfills.cancel`` wrote that)."""
    left = cancel_runs(instance, by_day.values(), f"backfill {backfill.id} canceled over XGet")
    done = sum(run.status == dg.DagsterRunStatus.SUCCESS for run in by_day.values())
    if left:
        counts = dict(Counter(run.status.value for run in by_day.values()))
        backfills.record(engine, backfill.id, expect=backfills.CANCELING, runs=counts)
        context.log.info(f"backfill {backfill.id}: canceling, {left} run(s) still stopping")
        return
    runs = _runs_by_day(instance, backfill)  # the runs just dequeued are CANCELED now
    counts = dict(Counter(run.status.value for run in runs.values()))
    days = len(backfill.days)
    error = (
        f"{backfill.error or 'canceled'}; {done} of {days} days done (what they collected stays in the "
        "lake: a new backfill of the range fetches only the other days)"
    )
    finished = dt.datetime.now(dt.UTC)
    backfills.record(
        engine,
        backfill.id,
        expect=backfills.CANCELING,
        status=backfills.CANCELED,
        runs=counts,
        error=error,
        finished_at=finished,
    )
    context.log.info(f"backfill {backfill.id} of {backfill.watch_key}: CANCELED; {done} of {days} days done")


@dg.sensor(job=x_ingest_job, minimum_interval_seconds=30, default_status=dg.DefaultSensorStatus.RUNNING)
def watch_backfill_sensor(
    context: dg.SensorEvaluationContext, watchlist: WatchlistResource, lake: LakeResource
) -> dg.SensorResult:
    """Launch the runs of watchlist backfills a few at a time and record how far each got."""
    engine = watchlist.control_plane.engine()
    instance = context.instance
    known = set(instance.get_dynamic_partitions(watchlist_partitions.name))
    new_keys: list[str] = []
    requests: list[dg.RunRequest] = []
    events: list[dg.AssetMaterialization] = []
    the_lake = None
    for backfill in backfills.active(engine):
        by_day = _runs_by_day(instance, backfill)
        if backfill.status == backfills.CANCELING:
            _cancel(context, instance, engine, backfill, by_day)
            continue
        unfinished = sum(run.status in UNFINISHED for run in by_day.values())
        wanted = [d for d in order(backfill) if d.isoformat() not in by_day]
        batch = wanted[: max(watchlist.backfill_runs_in_flight - unfinished, 0)]
        counts = Counter(run.status.value for run in by_day.values())
        counts["NOT_REQUESTED"] = len(wanted) - len(batch)
        counts["REQUESTED"] = len(batch)
        values: dict = {"runs": dict(counts)}
        if not wanted and not unfinished:
            failed = sorted(d for d, run in by_day.items() if run.status != dg.DagsterRunStatus.SUCCESS)
            values["finished_at"] = dt.datetime.now(dt.UTC)
            values["status"] = backfills.FAILED if failed else backfills.COMPLETED
            if failed:
                values["error"] = f"{len(failed)} of {len(by_day)} day(s) failed: " + ", ".join(
                    f"{d} (run {by_day[d].run_id})" for d in failed[:10]
                )
        if not backfills.record(engine, backfill.id, expect=backfills.RUNNING, **values):
            context.log.info(f"backfill {backfill.id}: canceled during this tick; nothing requested for it")
            continue
        if backfill.watch_key not in known and backfill.watch_key not in new_keys:
            new_keys.append(backfill.watch_key)
        requests += [run_request(backfill, d) for d in batch]
        the_lake = the_lake or lake.lake()
        sampled = {d for d in batch if d in set(backfill.parse)}
        if sampled:
            rows = coverage.read(the_lake, [backfill.watch_key])
            events += [_sampled_materialization(backfill, r) for r in rows if r.day in sampled]
        progress = backfill_progress(
            the_lake, backfill.watch_key, backfill.fetch, backfill.estimate, backfill.created_at
        )
        context.log.info(
            f"backfill {backfill.id} of {backfill.watch_key}: {values.get('status', backfills.RUNNING)}; "
            f"{progress.days_done}/{progress.days} days, {progress.pages}/{progress.estimated_pages} pages "
            f"estimated; {len(batch)} run(s) requested, {unfinished} in flight; ETA "
            f"{progress.eta.isoformat(timespec='minutes') if progress.eta else 'unknown'}"
        )
    return dg.SensorResult(
        run_requests=requests,
        dynamic_partitions_requests=[watchlist_partitions.build_add_request(new_keys)] if new_keys else [],
        asset_events=events,
    )
