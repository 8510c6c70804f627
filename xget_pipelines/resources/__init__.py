"""Dagster resources: thin, typed wrappers that hand out XGet's core objects and the settings the assets,
sensors and schedules use (built from ``Settings`` in ``environment.py``)."""

from xget_pipelines.resources.alerts import AlertsResource
from xget_pipelines.resources.analytics import SentimentResource, TrendsResource
from xget_pipelines.resources.control_plane import ControlPlaneResource
from xget_pipelines.resources.lake import LakeResource
from xget_pipelines.resources.pools import AccountPoolResource, AccountUpkeepResource, ProxyPoolResource
from xget_pipelines.resources.watchlist import WatchlistResource
from xget_pipelines.resources.x_api import XApiResource

__all__ = [
    "AccountPoolResource",
    "AccountUpkeepResource",
    "AlertsResource",
    "ControlPlaneResource",
    "LakeResource",
    "ProxyPoolResource",
    "SentimentResource",
    "TrendsResource",
    "WatchlistResource",
    "XApiResource",
]
