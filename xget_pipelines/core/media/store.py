"""Media objects under ``<lake root>/media/``, content-addressed: ``media/<sha[:2]>/<sha>.<ext>``.

The address is the SHA-256 of the bytes, so the same file fetched for two tweets (or from two URLs) is
one object, and an object, once written, never changes. The lake root is a folder or an object store
(``s3://bucket/prefix``) reached through ``pyarrow.fs`` (``core/lake/files.root_for``: the lake's deltalake
storage options translated for S3), so one setting serves the tables, the media and the backups.

Downloads are written to a temporary file first. For a local lake it lives in ``media/.tmp`` on the
same filesystem, so storing is a rename: a reader never sees half an object.
"""

from __future__ import annotations

import os
import tempfile
import threading
import time
from collections.abc import Mapping

import pyarrow.fs as pafs

from xget_pipelines.core.lake.files import root_for

MEDIA_DIR = "media"


def object_path(sha256: str, ext: str) -> str:
    """The object's path relative to the lake root."""
    return f"{MEDIA_DIR}/{sha256[:2]}/{sha256}.{ext}"


class ObjectStore:
    """Put, test and read media objects below a lake root."""

    def __init__(self, lake_uri: str, storage_options: Mapping[str, str] | None = None):
        root = root_for(lake_uri, storage_options)
        self.fs, self.root = root.fs, root.base
        self.is_local = isinstance(self.fs, pafs.LocalFileSystem)
        self._swept = False
        self._lock = threading.Lock()
        # one writer per object in a process, so a file fetched twice at once is stored (and counted) once
        self._writing: dict[str, threading.Lock] = {}

    def _full(self, rel: str) -> str:
        return f"{self.root}/{rel}"

    def exists(self, rel: str) -> bool:
        return self.fs.get_file_info(self._full(rel)).type == pafs.FileType.File

    def temp_dir(self) -> str:
        """Where downloads are spooled: beside the objects for a local lake (storing is a rename)."""
        if not self.is_local:
            return tempfile.gettempdir()
        path = self._full(f"{MEDIA_DIR}/.tmp")
        with self._lock:
            if not self._swept:
                os.makedirs(path, exist_ok=True)
                self._swept = True
                # Spool files of a process killed mid-download: an hour old, no live download owns them.
                for entry in os.scandir(path):
                    if entry.name.startswith("download-") and entry.stat().st_mtime < time.time() - 3600:
                        os.unlink(entry.path)
        return path

    def put(self, local_file: str, rel: str) -> bool:
        """Store ``local_file`` as ``rel`` unless an object is already there; True if it was written.
        The local file is consumed either way."""
        with self._lock:
            lock = self._writing.setdefault(rel, threading.Lock())
        with lock:
            try:
                if self.exists(rel):
                    return False
                target = self._full(rel)
                self.fs.create_dir(target.rsplit("/", 1)[0], recursive=True)
                if self.is_local:
                    os.replace(local_file, target)
                else:
                    with open(local_file, "rb") as src, self.fs.open_output_stream(target) as out:
                        while chunk := src.read(1 << 20):
                            out.write(chunk)
                return True
            finally:
                if os.path.exists(local_file):
                    os.unlink(local_file)

    def read(self, rel: str) -> bytes:
        with self.fs.open_input_stream(self._full(rel)) as src:
            return src.read()
