"""Pointing twscrape 0.20.1 at the emulator (it has no base-URL setting).

Three patches, as twscrape's own tests do: the GraphQL base URL, the x-client-transaction-id
generator (which would otherwise fetch x.com's home page) and telemetry (off).
"""

from __future__ import annotations

import os
import zlib
from typing import Any, Self


class _TransactionIds:
    """Stands in for twscrape's XClIdGen: any non-empty header value is accepted."""

    def calc(self, method: str, path: str) -> str:
        return f"emulator-{method.lower()}-{zlib.crc32(path.encode()):08x}"


_GEN = _TransactionIds()


async def _get(
    cls: Any, username: str, proxy: str | None = None, cookies: dict | None = None, fresh: bool = False
) -> _TransactionIds:
    return _GEN


class TwscrapePatch:
    """The applied patch; call `restore()` (or use it as a context manager) to undo it."""

    def __init__(self, graphql_url: str):
        import twscrape.api
        import twscrape.queue_client

        self._api = twscrape.api
        self._store = twscrape.queue_client.XClIdGenStore
        self._saved = (twscrape.api.GQL_URL, self._store.__dict__["get"], os.environ.get("TWS_TELEMETRY"))
        os.environ["TWS_TELEMETRY"] = "0"
        twscrape.api.GQL_URL = graphql_url.rstrip("/")
        self._store.get = classmethod(_get)  # type: ignore[method-assign,assignment]

    def restore(self) -> None:
        url, getter, telemetry = self._saved
        self._api.GQL_URL = url
        self._store.get = getter  # type: ignore[method-assign]
        if telemetry is None:
            os.environ.pop("TWS_TELEMETRY", None)
        else:
            os.environ["TWS_TELEMETRY"] = telemetry

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.restore()


def point_twscrape_at(graphql_url: str) -> TwscrapePatch:
    """Makes twscrape send its GraphQL requests to `graphql_url` (e.g. `EmulatorServer.graphql_url`)."""
    return TwscrapePatch(graphql_url)
