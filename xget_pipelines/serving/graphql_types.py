"""The GraphQL schema's types and resolvers (``graphql.py`` serves them and sets the limits).

Every resolver makes the same core calls as the REST routes (``TweetReader``, ``AnalyticsReader``,
``SearchService``, ``TaskStore``), checks the permission the REST route needs (``need``), and runs the
blocking call in the threadpool (``call``), which also turns the core's errors into GraphQL errors with
``extensions.code`` from the API's one error table (``serving/errors.py``): NOT_FOUND, BAD_USER_INPUT (with
``field``, the argument at fault), CONFLICT, UNAVAILABLE; a missing permission is FORBIDDEN.

Every per-node field that reads the lake loads through a per-request DataLoader that batches the ids a page
asks for, so a page costs one lake query per field, whatever its size: ``Tweet.author`` (users by id),
``Tweet.sentiment``, ``XUser.profile``, ``XUser.similar`` (two queries: the lists, then the names) and
``XUser.tweets`` (each author's page in one query over the days held in memory, one more for older days).
Before, the last three ran a query per node: 500 tweets' author profiles took 2.4 s.

Tweet and user ids are 64-bit: they are ``ID`` (strings), which JavaScript cannot round. Counts that can pass
2**31 (views, followers, trend counts) are ``Long``, a JSON number.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from enum import Enum
from typing import Annotated, Any, NewType

import strawberry
from graphql import GraphQLError
from starlette.concurrency import run_in_threadpool
from strawberry.dataloader import DataLoader
from strawberry.fastapi import BaseContext
from strawberry.scalars import JSON

from xget_pipelines.core.auth.permissions import Permission
from xget_pipelines.core.auth.users import Principal
from xget_pipelines.core.db.watchlist import Entry, entries
from xget_pipelines.core.errors import InvalidField, NotFound
from xget_pipelines.core.lake.cursors import Page, tweet_cursor
from xget_pipelines.core.lake.tweet_reader import TweetFilter
from xget_pipelines.core.tasks import ScrapeTask, TaskStatus, TaskType
from xget_pipelines.serving.errors import ANSWERED, api_message, graphql_code
from xget_pipelines.serving.params import aware, task_owner, time_window
from xget_pipelines.serving.routes.backfills import BackfillOut, read_backfill
from xget_pipelines.serving.state import ServingState

MAX_PAGE = 500  # largest first: of tweets, search, a user's tweets and tasks
MAX_TRENDS = 1000
MAX_SIMILAR = 50
_UNLOADED = object()

Long = NewType("Long", int)
SCALARS = {
    Long: strawberry.scalar(
        name="Long",
        serialize=int,
        parse_value=int,  # for StrawberryConfig
        description="A 64-bit integer (a count), sent as a JSON number.",
    )
}
TaskStatusEnum = strawberry.enum(
    Enum("TaskStatus", {s.name: s.value for s in TaskStatus}),
    description="A task's state (see core/tasks.py)",
)
TaskTypeEnum = strawberry.enum(
    Enum("TaskType", {t.name: t.value for t in TaskType}),
    description="USER_INFO, USER_TWEETS, SEARCH, TOPIC, FOLLOWERS, HYDRATE",
)


@strawberry.enum(description="hashtag: hashtags; volume: a watchlist key's own tweet volume")
class TrendKind(Enum):
    HASHTAG = "hashtag"
    VOLUME = "volume"


# -- errors, permissions, the request context -------------------------------------------------------------


def gql_error(code: str, message: str, field: str | None = None) -> GraphQLError:
    extensions: dict[str, Any] = {"code": code}
    if field:
        # The core names a page's position ``cursor`` (REST's parameter); GraphQL's argument is ``after``.
        extensions["field"] = "after" if field == "cursor" else field
    return GraphQLError(message, extensions=extensions)


def bad_input(message: str, field: str) -> GraphQLError:
    return gql_error("BAD_USER_INPUT", message, field)


def core_error(exc: Exception) -> GraphQLError:
    """A GraphQL error for an error of the API's table (``serving/errors.py``), with the same message."""
    return gql_error(graphql_code(exc), api_message(exc), getattr(exc, "field", None))


async def call(fn, *args, none_if_missing: bool = False):
    """``fn(*args)`` in a thread (core calls block; GraphQL runs on the event loop and threads of its own,
    see ``graphql.py``); core errors become GraphQL errors (anything else stays an exception, which
    ``graphql.py`` masks)."""
    try:
        return await run_in_threadpool(fn, *args)
    except NotFound as exc:
        if none_if_missing:
            return None
        raise core_error(exc) from exc
    except ANSWERED as exc:
        raise core_error(exc) from exc


class Context(BaseContext):
    """Per request: the app's state, who asks (None only while serving the GraphiQL page) and the loaders."""

    def __init__(self, state: ServingState, principal: Principal | None):
        super().__init__()
        self.state = state
        self.principal = principal
        self.cost: int | None = None  # the query's cost, once validated (graphql.py)
        self.users = DataLoader(load_fn=self._load_users)
        self.sentiments = DataLoader(load_fn=self._load_sentiments)
        self.profiles = DataLoader(load_fn=self._load_profiles)
        self.similar = DataLoader(load_fn=self._load_similar)  # keys: (user id, first)
        self.user_tweets = DataLoader(load_fn=self._load_user_tweets)  # keys: (user id, first, after)

    async def _load_users(self, ids: list[int]) -> list[dict | None]:
        found = await call(self.state.tweets.users_by_ids, list(ids))
        return [found.get(i) for i in ids]

    async def _load_sentiments(self, ids: list[int]) -> list[dict | None]:
        found = await call(self.state.tweets.sentiments, list(ids))
        return [found.get(i) for i in ids]

    async def _load_profiles(self, ids: list[int]) -> list[dict | None]:
        found = await call(self.state.analytics.profiles, list(ids))
        return [found.get(i) for i in ids]

    async def _load_similar(self, keys: list[tuple[int, int]]) -> list[list[dict]]:
        found: dict[tuple[int, int], list[dict]] = {}
        for first in {f for _, f in keys}:  # one batch per page size asked (nearly always one)
            ids = [i for i, f in keys if f == first]
            for i, rows in (await call(self.state.analytics.similar_many, ids, first)).items():
                found[(i, first)] = rows
        return [found.get(k, []) for k in keys]

    async def _load_user_tweets(self, keys: list[tuple[int, int, str | None]]) -> list[Page]:
        found: dict[tuple[int, int, str | None], Page] = {}
        for first, after in {(f, a) for _, f, a in keys}:
            ids = [i for i, f, a in keys if (f, a) == (first, after)]
            for i, page in (await call(self.state.tweets.pages_by_author, ids, first, after)).items():
                found[(i, first, after)] = page
        return [found[k] for k in keys]


Info = strawberry.Info[Context, None]


def need(info: Info, permission: Permission) -> Context:
    ctx = info.context
    if ctx.principal is None or not ctx.principal.can(permission):
        role = ctx.principal.role if ctx.principal else "anonymous"
        raise gql_error(
            "FORBIDDEN",
            f"role {role!r} may not do this (needs {permission.value}); "
            "ask an admin for a role that grants it",
        )
    return ctx


def backfill_id(value: strawberry.ID) -> int:
    """A backfill id argument as REST's path checks it (a positive 32-bit integer)."""
    text = str(value).strip()
    if not (text.isascii() and text.isdigit()) or not 0 < int(text) < 2**31:
        raise bad_input("a backfill id is a positive integer (startBackfill returns it)", "id")
    return int(text)


def page_args(first: int, after: str | None, maximum: int = MAX_PAGE) -> None:
    if not 1 <= first <= maximum:
        raise bad_input(f"first must be between 1 and {maximum}", "first")
    if after is not None and len(after) > 512:
        raise bad_input("after is not a cursor this API issued", "after")


# -- conversions -----------------------------------------------------------------------------------------


def _id(value) -> strawberry.ID | None:
    return None if value is None else strawberry.ID(str(int(value)))


def _time(value) -> dt.datetime | None:
    """A datetime with its offset: a search index's _source has strings, SQLite gives naive UTC values."""
    if value is None:
        return None
    if not isinstance(value, dt.datetime):
        value = dt.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


def _build(cls, row: dict, **values):
    """``cls`` with every field it has taken from ``row`` by name, except those given."""
    for f in dataclasses.fields(cls):
        if f.init and f.name not in values and f.name in row:
            values[f.name] = row[f.name]
    return cls(**values)


# -- types -------------------------------------------------------------------------------------------------


@strawberry.type(description="Engagement counts as last observed.")
class TweetMetrics:
    likes: Long
    retweets: Long
    replies: Long
    quotes: Long
    bookmarks: Long
    views: Long | None = None


@strawberry.type(description="The newest sentiment score of a tweet.")
class TweetSentiment:
    label: str
    score: float
    model_version: str | None = None


@strawberry.type(description="A tweet as merged in the lake (entities/tweets): its newest observation.")
class Tweet:
    id: strawberry.ID
    metrics: TweetMetrics
    conversation_id: strawberry.ID | None = None
    author_id: strawberry.ID | None = None
    created_at: dt.datetime | None = None
    text: str | None = None
    lang: str | None = None
    reply_to_tweet_id: strawberry.ID | None = None
    quoted_tweet_id: strawberry.ID | None = None
    retweeted_tweet_id: strawberry.ID | None = None
    is_quote: bool | None = None
    is_retweet: bool | None = None
    has_media: bool | None = None
    first_seen: dt.datetime | None = None
    last_seen: dt.datetime | None = None
    tombstone: str | None = strawberry.field(default=None, description="Why X no longer serves it, if so")
    prefetched_sentiment: strawberry.Private[Any] = _UNLOADED

    @classmethod
    def from_row(cls, row: dict) -> Tweet:
        counts = {
            name: int(row.get(f"{column}_count") or 0)
            for name, column in (
                ("likes", "like"),
                ("retweets", "retweet"),
                ("replies", "reply"),
                ("quotes", "quote"),
                ("bookmarks", "bookmark"),
            )
        }
        return _build(
            cls,
            row,
            id=_id(row["tweet_id"]),
            metrics=TweetMetrics(**counts, views=row.get("view_count")),
            **{
                k: _id(row.get(k))
                for k in (
                    "conversation_id",
                    "author_id",
                    "reply_to_tweet_id",
                    "quoted_tweet_id",
                    "retweeted_tweet_id",
                )
            },
            **{k: _time(row.get(k)) for k in ("created_at", "first_seen", "last_seen")},
            prefetched_sentiment=row.get("sentiment", _UNLOADED),
        )

    @strawberry.field(description="The author as last observed; null when not in the lake.")
    async def author(self, info: Info) -> XUser | None:
        if self.author_id is None:
            return None
        row = await info.context.users.load(int(self.author_id))
        return XUser.from_row(row) if row else None

    @strawberry.field(description="The newest sentiment score; null when not scored.")
    async def sentiment(self, info: Info) -> TweetSentiment | None:
        row = self.prefetched_sentiment
        if row is _UNLOADED:
            row = await info.context.sentiments.load(int(self.id))
        return _build(TweetSentiment, row) if row else None


@strawberry.type
class PageInfo:
    has_next_page: bool
    end_cursor: str | None = strawberry.field(default=None, description="Pass as after: for the next page")


@strawberry.type
class TweetEdge:
    node: Tweet
    cursor: str | None = strawberry.field(
        default=None, description="Pass as after: to continue after this tweet (null if the backend cannot)"
    )


@strawberry.type(description="Tweets newest first, a page at a time (first:, after: endCursor).")
class TweetConnection:
    edges: list[TweetEdge]
    page_info: PageInfo
    backend: str | None = strawberry.field(default=None, description="search: which backend answered")

    @classmethod
    def of(cls, page: Page, backend: str | None = None) -> TweetConnection:
        lake_cursors = backend is None or backend.startswith("lake")  # an index's cursors are its own
        edges = []
        for row in page.rows:
            created = _time(row.get("created_at"))
            cursor = tweet_cursor(created, row["tweet_id"]) if lake_cursors and created else None
            edges.append(TweetEdge(node=Tweet.from_row(row), cursor=cursor))
        if edges and page.next_cursor:
            edges[-1].cursor = page.next_cursor
        return cls(
            edges=edges,
            backend=backend,
            page_info=PageInfo(
                has_next_page=page.next_cursor is not None,
                end_cursor=page.next_cursor or (edges[-1].cursor if edges else None),
            ),
        )


@strawberry.type(
    description="A user's profile (analytics/user_profiles): activity, topics, sentiment, "
    "engagement, influence, bot signals."
)
class Profile:
    user_id: strawberry.ID
    username: str | None = None
    display_name: str | None = None
    tweets: Long | None = None
    active_days: int | None = None
    tweets_per_day: float | None = None
    active_hours: list[int] | None = None
    original_share: float | None = None
    reply_share: float | None = None
    retweet_share: float | None = None
    quote_share: float | None = None
    top_hashtags: list[str] | None = None
    top_mentions: list[str] | None = None
    mean_sentiment: float | None = None
    engagement_rate: float | None = None
    followers_count: Long | None = None
    following_count: Long | None = None
    followers_growth: Long | None = None
    following_growth: Long | None = None
    growth_days: float | None = None
    pagerank_mention: float | None = None
    pagerank_follow: float | None = None
    mention_community: int | None = None
    bot_signals: list[str] | None = None
    bot_score: float | None = None
    coordination_cluster: str | None = None  # analytics/coordination_members' cluster, when in one


@strawberry.type(description="A user whose tweets are close to another's (tweet embeddings).")
class SimilarUser:
    user_id: strawberry.ID
    similarity: float | None = None
    username: str | None = None
    display_name: str | None = None
    tweets: Long | None = None
    followers_count: Long | None = None
    top_hashtags: list[str] | None = None


@strawberry.type(description="An X user as last observed (entities/users).")
class XUser:
    id: strawberry.ID
    username: str | None = None
    display_name: str | None = None
    description: str | None = None
    location: str | None = None
    url: str | None = None
    created_at: dt.datetime | None = None
    followers_count: Long | None = None
    following_count: Long | None = None
    tweet_count: Long | None = None
    listed_count: Long | None = None
    favourites_count: Long | None = None
    media_count: Long | None = None
    verified: bool | None = None
    verified_type: str | None = None
    blue_verified: bool | None = None
    protected: bool | None = None
    profile_image_url: str | None = None
    profile_banner_url: str | None = None
    first_seen: dt.datetime | None = None
    last_seen: dt.datetime | None = None

    @classmethod
    def from_row(cls, row: dict) -> XUser:
        return _build(cls, row, id=_id(row["user_id"]))

    @strawberry.field(description="The user's tweets, newest first.")
    async def tweets(self, info: Info, first: int = 50, after: str | None = None) -> TweetConnection | None:
        ctx = need(info, Permission.DATA_READ)
        page_args(first, after)
        return TweetConnection.of(await ctx.user_tweets.load((int(self.id), first, after)))

    @strawberry.field(description="The user's profile; null until the marts job has profiled the user.")
    async def profile(self, info: Info) -> Profile | None:
        ctx = need(info, Permission.ANALYTICS_READ)
        row = await ctx.profiles.load(int(self.id))
        return _build(Profile, row, user_id=_id(row["user_id"])) if row else None

    @strawberry.field(description="The most similar users (empty until the user is profiled).")
    async def similar(self, info: Info, first: int = 5) -> list[SimilarUser] | None:
        ctx = need(info, Permission.ANALYTICS_READ)
        page_args(first, None, MAX_SIMILAR)
        rows = await ctx.similar.load((int(self.id), first))
        return [_build(SimilarUser, r, user_id=_id(r["user_id"])) for r in rows]


@strawberry.type(description="A term of a window: total count and its peak burst score.")
class Trend:
    name: str
    count: Long
    burst_buckets: int
    peak_z: float | None = None
    peak_bucket: dt.datetime | None = None
    burst: bool | None = None


@strawberry.type(description="One day of a watchlist key's sentiment.")
class SentimentDay:
    watch_key: str | None = None
    day: dt.date | None = None
    model_version: str | None = None
    tweets: Long | None = None
    positive_share: float | None = None
    neutral_share: float | None = None
    negative_share: float | None = None
    mean_score: float | None = None


@strawberry.type(description="One day's Dagster run of a task.")
class TaskRun:
    day: dt.date
    run_id: str | None = None
    status: str | None = None
    run_key: str | None = None
    url: str | None = None


@strawberry.type(description="A scrape task (see REST /v1/tasks).")
class Task:
    id: strawberry.ID
    type: TaskTypeEnum
    target: str
    watch_key: str
    since: dt.date
    until: dt.date
    status: TaskStatusEnum
    progress: float
    attempt: int
    runs: list[TaskRun]
    created_at: dt.datetime
    updated_at: dt.datetime
    params: JSON | None = None
    result_count: Long | None = None
    error: str | None = None
    created_by: int | None = strawberry.field(default=None, description="The XGet user id of its owner")
    started_at: dt.datetime | None = None
    finished_at: dt.datetime | None = None
    priority: int = strawberry.field(default=0, description="Dagster's run priority: higher runs first")
    schedule: str | None = strawberry.field(default=None, description="Cron (UTC): the task recurs")
    next_at: dt.datetime | None = strawberry.field(default=None, description="A recurring task's next start")
    id_count: Long | None = strawberry.field(default=None, description="HYDRATE: the ids of its dataset")
    status_counts: JSON | None = strawberry.field(
        default=None,
        description="HYDRATE: ids per status (found, deleted, suspended, protected, withheld, ...)",
    )

    @classmethod
    def of(cls, task: ScrapeTask) -> Task:
        runs = [_build(TaskRun, r, day=dt.date.fromisoformat(r["day"])) for r in task.runs]
        return _build(
            cls,
            task.as_dict(),
            id=strawberry.ID(task.id),
            type=TaskTypeEnum(task.type),
            status=TaskStatusEnum(task.status),
            since=dt.date.fromisoformat(task.since),
            until=dt.date.fromisoformat(task.until),
            runs=runs,
            **{
                k: _time(getattr(task, k))
                for k in ("created_at", "updated_at", "started_at", "finished_at", "next_at")
            },
        )


@strawberry.type(description="A watchlist key with its collection parameters (see REST /v1/watchlist).")
class WatchEntry:
    id: strawberry.ID
    key: str
    kind: str = strawberry.field(description="search or account")
    active: bool
    added_at: dt.datetime
    budget: str = strawberry.field(description="What each day gets: '50 pages', '2000 items' or 'all'")
    budget_is_default: bool = strawberry.field(description="No budget of its own: the deployment's")
    product: str
    expand: list[str] = strawberry.field(description="Its expansions, e.g. ['conversations:5', 'media']")

    @classmethod
    def of(cls, entry: Entry, default_pages: int) -> WatchEntry:
        return cls(
            id=strawberry.ID(str(entry.id)),
            key=entry.key,
            kind=entry.kind,
            active=entry.active,
            added_at=_time(entry.added_at),
            budget=str(entry.params.budget_or(default_pages)),
            budget_is_default=entry.params.budget is None,
            product=entry.params.product,
            expand=[str(e) for e in entry.params.expand],
        )


@strawberry.type(description="A day a backfill's estimate collected for real (a partition now in the lake).")
class BackfillSampledDay:
    day: dt.date
    outcome: str = strawberry.field(description="complete, truncated or failed")
    pages: int
    items: Long


@strawberry.type(description="The account pool's capacity for the operation a backfill spends.")
class BackfillCapacity:
    operation: str
    accounts: int = strawberry.field(description="Usable accounts for the operation now")
    limit: int = strawberry.field(description="Requests per window per account")
    window_s: float
    learned: bool = strawberry.field(description="Learned from X's headers (else X's observed figures)")


@strawberry.type(description="What a backfill costs, measured before it is launched (see REST's estimate).")
class BackfillEstimate:
    key: str
    since: dt.date
    until: dt.date
    budget: str
    product: str
    days: int = strawberry.field(description="Days in the range")
    collected_days: int = strawberry.field(description="Already collected: skipped")
    collected_pages: Long
    sampled: list[BackfillSampledDay] = strawberry.field(description="Days collected now for the estimate")
    sampled_pages: Long
    days_to_fetch: int = strawberry.field(description="Days the backfill's runs collect")
    pages: Long = strawberry.field(description="Pages those runs are estimated to fetch")
    pages_low: Long
    pages_high: Long
    range_pages: Long = strawberry.field(
        description="Pages of the whole range: collected, sampled, estimated"
    )
    items: Long
    operation: str
    capacity: BackfillCapacity
    utilisation: float = strawberry.field(description="Share of the pool's capacity assumed")
    account_hours: float
    hours: float | None = strawberry.field(description="Hours the backfill takes; null: no usable account")
    eta: dt.datetime | None
    estimated_at: dt.datetime
    advice: list[str] = strawberry.field(description="What would change the estimate")


@strawberry.type(description="Where a backfill stands, from ops/coverage now.")
class BackfillProgress:
    days: int
    days_done: int
    days_failed: int
    pages: Long = strawberry.field(description="Pages fetched by the backfill's runs so far")
    estimated_pages: Long
    share_of_estimate: float | None
    pages_per_hour: float | None = strawberry.field(description="Measured since the backfill was created")
    utilisation: float | None = strawberry.field(description="Measured: pages per hour / the pool's capacity")
    pages_left: Long
    eta: dt.datetime | None


@strawberry.type(description="A watchlist backfill (see REST /v1/watchlist/backfills): the same fields.")
class Backfill:
    id: strawberry.ID | None = strawberry.field(description="null for a dry run")
    status: str = strawberry.field(description="DRY_RUN, RUNNING, COMPLETED, FAILED, CANCELING or CANCELED")
    key: str
    since: dt.date
    until: dt.date
    runs: JSON = strawberry.field(description="The backfill's runs per state")
    estimate: BackfillEstimate
    error: str | None = None
    created_at: dt.datetime | None = None
    finished_at: dt.datetime | None = None
    progress: BackfillProgress | None = None

    @classmethod
    def of(cls, out: BackfillOut) -> Backfill:
        """From REST's answer (``routes/backfills.py``), so both APIs serve the same figures."""
        row = out.model_dump()
        est = row["estimate"]
        estimate = _build(
            BackfillEstimate,
            est,
            sampled=[_build(BackfillSampledDay, s) for s in est["sampled"]],
            capacity=_build(BackfillCapacity, est["capacity"]),
        )
        progress = _build(BackfillProgress, row["progress"]) if row["progress"] is not None else None
        return _build(cls, row, id=_id(row["id"]), estimate=estimate, progress=progress)


@strawberry.type
class TaskEdge:
    node: Task
    cursor: str


@strawberry.type(description="Tasks newest first, a page at a time.")
class TaskConnection:
    edges: list[TaskEdge]
    page_info: PageInfo


@strawberry.input(description="Filters of tweets; all given must hold.")
class TweetFilterInput:
    term: str | None = strawberry.field(default=None, description="Every word must occur in the text")
    user: str | None = strawberry.field(default=None, description="Author: @handle, handle or numeric id")
    since: dt.datetime | None = strawberry.field(
        default=None, description="Created at or after (UTC if no zone)"
    )
    until: dt.datetime | None = strawberry.field(default=None, description="Created before")
    lang: str | None = None
    has_media: bool | None = None
    min_engagement: int | None = strawberry.field(
        default=None, description="likes + retweets + replies + quotes"
    )
    watch_key: str | None = strawberry.field(default=None, description="Only tweets collected for this key")

    def to_filter(self) -> TweetFilter:
        """The same checks as the REST query parameters (routes/data.py ``tweet_filter``)."""
        for name, value, longest in (
            ("term", self.term, 500),
            ("user", self.user, 64),
            ("watchKey", self.watch_key, 256),
        ):
            if value is not None and len(value) > longest:
                raise bad_input(f"{name} is longer than {longest} characters", f"filter.{name}")
        if self.lang is not None and not (2 <= len(self.lang) <= 8 and self.lang.replace("-", "").isalpha()):
            raise bad_input("lang is a language code such as en or pt-BR", "filter.lang")
        if self.min_engagement is not None and self.min_engagement < 0:
            raise bad_input("minEngagement cannot be negative", "filter.minEngagement")
        try:
            since, until = aware(self.since, "filter.since"), aware(self.until, "filter.until")
        except InvalidField as exc:
            raise core_error(exc) from exc
        if since and until and since >= until:
            raise bad_input("since must be before until", "filter.since")
        return TweetFilter(
            term=self.term or None,
            user=self.user,
            since=since,
            until=until,
            lang=self.lang,
            has_media=self.has_media,
            min_engagement=self.min_engagement,
            watch_key=self.watch_key,
        )


FilterArg = Annotated[TweetFilterInput | None, strawberry.argument(name="filter")]


# -- the Query type ------------------------------------------------------------------------------------------


@strawberry.type(
    description="Every field is nullable: a field that fails (not found, forbidden) is null "
    "with its error in errors, and the other fields of the query still answer."
)
class Query:
    @strawberry.field(description="Tweets newest first, filtered, a page at a time (data:read).")
    async def tweets(
        self, info: Info, filter_: FilterArg = None, first: int = 50, after: str | None = None
    ) -> TweetConnection | None:
        ctx = need(info, Permission.DATA_READ)
        page_args(first, after)
        f = filter_.to_filter() if filter_ else TweetFilter()
        return TweetConnection.of(await call(ctx.state.tweets.page, f, first, after))

    @strawberry.field(description="One tweet (data:read).")
    async def tweet(self, info: Info, id: strawberry.ID) -> Tweet | None:  # noqa: A002 - the argument's name
        ctx = need(info, Permission.DATA_READ)
        text = str(id).strip()
        if not (text.isascii() and text.isdigit()) or not 0 < int(text) < 2**63:  # isdigit() alone takes "²"
            raise bad_input("tweet ids are positive 64-bit integers", "id")
        return Tweet.from_row(await call(ctx.state.tweets.tweet, int(text)))

    @strawberry.field(description="Full-text search: every word must occur, newest first (data:read).")
    async def search(
        self, info: Info, q: str, filter_: FilterArg = None, first: int = 50, after: str | None = None
    ) -> TweetConnection | None:
        ctx = need(info, Permission.DATA_READ)
        page_args(first, after)
        if not q.strip() or len(q) > 500:
            raise bad_input("q: give 1 to 500 characters of words to search for", "q")
        f = filter_.to_filter() if filter_ else TweetFilter()
        f.term = " ".join(t for t in (q, f.term) if t)
        page, backend = await call(ctx.state.search.search, f, first, after)
        return TweetConnection.of(page, backend)

    @strawberry.field(description="A user by numeric id, handle or @handle (data:read).")
    async def user(self, info: Info, ref: str) -> XUser | None:
        ctx = need(info, Permission.DATA_READ)
        if not 1 <= len(ref) <= 64:
            raise bad_input("ref is a numeric id, handle or @handle (1 to 64 characters)", "ref")
        return XUser.from_row(await call(ctx.state.tweets.user, ref))

    @strawberry.field(
        description="Top hashtags (or watchlist keys) of a window with their peak burst score; "
        "default window: the last day (analytics:read)."
    )
    async def trends(
        self,
        info: Info,
        since: dt.datetime | None = None,
        until: dt.datetime | None = None,
        scope: str = "global",
        kind: TrendKind = TrendKind.HASHTAG,
        bursts_only: bool = False,
        first: int = 50,
    ) -> list[Trend] | None:
        ctx = need(info, Permission.ANALYTICS_READ)
        page_args(first, None, MAX_TRENDS)
        if len(scope) > 256:
            raise bad_input("scope is global or a watchlist key (at most 256 characters)", "scope")
        try:
            since, until = time_window(since, until, 1)
        except InvalidField as exc:
            raise core_error(exc) from exc
        rows = await call(ctx.state.analytics.trends, since, until, scope, kind.value, bursts_only, first)
        return [_build(Trend, r) for r in rows]

    @strawberry.field(description="Daily sentiment per watchlist key (analytics:read).")
    async def sentiment(
        self,
        info: Info,
        watch_key: str | None = None,
        since: dt.date | None = None,
        until: dt.date | None = None,
    ) -> list[SentimentDay] | None:
        ctx = need(info, Permission.ANALYTICS_READ)
        if since and until and since > until:
            raise bad_input("since must not be after until", "since")
        if watch_key is not None and len(watch_key) > 256:
            raise bad_input("watchKey is at most 256 characters", "watchKey")
        rows = await call(ctx.state.analytics.sentiment, watch_key, since, until)
        return [_build(SentimentDay, r) for r in rows]

    @strawberry.field(
        description="Scrape tasks newest first: yours, or everyone's with tasks:admin (tasks:read)."
    )
    async def tasks(
        self,
        info: Info,
        status: TaskStatusEnum | None = None,
        type: TaskTypeEnum | None = None,  # noqa: A002 - the argument's name
        first: int = 50,
        after: str | None = None,
    ) -> TaskConnection | None:
        ctx = need(info, Permission.TASKS_READ)
        page_args(first, after)
        rows = await call(
            ctx.state.tasks.list,
            task_owner(ctx.principal),
            status and status.value,
            type and type.value,
            after,
            first + 1,
        )
        edges = [TaskEdge(node=Task.of(t), cursor=t.id) for t in rows[:first]]
        return TaskConnection(
            edges=edges,
            page_info=PageInfo(
                has_next_page=len(rows) > first, end_cursor=edges[-1].cursor if edges else None
            ),
        )

    @strawberry.field(description="The watchlist's keys with their parameters (data:read).")
    async def watchlist(self, info: Info, include_inactive: bool = False) -> list[WatchEntry] | None:
        ctx = need(info, Permission.DATA_READ)
        found = await call(entries, ctx.state.engine, not include_inactive)
        return [WatchEntry.of(e, ctx.state.settings.x_max_pages_per_partition) for e in found]

    @strawberry.field(description="One task: yours, or anyone's with tasks:admin (tasks:read).")
    async def task(self, info: Info, id: strawberry.ID) -> Task | None:  # noqa: A002
        ctx = need(info, Permission.TASKS_READ)
        return Task.of(await call(ctx.state.tasks.get, str(id), task_owner(ctx.principal)))

    @strawberry.field(
        description="A watchlist backfill: its estimate, runs, pages fetched against the estimate and ETA "
        "(data:read)."
    )
    async def backfill(self, info: Info, id: strawberry.ID) -> Backfill | None:  # noqa: A002
        ctx = need(info, Permission.DATA_READ)
        return Backfill.of(await call(read_backfill, ctx.state, backfill_id(id)))
