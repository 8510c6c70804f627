"""A seeded synthetic lake in XGet's own format, for benchmarks that need millions of tweets.

``build(spec, folder)`` writes, with XGet's own writer (``core.lake.delta.Lake.append``) and schemas, the
tables the analytics read: ``entities/tweets`` (partitioned by ``created_date``), ``entities/users`` and
``entities/follows`` (by ``bucket``), ``entities/user_metrics_history`` (by ``observed_date``), the cleaned
``tweets``/``hashtags``/``mentions``/``urls`` (by ``day``, with the observation columns a scrape adds) and
``analytics/tweet_sentiment`` (every tweet of the lake already scored, as after a day's ``tweet_sentiment``).

Shape (one draw per tweet, vectorised with numpy and pyarrow, no per-tweet Python):

- the lake grows by days of ``day_tweets`` tweets (default 33,334): 1M tweets are 30 days, 10M are 300.
  A bigger lake is an older one, not a busier one, so "one more day" is the same amount of work at every
  lake size: what "cost grows with the day, not with the lake" has to be measured against;
- ``tweets / 20`` users (more of them over a longer history); authors, mentioned users, followed users,
  hashtags, URLs and retweeted posts are drawn from bounded power laws (density ~ rank^-0.7 .. rank^-1):
  a few accounts write and are mentioned a lot, most rarely, as on X (heavy-tailed activity: e.g.
  Wojcik and Hughes, "Sizing up Twitter users", Pew Research Center 2019: the top 10% of users write 80% of
  tweets);
- 25% retweets, 12% replies, 7% quotes; 0-5 hashtags (mean about 0.6) and 0-5 mentions (mean about 0.8)
  per tweet; 15% carry a link; texts are ten words drawn from VADER's lexicon and common words, so
  sentiment models have something to read;
- one follow edge per two tweets (the follower/following pages a watchlist collects), each dated to a day;
- one follower-count observation per (author, day) the author tweeted.

``add_day(spec, base, grown)`` makes ``grown``: ``base`` (its data files hard-linked, its logs copied) plus
day ``spec.days`` (the next one) written like the others, except ``analytics/tweet_sentiment``: the new day
is not scored yet, which is what ``tweet_sentiment`` then does incrementally.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from xget_pipelines.core.entities import (
    FOLLOWS,
    FOLLOWS_SCHEMA,
    TWEETS,
    TWEETS_SCHEMA,
    USER_BUCKETS,
    USER_METRICS,
    USER_METRICS_SCHEMA,
    USERS,
    USERS_SCHEMA,
)
from xget_pipelines.core.lake.delta import Lake
from xget_pipelines.core.sentiment.scoring import TWEET_SENTIMENT, TWEET_SENTIMENT_SCHEMA
from xget_pipelines.core.x.clean import cleaned_schema

START = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)
SCORED_BY = "vader-3.3.2"  # core.sentiment.models.VaderModel.version: what the fallback model scores as
TWEET_BASE, USER_BASE = 10**17, 10**9
WATCH_KEYS = 20
BATCH_DAYS = 10  # days written per commit: a file per partition per batch


@dataclass(frozen=True)
class LakeSpec:
    tweets: int
    seed: int = 7
    day_tweets: int = 33_334

    @property
    def days(self) -> int:
        return max(1, round(self.tweets / self.day_tweets))

    @property
    def users(self) -> int:
        return max(1_000, self.tweets // 20)

    @property
    def name(self) -> str:
        return f"{self.tweets}-{self.seed}-{self.day_tweets}"


def power_ranks(rng: np.random.Generator, n: int, size: int, exponent: float) -> np.ndarray:
    """``size`` 0-based ranks in [0, n) with density ~ rank^-exponent (inverse CDF of a bounded power law)."""
    u = rng.random(size)
    if abs(exponent - 1.0) < 1e-9:
        r = np.power(float(n + 1), u)
    else:
        a = 1.0 - exponent
        r = np.power((np.power(n + 1.0, a) - 1.0) * u + 1.0, 1.0 / a)
    return np.minimum(r.astype(np.int64), n) - 1


def _vocabulary() -> pa.Array:
    from importlib.resources import files

    common = (
        "the a to and of in is it you that for on with this was are be at have not but just so my your "
        "today people time new now more about what all when one can will like out from they we get"
    ).split()
    lexicon = files("vaderSentiment").joinpath("vader_lexicon.txt").read_text(encoding="utf-8")
    words = [line.split("\t", 1)[0] for line in lexicon.splitlines() if line and line[0].isalpha()]
    return pa.array(common * 20 + words)  # common words weigh more, as in text


def _counts(rng: np.random.Generator, n: int, mean: float) -> np.ndarray:
    return np.minimum(rng.poisson(mean, n), 5)


def _obs(tweet_ids: np.ndarray, fetched: pa.Array, day: dt.date) -> dict[str, pa.Array]:
    keys = pa.array([f"kw{k}" for k in range(WATCH_KEYS)]).take(pa.array(tweet_ids % WATCH_KEYS))
    return {
        "watch_key": keys,
        "page_key": pc.binary_join_element_wise(keys, pa.array([day.isoformat()] * len(tweet_ids)), ":"),
        "fetched_at": fetched,
        "day": pa.array([day] * len(tweet_ids), pa.date32()),
    }


def generate_day(spec: LakeSpec, day_index: int, vocab: pa.Array) -> dict[str, pa.Table]:
    """The rows of one day (tweets, cleaned tables, follows, metrics, sentiment), seeded by (seed, day)."""
    rng = np.random.default_rng([spec.seed, day_index])
    n, users = spec.day_tweets, spec.users
    day = (START + dt.timedelta(days=day_index)).date()
    ids = TWEET_BASE + day_index * 10**7 + np.arange(n, dtype=np.int64)
    seconds = np.sort(rng.integers(0, 86_400 * 10**6, n))
    created = pa.array(
        seconds + int(START.timestamp() * 10**6) + day_index * 86_400 * 10**6, pa.timestamp("us", tz="UTC")
    )
    authors = USER_BASE + power_ranks(rng, users, n, 0.7)
    kind = rng.random(n)
    is_rt, is_reply, is_quote = kind < 0.25, (kind >= 0.25) & (kind < 0.37), (kind >= 0.37) & (kind < 0.44)
    target = power_ranks(rng, n, n, 1.0)  # popular posts are retweeted, replied to and quoted more
    target_ids, target_authors = ids[target], authors[target]
    words = [vocab.take(pa.array(rng.integers(0, len(vocab), n))) for _ in range(10)]
    own_text = pc.binary_join_element_wise(*words, " ")
    text = pc.if_else(pa.array(is_rt), own_text.take(pa.array(target)), own_text)

    def ids_or_null(mask, values):
        return pa.array(np.where(mask, values, 0), pa.int64(), mask=~mask)

    likes = rng.geometric(0.2, n) - 1
    tweets = {
        "tweet_id": ids,
        "conversation_id": np.where(is_reply, target_ids, ids),
        "author_id": authors,
        "created_at": created,
        "text": text,
        "lang": pa.array(["en"] * n),
        "source_label": pa.nulls(n, pa.string()),
        "reply_to_tweet_id": ids_or_null(is_reply, target_ids),
        "reply_to_user_id": ids_or_null(is_reply, target_authors),
        "quoted_tweet_id": ids_or_null(is_quote, target_ids),
        "retweeted_tweet_id": ids_or_null(is_rt, target_ids),
        "like_count": likes,
        "retweet_count": likes // 4,
        "reply_count": likes // 8,
        "quote_count": likes // 16,
        "bookmark_count": likes // 10,
        "view_count": likes * 40 + rng.integers(0, 500, n),
        "possibly_sensitive": np.zeros(n, bool),
        "is_quote": is_quote,
        "is_retweet": is_rt,
        "has_media": rng.random(n) < 0.1,
        "visibility": pa.array(["visible"] * n),
        "via": pa.array(["timeline"] * n),
        "card_name": pa.nulls(n, pa.string()),
    }
    fetched = pc.add(created, pa.scalar(dt.timedelta(hours=1)))
    entity = dict(tweets)
    entity.update(
        first_seen=fetched,
        last_seen=fetched,
        tombstone=pa.nulls(n, pa.string()),
        tombstoned_at=pa.nulls(n, pa.timestamp("us", tz="UTC")),
        created_date=pa.array([day] * n, pa.date32()),
    )
    out = {
        TWEETS: pa.table(entity, schema=TWEETS_SCHEMA),
        "cleaned/tweets": pa.table(
            {**tweets, **_obs(ids, fetched, day)}, schema=cleaned_schema("cleaned/tweets")
        ),
    }

    def rows_of(count_mean):
        which = np.repeat(np.arange(n), _counts(rng, n, count_mean))
        return which, ids[which]

    which, tag_ids = rows_of(0.6)
    tags = pa.array([f"tag{r}" for r in range(20_000)]).take(
        pa.array(power_ranks(rng, 20_000, len(which), 0.9))
    )
    out["cleaned/hashtags"] = _unique(
        pa.table(
            {"tweet_id": tag_ids, "tag": tags, "tag_lower": tags, **_obs(tag_ids, fetched.take(which), day)},
            schema=cleaned_schema("cleaned/hashtags"),
        ),
        ["tweet_id", "tag_lower"],
    )
    which, men_ids = rows_of(0.8)
    mentioned = power_ranks(rng, users, len(which), 0.8)
    out["cleaned/mentions"] = _unique(
        pa.table(
            {
                "tweet_id": men_ids,
                "user_id": USER_BASE + mentioned,
                "username": pc.binary_join_element_wise("user", pa.array(mentioned).cast(pa.string()), ""),
                **_obs(men_ids, fetched.take(which), day),
            },
            schema=cleaned_schema("cleaned/mentions"),
        ),
        ["tweet_id", "user_id"],
    )
    linked = np.flatnonzero(rng.random(n) < 0.15)
    site, page = power_ranks(rng, 5_000, len(linked), 0.9), power_ranks(rng, 2_000, len(linked), 1.0)
    url = pc.binary_join_element_wise(
        "https://site", pa.array(site).cast(pa.string()), ".example/p/", pa.array(page).cast(pa.string()), ""
    )
    out["cleaned/urls"] = pa.table(
        {
            "tweet_id": ids[linked],
            "url": pc.binary_join_element_wise("https://t.co/", pa.array(ids[linked]).cast(pa.string()), ""),
            "expanded_url": url,
            "display_url": pc.utf8_slice_codeunits(url, 8),
            "domain": pc.binary_join_element_wise("site", pa.array(site).cast(pa.string()), ".example", ""),
            **_obs(ids[linked], fetched.take(pa.array(linked)), day),
        },
        schema=cleaned_schema("cleaned/urls"),
    )
    out[FOLLOWS] = _unique(_follows(rng, spec, day, n // 2), ["follower_id", "followed_id"])
    out[USER_METRICS] = _metrics(rng, spec, day, np.unique(authors))
    scored = ~is_rt
    label = rng.integers(0, 3, int(scored.sum()))
    out[TWEET_SENTIMENT] = pa.table(
        {
            "tweet_id": ids[scored],
            "model_version": pa.array([SCORED_BY] * len(label)),
            "label": pa.array(["negative", "neutral", "positive"]).take(pa.array(label)),
            "score": (label - 1) * rng.random(len(label)),
            "confidence": rng.random(len(label)),
            "scored_at": fetched.filter(pa.array(scored)),
        },
        schema=TWEET_SENTIMENT_SCHEMA,
    )
    return out


def _unique(table: pa.Table, keys: list[str]) -> pa.Table:
    """One row per key (a cleaned partition's unique key), the first drawn."""
    indexed = table.append_column("_i", pa.array(np.arange(table.num_rows)))
    first = indexed.group_by(keys).aggregate([("_i", "min")])["_i_min"].to_numpy()
    return table.take(np.sort(first))


def _follows(rng, spec: LakeSpec, day: dt.date, count: int) -> pa.Table:
    follower = USER_BASE + rng.integers(0, spec.users, count)
    followed = USER_BASE + power_ranks(rng, spec.users, count, 0.9)
    keep = follower != followed
    seen = pa.array(
        [dt.datetime.combine(day, dt.time(12), dt.UTC)] * int(keep.sum()), pa.timestamp("us", tz="UTC")
    )
    return pa.table(
        {
            "follower_id": follower[keep],
            "followed_id": followed[keep],
            "first_seen": seen,
            "last_seen": seen,
            "bucket": (follower[keep] % USER_BUCKETS).astype(np.int32),
        },
        schema=FOLLOWS_SCHEMA,
    )


def _followers(user_ids: np.ndarray) -> np.ndarray:
    """A user's follower count, fixed by its id's rank (the popular few have millions)."""
    rank = user_ids - USER_BASE + 1
    return (5_000_000 / np.power(rank, 0.9)).astype(np.int64) + 3


def _metrics(rng, spec: LakeSpec, day: dt.date, user_ids: np.ndarray) -> pa.Table:
    n = len(user_ids)
    at = pa.array([dt.datetime.combine(day, dt.time(12), dt.UTC)] * n, pa.timestamp("us", tz="UTC"))
    grown = _followers(user_ids) + (rng.random(n) * 50).astype(np.int64) * (
        day.toordinal() - START.toordinal()
    )
    return pa.table(
        {
            "user_id": user_ids,
            "observed_at": at,
            "followers_count": grown,
            "following_count": rng.integers(10, 2_000, n),
            "tweet_count": rng.integers(10, 50_000, n),
            "listed_count": pa.nulls(n, pa.int64()),
            "favourites_count": rng.integers(0, 10_000, n),
            "media_count": rng.integers(0, 500, n),
            "observed_date": pa.array([day] * n, pa.date32()),
        },
        schema=USER_METRICS_SCHEMA,
    )


def users_table(spec: LakeSpec) -> pa.Table:
    ids = USER_BASE + np.arange(spec.users, dtype=np.int64)
    rng = np.random.default_rng([spec.seed, 10**6])
    n = spec.users
    names = pc.binary_join_element_wise("user", pa.array(np.arange(n)).cast(pa.string()), "")
    empty = rng.random(n) < 0.1
    seen = pa.array([START] * n, pa.timestamp("us", tz="UTC"))
    data = {name: pa.nulls(n, USERS_SCHEMA.field(name).type) for name in USERS_SCHEMA.names}
    data.update(
        user_id=ids,
        username=names,
        display_name=names,
        description=pc.if_else(
            pa.array(empty), pa.scalar(None, pa.string()), pa.scalar("posts about things")
        ),
        created_at=seen,
        followers_count=_followers(ids),
        following_count=rng.integers(10, 2_000, n),
        tweet_count=rng.integers(10, 50_000, n),
        verified=np.zeros(n, bool),
        protected=np.zeros(n, bool),
        profile_image_url=pc.if_else(
            pa.array(empty),
            pa.scalar("https://pbs.twimg.com/default_profile.png"),
            pa.scalar("https://pbs.twimg.com/p.jpg"),
        ),
        first_seen=seen,
        last_seen=seen,
        bucket=(ids % USER_BUCKETS).astype(np.int32),
    )
    return pa.table(data, schema=USERS_SCHEMA)


PARTITIONS = {
    TWEETS: ["created_date"],
    "cleaned/tweets": ["day"],
    "cleaned/hashtags": ["day"],
    "cleaned/mentions": ["day"],
    "cleaned/urls": ["day"],
    FOLLOWS: ["bucket"],
    USER_METRICS: ["observed_date"],
    TWEET_SENTIMENT: None,
}


def _write_days(lake: Lake, spec: LakeSpec, days: range, skip: tuple[str, ...] = ()) -> None:
    vocab = _vocabulary()
    for first in range(days.start, days.stop, BATCH_DAYS):
        parts = [generate_day(spec, d, vocab) for d in range(first, min(first + BATCH_DAYS, days.stop))]
        for table, partition_by in PARTITIONS.items():
            if table not in skip:
                lake.append(table, pa.concat_tables(p[table] for p in parts), partition_by)
        del parts


def build(spec: LakeSpec, folder: Path) -> Lake:
    """The lake of ``spec`` in ``folder`` (kept: built once, ``spec.json`` marks it complete)."""
    marker = folder / "spec.json"
    if marker.exists():
        return Lake(str(folder))
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    lake = Lake(str(folder))
    lake.append(USERS, users_table(spec), ["bucket"])
    _write_days(lake, spec, range(spec.days))
    marker.write_text(json.dumps(asdict(spec)))
    return lake


def _link_or_copy(src: str, dst: str) -> None:
    if src.endswith(".parquet"):
        os.link(src, dst)  # data files are immutable in Delta: sharing them is safe
    else:
        shutil.copy2(src, dst)  # logs and checkpoints: the grown lake writes its own


def add_day(spec: LakeSpec, base: Path, grown: Path) -> Lake:
    """``grown``: a clone of ``base`` plus day ``spec.days``, its tweets not yet scored for sentiment."""
    marker = grown / "spec.json"
    if marker.exists():
        return Lake(str(grown))
    shutil.rmtree(grown, ignore_errors=True)
    shutil.copytree(base, grown, copy_function=_link_or_copy)
    marker.unlink()
    lake = Lake(str(grown))
    _write_days(lake, spec, range(spec.days, spec.days + 1), skip=(TWEET_SENTIMENT,))
    marker.write_text(json.dumps({**asdict(spec), "added_day": spec.days}))
    return lake


def clone(src: Path, dst: Path) -> Lake:
    """A throwaway copy of a lake for a step that writes into it (data files hard-linked)."""
    shutil.rmtree(dst, ignore_errors=True)
    shutil.copytree(src, dst, copy_function=_link_or_copy)
    return Lake(str(dst))


def lakes(spec: LakeSpec, root: Path) -> tuple[Path, Path]:
    """(base, grown) folders of ``spec`` under ``root``, built when missing."""
    base, grown = root / spec.name / "base", root / spec.name / "grown"
    build(spec, base)
    add_day(spec, base, grown)
    return base, grown


def added_day(spec: LakeSpec) -> dt.date:
    return (START + dt.timedelta(days=spec.days)).date()
