"""Completeness you can see: every partition's outcome against the emulator over real HTTP, in the asset's
metadata, in ``ops/coverage`` (SQL) and in the coverage check."""

import datetime as dt

import dagster as dg
import pytest

from tests.conftest import control_plane_resource, register_accounts
from xget_pipelines.assets import asset_checks, ingest_assets
from xget_pipelines.core.db.engine import get_engine
from xget_pipelines.core.lake.catalog import connect
from xget_pipelines.core.x import watch
from xget_pipelines.emulator.search import SearchIndex, parse_query
from xget_pipelines.resources import AccountPoolResource, LakeResource, XApiResource

YESTERDAY = dt.datetime.now(dt.UTC).date() - dt.timedelta(days=1)
DAY = YESTERDAY.isoformat()


@pytest.fixture
def collect(emulator_factory, sqlite_url, tmp_path, small_world):
    """``collect(key, **x_api)`` materializes raw + cleaned (+ checks) of (yesterday, key); returns the
    result and the lake resource."""
    emu = emulator_factory(window_seconds=2)
    register_accounts(emu, get_engine(sqlite_url), ["v1", "v2"])
    instance = dg.DagsterInstance.ephemeral()
    lake = LakeResource(uri=str(tmp_path / "lake"))

    def run(key: str, day: str = DAY, **x_api):
        if key not in instance.get_dynamic_partitions("watchlist"):
            instance.add_dynamic_partitions("watchlist", [key])
        resources = {
            "lake": lake,
            "control_plane": control_plane_resource(sqlite_url),
            "account_pool": AccountPoolResource(control_plane=control_plane_resource(sqlite_url)),
            "x_api": XApiResource(graphql_url=emu.graphql_url, lease_deadline_s=10, **x_api),
        }
        return dg.materialize(
            [*ingest_assets, *asset_checks],
            resources=resources,
            instance=instance,
            partition_key=dg.MultiPartitionKey({"date": day, "watch": key}),
            raise_on_error=False,
        )

    run.lake = lake
    return run


def raw_metadata(result) -> dict:
    (mat,) = result.asset_materializations_for_node("raw_x_pages")
    return {k: v.value for k, v in mat.metadata.items()}


def coverage_check(result):
    (check,) = [c for c in result.get_asset_check_evaluations() if c.check_name == "raw_pages_coverage"]
    return check


def ground_truth(world, key: str, day: dt.date) -> set[int]:
    """The tweets the emulator's world holds for a search key on a day (what X would have)."""
    query = parse_query(watch.search_query(watch.parse_watch_key(key), day))
    return {world.tweets[p].id for p in SearchIndex(world).evaluate(query)}


def landed(lake, key: str) -> set[int]:
    """The day's search results the cleaned tables hold for the partition."""
    con = connect(lake.lake())
    rows = con.execute(
        "select distinct tweet_id from cleaned_tweets where via = 'timeline' and watch_key = ? and day = ?",
        [key, YESTERDAY],
    ).fetchall()
    return {r[0] for r in rows}


def coverage_rows(lake, where: str = "true"):
    con = connect(lake.lake())
    return con.execute(
        "select watch_key, day, outcome, pages, items, max_pages from ops_coverage "
        f"where {where} order by 1, 2"
    ).fetchall()


def test_a_budget_smaller_than_the_day_is_truncated_with_the_pages_and_items_that_landed(
    collect, small_world
):
    key = small_world.watchlist_suggestions()["terms"][0]
    assert len(ground_truth(small_world, key, YESTERDAY)) > 25  # more than two pages of 10
    result = collect(key, max_pages_per_partition=2, page_size=10)
    assert result.success
    md = raw_metadata(result)
    items = landed(collect.lake, key)
    assert md["outcome"] == "truncated" and md["page_budget"] == 2
    assert md["pages"] == 2 and md["items"] == len(items) == 20
    assert "budget (2 pages) with more to fetch" in md["outcome_reason"] and md["budget"] == "2 pages"
    assert coverage_rows(collect.lake) == [(key, YESTERDAY, "truncated", 2, 20, 2)]
    assert coverage_rows(collect.lake, "outcome <> 'complete'") == coverage_rows(collect.lake)

    check = coverage_check(result)
    assert not check.passed and check.severity == dg.AssetCheckSeverity.WARN
    assert check.metadata["truncated"].value == 1 and check.metadata["failed"].value == 0
    assert check.metadata["truncated_partitions"].value == [f"{DAY}|{key}"]
    assert f"| {DAY} | {key} | truncated | 2 | 20 |" in check.metadata["partitions"].value


def test_a_budget_larger_than_the_day_is_complete_with_every_tweet_the_emulator_holds(collect, small_world):
    key = small_world.watchlist_suggestions()["terms"][0]
    truth = ground_truth(small_world, key, YESTERDAY)
    result = collect(key, page_size=10)
    assert result.success
    md = raw_metadata(result)
    assert md["outcome"] == "complete" and md["outcome_reason"] == "X's end of the timeline reached"
    assert landed(collect.lake, key) == truth  # 0 missing, 0 extra
    assert md["items"] == len(truth) and md["pages"] > 2
    assert coverage_rows(collect.lake) == [(key, YESTERDAY, "complete", md["pages"], len(truth), 50)]
    assert coverage_check(result).passed


def test_rerunning_a_partition_updates_its_row_and_never_adds_one(collect, small_world):
    key = small_world.watchlist_suggestions()["terms"][0]
    truncated = collect(key, max_pages_per_partition=2, page_size=10)
    assert coverage_check(truncated).metadata["truncated"].value == 1
    complete = collect(key, page_size=10)  # the re-run with a budget large enough
    assert raw_metadata(complete)["outcome"] == "complete"
    rows = coverage_rows(collect.lake)
    assert len(rows) == 1 and rows[0][2] == "complete"
    check = coverage_check(complete)
    assert check.passed and check.metadata["complete"].value == 1
    con = connect(collect.lake.lake())
    (run_id,) = con.execute("select run_id from ops_coverage").fetchone()
    assert run_id == complete.run_id  # the row is the latest run's


def test_a_partition_that_stops_on_an_error_is_failed_and_the_next_runs_check_warns(collect, small_world):
    missing = collect("@nobody_here")  # X has no such account: the run fails, no retry
    assert not missing.success
    assert coverage_rows(collect.lake) == [("@nobody_here", YESTERDAY, "failed", 1, 0, 50)]
    con = connect(collect.lake.lake())
    (reason,) = con.execute("select reason from ops_coverage").fetchone()
    assert "X has no user @nobody_here" in reason

    key = small_world.watchlist_suggestions()["terms"][1]
    other = collect(key)  # a later run of another partition sees the failed one
    check = coverage_check(other)
    assert not check.passed and check.severity == dg.AssetCheckSeverity.WARN
    assert check.metadata["failed_partitions"].value == [f"{DAY}|@nobody_here"]
    assert check.metadata["complete"].value == 1 and check.metadata["failed"].value == 1
