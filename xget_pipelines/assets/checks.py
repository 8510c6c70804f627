"""Asset checks over the raw and cleaned tables, run in DuckDB over the current Delta snapshot."""

import dagster as dg

from xget_pipelines.core.lake.catalog import connect, has_view
from xget_pipelines.resources import LakeResource


def _scalar(lake: LakeResource, table: str, sql: str):
    con = connect(lake.lake())
    view = table.replace("/", "_")
    return None if not has_view(con, view) else con.execute(sql.format(t=view)).fetchone()


@dg.asset_check(asset="raw_x_pages", description="No page is stored twice (page_key is unique).")
def raw_pages_unique(lake: LakeResource) -> dg.AssetCheckResult:
    row = _scalar(lake, "raw/x_pages", "select count(*), count(distinct page_key) from {t}")
    total, distinct = row or (0, 0)
    return dg.AssetCheckResult(passed=total == distinct, metadata={"pages": total, "duplicates": total - distinct})


def _unique_check(asset: str, table: str, key: str):
    @dg.asset_check(asset=asset, name=f"{asset}_unique_per_partition",
                    description=f"One row per {key} per (day, watch_key) partition.")
    def _check(lake: LakeResource) -> dg.AssetCheckResult:
        row = _scalar(lake, table, f"select count(*), count(distinct (day, watch_key, {key})) from {{t}}")
        total, distinct = row or (0, 0)
        return dg.AssetCheckResult(passed=total == distinct, metadata={"rows": total, "duplicates": total - distinct})

    return _check


@dg.asset_check(asset="cleaned_tweets", description="Every tweet has an id, an author and a creation time.")
def cleaned_tweets_complete(lake: LakeResource) -> dg.AssetCheckResult:
    row = _scalar(lake, "cleaned/tweets",
                  "select count(*) filter (where tweet_id is null or author_id is null or created_at is null), "
                  "count(*) from {t}")
    bad, total = row or (0, 0)
    return dg.AssetCheckResult(passed=bad == 0, metadata={"rows": total, "incomplete_rows": bad})


def _entity_key_check(asset: str, table: str, key: str):
    @dg.asset_check(asset=asset, name=f"{asset}_key_unique_and_present", blocking=True,
                    description=f"After the merge: exactly one row per {key}, none without a {key} (blocking: "
                                "nothing downstream runs on a table that fails it).")
    def _check(lake: LakeResource) -> dg.AssetCheckResult:
        row = _scalar(lake, table, f"select count(*), count(distinct {key}), count(*) filter (where {key} is null) from {{t}}")
        total, distinct, missing = row or (0, 0, 0)
        return dg.AssetCheckResult(passed=total == distinct and missing == 0,
                                   metadata={"rows": total, "duplicates": total - distinct - missing, "null_keys": missing})

    return _check


asset_checks = [
    raw_pages_unique,
    cleaned_tweets_complete,
    _unique_check("cleaned_tweets", "cleaned/tweets", "tweet_id"),
    _unique_check("cleaned_users", "cleaned/users", "user_id"),
    _entity_key_check("entities_tweets", "entities/tweets", "tweet_id"),
    _entity_key_check("entities_users", "entities/users", "user_id"),
]
