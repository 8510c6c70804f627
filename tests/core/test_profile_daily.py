"""Profiles merged from per-user daily aggregates give the rows the whole-lake ``user_profiles`` gives."""

from __future__ import annotations

import datetime as dt
import hashlib
import math
import random

import pyarrow as pa
import pytest
from deltalake import write_deltalake

from xget_pipelines.core.coordination import MEMBERS_SCHEMA, MEMBERS_TABLE
from xget_pipelines.core.entities import (
    TWEETS,
    TWEETS_SCHEMA,
    USER_METRICS,
    USER_METRICS_SCHEMA,
    USERS,
    USERS_SCHEMA,
)
from xget_pipelines.core.lake.catalog import connect
from xget_pipelines.core.profile_daily import UNDATED, aggregate_day
from xget_pipelines.core.profile_merge import USER_PROFILES, merge_profiles, touched_users
from xget_pipelines.core.profiles import ProfileConfig, cotag_edges, graph_metrics, user_profiles
from xget_pipelines.core.sentiment.scoring import TWEET_SENTIMENT, TWEET_SENTIMENT_SCHEMA
from xget_pipelines.core.x.clean import cleaned_schema

UTC = dt.UTC
DAY0, DAY1, DAY2 = dt.date(2026, 6, 1), dt.date(2026, 6, 2), dt.date(2026, 6, 3)
TEXTS = ["gm", "buy now", "cats are great", "the match tonight", "hello world", None]
TAGS = ["Cats", "news", "Python", "ai"]
CFG = ProfileConfig(embed_users=3, tweets_per_user=4, similar=2, top=2)


class FakeEncoder:
    """A deterministic 8-dimensional 'embedding' of a text (its MD5 bytes), instead of MiniLM."""

    def embed(self, texts):
        import torch

        return torch.tensor([[b / 255 for b in hashlib.md5(t.encode()).digest()[:8]] for t in texts])


class World:
    """Writes tweets, users, observations, tags, mentions and sentiment scores into a lake, day by day."""

    def __init__(self, lake, seed: int = 3):
        self.lake, self.rng, self.next_id = lake, random.Random(seed), 1000

    def tweets(self, day: dt.date | None, fetched: dt.date, authors: list[int], per_author: int) -> list[int]:
        rng, rows, tags, mentions = self.rng, [], [], []
        seen = dt.datetime.combine(fetched, dt.time(23), UTC)
        for author in authors:
            for _ in range(per_author):
                self.next_id += 1
                tid = self.next_id
                created = (
                    dt.datetime.combine(day, dt.time(rng.randrange(24), rng.randrange(60)), UTC)
                    if day
                    else None
                )
                retweet = rng.random() < 0.2
                rows.append(
                    {
                        "tweet_id": tid,
                        "author_id": author,
                        "created_at": created,
                        "text": rng.choice(TEXTS),
                        "like_count": rng.randrange(50),
                        "retweet_count": rng.randrange(5),
                        "reply_count": rng.randrange(3),
                        "quote_count": rng.randrange(2),
                        "bookmark_count": 0,
                        "reply_to_tweet_id": tid - 1 if rng.random() < 0.3 else None,
                        "is_quote": rng.random() < 0.2,
                        "is_retweet": retweet,
                        "has_media": False,
                        "visibility": "visible",
                        "via": "timeline",
                        "first_seen": seen,
                        "last_seen": seen,
                        "created_date": day or UNDATED,
                    }
                )
                for tag in rng.sample(TAGS, rng.randrange(3)):
                    tags.append({"tweet_id": tid, "tag": tag, "tag_lower": tag.lower()})
                for other in rng.sample(range(1, 9), rng.randrange(3)):  # self mentions too: not counted
                    mentions.append({"tweet_id": tid, "user_id": other, "username": f"User{other}"})
        write_deltalake(
            self.lake.path(TWEETS),
            pa.Table.from_pylist(rows, schema=TWEETS_SCHEMA),
            partition_by=["created_date"],
            mode="append",
        )
        for table, extra in (("cleaned/hashtags", tags), ("cleaned/mentions", mentions)):
            key = f"w{self.next_id}"
            observed = [
                {**r, "watch_key": key, "page_key": "p", "fetched_at": seen, "day": fetched} for r in extra
            ]
            self.lake.replace_where(
                table,
                pa.Table.from_pylist(observed, schema=cleaned_schema(table)),
                {"day": fetched, "watch_key": key},
                ["day"],
            )
        return [r["tweet_id"] for r in rows]

    def users(self, when: dt.date, ids: list[int]) -> None:
        at = dt.datetime.combine(when, dt.time(22), UTC)
        rows = []
        for uid in ids:
            rows.append(
                {
                    "user_id": uid,
                    "username": f"user{uid}",
                    "display_name": f"User {uid}",
                    "followers_count": {2: 0, 6: None}.get(uid, 100 * uid + (when - DAY0).days * 7),
                    "following_count": 900 if uid == 3 else 40 + uid,
                    "description": "" if uid in (3, 4) else "about me",
                    "profile_image_url": "https://abs.twimg.com/default_profile.png" if uid == 4 else "x.jpg",
                    "first_seen": at,
                    "last_seen": at,
                    "bucket": uid % 16,
                }
            )
        current = self.lake.read(USERS)
        kept = [] if current is None else [r for r in current.to_pylist() if r["user_id"] not in ids]
        self.lake.overwrite(USERS, pa.Table.from_pylist(kept + rows, schema=USERS_SCHEMA))
        history = [
            {
                "user_id": r["user_id"],
                "observed_at": at,
                "followers_count": r["followers_count"],
                "following_count": r["following_count"],
                "observed_date": when,
            }
            for r in rows
        ]
        self.lake.append(
            USER_METRICS, pa.Table.from_pylist(history, schema=USER_METRICS_SCHEMA), ["observed_date"]
        )

    def score(self, tweet_ids: list[int], model: str, at: dt.datetime) -> None:
        rows = [
            {
                "tweet_id": tid,
                "model_version": model,
                "label": "neutral",
                "score": self.rng.uniform(-1, 1),
                "confidence": 0.5,
                "scored_at": at,
            }
            for tid in tweet_ids
        ]
        self.lake.append(TWEET_SENTIMENT, pa.Table.from_pylist(rows, schema=TWEET_SENTIMENT_SCHEMA))


def aggregate(lake, *days: dt.date) -> None:
    con = connect(lake)
    for day in days:
        aggregate_day(lake, con, day)


def assert_same_rows(got: pa.Table, want: pa.Table) -> None:
    """Every column of every row equal, floats (and lists of them) up to rounding."""
    assert got.schema == want.schema
    got_rows = sorted(got.to_pylist(), key=lambda r: r["user_id"])
    want_rows = sorted(want.to_pylist(), key=lambda r: r["user_id"])
    assert [r["user_id"] for r in got_rows] == [r["user_id"] for r in want_rows]
    for g, w in zip(got_rows, want_rows, strict=True):
        for column in want.column_names:
            assert _close(g[column], w[column]), (g["user_id"], column, g[column], w[column])


def _close(a, b) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_close(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_close(a[k], b[k]) for k in a)
    return a == b


@pytest.fixture
def world(lake):
    world = World(lake)
    first = world.tweets(DAY0, DAY0, [1, 2, 3, 4, 5], 6) + world.tweets(DAY1, DAY1, [1, 2, 3, 6], 5)
    first += world.tweets(None, DAY1, [1], 2)  # no created_at: the 1970-01-01 partition
    world.users(DAY0, [1, 2, 3, 4, 5])
    world.users(DAY1, [1, 2, 3, 6])
    world.score(first[:20], "v1", dt.datetime(2026, 6, 2, 1, tzinfo=UTC))
    world.score(first, "v2", dt.datetime(2026, 6, 2, 2, tzinfo=UTC))
    return world


def full(lake) -> pa.Table:
    con = connect(lake)
    return user_profiles(con, CFG, graph_metrics(con), encoder=FakeEncoder())


def test_a_full_refresh_from_the_aggregates_gives_user_profiles_rows(lake, world):
    aggregate(lake, DAY0, DAY1)
    result = merge_profiles(lake, CFG, None, graph_metrics(connect(lake)), FakeEncoder())
    want = full(lake)
    assert result.full and result.users == want.num_rows == 6
    assert_same_rows(lake.read(USER_PROFILES), want)
    assert sum(1 for e in want["embedding"].to_pylist() if e) == 3  # the embedding pass ran on both sides


def test_a_full_refresh_aggregates_the_days_without_aggregates_first(lake, world):
    aggregate(lake, DAY1)  # a lake from before the aggregates: day 0 was never aggregated
    result = merge_profiles(lake, CFG, None, graph_metrics(connect(lake)), FakeEncoder())
    assert result.days_aggregated == [DAY0]
    assert_same_rows(lake.read(USER_PROFILES), full(lake))


def test_a_new_day_recomputes_only_the_users_it_touched_and_gives_the_same_rows(lake, world):
    aggregate(lake, DAY0, DAY1)
    merge_profiles(lake, CFG, None, graph_metrics(connect(lake)), FakeEncoder())
    scored_through = dt.datetime(2026, 6, 2, 2, tzinfo=UTC)
    # Day 2: users 2 and 7 (new) tweet; user 4 tweets late about day 0; user 5 is observed again (followers).
    new = world.tweets(DAY2, DAY2, [2, 7], 4) + world.tweets(DAY0, DAY2, [4], 3)
    world.users(DAY2, [2, 4, 5, 7])
    world.score(new, "v2", dt.datetime(2026, 6, 3, 2, tzinfo=UTC))
    aggregate(lake, DAY2, DAY0)  # the day's partition and the late day's (late_days_sensor)
    con = connect(lake)
    touched = touched_users(con, [DAY2, DAY0], [DAY2], scored_through)
    assert {2, 4, 5, 7} <= touched and 6 not in touched
    result = merge_profiles(lake, CFG, touched, graph_metrics(con), FakeEncoder())
    want = full(lake)
    assert not result.full and result.recomputed == len(touched & set(want["user_id"].to_pylist()))
    assert_same_rows(lake.read(USER_PROFILES), want)
    assert 7 in lake.read(USER_PROFILES)["user_id"].to_pylist()


def test_a_merge_follows_coordination_and_a_new_sentiment_model(lake, world):
    aggregate(lake, DAY0, DAY1)
    merge_profiles(lake, CFG, None, graph_metrics(connect(lake)), FakeEncoder())
    members = [{"user_id": 5, "cluster_id": "coord-1", "degree": 2, "co_actions": 9, "items": 4}]
    lake.overwrite(MEMBERS_TABLE, pa.Table.from_pylist(members, schema=MEMBERS_SCHEMA))
    every = connect(lake).sql("select tweet_id from entities_tweets").fetchall()
    world.score([r[0] for r in every], "v3", dt.datetime(2026, 6, 4, tzinfo=UTC))  # a new model: a rescore
    con = connect(lake)
    touched = touched_users(con, [], [], dt.datetime(2026, 6, 3, tzinfo=UTC))
    result = merge_profiles(lake, CFG, touched, graph_metrics(con), FakeEncoder())
    stored = lake.read(USER_PROFILES)
    assert_same_rows(stored, full(lake))
    bot = next(r for r in stored.to_pylist() if r["user_id"] == 5)
    assert bot["coordination_cluster"] == "coord-1" and result.written >= 1


def test_an_untouched_merge_writes_nothing(lake, world):
    aggregate(lake, DAY0, DAY1)
    metrics = graph_metrics(connect(lake))
    merge_profiles(lake, CFG, None, metrics, FakeEncoder())
    version = lake.version(USER_PROFILES)
    result = merge_profiles(lake, CFG, set(), metrics, FakeEncoder())
    assert (result.written, result.reembedded, lake.version(USER_PROFILES)) == (0, False, version)
    quiet = merge_profiles(lake, CFG, {6}, metrics, FakeEncoder())  # the least active: not embedded
    assert (quiet.written, quiet.reembedded) == (1, False)
    assert_same_rows(lake.read(USER_PROFILES), full(lake))


def test_cotag_rows_of_a_day_are_the_full_networks_rows_of_that_day(lake, world):
    con = connect(lake)
    everything = cotag_edges(con)
    assert everything.num_rows
    for day in (DAY0, DAY1, DAY2):
        want = everything.filter(pa.compute.equal(everything["day"], pa.scalar(day, pa.date32())))
        assert cotag_edges(con, day).to_pylist() == want.to_pylist()
