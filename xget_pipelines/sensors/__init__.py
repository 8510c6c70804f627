from xget_pipelines.sensors.watchlist import daily_ingest_schedule, watchlist_sensor

__all__ = ["daily_ingest_schedule", "watchlist_sensor"]
