"""Every sensor of XGet but the optional sinks' (``sensors/events.py``, loaded only with its broker URL)."""

from xget_pipelines.sensors.account_upkeep import ACCOUNT_POOL_ASSET, account_upkeep_sensor
from xget_pipelines.sensors.automation import automation_sensor
from xget_pipelines.sensors.backfills import watch_backfill_sensor
from xget_pipelines.sensors.corrections import corrections_sensor
from xget_pipelines.sensors.freshness import freshness_sensor
from xget_pipelines.sensors.late_days import late_days_sensor
from xget_pipelines.sensors.pool_health import account_pool_health_sensor
from xget_pipelines.sensors.proxy_upkeep import PROXY_POOL_ASSET, proxy_upkeep_sensor
from xget_pipelines.sensors.run_alerts import run_failure_alert_sensor, run_recovery_alert_sensor
from xget_pipelines.sensors.tasks import scrape_task_sensor
from xget_pipelines.sensors.watchlist import watchlist_sensor

__all__ = [
    "ACCOUNT_POOL_ASSET",
    "PROXY_POOL_ASSET",
    "account_pool_health_sensor",
    "account_upkeep_sensor",
    "automation_sensor",
    "corrections_sensor",
    "freshness_sensor",
    "late_days_sensor",
    "proxy_upkeep_sensor",
    "run_failure_alert_sensor",
    "run_recovery_alert_sensor",
    "scrape_task_sensor",
    "watch_backfill_sensor",
    "watchlist_sensor",
]
