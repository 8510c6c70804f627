"""The Delta Lake lakehouse: idempotent partition writes, appends, merges, reads and a table listing.

Tables are named by their path under the lake root (``raw/x_pages``, ``cleaned/tweets``). Writes go
through ``deltalake`` directly, never through an IO manager: a partition write replaces exactly the
rows its predicate names (``replace_where``), so re-running a partition never duplicates or drops
anything outside it. Local paths and ``s3://`` URIs work alike through storage options.

Many writers at once (concurrent runs of Dagster) is the normal case, so every write survives a
concurrent one:

- a table is created exactly once: its first commit (the first rows written, or for a merge an empty table
  with the schema, ``ensure``) goes out with no commit retry, so a writer that loses the race writes into the
  winner's table instead of committing a second "create" (delta-rs retries a lost version 0 as a version 1
  with new metadata and a new table id);
- every commit that delta-rs refuses because another writer committed first (``CommitFailedError``: a
  concurrent transaction added or removed data it read, metadata or protocol changed) is tried again on a
  fresh snapshot, with jittered backoff, ``commit_attempts`` times (``_committed``). A MERGE re-reads the
  target each time, and delta-rs's conflict check covers the partitions it read, so two merges inserting
  the same key never both land: one of them is retried and then matches the other's row.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import random
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TypeVar

import pyarrow as pa
import pyarrow.compute as pc
from deltalake import CommitProperties, DeltaTable, write_deltalake
from deltalake.exceptions import CommitFailedError, DeltaError, TableNotFoundError

from xget_pipelines.core.lake.tables import KNOWN_TABLES

log = logging.getLogger(__name__)
T = TypeVar("T")
_CONFLICT_WORDS = (
    "concurrent",
    "conflict",
    "failed to commit transaction",
    "metadata changed",
    "protocol changed",
)


def is_conflict(exc: BaseException) -> bool:
    """Whether delta-rs refused a commit because another writer committed first (worth a fresh try)."""
    return isinstance(exc, CommitFailedError) or (
        isinstance(exc, DeltaError) and any(w in str(exc).lower() for w in _CONFLICT_WORDS)
    )


@dataclass(frozen=True)
class TableInfo:
    name: str
    version: int
    rows: int
    files: int
    size_bytes: int


def sql_literal(value: object) -> str:
    """A value as a SQL literal for a Delta predicate (strings quoted and escaped)."""
    if value is None:
        raise ValueError("a partition predicate cannot compare with NULL")
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, (dt.date, dt.datetime)):
        return f"'{value.isoformat()}'"
    return "'" + str(value).replace("'", "''") + "'"


def predicate(where: Mapping[str, object]) -> str:
    """``col = value`` ANDed; a set, list or tuple of values is ``col IN (...)``."""

    def one(col: str, val: object) -> str:
        if isinstance(val, (set, frozenset, list, tuple)):
            return f"{col} IN ({', '.join(sql_literal(v) for v in sorted(val))})"
        return f"{col} = {sql_literal(val)}"

    return " AND ".join(one(col, val) for col, val in where.items())


def load_as_of(dtable: DeltaTable, as_of: int | dt.datetime, lake: Lake, table: str) -> None:
    """Move ``dtable`` to a version, or to the version current at a time. A time before the table's oldest
    commit still in the log is an error (deltalake would quietly answer that commit)."""
    if isinstance(as_of, dt.datetime):
        oldest = lake.commits(table, oldest=True)
        if oldest and oldest[0].get("timestamp", 0) / 1000 > as_of.timestamp():
            raise ValueError(f"the table did not exist yet at {as_of.isoformat()}")
    dtable.load_as_version(as_of)


class UnsafeCommitMode(ValueError):
    """The lake's storage options would let two writers commit the same version (and one's rows vanish)."""


def safe_storage_options(uri: str, options: Mapping[str, str]) -> dict[str, str]:
    """``options`` for a lake at ``uri``, made to commit safely; refuses settings that cannot.

    On S3 a commit must not overwrite another writer's log entry. delta-rs 1.x commits with S3's conditional
    write (``If-None-Match: *``: AWS S3 since 2024-08, MinIO, Cloudflare R2), ``aws_conditional_put=etag``,
    set here when absent so the deployment says what it relies on. ``aws_conditional_put=disabled`` leaves
    no way to commit, and ``AWS_S3_ALLOW_UNSAFE_RENAME`` asks for the unguarded rename of older delta-rs:
    both are refused, with what to set instead."""
    out = dict(options)
    if not uri.startswith(("s3://", "s3a://")):
        return out
    lowered = {k.lower(): str(v).strip().lower() for k, v in out.items()}
    if lowered.get("aws_s3_allow_unsafe_rename") in ("true", "1", "yes"):
        raise UnsafeCommitMode(
            "the lake's storage options set AWS_S3_ALLOW_UNSAFE_RENAME: two writers could commit the same "
            'version and one\'s rows would vanish. Remove it and set "aws_conditional_put": "etag" '
            "(AWS S3, MinIO and Cloudflare R2 support conditional writes)"
        )
    if lowered.get("aws_conditional_put", lowered.get("conditional_put")) == "disabled":
        raise UnsafeCommitMode(
            "the lake's storage options disable conditional puts: delta-rs cannot commit on S3 without them. "
            'Set "aws_conditional_put": "etag", or use S3 storage that supports conditional writes'
        )
    if "aws_conditional_put" not in lowered and "conditional_put" not in lowered:
        out["aws_conditional_put"] = "etag"
    return out


class Lake:
    """A Delta lakehouse rooted at ``uri`` (a folder or an object-store prefix)."""

    def __init__(self, uri: str, storage_options: Mapping[str, str] | None = None, commit_attempts: int = 40):
        self.uri = uri.rstrip("/")
        self.storage_options = safe_storage_options(self.uri, storage_options or {})
        self.is_local = "://" not in self.uri or self.uri.startswith("file://")
        self.commit_attempts = commit_attempts
        self.conflicts_retried = 0  # commits refused for a concurrent writer and tried again, by this object
        self._exists: set[str] = set()

    def path(self, table: str) -> str:
        if not table or table.startswith("/") or ".." in table.split("/"):
            raise ValueError(f"bad table name {table!r}: use a relative name such as 'cleaned/tweets'")
        return f"{self.uri}/{table}"

    def table(self, table: str) -> DeltaTable | None:
        try:
            return DeltaTable(self.path(table), storage_options=self.storage_options or None)
        except TableNotFoundError:
            return None

    def version(self, table: str) -> int | None:
        dtable = self.table(table)
        return None if dtable is None else dtable.version()

    # -- writes ---------------------------------------------------------------------------------------

    def _committed(self, table: str, write: Callable[[], T]) -> T:
        """Run ``write`` (which must read the table afresh), again on a commit conflict; see the module
        docstring."""
        for attempt in range(1, self.commit_attempts + 1):
            try:
                return write()
            except (CommitFailedError, DeltaError) as exc:
                if not is_conflict(exc) or attempt == self.commit_attempts:
                    raise
                self.conflicts_retried += 1
                log.debug("%s: commit refused (%s); trying again on a fresh snapshot", table, exc)
                time.sleep(min(2.0, 0.02 * 2 ** min(attempt, 7)) * random.uniform(0.5, 1.5))
        raise AssertionError("unreachable")

    def ensure(self, table: str, schema: pa.Schema, partition_by: Sequence[str] | None = None) -> None:
        """Create ``table`` (empty, with ``schema``) unless it exists; exactly one of concurrent creators
        commits."""
        if table in self._exists:
            return
        for attempt in range(20):
            if self.table(table) is not None:
                break
            try:
                DeltaTable.create(
                    self.path(table),
                    schema,
                    mode="ignore",
                    partition_by=list(partition_by or []) or None,
                    storage_options=self.storage_options or None,
                    commit_properties=CommitProperties(max_commit_retries=0),
                )
                break
            except (CommitFailedError, DeltaError) as exc:  # another writer created it first
                if not is_conflict(exc):
                    raise
                time.sleep(0.01 * (attempt + 1))
        self._exists.add(table)

    def _first_or(
        self, table: str, data: pa.Table, partition_by: Sequence[str] | None, write: Callable[[], None]
    ) -> int:
        """Commit ``data`` as the new table's first version, with no commit retry (exactly one of concurrent
        creators wins); when the table exists, or another writer created it meanwhile, ``write`` instead."""
        if table not in self._exists and self.table(table) is None:
            try:
                write_deltalake(
                    self.path(table),
                    data,
                    mode="append",
                    partition_by=list(partition_by or []) or None,
                    storage_options=self.storage_options or None,
                    commit_properties=CommitProperties(max_commit_retries=0),
                )
                self._exists.add(table)
                return self.version(table)  # type: ignore[return-value]
            except (CommitFailedError, DeltaError) as exc:
                if not is_conflict(exc):
                    raise
                self.conflicts_retried += 1  # another writer created it first: write into its table
        self._exists.add(table)
        self._committed(table, write)
        return self.version(table)  # type: ignore[return-value]

    def append(self, table: str, data: pa.Table, partition_by: Sequence[str] | None = None) -> int:
        """Append rows; returns the new table version."""
        return self._first_or(
            table,
            data,
            partition_by,
            lambda: write_deltalake(
                self.path(table),
                data,
                mode="append",
                partition_by=list(partition_by or []) or None,
                storage_options=self.storage_options or None,
                schema_mode="merge",
            ),
        )

    def overwrite(self, table: str, data: pa.Table) -> int:
        """Replace the whole table with ``data`` (a snapshot recomputed from the lake); earlier versions
        stay readable by Delta time travel until vacuumed."""
        return self._first_or(
            table,
            data,
            None,
            lambda: write_deltalake(
                self.path(table),
                data,
                mode="overwrite",
                schema_mode="overwrite",
                storage_options=self.storage_options or None,
            ),
        )

    def merge(
        self,
        table: str,
        source: pa.Table,
        predicate: str,
        clauses: Callable,
        *,
        schema: pa.Schema | None = None,
        partition_by: Sequence[str] | None = None,
        **options,
    ) -> dict:
        """MERGE ``source`` (alias ``s``) into ``table`` (alias ``t``) on ``predicate``; ``clauses`` adds the
        when-matched / when-not-matched clauses to a ``TableMerger``. With ``schema`` the table is created
        first if it is missing (a merge never appends blindly into a table it did not read). Retried on a
        commit conflict, each time on a fresh snapshot; returns delta-rs's metrics."""
        loaded = self.table(table)  # the first attempt merges into this snapshot; a retry loads afresh
        if loaded is None and schema is not None:
            self.ensure(table, schema, partition_by)
        snapshots = [loaded] if loaded is not None else []

        def write() -> dict:
            dtable = snapshots.pop() if snapshots else self.table(table)
            if dtable is None:
                raise TableNotFoundError(f"no table {table} to merge into")
            merger = dtable.merge(
                source=source, predicate=predicate, source_alias="s", target_alias="t", **options
            )
            return clauses(merger).execute()

        return self._committed(table, write)

    def replace_where(
        self,
        table: str,
        data: pa.Table,
        where: Mapping[str, object],
        partition_by: Sequence[str] | None = None,
    ) -> int:
        """Replace exactly the rows matching ``where`` (column = value, or one of a set of values, ANDed)
        with ``data``.

        Idempotent: writing the same partition twice leaves one copy. Every row of ``data`` must
        match ``where`` (checked here, so a bug cannot write outside the partition).
        """
        for col, val in where.items():
            if not data.num_rows:
                continue
            kind = data.schema.field(col).type
            if isinstance(val, (set, frozenset, list, tuple)):
                inside = pc.is_in(data[col], value_set=pa.array(sorted(val), kind))
            else:
                inside = pc.equal(data[col], pa.scalar(val, kind))
            if not pc.all(inside).as_py():
                raise ValueError(f"rows written to {table} must all have {col} = {val!r}")
        # A new table's first commit is the partition itself (an empty one: readers see a table, nothing to
        # replace).
        return self._first_or(
            table,
            data,
            partition_by,
            lambda: write_deltalake(
                self.path(table),
                data,
                mode="overwrite",
                predicate=predicate(where),
                partition_by=list(partition_by or []) or None,
                storage_options=self.storage_options or None,
                schema_mode="merge",
            ),
        )

    def commits(self, table: str, versions: Sequence[int] = (), oldest: bool = False) -> list[dict]:
        """The ``commitInfo`` of the given versions (operation, timestamp in ms), read from the log files
        themselves: cheaper than ``DeltaTable.history()``, which reads every commit, and it works against
        S3 servers whose listings make ``history()`` loop. ``oldest``: the oldest commit still in the log."""
        import json

        from xget_pipelines.core.lake.files import root_for

        root = root_for(self.path(table), self.storage_options)
        if oldest:
            logs = [p.rsplit("/", 1)[1] for p in root.list("_delta_log") if p.endswith(".json")]
            names = [n for n in logs if n.split(".")[0].isdigit()][:1]
        else:
            names = [f"{v:020d}.json" for v in versions]
        found = []
        for name in names:
            try:
                with root.fs.open_input_stream(root.path(f"_delta_log/{name}"), compression=None) as src:
                    lines = src.read().decode().splitlines()
            except FileNotFoundError:
                continue
            for line in lines:
                action = json.loads(line) if line.strip() else {}
                if "commitInfo" in action:
                    found.append({**action["commitInfo"], "version": int(name.split(".")[0])})
                    break
            else:
                found.append({"version": int(name.split(".")[0])})
        return found

    # -- reads ----------------------------------------------------------------------------------------

    def read(
        self, table: str, where: Mapping[str, object] | None = None, columns: Sequence[str] | None = None
    ) -> pa.Table | None:
        """Rows matching ``where`` (column = value; a list or set of values: column IN values), or None if the
        table is missing. Partition columns prune files, file statistics prune row groups.

        Files that delta-rs rewrote in a MERGE hold strings as Arrow ``string_view`` while the table says
        ``string``; pyarrow cannot compare the two in a pushed-down filter (``ArrowNotImplementedError``).
        For such tables the string columns are compared after a cast (no statistics pruning on them)."""
        dtable = self.table(table)
        if dtable is None:
            return None
        where = dict(where or {})
        cols = list(columns) if columns else None
        filters = [
            (c, "in", sorted(v)) if isinstance(v, (list, tuple, set, frozenset)) else (c, "=", v)
            for c, v in where.items()
        ] or None
        try:
            return dtable.to_pyarrow_table(filters=filters, columns=cols)
        except pa.ArrowNotImplementedError:
            dataset = dtable.to_pyarrow_dataset()
            partitions = set(dtable.metadata().partition_columns)
            expr = None
            for col, value in where.items():
                field = (
                    pc.field(col) if col in partitions else pc.field(col).cast(dataset.schema.field(col).type)
                )
                term = (
                    field.isin(sorted(value))
                    if isinstance(value, (list, tuple, set, frozenset))
                    else field == value
                )
                expr = term if expr is None else expr & term
            return dataset.to_table(columns=cols, filter=expr)

    def list_tables(self) -> list[str]:
        """Every Delta table below the root (a folder holding ``_delta_log``), as ``layer/name``."""
        if not self.is_local:
            return [t for t in KNOWN_TABLES if self.table(t) is not None]
        root = self.uri.removeprefix("file://")
        found = []
        for dirpath, dirnames, _ in os.walk(root):
            # _replaced/ (tables a restore moved aside), media/ objects and hidden folders hold no live tables
            dirnames[:] = [d for d in dirnames if d == "_delta_log" or not d.startswith(("_", "."))]
            if dirpath == root:
                dirnames[:] = [d for d in dirnames if d != "media"]
            if "_delta_log" in dirnames:
                found.append(os.path.relpath(dirpath, root).replace(os.sep, "/"))
                dirnames.clear()
        return sorted(found)

    def describe(self) -> list[TableInfo]:
        infos = []
        for name in self.list_tables():
            dtable = self.table(name)
            if dtable is None:
                continue
            actions = dtable.get_add_actions(flatten=True)
            adds = pa.table(actions) if not isinstance(actions, pa.Table) else actions
            rows = int(pc.sum(adds["num_records"]).as_py() or 0) if adds.num_rows else 0
            size = int(pc.sum(adds["size_bytes"]).as_py() or 0) if adds.num_rows else 0
            infos.append(TableInfo(name, dtable.version(), rows, adds.num_rows, size))
        return infos
