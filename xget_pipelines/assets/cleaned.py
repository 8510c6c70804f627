"""Silver: raw pages parsed into typed tables, one partition per watchlist key and day."""

import datetime as dt

import dagster as dg

from xget_pipelines.core.lake.preview import markdown_preview
from xget_pipelines.core.lake.tables import view_name
from xget_pipelines.core.x.clean import CLEANED, clean_partition, text_quality
from xget_pipelines.core.x.clean_expand import TABLES as EXPAND_TABLES
from xget_pipelines.core.x.clean_kinds import TABLES as KIND_TABLES
from xget_pipelines.partitions import LAKE_WRITE_RETRY, split_partition_key, watch_daily_partitions
from xget_pipelines.resources import ControlPlaneResource, LakeResource

_DESCRIPTIONS = {
    "cleaned/tweets": "Tweets observed in the partition's pages (timeline hits, quoted and retweeted "
    "originals), one row per tweet.",
    "cleaned/users": "Users observed in the partition's pages (authors, mentioned profiles), one row per "
    "user.",
    "cleaned/media": "Photos, videos (every variant, the best mp4 named) and GIFs attached to the "
    "partition's "
    "tweets; object_path points at the stored file once x_media has downloaded it.",
    "cleaned/hashtags": "Hashtags of the partition's tweets, as written and lower-cased.",
    "cleaned/mentions": "User mentions of the partition's tweets.",
    "cleaned/urls": "Links of the partition's tweets with expanded URL and domain.",
    "cleaned/tombstones": "Tweets X answered as deleted, tombstoned or unavailable (withheld...), by id.",
    "cleaned/follows": "Follow edges from the Followers/Following pages of watched accounts (today's "
    "partition).",
    "cleaned/list_members": "Members of a list: key's list as ListMembers listed them (today's partition: "
    "a snapshot of the day observed).",
    "cleaned/community_members": "Members and moderators of a community: key, with X's role (admin, "
    "moderator, member), today's partition.",
    "cleaned/communities": "A community: key's community as CommunityQuery shows it (name, description, "
    "member count, created_at, creator, rules).",
    "cleaned/follower_snapshots": "Complete follower/following snapshots of followers:@handle and "
    "following:@handle keys, one row per user; compare two snapshot numbers to see who left or came.",
    "cleaned/conversations": "Reply trees a key's conversations:N expansion collected: one row per tweet "
    "with its conversation_id, parent_id and depth (root 0).",
    "cleaned/retweeters": "Who retweeted the partition's tweets (a key's retweeters:N expansion): one row "
    "per (tweet_id, user_id), in X's order.",
}
TABLES = (*CLEANED, *KIND_TABLES, *EXPAND_TABLES)


def asset_key(table: str) -> dg.AssetKey:
    return dg.AssetKey(view_name(table))


@dg.multi_asset(
    specs=[
        dg.AssetSpec(
            asset_key(table),
            deps=["raw_x_pages"],
            group_name="cleaned",
            kinds={"deltalake"},
            description=_DESCRIPTIONS[table],
            metadata={"table": table},
        )
        for table in TABLES
    ],
    partitions_def=watch_daily_partitions,
    backfill_policy=dg.BackfillPolicy.single_run(),
    retry_policy=LAKE_WRITE_RETRY,
    can_subset=False,
)
def cleaned_tables(
    context: dg.AssetExecutionContext, lake: LakeResource, control_plane: ControlPlaneResource
):
    """Parse the partition's latest complete scrape into the cleaned tables (idempotent per partition). A
    backfill of many partitions runs as one run (single-run policy): each is rebuilt from raw in turn."""
    keys = context.partition_keys
    if len(keys) == 1:
        yield from _one_partition(context, lake, control_plane)
        return
    totals = {table: {"rows": 0, "pages": 0, "malformed_pages": 0, "parse_errors": 0} for table in TABLES}
    empty = 0
    for partition in keys:
        day, key = split_partition_key(partition)
        result = clean_partition(lake.lake(), control_plane.engine(), key=key, day=dt.date.fromisoformat(day))
        empty += result.session_id is None
        for table, data in result.tables.items():
            figures = totals[table]
            figures["rows"] += data.num_rows
            figures["pages"] += result.pages
            figures["malformed_pages"] += result.malformed_pages
            figures["parse_errors"] += len(result.parse_errors)
    context.log.info(f"rebuilt {len(keys)} partitions from raw ({empty} without a complete scrape session)")
    for table, figures in totals.items():
        yield dg.MaterializeResult(
            asset_key=asset_key(table),
            metadata={**figures, "partitions": len(keys), "partitions_without_session": empty},
        )


def _one_partition(
    context: dg.AssetExecutionContext, lake: LakeResource, control_plane: ControlPlaneResource
):
    day, key = split_partition_key(context.partition_key)
    result = clean_partition(lake.lake(), control_plane.engine(), key=key, day=dt.date.fromisoformat(day))
    if result.session_id is None:
        context.log.warning(f"{key} {day}: no complete scrape session; cleaned partition left empty")
    for table in TABLES:
        data = result.tables.get(table)
        if data is None:  # a table of another kind of key (clean_kinds.py): nothing of this partition
            yield dg.MaterializeResult(asset_key=asset_key(table), metadata={"rows": 0, "written": False})
            continue
        shown = [c for c in data.column_names if c not in ("watch_key", "page_key", "day")]
        metadata = {
            "rows": data.num_rows,
            "pages": result.pages,
            "malformed_pages": result.malformed_pages,
            "parse_errors": len(result.parse_errors),
            "unavailable_objects": result.unavailable,
            "lake_version": result.versions.get(table, 0),
            "session_id": result.session_id or "",
        }
        if table == "cleaned/tweets":
            metadata.update(text_quality(data["text"].to_pylist()))
            if result.parse_errors:
                metadata["parse_error_examples"] = dg.MetadataValue.json(result.parse_errors[:10])
        if data.num_rows:
            metadata["preview"] = dg.MetadataValue.md(markdown_preview(data.select(shown)))
        yield dg.MaterializeResult(asset_key=asset_key(table), metadata=metadata)
