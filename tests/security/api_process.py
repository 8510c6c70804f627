"""``xget api`` in a process of its own, for tests that measure the API: its memory (``/proc/<pid>/status``)
or its latency without the test's own threads sharing its interpreter lock.

``api_process(root, build_lake=build_small_lake, **env)`` builds the lake with ``build_lake(root / "lake")``
and the control-plane DB with one user per role of ``tests/serving/conftest.py`` (same usernames and
password), starts ``xget api`` on a free port with its home under ``root`` and the ``XGET_*`` variables of
``env`` (rate limits off unless given), and yields an :class:`ApiProcess`.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx

from tests.conftest import stop_process_group
from tests.serving.conftest import PASSWORD, ROLES, username_of


@dataclass
class ApiProcess:
    url: str
    pid: int
    lake: dict

    def token(self, role: str) -> str:
        rep = httpx.post(
            f"{self.url}/v1/auth/token",
            data={"grant_type": "password", "username": username_of(role), "password": PASSWORD},
            timeout=60,
        )
        assert rep.status_code == 200, rep.text
        return rep.json()["access_token"]

    def client(self, role: str) -> httpx.Client:
        return httpx.Client(
            base_url=self.url, headers={"Authorization": f"Bearer {self.token(role)}"}, timeout=120
        )

    def status_kib(self, field: str) -> int:
        """A field of ``/proc/<pid>/status`` in KiB (VmRSS, VmHWM)."""
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
        raise AssertionError(f"no {field} in /proc/{self.pid}/status")


@contextlib.contextmanager
def api_process(root: Path, build_lake=None, **env: str) -> Iterator[ApiProcess]:
    from tests.serving.lake_fixture import build_small_lake
    from xget_pipelines.core.auth.users import create_user
    from xget_pipelines.core.db.engine import get_engine

    root.mkdir(parents=True, exist_ok=True)
    lake = (build_lake or build_small_lake)(root / "lake")
    database = f"sqlite:///{root / 'xget.db'}"
    engine = get_engine(database)
    for role in ROLES:
        create_user(engine, username_of(role), PASSWORD, role)
    engine.dispose()
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    log = root / "api.log"
    proc = subprocess.Popen(
        [sys.executable, "-m", "xget_pipelines.cli", "api", "--port", str(port)],
        env={
            **{k: v for k, v in os.environ.items() if not k.startswith("XGET_")},
            "XGET_HOME": str(root),
            "XGET_LAKE_URI": str(root / "lake"),
            "XGET_DATABASE_URL": database,
            "XGET_SEARCH_URL": "",
            "XGET_API_RATE_LIMIT_PER_MINUTE": "0",
            **env,
        },
        cwd=root,
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            with contextlib.suppress(httpx.TransportError):
                if httpx.get(f"{url}/readyz", timeout=5).status_code == 200:
                    break
            if proc.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"the API did not come up:\n{log.read_text()[-3000:]}")
            time.sleep(0.2)
        yield ApiProcess(url, proc.pid, lake)
    finally:
        stop_process_group(proc)
