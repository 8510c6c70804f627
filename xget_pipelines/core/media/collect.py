"""Collecting the media of cleaned media rows: decide what to fetch, fetch it, record it, point the rows.

For each source URL (``targets``): a registry row saying ``downloaded`` whose object exists is skipped
(``already_stored``); ``skipped_too_large`` is judged again only under a larger limit than before;
anything else (new, failed, an object gone missing) is fetched. Each outcome becomes the URL's registry
row (MERGE on ``url``); the partition's ``cleaned/media`` rows are then rewritten with their
``object_path``. Files are fetched a few at a time (``concurrency`` threads): the work is waiting on
the network, and the proxy pool spreads it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from xget_pipelines.core.lake.delta import Lake
from xget_pipelines.core.media import registry
from xget_pipelines.core.media.fetch import DOWNLOADED, FAILED, TOO_LARGE, Downloader, FetchConfig, Outcome
from xget_pipelines.core.media.pointers import MEDIA_TABLE, point_partition
from xget_pipelines.core.media.proxy_route import ProxyRoute
from xget_pipelines.core.media.store import ObjectStore
from xget_pipelines.core.media.targets import Target, targets_for
from xget_pipelines.core.pools.proxies import ProxyPool


@dataclass
class MediaResult:
    rows: int = 0  # cleaned media rows looked at
    files: int = 0  # distinct source URLs among them
    downloaded: int = 0  # fetched and stored as a new object
    deduplicated: int = 0  # fetched, and the same bytes were already stored: no new object
    already_stored: int = 0  # in the registry as downloaded: not fetched again
    skipped_too_large: int = 0
    failed: int = 0
    bytes: int = 0  # fetched in this run
    failures: list[dict] = field(default_factory=list)  # url, attempts, error
    routes: dict[str, int] = field(default_factory=dict)  # "direct" / "proxy <id>" -> files
    registry_version: int | None = None
    media_version: int | None = None
    pointed: int = 0  # rows of the partition pointing at an object afterwards


def _registry_row(
    target: Target, outcome: Outcome, before: Mapping | None, max_bytes: int, now: dt.datetime
) -> dict:
    return {
        "url": target.url,
        "media_key": target.media_key,
        "media_type": target.media_type,
        "fetched_url": outcome.fetched_url,
        "bitrate": outcome.bitrate,
        "sha256": outcome.sha256,
        "object_path": outcome.object_path,
        "bytes": outcome.bytes,
        "content_type": outcome.content_type,
        "status": outcome.status,
        "attempts": (before or {}).get("attempts", 0) + outcome.attempts,
        "error": outcome.error,
        "max_bytes": max_bytes,
        "fetched_at": now,
    }


def download(
    lake: Lake,
    rows: Iterable[Mapping],
    config: FetchConfig,
    proxies: ProxyPool | None = None,
    concurrency: int = 4,
    timeout_s: float = 60.0,
) -> MediaResult:
    """Fetch and store the files of ``rows`` (cleaned media rows as dicts); record every outcome."""
    rows = list(rows)
    targets = targets_for(rows)
    result = MediaResult(rows=len(rows), files=len(targets))
    known = registry.read(lake, targets)
    store = ObjectStore(lake.uri, lake.storage_options)
    todo: list[Target] = []
    for url, target in targets.items():
        before = known.get(url)
        status = before["status"] if before else None
        if status == DOWNLOADED and before["object_path"] and store.exists(before["object_path"]):
            result.already_stored += 1
        elif status == TOO_LARGE and (before["max_bytes"] or 0) >= config.max_bytes:
            result.skipped_too_large += 1
        else:
            todo.append(target)
    route = ProxyRoute(proxies, timeout_s)
    try:
        with ThreadPoolExecutor(max(1, concurrency), thread_name_prefix="xget-media") as pool:
            outcomes = list(pool.map(Downloader(store, route, config).fetch, todo))
    finally:
        route.close()
    now = dt.datetime.now(dt.UTC)
    for target, outcome in zip(todo, outcomes, strict=False):
        if outcome.status == DOWNLOADED:
            result.bytes += outcome.bytes or 0
            if outcome.new_object:
                result.downloaded += 1
            else:
                result.deduplicated += 1
        elif outcome.status == TOO_LARGE:
            result.skipped_too_large += 1
        elif outcome.status == FAILED:
            result.failed += 1
            result.failures.append({"url": target.url, "attempts": outcome.attempts, "error": outcome.error})
    result.routes = dict(route.used)
    new_rows = [
        _registry_row(t, o, known.get(t.url), config.max_bytes, now)
        for t, o in zip(todo, outcomes, strict=False)
    ]
    result.registry_version = registry.merge(lake, new_rows)
    return result


def collect_partition(
    lake: Lake,
    day: dt.date,
    key: str,
    config: FetchConfig,
    proxies: ProxyPool | None = None,
    concurrency: int = 4,
    timeout_s: float = 60.0,
) -> MediaResult:
    """Download the media of the (day, key) partition of ``cleaned/media`` and point its rows at them."""
    rows = lake.read(MEDIA_TABLE, {"day": day, "watch_key": key})
    if rows is None or rows.num_rows == 0:
        return MediaResult()
    result = download(lake, rows.to_pylist(), config, proxies, concurrency, timeout_s)
    _, result.pointed, result.media_version = point_partition(lake, day, key)
    return result
