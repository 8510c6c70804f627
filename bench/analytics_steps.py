"""What ``bench/analytics.py`` measures: one ``Step`` per (analytics asset, implementation).

A step is the core call its asset makes (lake reads included, the write of the result left out), run on a
lake folder in one of two modes:

- ``full``: over the whole lake (``base``), what a from-scratch materialization computes;
- ``incremental``: on ``grown`` (``base`` plus one more day), what today's asset runs when that day
  arrives: the full recompute again for the unpartitioned assets, the new day's partition for trends,
  the not-yet-scored tweets for sentiment.

A new implementation (an incremental profile merge, graph metrics on igraph...) is one more ``Step`` with
the same ``asset`` and its own ``implementation``; both run side by side, and the headline takes, per
asset, the fastest implementation that finished at every size.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from lakegen import SCORED_BY, LakeSpec, added_day, clone

from xget_pipelines.core.lake.delta import Lake


@dataclass(frozen=True)
class Run:
    """Where a step runs: the lake folder, the mode, the lake's spec and a scratch folder it may write to."""

    lake: Path
    mode: str
    spec: LakeSpec
    scratch: Path
    sentiment_model: str = "vader"

    @property
    def day(self) -> dt.date:
        return added_day(self.spec)


@dataclass(frozen=True)
class Step:
    asset: str
    implementation: str
    run: Callable[[Run], dict]  # -> {"rows": ..., and any figure worth printing}
    modes: tuple[str, ...] = ("full", "incremental")
    note: str = ""
    # Untimed, before an incremental run: the state the asset keeps between runs, as it stood before the
    # new day (the daily aggregates and profiles, the stored co-actions), built in ``run.scratch``.
    prepare: Callable[[Run], None] | None = None


def _lake(run: Run):
    from xget_pipelines.core.lake.delta import Lake

    return Lake(str(run.lake))


def _con(run: Run):
    from xget_pipelines.core.lake.catalog import connect

    return connect(_lake(run))


def trends(run: Run) -> dict:
    from xget_pipelines.core.trends import TrendConfig, trends_for_day

    con, cfg = _con(run), TrendConfig()
    if run.mode == "incremental":
        days = [run.day]
    else:
        first, last = con.execute(
            "select min(created_date), max(created_date) from entities_tweets"
        ).fetchone()
        days = [first + dt.timedelta(days=i) for i in range((last - first).days + 1)]
    return {"rows": sum(trends_for_day(con, day, cfg).table.num_rows for day in days), "days": len(days)}


def cotag(run: Run) -> dict:
    from xget_pipelines.core.profiles import cotag_edges

    return {"rows": cotag_edges(_con(run)).num_rows}


def cotag_per_day(run: Run) -> dict:
    """The asset since issue 20: a day partition computes its day (full: every day, one by one)."""
    from xget_pipelines.core.profiles import cotag_edges

    con = _con(run)
    return {"rows": sum(cotag_edges(con, day).num_rows for day in _days(con, run))}


def _days(con, run: Run) -> list[dt.date]:
    """The new day (incremental), or every created day of the lake (full)."""
    if run.mode == "incremental":
        return [run.day]
    first, last = con.execute(
        "select min(created_date), max(created_date) from entities_tweets where created_at is not null"
    ).fetchone()
    return [first + dt.timedelta(days=i) for i in range((last - first).days + 1)]


def graph(run: Run) -> dict:
    """igraph (since issue 20); full: the mention graph of all time, incremental: the asset's default
    window, the last 30 days of mentions (the follow graph whole in both)."""
    from xget_pipelines.core.profiles import graph_metrics

    window = None if run.mode == "full" else 30
    return {"rows": graph_metrics(_con(run), window_days=window).num_rows, "window_days": window}


def graph_sizes(run: Run) -> dict:
    """Edges of the two graphs (counted after the timed part: the goal is stated per 10M edges)."""
    from xget_pipelines.core.profiles import follow_edges, mention_edges

    con = _con(run)
    return {"mention_edges": mention_edges(con).num_rows, "follow_edges": follow_edges(con).num_rows}


def profiles(run: Run) -> dict:
    from xget_pipelines.core.profiles import GRAPH_SCHEMA, ProfileConfig, user_profiles

    # embed_users=0: the embedding is a fixed number of users whatever the lake (profile_embedding);
    # graph metrics as stored (empty here): they are measured on their own.
    table = user_profiles(_con(run), ProfileConfig(embed_users=0), GRAPH_SCHEMA.empty_table())
    return {"rows": table.num_rows}


def _profiles_state(run: Run) -> Path:
    return run.scratch / "profiles"


def profiles_prepare(run: Run) -> None:
    """The profile merge's state before the new day: every other day aggregated, every user profiled."""
    from xget_pipelines.core.lake.catalog import connect
    from xget_pipelines.core.profile_daily import aggregate_day, unaggregated_days
    from xget_pipelines.core.profile_merge import merge_profiles
    from xget_pipelines.core.profiles import GRAPH_SCHEMA, ProfileConfig

    lake = clone(run.lake, _profiles_state(run))
    con = connect(lake)
    for day in unaggregated_days(con):
        if day != run.day:
            aggregate_day(lake, con, day)
    merge_profiles(lake, ProfileConfig(embed_users=0), None, GRAPH_SCHEMA.empty_table())


def profiles_merged(run: Run) -> dict:
    """The asset since issue 20. Incremental: the new day's aggregates, then the merge of the users it
    touched; full: a full refresh (every day aggregated, every user profiled) on a copy of the lake."""
    from xget_pipelines.core.lake.catalog import connect
    from xget_pipelines.core.profile_daily import aggregate_day
    from xget_pipelines.core.profile_merge import merge_profiles, touched_users
    from xget_pipelines.core.profiles import GRAPH_SCHEMA, ProfileConfig

    cfg, metrics = ProfileConfig(embed_users=0), GRAPH_SCHEMA.empty_table()
    if run.mode == "full":
        result = merge_profiles(clone(run.lake, run.scratch / "profiles-full"), cfg, None, metrics)
        return {"rows": result.users, "recomputed": result.recomputed}
    lake = Lake(str(_profiles_state(run)))
    con = connect(lake)
    aggregate_day(lake, con, run.day)
    touched = touched_users(connect(lake), {run.day})
    result = merge_profiles(lake, cfg, touched, metrics)
    return {"rows": result.users, "recomputed": result.recomputed, "written": result.written}


def embedding(run: Run) -> dict:
    """The profiles' MiniLM pass: ``embed_users`` (300) users' last ``tweets_per_user`` (10) texts."""
    from xget_pipelines.core.profiles import ProfileConfig
    from xget_pipelines.core.sentiment.models import Encoder

    cfg = ProfileConfig()
    texts = (
        _con(run)
        .sql(f"""
        with top as (select author_id from entities_tweets where not is_retweet
                     group by 1 order by count(*) desc, 1 limit {cfg.embed_users})
        select text from (
            select text, row_number() over (partition by author_id order by created_at desc, tweet_id) as k
            from entities_tweets where not is_retweet and author_id in (select author_id from top))
        where k <= {cfg.tweets_per_user}""")
        .fetchall()
    )
    vectors = Encoder().embed([t for (t,) in texts])
    return {"rows": int(vectors.shape[0])}


def scoring(run: Run) -> dict:
    """``score_new_tweets`` on a throwaway copy of the lake (it appends the scores it makes)."""
    from xget_pipelines.core.lake.catalog import connect
    from xget_pipelines.core.sentiment.models import load_model, models_dir
    from xget_pipelines.core.sentiment.scoring import score_new_tweets

    lake = clone(run.lake, run.scratch / "scoring")
    model = load_model(run.sentiment_model, models_dir(Path(".xget")))
    result = score_new_tweets(lake, model)
    texts = (
        connect(lake)
        .execute("select count(*) from entities_tweets where not is_retweet and text is not null")
        .fetchone()[0]
    )
    return {
        "rows": result.scored,
        "already_scored": result.already_scored,
        "lake_texts": texts,
        "model_version": result.model_version,
    }


def daily_sentiment(run: Run) -> dict:
    from xget_pipelines.core.sentiment.scoring import sentiment_daily

    return {"rows": sentiment_daily(_lake(run), SCORED_BY).num_rows}


def daily_sentiment_days(run: Run) -> dict:
    """The asset since issue 20: the days of the tweets scored since its last run (here the new day)."""
    from xget_pipelines.core.sentiment.scoring import sentiment_daily

    days = None if run.mode == "full" else {run.day}
    return {"rows": sentiment_daily(_lake(run), SCORED_BY, days).num_rows}


def coordination(run: Run) -> dict:
    """The asset's reads (every merged tweet, every URL) and ``detect`` with its defaults."""
    from xget_pipelines.core.coordination import detect

    con = _con(run)
    tweets = con.sql(
        "select tweet_id, author_id, created_at, text, retweeted_tweet_id from entities_tweets"
    ).to_arrow_table()
    urls = con.sql("select distinct tweet_id, expanded_url from cleaned_urls").to_arrow_table()
    result = detect(tweets, urls)
    return {"rows": result.members.num_rows, "clusters": result.clusters.num_rows}


def _coordination_state(run: Run) -> Path:
    return run.scratch / "coordination"


def coordination_prepare(run: Run) -> None:
    """The stored co-actions of the window's other days, as the asset's earlier runs left them."""
    from xget_pipelines.assets.coordination import store_day
    from xget_pipelines.core.coordination import CoordinationConfig
    from xget_pipelines.core.lake.catalog import connect

    lake = clone(run.lake, _coordination_state(run))
    con = connect(lake)
    for back in range(1, 30):
        store_day(con, lake, run.day - dt.timedelta(days=back), CoordinationConfig())


def coordination_windowed(run: Run) -> dict:
    """The asset since issue 20. Incremental: the new day's co-actions stored, then the clusters of the
    30-day window read from the stored co-actions; full: no co-actions stored yet (on a copy), so the
    window's 30 days are computed, then its clusters."""
    from xget_pipelines.assets.coordination import store_day, window_of_days
    from xget_pipelines.core.coordination import COACTIONS_TABLE, CoordinationConfig, clusters_from
    from xget_pipelines.core.lake.catalog import connect

    cfg = CoordinationConfig()
    if run.mode == "full":
        lake = clone(run.lake, run.scratch / "coordination-full")
        con = connect(lake)
        days = sorted(window_of_days(con, 30))  # what the asset computes on a lake with none stored
    else:
        lake = Lake(str(_coordination_state(run)))
        con = connect(lake)
        days = [run.day]
    examined = sum(store_day(con, lake, day, cfg) for day in days)
    co = lake.read(COACTIONS_TABLE, where={"day": window_of_days(con, 30)})
    result = clusters_from(co, cfg)
    return {
        "rows": result.members.num_rows,
        "clusters": result.clusters.num_rows,
        "tweets_examined": examined,
    }


STEPS: list[Step] = [
    Step(
        "analytics_trends", "duckdb", trends, note="full: every day's partition; incremental: the new day's"
    ),
    Step("analytics_cotag_network", "duckdb", cotag, note="before issue 20: every day, every run"),
    Step("analytics_cotag_network", "duckdb-per-day", cotag_per_day, note="a day partition computes its day"),
    Step("analytics_graph_metrics", "igraph", graph, note="full: all time; incremental: the 30-day window"),
    Step(
        "analytics_user_profiles",
        "duckdb",
        profiles,
        note="before issue 20: every user from every tweet; embed_users=0, stored graph metrics empty",
    ),
    Step(
        "analytics_user_profiles",
        "daily-aggregates+merge",
        profiles_merged,
        prepare=profiles_prepare,
        note="the new day aggregated, its users merged; embed_users=0",
    ),
    Step(
        "profile_embedding",
        "minilm",
        embedding,
        modes=("incremental",),
        note="300 users x 10 texts whatever the lake: the same in a full run",
    ),
    Step(
        "tweet_sentiment",
        "score_new_tweets",
        scoring,
        modes=("incremental",),
        note="full extrapolated from the incremental rate",
    ),
    Step("sentiment_daily", "duckdb", daily_sentiment, note="before issue 20: every day, every run"),
    Step("sentiment_daily", "duckdb-days", daily_sentiment_days, note="the days scored since the last run"),
    Step(
        "analytics_coordination",
        "duckdb+networkx",
        coordination,
        note="before issue 20: every tweet, every run",
    ),
    Step(
        "analytics_coordination",
        "per-day+window",
        coordination_windowed,
        prepare=coordination_prepare,
        note="the new day's co-actions stored, the clusters of the 30-day window",
    ),
]
EXTRAS = {"analytics_graph_metrics": graph_sizes}  # figures counted after the timed part
