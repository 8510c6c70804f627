"""Per-user daily aggregates: what a user profile is summed from, one day of tweets at a time, so that keeping
profiles up to date costs a day's tweets and the touched users' aggregates, not the lake.

Per created day (the UTC day of ``created_at``, ``entities/tweets``' partition column ``created_date``),
``day_aggregates`` reads that partition only and returns two tables, each replaced for the day:

- ``analytics/user_daily``: one row per author and day: tweets, tweets with a ``created_at`` (``dated``),
  retweets, replies, quotes, and the engagement (likes + retweets + replies + quotes) summed over the
  non-retweets with its count;
- ``analytics/user_day_keys``: per (author, day) the counts a profile ranks or takes a maximum of, one row per
  ``kind``/``key``: ``hour`` (UTC hour), ``hashtag`` and ``mention`` (tweets carrying it, as the profile's
  ``count(distinct tweet_id)``), ``text`` (tweets with that text, keyed by its MD5: the repeats rule needs the
  count of the most repeated text over all days, which only per-text counts can add up).

A profile sums its user's rows over all days: activity and shares are sums, ``active_days`` counts days with a
dated tweet, ``active_hours``/``top_hashtags``/``top_mentions`` rank the summed counts, ``distinct_hours``
counts hours, ``top_text_repeats`` is the largest summed text count, ``engagement_rate`` is the summed
engagement over the count and the current follower count. Tweets without ``created_at`` sit in the
``1970-01-01`` partition of ``entities/tweets`` (no daily partition holds that day): their aggregates are
computed afresh by every merge, from that partition alone.

A full refresh of the profiles first aggregates the created days that have no aggregates yet
(``unaggregated_days``: a lake from before them, or days never materialized), so it always covers the whole
lake. The profiles are merged from these by ``core/profile_merge.py``, which holds the contract: the rows the
whole-lake ``user_profiles`` (core/profiles.py) computes.
"""

from __future__ import annotations

import datetime as dt

import pyarrow as pa

from xget_pipelines.core.lake.catalog import has_view
from xget_pipelines.core.lake.delta import Lake

USER_DAILY = "analytics/user_daily"
USER_DAY_KEYS = "analytics/user_day_keys"
UNDATED = dt.date(1970, 1, 1)  # entities/tweets' created_date of a tweet without created_at (EPOCH_DATE)

USER_DAILY_SCHEMA = pa.schema(
    [
        ("day", pa.date32()),
        ("user_id", pa.int64()),
        ("tweets", pa.int64()),
        ("dated", pa.int64()),
        ("retweets", pa.int64()),
        ("replies", pa.int64()),
        ("quotes", pa.int64()),
        ("engagement", pa.float64()),  # sum over non-retweets of likes + retweets + replies + quotes
        ("engagement_tweets", pa.int64()),  # non-retweets with all four counts
    ]
)
USER_DAY_KEYS_SCHEMA = pa.schema(
    [
        ("day", pa.date32()),
        ("user_id", pa.int64()),
        ("kind", pa.string()),  # hour, hashtag, mention, text
        ("key", pa.string()),
        ("n", pa.int64()),
    ]
)


def no_rows(columns: str) -> str:
    """A SQL source with ``columns`` and no row, for a table the lake does not hold yet."""
    return f"(select {columns} where false)"


def day_aggregates(con, day: dt.date) -> tuple[pa.Table, pa.Table]:
    """``(user_daily rows, user_day_keys rows)`` of the tweets created on ``day`` (UTC), as stored now."""
    if not has_view(con, "entities_tweets"):
        return USER_DAILY_SCHEMA.empty_table(), USER_DAY_KEYS_SCHEMA.empty_table()
    # A tweet is collected on or after the day it was created: only pages collected since ``day`` can hold
    # its hashtags and mentions, so older collection days are not read (a day costs a day, not the lake).
    since = f"where day >= DATE '{day.isoformat()}'"
    hashtags = (
        f"(select tweet_id, tag_lower from cleaned_hashtags {since})"
        if has_view(con, "cleaned_hashtags")
        else no_rows("null::bigint as tweet_id, null::varchar as tag_lower")
    )
    mentions = (
        f"(select tweet_id, user_id, username from cleaned_mentions {since})"
        if has_view(con, "cleaned_mentions")
        else no_rows("null::bigint as tweet_id, null::bigint as user_id, null::varchar as username")
    )
    con.execute(
        "create or replace temp table _day as select tweet_id, author_id, created_at, text, is_retweet, "
        "is_quote, reply_to_tweet_id, like_count, retweet_count, reply_count, quote_count "
        "from entities_tweets where created_date = ? and author_id is not null",
        [day],
    )
    daily = con.sql(
        """
        select ?::date as day, author_id as user_id, count(*) as tweets, count(created_at) as dated,
               count(*) filter (where is_retweet) as retweets,
               count(*) filter (where reply_to_tweet_id is not null and not is_retweet) as replies,
               count(*) filter (where is_quote and not is_retweet) as quotes,
               sum(like_count + retweet_count + reply_count + quote_count) filter (where not is_retweet)
                   as engagement,
               count(like_count + retweet_count + reply_count + quote_count) filter (where not is_retweet)
                   as engagement_tweets
        from _day group by author_id order by user_id
    """,
        params=[day],
    ).to_arrow_table()
    keys = con.sql(
        f"""
        select ?::date as day, user_id, kind, key, n from (
            select author_id as user_id, 'hour' as kind, hour(created_at at time zone 'UTC')::varchar as key,
                   count(*) as n
            from _day where created_at is not null group by all
            union all
            select author_id, 'text', md5(text), count(*) from _day group by all
            union all
            select t.author_id, 'hashtag', h.tag_lower, count(distinct t.tweet_id)
            from _day t join {hashtags} h using (tweet_id) group by all
            union all
            select t.author_id, 'mention', lower(m.username), count(distinct t.tweet_id)
            from _day t join {mentions} m using (tweet_id)
            where m.username is not null and m.user_id is distinct from t.author_id group by all)
        order by user_id, kind, key
    """,
        params=[day],
    ).to_arrow_table()
    con.execute("drop table _day")
    return daily.cast(USER_DAILY_SCHEMA), keys.cast(USER_DAY_KEYS_SCHEMA)


def aggregate_day(lake: Lake, con, day: dt.date) -> tuple[pa.Table, pa.Table]:
    """Write ``day``'s aggregates (replacing that day of both tables); returns them."""
    daily, keys = day_aggregates(con, day)
    lake.replace_where(USER_DAILY, daily, {"day": day}, ["day"])
    lake.replace_where(USER_DAY_KEYS, keys, {"day": day}, ["day"])
    return daily, keys


def unaggregated_days(con) -> list[dt.date]:
    """Created days of ``entities/tweets`` with no aggregates: a lake from before the daily aggregates, or
    days never materialized. (A day whose tweets all lack an author has none either: listed, and cheap.)"""
    if not has_view(con, "entities_tweets"):
        return []
    done = "select distinct day from analytics_user_daily" if has_view(con, "analytics_user_daily") else ""
    rows = con.execute(
        "select distinct created_date from entities_tweets where created_date <> ?"
        + (f" except {done}" if done else "")
        + " order by 1",
        [UNDATED],
    ).fetchall()
    return [r[0] for r in rows]
