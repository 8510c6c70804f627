"""Backups of the lakehouse: a consistent snapshot of every Delta table, the media objects and the
control-plane DB, with a manifest of checksums; restore verifies every byte and every row count.

A table is backed up at one version (the current one when the backup reaches it, or the version at
``as_of``): the data files of that snapshot and the log up to that version, copied verbatim, so the
restored table *is* that version (same files, same checksums, same rows), whatever writers did while
the copy ran. Tables are each consistent at their own version; the manifest records which. The
manifest is written last: a folder without one is an interrupted backup and restore refuses it.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from urllib.parse import unquote

import pyarrow as pa
import pyarrow.compute as pc
from deltalake import DeltaTable

from xget_pipelines.core.db import dump as db_dump
from xget_pipelines.core.lake.delta import Lake, load_as_of
from xget_pipelines.core.lake.files import Root, copy_file, root_for

FORMAT = "xget-backup/1"
MANIFEST = "manifest.json"
MEDIA = "media"
_COMMIT = re.compile(r"^(\d{20})\.(json|crc|checkpoint\.parquet|checkpoint\.\d+\.\d+\.parquet)$")


class BackupError(RuntimeError):
    pass


def backup_lake(
    lake: Lake,
    target: str,
    database_url: str | None = None,
    tables: Sequence[str] | None = None,
    as_of: dt.datetime | None = None,
    target_options: dict[str, str] | None = None,
    progress: Callable[[str], None] = lambda _msg: None,
) -> dict:
    """Back ``lake`` (and the control-plane DB, when given) up into the empty folder ``target``."""
    dest = root_for(target, target_options)
    if not dest.is_empty():
        raise BackupError(f"{target} is not empty: back up into a new folder (a backup is never overwritten)")
    src = root_for(lake.uri, lake.storage_options)
    manifest: dict = {
        "format": FORMAT,
        "created_at": _now(),
        "lake_uri": lake.uri,
        "as_of": as_of.isoformat() if as_of else None,
        "tables": [],
        "media": [],
        "control_plane": None,
    }
    for name in tables or lake.list_tables():
        dtable = lake.table(name)
        if dtable is None:
            raise BackupError(f"no table {name} in the lake {lake.uri}; `xget lake tables` lists them")
        if as_of is not None:
            try:
                load_as_of(dtable, as_of, lake, name)
            except Exception as exc:  # noqa: BLE001 - created after as_of, or its history was vacuumed
                progress(f"skip {name}: no version at {as_of.isoformat()} ({exc})")
                continue
        manifest["tables"].append(_backup_table(name, dtable, src, dest))
        progress(
            f"{name}: version {manifest['tables'][-1]['version']}, {manifest['tables'][-1]['rows']} rows"
        )
    for rel in src.list(MEDIA, recursive=True):  # content-addressed objects: copied as they are
        size, digest = copy_file(src, rel, dest, f"lake/{rel}")
        manifest["media"].append({"path": rel, "bytes": size, "sha256": digest})
    if database_url:
        with tempfile.TemporaryDirectory() as tmp:
            file_name, counts = db_dump.dump(database_url, Path(tmp))
            local = root_for(tmp)
            size, digest = copy_file(local, file_name, dest, f"control-plane/{file_name}")
        manifest["control_plane"] = {
            "kind": db_dump.kind(database_url),
            "path": f"control-plane/{file_name}",
            "bytes": size,
            "sha256": digest,
            "rows": counts,
        }
        progress(f"control plane: {sum(counts.values())} rows in {len(counts)} tables")
    with dest.fs.open_output_stream(dest.path(MANIFEST + ".tmp"), compression=None) as out:
        out.write(json.dumps(manifest, indent=1).encode())
    dest.fs.move(dest.path(MANIFEST + ".tmp"), dest.path(MANIFEST))
    return manifest


def _backup_table(name: str, dtable: DeltaTable, src: Root, dest: Root) -> dict:
    version = dtable.version()
    actions = dtable.get_add_actions(flatten=True)
    adds = actions if isinstance(actions, pa.Table) else pa.table(actions)
    rows = int(pc.sum(adds["num_records"]).as_py() or 0) if adds.num_rows else 0
    entry: dict = {"name": name, "version": version, "rows": rows, "files": [], "log": []}
    for logged in adds["path"].to_pylist():
        rel = f"{name}/{unquote(logged)}"  # the log escapes the path once more than the file name is
        entry["files"].append(_copy(src, rel, dest))
    for rel in src.list(f"{name}/_delta_log"):
        match = _COMMIT.match(rel.rsplit("/", 1)[1])
        if match and int(match.group(1)) <= version:  # commits after the snapshot stay out
            entry["log"].append(_copy(src, rel, dest))
    return entry


def _copy(src: Root, rel: str, dest: Root) -> dict:
    try:
        size, digest = copy_file(src, rel, dest, f"lake/{rel}")
    except FileNotFoundError as exc:
        raise BackupError(
            f"{rel} vanished while it was copied (a vacuum ran?); take the backup again"
        ) from exc
    return {"path": rel, "bytes": size, "sha256": digest}


def read_manifest(backup: str, options: dict[str, str] | None = None) -> tuple[Root, dict]:
    root = root_for(backup, options)
    if not root.exists(MANIFEST):
        raise BackupError(f"{backup} has no {MANIFEST}: not a backup, or one that was interrupted")
    with root.fs.open_input_stream(root.path(MANIFEST), compression=None) as src:
        manifest = json.loads(src.read())
    if manifest.get("format") != FORMAT:
        raise BackupError(f"{backup} is a {manifest.get('format')!r} backup; this XGet reads {FORMAT}")
    return root, manifest


def verify_backup(backup: str, options: dict[str, str] | None = None) -> dict:
    """Check every file of a backup against its manifest; raises naming the files that differ."""
    root, manifest = read_manifest(backup, options)
    bad = [f"lake/{f['path']}" for f in _lake_files(manifest) if not _matches(root, f"lake/{f['path']}", f)]
    control = manifest.get("control_plane")
    if control and not _matches(root, control["path"], control):
        bad.append(control["path"])
    if bad:
        raise BackupError(
            f"{len(bad)} file(s) of {backup} are missing or differ from the manifest: "
            f"{', '.join(bad[:5])}{' ...' if len(bad) > 5 else ''}"
        )
    return manifest


def _lake_files(manifest: dict) -> list[dict]:
    files = [f for t in manifest["tables"] for f in (*t["files"], *t["log"])]
    return files + manifest.get("media", [])


def _matches(root: Root, rel: str, expected: dict) -> bool:
    return root.exists(rel) and root.size(rel) == expected["bytes"] and root.sha256(rel) == expected["sha256"]


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
