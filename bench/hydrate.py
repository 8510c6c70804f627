"""Benchmark: ids per second of ``xget hydrate``'s core (``core/x/hydrate.py``) against the emulator.

Run: ``.venv/bin/python bench/hydrate.py`` (about 20 s). Set-up: the emulator (in this process, on its own
thread) serving the tests' hydration world (250 users, 6,000 tweets plus the deep corner, 8 accounts
suspended and 8 protected after posting), X's default rate limits (TweetResultsByRestIds 500 a window),
``--accounts`` accounts, a fresh SQLite control plane and lake under a temporary folder, the ids of
``tests/core/test_hydrate.py`` (10,000: every not-found kind, ids X never had, the rest found posts).
Prints one JSON line per phase: ``fetch`` (lookups, raw pages, statuses), ``publish`` (cleaned partitions
and the entity merge), ``rerun`` (the same dataset again: nothing to fetch); the LAST line is the headline.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import httpx

from tests.core.test_hydrate import dataset_ids, hydration_world
from xget_pipelines.core.db.engine import get_engine
from xget_pipelines.core.lake.delta import Lake
from xget_pipelines.core.pools.account_pool import AccountPool
from xget_pipelines.core.secrets import SecretBox
from xget_pipelines.core.x import hydrate as core
from xget_pipelines.core.x.client import XClient
from xget_pipelines.emulator import EmulatorServer, EmulatorSettings


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--accounts", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=core.BATCH_SIZE)
    args = parser.parse_args()
    world = hydration_world()
    ids = dataset_ids(world)
    with tempfile.TemporaryDirectory() as tmp, EmulatorServer(world, EmulatorSettings()) as emu:
        names = [f"bench{i}" for i in range(args.accounts)]
        accounts = httpx.post(f"{emu.url}/_emulator/accounts", json={"usernames": names}).json()
        engine = get_engine(f"sqlite:///{Path(tmp) / 'xget.db'}")
        pool = AccountPool(engine, secrets=SecretBox.from_key_or_file(None, Path(tmp)))
        pool.add_accounts(
            [(a["username"], {"auth_token": a["auth_token"], "ct0": a["ct0"]}) for a in accounts]
        )
        lake = Lake(str(Path(tmp) / "lake"))
        marks: list[float] = []
        started = time.perf_counter()
        with XClient(emu.graphql_url, pool) as client:
            result = core.hydrate(
                client,
                lake,
                dataset="bench",
                ids=ids,
                run_id="b1",
                batch_size=args.batch_size,
                on_progress=lambda p: marks.append(time.perf_counter()),
            )
        total = time.perf_counter() - started
        fetch = marks[-1] - started
        again_started = time.perf_counter()
        with XClient(emu.graphql_url, pool) as client:
            core.hydrate(client, lake, dataset="bench", ids=ids, run_id="b2")
        rerun = time.perf_counter() - again_started
    n = len(ids)
    print(
        json.dumps(
            {
                "phase": "fetch",
                "ids": n,
                "pages": result.progress.pages,
                "s": round(fetch, 2),
                "ids_per_s": round(n / fetch),
            }
        )
    )
    print(json.dumps({"phase": "publish", "days": len(result.published_days), "s": round(total - fetch, 2)}))
    print(json.dumps({"phase": "rerun", "s": round(rerun, 2)}))
    print(
        json.dumps(
            {
                "headline": "hydrate",
                "ids": n,
                "accounts": args.accounts,
                "s": round(total, 2),
                "ids_per_s": round(n / total),
                "counts": result.counts,
            }
        )
    )


if __name__ == "__main__":
    main()
