"""User profiles merged from the per-user daily aggregates (``core/profile_daily.py``): a run recomputes the
users touched since the previous one and merges their rows into ``analytics/user_profiles``.

The contract: for every user it writes, ``merge_profiles`` gives the row ``user_profiles`` (core/profiles.py)
computes over the whole lake (floats up to rounding: sums divided instead of averages).

What is not kept per day, and why:

- mean sentiment: tweets are scored after the day's merge (``tweet_sentiment`` runs downstream of it), so a
  day's aggregate would miss them; the merge averages the scores of the newest model over the touched users'
  tweets instead, and users whose tweets were scored since the last merge are touched;
- follower growth: from ``entities/user_metrics_history`` of the touched users;
- PageRank and mention community (``graph_metrics``, global by nature): every stored row gets the current
  values, a column patch over the profile table (one row per user, never per tweet);
- the embedding and ``similar_users``: still a bounded pass over the ``embed_users`` most active users, redone
  only when that set or one of its users changed (``embed_users`` x ``tweets_per_user`` encodings at most).

Which users a merge recomputes (``touched_users``): the authors of the day partitions materialized since the
last merge, the users with metric history observed on the dates merged since then (every observation of a
user writes its ``entities/users`` row and a history row together), the authors of tweets scored since then,
the authors of undated tweets, and users whose coordination cluster changed. Everything else keeps its row.
A day aggregated again (late tweets) touches every author of that day, not only those whose counts moved.

What a merge reads, honestly: the touched users' aggregates (a filtered scan of ``analytics/user_daily`` and
``analytics/user_day_keys``, one row per user and day, not per tweet), the profile table whole (one row per
user: PageRank is patched on every row and the rows that changed are found by comparing), and three
column scans that still grow with the lake, each of a few narrow columns: the sentiment scores of the newest
model joined to ``tweet_id``/``author_id`` of ``entities/tweets`` (mean sentiment and the newly scored
authors), and ``entities/user_metrics_history`` filtered by user (growth). The write is a ``Lake.merge`` on
``user_id`` (retried on a concurrent commit, like every merge); a full refresh replaces the table.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field

import pyarrow as pa
import pyarrow.compute as pc

from xget_pipelines.core.lake.catalog import connect, has_view, register
from xget_pipelines.core.lake.delta import Lake
from xget_pipelines.core.profile_daily import (
    UNDATED,
    USER_DAILY,
    USER_DAY_KEYS,
    aggregate_day,
    day_aggregates,
    no_rows,
    unaggregated_days,
)
from xget_pipelines.core.profiles import (
    ProfileConfig,
    coordination_clusters,
    embed,
    latest_model,
    profile_schema,
    with_bot_signals,
)

USER_PROFILES = "analytics/user_profiles"


def touched_users(
    con,
    days: Iterable[dt.date] = (),
    history_days: Iterable[dt.date] = (),
    scored_after: dt.datetime | None = None,
) -> set[int]:
    """The users a merge must recompute: authors in the aggregates of ``days``, users observed on
    ``history_days`` (``entities/user_metrics_history``' partitions), authors of tweets scored after
    ``scored_after`` and of undated tweets (see the module doc)."""
    users: set[int] = set()

    def add(sql: str, params: list) -> None:
        users.update(r[0] for r in con.execute(sql, params).fetchall() if r[0] is not None)

    days, history_days = sorted(set(days)), sorted(set(history_days))
    if days and has_view(con, "analytics_user_daily"):
        add(
            "select distinct user_id from analytics_user_daily where day in (select unnest(?::date[]))",
            [days],
        )
    if history_days and has_view(con, "entities_user_metrics_history"):
        add(
            "select distinct user_id from entities_user_metrics_history "
            "where observed_date in (select unnest(?::date[]))",
            [history_days],
        )
    if has_view(con, "entities_tweets"):
        add("select distinct author_id from entities_tweets where created_date = ?", [UNDATED])
        if scored_after is not None and has_view(con, "analytics_tweet_sentiment"):
            add(
                "select distinct t.author_id from entities_tweets t semi join "
                "(select tweet_id from analytics_tweet_sentiment where scored_at > ?) s using (tweet_id)",
                [scored_after],
            )
    return users


def profile_rows(
    con, cfg: ProfileConfig, users: Iterable[int] | None, metrics: pa.Table | None
) -> list[dict]:
    """``user_profiles``' rows (before the embedding) of ``users`` (None: everyone with aggregates), from the
    stored aggregates, the undated tweets' aggregates and the users' sentiment, growth and graph metrics."""
    if not (has_view(con, "entities_users") and has_view(con, "analytics_user_daily")):
        return []
    undated_daily, undated_keys = day_aggregates(con, UNDATED)
    con.register("_undated_daily", undated_daily)
    con.register("_undated_keys", undated_keys)
    keys = "analytics_user_day_keys" if has_view(con, "analytics_user_day_keys") else "_undated_keys"
    con.execute(f"""
        create or replace temp view _ud as
            select * from analytics_user_daily where day <> DATE '1970-01-01' union all by name
            select * from _undated_daily;
        create or replace temp view _uk as
            select * from {keys} where day <> DATE '1970-01-01' union all by name select * from _undated_keys
    """)
    if users is None:
        con.execute("create or replace temp table _sel as select distinct user_id from _ud")
    else:
        con.register("_sel_ids", pa.table({"user_id": pa.array(sorted(set(users)), pa.int64())}))
        con.execute("create or replace temp table _sel as select user_id from _sel_ids")
    graph = metrics if metrics is not None else pa.table({"user_id": pa.array([], pa.int64())})
    con.register("_gm", graph if "graph" in graph.column_names else _no_metrics())
    model = latest_model(con)
    sentiment = (
        "(select tweet_id, score from analytics_tweet_sentiment where model_version = $model)"
        if model
        else no_rows("null::bigint as tweet_id, null::double as score")
    )
    history = (
        "entities_user_metrics_history"
        if has_view(con, "entities_user_metrics_history")
        else no_rows(
            "null::bigint as user_id, null::timestamptz as observed_at, null::bigint as followers_count, "
            "null::bigint as following_count"
        )
    )
    tweets = (
        "entities_tweets"
        if has_view(con, "entities_tweets")
        else no_rows("null::bigint as tweet_id, null::bigint as author_id")
    )
    base = con.sql(
        f"""
        with act as (
            select user_id, sum(tweets)::bigint as tweets, count(*) filter (where dated > 0) as active_days,
                   sum(retweets) / sum(tweets) as retweet_share, sum(replies) / sum(tweets) as reply_share,
                   sum(quotes) / sum(tweets) as quote_share,
                   sum(engagement) as engagement, sum(engagement_tweets) as engagement_tweets
            from _ud semi join _sel using (user_id) group by 1
        ),
        k as (select user_id, kind, key, sum(n) as n from _uk semi join _sel using (user_id) group by all),
        hours as (
            select user_id, list(key::bigint order by n desc, key::bigint)[1:3] as active_hours,
                   count(*) as distinct_hours
            from k where kind = 'hour' group by 1
        ),
        texts as (select user_id, max(n)::bigint as top_text_repeats from k where kind = 'text' group by 1),
        tags as (
            select user_id, list(key order by n desc, key)[1:{cfg.top}] as top_hashtags
            from k where kind = 'hashtag' group by 1
        ),
        men as (
            select user_id, list(key order by n desc, key)[1:{cfg.top}] as top_mentions
            from k where kind = 'mention' group by 1
        ),
        sent as (
            select t.author_id as user_id, avg(s.score) as mean_sentiment
            from (select tweet_id, author_id from {tweets} semi join _sel on author_id = _sel.user_id) t
            join {sentiment} s using (tweet_id) group by 1
        ),
        growth as (
            select user_id,
                   arg_max(followers_count, observed_at) - arg_min(followers_count, observed_at)
                       as followers_growth,
                   arg_max(following_count, observed_at) - arg_min(following_count, observed_at)
                       as following_growth,
                   date_diff('second', min(observed_at), max(observed_at)) / 86400.0 as growth_days
            from {history} semi join _sel using (user_id) group by 1
        )
        select u.user_id, u.username, u.display_name, act.tweets, act.active_days,
               act.tweets / greatest(act.active_days, 1) as tweets_per_day, hours.active_hours,
               1 - act.retweet_share - act.reply_share - act.quote_share as original_share,
               act.reply_share, act.retweet_share, act.quote_share,
               tags.top_hashtags, men.top_mentions, sent.mean_sentiment,
               case when act.engagement_tweets > 0
                    then act.engagement / act.engagement_tweets / greatest(u.followers_count, 1) end
                   as engagement_rate,
               u.followers_count, u.following_count, growth.followers_growth, growth.following_growth,
               growth.growth_days, gm.pagerank as pagerank_mention, gf.pagerank as pagerank_follow,
               gm.community as mention_community,
               coalesce(hours.distinct_hours, 0) as distinct_hours, texts.top_text_repeats,
               u.description, u.profile_image_url
        from act join entities_users u using (user_id)
        left join hours using (user_id) left join texts using (user_id) left join tags using (user_id)
        left join men using (user_id) left join sent using (user_id) left join growth using (user_id)
        left join (select * from _gm where graph = 'mention') gm on gm.user_id = act.user_id
        left join (select user_id, pagerank from _gm where graph = 'follow') gf on gf.user_id = act.user_id
        order by act.tweets desc, u.user_id
    """,
        params={"model": model} if model else None,
    ).to_arrow_table()
    for name in ("_gm", "_undated_daily", "_undated_keys") + (() if users is None else ("_sel_ids",)):
        con.unregister(name)
    rows = base.to_pylist()
    with_bot_signals(rows, coordination_clusters(con))
    return rows


def _no_metrics() -> pa.Table:
    return pa.table(
        {
            "user_id": pa.array([], pa.int64()),
            "pagerank": pa.array([], pa.float64()),
            "community": pa.array([], pa.int64()),
            "graph": pa.array([], pa.string()),
        }
    )


@dataclass
class ProfileMerge:
    """What a merge did: ``full`` (everyone recomputed, the table replaced) or a merge of ``written`` rows."""

    full: bool
    users: int  # profiles in the table after the merge
    recomputed: int  # users whose row was computed from their aggregates
    written: int  # rows the merge inserted or replaced
    reembedded: bool
    version: int | None
    table: pa.Table  # the written rows
    days_aggregated: list[dt.date] = field(default_factory=list)  # by a full refresh: days with none yet


def _chosen(rows: list[dict], cfg: ProfileConfig) -> list[int]:
    """The users ``embed`` embeds (``rows`` ordered as ``user_profiles`` orders them)."""
    return [
        r["user_id"] for r in rows if (r["tweets"] or 0) - round((r["retweet_share"] or 0) * r["tweets"]) >= 2
    ][: cfg.embed_users]


def _patched(con, stored: pa.Table, touched: set[int], metrics: pa.Table | None) -> pa.Table:
    """The stored rows of the users not ``touched``, with the current PageRank and mention community, and
    ``_moved``: whether those changed. In DuckDB: the profile table is never turned into Python rows."""
    con.register("_stored", stored)
    con.register("_gm", metrics if metrics is not None and metrics.num_rows else _no_metrics())
    con.register("_touched", pa.table({"user_id": pa.array(sorted(touched), pa.int64())}))
    patched = con.sql("""
        select p.* replace (gm.pagerank as pagerank_mention, gf.pagerank as pagerank_follow,
                            gm.community as mention_community),
               (p.pagerank_mention is distinct from gm.pagerank
                or p.pagerank_follow is distinct from gf.pagerank
                or p.mention_community is distinct from gm.community) as _moved
        from _stored p anti join _touched using (user_id)
        left join (select * from _gm where graph = 'mention') gm on gm.user_id = p.user_id
        left join (select user_id, pagerank from _gm where graph = 'follow') gf on gf.user_id = p.user_id
    """).to_arrow_table()
    for name in ("_stored", "_gm", "_touched"):
        con.unregister(name)
    return patched


def _activity(table: pa.Table) -> list[dict]:
    """What ``_chosen`` and ``embed`` read of each row, in ``user_profiles``' order."""
    rows = table.select(["user_id", "tweets", "retweet_share"]).to_pylist()
    return sorted(rows, key=lambda r: (-(r["tweets"] or 0), r["user_id"]))


def merge_profiles(
    lake: Lake,
    cfg: ProfileConfig,
    touched: set[int] | None,
    metrics: pa.Table | None = None,
    encoder=None,
) -> ProfileMerge:
    """Recompute the ``touched`` users from their aggregates and merge them (and every row whose graph
    metrics, coordination cluster or embedding changed) into ``analytics/user_profiles``. ``touched`` None,
    or no profile table yet: a full refresh, the days without aggregates aggregated first, every user
    recomputed and the table replaced."""
    con = connect(lake)
    schema = profile_schema()
    stored = lake.read(USER_PROFILES) if touched is not None else None
    if stored is None:
        missing = unaggregated_days(con)
        for day in missing:
            aggregate_day(lake, con, day)
        if missing:
            register(con, lake, USER_DAILY)
            register(con, lake, USER_DAY_KEYS)
        rows = profile_rows(con, cfg, None, metrics)
        embed(con, rows, cfg, encoder)
        table = pa.Table.from_pylist(rows, schema=schema)
        version = lake.overwrite(USER_PROFILES, table) if table.num_rows else None
        return ProfileMerge(True, table.num_rows, len(rows), table.num_rows, True, version, table, missing)
    stored = stored.select(schema.names).cast(schema)
    clusters = coordination_clusters(con)
    ids, was_in = stored["user_id"].to_pylist(), stored["coordination_cluster"].to_pylist()
    touched = set(touched) | {uid for uid, c in zip(ids, was_in, strict=True) if c != clusters.get(uid)}
    fresh = profile_rows(con, cfg, touched, metrics)
    patched = _patched(con, stored, touched, metrics)
    fresh_table = pa.Table.from_pylist(fresh, schema=schema)
    was = _chosen(_activity(stored), cfg)
    everyone = _activity(pa.concat_tables([patched.select(schema.names), fresh_table]))
    chosen = _chosen(everyone, cfg)
    reembed = chosen != was or bool(set(chosen) & {r["user_id"] for r in fresh})
    previous = {  # the stored embeddings of the rows an embedding pass or the touched users may change
        r["user_id"]: r
        for r in stored.filter(pc.is_in(stored["user_id"], pa.array(sorted(set(was) | touched), pa.int64())))
        .select(["user_id", "embedding", "similar_users"])
        .to_pylist()
    }
    if reembed:
        embed(con, everyone, cfg, encoder)
        vectors = {r["user_id"]: r for r in everyone if r["embedding"] is not None}
    else:
        vectors = {uid: previous[uid] for uid in chosen if uid in previous}
    for row in fresh:
        vector = vectors.get(row["user_id"], {})
        row["embedding"], row["similar_users"] = vector.get("embedding"), vector.get("similar_users")
    # untouched rows whose embedding may have changed: the chosen before and now (at most 2 x embed_users)
    embedded = set(was) | set(chosen) if reembed else set()
    mask = pc.is_in(patched["user_id"], pa.array(sorted(embedded), pa.int64()))
    moved = patched.filter(pc.and_(patched["_moved"], pc.invert(mask))).select(schema.names)
    rewritten = []
    for row in patched.filter(mask).select(schema.names).to_pylist():
        vector = vectors.get(row["user_id"], {})
        rewritten.append(
            {**row, "embedding": vector.get("embedding"), "similar_users": vector.get("similar_users")}
        )
    again = pa.Table.from_pylist(rewritten, schema=schema).to_pylist()  # as stored: float32 embeddings
    kept = stored.filter(pc.is_in(stored["user_id"], pa.array(sorted(embedded), pa.int64())))
    before = {r["user_id"]: r for r in kept.to_pylist()}
    changed = pa.Table.from_pylist([r for r in again if before.get(r["user_id"]) != r], schema=schema)
    table = pa.concat_tables([pa.Table.from_pylist(fresh, schema=schema), moved, changed])
    users = patched.num_rows + fresh_table.num_rows
    version = lake.version(USER_PROFILES)
    if table.num_rows:
        lake.merge(
            USER_PROFILES,
            table,
            "t.user_id = s.user_id",
            lambda merger: merger.when_matched_update_all().when_not_matched_insert_all(),
            schema=schema,
        )
        version = lake.version(USER_PROFILES)
    return ProfileMerge(False, users, len(fresh), table.num_rows, reembed, version, table)
