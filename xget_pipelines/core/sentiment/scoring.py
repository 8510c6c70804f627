"""Scoring the lake's tweets incrementally, and the daily aggregate per watchlist key.

``score_new_tweets`` scores only the merged tweets (``entities/tweets``, not native retweets, with text)
that have no row yet for the model's version in ``analytics/tweet_sentiment``, in length-sorted batches,
appending each batch as it is scored (a run that dies keeps what it scored; the next one goes on from
there). ``sentiment_daily`` computes ``analytics/sentiment_daily``: per watchlist key and UTC day the
tweets scored, the share of each label and the mean polarity, for the current model version; given
``days`` (``scored_days``: the created days of the tweets scored since the previous run) it computes only
those, reading ``entities/tweets`` by its ``created_date`` partitions, so a run costs the days that changed,
not the lake.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pyarrow as pa

from xget_pipelines.core.lake.catalog import connect, has_view
from xget_pipelines.core.lake.delta import Lake

TWEET_SENTIMENT = "analytics/tweet_sentiment"
SENTIMENT_DAILY = "analytics/sentiment_daily"
TWEET_SENTIMENT_SCHEMA = pa.schema(
    [
        pa.field("tweet_id", pa.int64(), False),
        pa.field("model_version", pa.string(), False),
        pa.field("label", pa.string(), False),
        pa.field("score", pa.float64(), False),  # polarity: P(positive) - P(negative), or VADER's compound
        pa.field("confidence", pa.float64(), False),
        pa.field("scored_at", pa.timestamp("us", tz="UTC"), False),
    ]
)


SENTIMENT_DAILY_SCHEMA = pa.schema(
    [
        pa.field("watch_key", pa.string()),
        pa.field("day", pa.date32()),
        pa.field("model_version", pa.string()),
        pa.field("tweets", pa.int64()),
        pa.field("positive_share", pa.float64()),
        pa.field("neutral_share", pa.float64()),
        pa.field("negative_share", pa.float64()),
        pa.field("mean_score", pa.float64()),
    ]
)


@dataclass
class ScoreResult:
    model_version: str
    scored: int
    already_scored: int
    batches: int
    seconds: float


def pending(lake: Lake, model_version: str, limit: int | None = None) -> tuple[pa.Table, int]:
    """Tweets not yet scored by ``model_version`` (tweet_id, text), shortest first; and how many were."""
    con = connect(lake)
    if not has_view(con, "entities_tweets"):
        return pa.table({"tweet_id": pa.array([], pa.int64()), "text": pa.array([], pa.string())}), 0
    done = (
        "select tweet_id from analytics_tweet_sentiment where model_version = ?"
        if has_view(con, "analytics_tweet_sentiment")
        else "select null::bigint as tweet_id where ? is null"
    )
    sql = f"""
        select tweet_id, text from entities_tweets
        where not is_retweet and text is not null and length(trim(text)) > 0
          and tweet_id not in ({done})
        order by length(text), tweet_id
        {f"limit {int(limit)}" if limit else ""}
    """
    todo = con.sql(sql, params=[model_version]).to_arrow_table()
    already = con.execute(f"select count(*) from ({done})", [model_version]).fetchall()[0][0]
    return todo, already


def score_new_tweets(
    lake: Lake, model, batch_size: int = 512, limit: int | None = None, log=None
) -> ScoreResult:
    import time

    started = time.perf_counter()
    todo, already = pending(lake, model.version, limit)
    ids, texts = todo["tweet_id"].to_pylist(), todo["text"].to_pylist()
    batches = 0
    for start in range(0, len(ids), batch_size):
        chunk_ids, chunk_texts = ids[start : start + batch_size], texts[start : start + batch_size]
        predictions = model.predict(chunk_texts)
        now = dt.datetime.now(dt.UTC)
        table = pa.table(
            {
                "tweet_id": chunk_ids,
                "model_version": [model.version] * len(chunk_ids),
                "label": [p.label for p in predictions],
                "score": [p.score for p in predictions],
                "confidence": [p.confidence for p in predictions],
                "scored_at": [now] * len(chunk_ids),
            },
            schema=TWEET_SENTIMENT_SCHEMA,
        )
        lake.append(TWEET_SENTIMENT, table)
        batches += 1
        if log is not None:
            log(f"scored {start + len(chunk_ids)}/{len(ids)} tweets with {model.version}")
    return ScoreResult(model.version, len(ids), already, batches, time.perf_counter() - started)


def newest_score(con) -> dt.datetime | None:
    """When the newest sentiment score was written (any model): the cursor after which the next run of a
    consumer (the daily sentiment, the profile merge) looks for newly scored tweets."""
    if not has_view(con, "analytics_tweet_sentiment"):
        return None
    return con.execute("select max(scored_at) from analytics_tweet_sentiment").fetchone()[0]


def scored_days(lake: Lake, model_version: str, after: dt.datetime) -> set[dt.date]:
    """The created days (UTC) of the tweets ``model_version`` scored after ``after``: the days whose
    ``sentiment_daily`` rows changed since then. Reads the scores' ``scored_at`` (appended in time order, so
    Delta's file statistics skip the older files) and ``entities/tweets``' ``tweet_id``/``created_date``."""
    con = connect(lake)
    if not (has_view(con, "analytics_tweet_sentiment") and has_view(con, "entities_tweets")):
        return set()
    rows = con.execute(
        """
        select distinct e.created_date from entities_tweets e
        where e.created_at is not null and e.tweet_id in (
            select tweet_id from analytics_tweet_sentiment where model_version = ? and scored_at > ?)
        """,
        [model_version, after],
    ).fetchall()
    return {r[0] for r in rows}


def sentiment_daily(lake: Lake, model_version: str, days: set[dt.date] | None = None) -> pa.Table:
    """Per watchlist key and day the tweet was posted: tweets scored, label shares, mean polarity. ``days``:
    only those days (their ``created_date`` partitions are read), else every day."""
    con = connect(lake)
    if not (
        has_view(con, "analytics_tweet_sentiment")
        and has_view(con, "cleaned_tweets")
        and has_view(con, "entities_tweets")
    ) or (days is not None and not days):
        return SENTIMENT_DAILY_SCHEMA.empty_table()
    only = "" if days is None else "and e.created_date in (select unnest(?::date[]))"
    # A tweet is collected on or after its day: the hits of these days are in pages collected since the first.
    since = "" if days is None else "and day >= ?"
    params = ([] if days is None else [min(days)]) + [model_version]
    params += ([] if days is None else [sorted(days)]) + [model_version]
    return (
        con.sql(
            f"""
        with hits as (select distinct watch_key, tweet_id from cleaned_tweets where via = 'timeline' {since}),
        scored as (
            select s.tweet_id, s.label, s.score, cast(e.created_at at time zone 'UTC' as date) as day
            from analytics_tweet_sentiment s join entities_tweets e using (tweet_id)
            where s.model_version = ? and e.created_at is not null {only}
        )
        select h.watch_key, s.day, ?::varchar as model_version, count(*) as tweets,
               avg(case when s.label = 'positive' then 1.0 else 0.0 end) as positive_share,
               avg(case when s.label = 'neutral' then 1.0 else 0.0 end) as neutral_share,
               avg(case when s.label = 'negative' then 1.0 else 0.0 end) as negative_share,
               avg(s.score) as mean_score
        from scored s join hits h using (tweet_id)
        group by 1, 2 order by 1, 2
    """,
            params=params,
        )
        .to_arrow_table()
        .cast(SENTIMENT_DAILY_SCHEMA)
    )
