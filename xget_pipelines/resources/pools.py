"""The account and proxy pools as Dagster resources, both kept in the control-plane database."""

from datetime import datetime

import dagster as dg

from xget_pipelines.core.pools.account_cadence import AccountCadence, AccountUpkeepTick
from xget_pipelines.core.pools.account_login import LoginSetup
from xget_pipelines.core.pools.account_pool import AccountPool
from xget_pipelines.core.pools.account_upkeep import upkeep_tick as account_upkeep_tick
from xget_pipelines.core.pools.health import PoolHealth, pool_health
from xget_pipelines.core.pools.proxies import Cadence, CheckResult, ProxyPool
from xget_pipelines.core.pools.proxy_upkeep import UpkeepTick, upkeep_tick
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


class AccountUpkeepResource(dg.ConfigurableResource):
    """Account upkeep (``core/pools/account_upkeep.py``), run by the account upkeep sensor: one cheap request
    as each ACTIVE account every ``check_interval_s`` through ``graphql_url``; an account out for its session
    logged in again (``login_url``, ``web_url`` for Google, the mailboxes of ``imap_*``) with backoff from
    ``login_backoff_s`` up to ``login_backoff_max_s``, at most ``logins_per_day`` a UTC day; suspended and
    locked ones asked again every ``recheck_refused_s``. A tick looks at ``checks_per_tick`` accounts at
    most, of which ``logins_per_tick`` log in."""

    control_plane: ControlPlaneResource
    graphql_url: str = "http://127.0.0.1:8765/i/api/graphql"
    login_url: str = "http://127.0.0.1:8765"
    web_url: str = ""
    imap_server: str = ""
    imap_ssl: bool = True
    imap_folders: str = "INBOX"
    imap_timeout_s: float = 60.0
    imap_poll_s: float = 2.0
    imap_ca_file: str = ""
    chromium_path: str = "/usr/bin/chromium"
    google_login_timeout_s: float = 90.0
    check_interval_s: float = 3600.0
    recheck_refused_s: float = 21600.0
    login_backoff_s: float = 900.0
    login_backoff_max_s: float = 21600.0
    logins_per_day: int = 3
    checks_per_tick: int = 8
    logins_per_tick: int = 2

    def pool(self) -> AccountPool:
        return AccountPool(self.control_plane.engine(), secrets=self.control_plane.secret_box())

    def cadence(self) -> AccountCadence:
        return AccountCadence(
            self.check_interval_s,
            self.recheck_refused_s,
            self.login_backoff_s,
            self.login_backoff_max_s,
            self.logins_per_day,
        )

    def login_setup(self) -> LoginSetup:
        return LoginSetup.configured(
            self.login_url,
            self.web_url,
            self,
            self.chromium_path,
            self.google_login_timeout_s,
            self.control_plane.home,
        )

    def upkeep(self, now: datetime) -> AccountUpkeepTick:
        """One tick of account upkeep at ``now``."""
        return account_upkeep_tick(
            self.pool(),
            self.graphql_url,
            self.login_setup(),
            now,
            self.cadence(),
            max_per_tick=self.checks_per_tick,
            logins_per_tick=self.logins_per_tick,
        )


class ProxyPoolResource(dg.ConfigurableResource):
    """Proxies: import, health checks through each proxy to ``check_target_url`` (XGET_PROXY_CHECK_URL),
    status, the sticky account binding that uses the ACTIVE ones, and the upkeep the proxy upkeep sensor
    runs: every proxy checked every ``check_interval_s``, failing ones re-checked with backoff from
    ``recheck_base_s`` up to ``recheck_max_s`` (0: the interval), at most ``checks_per_tick`` a tick."""

    control_plane: ControlPlaneResource
    check_target_url: str = "http://127.0.0.1:8765/_emulator/whoami"
    check_interval_s: float = 900.0
    recheck_base_s: float = 60.0
    recheck_max_s: float = 0.0
    checks_per_tick: int = 32

    def pool(self) -> ProxyPool:
        return ProxyPool(self.control_plane.engine(), self.control_plane.secret_box())

    def cadence(self) -> Cadence:
        return Cadence(self.check_interval_s, self.recheck_base_s, self.recheck_max_s or None)

    def check(self, **kwargs) -> list[CheckResult]:
        return self.pool().check(target_url=self.check_target_url, cadence=self.cadence(), **kwargs)

    def upkeep(self, now: datetime) -> UpkeepTick:
        """One tick of proxy upkeep at ``now`` (``core/pools/proxy_upkeep.py``)."""
        return upkeep_tick(
            self.pool(), self.check_target_url, now, self.cadence(), max_per_tick=self.checks_per_tick
        )
