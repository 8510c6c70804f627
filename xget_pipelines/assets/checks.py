"""Asset checks over the raw, cleaned and entity tables, scoped to what the run wrote.

A check that runs with its asset looks only at the partitions that run wrote: one (day, watch key) partition
of ``raw/x_pages`` and the cleaned tables, and, for an entity merge, the partitions of the entity table the
merge wrote into (the ``partitions_written`` of the run's materialization: the created dates of the
tweets merged, the buckets of the users). A duplicate a run makes can only be there, so the cost of a
check grows with the day, not with the lake. A check executed on its own (from the UI, with no partition)
looks at the whole table.

The coverage check (``raw_pages_coverage``) is the exception: it always reads the whole of ``ops/coverage``
(one row per partition, small), because a failed partition can only be reported by another run (a failed
run's own checks do not execute). It warns as long as any partition of a key still on the watchlist is
truncated or failed; re-collecting the partition (with a larger budget) clears it.
"""

import datetime as dt

import dagster as dg
import pyarrow as pa
import pyarrow.compute as pc

from xget_pipelines.assets.entities import PARTITIONS_WRITTEN
from xget_pipelines.core.lake import coverage
from xget_pipelines.core.x.outcome import COMPLETE, FAILED, TRUNCATED
from xget_pipelines.partitions import watchlist_partitions
from xget_pipelines.resources import LakeResource

LISTED = 50  # partitions named in a check's metadata


def _partition_scope(context: dg.AssetCheckExecutionContext) -> dict | None:
    """{"day", "watch_key"} of a run of one (date, watch) partition; None when the check runs
    unpartitioned."""
    if not context.has_partition_key:
        return None
    key = context.partition_key
    dims = (
        key.keys_by_dimension
        if isinstance(key, dg.MultiPartitionKey)
        else dict(zip(("date", "watch"), str(key).split("|", 1), strict=False))
    )
    return {"day": dt.date.fromisoformat(dims["date"]), "watch_key": dims["watch"]}


def _written_scope(context: dg.AssetCheckExecutionContext, lake, table: str) -> dict | None:
    """{partition column: values} the run's merge wrote into ``table``; None when the check runs on its own
    (or no materialization of this run says: then the whole table is checked)."""
    if not (context.has_partition_key or context.has_partition_key_range):
        return None
    asset = context.check_specs[0].asset_key
    values: set[str] = set()
    found = False
    for entry in context.instance.all_logs(
        context.run.run_id, of_type=dg.DagsterEventType.ASSET_MATERIALIZATION
    ):
        materialization = entry.asset_materialization
        if (
            materialization is not None
            and materialization.asset_key == asset
            and PARTITIONS_WRITTEN in materialization.metadata
        ):
            found = True
            values.update(materialization.metadata[PARTITIONS_WRITTEN].value)
    dtable = lake.table(table)
    if not found or dtable is None:
        return None
    column = dtable.metadata().partition_columns[0]
    kind = pa.schema(dtable.schema()).field(column).type
    parse = dt.date.fromisoformat if pa.types.is_date(kind) else int if pa.types.is_integer(kind) else str
    return {column: {parse(v) for v in values}}


def _rows(lake, table: str, where: dict | None, columns: list[str]) -> pa.Table:
    if where is not None and any(isinstance(v, set) and not v for v in where.values()):
        return pa.table({c: pa.array([], pa.null()) for c in columns})  # the run wrote nothing there
    return lake.read(table, where, columns) or pa.table({c: pa.array([], pa.null()) for c in columns})


def _duplicates(rows: pa.Table, columns: list[str]) -> int:
    return rows.num_rows - rows.group_by(columns).aggregate([]).num_rows if rows.num_rows else 0


def _scope_metadata(where: dict | None) -> dict:
    if where is None:
        return {"scope": "whole table"}
    return {
        "scope": ", ".join(
            f"{c} in {len(v)} values" if isinstance(v, set) else f"{c} = {v}" for c, v in where.items()
        )
    }


@dg.asset_check(asset="raw_x_pages", description="No page is stored twice (page_key is unique).")
def raw_pages_unique(context: dg.AssetCheckExecutionContext, lake: LakeResource) -> dg.AssetCheckResult:
    where = _partition_scope(context)
    rows = _rows(lake.lake(), "raw/x_pages", where, ["page_key"])
    duplicates = _duplicates(rows, ["page_key"])
    return dg.AssetCheckResult(
        passed=duplicates == 0,
        metadata={"pages": rows.num_rows, "duplicates": duplicates, **_scope_metadata(where)},
    )


@dg.asset_check(
    asset="raw_x_pages",
    description="Every collected (key, day) partition reached X's end: WARN naming those cut at their page "
    "budget (truncated) or stopped on errors (failed), read from ops/coverage for the keys on the watchlist.",
)
def raw_pages_coverage(context: dg.AssetCheckExecutionContext, lake: LakeResource) -> dg.AssetCheckResult:
    keys = set(context.instance.get_dynamic_partitions(watchlist_partitions.name))
    rows = sorted(
        (r for r in coverage.read(lake.lake()) if r.watch_key in keys),
        key=lambda r: (r.day, r.watch_key),
        reverse=True,
    )
    counts = {name: sum(r.outcome == name for r in rows) for name in (COMPLETE, TRUNCATED, FAILED)}
    short = [r for r in rows if r.outcome != COMPLETE]
    metadata: dict = {
        **counts,
        "truncated_partitions": dg.MetadataValue.json(
            [f"{r.day.isoformat()}|{r.watch_key}" for r in short if r.outcome == TRUNCATED][:LISTED]
        ),
        "failed_partitions": dg.MetadataValue.json(
            [f"{r.day.isoformat()}|{r.watch_key}" for r in short if r.outcome == FAILED][:LISTED]
        ),
        "scope": "every partition of the keys on the watchlist (ops/coverage)",
    }
    if short:
        lines = ["| day | key | outcome | pages | items | why |", "|---|---|---|---|---|---|"]
        lines += [
            f"| {r.day} | {r.watch_key} | {r.outcome} | {r.pages} | {r.items} | {_cell(r.reason)} |"
            for r in short[:LISTED]
        ]
        if len(short) > LISTED:
            lines.append(f"| … | {len(short) - LISTED} more | | | | |")
        metadata["partitions"] = dg.MetadataValue.md("\n".join(lines))
    return dg.AssetCheckResult(passed=not short, severity=dg.AssetCheckSeverity.WARN, metadata=metadata)


def _cell(text: str | None) -> str:
    return " ".join((text or "").split()).replace("|", "\\|")


def _unique_check(asset: str, table: str, key: str):
    @dg.asset_check(
        asset=asset,
        name=f"{asset}_unique_per_partition",
        description=f"One row per {key} per (day, watch_key) partition.",
    )
    def _check(context: dg.AssetCheckExecutionContext, lake: LakeResource) -> dg.AssetCheckResult:
        where = _partition_scope(context)
        rows = _rows(lake.lake(), table, where, ["day", "watch_key", key])
        duplicates = _duplicates(rows, ["day", "watch_key", key])
        return dg.AssetCheckResult(
            passed=duplicates == 0,
            metadata={"rows": rows.num_rows, "duplicates": duplicates, **_scope_metadata(where)},
        )

    return _check


@dg.asset_check(asset="cleaned_tweets", description="Every tweet has an id, an author and a creation time.")
def cleaned_tweets_complete(
    context: dg.AssetCheckExecutionContext, lake: LakeResource
) -> dg.AssetCheckResult:
    where = _partition_scope(context)
    rows = _rows(lake.lake(), "cleaned/tweets", where, ["tweet_id", "author_id", "created_at"])
    bad = 0
    if rows.num_rows:
        incomplete = pc.or_(
            pc.or_(pc.is_null(rows["tweet_id"]), pc.is_null(rows["author_id"])),
            pc.is_null(rows["created_at"]),
        )
        bad = pc.sum(incomplete).as_py() or 0
    return dg.AssetCheckResult(
        passed=bad == 0, metadata={"rows": rows.num_rows, "incomplete_rows": bad, **_scope_metadata(where)}
    )


def _entity_key_check(asset: str, table: str, key: str):
    @dg.asset_check(
        asset=asset,
        name=f"{asset}_key_unique_and_present",
        blocking=True,
        description=f"After the merge: exactly one row per {key}, none without a {key}, in the partitions "
        "the merge wrote (blocking: nothing downstream runs on a table that fails it).",
    )
    def _check(context: dg.AssetCheckExecutionContext, lake: LakeResource) -> dg.AssetCheckResult:
        the_lake = lake.lake()
        where = _written_scope(context, the_lake, table)
        rows = _rows(the_lake, table, where, [key])
        missing = (pc.sum(pc.is_null(rows[key])).as_py() or 0) if rows.num_rows else 0
        duplicates = _duplicates(rows, [key]) - max(missing - 1, 0)  # nulls group as one: counted apart
        return dg.AssetCheckResult(
            passed=duplicates == 0 and missing == 0,
            metadata={
                "rows": rows.num_rows,
                "duplicates": duplicates,
                "null_keys": missing,
                **_scope_metadata(where),
            },
        )

    return _check


asset_checks = [
    raw_pages_unique,
    raw_pages_coverage,
    cleaned_tweets_complete,
    _unique_check("cleaned_tweets", "cleaned/tweets", "tweet_id"),
    _unique_check("cleaned_users", "cleaned/users", "user_id"),
    _entity_key_check("entities_tweets", "entities/tweets", "tweet_id"),
    _entity_key_check("entities_users", "entities/users", "user_id"),
]
