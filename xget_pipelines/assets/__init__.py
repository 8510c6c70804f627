"""XGet's assets and asset checks (the warning filters come first: see warning_filters.py)."""

from xget_pipelines.assets import warning_filters  # noqa: F401
from xget_pipelines.assets.about import about_accounts
from xget_pipelines.assets.analytics import analytics_trends
from xget_pipelines.assets.checks import asset_checks
from xget_pipelines.assets.cleaned import cleaned_tables
from xget_pipelines.assets.coordination import analytics_coordination
from xget_pipelines.assets.entities import entity_tables
from xget_pipelines.assets.pool_stats import account_pool_stats
from xget_pipelines.assets.profile_daily import analytics_cotag_network, analytics_user_daily
from xget_pipelines.assets.profiles import analytics_graph_metrics, analytics_user_profiles
from xget_pipelines.assets.raw import raw_x_pages
from xget_pipelines.assets.sentiment import sentiment_daily, sentiment_model, tweet_sentiment

ingest_assets = [raw_x_pages, cleaned_tables]

entity_assets = [entity_tables]

# In the entities group too, but not a day's merge: it asks X for every author (its own schedule).
about_assets = [about_accounts]

analytics_assets = [analytics_trends, analytics_coordination]

sentiment_assets = [sentiment_model, tweet_sentiment, sentiment_daily]

# analytics_user_daily and analytics_cotag_network are daily partitions (group analytics: the entities job
# runs them with the day's merge); the graph metrics and the profile merge are unpartitioned.
profile_assets = [
    analytics_user_daily,
    analytics_graph_metrics,
    analytics_user_profiles,
    analytics_cotag_network,
]

ops_assets = [account_pool_stats]

__all__ = [
    "about_accounts",
    "about_assets",
    "analytics_coordination",
    "analytics_cotag_network",
    "analytics_graph_metrics",
    "analytics_user_daily",
    "analytics_user_profiles",
    "profile_assets",
    "analytics_assets",
    "analytics_trends",
    "account_pool_stats",
    "asset_checks",
    "cleaned_tables",
    "entity_assets",
    "entity_tables",
    "ingest_assets",
    "ops_assets",
    "sentiment_assets",
    "sentiment_daily",
    "sentiment_model",
    "tweet_sentiment",
    "raw_x_pages",
]
