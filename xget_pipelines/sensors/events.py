"""The lake events sensor: one event per materialized batch of a lake table, to RabbitMQ or Kafka.

Each tick (every 30 s) reads the materializations the instance's event log recorded after its cursor, of
the assets that write a lake table (their spec's metadata names it: ``{"table": "raw/x_pages"}``), and
publishes one event each (``core/sinks/events.py``: table, partition, run, Delta version, row counts). It
requests no runs.

Delivery is at least once, never lossy: the cursor moves only after the broker confirmed every event of
the tick. A broker that is down fails the tick with an error naming it (the UI shows it on the tick) and
the next tick publishes the same events again. If the broker confirmed some events of a tick and then
failed, those come again; consumers dedupe by ``event_id`` (event log storage id + asset key, stable).

Storage ids order the events; on a PostgreSQL instance an event whose transaction commits after a later
one's could in principle be passed over (Dagster's own asset sensors share this): the window is the few
milliseconds of one insert.

Cursor: JSON ``{"after": <event log storage id of the last published materialization>}``. Without one the
sensor starts at the beginning of the event log and replays history, ``MAX_EVENTS`` per tick; set the
cursor in the UI to start elsewhere.
"""

from __future__ import annotations

import json

import dagster as dg

from xget_pipelines.core.sinks.events import batch_event
from xget_pipelines.resources.events import LakeEventsResource

MAX_EVENTS = 500  # per tick: bounds a tick's time when history is replayed


def lake_tables(repository: dg.RepositoryDefinition | None) -> dict[dg.AssetKey, str]:
    """The assets of the code location that write a lake table, and the table each writes."""
    if repository is None:
        return {}
    graph = repository.asset_graph
    tables = {}
    for key in graph.get_all_asset_keys():
        table = (graph.get(key).metadata or {}).get("table")
        if table is not None:
            tables[key] = str(getattr(table, "value", table))
    return tables


def new_materializations(
    instance: dg.DagsterInstance, keys: list[dg.AssetKey], after: int, limit: int = MAX_EVENTS
) -> list[dg.EventLogRecord]:
    """The first ``limit`` materializations of ``keys`` after storage id ``after``, oldest first. Only the
    assets whose latest materialization is newer than ``after`` are read (one query for all of them)."""
    if not keys:
        return []
    moved = [
        r.asset_entry.asset_key
        for r in instance.get_asset_records(keys)
        if r.asset_entry.last_materialization_record is not None
        and r.asset_entry.last_materialization_record.storage_id > after
    ]
    records: list[dg.EventLogRecord] = []
    for key in moved:
        page = instance.fetch_materializations(
            dg.AssetRecordsFilter(asset_key=key, after_storage_id=after), limit=limit, ascending=True
        )
        records.extend(page.records)
    # The first `limit` of the merged lists are the first `limit` overall: an asset's records beyond its own
    # first `limit` all come after those.
    return sorted(records, key=lambda r: r.storage_id)[:limit]


def event_of(record: dg.EventLogRecord, table: str) -> dict:
    materialization = record.asset_materialization
    metadata = {name: value.value for name, value in materialization.metadata.items()}
    return batch_event(
        storage_id=record.storage_id,
        asset_key=materialization.asset_key.to_user_string(),
        table=str(metadata.get("table") or table),
        partition=materialization.partition,
        run_id=record.run_id,
        metadata=metadata,
        materialized_at=record.timestamp,
    )


@dg.sensor(minimum_interval_seconds=30, default_status=dg.DefaultSensorStatus.RUNNING)
def lake_events_sensor(context: dg.SensorEvaluationContext, lake_events: LakeEventsResource):
    """Publish an event per materialized batch of a lake table (table, partition, Delta version, row counts)
    to RabbitMQ or Kafka (XGET_EVENTS_URL). At least once: the cursor moves only once the broker confirmed
    every event of the tick; consumers dedupe by event_id."""
    after = int(json.loads(context.cursor).get("after", 0)) if context.cursor else 0
    tables = lake_tables(context.repository_def)
    records = new_materializations(context.instance, list(tables), after)
    if not records:
        return dg.SkipReason(f"no lake table materialized after event {after}")
    events = [event_of(r, tables[r.asset_materialization.asset_key]) for r in records]
    with lake_events.publisher() as publisher:
        publisher.publish(events)  # raises (the tick fails, the cursor stays) unless every event is confirmed
    last = records[-1].storage_id
    message = (
        f"published {len(events)} event(s) to {lake_events.display_url()} ({lake_events.topic}), "
        f"events {records[0].storage_id}..{last}"
    )
    context.log.info(message)
    return dg.SensorResult(cursor=json.dumps({"after": last}), skip_reason=message)
