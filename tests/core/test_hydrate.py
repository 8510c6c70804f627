"""Hydrating a dataset of 10,000 tweet ids against the emulator over HTTP: every id gets the status the
world says it should, every found tweet lands once in the cleaned and entity tables, an interrupted run
resumes where it stopped and a finished dataset fetches nothing more."""

from __future__ import annotations

import datetime as dt
import random
from collections import Counter
from collections.abc import Iterator

import httpx
import pyarrow.compute as pc
import pytest

from tests.conftest import register_accounts
from xget_pipelines.core.entities import TWEETS
from xget_pipelines.core.x import hydrate_status as hs
from xget_pipelines.core.x.client import XClient
from xget_pipelines.core.x.hydrate import export, hydrate, watch_key
from xget_pipelines.core.x.hydrate_ids import IdFileError, read_ids
from xget_pipelines.core.x.raw_pages import RAW_TABLE
from xget_pipelines.emulator import EmulatorServer, EmulatorSettings, World, WorldConfig
from xget_pipelines.emulator.model import DELETED, WITHHELD, snowflake

DATASET_SIZE = 10_000


def hydration_world() -> World:
    """The tests' small world plus accounts suspended or gone private after posting (the attrition)."""
    return World.generate(
        WorldConfig(
            seed=11,
            users=250,
            tweets=6000,
            days=10,
            end=dt.date(2026, 8, 1),
            suspended_posters=8,
            protected_posters=8,
        )
    )


@pytest.fixture(scope="module")
def world() -> World:
    return hydration_world()


@pytest.fixture(scope="module")
def server(world: World) -> Iterator[EmulatorServer]:
    with EmulatorServer(world, EmulatorSettings(window_seconds=60)) as emu:
        yield emu


def expected_status(world: World, tid: int) -> str:
    """The world's ground truth, in the order X decides: gone, then the author's state, then withheld."""
    t = world.tweet_by_id(tid)
    if t is None or t.flags & DELETED:
        return "deleted"
    if t.author.unavailable:
        return "suspended"
    if t.author.protected:
        return "protected"
    return "withheld" if t.flags & WITHHELD else "found"


def dataset_ids(world: World) -> list[int]:
    """Every post that is not simply found, normal posts up to the size, and ids X never had."""
    rng = random.Random(3)
    special = [t.id for t in world.tweets if expected_status(world, t.id) != "found"]
    never = []
    while len(never) < 40:
        tid = snowflake(world.cfg.start_ms + rng.randrange(86_400_000), rng.randrange(1 << 22))
        if world.tweet_by_id(tid) is None:
            never.append(tid)
    normal = [t.id for t in world.tweets if expected_status(world, t.id) == "found"]
    ids = special + never + rng.sample(normal, DATASET_SIZE - len(special) - len(never))
    rng.shuffle(ids)
    return ids


def lookups_served(emu: EmulatorServer) -> int:
    stats = httpx.get(f"{emu.url}/_emulator/stats", timeout=5).json()
    return sum(
        ops.get(op, {}).get("pages", 0)
        for ops in stats["accounts"].values()
        for op in ("TweetResultsByRestIds", "TweetResultByRestId")
    )


class Crash(Exception):
    pass


def test_ten_thousand_ids_get_their_status_and_found_tweets_land_once(
    server, world, engine, lake, tmp_path
) -> None:
    ids = dataset_ids(world)
    expected = {tid: expected_status(world, tid) for tid in ids}
    truth = Counter(expected.values())
    assert truth["suspended"] > 20 and truth["protected"] > 20 and truth["withheld"] and truth["deleted"] > 60
    path = tmp_path / "dataset.txt"
    path.write_text("\n".join(map(str, ids + ids[:25])) + "\n\n")  # duplicates and a blank line
    read = read_ids(path)
    assert read.ids == ids and read.duplicates == 25

    pool = register_accounts(server, engine, ["h1", "h2"])
    served_before = lookups_served(server)
    pages_seen: list = []

    def crash_after_30(page) -> None:
        pages_seen.append(page)
        if len(pages_seen) == 30:
            raise Crash()

    with XClient(server.graphql_url, pool) as client, pytest.raises(Crash):
        hydrate(client, lake, dataset="ds", ids=read.ids, run_id="r1", on_page=crash_after_30)
    assert len(hs.decided(lake, "ds")) == 3000  # the 30 answered batches are kept, pages and statuses
    assert lake.read(RAW_TABLE, {"watch_key": watch_key("ds")}).num_rows == 30

    with XClient(server.graphql_url, pool) as client:
        result = hydrate(client, lake, dataset="ds", ids=read.ids, run_id="r2")
    assert result.progress.skipped == 3000 and result.progress.done == 7000 and not result.undecided
    assert lookups_served(server) - served_before == 100  # no id was asked twice

    statuses = hs.read(lake, "ds")
    got = dict(zip(statuses["tweet_id"].to_pylist(), statuses["status"].to_pylist(), strict=True))
    assert got == expected
    assert result.counts == {s: truth.get(s, 0) for s in hs.STATUSES}
    found = {tid for tid, s in expected.items() if s == "found"}
    authors = dict(zip(statuses["tweet_id"].to_pylist(), statuses["author_id"].to_pylist(), strict=True))
    assert all(authors[tid] == world.tweet_by_id(tid).author.id for tid in found)

    cleaned = lake.read("cleaned/tweets", {"watch_key": watch_key("ds")})
    landed = cleaned["tweet_id"].to_pylist()  # found ones, and the posts they quote or retweet
    assert found <= set(landed) and len(landed) == len(set(landed))  # each once
    asked = cleaned.filter(pc.equal(cleaned["via"], "timeline"))["tweet_id"].to_pylist()
    assert set(asked) <= found  # nothing X did not serve as an answer
    entities = lake.read(TWEETS, columns=["tweet_id"])["tweet_id"].to_pylist()
    assert found <= set(entities) and len(entities) == len(set(entities))

    # a finished dataset fetches nothing and changes nothing
    with XClient(server.graphql_url, pool) as client:
        again = hydrate(client, lake, dataset="ds", ids=read.ids, run_id="r3")
    assert again.progress.pages == 0 and lookups_served(server) - served_before == 100
    assert lake.read(TWEETS).num_rows == len(entities)
    assert lake.read("cleaned/tweets", {"watch_key": watch_key("ds")}).num_rows == cleaned.num_rows
    assert export(lake, "ds", str(tmp_path / "out.csv")) == DATASET_SIZE


def test_id_files_fail_clearly(tmp_path) -> None:
    bad = tmp_path / "bad.txt"
    bad.write_text("123\nabc\n\n-5\n456\n")
    with pytest.raises(IdFileError, match=r"2 value\(s\).*line 2: 'abc'; line 4: '-5'"):
        read_ids(bad)
    table = tmp_path / "shared.csv"
    table.write_text("tweet_id,label\n10,a\n11,b\n10,c\n")
    assert read_ids(table).ids == [10, 11] and read_ids(table).duplicates == 1
    with pytest.raises(IdFileError, match=r"no column 'status_id'.*\['tweet_id', 'label'\]"):
        read_ids(table, column="status_id")
    other = tmp_path / "other.csv"
    other.write_text("status,label\n10,a\n")
    assert read_ids(other, column="status").ids == [10]
    with pytest.raises(IdFileError, match="no column 'id' or 'tweet_id'"):
        read_ids(other)
