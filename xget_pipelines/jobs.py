"""Jobs: the ingest job runs one (date, watchlist key) partition of the raw and cleaned layers."""

import dagster as dg


x_ingest_job = dg.define_asset_job(
    "x_ingest",
    selection=dg.AssetSelection.groups("raw", "cleaned"),
    description="Collect one watchlist key for one day from X and parse it into the cleaned tables.",
)
