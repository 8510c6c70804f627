"""Coordinated behaviour over the merged tweets: accounts that act together (core/coordination.py).

Coordination is a property of repeated co-action over many days, but finding co-actions is a property of
one day (and the last minute of the day before). So each day partition finds its day's co-actions and
replaces that day of ``analytics/coordination_coactions``; the clusters are then read from the stored
co-actions of a window of days (``window_days``, 30, ending at the newest day) and the three tables are
replaced. A run costs its days' tweets plus the window's co-actions, not the lake. Days of the window that
have tweets but no stored co-actions (a lake written before they were stored) are computed in the same run.
"""

import datetime as dt

import dagster as dg
import pyarrow as pa
from pydantic import Field

from xget_pipelines.core.coordination import (
    CLUSTERS_TABLE,
    COACTIONS_SCHEMA,
    COACTIONS_TABLE,
    EVIDENCE_TABLE,
    MEMBERS_TABLE,
    CoordinationConfig,
    clusters_from,
    day_co_actions,
    evaluate,
    gexf_bytes,
)
from xget_pipelines.core.entities import EPOCH_DATE
from xget_pipelines.core.lake.catalog import connect, has_view, register
from xget_pipelines.core.lake.files import root_for
from xget_pipelines.core.lake.preview import markdown_preview
from xget_pipelines.partitions import BY_DATE, LAKE_WRITE_RETRY, daily_partitions
from xget_pipelines.resources import LakeResource, XApiResource

GEXF_FILE = "exports/coordination.gexf"  # beside the tables, under the lake root


class CoordinationRunConfig(dg.Config):
    """Detection settings of one run; see core/coordination.py for what they mean."""

    window_seconds: float = Field(
        60.0, description="Coordination interval: co-actions at most this far apart"
    )
    min_items: int = Field(
        3, description="Distinct items a pair must have co-acted on (repetition threshold)"
    )
    min_cluster: int = Field(3, description="Accounts a cluster needs")
    co_hashtags: bool = Field(
        False, description="Count using the same hashtag within the window as co-action"
    )
    window_days: int | None = Field(
        30,
        description="Days of stored co-actions the clusters are read from, ending at the newest stored day "
        "(null: every stored day)",
    )


def _empty(columns: dict[str, pa.DataType]) -> pa.Table:
    return pa.table({name: pa.array([], typ) for name, typ in columns.items()})


@dg.asset(
    key="analytics_coordination",
    group_name="analytics",
    kinds={"deltalake", "duckdb", "networkx"},
    partitions_def=daily_partitions,
    backfill_policy=dg.BackfillPolicy.single_run(),
    retry_policy=LAKE_WRITE_RETRY,
    automation_condition=dg.AutomationCondition.eager(),
    deps=["entities_tweets", dg.AssetDep("cleaned_urls", partition_mapping=BY_DATE)],
    metadata={"tables": [CLUSTERS_TABLE, MEMBERS_TABLE, EVIDENCE_TABLE], "gexf": GEXF_FILE},
)
def analytics_coordination(
    context: dg.AssetExecutionContext, config: CoordinationRunConfig, lake: LakeResource, x_api: XApiResource
) -> dg.MaterializeResult:
    """Clusters of accounts that post the same link or text, or retweet the same post, within seconds of
    each other again and again: the clusters, their members, the co-actions as evidence, and a GEXF of the
    clusters for Gephi. With the emulator as X, precision and recall of the clustered accounts against its
    injected campaigns, and how many clusters are trend bursts, are in the metadata."""
    cfg = CoordinationConfig(
        window_seconds=config.window_seconds,
        min_items=config.min_items,
        min_cluster=config.min_cluster,
        kinds=("url", "text", "retweet", "hashtag") if config.co_hashtags else ("url", "text", "retweet"),
    )
    if config.window_days is not None and config.window_days < 1:  # before any work is done
        raise ValueError(f"window_days must be at least 1 (or null for every day), not {config.window_days}")
    the_lake = lake.lake()
    con = connect(the_lake)
    computed = [dt.date.fromisoformat(key) for key in context.partition_keys]
    examined = sum(store_day(con, the_lake, day, cfg) for day in computed)
    window = window_of_days(con, config.window_days)
    # Days of the window with tweets but no stored co-actions (a lake from before they were stored, a day no
    # run covered): computed now, so the clusters never silently miss a day.
    unstored = sorted(_days_with_tweets(con, window) - _stored_days(con))
    examined += sum(store_day(con, the_lake, day, cfg) for day in unstored)
    co = (
        the_lake.read(COACTIONS_TABLE, where={"day": window}) if window else None
    ) or COACTIONS_SCHEMA.empty_table()
    result = clusters_from(co, cfg)
    versions = {
        table: the_lake.overwrite(table, data)
        for table, data in (
            (CLUSTERS_TABLE, result.clusters),
            (MEMBERS_TABLE, result.members),
            (EVIDENCE_TABLE, result.evidence),
        )
    }
    for table in versions:
        register(con, the_lake, table)
    usernames = {}
    if has_view(con, "entities_users") and result.members.num_rows:
        usernames = dict(con.sql("select user_id, username from entities_users").fetchall())
    root = root_for(the_lake.uri, the_lake.storage_options)
    root.fs.create_dir(root.path("exports"), recursive=True)
    with root.fs.open_output_stream(root.path(GEXF_FILE)) as out:
        out.write(gexf_bytes(result, usernames))
    metadata = {
        "clusters": result.clusters.num_rows,
        "accounts": result.members.num_rows,
        "evidence_rows": result.evidence.num_rows,
        "tweets_examined": examined,
        "days_computed": dg.MetadataValue.json([d.isoformat() for d in computed + unstored]),
        "window": dg.MetadataValue.json(
            [min(window).isoformat(), max(window).isoformat()] if window else None
        ),
        "co_actions_in_window": co.num_rows,
        "window_seconds": cfg.window_seconds,
        "min_items": cfg.min_items,
        "gexf": root.path(GEXF_FILE),
        "lake_versions": dg.MetadataValue.json(versions),
    }
    if result.clusters.num_rows:
        metadata["largest_clusters"] = dg.MetadataValue.md(markdown_preview(result.clusters.slice(0, 10)))
    truth = x_api.emulator_ground_truth()
    truth = truth if truth is not None and "campaigns" in truth else None
    if truth is not None:
        present = _authors(con, window)
        evaluation = evaluate(result, truth, present)
        metadata.update({f"ground_truth_{k}": v for k, v in evaluation.as_metadata().items()})
        metadata["ground_truth_false_accounts"] = dg.MetadataValue.json(evaluation.false_accounts)
        metadata["ground_truth_missed_accounts"] = dg.MetadataValue.json(evaluation.missed_accounts)
        context.log.info(
            f"coordination vs the emulator's campaigns: precision {evaluation.precision}, recall "
            f"{evaluation.recall}, trend bursts reported as coordination {evaluation.bursts_as_coordination}"
        )
    return dg.MaterializeResult(metadata=metadata)


def store_day(con, the_lake, day: dt.date, cfg: CoordinationConfig) -> int:
    """Find ``day``'s co-actions and replace that day of ``COACTIONS_TABLE``; the tweets examined. Reads the
    day's ``created_date`` partition and the previous one (a co-action may start before midnight), and the
    links and tags collected on or after the previous day (a tweet is collected on or after its day)."""
    if not has_view(con, "entities_tweets"):
        return 0
    start = dt.datetime.combine(day, dt.time(), dt.UTC)
    tweets = con.execute(
        """
        select tweet_id, author_id, created_at, text, retweeted_tweet_id from entities_tweets
        where created_date between ? and ? and created_at >= ? and created_at < ?
        """,
        [
            day - dt.timedelta(days=1),
            day,
            start - dt.timedelta(seconds=cfg.window_seconds),
            start + dt.timedelta(days=1),
        ],
    ).to_arrow_table()
    con.register("coord_day_tweets", tweets.select(["tweet_id"]))

    def of_the_tweets(view: str, column: str) -> pa.Table | None:
        """``(tweet_id, column)`` of the day's tweets from a cleaned table, collected since the day before."""
        if not has_view(con, view):
            return None
        return con.execute(
            f"select distinct tweet_id, {column} from {view} where day >= ? "
            "and tweet_id in (select tweet_id from coord_day_tweets)",
            [day - dt.timedelta(days=1)],
        ).to_arrow_table()

    try:
        urls = of_the_tweets("cleaned_urls", "expanded_url")
        hashtags = of_the_tweets("cleaned_hashtags", "tag_lower") if "hashtag" in cfg.kinds else None
    finally:
        con.unregister("coord_day_tweets")
    the_lake.replace_where(
        COACTIONS_TABLE, day_co_actions(tweets, day, urls, hashtags, cfg), {"day": day}, ["day"]
    )
    register(con, the_lake, COACTIONS_TABLE)
    return tweets.num_rows


def _stored_days(con) -> set[dt.date]:
    if not has_view(con, "analytics_coordination_coactions"):
        return set()
    return {r[0] for r in con.sql("select distinct day from analytics_coordination_coactions").fetchall()}


def _newest_day(con, stored: set[dt.date]) -> dt.date | None:
    days = set(stored)
    if has_view(con, "entities_tweets"):
        newest = con.execute(
            f"select max(created_date) from entities_tweets where created_date <> {EPOCH_DATE}"
        ).fetchone()[0]
        days |= {newest} if newest else set()
    return max(days, default=None)


def window_of_days(con, window_days: int | None) -> set[dt.date]:
    """The days the clusters are read from: ``window_days`` ending at the newest day with tweets or stored
    co-actions; every such day when ``window_days`` is None."""
    stored = _stored_days(con)
    newest = _newest_day(con, stored)
    if newest is None:
        return set()
    if window_days is None:
        return stored | _days_with_tweets(con, None)
    return {newest - dt.timedelta(days=k) for k in range(window_days)}


def _days_with_tweets(con, window: set[dt.date] | None) -> set[dt.date]:
    """Days of ``window`` (None: any) with dated tweets in ``entities_tweets``."""
    if not has_view(con, "entities_tweets") or window == set():
        return set()
    where = f"created_date <> {EPOCH_DATE}"
    params = []
    if window is not None:
        where += " and created_date between ? and ?"
        params = [min(window), max(window)]
    return {
        r[0]
        for r in con.execute(
            f"select distinct created_date from entities_tweets where {where}", params
        ).fetchall()
    }


def _authors(con, window: set[dt.date]) -> set[int]:
    """The accounts with tweets in the window: what the clusters could have found."""
    if not window or not has_view(con, "entities_tweets"):
        return set()
    rows = con.execute(
        "select distinct author_id from entities_tweets where created_date between ? and ? "
        "and author_id is not null",
        [min(window), max(window)],
    ).fetchall()
    return {r[0] for r in rows}
