"""The Dagster entry point of the XGet code location. Nothing imports this module."""

import dagster as dg

from xget_pipelines.assets import (
    analytics_assets,
    asset_checks,
    entity_assets,
    ingest_assets,
    ops_assets,
    pool_stats_schedule,
    profile_assets,
    sentiment_assets,
)
from xget_pipelines.assets.dbt import dbt_marts
from xget_pipelines.assets.media import x_media
from xget_pipelines.assets.quality import freshness_sensor, quality_checks
from xget_pipelines.jobs import entities_job, marts_job, sentiment_training_job, x_ingest_job
from xget_pipelines.maintenance import lake_maintenance, maintenance_schedule
from xget_pipelines.resources.environment import resources_for
from xget_pipelines.sensors import (
    account_pool_health_sensor,
    corrections_sensor,
    daily_ingest_schedule,
    hourly_ingest_schedule,
    run_failure_alert_sensor,
    scrape_task_sensor,
    watchlist_sensor,
)
from xget_pipelines.settings import get_settings
from xget_pipelines.x_upkeep import operations_refresh_schedule, x_operations_refresh

# Declarative automation: the entities, trends, sentiment and marts (eager conditions on the assets)
# follow the ingest on their own once a day's cleaned data lands; the scrape itself is driven by the
# watchlist sensor and the schedules.
automation_sensor = dg.AutomationConditionSensorDefinition(
    "xget_automation_sensor",
    target=dg.AssetSelection.all(),
    default_status=dg.DefaultSensorStatus.RUNNING,
    minimum_interval_seconds=60,
)


@dg.definitions
def defs() -> dg.Definitions:
    settings = get_settings()
    sink_assets, sink_sensors = _sinks(settings)
    return dg.Definitions(
        assets=[
            *ingest_assets,
            *entity_assets,
            *analytics_assets,
            *sentiment_assets,
            *profile_assets,
            dbt_marts,
            *ops_assets,
            x_media,
            *sink_assets,
        ],
        asset_checks=[*asset_checks, *quality_checks],
        jobs=[
            x_ingest_job,
            entities_job,
            marts_job,
            sentiment_training_job,
            lake_maintenance,
            x_operations_refresh,
        ],
        sensors=[
            watchlist_sensor,
            scrape_task_sensor,
            corrections_sensor,
            account_pool_health_sensor,
            freshness_sensor,
            automation_sensor,
            run_failure_alert_sensor,
            *sink_sensors,
        ],
        schedules=[
            daily_ingest_schedule,
            hourly_ingest_schedule,
            pool_stats_schedule,
            maintenance_schedule(settings.lake_maintenance_cron, settings.lake_vacuum_retention_hours),
            operations_refresh_schedule(settings.x_operations_refresh_cron),
        ],
        resources=resources_for(settings),
        # Steps of a run in its own process, one after another: a run is I/O-bound (X, the lake) and gets one
        # CPU in production (deploy/helm), while the multiprocess executor spent a Python start and an import
        # of this code location (about 7 s of CPU) on every step, asset checks included: 40 of a partition's
        # 48 s on the development machines.
        executor=dg.in_process_executor,
    )


def _sinks(settings) -> tuple[list, list]:
    """The optional sinks, only when their URL is set (README, "Media and the optional sinks"): the lake never
    depends on them, and their clients (elasticsearch, pymongo, pika, confluent-kafka) are imported only then."""
    assets, sensors = [], []
    if settings.search_url:
        from xget_pipelines.assets.search import search_assets

        assets += search_assets
    if settings.archive_url:
        from xget_pipelines.assets.archive import raw_pages_archive

        assets.append(raw_pages_archive)
    if settings.events_url:
        from xget_pipelines.sensors.events import lake_events_sensor

        sensors.append(lake_events_sensor)
    return assets, sensors
