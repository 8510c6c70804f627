"""The sensor that evaluates the freshness checks of the daily layers (``assets/quality.py``)."""

import dagster as dg

from xget_pipelines.assets.quality import freshness_checks

freshness_sensor = dg.build_sensor_for_freshness_checks(
    freshness_checks=freshness_checks,
    name="freshness_checks_sensor",
    default_status=dg.DefaultSensorStatus.RUNNING,
)
