"""The profile assets in Dagster: a day's partition and the merge recompute only what the day touched, and a
late day is requested again by the late days sensor."""

from __future__ import annotations

import datetime as dt
import json

import dagster as dg
import pytest

from tests.core.test_profile_daily import DAY0, DAY1, DAY2, UTC, World, assert_same_rows
from xget_pipelines.assets import (
    analytics_cotag_network,
    analytics_graph_metrics,
    analytics_user_daily,
    analytics_user_profiles,
)
from xget_pipelines.assets.entities import PARTITIONS_WRITTEN
from xget_pipelines.core.lake.catalog import connect
from xget_pipelines.core.profile_merge import USER_PROFILES
from xget_pipelines.core.profiles import ProfileConfig, cotag_edges, graph_metrics, user_profiles
from xget_pipelines.resources import LakeResource
from xget_pipelines.sensors.late_days import late_days_sensor


def whole_lake_profiles(lake):
    con = connect(lake)
    return user_profiles(con, ProfileConfig(embed_users=0), graph_metrics(con))


def md(result, key: str) -> dict:
    events = result.asset_materializations_for_node(key)
    return {k: v.value for k, v in events[-1].metadata.items()}


@pytest.fixture
def instance():
    with dg.instance_for_test() as instance:
        yield instance


def test_a_new_day_materializes_its_partitions_and_a_merge_of_the_users_it_touched(lake, instance):
    world = World(lake)
    first = world.tweets(DAY0, DAY0, [1, 2, 3, 4, 5], 6) + world.tweets(DAY1, DAY1, [1, 2, 3, 6], 5)
    world.users(DAY0, [1, 2, 3, 4, 5])
    world.users(DAY1, [1, 2, 3, 6])
    world.score(first, "v1", dt.datetime(2026, 6, 2, 2, tzinfo=UTC))
    resources = {"lake": LakeResource(uri=lake.uri)}

    def days(*keys: dt.date) -> None:
        for day in keys:
            result = dg.materialize(
                [analytics_user_daily, analytics_cotag_network],
                resources=resources,
                instance=instance,
                partition_key=day.isoformat(),
            )
            assert result.success

    def profiles(**config) -> dict:
        run_config = {"ops": {"analytics_user_profiles": {"config": {"embed_users": 0, **config}}}}
        result = dg.materialize(  # as the marts job does: the graph metrics, then the profiles
            [analytics_graph_metrics, analytics_user_profiles],
            resources=resources,
            instance=instance,
            run_config=run_config,
        )
        return md(result, "analytics_user_profiles")

    days(DAY0, DAY1)
    first_run = profiles()
    assert (first_run["mode"], first_run["users"]) == ("full_refresh", 6)
    assert_same_rows(lake.read(USER_PROFILES), whole_lake_profiles(lake))

    # The next day: users 2 and 7 tweet, user 4's older tweets of day 0 arrive, user 5 is observed again.
    new = world.tweets(DAY2, DAY2, [2, 7], 4) + world.tweets(DAY0, DAY2, [4], 3)
    world.users(DAY2, [2, 4, 5, 7])
    world.score(new, "v1", dt.datetime(2026, 6, 3, 2, tzinfo=UTC))
    instance.report_runless_asset_event(
        dg.AssetMaterialization(
            "entities_user_metrics_history",
            partition=DAY2.isoformat(),
            metadata={PARTITIONS_WRITTEN: dg.MetadataValue.json([DAY2.isoformat()])},
        )
    )
    days(DAY2, DAY0)
    merged = profiles()
    assert merged["mode"] == "merge" and merged["days_merged"] == [DAY0.isoformat(), DAY2.isoformat()]
    # day 0's authors (1-5: their day was aggregated again), day 2's (2, 7), the observed (2, 4, 5, 7); not 6
    assert merged["users"] == 7 and merged["users_recomputed"] == 6
    assert_same_rows(lake.read(USER_PROFILES), whole_lake_profiles(lake))
    assert profiles()["rows_written"] == 0  # nothing new: nothing merged
    rebuilt = profiles(full_refresh=True)
    assert (rebuilt["mode"], rebuilt["users_recomputed"]) == ("full_refresh", 7)
    assert_same_rows(lake.read(USER_PROFILES), whole_lake_profiles(lake))
    stored = connect(lake).sql("select * from analytics_cotag_network order by all").to_arrow_table()
    everything = cotag_edges(connect(lake))
    assert stored.num_rows and stored.sort_by(
        [(c, "ascending") for c in stored.column_names]
    ).to_pylist() == (everything.sort_by([(c, "ascending") for c in everything.column_names]).to_pylist())


def test_the_late_days_sensor_requests_the_created_days_a_merge_of_another_day_wrote(instance):
    def merged(day: dt.date, written: list[str]) -> None:
        instance.report_runless_asset_event(
            dg.AssetMaterialization(
                "entities_tweets",
                partition=day.isoformat(),
                metadata={PARTITIONS_WRITTEN: dg.MetadataValue.json(written)},
            )
        )

    merged(DAY1, [DAY1.isoformat()])
    first = late_days_sensor(dg.build_sensor_context(instance=instance))
    assert not first.run_requests  # no cursor: starts after the newest merge, requests nothing of the past
    merged(DAY2, ["1970-01-01", DAY0.isoformat(), DAY2.isoformat()])
    result = late_days_sensor(dg.build_sensor_context(instance=instance, cursor=first.cursor))
    assert [r.partition_key for r in result.run_requests] == [DAY0.isoformat()]  # day 2 ran with its merge
    again = late_days_sensor(dg.build_sensor_context(instance=instance, cursor=result.cursor))
    assert isinstance(again, dg.SkipReason) or not again.run_requests
    assert json.loads(result.cursor)["after"] > json.loads(first.cursor)["after"]
