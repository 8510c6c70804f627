"""Plain file access to the lake root and to backup targets, local folders and ``s3://`` alike.

Delta tables are read and written through ``deltalake``; this module is for what sits beside them as
files: a backup copies a snapshot's data and log files verbatim, so checksums can prove the restore
identical. Object stores get their endpoint and keys from the lake's storage options (the names
``deltalake`` uses: ``AWS_ENDPOINT_URL``, ``AWS_ACCESS_KEY_ID``, ``AWS_SECRET_ACCESS_KEY``,
``AWS_REGION``, ``AWS_ALLOW_HTTP``).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlparse

import pyarrow.fs as pafs

_CHUNK = 1 << 20


@dataclass(frozen=True)
class Root:
    """A folder on a filesystem: paths below it are relative, with ``/``."""

    fs: pafs.FileSystem
    base: str

    def path(self, relative: str) -> str:
        return f"{self.base}/{relative}" if relative else self.base

    def exists(self, relative: str = "") -> bool:
        return self.fs.get_file_info(self.path(relative)).type != pafs.FileType.NotFound

    def is_empty(self) -> bool:
        if not self.exists():
            return True
        return not self.fs.get_file_info(pafs.FileSelector(self.base, allow_not_found=True, recursive=False))

    def list(self, relative: str, recursive: bool = False) -> list[str]:
        """Files below ``relative`` as paths relative to this root; [] when the folder is missing."""
        selector = pafs.FileSelector(self.path(relative), allow_not_found=True, recursive=recursive)
        infos = self.fs.get_file_info(selector)
        return sorted(i.path[len(self.base) + 1 :] for i in infos if i.type == pafs.FileType.File)

    def size(self, relative: str) -> int:
        return self.fs.get_file_info(self.path(relative)).size

    def sha256(self, relative: str) -> str:
        digest = hashlib.sha256()
        with self.fs.open_input_stream(self.path(relative), compression=None) as src:
            while chunk := src.read(_CHUNK):
                digest.update(chunk)
        return digest.hexdigest()

    def move(self, relative: str, to: str) -> None:
        self.fs.create_dir(self.path(to).rsplit("/", 1)[0], recursive=True)
        self.fs.move(self.path(relative), self.path(to))


def root_for(uri: str, storage_options: Mapping[str, str] | None = None) -> Root:
    """The filesystem and base path of a local folder, ``file://`` URI or ``s3://bucket/prefix``."""
    uri = uri.rstrip("/")
    parsed = urlparse(uri)
    if parsed.scheme in ("", "file"):
        path = parsed.path if parsed.scheme == "file" else uri
        import os

        return Root(pafs.LocalFileSystem(), os.path.abspath(path))
    if parsed.scheme in ("s3", "s3a"):
        return Root(_s3(storage_options or {}), f"{parsed.netloc}{parsed.path}".rstrip("/"))
    raise ValueError(f"unsupported location {uri!r}: use a folder, file:// or s3://bucket/prefix")


def _s3(options: Mapping[str, str]) -> pafs.S3FileSystem:
    """An S3 filesystem from deltalake-style storage options (``AWS_ACCESS_KEY_ID``, ``AWS_REGION``,
    ``AWS_ENDPOINT_URL``, ``AWS_ALLOW_HTTP``...); unset ones fall back to the usual AWS environment."""
    opts = {k.lower(): str(v) for k, v in options.items()}

    def first(*names: str) -> str | None:
        return next((opts[n] for n in names if opts.get(n)), None)

    kwargs: dict = {}
    if key := first("aws_access_key_id", "access_key_id"):
        kwargs["access_key"] = key
        kwargs["secret_key"] = first("aws_secret_access_key", "secret_access_key") or ""
        if token := first("aws_session_token", "session_token", "token"):
            kwargs["session_token"] = token
    if region := first("aws_region", "region", "aws_default_region"):
        kwargs["region"] = region
    if endpoint := first("aws_endpoint_url", "aws_endpoint", "endpoint_url", "endpoint"):
        scheme, sep, host = endpoint.partition("://")
        kwargs["endpoint_override"] = host.rstrip("/") if sep else scheme
        plain = first("aws_allow_http", "allow_http") == "true"
        kwargs["scheme"] = scheme if sep else ("http" if plain else "https")
    return pafs.S3FileSystem(**kwargs)


def copy_file(src: Root, src_rel: str, dst: Root, dst_rel: str) -> tuple[int, str]:
    """Copy one file, streaming; returns its size and sha256 (computed on the bytes written)."""
    digest = hashlib.sha256()
    size = 0
    dst.fs.create_dir(dst.path(dst_rel).rsplit("/", 1)[0], recursive=True)
    with (
        src.fs.open_input_stream(src.path(src_rel), compression=None) as reader,
        dst.fs.open_output_stream(dst.path(dst_rel), compression=None) as writer,
    ):
        while chunk := reader.read(_CHUNK):
            digest.update(chunk)
            writer.write(chunk)
            size += len(chunk)
    return size, digest.hexdigest()
