"""Lake upkeep: compact small files, checkpoint the log, vacuum files no version needs any more.

Every partition write and merge adds files; a day collected page by page ends up as many small ones,
and every read pays per file. Compaction rewrites them into few large files (a commit that changes no
rows: readers and the sinks' incremental feed see the same data). Vacuum then deletes files that
left the table more than ``retention_hours`` ago; time travel (``xget sql --as-of``) reaches back only
that far. Both are safe beside running writers: a compaction that loses a commit race is retried once
and otherwise left for the next run, never forced.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from deltalake.exceptions import CommitFailedError

from xget_pipelines.core.lake.delta import Lake


@dataclass
class TableUpkeep:
    table: str
    files_before: int
    files_after: int
    files_compacted: int
    files_vacuumed: int
    version: int
    error: str | None = None  # the table's upkeep failed (the run fails, naming it)
    skipped: str | None = None  # compaction left for the next run: writers kept committing (not a failure)


def maintain(
    lake: Lake, retention_hours: int, tables: Sequence[str] | None = None, target_size: int | None = None
) -> list[TableUpkeep]:
    """Compact, checkpoint and vacuum every table (or ``tables``); one table's failure does not stop the
    rest."""
    if retention_hours < 0:
        raise ValueError("retention_hours must be 0 or more (XGET_LAKE_VACUUM_RETENTION_HOURS)")
    done = []
    for name in tables or lake.list_tables():
        if lake.table(name) is None:
            continue
        try:
            done.append(_maintain_table(lake, name, retention_hours, target_size))
        except Exception as exc:  # noqa: BLE001 - reported per table; the other tables still get their upkeep
            dtable = lake.table(name)
            files = len(dtable.file_uris()) if dtable is not None else 0
            done.append(
                TableUpkeep(
                    name,
                    files,
                    files,
                    0,
                    0,
                    dtable.version() if dtable else -1,
                    f"{type(exc).__name__}: {exc}",
                )
            )
    return done


def _maintain_table(lake: Lake, name: str, retention_hours: int, target_size: int | None) -> TableUpkeep:
    dtable = lake.table(name)
    before = len(dtable.file_uris())
    compacted, skipped = 0, None
    for _attempt in range(2):
        try:
            compacted = int(dtable.optimize.compact(target_size=target_size).get("numFilesRemoved", 0))
            skipped = None
            break
        except CommitFailedError as exc:  # a writer committed meanwhile: reload and try once more
            skipped = f"compaction left for the next run, writers committed meanwhile twice ({exc})"
            dtable = lake.table(name)
    dtable = lake.table(name)
    dtable.create_checkpoint()
    # full: also the files no commit ever referenced (a commit that lost to a concurrent writer leaves its
    # data files behind); lite mode only removes files that a commit removed.
    vacuumed = dtable.vacuum(
        retention_hours=retention_hours, dry_run=False, enforce_retention_duration=False, full=True
    )
    dtable = lake.table(name)
    return TableUpkeep(
        name, before, len(dtable.file_uris()), compacted, len(vacuumed), dtable.version(), None, skipped
    )


def parse_as_of(text: str) -> int | dt.datetime:
    """``--as-of``: a table version (an integer) or a time (ISO 8601; no zone means UTC)."""
    text = text.strip()
    if text.isdigit():
        return int(text)
    try:
        when = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(
            f"--as-of {text!r} is neither a version (e.g. 12) nor a time (e.g. 2026-11-28T10:00:00Z)"
        ) from None
    return when if when.tzinfo else when.replace(tzinfo=dt.UTC)
