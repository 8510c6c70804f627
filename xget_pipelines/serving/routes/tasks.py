"""Scrape tasks: create, list, get, update, delete, start, stop, status, results.

A task is recorded here; the ``scrape_task_sensor`` turns it into Dagster runs of the ``x_ingest`` job
(one per day, tagged ``xget/task_id``) and reports their state back. Analysts see and manage their own
tasks; operators and admins everyone's.

A HYDRATE task takes tweet ids instead of a target's days: ``ids`` in the JSON body (at most
``MAX_HYDRATE_IDS``, numbers or strings of digits), or a file's text uploaded to ``POST /v1/tasks/hydrate``
(one id a line, or a CSV column: ``xget hydrate``'s rules), with ``target`` / ``dataset`` the dataset's
name. It becomes one ``x_hydrate`` run; its results are a status per id.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from fastapi import APIRouter, Body, Depends, Query, Request
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from xget_pipelines.core.auth.permissions import Permission
from xget_pipelines.core.auth.users import Principal
from xget_pipelines.core.errors import Conflict
from xget_pipelines.core.tasks import (
    MAX_HYDRATE_IDS,
    InvalidTask,
    TaskStatus,
    TaskType,
    build_spec,
    hydrate_ids,
    hydrate_ids_from_text,
)
from xget_pipelines.serving.deps import UtcDateTime, require
from xget_pipelines.serving.errors import ERROR_RESPONSES
from xget_pipelines.serving.export import EXPORT_RESPONSES, FORMATS, Format, all_pages, rows_response
from xget_pipelines.serving.params import task_owner
from xget_pipelines.serving.state import state

router = APIRouter(tags=["tasks"], responses=ERROR_RESPONSES)
reader_dep = require(Permission.TASKS_READ)
writer_dep = require(Permission.TASKS_WRITE)


class TaskIn(BaseModel):
    type: TaskType = Field(description="USER_INFO, USER_TWEETS, SEARCH, TOPIC, FOLLOWERS or HYDRATE")
    target: str = Field(
        min_length=1,
        max_length=200,
        description="@handle, a search, or a topic/hashtag; for HYDRATE the dataset's name (1 to 100 "
        "letters, digits, '.', '_', '-')",
    )
    since: dt.date | None = Field(default=None, description="First day (UTC); default: until")
    until: dt.date | None = Field(default=None, description="Last day, inclusive (UTC); default: today")
    params: dict[str, Any] = Field(
        default_factory=dict,
        description="Collection parameters, as a watchlist key's: budget ('all', '50 pages', '2000 items') "
        "and product ('Latest', 'Top'); anything else is refused",
    )
    start: bool = Field(default=True, description="Start at once (false: CREATED, start later)")
    priority: int = Field(default=0, description="Dagster's run priority, -100..100: higher runs first")
    schedule: str | None = Field(
        default=None,
        max_length=100,
        description="A cron expression (UTC): the task recurs, each time over as many days ending that day",
    )
    ids: list[int | str] | None = Field(
        default=None,
        description=f"HYDRATE only: the tweet ids to look up, at most {MAX_HYDRATE_IDS:,} a request (strings "
        "of digits keep ids past 2**53 exact); added to the dataset's, duplicates counted once",
    )


class TaskPatch(BaseModel):
    type: TaskType | None = None
    target: str | None = Field(default=None, min_length=1, max_length=200)
    since: dt.date | None = None
    until: dt.date | None = None
    params: dict[str, Any] | None = None
    priority: int | None = None
    schedule: str | None = Field(default=None, max_length=100, description='"" removes it')


class RunOut(BaseModel):
    day: str
    run_id: str | None = Field(
        default=None, description="The Dagster run (open it in the UI at /runs/<run_id>)"
    )
    status: str | None = Field(
        default=None, description="REQUESTED until the run exists, then its Dagster status"
    )


class TaskOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)  # routes answer core.tasks.ScrapeTask records

    id: str
    type: str
    target: str
    watch_key: str
    since: str
    until: str
    params: dict[str, Any]
    status: str
    progress: float
    result_count: int | None
    error: str | None
    attempt: int
    runs: list[RunOut]
    created_by: int | None
    created_at: UtcDateTime
    updated_at: UtcDateTime
    started_at: UtcDateTime | None
    finished_at: UtcDateTime | None
    priority: int
    schedule: str | None
    next_at: UtcDateTime | None = Field(description="When a recurring task starts its next attempt")
    id_count: int | None = Field(default=None, description="HYDRATE: the ids of its dataset")
    status_counts: dict[str, int] | None = Field(
        default=None,
        description="HYDRATE: ids per status (found, deleted, suspended, protected, withheld, unavailable)",
    )


class TaskList(BaseModel):
    items: list[TaskOut]
    next_cursor: str | None


class TaskStatusOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    status: str
    progress: float
    result_count: int | None
    error: str | None
    runs: list[RunOut]
    id_count: int | None = None
    status_counts: dict[str, int] | None = None


class ResultsOut(BaseModel):
    task_id: str
    status: str
    items: list[dict[str, Any]]
    next_cursor: str | None


def _first_day(request: Request) -> dt.date:
    return dt.date.fromisoformat(state(request).settings.partitions_start_date)


@router.post(
    "/tasks", status_code=201, response_model=TaskOut, summary="Create a scrape task (started by default)"
)
async def create_task(request: Request, body: TaskIn, principal: Principal = Depends(writer_dep)) -> dict:
    spec = build_spec(body.type.value, body.target, body.since, body.until, _first_day(request))
    ids = None if body.ids is None else await run_in_threadpool(hydrate_ids, body.ids)
    return await run_in_threadpool(
        state(request).tasks.create,
        spec,
        principal.user_id,
        body.params,
        body.start,
        body.priority,
        body.schedule,
        ids,
    )


@router.post(
    "/tasks/hydrate",
    status_code=201,
    response_model=TaskOut,
    summary="Create a HYDRATE task from a file of tweet ids (one a line, or a CSV column)",
)
async def create_hydrate_task(
    request: Request,
    body: str = Body(
        ...,
        media_type="text/csv",
        min_length=1,
        description="The file's text: one id a line (text/plain), or a CSV (text/csv, or column=) with an "
        f"id or tweet_id column; at most {MAX_HYDRATE_IDS:,} ids",
    ),
    dataset: str = Query(..., min_length=1, max_length=100, description="The dataset's name"),
    column: str | None = Query(None, max_length=100, description="The CSV column of the ids"),
    start: bool = Query(True, description="Start at once (false: CREATED, start later)"),
    priority: int = Query(0, description="Dagster's run priority, -100..100: higher runs first"),
    principal: Principal = Depends(writer_dep),
) -> dict:
    spec = build_spec(TaskType.HYDRATE.value, dataset, first_day=_first_day(request))
    as_csv = bool(column) or "csv" in request.headers.get("content-type", "").lower()
    ids = await run_in_threadpool(hydrate_ids_from_text, body, as_csv, column)
    return await run_in_threadpool(
        state(request).tasks.create, spec, principal.user_id, {}, start, priority, None, ids
    )


@router.get(
    "/tasks",
    response_model=TaskList | list[TaskOut],
    responses=EXPORT_RESPONSES,
    summary="Tasks, newest first (yours; everyone's for operators)",
)
async def list_tasks(
    request: Request,
    status: TaskStatus | None = None,
    type: TaskType | None = None,
    cursor: str | None = Query(None, max_length=512),
    limit: int = Query(50, ge=1, le=500),
    format: Format | None = Query(None, description="json, ndjson, csv, parquet or xlsx: download every row"),
    principal: Principal = Depends(reader_dep),
):
    if format:
        rows = await run_in_threadpool(
            state(request).tasks.list,
            task_owner(principal),
            status and status.value,
            type and type.value,
            cursor,
            1_000_000,
        )
        return await run_in_threadpool(rows_response, [t.as_dict() for t in rows], format, "tasks")
    items = await run_in_threadpool(
        state(request).tasks.list,
        task_owner(principal),
        status and status.value,
        type and type.value,
        cursor,
        limit + 1,
    )
    return {"items": items[:limit], "next_cursor": items[limit - 1].id if len(items) > limit else None}


@router.get("/tasks/{task_id}", response_model=TaskOut, summary="One task")
async def get_task(request: Request, task_id: str, principal: Principal = Depends(reader_dep)) -> dict:
    return await run_in_threadpool(state(request).tasks.get, task_id, task_owner(principal))


@router.patch("/tasks/{task_id}", response_model=TaskOut, summary="Change a task that has not started")
async def update_task(
    request: Request, task_id: str, body: TaskPatch, principal: Principal = Depends(writer_dep)
) -> dict:
    st = state(request)
    current = await run_in_threadpool(st.tasks.get, task_id, task_owner(principal))
    spec = None
    changes_spec = any(v is not None for v in (body.type, body.target, body.since, body.until))
    if changes_spec and TaskType.HYDRATE in (TaskType(current.type), body.type):
        raise InvalidTask(
            "a HYDRATE task's dataset and ids are set when it is created: delete it and create another "
            "(POST /v1/tasks with its ids)",
            "type" if body.type is not None else "target",
        )
    if changes_spec:
        spec = build_spec(
            (body.type or TaskType(current.type)).value,
            body.target or current.target,
            body.since or (None if body.type else dt.date.fromisoformat(current.since)),
            body.until or (None if body.type else dt.date.fromisoformat(current.until)),
            _first_day(request),
        )
    return await run_in_threadpool(
        st.tasks.update,
        task_id,
        spec,
        body.params,
        task_owner(principal),
        principal.user_id,
        body.priority,
        body.schedule,
    )


@router.delete("/tasks/{task_id}", status_code=204, summary="Delete a task that is not running")
async def delete_task(request: Request, task_id: str, principal: Principal = Depends(writer_dep)) -> None:
    await run_in_threadpool(state(request).tasks.delete, task_id, task_owner(principal), principal.user_id)


@router.post("/tasks/{task_id}/start", response_model=TaskOut, summary="Start (or re-run) a task")
async def start_task(request: Request, task_id: str, principal: Principal = Depends(writer_dep)) -> dict:
    return await run_in_threadpool(
        state(request).tasks.start, task_id, task_owner(principal), principal.user_id
    )


@router.post("/tasks/{task_id}/stop", response_model=TaskOut, summary="Stop a task (its runs are terminated)")
async def stop_task(request: Request, task_id: str, principal: Principal = Depends(writer_dep)) -> dict:
    return await run_in_threadpool(
        state(request).tasks.stop, task_id, task_owner(principal), principal.user_id
    )


@router.get(
    "/tasks/{task_id}/status", response_model=TaskStatusOut, summary="State, progress and runs of a task"
)
async def task_status(request: Request, task_id: str, principal: Principal = Depends(reader_dep)) -> dict:
    return await run_in_threadpool(state(request).tasks.get, task_id, task_owner(principal))


@router.get(
    "/tasks/{task_id}/results",
    response_model=ResultsOut | list[dict[str, Any]],
    summary="What the task collected, from the lake (tweets, the profile, follower edges, or for HYDRATE a "
    "status per id)",
    responses=EXPORT_RESPONSES,
)
async def task_results(
    request: Request,
    task_id: str,
    cursor: str | None = Query(None, max_length=512),
    limit: int = Query(100, ge=1, le=1000),
    format: Literal["json", "ndjson", "csv", "parquet", "xlsx"] | None = Query(
        None, description=f"Stream every result as a file: {', '.join(FORMATS)}"
    ),
    principal: Principal = Depends(reader_dep),
):
    st = state(request)
    task = await run_in_threadpool(st.tasks.get, task_id, task_owner(principal))
    if task.status == TaskStatus.CREATED.value:
        raise Conflict(f"task {task_id} has not started: POST /v1/tasks/{task_id}/start", "status")
    # a task's results are bounded (one key, at most 31 days; a dataset's statuses): assembled, streamed out
    if format:
        rows = await run_in_threadpool(all_pages, lambda n, c: st.task_results.page(task, n, c))
        columns = st.task_results.page(task, 1).columns if not rows else None
        return await run_in_threadpool(rows_response, rows, format, f"task-{task_id}", False, columns)
    page = await run_in_threadpool(st.task_results.page, task, limit, cursor)
    return {"task_id": task_id, "status": task.status, "items": page.rows, "next_cursor": page.next_cursor}
