"""The API in a process of its own (``uvicorn ...:create_app --factory``, as ``xget api`` runs it), for tests
that measure it: its memory (``/proc/<pid>/status``) or its latency without the test's own threads sharing
its interpreter lock.

``api_process(root, build_lake, **settings)`` builds the lake with ``build_lake(root / "lake")`` and the
control-plane DB with one user per role of ``tests/serving/conftest.py`` (same usernames and password),
starts the server with ``XGET_*`` variables from ``settings`` and yields an :class:`ApiProcess`.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx

from tests.serving.conftest import PASSWORD, ROLES, username_of

REPO = Path(__file__).resolve().parents[2]


@dataclass
class ApiProcess:
    base_url: str
    pid: int
    lake: dict

    def token(self, role: str) -> str:
        rep = httpx.post(
            f"{self.base_url}/v1/auth/token",
            data={"grant_type": "password", "username": username_of(role), "password": PASSWORD},
            timeout=60,
        )
        assert rep.status_code == 200, rep.text
        return rep.json()["access_token"]

    def client(self, role: str) -> httpx.Client:
        return httpx.Client(
            base_url=self.base_url, headers={"Authorization": f"Bearer {self.token(role)}"}, timeout=120
        )

    def rss_mib(self) -> float:
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        raise RuntimeError("no VmRSS")


@contextlib.contextmanager
def api_process(root: Path, build_lake, **settings) -> Iterator[ApiProcess]:
    from xget_pipelines.core.auth.users import create_user
    from xget_pipelines.core.db.engine import get_engine

    root.mkdir(parents=True, exist_ok=True)
    lake = build_lake(root / "lake")
    database_url = f"sqlite:///{root / 'xget.db'}"
    engine = get_engine(database_url)
    for role in ROLES:
        create_user(engine, username_of(role), PASSWORD, role)
    engine.dispose()
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = {k: v for k, v in os.environ.items() if not k.startswith("XGET_")}
    env.update(
        XGET_HOME=str(root),
        XGET_LAKE_URI=str(root / "lake"),
        XGET_DATABASE_URL=database_url,
        XGET_SEARCH_URL="",
        XGET_API_RATE_LIMIT_PER_MINUTE="0",
        PYTHONPATH=str(REPO) + os.pathsep + env.get("PYTHONPATH", ""),
    )
    env.update({f"XGET_{k.upper()}": str(v) for k, v in settings.items()})
    log = root / "api.log"
    proc = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "xget_pipelines.serving.app:create_app", "--factory"]
        + ["--host", "127.0.0.1", "--port", str(port), "--log-level", "warning", "--no-access-log"],
        cwd=root,
        env=env,
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    base_url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"the API exited with {proc.returncode}:\n{log.read_text()[-3000:]}")
            with contextlib.suppress(httpx.TransportError):
                if httpx.get(f"{base_url}/readyz", timeout=5).status_code == 200:
                    break
            if time.monotonic() > deadline:
                raise RuntimeError(f"the API was not ready in 120 s:\n{log.read_text()[-3000:]}")
            time.sleep(0.2)
        yield ApiProcess(base_url, proc.pid, lake)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
