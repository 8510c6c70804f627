"""GraphQL's mutations: the watchlist, its backfills and scrape tasks, with REST's permissions, checks and
errors.

Each mutation calls the function its REST route calls (``core/db/watchlist.py``, ``core/tasks.py``,
``routes/backfills.py``'s ``start_backfill`` and ``cancel_backfill``), needs the same permission
(``watchlist:write`` for the watchlist and its backfills: operators; ``tasks:write`` for tasks: analysts
their own, operators everyone's) and is audited the same way. A refusal is a GraphQL error with REST's
message and ``extensions.code`` (BAD_USER_INPUT with ``field``, NOT_FOUND, CONFLICT, UNAVAILABLE,
FORBIDDEN), and the mutation's field is null. Mutations cost what any resolver costs (1): they do one small
write each, but for ``startBackfill``, whose estimate collects a few days through the account pool first (as
REST's does).

Not here: REST's ``Idempotency-Key`` (a retried ``createTask`` creates a second task; a retried
``addWatchKey`` gets CONFLICT, which is safe), and data corrections (REST only).
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated

import strawberry
from pydantic import ValidationError
from strawberry.scalars import JSON
from strawberry.utils.str_converters import to_camel_case

from xget_pipelines.core.auth.permissions import Permission
from xget_pipelines.core.db.watchlist import create_entry, remove_entry, update_entry
from xget_pipelines.core.errors import InvalidField
from xget_pipelines.core.tasks import MAX_HYDRATE_IDS, build_spec, hydrate_ids
from xget_pipelines.core.x.watch import KeyParams, parse_params
from xget_pipelines.serving.graphql_types import (
    Backfill,
    Info,
    Task,
    TaskTypeEnum,
    WatchEntry,
    backfill_id,
    bad_input,
    call,
    need,
)
from xget_pipelines.serving.params import task_owner
from xget_pipelines.serving.routes.backfills import BackfillIn, cancel_backfill, start_backfill


def _params(budget: str | None, product: str | None, expand: list[str] | None = None) -> KeyParams:
    given = (("budget", budget), ("product", product), ("expand", expand))
    return parse_params({n: v for n, v in given if v is not None})


_EXPAND = (
    "What else to collect around each day's tweets: conversations:N, quotes, retweeters:N, media "
    "(see REST /v1/watchlist)"
)
ExpandArg = Annotated[list[str] | None, strawberry.argument(description=_EXPAND)]


def _entry_id(value: strawberry.ID) -> int:
    text = str(value).strip()
    if not (text.isascii() and text.isdigit()) or not 0 < int(text) < 2**31:
        raise InvalidField("a watchlist entry id is a positive integer (see the watchlist query)", "id")
    return int(text)


def _backfill_in(**values) -> BackfillIn:
    """REST's body of POST /v1/watchlist/backfills, with its checks; the first failing one is BAD_USER_INPUT
    naming the argument (camelCase, as the schema spells it)."""
    try:
        return BackfillIn(**values)
    except ValidationError as exc:
        first = exc.errors()[0]
        name = ".".join(str(p) for p in first["loc"])
        field = to_camel_case(name)
        raise bad_input(f"{field}: {first['msg']}", field) from None


@strawberry.input(description="A scrape task to create (see REST POST /v1/tasks).")
class TaskInput:
    type: TaskTypeEnum
    target: str = strawberry.field(
        description="@handle, a search, or a topic/hashtag; for HYDRATE the dataset's name"
    )
    since: dt.date | None = strawberry.field(default=None, description="First day (UTC); default: until")
    until: dt.date | None = strawberry.field(default=None, description="Last day, inclusive; default: today")
    params: JSON | None = strawberry.field(
        default=None,
        description="Collection parameters: budget ('all', '50 pages', '2000 items'), product, expand "
        "(a list: 'conversations:N', 'quotes', 'retweeters:N', 'media')",
    )
    start: bool = strawberry.field(default=True, description="Start at once (false: CREATED)")
    priority: int = strawberry.field(default=0, description="Dagster's run priority, -100..100")
    schedule: str | None = strawberry.field(default=None, description="Cron (UTC): the task recurs")
    ids: list[str] | None = strawberry.field(
        default=None,
        description=f"HYDRATE only: the tweet ids to look up (strings: an id passes GraphQL's Int), at most "
        f"{MAX_HYDRATE_IDS:,}",
    )


@strawberry.type(
    description="Changes: the watchlist and its backfills (watchlist:write) and scrape tasks (tasks:write)."
)
class Mutation:
    @strawberry.mutation(
        description="Watch a key (a search or an @handle) with its budget, product and expansions."
    )
    async def add_watch_key(
        self,
        info: Info,
        key: str,
        budget: str | None = None,
        product: str | None = None,
        expand: ExpandArg = None,
    ) -> WatchEntry | None:
        ctx = need(info, Permission.WATCHLIST_WRITE)
        params = await call(_params, budget, product, expand)
        entry, _ = await call(create_entry, ctx.state.engine, key, params, ctx.principal.user_id)
        return WatchEntry.of(entry, ctx.state.settings.x_max_pages_per_partition)

    @strawberry.mutation(description="Replace a key's parameters (omitted ones go back to their defaults).")
    async def update_watch_key(
        self,
        info: Info,
        id: strawberry.ID,
        budget: str | None = None,
        product: str | None = None,  # noqa: A002
        expand: ExpandArg = None,
    ) -> WatchEntry | None:
        ctx = need(info, Permission.WATCHLIST_WRITE)
        entry_id = await call(_entry_id, id)
        params = await call(_params, budget, product, expand)
        entry = await call(update_entry, ctx.state.engine, entry_id, params, ctx.principal.user_id)
        return WatchEntry.of(entry, ctx.state.settings.x_max_pages_per_partition)

    @strawberry.mutation(description="Stop collecting a key; its data stays in the lake.")
    async def remove_watch_key(self, info: Info, id: strawberry.ID) -> WatchEntry | None:  # noqa: A002
        ctx = need(info, Permission.WATCHLIST_WRITE)
        entry_id = await call(_entry_id, id)
        entry = await call(remove_entry, ctx.state.engine, entry_id, ctx.principal.user_id)
        return WatchEntry.of(entry, ctx.state.settings.x_max_pages_per_partition)

    @strawberry.mutation(description="Create a scrape task (started unless start is false).")
    async def create_task(self, info: Info, task: TaskInput) -> Task | None:
        ctx = need(info, Permission.TASKS_WRITE)
        first_day = dt.date.fromisoformat(ctx.state.settings.partitions_start_date)
        spec = await call(build_spec, task.type.value, task.target, task.since, task.until, first_day)
        params = task.params if task.params is not None else {}
        if not isinstance(params, dict):
            raise bad_input("params is an object: {budget, product, expand}", "params")
        ids = None if task.ids is None else await call(hydrate_ids, task.ids)
        created = await call(
            ctx.state.tasks.create,
            spec,
            ctx.principal.user_id,
            params,
            task.start,
            task.priority,
            task.schedule,
            ids,
        )
        return Task.of(created)

    @strawberry.mutation(description="Start (or re-run) a task.")
    async def start_task(self, info: Info, id: strawberry.ID) -> Task | None:  # noqa: A002
        ctx = need(info, Permission.TASKS_WRITE)
        owner = task_owner(ctx.principal)
        return Task.of(await call(ctx.state.tasks.start, str(id), owner, ctx.principal.user_id))

    @strawberry.mutation(description="Stop a task (its runs are terminated).")
    async def stop_task(self, info: Info, id: strawberry.ID) -> Task | None:  # noqa: A002
        ctx = need(info, Permission.TASKS_WRITE)
        owner = task_owner(ctx.principal)
        return Task.of(await call(ctx.state.tasks.stop, str(id), owner, ctx.principal.user_id))

    @strawberry.mutation(description="Delete a task that is not running; true when deleted.")
    async def delete_task(self, info: Info, id: strawberry.ID) -> bool | None:  # noqa: A002
        ctx = need(info, Permission.TASKS_WRITE)
        await call(ctx.state.tasks.delete, str(id), task_owner(ctx.principal), ctx.principal.user_id)
        return True

    @strawberry.mutation(
        description="Estimate a backfill of a watched key over since..until (a few days of the range are "
        "collected for real to measure it: seconds to minutes), then launch it unless dryRun. The same as "
        "REST POST /v1/watchlist/backfills (watchlist:write); follow it with the backfill query."
    )
    async def start_backfill(
        self,
        info: Info,
        key: str,
        since: dt.date,
        until: dt.date | None = None,
        samples: int | None = None,
        dry_run: bool = False,
    ) -> Backfill | None:
        ctx = need(info, Permission.WATCHLIST_WRITE)
        body = _backfill_in(key=key, since=since, until=until, samples=samples, dry_run=dry_run)
        return Backfill.of(await call(start_backfill, ctx.state, body, ctx.principal.user_id))

    @strawberry.mutation(
        description="Cancel a running backfill: no more runs are launched and its unfinished runs are "
        "canceled (CANCELING, then CANCELED); the days already collected stay. A finished backfill is "
        "CONFLICT naming its state. The same as REST POST /v1/watchlist/backfills/{id}/cancel "
        "(watchlist:write)."
    )
    async def cancel_backfill(self, info: Info, id: strawberry.ID) -> Backfill | None:  # noqa: A002
        ctx = need(info, Permission.WATCHLIST_WRITE)
        number = backfill_id(id)
        return Backfill.of(await call(cancel_backfill, ctx.state, number, ctx.principal.user_id))
