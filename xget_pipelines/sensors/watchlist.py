"""The watchlist sensor (the ingest schedules are in ``schedules.py``).

The sensor is cheap and deterministic: it reads the active watchlist from the control-plane DB, adds
new keys as dynamic partitions, and requests the last ``backfill_days`` days for them (the watchlist
resource's, ``XGET_WATCH_BACKFILL_DAYS``), except days already materialized (``xget demo`` or a backfill
may have collected them before the sensor first ran).
Its cursor is the JSON list of keys already handled; every request has a ``run_key`` so a repeated
tick never launches a duplicate run.
"""

import datetime as dt
import json

import dagster as dg

from xget_pipelines.jobs import ingest_request, x_ingest_job
from xget_pipelines.partitions import watchlist_partitions
from xget_pipelines.resources import WatchlistResource


@dg.sensor(job=x_ingest_job, minimum_interval_seconds=30, default_status=dg.DefaultSensorStatus.RUNNING)
def watchlist_sensor(context: dg.SensorEvaluationContext, watchlist: WatchlistResource) -> dg.SensorResult:
    """Turn new watchlist keys into partitions and backfill runs for their recent days."""
    handled = set(json.loads(context.cursor)) if context.cursor else set()
    keys = watchlist.active_keys()
    new = [k for k in keys if k not in handled]
    known = set(context.instance.get_dynamic_partitions(watchlist_partitions.name))
    to_add = [k for k in keys if k not in known]
    today = dt.datetime.now(dt.UTC).date()
    days = [today - dt.timedelta(days=i) for i in range(watchlist.backfill_days)]
    done = set(context.instance.get_materialized_partitions(dg.AssetKey("raw_x_pages"))) if new else set()
    requests = [
        ingest_request(day, key, "watch-added")
        for key in new
        for day in days
        if f"{day.isoformat()}|{key}" not in done
    ]
    return dg.SensorResult(
        run_requests=requests,
        dynamic_partitions_requests=[watchlist_partitions.build_add_request(to_add)] if to_add else [],
        cursor=json.dumps(sorted(handled | set(keys))),
    )
