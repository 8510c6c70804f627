"""Every PartitionsDefinition of XGet.

Scrape and cleaned assets are partitioned by watchlist key (dynamic: search terms and @accounts,
added by the watchlist sensor) crossed with the day the data belongs to. Multi-partition keys read
``<date>|<key>`` (Dagster orders dimensions by name).
"""

import dagster as dg

from xget_pipelines.settings import get_settings

watchlist_partitions = dg.DynamicPartitionsDefinition(name="watchlist")

daily_partitions = dg.DailyPartitionsDefinition(
    start_date=get_settings().partitions_start_date, end_offset=1, timezone="UTC"
)

watch_daily_partitions = dg.MultiPartitionsDefinition({"date": daily_partitions, "watch": watchlist_partitions})


def split_partition_key(partition_key: dg.MultiPartitionKey | str) -> tuple[str, str]:
    """(day ISO string, watchlist key) of a ``watch_daily_partitions`` key."""
    if isinstance(partition_key, dg.MultiPartitionKey):
        dims = partition_key.keys_by_dimension
        return dims["date"], dims["watch"]
    day, _, key = str(partition_key).partition("|")
    return day, key
