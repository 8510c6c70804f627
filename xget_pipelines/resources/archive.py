import dagster as dg
from pydantic import Field

from xget_pipelines.core.redact import masked_url
from xget_pipelines.core.sinks.archive import PageArchive


class ArchiveResource(dg.ConfigurableResource):
    """The MongoDB raw-page archive (``XGET_ARCHIVE_URL``, ``XGET_ARCHIVE_DATABASE``). The URL is a secret
    (it may carry a password): pass it as ``dg.EnvVar("XGET_ARCHIVE_URL")`` so the UI shows the variable's
    name, and show it only through ``display_url()``."""

    url: str = Field(description="mongodb://[user:password@]host:port/ of the archive (a secret).")
    database: str = Field(default="xget", description="Database holding raw_pages and _xget_state.")
    batch_size: int = Field(default=200, description="Pages per unordered bulk upsert.")
    timeout_s: float = Field(default=10.0, description="How long to wait for the server before failing.")

    def display_url(self) -> str:
        return masked_url(self.url)

    def open(self) -> PageArchive:
        return PageArchive(self.url, self.database, self.timeout_s)
