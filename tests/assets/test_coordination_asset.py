"""analytics_coordination finds each day's co-actions once and reads its clusters from a window of days."""

from __future__ import annotations

import datetime as dt

import dagster as dg
import pytest
from deltalake import write_deltalake

from tests.core.test_coordination import T0, tables
from tests.serving.lake_fixture import rows_for
from xget_pipelines.assets.coordination import analytics_coordination
from xget_pipelines.core.coordination import COACTIONS_TABLE, MEMBERS_TABLE
from xget_pipelines.core.entities import TWEETS, TWEETS_SCHEMA
from xget_pipelines.core.x.clean import cleaned_schema
from xget_pipelines.resources import LakeResource, XApiResource

DAY = 86400
DAYS = [T0.date() + dt.timedelta(days=k) for k in range(4)]
CAMPAIGN = [11, 12, 13, 14]


def land(lake, posts: list[tuple]) -> None:
    """The posts as merged tweets and their links as collected the day they were posted."""
    tweets, urls = tables(posts)
    rows = [
        {
            **r,
            "created_date": r["created_at"].date(),
            "first_seen": r["created_at"],
            "last_seen": r["created_at"],
            "via": "timeline",
            "visibility": "visible",
        }
        for r in tweets.to_pylist()
    ]
    write_deltalake(
        lake.path(TWEETS), rows_for(TWEETS_SCHEMA, rows), partition_by=["created_date"], mode="append"
    )
    day_of = {r["tweet_id"]: r["created_date"] for r in rows}
    links = [
        {**u, "day": day_of[u["tweet_id"]], "watch_key": "#news", "page_key": "p"} for u in urls.to_pylist()
    ]
    for day in sorted({link["day"] for link in links}):
        lake.replace_where(
            "cleaned/urls",
            rows_for(cleaned_schema("cleaned/urls"), [x for x in links if x["day"] == day]),
            {"day": day, "watch_key": "#news"},
            ["day"],
        )


def run(lake, instance, day: dt.date, window_days: int | None = 30) -> dict:
    result = dg.materialize(
        [analytics_coordination],
        partition_key=day.isoformat(),
        instance=instance,
        resources={
            "lake": LakeResource(uri=lake.uri),
            "x_api": XApiResource(graphql_url="http://127.0.0.1:9/i/api/graphql"),  # not the emulator
        },
        run_config={"ops": {"analytics_coordination": {"config": {"window_days": window_days}}}},
    )
    (event,) = result.asset_materializations_for_node("analytics_coordination")
    return {k: v.value for k, v in event.metadata.items()}


def members(lake) -> set[int]:
    return set(lake.read(MEMBERS_TABLE)["user_id"].to_pylist())


@pytest.fixture
def campaign_lake(lake):
    """The campaign shares one link a day within seconds, on four days (one item per pair a day; a pair
    must co-act on 3 items to count)."""
    posts = [
        (100 * k + i, user, k * DAY + 3600 + 3 * i, "look", f"https://news.example/d{k}")
        for k in range(4)
        for i, user in enumerate(CAMPAIGN)
    ]
    land(lake, posts)
    return lake


def test_a_day_partition_computes_its_day_and_the_window_reads_the_stored_days(campaign_lake):
    lake, instance = campaign_lake, dg.DagsterInstance.ephemeral()
    first = run(lake, instance, DAYS[3])
    # No co-actions were stored before: the window's other days with tweets are computed in the same run.
    assert first["days_computed"] == [d.isoformat() for d in (DAYS[3], DAYS[0], DAYS[1], DAYS[2])]
    assert members(lake) == set(CAMPAIGN) and first["clusters"] == 1

    again = run(lake, instance, DAYS[3])
    assert again["days_computed"] == [DAYS[3].isoformat()]
    assert again["tweets_examined"] == 4, "only the day's tweets are read again"
    assert members(lake) == set(CAMPAIGN)
    stored = lake.read(COACTIONS_TABLE)
    assert sorted(set(stored["day"].to_pylist())) == DAYS
    assert stored.num_rows == 4 * 6, "each day's 6 pairs once, whatever ran twice"


def test_the_window_bounds_the_days_the_clusters_come_from(campaign_lake):
    lake, instance = campaign_lake, dg.DagsterInstance.ephemeral()
    assert run(lake, instance, DAYS[3], window_days=3)["window"] == [DAYS[1].isoformat(), DAYS[3].isoformat()]
    assert members(lake) == set(CAMPAIGN)  # 3 days: 3 items per pair
    narrow = run(lake, instance, DAYS[3], window_days=2)
    assert narrow["co_actions_in_window"] == 12 and members(lake) == set()  # 2 items: below the threshold
    assert run(lake, instance, DAYS[3], window_days=None)["window"] == [
        DAYS[0].isoformat(),
        DAYS[3].isoformat(),
    ]
    assert members(lake) == set(CAMPAIGN)


def test_a_window_of_no_days_is_refused(campaign_lake):
    with pytest.raises(Exception, match="window_days must be at least 1"):
        run(campaign_lake, dg.DagsterInstance.ephemeral(), DAYS[3], window_days=0)


def test_an_empty_lake_gives_empty_tables(lake):
    metadata = run(lake, dg.DagsterInstance.ephemeral(), DAYS[0])
    assert metadata["clusters"] == 0 and not metadata["window"]
    assert lake.read(MEMBERS_TABLE).num_rows == 0
