"""Lakes for the search sink tests, written the way the pipeline writes them: cleaned rows of a day (every
column the parser fills), then ``merge_day`` into ``entities/tweets`` and ``entities/users``.

``merge_tweets(lake, day, n)`` writes ``n`` tweets created that day by the three users below (texts cycle
through ``TEXTS``; ids above 2**53, as real snowflakes are) and merges the day; ``tombstones=[id]`` makes X
answer those tweets as deleted that day. ``lake_ids`` / ``findable_ids`` are what the index must hold.
"""

from __future__ import annotations

import datetime as dt

import pyarrow as pa

from xget_pipelines.core.entities import TWEETS, USERS, merge_day
from xget_pipelines.core.lake.delta import Lake
from xget_pipelines.core.x.clean import cleaned_schema

UTC = dt.UTC
D1, D2, D3, D4 = (dt.date(2026, 3, d) for d in (1, 2, 3, 4))
USERS_SEEN = [  # (user_id, username, display name, description)
    (101, "Alice", "Alice A.", "Loves running in the parks"),
    (102, "bob", "Bob B.", "Numbers person"),
    (2**40 + 7, "carol_x", "Carol", None),
]
TEXTS = [
    "Running late for the #Python meetup with @Alice",
    "delta lake and duckdb #data",
    "ünïcödé 🐍 tweet #python",
    "the who played all night",
    "quarterly numbers #Data #python",
    "walking in the parks",
]
KEY = "python"


def tweet_id(day: dt.date, i: int) -> int:
    return 2**61 + (day.toordinal() << 12) + i


def _at(day: dt.date, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour, minute), UTC)


def merge_tweets(lake: Lake, day: dt.date, n: int, tombstones: list[int] = ()) -> None:
    """``n`` new tweets created on ``day``, its users' profiles as seen that day, X's tombstones; merged."""
    fetched = _at(day, 12)
    tweets = [
        {
            "tweet_id": tweet_id(day, i),
            "conversation_id": tweet_id(day, i),
            "author_id": USERS_SEEN[i % 3][0],
            "created_at": _at(day, 8, i),
            "text": TEXTS[i % len(TEXTS)],
            "lang": "en" if i % 4 else "de",
            "like_count": i,
            "retweet_count": 1,
            "reply_count": 0,
            "quote_count": 0,
            "bookmark_count": 0,
            "view_count": 100 + i,
            "is_quote": False,
            "is_retweet": False,
            "has_media": i % 2 == 0,
            "visibility": "visible",
            "via": "timeline",
            "watch_key": KEY,
            "page_key": f"{KEY}:{day}",
            "fetched_at": fetched,
            "day": day,
        }
        for i in range(n)
    ]
    users = [
        {
            "user_id": uid,
            "username": name,
            "display_name": display,
            "description": description,
            "followers_count": 10 * day.day + k,
            "following_count": 5,
            "created_at": _at(D1, 0),
            "watch_key": KEY,
            "page_key": f"{KEY}:{day}",
            "fetched_at": fetched,
            "day": day,
        }
        for k, (uid, name, display, description) in enumerate(USERS_SEEN)
    ]
    _put(lake, "cleaned/tweets", day, tweets)
    _put(lake, "cleaned/users", day, users)
    gone = [
        {
            "tweet_id": t,
            "reason": "deleted",
            "watch_key": KEY,
            "page_key": f"{KEY}:{day}",
            "fetched_at": _at(day, 13),
            "day": day,
        }
        for t in tombstones
    ]
    _put(lake, "cleaned/tombstones", day, gone)
    merge_day(lake, day)


def _put(lake: Lake, table: str, day: dt.date, rows: list[dict]) -> None:
    data = pa.Table.from_pylist(rows, schema=cleaned_schema(table))
    lake.replace_where(table, data, {"day": day, "watch_key": KEY}, ["day"])


def lake_ids(lake: Lake, table: str = TWEETS) -> set[str]:
    column = "tweet_id" if table == TWEETS else "user_id"
    return {str(i) for i in lake.read(table, columns=[column])[column].to_pylist()}


def findable_ids(lake: Lake) -> set[str]:
    """The lake's tweets without a tombstone: exactly what the tweets index must hold."""
    rows = lake.read(TWEETS, columns=["tweet_id", "tombstone"]).to_pylist()
    return {str(r["tweet_id"]) for r in rows if r["tombstone"] is None}


def user_ids(lake: Lake) -> set[str]:
    return lake_ids(lake, USERS)
