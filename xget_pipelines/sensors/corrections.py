"""The corrections sensor: records users supply and their corrections reach the entities within a minute.

A change made over the API (``core/corrections.py``) is a row of ``cleaned/corrections``; it takes effect at
the next ``entities`` merge of its day. Each tick (every 30 s) compares the table's Delta version with the
cursor's; when it moved, the rows added since (``corrected_at`` after the newest one seen before, less a
margin for a writer that stamped its rows before another one committed) name the days to merge again: one
``entities`` run per day, ``run_key`` ``corrections:<day>:<version>`` (a repeated tick never launches twice;
re-merging a day is idempotent, so a day requested twice costs a run, not a wrong row). Days outside the
daily partitions (before ``XGET_PARTITIONS_START_DATE``) cannot be merged by a run and are logged.

Cursor: JSON ``{"version": <last seen Delta version>, "corrected_at": <newest corrected_at seen, ISO>}``.
"""

from __future__ import annotations

import datetime as dt
import json

import dagster as dg
import pyarrow as pa
import pyarrow.compute as pc

from xget_pipelines.core.corrections import CORRECTIONS
from xget_pipelines.jobs import entities_job
from xget_pipelines.partitions import daily_partitions
from xget_pipelines.resources.lake import LakeResource

REASON_TAG = "xget/reason"
LATE_COMMIT = dt.timedelta(
    minutes=5
)  # rows stamped this long before an earlier-committed newer row still count


def request_for(day: dt.date, version: int) -> dg.RunRequest:
    return dg.RunRequest(
        run_key=f"corrections:{day.isoformat()}:{version}",
        partition_key=day.isoformat(),
        tags={REASON_TAG: "corrections", "xget/corrections_version": str(version)},
    )


@dg.sensor(job=entities_job, minimum_interval_seconds=30, default_status=dg.DefaultSensorStatus.RUNNING)
def corrections_sensor(
    context: dg.SensorEvaluationContext, lake: LakeResource
) -> dg.SensorResult | dg.SkipReason:
    """Request an entities run for each day that has new supplied records or corrections."""
    cursor = json.loads(context.cursor) if context.cursor else {}
    the_lake = lake.lake()
    dtable = the_lake.table(CORRECTIONS)
    if dtable is None:
        return dg.SkipReason(f"no {CORRECTIONS} table yet: nothing supplied or corrected")
    version = dtable.version()
    if version == cursor.get("version"):
        return dg.SkipReason(f"{CORRECTIONS} unchanged at version {version}")
    rows = dtable.to_pyarrow_table(columns=["day", "corrected_at"])
    seen = dt.datetime.fromisoformat(cursor["corrected_at"]) if cursor.get("corrected_at") else None
    if seen is not None:
        after = pa.scalar(seen - LATE_COMMIT, rows.schema.field("corrected_at").type)
        rows = rows.filter(pc.greater(rows["corrected_at"], after))
    newest = max(
        filter(None, [seen, pc.max(rows["corrected_at"]).as_py() if rows.num_rows else None]), default=None
    )
    requests, skipped = [], []
    for day in sorted(set(rows["day"].to_pylist())):
        if daily_partitions.has_partition_key(day.isoformat()):
            requests.append(request_for(day, version))
        else:
            skipped.append(day.isoformat())
    if skipped:
        context.log.warning(
            f"corrections of days outside the daily partitions cannot be merged by a run: "
            f"{', '.join(skipped[:20])}"
        )
    if requests:
        context.log.info(f"{CORRECTIONS} version {version}: entities runs for {len(requests)} day(s)")
    return dg.SensorResult(
        run_requests=requests,
        cursor=json.dumps({"version": version, "corrected_at": newest.isoformat() if newest else None}),
    )
