"""Pointing twscrape 0.20.1 at the emulator (it has no base-URL setting), as an independent client.

Two routes change, nothing else: twscrape's GraphQL base URL (``twscrape.api.GQL_URL``), and where its
transaction-id generator loads X's web app from. ``twscrape.xclid.XClIdGen.create`` fetches
``https://x.com/<handle>`` and the ``https://abs.twimg.com/x-web/...`` bundles through the HTTP client
``xclid`` makes; that client is swapped for one that sends X's hosts to the emulator. twscrape's own
page parsing, key derivation and request loop run unchanged, so the emulator's contract checks
(``contract.py``) see exactly what twscrape would send to X. (twscrape's unit tests stub the generator
instead, which would hide the contract.) Telemetry stays off.
"""

from __future__ import annotations

from typing import Any, Self


class TwscrapePatch:
    """The applied patch; call `restore()` (or use it as a context manager) to undo it."""

    def __init__(self, graphql_url: str):
        import twscrape.api
        import twscrape.xclid

        from xget_pipelines.core.x.browser import DEFAULT_USER_AGENT
        from xget_pipelines.core.x.web import WebClient, XWeb

        web = XWeb.for_graphql_url(graphql_url)

        def make_client(
            *_: Any, proxy: str | None = None, cookies: dict | None = None, **__: Any
        ) -> WebClient:
            return WebClient(web, proxy_url=proxy, cookies=cookies or {}, user_agent=DEFAULT_USER_AGENT)

        self._api, self._xclid = twscrape.api, twscrape.xclid
        # twscrape's telemetry is off already: the package's __init__ turns it off before anything imports it.
        self._saved = (twscrape.api.GQL_URL, twscrape.xclid._make_http_client)
        twscrape.api.GQL_URL = graphql_url.rstrip("/")
        twscrape.xclid._make_http_client = make_client

    def restore(self) -> None:
        url, make_client = self._saved
        self._api.GQL_URL = url
        self._xclid._make_http_client = make_client

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.restore()


def point_twscrape_at(graphql_url: str) -> TwscrapePatch:
    """Makes twscrape send its GraphQL requests, and its page loads for transaction ids, to the emulator
    behind `graphql_url` (e.g. `EmulatorServer.graphql_url`)."""
    return TwscrapePatch(graphql_url)
