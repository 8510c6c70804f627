"""Two API processes (two replicas) on one Redis give a principal one budget, not two: the 429s start once
the two replicas together served the burst. A Redis server of its own is started for the test (Debian's
redis-server); without Redis each replica limits on its own, so the same requests get twice the budget.
The replicas also share idempotency keys through Redis: a POST retried on the other replica is replayed,
not run again; while Redis is down a keyed POST is refused (503), not run unguarded."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.conftest import stop_process_group
from tests.serving.conftest import PASSWORD

BURST = 6


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def redis_url(tmp_path):
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.fail("redis-server is required for this test: install Debian's redis-server (make test does)")
    port = _port()
    proc = subprocess.Popen(
        [
            binary,
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(tmp_path),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    deadline = time.monotonic() + 20
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                break
        except OSError:
            assert proc.poll() is None and time.monotonic() < deadline, "redis-server did not start"
            time.sleep(0.1)
    yield f"redis://127.0.0.1:{port}/0"
    stop_process_group(proc)


def _replicas(root: Path, redis_url: str | None, count: int = 2):
    from tests.serving.lake_fixture import build_small_lake
    from xget_pipelines.core.auth.users import create_user
    from xget_pipelines.core.db.engine import get_engine

    build_small_lake(root / "lake")
    database = f"sqlite:///{root / 'xget.db'}"
    create_user(get_engine(database), "viewer_user", PASSWORD, "viewer")
    create_user(get_engine(database), "writer_user", PASSWORD, "analyst")
    env = {
        **os.environ,
        "XGET_HOME": str(root),
        "XGET_LAKE_URI": str(root / "lake"),
        "XGET_DATABASE_URL": database,
        "XGET_API_RATE_LIMIT_PER_MINUTE": "1",
        "XGET_API_RATE_LIMIT_BURST": str(BURST),
        "XGET_JWT_SECRET": "one-signing-key-for-every-replica-0123456789",
        "XGET_SEARCH_URL": "",
    }
    if redis_url:
        env["XGET_REDIS_URL"] = redis_url
    procs, urls = [], []
    for _ in range(count):
        port = _port()
        procs.append(
            subprocess.Popen(
                [sys.executable, "-m", "xget_pipelines.cli", "api", "--port", str(port)],
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        )
        urls.append(f"http://127.0.0.1:{port}")
    deadline = time.monotonic() + 90
    for url, proc in zip(urls, procs, strict=False):
        while True:
            try:
                if httpx.get(f"{url}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert proc.poll() is None and time.monotonic() < deadline, f"the API at {url} did not come up"
            time.sleep(0.2)
    return procs, urls


def _token(url: str, username: str) -> str:
    return httpx.post(
        f"{url}/v1/auth/token",
        timeout=30,
        data={"grant_type": "password", "username": username, "password": PASSWORD},
    ).json()["access_token"]


def _served(urls: list[str], requests: int) -> tuple[int, int]:
    """(200s, 429s) of ``requests`` calls by one user, spread over the replicas in turn."""
    token = _token(urls[0], "viewer_user")
    codes = [
        httpx.get(
            f"{urls[i % len(urls)]}/v1/me", headers={"Authorization": f"Bearer {token}"}, timeout=30
        ).status_code
        for i in range(requests)
    ]
    assert set(codes) <= {200, 429}, codes
    return codes.count(200), codes.count(429)


def test_two_replicas_on_one_redis_give_one_budget(tmp_path, redis_url):
    procs, urls = _replicas(tmp_path / "shared", redis_url)
    try:
        ok, limited = _served(urls, 3 * BURST)
    finally:
        for proc in procs:
            stop_process_group(proc)
    # the token request spent one of the budget too (limited by address, a bucket of its own): the user's
    # requests get the burst, once, across both replicas (a refill of one a minute may add one)
    assert BURST <= ok <= BURST + 1 and limited == 3 * BURST - ok


def test_without_redis_each_replica_has_its_own_budget(tmp_path):
    procs, urls = _replicas(tmp_path / "apart", None)
    try:
        ok, _ = _served(urls, 3 * BURST)
    finally:
        for proc in procs:
            stop_process_group(proc)
    assert ok >= 2 * BURST  # the gap XGET_REDIS_URL closes


def test_a_post_retried_on_the_other_replica_is_replayed_from_redis(tmp_path, redis_url):
    import redis
    from sqlalchemy import func, select

    from xget_pipelines.core.db.engine import get_engine
    from xget_pipelines.core.db.models import IdempotencyRecord, Task

    root = tmp_path / "idem"
    procs, urls = _replicas(root, redis_url)
    try:
        auth = {"Authorization": f"Bearer {_token(urls[0], 'writer_user')}"}
        body = {"type": "SEARCH", "target": "climate", "start": False}
        first = httpx.post(
            f"{urls[0]}/v1/tasks", headers={**auth, "Idempotency-Key": "k-1"}, json=body, timeout=30
        )
        again = httpx.post(
            f"{urls[1]}/v1/tasks", headers={**auth, "Idempotency-Key": "k-1"}, json=body, timeout=30
        )
        other = httpx.post(
            f"{urls[1]}/v1/tasks",
            headers={**auth, "Idempotency-Key": "k-1"},
            json={**body, "target": "football"},
            timeout=30,
        )
        assert first.status_code == 201, first.text
        assert again.status_code == 201 and again.headers.get("idempotent-replayed") == "true"
        assert again.json()["id"] == first.json()["id"]
        assert other.status_code == 422 and "different request" in other.json()["error"]["message"]
        engine = get_engine(f"sqlite:///{root / 'xget.db'}")
        with engine.connect() as conn:
            assert conn.execute(select(func.count()).select_from(Task)).scalar() == 1  # ran once
            assert conn.execute(select(func.count()).select_from(IdempotencyRecord)).scalar() == 0  # in Redis
        assert len(redis.Redis.from_url(redis_url).keys("xget:idem:*")) == 1

        redis.Redis.from_url(redis_url).shutdown(nosave=True)
        refused = httpx.post(
            f"{urls[0]}/v1/tasks", headers={**auth, "Idempotency-Key": "k-2"}, json=body, timeout=30
        )
        assert refused.status_code == 503 and "Redis" in refused.json()["error"]["message"]
        assert refused.headers["Retry-After"]
        unkeyed = httpx.post(f"{urls[0]}/v1/tasks", headers=auth, json=body, timeout=30)
        assert (
            unkeyed.status_code == 201
        )  # the rest of the API goes on (rate limits fall back to the process)
        with engine.connect() as conn:
            assert conn.execute(select(func.count()).select_from(Task)).scalar() == 2
    finally:
        for proc in procs:
            stop_process_group(proc)
