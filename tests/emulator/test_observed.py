"""``emulator/observed.py`` (what a watchlist would collect, computed from the world) against a real
collection over HTTP: the project's scrape and clean of the same (key, day) partitions, from the emulator."""

from __future__ import annotations

import datetime as dt
import time

import pyarrow.compute as pc

from tests.conftest import register_accounts
from xget_pipelines.core.x.clean import clean_partition
from xget_pipelines.core.x.client import XClient
from xget_pipelines.core.x.scrape import scrape_partition
from xget_pipelines.emulator.observed import observed_by_key

TODAY = dt.datetime.now(dt.UTC).date()


def collected_ids(lake, engine, client, key: str, day: dt.date, pages: int, page_size: int) -> set[int]:
    """The partition's own hits (``via = 'timeline'``) after a real collection of it."""
    scrape_partition(
        client, lake, engine, key=key, day=day, run_id=f"r-{key}-{day}", max_pages=pages, page_size=page_size
    )
    tweets = clean_partition(lake, engine, key=key, day=day).tables["cleaned/tweets"]
    return set(tweets.filter(pc.equal(tweets["via"], "timeline"))["tweet_id"].to_pylist())


def test_observed_tweets_are_the_ones_a_real_collection_lands(emulator_factory, engine, lake, small_world):
    emu = emulator_factory(window_seconds=2)
    pool = register_accounts(emu, engine, ["o1", "o2", "o3"])
    suggestions = small_world.watchlist_suggestions()
    term, handle = suggestions["terms"][0], f"@{suggestions['users'][0]}"
    cases = [
        (term, TODAY - dt.timedelta(days=3), 2, 10),  # a search cut at its budget: the newest 20 of the day
        (term, TODAY - dt.timedelta(days=4), 50, 20),  # the whole day
        (handle, TODAY - dt.timedelta(days=1), 50, 20),  # a recent day: the profile with replies
        (handle, TODAY - dt.timedelta(days=5), 50, 20),  # an older day: search from:
    ]
    with XClient(emu.graphql_url, pool, lease_deadline_s=10) as client:
        for key, day, pages, page_size in cases:
            now_ms = int(time.time() * 1000)
            real = collected_ids(lake, engine, client, key, day, pages, page_size)
            expected = observed_by_key(
                small_world, [key], days=[day], pages_per_day=pages, page_size=page_size, now_ms=now_ms
            )[key]
            assert {t.id for t in expected} == real and real, (key, day)
