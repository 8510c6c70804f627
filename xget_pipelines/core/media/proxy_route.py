"""Which way a media download goes: through the proxy pool, as the X client's requests do.

- No proxy in the pool at all: downloads go direct (the embedded default).
- Otherwise each file goes through the next ACTIVE proxy in turn (media hosts need no account, so there is
  no sticky binding to keep; turning spreads the load), and a retry takes the next one.
- A transport error before the answer starts (refused, reset, timed out connecting) or a 407 counts
  against the proxy, reported to the pool exactly as the X client reports it (``ProxyPool.report``); a
  proxy the pool takes out leaves the rotation. A body cut short after the answer started is the media
  host's failure, not the proxy's. The first answer through a proxy that failed reports it well again.
- Proxies exist but none is ACTIVE: no download goes out from the server's own address; the file fails
  with what to do (the pool's rule for accounts, too).
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

import httpx

from xget_pipelines.core.errors import XGetError
from xget_pipelines.core.pools.proxies import ACTIVE, ProxyPool
from xget_pipelines.core.redact import scrub


class NoProxyAvailable(XGetError):
    def __init__(self, known: int):
        super().__init__(
            f"the proxy pool has {known} prox{'y' if known == 1 else 'ies'} and none is ACTIVE; "
            "media are not fetched from the server's own address: run `xget proxies check` "
            "or import working proxies"
        )


@dataclass(frozen=True)
class Via:
    proxy_id: int | None  # None: direct
    client: httpx.Client


class ProxyRoute:
    """Hands out HTTP clients (one connection pool per proxy) and keeps the proxy pool informed."""

    def __init__(self, pool: ProxyPool | None, timeout_s: float = 60.0):
        self._pool, self._timeout_s = pool, timeout_s
        self._lock = threading.Lock()
        self._proxies: list[int] | None = None  # ACTIVE proxy ids in turn; [] with known > 0: none usable
        self._known = 0
        self._urls: dict[int, str] = {}
        self._clients: dict[int | None, httpx.Client] = {}
        self._failed: set[int] = set()
        self._turn = 0
        self.used: dict[str, int] = {}  # "direct" or "proxy <id>" -> files fetched that way

    def _load(self) -> None:
        if self._pool is None:
            self._proxies = []
            return
        self._known = len(self._pool.list())
        self._proxies = [p.id for p in self._pool.available()]
        self._urls = {pid: self._pool.url_for(pid) for pid in self._proxies}

    def _client(self, proxy_id: int | None) -> httpx.Client:
        client = self._clients.get(proxy_id)
        if client is None:
            proxy = self._urls[proxy_id] if proxy_id is not None else None
            client = httpx.Client(
                proxy=proxy, timeout=self._timeout_s, trust_env=False, follow_redirects=True
            )
            self._clients[proxy_id] = client
        return client

    def choose(self) -> Via:
        with self._lock:
            if self._proxies is None:
                self._load()
            if not self._proxies:
                if self._known:
                    raise NoProxyAvailable(self._known)
                return Via(None, self._client(None))
            proxy_id = self._proxies[self._turn % len(self._proxies)]
            self._turn += 1
            return Via(proxy_id, self._client(proxy_id))

    def failed(self, via: Via, error: str) -> None:
        """A transport error or a 407 through ``via``'s proxy: the pool hears of it; a proxy the pool takes
        out leaves the rotation."""
        if via.proxy_id is None or self._pool is None:
            return
        status = self._pool.report(via.proxy_id, ok=False, error=error)
        with self._lock:
            self._failed.add(via.proxy_id)
            if status != ACTIVE and self._proxies and via.proxy_id in self._proxies:
                self._proxies.remove(via.proxy_id)

    def answered(self, via: Via, started: float) -> None:
        """An answer came back through ``via`` (whatever the host said): a proxy that had failed is reported
        well again, so its failures in a row end, as the X client does."""
        with self._lock:
            recovered = via.proxy_id in self._failed
            self._failed.discard(via.proxy_id)
        if recovered and self._pool is not None:
            self._pool.report(via.proxy_id, ok=True, latency_ms=(time.monotonic() - started) * 1000)

    def carried(self, via: Via) -> None:
        """``via`` brought a whole file (counted for the run's metadata)."""
        with self._lock:
            name = "direct" if via.proxy_id is None else f"proxy {via.proxy_id}"
            self.used[name] = self.used.get(name, 0) + 1

    def scrub(self, text: str) -> str:
        """``text`` (an error message) with no proxy credential in it."""
        return scrub(text, [unquote(urlsplit(url).password or "") for url in self._urls.values()])

    def close(self) -> None:
        for client in self._clients.values():
            client.close()
        self._clients.clear()
