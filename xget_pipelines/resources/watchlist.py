"""The watchlist (search terms and @accounts in the control-plane DB) as the sensors and schedules read it."""

import dagster as dg
from pydantic import Field

from xget_pipelines.core.db.watchlist import active_keys
from xget_pipelines.resources.control_plane import ControlPlaneResource


class WatchlistResource(dg.ConfigurableResource):
    """The active watchlist keys, and how many recent days the watchlist sensor collects for a new key."""

    control_plane: ControlPlaneResource
    backfill_days: int = Field(
        default=3,
        description="Days collected when a key is added, today included (XGET_WATCH_BACKFILL_DAYS).",
    )

    def active_keys(self) -> list[str]:
        return active_keys(self.control_plane.engine())
