"""The code location loads with the assets, checks, job, sensor and schedule a user expects."""

import subprocess
import sys

import dagster as dg


def load():
    from xget_pipelines.definitions import defs

    return defs()


def test_assets_checks_jobs_sensors_schedules_exist():
    defs = load()
    keys = {k.to_user_string() for k in defs.resolve_asset_graph().get_all_asset_keys()}
    assert keys == {
        "raw_x_pages",
        "cleaned_tweets",
        "cleaned_users",
        "cleaned_media",
        "cleaned_hashtags",
        "cleaned_mentions",
        "cleaned_urls",
        "cleaned_tombstones",
        "cleaned_follows",
        "cleaned_list_members",
        "cleaned_community_members",
        "cleaned_communities",
        "cleaned_follower_snapshots",
        "cleaned_conversations",
        "cleaned_retweeters",
        "entities_follows",
        "account_pool_stats",
        "proxy_pool",  # observed by proxy_upkeep_sensor
        "account_pool",  # observed by account_upkeep_sensor
        "entities_tweets",
        "entities_users",
        "entities_tweet_metrics_history",
        "entities_user_metrics_history",
        "analytics_trends",
        "analytics_coordination",
        "marts_daily_volume_per_term",
        "marts_top_users_per_term",
        "marts_hashtag_bursts_daily",
        "sentiment_model",
        "tweet_sentiment",
        "sentiment_daily",
        "marts_sentiment_by_day",
        "marts_about_fact_changes",
        "marts_accounts_by_country",
        "marts_conversation_trees",
        "analytics_graph_metrics",
        "analytics_user_profiles",
        "analytics_user_daily",
        "analytics_cotag_network",
        "x_media",
        "entities_about_accounts",
        "cleaned_about_account_history",
    }
    checks = {c.name for c in defs.resolve_asset_graph().asset_check_keys}
    assert {
        "raw_pages_unique",
        "raw_pages_coverage",
        "cleaned_tweets_complete",
        "cleaned_tweets_unique_per_partition",
        "cleaned_users_unique_per_partition",
        "entities_tweets_key_unique_and_present",
        "entities_users_key_unique_and_present",
        "cleaned_tweets_volume",
        "cleaned_tweets_expectations",
    } <= checks
    assert defs.resolve_job_def("entities").partitions_def is not None
    assert defs.resolve_job_def("x_ingest").partitions_def is not None
    assert defs.resolve_job_def("x_hydrate")  # HYDRATE tasks' runs (sensors/tasks.py)
    assert defs.resolve_sensor_def("watchlist_sensor")
    assert defs.resolve_sensor_def("account_pool_health_sensor")
    assert defs.resolve_sensor_def("proxy_upkeep_sensor")
    assert defs.resolve_sensor_def("account_upkeep_sensor")
    assert defs.resolve_sensor_def("run_failure_alert_sensor")
    assert defs.resolve_sensor_def("scrape_task_sensor") and defs.resolve_sensor_def("corrections_sensor")
    assert defs.resolve_sensor_def("watch_backfill_sensor")
    # a created day that a later merge added tweets to is aggregated again (per-user aggregates, co-tags)
    assert defs.resolve_sensor_def("late_days_sensor").job_name == "analytics_days"
    assert defs.resolve_job_def("analytics_days").partitions_def is not None
    assert defs.resolve_schedule_def("daily_ingest_schedule")
    assert defs.resolve_schedule_def("account_pool_stats_hourly")
    assert defs.resolve_schedule_def("lake_maintenance_schedule").job_name == "lake_maintenance"
    assert defs.resolve_schedule_def("x_operations_refresh_schedule").job_name == "x_operations_refresh"
    assert defs.resolve_schedule_def("hourly_ingest_schedule").cron_schedule == "5 * * * *"
    about = defs.resolve_schedule_def("about_accounts_daily")  # X's "About this account" facts, once a day
    assert about.default_status == dg.DefaultScheduleStatus.RUNNING and about.cron_schedule == "45 1 * * *"
    assert defs.resolve_sensor_def("xget_automation_sensor")
    assert defs.resolve_sensor_def("freshness_checks_sensor")
    graph = defs.resolve_asset_graph()
    for key in ("entities_tweets", "analytics_trends", "tweet_sentiment", "marts_daily_volume_per_term"):
        assert graph.get(dg.AssetKey(key)).automation_condition is not None, key
    assert graph.get(dg.AssetKey("sentiment_model")).automation_condition is None  # training is on demand


def test_lineage_and_groups():
    graph = load().resolve_asset_graph()
    cleaned = graph.get(dg.AssetKey("cleaned_tweets"))
    assert dg.AssetKey("raw_x_pages") in cleaned.parent_keys
    assert graph.get(dg.AssetKey("raw_x_pages")).group_name == "raw"
    assert cleaned.group_name == "cleaned"
    entities = graph.get(dg.AssetKey("entities_tweets"))
    assert {dg.AssetKey("cleaned_tweets"), dg.AssetKey("cleaned_tombstones")} <= entities.parent_keys
    assert dg.AssetKey("entities_tweets") in graph.get(dg.AssetKey("analytics_trends")).parent_keys
    # dbt sources are the Python assets: one graph from raw pages to the marts
    assert graph.get(dg.AssetKey("marts_daily_volume_per_term")).parent_keys == {
        dg.AssetKey("cleaned_tweets"),
        dg.AssetKey("entities_tweets"),
    }
    assert graph.get(dg.AssetKey("marts_hashtag_bursts_daily")).group_name == "marts"
    assert graph.get(dg.AssetKey("marts_sentiment_by_day")).parent_keys == {dg.AssetKey("sentiment_daily")}
    assert dg.AssetKey("sentiment_model") in graph.get(dg.AssetKey("tweet_sentiment")).parent_keys
    for key in ("entities_about_accounts", "cleaned_about_account_history"):  # one step: about_accounts
        about = graph.get(dg.AssetKey(key))  # with the entities, in the pool of X requests
        assert about.group_name == "entities" and about.parent_keys == {dg.AssetKey("entities_users")}
        assert about.pools == {"x_api"}
    changes = graph.get(dg.AssetKey("marts_about_fact_changes")).parent_keys
    assert changes == {dg.AssetKey("cleaned_about_account_history")}
    by_country = graph.get(dg.AssetKey("marts_accounts_by_country")).parent_keys
    assert by_country == {dg.AssetKey("entities_about_accounts")}
    for key in ("analytics_user_daily", "analytics_cotag_network"):  # per day, with the day's merge
        assert graph.get(dg.AssetKey(key)).group_name == "analytics", key
        assert graph.get(dg.AssetKey(key)).partitions_def is not None, key
    profiles = graph.get(dg.AssetKey("analytics_user_profiles"))  # a merge from the daily aggregates
    assert dg.AssetKey("analytics_user_daily") in profiles.parent_keys and profiles.partitions_def is None
    trees = graph.get(dg.AssetKey("marts_conversation_trees")).parent_keys
    assert trees == {dg.AssetKey("cleaned_conversations")}  # lineage from the expansions' cleaned table


def test_dagster_definitions_validate_passes(tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", "dagster", "definitions", "validate", "-w", "workspace.yaml"],
        capture_output=True,
        text=True,
        timeout=300,
        env={**__import__("os").environ, "XGET_HOME": str(tmp_path), "DAGSTER_HOME": str(tmp_path)},
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Validation successful" in proc.stdout + proc.stderr


def test_sinks_appear_when_their_urls_are_set_and_never_show_secrets():
    from xget_pipelines.definitions import definitions_for
    from xget_pipelines.settings import Settings

    defs = definitions_for(
        Settings(
            search_url="http://127.0.0.1:9200",
            archive_url="mongodb://xget:archive-pass@127.0.0.1:27017/",
            events_url="amqp://guest:events-pass@127.0.0.1:5672/%2F",
            alert_webhook_url="https://hooks.example/T0/B0/alert-token",
        )
    )
    keys = {k.to_user_string() for k in defs.resolve_asset_graph().get_all_asset_keys()}
    assert {"search_tweets", "search_users", "raw_pages_archive"} <= keys
    assert defs.resolve_sensor_def("lake_events_sensor")
    graph = defs.resolve_asset_graph()
    assert dg.AssetKey("entities_tweets") in graph.get(dg.AssetKey("search_tweets")).parent_keys
    assert dg.AssetKey("raw_x_pages") in graph.get(dg.AssetKey("raw_pages_archive")).parent_keys
    shown = repr(defs.resources)
    assert "archive-pass" not in shown and "events-pass" not in shown and "alert-token" not in shown
    defs = definitions_for(Settings())  # without the URLs: no sink assets, no events sensor
    keys = {k.to_user_string() for k in defs.resolve_asset_graph().get_all_asset_keys()}
    assert not {"search_tweets", "raw_pages_archive"} & keys


def test_the_unpartitioned_snapshots_follow_their_partitioned_parents_on_their_own():
    """eager() alone never fires on an unpartitioned asset whose parent is daily-partitioned (most days are
    always missing): tweet_sentiment, sentiment_daily, the graph metrics and the profile merge must request a
    run as soon as a parent partition is materialized, and not before."""
    from xget_pipelines.assets import profile_assets, sentiment_assets
    from xget_pipelines.partitions import daily_partitions, watch_daily_partitions

    watched = ["cleaned_tweets", "cleaned_mentions"]
    daily = ["entities_tweets", "entities_follows"]
    parents = [dg.AssetSpec(k, partitions_def=watch_daily_partitions) for k in watched] + [
        dg.AssetSpec(k, partitions_def=daily_partitions) for k in daily
    ]
    model = next(a for a in sentiment_assets if a.key == dg.AssetKey("sentiment_model"))
    children = [a for a in [*sentiment_assets, *profile_assets] if a is not model]
    from xget_pipelines.resources import LakeResource, SentimentResource

    defs = dg.Definitions(
        assets=[*parents, dg.AssetSpec("sentiment_model"), *children],
        resources={"lake": LakeResource(uri="/nonexistent"), "sentiment": SentimentResource()},
    )  # evaluated, never run
    instance = dg.DagsterInstance.ephemeral()
    instance.add_dynamic_partitions("watchlist", ["python"])
    first = dg.evaluate_automation_conditions(defs=defs, instance=instance)
    assert first.total_requested == 0
    instance.report_runless_asset_event(dg.AssetMaterialization("entities_tweets", partition="2026-03-01"))
    instance.report_runless_asset_event(
        dg.AssetMaterialization(
            "cleaned_tweets", partition=dg.MultiPartitionKey({"date": "2026-03-01", "watch": "python"})
        )
    )
    after = dg.evaluate_automation_conditions(defs=defs, instance=instance, cursor=first.cursor)
    requested = {
        k.to_user_string() for k in (a.key for a in children) if after.get_requested_partitions(k) == {None}
    }
    assert requested >= {
        "tweet_sentiment",
        "analytics_graph_metrics",
        "analytics_user_profiles",
    }, requested
