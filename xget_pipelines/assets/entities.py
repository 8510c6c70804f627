"""Gold: the day's cleaned observations merged into deduplicated tweets and users, with metric histories."""

import datetime as dt

import dagster as dg

from xget_pipelines.core.entities import FOLLOWS, TWEET_METRICS, TWEETS, USER_METRICS, USERS, merge_day
from xget_pipelines.core.lake.tables import view_name
from xget_pipelines.partitions import BY_DATE, LAKE_WRITE_RETRY, daily_partitions
from xget_pipelines.resources import LakeResource

_DESCRIPTIONS = {
    TWEETS: "One row per tweet, newest observation wins; first_seen/last_seen; tombstone when X answers it "
    "as deleted or withheld. Partitioned by created_date.",
    USERS: "One row per user, newest observation wins; first_seen/last_seen. Partitioned by user_id % 16.",
    TWEET_METRICS: "Every observed like/retweet/reply/quote/bookmark/view count with its time (velocity).",
    USER_METRICS: "Every observed follower/following/tweet count with its time (growth).",
    FOLLOWS: "Follow edges (follower -> followed) seen on watched accounts' Followers/Following pages; "
    "first_seen/last_seen.",
}
_SOURCES = {
    TWEETS: "cleaned_tweets",
    TWEET_METRICS: "cleaned_tweets",
    USERS: "cleaned_users",
    USER_METRICS: "cleaned_users",
    FOLLOWS: "cleaned_follows",
}


# Materialization metadata: the values of the table's partition column this run merged into (the key checks
# of the same run look only there).
PARTITIONS_WRITTEN = "partitions_written"


def asset_key(table: str) -> dg.AssetKey:
    return dg.AssetKey(view_name(table))


@dg.multi_asset(
    specs=[
        dg.AssetSpec(
            asset_key(table),
            group_name="entities",
            kinds={"deltalake"},
            description=_DESCRIPTIONS[table],
            metadata={"table": table},
            automation_condition=dg.AutomationCondition.eager(),  # a day merges once its cleaned data changed
            deps=[dg.AssetDep(_SOURCES[table], partition_mapping=BY_DATE)]
            + ([dg.AssetDep("cleaned_tombstones", partition_mapping=BY_DATE)] if table == TWEETS else []),
        )
        for table in (TWEETS, USERS, TWEET_METRICS, USER_METRICS, FOLLOWS)
    ],
    partitions_def=daily_partitions,
    backfill_policy=dg.BackfillPolicy.single_run(),
    retry_policy=LAKE_WRITE_RETRY,
    can_subset=False,
)
def entity_tables(context: dg.AssetExecutionContext, lake: LakeResource):
    """Merge each day of the run (one, or a whole backfill range in a single run) into the entities."""
    the_lake = lake.lake()
    totals: dict[str, dict] = {
        t: {
            "source_rows": 0,
            "inserted": 0,
            "updated": 0,
            "files_scanned": 0,
            "files_rewritten": 0,
            "rows_copied": 0,
        }
        for t in _DESCRIPTIONS
    }
    tombstoned = 0
    versions: dict[str, int] = {}
    touched: dict[str, set] = {t: set() for t in _DESCRIPTIONS}
    for key in context.partition_keys:
        result = merge_day(the_lake, dt.date.fromisoformat(key))
        for table in totals:
            for name in (
                "source_rows",
                "inserted",
                "updated",
                "files_scanned",
                "files_rewritten",
                "rows_copied",
            ):
                totals[table][name] += getattr(result, name).get(table, 0)
        tombstoned += result.tombstoned
        versions.update(result.versions)
        for table, values in result.partitions.items():
            touched[table].update(values)
        context.log.info(
            f"{key}: merged {result.source_rows} (inserted {result.inserted}, updated {result.updated})"
        )
    for table, figures in totals.items():
        metadata = {
            **figures,
            "days": len(context.partition_keys),
            "lake_version": versions.get(table, -1),
            PARTITIONS_WRITTEN: dg.MetadataValue.json(sorted(str(v) for v in touched[table])),
        }
        if table == TWEETS:
            metadata["tombstoned"] = tombstoned
        yield dg.MaterializeResult(asset_key=asset_key(table), metadata=metadata)
