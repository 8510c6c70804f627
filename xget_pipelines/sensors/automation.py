"""Declarative automation: the entities, trends, sentiment and marts (eager conditions on the assets) follow
the ingest on their own once a day's cleaned data lands; the scrape itself is driven by the watchlist sensor
and the schedules."""

import dagster as dg

automation_sensor = dg.AutomationConditionSensorDefinition(
    "xget_automation_sensor",
    target=dg.AssetSelection.all(),
    default_status=dg.DefaultSensorStatus.RUNNING,
    minimum_interval_seconds=60,
)
