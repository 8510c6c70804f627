"""SQL over the lake: DuckDB views over the current snapshot of every Delta table.

Each table becomes a view named after its path with ``/`` replaced by ``_`` (``cleaned/tweets`` ->
``cleaned_tweets``). A view reads the snapshot's parquet files with ``read_parquet`` (measured 2-3x
faster than scanning a registered ``to_pyarrow_dataset()``); DuckDB's own ``delta`` extension is not
used because it downloads at run time. Partition columns come back from the hive-style paths.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import pyarrow as pa

from xget_pipelines.core.lake.delta import Lake

KNOWN_TABLES = (
    "raw/x_pages",
    "cleaned/tweets",
    "cleaned/users",
    "cleaned/media",
    "cleaned/hashtags",
    "cleaned/mentions",
    "cleaned/urls",
    "cleaned/tombstones",
    "cleaned/follows",
    "cleaned/corrections",
    "entities/follows",
    "entities/tweets",
    "entities/users",
    "entities/tweet_metrics_history",
    "entities/user_metrics_history",
    "analytics/trends",
    "analytics/tweet_sentiment",
    "analytics/sentiment_daily",
    "analytics/graph_metrics",
    "analytics/user_profiles",
    "analytics/cotag_network",
    "ops/account_pool",
)


def view_name(table: str) -> str:
    return table.replace("/", "_")


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def connect(lake: Lake, database: str = ":memory:", marts: str | Path | None = None) -> duckdb.DuckDBPyConnection:
    """A DuckDB connection with one view per Delta table of ``lake``, and the dbt marts database
    attached read-only as ``marts`` when ``marts`` names one that exists (``marts.daily_volume_per_term``)."""
    con = duckdb.connect(database)
    if not lake.is_local:
        con.execute("INSTALL httpfs; LOAD httpfs;")  # needs the httpfs extension available offline
    for table in lake.list_tables():
        register(con, lake, table)
    if marts is not None and Path(marts).exists():
        con.execute(f"ATTACH {_quote(str(marts))} AS marts (READ_ONLY)")
    return con


def has_view(con: duckdb.DuckDBPyConnection, view: str) -> bool:
    """Whether ``connect`` registered a view of that name (the table exists in the lake)."""
    return con.execute("select count(*) from duckdb_views() where view_name = ?", [view]).fetchall()[0][0] > 0


def register(con: duckdb.DuckDBPyConnection, lake: Lake, table: str) -> None:
    dtable = lake.table(table)
    if dtable is None:
        return
    name = view_name(table)
    files = dtable.file_uris()
    partition_cols = dtable.metadata().partition_columns
    schema = pa.schema(dtable.schema())
    if not files:
        con.register(f"__empty_{name}", schema.empty_table())
        con.execute(f'CREATE OR REPLACE VIEW "{name}" AS SELECT * FROM "__empty_{name}"')
        return
    hive_types = ", ".join(
        f"{_quote(c)}: {_quote(_duck_type(schema.field(c).type))}" for c in partition_cols
    )
    options = "union_by_name = true"
    if partition_cols:
        options += f", hive_partitioning = true, hive_types = {{{hive_types}}}"
    file_list = "[" + ", ".join(_quote(f) for f in files) + "]"
    columns = ", ".join(f'"{f.name}"' for f in schema)  # the table's own column order
    con.execute(f'CREATE OR REPLACE VIEW "{name}" AS SELECT {columns} FROM read_parquet({file_list}, {options})')


def _duck_type(arrow_type: pa.DataType) -> str:
    if pa.types.is_date(arrow_type):
        return "DATE"
    if pa.types.is_integer(arrow_type):
        return "BIGINT"
    if pa.types.is_timestamp(arrow_type):
        return "TIMESTAMPTZ"
    return "VARCHAR"
