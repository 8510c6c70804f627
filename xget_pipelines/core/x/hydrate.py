"""Hydration: a dataset of tweet ids looked up on X, every answer stored raw, a status for every id.

``hydrate`` asks X's batch lookup (TweetResultsByRestIds, ``batch_size`` ids a request; X takes about 220,
emulator/ops_lookup.py) through the pool's ``XClient``, so rate limits, account rotation and query-id
discovery are the client's (X's bundles name the lookups; an install that never saw them reads the
bundles once). Ids a batch answer leaves undecided (a list that does not line up with the request) are
asked one by one (TweetResultByRestId). Per id the status goes to ``ops/hydration`` (hydrate_status.py).

Where things land:
- raw pages in ``raw/x_pages`` like any other, with ``watch_key = "hydrate:<dataset>"``, on the partition
  ``day`` = the UTC day the run fetched them (a lookup has no day of its own), ``session_id`` = the run;
- the found posts in the cleaned tables on the (day, ``hydrate:<dataset>``) partition and in the entity
  tables. The Dagster cleaned asset builds only watchlist partitions from scrape sessions, so it never
  sees these pages; ``publish`` does the same work for them instead, with the pipeline's own functions:
  the partition is rebuilt from all of the key's pages of that day (``clean.parse_raw_pages``, a partition
  replace) and the day merged into ``entities/*`` (``entities.merge_day``). Both are idempotent, so
  re-publishing doubles nothing.

Resumable: pages are flushed and statuses recorded every ``flush_every`` batches and whenever the run
stops, even on an error; the next run of the dataset skips ids with a status and publishes every day the
key has pages on, so an interrupted run's pages are cleaned too.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

import pyarrow as pa

from xget_pipelines.core.entities import merge_day
from xget_pipelines.core.lake.delta import Lake
from xget_pipelines.core.media.pointers import fill_object_paths
from xget_pipelines.core.x import hydrate_status as hs
from xget_pipelines.core.x.clean import CleanResult, parse_raw_pages
from xget_pipelines.core.x.client import FetchedPage, XClient
from xget_pipelines.core.x.raw_pages import RAW_TABLE, RawWriter

BATCH = "TweetResultsByRestIds"
SINGLE = "TweetResultByRestId"
BATCH_SIZE = 100
MAX_BATCH_SIZE = 220  # what X takes in one request (emulator/ops_lookup.py)
KEY_PREFIX = "hydrate:"
MALFORMED_RETRIES = 2
_DATASET = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")


def check_dataset(name: str) -> str:
    """``name`` if it can name a dataset (it becomes a partition value and part of a watch key)."""
    if not _DATASET.fullmatch(name or ""):
        raise ValueError(f"dataset name {name!r}: use 1 to 100 letters, digits, '.', '_' or '-' (not first)")
    return name


def watch_key(dataset: str) -> str:
    """The ``watch_key`` of a dataset's raw pages and cleaned partitions."""
    return KEY_PREFIX + dataset


def batch_variables(ids: list[int]) -> dict:
    # What X's web client sends with the batch (twikit's tweet_results_by_rest_ids).
    return {
        "tweetIds": [str(i) for i in ids],
        "includePromotedContent": False,
        "withBirdwatchNotes": True,
        "withVoice": True,
        "withCommunity": True,
    }


def single_variables(tid: int) -> dict:
    # The web client's variables of the single lookup (fa0311/twitter-openapi#33's sample).
    return {"tweetId": str(tid), "withCommunity": False, "includePromotedContent": False, "withVoice": False}


@dataclass
class Progress:
    """Where a run stands, for a progress line."""

    total: int  # ids of the dataset
    skipped: int  # already decided before this run
    done: int  # decided by this run so far
    pages: int
    counts: Counter = field(default_factory=Counter)  # this run's statuses


@dataclass
class HydrationResult:
    dataset: str
    watch_key: str
    run_id: str
    progress: Progress
    undecided: list[int] = field(default_factory=list)  # asked, but no answer could be read: next run
    published_days: list[dt.date] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)  # the whole dataset's, after the run


class _Run:
    """One run's state: the raw writer, the statuses not yet recorded, the progress."""

    def __init__(self, client: XClient, lake: Lake, dataset: str, run_id: str, day: dt.date):
        self.client, self.lake, self.dataset, self.run_id = client, lake, dataset, run_id
        # Flushed by ``flush`` only, together with the statuses (never more often than they are).
        self.writer = RawWriter(lake, run_id, run_id, watch_key(dataset), day, flush_every=10**9, seq=0)
        self.pending: list[hs.IdStatus] = []

    def fetch(self, operation: str, variables: dict, ids: list[int]) -> tuple[FetchedPage, dict]:
        """The page (stored) and what it decides; a malformed page is stored and asked again."""
        for _ in range(MALFORMED_RETRIES + 1):
            page = self.client.fetch(operation, variables)
            self.writer.add(page, f"{ids[0]}+{len(ids) - 1}")
            if not page.malformed:
                break
        return page, hs.classify(page.body, ids)

    def keep(self, tid: int, verdict: tuple, when: dt.datetime) -> None:
        status, reason, author = verdict
        self.pending.append(hs.IdStatus(self.dataset, tid, status, reason, author, when, self.run_id))

    def flush(self) -> None:
        """Pages first, then the statuses that rest on them: a status never points at a page not stored."""
        self.writer.flush()
        hs.record(self.lake, self.dataset, self.pending)
        self.pending = []


def hydrate(
    client: XClient,
    lake: Lake,
    *,
    dataset: str,
    ids: list[int],
    run_id: str,
    batch_size: int = BATCH_SIZE,
    flush_every: int = 10,
    day: dt.date | None = None,
    on_progress: Callable[[Progress], None] | None = None,
    on_page: Callable[[FetchedPage], None] | None = None,
) -> HydrationResult:
    """Look up every id of ``ids`` not yet decided for ``dataset``; store pages, statuses, found posts."""
    check_dataset(dataset)
    if not 1 <= batch_size <= MAX_BATCH_SIZE:
        raise ValueError(f"batch size {batch_size}: X takes 1 to {MAX_BATCH_SIZE} ids a request")
    known = hs.decided(lake, dataset)
    todo = [i for i in ids if i not in known]
    progress = Progress(total=len(ids), skipped=len(ids) - len(todo), done=0, pages=0)
    result = HydrationResult(dataset, watch_key(dataset), run_id, progress)
    if todo:
        _knows_lookups(client)
    run = _Run(client, lake, dataset, run_id, day or dt.datetime.now(dt.UTC).date())
    try:
        for n, start in enumerate(range(0, len(todo), batch_size), start=1):
            batch = todo[start : start + batch_size]
            _batch(run, batch, progress, result, on_page)
            if n % flush_every == 0:
                run.flush()
                if on_progress:
                    on_progress(progress)
    finally:
        run.flush()
    if on_progress and todo:
        on_progress(progress)
    result.published_days = publish(lake, dataset)
    result.counts = hs.counts(lake, dataset)
    return result


def _batch(run: _Run, batch: list[int], progress: Progress, result: HydrationResult, on_page) -> None:
    page, verdicts = run.fetch(BATCH, batch_variables(batch), batch)
    progress.pages += 1
    last = page
    for tid in batch:
        if tid not in verdicts:  # the answer did not line up with the request: ask this one alone
            single, one = run.fetch(SINGLE, single_variables(tid), [tid])
            progress.pages += 1
            if tid not in one:
                result.undecided.append(tid)
                continue
            verdicts[tid] = one[tid]
            page = single
        run.keep(tid, verdicts[tid], page.fetched_at)
        progress.done += 1
        progress.counts[verdicts[tid][0]] += 1
    if on_page:  # after the batch's statuses are kept (a test interrupts a run here)
        on_page(last)


def _knows_lookups(client: XClient) -> None:
    """Twscrape ships no query id for the lookups: read X's bundles once if no worker has found them yet."""
    try:
        client.catalog.get(BATCH)
        client.catalog.get(SINGLE)
    except ValueError:
        client.refresh_operations((BATCH, SINGLE))


_PAGE_COLUMNS = ["body", "page_key", "fetched_at", "operation", "seq", "variables", "session_id"]


def publish(lake: Lake, dataset: str) -> list[dt.date]:
    """Rebuild the dataset's cleaned partitions from its raw pages and merge their days into the entities;
    the days published."""
    key = watch_key(dataset)
    days = lake.read(RAW_TABLE, {"watch_key": key}, columns=["day"])
    published = sorted(set(days["day"].to_pylist())) if days is not None else []
    for day in published:
        pages = lake.read(RAW_TABLE, {"day": day, "watch_key": key}, columns=_PAGE_COLUMNS)
        pages = pages.sort_by([("fetched_at", "ascending"), ("seq", "ascending")])
        tables = parse_raw_pages(pages, key, day, CleanResult(None))
        tables["cleaned/media"] = fill_object_paths(lake, tables["cleaned/media"])
        for table, data in tables.items():
            lake.replace_where(table, data, {"day": day, "watch_key": key}, ["day"])
        merge_day(lake, day)
    return published


def export(lake: Lake, dataset: str, path: str) -> int:
    """Write the dataset's per-id statuses to ``path`` (``.csv`` or ``.parquet``); rows written."""
    table: pa.Table = hs.read(lake, dataset).sort_by("tweet_id")
    lowered = path.lower()
    if lowered.endswith(".parquet"):
        import pyarrow.parquet as pq

        pq.write_table(table, path)
    elif lowered.endswith(".csv"):
        import pyarrow.csv as pcsv

        pcsv.write_csv(table, path)
    else:
        raise ValueError(f"{path}: export to a .csv or a .parquet file")
    return table.num_rows
