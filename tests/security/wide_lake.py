"""A lake wide enough for a GraphQL query to fan out: many authors, each profiled, each with tweets.

``build_wide_lake(root, users=1000, tweets=10_000)`` writes, in the production layouts (the schemas of
``core/entities.py``, ``core/profiles.py`` and ``core/sentiment/scoring.py``):

- ``entities/users``: ``users`` users, ids from 10,001;
- ``entities/tweets``: ``tweets`` tweets over the last three days, authors round-robin (so a page of 500
  tweets has 500 distinct authors when ``users`` >= 500), snowflake ids;
- ``analytics/user_profiles``: a profile of every user with a 384-float embedding (MiniLM's width, as the
  asset writes) and five similar users;
- ``analytics/tweet_sentiment``: a score of every tweet.

This is the shape the finding was measured on (the demo's lake: 2,333 users, every author profiled); the
numbers are smaller so a test builds it in a few seconds.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pyarrow as pa

from tests.serving.lake_fixture import rows_for, snowflake
from xget_pipelines.core.entities import TWEETS_SCHEMA, USERS_SCHEMA
from xget_pipelines.core.lake.delta import Lake
from xget_pipelines.core.profiles import profile_schema
from xget_pipelines.core.sentiment.scoring import TWEET_SENTIMENT_SCHEMA

FIRST_USER = 10_001


def build_wide_lake(root: Path | str, users: int = 1000, tweets: int = 10_000) -> dict:
    """Write the lake under ``root``; returns ``user_ids`` and ``tweet_ids`` (newest first)."""
    lake = Lake(str(root))
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    base = now - dt.timedelta(hours=1)
    user_ids = [FIRST_USER + i for i in range(users)]
    lake.append(
        "entities/users",
        rows_for(
            USERS_SCHEMA,
            [
                {
                    "user_id": uid,
                    "username": f"user{uid}",
                    "display_name": f"User {uid}",
                    "followers_count": 10 * i,
                    "following_count": 50,
                    "tweet_count": tweets // users,
                    "created_at": base - dt.timedelta(days=400),
                    "first_seen": now,
                    "last_seen": now,
                    "bucket": uid % 16,
                }
                for i, uid in enumerate(user_ids)
            ],
        ),
        partition_by=["bucket"],
    )
    rows = []
    step = dt.timedelta(seconds=max(1, 3 * 86400 // tweets))
    for i in range(tweets):
        created = base - i * step
        rows.append(
            {
                "tweet_id": snowflake(created, i % 4096),
                "conversation_id": snowflake(created, i % 4096),
                "author_id": user_ids[i % users],
                "created_at": created,
                "text": f"tweet {i} about #topic{i % 37} and the lake",
                "lang": "en",
                "like_count": i % 97,
                "view_count": 100 + i,
                "visibility": "visible",
                "via": "timeline",
                "first_seen": now,
                "last_seen": now,
                "created_date": created.date(),
            }
        )
    lake.append("entities/tweets", rows_for(TWEETS_SCHEMA, rows), partition_by=["created_date"])
    lake.append(
        "analytics/tweet_sentiment",
        rows_for(
            TWEET_SENTIMENT_SCHEMA,
            [
                {
                    "tweet_id": r["tweet_id"],
                    "model_version": "vader-1",
                    "label": ("negative", "neutral", "positive")[k % 3],
                    "score": (k % 3 - 1) / 2,
                    "confidence": 0.5,
                    "scored_at": now,
                }
                for k, r in enumerate(rows)
            ],
        ),
    )
    profiles = [
        {
            "user_id": uid,
            "username": f"user{uid}",
            "display_name": f"User {uid}",
            "tweets": tweets // users,
            "active_days": 3,
            "tweets_per_day": tweets / users / 3,
            "active_hours": [8, 9, 10],
            "original_share": 1.0,
            "reply_share": 0.0,
            "retweet_share": 0.0,
            "quote_share": 0.0,
            "top_hashtags": [f"topic{i % 37}"],
            "top_mentions": [],
            "mean_sentiment": 0.1,
            "engagement_rate": 0.01,
            "followers_count": 10 * i,
            "following_count": 50,
            "followers_growth": 0,
            "following_growth": 0,
            "growth_days": 0.0,
            "pagerank_mention": 1 / users,
            "pagerank_follow": None,
            "mention_community": i % 7,
            "bot_signals": [],
            "bot_score": 0.0,
            "embedding": [((i * 31 + d) % 100) / 100 for d in range(384)],
            "similar_users": [
                {"user_id": user_ids[(i + k) % users], "similarity": 1 - k / 10} for k in range(1, 6)
            ],
        }
        for i, uid in enumerate(user_ids)
    ]
    lake.overwrite("analytics/user_profiles", pa.Table.from_pylist(profiles, schema=profile_schema()))
    return {"user_ids": user_ids, "tweet_ids": [r["tweet_id"] for r in rows]}
