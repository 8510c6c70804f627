"""The account lease across processes: 8 processes, 1,000+ leases, no account used twice at once and
none used past its rate limit inside one window; on the real PostgreSQL server (``FOR UPDATE SKIP
LOCKED``) and on a SQLite file (``BEGIN IMMEDIATE``).

Each worker is a separate ``spawn`` process that builds its own engine from ``XGET_DATABASE_URL``
(through the settings, as a run process does) and its own ``AccountPool``. It leases, sends a few
requests to a fake X shared by all processes, records the fake X's ``x-rate-limit-*`` headers on the
lease, and releases.

The fake X is X's model of a rate limit: an account's window starts at its first request after the
previous window ended and lasts ``WINDOW_S``; it allows ``LIMIT`` requests in it; the reset header is
the window end rounded up to the whole second (so the lease must learn the window length to hand
accounts back before the header's reset). Its state lives in shared memory behind one lock, so it
sees every process's requests in the order they really happened.

Every process writes what it did to a JSON file; the parent then checks, without trusting the lease
or the fake X's counters:

(a) per account, the intervals between "lease returned" and "release called" never overlap;
(b) per account, the requests (ordered by the fake X's clock) never exceed ``LIMIT`` inside one
    window, no request got a 429, and an account released exhausted is never leased again before
    its window really ended;
(c) at least 1,000 leases by at least 8 processes, every account used, and the request counts the
    pool stored equal the requests sent.

``test_detectors_flag_fabricated_violations`` shows each detector does fail on a violation.
"""

from __future__ import annotations

import json
import math
import multiprocessing as mp
import os
import random
import time
from collections import defaultdict
from pathlib import Path

import pytest

OPERATION = "SearchTimeline"
ACCOUNTS = 12
WORKERS = 8
LIMIT = 3  # requests per window per account
WINDOW_S = 0.2  # the window's real length; the reset header rounds its end up to the whole second
TARGET_LEASES = 1200  # workers stop once this many leases were taken in total...
MAX_RUN_S = 50.0  # ...or after this long (the assertions then say how far they got)
REQUEST_S = 0.001  # time a request "takes" (the fake X sleeps outside its lock)

# -- the fake X: shared memory, one slot pair per account -------------------------------------------


def x_request(state, lock, index: int) -> dict:
    """One request of account ``index`` to the fake X: the status and the rate-limit headers."""
    with lock:
        now = time.time()
        start, count = state[2 * index], state[2 * index + 1]
        if count == 0 or now >= start + WINDOW_S:
            start, count = now, 0
        count += 1
        state[2 * index], state[2 * index + 1] = start, count
    status = 200 if count <= LIMIT else 429
    headers = {
        "x-rate-limit-limit": str(LIMIT),
        "x-rate-limit-remaining": str(max(LIMIT - int(count), 0)),
        "x-rate-limit-reset": str(math.ceil(start + WINDOW_S)),
    }
    return {"t": now, "status": status, "headers": headers}


# -- a worker process ----------------------------------------------------------------------------------


def lease_worker(
    index: int, database_url: str, key: bytes, out_path: str, state, lock, leases_taken, barrier
) -> None:
    os.environ.setdefault("TWS_TELEMETRY", "0")
    from xget_pipelines.core.db.engine import get_engine
    from xget_pipelines.core.errors import NoAccountAvailable
    from xget_pipelines.core.pools.account_pool import AccountPool
    from xget_pipelines.core.secrets import SecretBox

    pid = os.getpid()
    rng = random.Random(1000 + index)
    leases: list[dict] = []
    requests: list[dict] = []
    errors: list[str] = []
    try:
        engine = get_engine(database_url)  # what a run process is given: the database and the key
        pool = AccountPool(engine, secrets=SecretBox(key))
        account_index = {f"acc{i:02d}": i for i in range(ACCOUNTS)}
        barrier.wait(timeout=120)
        stop_at = time.time() + MAX_RUN_S
        while leases_taken.value < TARGET_LEASES and time.time() < stop_at:
            try:
                lease = pool.lease(OPERATION, 10)
            except NoAccountAvailable as exc:
                errors.append(f"NoAccountAvailable: {exc}")
                continue
            t_leased = time.time()
            with leases_taken.get_lock():
                leases_taken.value += 1
            record = {
                "account": lease.username,
                "pid": pid,
                "t_leased": t_leased,
                "remaining_at_lease": lease.remaining,
                "reset_at_lease": lease.reset_at,
                "requests": 0,
            }
            # how many requests this lease serves: often one, sometimes until the window is used up
            budget = rng.choice([1, 1, 1, 2, LIMIT])
            if lease.remaining is not None:
                budget = min(budget, lease.remaining)  # 0 here would be a lease of an exhausted account
            for _ in range(budget):
                sent_at = time.time()
                reply = x_request(state, lock, account_index[lease.username])
                time.sleep(REQUEST_S)
                received_at = time.time()
                lease.record(reply["headers"], sent_at=sent_at, received_at=received_at)
                record["requests"] += 1
                requests.append(
                    {
                        "account": lease.username,
                        "pid": pid,
                        "t": reply["t"],
                        "status": reply["status"],
                        "remaining": int(reply["headers"]["x-rate-limit-remaining"]),
                    }
                )
                if reply["status"] != 200 or lease.exhausted:
                    break
            record["exhausted"] = lease.exhausted
            record["t_released"] = time.time()
            pool.release(lease)
            leases.append(record)
    except Exception as exc:  # reported to the parent, which fails the test with it
        import traceback

        errors.append("".join(traceback.format_exception(exc)))
    finally:
        Path(out_path).write_text(
            json.dumps({"pid": pid, "leases": leases, "requests": requests, "errors": errors})
        )


# -- the detectors (pure functions over the logs) ---------------------------------------------------


def find_overlaps(leases: list[dict]) -> list[tuple[dict, dict]]:
    """Pairs of leases of one account whose [t_leased, t_released] intervals overlap."""
    by_account = defaultdict(list)
    for lease in leases:
        by_account[lease["account"]].append(lease)
    clashes = []
    for items in by_account.values():
        items.sort(key=lambda r: r["t_leased"])
        holder = items[0]  # the lease that ends last among those seen so far
        for lease in items[1:]:
            if lease["t_leased"] < holder["t_released"]:
                clashes.append((holder, lease))
            if lease["t_released"] > holder["t_released"]:
                holder = lease
    return clashes


def windows_of(requests: list[dict], window_s: float = WINDOW_S) -> dict[str, list[list[dict]]]:
    """Each account's requests cut into X windows: a window starts at the first request at or after
    the previous window's end and lasts ``window_s``."""
    by_account = defaultdict(list)
    for request in requests:
        by_account[request["account"]].append(request)
    windows: dict[str, list[list[dict]]] = {}
    for account, items in by_account.items():
        items.sort(key=lambda r: r["t"])
        cut: list[list[dict]] = []
        for request in items:
            if not cut or request["t"] >= cut[-1][0]["t"] + window_s:
                cut.append([])
            cut[-1].append(request)
        windows[account] = cut
    return windows


def over_limit(requests: list[dict], limit: int = LIMIT, window_s: float = WINDOW_S) -> list[dict]:
    """Windows in which an account served more than ``limit`` requests (or got a 429)."""
    bad = []
    for account, cut in windows_of(requests, window_s).items():
        for window in cut:
            if len(window) > limit or any(r["status"] != 200 for r in window):
                bad.append(
                    {
                        "account": account,
                        "window_start": window[0]["t"],
                        "requests": len(window),
                        "pids": sorted({r["pid"] for r in window}),
                    }
                )
    return bad


def leased_before_reopening(
    leases: list[dict], requests: list[dict], window_s: float = WINDOW_S
) -> list[dict]:
    """Leases of an account taken before the window that a previous lease used up had ended."""
    ends: dict[str, list[float]] = {}  # account -> end of each window that was used up
    for account, cut in windows_of(requests, window_s).items():
        ends[account] = [w[0]["t"] + window_s for w in cut if w[-1]["remaining"] == 0]
    bad = []
    by_account = defaultdict(list)
    for lease in leases:
        by_account[lease["account"]].append(lease)
    for account, items in by_account.items():
        items.sort(key=lambda r: r["t_leased"])
        for before, after in zip(items, items[1:], strict=False):
            if not before.get("exhausted"):
                continue
            # the used-up window is the last one that started before this lease was released
            end = max(
                (e for e in ends.get(account, []) if e - window_s <= before["t_released"]), default=None
            )
            if end is not None and after["t_leased"] < end:
                bad.append(
                    {
                        "account": account,
                        "exhausted_until": end,
                        "leased_again_at": after["t_leased"],
                        "early_by_s": end - after["t_leased"],
                    }
                )
    return bad


# -- tests -----------------------------------------------------------------------------------------


def test_detectors_flag_fabricated_violations():
    def lease(account, t0, t1, exhausted=False):
        return {"account": account, "pid": 1, "t_leased": t0, "t_released": t1, "exhausted": exhausted}

    def req(account, t, remaining, status=200):
        return {"account": account, "pid": 1, "t": t, "status": status, "remaining": remaining}

    clean_leases = [lease("a", 0.0, 1.0), lease("a", 1.0, 2.0), lease("b", 0.5, 1.5)]
    assert find_overlaps(clean_leases) == []
    overlapping = clean_leases + [lease("a", 0.2, 0.3)]  # nested in the first "a" lease
    assert len(find_overlaps(overlapping)) == 1
    assert len(find_overlaps([lease("a", 0.0, 5.0), lease("a", 1.0, 2.0), lease("a", 3.0, 4.0)])) == 2

    w = 0.3  # the fabricated windows are 0.3 s long
    clean = [req("a", 10.0, 2), req("a", 10.1, 1), req("a", 10.2, 0), req("a", 10.3, 2), req("a", 10.31, 1)]
    assert over_limit(clean, 3, w) == []
    assert len(over_limit(clean[:3] + [req("a", 10.25, 0)], 3, w)) == 1  # a fourth request in the window
    assert len(over_limit([req("a", 1.0, 0, status=429)], 3, w)) == 1

    used_up = [req("a", 10.0, 2), req("a", 10.05, 1), req("a", 10.1, 0)]
    ok_leases = [lease("a", 9.99, 10.11, exhausted=True), lease("a", 10.31, 10.4)]
    assert leased_before_reopening(ok_leases, used_up, w) == []
    early = [lease("a", 9.99, 10.11, exhausted=True), lease("a", 10.2, 10.25)]  # window ends at 10.3
    assert len(leased_before_reopening(early, used_up, w)) == 1


@pytest.fixture(params=["postgres", "sqlite"])
def database_url(request, tmp_path):
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'xget.db'}"
    return request.getfixturevalue("postgres_url")


def test_processes_never_share_an_account_or_exceed_its_window(database_url, tmp_path):
    from cryptography.fernet import Fernet

    from xget_pipelines.core.db.engine import get_engine
    from xget_pipelines.core.pools.account_pool import AccountPool
    from xget_pipelines.core.secrets import SecretBox

    key = Fernet.generate_key()  # the workers get the database and the key, as run processes do
    engine = get_engine(database_url)
    pool = AccountPool(engine, secrets=SecretBox(key))
    pool.add_accounts([(f"acc{i:02d}", {"auth_token": f"t{i}", "ct0": f"c{i}"}) for i in range(ACCOUNTS)])

    ctx = mp.get_context("spawn")
    state = ctx.Array("d", 2 * ACCOUNTS, lock=False)  # guarded by x_lock
    x_lock = ctx.Lock()
    leases_taken = ctx.Value("i", 0)
    barrier = ctx.Barrier(WORKERS)
    outs = [tmp_path / f"worker{i}.json" for i in range(WORKERS)]
    procs = [
        ctx.Process(
            target=lease_worker,
            args=(i, database_url, key, str(outs[i]), state, x_lock, leases_taken, barrier),
        )
        for i in range(WORKERS)
    ]
    started = time.time()
    for p in procs:
        p.start()
    for p in procs:
        p.join(timeout=MAX_RUN_S + 120)
    for p in procs:
        if p.is_alive():
            p.kill()
    elapsed = time.time() - started
    assert [p.exitcode for p in procs] == [0] * WORKERS

    results = [json.loads(out.read_text()) for out in outs]
    errors = [e for r in results for e in r["errors"]]
    assert errors == []
    leases = [lease for r in results for lease in r["leases"]]
    requests = [req for r in results for req in r["requests"]]
    per_pid = {r["pid"]: len(r["leases"]) for r in results}

    windows = sum(len(cut) for cut in windows_of(requests).values())
    print(
        f"{len(leases)} leases, {len(requests)} requests, {windows} windows, "
        f"{sum(lease['exhausted'] for lease in leases)} used-up windows, {len(per_pid)} processes, "
        f"{elapsed:.1f} s"
    )
    # (a) no account held by two processes at once
    overlaps = find_overlaps(leases)
    assert overlaps == [], f"{len(overlaps)} double leases, first: {overlaps[:3]}"
    # (b) no account used past its limit in one window, nor leased again before it reopened
    assert [r for r in requests if r["status"] != 200] == []
    assert over_limit(requests) == []
    early = leased_before_reopening(leases, requests)
    assert early == [], f"{len(early)} leases of a used-up account before its window ended: {early[:3]}"
    # (c) the scale asked for, and the pool's own bookkeeping agrees with what was sent
    assert len(leases) >= 1000, f"only {len(leases)} leases in {elapsed:.1f} s"
    assert len(per_pid) == WORKERS and min(per_pid.values()) > 0, per_pid
    assert len({lease["account"] for lease in leases}) == ACCOUNTS
    assert sum(lease["exhausted"] for lease in leases) > 0  # windows really were used up
    assert windows > ACCOUNTS  # and reopened
    status = pool.status()
    stored = {a["username"]: sum(op["requests"] for op in a["operations"]) for a in status}
    sent = defaultdict(int)
    for r in requests:
        sent[r["account"]] += 1
    assert stored == dict(sent)
    from sqlalchemy import select

    from xget_pipelines.core.db.models import AccountOperation

    with engine.connect() as conn:  # every lease was handed back
        held = conn.execute(
            select(AccountOperation.id).where(AccountOperation.leased_until.is_not(None))
        ).all()
    assert held == []
