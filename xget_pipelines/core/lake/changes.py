"""What changed in a Delta table since a version: the incremental feed of the sinks (search, archive).

A sink remembers the table version it last shipped (its watermark). ``changes_since`` answers the rows
of the data files added between that version and now. Rows in a file that a merge rewrote come back
even when only a neighbour changed, so a sink must write idempotently (document id = entity id, upsert
by key): shipping a row twice is harmless, missing one is not. When the base version can no longer be
read (its log was cleaned up, or the table was recreated) the whole current snapshot comes back
(``full``), which the same idempotent writes absorb. Commits that only rearrange files (OPTIMIZE,
``dataChange = false``) change no rows, so a span made only of them yields nothing.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from urllib.parse import unquote

import pyarrow as pa
import pyarrow.dataset as pads
from deltalake import DeltaTable

from xget_pipelines.core.lake.delta import Lake

# Operations whose commits add no new rows (files rewritten with dataChange = false).
_REARRANGING = frozenset({"OPTIMIZE", "VACUUM START", "VACUUM END", "SET TBLPROPERTIES"})


@dataclass
class Changes:
    table: str
    since: int | None  # the watermark asked for (exclusive); None: from the start
    version: int  # the snapshot the rows come from: the new watermark once they are shipped
    full: bool  # True when the rows are the whole snapshot (first run, or the base version is gone)
    _dtable: DeltaTable = field(repr=False)
    _paths: frozenset[str] = field(repr=False)

    @property
    def files(self) -> int:
        return len(self._paths)

    @property
    def empty(self) -> bool:
        return not self._paths

    def batches(
        self, columns: Sequence[str] | None = None, batch_size: int = 5_000
    ) -> Iterator[pa.RecordBatch]:
        """The changed rows, a batch at a time (partition columns included), oldest file first."""
        if not self._paths:
            return
        dataset = self._dtable.to_pyarrow_dataset()
        fragments = [f for f in dataset.get_fragments() if _relative(f.path) in self._paths]
        if not fragments:
            return
        subset = pads.FileSystemDataset(fragments, dataset.schema, dataset.format, dataset.filesystem)
        yield from subset.to_batches(columns=list(columns) if columns else None, batch_size=batch_size)

    def rows(self) -> int:
        """Rows in the changed files (from the Delta log's statistics, without reading the files)."""
        if not self._paths:
            return 0
        actions = self._dtable.get_add_actions(flatten=True)
        adds = actions if isinstance(actions, pa.Table) else pa.table(actions)
        total = 0
        for path, count in zip(adds["path"].to_pylist(), adds["num_records"].to_pylist(), strict=False):
            if _relative(path) in self._paths:
                total += int(count or 0)
        return total


def changes_since(lake: Lake, table: str, version: int | None) -> Changes | None:
    """Rows added to ``table`` after ``version`` (None: every row); None when the table does not exist."""
    current = lake.table(table)
    if current is None:
        return None
    head = current.version()
    paths = _files(current)
    if version is None or version > head:  # never shipped, or the table was recreated under the sink
        return Changes(table, version, head, True, current, paths)
    if version == head or _only_rearranged(lake, table, version, head):
        return Changes(table, version, head, False, current, frozenset())
    try:
        base = DeltaTable(lake.path(table), version=version, storage_options=lake.storage_options or None)
    except Exception:  # noqa: BLE001 - the base version's log is gone (cleaned up): ship everything
        return Changes(table, version, head, True, current, paths)
    return Changes(table, version, head, False, current, paths - _files(base))


def _files(dtable: DeltaTable) -> frozenset[str]:
    actions = dtable.get_add_actions(flatten=True)
    adds = actions if isinstance(actions, pa.Table) else pa.table(actions)
    return frozenset(_relative(p) for p in adds["path"].to_pylist())


def _relative(path: str) -> str:
    """A data file's path relative to the table root, decoded. The log escapes a partition value once more
    than the dataset's fragments do (``a%2520b`` against ``a%20b``): decoding both fully makes them agree."""
    decoded = unquote(path)
    while decoded != path:
        path, decoded = decoded, unquote(decoded)
    return decoded.lstrip("/")


def _only_rearranged(lake: Lake, table: str, since: int, head: int) -> bool:
    if head - since > 50:  # a long span almost surely holds new data: not worth reading every commit
        return False
    commits = lake.commits(table, range(since + 1, head + 1))
    return len(commits) == head - since and all(c.get("operation") in _REARRANGING for c in commits)
