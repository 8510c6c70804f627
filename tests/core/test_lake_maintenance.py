"""Lake upkeep (compaction, vacuum, the lake_maintenance job), time travel (`xget sql --as-of`) and the
incremental feed the sinks read (changes since a Delta version)."""

import datetime as dt
import time

import pyarrow as pa
import pytest

from xget_pipelines.core.lake.catalog import connect
from xget_pipelines.core.lake.changes import changes_since
from xget_pipelines.core.lake.delta import Lake
from xget_pipelines.core.lake.maintenance import maintain, parse_as_of


def _day(day: str, ids: list[int]) -> pa.Table:
    return pa.table({"id": ids, "day": [day] * len(ids)})


def _small_files(lake: Lake) -> None:
    for i in range(6):  # a day collected a page at a time: one small file per write
        lake.append("cleaned/t", _day("2026-11-01", [i]), partition_by=["day"])
    lake.append("cleaned/t", _day("2026-11-02", [100]), partition_by=["day"])


def test_maintenance_compacts_and_vacuums_without_changing_rows(lake):
    _small_files(lake)
    before = sorted(lake.read("cleaned/t")["id"].to_pylist())
    (done,) = maintain(lake, retention_hours=0)
    assert (done.table, done.files_before, done.files_after) == ("cleaned/t", 7, 2)  # one file per day
    assert done.files_compacted == 6 and done.files_vacuumed == 6 and done.error is None
    assert sorted(lake.read("cleaned/t")["id"].to_pylist()) == before
    assert changes_since(lake, "cleaned/t", done.version - 1).empty  # compaction is no new data for the sinks


def test_retention_keeps_time_travel_until_it_expires(lake):
    _small_files(lake)
    maintain(lake, retention_hours=24)
    con = connect(lake, as_of=0)
    assert con.execute("select count(*) from cleaned_t").fetchone()[0] == 1  # files of version 0 kept
    maintain(lake, retention_hours=0)
    missing: list[str] = []
    connect(lake, as_of=0, missing=missing)
    assert missing == ["cleaned/t (version 0's files were vacuumed)"]
    assert connect(lake).execute("select count(*) from cleaned_t").fetchone()[0] == 7  # today is whole


def test_sql_as_of_a_version_and_a_time(lake):
    lake.append("cleaned/t", _day("2026-11-01", [1, 2]))
    time.sleep(0.05)
    middle = dt.datetime.now(dt.UTC)
    time.sleep(0.05)
    lake.append("cleaned/t", _day("2026-11-01", [3]))
    lake.append("cleaned/u", _day("2026-11-01", [9]))
    assert connect(lake, as_of=0).execute("select count(*) from cleaned_t").fetchone()[0] == 2
    missing: list[str] = []
    con = connect(lake, as_of=middle, missing=missing)
    assert con.execute("select count(*) from cleaned_t").fetchone()[0] == 2
    assert missing == ["cleaned/u (created later, or its history was vacuumed)"]
    missing.clear()
    connect(lake, as_of=5, missing=missing)
    assert missing == ["cleaned/t (newest version 1)", "cleaned/u (newest version 0)"]
    assert parse_as_of("2026-11-28T10:00:00Z") == dt.datetime(2026, 11, 28, 10, tzinfo=dt.UTC)
    assert parse_as_of("12") == 12
    with pytest.raises(ValueError, match="neither a version"):
        parse_as_of("yesterday")


def test_changes_since_a_version(lake):
    assert changes_since(lake, "cleaned/t", None) is None
    lake.replace_where("cleaned/t", _day("2026-11-01", [1, 2]), {"day": "2026-11-01"}, ["day"])
    first = changes_since(lake, "cleaned/t", None)
    assert first.full and first.rows() == 2
    lake.replace_where("cleaned/t", _day("2026-11-02", [3]), {"day": "2026-11-02"}, ["day"])
    lake.replace_where("cleaned/t", _day("2026-11-01", [1, 2, 4]), {"day": "2026-11-01"}, ["day"])
    later = changes_since(lake, "cleaned/t", first.version)
    assert not later.full and later.version == first.version + 2
    assert sorted(r["id"] for b in later.batches() for r in b.to_pylist()) == [
        1,
        2,
        3,
        4,
    ]  # rewritten day in full
    assert changes_since(lake, "cleaned/t", later.version).empty
    assert changes_since(lake, "cleaned/t", 99).full  # a watermark from a table since recreated: everything


def test_lake_maintenance_job_runs_in_dagster(lake):
    import dagster as dg

    from xget_pipelines.jobs import lake_maintenance
    from xget_pipelines.resources import LakeResource
    from xget_pipelines.schedules import maintenance_schedule

    _small_files(lake)
    result = lake_maintenance.execute_in_process(
        resources={"lake": LakeResource(uri=lake.uri)},
        run_config={"ops": {"compact_and_vacuum": {"config": {"retention_hours": 0}}}},
    )
    assert result.success
    (output,) = [e for e in result.all_events if e.event_type_value == "STEP_OUTPUT"]
    metadata = output.event_specific_data.metadata
    assert metadata["files_compacted"].value == 6 and "cleaned/t" in metadata["tables"].value
    schedule = maintenance_schedule("30 3 * * *", 72)
    assert schedule.cron_schedule == "30 3 * * *"
    assert isinstance(schedule, dg.ScheduleDefinition)
