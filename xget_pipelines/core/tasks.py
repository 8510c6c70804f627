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
| HYDRATE     | a dataset name    | ``hydrate:<dataset>`` | none (ids are looked up as X has them now) | a status per id |

HYDRATE is not a watchlist collection: it takes a list of tweet ids (``ids``, at most ``MAX_HYDRATE_IDS`` a
request) into a dataset, and becomes one run of the ``x_hydrate`` job, which looks every id of the dataset
up through the pool with ``core/x/hydrate.py`` (what ``xget hydrate`` does) and records a status per id in
the lake's ``ops/hydration``. The ids are kept in the control plane with the task, in the same transaction
(``core/db/hydration.py`` says why); a dataset's ids are a set, so creating another task with the same
dataset adds only the new ids and its run skips the ids that already have a status (it resumes). One task
of a dataset is active at a time. since/until, params and schedule do not apply and are refused.

A task's ``params`` are the collection parameters of a watchlist key (``core/x/watch.py`` ``KeyParams``:
``budget``, ``product``, ``expand``), validated like the watchlist's and passed to its runs (tag ``xget/params``): they
decide what the runs collect, not the watchlist's parameters for the same key. ``priority`` is Dagster's
run priority (tag ``dagster/priority``: the run queue starts higher ones first). ``schedule``, a cron
expression (UTC), makes the task recur: each time it comes round after the task finished (COMPLETED or
FAILED; a STOPPED task stays stopped), the sensor starts a new attempt over the same number of days,
moved to end on that day (a snapshot type reads today again).

States: CREATED (saved, not started) -> PENDING (waiting for the sensor) -> RUNNING (runs requested)
-> COMPLETED | FAILED; STOPPING (``/stop`` asked; the sensor terminates the runs) -> STOPPED. A CREATED,
STOPPED, FAILED or COMPLETED task can be started again: a new attempt, new runs.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import uuid
from dataclasses import dataclass
from enum import Enum

from cronsim import CronSim, CronSimError
from sqlalchemy import Engine, delete, func, select, update
from sqlalchemy.exc import IntegrityError

from xget_pipelines.core.auth.users import audit
from xget_pipelines.core.db import hydration
from xget_pipelines.core.db.engine import read_only
from xget_pipelines.core.db.models import Task
from xget_pipelines.core.errors import BadCursor, Conflict, InvalidField, NotFound, StaleCursor, XGetError
from xget_pipelines.core.x.hydrate import check_dataset
from xget_pipelines.core.x.hydrate import watch_key as hydrate_key
from xget_pipelines.core.x.hydrate_ids import IdFileError, parse_list, parse_text
from xget_pipelines.core.x.watch import InvalidParams, check_for_key, parse_params, parse_watch_key

MAX_DAYS = 31
PARAMS_TAG = "xget/params"  # a task run's tag: the task's collection parameters (JSON), read by raw_x_pages
PRIORITY_RANGE = (-100, 100)  # Dagster's run priority: any int; a bounded range keeps one user from "inf"
MAX_HYDRATE_IDS = 100_000  # ids a HYDRATE request takes: about 2 MB of JSON, under the API's body limit


class TaskType(str, Enum):
    USER_INFO = "USER_INFO"
    USER_TWEETS = "USER_TWEETS"
    SEARCH = "SEARCH"
    TOPIC = "TOPIC"
    FOLLOWERS = "FOLLOWERS"
    HYDRATE = "HYDRATE"


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
    if kind is TaskType.HYDRATE:
        return _hydrate_spec(text, since, until)
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


def _hydrate_spec(dataset: str, since: dt.date | None, until: dt.date | None) -> TaskSpec:
    for name, value in (("since", since), ("until", until)):
        if value is not None:
            raise InvalidTask(f"HYDRATE looks its ids up as X has them now: leave {name} out", name)
    try:
        check_dataset(dataset)
    except ValueError as exc:
        raise InvalidTask(f"a HYDRATE task's target is the name of its dataset: {exc}", "target") from None
    today = _today()  # the day its run is requested: where its raw pages land is the day they are fetched
    return TaskSpec(TaskType.HYDRATE, dataset, hydrate_key(dataset), today, today)


def _capped(count: int, field: str) -> None:
    if count > MAX_HYDRATE_IDS:
        raise InvalidTask(
            f"{count:,} ids in one request; a request takes at most {MAX_HYDRATE_IDS:,}: split them over "
            "several tasks with the same dataset (each adds its ids to the dataset)",
            field,
        )


def hydrate_ids(items: list) -> list[int]:
    """The distinct tweet ids of a JSON list (numbers or strings of digits), in order; ``InvalidTask`` on
    ``ids`` names the first bad items or the cap."""
    _capped(len(items), "ids")
    try:
        return parse_list(items, "ids").ids
    except IdFileError as exc:
        raise InvalidTask(str(exc), "ids") from None


def hydrate_ids_from_text(text: str, as_csv: bool, column: str | None = None) -> list[int]:
    """The ids of an uploaded file's text, by ``xget hydrate``'s rules (one a line, or a CSV column)."""
    try:
        parsed = parse_text(text, as_csv, column, "body")
    except IdFileError as exc:
        raise InvalidTask(str(exc), "body") from None
    _capped(parsed.rows, "body")
    return parsed.ids


def _check_hydrate(params: dict | None, schedule: str | None, ids: list[int] | None) -> None:
    """What a HYDRATE task refuses: collection parameters, a schedule, no ids."""
    if params:
        raise InvalidTask("HYDRATE takes no collection parameters: leave params out", "params")
    if schedule and schedule.strip():
        raise InvalidTask(
            "HYDRATE does not recur: a status is final (create the task again to add ids)", "schedule"
        )
    if not ids:
        raise InvalidTask("HYDRATE needs its tweet ids: give ids, a list of ids (or upload a file)", "ids")
    _capped(len(ids), "ids")


@dataclass(frozen=True)
class ScrapeTask:
    """A task as the control-plane DB holds it and its owner sees it (the API's ``TaskOut``). ``since`` and
    ``until`` are ISO dates; ``runs`` has one entry a day of the current attempt (its run and state). A
    HYDRATE task has one run, and ``id_count`` (its dataset's ids) and ``status_counts`` (ids per status, as
    its run last left them)."""

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
    priority: int = 0
    schedule: str | None = None
    next_at: dt.datetime | None = None
    id_count: int | None = None
    status_counts: dict[str, int] | None = None

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
        priority=row.priority or 0,
        schedule=row.schedule,
        next_at=_utc(row.next_at),
        id_count=runs.get("ids"),
        status_counts=runs.get("counts"),
    )


def _utc(value: dt.datetime | None) -> dt.datetime | None:
    """SQLite hands back naive times; every time XGet stores is UTC."""
    return value if value is None or value.tzinfo is not None else value.replace(tzinfo=dt.UTC)


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def check_params(params: dict | None, watch_key: str | None = None) -> dict | None:
    """A task's collection parameters, validated (``InvalidTask`` on ``params.<name>``; with ``watch_key``,
    also that its expansions fit the key) and normalised as the watchlist stores them; None stays None (a
    PATCH that leaves them)."""
    if params is None:
        return None
    try:
        parsed = parse_params(params)
        if watch_key is not None:
            check_for_key(watch_key, parsed)
        return parsed.to_json()
    except InvalidParams as exc:
        raise InvalidTask(f"params: {exc}", f"params.{exc.field}") from None


def check_priority(priority: int | None) -> int | None:
    low, high = PRIORITY_RANGE
    if priority is not None and not low <= priority <= high:
        raise InvalidTask(
            f"priority {priority} is out of range: from {low} to {high} (higher runs first)", "priority"
        )
    return priority


def check_schedule(schedule: str | None) -> str | None:
    """A cron expression of five fields (minute hour day month weekday, UTC), or None / "" for none."""
    if schedule is None or not schedule.strip():
        return None
    text = " ".join(schedule.split())
    try:
        next_tick(text, _now())
    except (CronSimError, ValueError) as exc:
        raise InvalidTask(
            f"schedule {schedule!r} is not a cron expression ({exc}): give five fields, minute hour day month "
            "weekday, in UTC, e.g. '0 6 * * *' for every day at 06:00",
            "schedule",
        ) from None
    return text


def next_tick(schedule: str, after: dt.datetime) -> dt.datetime:
    """The first time ``schedule`` comes round strictly after ``after`` (UTC)."""
    if len(schedule.split()) != 5:
        raise ValueError(f"{len(schedule.split())} fields, not 5")
    start = after.astimezone(dt.UTC).replace(second=0, microsecond=0)
    return next(CronSim(schedule, start)).astimezone(dt.UTC)


def moved_to(task: ScrapeTask, day: dt.date) -> tuple[dt.date, dt.date]:
    """(since, until) of a recurring task's next attempt: as many days as before, ending on ``day``."""
    span = dt.date.fromisoformat(task.until) - dt.date.fromisoformat(task.since)
    return day - span, day


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
        self,
        spec: TaskSpec,
        user_id: int | None,
        params: dict | None = None,
        start: bool = True,
        priority: int = 0,
        schedule: str | None = None,
        ids: list[int] | None = None,
    ) -> ScrapeTask:
        """Save a task (PENDING, or CREATED if not ``start``); a HYDRATE task's ``ids`` are added to its
        dataset in the same transaction."""
        if spec.type is TaskType.HYDRATE:
            _check_hydrate(params, schedule, ids)
        elif ids:
            raise InvalidTask(f"ids are a HYDRATE task's; a {spec.type.value} task takes a target", "ids")
        params = check_params(params, spec.watch_key)
        check_priority(priority)
        schedule = check_schedule(schedule)
        task_id = str(uuid.uuid4())
        now = _now()
        try:
            with self.engine.begin() as conn:
                runs: dict = {"attempt": 1 if start else 0, "days": {}}
                detail: dict = {"type": spec.type.value, "key": spec.watch_key}
                if spec.type is TaskType.HYDRATE:
                    if start:
                        self._one_active(conn, spec.watch_key, task_id)
                    detail["ids_added"] = hydration.add_ids(conn, spec.target, ids or [], task_id, now)
                    runs["ids"] = hydration.count(conn, spec.target)
                self._insert(conn, task_id, spec, params, start, priority, schedule, runs, user_id, now)
                audit(conn, user_id, "task.create", f"task:{task_id}", detail)
        except IntegrityError:  # another request added ids to the dataset at the same moment
            raise Conflict(
                f"dataset {spec.target!r} was changed by another request meanwhile: send this one again",
                "target",
            ) from None
        return self.get(task_id)

    def _one_active(self, conn, watch_key: str, task_id: str) -> None:
        """Refuse a second active HYDRATE task of a dataset: two runs would ask X for the same ids."""
        busy = conn.execute(
            select(Task.id).where(
                Task.watch_key == watch_key,
                Task.type == TaskType.HYDRATE.value,
                Task.id != task_id,
                Task.status.in_([s.value for s in ACTIVE]),
            )
        ).first()
        if busy is not None:
            raise Conflict(
                f"task {busy.id} of dataset {watch_key.removeprefix('hydrate:')!r} is active: wait for it to "
                "finish, or stop it, before starting another",
                "target",
            )

    @staticmethod
    def _insert(conn, task_id, spec, params, start, priority, schedule, runs, user_id, now) -> None:
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
                runs=runs,
                created_by=user_id,
                created_at=now,
                updated_at=now,
                priority=priority,
                schedule=schedule,
                next_at=next_tick(schedule, now) if schedule and start else None,
            )
        )

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
        self,
        task_id: str,
        spec: TaskSpec | None,
        params: dict | None,
        owner: int | None,
        actor: int | None,
        priority: int | None = None,
        schedule: str | None = None,
    ) -> ScrapeTask:
        """Change a task that has not started (CREATED); others must be stopped and re-created. ``schedule``
        None leaves it, "" removes it."""
        params = check_params(params, spec.watch_key if spec is not None else None)
        check_priority(priority)
        new_schedule = check_schedule(schedule)
        with self.engine.begin() as conn:
            row = self._row(conn, task_id, owner)
            if params is not None and spec is None:
                check_params(params, row.watch_key)  # the expansions against the task's key
            if row.status != TaskStatus.CREATED.value:
                raise TaskStateConflict(
                    f"task {task_id} is {row.status}: only a CREATED task can be changed", task_id
                )
            if row.type == TaskType.HYDRATE.value:
                _check_hydrate(params, schedule, [0])  # its ids are in; params and a schedule do not apply
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
            if priority is not None:
                values["priority"] = priority
            if schedule is not None:
                values["schedule"] = new_schedule
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
            fresh: dict = {"attempt": attempt, "days": {}}
            if row.type == TaskType.HYDRATE.value:
                self._one_active(conn, row.watch_key, task_id)
                fresh["ids"] = hydration.count(conn, row.target)
            conn.execute(
                update(Task)
                .where(Task.id == task_id)
                .values(
                    status=TaskStatus.PENDING.value,
                    progress=0.0,
                    result_count=None,
                    error=None,
                    finished_at=None,
                    runs=fresh,
                    updated_at=_now(),
                    next_at=next_tick(row.schedule, _now()) if row.schedule else None,
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

    def due(self, now: dt.datetime, limit: int = 200) -> list[ScrapeTask]:
        """Recurring tasks whose schedule has come round since they finished (COMPLETED or FAILED)."""
        with read_only(self.engine) as conn:
            rows = conn.execute(
                select(Task)
                .where(
                    Task.schedule.is_not(None),
                    Task.next_at <= now,
                    Task.status.in_([TaskStatus.COMPLETED.value, TaskStatus.FAILED.value]),
                )
                .order_by(Task.next_at)
                .limit(limit)
            )
            return [_record(r) for r in rows]

    def recur(self, task: ScrapeTask, now: dt.datetime, first_day: dt.date | None = None) -> bool:
        """Start a recurring task's next attempt over its days moved to end today (the sensor's side); False
        if it changed meanwhile (stopped, started, edited by a user)."""
        since, until = moved_to(task, now.date())
        if first_day is not None:
            since = max(since, first_day)
        values = {
            "status": TaskStatus.PENDING.value,
            "since": since.isoformat(),
            "until": until.isoformat(),
            "progress": 0.0,
            "result_count": None,
            "error": None,
            "finished_at": None,
            "runs": {"attempt": task.attempt + 1, "days": {}},
            "next_at": next_tick(task.schedule, now),
        }
        with self.engine.begin() as conn:
            started = (
                conn.execute(
                    update(Task)
                    .where(Task.id == task.id, Task.status == task.status)  # a user may have acted meanwhile
                    .values(updated_at=_now(), **values)
                ).rowcount
                > 0
            )
            if started:
                detail = {"attempt": task.attempt + 1, "since": values["since"], "until": values["until"]}
                audit(conn, None, "task.recur", f"task:{task.id}", detail)
        return started

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
