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


def graph(run: Run) -> dict:
    from xget_pipelines.core.profiles import graph_metrics

    return {"rows": graph_metrics(_con(run)).num_rows}


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


STEPS: list[Step] = [
    Step(
        "analytics_trends", "duckdb", trends, note="full: every day's partition; incremental: the new day's"
    ),
    Step("analytics_cotag_network", "duckdb", cotag),
    Step("analytics_graph_metrics", "networkx", graph),
    Step("analytics_user_profiles", "duckdb", profiles, note="embed_users=0, stored graph metrics empty"),
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
    Step("sentiment_daily", "duckdb", daily_sentiment),
    Step("analytics_coordination", "duckdb+networkx", coordination),
]
EXTRAS = {"analytics_graph_metrics": graph_sizes}  # figures counted after the timed part
