"""The account and proxy pools as Dagster resources, both kept in the control-plane database."""

import dagster as dg

from xget_pipelines.core.pools.account_pool import AccountPool
from xget_pipelines.core.pools.health import PoolHealth, pool_health
from xget_pipelines.core.pools.proxies import CheckResult, ProxyPool
from xget_pipelines.resources.control_plane import ControlPlaneResource


class AccountPoolResource(dg.ConfigurableResource):
    """X accounts: leases per (account, operation), rotation ``strategy`` (lru, round_robin, health), and
    the health the ``account_pool_health_sensor`` watches (alert below ``min_usable`` accounts)."""

    control_plane: ControlPlaneResource
    strategy: str = "lru"
    min_usable: int = 2

    def pool(self) -> AccountPool:
        return AccountPool(
            self.control_plane.engine(), secrets=self.control_plane.secret_box(), strategy=self.strategy
        )

    def health(self) -> PoolHealth:
        return pool_health(self.control_plane.engine())


class ProxyPoolResource(dg.ConfigurableResource):
    """Proxies: import, health checks through each proxy to ``check_target_url`` (the definitions give the
    emulator's ``/_emulator/whoami``), status, and the sticky account binding that uses the ACTIVE ones."""

    control_plane: ControlPlaneResource
    check_target_url: str = "http://127.0.0.1:8765/_emulator/whoami"

    def pool(self) -> ProxyPool:
        return ProxyPool(self.control_plane.engine(), self.control_plane.secret_box())

    def check(self, **kwargs) -> list[CheckResult]:
        return self.pool().check(target_url=self.check_target_url, **kwargs)
