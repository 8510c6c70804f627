"""The account pool's statistics over time (group ``ops``), recorded by ``account_pool_stats_hourly``."""

import datetime as dt

import dagster as dg
import pyarrow as pa

from xget_pipelines.resources import AccountPoolResource, LakeResource

POOL_TABLE = "ops/account_pool"
POOL_SCHEMA = pa.schema(
    [
        ("observed_at", pa.timestamp("us", tz="UTC")),
        ("total", pa.int64()),
        ("usable", pa.int64()),
        ("quarantined", pa.int64()),
        ("inactive", pa.int64()),
        ("reasons", pa.string()),
        ("day", pa.date32()),
    ]
)


@dg.asset(group_name="ops", kinds={"deltalake"}, metadata={"table": POOL_TABLE})
def account_pool_stats(lake: LakeResource, account_pool: AccountPoolResource) -> dg.MaterializeResult:
    """A snapshot of the account pool (usable, quarantined, inactive accounts and why) appended to
    ``ops/account_pool`` at each materialization: the pool's history, queryable with SQL."""
    import json

    health = account_pool.health()
    now = dt.datetime.now(dt.UTC)
    row = {
        "observed_at": now,
        **{k: getattr(health, k) for k in ("total", "usable", "quarantined", "inactive")},
        "reasons": json.dumps(dict(health.reasons)),
        "day": now.date(),
    }
    version = lake.lake().append(
        POOL_TABLE, pa.Table.from_pylist([row], schema=POOL_SCHEMA), partition_by=["day"]
    )
    return dg.MaterializeResult(
        metadata={
            **health.as_dict(),
            "reasons": dg.MetadataValue.json(dict(health.reasons)),
            "lake_version": version,
        }
    )
