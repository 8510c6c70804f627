"""The bytes behind the world's media URLs, served at ``/_media/<host>/<path>``.

``GET /_media/pbs.twimg.com/media/<code>.jpg`` answers what ``https://pbs.twimg.com/media/<code>.jpg``
would: a photo, a video or GIF thumbnail, an mp4 variant of a video, a GIF's mp4 or a video's HLS
playlist, for every URL the world's tweets carry (the query string is ignored, as X's CDN ignores
``?tag=``), and 404 for anything else. ``HEAD`` gives the same headers without the body.

The bytes are deterministic and cheap: a real header (JPEG's ``FF D8 FF`` JFIF segment, an MP4
``ftyp`` box, then ``free`` and ``mdat`` boxes whose sizes add up), then a 64 KiB pseudo-random block
repeated, then JPEG's end marker. They are a function of the *content*, not of the URL: a video
re-shared from another tweet (``Media.source``) is served with the original's bytes under its own
URLs, as X serves the same file, so content-addressed storage sees one object. Sizes are plausible:
photos by their pixel count (tens to hundreds of KB), a video variant bitrate x duration / 8, capped
at ``EmulatorSettings.media_size_cap`` so a test or a demo downloading every clip stays light.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Iterator
from dataclasses import dataclass

from . import media as urls
from .model import Media
from .world import World

_BLOCK = 64 * 1024
_HOSTS = ("pbs.twimg.com", "video.twimg.com")


@dataclass(frozen=True)
class MediaFile:
    content_type: str
    size: int
    identity: str  # the bytes are a function of this (and the size)
    text: str | None = None  # a small text file (a playlist) is served as it is

    def _head_tail(self) -> tuple[bytes, bytes]:
        tag = f"xget-emulator {self.identity}".encode()
        if self.content_type == "image/jpeg":
            jfif = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"
            return jfif + b"\xff\xfe" + (len(tag) + 2).to_bytes(2, "big") + tag, b"\xff\xd9"
        if self.content_type == "video/mp4":
            ftyp = (32).to_bytes(4, "big") + b"ftypisom" + (512).to_bytes(4, "big") + b"isomiso2avc1mp41"
            free = (len(tag) + 8).to_bytes(4, "big") + b"free" + tag
            mdat = (self.size - len(ftyp) - len(free)).to_bytes(4, "big") + b"mdat"
            return ftyp + free + mdat, b""
        return b"", b""

    def chunks(self) -> Iterator[bytes]:
        """The body in pieces of at most 64 KiB (never held whole in memory)."""
        if self.text is not None:
            yield self.text.encode()
            return
        head, tail = self._head_tail()
        block = hashlib.shake_256(self.identity.encode()).digest(_BLOCK)
        yield head
        left = self.size - len(head) - len(tail)
        while left > 0:
            piece = block[: min(left, _BLOCK)]
            left -= len(piece)
            yield piece
        if tail:
            yield tail


def _jitter(identity: str, size: float) -> int:
    """``size`` moved by up to +-10%, the same every time for one content (real files vary too)."""
    h = int.from_bytes(hashlib.blake2b(identity.encode(), digest_size=2).digest(), "big")
    return int(size * (0.9 + 0.2 * h / 0xFFFF))


def _fit(w: int, h: int, limit: int = 1200) -> tuple[int, int]:
    scale = min(1.0, limit / max(w, h, 1))
    return int(w * scale), int(h * scale)


def _jpeg(identity: str, w: int, h: int) -> MediaFile:
    w, h = _fit(w, h)  # X serves the "medium" size at the bare URL
    return MediaFile("image/jpeg", max(12_000, min(900_000, _jitter(identity, w * h * 0.16))), identity)


def _playlist(m: Media) -> MediaFile:
    lines = ["#EXTM3U"]
    for bitrate, w, h, url in urls.video_variants(m):
        lines += [f"#EXT-X-STREAM-INF:BANDWIDTH={bitrate},RESOLUTION={w}x{h}", url.split("?")[0]]
    text = "\n".join(lines) + "\n"
    return MediaFile("application/x-mpegURL", len(text.encode()), f"playlist:{m.id}", text)


def _key(url: str) -> str:
    """``host/path`` of an X media URL, without the query string."""
    return url.split("://", 1)[1].split("?", 1)[0]


class MediaFiles:
    """Every media URL of the world -> its file; built on first use (the world can hold 100k tweets)."""

    def __init__(self, world: World, size_cap: int):
        self._world, self._cap = world, size_cap
        self._files: dict[str, MediaFile] | None = None
        self._lock = threading.Lock()

    def get(self, host: str, path: str) -> MediaFile | None:
        if self._files is None:
            with self._lock:
                if self._files is None:
                    self._files = self._build()
        return self._files.get(f"{host}/{path}") if host in _HOSTS else None

    def _build(self) -> dict[str, MediaFile]:
        files: dict[str, MediaFile] = {}
        for tweet in self._world.tweets:
            for m in tweet.media:
                if m.kind == "photo":
                    files[_key(urls.photo_url(m))] = _jpeg(f"photo:{m.id}", m.width, m.height)
                elif m.kind == "animated_gif":
                    files[_key(urls.gif_thumb_url(m))] = _jpeg(f"gif-thumb:{m.id}", m.width, m.height)
                    ident = f"gif:{m.id}"
                    files[_key(urls.gif_url(m))] = MediaFile(
                        "video/mp4", min(self._cap, _jitter(ident, m.width * m.height * 2)), ident
                    )
                else:
                    files.update(self._video(m))
        return files

    def _video(self, m: Media) -> dict[str, MediaFile]:
        # A re-shared clip is the original's file: same bytes, so one stored object for both tweets.
        source = next((v for v in m.source.media if v.kind == "video"), None) if m.source else None
        content = source or m
        files = {
            _key(urls.video_thumb_url(m)): _jpeg(f"video-thumb:{content.id}", m.width, m.height),
            _key(urls.playlist_url(m)): _playlist(m),
        }
        for bitrate, _, _, url in urls.video_variants(m):
            size = min(self._cap, max(4096, bitrate * content.duration_ms // 8000))
            files[_key(url)] = MediaFile("video/mp4", size, f"video:{content.id}:{bitrate}")
        return files


class MediaStats:
    """What the media route served: requests by method, bytes, faults, and GETs per path."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: dict[str, int] = {}
        self._gets: dict[str, int] = {}
        self.reset()

    def reset(self) -> None:
        with self._lock:
            self._counts = {"GET": 0, "HEAD": 0, "served": 0, "not_found": 0, "faults": 0, "bytes": 0}
            self._gets = {}

    def record(self, method: str, path: str, outcome: str, size: int = 0) -> None:
        with self._lock:
            self._counts[method] = self._counts.get(method, 0) + 1
            self._counts[outcome] += 1
            if outcome == "served" and method == "GET":
                self._counts["bytes"] += size
                self._gets[path] = self._gets.get(path, 0) + 1

    def snapshot(self) -> dict:
        with self._lock:
            return {**self._counts, "gets_by_path": dict(self._gets)}
