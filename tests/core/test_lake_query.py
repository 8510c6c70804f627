"""The API's lake reads give the same pages whether the newest days are held in memory or read from the
files, and whatever the page size (pages read the newest days first and stop when full)."""

import datetime as dt

from tests.serving.lake_fixture import build_small_lake
from xget_pipelines.core.lake.delta import Lake
from xget_pipelines.core.lake.query import LakeReader, TweetFilter


def _walk(reader: LakeReader, f: TweetFilter, limit: int) -> list[int]:
    ids, cursor = [], None
    while True:
        page = reader.tweets(f, limit, cursor)
        ids += [row["tweet_id"] for row in page.rows]
        assert all(row["username"] for row in page.rows)  # every author is named
        if page.next_cursor is None:
            return ids
        cursor = page.next_cursor


def test_pages_are_the_same_from_memory_and_from_files(tmp_path):
    written = build_small_lake(tmp_path / "lake")
    lake = Lake(str(tmp_path / "lake"))
    warm, cold = LakeReader(lake, refresh_s=0), LakeReader(lake, refresh_s=0, hot_rows=0)
    table = lake.read("entities/tweets").to_pylist()
    newest_first = [r["tweet_id"] for r in sorted(table, key=lambda r: (r["created_at"], r["tweet_id"]), reverse=True)
                    if r["tombstone"] != "deleted_by_user"]
    assert sorted(newest_first) == sorted(written["tweets"])
    for limit in (1, 2, 3, 50):
        assert _walk(warm, TweetFilter(), limit) == _walk(cold, TweetFilter(), limit) == newest_first
    since = written["base"] - dt.timedelta(days=1, hours=1)
    recent = TweetFilter(since=since, term="python")
    assert _walk(warm, recent, 1) == _walk(cold, recent, 1) != []
    assert warm.trends(since=since) == cold.trends(since=since) != []
