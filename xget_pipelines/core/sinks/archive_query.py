"""Reading the raw-page archive: find and count pages by page key, watchlist key, day, operation and fetch
time, and one page's body (decompressed transparently when it was stored as bytes, see ``archive.py``).

Everything comes back as plain Python dicts (``_id`` dropped: it is the ``page_key``). Listings leave the
bodies out, since a page is up to megabytes: ask for one with ``page_body``. ``where`` adds any MongoDB
filter, so queries can reach inside the stored bodies, e.g.
``count_pages(archive, where={"body.data.user.result.core.screen_name": "XDevelopers"})``.
"""

from __future__ import annotations

import datetime as dt
import zlib
from collections.abc import Mapping

import orjson

from xget_pipelines.core.sinks.archive import PageArchive

_WITHOUT_BODY = {"_id": False, "body": False, "body_zlib": False}


def page_filter(
    *,
    page_key: str | None = None,
    watch_key: str | None = None,
    day: dt.date | str | None = None,
    operation: str | None = None,
    fetched_from: dt.datetime | None = None,
    fetched_until: dt.datetime | None = None,
    where: Mapping | None = None,
) -> dict:
    """The MongoDB filter of the arguments (all ANDed; ``fetched_until`` exclusive)."""
    query: dict = dict(where or {})
    for field, value in (("page_key", page_key), ("watch_key", watch_key), ("operation", operation)):
        if value is not None:
            query[field] = value
    if day is not None:
        query["day"] = day.isoformat() if isinstance(day, dt.date) else str(day)
    span = {op: when for op, when in (("$gte", fetched_from), ("$lt", fetched_until)) if when is not None}
    if span:
        query["fetched_at"] = span
    return query


def find_pages(
    archive: PageArchive, *, limit: int = 100, newest_first: bool = False, **filters
) -> list[dict]:
    """Pages matching ``filters`` (see ``page_filter``), by fetch time, without their bodies."""
    cursor = archive.pages.find(page_filter(**filters), _WITHOUT_BODY)
    cursor = cursor.sort([("fetched_at", -1 if newest_first else 1), ("page_key", 1)]).limit(max(limit, 0))
    return list(cursor)


def count_pages(archive: PageArchive, **filters) -> int:
    return archive.pages.count_documents(page_filter(**filters))


def page_body(archive: PageArchive, page_key: str) -> object:
    """The body of one page as X served it: the parsed JSON (a dict, as a rule), or the raw ``bytes`` of a
    page that is not JSON. Raises ``KeyError`` for a page not in the archive, ``LookupError`` for one whose
    body was too large to archive (read it from the lake)."""
    doc = archive.pages.find_one({"_id": page_key}, {"body": True, "body_zlib": True, "body_format": True})
    if doc is None:
        raise KeyError(f"page {page_key} is not in the archive (not archived yet, or not a page key)")
    return decode_body(doc)


def decode_body(doc: Mapping) -> object:
    body_format = doc.get("body_format", "document")
    if body_format == "document":
        return doc.get("body")
    if body_format == "json_zlib":
        return orjson.loads(zlib.decompress(doc["body_zlib"]))
    if body_format == "bytes_zlib":
        return zlib.decompress(doc["body_zlib"])
    raise LookupError(
        f"page {doc.get('_id')} was too large to archive even compressed; read it from "
        "raw/x_pages in the lake (xget sql)"
    )
