"""Restore a backup (core/lake/backup.py) into a lake, and prove it identical.

Restore never destroys: tables already in the target lake are refused unless ``replace`` is given,
and then they are moved aside under ``_replaced/<time>/`` in the lake root (deleted by nobody but
you). Every file is checked against the manifest before anything is written and again after it is
copied; every restored table must open at the manifest's version with the manifest's row count.
"""

from __future__ import annotations

import datetime as dt
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from xget_pipelines.core.db import dump as db_dump
from xget_pipelines.core.lake.backup import BackupError, verify_backup
from xget_pipelines.core.lake.delta import Lake
from xget_pipelines.core.lake.files import copy_file, root_for


@dataclass
class RestoreReport:
    tables: dict[str, tuple[int, int]] = field(default_factory=dict)  # name -> (version, rows)
    media: int = 0
    control_plane_rows: dict[str, int] | None = None
    moved_aside: list[str] = field(default_factory=list)


def restore_lake(
    backup: str,
    lake: Lake,
    database_url: str | None = None,
    replace: bool = False,
    backup_options: dict[str, str] | None = None,
    progress: Callable[[str], None] = lambda _msg: None,
) -> RestoreReport:
    manifest = verify_backup(backup, backup_options)
    src = root_for(backup, backup_options)
    dest = root_for(lake.uri, lake.storage_options)
    report = RestoreReport()
    control = manifest.get("control_plane")
    if control and database_url:
        if db_dump.kind(database_url) != control["kind"]:
            raise BackupError(
                f"the backup holds a {control['kind']} control-plane DB; restore it into a "
                f"{control['kind']} URL (XGET_DATABASE_URL), not {db_dump.kind(database_url)}"
            )
        db_dump.check_restorable(database_url, replace)
    present = [t["name"] for t in manifest["tables"] if dest.exists(t["name"])]
    if present and not replace:
        raise BackupError(
            f"the lake {lake.uri} already has {', '.join(present[:5])}"
            f"{' ...' if len(present) > 5 else ''}: restore into an empty lake, or pass --replace "
            "(the current tables are moved aside under _replaced/, not deleted)"
        )
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    for name in present:
        dest.move(name, f"_replaced/{stamp}/{name}")
        report.moved_aside.append(f"_replaced/{stamp}/{name}")
    for table in manifest["tables"]:
        for f in (*table["files"], *table["log"]):
            _restore_file(src, dest, f)
        restored = lake.table(table["name"])
        rows = restored.to_pyarrow_dataset().count_rows() if restored is not None else -1
        if restored is None or restored.version() != table["version"] or rows != table["rows"]:
            raise BackupError(
                f"{table['name']} did not restore as backed up: version "
                f"{None if restored is None else restored.version()} (expected {table['version']}), "
                f"{rows} rows (expected {table['rows']})"
            )
        report.tables[table["name"]] = (table["version"], rows)
        progress(f"{table['name']}: version {table['version']}, {rows} rows")
    for media in manifest.get("media", []):
        if not dest.exists(media["path"]):  # content-addressed: an object with that name is that content
            _restore_file(src, dest, media)
        report.media += 1
    if control and database_url:
        with tempfile.TemporaryDirectory() as tmp:
            name = control["path"].rsplit("/", 1)[1]
            copy_file(src, control["path"], root_for(tmp), name)
            counts = db_dump.restore(database_url, Path(tmp) / name, replace)
        differ = {t: (counts.get(t), n) for t, n in control["rows"].items() if counts.get(t) != n}
        if differ:
            raise BackupError(
                f"the control-plane DB restored with different row counts (found, expected): {differ}"
            )
        report.control_plane_rows = counts
        progress(f"control plane: {sum(counts.values())} rows in {len(counts)} tables")
    return report


def _restore_file(src, dest, entry: dict) -> None:
    size, digest = copy_file(src, f"lake/{entry['path']}", dest, entry["path"])
    if size != entry["bytes"] or digest != entry["sha256"]:
        raise BackupError(
            f"{entry['path']} was damaged while it was restored (checksum differs); restore again"
        )
