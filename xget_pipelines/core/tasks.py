"""Scrape tasks: what a user asks for over the API, and its life as Dagster runs.

A task names a type and a target and a range of days. It maps onto a watchlist key, whose (day, key)
partitions the ``x_ingest`` job collects; the task sensor (``sensors/tasks.py``) requests one run per day
and reports the runs' states back here. Tasks do not add their key to the watchlist: a task is a one-off
collection, the watchlist is what XGet collects every day.

| type        | target            | watch key   | days                                   | results                    |
|-------------|-------------------|-------------|----------------------------------------|----------------------------|
| SEARCH      | any X search      | the search  | since..until                           | tweets of those partitions |
| TOPIC       | a topic/hashtag   | ``#topic``  | since..until                           | tweets of those partitions |
| USER_TWEETS | ``@handle``       | ``@handle`` | since..until                           | the account's tweets       |
| USER_INFO   | ``@handle``       | ``@handle`` | today (a profile is a snapshot of now) | the profile                |
| FOLLOWERS   | ``@handle``       | ``@handle`` | today (likewise)                       | the follower edges         |

States: CREATED (saved, not started) -> PENDING (waiting for the sensor) -> RUNNING (runs requested)
-> COMPLETED | FAILED; STOPPING (``/stop`` asked; the sensor terminates the runs) -> STOPPED. A CREATED,
STOPPED, FAILED or COMPLETED task can be started again: a new attempt, new runs.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import uuid
from dataclasses import dataclass
from enum import Enum

from sqlalchemy import Engine, delete, func, select, update

from xget_pipelines.core.auth.users import audit
from xget_pipelines.core.db.engine import read_only
from xget_pipelines.core.db.models import Task
from xget_pipelines.core.errors import BadCursor, Conflict, InvalidField, NotFound, StaleCursor, XGetError
from xget_pipelines.core.x.watch import parse_watch_key

MAX_DAYS = 31
MAX_PARAMS_BYTES = 16 * 1024  # a task's labels, as JSON: they are kept with every copy of the task


class TaskType(str, Enum):
    USER_INFO = "USER_INFO"
    USER_TWEETS = "USER_TWEETS"
    SEARCH = "SEARCH"
    TOPIC = "TOPIC"
    FOLLOWERS = "FOLLOWERS"


class TaskStatus(str, Enum):
    CREATED = "CREATED"
    PENDING = "PENDING"
    RUNNING = "RUNNING"
    STOPPING = "STOPPING"
    STOPPED = "STOPPED"
    COMPLETED = "COMPLETED"
    FAILED = "FAILED"


STARTABLE = {TaskStatus.CREATED, TaskStatus.STOPPED, TaskStatus.FAILED, TaskStatus.COMPLETED}
ACTIVE = {TaskStatus.PENDING, TaskStatus.RUNNING, TaskStatus.STOPPING}
_SNAPSHOT_TYPES = {TaskType.USER_INFO, TaskType.FOLLOWERS}


class TaskError(XGetError):
    """Base of the errors of a task request."""


class InvalidTask(TaskError, InvalidField):
    """A task request that cannot be honoured; ``field`` names the input at fault."""


class TaskNotFound(TaskError, NotFound):
    def __init__(self, task_id: str):
        super().__init__(f"no task {task_id!r}")
        self.task_id = task_id


class TaskStateConflict(TaskError, Conflict):
    """The task's state forbids the change (``field`` is ``status``)."""

    def __init__(self, message: str, task_id: str):
        super().__init__(message, "status")
        self.task_id = task_id


class TaskStillActive(TaskStateConflict):
    """A task that must be stopped before it can be deleted."""


@dataclass(frozen=True)
class TaskSpec:
    type: TaskType
    target: str
    watch_key: str
    since: dt.date
    until: dt.date

    @property
    def days(self) -> list[dt.date]:
        return [self.since + dt.timedelta(days=i) for i in range((self.until - self.since).days + 1)]


def _today() -> dt.date:
    return dt.datetime.now(dt.UTC).date()


def build_spec(
    task_type: str,
    target: str,
    since: dt.date | None = None,
    until: dt.date | None = None,
    first_day: dt.date | None = None,
) -> TaskSpec:
    """Validate a task request; InvalidTask names the field at fault."""
    try:
        kind = TaskType(task_type)
    except ValueError:
        raise InvalidTask(
            f"unknown task type {task_type!r}: use one of {', '.join(t.value for t in TaskType)}", "type"
        ) from None
    text = (target or "").strip()
    if kind in (TaskType.USER_INFO, TaskType.USER_TWEETS, TaskType.FOLLOWERS):
        key = text if text.startswith("@") else f"@{text}"
    elif kind is TaskType.TOPIC:
        key = text if text.startswith("#") or " " in text else f"#{text}"
    else:
        if text.startswith("@"):
            raise InvalidTask(
                f"{text!r} is an account: use type USER_TWEETS for an account's tweets", "target"
            )
        key = text
    try:
        key = parse_watch_key(key).key
    except ValueError as exc:
        raise InvalidTask(str(exc), "target") from None
    today = _today()
    if kind in _SNAPSHOT_TYPES:
        if (since and since != today) or (until and until != today):
            raise InvalidTask(f"{kind.value} reads the account as it is now: leave since/until out", "since")
        since = until = today
    else:
        until = until or today
        since = since or until
    if until > today:
        raise InvalidTask(f"until {until} is in the future (today is {today} UTC)", "until")
    if since > until:
        raise InvalidTask(f"since {since} is after until {until}", "since")
    if (until - since).days + 1 > MAX_DAYS:
        raise InvalidTask(
            f"{(until - since).days + 1} days asked; one task covers at most {MAX_DAYS}: split it", "since"
        )
    if first_day and since < first_day:
        raise InvalidTask(
            f"since {since} is before the first collected day {first_day} (XGET_PARTITIONS_START_DATE)",
            "since",
        )
    return TaskSpec(kind, text, key, since, until)


@dataclass(frozen=True)
class ScrapeTask:
    """A task as the control-plane DB holds it and its owner sees it (the API's ``TaskOut``). ``since`` and
    ``until`` are ISO dates; ``runs`` has one entry a day of the current attempt (its run and state)."""

    id: str
    type: str
    target: str
    watch_key: str
    since: str
    until: str
    params: dict
    status: str
    progress: float
    result_count: int | None
    error: str | None
    attempt: int
    runs: list[dict]
    created_by: int | None
    created_at: dt.datetime
    updated_at: dt.datetime
    started_at: dt.datetime | None
    finished_at: dt.datetime | None

    @property
    def days(self) -> list[dt.date]:
        """The created dates the task collects, since..until."""
        first, last = dt.date.fromisoformat(self.since), dt.date.fromisoformat(self.until)
        return [first + dt.timedelta(days=i) for i in range((last - first).days + 1)]

    def as_dict(self) -> dict:
        return dataclasses.asdict(self)


def _record(row) -> ScrapeTask:
    runs = row.runs or {}
    return ScrapeTask(
        id=row.id,
        type=row.type,
        target=row.target,
        watch_key=row.watch_key,
        since=row.since,
        until=row.until,
        params=row.params or {},
        status=row.status,
        progress=row.progress,
        result_count=row.result_count,
        error=row.error,
        attempt=runs.get("attempt", 0),
        runs=[{"day": day, **info} for day, info in sorted(runs.get("days", {}).items())],
        created_by=row.created_by,
        created_at=row.created_at,
        updated_at=row.updated_at,
        started_at=row.started_at,
        finished_at=row.finished_at,
    )


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def check_params(params: dict | None) -> None:
    """A task's labels are valid Unicode and fit in ``MAX_PARAMS_BYTES`` of JSON."""
    if params is None:
        return
    try:  # a lone surrogate (JSON's "\ud800") is kept, then breaks every answer that shows the task
        json.dumps(params, default=str, ensure_ascii=False).encode()
    except UnicodeEncodeError:
        raise InvalidTask(
            "params hold a text that is not valid Unicode (a lone surrogate)", "params"
        ) from None
    size = len(json.dumps(params, default=str).encode())
    if size > MAX_PARAMS_BYTES:
        raise InvalidTask(
            f"params are {size:,} bytes of JSON; a task keeps at most {MAX_PARAMS_BYTES:,} (labels, not data)",
            "params",
        )


def _is_task_id(value: str) -> bool:
    """Whether ``value`` is a task id as ``TaskStore.create`` writes them (a UUID's canonical text)."""
    try:
        return str(uuid.UUID(value)) == value
    except ValueError:
        return False


class TaskStore:
    """Tasks in the control-plane DB. ``owner`` limits a call to one user's tasks (None: everyone's)."""

    def __init__(self, engine: Engine):
        self.engine = engine

    def create(
        self, spec: TaskSpec, user_id: int | None, params: dict | None = None, start: bool = True
    ) -> ScrapeTask:
        check_params(params)
        task_id = str(uuid.uuid4())
        now = _now()
        with self.engine.begin() as conn:
            conn.execute(
                Task.__table__.insert().values(
                    id=task_id,
                    type=spec.type.value,
                    target=spec.target,
                    watch_key=spec.watch_key,
                    since=spec.since.isoformat(),
                    until=spec.until.isoformat(),
                    params=params or {},
                    status=(TaskStatus.PENDING if start else TaskStatus.CREATED).value,
                    progress=0.0,
                    runs={"attempt": 1 if start else 0, "days": {}},
                    created_by=user_id,
                    created_at=now,
                    updated_at=now,
                )
            )
            audit(
                conn,
                user_id,
                "task.create",
                f"task:{task_id}",
                {"type": spec.type.value, "key": spec.watch_key},
            )
        return self.get(task_id)

    def _row(self, conn, task_id: str, owner: int | None):
        query = select(Task).where(Task.id == task_id)
        if owner is not None:
            query = query.where(Task.created_by == owner)
        row = conn.execute(query).first()
        if row is None:
            raise TaskNotFound(task_id)
        return row

    def get(self, task_id: str, owner: int | None = None) -> ScrapeTask:
        with read_only(self.engine) as conn:
            return _record(self._row(conn, task_id, owner))

    def list(
        self,
        owner: int | None = None,
        status: str | None = None,
        task_type: str | None = None,
        after: str | None = None,
        limit: int = 100,
    ) -> list[ScrapeTask]:
        """Newest first; ``after`` is the id of the last task of the previous page."""
        query = select(Task).order_by(Task.created_at.desc(), Task.id.desc()).limit(limit)
        if owner is not None:
            query = query.where(Task.created_by == owner)
        if status:
            query = query.where(Task.status == TaskStatus(status).value)
        if task_type:
            query = query.where(Task.type == TaskType(task_type).value)
        if after and not _is_task_id(after):
            raise BadCursor(
                "cursor is not one this API issued: pass next_cursor of the previous page", "cursor"
            )
        with read_only(self.engine) as conn:
            if after:
                anchor = conn.execute(select(Task.created_at, Task.id).where(Task.id == after)).first()
                if anchor is None:
                    raise StaleCursor(f"cursor {after!r} names no task", "cursor")
                query = query.where(
                    (Task.created_at < anchor.created_at)
                    | ((Task.created_at == anchor.created_at) & (Task.id < anchor.id))
                )
            return [_record(r) for r in conn.execute(query)]

    def count(self, status: str) -> int:
        with read_only(self.engine) as conn:
            return conn.execute(
                select(func.count()).select_from(Task).where(Task.status == status)
            ).scalar_one()

    def counts(self) -> dict[str, int]:
        with read_only(self.engine) as conn:
            return {s: n for s, n in conn.execute(select(Task.status, func.count()).group_by(Task.status))}

    def update(
        self, task_id: str, spec: TaskSpec | None, params: dict | None, owner: int | None, actor: int | None
    ) -> ScrapeTask:
        """Change a task that has not started (CREATED); others must be stopped and re-created."""
        check_params(params)
        with self.engine.begin() as conn:
            row = self._row(conn, task_id, owner)
            if row.status != TaskStatus.CREATED.value:
                raise TaskStateConflict(
                    f"task {task_id} is {row.status}: only a CREATED task can be changed", task_id
                )
            values: dict = {"updated_at": _now()}
            if spec is not None:
                values |= {
                    "type": spec.type.value,
                    "target": spec.target,
                    "watch_key": spec.watch_key,
                    "since": spec.since.isoformat(),
                    "until": spec.until.isoformat(),
                }
            if params is not None:
                values["params"] = params
            conn.execute(update(Task).where(Task.id == task_id).values(**values))
            audit(conn, actor, "task.update", f"task:{task_id}")
        return self.get(task_id)

    def delete(self, task_id: str, owner: int | None, actor: int | None) -> None:
        with self.engine.begin() as conn:
            row = self._row(conn, task_id, owner)
            if TaskStatus(row.status) in ACTIVE:
                raise TaskStillActive(f"task {task_id} is {row.status}: stop it first", task_id)
            conn.execute(delete(Task).where(Task.id == task_id))
            audit(conn, actor, "task.delete", f"task:{task_id}")

    def start(self, task_id: str, owner: int | None, actor: int | None) -> ScrapeTask:
        with self.engine.begin() as conn:
            row = self._row(conn, task_id, owner)
            if TaskStatus(row.status) not in STARTABLE:
                raise TaskStateConflict(f"task {task_id} is already {row.status}", task_id)
            runs = dict(row.runs or {})
            attempt = int(runs.get("attempt", 0)) + 1  # new run keys: earlier attempts' runs stay in history
            conn.execute(
                update(Task)
                .where(Task.id == task_id)
                .values(
                    status=TaskStatus.PENDING.value,
                    progress=0.0,
                    result_count=None,
                    error=None,
                    finished_at=None,
                    runs={"attempt": attempt, "days": {}},
                    updated_at=_now(),
                )
            )
            audit(conn, actor, "task.start", f"task:{task_id}", {"attempt": attempt})
        return self.get(task_id)

    def stop(self, task_id: str, owner: int | None, actor: int | None) -> ScrapeTask:
        with self.engine.begin() as conn:
            row = self._row(conn, task_id, owner)
            status = TaskStatus(row.status)
            if status is TaskStatus.PENDING and not (row.runs or {}).get("days"):
                new = TaskStatus.STOPPED  # nothing launched yet
            elif status in (TaskStatus.RUNNING, TaskStatus.PENDING):
                new = TaskStatus.STOPPING
            else:
                raise TaskStateConflict(f"task {task_id} is {row.status}: nothing to stop", task_id)
            conn.execute(
                update(Task)
                .where(Task.id == task_id)
                .values(
                    status=new.value,
                    updated_at=_now(),
                    finished_at=_now() if new is TaskStatus.STOPPED else None,
                )
            )
            audit(conn, actor, "task.stop", f"task:{task_id}")
        return self.get(task_id)

    # -- the sensor's side -----------------------------------------------------------------------------

    def in_states(self, *states: TaskStatus, limit: int = 200) -> list[ScrapeTask]:
        with read_only(self.engine) as conn:
            rows = conn.execute(
                select(Task)
                .where(Task.status.in_([s.value for s in states]))
                .order_by(Task.created_at)
                .limit(limit)
            )
            return [_record(r) for r in rows]

    def record(self, task_id: str, *, expect: str, **values) -> bool:
        """Update a task the sensor tracks, only if it is still in state ``expect`` (a user may have stopped
        it meanwhile); returns whether it was updated."""
        values["updated_at"] = _now()
        with self.engine.begin() as conn:
            return (
                conn.execute(
                    update(Task).where(Task.id == task_id, Task.status == expect).values(**values)
                ).rowcount
                > 0
            )
