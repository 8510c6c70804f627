import dagster as dg
from sqlalchemy import Engine

from xget_pipelines.core.db.engine import get_engine
from xget_pipelines.core.pools.lease import AccountPool
from xget_pipelines.core.pools.proxies import ProxyPool


class ControlPlaneResource(dg.ConfigurableResource):
    """The control-plane SQL database: accounts and their rate-limit windows, proxies, watchlist,
    sessions. The account and proxy pools live in it, so this one resource hands out both."""

    database_url: str
    pool_strategy: str = "lru"

    def engine(self) -> Engine:
        return get_engine(self.database_url)

    def account_pool(self) -> AccountPool:
        return AccountPool(self.engine(), strategy=self.pool_strategy)

    def proxy_pool(self) -> ProxyPool:
        return ProxyPool(self.engine())
