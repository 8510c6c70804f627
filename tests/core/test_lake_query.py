"""The API's lake reads give the same pages whether the newest days are held in memory or read from the
files, and whatever the page size (pages read the newest days first and stop when full)."""

import datetime as dt

from tests.serving.lake_fixture import build_small_lake
from xget_pipelines.core.lake.analytics_reader import AnalyticsReader
from xget_pipelines.core.lake.delta import Lake
from xget_pipelines.core.lake.live import LiveCatalog
from xget_pipelines.core.lake.tweet_reader import TweetFilter, TweetReader


def _walk(reader: TweetReader, f: TweetFilter, limit: int) -> list[int]:
    ids, cursor = [], None
    while True:
        page = reader.page(f, limit, cursor)
        ids += [row["tweet_id"] for row in page.rows]
        assert all(row["username"] for row in page.rows)  # every author is named
        if page.next_cursor is None:
            return ids
        cursor = page.next_cursor


def test_pages_are_the_same_from_memory_and_from_files(tmp_path):
    written = build_small_lake(tmp_path / "lake")
    lake = Lake(str(tmp_path / "lake"))
    warm_catalog, cold_catalog = LiveCatalog(lake, refresh_s=0), LiveCatalog(lake, refresh_s=0, hot_rows=0)
    warm, cold = TweetReader(warm_catalog), TweetReader(cold_catalog)
    table = lake.read("entities/tweets").to_pylist()
    newest_first = [
        r["tweet_id"]
        for r in sorted(table, key=lambda r: (r["created_at"], r["tweet_id"]), reverse=True)
        if r["tombstone"] != "deleted_by_user"
    ]
    assert sorted(newest_first) == sorted(written["tweets"])
    for limit in (1, 2, 3, 50):
        assert _walk(warm, TweetFilter(), limit) == _walk(cold, TweetFilter(), limit) == newest_first
    since = written["base"] - dt.timedelta(days=1, hours=1)
    recent = TweetFilter(since=since, term="python")
    assert _walk(warm, recent, 1) == _walk(cold, recent, 1) != []
    assert (
        AnalyticsReader(warm_catalog).trends(since=since)
        == AnalyticsReader(cold_catalog).trends(since=since)
        != []
    )


def test_new_days_reach_the_pages_and_old_in_memory_copies_are_dropped(tmp_path):
    """Each version of the tweets table gets its own in-memory copy of the newest days, swapped whole (a page
    being read keeps a consistent snapshot); after the next swap the copy before is dropped, not kept."""
    from tests.serving.lake_fixture import rows_for, snowflake
    from xget_pipelines.core.entities import TWEETS_SCHEMA

    written = build_small_lake(tmp_path / "lake")
    lake = Lake(str(tmp_path / "lake"))
    catalog = LiveCatalog(lake, refresh_s=0)
    reader = TweetReader(catalog)
    before = _walk(reader, TweetFilter(), 50)
    first = reader.page(TweetFilter(), 50).rows[0]
    added = []
    for n in range(1, 4):  # three more versions, each a tweet a minute newer than the one before
        created = written["base"] + dt.timedelta(minutes=n)
        row = dict(
            first,
            tweet_id=snowflake(created, 100 + n),
            conversation_id=snowflake(created, 100 + n),
            created_at=created,
            created_date=created.date(),
            text=f"newer {n}",
            visibility="visible",
            via="timeline",
            first_seen=created,
            last_seen=created,
            tombstone=None,
        )
        lake.append("entities/tweets", rows_for(TWEETS_SCHEMA, [row]), partition_by=["created_date"])
        added.insert(0, row["tweet_id"])
        assert _walk(reader, TweetFilter(), 2) == added + before
    hot = [
        r[0]
        for r in catalog.cursor()
        .execute("select table_name from duckdb_tables() where table_name like 'hot_tweets_%'")
        .fetchall()
    ]
    assert len(hot) == 2  # the current copy and the one before it, for a page still reading it
