"""The late days sensor: a created day that gains tweets after its own merge is aggregated again.

The per-day analytics keyed by the day a tweet was created (``analytics_user_daily``,
``analytics_cotag_network``, ``analytics_coordination``'s co-actions) run in the ``entities`` job with the
merge of their day. A merge also writes tweets created on other days: an account's older tweets, conversation
expansions, re-observed tweets whose counts changed. ``entity_tables`` records those ``created_date``
partitions in the ``partitions_written`` metadata of ``entities_tweets``; each tick (every 60 s) reads the
materializations after its cursor and requests an ``analytics_days`` run for every written day that is not one
of that run's own partitions (those were aggregated in the run, after its merge). ``run_key``
``late:<day>:<storage id>``: a repeated tick never launches twice; aggregating a day again is idempotent (a
replace of the day). Undated tweets (``1970-01-01``) have no partition: the profile merge aggregates them
itself.

Cursor: JSON ``{"after": <event log storage id of the last materialization read>}``; without one the sensor
starts at the newest materialization (nothing of the past is requested: backfill ``analytics_days`` for that).
"""

from __future__ import annotations

import json

import dagster as dg

from xget_pipelines.assets.entities import PARTITIONS_WRITTEN
from xget_pipelines.jobs import analytics_days_job
from xget_pipelines.partitions import daily_partitions
from xget_pipelines.sensors.events import new_materializations

TWEETS_ASSET = dg.AssetKey("entities_tweets")


def late_days(records: list[dg.EventLogRecord]) -> dict[str, int]:
    """Day -> the newest storage id that wrote it, for the days written by a run not among its partitions."""
    own: dict[str, set[str]] = {}
    for record in records:
        own.setdefault(record.run_id, set()).add(record.asset_materialization.partition or "")
    days: dict[str, int] = {}
    for record in records:
        metadata = record.asset_materialization.metadata
        written = metadata[PARTITIONS_WRITTEN].value if PARTITIONS_WRITTEN in metadata else []
        for value in written or []:
            day = str(value)[:10]
            if day not in own[record.run_id] and daily_partitions.has_partition_key(day):
                days[day] = max(days.get(day, 0), record.storage_id)
    return days


@dg.sensor(job=analytics_days_job, minimum_interval_seconds=60, default_status=dg.DefaultSensorStatus.RUNNING)
def late_days_sensor(context: dg.SensorEvaluationContext) -> dg.SensorResult | dg.SkipReason:
    """Request an analytics_days run for each created day a merge of another day added tweets to."""
    if not context.cursor:
        latest = context.instance.fetch_materializations(TWEETS_ASSET, limit=1, ascending=False).records
        after = latest[0].storage_id if latest else 0
        return dg.SensorResult(
            cursor=json.dumps({"after": after}), skip_reason="starting after event " + str(after)
        )
    after = int(json.loads(context.cursor).get("after", 0))
    records = new_materializations(context.instance, [TWEETS_ASSET], after)
    if not records:
        return dg.SkipReason(f"no entities_tweets materialization after event {after}")
    days = late_days(records)
    requests = [
        dg.RunRequest(
            run_key=f"late:{day}:{storage_id}", partition_key=day, tags={"xget/reason": "late_days"}
        )
        for day, storage_id in sorted(days.items())
    ]
    if requests:
        context.log.info(
            f"tweets created on {len(requests)} earlier day(s) merged: {', '.join(sorted(days))}"
        )
    return dg.SensorResult(run_requests=requests, cursor=json.dumps({"after": records[-1].storage_id}))
