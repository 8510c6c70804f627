"""The ``object_path`` column of ``cleaned/media``: where each row's file is stored, null until it is.

Two writers keep it, both from the registry (``cleaned/media_objects``), so they always agree: the
media asset after downloading a partition (``point_partition``), and the cleaning step whenever it
re-parses a partition (``fill_object_paths``), so a re-parse never blanks it.
"""

from __future__ import annotations

import datetime as dt

import pyarrow as pa
import pyarrow.compute as pc

from xget_pipelines.core.lake.delta import Lake
from xget_pipelines.core.media import registry

MEDIA_TABLE = "cleaned/media"
OBJECT_PATH = pa.field("object_path", pa.string())


def source_urls(media: pa.Table) -> pa.ChunkedArray:
    """Each row's source URL, as ``targets.source_url`` gives it (vectorised)."""
    moving = pc.fill_null(pc.is_in(media["media_type"], pa.array(["video", "animated_gif"])), False)
    return pc.if_else(moving, media["best_variant_url"], media["url"])


def with_object_paths(media: pa.Table, paths: dict[str, str]) -> pa.Table:
    """``media`` with ``object_path`` set from ``paths`` (source URL -> object path), null elsewhere."""
    index = pc.index_in(source_urls(media), value_set=pa.array(list(paths), pa.string()))
    column = pc.take(pa.array(list(paths.values()), pa.string()), index)
    if OBJECT_PATH.name in media.column_names:
        return media.set_column(media.schema.get_field_index(OBJECT_PATH.name), OBJECT_PATH, column)
    return media.append_column(OBJECT_PATH, column)


def fill_object_paths(lake: Lake, media: pa.Table) -> pa.Table:
    """``media`` rows pointed at the objects the registry holds for them."""
    if media.num_rows == 0:
        return media if OBJECT_PATH.name in media.column_names else with_object_paths(media, {})
    urls = [u for u in source_urls(media).to_pylist() if u]
    return with_object_paths(media, registry.object_paths(lake, urls))


def point_partition(lake: Lake, day: dt.date, key: str) -> tuple[int, int, int | None]:
    """Rewrite the (day, key) partition of ``cleaned/media`` with its object paths from the registry:
    (rows, rows pointing at an object, the table's version; None when the partition has no rows).

    The partition is read right before it is written, so a re-parse that landed during the downloads
    is kept (and pointed) rather than overwritten with the rows the downloads started from."""
    where = {"day": day, "watch_key": key}
    rows = lake.read(MEDIA_TABLE, where)
    if rows is None or rows.num_rows == 0:
        return 0, 0, None
    pointed = fill_object_paths(lake, rows)
    version = lake.replace_where(MEDIA_TABLE, pointed, where, ["day"])
    return pointed.num_rows, pointed.num_rows - pointed["object_path"].null_count, version
