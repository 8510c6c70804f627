"""Analytics per day of creation (UTC) of the tweets: the per-user daily aggregates the user profiles are
merged from (core/profile_daily.py) and the co-hashtag / co-mention network.

Both run in the ``entities`` job with the merge of their day (group ``analytics``); a day that a later merge
adds tweets to is run again by ``late_days_sensor`` (sensors/late_days.py) through the ``analytics_days``
job. Each partition replaces its day, so a rerun never doubles anything.
"""

import datetime as dt

import dagster as dg
import pyarrow as pa

from xget_pipelines.assets.profiles import COTAG
from xget_pipelines.core.lake.catalog import connect
from xget_pipelines.core.lake.preview import markdown_preview
from xget_pipelines.core.profile_daily import USER_DAILY, USER_DAY_KEYS, aggregate_day
from xget_pipelines.partitions import BY_DATE, LAKE_WRITE_RETRY, daily_partitions
from xget_pipelines.resources import LakeResource

# A day's tweets (entities/tweets) with their hashtags and mentions (the cleaned tables of every watchlist key
# of the day), like analytics_trends.
_PER_DAY = {
    "group_name": "analytics",
    "partitions_def": daily_partitions,
    "backfill_policy": dg.BackfillPolicy.single_run(),
    "retry_policy": LAKE_WRITE_RETRY,
    "automation_condition": dg.AutomationCondition.eager(),
    "deps": [
        "entities_tweets",
        dg.AssetDep("cleaned_hashtags", partition_mapping=BY_DATE),
        dg.AssetDep("cleaned_mentions", partition_mapping=BY_DATE),
    ],
}


@dg.asset(
    key="analytics_user_daily",
    kinds={"deltalake", "duckdb"},
    metadata={"table": USER_DAILY, "tables": [USER_DAILY, USER_DAY_KEYS]},
    **_PER_DAY,
)
def analytics_user_daily(context: dg.AssetExecutionContext, lake: LakeResource) -> dg.MaterializeResult:
    """Per author and day the tweet was created (UTC): tweets, retweets, replies, quotes, engagement, and
    the per-hour, per-hashtag, per-mention and per-text counts (``analytics/user_day_keys``) the user
    profiles are summed from. A partition is the day's tweets as stored when it runs; days that gain tweets
    later (older tweets of an account, conversation expansions) are run again by ``late_days_sensor``."""
    the_lake = lake.lake()
    con = connect(the_lake)
    users = rows = 0
    for key in context.partition_keys:
        day = dt.date.fromisoformat(key)
        daily, keys = aggregate_day(the_lake, con, day)
        users += daily.num_rows
        rows += keys.num_rows
    return dg.MaterializeResult(
        metadata={"days": len(context.partition_keys), "user_days": users, "key_counts": rows}
    )


@dg.asset(key="analytics_cotag_network", kinds={"deltalake"}, metadata={"table": COTAG}, **_PER_DAY)
def analytics_cotag_network(context: dg.AssetExecutionContext, lake: LakeResource) -> dg.MaterializeResult:
    """Per day: hashtags used together and users mentioned together, weighted by tweets. A partition holds
    the tweets created that day (UTC). Export a window for Gephi with ``xget graph export``."""
    from xget_pipelines.core.profiles import cotag_edges

    the_lake = lake.lake()
    con = connect(the_lake)
    edges, version, heaviest = 0, None, []
    for key in context.partition_keys:
        day = dt.date.fromisoformat(key)
        table = cotag_edges(con, day)
        # Not partitioned by day: lakes written before the per-day partitions hold the table unpartitioned,
        # and a day's rows are one file of their own after the first replace either way.
        version = the_lake.replace_where(COTAG, table, {"day": day})
        edges += table.num_rows
        heaviest.append(table.sort_by([("weight", "descending")]).slice(0, 10))
    md = {"edges": edges, "lake_version": version, "days": len(context.partition_keys)}
    if edges:
        top = pa.concat_tables(heaviest).sort_by([("weight", "descending")]).slice(0, 10)
        md["heaviest"] = dg.MetadataValue.md(markdown_preview(top))
    return dg.MaterializeResult(metadata=md)
