"""Reads the serving API (and ``xget export``) makes of the lake: tweets with filters and keyset cursors,
one tweet, full-text search, trends, sentiment, profiles, similar users, the graph, a task's results.

One ``LakeReader`` per process holds a DuckDB connection whose views (``core/lake/catalog.py``) follow
the lake: at most every ``refresh_s`` seconds it compares each table's Delta version and re-registers
only the tables that changed (re-opening a snapshot costs milliseconds; doing it per request would
dominate the latency). Each query runs on its own cursor of that connection, so requests run in parallel.

Cursors are opaque to clients: base64 of the sort key of the last row of a page ((created_at, tweet_id)
newest first), so paging stays correct while new tweets arrive. Every read names the ``created_date``
partitions it can (a time range, a cursor, a snowflake id), so DuckDB skips the other files.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

import duckdb
import pyarrow as pa

from xget_pipelines.core.errors import InvalidField, NotFound, Unavailable
from xget_pipelines.core.lake.catalog import connect, register, view_name
from xget_pipelines.core.lake.delta import Lake

TWITTER_EPOCH_MS = 1288834974657
USER_DELETED = "deleted_by_user"  # the tombstone a soft delete over the API sets (core/corrections.py)

TWEET_COLUMNS = (
    "tweet_id",
    "conversation_id",
    "author_id",
    "created_at",
    "text",
    "lang",
    "reply_to_tweet_id",
    "quoted_tweet_id",
    "retweeted_tweet_id",
    "like_count",
    "retweet_count",
    "reply_count",
    "quote_count",
    "bookmark_count",
    "view_count",
    "is_quote",
    "is_retweet",
    "has_media",
    "first_seen",
    "last_seen",
    "tombstone",
)


class LakeUnavailable(Unavailable):
    """The lake cannot be read right now (storage down, a table being rewritten)."""


class BadQuery(InvalidField):
    """A filter or cursor that cannot be used; ``field`` names it."""

    def __init__(self, message: str, field: str):
        super().__init__(message, field)


@dataclass
class TweetFilter:
    term: str | None = None  # every word must occur (case-insensitive)
    user: str | None = None  # @handle, handle or numeric user id
    since: dt.datetime | None = None
    until: dt.datetime | None = None
    lang: str | None = None
    has_media: bool | None = None
    min_engagement: int | None = None  # likes + retweets + replies + quotes
    watch_key: str | None = None
    days: list[dt.date] | None = None  # only these created dates (a task's)
    include_deleted: bool = False


@dataclass
class Page:
    rows: list[dict]
    next_cursor: str | None
    columns: list[str] = field(default_factory=list)


def encode_cursor(*values) -> str:
    return base64.urlsafe_b64encode(json.dumps(values, default=str).encode()).decode().rstrip("=")


def decode_cursor(cursor: str, arity: int) -> list:
    try:
        values = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (ValueError, UnicodeDecodeError):
        raise BadQuery(
            "cursor is not one this API issued: pass next_cursor of the previous page", "cursor"
        ) from None
    if not isinstance(values, list) or len(values) != arity:
        raise BadQuery("cursor is not one this API issued: pass next_cursor of the previous page", "cursor")
    return values


def cursor_id(value) -> int:
    """An id out of a decoded cursor: a 64-bit integer, or BadQuery (a cursor this API did not issue)."""
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise BadQuery(
            "cursor is not one this API issued: pass next_cursor of the previous page", "cursor"
        ) from None
    if not -(2**63) <= number < 2**63 or isinstance(value, bool):
        raise BadQuery("cursor is not one this API issued: pass next_cursor of the previous page", "cursor")
    return number


def cursor_time(value) -> dt.datetime:
    """A timestamp out of a decoded cursor (ISO 8601), or BadQuery."""
    try:
        return dt.datetime.fromisoformat(value)
    except (TypeError, ValueError):
        raise BadQuery(
            "cursor is not one this API issued: pass next_cursor of the previous page", "cursor"
        ) from None


def snowflake_date(tweet_id: int) -> dt.date | None:
    """The UTC day a snowflake id was minted (None for ids older than snowflakes)."""
    ms = (tweet_id >> 22) + TWITTER_EPOCH_MS
    if tweet_id < (1 << 32) or ms > time.time() * 1000 + 86_400_000:
        return None
    return dt.datetime.fromtimestamp(ms / 1000, dt.UTC).date()


def _words(term: str) -> list[str]:
    words = [w for w in term.split() if w]
    if not words:
        raise BadQuery("the search term is empty", "q")
    if len(words) > 16:
        raise BadQuery("at most 16 words in a search", "q")
    return [w.lower() for w in words]


def _like(word: str) -> str:
    return "%" + word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


# Kept warm per table version (``LakeReader._warm``): the created dates of the tweet files (pages read the
# newest days first) and the newest days themselves in memory, up to ``hot_rows`` tweets
# (``XGET_API_HOT_TWEETS``: most pages are of the last day or two); user id -> username (every page names
# its authors); the trends (a small, hot aggregate: each request would otherwise re-read 30+ files'
# footers). Measured by bench/api.py.
HOT_TABLES = ("entities/tweets", "entities/users", "analytics/trends")
LATE_MATERIALIZATION_ROWS = 1001


class LakeReader:
    def __init__(self, lake: Lake, marts: str | None = None, refresh_s: float = 2.0, hot_rows: int = 200_000):
        self.lake = lake
        self.marts = marts
        self.refresh_s = refresh_s
        self._lock = threading.Lock()
        self._con: duckdb.DuckDBPyConnection | None = None
        self._versions: dict[str, int] = {}
        # (in-memory table, created_date partitions of entities/tweets newest first, the newest of them held
        # in that table): swapped whole, so a request that took it reads one consistent snapshot.
        self._hot: tuple[str | None, list[dt.date], set[dt.date]] = (None, [], set())
        self._retired: str | None = None  # the hot table before the current one, dropped at the next swap
        self.hot_rows = hot_rows  # 0: nothing held in memory (one-off readers: sensors, the CLI)
        self._kind = "table" if hot_rows > 0 else "view"
        self._checked = 0.0

    # -- the connection ----------------------------------------------------------------------------------

    def _refresh(self) -> None:
        """Open the connection, or look for new table versions every ``refresh_s``. Once a connection is
        open, one thread refreshes and the others go on with the snapshot they have (DuckDB swaps a view
        between their queries), rather than queue behind it: a refresh must not become every request's p99."""
        now = time.monotonic()
        if self._con is not None and now - self._checked < self.refresh_s:
            return
        if not self._lock.acquire(blocking=self._con is None):
            return
        try:
            if self._con is not None and time.monotonic() - self._checked < self.refresh_s:
                return
            try:
                if self._con is None:
                    con = connect(self.lake)
                    # A page is up to 1,000 rows: DuckDB then reads the other columns of the winners only.
                    con.execute(f"SET late_materialization_max_rows = {LATE_MATERIALIZATION_ROWS}")
                    versions = {t: self.lake.version(t) for t in self.lake.list_tables()}
                    for table in HOT_TABLES:
                        self._warm(con, table, versions.get(table))
                    self._con, self._versions = con, versions
                else:
                    for table in self.lake.list_tables():
                        version = self.lake.version(table)
                        if self._versions.get(table) != version:
                            register(self._con, self.lake, table)
                            if table in HOT_TABLES:
                                self._warm(self._con, table, version)
                            self._versions[table] = version
            except (OSError, duckdb.Error, Exception) as exc:  # deltalake raises its own error types
                if self._con is None:
                    raise LakeUnavailable(f"cannot read the lake at {self.lake.uri}: {exc}") from exc
                # keep serving the last snapshot; try again next time
            self._checked = time.monotonic()
        finally:
            self._lock.release()

    def _warm(self, con: duckdb.DuckDBPyConnection, table: str, version: int | None) -> None:
        """Keep what every request needs of a table ready, once per table version (see HOT_TABLES)."""
        if table == "entities/tweets":
            days: list[dt.date] = []
            hot: list[dt.date] = []
            if version is not None:
                actions = self.lake.table(table).get_add_actions(flatten=True)
                actions = actions if isinstance(actions, pa.Table) else pa.table(actions)
                rows_per_day: dict[dt.date, int] = {}
                for day, n in zip(
                    actions["partition.created_date"].to_pylist(),
                    actions["num_records"].to_pylist(),
                    strict=False,
                ):
                    if day is not None:
                        rows_per_day[day] = rows_per_day.get(day, 0) + int(n or 0)
                days = sorted(rows_per_day, reverse=True)
                total = 0
                for day in days:  # the newest days, as many as fit in hot_rows
                    total += rows_per_day[day]
                    if total > self.hot_rows:
                        break
                    hot.append(day)
            name = None
            if hot:  # a table per version: requests still reading the previous one are not cut short
                name = f"hot_tweets_{version}"
                literals = ", ".join(f"DATE '{d.isoformat()}'" for d in hot)
                con.execute(
                    f"create or replace table {name} as select * from entities_tweets "
                    f"where created_date in ({literals}) order by created_at desc, tweet_id desc"
                )
            if self._retired and self._retired != name:
                con.execute(f"drop table if exists {self._retired}")
            self._retired = self._hot[0] if self._hot[0] != name else None
            self._hot = (name, days, set(hot))
        elif table == "entities/users":
            source = (
                "select user_id, username from entities_users"
                if version is not None
                else "select null::bigint as user_id, null::varchar as username where false"
            )
            con.execute(f"create or replace {self._kind} hot_usernames as {source}")
        elif table == "analytics/trends" and version is not None:
            con.execute(
                f"create or replace {self._kind} hot_trends as select * from analytics_trends "
                "order by day, scope, kind, bucket_start"
            )

    def cursor(self) -> duckdb.DuckDBPyConnection:
        self._refresh()
        return self._con.cursor()

    def has(self, table: str) -> bool:
        self._refresh()
        return table in self._versions

    def versions(self) -> dict[str, int]:
        self._refresh()
        return dict(self._versions)

    def ping(self) -> dict[str, int]:
        """Check the lake is readable now (for /readyz): list the tables, and every table this reader serves
        must still open (a lake that lost its tables is not ready, an empty new lake is)."""
        try:
            versions = {t: self.lake.version(t) for t in self.lake.list_tables()}
            lost = sorted(t for t in self._versions if versions.get(t) is None)
        except Exception as exc:  # noqa: BLE001 - any storage error means not ready
            raise LakeUnavailable(f"cannot read the lake at {self.lake.uri}: {exc}") from exc
        if lost:
            raise LakeUnavailable(
                f"tables served before are gone from the lake at {self.lake.uri}: {', '.join(lost)}"
            )
        return versions

    def _query(self, sql: str, params: list | None = None) -> pa.Table:
        try:
            return self.cursor().sql(sql, params=params or None).to_arrow_table()
        except duckdb.IOException as exc:  # a file vanished under a vacuum or compaction: re-read once
            self._checked = 0.0
            try:
                return self.cursor().sql(sql, params=params or None).to_arrow_table()
            except duckdb.IOException:
                raise LakeUnavailable(f"the lake changed under the query or cannot be read: {exc}") from exc

    # -- users -------------------------------------------------------------------------------------------

    def resolve_user(self, user: str) -> int:
        """A user id from a numeric id, ``handle`` or ``@handle``."""
        text = user.strip().removeprefix("@")
        if text.isascii() and text.isdigit():  # str.isdigit() alone takes "²", which int() refuses
            if not 0 < int(text) < 2**63:
                raise BadQuery(f"user id {text[:30]} is not a positive 64-bit integer", "user")
            return int(text)
        if not text:
            raise BadQuery("empty user", "user")
        if not self.has("entities/users"):
            raise NotFound(f"no user @{text} in the lake yet")
        rows = self._query(
            "select user_id from entities_users where lower(username) = lower(?) "
            "order by last_seen desc limit 1",
            [text],
        ).to_pylist()
        if not rows:
            raise NotFound(f"no user @{text} in the lake (collect it with a USER_INFO task)")
        return rows[0]["user_id"]

    def user(self, user: str) -> dict:
        user_id = self.resolve_user(user)
        if not self.has("entities/users"):
            raise NotFound(f"no user {user} in the lake yet")
        rows = self._query(
            "select * exclude (bucket) from entities_users where user_id = ? and bucket = ?",
            [user_id, user_id % 16],
        ).to_pylist()
        if not rows:
            raise NotFound(f"no user {user} in the lake")
        return rows[0]

    # -- tweets ------------------------------------------------------------------------------------------

    def _tweet_where(self, f: TweetFilter, params: list) -> list[str]:
        where = []
        if not f.include_deleted:
            where.append(f"(t.tombstone is null or t.tombstone <> '{USER_DELETED}')")
        if f.term:
            for word in _words(f.term):
                where.append("lower(t.text) like ? escape '\\'")
                params.append(_like(word))
        if f.user:
            where.append("t.author_id = ?")
            params.append(self.resolve_user(f.user))
        if f.since:
            where.append("t.created_date >= ?::date and t.created_at >= ?")
            params += [f.since.date(), f.since]
        if f.until:
            where.append("t.created_date <= ?::date and t.created_at < ?")
            params += [f.until.date(), f.until]
        if f.days is not None:
            where.append("t.created_date in (" + ", ".join("?::date" for _ in f.days or [None]) + ")")
            params += list(f.days or [dt.date(1970, 1, 1)])
        if f.lang:
            where.append("t.lang = ?")
            params.append(f.lang)
        if f.has_media is not None:
            where.append("t.has_media = ?")
            params.append(f.has_media)
        if f.min_engagement is not None:
            where.append("(t.like_count + t.retweet_count + t.reply_count + t.quote_count) >= ?")
            params.append(f.min_engagement)
        if f.watch_key:
            if self.has("cleaned/tweets"):
                where.append("t.tweet_id in (select tweet_id from cleaned_tweets where watch_key = ?)")
                params.append(f.watch_key)
            else:  # nothing collected for any key yet (the view would not exist: a CatalogException)
                where.append("false")
        return where

    def tweets(self, f: TweetFilter, limit: int = 50, cursor: str | None = None) -> Page:
        """Tweets newest first (keyset pages); each row with its author's username.

        The newest ``created_date`` partitions are read first, in windows of 1, 4, 16... days, until the page
        is full: a page of the newest tweets reads one day's file, not the month's (same rows, same order)."""
        columns = list(TWEET_COLUMNS) + ["username"]
        if not self.has("entities/tweets"):
            return Page([], None, columns)
        hot_table, tweet_days, hot_days = self._hot
        params: list = []
        where = self._tweet_where(f, params)
        newest = f.until.date() if f.until else None
        oldest = f.since.date() if f.since else None
        if cursor:
            created, tweet_id = decode_cursor(cursor, 2)
            at, tweet_id = cursor_time(created), cursor_id(tweet_id)
            where.append("(t.created_at < ? or (t.created_at = ? and t.tweet_id < ?))")
            params += [at, at, tweet_id]
            newest = min(newest, at.date()) if newest else at.date()
        days = [d for d in tweet_days if (oldest is None or d >= oldest) and (newest is None or d <= newest)]
        select = ", ".join("t." + c for c in TWEET_COLUMNS)
        rows: list[dict] = []
        start, span = 0, 1
        while start < len(days) and len(rows) <= limit:
            window = days[start : start + span]
            in_window = "t.created_date in (" + ", ".join("?::date" for _ in window) + ")"
            source = hot_table if hot_table and hot_days.issuperset(window) else "entities_tweets"
            rows += self._query(
                f"""
                with p as (
                    select {select} from {source} t where {" and ".join(where + [in_window])}
                    order by t.created_at desc nulls last, t.tweet_id desc limit {int(limit) + 1 - len(rows)}
                )
                select p.*, u.username from p left join hot_usernames u on u.user_id = p.author_id
                order by p.created_at desc nulls last, p.tweet_id desc""",
                params + window,
            ).to_pylist()
            start, span = start + span, span * 4
        more = len(rows) > limit
        rows = rows[:limit]
        nxt = None
        if more and rows and rows[-1]["created_at"] is not None:
            nxt = encode_cursor(rows[-1]["created_at"].isoformat(), rows[-1]["tweet_id"])
        return Page(rows, nxt, columns)

    def tweet(self, tweet_id: int, include_deleted: bool = False) -> dict:
        if not self.has("entities/tweets"):
            raise NotFound(f"no tweet {tweet_id} in the lake")
        day = snowflake_date(tweet_id)
        cols = ", ".join("t." + c for c in TWEET_COLUMNS)
        sql = f"select {cols}, t.created_date from entities_tweets t where t.tweet_id = ?"
        rows = []
        if day:  # the partition the id points at first (and its neighbours): one file instead of all
            rows = self._query(
                sql + " and t.created_date between ?::date and ?::date",
                [tweet_id, day - dt.timedelta(days=1), day + dt.timedelta(days=1)],
            ).to_pylist()
        if not rows:
            rows = self._query(sql, [tweet_id]).to_pylist()
        if not rows or (rows[0]["tombstone"] == USER_DELETED and not include_deleted):
            raise NotFound(f"no tweet {tweet_id} in the lake")
        row = rows[0]
        if row["author_id"] is not None and self.has("entities/users"):
            author = self._query(
                "select username, display_name, followers_count from entities_users "
                "where user_id = ? and bucket = ?",
                [row["author_id"], row["author_id"] % 16],
            ).to_pylist()
            row["author"] = author[0] if author else None
        if self.has("analytics/tweet_sentiment"):
            sent = self._query(
                "select label, score, model_version from analytics_tweet_sentiment "
                "where tweet_id = ? order by scored_at desc limit 1",
                [tweet_id],
            ).to_pylist()
            row["sentiment"] = sent[0] if sent else None
        for table, col in (("cleaned/hashtags", "tag"), ("cleaned/mentions", "username")):
            if self.has(table):
                row["hashtags" if col == "tag" else "mentions"] = sorted(
                    {
                        r[col]
                        for r in self._query(
                            f"select distinct {col} from {view_name(table)} where tweet_id = ?", [tweet_id]
                        ).to_pylist()
                        if r[col]
                    }
                )
        return row

    def tweet_days(self, tweet_ids: list[int]) -> dict[int, dt.date]:
        """The created_date partition of known tweets (for corrections)."""
        if not tweet_ids or not self.has("entities/tweets"):
            return {}
        rows = self._query(
            "select tweet_id, created_date from entities_tweets where tweet_id in (select unnest(?))",
            [tweet_ids],
        ).to_pylist()
        return {r["tweet_id"]: r["created_date"] for r in rows}

    # -- analytics ---------------------------------------------------------------------------------------

    def trends(
        self,
        since: dt.datetime | None = None,
        until: dt.datetime | None = None,
        scope: str = "global",
        kind: str = "hashtag",
        bursts_only: bool = False,
        limit: int = 50,
    ) -> list[dict]:
        """The top terms of a window by total count, with their peak burst score and bucket."""
        if not self.has("analytics/trends"):
            return []
        until = until or dt.datetime.now(dt.UTC)
        since = since or until - dt.timedelta(days=1)
        where = "scope = ? and kind = ? and day between ?::date and ?::date and bucket_start >= ? and bucket_start < ?"
        sql = f"""
            select name, sum(count)::bigint as count, max(z) as peak_z,
                   arg_max(bucket_start, z) as peak_bucket, bool_or(burst) as burst,
                   sum(case when burst then 1 else 0 end)::bigint as burst_buckets
            from hot_trends where {where}
            group by name {"having bool_or(burst)" if bursts_only else ""}
            order by {"peak_z desc" if bursts_only else "count desc"}, name limit {int(limit)}
        """
        return self._query(sql, [scope, kind, since.date(), until.date(), since, until]).to_pylist()

    def trend_series(
        self,
        name: str,
        since: dt.datetime | None = None,
        until: dt.datetime | None = None,
        scope: str = "global",
        kind: str = "hashtag",
    ) -> list[dict]:
        if not self.has("analytics/trends"):
            return []
        until = until or dt.datetime.now(dt.UTC)
        since = since or until - dt.timedelta(days=7)
        return self._query(
            """
            select bucket_start, count, baseline_mean, baseline_std, z, burst from analytics_trends
            where scope = ? and kind = ? and name = ? and day between ?::date and ?::date
              and bucket_start >= ? and bucket_start < ?
            order by bucket_start""",
            [scope, kind, name.lower().lstrip("#"), since.date(), until.date(), since, until],
        ).to_pylist()

    def sentiment(
        self, watch_key: str | None = None, since: dt.date | None = None, until: dt.date | None = None
    ) -> list[dict]:
        if not self.has("analytics/sentiment_daily"):
            return []
        where, params = ["true"], []
        if watch_key:
            where.append("watch_key = ?")
            params.append(watch_key)
        if since:
            where.append("day >= ?::date")
            params.append(since)
        if until:
            where.append("day <= ?::date")
            params.append(until)
        return self._query(
            f"select * from analytics_sentiment_daily where {' and '.join(where)} order by day, watch_key",
            params,
        ).to_pylist()

    def profile(self, user: str) -> dict:
        user_id = self.resolve_user(user)
        if not self.has("analytics/user_profiles"):
            raise NotFound("no user profiles yet: materialize user_profiles (the marts job does)")
        exclude = " exclude (embedding)" if self._has_column("analytics_user_profiles", "embedding") else ""
        rows = self._query(
            f"select *{exclude} from analytics_user_profiles where user_id = ?", [user_id]
        ).to_pylist()
        if not rows:
            raise NotFound(f"no profile of user {user}: it has no merged tweets yet")
        return rows[0]

    def similar(self, user: str, limit: int = 5) -> list[dict]:
        profile = self.profile(user)
        similar = profile.get("similar_users") or []
        if not similar:
            return []
        ids = [s["user_id"] for s in similar][:limit]
        scores = {s["user_id"]: s.get("similarity") for s in similar}
        rows = self._query(
            "select user_id, username, display_name, tweets, followers_count, top_hashtags "
            "from analytics_user_profiles where user_id in (select unnest(?))",
            [ids],
        ).to_pylist()
        by_id = {r["user_id"]: r for r in rows}
        return [{**by_id.get(i, {"user_id": i}), "similarity": scores.get(i)} for i in ids]

    def _has_column(self, view: str, column: str) -> bool:
        return column in self._query(f"select * from {view} limit 0").column_names

    def graph_top(self, graph: str = "mention", limit: int = 50, order: str = "pagerank") -> list[dict]:
        if not self.has("analytics/graph_metrics"):
            return []
        cols = self._query("select * from analytics_graph_metrics limit 0").column_names
        if order not in cols:
            raise BadQuery(
                f"cannot order by {order!r}: use one of {', '.join(c for c in cols if c != 'user_id')}",
                "order",
            )
        where = "where graph = ?" if "graph" in cols else "where ? is not null"
        return self._query(
            f"select * from analytics_graph_metrics {where} order by {order} desc nulls last "
            f"limit {int(limit)}",
            [graph],
        ).to_pylist()

    def neighbors(
        self, user: str, direction: str = "followers", limit: int = 100, cursor: str | None = None
    ) -> Page:
        """Followers or following of a user from the merged follow edges (keyset pages by user id)."""
        user_id = self.resolve_user(user)
        if direction not in ("followers", "following"):
            raise BadQuery("direction is followers or following", "direction")
        if not self.has("entities/follows"):
            return Page([], None, ["user_id", "username", "first_seen", "last_seen"])
        mine, other = (
            ("followed_id", "follower_id") if direction == "followers" else ("follower_id", "followed_id")
        )
        params: list = [user_id]
        after = ""
        if cursor:
            (last,) = decode_cursor(cursor, 1)
            after = f"and f.{other} > ?"
            params.append(cursor_id(last))
        users = (
            f"left join entities_users u on u.user_id = f.{other} and u.bucket = f.{other} % 16"
            if self.has("entities/users")
            else "left join (select null::bigint as user_id, null::varchar as username) u on false"
        )
        rows = self._query(
            f"""
            select f.{other} as user_id, u.username, f.first_seen, f.last_seen from entities_follows f {users}
            where f.{mine} = ? {after} order by f.{other} limit {int(limit) + 1}""",
            params,
        ).to_pylist()
        nxt = encode_cursor(rows[limit - 1]["user_id"]) if len(rows) > limit else None
        return Page(rows[:limit], nxt, ["user_id", "username", "first_seen", "last_seen"])

    # -- exports -----------------------------------------------------------------------------------------

    def stream_sql(
        self, sql: str, params: list | None = None, batch_rows: int = 50_000
    ) -> pa.RecordBatchReader:
        """A query's result as Arrow batches (for exports of any size: never all in memory)."""
        try:
            return self.cursor().sql(sql, params=params or None).to_arrow_reader(batch_rows)
        except duckdb.Error as exc:
            raise BadQuery(f"{exc}".splitlines()[0], "sql") from exc

    def stream_tweets(self, f: TweetFilter, batch_rows: int = 50_000) -> pa.RecordBatchReader:
        params: list = []
        where = self._tweet_where(f, params)
        if not self.has("entities/tweets"):
            return pa.RecordBatchReader.from_batches(pa.schema([]), iter(()))
        sql = (
            f"select {', '.join('t.' + c for c in TWEET_COLUMNS)} from entities_tweets t "
            f"{'where ' + ' and '.join(where) if where else ''} order by t.created_at desc, t.tweet_id desc"
        )
        return self.stream_sql(sql, params, batch_rows)

    # -- a task's results --------------------------------------------------------------------------------

    def task_results(self, task: dict, limit: int = 100, cursor: str | None = None) -> Page:
        """What a task collected: tweets of its (key, days) partitions, the profile, or follower edges."""
        days = _days(task["since"], task["until"])
        if task["type"] == "USER_INFO":
            if not self.has("cleaned/users"):
                return Page([], None, [])
            rows = self._query(
                """
                select * exclude (watch_key) from cleaned_users where watch_key = ? and day in (select unnest(?))
                  and lower(username) = lower(?) order by fetched_at desc limit 1""",
                [task["watch_key"], days, task["watch_key"].lstrip("@")],
            ).to_pylist()
            return Page(rows, None, list(rows[0]) if rows else [])
        if task["type"] == "FOLLOWERS":
            if not self.has("cleaned/follows") or not self.has("cleaned/users"):
                return Page([], None, ["follower_id", "followed_id"])
            params: list = [task["watch_key"], days]
            after = ""
            if cursor:
                (last,) = decode_cursor(cursor, 1)
                after = "and follower_id > ?"
                params.append(cursor_id(last))
            rows = self._query(
                f"""
                select distinct f.follower_id, f.followed_id from cleaned_follows f
                where f.watch_key = ? and f.day in (select unnest(?)) {after}
                  and f.followed_id = (select max(user_id) from cleaned_users u where u.watch_key = f.watch_key
                                       and lower(u.username) = lower(ltrim(f.watch_key, '@')))
                order by f.follower_id limit {int(limit) + 1}""",
                params,
            ).to_pylist()
            nxt = encode_cursor(rows[limit - 1]["follower_id"]) if len(rows) > limit else None
            return Page(rows[:limit], nxt, ["follower_id", "followed_id"])
        return self.cleaned_tweets(
            task["watch_key"],
            days,
            limit,
            cursor,
            author=task["watch_key"] if task["type"] == "USER_TWEETS" else None,
        )

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
        if not self.has("cleaned/tweets") or (author and not self.has("cleaned/users")):
            return Page([], None, columns)
        params: list = [watch_key, days]
        extra = ""
        if author:
            extra += " and author_id = (select max(user_id) from cleaned_users where watch_key = ? and lower(username) = lower(?))"
            params += [watch_key, author.lstrip("@")]
        if cursor:
            created, tweet_id = decode_cursor(cursor, 2)
            cursor_time(created)  # a cursor this API issued names an ISO time (DuckDB casts the text)
            extra += " and (created_at < ?::timestamptz or (created_at = ?::timestamptz and tweet_id < ?))"
            params += [created, created, cursor_id(tweet_id)]
        rows = self._query(
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
            nxt = encode_cursor(last["created_at"].isoformat(), last["tweet_id"])
        return Page(rows[:limit], nxt, columns)

    def task_result_count(self, task: dict) -> int:
        total, cursor = 0, None
        while True:
            page = self.task_results(task, limit=10_000, cursor=cursor)
            total += len(page.rows)
            if page.next_cursor is None:
                return total
            cursor = page.next_cursor

    def users_by_ids(self, ids: list[int]) -> dict[int, dict]:
        """Users as last observed, by id, in one query naming only their buckets (the GraphQL API's author
        loader batches a page's authors through it); ids not in the lake are absent from the answer."""
        wanted = sorted({int(i) for i in ids})
        if not wanted or not self.has("entities/users"):
            return {}
        buckets = ", ".join(str(b) for b in sorted({i % 16 for i in wanted}))
        rows = self._query(
            "select * exclude (bucket) from entities_users "
            f"where user_id in (select unnest(?)) and bucket in ({buckets})",
            [wanted],
        ).to_pylist()
        return {r["user_id"]: r for r in rows}


def _days(since: str, until: str) -> list[dt.date]:
    first, last = dt.date.fromisoformat(since), dt.date.fromisoformat(until)
    return [first + dt.timedelta(days=i) for i in range((last - first).days + 1)]


def iter_batches(reader: pa.RecordBatchReader) -> Iterator[pa.RecordBatch]:
    while True:
        try:
            yield reader.read_next_batch()
        except StopIteration:
            return
