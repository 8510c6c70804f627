"""What every ``xget`` command runs against: the settings, read once per invocation (the CLI is an entry
point: ``XGET_*`` variables and ``.env``), and the control-plane database and the lake they name.

The app's callback (``cli.py``) reads the settings before any command runs; the command modules take them
from here, so none of them imports another to reach a shared helper.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from xget_pipelines.settings import Settings

if TYPE_CHECKING:
    import sqlalchemy as sa

    from xget_pipelines.core.lake.delta import Lake
    from xget_pipelines.core.secrets import SecretBox

_CURRENT: list[Settings] = []


def load_settings() -> Settings:
    """Read the settings for this invocation: each ``xget`` command sees the environment it was started in."""
    _CURRENT[:] = [Settings()]
    return _CURRENT[0]


def settings() -> Settings:
    return _CURRENT[0] if _CURRENT else load_settings()


def secret_box() -> SecretBox:
    return settings().secret_box()


def engine() -> sa.Engine:
    from xget_pipelines.core.db.engine import get_engine

    return get_engine(settings().resolved_database_url)


def lake() -> Lake:
    from xget_pipelines.core.lake.delta import Lake

    current = settings()
    return Lake(current.resolved_lake_uri, current.lake_storage_options)
