"""``cleaned/media_objects``: one row per source URL, what became of it, and where its object is.

Re-runs read it to skip what is stored and retry what failed; the cleaned media rows take their
``object_path`` from it (``object_paths``). Rows are MERGEd on ``url``, so nothing is ever duplicated
and a later outcome replaces an earlier one. The table is small (one row per media file) and not
partitioned.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import pyarrow as pa

from xget_pipelines.core.lake.delta import Lake

TABLE = "cleaned/media_objects"
SCHEMA = pa.schema(
    [
        pa.field("url", pa.string(), nullable=False),  # the source URL (see targets.source_url)
        pa.field("media_key", pa.string()),
        pa.field("media_type", pa.string()),
        pa.field(
            "fetched_url", pa.string()
        ),  # the file fetched (a video's chosen variant), after the URL map
        pa.field("bitrate", pa.int64()),  # of the chosen video variant
        pa.field("sha256", pa.string()),
        pa.field("object_path", pa.string()),  # relative to the lake root: media/<sha[:2]>/<sha>.<ext>
        pa.field("bytes", pa.int64()),
        pa.field("content_type", pa.string()),
        pa.field("status", pa.string(), nullable=False),  # downloaded | failed | skipped_too_large
        pa.field("attempts", pa.int64(), nullable=False),  # over every run
        pa.field("error", pa.string()),  # the last failure, or why every file was too large
        pa.field("max_bytes", pa.int64()),  # the limit it was judged against (a larger one judges it again)
        pa.field("fetched_at", pa.timestamp("us", tz="UTC"), nullable=False),
    ]
)


def read(lake: Lake, urls: Iterable[str] | None = None) -> dict[str, dict]:
    """Registry rows by source URL (all of them, or those of ``urls``)."""
    wanted = None if urls is None else set(urls)
    if wanted is not None and not wanted:
        return {}
    data = lake.read(TABLE, None if wanted is None else {"url": wanted})
    return {} if data is None else {row["url"]: row for row in data.to_pylist()}


def object_paths(lake: Lake, urls: Iterable[str]) -> dict[str, str]:
    """Source URL -> stored object path, for the downloaded ones of ``urls``."""
    return {
        url: row["object_path"]
        for url, row in read(lake, urls).items()
        if row["status"] == "downloaded" and row["object_path"]
    }


def merge(lake: Lake, rows: list[Mapping]) -> int | None:
    """Insert or replace ``rows`` by ``url``; the table's new version. Two runs merging at once conflict in
    Delta; ``Lake.merge`` retries the loser on a fresh snapshot."""
    if not rows:
        return lake.version(TABLE)
    latest = {row["url"]: row for row in rows}  # a source holding a key twice makes MERGE fail
    source = pa.Table.from_pylist([{f.name: r.get(f.name) for f in SCHEMA} for r in latest.values()], SCHEMA)
    lake.merge(
        TABLE,
        source,
        "t.url = s.url",
        lambda m: m.when_matched_update_all().when_not_matched_insert_all(),
        schema=SCHEMA,
        merge_schema=True,
        streamed_exec=False,
    )
    return lake.version(TABLE)
