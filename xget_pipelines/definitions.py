"""The Dagster entry point of the XGet code location: it assembles what the other modules define (assets
and checks in ``assets/``, jobs in ``jobs.py``, schedules in ``schedules.py``, sensors in ``sensors/``,
resources in ``resources/``) and defines nothing itself. Nothing imports this module."""

import dagster as dg

from xget_pipelines.assets import (
    about_assets,
    analytics_assets,
    asset_checks,
    entity_assets,
    ingest_assets,
    ops_assets,
    profile_assets,
    sentiment_assets,
)
from xget_pipelines.assets.dbt import dbt_marts_assets
from xget_pipelines.assets.media import x_media
from xget_pipelines.assets.quality import quality_checks
from xget_pipelines.jobs import (
    analytics_days_job,
    entities_job,
    lake_maintenance,
    marts_job,
    sentiment_training_job,
    x_hydrate,
    x_ingest_job,
    x_operations_refresh,
)
from xget_pipelines.resources.dbt import prepare_manifest
from xget_pipelines.resources.environment import resources_for
from xget_pipelines.schedules import (
    about_accounts_schedule,
    daily_ingest_schedule,
    hourly_ingest_schedule,
    maintenance_schedule,
    operations_refresh_schedule,
    pool_stats_schedule,
)
from xget_pipelines.sensors import (
    ACCOUNT_POOL_ASSET,
    PROXY_POOL_ASSET,
    account_pool_health_sensor,
    account_upkeep_sensor,
    automation_sensor,
    corrections_sensor,
    freshness_sensor,
    late_days_sensor,
    proxy_upkeep_sensor,
    run_failure_alert_sensor,
    run_recovery_alert_sensor,
    scrape_task_sensor,
    watch_backfill_sensor,
    watchlist_sensor,
)
from xget_pipelines.settings import Settings, get_settings


@dg.definitions
def defs() -> dg.Definitions:
    return definitions_for(get_settings())


def definitions_for(settings: Settings) -> dg.Definitions:
    """The code location for ``settings``: the one place the Dagster layer reads them. Assets, sensors and
    schedules get what they need from the resources built here (``resources/environment.py``); only the
    schedules' crons are read here, and the daily partitions' first day in ``partitions.py``."""
    sink_assets, sink_sensors = _sinks(settings)
    return dg.Definitions(
        assets=[
            *ingest_assets,
            *entity_assets,
            *about_assets,
            *analytics_assets,
            *sentiment_assets,
            *profile_assets,
            dbt_marts_assets(prepare_manifest()),
            *ops_assets,
            x_media,
            PROXY_POOL_ASSET,
            ACCOUNT_POOL_ASSET,
            *sink_assets,
        ],
        asset_checks=[*asset_checks, *quality_checks],
        jobs=[
            x_ingest_job,
            entities_job,
            analytics_days_job,
            marts_job,
            sentiment_training_job,
            lake_maintenance,
            x_operations_refresh,
            x_hydrate,
        ],
        sensors=[
            watchlist_sensor,
            scrape_task_sensor,
            watch_backfill_sensor,
            corrections_sensor,
            account_pool_health_sensor,
            proxy_upkeep_sensor,
            account_upkeep_sensor,
            freshness_sensor,
            late_days_sensor,
            automation_sensor,
            run_failure_alert_sensor,
            run_recovery_alert_sensor,
            *sink_sensors,
        ],
        schedules=[
            daily_ingest_schedule,
            hourly_ingest_schedule,
            pool_stats_schedule,
            about_accounts_schedule,
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


def _sinks(settings: Settings) -> tuple[list, list]:
    """The optional sinks, only when their URL is set (README, "Media and the optional sinks"): the lake never
    depends on them, and their clients (elasticsearch, pymongo, pika, confluent-kafka) are imported only then.
    """
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
