"""X's web app as XGet loads it: the hosts it lives on, and an HTTP client like the account's browser.

Two things only X's web app gives a client: the material of ``x-client-transaction-id`` (``transaction.py``)
and the current query ids and feature switches (``operations.py``). Both come from a page load
(``https://x.com/home``) and the bundles it links (``https://abs.twimg.com/x-web/...``), made the way the
account's browser would: through its proxy, with its cookies and user agent.

``XWeb`` says where those hosts are. Against real X it is X itself; against the offline emulator the
emulator serves X's paths, and ``XWeb.for_graphql_url`` maps X's hosts onto it (the page still names
``https://abs.twimg.com/...``, as X's does, and the client rewrites the address on the way out, after the
cookie jar has chosen the cookies for ``x.com``).
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar
from urllib.parse import urlsplit

import httpx
from twscrape.http import HttpClient, HttpStatusError, Response

from xget_pipelines.core.x.browser import page_headers

X_WEB_URL = "https://x.com"
X_HOSTS = ("https://x.com/", "https://abs.twimg.com/")
T = TypeVar("T")


@dataclass(frozen=True)
class XWeb:
    """Where X's web app is: ``web_url`` (its pages) and ``hosts``, prefixes rewritten before sending."""

    web_url: str = X_WEB_URL
    hosts: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def for_graphql_url(cls, graphql_url: str, hosts: Mapping[str, str] | None = None) -> XWeb:
        """X itself when ``graphql_url`` is X's; otherwise X's hosts mapped onto the server behind
        ``graphql_url`` (the emulator), unless ``hosts`` says otherwise."""
        if hosts:
            return cls(hosts=dict(hosts))
        parts = urlsplit(graphql_url)
        host = parts.hostname or ""
        if host == "x.com" or host.endswith(".x.com") or host.endswith("twitter.com"):
            return cls()
        base = f"{parts.scheme}://{parts.netloc}/"
        return cls(hosts={prefix: base for prefix in X_HOSTS})

    def rewrite(self, url: str) -> str:
        for prefix, target in self.hosts.items():
            if url.startswith(prefix):
                return target + url[len(prefix) :]
        return url


class _Rewriting(httpx.AsyncBaseTransport):
    """Sends each request to ``XWeb.rewrite`` of its URL (cookies and headers are already chosen)."""

    def __init__(self, inner: httpx.AsyncBaseTransport, web: XWeb):
        self.inner, self.web = inner, web

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        target = self.web.rewrite(str(request.url))
        if target != str(request.url):
            request.url = httpx.URL(target)
            request.headers["host"] = request.url.netloc.decode("ascii")
        return await self.inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self.inner.aclose()


class WebClient(HttpClient):
    """An account's browser, for page and bundle loads (twscrape's ``HttpClient`` interface, so twscrape's
    own ``xclid`` can use it). Cookies go to ``.x.com`` only, as a browser's would; the last URL a
    redirect chain ended on is kept in ``last_url`` (a signed-out session ends on the login flow)."""

    backend = "httpx"

    def __init__(
        self,
        web: XWeb,
        *,
        proxy_url: str | None,
        cookies: Mapping[str, str],
        user_agent: str,
        timeout_s: float = 20.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ):
        inner = transport or httpx.AsyncHTTPTransport(proxy=proxy_url, retries=1)
        self._client = httpx.AsyncClient(
            transport=_Rewriting(inner, web),
            follow_redirects=True,
            timeout=timeout_s,
            headers=page_headers(user_agent),
        )
        for name, value in cookies.items():
            self._client.cookies.set(name, value, domain=".x.com")
        self.last_url: str | None = None

    @property
    def cookies(self) -> Any:
        return self._client.cookies

    @property
    def headers(self) -> Any:
        return self._client.headers

    async def request(self, method: str, url: str, **kwargs: Any) -> Response:
        rep = await self._client.request(method, url, **kwargs)
        self.last_url = str(rep.url)
        return Response(rep)

    async def aclose(self) -> None:
        await self._client.aclose()

    async def text(self, url: str) -> str:
        rep = await self.get(url)
        rep.raise_for_status()
        return rep.text


def run(coro: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine to its end from synchronous code, also when an event loop runs in this thread
    (the API server, a notebook): then on a thread of its own."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coro)
    box: dict[str, Any] = {}

    def target() -> None:
        try:
            box["value"] = asyncio.run(coro)
        except BaseException as exc:  # noqa: BLE001 - re-raised in the caller's thread
            box["error"] = exc

    thread = threading.Thread(target=target, name="xget-web", daemon=True)
    thread.start()
    thread.join()
    if "error" in box:
        raise box["error"]
    return box["value"]


__all__ = ["X_WEB_URL", "HttpStatusError", "WebClient", "XWeb", "run"]
