"""Running the emulator: in a background thread for tests/benchmarks, or blocking for the CLI."""

from __future__ import annotations

import logging
import socket
import threading
import time
import urllib.request
from typing import Self

import uvicorn

from .app import EmulatorState, create_app
from .settings import EmulatorSettings
from .world import World, WorldConfig

log = logging.getLogger(__name__)


def _resolve_world(world_or_cfg: World | WorldConfig | None) -> World:
    if isinstance(world_or_cfg, World):
        return world_or_cfg
    return World.generate(world_or_cfg or WorldConfig())


class EmulatorServer:
    """A uvicorn server on its own thread. The socket is bound (and the port known) in
    `__init__`, so `.url` is valid before `start()` and no other process can take the port.

        with EmulatorServer(WorldConfig(users=50, tweets=500)) as emu:
            httpx.get(emu.url + "/_emulator/health")
    """

    def __init__(
        self,
        world_or_cfg: World | WorldConfig | None = None,
        settings: EmulatorSettings | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
    ):
        self.world = _resolve_world(world_or_cfg)
        self.settings = settings or EmulatorSettings()
        self.app = create_app(self.world, self.settings)
        self.host = host
        self._socket = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
        self._socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._socket.bind((host, port))
        self.port = self._socket.getsockname()[1]
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    @property
    def graphql_url(self) -> str:
        return self.url + "/i/api/graphql"

    @property
    def state(self) -> EmulatorState:
        """Direct access to rate limits, faults, stats and accounts (same process only)."""
        return self.app.state.emulator

    def start(self, timeout: float = 15.0) -> EmulatorServer:
        if self._thread is not None:
            return self
        config = uvicorn.Config(
            self.app, log_level="warning", access_log=False, lifespan="off", timeout_graceful_shutdown=2
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run,
            kwargs={"sockets": [self._socket]},
            name=f"xget-emulator-{self.port}",
            daemon=True,
        )
        self._thread.start()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self._thread.is_alive():
                raise RuntimeError("emulator server thread exited during start-up")
            try:
                with urllib.request.urlopen(self.url + "/_emulator/health", timeout=1) as rep:
                    if rep.status == 200:
                        return self
            except OSError:
                time.sleep(0.02)
        self.stop()
        raise TimeoutError(f"emulator did not answer on {self.url} within {timeout}s")

    def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=10)
            if self._thread.is_alive():
                log.warning("emulator thread did not stop in time")
        self._socket.close()
        self._server = self._thread = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def serve(
    cfg: WorldConfig | World | None = None,
    settings: EmulatorSettings | None = None,
    host: str = "127.0.0.1",
    port: int = 8765,  # the default of XGET_EMULATOR_PORT and XGET_X_GRAPHQL_URL
) -> None:
    """Generate the world and serve it until interrupted (used by `xget emulator`)."""
    started = time.perf_counter()
    world = _resolve_world(cfg)
    app = create_app(world, settings or EmulatorSettings())
    log.warning(
        "emulator world ready in %.1fs: %d users, %d tweets; serving on http://%s:%d",
        time.perf_counter() - started,
        len(world.users),
        len(world.tweets),
        host,
        port,
    )
    uvicorn.run(app, host=host, port=port, log_level="warning", access_log=False, lifespan="off")
