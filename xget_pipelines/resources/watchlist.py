"""The watchlist (search terms and @accounts in the control-plane DB) as the sensors and schedules read it."""

import dagster as dg
from pydantic import Field

from xget_pipelines.core.db.watchlist import active_keys
from xget_pipelines.resources.control_plane import ControlPlaneResource


class WatchlistResource(dg.ConfigurableResource):
    """The active watchlist keys, how many recent days the watchlist sensor collects for a new key, and how
    many runs of a backfill the backfill sensor keeps in flight."""

    control_plane: ControlPlaneResource
    backfill_days: int = Field(
        default=3,
        description="Days collected when a key is added, today included (XGET_WATCH_BACKFILL_DAYS).",
    )
    backfill_runs_in_flight: int = Field(
        default=8,
        description="Runs of one backfill queued or running at once (XGET_BACKFILL_RUNS_IN_FLIGHT).",
    )

    def active_keys(self) -> list[str]:
        return active_keys(self.control_plane.engine())
