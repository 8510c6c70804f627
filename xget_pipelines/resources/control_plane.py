import dagster as dg
from sqlalchemy import Engine

from xget_pipelines.core.db.engine import get_engine


class ControlPlaneResource(dg.ConfigurableResource):
    """The control-plane SQL database: accounts and their rate-limit windows, proxies, watchlist,
    sessions (SQLite by default, PostgreSQL in production). The pools are resources over it
    (``AccountPoolResource``, ``ProxyPoolResource``)."""

    database_url: str

    def engine(self) -> Engine:
        return get_engine(self.database_url)
