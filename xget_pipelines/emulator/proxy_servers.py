"""Real proxy servers on this machine, as subprocesses on free ports of 127.0.0.1: the offline stand-in
for a user's proxy provider, used by ``xget demo`` and by the tests.

* HTTP: ``proxy.py`` (PyPI ``proxy.py``), optionally with ``--basic-auth``; it writes an access log line
  per proxied request (``... - GET 127.0.0.1:PORT/path - 200 OK ...``).
* SOCKS5: ``pproxy`` (PyPI ``pproxy``), optionally with a user and password; with ``-v`` it logs a line
  per tunnelled connection (``socks5 127.0.0.1:CLIENT -> 127.0.0.1:TARGET``). proxy.py's own SOCKS
  handler is a SOCKS4 stub, hence pproxy.

A server that does not come up raises :class:`ProxyServerError` with its output (so tests fail, never skip).
Each server runs in its own process group, so stopping it also ends the workers it forked.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import quote

# pproxy calls asyncio.get_event_loop() at start-up and installs uvloop when it can; uvloop (installed
# with uvicorn[standard]) refuses that on Python 3.11+, so the launcher hides it and sets a loop first.
_PPROXY_LAUNCHER = (
    "import sys, asyncio; sys.modules['uvloop'] = None; asyncio.set_event_loop(asyncio.new_event_loop()); "
    "from pproxy.server import main; sys.exit(main(sys.argv[1:]))"
)


class ProxyServerError(RuntimeError):
    pass


class ProxyServer:
    def __init__(
        self,
        kind: str,
        scheme: str,
        proc: subprocess.Popen,
        log: Path,
        port: int,
        username: str | None,
        password: str | None,
    ):
        self.kind, self.scheme, self.proc, self.log, self.port = kind, scheme, proc, log, port
        self.username, self.password = username, password

    def url(self, username: str | None = None, password: str | None = None) -> str:
        """The proxy URL with the given credentials (default: the server's own)."""
        user = self.username if username is None else username
        pw = self.password if password is None else password
        auth = f"{quote(user, safe='')}:{quote(pw, safe='')}@" if user else ""
        return f"{self.scheme}://{auth}127.0.0.1:{self.port}"

    def log_text(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def connections_to(self, port: int) -> int:
        """Requests (HTTP) or tunnels (SOCKS) this server logged towards 127.0.0.1:port."""
        text = self.log_text()
        if self.kind == "proxy.py":
            return len(re.findall(rf" - GET 127\.0\.0\.1:{port}/\S* - 200 ", text))
        return len(re.findall(rf"-> 127\.0\.0\.1:{port}\b", text))

    @property
    def alive(self) -> bool:
        return self.proc.poll() is None

    def stop(self) -> None:
        """End the server and its workers (its own process group), waiting until the port is closed."""
        if self.proc.poll() is None:
            for sig in (signal.SIGTERM, signal.SIGKILL):
                try:
                    os.killpg(self.proc.pid, sig)
                except ProcessLookupError:
                    break
                try:
                    self.proc.wait(timeout=5)
                    break
                except subprocess.TimeoutExpired:
                    continue
        try:  # workers of the group may linger a moment after the leader
            os.killpg(self.proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        deadline = time.monotonic() + 5
        while _listening(self.port) and time.monotonic() < deadline:
            time.sleep(0.05)


def _listening(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return True
    except OSError:
        return False


def _wait(proc: subprocess.Popen, logs: list[Path], find_port, what: str, timeout: float) -> int:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        port = find_port()
        if port and _listening(port):
            return port
        if proc.poll() is not None:
            break
        time.sleep(0.05)
    alive = proc.poll() is None
    if alive:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=5)
    tail = "\n".join(log.read_text(errors="replace")[-2000:] for log in logs if log.exists())
    why = f"not listening after {timeout:g} s" if alive else f"exited with code {proc.returncode}"
    raise ProxyServerError(f"{what} did not start ({why}); its output:\n{tail}")


def start_http_proxy(
    workdir: Path,
    username: str | None = None,
    password: str | None = None,
    port: int = 0,
    timeout: float = 30.0,
) -> ProxyServer:
    """proxy.py on 127.0.0.1 (``port`` 0: a free one), with basic auth when a user is given."""
    workdir.mkdir(parents=True, exist_ok=True)
    stamp = f"{time.monotonic_ns()}"
    log, port_file = workdir / f"proxy-py-{stamp}.log", workdir / f"proxy-py-{stamp}.port"
    cmd = [
        sys.executable,
        "-m",
        "proxy",
        "--hostname",
        "127.0.0.1",
        "--port",
        str(port),
        "--port-file",
        str(port_file),
        "--num-workers",
        "1",
        "--num-acceptors",
        "1",
        "--log-file",
        str(log),
        "--log-level",
        "INFO",
        "--timeout",
        "5",
    ]
    if username:
        cmd += ["--basic-auth", f"{username}:{password}"]
    with open(workdir / f"proxy-py-{stamp}.out", "wb") as out:
        proc = subprocess.Popen(
            cmd, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True
        )

    def find_port() -> int | None:
        text = port_file.read_text().strip() if port_file.exists() else ""
        return int(text) if text.isdigit() else None

    bound = _wait(proc, [workdir / f"proxy-py-{stamp}.out", log], find_port, "proxy.py (HTTP proxy)", timeout)
    return ProxyServer("proxy.py", "http", proc, log, bound, username, password)


def start_socks5_proxy(
    workdir: Path,
    username: str | None = None,
    password: str | None = None,
    port: int = 0,
    timeout: float = 30.0,
    exit_address: str | None = None,
) -> ProxyServer:
    """pproxy serving SOCKS5 on 127.0.0.1, with a user and password when given (checked on every
    connection: ``--auth 0`` turns off pproxy's "trust this IP for 30 days after one login").

    ``exit_address`` (a loopback address such as ``127.0.0.2``) is the address its outgoing connections
    come from (pproxy's local bind, ``/@ADDRESS`` in the listen URI): a proxy with its own exit address, as
    a provider's proxies have, which the emulator's ``whoami_addresses`` can map to a public one."""
    workdir.mkdir(parents=True, exist_ok=True)
    log = workdir / f"pproxy-{time.monotonic_ns()}.log"
    bind = f"/@{exit_address}" if exit_address else ""
    listen = f"socks5://127.0.0.1:{port}{bind}" + (f"#{username}:{password}" if username else "")
    cmd = [sys.executable, "-u", "-c", _PPROXY_LAUNCHER, "-l", listen, "-v", "--auth", "0"]
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            cmd, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True
        )

    def find_port() -> int | None:
        match = re.search(r"Serving on \S+ 127\.0\.0\.1:(\d+)", log.read_text(errors="replace"))
        return int(match.group(1)) if match else None

    bound = _wait(proc, [log], find_port, "pproxy (SOCKS5 proxy)", timeout)
    return ProxyServer("pproxy", "socks5", proc, log, bound, username, password)


def free_port() -> int:
    """A port nothing listens on (bound and released; nothing else here binds it afterwards)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Blackhole:
    """A TCP port that accepts connections (kernel backlog) and never answers: a hanging proxy."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]

    def close(self) -> None:
        self.sock.close()
