"""Scrape tasks created in the control plane become x_ingest runs; the runs' states flow back into the task.

The runs execute for real (in process) against the emulator over HTTP; the sensor is evaluated tick by tick.
"""

import datetime as dt

import dagster as dg
import pytest

from tests.conftest import control_plane_resource, register_accounts
from xget_pipelines.assets import ingest_assets
from xget_pipelines.core.db.engine import get_engine
from xget_pipelines.core.lake.live import LiveCatalog
from xget_pipelines.core.lake.task_results import TaskResultReader
from xget_pipelines.core.tasks import TaskStore, build_spec
from xget_pipelines.jobs import x_ingest_job
from xget_pipelines.resources import AccountPoolResource, LakeResource, XApiResource
from xget_pipelines.sensors.tasks import TASK_TAG, scrape_task_sensor


@pytest.fixture
def world(emulator_factory, sqlite_url, tmp_path, small_world):
    emu = emulator_factory(window_seconds=2)
    engine = get_engine(sqlite_url)
    register_accounts(emu, engine, ["t1", "t2"])
    resources = {
        "lake": LakeResource(uri=str(tmp_path / "lake")),
        "control_plane": control_plane_resource(sqlite_url),
        "account_pool": AccountPoolResource(control_plane=control_plane_resource(sqlite_url)),
        "x_api": XApiResource(graphql_url=emu.graphql_url, lease_deadline_s=3),
    }
    defs = dg.Definitions(assets=ingest_assets, jobs=[x_ingest_job], resources=resources)
    return engine, resources, defs, small_world.watchlist_suggestions()["terms"][0]


def tick(instance, resources):
    ctx = dg.build_sensor_context(
        instance=instance, resources={k: resources[k] for k in ("control_plane", "lake")}
    )
    result = scrape_task_sensor(ctx)
    for request in result.dynamic_partitions_requests:
        instance.add_dynamic_partitions(request.partitions_def_name, list(request.partition_keys))
    return result


def launch(defs, instance, requests):
    job = defs.resolve_job_def("x_ingest")
    return [
        job.execute_in_process(
            partition_key=r.partition_key, tags=r.tags, instance=instance, raise_on_error=False
        )
        for r in requests
    ]


def test_a_task_becomes_one_run_per_day_and_completes_with_its_results(world, tmp_path, today):
    engine, resources, defs, term = world
    store = TaskStore(engine)
    task = store.create(build_spec("SEARCH", term, today - dt.timedelta(days=1), today), user_id=None)
    instance = dg.DagsterInstance.ephemeral()

    first = tick(instance, resources)
    assert len(first.run_requests) == 2
    assert {r.partition_key.keys_by_dimension["date"] for r in first.run_requests} == {
        today.isoformat(),
        (today - dt.timedelta(days=1)).isoformat(),
    }
    assert all(r.tags[TASK_TAG] == task.id for r in first.run_requests)
    assert instance.has_dynamic_partition("watchlist", term)
    assert store.get(task.id).status == "RUNNING"

    # A tick before any run exists asks again under the same run keys (Dagster launches each once).
    again = tick(instance, resources)
    assert sorted(r.run_key for r in again.run_requests) == sorted(r.run_key for r in first.run_requests)

    results = launch(defs, instance, first.run_requests[:1])
    assert results[0].success
    tick(instance, resources)
    halfway = store.get(task.id)
    assert halfway.status == "RUNNING" and halfway.progress == 0.5
    assert [r["status"] for r in halfway.runs].count("SUCCESS") == 1

    launch(defs, instance, first.run_requests[1:])
    done = tick(instance, resources)
    assert done.run_requests == []
    finished = store.get(task.id)
    assert finished.status == "COMPLETED" and finished.progress == 1.0
    assert {r["run_id"] for r in finished.runs} == {r.run_id for r in results} | {
        r.run_id for r in instance.get_runs(filters=dg.RunsFilter(tags={TASK_TAG: task.id}))
    }
    reader = TaskResultReader(LiveCatalog(resources["lake"].lake(), refresh_s=0))
    page = reader.page(finished, limit=10_000)
    assert finished.result_count == len(page.rows) > 0
    assert all(term.lower() in row["text"].lower() for row in page.rows)


def test_a_failed_day_fails_the_task_naming_the_day_and_run(world, today):
    engine, resources, defs, term = world
    store = TaskStore(engine)
    task = store.create(build_spec("USER_TWEETS", "@nobody_here_x"), user_id=None)  # X: "not found"
    instance = dg.DagsterInstance.ephemeral()
    requests = tick(instance, resources).run_requests
    (result,) = launch(defs, instance, requests)
    assert not result.success
    tick(instance, resources)
    failed = store.get(task.id)
    assert failed.status == "FAILED"
    assert today.isoformat() in failed.error and result.run_id in failed.error


def test_stopping_a_task_cancels_its_runs_that_have_not_started(world, today):
    engine, resources, defs, term = world
    store = TaskStore(engine)
    task = store.create(build_spec("SEARCH", term, today - dt.timedelta(days=2), today), user_id=None)
    instance = dg.DagsterInstance.ephemeral()
    requests = tick(instance, resources).run_requests
    job = defs.resolve_job_def("x_ingest")
    queued = [instance.create_run_for_job(job, tags=r.tags) for r in requests]  # created, not yet launched
    tick(instance, resources)
    assert store.get(task.id).status == "RUNNING"

    store.stop(task.id, owner=None, actor=None)
    assert store.get(task.id).status == "STOPPING"
    stopped = tick(instance, resources)
    assert stopped.run_requests == []  # a stopping task asks for nothing more
    assert {instance.get_run_by_id(r.run_id).status for r in queued} == {dg.DagsterRunStatus.CANCELED}
    tick(instance, resources)
    assert store.get(task.id).status == "STOPPED"

    # Started again: a new attempt with new run keys, so Dagster launches the days again.
    restarted = store.start(task.id, owner=None, actor=None)
    assert restarted.attempt == 2
    fresh = tick(instance, resources).run_requests
    assert len(fresh) == 3 and not {r.run_key for r in fresh} & {r.run_key for r in requests}


def test_a_tasks_parameters_and_priority_decide_its_runs(world, tmp_path, today):
    from xget_pipelines.core.lake import coverage
    from xget_pipelines.core.lake.delta import Lake

    engine, resources, defs, term = world
    store = TaskStore(engine)
    spec = build_spec("SEARCH", term, today - dt.timedelta(days=1), today - dt.timedelta(days=1))
    task = store.create(spec, user_id=None, params={"budget": "1 pages", "product": "top"}, priority=7)
    assert task.params == {"budget": "1 pages", "product": "Top"}  # normalised as the watchlist stores them
    instance = dg.DagsterInstance.ephemeral()
    requests = tick(instance, resources).run_requests
    assert [r.tags["dagster/priority"] for r in requests] == ["7"]
    (result,) = launch(defs, instance, requests)
    assert result.success
    md = result.get_asset_materialization_events()[0].materialization.metadata
    assert md["budget"].value == "1 pages" and md["product"].value == "Top" and md["pages"].value == 1
    row = coverage.read(Lake(str(tmp_path / "lake")), [term])[0]
    assert (row.outcome, row.budget) == ("truncated", "1 pages")  # the task's budget, not the default 50


def test_a_recurring_task_starts_again_over_its_days_moved_to_today(world, today):
    from sqlalchemy import update

    from xget_pipelines.core.db.models import Task

    engine, resources, defs, term = world
    store = TaskStore(engine)
    two_days = build_spec("SEARCH", term, today - dt.timedelta(days=3), today - dt.timedelta(days=2))
    task = store.create(two_days, user_id=None, schedule="0 6 * * *")
    assert task.schedule == "0 6 * * *" and task.next_at > dt.datetime.now(dt.UTC)
    instance = dg.DagsterInstance.ephemeral()
    assert all(r.success for r in launch(defs, instance, tick(instance, resources).run_requests))
    tick(instance, resources)
    assert store.get(task.id).status == "COMPLETED"
    assert tick(instance, resources).run_requests == []  # not due: nothing recurs before 06:00 comes round

    with engine.begin() as conn:  # the schedule came round
        conn.execute(update(Task).where(Task.id == task.id).values(next_at=dt.datetime.now(dt.UTC)))
    again = tick(instance, resources)
    recurred = store.get(task.id)
    assert (recurred.attempt, recurred.since, recurred.until) == (
        2,
        (today - dt.timedelta(days=1)).isoformat(),
        today.isoformat(),
    )
    assert recurred.status == "RUNNING" and recurred.next_at > dt.datetime.now(dt.UTC)
    assert sorted(r.partition_key.keys_by_dimension["date"] for r in again.run_requests) == [
        (today - dt.timedelta(days=1)).isoformat(),
        today.isoformat(),
    ]
    store.stop(task.id, owner=None, actor=None)  # a stopped task stays stopped, whatever its schedule says


def test_bad_task_parameters_are_refused_naming_the_field(world):
    from xget_pipelines.core.tasks import InvalidTask

    engine, *_, term = world
    store = TaskStore(engine)
    spec = build_spec("SEARCH", term)
    for kwargs, field in (
        ({"params": {"label": "x"}}, "params.label"),
        ({"params": {"budget": "lots"}}, "params.budget"),
        ({"priority": 1000}, "priority"),
        ({"schedule": "every day"}, "schedule"),
        ({"schedule": "61 * * * *"}, "schedule"),
    ):
        with pytest.raises(InvalidTask) as err:
            store.create(spec, user_id=None, start=False, **kwargs)
        assert err.value.field == field
