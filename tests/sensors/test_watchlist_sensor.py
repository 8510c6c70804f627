import json
import tempfile

import dagster as dg

from tests.conftest import control_plane_resource
from xget_pipelines.core.db.engine import get_engine
from xget_pipelines.core.db.watchlist import add_keys, deactivate
from xget_pipelines.resources import WatchlistResource
from xget_pipelines.sensors import watchlist_sensor

BACKFILL_DAYS = 3


def watchlist(url: str) -> WatchlistResource:
    return WatchlistResource(control_plane=control_plane_resource(url), backfill_days=BACKFILL_DAYS)


def evaluate(instance, cursor, url):
    resources = {"watchlist": watchlist(url)}
    with dg.build_sensor_context(instance=instance, cursor=cursor, resources=resources) as ctx:  # nested
        return watchlist_sensor(ctx)


def test_new_keys_become_partitions_and_backfill_runs_once(sqlite_url):
    instance = dg.DagsterInstance.ephemeral()
    add_keys(get_engine(sqlite_url), ["python", "@alice"])
    result = evaluate(instance, None, sqlite_url)
    days = BACKFILL_DAYS
    assert len(result.run_requests) == 2 * days
    assert {r.partition_key.keys_by_dimension["watch"] for r in result.run_requests} == {"python", "@alice"}
    assert len({r.run_key for r in result.run_requests}) == 2 * days
    (add,) = result.dynamic_partitions_requests
    assert set(add.partition_keys) == {"python", "@alice"}
    assert json.loads(result.cursor) == ["@alice", "python"]

    instance.add_dynamic_partitions("watchlist", ["python", "@alice"])
    again = evaluate(instance, result.cursor, sqlite_url)
    assert again.run_requests == [] and again.dynamic_partitions_requests == []

    add_keys(get_engine(sqlite_url), ["#ai"])
    deactivate(get_engine(sqlite_url), "python")
    third = evaluate(instance, again.cursor, sqlite_url)
    assert {r.partition_key.keys_by_dimension["watch"] for r in third.run_requests} == {"#ai"}


def test_bad_keys_are_refused_with_a_reason(sqlite_url):
    import pytest

    with pytest.raises(ValueError, match="contains '\\|'"):
        add_keys(get_engine(sqlite_url), ["a|b"])
    with pytest.raises(ValueError, match="not an X handle"):
        add_keys(get_engine(sqlite_url), ["@this-is-not-valid"])


def test_days_already_collected_are_not_requested_again(sqlite_url):
    import datetime as dt

    instance = dg.DagsterInstance.ephemeral()
    instance.add_dynamic_partitions("watchlist", ["python"])
    today = dt.datetime.now(dt.UTC).date().isoformat()
    instance.report_runless_asset_event(dg.AssetMaterialization("raw_x_pages", partition=f"{today}|python"))
    add_keys(get_engine(sqlite_url), ["python"])
    result = evaluate(instance, None, sqlite_url)
    days = {r.partition_key.keys_by_dimension["date"] for r in result.run_requests}
    assert today not in days and len(days) == BACKFILL_DAYS - 1


def test_schedules_request_the_right_days_for_active_keys_only(sqlite_url):
    import datetime as dt

    from xget_pipelines.schedules import daily_ingest_schedule, hourly_ingest_schedule

    engine = get_engine(sqlite_url)
    add_keys(engine, ["python", "@alice", "#ai"])
    deactivate(engine, "#ai")
    when = dt.datetime(2026, 5, 3, 14, 5, tzinfo=dt.UTC)
    resources = {"watchlist": watchlist(sqlite_url)}
    # A schedule context needs an instance with a reference (an ephemeral one has none); the context opens
    # its own instance from it and must be closed, or Dagster's definitions-state storage stays pointed at
    # a dead instance and later definition loads in this process fail.
    with tempfile.TemporaryDirectory() as home:
        instance = dg.DagsterInstance.local_temp(home)
        try:
            instance.add_dynamic_partitions("watchlist", ["python", "@alice", "#ai"])

            def tick(schedule, at):  # closed after each tick: the instance it opened is disposed
                with dg.build_schedule_context(
                    instance=instance, scheduled_execution_time=at, resources=resources
                ) as ctx:
                    return schedule(ctx)

            hourly = tick(hourly_ingest_schedule, when)
            assert sorted(r.partition_key.keys_by_dimension["watch"] for r in hourly) == ["@alice", "python"]
            assert {r.partition_key.keys_by_dimension["date"] for r in hourly} == {"2026-05-03"}
            later = tick(hourly_ingest_schedule, when + dt.timedelta(hours=1))
            assert not {r.run_key for r in hourly} & {r.run_key for r in later}  # a new run every hour
            daily = tick(daily_ingest_schedule, when)
            assert {r.partition_key.keys_by_dimension["date"] for r in daily} == {"2026-05-02", "2026-05-03"}
        finally:
            instance.dispose()
