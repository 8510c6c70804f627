"""Every job of XGet.

Asset jobs: ``x_ingest`` runs one (date, watchlist key) partition of the raw and cleaned layers; ``entities``
merges days of the cleaned layer into the entity tables (a backfill range runs as one run); ``analytics_days``
aggregates again a created day that a later merge added tweets to (``sensors/late_days.py``); ``marts`` and
``sentiment_training`` run the snapshots downstream. Op jobs change how things are stored or known, not the
data, so they stay out of the lineage graph: ``lake_maintenance`` (``maintenance.py``) and
``x_operations_refresh`` (``x_upkeep.py``); ``x_hydrate`` (``hydration.py``) looks a dataset of tweet ids
up, for the API's HYDRATE tasks.
"""

import datetime as dt
import warnings

import dagster as dg

from xget_pipelines.hydration import hydrate_dataset
from xget_pipelines.maintenance import compact_and_vacuum
from xget_pipelines.x_upkeep import refresh_x_operations

x_ingest_job = dg.define_asset_job(
    "x_ingest",
    selection=dg.AssetSelection.groups("raw", "cleaned"),
    description="Collect one watchlist key for one day from X and parse it into the cleaned tables.",
)

# x_ingest joins assets with different backfill policies on purpose: raw_x_pages has none (one run per
# partition, each in the x_api pool, so a backfill is spread over the account pool's rate limits) and the
# cleaned tables run a range as a single run (a rebuild from raw, when they are backfilled on their own).
# Dagster resolves the job to one partition per run, which is what the ingest wants, and warns about the
# mix each time a process loads the code location (every run worker: dozens of lines in the demo).
warnings.filterwarnings(
    "ignore",
    message="Asset job x_ingest materializes assets with varying BackfillPolicies",
    category=UserWarning,
)


def ingest_request(day: dt.date, key: str, reason: str) -> dg.RunRequest:
    """A run request of ``x_ingest`` for one (day, watchlist key), keyed by ``reason`` (a repeated tick
    never launches it twice)."""
    return dg.RunRequest(
        run_key=f"{reason}:{day.isoformat()}|{key}",
        partition_key=dg.MultiPartitionKey({"date": day.isoformat(), "watch": key}),
        tags={"xget/watch_key": key, "xget/reason": reason},
    )


entities_job = dg.define_asset_job(
    "entities",
    # about_accounts asks X (pool x_api) for every author, on its own schedule: not part of a day's merge
    selection=dg.AssetSelection.groups("entities", "analytics")
    - dg.AssetSelection.assets("entities_about_accounts", "cleaned_about_account_history"),
    description="Merge the cleaned observations of a day into deduplicated tweets, users and metric "
    "histories, "
    "then the analytics over them (trends, coordination, per-user daily aggregates, co-tag network).",
)


analytics_days_job = dg.define_asset_job(
    "analytics_days",
    selection=dg.AssetSelection.assets(
        "analytics_user_daily", "analytics_cotag_network", "analytics_coordination"
    ),
    description="Aggregate the tweets created on a day again (per-user daily aggregates, the co-tag "
    "network, the day's coordination co-actions), when a later merge added tweets of that day "
    "(late_days_sensor).",
)


marts_job = dg.define_asset_job(
    "marts",
    selection=dg.AssetSelection.assets("tweet_sentiment", "sentiment_daily")
    | dg.AssetSelection.groups("profiles", "marts"),
    description="Score new tweets' sentiment and aggregate it per day, the graph metrics and the user "
    "profiles (merged from the daily aggregates), then dbt build: the marts, with their dbt tests as checks.",
)

sentiment_training_job = dg.define_asset_job(
    "sentiment_training",
    selection=dg.AssetSelection.assets("sentiment_model"),
    description="Train the tweet sentiment model on the labelled tweets (about 40k; set limit for a quick "
    "one).",
)


@dg.job(
    description="Compact small files, checkpoint the log and vacuum unused files of every lake table "
    "(XGET_LAKE_VACUUM_RETENTION_HOURS bounds time travel)."
)
def lake_maintenance():
    compact_and_vacuum()


@dg.job(
    description="Read X's web bundles for the current GraphQL query ids and feature switches "
    "(`xget x ops` lists them)."
)
def x_operations_refresh():
    refresh_x_operations()


@dg.job(
    description="Look every tweet id of a dataset up on X through the account pool (a HYDRATE task; "
    "`xget hydrate` does the same): pages raw, found tweets cleaned, a status per id in ops/hydration."
)
def x_hydrate():
    hydrate_dataset()
