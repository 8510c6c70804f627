"""A real OpenSearch-API server for the search sink tests, and a TCP forwarder to break the line to it.

``start_search_server()`` starts osmem-server (the PyPI package ``osmem-server``: an in-memory server of the
OpenSearch REST API, a Go binary) on a free port; ``server.clone()`` is an empty copy of its cluster on a port
of its own, so each test gets a clean cluster for about a millisecond. ``server.process`` is the real process:
a test can kill it.

``Forwarder(url)`` listens on a free port and relays every connection to ``url``: the sink talks to the
forwarder's stable URL while the test kills the server behind it and starts another (``retarget``), cuts the
line (``cut``: connections are reset, like a server that went away) and restores it, or strips the
``X-Elastic-Product`` header osmem sends and real OpenSearch does not. ``before_bulk(n, action)`` runs
``action`` when the (n+1)th bulk request from now arrives, that is once ``n`` more bulk requests have been
answered: the moment "the server goes down mid-run" happens at, without sleeping or timing anything.
"""

from __future__ import annotations

import re
import socket
import struct
import threading
from collections.abc import Callable
from urllib.parse import urlsplit

import pytest

_BULK = re.compile(rb"^(POST|PUT) /(?:[^/\s]+/)?_bulk")
_PRODUCT = re.compile(rb"\r\nX-Elastic-Product: [^\r\n]*", re.IGNORECASE)


def start_search_server():
    """A fresh osmem-server process (fails the test, never skips, when it cannot start)."""
    from osmem_server import OsmemError, OsmemServer

    try:
        return OsmemServer.start(japanese=False)
    except OsmemError as exc:
        pytest.fail(
            f"the OpenSearch-API test server (osmem-server, in requirements.lock) did not start: {exc}"
        )


class Forwarder:
    def __init__(self, upstream_url: str, strip_product_header: bool = False):
        self.retarget(upstream_url)
        self.strip_product_header = strip_product_header
        self.down = False
        self.bulk_requests = 0
        self._hook: tuple[int, Callable[[], None]] | None = None
        self._lock = threading.Lock()
        self._sockets: set[socket.socket] = set()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self._listener.getsockname()[1]}"
        threading.Thread(target=self._accept, name="search-forwarder", daemon=True).start()

    def retarget(self, upstream_url: str) -> None:
        parts = urlsplit(upstream_url)
        self.upstream = (parts.hostname, parts.port)

    def before_bulk(self, answered: int, action: Callable[[], None]) -> None:
        """Run ``action`` when the bulk request after the next ``answered`` ones arrives, before relaying
        it."""
        self._hook = (self.bulk_requests + answered + 1, action)

    def cut(self) -> None:
        """Reset every open connection and every new one until ``restore``."""
        self.down = True
        with self._lock:
            for sock in list(self._sockets):
                _reset(sock)
            self._sockets.clear()

    def restore(self) -> None:
        self.down, self._hook = False, None

    def close(self) -> None:
        self.cut()
        self._listener.close()

    def __enter__(self) -> Forwarder:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return  # closed
            if self.down:
                _reset(client)
                continue
            try:
                server = socket.create_connection(self.upstream, timeout=5)
            except OSError:
                _reset(client)  # the server is gone: the client sees its connection dropped
                continue
            server.settimeout(None)
            with self._lock:
                self._sockets.update((client, server))
            threading.Thread(target=self._pump, args=(client, server, True), daemon=True).start()
            threading.Thread(target=self._pump, args=(server, client, False), daemon=True).start()

    def _pump(self, source: socket.socket, target: socket.socket, upstream: bool) -> None:
        try:
            while data := source.recv(65536):
                if upstream and _BULK.match(data):
                    self.bulk_requests += 1
                    hook = self._hook
                    if hook is not None and self.bulk_requests == hook[0]:
                        self._hook = None
                        hook[1]()
                    if self.down:
                        break
                if not upstream and self.strip_product_header:
                    data = _PRODUCT.sub(b"", data)
                target.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (source, target):
                _reset(sock)
            with self._lock:
                self._sockets.difference_update((source, target))


def _reset(sock: socket.socket) -> None:
    """Close with a TCP reset (linger 0), as a crashed server's connections end; shutting the reading side
    first wakes a thread blocked in ``recv`` on it (a bare close does not)."""
    for step in (
        lambda: sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0)),
        lambda: sock.shutdown(socket.SHUT_RD),
        sock.close,
    ):
        try:
            step()
        except OSError:
            pass
