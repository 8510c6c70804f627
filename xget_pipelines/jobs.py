"""Jobs: ``x_ingest`` runs one (date, watchlist key) partition of the raw and cleaned layers; ``entities``
merges days of the cleaned layer into the entity tables (a backfill range runs as one run)."""

import dagster as dg

x_ingest_job = dg.define_asset_job(
    "x_ingest",
    selection=dg.AssetSelection.groups("raw", "cleaned"),
    description="Collect one watchlist key for one day from X and parse it into the cleaned tables.",
)


entities_job = dg.define_asset_job(
    "entities",
    selection=dg.AssetSelection.groups("entities", "analytics"),
    description="Merge the cleaned observations of a day into deduplicated tweets, users and metric histories, "
    "then the analytics over them (trends).",
)


marts_job = dg.define_asset_job(
    "marts",
    selection=dg.AssetSelection.assets("tweet_sentiment", "sentiment_daily")
    | dg.AssetSelection.groups("profiles", "marts"),
    description="Score new tweets' sentiment and aggregate it per day, the user profiles, graph metrics and "
    "co-hashtag network, then dbt build: the marts, with their dbt tests as checks.",
)

sentiment_training_job = dg.define_asset_job(
    "sentiment_training",
    selection=dg.AssetSelection.assets("sentiment_model"),
    description="Train the tweet sentiment model on the labelled tweets (about 40k; set limit for a quick one).",
)
