from xget_pipelines.sensors.corrections import corrections_sensor
from xget_pipelines.sensors.pool_health import account_pool_health_sensor
from xget_pipelines.sensors.run_alerts import run_failure_alert_sensor
from xget_pipelines.sensors.tasks import scrape_task_sensor
from xget_pipelines.sensors.watchlist import daily_ingest_schedule, hourly_ingest_schedule, watchlist_sensor

__all__ = [
    "account_pool_health_sensor",
    "corrections_sensor",
    "daily_ingest_schedule",
    "hourly_ingest_schedule",
    "run_failure_alert_sensor",
    "scrape_task_sensor",
    "watchlist_sensor",
]
