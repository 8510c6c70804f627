"""raw_x_pages and the cleaned tables materialized by Dagster against the emulator over HTTP."""

import datetime as dt

import dagster as dg
import httpx
import pytest

from tests.conftest import control_plane_resource, register_accounts
from xget_pipelines.assets import (
    analytics_trends,
    asset_checks,
    entity_assets,
    ingest_assets,
    sentiment_daily,
    tweet_sentiment,
)
from xget_pipelines.core.db.engine import get_engine
from xget_pipelines.core.db.watchlist import add_keys
from xget_pipelines.core.lake.catalog import connect
from xget_pipelines.core.x.watch import parse_params
from xget_pipelines.resources import (
    AccountPoolResource,
    LakeResource,
    SentimentResource,
    TrendsResource,
    XApiResource,
)

DAY = (dt.datetime.now(dt.UTC).date() - dt.timedelta(days=1)).isoformat()


@pytest.fixture
def setup(emulator_factory, sqlite_url, tmp_path, small_world):
    def make(**emulator_settings):
        emu = emulator_factory(window_seconds=2, **emulator_settings)
        register_accounts(emu, get_engine(sqlite_url), ["d1", "d2"])
        resources = {
            "lake": LakeResource(uri=str(tmp_path / "lake")),
            "control_plane": control_plane_resource(sqlite_url),
            "account_pool": AccountPoolResource(control_plane=control_plane_resource(sqlite_url)),
            "x_api": XApiResource(graphql_url=emu.graphql_url, lease_deadline_s=10),
            "trends": TrendsResource(),
            "sentiment": SentimentResource(home=str(tmp_path / "home")),
        }
        instance = dg.DagsterInstance.ephemeral()
        key = small_world.watchlist_suggestions()["terms"][0]
        instance.add_dynamic_partitions("watchlist", [key])
        return emu, resources, instance, key

    return make


def run(resources, instance, key):
    return dg.materialize(
        [*ingest_assets, *asset_checks],
        resources=resources,
        instance=instance,
        partition_key=dg.MultiPartitionKey({"date": DAY, "watch": key}),
    )


def metadata(result, asset):
    mats = (
        result.asset_materializations_for_node(asset)
        if asset == "raw_x_pages"
        else [m for m in result.get_asset_materialization_events() if m.asset_key.to_user_string() == asset]
    )
    event = mats[0]
    md = event.metadata if hasattr(event, "metadata") else event.materialization.metadata
    return {k: v.value for k, v in md.items()}


def test_partition_materializes_with_metadata_and_passing_checks(setup, tmp_path):
    _, resources, instance, key = setup()
    result = run(resources, instance, key)
    assert result.success
    raw = metadata(result, "raw_x_pages")
    tweets = metadata(result, "cleaned_tweets")
    assert raw["pages"] >= 2 and raw["malformed_pages"] == 0
    assert tweets["rows"] > 20 and tweets["parse_errors"] == 0 and "| tweet_id |" in tweets["preview"]
    assert tweets["missing_text"] == 0 and 0 <= tweets["long_texts"] < tweets["rows"]  # counted in metadata
    checks = result.get_asset_check_evaluations()
    assert checks and all(c.passed for c in checks)
    con = connect(resources["lake"].lake())
    assert con.execute("select count(*) from cleaned_tweets").fetchone()[0] == tweets["rows"]


def test_rerunning_a_partition_never_duplicates_cleaned_rows(setup):
    _, resources, instance, key = setup()
    first = metadata(run(resources, instance, key), "cleaned_tweets")["rows"]
    second = run(resources, instance, key)
    con = connect(resources["lake"].lake())
    total, distinct = con.execute("select count(*), count(distinct tweet_id) from cleaned_tweets").fetchone()
    assert total == distinct == first == metadata(second, "cleaned_tweets")["rows"]
    sessions = con.execute("select count(distinct session_id) from raw_x_pages").fetchone()[0]
    assert sessions == 2  # the re-run is a second observation in raw, not a duplicate in cleaned


def test_malformed_pages_are_kept_raw_reported_and_do_not_stop_the_partition(setup):
    emu, resources, instance, key = setup(
        faults={"rules": [{"kind": "malformed", "operation": "SearchTimeline", "count": 1}]}
    )
    result = run(resources, instance, key)
    assert result.success
    raw = metadata(result, "raw_x_pages")
    tweets = metadata(result, "cleaned_tweets")
    assert raw["malformed_pages"] == 1
    assert tweets["malformed_pages"] == 1 and tweets["rows"] > 20
    con = connect(resources["lake"].lake())
    assert con.execute("select count(*) from raw_x_pages where malformed").fetchone()[0] == 1


def test_a_partition_already_being_collected_is_refused(setup):
    _, resources, instance, key = setup()
    partition = f"{DAY}|{key}"
    other = instance.add_run(
        dg.DagsterRun(  # another run of the same partition, in progress
            job_name="x_ingest",
            run_id="0f0f0f0f-0000-4000-8000-000000000001",
            status=dg.DagsterRunStatus.STARTED,
            tags={"dagster/partition": partition},
        )
    )
    result = dg.materialize(
        [*ingest_assets],
        resources=resources,
        instance=instance,
        partition_key=dg.MultiPartitionKey({"date": DAY, "watch": key}),
        raise_on_error=False,
    )
    assert not result.success
    failure = result.failure_data_for_node("raw_x_pages")
    assert f"being collected by run {other.run_id}" in failure.error.message


def test_entities_merge_the_day_of_every_key_and_their_checks_pass(setup, small_world):
    emu, resources, instance, key = setup()
    second = small_world.watchlist_suggestions()["terms"][1]
    instance.add_dynamic_partitions("watchlist", [second])
    for k in (key, second):
        assert run(resources, instance, k).success
    entity_checks = [c for c in asset_checks if "entities" in str(c.check_specs_by_output_name)]
    result = dg.materialize(
        [*entity_assets, *entity_checks],
        resources=resources,
        instance=instance,
        partition_key=DAY,
        selection=[*entity_assets, *entity_checks],
    )
    assert result.success
    merged = metadata(result, "entities_tweets")
    con = connect(resources["lake"].lake())
    cleaned_distinct = con.execute("select count(distinct tweet_id) from cleaned_tweets").fetchone()[0]
    assert merged["source_rows"] == merged["inserted"] == cleaned_distinct  # both keys' tweets, once each
    assert con.execute("select count(*), count(distinct tweet_id) from entities_tweets").fetchone() == (
        cleaned_distinct,
        cleaned_distinct,
    )
    checks = result.get_asset_check_evaluations()
    assert {c.check_name for c in checks} == {
        "entities_tweets_key_unique_and_present",
        "entities_users_key_unique_and_present",
    }
    assert all(c.passed for c in checks)
    again = dg.materialize([*entity_assets], resources=resources, instance=instance, partition_key=DAY)
    assert metadata(again, "entities_tweets")["inserted"] == 0
    assert con.execute("select count(*) from entities_tweets").fetchone()[0] == cleaned_distinct


def test_checks_look_at_the_partitions_their_run_wrote(setup):
    """The key checks of a run read only what the run wrote: a stray duplicate in a partition the merge
    never touched is not theirs to find (a check executed on its own, over the whole table, finds it), a
    duplicate where the merge wrote fails the run's blocking check."""
    import pyarrow as pa
    import pyarrow.compute as pc

    emu, resources, instance, key = setup()
    ingest = run(resources, instance, key)
    assert ingest.success
    scopes = {c.check_name: c.metadata["scope"].value for c in ingest.get_asset_check_evaluations()}
    assert scopes["raw_pages_unique"] == f"day = {DAY}, watch_key = {key}"
    entity_checks = [c for c in asset_checks if "entities" in str(c.check_specs_by_output_name)]
    check_name = "entities_tweets_key_unique_and_present"

    def merge(raise_on_error=True):
        result = dg.materialize(
            [*entity_assets, *entity_checks],
            resources=resources,
            instance=instance,
            partition_key=DAY,
            selection=[*entity_assets, *entity_checks],
            raise_on_error=raise_on_error,
        )
        return result, {c.check_name: c for c in result.get_asset_check_evaluations()}

    first, checks = merge()
    written = metadata(first, "entities_tweets")["partitions_written"]
    assert written and checks[check_name].passed
    assert checks[check_name].metadata["scope"].value == f"created_date in {len(written)} values"
    lake = resources["lake"].lake()
    tweets = lake.read("entities/tweets")
    assert checks[check_name].metadata["rows"].value == tweets.num_rows  # one day: all of it, no more

    stray = tweets.slice(0, 1)
    stray = stray.set_column(
        stray.schema.get_field_index("created_date"),
        "created_date",
        pa.array([dt.date(2001, 1, 1)], pa.date32()),
    )
    lake.append("entities/tweets", pa.concat_tables([stray, stray]), partition_by=["created_date"])
    _, checks = merge()
    assert checks[check_name].passed and checks[check_name].metadata["rows"].value == tweets.num_rows
    alone = dg.materialize(
        [*entity_assets, *entity_checks],
        resources=resources,
        instance=instance,
        selection=dg.AssetSelection.checks(*entity_checks),
        raise_on_error=False,
    )
    whole = {c.check_name: c for c in alone.get_asset_check_evaluations()}[check_name]
    assert (
        not whole.passed and whole.metadata["duplicates"].value == 2
    )  # the tweet in its own day, and twice more
    assert whole.metadata["scope"].value == "whole table"

    twin = tweets.filter(pc.equal(tweets["tweet_id"], tweets["tweet_id"][0]))
    lake.append("entities/tweets", twin, partition_by=["created_date"])
    failed, checks = merge(raise_on_error=False)
    assert not checks[check_name].passed and checks[check_name].metadata["duplicates"].value == 1
    assert not failed.success  # blocking: the run fails, nothing downstream of it starts


def test_trends_over_the_entities_with_the_emulators_ground_truth_in_metadata(setup):
    emu, resources, instance, key = setup()
    assert run(resources, instance, key).success
    assert dg.materialize([*entity_assets], resources=resources, instance=instance, partition_key=DAY).success
    result = dg.materialize([analytics_trends], resources=resources, instance=instance, partition_key=DAY)
    assert result.success
    md = metadata(result, "analytics_trends")
    con = connect(resources["lake"].lake())
    rows, keys, days = con.execute(
        "select count(*), count(distinct scope), count(distinct day) from analytics_trends"
    ).fetchone()
    assert rows == md["rows"] > 0 and days == 1
    assert keys == 2  # global and the watchlist key
    assert (
        con.execute(
            "select count(*) from analytics_trends where kind = 'volume' and name = ?", [key]
        ).fetchone()[0]
        > 0
    )
    assert "ground_truth_injected_bursts" in md and "ground_truth_detected_events" in md
    # the bursts the collected tweets show are never more than those injected (the watchlist's view)
    assert 0 <= md["ground_truth_observable_bursts"] <= md["ground_truth_injected_bursts"]
    # the busiest hashtags' trend lines: one row each, a sparkline over the day's buckets
    (top,) = con.execute(
        "select name from analytics_trends where scope = 'global' and kind = 'hashtag' "
        "group by name order by sum(count) desc limit 1"
    ).fetchone()
    line = next(row for row in md["trend_lines"].splitlines() if row.startswith(f"| #{top} |"))
    assert set(line.split("`")[1]) <= set("▁▂▃▄▅▆▇█ ") and "█" in line and "tweets" in line
    again = dg.materialize([analytics_trends], resources=resources, instance=instance, partition_key=DAY)
    assert metadata(again, "analytics_trends")["rows"] == rows  # replaced, not appended
    assert con.execute("select count(*) from analytics_trends").fetchone()[0] == rows


def test_coordination_over_the_entities_with_clusters_evidence_gexf_and_the_ground_truth(setup, small_world):
    import networkx as nx

    from xget_pipelines.assets import analytics_coordination
    from xget_pipelines.core.lake.files import root_for

    emu, resources, instance, key = setup()
    campaign = next(c for c in small_world.ground_truth()["campaigns"] if c["term"] == key)
    # a pair needs 3 distinct items and a day of the campaign holds two or three rounds a search sees (its
    # retweets are not search hits): the watched term's last four days, all inside the campaign
    days = [(dt.date.fromisoformat(DAY) - dt.timedelta(days=i)).isoformat() for i in range(4)]
    assert campaign["start"][:10] <= days[-1] and DAY < campaign["end"][:10]
    for day in days:
        partition = dg.MultiPartitionKey({"date": day, "watch": key})
        assert dg.materialize(
            [*ingest_assets], resources=resources, instance=instance, partition_key=partition
        ).success
        assert dg.materialize(
            [*entity_assets], resources=resources, instance=instance, partition_key=day
        ).success
    result = dg.materialize(
        [analytics_coordination], resources=resources, instance=instance, partition_key=DAY
    )
    assert result.success
    md = metadata(result, "analytics_coordination")
    con = connect(resources["lake"].lake())
    clusters = con.sql("select * from analytics_coordination_clusters").to_arrow_table()
    members = con.sql("select * from analytics_coordination_members").to_arrow_table()
    assert md["clusters"] == clusters.num_rows >= 1 and md["accounts"] == members.num_rows
    evidence = con.execute("select count(distinct user_id) from analytics_coordination_evidence").fetchone()
    assert evidence[0] == members.num_rows  # every member has its co-actions as evidence
    truth = {m["id"] for m in campaign["members"]}
    assert {str(u) for u in members["user_id"].to_pylist()} <= truth  # no organic account clustered
    assert md["ground_truth_precision"] == 1.0 and md["ground_truth_bursts_as_coordination"] == 0
    lake = resources["lake"].lake()
    root = root_for(lake.uri)
    graph = nx.read_gexf(root.path("exports/coordination.gexf"))
    assert graph.number_of_nodes() == members.num_rows
    again = dg.materialize(
        [analytics_coordination], resources=resources, instance=instance, partition_key=DAY
    )
    assert metadata(again, "analytics_coordination")["clusters"] == clusters.num_rows
    fresh = connect(resources["lake"].lake())
    same = fresh.execute("select cluster_id from analytics_coordination_clusters order by 1").fetchall()
    assert same == sorted((c,) for c in clusters["cluster_id"].to_pylist())  # stable ids, replaced


def test_dbt_builds_the_marts_over_the_entities_with_its_tests_as_checks(setup, tmp_path, small_world):
    from xget_pipelines.assets.dbt import dbt_marts_assets
    from xget_pipelines.core.lake.catalog import connect as lake_sql
    from xget_pipelines.resources.dbt import dbt_resource, prepare_manifest

    emu, resources, instance, key = setup()
    assert run(resources, instance, key).success
    assert dg.materialize(
        [*entity_assets, analytics_trends], resources=resources, instance=instance, partition_key=DAY
    ).success
    vader = {"ops": {name: {"config": {"model": "vader"}} for name in ("tweet_sentiment", "sentiment_daily")}}
    scored = dg.materialize(
        [tweet_sentiment, sentiment_daily], resources=resources, instance=instance, run_config=vader
    )
    assert scored.success
    con = lake_sql(resources["lake"].lake())
    originals = con.execute(
        "select count(*) from entities_tweets where not is_retweet and length(trim(text)) > 0"
    ).fetchall()[0][0]
    assert metadata(scored, "tweet_sentiment")["scored"] == originals > 20
    assert metadata(scored, "sentiment_daily")["rows"] > 0
    over_time = metadata(scored, "sentiment_daily")["sentiment_over_time"]
    assert f"| {key} |" in over_time and "on the last day" in over_time  # polarity per key over its days
    again = dg.materialize(
        [tweet_sentiment],
        resources=resources,
        instance=instance,
        run_config={"ops": {"tweet_sentiment": {"config": {"model": "vader"}}}},
    )
    assert metadata(again, "tweet_sentiment")["scored"] == 0  # only tweets not yet scored by that model
    assert metadata(again, "tweet_sentiment")["already_scored"] == originals

    from xget_pipelines.assets import about_accounts

    assert dg.materialize([about_accounts], resources=resources, instance=instance).success
    biggest = "select username from entities_users order by followers_count desc limit 1"
    mover = con.execute(biggest).fetchall()
    httpx.post(f"{emu.url}/_emulator/about/{mover[0][0]}", json={"based_in": "Atlantis"}).raise_for_status()
    again = XApiResource(graphql_url=emu.graphql_url, lease_deadline_s=10, about_refresh_days=0)
    refreshed = {**resources, "x_api": again}
    assert dg.materialize([about_accounts], resources=refreshed, instance=instance).success

    # A key expanding its day's big conversation (the emulator's deep corner, yesterday): the reply trees.
    famous = "@" + small_world.deep.famous.screen_name
    expand = parse_params({"budget": "all", "expand": ["conversations:100"]})
    add_keys(get_engine(resources["control_plane"].database_url), [famous], expand)
    instance.add_dynamic_partitions("watchlist", [famous])
    assert run(resources, instance, famous).success

    marts = tmp_path / "home" / "marts.duckdb"
    dbt = dbt_resource(marts)
    result = dg.materialize(
        [dbt_marts_assets(prepare_manifest())], resources={**resources, "dbt": dbt}, instance=instance
    )
    assert result.success
    built = {e.asset_key.to_user_string() for e in result.get_asset_materialization_events()}
    assert built == {
        "marts_daily_volume_per_term",
        "marts_top_users_per_term",
        "marts_hashtag_bursts_daily",
        "marts_sentiment_by_day",
        "marts_about_fact_changes",
        "marts_accounts_by_country",
        "marts_conversation_trees",
    }
    checks = result.get_asset_check_evaluations()
    assert len(checks) == 18 and all(c.passed for c in checks)  # the dbt tests of the seven marts
    assert marts.exists()
    con = lake_sql(resources["lake"].lake(), marts=marts)
    per_day = con.execute(
        "select sum(tweets) from marts.daily_volume_per_term where watch_key = ?", [key]
    ).fetchall()
    hits = con.execute(
        "select count(distinct tweet_id) from cleaned_tweets c join entities_tweets e using (tweet_id) "
        "where c.via = 'timeline' and not e.is_retweet and c.watch_key = ?",
        [key],
    ).fetchall()
    assert per_day == hits and per_day[0][0] > 20
    top = con.execute("select rank from marts.top_users_per_term order by rank").fetchall()
    assert [r[0] for r in top] == list(range(1, len(top) + 1)) and 1 <= len(top) <= 10
    days = con.execute("select count(*), min(model_version) from marts.sentiment_by_day").fetchall()[0]
    assert days[0] >= 1 and days[1] == "vader-3.3.2"
    changes = con.execute(
        "select username_after, country_after, country_changed, handle_changed from marts.about_fact_changes"
    ).fetchall()
    assert changes == [(mover[0][0], "Atlantis", True, False)]  # the one move the emulator made
    root = small_world.deep.root
    replies = [t for t in small_world.tweets if t.conversation_id == root.id and t is not root]
    tree = con.execute(
        "select replies, direct_replies, max_depth, distinct_repliers, root_author_replies, unlinked_replies "
        "from marts.conversation_trees where conversation_id = ?",
        [root.id],
    ).fetchall()
    assert tree == [
        (
            len(replies),
            len(root.replies),
            2,
            len({t.author.id for t in replies}),
            sum(1 for t in replies if t.author is root.author),
            0,
        )
    ]
    by_country = con.execute("select sum(accounts) from marts.accounts_by_country").fetchall()[0][0]
    assert by_country == con.execute("select count(*) from entities_users").fetchall()[0][0]
    assert con.execute(
        "select accounts from marts.accounts_by_country where account_based_in = 'Atlantis'"
    ).fetchall() == [(1,)]


def test_sentiment_model_shows_each_held_out_source_beside_vader_in_its_metadata(tmp_path):
    from xget_pipelines.assets import sentiment_model

    result = dg.materialize(
        [sentiment_model],
        resources={"sentiment": SentimentResource(home=str(tmp_path / "home"))},
        run_config={"ops": {"sentiment_model": {"config": {"limit": 120, "held_out_limit": 60}}}},
    )
    assert result.success
    md = metadata(result, "sentiment_model")
    # six tweet sources (Deflategate out), 120 of each
    assert md["train_examples"] == 6 * 120 and md["held_out_sources"] == 6
    rows = md["held_out_sources_detail"]
    assert {r["source"] for r in rows} == {
        "cf_us_airlines",
        "cf_apple",
        "cf_claritin",
        "cf_coachella_2015",
        "cf_self_driving_cars",
        "vader2014",
    }
    worst = min(rows, key=lambda r: r["macro_recall"])
    assert md["held_out_worst_source"] == worst["source"]  # the headline is the worst, not the average
    assert md["held_out_worst_vader_macro_recall"] == worst["vader_macro_recall"]
    assert all(r["examples"] == 60 and r["train_examples"] == 5 * 120 for r in rows)
    assert all(
        len(r["confusion"]) == 3 and set(r["recall"]) == {"negative", "neutral", "positive"} for r in rows
    )
    for r in rows:
        assert f"| {r['source']} | 60 |" in md["held_out_table"]
    assert (tmp_path / "home" / "models" / "sentiment" / "current.json").exists()


def test_a_30_day_single_run_backfill_of_the_cleaned_and_entity_layers_is_idempotent(setup):
    from xget_pipelines.assets import cleaned_tables

    emu, resources, instance, key = setup()
    assert run(resources, instance, key).success  # raw pages for one day; the other 29 have none
    end = dt.date.fromisoformat(DAY) + dt.timedelta(days=1)
    first_day = end - dt.timedelta(days=29)
    cleaned_range = {
        "dagster/asset_partition_range_start": f"{first_day.isoformat()}|{key}",
        "dagster/asset_partition_range_end": f"{end.isoformat()}|{key}",
    }
    entity_range = {
        "dagster/asset_partition_range_start": first_day.isoformat(),
        "dagster/asset_partition_range_end": end.isoformat(),
    }
    con = connect(resources["lake"].lake())
    tables = (
        "cleaned/tweets",
        "cleaned/users",
        "cleaned/hashtags",
        "entities/tweets",
        "entities/users",
        "entities/tweet_metrics_history",
        "analytics/trends",
    )

    def snapshot():
        from xget_pipelines.core.lake.catalog import register
        from xget_pipelines.core.lake.tables import view_name

        out = {}
        for table in tables:
            register(con, resources["lake"].lake(), table)  # the table's current Delta snapshot
            view = view_name(table)
            out[table] = con.execute(f"select count(*), sum(hash(columns(*))) from {view}").fetchall()
        return out

    def backfill():
        cleaned = dg.materialize([cleaned_tables], resources=resources, instance=instance, tags=cleaned_range)
        assert cleaned.success
        assert (
            len(
                {
                    e.partition
                    for e in cleaned.get_asset_materialization_events()
                    if e.asset_key.to_user_string() == "cleaned_tweets"
                }
            )
            == 30
        )  # 30 days, one run
        merged = dg.materialize(
            [*entity_assets, analytics_trends], resources=resources, instance=instance, tags=entity_range
        )
        assert merged.success
        assert (
            len(
                {
                    e.partition
                    for e in merged.get_asset_materialization_events()
                    if e.asset_key.to_user_string() == "entities_tweets"
                }
            )
            == 30
        )
        return merged

    backfill()
    before = snapshot()
    assert before["cleaned/tweets"][0][0] > 20 and before["entities/tweets"][0][0] > 20
    again = backfill()
    assert metadata(again, "entities_tweets")["inserted"] == 0
    assert snapshot() == before  # same rows, same values: counts and checksums


def test_without_a_trained_model_sentiment_falls_back_to_vader(setup, tmp_path):
    emu, resources, instance, key = setup()
    resources = {**resources, "sentiment": SentimentResource(home=str(tmp_path / "fresh-home"))}  # no model
    assert run(resources, instance, key).success
    assert dg.materialize([*entity_assets], resources=resources, instance=instance, partition_key=DAY).success
    result = dg.materialize([tweet_sentiment], resources=resources, instance=instance)
    assert result.success and metadata(result, "tweet_sentiment")["model_version"] == "vader-3.3.2"


def test_an_account_key_collects_follows_today_and_they_feed_the_follow_graph(setup, small_world):
    from xget_pipelines.core.profiles import graph_metrics

    emu, resources, instance, _ = setup()
    handle = "@" + small_world.watchlist_suggestions()["users"][0]
    instance.add_dynamic_partitions("watchlist", [handle])
    today = dt.datetime.now(dt.UTC).date().isoformat()
    resources = {
        **resources,
        "x_api": XApiResource(graphql_url=emu.graphql_url, lease_deadline_s=10, follow_pages=1),
    }
    result = dg.materialize(
        [*ingest_assets],
        resources=resources,
        instance=instance,
        partition_key=dg.MultiPartitionKey({"date": today, "watch": handle}),
    )
    assert result.success
    con = connect(resources["lake"].lake())
    ops = dict(con.execute("select operation, count(*) from raw_x_pages group by 1").fetchall())
    assert ops["Followers"] == 1 and ops["Following"] == 1  # one page each, as configured
    (target,) = con.execute(
        "select distinct user_id from cleaned_users where lower(username) = ?", [handle[1:].lower()]
    ).fetchall()[0]
    edges = con.execute(
        "select count(*) filter (where followed_id = ?), count(*) filter (where follower_id = ?) "
        "from cleaned_follows",
        [target, target],
    ).fetchall()[0]
    assert edges[0] > 0 and edges[1] > 0  # its followers -> it, it -> whom it follows
    assert dg.materialize(
        [*entity_assets], resources=resources, instance=instance, partition_key=today
    ).success
    from xget_pipelines.core.lake.catalog import register

    register(con, resources["lake"].lake(), "entities/follows")
    assert con.execute("select count(*) from entities_follows").fetchall()[0][0] == sum(edges)
    follow_graph = [r for r in graph_metrics(con).to_pylist() if r["graph"] == "follow"]
    assert max(follow_graph, key=lambda r: r["in_degree"])["user_id"] == target  # the watched account


def test_an_ingest_run_survives_a_query_id_rotation_in_the_middle(emulator_factory, tmp_path, small_world):
    """X ships a web release mid-run (query ids, bundles and transaction-id keys all change, with no grace):
    the run refreshes and goes on; its pages are exactly those of an undisturbed run, none lost, none twice.
    """
    import threading
    import time

    import httpx

    from xget_pipelines.emulator.settings import Contract

    key = small_world.watchlist_suggestions()["terms"][0]

    def collect(name: str, rotate_after: int | None):
        emu = emulator_factory(
            window_seconds=60,
            contract=Contract(query_id_grace_s=0.0),
            faults={"rules": [{"kind": "slow", "operation": "SearchTimeline", "delay": 0.25}]},
        )
        url = f"sqlite:///{tmp_path / name}.db"
        register_accounts(emu, get_engine(url), ["r1", "r2"])
        resources = {
            "lake": LakeResource(uri=str(tmp_path / name / "lake")),
            "control_plane": control_plane_resource(url),
            "account_pool": AccountPoolResource(control_plane=control_plane_resource(url)),
            "x_api": XApiResource(graphql_url=emu.graphql_url, lease_deadline_s=10, page_size=10),
        }
        instance = dg.DagsterInstance.ephemeral()
        instance.add_dynamic_partitions("watchlist", [key])
        rotated = threading.Event()

        def rotate_midway():
            while not rotated.is_set():
                totals = httpx.get(f"{emu.url}/_emulator/stats").json()["totals"]
                if totals["pages"] >= rotate_after:
                    httpx.post(f"{emu.url}/_emulator/releases", json={}).raise_for_status()
                    rotated.set()
                time.sleep(0.02)

        watcher = threading.Thread(target=rotate_midway, daemon=True) if rotate_after else None
        if watcher:
            watcher.start()
        result = run(resources, instance, key)
        rotated.set()
        assert result.success
        con = connect(resources["lake"].lake())
        pages = con.execute("select cursor_in, cursor_out from raw_x_pages order by seq").fetchall()
        tweets = {r[0] for r in con.execute("select tweet_id from cleaned_tweets").fetchall()}
        return (
            pages,
            tweets,
            metadata(result, "raw_x_pages"),
            httpx.get(f"{emu.url}/_emulator/releases").json(),
        )

    reference, reference_tweets, _, untouched = collect("reference", None)
    pages, tweets, raw, releases = collect("rotated", 2)
    assert untouched["current"] == 0 and releases["current"] == 1  # the second run did meet a new release
    assert len(reference) >= 4 and pages == reference  # 0 pages lost, 0 duplicated, same order
    assert len(set(pages)) == len(pages) and tweets == reference_tweets
    assert raw["contract_refusals"] >= 1 and raw["query_id_refreshes"] == 1
