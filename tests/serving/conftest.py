"""The serving API over real HTTP: the small lake of ``lake_fixture.py`` on tmp_path, a SQLite control-plane
DB with one user per role, and uvicorn serving ``create_app(settings)`` in a thread of the test process, with
the options ``xget api`` serves with (``uvicorn_options``: no proxy trusted, the header deadline).

``api_server`` (one per test module) yields an :class:`ApiServer`: ``base_url``, ``token(role)`` (a bearer
token from ``POST /v1/auth/token``), ``headers(role)``, ``users[role]`` (the user records), ``lake`` (what
``build_small_lake`` wrote: ids to compare against) and ``app``.
``start_api_server(root, **settings)`` is the same as a context manager, for tests that need other
settings (rate limits, registration modes).
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

ROLES = ("viewer", "analyst", "operator", "admin")
PASSWORD = "correct-horse-battery-staple"  # every role's user has it; usernames are the role names + "_user"


def username_of(role: str) -> str:
    return f"{role}_user"


@dataclass
class ApiServer:
    base_url: str
    app: object
    settings: object
    users: dict[str, object] = field(default_factory=dict)  # role -> core.auth.users.ApiUser
    lake: dict = field(default_factory=dict)
    _tokens: dict[str, str] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def token(self, role: str, fresh: bool = False) -> str:
        """An access token of the role's user (cached; ``fresh`` asks for a new one)."""
        with self._lock:
            if fresh or role not in self._tokens:
                rep = httpx.post(
                    f"{self.base_url}/v1/auth/token",
                    timeout=30,
                    data={"grant_type": "password", "username": username_of(role), "password": PASSWORD},
                )
                assert rep.status_code == 200, f"token for {role}: {rep.status_code} {rep.text}"
                self._tokens[role] = rep.json()["access_token"]
            return self._tokens[role]

    def headers(self, role: str | None) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token(role)}"} if role else {}

    def client(self, role: str | None = None, **kwargs) -> httpx.Client:
        return httpx.Client(base_url=self.base_url, headers=self.headers(role), timeout=60, **kwargs)


def _free_socket() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    return sock


@contextlib.contextmanager
def start_api_server(
    root: Path, uvicorn_overrides: dict | None = None, *, build_lake=None, **overrides
) -> Iterator[ApiServer]:
    """Build the lake and DB under ``root``, serve the app with uvicorn in a thread, stop it afterwards.

    ``overrides`` are settings; ``uvicorn_overrides`` replace options of ``uvicorn_options``;
    ``build_lake(lake_root) -> dict`` writes another lake than ``build_small_lake``'s."""
    import uvicorn

    from tests.serving.lake_fixture import build_small_lake
    from xget_pipelines.core.auth.users import create_user
    from xget_pipelines.core.db.engine import get_engine
    from xget_pipelines.serving.app import create_app, uvicorn_options
    from xget_pipelines.settings import Settings

    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    lake = (build_lake or build_small_lake)(root / "lake")
    values = dict(
        home=root,
        lake_uri=str(root / "lake"),
        database_url=f"sqlite:///{root / 'xget.db'}",
        api_rate_limit_per_minute=0,
        api_registration="approval",
        api_lake_refresh_s=0.5,
        search_url="",
    )
    values.update(overrides)
    settings = Settings(**values)
    engine = get_engine(settings.resolved_database_url)
    users = {role: create_user(engine, username_of(role), PASSWORD, role) for role in ROLES}
    app = create_app(settings)

    sock = _free_socket()
    port = sock.getsockname()[1]
    options = {**uvicorn_options(settings), "log_level": "warning", "lifespan": "on"}
    options.update(uvicorn_overrides or {})
    server = uvicorn.Server(uvicorn.Config(app, timeout_graceful_shutdown=5, **options))
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": [sock]}, name=f"uvicorn-{port}", daemon=True
    )
    thread.start()
    base_url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            if httpx.get(f"{base_url}/healthz", timeout=2).status_code == 200:
                break
        except httpx.TransportError:
            pass
        if not thread.is_alive() or time.monotonic() > deadline:
            server.should_exit = True
            sock.close()
            raise RuntimeError(f"the API did not come up on {base_url}")
        time.sleep(0.05)
    try:
        yield ApiServer(base_url, app, settings, users, lake)
    finally:
        server.should_exit = True
        thread.join(timeout=15)
        sock.close()
        engine.dispose()


@pytest.fixture(scope="module")
def api_server(tmp_path_factory) -> Iterator[ApiServer]:
    with start_api_server(tmp_path_factory.mktemp("api")) as server:
        yield server


@contextlib.contextmanager
def api_over_emulator(root: Path, world, accounts: list[str]) -> Iterator[tuple[ApiServer, str]]:
    """The API beside an emulator of ``world`` over HTTP (a 2 s rate-limit window, pages of 10), the world's
    first suggested term on the watchlist and ``accounts`` in the pool: ``(api, term)``."""
    from tests.conftest import register_accounts
    from xget_pipelines.core.db.engine import get_engine
    from xget_pipelines.core.db.watchlist import add_keys
    from xget_pipelines.emulator.app import EmulatorSettings
    from xget_pipelines.emulator.runner import EmulatorServer

    emu = EmulatorServer(world, EmulatorSettings(window_seconds=2))
    emu.start()
    try:
        with start_api_server(root, x_graphql_url=emu.graphql_url, x_page_size=10) as api:
            engine = get_engine(api.settings.resolved_database_url)
            term = world.watchlist_suggestions()["terms"][0]
            add_keys(engine, [term])
            register_accounts(emu, engine, accounts, api.settings.secret_box())
            yield api, term
    finally:
        emu.stop()
