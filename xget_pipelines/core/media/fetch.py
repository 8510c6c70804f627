"""Downloading one target: choose the file, stream it to a temporary file while hashing, store it.

Choosing a video variant: from the highest bitrate down, the first whose size is at most ``max_bytes``.
The size is judged by the Content-Length X sends; the bitrate estimate (bitrate x duration / 8) is the
first guess: a variant estimated at no more than half the limit is fetched straight away (the GET's own
Content-Length confirms it), any other is asked with a HEAD first, and when X gives no length the estimate
stands in. A photo or a GIF is a single file: no HEAD, its GET's Content-Length judges it. A body that
grows past the limit is abandoned whatever the headers said. No variant fits: ``skipped_too_large``.

Failures: a 5xx, 429, timeout, reset or a body cut short is retried with exponential backoff, up to
``attempts`` per file, each attempt through the next proxy; a 4xx (deleted media: 404, 410, 403) is not
retried. The last error is returned as the outcome, never raised: one bad file never stops a run.
"""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass, field

import httpx

from xget_pipelines.core.media.proxy_route import NoProxyAvailable, ProxyRoute, Via
from xget_pipelines.core.media.store import ObjectStore, object_path
from xget_pipelines.core.media.targets import Candidate, Target, extension, map_url

DOWNLOADED, FAILED, TOO_LARGE = "downloaded", "failed", "skipped_too_large"
_RETRYABLE_STATUS = {408, 425, 429, 500, 502, 503, 504}
log = logging.getLogger(__name__)


@dataclass
class FetchConfig:
    max_bytes: int = 16 * 1024 * 1024
    url_map: Mapping[str, str] = field(default_factory=dict)
    attempts: int = 3
    backoff_s: float = 1.0  # first retry's wait; doubled each time, at most 30 s


@dataclass
class Outcome:
    """What became of one target: the registry row's fields, and whether the object was new."""

    status: str
    attempts: int
    fetched_url: str | None = None
    bitrate: int | None = None
    sha256: str | None = None
    object_path: str | None = None
    bytes: int | None = None
    content_type: str | None = None
    error: str | None = None
    new_object: bool = False


class _Retry(Exception):
    """A failure worth another attempt."""


class _GiveUp(Exception):
    """A failure another attempt would repeat (404...)."""


class _TooLarge(Exception):
    pass


class Downloader:
    def __init__(self, store: ObjectStore, route: ProxyRoute, config: FetchConfig):
        self.store, self.route, self.config = store, route, config

    def fetch(self, target: Target) -> Outcome:
        error = "no attempt made"
        for attempt in range(1, max(1, self.config.attempts) + 1):
            try:
                outcome = self._once(target)
                outcome.attempts = attempt
                return outcome
            except (_GiveUp, NoProxyAvailable) as exc:
                return Outcome(FAILED, attempt, error=str(exc))
            except _Retry as exc:
                error = str(exc)
            except Exception as exc:  # noqa: BLE001 - one file's surprise (a full disk...) must not end a run
                log.warning("media %s: unexpected %s", target.url, type(exc).__name__, exc_info=True)
                return Outcome(FAILED, attempt, error=f"{type(exc).__name__}: {exc}"[:500])
            if attempt < self.config.attempts:
                time.sleep(min(self.config.backoff_s * 2 ** (attempt - 1), 30.0))
        return Outcome(FAILED, self.config.attempts, error=error)

    def _once(self, target: Target) -> Outcome:
        limit = self.config.max_bytes
        sizes: list[str] = []
        choosing = len(target.candidates) > 1  # a photo or a GIF is one file: its GET's header judges it
        for cand in target.candidates:
            url = map_url(cand.url, self.config.url_map)
            if choosing and (cand.estimate is None or cand.estimate > limit // 2):
                size = self._head(url)
                size = size if size is not None else cand.estimate
                if size is not None and size > limit:
                    sizes.append(f"{size} bytes")
                    continue
            try:
                return self._get(url, cand)
            except _TooLarge as exc:
                sizes.append(str(exc))
        return Outcome(TOO_LARGE, 0, error=f"every file is over {limit} bytes ({', '.join(sizes)})")

    def _send(self, method: str, url: str) -> tuple[Via, httpx.Response]:
        """Send through the next route; errors before the answer starts count against the proxy."""
        via = self.route.choose()
        started = time.monotonic()
        try:
            rep = via.client.send(via.client.build_request(method, url), stream=True)
        except httpx.TransportError as exc:
            self.route.failed(via, type(exc).__name__)
            raise _Retry(self.route.scrub(f"{method} {url}: {type(exc).__name__}: {exc}")) from exc
        if rep.status_code == 407:
            rep.close()
            self.route.failed(via, "HTTP 407 proxy authentication required")
            raise _Retry(
                f"proxy {via.proxy_id} refused its credentials (HTTP 407): fix them and re-import "
                "it (xget proxies import)"
            )
        self.route.answered(via, started)
        return via, rep

    def _head(self, url: str) -> int | None:
        _, rep = self._send("HEAD", url)
        try:
            self._check_status(rep, "HEAD", url, head=True)
        finally:
            rep.close()
        length = rep.headers.get("content-length")
        return int(length) if rep.status_code == 200 and length and length.isdigit() else None

    @staticmethod
    def _check_status(rep: httpx.Response, method: str, url: str, head: bool = False) -> None:
        status = rep.status_code
        if status in _RETRYABLE_STATUS:
            raise _Retry(f"{method} {url}: HTTP {status}")
        if status in (403, 404, 410, 451):
            raise _GiveUp(f"{method} {url}: HTTP {status} (the media is gone or withheld)")
        if status >= 400 and not head:  # a HEAD refused (405...) only means "no size known"
            raise _GiveUp(f"{method} {url}: HTTP {status}")

    def _get(self, url: str, cand: Candidate) -> Outcome:
        via, rep = self._send("GET", url)
        try:
            self._check_status(rep, "GET", url)
            tmp, sha, size = self._spool(rep, url)
        finally:
            rep.close()
        self.route.carried(via)
        ctype = rep.headers.get("content-type", "").split(";", 1)[0].strip() or None
        path = object_path(sha, extension(ctype, url))
        new = self.store.put(tmp, path)  # consumes tmp
        return Outcome(
            DOWNLOADED,
            0,
            fetched_url=url,
            bitrate=cand.bitrate,
            sha256=sha,
            object_path=path,
            bytes=size,
            content_type=ctype,
            new_object=new,
        )

    def _spool(self, rep: httpx.Response, url: str) -> tuple[str, str, int]:
        """(temporary file, sha256, size) of the body, hashed on the way; nothing left behind on failure."""
        limit = self.config.max_bytes
        length = rep.headers.get("content-length", "")
        if length.isdigit() and int(length) > limit:
            raise _TooLarge(f"{length} bytes")
        digest, size = hashlib.sha256(), 0
        fd, tmp = tempfile.mkstemp(prefix="download-", dir=self.store.temp_dir())
        try:
            with os.fdopen(fd, "wb") as out:
                for chunk in rep.iter_bytes(1 << 16):
                    size += len(chunk)
                    if size > limit:
                        raise _TooLarge(f"over {limit} bytes while reading")
                    digest.update(chunk)
                    out.write(chunk)
            if length.isdigit() and size != int(length):
                raise _Retry(f"GET {url}: {size} of {length} bytes arrived")
        except httpx.TransportError as exc:  # the answer had started: the host's failure, not the proxy's
            os.unlink(tmp)
            raise _Retry(f"GET {url}: cut off after {size} bytes ({type(exc).__name__})") from exc
        except BaseException:
            os.unlink(tmp)
            raise
        return tmp, digest.hexdigest(), size
