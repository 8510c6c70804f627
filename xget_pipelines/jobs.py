"""Jobs: the ingest job runs one (date, watchlist key) partition of the raw and cleaned layers."""

import dagster as dg

from xget_pipelines.partitions import watch_daily_partitions

x_ingest_job = dg.define_asset_job(
    "x_ingest",
    selection=dg.AssetSelection.groups("raw", "cleaned"),
    partitions_def=watch_daily_partitions,
    description="Collect one watchlist key for one day from X and parse it into the cleaned tables.",
)
