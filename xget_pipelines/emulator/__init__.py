"""Offline X emulator: a local server speaking X's web GraphQL API over a synthetic world.

from xget_pipelines.emulator import EmulatorServer, EmulatorSettings, WorldConfig

with EmulatorServer(WorldConfig(users=300, tweets=5000)) as emu:
    ...  # emu.url, emu.graphql_url
"""

from .app import create_app
from .runner import EmulatorServer, serve
from .settings import DEFAULT_RATE_LIMITS, EmulatorSettings, FaultRule, Faults
from .twscrape_compat import point_twscrape_at
from .world import World, WorldConfig

__all__ = [
    "DEFAULT_RATE_LIMITS",
    "EmulatorServer",
    "EmulatorSettings",
    "FaultRule",
    "Faults",
    "World",
    "WorldConfig",
    "create_app",
    "point_twscrape_at",
    "serve",
]
