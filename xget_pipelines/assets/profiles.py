"""User profiles, graph metrics and the co-hashtag/co-mention network: snapshots recomputed from the lake."""

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
        "entities_tweets",
        "entities_users",
        "entities_user_metrics_history",
        "tweet_sentiment",
        analytics_graph_metrics,
        "cleaned_hashtags",
        "analytics_coordination",
    ],
    metadata={"table": USER_PROFILES},
    automation_condition=ON_PARENT_UPDATES,
)
def analytics_user_profiles(
    context: dg.AssetExecutionContext, config: ProfilesConfig, lake: LakeResource
) -> dg.MaterializeResult:
    """Per author: activity, mix, top hashtags/mentions, mean sentiment, engagement rate, follower growth,
    PageRank, a MiniLM embedding with the most similar users, and bot-likeness signals with their reasons."""
    from xget_pipelines.core.profiles import ProfileConfig, user_profiles

    the_lake = lake.lake()
    con = connect(the_lake)
    metrics = (
        con.sql("select * from analytics_graph_metrics").to_arrow_table()
        if has_view(con, "analytics_graph_metrics")
        else None
    )
    table = user_profiles(
        con, ProfileConfig(embed_users=config.embed_users, tweets_per_user=config.tweets_per_user), metrics
    )
    if table.num_rows == 0:
        context.log.warning("no merged tweets yet: nothing to profile")
        return dg.MaterializeResult(metadata={"users": 0})
    version = the_lake.overwrite(USER_PROFILES, table)
    flagged = [r for r in table.select(["username", "bot_signals"]).to_pylist() if r["bot_signals"]]
    shown = table.select(
        [
            "username",
            "tweets",
            "tweets_per_day",
            "engagement_rate",
            "pagerank_mention",
            "mean_sentiment",
            "bot_score",
        ]
    ).slice(0, 10)
    return dg.MaterializeResult(
        metadata={
            "users": table.num_rows,
            "lake_version": version,
            "embedded_users": sum(1 for e in table["embedding"].to_pylist() if e),
            "users_with_bot_signals": len(flagged),
            "bot_signal_examples": dg.MetadataValue.json(flagged[:10]),
            "most_active": dg.MetadataValue.md(markdown_preview(shown)),
        }
    )


@dg.asset(
    group_name="profiles",
    kinds={"deltalake"},
    deps=["entities_tweets", "cleaned_hashtags", "cleaned_mentions"],
    metadata={"table": COTAG},
    automation_condition=ON_PARENT_UPDATES,
)
def analytics_cotag_network(lake: LakeResource) -> dg.MaterializeResult:
    """Per day: hashtags used together and users mentioned together, weighted by tweets. Export a window
    for Gephi with ``xget graph export``."""
    from xget_pipelines.core.profiles import cotag_edges

    table = cotag_edges(connect(lake.lake()))
    version = lake.lake().overwrite(COTAG, table)
    md = {"edges": table.num_rows, "lake_version": version}
    if table.num_rows:
        md["heaviest"] = dg.MetadataValue.md(
            markdown_preview(table.sort_by([("weight", "descending")]).slice(0, 10))
        )
    return dg.MaterializeResult(metadata=md)
