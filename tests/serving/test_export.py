"""Streaming exports (serving/export.py) and ``xget export``: every format read back with its own reader."""

import csv
import datetime as dt
import io
import json
import tempfile
from pathlib import Path

import openpyxl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from xget_pipelines.serving import export
from xget_pipelines.serving.export import ExportTooLarge, export_response, iter_export, write_export

UTC = dt.UTC
BIG = 2**62 + 12345  # beyond JavaScript's 2**53 and Excel's 15 digits
WHEN = dt.datetime(2026, 11, 1, 12, 30, 5, 123456, tzinfo=UTC)
TEXT = 'say "hi", then\nnew line — ünïcödé 🐍, =1+1'


def sample() -> pa.Table:
    return pa.table(
        {
            "tweet_id": pa.array([BIG, BIG + 1, 3], pa.int64()),
            "created_at": pa.array([WHEN, None, WHEN.replace(microsecond=0)], pa.timestamp("us", "UTC")),
            "text": pa.array([TEXT, None, ""], pa.string()),
            "like_count": pa.array([7, None, 0], pa.int64()),
            "hashtags": pa.array([["python", "a,b"], None, []], pa.list_(pa.string())),
        }
    )


def reader_of(table: pa.Table, batch_rows: int = 1000) -> pa.RecordBatchReader:
    return pa.RecordBatchReader.from_batches(table.schema, table.to_batches(max_chunksize=batch_rows))


def export_bytes(table: pa.Table, fmt: str, **kw) -> bytes:
    return b"".join(iter_export(reader_of(table), fmt, **kw))


def xlsx_rows(data: bytes) -> list[tuple]:
    return list(openpyxl.load_workbook(io.BytesIO(data)).active.iter_rows(values_only=True))


def temp_files() -> set[Path]:
    tmp = Path(tempfile.gettempdir())
    return set(tmp.glob("xget-export-*")) | set(tmp.glob("openpyxl.*"))


def iso(value):
    return None if value is None else value.isoformat()


# -- each format read back -------------------------------------------------------------------------------


def test_json_and_ndjson_round_trip():
    expected = [
        {
            "tweet_id": BIG,
            "created_at": "2026-11-01T12:30:05.123456+00:00",
            "text": TEXT,
            "like_count": 7,
            "hashtags": ["python", "a,b"],
        },
        {"tweet_id": BIG + 1, "created_at": None, "text": None, "like_count": None, "hashtags": None},
        {
            "tweet_id": 3,
            "created_at": "2026-11-01T12:30:05+00:00",
            "text": "",
            "like_count": 0,
            "hashtags": [],
        },
    ]
    assert json.loads(export_bytes(sample(), "json")) == expected
    lines = export_bytes(sample(), "ndjson").decode().splitlines()
    assert [json.loads(line) for line in lines] == expected
    assert dt.datetime.fromisoformat(expected[0]["created_at"]) == WHEN


def test_csv_round_trip():
    rows = list(csv.reader(io.StringIO(export_bytes(sample(), "csv").decode("utf-8"), newline="")))
    assert rows[0] == ["tweet_id", "created_at", "text", "like_count", "hashtags"]
    assert rows[1] == [str(BIG), iso(WHEN), TEXT, "7", '["python","a,b"]']
    assert rows[2] == [str(BIG + 1), "", "", "", ""]
    assert rows[3] == ["3", iso(WHEN.replace(microsecond=0)), "", "0", "[]"]
    assert len(rows) == 4


def test_parquet_round_trip_keeps_the_arrow_types():
    back = pq.read_table(io.BytesIO(export_bytes(sample(), "parquet")))
    assert back.schema.equals(sample().schema)
    assert back.to_pylist() == sample().to_pylist()


def test_xlsx_round_trip():
    wb = openpyxl.load_workbook(io.BytesIO(export_bytes(sample(), "xlsx")))
    rows = list(wb.active.iter_rows(values_only=True))
    assert rows[0] == ("tweet_id", "created_at", "text", "like_count", "hashtags")
    # ids as text (Excel keeps 15 digits), naive UTC datetimes (Excel: to the millisecond), "=1+1" stays text
    assert rows[1] == (str(BIG), WHEN.replace(tzinfo=None, microsecond=123000), TEXT, 7, '["python","a,b"]')
    assert rows[2] == (str(BIG + 1), None, None, None, None)
    assert rows[3][0] == "3" and rows[3][1] == WHEN.replace(tzinfo=None, microsecond=0) and rows[3][3] == 0
    assert len(rows) == 4


def test_xlsx_keeps_formula_like_text_and_drops_control_characters():
    table = pa.table(
        {"text": ['=HYPERLINK("http://x")', "#N/A", "bell\x07here"], "n": [1.5, float("nan"), None]}
    )
    wb = openpyxl.load_workbook(io.BytesIO(export_bytes(table, "xlsx")))
    rows = list(wb.active.iter_rows(values_only=True))[1:]
    assert rows == [('=HYPERLINK("http://x")', 1.5), ("#N/A", None), ("bellhere", None)]
    assert wb.active["A2"].data_type == "s"


def test_zero_rows_give_valid_empty_files():
    empty = sample().schema.empty_table()
    assert json.loads(export_bytes(empty, "json")) == []
    assert export_bytes(empty, "ndjson") == b""
    header = '"tweet_id","created_at","text","like_count","hashtags"'
    assert export_bytes(empty, "csv").decode().splitlines() == [header]
    back = pq.read_table(io.BytesIO(export_bytes(empty, "parquet")))
    assert back.num_rows == 0 and back.schema.equals(empty.schema)
    assert xlsx_rows(export_bytes(empty, "xlsx")) == [tuple(empty.schema.names)]


def test_ids_as_strings_for_javascript():
    table = pa.table(
        {
            "tweet_id": pa.array([BIG], pa.int64()),
            "id": pa.array([BIG], pa.int64()),
            "like_count": pa.array([BIG], pa.int64()),
            "lang_id": ["en"],
        }
    )
    (row,) = json.loads(export_bytes(table, "json", ids_as_strings=True))
    assert row == {"tweet_id": str(BIG), "id": str(BIG), "like_count": BIG, "lang_id": "en"}
    (line,) = export_bytes(table, "ndjson", ids_as_strings=True).decode().splitlines()
    assert json.loads(line)["tweet_id"] == str(BIG)
    assert json.loads(export_bytes(table, "json"))[0]["tweet_id"] == BIG


def test_other_timezones_and_units_are_shown_in_utc_and_duplicate_names_kept_apart():
    paris = dt.timezone(dt.timedelta(hours=1))
    table = pa.table(
        [
            pa.array([dt.datetime(2026, 11, 1, 13, 0, tzinfo=paris)], pa.timestamp("ns", "Europe/Paris")),
            pa.array([dt.datetime(2026, 11, 1, 13, 0)], pa.timestamp("ms")),
            pa.array([1]),
            pa.array([2]),
        ],
        names=["at", "naive", "id", "id"],
    )
    (row,) = json.loads(export_bytes(table, "json"))
    assert row == {"at": "2026-11-01T12:00:00+00:00", "naive": "2026-11-01T13:00:00", "id": 1, "id_1": 2}


def test_sums_are_exact_numbers_and_binary_is_base64():
    table = pa.table({"total": pa.array([10**30], pa.decimal128(38, 0)), "raw": pa.array([b"\xff\x00"])})
    assert export_bytes(table, "json") == b'[{"total":1000000000000000000000000000000,"raw":"/wA="}]'
    assert export_bytes(table, "csv").decode().splitlines()[1] == '1000000000000000000000000000000,"/wA="'


# -- streaming ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["json", "ndjson", "csv", "parquet"])
def test_bytes_leave_after_each_batch(fmt):
    table = pa.table({"tweet_id": pa.array(range(50), pa.int64()), "text": [f"t{i}" for i in range(50)]})
    chunks = [c for c in iter_export(reader_of(table, batch_rows=10), fmt) if c]
    assert len(chunks) >= 5
    whole = b"".join(chunks)
    if fmt == "parquet":
        assert pq.read_table(io.BytesIO(whole)).num_rows == 50
        assert pq.ParquetFile(io.BytesIO(whole)).num_row_groups == 5
    elif fmt == "json":
        assert len(json.loads(whole)) == 50


def test_xlsx_over_the_row_cap_raises_before_writing_more(monkeypatch):
    monkeypatch.setattr(export, "XLSX_MAX_ROWS", 25)
    table = pa.table({"n": pa.array(range(30), pa.int64())})
    before = temp_files()
    with pytest.raises(ExportTooLarge, match="csv or parquet"):
        b"".join(iter_export(reader_of(table, batch_rows=10), "xlsx"))
    assert temp_files() <= before  # no temporary file left behind
    assert len(xlsx_rows(b"".join(iter_export(reader_of(table.slice(0, 25), 10), "xlsx")))) == 26


def test_write_export_counts_rows_and_bad_formats_are_named():
    out = io.BytesIO()
    assert write_export(reader_of(sample(), batch_rows=2), "ndjson", out) == 3
    assert len(out.getvalue().splitlines()) == 3
    with pytest.raises(ValueError, match="json, ndjson, csv, parquet, xlsx"):
        iter_export(reader_of(sample()), "xml")
    with pytest.raises(ValueError, match="json, ndjson"):
        export_response(reader_of(sample()), "tsv", "tweets")


def test_export_response_is_a_download():
    from fastapi import FastAPI
    from fastapi.testclient import TestClient

    api = FastAPI()

    @api.get("/export/{fmt}")
    def download(fmt: str):
        return export_response(reader_of(sample(), batch_rows=1), fmt, "tweets 2026/11", ids_as_strings=True)

    client = TestClient(api)
    rep = client.get("/export/ndjson")
    assert rep.status_code == 200 and rep.headers["content-type"] == "application/x-ndjson"
    assert rep.headers["content-disposition"] == 'attachment; filename="tweets_2026_11.ndjson"'
    assert [json.loads(x)["tweet_id"] for x in rep.text.splitlines()] == [str(BIG), str(BIG + 1), "3"]
    rep = client.get("/export/csv")
    assert rep.headers["content-type"] == "text/csv; charset=utf-8"
    assert rep.headers["content-disposition"].endswith('.csv"')
    rep = client.get("/export/xlsx")
    assert rep.headers["content-type"] == export.MEDIA_TYPES["xlsx"]
    assert openpyxl.load_workbook(io.BytesIO(rep.content)).active.max_row == 4


# -- xget export -----------------------------------------------------------------------------------------


@pytest.fixture
def lake_home(tmp_path, monkeypatch):
    from xget_pipelines.core.lake.delta import Lake

    monkeypatch.setenv("XGET_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("XGET_LAKE_URI", str(tmp_path / "lake"))
    Lake(str(tmp_path / "lake")).append("entities/tweets", sample())
    yield tmp_path


def xget(*args):
    from xget_pipelines.cli import app

    return CliRunner().invoke(app, list(args), catch_exceptions=False)


def test_cli_exports_a_table_to_csv_and_parquet(lake_home):
    out = lake_home / "out" / "tweets.csv"
    result = xget("export", "entities/tweets", "--format", "csv", "--out", str(out))
    assert result.exit_code == 0, result.output
    assert "3 rows written to" in result.stderr
    rows = list(csv.DictReader(io.StringIO(out.read_text("utf-8"), newline="")))
    assert [int(r["tweet_id"]) for r in rows] == [BIG, BIG + 1, 3]
    assert rows[0]["text"] == TEXT and rows[0]["created_at"] == iso(WHEN)

    pout = lake_home / "tweets.parquet"
    result = xget(
        "export",
        "entities_tweets",
        "-f",
        "parquet",
        "-o",
        str(pout),
        "--where",
        "like_count is not null",
        "--limit",
        "5",
    )
    assert result.exit_code == 0, result.output
    back = pq.read_table(pout)
    assert sorted(back.column("tweet_id").to_pylist()) == [3, BIG]
    assert back.schema.field("created_at").type.tz in ("UTC", "Etc/UTC")  # the lake's zone, kept
    assert not list(lake_home.glob("*.part"))


def test_cli_exports_sql_to_ndjson_on_stdout(lake_home):
    result = xget(
        "export",
        "select tweet_id, text from entities_tweets order by like_count desc nulls last",
        "--format",
        "ndjson",
        "--limit",
        "2",
    )
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in result.stdout_bytes.splitlines()]
    assert rows == [{"tweet_id": BIG, "text": TEXT}, {"tweet_id": 3, "text": ""}]


def test_cli_unknown_table_lists_the_views(lake_home):
    result = xget("export", "entities_tweetz", "--format", "csv")
    assert result.exit_code == 1
    assert "entities_tweetz" in result.output and "entities_tweets" in result.output
    assert "views available" in result.output
