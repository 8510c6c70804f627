"""The raw-page archive: every page of ``raw/x_pages`` as a MongoDB document (collection ``raw_pages``).

One document per page, ``_id`` = ``page_key`` (the id the scrape gives each page; ``raw_x_pages``'s check
holds it unique), plus a unique index on ``page_key`` so nothing else can store a page twice. The body X
served is stored as a BSON document (the parsed JSON) so MongoDB queries reach inside pages
(``{"body.data.user.result.core.screen_name": ...}``), beside the page's columns: day (``YYYY-MM-DD``),
operation, watch_key, fetched_at (a BSON date: milliseconds, where the lake keeps microseconds),
http_status, cursors, session and run ids... Two kinds of body cannot be a document and are kept as
zlib-compressed bytes (``body_zlib``; ``body_format`` says which):

- ``json_zlib``: a page whose document would pass MongoDB's 16 MB limit (or holds what BSON cannot:
  an integer past its signed 64 bits, NUL in a key);
- ``bytes_zlib``: a page that is not JSON (a malformed page, kept exactly as served).

``archive_query.page_body`` returns both transparently. A page still over the limit once compressed
(over ~100 MB of JSON: X never serves one) keeps its columns only (``body_format = "omitted"``,
counted in the run's metadata); the lake keeps the page itself.

Incremental and idempotent: rows come from ``changes_since`` (files added since the watermark) and are
written as upserts by ``_id`` in unordered bulk batches, so a repeated row or a re-run replaces a
document with itself. The watermark (the last Delta version fully archived) lives in the archive itself,
collection ``_xget_state``, written only after every batch succeeded and journaled (``j=True``, which
also makes every page written before it durable): a run that dies half-way leaves the old watermark and
the next run re-sends from there. Nothing is ever written to the lake.
"""

from __future__ import annotations

import datetime as dt
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import bson
import orjson
from bson.raw_bson import RawBSONDocument
from pymongo import IndexModel, MongoClient, ReplaceOne, WriteConcern
from pymongo.errors import (
    BulkWriteError,
    ConfigurationError,
    ConnectionFailure,
    OperationFailure,
    PyMongoError,
)

from xget_pipelines.core.errors import XGetError
from xget_pipelines.core.lake.changes import changes_since
from xget_pipelines.core.lake.delta import Lake
from xget_pipelines.core.redact import masked_url, scrub, url_hosts, url_secrets
from xget_pipelines.core.x.raw_pages import RAW_TABLE

PAGES = "raw_pages"
STATE = "_xget_state"
WATERMARK_ID = f"archive:{RAW_TABLE}"
# MongoDB's document limit less room for the update command that carries the document.
MAX_DOCUMENT = 16 * 1024 * 1024 - 64 * 1024

INDEXES = [
    IndexModel([("page_key", 1)], name="page_key_unique", unique=True),
    IndexModel([("day", 1), ("operation", 1)], name="day_operation"),
    IndexModel([("watch_key", 1), ("day", 1)], name="watch_key_day"),
    IndexModel([("fetched_at", 1)], name="fetched_at"),
]


class ArchiveError(XGetError):
    """The archive refused or could not take a run's pages. The lake is untouched; the watermark stays."""

    def __init__(self, what: str, url: str, watermark: int | None, sent: int, watermark_read: bool = True):
        since = (
            "where it was"
            if not watermark_read
            else "the start"
            if watermark is None
            else f"version {watermark}"
        )
        super().__init__(
            f"{what}. {sent} page(s) of this run were written before it stopped. The lake is untouched and "
            f"the archive's watermark stays at {since}, so the next run re-sends every page since then "
            f"(nothing is lost, nothing doubles). Archive: {masked_url(url)}."
        )
        self.watermark, self.sent = watermark, sent


class ArchiveUnavailable(ArchiveError):
    """The MongoDB server could not be reached (down, wrong host or port, network)."""


@dataclass
class ArchiveResult:
    from_version: int | None  # the watermark before the run (None: nothing archived yet)
    to_version: int | None  # the Delta version archived up to (None: no raw table yet)
    full: bool = False  # every page of the snapshot was sent (first run, or the watermark was unusable)
    files: int = 0
    pages: int = 0  # pages sent (a page repeated by the change feed counts each time)
    inserted: int = 0  # of those, new documents
    batches: int = 0
    compressed: int = 0  # bodies stored as compressed bytes (too large for a document, or not JSON)
    omitted: int = 0  # bodies too large even compressed: columns only


def page_document(row: dict, now: dt.datetime) -> tuple[RawBSONDocument, str]:
    """The archive document of one ``raw/x_pages`` row (BSON, encoded once) and its ``body_format``."""
    body: bytes = row["body"] or b""
    doc = {
        "_id": row["page_key"],
        "page_key": row["page_key"],
        "day": row["day"].isoformat(),
        "watch_key": row["watch_key"],
        "operation": row["operation"],
        "target": row["target"],
        "variables": _json_or_text(row["variables"]),
        "cursor_in": row["cursor_in"],
        "cursor_out": row["cursor_out"],
        "seq": row["seq"],
        "http_status": row["http_status"],
        "account": row["account"],
        "proxy": row["proxy"],
        "fetched_at": row["fetched_at"],
        "session_id": row["session_id"],
        "run_id": row["run_id"],
        "malformed": row["malformed"],
        "body_bytes": len(body),
        "archived_at": now,
    }
    try:
        parsed = orjson.loads(body)
    except orjson.JSONDecodeError:
        fallback = "bytes_zlib"
    else:
        try:
            encoded = bson.encode({**doc, "body": parsed, "body_format": "document"})
        except (bson.errors.InvalidDocument, OverflowError):  # what JSON allows and BSON does not
            encoded = b""
        if 0 < len(encoded) <= MAX_DOCUMENT:
            return RawBSONDocument(encoded), "document"
        fallback = "json_zlib"
    packed = zlib.compress(body, 6)
    if len(packed) + 4096 > MAX_DOCUMENT:
        return RawBSONDocument(bson.encode({**doc, "body_format": "omitted"})), "omitted"
    doc.update(body_zlib=bson.Binary(packed), body_format=fallback)
    return RawBSONDocument(bson.encode(doc)), fallback


def _json_or_text(value: str | None) -> object:
    try:
        return orjson.loads(value) if value else value
    except orjson.JSONDecodeError:
        return value


class PageArchive:
    """A connection to the archive database. Use as a context manager (closes the client)."""

    def __init__(self, url: str, database: str = "xget", timeout_s: float = 10.0):
        self.url, self.display_url, self.hosts = url, masked_url(url), url_hosts(url)
        ms = int(timeout_s * 1000)
        try:
            self.client: MongoClient = MongoClient(
                url,
                serverSelectionTimeoutMS=ms,
                connectTimeoutMS=ms,
                socketTimeoutMS=max(ms, 60_000),
                tz_aware=True,
                appname="xget-archive",
                connect=False,
            )
        except ConfigurationError as exc:
            raise ArchiveError(
                f"the archive URL is not a valid MongoDB URL ({scrub(str(exc), url_secrets(url))}); "
                "fix XGET_ARCHIVE_URL",
                url,
                None,
                0,
            ) from None
        self.db = self.client[database]
        self.pages = self.db[PAGES]

    def __enter__(self) -> PageArchive:
        return self

    def __exit__(self, *exc) -> None:
        self.client.close()

    def watermark(self) -> int | None:
        state = self.db[STATE].find_one({"_id": WATERMARK_ID})
        return None if state is None else int(state["version"])

    def archive(
        self, lake: Lake, batch_size: int = 200, log: Callable[[str], None] | None = None
    ) -> ArchiveResult:
        """Send every page added to ``raw/x_pages`` since the watermark; move the watermark last."""
        watermark, read, sent = None, False, 0
        try:
            self.pages.create_indexes(INDEXES)  # idempotent; also the first contact with the server
            watermark, read = self.watermark(), True
            changes = changes_since(lake, RAW_TABLE, watermark)
            result = ArchiveResult(watermark, None if changes is None else changes.version)
            if changes is None:
                return result
            result.full, result.files = changes.full, changes.files
            for docs in _batches(changes.batches(batch_size=batch_size), batch_size, result):
                written = self.pages.bulk_write(
                    [ReplaceOne({"_id": doc["_id"]}, doc, upsert=True) for doc in docs], ordered=False
                )
                sent += len(docs)
                result.batches += 1
                result.inserted += written.upserted_count
            result.pages = sent
            if changes.version != watermark:
                self.db.get_collection(STATE, write_concern=WriteConcern(w=1, j=True)).replace_one(
                    {"_id": WATERMARK_ID},
                    {
                        "table": RAW_TABLE,
                        "version": changes.version,
                        "full": changes.full,
                        "pages": sent,
                        "updated_at": dt.datetime.now(dt.UTC),
                    },
                    upsert=True,
                )
            if log:
                log(
                    f"archived {sent} page(s) of {RAW_TABLE} versions {watermark}..{changes.version} "
                    f"in {result.batches} batch(es), {result.inserted} new"
                )
            return result
        except ConnectionFailure as exc:
            raise ArchiveUnavailable(
                f"MongoDB archive at {self.hosts} is unreachable ({_brief(exc, self.url)})",
                self.url,
                watermark,
                sent,
                read,
            ) from None
        except BulkWriteError as exc:
            errors = exc.details.get("writeErrors", [])
            first = errors[0].get("errmsg", "") if errors else str(exc)
            raise ArchiveError(
                f"MongoDB archive at {self.hosts} refused {len(errors)} page(s): "
                f"{scrub(first, url_secrets(self.url))[:300]}",
                self.url,
                watermark,
                sent,
                read,
            ) from None
        except OperationFailure as exc:
            advice = " (check the user and password of XGET_ARCHIVE_URL)" if exc.code in (13, 18) else ""
            raise ArchiveError(
                f"MongoDB archive at {self.hosts} refused the run{advice}: {_brief(exc, self.url)}",
                self.url,
                watermark,
                sent,
                read,
            ) from None
        except PyMongoError as exc:
            raise ArchiveError(
                f"MongoDB archive at {self.hosts} failed: {_brief(exc, self.url)}",
                self.url,
                watermark,
                sent,
                read,
            ) from None


def _batches(record_batches, size: int, result: ArchiveResult) -> Iterator[list[RawBSONDocument]]:
    """Documents in lists of ``size``: the change feed yields a file at a time and raw files are small
    (the scrape appends 5 pages a commit), so batches are refilled across files."""
    now = dt.datetime.now(dt.UTC)
    docs: list[RawBSONDocument] = []
    for batch in record_batches:
        for row in batch.to_pylist():
            doc, body_format = page_document(row, now)
            result.compressed += body_format.endswith("_zlib")
            result.omitted += body_format == "omitted"
            docs.append(doc)
            if len(docs) >= size:
                yield docs
                docs = []
    if docs:
        yield docs


def _brief(exc: Exception, url: str) -> str:
    """A driver error in one line: pymongo appends the whole topology description to some messages."""
    text = str(exc).split(", Timeout:")[0].split(", full error:")[0]
    return f"{type(exc).__name__}: {scrub(text, url_secrets(url))[:300]}"
