"""The media routes: ``GET``/``HEAD /_media/<host>/<path>`` and ``GET/DELETE /_emulator/media_stats``.

Media requests go through the fault injector as the operation ``media`` with no account, so a rule can
make them fail: ``http_5xx``, ``slow``, and ``drop`` (or ``malformed``): the headers and half the body,
then the connection closes, as a reset mid-transfer looks to a client. ``target`` narrows a rule to
paths containing it, e.g. ``{"kind": "http_5xx", "operation": "media", "target": "<code>.jpg"}``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable

from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from .faults import SERVER_ERRORS
from .jsonio import json_response
from .media_files import MediaFile

MEDIA_OPERATION = "media"


class CutOffResponse(Response):
    """Announces ``length`` bytes, sends ``chunks`` up to half of them, then returns without finishing: the
    server closes the connection and the client sees a body cut short."""

    def __init__(
        self, chunks: Iterable[bytes], length: int, status_code: int, headers: dict[str, str], media_type: str
    ):
        super().__init__(b"", status_code, {**headers, "content-length": str(length)}, media_type)
        self._chunks, self._half = chunks, length // 2

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": self.status_code, "headers": self.raw_headers})
        sent = 0
        for chunk in self._chunks:
            piece = chunk[: self._half - sent]
            await send({"type": "http.response.body", "body": piece, "more_body": True})
            sent += len(piece)
            if sent >= self._half:
                break


class MediaResponse(Response):
    """A media file streamed in 64 KiB pieces with its exact Content-Length."""

    def __init__(self, file: MediaFile):
        super().__init__(
            b"", 200, {"content-length": str(file.size), "cache-control": "max-age=604800"}, file.content_type
        )
        self._file = file

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": self.status_code, "headers": self.raw_headers})
        for chunk in self._file.chunks():
            await send({"type": "http.response.body", "body": chunk, "more_body": True})
        await send({"type": "http.response.body", "body": b"", "more_body": False})


async def media(request: Request) -> Response:
    st = request.app.state.emulator
    host, path = request.path_params["host"], request.path_params["path"]
    method, target = request.method, f"{host}/{path}"
    file = st.media.get(host, path)
    if file is None:
        st.media_stats.record(method, target, "not_found")
        return Response("Not Found", 404, media_type="text/plain")
    triggered = st.faults.pick("", MEDIA_OPERATION, target=target)
    if triggered.delay:
        await asyncio.sleep(triggered.delay)
    if triggered.status is not None:
        st.media_stats.record(method, target, "faults")
        text, media_type = SERVER_ERRORS[triggered.status]
        return Response(text, status_code=triggered.status, media_type=media_type)
    if method == "HEAD":
        st.media_stats.record(method, target, "served")
        return Response(b"", 200, {"content-length": str(file.size)}, file.content_type)
    if triggered.drop or triggered.malformed:
        st.media_stats.record(method, target, "faults")
        return CutOffResponse(file.chunks(), file.size, 200, {}, file.content_type)
    st.media_stats.record(method, target, "served", file.size)
    return MediaResponse(file)


async def media_stats(request: Request) -> Response:
    st = request.app.state.emulator
    if request.method == "DELETE":
        st.media_stats.reset()
    return json_response(st.media_stats.snapshot())
