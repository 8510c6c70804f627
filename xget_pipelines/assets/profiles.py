"""User profiles (a merge from the per-user daily aggregates of ``profile_daily.py``) and graph metrics (a
snapshot recomputed from the lake)."""

import datetime as dt
from dataclasses import dataclass

import dagster as dg
from pydantic import Field

from xget_pipelines.core.lake.catalog import connect, has_view
from xget_pipelines.core.lake.preview import markdown_preview
from xget_pipelines.partitions import ON_PARENT_UPDATES
from xget_pipelines.resources import LakeResource

GRAPH_METRICS, USER_PROFILES, COTAG = (
    "analytics/graph_metrics",
    "analytics/user_profiles",
    "analytics/cotag_network",
)


class ProfilesConfig(dg.Config):
    embed_users: int = 300
    tweets_per_user: int = 10
    full_refresh: bool = Field(
        False,
        description="Recompute every user from every stored daily aggregate and replace the table, "
        "instead of merging the users touched since the last run (days without aggregates are aggregated "
        "first).",
    )


class GraphMetricsConfig(dg.Config):
    window_days: int | None = Field(
        30,
        description="Mentions of the tweets of the last N days (ending on the lake's newest tweet day) make "
        "the mention graph; null for all time. The follow graph is always the current follows.",
    )


@dg.asset(
    group_name="profiles",
    kinds={"deltalake", "igraph"},
    deps=["entities_tweets", "cleaned_mentions", "entities_follows"],
    metadata={"table": GRAPH_METRICS},
    automation_condition=ON_PARENT_UPDATES,
)
def analytics_graph_metrics(config: GraphMetricsConfig, lake: LakeResource) -> dg.MaterializeResult:
    """The mention graph (author -> mentioned user, over the last ``window_days`` days of tweets, 30 by
    default) and the follow graph: degrees, weighted degrees, PageRank, Leiden communities (column ``graph``),
    computed with igraph."""
    from xget_pipelines.core.profiles import graph_metrics, mention_window

    con = connect(lake.lake())
    window = mention_window(con, config.window_days)
    table = graph_metrics(con, window_days=config.window_days, as_of=window[1] if window else None)
    version = lake.lake().overwrite(GRAPH_METRICS, table)
    md = {
        "users": table.num_rows,
        "lake_version": version,
        "mention_window": f"{window[0]} .. {window[1]}" if window else "all time",
    }
    if table.num_rows:
        top = table.sort_by([("pagerank", "descending")]).slice(0, 10)
        md["graphs"] = dg.MetadataValue.json(
            {g: table["graph"].to_pylist().count(g) for g in ("mention", "follow")}
        )
        md["top_by_pagerank"] = dg.MetadataValue.md(markdown_preview(top))
    return dg.MaterializeResult(metadata=md)


@dg.asset(
    group_name="profiles",
    kinds={"deltalake", "pytorch"},
    deps=[
        "analytics_user_daily",
        "entities_tweets",
        "entities_users",
        "entities_user_metrics_history",
        "tweet_sentiment",
        analytics_graph_metrics,
        "analytics_coordination",
    ],
    metadata={"table": USER_PROFILES},
    automation_condition=ON_PARENT_UPDATES,
)
def analytics_user_profiles(
    context: dg.AssetExecutionContext, config: ProfilesConfig, lake: LakeResource
) -> dg.MaterializeResult:
    """Per author: activity, mix, top hashtags/mentions, mean sentiment, engagement rate, follower growth,
    PageRank, a MiniLM embedding with the most similar users, and bot-likeness signals with their reasons.
    A merge: only the users the day partitions, metric histories and sentiment scores materialized since the
    last run touched are recomputed, from their daily aggregates (``analytics_user_daily``); ``full_refresh``
    recomputes everyone and replaces the table (metadata ``mode`` says which ran)."""
    from xget_pipelines.core.profile_merge import merge_profiles, touched_users
    from xget_pipelines.core.profiles import ProfileConfig
    from xget_pipelines.core.sentiment.scoring import newest_score

    the_lake = lake.lake()
    con = connect(the_lake)
    metrics = (
        con.sql("select * from analytics_graph_metrics").to_arrow_table()
        if has_view(con, "analytics_graph_metrics")
        else None
    )
    since = _since_last_run(context, config.full_refresh)
    scored_through = newest_score(con)
    touched = None
    if since.events_through is not None and not config.full_refresh:
        touched = touched_users(con, since.days, since.history_days, since.scored_through)
    cfg = ProfileConfig(embed_users=config.embed_users, tweets_per_user=config.tweets_per_user)
    result = merge_profiles(the_lake, cfg, touched, metrics)
    md = {
        "mode": "full_refresh" if result.full else "merge",
        "users": result.users,
        "users_recomputed": result.recomputed,
        "rows_written": result.written,
        "days_merged": dg.MetadataValue.json(sorted(d.isoformat() for d in since.days)),
        "reembedded": result.reembedded,
        "days_aggregated_by_refresh": dg.MetadataValue.json([d.isoformat() for d in result.days_aggregated]),
        EVENTS_THROUGH: since.latest,
        SCORED_THROUGH: scored_through.isoformat() if scored_through else "",
    }
    if result.version is not None:
        md["lake_version"] = result.version
    if result.users == 0:
        context.log.warning("no daily aggregates of merged tweets yet: nothing to profile")
        return dg.MaterializeResult(metadata=md)
    table = result.table
    if not table.num_rows:
        return dg.MaterializeResult(metadata=md)
    flagged = [r for r in table.select(["username", "bot_signals"]).to_pylist() if r["bot_signals"]]
    shown = table.sort_by([("tweets", "descending"), ("user_id", "ascending")]).select(
        [
            "username",
            "tweets",
            "tweets_per_day",
            "engagement_rate",
            "pagerank_mention",
            "mean_sentiment",
            "bot_score",
        ]
    )
    md.update(
        {
            "embedded_users": sum(1 for e in table["embedding"].to_pylist() if e),
            "users_with_bot_signals": len(flagged),
            "bot_signal_examples": dg.MetadataValue.json(flagged[:10]),
            "most_active": dg.MetadataValue.md(markdown_preview(shown.slice(0, 10))),
        }
    )
    return dg.MaterializeResult(metadata=md)


# Materialization metadata of analytics_user_profiles: the newest event log entry (storage id) a run took
# its touched days from, and the newest sentiment score it saw; the next run starts after both.
EVENTS_THROUGH, SCORED_THROUGH = "events_through", "sentiment_scored_through"


@dataclass
class _Since:
    events_through: int | None  # the previous run's cursor; None: no merge before (a full refresh)
    latest: int  # this run's cursor
    days: set[dt.date]
    history_days: set[dt.date]
    scored_through: dt.datetime | None


def _since_last_run(context: dg.AssetExecutionContext, full: bool) -> _Since:
    """The day partitions of ``analytics_user_daily`` and the observation dates of the user metric history
    materialized since the previous run (its ``events_through``), from the instance's event log; for a full
    refresh (``full``, or no previous merge) none, only the cursor the next run starts from."""
    from xget_pipelines.assets.entities import PARTITIONS_WRITTEN
    from xget_pipelines.sensors.events import new_materializations

    previous = context.instance.get_latest_materialization_event(context.asset_key)
    metadata = previous.asset_materialization.metadata if previous and previous.asset_materialization else {}
    after = metadata[EVENTS_THROUGH].value if EVENTS_THROUGH in metadata else None
    scored = metadata[SCORED_THROUGH].value if SCORED_THROUGH in metadata else ""
    since = _Since(after, after or 0, set(), set(), dt.datetime.fromisoformat(scored) if scored else None)
    keys = [dg.AssetKey("analytics_user_daily"), dg.AssetKey("entities_user_metrics_history")]
    if after is None or full:  # everyone is recomputed: only the newest event matters, for the next run
        newest = [r.asset_entry.last_materialization_record for r in context.instance.get_asset_records(keys)]
        since.latest = max([r.storage_id for r in newest if r is not None], default=0)
        return since
    while True:
        records = new_materializations(context.instance, keys, since.latest)
        for record in records:
            materialization = record.asset_materialization
            if materialization.asset_key == keys[0] and materialization.partition:
                since.days.add(dt.date.fromisoformat(materialization.partition))
            elif PARTITIONS_WRITTEN in materialization.metadata:
                written = materialization.metadata[PARTITIONS_WRITTEN].value or []
                since.history_days.update(dt.date.fromisoformat(str(d)[:10]) for d in written)
            since.latest = max(since.latest, record.storage_id)
        if not records:
            return since
