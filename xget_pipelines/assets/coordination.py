"""Coordinated behaviour over the merged tweets: accounts that act together (core/coordination.py).

Coordination is a property of repeated co-action over many days, so each run recomputes the clusters over
every merged tweet and replaces the three tables. The asset is partitioned by day only to run in the
``entities`` job together with the merge of those days (as ``analytics_trends`` does).
"""

import dagster as dg
import pyarrow as pa
from pydantic import Field

from xget_pipelines.core.coordination import (
    CLUSTERS_TABLE,
    EVIDENCE_TABLE,
    MEMBERS_TABLE,
    CoordinationConfig,
    detect,
    evaluate,
    gexf_bytes,
)
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
    the_lake = lake.lake()
    con = connect(the_lake)
    if has_view(con, "entities_tweets"):
        tweets = con.sql(
            "select tweet_id, author_id, created_at, text, retweeted_tweet_id from entities_tweets"
        ).to_arrow_table()
    else:
        tweets = _empty(
            {
                "tweet_id": pa.int64(),
                "author_id": pa.int64(),
                "created_at": pa.timestamp("us", tz="UTC"),
                "text": pa.string(),
                "retweeted_tweet_id": pa.int64(),
            }
        )
    urls = (
        con.sql("select distinct tweet_id, expanded_url from cleaned_urls").to_arrow_table()
        if has_view(con, "cleaned_urls")
        else None
    )
    hashtags = (
        con.sql("select distinct tweet_id, tag_lower from cleaned_hashtags").to_arrow_table()
        if config.co_hashtags and has_view(con, "cleaned_hashtags")
        else None
    )
    result = detect(tweets, urls, hashtags, cfg)
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
        "tweets_examined": tweets.num_rows,
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
        present = set(tweets["author_id"].drop_null().to_pylist())
        evaluation = evaluate(result, truth, present)
        metadata.update({f"ground_truth_{k}": v for k, v in evaluation.as_metadata().items()})
        metadata["ground_truth_false_accounts"] = dg.MetadataValue.json(evaluation.false_accounts)
        metadata["ground_truth_missed_accounts"] = dg.MetadataValue.json(evaluation.missed_accounts)
        context.log.info(
            f"coordination vs the emulator's campaigns: precision {evaluation.precision}, recall "
            f"{evaluation.recall}, trend bursts reported as coordination {evaluation.bursts_as_coordination}"
        )
    return dg.MaterializeResult(metadata=metadata)
