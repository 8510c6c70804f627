"""Reads of tweets and users from the lake, for the API (REST and GraphQL), its search fallback and
``xget export``: tweets with filters and keyset pages, one tweet, its author and sentiment, users by handle
or id, and the tweets of a filter streamed for an export.

Every read names the ``created_date`` partitions it can (a time range, a cursor, a snowflake id), so DuckDB
skips the other files; pages of the newest days come from the days ``LiveCatalog`` holds in memory.
"""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass

import pyarrow as pa

from xget_pipelines.core.errors import InvalidField, NotFound
from xget_pipelines.core.lake.cursors import Page, decode_tweet_cursor, tweet_cursor
from xget_pipelines.core.lake.live import LiveCatalog
from xget_pipelines.core.lake.tables import view_name

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


def snowflake_date(tweet_id: int) -> dt.date | None:
    """The UTC day a snowflake id was minted (None for ids older than snowflakes)."""
    ms = (tweet_id >> 22) + TWITTER_EPOCH_MS
    if tweet_id < (1 << 32) or ms > time.time() * 1000 + 86_400_000:
        return None
    return dt.datetime.fromtimestamp(ms / 1000, dt.UTC).date()


def _words(term: str) -> list[str]:
    words = [w for w in term.split() if w]
    if not words:
        raise InvalidField("the search term is empty", "q")
    if len(words) > 16:
        raise InvalidField("at most 16 words in a search", "q")
    return [w.lower() for w in words]


def _like(word: str) -> str:
    return "%" + word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def resolve_user(catalog: LiveCatalog, user: str) -> int:
    """A user id from a numeric id, ``handle`` or ``@handle``."""
    text = user.strip().removeprefix("@")
    if text.isascii() and text.isdigit():  # str.isdigit() alone takes "²", which int() refuses
        if not 0 < int(text) < 2**63:
            raise InvalidField(f"user id {text[:30]} is not a positive 64-bit integer", "user")
        return int(text)
    if not text:
        raise InvalidField("empty user", "user")
    if not catalog.has("entities/users"):
        raise NotFound(f"no user @{text} in the lake yet")
    rows = catalog.query(
        "select user_id from entities_users where lower(username) = lower(?) order by last_seen desc limit 1",
        [text],
    ).to_pylist()
    if not rows:
        raise NotFound(f"no user @{text} in the lake (collect it with a USER_INFO task)")
    return rows[0]["user_id"]


class TweetReader:
    def __init__(self, catalog: LiveCatalog):
        self.catalog = catalog

    # -- users -------------------------------------------------------------------------------------------

    def resolve_user(self, user: str) -> int:
        return resolve_user(self.catalog, user)

    def user(self, user: str) -> dict:
        user_id = self.resolve_user(user)
        if not self.catalog.has("entities/users"):
            raise NotFound(f"no user {user} in the lake yet")
        rows = self.catalog.query(
            "select * exclude (bucket) from entities_users where user_id = ? and bucket = ?",
            [user_id, user_id % 16],
        ).to_pylist()
        if not rows:
            raise NotFound(f"no user {user} in the lake")
        return rows[0]

    def users_by_ids(self, ids: list[int]) -> dict[int, dict]:
        """Users as last observed, by id, in one query naming only their buckets (the GraphQL API's author
        loader batches a page's authors through it); ids not in the lake are absent from the answer."""
        wanted = sorted({int(i) for i in ids})
        if not wanted or not self.catalog.has("entities/users"):
            return {}
        buckets = ", ".join(str(b) for b in sorted({i % 16 for i in wanted}))
        rows = self.catalog.query(
            "select * exclude (bucket) from entities_users "
            f"where user_id in (select unnest(?)) and bucket in ({buckets})",
            [wanted],
        ).to_pylist()
        return {r["user_id"]: r for r in rows}

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
            if self.catalog.has("cleaned/tweets"):
                where.append("t.tweet_id in (select tweet_id from cleaned_tweets where watch_key = ?)")
                params.append(f.watch_key)
            else:  # nothing collected for any key yet (the view would not exist: a CatalogException)
                where.append("false")
        return where

    def page(self, f: TweetFilter, limit: int = 50, cursor: str | None = None) -> Page:
        """Tweets newest first (keyset pages); each row with its author's username.

        The newest ``created_date`` partitions are read first, in windows of 1, 4, 16... days, until the page
        is full: a page of the newest tweets reads one day's file, not the month's (same rows, same order)."""
        columns = list(TWEET_COLUMNS) + ["username"]
        if not self.catalog.has("entities/tweets"):
            return Page([], None, columns)
        hot = self.catalog.hot_tweets()
        params: list = []
        where = self._tweet_where(f, params)
        newest = f.until.date() if f.until else None
        oldest = f.since.date() if f.since else None
        if cursor:
            at, tweet_id = decode_tweet_cursor(cursor)
            where.append("(t.created_at < ? or (t.created_at = ? and t.tweet_id < ?))")
            params += [at, at, tweet_id]
            newest = min(newest, at.date()) if newest else at.date()
        days = [d for d in hot.days if (oldest is None or d >= oldest) and (newest is None or d <= newest)]
        select = ", ".join("t." + c for c in TWEET_COLUMNS)
        rows: list[dict] = []
        start, span = 0, 1
        while start < len(days) and len(rows) <= limit:
            window = days[start : start + span]
            in_window = "t.created_date in (" + ", ".join("?::date" for _ in window) + ")"
            source = hot.table if hot.table and hot.held.issuperset(window) else "entities_tweets"
            rows += self.catalog.query(
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
            nxt = tweet_cursor(rows[-1]["created_at"], rows[-1]["tweet_id"])
        return Page(rows, nxt, columns)

    def pages_by_author(
        self, author_ids: list[int], limit: int = 50, cursor: str | None = None
    ) -> dict[int, Page]:
        """``page(TweetFilter(user=id), limit, cursor)`` of many authors at once: the same rows, order and
        next cursors, in one query over the days held in memory and one more over the older days for the
        authors whose page is not full yet (the GraphQL API's loader of ``author { tweets }`` batches a
        page's authors through it, instead of a query per author)."""
        columns = list(TWEET_COLUMNS) + ["username"]
        wanted = sorted({int(i) for i in author_ids})
        if not wanted or not self.catalog.has("entities/tweets"):
            return {i: Page([], None, columns) for i in wanted}
        hot = self.catalog.hot_tweets()
        params: list = [wanted]
        where = [
            f"(t.tombstone is null or t.tombstone <> '{USER_DELETED}')",
            "t.author_id in (select unnest(?))",
            "t.created_date is not null",
        ]
        if cursor:
            at, tweet_id = decode_tweet_cursor(cursor)
            where.append(
                "t.created_date <= ?::date and (t.created_at < ? or (t.created_at = ? and t.tweet_id < ?))"
            )
            params += [at.date(), at, at, tweet_id]
        select = ", ".join("t." + c for c in TWEET_COLUMNS)

        def query(source: str, extra: list[str], extra_params: list, ids: list[int]) -> list[dict]:
            return self.catalog.query(
                f"""
                with p as (
                    select {select} from {source} t where {" and ".join(where + extra)}
                    qualify row_number() over (
                        partition by t.author_id order by t.created_at desc nulls last, t.tweet_id desc
                    ) <= {int(limit) + 1}
                )
                select p.*, u.username from p left join hot_usernames u on u.user_id = p.author_id
                order by p.author_id, p.created_at desc nulls last, p.tweet_id desc""",
                [ids, *params[1:], *extra_params],
            ).to_pylist()

        rows: dict[int, list[dict]] = {i: [] for i in wanted}
        older: list[str] = []
        older_params: list = []
        if hot.table:
            for row in query(hot.table, [], [], wanted):
                rows[row["author_id"]].append(row)
            older, older_params = ["t.created_date < ?::date"], [min(hot.held)]
        if not hot.table or any(d not in hot.held for d in hot.days):
            short = [i for i in wanted if len(rows[i]) <= limit]
            if short:
                for row in query("entities_tweets", older, older_params, short):
                    rows[row["author_id"]].append(row)
        pages = {}
        for i, found in rows.items():
            found = found[: limit + 1]
            more = len(found) > limit
            found = found[:limit]
            nxt = None
            if more and found and found[-1]["created_at"] is not None:
                nxt = tweet_cursor(found[-1]["created_at"], found[-1]["tweet_id"])
            pages[i] = Page(found, nxt, columns)
        return pages

    def tweet(self, tweet_id: int, include_deleted: bool = False) -> dict:
        if not self.catalog.has("entities/tweets"):
            raise NotFound(f"no tweet {tweet_id} in the lake")
        day = snowflake_date(tweet_id)
        cols = ", ".join("t." + c for c in TWEET_COLUMNS)
        sql = f"select {cols}, t.created_date from entities_tweets t where t.tweet_id = ?"
        rows = []
        if day:  # the partition the id points at first (and its neighbours): one file instead of all
            rows = self.catalog.query(
                sql + " and t.created_date between ?::date and ?::date",
                [tweet_id, day - dt.timedelta(days=1), day + dt.timedelta(days=1)],
            ).to_pylist()
        if not rows:
            rows = self.catalog.query(sql, [tweet_id]).to_pylist()
        if not rows or (rows[0]["tombstone"] == USER_DELETED and not include_deleted):
            raise NotFound(f"no tweet {tweet_id} in the lake")
        row = rows[0]
        if row["author_id"] is not None and self.catalog.has("entities/users"):
            author = self.catalog.query(
                "select username, display_name, followers_count from entities_users "
                "where user_id = ? and bucket = ?",
                [row["author_id"], row["author_id"] % 16],
            ).to_pylist()
            row["author"] = author[0] if author else None
        if self.catalog.has("analytics/tweet_sentiment"):
            sent = self.catalog.query(
                "select label, score, model_version from analytics_tweet_sentiment "
                "where tweet_id = ? order by scored_at desc limit 1",
                [tweet_id],
            ).to_pylist()
            row["sentiment"] = sent[0] if sent else None
        for table, col in (("cleaned/hashtags", "tag"), ("cleaned/mentions", "username")):
            if self.catalog.has(table):
                row["hashtags" if col == "tag" else "mentions"] = sorted(
                    {
                        r[col]
                        for r in self.catalog.query(
                            f"select distinct {col} from {view_name(table)} where tweet_id = ?", [tweet_id]
                        ).to_pylist()
                        if r[col]
                    }
                )
        return row

    def tweet_days(self, tweet_ids: list[int]) -> dict[int, dt.date]:
        """The created_date partition of known tweets (for corrections)."""
        if not tweet_ids or not self.catalog.has("entities/tweets"):
            return {}
        rows = self.catalog.query(
            "select tweet_id, created_date from entities_tweets where tweet_id in (select unnest(?))",
            [tweet_ids],
        ).to_pylist()
        return {r["tweet_id"]: r["created_date"] for r in rows}

    def sentiments(self, tweet_ids: list[int]) -> dict[int, dict]:
        """The newest score of each tweet (the one ``tweet`` shows), for many tweets in one query (the GraphQL
        API's sentiment loader batches a page's tweets through it)."""
        if not tweet_ids or not self.catalog.has("analytics/tweet_sentiment"):
            return {}
        rows = self.catalog.query(
            "select tweet_id, label, score, model_version from analytics_tweet_sentiment "
            "where tweet_id in (select unnest(?)) "
            "qualify row_number() over (partition by tweet_id order by scored_at desc) = 1",
            [list(tweet_ids)],
        ).to_pylist()
        return {r["tweet_id"]: r for r in rows}

    # -- exports -----------------------------------------------------------------------------------------

    def stream(self, f: TweetFilter, batch_rows: int = 50_000) -> pa.RecordBatchReader:
        """Every tweet of the filter, newest first, as Arrow batches (an export of any size)."""
        params: list = []
        where = self._tweet_where(f, params)
        if not self.catalog.has("entities/tweets"):
            return pa.RecordBatchReader.from_batches(pa.schema([]), iter(()))
        sql = (
            f"select {', '.join('t.' + c for c in TWEET_COLUMNS)} from entities_tweets t "
            f"{'where ' + ' and '.join(where) if where else ''} order by t.created_at desc, t.tweet_id desc"
        )
        return self.catalog.stream(sql, params, batch_rows)
