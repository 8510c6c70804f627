"""What a scrape task collected, read from the lake's cleaned layer for the API and the task sensor: the
tweets of its (key, days) partitions, the profile, or the follower edges (``core/tasks.py`` has the types);
for a HYDRATE task, the status of each id of its dataset (``ops/hydration``), in id order.
"""

from __future__ import annotations

import datetime as dt

from xget_pipelines.core.errors import BadCursor
from xget_pipelines.core.lake.cursors import (
    Page,
    decode_id_cursor,
    decode_tweet_cursor,
    encode_cursor,
    tweet_cursor,
)
from xget_pipelines.core.lake.live import LiveCatalog
from xget_pipelines.core.lake.tables import view_name
from xget_pipelines.core.tasks import ScrapeTask, TaskType
from xget_pipelines.core.x.hydrate_status import SCHEMA as HYDRATION_SCHEMA
from xget_pipelines.core.x.hydrate_status import TABLE as HYDRATION_TABLE

HYDRATION_COLUMNS = [n for n in HYDRATION_SCHEMA.names if n != "dataset"]


class TaskResultReader:
    def __init__(self, catalog: LiveCatalog):
        self.catalog = catalog

    def page(self, task: ScrapeTask, limit: int = 100, cursor: str | None = None) -> Page:
        """What a task collected: tweets of its (key, days) partitions, the profile, or follower edges.

        The cursor is checked before the lake is read: one this API did not issue for this task's kind of
        page is a BadCursor, whether or not there is anything to page through."""
        days = task.days
        if task.type == TaskType.HYDRATE.value:
            return self.hydration(task.target, limit, cursor)
        if task.type == "USER_INFO":
            if cursor:
                raise BadCursor("a profile is one page: it takes no cursor", "cursor")
            if not self.catalog.has("cleaned/users"):
                return Page([], None, [])
            rows = self.catalog.query(
                """
                select * exclude (watch_key) from cleaned_users
                where watch_key = ? and day in (select unnest(?))
                  and lower(username) = lower(?) order by fetched_at desc limit 1""",
                [task.watch_key, days, task.watch_key.lstrip("@")],
            ).to_pylist()
            return Page(rows, None, list(rows[0]) if rows else [])
        if task.type == "FOLLOWERS":
            last = decode_id_cursor(cursor) if cursor else None
            if not self.catalog.has("cleaned/follows") or not self.catalog.has("cleaned/users"):
                return Page([], None, ["follower_id", "followed_id"])
            params: list = [task.watch_key, days]
            after = ""
            if last is not None:
                after = "and follower_id > ?"
                params.append(last)
            rows = self.catalog.query(
                f"""
                select distinct f.follower_id, f.followed_id from cleaned_follows f
                where f.watch_key = ? and f.day in (select unnest(?)) {after}
                  and f.followed_id = (select max(user_id) from cleaned_users u
                                       where u.watch_key = f.watch_key
                                         and lower(u.username) = lower(ltrim(f.watch_key, '@')))
                order by f.follower_id limit {int(limit) + 1}""",
                params,
            ).to_pylist()
            nxt = encode_cursor(rows[limit - 1]["follower_id"]) if len(rows) > limit else None
            return Page(rows[:limit], nxt, ["follower_id", "followed_id"])
        return self.cleaned_tweets(
            task.watch_key,
            days,
            limit,
            cursor,
            author=task.watch_key if task.type == "USER_TWEETS" else None,
        )

    def hydration(self, dataset: str, limit: int, cursor: str | None) -> Page:
        """The statuses of a dataset's ids (``ops/hydration``), by tweet id."""
        last = decode_id_cursor(cursor) if cursor else None
        if not self.catalog.has(HYDRATION_TABLE):
            return Page([], None, HYDRATION_COLUMNS)
        params: list = [dataset]
        after = ""
        if last is not None:
            after = "and tweet_id > ?"
            params.append(last)
        rows = self.catalog.query(
            f"""
            select {", ".join(HYDRATION_COLUMNS)} from {view_name(HYDRATION_TABLE)}
            where dataset = ? {after} order by tweet_id limit {int(limit) + 1}""",
            params,
        ).to_pylist()
        nxt = encode_cursor(rows[limit - 1]["tweet_id"]) if len(rows) > limit else None
        return Page(rows[:limit], nxt, HYDRATION_COLUMNS)

    def cleaned_tweets(
        self, watch_key: str, days: list[dt.date], limit: int, cursor: str | None, author: str | None = None
    ) -> Page:
        """Tweets of (key, day) partitions of the cleaned layer, newest observation of each, newest first."""
        columns = [
            "tweet_id",
            "author_id",
            "created_at",
            "text",
            "lang",
            "like_count",
            "retweet_count",
            "reply_count",
            "quote_count",
            "has_media",
            "fetched_at",
        ]
        after = decode_tweet_cursor(cursor) if cursor else None
        if not self.catalog.has("cleaned/tweets") or (author and not self.catalog.has("cleaned/users")):
            return Page([], None, columns)
        params: list = [watch_key, days]
        extra = ""
        if author:
            extra += (
                " and author_id = (select max(user_id) from cleaned_users"
                " where watch_key = ? and lower(username) = lower(?))"
            )
            params += [watch_key, author.lstrip("@")]
        if after is not None:
            created, tweet_id = after[0].isoformat(), after[1]  # UTC, in the form DuckDB casts
            extra += " and (created_at < ?::timestamptz or (created_at = ?::timestamptz and tweet_id < ?))"
            params += [created, created, tweet_id]
        rows = self.catalog.query(
            f"""
            select {", ".join(columns)} from cleaned_tweets
            where watch_key = ? and day in (select unnest(?)) and via = 'timeline' {extra}
            qualify row_number() over (partition by tweet_id order by fetched_at desc) = 1
            order by created_at desc, tweet_id desc limit {int(limit) + 1}""",
            params,
        ).to_pylist()
        nxt = None
        if len(rows) > limit:
            last = rows[limit - 1]
            nxt = tweet_cursor(last["created_at"], last["tweet_id"])
        return Page(rows[:limit], nxt, columns)

    def count(self, task: ScrapeTask) -> int:
        total, cursor = 0, None
        while True:
            page = self.page(task, limit=10_000, cursor=cursor)
            total += len(page.rows)
            if page.next_cursor is None:
                return total
            cursor = page.next_cursor
