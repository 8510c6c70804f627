"""The lake's table names, imported by the lake's writer (``delta.py``) and its SQL views (``catalog.py``).

``KNOWN_TABLES`` lists every table XGet writes, for object stores where the lake cannot list its folders.
A table's path has a slash (``cleaned/tweets``); where a name cannot (a DuckDB view, a Dagster asset key),
``view_name`` is the one mapping: ``cleaned/tweets`` -> ``cleaned_tweets``.
"""

from __future__ import annotations

KNOWN_TABLES = (
    "raw/x_pages",
    "cleaned/tweets",
    "cleaned/users",
    "cleaned/media",
    "cleaned/media_objects",
    "cleaned/hashtags",
    "cleaned/mentions",
    "cleaned/urls",
    "cleaned/tombstones",
    "cleaned/follows",
    "cleaned/corrections",
    "cleaned/about_account_history",
    "cleaned/list_members",
    "cleaned/community_members",
    "cleaned/communities",
    "cleaned/follower_snapshots",
    "cleaned/conversations",
    "cleaned/retweeters",
    "entities/follows",
    "entities/tweets",
    "entities/users",
    "entities/tweet_metrics_history",
    "entities/user_metrics_history",
    "entities/about_accounts",
    "analytics/trends",
    "analytics/tweet_sentiment",
    "analytics/sentiment_daily",
    "analytics/graph_metrics",
    "analytics/user_profiles",
    "analytics/user_daily",
    "analytics/user_day_keys",
    "analytics/cotag_network",
    "analytics/coordination_clusters",
    "analytics/coordination_members",
    "analytics/coordination_evidence",
    "analytics/coordination_coactions",
    "ops/account_pool",
    "ops/coverage",
    "ops/hydration",
)


def view_name(table: str) -> str:
    """The name of a table where a slash cannot be: its DuckDB view, its Dagster asset key."""
    return table.replace("/", "_")
