import datetime as dt

import pyarrow as pa
import pytest

from xget_pipelines.core.lake.catalog import connect, view_name

D1, D2 = dt.date(2026, 11, 1), dt.date(2026, 11, 2)


def rows(day, key, ids):
    return pa.table({
        "tweet_id": pa.array(ids, pa.int64()),
        "watch_key": pa.array([key] * len(ids)),
        "day": pa.array([day] * len(ids), pa.date32()),
    })


def test_replace_where_is_idempotent_and_touches_only_its_partition(lake):
    lake.replace_where("cleaned/tweets", rows(D1, "python", [1, 2]), {"day": D1, "watch_key": "python"}, ["day"])
    lake.replace_where("cleaned/tweets", rows(D1, "rust", [3]), {"day": D1, "watch_key": "rust"}, ["day"])
    lake.replace_where("cleaned/tweets", rows(D2, "python", [4]), {"day": D2, "watch_key": "python"}, ["day"])
    # re-running the first partition with new content replaces exactly it
    lake.replace_where("cleaned/tweets", rows(D1, "python", [1, 2, 5]), {"day": D1, "watch_key": "python"}, ["day"])
    lake.replace_where("cleaned/tweets", rows(D1, "python", [1, 2, 5]), {"day": D1, "watch_key": "python"}, ["day"])
    got = sorted(lake.read("cleaned/tweets")["tweet_id"].to_pylist())
    assert got == [1, 2, 3, 4, 5]


def test_replace_where_refuses_rows_outside_the_partition(lake):
    with pytest.raises(ValueError, match="watch_key = 'python'"):
        lake.replace_where("cleaned/tweets", rows(D1, "rust", [1]), {"day": D1, "watch_key": "python"}, ["day"])
    assert lake.table("cleaned/tweets") is None


def test_keys_with_quotes_are_escaped(lake):
    key = "it's \"quoted\""
    lake.replace_where("cleaned/tweets", rows(D1, key, [1]), {"day": D1, "watch_key": key}, ["day"])
    lake.replace_where("cleaned/tweets", rows(D1, key, [1]), {"day": D1, "watch_key": key}, ["day"])
    assert lake.read("cleaned/tweets", {"watch_key": key}).num_rows == 1


def test_catalog_views_and_describe(lake):
    lake.replace_where("cleaned/tweets", rows(D1, "python", [1, 2]), {"day": D1, "watch_key": "python"}, ["day"])
    lake.replace_where("cleaned/users", rows(D1, "python", [])[:0], {"day": D1, "watch_key": "python"}, ["day"])
    con = connect(lake)
    assert view_name("cleaned/tweets") == "cleaned_tweets"
    assert con.execute("select count(*), min(day) from cleaned_tweets").fetchone() == (2, D1)
    assert con.execute("select count(*) from cleaned_users").fetchone() == (0,)
    infos = {i.name: i for i in lake.describe()}
    assert infos["cleaned/tweets"].rows == 2 and infos["cleaned/users"].rows == 0
    assert infos["cleaned/tweets"].version == 0


def test_bad_table_names_are_refused(lake):
    with pytest.raises(ValueError, match="relative name"):
        lake.path("../etc")
