"""Many writers on one lake, as real processes (Dagster runs are processes): nothing lost, nothing doubled.

Each test starts its writers at the same instant (a barrier: every process waits until all are loaded, so
a slow start on a busy machine cannot serialise them) so their commits collide; delta-rs refuses the
losers (``CommitFailedError``) and ``Lake`` tries them again on a fresh snapshot.
"""

from __future__ import annotations

import datetime as dt
import glob
import json
import multiprocessing as mp
import os
import time
from pathlib import Path

import pyarrow as pa
import pytest

from xget_pipelines.core.lake.delta import Lake

D = dt.date(2026, 11, 1)
SCHEMA = pa.schema(
    [
        pa.field("part", pa.int32(), False),
        pa.field("id", pa.int64(), False),
        pa.field("seen", pa.int64(), False),
        pa.field("day", pa.date32(), False),
    ]
)


def _rows(ids, seen=0, day=D) -> pa.Table:
    return pa.table(
        {
            "part": pa.array([i % 4 for i in ids], pa.int32()),
            "id": pa.array(ids, pa.int64()),
            "seen": pa.array([seen] * len(ids), pa.int64()),
            "day": pa.array([day] * len(ids), pa.date32()),
        },
        schema=SCHEMA,
    )


def _at(start: tuple[str, int]) -> None:
    """Wait until all ``n`` writers are ready (a file each in ``folder``), then go at once."""
    folder, n = start
    path = Path(folder)
    path.mkdir(parents=True, exist_ok=True)
    (path / f"ready-{os.getpid()}").touch()
    deadline = time.monotonic() + 120
    while len(list(path.glob("ready-*"))) < n:
        assert time.monotonic() < deadline, "the other writers never started"
        time.sleep(0.0005)


def _lake(root) -> Lake:
    """``root`` is a folder, or (uri, storage options) of a lake on S3."""
    return Lake(*root) if isinstance(root, tuple) else Lake(root)


def _append(args) -> int:
    root, ids, start = args
    lake = _lake(root)
    _at(start)
    lake.append("raw/t", _rows(ids), ["day"])
    return lake.conflicts_retried


def _replace(args) -> int:
    root, key, ids, start = args
    lake = _lake(root)
    _at(start)
    lake.replace_where(
        "cleaned/t",
        _rows(ids).append_column("watch_key", pa.array([key] * len(ids))),
        {"day": D, "watch_key": key},
        ["day"],
    )
    return lake.conflicts_retried


class _SameSnapshotLake(Lake):
    """A lake whose writers all load the table first and only then go on, together (the barrier): every
    merge plans against the same snapshot, so all but one must have their commit refused and try again."""

    def __init__(self, root, start):
        super().__init__(root)
        self._start = start

    def table(self, table):
        loaded = super().table(table)
        if self._start is not None:
            start, self._start = self._start, None
            _at(start)
        return loaded


def _merge(args) -> int:
    root, ids, seen, start, same_snapshot = args
    if same_snapshot:
        lake = _SameSnapshotLake(root, start)
    else:
        lake = _lake(root)
        _at(start)
    source = _rows(ids, seen)
    lake.merge(
        "entities/t",
        source,
        "t.part IN (0, 1, 2, 3) AND t.part = s.part AND t.id = s.id",
        lambda m: m.when_matched_update(
            updates={"seen": "s.seen"}, predicate="s.seen > t.seen"
        ).when_not_matched_insert_all(),
        schema=None if same_snapshot else SCHEMA,
        partition_by=["part"],
    )
    return lake.conflicts_retried


def _run(fn, jobs) -> list[int]:
    pool = mp.get_context("spawn").Pool(len(jobs))
    try:
        return pool.map(fn, jobs)
    finally:
        # let the workers exit on their own: terminating them mid-teardown aborts delta-rs's threads
        pool.close()
        pool.join()


def _creates(root: str, table: str) -> int:
    """Commits of the table's log that carry table metadata (a create, or a second one)."""
    count = 0
    for path in glob.glob(f"{root}/{table}/_delta_log/*.json"):
        with open(path) as f:
            count += any("metaData" in json.loads(line) for line in f if line.strip())
    return count


@pytest.mark.parametrize("trial", range(2))
def test_concurrent_first_appends_create_the_table_once_and_keep_every_row(tmp_path, trial):
    root = str(tmp_path / "lake")
    start = (str(tmp_path / "barrier"), 8)
    _run(_append, [(root, list(range(w * 100, w * 100 + 50)), start) for w in range(8)])
    table = Lake(root).read("raw/t")
    assert table.num_rows == 400 and len(set(table["id"].to_pylist())) == 400
    assert _creates(root, "raw/t") == 1  # no second "create" commit with another table id


def test_concurrent_partition_replaces_of_a_new_table_all_land(tmp_path):
    root = str(tmp_path / "lake")
    start = (str(tmp_path / "barrier"), 8)
    _run(_replace, [(root, f"key{w}", list(range(w * 10, w * 10 + 5)), start) for w in range(8)])
    lake = Lake(root)
    table = lake.read("cleaned/t")
    assert (
        sorted(set(table["watch_key"].to_pylist())) == [f"key{w}" for w in range(8)] and table.num_rows == 40
    )
    assert _creates(root, "cleaned/t") == 1


@pytest.mark.parametrize("trial", range(2))
def test_concurrent_first_merges_into_a_missing_table_never_double_a_key(tmp_path, trial):
    """Four merges into a table none of them found, inserting overlapping keys: the table is created once,
    every key lands once and the newest observation is kept, whatever the order they ran in."""
    root = str(tmp_path / "lake")
    start = (str(tmp_path / "barrier"), 4)
    _run(
        _merge,
        [
            (root, list(range(0, 600)), 1, start, False),
            (root, list(range(300, 900)), 2, start, False),
            (root, list(range(500, 1200)), 3, start, False),
            (root, list(range(0, 1200)), 4, start, False),
        ],
    )
    table = Lake(root).read("entities/t")
    ids = table["id"].to_pylist()
    assert len(ids) == len(set(ids)) == 1200
    assert set(table["seen"].to_pylist()) == {4}
    assert _creates(root, "entities/t") == 1


def test_merges_planned_on_the_same_snapshot_are_refused_and_retried_never_doubled(tmp_path):
    """Four merges that all read the same version (held together after loading it) collide for certain:
    delta-rs refuses three commits, ``Lake`` retries each on a fresh snapshot, and no key is doubled."""
    root = str(tmp_path / "lake")
    Lake(root).ensure("entities/t", SCHEMA, ["part"])
    start = (str(tmp_path / "barrier"), 4)
    retried = _run(
        _merge,
        [
            (root, list(range(0, 600)), 1, start, True),
            (root, list(range(300, 900)), 2, start, True),
            (root, list(range(500, 1200)), 3, start, True),
            (root, list(range(0, 1200)), 4, start, True),
        ],
    )
    table = Lake(root).read("entities/t")
    ids = table["id"].to_pylist()
    assert len(ids) == len(set(ids)) == 1200
    assert set(table["seen"].to_pylist()) == {4}
    assert (
        sum(retried) >= 3
    )  # only one of four commits on a snapshot can win; the others were retried, not lost
