from pathlib import Path

import dagster as dg
from pydantic import Field
from sqlalchemy import Engine

from xget_pipelines.core.db.engine import get_engine
from xget_pipelines.core.secrets import SecretBox


class ControlPlaneResource(dg.ConfigurableResource):
    """The control-plane SQL database: accounts and their rate-limit windows, proxies, watchlist,
    sessions (SQLite by default, PostgreSQL in production), and the installation key that encrypts their
    secrets. The pools are resources over it (``AccountPoolResource``, ``ProxyPoolResource``)."""

    database_url: str
    home: str = Field(default=".xget", description="XGet's home: <home>/secret.key unless secret_key is set.")
    secret_key: str = Field(
        default="",
        description="The Fernet key (XGET_SECRET_KEY, shown by its name only); empty: the key file.",
    )

    def engine(self) -> Engine:
        return get_engine(self.database_url)

    def secret_box(self) -> SecretBox:
        return SecretBox.from_key_or_file(self.secret_key or None, Path(self.home))
