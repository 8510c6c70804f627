"""Every PartitionsDefinition of XGet.

Scrape and cleaned assets are partitioned by watchlist key (dynamic: search terms and @accounts,
added by the watchlist sensor) crossed with the day the data belongs to. Multi-partition keys read
``<date>|<key>`` (Dagster orders dimensions by name).
"""

import warnings

import dagster as dg

from xget_pipelines.settings import get_settings

watchlist_partitions = dg.DynamicPartitionsDefinition(name="watchlist")

# The first day of the daily partitions (XGET_PARTITIONS_START_DATE) is the one setting the Dagster layer
# reads outside definitions.py: a partitions definition is part of the asset definitions, which exist when
# the asset modules are imported, before definitions.py builds any resource. get_settings() is cached, so
# this is the Settings object definitions.py builds everything else from.
START_DATE = get_settings().partitions_start_date

daily_partitions = dg.DailyPartitionsDefinition(start_date=START_DATE, end_offset=1, timezone="UTC")

watch_daily_partitions = dg.MultiPartitionsDefinition(
    {"date": daily_partitions, "watch": watchlist_partitions}
)

# A daily asset downstream of the (date, key) assets depends on every key of its date.
with warnings.catch_warnings():  # beta in Dagster 1.13, and the way to map (date, key) partitions to dates
    warnings.simplefilter("ignore", dg.BetaWarning)
    BY_DATE = dg.MultiToSingleDimensionPartitionMapping(partition_dimension_name="date")


def split_partition_key(partition_key: dg.MultiPartitionKey | str) -> tuple[str, str]:
    """(day ISO string, watchlist key) of a ``watch_daily_partitions`` key."""
    if isinstance(partition_key, dg.MultiPartitionKey):
        dims = partition_key.keys_by_dimension
        return dims["date"], dims["watch"]
    day, _, key = str(partition_key).partition("|")
    return day, key


# Lake writes retry commit conflicts on their own (core/lake/delta.py); a run that still fails (a writer
# that kept winning for minutes, an object store that blinked) is tried again by Dagster: the writes are
# idempotent (partition replaces and key merges), so a retry never doubles anything.
LAKE_WRITE_RETRY = dg.RetryPolicy(
    max_retries=2, delay=15, backoff=dg.Backoff.EXPONENTIAL, jitter=dg.Jitter.PLUS_MINUS
)

# Unpartitioned assets downstream of partitioned ones (the sentiment, profile and graph snapshots, the sinks):
# plain eager() waits until no parent partition is missing, which never happens for a daily parent (most days
# of the calendar hold no run), so they would never fire. They fire when any parent partition is updated.
ON_PARENT_UPDATES = dg.AutomationCondition.eager().without(~dg.AutomationCondition.any_deps_missing())
