"""The scrape task sensor: tasks created over the API become runs, and the runs' states flow back.

Each tick (every 15 s):
- recurring tasks whose schedule came round since they finished: a new attempt over their days moved to
  end today (``TaskStore.recur``), PENDING again;
- PENDING tasks: the task's watchlist key becomes a dynamic partition (if new) and each of its days a run
  request of the ``x_ingest`` job, with ``run_key`` ``task:<id>:<attempt>:<day>`` (a repeated tick never
  launches twice) and tags ``xget/task_id``, ``xget/task_attempt``, ``xget/task_day``, the task's collection
  parameters (``xget/params``, read by ``raw_x_pages``) and its priority (``dagster/priority``, which the
  run queue orders by); the task is RUNNING.
- RUNNING tasks: their runs are looked up by tag; progress is the share of days finished; when every day's
  run has finished the task is COMPLETED (with the result count read from the lake) or FAILED (naming the
  failed days and their runs). A day whose run is missing is requested again under the same run key (if
  the tick that requested it was lost, this recovers it; if it was launched, Dagster skips it).
- STOPPING tasks: their unfinished runs are cancelled (queued runs are dequeued, started runs
  terminated: ``run_cancel.py``, shared with the backfill sensor); once none is left running the task is
  STOPPED.
HYDRATE tasks take the same path with one run instead of one a day: a run of the ``x_hydrate`` job
(``hydration.py``) with ``run_key`` ``task:<id>:<attempt>``, the same tags, and the dataset in its run
config. While it runs, progress is the share of the dataset's ids that have a status in ``ops/hydration``
and ``status_counts`` the ids per status; when it has finished the task is COMPLETED with the counts
(``result_count``: the ids with a status) or FAILED naming the run. Stopping terminates the run; what it
decided is kept, and starting the task again asks only the rest.
Sensors never scrape: the runs do.
"""

from __future__ import annotations

import datetime as dt
import json

import dagster as dg

from xget_pipelines.core.lake.live import LiveCatalog
from xget_pipelines.core.lake.task_results import TaskResultReader
from xget_pipelines.core.tasks import PARAMS_TAG, ScrapeTask, TaskStatus, TaskStore, TaskType
from xget_pipelines.core.x import hydrate_status
from xget_pipelines.hydration import run_config
from xget_pipelines.jobs import x_hydrate, x_ingest_job
from xget_pipelines.partitions import START_DATE, watchlist_partitions
from xget_pipelines.resources import ControlPlaneResource
from xget_pipelines.resources.lake import LakeResource
from xget_pipelines.sensors.run_cancel import UNFINISHED, cancel_runs

TASK_TAG = "xget/task_id"
ATTEMPT_TAG = "xget/task_attempt"
DAY_TAG = "xget/task_day"
_DONE = {dg.DagsterRunStatus.SUCCESS}
_FAILED = {dg.DagsterRunStatus.FAILURE, dg.DagsterRunStatus.CANCELED}


def _days(task: ScrapeTask) -> list[str]:
    return [day.isoformat() for day in task.days]


def _is_hydrate(task: ScrapeTask) -> bool:
    return task.type == TaskType.HYDRATE.value


def run_request(task: ScrapeTask, day: str) -> dg.RunRequest:
    tags = {
        TASK_TAG: task.id,
        ATTEMPT_TAG: str(task.attempt),
        DAY_TAG: day,
        "xget/reason": "task",
        "xget/watch_key": task.watch_key,
        "dagster/priority": str(task.priority),
    }
    if _is_hydrate(task):  # one run over the dataset (its one "day" is the day the task was created)
        return dg.RunRequest(
            run_key=f"task:{task.id}:{task.attempt}",
            job_name=x_hydrate.name,
            run_config=run_config(task.target),
            tags=tags,
        )
    return dg.RunRequest(
        run_key=f"task:{task.id}:{task.attempt}:{day}",
        job_name=x_ingest_job.name,
        partition_key=dg.MultiPartitionKey({"date": day, "watch": task.watch_key}),
        tags=tags | {PARAMS_TAG: json.dumps(task.params, sort_keys=True)},
    )


def _runs_by_day(instance: dg.DagsterInstance, task: ScrapeTask) -> dict[str, dg.DagsterRun]:
    runs = instance.get_runs(filters=dg.RunsFilter(tags={TASK_TAG: task.id, ATTEMPT_TAG: str(task.attempt)}))
    by_day: dict[str, dg.DagsterRun] = {}
    for run in sorted(runs, key=lambda r: r.run_id):
        by_day[run.tags.get(DAY_TAG, "")] = run
    return by_day


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _hydration_values(task: ScrapeTask, run: dg.DagsterRun | None, runs: dict, lake: LakeResource) -> dict:
    """Progress and counts of a HYDRATE task from ``ops/hydration``; the outcome once its run has finished."""
    counts = hydrate_status.counts(lake.lake(), task.target)
    decided = sum(counts.values())
    values: dict = {
        "progress": round(min(decided / task.id_count, 1.0), 4) if task.id_count else 0.0,
        "result_count": decided,
        "runs": runs | {"counts": counts},
    }
    if run is None or run.status in UNFINISHED:
        return values
    values["finished_at"] = _now()
    if run.status in _DONE:
        return values | {"status": TaskStatus.COMPLETED.value}
    return values | {
        "status": TaskStatus.FAILED.value,
        "error": f"the x_hydrate run {run.run_id} ended {run.status.value}: {decided} of {task.id_count} ids "
        "have a status (its log says why); start the task again to ask the rest",
    }


@dg.sensor(
    jobs=[x_ingest_job, x_hydrate], minimum_interval_seconds=15, default_status=dg.DefaultSensorStatus.RUNNING
)
def scrape_task_sensor(
    context: dg.SensorEvaluationContext, control_plane: ControlPlaneResource, lake: LakeResource
) -> dg.SensorResult:
    """Turn scrape tasks created over the API into x_ingest runs (x_hydrate for HYDRATE) and report the runs'
    states back."""
    store = TaskStore(control_plane.engine())
    instance = context.instance
    known = set(instance.get_dynamic_partitions(watchlist_partitions.name))
    new_keys: list[str] = []
    requests: list[dg.RunRequest] = []
    started: set[str] = set()

    now = _now()
    for task in store.due(now):
        if store.recur(task, now, first_day=dt.date.fromisoformat(START_DATE)):
            context.log.info(f"task {task.id}: recurs ({task.schedule}), attempt {task.attempt + 1}")

    for task in store.in_states(TaskStatus.PENDING):
        if not _is_hydrate(task) and task.watch_key not in known and task.watch_key not in new_keys:
            new_keys.append(task.watch_key)
        days = _days(task)
        requests += [run_request(task, day) for day in days]
        runs = {"attempt": task.attempt, "days": {day: {"status": "REQUESTED"} for day in days}}
        if _is_hydrate(task):
            runs["ids"] = task.id_count
        if store.record(
            task.id,
            expect=TaskStatus.PENDING.value,
            status=TaskStatus.RUNNING.value,
            started_at=_now(),
            runs=runs,
        ):
            started.add(task.id)
            job = x_hydrate.name if _is_hydrate(task) else x_ingest_job.name
            context.log.info(f"task {task.id}: {len(days)} run(s) of {job} for {task.watch_key}")

    reader = None
    for task in store.in_states(TaskStatus.RUNNING, TaskStatus.STOPPING):
        if task.id in started:
            continue
        by_day = _runs_by_day(instance, task)
        days = _days(task)
        states: dict[str, dict] = {}
        for day in days:
            run = by_day.get(day)
            states[day] = (
                {"status": "REQUESTED"} if run is None else {"run_id": run.run_id, "status": run.status.value}
            )
        kept = {"ids": task.id_count, "counts": task.status_counts} if _is_hydrate(task) else {}
        stopping = task.status == TaskStatus.STOPPING.value
        if stopping:
            cancel_runs(instance, by_day.values(), "stopped over the XGet API")
            if all(by_day.get(d) is None or by_day[d].status not in UNFINISHED for d in days):
                store.record(
                    task.id,
                    expect=TaskStatus.STOPPING.value,
                    status=TaskStatus.STOPPED.value,
                    finished_at=_now(),
                    runs={"attempt": task.attempt, "days": states, **kept},
                )
            continue
        missing = [d for d in days if d not in by_day]
        requests += [run_request(task, d) for d in missing]
        if _is_hydrate(task):
            runs = {"attempt": task.attempt, "days": states, **kept}
            store.record(
                task.id,
                expect=TaskStatus.RUNNING.value,
                **_hydration_values(task, by_day.get(days[0]), runs, lake),
            )
            continue
        finished = [d for d in days if d in by_day and by_day[d].status not in UNFINISHED]
        values: dict = {
            "progress": round(len(finished) / len(days), 4),
            "runs": {"attempt": task.attempt, "days": states},
        }
        if len(finished) == len(days):
            failed = [d for d in days if by_day[d].status in _FAILED]
            if reader is None:
                # one count: nothing to keep warm
                reader = TaskResultReader(LiveCatalog(lake.lake(), refresh_s=0, hot_rows=0))
            values |= {"finished_at": _now(), "result_count": reader.count(task)}
            if failed:
                values |= {
                    "status": TaskStatus.FAILED.value,
                    "error": f"{len(failed)} of {len(days)} day(s) failed: "
                    + ", ".join(f"{d} (run {by_day[d].run_id})" for d in failed[:10]),
                }
            else:
                values["status"] = TaskStatus.COMPLETED.value
        store.record(task.id, expect=TaskStatus.RUNNING.value, **values)

    return dg.SensorResult(
        run_requests=requests,
        dynamic_partitions_requests=[watchlist_partitions.build_add_request(new_keys)] if new_keys else [],
    )
