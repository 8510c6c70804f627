"""Two API processes (two replicas) on one Redis give a principal one budget, not two: the 429s start once
the two replicas together served the burst. A Redis server of its own is started for the test (Debian's
redis-server); without Redis each replica limits on its own, so the same requests get twice the budget."""

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
    proc = subprocess.Popen([binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                             "--dir", str(tmp_path)], stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT,
                            start_new_session=True)
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
    env = {**os.environ, "XGET_HOME": str(root), "XGET_LAKE_URI": str(root / "lake"), "XGET_DATABASE_URL": database,
           "XGET_API_RATE_LIMIT_PER_MINUTE": "1", "XGET_API_RATE_LIMIT_BURST": str(BURST),
           "XGET_JWT_SECRET": "one-signing-key-for-every-replica-0123456789", "XGET_SEARCH_URL": ""}
    if redis_url:
        env["XGET_REDIS_URL"] = redis_url
    procs, urls = [], []
    for _ in range(count):
        port = _port()
        procs.append(subprocess.Popen([sys.executable, "-m", "xget_pipelines.cli", "api", "--port", str(port)],
                                      env=env, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT,
                                      start_new_session=True))
        urls.append(f"http://127.0.0.1:{port}")
    deadline = time.monotonic() + 90
    for url, proc in zip(urls, procs):
        while True:
            try:
                if httpx.get(f"{url}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert proc.poll() is None and time.monotonic() < deadline, f"the API at {url} did not come up"
            time.sleep(0.2)
    return procs, urls


def _served(urls: list[str], requests: int) -> tuple[int, int]:
    """(200s, 429s) of ``requests`` calls by one user, spread over the replicas in turn."""
    token = httpx.post(f"{urls[0]}/v1/auth/token", timeout=30, data={
        "grant_type": "password", "username": "viewer_user", "password": PASSWORD}).json()["access_token"]
    codes = [httpx.get(f"{urls[i % len(urls)]}/v1/me", headers={"Authorization": f"Bearer {token}"},
                       timeout=30).status_code for i in range(requests)]
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
