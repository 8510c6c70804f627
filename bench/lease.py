"""Benchmark: leases per second of XGet's account lease with several worker processes, on PostgreSQL
and on SQLite, against twscrape's ``AccountsPool`` with the same accounts and processes.

Run: ``.venv/bin/python bench/lease.py`` (about two minutes). Prints one JSON line per contender, then a
headline JSON line (the last line).

Set-up (identical for every contender)
--------------------------------------
- ``--accounts`` accounts (default 50) with cookies, added once before the run.
- ``--workers`` processes (default 8, ``multiprocessing`` "spawn"); each builds its own engine and
  pool object (XGet) or its own ``AccountsPool`` (twscrape), as separate run processes would.
- All workers wait at a barrier, then for ``--seconds`` (default 10) each loops: lease an account
  for one queue/operation, hold it ``--hold-ms`` (default 1 ms; a request's worth of "work" would be
  far longer, this measures the lease itself), release it.
  - XGet: ``AccountPool.lease(op, deadline)`` (``try_lease`` first, waits only if none is free) and
    ``AccountPool.release(lease)``; on a scratch PostgreSQL database (created on the server at
    ``--postgres-admin-url`` and dropped afterwards: ``FOR UPDATE SKIP LOCKED``) and on a fresh SQLite
    file (``BEGIN IMMEDIATE``).
  - twscrape 0.20.1: ``await AccountsPool.get_for_queue(queue)`` (an ``UPDATE ... RETURNING`` that
    locks the first free account by username) and ``await AccountsPool.unlock(username, queue, 1)``,
    on a fresh SQLite file (its only backend). ``None`` from ``get_for_queue`` (no free account) is
    counted as a miss and retried at once; a ``sqlite3.OperationalError`` that escapes its own
    retries is counted as an error.
- Every lease is logged as (account, worker, time it was handed over, time release was called). A
  double lease is two leases of one account whose intervals overlap: the second was handed over
  before the first holder called release. Must be 0.
- ``accounts_used``: distinct accounts leased at least once; ``top8_share``: the share of leases
  that went to the 8 most-used accounts (twscrape orders by username, so with 8 workers it keeps
  re-leasing the first few accounts; XGet takes the least recently used).

Headline: ``xget_*_leases_per_s`` and ``twscrape_leases_per_s`` are leases completed (handed over
and released) within the run divided by ``--seconds``, the median of ``--rounds`` (default 3) runs of
each contender, interleaved (one run's rate moved by a fifth on these shared 2-core machines);
``ratio_* = xget_* / twscrape``;
``lease_p99_ms``: the 99th percentile of the time from asking for an account to holding one (for
twscrape from its first ``get_for_queue`` until one returned an account). Target on PostgreSQL (issue
14): at least 1,100 leases/s from 8 processes, every account used, p99 under 20 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing as mp
import os
import shutil
import sys
import tempfile
import time
import uuid
from collections import Counter, defaultdict
from pathlib import Path

os.environ["TWS_TELEMETRY"] = "0"  # before twscrape is imported (also inherited by the workers)
os.environ.setdefault("TWS_LOG_LEVEL", "CRITICAL")

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

OPERATION = "SearchTimeline"
POSTGRES_ADMIN_URL = "postgresql+psycopg2://root@127.0.0.1:5432/postgres"


def emit(doc: dict) -> None:
    print(json.dumps(doc), flush=True)


def secret_box():
    """The key XGet's pools encrypt secrets with, as the settings give it (workers inherit XGET_HOME)."""
    from xget_pipelines.core.secrets import SecretBox
    from xget_pipelines.settings import Settings

    settings = Settings()
    return SecretBox.from_key_or_file(settings.secret_key, settings.home)


# -- workers (run in spawned processes) -------------------------------------------------------------


def _write(out_path: str, leases: list, misses: int, errors: list[str], waits: list[float]) -> None:
    Path(out_path).write_text(
        json.dumps(
            {"pid": os.getpid(), "leases": leases, "misses": misses, "errors": errors, "waits_ms": waits}
        )
    )


def xget_worker(url: str, seconds: float, hold_s: float, out_path: str, barrier) -> None:
    from xget_pipelines.core.db.engine import get_engine
    from xget_pipelines.core.pools.account_pool import AccountPool

    leases: list = []
    errors: list[str] = []
    waits: list[float] = []  # ms from asking for an account to holding one
    misses = 0
    try:
        pool = AccountPool(get_engine(url), secrets=secret_box())
        pool.next_free_at(OPERATION)  # connect outside the timed loop
        barrier.wait(timeout=300)
        end = time.time() + seconds
        while True:
            asked = time.perf_counter()
            lease = pool.lease(OPERATION, max(end - time.time(), 0.001))
            waits.append((time.perf_counter() - asked) * 1000)
            t_leased = time.time()
            if hold_s:
                time.sleep(hold_s)
            t_released = time.time()
            pool.release(lease)
            done = time.time()
            if done > end:
                break
            leases.append((lease.username, t_leased, t_released))
    except Exception as exc:  # noqa: BLE001 - reported in the JSON, never hidden
        if type(exc).__name__ != "NoAccountAvailable":
            errors.append(f"{type(exc).__name__}: {exc}")
    finally:
        _write(out_path, leases, misses, errors, waits)


def twscrape_worker(db_file: str, seconds: float, hold_s: float, out_path: str, barrier) -> None:
    import sqlite3

    from twscrape import AccountsPool

    leases: list = []
    errors: list[str] = []
    waits: list[float] = []  # ms from asking for an account to holding one
    misses = 0

    async def run() -> None:
        nonlocal misses
        pool = AccountsPool(db_file)
        await pool.get_all()  # open the DB once outside the timed loop
        barrier.wait(timeout=300)
        end = time.time() + seconds
        asked = None
        while time.time() < end:
            asked = asked or time.perf_counter()
            try:
                account = await pool.get_for_queue(OPERATION)
            except sqlite3.OperationalError as exc:
                errors.append(f"get_for_queue: {exc}")
                continue
            if account is None:
                misses += 1
                continue
            waits.append((time.perf_counter() - asked) * 1000)
            asked = None
            t_leased = time.time()
            if hold_s:
                await asyncio.sleep(hold_s)
            t_released = time.time()
            try:
                await pool.unlock(account.username, OPERATION, 1)
            except sqlite3.OperationalError as exc:
                errors.append(f"unlock: {exc}")
                leases.append((account.username, t_leased, float("inf")))  # never released
                continue
            if time.time() > end:
                break
            leases.append((account.username, t_leased, t_released))

    try:
        asyncio.run(run())
    except Exception as exc:  # noqa: BLE001
        errors.append(f"{type(exc).__name__}: {exc}")
    finally:
        _write(out_path, leases, misses, errors, waits)


# -- analysis -----------------------------------------------------------------------------------------


def double_leases(leases: list[tuple[str, float, float]]) -> int:
    """Leases handed over while another worker still held the same account."""
    by_account = defaultdict(list)
    for account, t0, t1 in leases:
        by_account[account].append((t0, t1))
    count = 0
    for intervals in by_account.values():
        intervals.sort()
        held_until = float("-inf")
        for t0, t1 in intervals:
            if t0 < held_until:
                count += 1
            held_until = max(held_until, t1)
    return count


def percentile(ordered: list[float], q: float) -> float | None:
    """The ``q`` quantile of an ascending list (nearest rank)."""
    if not ordered:
        return None
    return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 2)


def _selfcheck() -> None:
    clean = [("a", 0.0, 1.0), ("a", 1.0, 2.0), ("b", 0.5, 1.5)]
    assert double_leases(clean) == 0
    assert double_leases(clean + [("a", 0.2, 0.3)]) == 1
    assert double_leases([("a", 0.0, 5.0), ("a", 1.0, 2.0), ("a", 3.0, 4.0)]) == 2
    assert percentile(list(range(1, 101)), 0.99) == 100 and percentile([], 0.5) is None


def run_contender(name: str, target, arg: str, args, tmp: Path) -> dict:
    ctx = mp.get_context("spawn")
    barrier = ctx.Barrier(args.workers + 1)
    outs = [tmp / f"{name}-{i}.json" for i in range(args.workers)]
    procs = [
        ctx.Process(target=target, args=(arg, args.seconds, args.hold_ms / 1000, str(out), barrier))
        for out in outs
    ]
    for p in procs:
        p.start()
    barrier.wait(timeout=300)  # every worker is connected and ready
    for p in procs:
        p.join(timeout=args.seconds + 120)
        if p.is_alive():
            p.kill()
    results = [
        json.loads(out.read_text())
        if out.exists()
        else {"leases": [], "misses": 0, "waits_ms": [], "errors": ["no result"]}
        for out in outs
    ]
    waits = sorted(w for r in results for w in r["waits_ms"])
    leases = [tuple(x) for r in results for x in r["leases"]]
    per_account = Counter(account for account, _, _ in leases)
    errors = [e for r in results for e in r["errors"]]
    return {
        "bench": "lease",
        "contender": name,
        "workers": args.workers,
        "accounts": args.accounts,
        "seconds": args.seconds,
        "hold_ms": args.hold_ms,
        "leases": len(leases),
        "leases_per_s": round(len(leases) / args.seconds, 1),
        "per_worker": [len(r["leases"]) for r in results],
        "lease_p50_ms": percentile(waits, 0.50),
        "lease_p99_ms": percentile(waits, 0.99),
        "double_leases": double_leases(leases),
        "accounts_used": len(per_account),
        "top8_share": round(sum(n for _, n in per_account.most_common(8)) / max(len(leases), 1), 3),
        "most_used": per_account.most_common(3),
        "misses": sum(r["misses"] for r in results),
        "errors": len(errors),
        "first_errors": errors[:3],
    }


# -- set-up of each contender ---------------------------------------------------------------------


def accounts(n: int) -> list[tuple[str, dict[str, str]]]:
    return [(f"bench{i:03d}", {"auth_token": f"token{i:03d}", "ct0": f"ct0{i:03d}"}) for i in range(n)]


def xget_setup(url: str, n: int) -> None:
    from xget_pipelines.core.db.engine import get_engine
    from xget_pipelines.core.pools.account_pool import AccountPool

    AccountPool(get_engine(url), secrets=secret_box()).add_accounts(accounts(n))


def twscrape_setup(db_file: str, n: int) -> None:
    from twscrape import AccountsPool

    async def add() -> None:
        pool = AccountsPool(db_file)
        for username, c in accounts(n):
            await pool.add_account(
                username,
                "_",
                f"{username}@example.com",
                "_",
                cookies=f"auth_token={c['auth_token']}; ct0={c['ct0']}",
            )
        assert len([a for a in await pool.get_all() if a.active]) == n

    asyncio.run(add())


def run_all(contenders: list[str], args, tmp: Path, runs: dict[str, list[dict]]) -> None:
    """``--rounds`` rounds, each contender once per round (interleaved, so a noisy minute on the machine
    hits every contender alike), each time on a fresh database."""
    for round_no in range(1, args.rounds + 1):
        for name in contenders:
            result = run_once(name, args, tmp / f"round{round_no}")
            result["round"] = round_no
            runs.setdefault(name, []).append(result)
            emit(result)


def run_once(name: str, args, tmp: Path) -> dict:
    import sqlalchemy as sa

    tmp.mkdir(parents=True, exist_ok=True)
    if name == "xget_sqlite":
        url = f"sqlite:///{tmp / 'xget.db'}"
        xget_setup(url, args.accounts)
        return run_contender(name, xget_worker, url, args, tmp)
    if name == "xget_postgres":
        admin = sa.create_engine(args.postgres_admin_url, isolation_level="AUTOCOMMIT")
        db = f"xget_bench_{uuid.uuid4().hex[:10]}"
        with admin.connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{db}"'))
        url = (
            sa.engine.make_url(args.postgres_admin_url).set(database=db).render_as_string(hide_password=False)
        )
        try:
            xget_setup(url, args.accounts)
            return run_contender(name, xget_worker, url, args, tmp)
        finally:
            from xget_pipelines.core.db.engine import get_engine

            get_engine(url).dispose()
            with admin.connect() as conn:
                conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)'))
            admin.dispose()
    if name == "twscrape":
        db_file = str(tmp / "twscrape.db")
        twscrape_setup(db_file, args.accounts)
        return run_contender(name, twscrape_worker, db_file, args, tmp)
    raise SystemExit(f"unknown contender {name!r}")


def median_run(rounds: list[dict]) -> dict:
    """The round with the median rate (the middle one of an odd number)."""
    return sorted(rounds, key=lambda r: r["leases_per_s"])[(len(rounds) - 1) // 2]


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--seconds", type=float, default=10.0, help="length of each contender's run")
    ap.add_argument("--accounts", type=int, default=50)
    ap.add_argument("--workers", type=int, default=8, help="worker processes")
    ap.add_argument("--hold-ms", type=float, default=1.0, help="how long each lease is held")
    ap.add_argument(
        "--postgres-admin-url",
        default=POSTGRES_ADMIN_URL,
        help="admin URL of the PostgreSQL server; a scratch database is created and dropped",
    )
    ap.add_argument("--contenders", default="xget_sqlite,xget_postgres,twscrape")
    ap.add_argument(
        "--rounds", type=int, default=3, help="runs of each contender (interleaved); the median counts"
    )
    args = ap.parse_args()
    _selfcheck()
    contenders = [c.strip() for c in args.contenders.split(",") if c.strip()]

    tmp = Path(tempfile.mkdtemp(prefix="xget-bench-lease-"))
    os.environ.setdefault("XGET_HOME", str(tmp / "home"))  # anything XGet keeps locally stays in tmp
    runs: dict[str, list[dict]] = {}
    try:
        run_all(contenders, args, tmp, runs)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    median = {name: median_run(rounds) for name, rounds in runs.items()}

    def rate(name: str):
        return median[name]["leases_per_s"] if name in median else None

    def ratio(name: str):
        theirs = rate("twscrape")
        return round(rate(name) / theirs, 2) if rate(name) is not None and theirs else None

    emit(
        {
            "bench": "lease",
            "workers": args.workers,
            "accounts": args.accounts,
            "seconds": args.seconds,
            "hold_ms": args.hold_ms,
            "rounds": args.rounds,
            "xget_sqlite_leases_per_s": rate("xget_sqlite"),
            "xget_postgres_leases_per_s": rate("xget_postgres"),
            "twscrape_leases_per_s": rate("twscrape"),
            "ratio_sqlite": ratio("xget_sqlite"),
            "ratio_postgres": ratio("xget_postgres"),
            "lease_p99_ms": {name: r["lease_p99_ms"] for name, r in median.items()},
            "leases_per_s_each_round": {
                name: [r["leases_per_s"] for r in rounds] for name, rounds in runs.items()
            },
            # across every round: a double lease or an error in any round counts
            "double_leases": {name: sum(r["double_leases"] for r in rounds) for name, rounds in runs.items()},
            "accounts_used": {name: min(r["accounts_used"] for r in rounds) for name, rounds in runs.items()},
            "errors": {name: sum(r["errors"] for r in rounds) for name, rounds in runs.items()},
        }
    )


if __name__ == "__main__":
    main()
