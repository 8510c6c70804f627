"""What to download for a cleaned media row: its source URL (the registry's key) and the files to try.

- photo: its ``url`` (``media_url_https``);
- video: its mp4 variants, highest bitrate first (the one kept is the best whose size fits the limit);
- animated_gif: its mp4 (X converts GIFs to a single mp4 variant);
- anything else with a ``url``: that file.

A video's source URL is its highest-bitrate mp4 (``best_variant_url``): stable across observations, and
what a user sees in ``cleaned_media``; the file actually fetched is recorded apart (``fetched_url``).
"""

from __future__ import annotations

import posixpath
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

_EXTENSIONS = {
    "image/jpeg": "jpg",
    "image/jpg": "jpg",
    "image/png": "png",
    "image/gif": "gif",
    "image/webp": "webp",
    "video/mp4": "mp4",
    "video/quicktime": "mov",
}


@dataclass(frozen=True)
class Candidate:
    url: str  # as X names it (before the URL map)
    bitrate: int | None = None
    estimate: int | None = None  # bytes: bitrate x duration / 8, when both are known


@dataclass(frozen=True)
class Target:
    url: str  # the source URL: one registry row per source URL
    media_key: str | None
    media_type: str
    candidates: tuple[Candidate, ...]  # best first


def source_url(row: Mapping) -> str | None:
    """The URL a cleaned media row is known by in ``cleaned/media_objects``."""
    if row.get("media_type") in ("video", "animated_gif"):
        return row.get("best_variant_url") or None
    return row.get("url") or None


def _mp4s(row: Mapping) -> list[Candidate]:
    duration = row.get("duration_ms")
    seen, out = set(), []
    for v in row.get("variants") or ():
        if v.get("content_type") != "video/mp4" or not v.get("url") or v["url"] in seen:
            continue
        seen.add(v["url"])
        bitrate = v.get("bitrate")
        estimate = bitrate * duration // 8000 if bitrate and duration else None
        out.append(Candidate(v["url"], bitrate, estimate))
    if not out and row.get("best_variant_url"):  # rows parsed before ``variants`` existed
        bitrate = row.get("best_bitrate")
        estimate = bitrate * duration // 8000 if bitrate and duration else None
        out.append(Candidate(row["best_variant_url"], bitrate, estimate))
    return sorted(out, key=lambda c: c.bitrate or 0, reverse=True)


def target_for(row: Mapping) -> Target | None:
    """The download target of one row, or None when it names no file (a video without an mp4)."""
    url = source_url(row)
    if url is None:
        return None
    kind = row.get("media_type") or "photo"
    candidates = _mp4s(row) if kind in ("video", "animated_gif") else [Candidate(url)]
    return Target(url, row.get("media_key"), kind, tuple(candidates)) if candidates else None


def targets_for(rows: Iterable[Mapping]) -> dict[str, Target]:
    """One target per source URL (a tweet seen twice, or two tweets sharing a file, is fetched once)."""
    out: dict[str, Target] = {}
    for row in rows:
        target = target_for(row)
        if target is not None and target.url not in out:
            out[target.url] = target
    return out


def map_url(url: str, url_map: Mapping[str, str]) -> str:
    """``url`` with its longest matching prefix in ``url_map`` replaced (X's hosts -> a mirror...)."""
    best = max((p for p in url_map if url.startswith(p)), key=len, default=None)
    return url if best is None else url_map[best] + url[len(best) :]


def extension(content_type: str | None, url: str) -> str:
    """File extension of a stored object: from the Content-Type X sent, else from the URL, else ``bin``."""
    ctype = (content_type or "").split(";", 1)[0].strip().lower()
    if ctype in _EXTENSIONS:
        return _EXTENSIONS[ctype]
    ext = posixpath.splitext(urlsplit(url).path)[1].lstrip(".").lower()
    return ext if ext.isalnum() and 0 < len(ext) <= 5 else "bin"
