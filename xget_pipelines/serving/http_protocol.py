"""The HTTP protocol ``xget api`` serves with: uvicorn's own (httptools, or h11 without it), plus a deadline
for a request's headers (issue 16, finding 3).

uvicorn has no header-read timeout: a connection that sends half a request line and then nothing is held
until the client goes away, so a few thousand such sockets (slowloris) hold every file descriptor and
connection slot of the process. Its keep-alive timer does not cover it: it is armed only after a response
and any byte received disarms it.

The deadline (``header_timeout_s``, ``XGET_API_HEADER_TIMEOUT_S``) is armed when a connection is made and
again when a response is complete (the next request of a kept-alive connection starts then), and disarmed when
a request's headers are complete: from there the application has the request, and a slow body is the body
limits' business (``gateway.BodyLimitMiddleware``), a long answer (an export) the application's. When it
passes, the connection is closed without an answer (a client that sends no request reads none). A WebSocket
upgrade disarms it too: the connection is no longer HTTP's.

The protocol classes take the deadline as a keyword argument; ``header_timeout_protocol`` binds it with
``functools.partial``, which uvicorn accepts as its ``http=`` protocol class and which pickles (by reference
to these module-level classes) into the worker processes of ``xget api --workers N``.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from typing import Any

from uvicorn.protocols.http.h11_impl import H11Protocol

try:
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
except ImportError:  # pragma: no cover - httptools is a dependency; uvicorn's h11 protocol is its fallback
    HttpToolsProtocol = None  # type: ignore[assignment,misc]

log = logging.getLogger("xget.api")


class HeaderDeadline:
    """Mixin over a uvicorn HTTP protocol: closes a connection whose request headers are not complete within
    ``header_timeout_s`` of the connection or of the previous response."""

    loop: asyncio.AbstractEventLoop
    transport: asyncio.Transport
    client: tuple[str, int] | None

    def __init__(self, *args: Any, header_timeout_s: float = 10.0, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.header_timeout_s = header_timeout_s
        self.header_deadline: asyncio.TimerHandle | None = None

    def arm_header_deadline(self) -> None:
        self.disarm_header_deadline()
        self.header_deadline = self.loop.call_later(self.header_timeout_s, self.header_deadline_passed)

    def disarm_header_deadline(self) -> None:
        if self.header_deadline is not None:
            self.header_deadline.cancel()
            self.header_deadline = None

    def header_deadline_passed(self) -> None:
        self.header_deadline = None
        if self.transport is not None and not self.transport.is_closing():
            log.debug(
                "closing a connection from %s: no complete request headers within %s s",
                self.client[0] if self.client else "?",
                self.header_timeout_s,
            )
            self.transport.close()

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)  # type: ignore[misc]
        self.arm_header_deadline()

    def connection_lost(self, exc: Exception | None) -> None:
        self.disarm_header_deadline()
        super().connection_lost(exc)  # type: ignore[misc]

    def handle_websocket_upgrade(self, *args: Any) -> None:
        self.disarm_header_deadline()
        super().handle_websocket_upgrade(*args)  # type: ignore[misc]


class H11HeaderTimeoutProtocol(HeaderDeadline, H11Protocol):
    """uvicorn's h11 protocol with the header deadline. h11 hands a request over in ``handle_events`` (a new
    request-response cycle); it also runs there the pipelined request a finished response unblocks."""

    def handle_events(self) -> None:
        cycle = self.cycle
        super().handle_events()
        if self.cycle is not cycle:  # a request's headers were complete: the application has it
            self.disarm_header_deadline()

    def on_response_complete(self) -> None:
        if not self.transport.is_closing():
            self.arm_header_deadline()  # before uvicorn runs a pipelined request, which disarms it
        super().on_response_complete()


if HttpToolsProtocol is not None:

    class HttpToolsHeaderTimeoutProtocol(HeaderDeadline, HttpToolsProtocol):
        """uvicorn's httptools protocol with the header deadline (its parser says when headers end)."""

        def on_headers_complete(self) -> None:
            self.disarm_header_deadline()
            super().on_headers_complete()

        def on_response_complete(self) -> None:
            # A queued (pipelined) request already sent its headers; otherwise the next one starts now.
            if not self.transport.is_closing() and not self.pipeline:
                self.arm_header_deadline()
            super().on_response_complete()

    AUTO_PROTOCOL: type = HttpToolsHeaderTimeoutProtocol
else:  # pragma: no cover
    AUTO_PROTOCOL = H11HeaderTimeoutProtocol


def header_timeout_protocol(header_timeout_s: float, protocol: type | None = None) -> functools.partial:
    """uvicorn's ``http=``: the protocol class (default: httptools', else h11's) with the header deadline."""
    return functools.partial(protocol or AUTO_PROTOCOL, header_timeout_s=header_timeout_s)
