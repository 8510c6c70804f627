"""Streaming exports of Arrow record batches as json, ndjson, csv, parquet or xlsx, for the API
(``export_response``) and ``xget export`` (``write_export``).

Every format is encoded one record batch at a time and its bytes leave after each batch, so an export
of any size holds one batch (plus the format's overhead) in memory. Decisions:

* Timestamps: ISO-8601 strings in json, ndjson and csv, rendered a column at a time, microsecond precision
  (what Delta stores; nanoseconds are truncated). Zone-aware values are shown in UTC with the offset,
  ``2026-11-01T12:00:00+00:00`` (exactly ``datetime.isoformat()``); naive ones get no invented offset.
  xlsx cannot hold zone-aware datetimes: they are written as naive UTC (Excel keeps milliseconds).
  parquet keeps the Arrow types, except DuckDB's INTERVAL, which no format holds: ISO-8601 text (``P1DT2S``).
* Integers stay integers. Tweet ids are int64 and exceed JavaScript's 2**53: ``ids_as_strings`` renders
  int64 columns named ``id`` or ``*_id`` as strings in json/ndjson (csv is text anyway; parquet is
  typed). Excel keeps 15 significant digits, so xlsx always writes those id columns, and any other
  integer beyond 10**15, as text.
* csv: pyarrow's writer, header once; null is an empty field, an empty string is ``""``. Nested columns
  (list, struct, map) become JSON text, binary becomes base64, so csv never fails on a type.
* json: one array, written as ``[`` + objects joined by ``,`` + ``]``; ndjson: one object per line.
  Decimals (DuckDB's ``sum`` of BIGINT) stay exact JSON numbers; maps are objects; binary is base64;
  NaN is null.
* parquet: ``ParquetWriter`` into a buffer drained after each batch (one row group per batch).
* xlsx: openpyxl's write-only workbook (inline strings: nothing accumulates in memory) assembled in a
  temporary file, then streamed out in 1 MiB chunks. Excel holds 1,048,575 data rows below the header;
  ``ExportTooLarge`` is raised before a batch would go past them. Strings that Excel would take for a
  formula (``=...``) or an error code stay text; control characters Excel refuses are dropped; NaN and
  infinities are empty cells.
* Duplicate column names (``select a.id, b.id``) become ``id``, ``id_1`` in every format.
"""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import itertools
import json
import math
import os
import re
import tempfile
from collections.abc import Iterable, Iterator
from decimal import Decimal
from typing import BinaryIO, Literal

import numpy as np
import orjson
import pyarrow as pa
import pyarrow.compute as pc
from starlette.responses import Response, StreamingResponse

from xget_pipelines.core.errors import TooLarge

FORMATS = ("json", "ndjson", "csv", "parquet", "xlsx")
MEDIA_TYPES = {
    "json": "application/json",
    "ndjson": "application/x-ndjson",
    "csv": "text/csv; charset=utf-8",
    "parquet": "application/vnd.apache.parquet",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
XLSX_MAX_ROWS = 1_048_575  # Excel's 1,048,576 rows, less the header; read at run time (tests lower it)
CHUNK_BYTES = 1 << 20
_EXCEL_MAX_EXACT_INT = 10**15 - 1  # Excel shows and keeps 15 significant digits
_EXCEL_ILLEGAL = r"[\x00-\x08\x0B\x0C\x0E-\x1F]"  # openpyxl refuses these control characters


class ExportTooLarge(TooLarge):
    """The export does not fit the format (xlsx: Excel's row limit); ``field`` is ``format``."""

    def __init__(self, message: str):
        super().__init__(message, "format")


class _Rows:
    """Rows read so far (``write_export`` reports them)."""

    def __init__(self) -> None:
        self.n = 0


# -- public API -----------------------------------------------------------------------------------------


def iter_export(reader: pa.RecordBatchReader, fmt: str, ids_as_strings: bool = False) -> Iterator[bytes]:
    """The export of ``reader`` as ``fmt``, chunk by chunk (at least one chunk; each batch's bytes as soon
    as they are encoded). An unknown format raises ValueError here, before anything is read."""
    return _encode(reader, fmt, ids_as_strings, _Rows())


def export_response(
    reader: pa.RecordBatchReader, fmt: str, filename_stem: str, ids_as_strings: bool = False
) -> StreamingResponse:
    """A streaming download of the export. The first chunk (the whole file for xlsx) is produced here, so
    errors before any byte (a failing query, ``ExportTooLarge``) raise from this call and can become a
    proper 4xx/5xx; call it from a sync route or a thread, not on the event loop."""
    fmt = _format(fmt)
    chunks = iter_export(reader, fmt, ids_as_strings)
    first = next(chunks, b"")
    stem = re.sub(r"[^A-Za-z0-9._-]+", "_", filename_stem).strip("._") or "export"
    return StreamingResponse(
        itertools.chain((first,), chunks),
        media_type=MEDIA_TYPES[fmt],
        headers={"Content-Disposition": f'attachment; filename="{stem}.{fmt}"'},
    )


def write_export(reader: pa.RecordBatchReader, fmt: str, out: BinaryIO, ids_as_strings: bool = False) -> int:
    """Write the export to a binary file; returns the number of rows written."""
    rows = _Rows()
    for chunk in _encode(reader, fmt, ids_as_strings, rows):
        out.write(chunk)
    out.flush()
    return rows.n


def _format(fmt) -> str:
    fmt = getattr(fmt, "value", fmt)  # a str Enum member works too
    if fmt not in FORMATS:
        raise ValueError(f"unknown export format {fmt!r}: use one of {', '.join(FORMATS)}")
    return fmt


def _encode(reader: pa.RecordBatchReader, fmt: str, ids_as_strings: bool, rows: _Rows) -> Iterator[bytes]:
    return _ENCODERS[_format(fmt)](_batches(reader, rows), reader.schema, ids_as_strings)


def _batches(reader: pa.RecordBatchReader, rows: _Rows) -> Iterator[pa.RecordBatch]:
    for batch in reader:
        if batch.num_rows:
            rows.n += batch.num_rows
            yield batch


# -- per-batch conversion (Arrow-level wherever possible) ---------------------------------------------------


def _prepare(batch: pa.RecordBatch, fmt: str, ids_as_strings: bool = False) -> pa.RecordBatch:
    names = _unique(batch.schema.names)
    arrays = [
        _column(name, col, fmt, ids_as_strings)
        for name, col in zip(batch.schema.names, batch.columns, strict=False)
    ]
    return pa.RecordBatch.from_arrays(arrays, names=names)


def _empty(schema: pa.Schema) -> pa.RecordBatch:
    return pa.RecordBatch.from_pylist([], schema=schema)


def _unique(names: list[str]) -> list[str]:
    seen: set[str] = set()
    out = []
    for name in names:
        candidate = name
        for i in itertools.count(1):
            if candidate not in seen:
                break
            candidate = f"{name}_{i}"
        seen.add(candidate)
        out.append(candidate)
    return out


def _is_id(name: str, t: pa.DataType) -> bool:
    return (name == "id" or name.endswith("_id")) and t in (pa.int64(), pa.uint64())


def _column(name: str, col: pa.Array, fmt: str, ids_as_strings: bool) -> pa.Array:
    t = col.type
    if pa.types.is_interval(t):  # DuckDB's INTERVAL: no Parquet, JSON or Excel type holds it
        return pa.array([None if v is None else _iso_duration(v) for v in col.to_pylist()], pa.string())
    if fmt == "parquet":
        return col
    if pa.types.is_dictionary(t):
        col, t = col.dictionary_decode(), t.value_type
    if pa.types.is_timestamp(t):
        return _naive_utc(col) if fmt == "xlsx" else _iso(col)
    if _is_id(name, t) and (ids_as_strings or fmt == "xlsx"):
        return col.cast(pa.string())
    if pa.types.is_binary(t) or pa.types.is_large_binary(t) or pa.types.is_fixed_size_binary(t):
        return pa.array(
            [None if v is None else base64.b64encode(v).decode() for v in col.to_pylist()], pa.string()
        )
    if fmt in ("csv", "xlsx") and pa.types.is_nested(t):
        return pa.array(
            [None if v is None else _dumps(v).decode() for v in col.to_pylist(maps_as_pydicts="lossy")],
            pa.string(),
        )
    if fmt == "xlsx" and (pa.types.is_string(t) or pa.types.is_large_string(t)):
        return pc.replace_substring_regex(col, pattern=_EXCEL_ILLEGAL, replacement="")
    return col


def _as_us(col: pa.Array) -> pa.Array:
    unit, tz = col.type.unit, col.type.tz
    return col.cast(pa.timestamp("us", "UTC" if tz else None), safe=unit != "ns")  # ns: truncated


def _iso(col: pa.Array) -> pa.Array:
    """ISO-8601 text, as ``datetime.isoformat()`` writes it (numpy: about twice as fast as
    ``pc.strftime``)."""
    us = _as_us(col)
    text = np.datetime_as_string(us.cast(pa.timestamp("us")).to_numpy(zero_copy_only=False), unit="us")
    text = pa.array(text, pa.string(), mask=us.is_null().to_numpy(zero_copy_only=False))
    text = pc.replace_substring(text, pattern=".000000", replacement="")
    return pc.binary_join_element_wise(text, "+00:00", "") if us.type.tz else text


def _naive_utc(col: pa.Array) -> pa.Array:
    return _as_us(col).cast(pa.timestamp("us"))  # zone-aware -> its UTC wall clock


def _iso_duration(v) -> str:
    """An Arrow month-day-nano interval as ISO-8601: ``P1M3DT1.5S``."""
    whole, frac = divmod(abs(v.nanoseconds), 10**9)
    seconds = ("-" if v.nanoseconds < 0 else "") + str(whole) + (f".{frac:09d}".rstrip("0") if frac else "")
    text = "P" + (f"{v.months}M" if v.months else "") + (f"{v.days}D" if v.days else "")
    return text + f"T{seconds}S" if v.nanoseconds or text == "P" else text


def _dumps(value, option: int = 0) -> bytes:
    return orjson.dumps(value, default=_default, option=option | orjson.OPT_NON_STR_KEYS)


def _default(value):
    """orjson's fallback for what it does not encode natively."""
    if isinstance(value, Decimal):
        return orjson.Fragment(str(value))  # an exact JSON number
    if isinstance(value, (bytes, bytearray, memoryview)):
        return base64.b64encode(value).decode()
    return str(value)


# -- encoders: (batches, schema, ids_as_strings) -> chunks ----------------------------------------------


def _json(batches: Iterable[pa.RecordBatch], schema: pa.Schema, ids_as_strings: bool) -> Iterator[bytes]:
    head = b"["
    for batch in batches:
        rows = _prepare(batch, "json", ids_as_strings).to_pylist(maps_as_pydicts="lossy")
        body = _dumps(rows)[1:-1]
        yield head + body
        head = b","
    yield b"[]" if head == b"[" else b"]"


def _ndjson(batches: Iterable[pa.RecordBatch], schema: pa.Schema, ids_as_strings: bool) -> Iterator[bytes]:
    produced = False
    for batch in batches:
        rows = _prepare(batch, "ndjson", ids_as_strings).to_pylist(maps_as_pydicts="lossy")
        yield b"".join([_dumps(row, orjson.OPT_APPEND_NEWLINE) for row in rows])
        produced = True
    if not produced:
        yield b""


class _Drain:
    """A write-only file whose bytes are taken out after each batch."""

    def __init__(self) -> None:
        self.parts: list[bytes] = []
        self.pos = 0
        self.closed = False

    def write(self, data) -> int:
        data = bytes(data)
        self.parts.append(data)
        self.pos += len(data)
        return len(data)

    def tell(self) -> int:
        return self.pos

    def flush(self) -> None:
        pass

    def close(self) -> None:
        self.closed = True

    def take(self) -> bytes:
        data, self.parts = b"".join(self.parts), []
        return data


def _csv(batches: Iterable[pa.RecordBatch], schema: pa.Schema, ids_as_strings: bool) -> Iterator[bytes]:
    import pyarrow.csv as pcsv

    sink = _Drain()
    writer = pcsv.CSVWriter(sink, _prepare(_empty(schema), "csv").schema)  # writes the header
    for batch in batches:
        writer.write_batch(_prepare(batch, "csv"))
        yield sink.take()
    writer.close()
    yield sink.take()


def _parquet(batches: Iterable[pa.RecordBatch], schema: pa.Schema, ids_as_strings: bool) -> Iterator[bytes]:
    import pyarrow.parquet as pq

    sink = _Drain()
    writer = pq.ParquetWriter(sink, _prepare(_empty(schema), "parquet").schema)
    for batch in batches:
        writer.write_batch(_prepare(batch, "parquet"))  # one row group, flushed to the sink
        yield sink.take()
    writer.close()
    yield sink.take()


def _xlsx(batches: Iterable[pa.RecordBatch], schema: pa.Schema, ids_as_strings: bool) -> Iterator[bytes]:
    from openpyxl import Workbook

    fd, path = tempfile.mkstemp(prefix="xget-export-", suffix=".xlsx")
    os.close(fd)
    wb = Workbook(write_only=True)
    ws = wb.create_sheet("export")
    try:
        ws.freeze_panes = "A2"
        text = _excel_text_cells(ws)
        header = _prepare(_empty(schema), "xlsx")
        ws.append([text(name) for name in header.schema.names])
        fixers = [_excel_fixer(text, f.type) for f in header.schema]
        written = 0
        for batch in batches:
            if written + batch.num_rows > XLSX_MAX_ROWS:
                raise ExportTooLarge(
                    f"xlsx holds at most {XLSX_MAX_ROWS:,} rows (Excel's limit) and this export has more: "
                    "export as csv or parquet, or narrow it (filters, --where, --limit)"
                )
            columns = [c.to_pylist() for c in _prepare(batch, "xlsx").columns]
            columns = [
                [fix(v) for v in col] if fix else col for fix, col in zip(fixers, columns, strict=False)
            ]
            for row in zip(*columns, strict=False):
                ws.append(row)
            written += batch.num_rows
        wb.save(path)
        with open(path, "rb") as fh:
            while chunk := fh.read(CHUNK_BYTES):
                yield chunk
    finally:
        _discard_sheet(ws)
        with contextlib.suppress(FileNotFoundError):
            os.remove(path)


def _discard_sheet(ws) -> None:
    """Remove openpyxl's own temporary file of a sheet that was not saved (an aborted export)."""
    writer = getattr(ws, "_writer", None)
    if writer is None or ws.closed:
        return
    with contextlib.suppress(Exception):
        if ws._rows is not None:
            ws._rows.close()  # ends the sheet's XML while its file is open
        writer.close()
    with contextlib.suppress(Exception):
        writer.cleanup()


def _excel_fixer(text, t: pa.DataType):
    """Per-value fix of a prepared column for Excel, or None when its values go in as they are."""
    if pa.types.is_integer(t):
        return lambda v: str(v) if v is not None and abs(v) > _EXCEL_MAX_EXACT_INT else v
    if pa.types.is_floating(t):
        return lambda v: v if v is None or math.isfinite(v) else None  # Excel has no NaN or infinity
    if pa.types.is_string(t) or pa.types.is_large_string(t):
        return text
    return None


def _excel_text_cells(ws):
    """A function making the strings openpyxl would write as a formula or an error code plain text cells."""
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.cell.cell import ERROR_CODES

    def text(value):
        if value is None or not (value in ERROR_CODES or (len(value) > 1 and value[0] == "=")):
            return value
        cell = WriteOnlyCell(ws, value=value)
        cell.data_type = "s"
        return cell

    return text


_ENCODERS = {"json": _json, "ndjson": _ndjson, "csv": _csv, "parquet": _parquet, "xlsx": _xlsx}


def rows_response(
    rows: list[dict],
    fmt: str,
    filename_stem: str,
    ids_as_strings: bool = False,
    columns: list[str] | None = None,
) -> StreamingResponse:
    """``export_response`` of rows already in memory (bounded lists: trends, a task's results, the pool);
    ``columns`` name the header of an empty export."""
    if fmt in ("json", "ndjson"):  # free-form values (preferences, params) stay JSON objects
        return _json_rows_response(rows, fmt, filename_stem, ids_as_strings)
    table = _table_of(rows) if rows else pa.table({c: pa.array([], pa.string()) for c in columns or []})
    return export_response(
        pa.RecordBatchReader.from_batches(table.schema, table.to_batches(50_000)),
        fmt,
        filename_stem,
        ids_as_strings=ids_as_strings,
    )


def _json_value(value, key: str, ids_as_strings: bool):
    if isinstance(value, dt.datetime):
        return (value if value.tzinfo else value.replace(tzinfo=dt.UTC)).isoformat()
    if isinstance(value, (dt.date, dt.time)):
        return value.isoformat()
    if (
        ids_as_strings
        and isinstance(value, int)
        and not isinstance(value, bool)
        and (key == "id" or key.endswith("_id"))
    ):
        return str(value)
    return value


def _json_rows_response(
    rows: list[dict], fmt: str, filename_stem: str, ids_as_strings: bool
) -> StreamingResponse:
    def encode(row: dict) -> str:
        return json.dumps(
            {k: _json_value(v, k, ids_as_strings) for k, v in row.items()}, default=str, ensure_ascii=False
        )

    if fmt == "ndjson":
        body = "".join(encode(r) + "\n" for r in rows)
    else:
        body = "[" + ",".join(encode(r) for r in rows) + "]"
    stem = re.sub(r"[^A-Za-z0-9._-]+", "_", filename_stem).strip("._") or "export"
    return StreamingResponse(
        iter((body.encode(),)),
        media_type=MEDIA_TYPES[fmt],
        headers={"Content-Disposition": f'attachment; filename="{stem}.{fmt}"'},
    )


def _table_of(rows: list[dict]) -> pa.Table:
    """Rows as an Arrow table; a column Arrow cannot type (free-form values such as user preferences or audit
    details: objects and lists of different shapes from row to row) becomes JSON text. Times without a zone
    are UTC (SQLite hands the control plane's UTC times back naive) and say so."""
    try:
        return _utc(pa.Table.from_pylist(rows))
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        pass
    names = list(dict.fromkeys(k for row in rows for k in row))
    arrays = []
    for name in names:
        values = [row.get(name) for row in rows]
        try:
            arrays.append(pa.array(values))
        except (pa.ArrowInvalid, pa.ArrowTypeError):
            # stdlib json: free-form values may hold integers beyond 64 bits, which orjson refuses
            arrays.append(
                pa.array(
                    [None if v is None else json.dumps(v, default=str, ensure_ascii=False) for v in values],
                    pa.string(),
                )
            )
    return _utc(pa.Table.from_arrays(arrays, names=names))


def _utc(table: pa.Table) -> pa.Table:
    for i, f in enumerate(table.schema):
        if pa.types.is_timestamp(f.type) and f.type.tz is None:
            table = table.set_column(i, f.name, table.column(i).cast(pa.timestamp(f.type.unit, tz="UTC")))
    return table


def all_pages(fetch, page_size: int = 10_000, max_rows: int = 5_000_000) -> list[dict]:
    """Every row of a cursor-paged read (``fetch(limit, cursor) -> Page``), for a list's ``format=``
    export."""
    rows, cursor = [], None
    while True:
        page = fetch(page_size, cursor)
        rows += page.rows
        if page.next_cursor is None or len(rows) >= max_rows:
            return rows[:max_rows]
        cursor = page.next_cursor


Format = Literal["json", "ndjson", "csv", "parquet", "xlsx"]


def _export_content() -> dict:
    content = {}
    for fmt, media_type in MEDIA_TYPES.items():
        if fmt != "json":  # JSON is the page model, or with format=json an array of rows (the response_model)
            binary = fmt in ("parquet", "xlsx")
            content[media_type.split(";")[0]] = {
                "schema": {"type": "string"} | ({"format": "binary"} if binary else {})
            }
    return content


EXPORT_RESPONSES = {
    200: {
        "description": "A page; with format= every match as a download (format=json: an array of rows)",
        "content": _export_content(),
    }
}
"""``responses=`` of endpoints with ``format=`` exports: the file types they may answer with."""


def json_response(body, status_code: int = 200) -> Response:
    """A JSON answer encoded by orjson, bypassing FastAPI's re-validation of the response model: for the
    hot read endpoints, whose rows come straight from the lake (their models stay declared for OpenAPI).
    Times render as RFC 3339 with ``Z``, as the model-validated answers do."""
    return Response(
        orjson.dumps(body, default=str, option=orjson.OPT_UTC_Z | orjson.OPT_NON_STR_KEYS),
        status_code=status_code,
        media_type="application/json",
    )
