"""SQL over the lake: DuckDB views over the current snapshot of every Delta table.

Each table becomes a view named after its path (``tables.view_name``: ``cleaned/tweets`` ->
``cleaned_tweets``). On a local lake a view reads the snapshot's parquet files with ``read_parquet``
(measured 2-3x faster than scanning a registered ``to_pyarrow_dataset()``); on object storage it scans
that dataset, since DuckDB's ``httpfs`` and ``delta`` extensions download at run time. Partition columns
come back from the hive-style paths.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb
import pyarrow as pa
from deltalake import DeltaTable

from xget_pipelines.core.errors import InvalidField
from xget_pipelines.core.lake.delta import Lake, load_as_of
from xget_pipelines.core.lake.tables import view_name

# What a person's SQL may be (``xget sql``): queries. DESCRIBE, SHOW, SUMMARIZE and FROM-first queries parse
# as SELECT too. EXPLAIN is not among them: EXPLAIN ANALYZE runs the statement it explains.
QUERY_TYPES = {duckdb.StatementType.SELECT}


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def connect(
    lake: Lake,
    database: str = ":memory:",
    marts: str | Path | None = None,
    as_of: int | dt.datetime | None = None,
    missing: list[str] | None = None,
    read_only: bool = False,
) -> duckdb.DuckDBPyConnection:
    """A DuckDB connection with one view per Delta table of ``lake``, and the dbt marts database
    attached read-only as ``marts`` when ``marts`` names one that exists (``marts.daily_volume_per_term``).

    ``as_of`` travels back in time: a version number shows each table at that version, a time shows
    each table as it was then. Tables with no such version (created later, or vacuumed past) get no
    view; their names are appended to ``missing`` with the reason.

    ``read_only`` is for SQL a person types (``xget sql``): once the views exist, DuckDB may read only the
    files those views read (no other file, nothing written anywhere, no extension installed or loaded) and
    the configuration is locked; run the person's SQL through ``run_query``, which takes queries only."""
    con = duckdb.connect(database)
    if read_only:  # before anything can trigger an extension's autoload
        con.execute("SET autoinstall_known_extensions = false")
        con.execute("SET autoload_known_extensions = false")
    readable: list[str] = []
    for table in lake.list_tables():
        dtable = lake.table(table)
        if dtable is None:
            continue
        if as_of is not None:
            newest = dtable.version()
            try:
                load_as_of(dtable, as_of, lake, table)
            except Exception:  # noqa: BLE001 - deltalake raises several kinds for "no such version"
                if missing is not None:
                    missing.append(
                        f"{table} (newest version {newest})"
                        if isinstance(as_of, int)
                        else f"{table} (created later, or its history was vacuumed)"
                    )
                continue
            try:
                readable += register(con, lake, table, dtable)
            except duckdb.IOException:  # the log knows the version, but vacuum deleted its files
                if missing is not None:
                    missing.append(f"{table} (version {dtable.version()}'s files were vacuumed)")
            continue
        readable += register(con, lake, table, dtable)
    if marts is not None and Path(marts).exists():
        con.execute(f"ATTACH {_quote(str(marts))} AS marts (READ_ONLY)")
    if read_only:
        _lock(con, readable)
    return con


def _lock(con: duckdb.DuckDBPyConnection, readable: list[str]) -> None:
    """No file access but ``readable`` (the views' own data files), no extensions, configuration locked."""
    con.execute("SET allowed_paths = " + "[" + ", ".join(_quote(f) for f in readable) + "]")
    con.execute("SET enable_external_access = false")
    con.execute("SET lock_configuration = true")


def run_query(con: duckdb.DuckDBPyConnection, sql: str) -> duckdb.DuckDBPyRelation | None:
    """Run a person's SQL when every statement in it is a query; anything else (COPY, INSERT, ATTACH,
    INSTALL, SET, CREATE...) is refused before any statement runs. The lake changes only through the
    pipeline; a query's answer can be exported with ``xget export``."""
    try:
        statements = duckdb.extract_statements(sql)
    except duckdb.Error as exc:
        raise InvalidField(f"the SQL does not parse: {exc}", "query") from exc
    refused = sorted({s.type.name for s in statements if s.type not in QUERY_TYPES})
    if refused:
        raise InvalidField(
            f"xget sql runs queries only (SELECT, WITH, FROM, DESCRIBE, SHOW, SUMMARIZE); refused: "
            f"{', '.join(refused)}. The lake changes only through the pipeline; to save an answer use "
            "`xget export` or --format csv/json.",
            "query",
        )
    return con.sql(sql)


def has_view(con: duckdb.DuckDBPyConnection, view: str) -> bool:
    """Whether ``connect`` registered a view of that name (the table exists in the lake)."""
    return con.execute("select count(*) from duckdb_views() where view_name = ?", [view]).fetchall()[0][0] > 0


def register(
    con: duckdb.DuckDBPyConnection, lake: Lake, table: str, dtable: DeltaTable | None = None
) -> list[str]:
    """A view of ``table`` at the snapshot of ``dtable`` (default: the current one); returns the files the
    view reads (none when it scans an Arrow dataset)."""
    dtable = dtable if dtable is not None else lake.table(table)
    if dtable is None:
        return []
    name = view_name(table)
    if not lake.is_local:
        # Object storage: DuckDB scans deltalake's own Arrow dataset (its S3 client and credentials), because
        # DuckDB's httpfs extension would have to be downloaded at run time.
        con.register(f"__ds_{name}", dtable.to_pyarrow_dataset())
        columns = ", ".join(f'"{f.name}"' for f in pa.schema(dtable.schema()))
        con.execute(f'CREATE OR REPLACE VIEW "{name}" AS SELECT {columns} FROM "__ds_{name}"')
        return []
    files = dtable.file_uris()
    partition_cols = dtable.metadata().partition_columns
    schema = pa.schema(dtable.schema())
    if not files:
        con.register(f"__empty_{name}", schema.empty_table())
        con.execute(f'CREATE OR REPLACE VIEW "{name}" AS SELECT * FROM "__empty_{name}"')
        return []
    hive_types = ", ".join(f"{_quote(c)}: {_quote(_duck_type(schema.field(c).type))}" for c in partition_cols)
    options = "union_by_name = true"
    if partition_cols:
        options += f", hive_partitioning = true, hive_types = {{{hive_types}}}"
    file_list = "[" + ", ".join(_quote(f) for f in files) + "]"
    columns = ", ".join(f'"{f.name}"' for f in schema)  # the table's own column order
    con.execute(
        f'CREATE OR REPLACE VIEW "{name}" AS SELECT {columns} FROM read_parquet({file_list}, {options})'
    )
    return files


def _duck_type(arrow_type: pa.DataType) -> str:
    if pa.types.is_date(arrow_type):
        return "DATE"
    if pa.types.is_integer(arrow_type):
        return "BIGINT"
    if pa.types.is_timestamp(arrow_type):
        return "TIMESTAMPTZ"
    return "VARCHAR"
