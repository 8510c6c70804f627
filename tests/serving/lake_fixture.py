"""A tiny lake for the serving API tests, written with deltalake in the layout the pipelines write.

``build_small_lake(root)`` writes, under the lake root ``root``:

- ``entities/tweets`` (by ``created_date``): five tweets of the last three days, 09:00 UTC today and earlier,
  with snowflake ids (above 2**53, as real ones are);
- ``entities/users`` (by ``bucket = user_id % 16``): alice (101), bob (102) and carol_x (2**40 + 7);
  tweet ``i`` is by user ``i % 3``;
- ``analytics/trends`` (by ``day``): six hourly buckets of #python and #data up to 09:00 UTC today;
- with ``analytics=True`` (the default) also ``analytics/tweet_sentiment`` (tweets 0 and 1; tweet 0 scored
  twice, the newest score wins), ``analytics/sentiment_daily`` (two days of ``#python``) and
  ``analytics/user_profiles`` (alice and bob, each the other's most similar user).

Returns the ids it wrote, so tests compare against them rather than against copies of these numbers.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pyarrow as pa

from xget_pipelines.core.entities import TWEETS_SCHEMA, USERS_SCHEMA
from xget_pipelines.core.lake.delta import Lake
from xget_pipelines.core.trends import TRENDS_SCHEMA

UTC = dt.UTC
TWITTER_EPOCH_MS = 1288834974657

USERS = [  # (user_id, username, display_name, followers)
    (101, "alice", "Alice A.", 1200),
    (102, "bob", "Bob B.", 35),
    (2**40 + 7, "carol_x", "Carol", 9_000_000),
]
TEXTS = [
    "hello #python world",
    "delta lake and duckdb #data",
    "ünïcödé 🐍 tweet #python",
    "a reply to alice",
    "quarterly numbers #data #python",
]
WATCH_KEY = "#python"


def snowflake(at: dt.datetime, seq: int = 0) -> int:
    return ((int(at.timestamp() * 1000) - TWITTER_EPOCH_MS) << 22) | seq


def rows_for(schema: pa.Schema, rows: list[dict]) -> pa.Table:
    """Rows as a table of ``schema``: missing nullable columns are null, missing counts 0, flags False."""
    full = []
    for row in rows:
        out = {}
        for f in schema:
            if f.name in row:
                out[f.name] = row[f.name]
            elif f.nullable:
                out[f.name] = None
            elif pa.types.is_integer(f.type):
                out[f.name] = 0
            elif pa.types.is_boolean(f.type):
                out[f.name] = False
            elif pa.types.is_string(f.type):
                out[f.name] = ""
            else:
                raise ValueError(f"no value for required column {f.name}")
        full.append(out)
    return pa.Table.from_pylist(full, schema=schema)


def build_small_lake(root: Path | str, today: dt.date | None = None, analytics: bool = True) -> dict:
    """Write the tiny lake under ``root`` (the lake root); returns what it wrote:

    ``tweets`` (ids, in the order written: tweet ``i``), ``authors`` (tweet id -> user id), ``users``
    (username -> user id), ``likes`` (tweet id -> like count), ``sentiment`` (tweet id -> newest label),
    ``watch_key`` (of the sentiment days) and ``base`` (09:00 UTC of ``today``, the newest tweet's time).
    ``today`` defaults to the newest day whose 09:00 lies at least an hour back, so the newest tweets and
    trend buckets are never in the future (readers hide those) at whatever time of day the tests run.
    """
    lake = Lake(str(root))
    now = dt.datetime.now(UTC).replace(microsecond=0)
    today = today or (now - dt.timedelta(hours=10)).date()
    base = dt.datetime.combine(today, dt.time(9, 0), UTC)

    tweets = []
    for i, text in enumerate(TEXTS):
        author = USERS[i % len(USERS)][0]
        created = base - dt.timedelta(days=i % 3, hours=i)
        tweets.append(
            {
                "tweet_id": snowflake(created, i),
                "conversation_id": snowflake(created, i),
                "author_id": author,
                "created_at": created,
                "text": text,
                "lang": "en",
                "like_count": 10 * i,
                "retweet_count": i,
                "reply_count": 1,
                "quote_count": 0,
                "bookmark_count": 0,
                "view_count": 100 + i,
                "is_quote": False,
                "is_retweet": False,
                "has_media": i % 2 == 0,
                "visibility": "visible",
                "via": "timeline",
                "first_seen": now,
                "last_seen": now,
                "created_date": created.date(),
            }
        )
    lake.append("entities/tweets", rows_for(TWEETS_SCHEMA, tweets), partition_by=["created_date"])

    users = [
        {
            "user_id": uid,
            "username": name,
            "display_name": display,
            "followers_count": followers,
            "following_count": 10,
            "tweet_count": 100,
            "created_at": base - dt.timedelta(days=900),
            "first_seen": now,
            "last_seen": now,
            "bucket": uid % 16,
        }
        for uid, name, display, followers in USERS
    ]
    lake.append("entities/users", rows_for(USERS_SCHEMA, users), partition_by=["bucket"])

    trends = []
    for h in range(6):
        bucket = base - dt.timedelta(hours=h)
        for name, count in (("python", 20 - h), ("data", 5 + h)):
            trends.append(
                {
                    "scope": "global",
                    "kind": "hashtag",
                    "name": name,
                    "bucket_start": bucket,
                    "count": count,
                    "baseline_mean": 3.0,
                    "baseline_std": 1.5,
                    "z": (count - 3.0) / 1.5,
                    "burst": count > 12,
                    "day": bucket.date(),
                }
            )
    lake.append("analytics/trends", rows_for(TRENDS_SCHEMA, trends), partition_by=["day"])

    ids = [t["tweet_id"] for t in tweets]
    written = {
        "tweets": ids,
        "authors": {t["tweet_id"]: t["author_id"] for t in tweets},
        "users": {name: uid for uid, name, _, _ in USERS},
        "likes": {t["tweet_id"]: t["like_count"] for t in tweets},
        "sentiment": {},
        "watch_key": WATCH_KEY,
        "base": base,
    }
    if analytics:
        written["sentiment"] = _write_analytics(lake, ids, today, now)
    return written


def _write_analytics(lake: Lake, ids: list[int], today: dt.date, now: dt.datetime) -> dict[int, str]:
    from xget_pipelines.core.profiles import profile_schema
    from xget_pipelines.core.sentiment.scoring import SENTIMENT_DAILY_SCHEMA, TWEET_SENTIMENT_SCHEMA

    scores = [  # tweet 0 scored twice: the later score is the one served
        {
            "tweet_id": ids[0],
            "model_version": "vader-1",
            "label": "negative",
            "score": -0.4,
            "confidence": 0.6,
            "scored_at": now - dt.timedelta(hours=2),
        },
        {
            "tweet_id": ids[0],
            "model_version": "vader-2",
            "label": "positive",
            "score": 0.8,
            "confidence": 0.9,
            "scored_at": now,
        },
        {
            "tweet_id": ids[1],
            "model_version": "vader-2",
            "label": "neutral",
            "score": 0.0,
            "confidence": 0.7,
            "scored_at": now,
        },
    ]
    lake.append("analytics/tweet_sentiment", rows_for(TWEET_SENTIMENT_SCHEMA, scores))

    days = [
        {
            "watch_key": WATCH_KEY,
            "day": today - dt.timedelta(days=d),
            "model_version": "vader-2",
            "tweets": 10 + d,
            "positive_share": 0.5,
            "neutral_share": 0.3,
            "negative_share": 0.2,
            "mean_score": 0.25 - d / 10,
        }
        for d in (1, 0)
    ]
    lake.append("analytics/sentiment_daily", rows_for(SENTIMENT_DAILY_SCHEMA, days))

    alice, bob = USERS[0], USERS[1]
    profiles = []
    for me, other, similarity in ((alice, bob, 0.91), (bob, alice, 0.91)):
        profiles.append(
            {
                "user_id": me[0],
                "username": me[1],
                "display_name": me[2],
                "tweets": 2,
                "active_days": 2,
                "tweets_per_day": 1.0,
                "active_hours": [8, 9],
                "original_share": 1.0,
                "reply_share": 0.0,
                "retweet_share": 0.0,
                "quote_share": 0.0,
                "top_hashtags": ["python", "data"],
                "top_mentions": [],
                "mean_sentiment": 0.4,
                "engagement_rate": 0.01,
                "followers_count": me[3],
                "following_count": 10,
                "followers_growth": 0,
                "following_growth": 0,
                "growth_days": 0.0,
                "pagerank_mention": 0.2,
                "pagerank_follow": None,
                "mention_community": 0,
                "bot_signals": [],
                "bot_score": 0.0,
                "embedding": [0.1, 0.2],
                "similar_users": [{"user_id": other[0], "similarity": similarity}],
            }
        )
    lake.overwrite("analytics/user_profiles", pa.Table.from_pylist(profiles, schema=profile_schema()))
    return {ids[0]: "positive", ids[1]: "neutral"}
