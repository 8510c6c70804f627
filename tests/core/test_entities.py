"""Entities by Delta MERGE on hand-made cleaned observations: newest wins, first/last seen, histories,
tombstones, idempotence in any order, and a merge that reads only the partitions the day touches."""

from __future__ import annotations

import datetime as dt

import duckdb
import pyarrow as pa
import pytest

from xget_pipelines.core.entities import TWEET_METRICS, TWEETS, USER_METRICS, USERS, merge_day
from xget_pipelines.core.lake.catalog import connect
from xget_pipelines.core.lake.tables import view_name
from xget_pipelines.core.x.clean import cleaned_schema

UTC = dt.UTC
D1, D2, D3 = dt.date(2026, 3, 1), dt.date(2026, 3, 2), dt.date(2026, 3, 3)


def ts(day: dt.date, hour: int) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour), UTC)


def tweet(
    tweet_id: int,
    created: dt.datetime,
    fetched: dt.datetime,
    day: dt.date,
    key: str = "python",
    *,
    likes: int = 0,
    text: str = "hello",
    views: int | None = None,
) -> dict:
    return {
        "tweet_id": tweet_id,
        "conversation_id": tweet_id,
        "author_id": 10,
        "created_at": created,
        "text": text,
        "lang": "en",
        "like_count": likes,
        "retweet_count": 0,
        "reply_count": 0,
        "quote_count": 0,
        "bookmark_count": 0,
        "view_count": views,
        "is_quote": False,
        "is_retweet": False,
        "has_media": False,
        "visibility": "visible",
        "via": "timeline",
        "watch_key": key,
        "page_key": f"{key}:{fetched.isoformat()}",
        "fetched_at": fetched,
        "day": day,
    }


def user(
    user_id: int, fetched: dt.datetime, day: dt.date, followers: int, name: str = "ann", key: str = "python"
) -> dict:
    return {
        "user_id": user_id,
        "username": name,
        "followers_count": followers,
        "following_count": 5,
        "watch_key": key,
        "page_key": f"{key}:{fetched.isoformat()}",
        "fetched_at": fetched,
        "day": day,
    }


def put(lake, table: str, day: dt.date, rows: list[dict], key: str = "python") -> None:
    data = pa.Table.from_pylist(rows, schema=cleaned_schema(table))
    lake.replace_where(table, data, {"day": day, "watch_key": key}, ["day"])


def rows(lake, table: str, order: str) -> list[dict]:
    return (
        connect(lake).sql(f"select * from {view_name(table)} order by {order}").to_arrow_table().to_pylist()
    )


def test_newest_observation_wins_and_first_last_seen_are_kept(lake):
    put(
        lake,
        "cleaned/tweets",
        D1,
        [tweet(1, ts(D1, 8), ts(D1, 12), D1, likes=3), tweet(2, ts(D1, 9), ts(D1, 12), D1, likes=1)],
    )
    put(lake, "cleaned/tweets", D1, [tweet(1, ts(D1, 8), ts(D1, 14), D1, key="#py", likes=5)], key="#py")
    put(lake, "cleaned/tweets", D2, [tweet(1, ts(D1, 8), ts(D2, 10), D2, likes=9, text="hello (edited)")])
    put(lake, "cleaned/users", D1, [user(10, ts(D1, 12), D1, 100)])
    put(lake, "cleaned/users", D2, [user(10, ts(D2, 10), D2, 130, name="ann_new")])

    r1 = merge_day(lake, D1)
    assert r1.source_rows[TWEETS] == 2 and r1.inserted[TWEETS] == 2
    merge_day(lake, D2)

    t1, t2 = rows(lake, TWEETS, "tweet_id")
    assert (t1["like_count"], t1["text"]) == (9, "hello (edited)")  # the newest observation
    assert t1["first_seen"] == ts(D1, 12) and t1["last_seen"] == ts(D2, 10)
    assert t1["created_date"] == D1 and t2["like_count"] == 1
    (u,) = rows(lake, USERS, "user_id")
    assert (u["username"], u["followers_count"], u["first_seen"], u["last_seen"]) == (
        "ann_new",
        130,
        ts(D1, 12),
        ts(D2, 10),
    )

    history = [
        (r["tweet_id"], r["observed_at"], r["like_count"])
        for r in rows(lake, TWEET_METRICS, "tweet_id, observed_at")
    ]
    assert history == [(1, ts(D1, 12), 3), (1, ts(D1, 14), 5), (1, ts(D2, 10), 9), (2, ts(D1, 12), 1)]
    growth = [(r["observed_at"], r["followers_count"]) for r in rows(lake, USER_METRICS, "observed_at")]
    assert growth == [(ts(D1, 12), 100), (ts(D2, 10), 130)]


def _state(lake) -> dict:
    con = connect(lake)
    out = {}
    for table in (TWEETS, USERS, TWEET_METRICS, USER_METRICS):
        view = view_name(table)
        out[table] = con.execute(f"select count(*), sum(hash(columns(*))) from {view}").fetchall()
    return out


def test_remerging_is_idempotent_and_order_does_not_matter(tmp_path):
    from xget_pipelines.core.lake.delta import Lake

    def build(root, order):
        lake = Lake(str(tmp_path / root))
        put(lake, "cleaned/tweets", D1, [tweet(1, ts(D1, 8), ts(D1, 12), D1, likes=3)])
        put(
            lake,
            "cleaned/tweets",
            D2,
            [tweet(1, ts(D1, 8), ts(D2, 12), D2, likes=7), tweet(3, ts(D2, 1), ts(D2, 12), D2, likes=2)],
        )
        put(lake, "cleaned/users", D1, [user(10, ts(D1, 12), D1, 100)])
        put(lake, "cleaned/users", D2, [user(10, ts(D2, 12), D2, 120)])
        for day in order:
            merge_day(lake, day)
        return lake

    in_order = build("a", [D1, D2])
    reversed_ = build("b", [D2, D1])
    twice = build("c", [D1, D2, D1, D2, D2])
    assert _state(in_order) == _state(reversed_) == _state(twice)
    (t1, _) = rows(reversed_, TWEETS, "tweet_id")
    assert (t1["like_count"], t1["first_seen"], t1["last_seen"]) == (7, ts(D1, 12), ts(D2, 12))
    again = merge_day(twice, D2)
    assert again.inserted == {t: 0 for t in again.inserted} and again.updated == {t: 0 for t in again.updated}


def test_tombstones_mark_known_tweets_until_seen_alive_again(lake):
    put(
        lake, "cleaned/tweets", D1, [tweet(1, ts(D1, 8), ts(D1, 12), D1), tweet(2, ts(D1, 8), ts(D1, 12), D1)]
    )
    merge_day(lake, D1)
    tomb = pa.Table.from_pylist(
        [
            {
                "tweet_id": 1,
                "reason": "tombstone",
                "watch_key": "python",
                "page_key": "p",
                "fetched_at": ts(D2, 9),
                "day": D2,
            },
            {
                "tweet_id": 99,
                "reason": "deleted",
                "watch_key": "python",
                "page_key": "p",
                "fetched_at": ts(D2, 9),
                "day": D2,
            },
        ],
        schema=cleaned_schema("cleaned/tombstones"),
    )
    lake.replace_where("cleaned/tombstones", tomb, {"day": D2, "watch_key": "python"}, ["day"])
    assert merge_day(lake, D2).tombstoned == 1  # tweet 99 was never seen: nothing to mark
    t1, t2 = rows(lake, TWEETS, "tweet_id")
    assert (t1["tombstone"], t1["tombstoned_at"], t1["text"]) == (
        "tombstone",
        ts(D2, 9),
        "hello",
    )  # content kept
    assert t2["tombstone"] is None
    assert merge_day(lake, D2).tombstoned == 0  # idempotent

    put(
        lake, "cleaned/tweets", D3, [tweet(1, ts(D1, 8), ts(D3, 9), D3, likes=4)]
    )  # visible again (withheld lifted)
    merge_day(lake, D3)
    t1, _ = rows(lake, TWEETS, "tweet_id")
    assert t1["tombstone"] is None and t1["like_count"] == 4


def test_a_day_merge_reads_only_the_partitions_it_touches(lake):
    days = [D1 + dt.timedelta(days=i) for i in range(20)]
    for n, day in enumerate(days):  # 20 days of tweets, each created that day
        put(
            lake,
            "cleaned/tweets",
            day,
            [tweet(1000 * n + i, ts(day, 1), ts(day, 12), day) for i in range(50)],
        )
        merge_day(lake, day)
    total_files = len(lake.table(TWEETS).file_uris())
    last = days[-1] + dt.timedelta(days=1)
    # A new day: its own tweets plus a re-observation of one tweet created the day before.
    put(
        lake,
        "cleaned/tweets",
        last,
        [tweet(99_000 + i, ts(last, 1), ts(last, 12), last) for i in range(50)]
        + [tweet(1000 * 19, ts(days[-1], 1), ts(last, 12), last, likes=8)],
    )
    result = merge_day(lake, last)
    assert result.inserted[TWEETS] == 50 and result.updated[TWEETS] == 1
    # Only the day before's partition was read and rewritten (its other 49 tweets copied), not all 20 days;
    # without the literal partition filter delta-rs reads every file (files_scanned would be 20).
    assert total_files == 20 and result.files_scanned[TWEETS] <= 1
    assert result.files_rewritten[TWEETS] == 1 and result.rows_copied[TWEETS] == 49
    assert connect(lake).execute(
        "select count(*), count(distinct tweet_id) from entities_tweets"
    ).fetchone() == (1050, 1050)


def test_a_day_without_cleaned_rows_is_a_no_op(lake):
    result = merge_day(lake, D1)
    assert result.source_rows == {} and result.versions == {}
    with pytest.raises(duckdb.CatalogException, match="entities_tweets"):  # no table was written
        rows(lake, TWEETS, "tweet_id")
