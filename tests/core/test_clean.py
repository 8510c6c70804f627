import datetime as dt

import pyarrow as pa

from xget_pipelines.core.x.clean import _dedupe

T0 = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)


def test_dedupe_keeps_one_row_per_key_from_the_newest_page():
    table = pa.table(
        {
            "tweet_id": pa.array([1, 2, 1, 3, 1], pa.int64()),
            "like_count": pa.array([10, 5, 12, 7, 11], pa.int64()),
            "fetched_at": pa.array(
                [T0, T0, T0 + dt.timedelta(minutes=2), T0, T0 + dt.timedelta(minutes=1)],
                pa.timestamp("us", tz="UTC"),
            ),
        }
    )
    out = _dedupe(table, ("tweet_id",))
    assert out["tweet_id"].to_pylist() == [1, 2, 3]
    assert out["like_count"].to_pylist() == [12, 5, 7]


def test_dedupe_of_an_empty_table_keeps_its_schema():
    empty = pa.table(
        {"tweet_id": pa.array([], pa.int64()), "fetched_at": pa.array([], pa.timestamp("us", tz="UTC"))}
    )
    assert _dedupe(empty, ("tweet_id",)).schema == empty.schema


def test_text_quality_counts_missing_long_and_odd_texts_without_failing():
    from xget_pipelines.core.x.clean import text_quality

    texts = [
        "plain",
        None,
        "",
        "x" * 281,
        "zero\u200bwidth",
        "bidi \u202e override",
        "bad \ufffd bytes",
        "ctrl \x07 bell",
        "tabs\tand\nnewlines are fine",
        "emoji 🎉 and ünïcödé are fine",
    ]
    assert text_quality(texts) == {"missing_text": 2, "long_texts": 1, "odd_unicode_texts": 4}
