"""Benchmark: how much of the rate limit XGet's account lease turns into pages, against twscrape's
own ``AccountsPool``, on the same emulator, with a compressed rate-limit window.

Run: ``.venv/bin/python bench/scrape.py`` (about 70 s) or ``--quick`` (about 30 s). Prints one JSON
line per measurement; the LAST line is the headline.

Set-up (identical for both contenders)
--------------------------------------
- One emulator (``xget_pipelines.emulator``) in a child process, as X is a remote server: a modest
  world (400 users, 20,000 tweets, 10 days), ``window_seconds=--window`` and
  ``rate_limits={"SearchTimeline": --limit}``; every other setting is the default (no faults,
  unless ``--fail-fraction``: see "Failing accounts").
- ``--accounts`` accounts registered through ``POST /_emulator/accounts``, given to each contender
  as cookies (``auth_token``, ``ct0``).
- ``--workers`` concurrent paginations of SearchTimeline (``count`` 20, product Latest). The queries
  are the world's ``watchlist_suggestions()["terms"]`` without date bounds (deep timelines); when a
  timeline ends the worker takes the next query from a shared sequence (the terms again, each with a
  negated word no tweet contains, ``python -xgetbench1``: the same deep timeline under a new query
  string, so a (query, cursor) pair identifies one page). Both contenders get the same sequence.
- XGet: one ``XClient`` and one ``AccountPool`` object per worker thread (as separate run processes
  would have), all on one control-plane DB (a fresh SQLite file, or a scratch PostgreSQL database
  with ``--database-url``). twscrape 0.20.1: ``API(AccountsPool(<fresh sqlite file>))`` with its
  defaults, ``search_raw`` per worker, the workers under one ``asyncio.gather``.
- The contenders run one after the other; before each, ``DELETE /_emulator/faults`` and
  ``POST /_emulator/stats/reset?limits=1`` clear any fault and empty the emulator's counters and
  rate-limit windows.
- Each run lasts exactly ``D = --windows x --window`` seconds from ``t0``, which is taken just after
  a whole second, before the first request (see "Start phase" below). Both contenders are stopped
  by the same gate at their HTTP layer: no request leaves after ``t0 + D`` (XGet: an ``httpx``
  transport wrapper; twscrape: a wrapper of its ``queue_client.Ctx.req``). The wrappers only
  observe (status, rate-limit headers, query, cursor) and apply that gate. twscrape tasks still
  asleep in its pool's wait at the deadline are cancelled after a grace of 1 s.

Formulae
--------
- ``capacity = accounts x limit x ceil(D / window)``. Exact bound: the emulator (like X) opens an
  account's window with the first request after the previous window closed, so every window of the
  run starts at or after ``t0``; at most ``ceil(D / window)`` windows can start in ``[t0, t0 + D)``
  and each serves ``limit`` pages. ``served <= capacity`` is checked on every run.
- ``utilisation = handed / capacity``: pages the contender handed to its caller (every 200 page,
  duplicates included, so duplicates are visible as their own number) over the capacity.
- ``served`` = the emulator's own ``/_emulator/stats`` count of 200 pages (all accounts,
  SearchTimeline). ``lost = served - handed``: served with HTTP 200 but never handed to the caller.
  ``duplicated = handed - distinct (query, cursor sent)``.
- ``window_fill = served / (limit x windows the accounts actually opened)``, the windows counted from
  the distinct ``x-rate-limit-reset`` values the emulator sent with 200 pages per account (the
  emulator's per-account window bookkeeping as seen on the wire). It says how full the opened
  windows were, whatever the idle time between them.
- ``header_bound``: X's ``x-rate-limit-reset`` is whole seconds (the emulator sends
  ``ceil(window start + window)``), so a client that trusts the header starts its next window at the
  earliest at that whole second, not when the window really closed. Simulating every account
  starting at ``t0`` and restarting 1 ms after each announced reset gives the most such a client can
  get in ``D``; ``utilisation_of_header_bound = handed / header_bound``. With a whole-number window
  this costs up to one second per window: small on X's 900 s window, large on a 4 s one.
- ``steady_state_utilisation = complete_window_fill x window / window_cycle_s_mean``: the pages
  handed per window that closed before the deadline, over ``limit``, times the share of time an
  account's window is open, where the cycle is the mean time between the starts of an account's
  successive windows (send time of each window's first page) from its 2nd window on. It does not
  depend on the run's length; over a long run ``utilisation`` tends to it.

Start phase and run length
--------------------------
Pages arrive in bursts: an account's whole window is drained in a fraction of a second (see
``window_drain_s_mean``), then the account waits. So a finite run counts whole windows, and where
its deadline falls decides whether one more burst fits. A client that honours X's whole-second
``x-rate-limit-reset`` restarts windows just after whole seconds, every ``W + 1`` s for a
whole-number window ``W``; from a random ``t0`` the run's last window can start a fraction of a
second before the deadline and still be drained (measured: XGet 0.81 and 1.0 on two default runs
with a random ``t0``). So ``t0`` is a whole second + 1 ms for every contender (the phase of a
client already in its steady state), and the defaults (``D`` = 5 x 4 s = 20 s = 4 x 5 s) and
``--quick`` (4 x 3 s = 12 s = 3 x 4 s) are multiples of that cycle, so that ``utilisation`` equals
what the contender sustains. With other settings the run may round either way by one window;
``steady_state_utilisation`` does not.

Further lines: ``twscrape_poll_scaled`` reruns twscrape with its pool's ``wait_interval`` scaled
from 5 s to the same fraction of the window that 5 s is of X's 900 s (its fixed 5 s poll is an
artefact of compressing the window; ``--contenders`` picks which runs happen). Per run,
``emulator_cpu_s`` / ``bench_cpu_s`` and ``window_drain_s_mean`` (first to last page of a window)
say whether the emulator or the client process limits throughput on this machine;
``lease_wait_s`` (time inside ``AccountPool.lease``, mostly sleeping until a reset) and
``try_lease_ms_mean`` (one lease transaction) locate any overhead in XGet's lease itself.
``transaction_setup_s``: both contenders load each account's web app (its x-client-transaction-id
generator; the emulator refuses SearchTimeline without a valid id, as X does) before ``t0``, as a worker that
has run a while has; this is that one-off cost, kept out of the 20 s measurement it would otherwise dominate.

Failing accounts (``--fail-fraction F``)
----------------------------------------
Run: ``.venv/bin/python bench/scrape.py --fail-fraction 0.1 --accounts 20`` (about 70 s). Default 0:
nothing below happens and the output is as without the option. With ``F > 0``, ``n = round(F x
--accounts)`` accounts fail halfway through every contender's run: the middle account of each of ``n``
equal slices of the account list (so neither end of twscrape's username order is favoured), with the
kinds in turn ``suspended`` (X code 64), ``locked`` (326), ``bad_auth`` (32). At ``t0 + D/2`` a timer
thread of the bench (not a thread or task of the contender) sends ``POST /_emulator/faults``
``{"accounts": {username: kind}}``; from then on the emulator answers every request of those accounts
with X's 403 body for that kind (checked before the rate limit; the rate-limit headers still carry the
account's window). After the run, and again before the next contender, ``DELETE /_emulator/faults``
clears them. Both contenders lose the same accounts at the same point of their run. With
``--proxies N`` one proxy dies at the same moment (see "Proxies and the dead proxy" at the end).

``remaining_capacity = limit x ((accounts - n) x ceil(D / window) + n x ceil(Tf / window))``, with
``Tf`` (``fault_at_s``) the time from ``t0`` to the answer of the faults POST: the latest moment the
emulator can still have served a failed account (using it rather than the send time can only raise the
capacity). It is the bound of ``capacity`` (see Formulae) applied to each part: a healthy account opens
at most ``ceil(D / window)`` windows in the run; a failed one serves nothing after ``Tf``, and at most
``ceil(Tf / window)`` of its windows start in ``[t0, t0 + Tf)``, each at most ``limit`` pages. What a
failed account could have served after ``Tf`` is no longer capacity. ``utilisation_of_remaining =
handed / remaining_capacity``. ``healthy_fill`` (pages the emulator served to healthy accounts over
their capacity) and ``failed_fill_to_fault`` (the failed accounts' pages over their capacity up to
``Tf``) split it; ``fault_warning`` appears if either exceeds 1 (the formula would be wrong).

Reported per contender, besides the usual figures (``handed``, ``lost`` = served with 200 by the
emulator's ``/_emulator/stats`` but never handed, ``duplicated``): ``remaining_capacity``,
``utilisation_of_remaining``, ``requests_to_failed_after_fault`` (requests sent to failed accounts
after the POST was sent; one sent while the POST was in flight may still get a 200) and
``failed_detail`` (per failed account: kind, pages served, requests after the fault with their
statuses, what the pool says of it); ``pool_inactive``, every account the contender's own pool holds
inactive with its reason (XGet: ``AccountPool.status()`` on the DB the workers shared;
twscrape: ``AccountsPool.get_all()``), ``failed_accounts_marked`` / ``failed_accounts_still_active``
and ``marked_equals_injected`` (inactive set == injected set). The headline adds ``xget_*`` /
``twscrape_*`` of these, and ``xget_meets_fail_target`` (``utilisation_of_remaining >= 0.85``, 0 lost,
0 duplicated, inactive set == injected set).

What the contenders do (read in their code, seen on the wire): XGet's client takes an account out on
codes 64, 326 and 32 (``mark_inactive`` with the reason) and sends the same cursor through another
account, so a failed account gets one request after the fault. twscrape marks 326 and 32 inactive
with X's message, but code 64 matches none of its checks (``queue_client._check_rep``): it logs "API
unknown error" and hands the 403 body to its parser, which finds no entries and ends the query. The
suspended account stays active and, never rate-limited, is leased again for the next query: it keeps
receiving requests until the run ends, each ending one query with no page.

Reading the numbers: X's ``x-rate-limit-reset`` is a whole second, up to a second after the window
really ends, so a client that waits for it cycles every ``W + 1`` s on a whole-number window ``W``
(4/5 = 0.80 of the capacity with the default 4 s window; 0.1 % lost on X's 900 s window). XGet's
lease learns an upper bound of the window length from the headers (see ``core/pools/account_lease.py``) and
hands an account back when the window can really have ended, so its cycle is shorter than
``W + 1`` and ``utilisation_of_header_bound`` can exceed 1; ``rate_limited_429`` shows it never asks
early. twscrape loses the page that arrives with ``remaining: 0`` (it re-sends it on another
account), which ``lost_discarded_at_remaining_0`` counts.

Proxies and the dead proxy (``--proxies N``)
--------------------------------------------
Run: ``.venv/bin/python bench/scrape.py --fail-fraction 0.1 --accounts 20 --proxies 3`` (about 70 s).
Default 0: no proxy, direct connections, nothing below happens. With ``N > 0`` each contender's run
gets ``N`` fresh real HTTP proxies (proxy.py, ``emulator/proxy_servers.py``, on 127.0.0.1) and every
account of the run goes through one of them:

- XGet: they are imported into its proxy pool (``ProxyPool.import_proxies``) and checked once through
  each to ``/_emulator/whoami`` so they are ACTIVE, as ``xget proxies import`` / ``check`` would; XGet
  binds the accounts itself (``core/pools/binding.py``: on its first lease an account is bound to the
  ACTIVE proxy with the fewest accounts). ``XClient`` hands a bound proxy to ``httpx.Client(proxy=...)``,
  which then ignores the ``transport`` it is given, so the bench's gate and recorder would not see a
  proxied request. The bench therefore subclasses ``XClient`` and overrides ``_http_for`` only: the client
  for a proxy gets ``_RecordingTransport(proxy_url=...)``, i.e. the ``httpx.HTTPTransport(proxy=...)``
  that httpx mounts for ``proxy=``, wrapped by the gate and the recorder. Nothing else of XClient changes.
- twscrape 0.20.1: its own per-account ``proxy`` field, account ``i`` through proxy ``i mod N``, fixed
  for the run (twscrape has no rebinding). Its gate and recorder sit above its HTTP client, unchanged.

The recording transport reads a response's body before recording it, so a 200 whose body is cut in
transit is not counted as received. Without ``--fail-fraction`` this only measures the proxied route.

With ``--fail-fraction`` too, the same timer, right after the faults POST, kills the proxy that carries
the most accounts at that moment (the first such on a tie; XGet: its bindings read from the DB): its
process group is killed and its port closed, cutting requests in flight, as when a provider's machine
dies. The accounts behind it (``dead_proxy_accounts``, about ``accounts / N`` of them: 7 of 20 with
``N = 3``, on top of the ``n`` failed at X) are not failed at X. XGet counts each transport error
against the proxy (``XClient._proxy_failed``), takes it out (INACTIVE) after 3 in a row, and its
accounts rest until their running windows end, then are rebound to another ACTIVE proxy. twscrape
retries the same account through the same proxy (2 s, then 4 s), then locks it for 60 s, after which it
would go through the dead proxy again.

Capacity with a dead proxy: the accounts behind it count as healthy, so ``remaining_capacity`` keeps its
formula (``n`` = accounts failed at X; an account both behind the dead proxy and failed at X counts as
failed). The bound still holds: X never refused them, so each is bounded like any account, at most
``ceil(D / window)`` windows starting in ``[t0, t0 + D)``, each at most ``limit`` pages. It gives no
credit for what the failure costs: the rest of the window in progress when the proxy died, the
requests until the client notices, the wait until the window ends before rebinding (XGet's choice: one
address per account per window, not an X rule). All of that counts against the contender.
``dead_proxy_fill`` (their pages over their capacity) and ``live_proxy_fill`` (the other healthy
accounts') show where it went.

A page can be lost in transit: a request in flight through the proxy when it dies may have been served
by the emulator (counted in its stats and in the account's window) and cut before its body arrived. No
client can receive that page; it counts in ``lost`` like any other, and ``lost_in_transit_at_dead_proxy``
(per dead-proxy account: emulator pages minus 200s received in full) isolates it.
``failed_at_dead_proxy_then_handed`` counts requests that failed at the dead proxy whose (query,
cursor) was handed later from a retry through another account: such a request costs quota, not the
page's content. ``xget_meets_fail_target`` stays strict (``lost == 0``).

Reported per contender: ``proxies``, ``responses_per_proxy``, ``transport_errors_per_proxy``,
``responses_direct`` (0: nothing bypassed the proxies), XGet's ``pool_proxies`` (each proxy's status
and failures in its pool after the run); with the kill: ``dead_proxy`` (index), ``dead_proxy_at_s``,
``accounts_per_proxy_at_kill``, ``dead_proxy_accounts``, ``dead_proxy_accounts_failed_at_x``,
``requests_failed_at_dead_proxy`` (``..._in_flight_at_kill``: sent before the kill),
``transport_errors_elsewhere`` (through live proxies), ``dead_proxy_accounts_rebound`` (sent through
another proxy after the kill), ``dead_proxy_accounts_served_again`` (got a page after the kill, out of
``dead_proxy_accounts_healthy_at_x``), the fills above and ``dead_proxy_detail`` per account (pages,
failed requests, proxies used after the kill, first page after it, XGet's binding at the end). The
headline adds ``proxies`` and, per contender, ``*_dead_proxy``, ``*_dead_proxy_accounts`` (count),
``*_dead_proxy_accounts_rebound``, ``*_dead_proxy_accounts_served_again``,
``*_requests_failed_at_dead_proxy``, ``*_lost_in_transit_at_dead_proxy`` and ``*_dead_proxy_fill``.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import math
import multiprocessing as mp
import os
import statistics
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from contextlib import aclosing, contextmanager
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx

os.environ["TWS_TELEMETRY"] = "0"  # before twscrape is imported
os.environ.setdefault("TWS_LOG_LEVEL", "ERROR")

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

OPERATION = "SearchTimeline"
PAGE_COUNT = 20  # twscrape's search_raw asks 20 per page; XGet is asked the same
STOP_GRACE_S = 1.0
START_PHASE_S = 0.001  # t0 = a whole second + this (see "Start phase" in the docstring)
TARGET = 0.9
FAIL_TARGET = 0.85  # utilisation of the remaining capacity when accounts fail mid-run
FAULT_KINDS = ("suspended", "locked", "bad_auth")  # X error codes 64, 326, 32 (emulator standing faults)


class _Stop(BaseException):
    """Raised by the HTTP-layer gate once the run's deadline has passed (not an Exception, so neither
    contender's retry logic swallows it)."""


def emit(doc: dict) -> None:
    print(json.dumps(doc), flush=True)


def secret_box():
    """The key XGet's pools encrypt secrets with, as the settings give it (workers inherit XGET_HOME)."""
    from xget_pipelines.core.secrets import SecretBox
    from xget_pipelines.settings import Settings

    settings = Settings()
    return SecretBox.from_key_or_file(settings.secret_key, settings.home)


# -- emulator in a child process ------------------------------------------------------------------


def _serve_emulator(conn, world_kwargs: dict, settings_kwargs: dict) -> None:
    from xget_pipelines.emulator.runner import EmulatorServer
    from xget_pipelines.emulator.settings import EmulatorSettings
    from xget_pipelines.emulator.world import World, WorldConfig

    started = time.perf_counter()
    world = World.generate(WorldConfig(**world_kwargs))
    with EmulatorServer(world, EmulatorSettings(**settings_kwargs)) as emu:
        conn.send(
            {
                "url": emu.url,
                "graphql_url": emu.graphql_url,
                "terms": list(world.watchlist_suggestions()["terms"]),
                "world": {"users": len(world.users), "tweets": len(world.tweets)},
                "startup_s": round(time.perf_counter() - started, 2),
            }
        )
        conn.recv()  # parent says stop


def _cpu_seconds(pid: int) -> float:
    """utime + stime of a process from /proc (Linux); NaN elsewhere."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return float("nan")


class Emulator:
    def __init__(self, world_kwargs: dict, settings_kwargs: dict):
        ctx = mp.get_context("spawn")
        self._conn, child = ctx.Pipe()
        self.proc = ctx.Process(
            target=_serve_emulator, args=(child, world_kwargs, settings_kwargs), daemon=True
        )
        self.proc.start()
        if not self._conn.poll(120):
            self.proc.kill()
            raise TimeoutError("emulator did not start within 120 s")
        info = self._conn.recv()
        self.url, self.graphql_url, self.terms = info["url"], info["graphql_url"], info["terms"]
        self.info = info
        self.http = httpx.Client(base_url=self.url, timeout=30)

    def accounts(self, usernames: list[str]) -> list[dict]:
        rep = self.http.post("/_emulator/accounts", json={"usernames": usernames})
        rep.raise_for_status()
        return rep.json()

    def reset(self) -> None:
        """Before each contender: no standing or request faults, empty counters and windows."""
        self.http.delete("/_emulator/faults").raise_for_status()
        self.http.post("/_emulator/stats/reset", params={"limits": "1"}).raise_for_status()

    def stats(self) -> dict:
        rep = self.http.get("/_emulator/stats")
        rep.raise_for_status()
        return rep.json()

    def cpu_seconds(self) -> float:
        return _cpu_seconds(self.proc.pid)

    def close(self) -> None:
        self.http.close()
        try:
            self._conn.send("stop")
        except OSError:
            pass
        self.proc.join(15)
        if self.proc.is_alive():
            self.proc.kill()
            self.proc.join(5)


# -- failing accounts (--fail-fraction) ---------------------------------------------------------------


def pick_failing(accounts: list[dict], fraction: float) -> dict[str, str]:
    """``round(fraction x accounts)`` accounts spread evenly over the list (the middle of each of n equal
    slices, so neither end of twscrape's username order is favoured), kinds alternating."""
    n = round(fraction * len(accounts))
    if n <= 0:
        return {}
    names = [a["username"] for a in accounts]
    picked = [names[(2 * k + 1) * len(names) // (2 * n)] for k in range(n)]
    return {name: FAULT_KINDS[k % len(FAULT_KINDS)] for k, name in enumerate(picked)}


class FaultPlan:
    """Puts the standing account faults on the emulator at ``t0 + at_s`` from a timer thread of its own
    (the same clock for both contenders, whatever their threads or event loop are doing)."""

    def __init__(self, emu: Emulator, faults: dict[str, str], at_s: float):
        self.url, self.faults, self.at_s = emu.url, dict(faults), at_s
        self.kill: Callable[[], None] | None = None  # the dead proxy (--proxies), right after the POST
        self.kill_error: str | None = None
        self.t0: float | None = None
        self.sent: float | None = None  # POST sent: no request before this met a fault
        self.applied: float | None = None  # POST answered: every request after this meets the faults
        self.snapshot: dict | None = None
        self.error: str | None = None
        self._http: httpx.Client | None = None
        self._timer: threading.Timer | None = None

    def arm(self, t0: float) -> None:
        self.t0 = t0
        self._http = httpx.Client(base_url=self.url, timeout=30)
        self._timer = threading.Timer(max(0.0, t0 + self.at_s - time.time()), self._fire)
        self._timer.daemon = True
        self._timer.start()

    def _fire(self) -> None:
        try:
            self.sent = time.time()
            rep = self._http.post("/_emulator/faults", json={"accounts": self.faults})
            self.applied = time.time()
            rep.raise_for_status()
            self.snapshot = rep.json().get("accounts")
        except Exception as exc:  # reported, never raised into the run
            self.error = repr(exc)
        if self.kill is not None:
            try:
                self.kill()
            except Exception as exc:  # reported, never raised into the run
                self.kill_error = repr(exc)

    def finish(self) -> None:
        """After the run: stop the timer if it has not fired (reported as not injected) and clear the
        faults so the next contender starts clean."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer.join()
        if self._http is not None:
            try:
                self._http.delete("/_emulator/faults").raise_for_status()
            finally:
                self._http.close()
                self._http = None


# -- proxies and the dead proxy (--proxies) ------------------------------------------------------------


class ProxyFarm:
    """``--proxies`` real HTTP proxies (proxy.py, ``emulator/proxy_servers.py``) for one contender's run:
    every account of the run goes through one of them. ``kill`` stops the one carrying the most accounts
    (the first such on a tie), as a proxy provider's machine dying would: its process group is killed,
    in-flight requests are cut and its port is closed."""

    def __init__(self, n: int, workdir: Path):
        from xget_pipelines.emulator.proxy_servers import start_http_proxy

        self.servers = []
        try:
            for _ in range(n):
                self.servers.append(start_http_proxy(workdir))
        except BaseException:
            self.stop()
            raise
        self.urls = [srv.url() for srv in self.servers]
        self._by_port = {srv.port: i for i, srv in enumerate(self.servers)}
        self.bound: Callable[[], dict[str, int | None]] | None = None  # account -> proxy index, now
        self.dead: int | None = None
        self.dead_accounts: list[str] = []
        self.bound_at_kill: dict[str, int] | None = None
        self.kill_sent: float | None = None
        self.kill_done: float | None = None

    def index_of(self, url: str | None) -> int | None:
        return self._by_port.get(urlsplit(url).port) if url else None

    def kill(self) -> None:
        bound = self.bound() if self.bound is not None else {}
        load = Counter(i for i in bound.values() if i is not None)
        victim = min(range(len(self.servers)), key=lambda i: (-load.get(i, 0), i))
        self.bound_at_kill = dict(sorted(load.items()))
        self.dead_accounts = sorted(a for a, i in bound.items() if i == victim)
        self.dead = victim
        self.kill_sent = time.time()
        self.servers[victim].stop()
        self.kill_done = time.time()

    def stop(self) -> None:
        for srv in self.servers:
            srv.stop()


# -- what both contenders share ---------------------------------------------------------------------


class Queries:
    """The shared, thread-safe sequence of distinct deep queries (same for every contender)."""

    def __init__(self, terms: list[str]):
        self._it = (term if k == 0 else f"{term} -xgetbench{k}" for k in itertools.count() for term in terms)
        self._lock = threading.Lock()
        self.taken = 0

    def next(self) -> str:
        with self._lock:
            self.taken += 1
            return next(self._it)


def _key_from_variables(raw: str | None) -> tuple[str, str | None]:
    variables = json.loads(raw or "{}")
    return str(variables.get("rawQuery")), variables.get("cursor")


def _key_from_url(url) -> tuple[str, str | None]:
    values = parse_qs(urlsplit(str(url)).query).get("variables")
    return _key_from_variables(values[0] if values else None)


class Recorder:
    """What a contender's HTTP layer received and what it handed to its caller."""

    def __init__(self, deadline: float):
        self.deadline = deadline
        self.received: list[dict] = []  # every response: t, status, account, remaining, reset, key, latency
        self.handed: list[tuple[str, str | None]] = []
        self.blocked = 0  # requests the gate refused after the deadline
        self.transport_errors: list[dict] = []  # requests that got no HTTP response
        self._lock = threading.Lock()

    def gate(self) -> None:
        if time.time() >= self.deadline:
            with self._lock:
                self.blocked += 1
            raise _Stop()

    def response(
        self,
        account: str,
        status: int,
        headers,
        key,
        sent: float,
        empty: bool | None = None,
        proxy: int | None = None,
    ) -> None:
        now = time.time()
        row = {
            "t": now,
            "status": status,
            "account": account,
            "key": key,
            "latency": now - sent,
            "empty": empty,
            "proxy": proxy,
            "remaining": _int(headers.get("x-rate-limit-remaining")),
            "reset": _num(headers.get("x-rate-limit-reset")),
        }
        with self._lock:
            self.received.append(row)

    def transport_error(
        self, account: str, proxy: int | None, error: BaseException, sent: float, key
    ) -> None:
        row = {
            "t": time.time(),
            "sent": sent,
            "account": account,
            "proxy": proxy,
            "key": key,
            "error": type(error).__name__,
        }
        with self._lock:
            self.transport_errors.append(row)

    def hand(self, key: tuple[str, str | None]) -> None:
        with self._lock:
            self.handed.append(key)


def _int(value) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _num(value) -> float | None:
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _content_entries(doc) -> int:
    """Timeline entries other than cursors in a SearchTimeline body."""
    try:
        timeline = doc["data"]["search_by_raw_query"]["search_timeline"]["timeline"]
        return sum(
            1
            for ins in timeline.get("instructions", [])
            for e in ins.get("entries", [])
            if not str(e.get("entryId", "")).startswith("cursor-")
        )
    except (KeyError, TypeError, AttributeError):
        return 0


def aligned_start() -> float:
    """Wait until just after the next whole second and return that time (the run's ``t0``)."""
    t0 = math.floor(time.time()) + 1 + START_PHASE_S
    time.sleep(max(0.0, t0 - time.time()))
    return t0


def header_bound(
    t0: float, duration: float, window: float, limit: int, accounts: int, eps: float = 0.001
) -> int:
    """Most pages a client that waits for each announced (whole-second) reset can get in the run."""
    windows, start = 0, t0 + eps
    while start < t0 + duration:
        windows += 1
        start = math.ceil(start + window) + eps
    return accounts * limit * windows


# -- XGet ---------------------------------------------------------------------------------------------


class _RecordingTransport(httpx.HTTPTransport):
    """httpx's own transport (through ``proxy_url`` when given: ``HTTPTransport(proxy=...)`` is exactly
    what ``httpx.Client(proxy=...)`` mounts), plus the gate and the recorder."""

    def __init__(
        self,
        rec: Recorder,
        names_by_token: dict[str, str],
        proxy_url: str | None = None,
        proxy_index: int | None = None,
    ):
        super().__init__(proxy=proxy_url)
        self.rec = rec
        self.names = names_by_token
        self.proxy_index = proxy_index

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.rec.gate()
        sent = time.time()
        header = request.headers.get("cookie", "")
        cookies = dict(p.strip().split("=", 1) for p in header.split(";") if "=" in p)
        account = self.names.get(cookies.get("auth_token", ""), "?")
        key = _key_from_variables(request.url.params.get("variables"))
        response = None
        try:
            response = super().handle_request(request)
            response.read()  # the body too: a page cut in transit (a proxy dying) is not "received"
        except httpx.TransportError as exc:  # no response: recorded, then XClient sees it as usual
            if response is not None:
                response.close()
            self.rec.transport_error(account, self.proxy_index, exc, sent, key)
            raise
        self.rec.response(account, response.status_code, response.headers, key, sent, proxy=self.proxy_index)
        return response


@contextmanager
def xget_database(url: str | None, workdir: Path):
    """A fresh control-plane DB: a SQLite file, or a scratch database on the given PostgreSQL server
    (created here and dropped afterwards; the server's own database is never written to)."""
    if not url:
        yield f"sqlite:///{workdir / f'xget-{uuid.uuid4().hex[:8]}.db'}"
        return
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import DBAPIError

    base = make_url(url)
    if not base.get_backend_name().startswith("postgresql"):
        raise SystemExit(f"--database-url must be a PostgreSQL server URL (got {base.get_backend_name()})")
    name = f"xget_bench_scrape_{uuid.uuid4().hex[:10]}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield base.set(database=name).render_as_string(hide_password=False)
    finally:
        from xget_pipelines.core.db.engine import get_engine

        get_engine.cache_clear()
        with admin.connect() as conn:
            try:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            except DBAPIError:  # PostgreSQL < 13 has no FORCE
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        admin.dispose()


def run_xget(
    args,
    emu: Emulator,
    accounts: list[dict],
    workdir: Path,
    plan: FaultPlan | None = None,
    farm: ProxyFarm | None = None,
) -> dict:
    from sqlalchemy import select

    from xget_pipelines.core.db.engine import get_engine, read_only
    from xget_pipelines.core.db.models import Account
    from xget_pipelines.core.errors import NoAccountAvailable, XRequestError
    from xget_pipelines.core.pools.account_pool import AccountPool
    from xget_pipelines.core.x.client import XClient
    from xget_pipelines.core.x.watch import search_variables

    class TimedPool(AccountPool):
        """Observation only: time spent leasing and releasing."""

        # *args/**kwargs: whatever the pool's signatures are (e.g. a ``username`` to lease one account).
        def lease(self, operation, deadline_s, *args, **kwargs):
            started = time.perf_counter()
            try:
                return super().lease(operation, deadline_s, *args, **kwargs)
            finally:
                timing["lease_wait_s"] += time.perf_counter() - started
                timing["leases"] += 1

        def try_lease(self, operation, *args, **kwargs):
            started = time.perf_counter()
            try:
                return super().try_lease(operation, *args, **kwargs)
            finally:
                timing["try_lease_s"] += time.perf_counter() - started
                timing["try_leases"] += 1

        def release(self, lease):
            started = time.perf_counter()
            try:
                return super().release(lease)
            finally:
                timing["release_s"] += time.perf_counter() - started

    class ProxiedXClient(XClient):
        """XClient with the bench's recording transport on the proxied route too. XClient gives a bound
        proxy to ``httpx.Client(proxy=...)``, which then ignores the ``transport`` it is given; here the
        client of a proxy gets ``_RecordingTransport(proxy_url=...)``, i.e. the ``HTTPTransport(proxy=...)``
        httpx would have mounted, wrapped by the gate and the recorder. Nothing else of XClient changes."""

        def _http_for(self, proxy_url: str | None) -> httpx.Client:
            if proxy_url is None:
                return super()._http_for(proxy_url)
            http = self._clients.get(proxy_url)
            if http is None:
                http = httpx.Client(
                    timeout=self._timeout_s,
                    transport=_RecordingTransport(
                        rec, names, proxy_url=proxy_url, proxy_index=farm.index_of(proxy_url)
                    ),
                )
                self._clients[proxy_url] = http
            return http

    timing = Counter()
    names = {a["auth_token"]: a["username"] for a in accounts}
    errors: list[str] = []
    proxy_out: dict = {}
    with xget_database(args.database_url, workdir) as db_url:
        engine = get_engine(db_url)
        box = secret_box()
        AccountPool(engine, secrets=box).add_accounts(
            [(a["username"], {"auth_token": a["auth_token"], "ct0": a["ct0"]}) for a in accounts]
        )
        if farm is not None:
            proxies, index_by_id = xget_import_proxies(engine, emu, farm)

            def bound_now() -> dict[str, int | None]:
                with read_only(engine) as conn:
                    rows = conn.execute(select(Account.username, Account.proxy_id)).all()
                return {r.username: index_by_id.get(r.proxy_id) for r in rows}

            farm.bound = bound_now
        queries = Queries(emu.terms)
        # Each account's page load (its x-client-transaction-id generator) before t0, as a worker that has
        # run for a while has it: one load per account and process, then ids cost a hash each.
        started = time.perf_counter()
        with XClient(emu.graphql_url, AccountPool(engine, secrets=box)) as warm:
            timing["transaction_page_loads"] = warm.prepare_sessions(
                OPERATION, [a["username"] for a in accounts]
            )
        timing["transaction_setup_s"] = time.perf_counter() - started
        emu.reset()
        t0 = aligned_start()
        cpu_emu, cpu_self = emu.cpu_seconds(), time.process_time()
        rec = Recorder(t0 + args.duration)
        if plan is not None:
            plan.arm(t0)

        def worker() -> None:
            pool = TimedPool(engine, secrets=box)
            client = (ProxiedXClient if farm is not None else XClient)(
                emu.graphql_url,
                pool,
                lease_deadline_s=args.duration,
                transport=_RecordingTransport(rec, names),
            )
            try:
                while time.time() < rec.deadline:
                    query = queries.next()
                    client.lease_deadline_s = max(0.0, rec.deadline - time.time())
                    try:
                        for page in client.paginate(
                            OPERATION, search_variables(query, PAGE_COUNT), max_pages=10**9
                        ):
                            rec.hand((query, page.cursor_in))
                            left = rec.deadline - time.time()
                            if left <= 0:
                                return
                            client.lease_deadline_s = left
                    except XRequestError as exc:  # a failed partition; the run goes on with the next
                        errors.append(str(exc))
            except (_Stop, NoAccountAvailable):
                pass
            finally:
                client.close()

        threads = [threading.Thread(target=worker, name=f"xget-{i}") for i in range(args.workers)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        wall = time.time() - t0
        cpu = {
            "emulator_cpu_s": round(emu.cpu_seconds() - cpu_emu, 2),
            "bench_cpu_s": round(time.process_time() - cpu_self, 2),
        }
        stats = emu.stats()
        if plan is not None:
            plan.finish()
        # What the pool concluded about each account (read from the DB the workers shared).
        status = AccountPool(engine, secrets=box).status()
        if farm is not None:  # and about each proxy, and where each account is bound now
            proxy_out = {
                "pool_proxies": dict(
                    sorted(
                        (
                            index_by_id[p.id],
                            {
                                "status": p.status,
                                "failures": p.failures,
                                "consecutive_failures": p.consecutive_failures,
                                "last_error": p.last_error,
                            },
                        )
                        for p in proxies.list()
                    )
                ),
                "binding_at_end": bound_now(),
            }
        engine.dispose()
    extra = {
        "lease_wait_s": round(timing["lease_wait_s"], 3),
        "leases": timing["leases"],
        "try_lease_ms_mean": round(1000 * timing["try_lease_s"] / max(1, timing["try_leases"]), 2),
        "try_leases": timing["try_leases"],
        "release_s": round(timing["release_s"], 3),
        "transaction_page_loads": timing["transaction_page_loads"],
        "transaction_setup_s": round(timing["transaction_setup_s"], 3),
        "errors": len(errors),
        "error_sample": errors[:2],
    }
    if plan is not None:
        extra["pool_accounts"] = {
            a["username"]: {
                "active": bool(a["active"]),
                "error": a["error"],
                "quarantined_until": a["quarantined_until"],
            }
            for a in status
        }
    return summarize("xget", args, rec, stats, t0, wall, queries, {**cpu, **extra, **proxy_out}, plan, farm)


def xget_import_proxies(engine, emu: Emulator, farm: ProxyFarm):
    """The farm's proxies into XGet's proxy pool (``xget proxies import``), checked once through each to the
    emulator so they are ACTIVE (``xget proxies check``). Returns the pool and {proxy id: farm index}."""
    from xget_pipelines.core.pools.proxies import ACTIVE, ProxyPool
    from xget_pipelines.core.pools.proxy_records import parse_proxy_lines

    proxies = ProxyPool(engine, secrets=secret_box())
    parsed = parse_proxy_lines("\n".join(farm.urls))
    if parsed.errors or len(parsed.records) != len(farm.urls):
        raise RuntimeError(f"proxy import: {parsed.errors}")
    ids = proxies.import_proxies(parsed.records).ids
    checked = proxies.check(ids, target_url=f"{emu.url}/_emulator/whoami", attempts=1)
    down = [(c.proxy, c.status, c.error) for c in checked if c.status != ACTIVE]
    if down:
        raise RuntimeError(f"proxies not ACTIVE after their check: {down}")
    index_by_id = {p.id: farm.index_of(f"http://{p.host}:{p.port}") for p in proxies.list()}
    return proxies, index_by_id


# -- twscrape ----------------------------------------------------------------------------------------


def run_twscrape(
    args,
    emu: Emulator,
    accounts: list[dict],
    workdir: Path,
    wait_interval: float = 5.0,
    label: str = "twscrape",
    plan: FaultPlan | None = None,
    farm: ProxyFarm | None = None,
) -> dict:
    from xget_pipelines.emulator.twscrape_compat import point_twscrape_at

    patch = point_twscrape_at(emu.graphql_url)
    from twscrape import API, AccountsPool, queue_client
    from twscrape.http import ConnectError as TwsConnectError
    from twscrape.http import NetworkError as TwsNetworkError

    original_req = queue_client.Ctx.req
    box: dict = {}

    async def hooked_req(self, method, url, params=None):
        rec: Recorder = box["rec"]
        rec.gate()
        sent = time.time()
        proxy = farm.index_of(self.proxy) if farm is not None else None
        try:
            rep = await original_req(self, method, url, params=params)
        except (httpx.TransportError, TwsConnectError, TwsNetworkError) as exc:  # no response
            rec.transport_error(
                self.acc.username,
                proxy,
                exc,
                sent,
                _key_from_variables((params or {}).get("variables")) if params else None,
            )
            raise
        key = _key_from_variables((params or {}).get("variables")) if params else _key_from_url(rep.url)
        empty = None
        if rep.status_code == 200:
            try:
                empty = _content_entries(rep.json()) == 0  # twscrape caches the parsed body: no extra cost
            except ValueError:
                empty = None
        rec.response(self.acc.username, rep.status_code, rep.headers, key, sent, empty, proxy=proxy)
        return rep

    async def main() -> dict:
        import twscrape.db

        # twscrape serialises its DB calls with a module-level asyncio.Lock, which binds to the first
        # event loop that waits on it; each run has its own loop, so each gets a fresh lock.
        twscrape.db._lock = asyncio.Lock()
        pool = AccountsPool(str(workdir / f"tws-{uuid.uuid4().hex[:8]}.db"), wait_interval=wait_interval)
        # With --proxies: twscrape's own per-account proxy field, the accounts spread evenly (account i
        # through proxy i mod N), fixed for the run (twscrape has no rebinding).
        bound = {a["username"]: i % len(farm.urls) for i, a in enumerate(accounts)} if farm else {}
        for a in accounts:
            await pool.add_account(
                a["username"],
                "_",
                f"{a['username']}@bench.invalid",
                "_",
                proxy=farm.urls[bound[a["username"]]] if farm else None,
                cookies=f"auth_token={a['auth_token']}; ct0={a['ct0']}",
            )
        if farm is not None:
            farm.bound = lambda: dict(bound)
        api = API(pool)
        queries = Queries(emu.terms)
        # twscrape's transaction-id generators before t0 too (its XClIdGenStore, one page load per account)
        started = time.perf_counter()
        for a in accounts:
            await queue_client.XClIdGenStore.get(
                a["username"],
                proxy=farm.urls[bound[a["username"]]] if farm else None,
                cookies={"auth_token": a["auth_token"], "ct0": a["ct0"]},
                fresh=True,
            )
        box["setup_s"] = time.perf_counter() - started
        emu.reset()
        t0 = aligned_start()
        cpu_emu, cpu_self = emu.cpu_seconds(), time.process_time()
        rec = box["rec"] = Recorder(t0 + args.duration)
        if plan is not None:
            plan.arm(t0)

        async def worker() -> None:
            try:
                while time.time() < rec.deadline:
                    query = queries.next()
                    async with aclosing(api.search_raw(query)) as gen:
                        async for rep in gen:
                            rec.hand((query, _key_from_url(rep.url)[1]))
                            if time.time() >= rec.deadline:
                                return
            except _Stop:
                pass

        tasks = [asyncio.create_task(worker()) for _ in range(args.workers)]
        _, pending = await asyncio.wait(tasks, timeout=max(0.0, rec.deadline - time.time()) + STOP_GRACE_S)
        for task in pending:
            task.cancel()
        results = await asyncio.gather(*tasks, return_exceptions=True)
        failures = [
            repr(r)
            for r in results
            if isinstance(r, BaseException) and not isinstance(r, (asyncio.CancelledError, _Stop))
        ]
        failures += [f"HTTP {r['status']}" for r in rec.received if r["status"] not in (200, 429)]
        wall = time.time() - t0
        cpu = {
            "emulator_cpu_s": round(emu.cpu_seconds() - cpu_emu, 2),
            "bench_cpu_s": round(time.process_time() - cpu_self, 2),
        }
        # What twscrape's pool concluded about each account (its own DB).
        pool_accounts = {
            acc.username: {"active": bool(acc.active), "error": acc.error_msg} for acc in await pool.get_all()
        }
        proxy_out = {"binding_at_end": dict(bound)} if farm is not None else {}
        return {
            "rec": rec,
            "t0": t0,
            "wall": wall,
            "queries": queries,
            "cpu": cpu,
            "cancelled": len(pending),
            "failures": failures,
            "pool_accounts": pool_accounts,
            "proxy_out": proxy_out,
        }

    queue_client.Ctx.req = hooked_req
    try:
        out = asyncio.run(main())
    finally:
        queue_client.Ctx.req = original_req
        patch.restore()
    stats = emu.stats()
    if plan is not None:
        plan.finish()
    extra = {
        **out["cpu"],
        "transaction_setup_s": round(box.get("setup_s", 0.0), 3),
        "wait_interval_s": wait_interval,
        "cancelled_in_wait": out["cancelled"],
        "errors": len(out["failures"]),
        "error_sample": out["failures"][:2],
    }
    if plan is not None:
        extra["pool_accounts"] = out["pool_accounts"]
    extra.update(out["proxy_out"])
    return summarize(
        label, args, out["rec"], stats, out["t0"], out["wall"], out["queries"], extra, plan, farm
    )


# -- accounting -------------------------------------------------------------------------------------


def windows_in(span: float, window: float) -> int:
    """At most this many windows of one account can start in ``[t0, t0 + span)`` (see Formulae)."""
    return max(0, math.ceil(span / window - 1e-9))


def fault_report(
    args,
    rec: Recorder,
    per_account: dict,
    handed: int,
    t0: float,
    plan: FaultPlan,
    pool_accounts: dict | None,
) -> dict:
    """The figures of a run in which ``plan`` failed some accounts mid-run (see "Failing accounts")."""
    failed = plan.faults
    if plan.applied is None:  # never injected: say so rather than report a run without failures
        return {
            "fail_fraction": args.fail_fraction,
            "failed_accounts": failed,
            "fault_error": plan.error or "the faults were not injected before the run ended",
        }
    failed_span = min(max(plan.applied - t0, 0.0), args.duration)
    healthy_n = args.accounts - len(failed)
    healthy_cap = healthy_n * args.limit * windows_in(args.duration, args.window)
    failed_cap = len(failed) * args.limit * windows_in(failed_span, args.window)
    remaining = healthy_cap + failed_cap
    served_by = {acc: row.get("pages", 0) for acc, row in per_account.items()}
    failed_served = sum(served_by.get(a, 0) for a in failed)
    healthy_served = sum(v for a, v in served_by.items() if a not in failed)
    after: dict[str, Counter] = {a: Counter() for a in failed}
    for r in rec.received:
        if r["account"] in after and r["t"] - r["latency"] >= plan.sent:
            after[r["account"]][str(r["status"])] += 1
    per_failed = {
        a: {
            "kind": kind,
            "pages": served_by.get(a, 0),
            "requests_after_fault": sum(after[a].values()),
            "statuses_after_fault": dict(after[a]),
            **(
                {"pool_active": pool_accounts[a]["active"], "pool_error": pool_accounts[a]["error"]}
                if pool_accounts and a in pool_accounts
                else {}
            ),
        }
        for a, kind in failed.items()
    }
    out = {
        "fail_fraction": args.fail_fraction,
        "failed_accounts": failed,
        "fault_at_s": round(plan.applied - t0, 3),
        "fault_post_ms": round(1000 * (plan.applied - plan.sent), 1),
        "remaining_capacity": remaining,
        "utilisation_of_remaining": round(handed / remaining, 4) if remaining else None,
        "healthy_capacity": healthy_cap,
        "healthy_served": healthy_served,
        "healthy_fill": round(healthy_served / healthy_cap, 4) if healthy_cap else None,
        "failed_capacity_to_fault": failed_cap,
        "failed_served": failed_served,
        "failed_fill_to_fault": round(failed_served / failed_cap, 4) if failed_cap else None,
        "requests_to_failed_after_fault": sum(v["requests_after_fault"] for v in per_failed.values()),
        "failed_detail": per_failed,
    }
    if pool_accounts is not None:
        inactive = {a: v["error"] for a, v in sorted(pool_accounts.items()) if not v["active"]}
        out["pool_inactive"] = inactive
        out["failed_accounts_marked"] = sorted(a for a in failed if a in inactive)
        out["failed_accounts_still_active"] = sorted(a for a in failed if a not in inactive)
        out["marked_equals_injected"] = set(inactive) == set(failed)
        quarantined = {
            a: v["quarantined_until"] for a, v in pool_accounts.items() if v.get("quarantined_until")
        }
        if quarantined:
            out["pool_quarantined"] = quarantined
    if failed_served > failed_cap or healthy_served > healthy_cap:
        out["fault_warning"] = "served more than the remaining capacity allows: the formula is wrong"
    return out


def proxy_report(
    args,
    rec: Recorder,
    per_account: dict,
    t0: float,
    farm: ProxyFarm,
    plan: FaultPlan | None,
    proxy_out: dict,
) -> dict:
    """The proxied route (``--proxies``) and the dead proxy (see "Dead proxy" in the docstring)."""
    n = len(farm.servers)
    responses = Counter(r["proxy"] for r in rec.received)
    errors = Counter(e["proxy"] for e in rec.transport_errors)
    out: dict = {
        "proxies": n,
        "responses_per_proxy": [responses.get(i, 0) for i in range(n)],
        "transport_errors_per_proxy": [errors.get(i, 0) for i in range(n)],
        "responses_direct": responses.get(None, 0),  # 0: every account went through a proxy
    }
    if "pool_proxies" in proxy_out:
        out["pool_proxies"] = proxy_out["pool_proxies"]
    if plan is None:
        return out
    if farm.dead is None:
        out["dead_proxy_error"] = plan.kill_error or "the proxy was not killed before the run ended"
        return out
    dead, killed = farm.dead, farm.kill_sent
    served_by = {acc: row.get("pages", 0) for acc, row in per_account.items()}
    received_200 = Counter(r["account"] for r in rec.received if r["status"] == 200)
    at_end = proxy_out.get("binding_at_end") or {}
    detail = {}
    for a in farm.dead_accounts:
        after = [r for r in rec.received if r["account"] == a and r["t"] - r["latency"] >= killed]
        elsewhere = [r for r in after if r["proxy"] != dead]
        pages_elsewhere = [r for r in elsewhere if r["status"] == 200]
        failed_here = [e for e in rec.transport_errors if e["account"] == a and e["proxy"] == dead]
        detail[a] = {
            "failed_at_x": plan.faults.get(a),
            "pages": served_by.get(a, 0),
            "served_not_received": served_by.get(a, 0) - received_200.get(a, 0),
            "requests_failed_at_dead_proxy": len(failed_here),
            "rebound_to": sorted({r["proxy"] for r in elsewhere}),
            "pages_after_kill": len(pages_elsewhere),
            "statuses_after_kill": dict(Counter(str(r["status"]) for r in elsewhere)),
            "first_page_after_kill_s": (
                round(min(r["t"] - r["latency"] for r in pages_elsewhere) - killed, 3)
                if pages_elsewhere
                else None
            ),
            "bound_at_end": at_end.get(a),
        }
    healthy_at_x = [a for a in farm.dead_accounts if a not in plan.faults]
    cap = len(healthy_at_x) * args.limit * windows_in(args.duration, args.window)
    dead_served = sum(served_by.get(a, 0) for a in healthy_at_x)
    live = [a for a in per_account if a not in plan.faults and a not in detail]
    live_cap = len(live) * args.limit * windows_in(args.duration, args.window)
    live_served = sum(served_by.get(a, 0) for a in live)
    failed_at_dead = [e for e in rec.transport_errors if e["proxy"] == dead]
    handed_keys = set(rec.handed)
    cut = sum(max(0, d["served_not_received"]) for d in detail.values())
    out.update(
        {
            "dead_proxy": dead,
            "dead_proxy_port": farm.servers[dead].port,
            "dead_proxy_at_s": round(killed - t0, 3),
            "dead_proxy_stop_ms": round(1000 * (farm.kill_done - killed), 1),
            "accounts_per_proxy_at_kill": farm.bound_at_kill,
            "dead_proxy_accounts": farm.dead_accounts,
            "dead_proxy_accounts_failed_at_x": sorted(set(farm.dead_accounts) & set(plan.faults)),
            "requests_failed_at_dead_proxy": len(failed_at_dead),
            "requests_failed_at_dead_proxy_in_flight_at_kill": sum(
                1 for e in failed_at_dead if e["sent"] < killed
            ),
            "transport_errors_elsewhere": sum(v for k, v in errors.items() if k != dead),
            "dead_proxy_accounts_rebound": sum(1 for d in detail.values() if d["rebound_to"]),
            "dead_proxy_accounts_served_again": sum(1 for a in healthy_at_x if detail[a]["pages_after_kill"]),
            "dead_proxy_accounts_healthy_at_x": len(healthy_at_x),
            "lost_in_transit_at_dead_proxy": cut,
            # The (query, cursor) of each request that failed at the dead proxy, handed later from another
            # request: a page cut in transit still costs its request, but its content is not missing.
            "failed_at_dead_proxy_then_handed": sum(1 for e in failed_at_dead if e["key"] in handed_keys),
            "dead_proxy_capacity": cap,
            "dead_proxy_served": dead_served,
            "dead_proxy_fill": round(dead_served / cap, 4) if cap else None,
            "live_proxy_capacity": live_cap,
            "live_proxy_served": live_served,
            "live_proxy_fill": round(live_served / live_cap, 4) if live_cap else None,
            "dead_proxy_detail": detail,
        }
    )
    return out


def summarize(
    name: str,
    args,
    rec: Recorder,
    stats: dict,
    t0: float,
    wall: float,
    queries: Queries,
    extra: dict,
    plan: FaultPlan | None = None,
    farm: ProxyFarm | None = None,
) -> dict:
    per_account = {acc: ops.get(OPERATION, {}) for acc, ops in stats["accounts"].items()}
    served = sum(row.get("pages", 0) for row in per_account.values())
    rate_limited = sum(row.get("rate_limited", 0) for row in per_account.values())
    capacity = args.accounts * args.limit * windows_in(args.duration, args.window)
    bound = header_bound(t0, args.duration, args.window, args.limit, args.accounts)
    handed = len(rec.handed)
    distinct = len(set(rec.handed))
    ok = [r for r in rec.received if r["status"] == 200]
    # Where the pages the caller never got went, from the client side of the wire.
    not_handed = Counter(r["key"] for r in ok) - Counter(rec.handed)
    discarded_at_zero = empty_dropped = 0
    zero_keys = Counter(r["key"] for r in ok if r["remaining"] == 0)
    empty_keys = Counter(r["key"] for r in ok if r["empty"] and r["remaining"] != 0)
    for key, n in not_handed.items():
        at_zero = min(n, zero_keys.get(key, 0))
        discarded_at_zero += at_zero
        empty_dropped += min(n - at_zero, empty_keys.get(key, 0))
    windows_opened = len({(r["account"], r["reset"]) for r in ok})
    # Window starts per account (send time of the first page of each window), for the cycle length.
    starts: dict[str, dict[float, float]] = {}
    for r in ok:
        first = starts.setdefault(r["account"], {})
        sent = r["t"] - r["latency"]
        if r["reset"] is not None and sent < first.get(r["reset"], math.inf):
            first[r["reset"]] = sent
    # The first window opens whenever the run starts; later ones open when the client saw it could
    # reopen, so the cycle is measured between the 2nd and later windows.
    gaps = [
        b - a for by_reset in starts.values() for a, b in itertools.pairwise(sorted(by_reset.values())[1:])
    ]
    cycle = statistics.mean(gaps) if gaps else None
    # Which received pages were handed: the ones not handed are, first, those that came with
    # remaining 0 (what twscrape discards), then any other copy of the key.
    left = Counter(not_handed)
    handed_in: Counter = Counter()
    for r in sorted(ok, key=lambda r: r["remaining"] != 0):
        if left[r["key"]] > 0:
            left[r["key"]] -= 1
        else:
            handed_in[(r["account"], r["reset"])] += 1
    complete = [
        (acc, reset)
        for acc, by_reset in starts.items()
        for reset, sent in by_reset.items()
        if sent + args.window <= t0 + args.duration
    ]
    fill_complete = (sum(handed_in[w] for w in complete) / (len(complete) * args.limit)) if complete else None
    ends: dict[tuple[str, float], float] = {}
    for r in ok:
        ends[(r["account"], r["reset"])] = max(ends.get((r["account"], r["reset"]), 0.0), r["t"])
    drains = [
        ends[(acc, reset)] - sent for acc, by_reset in starts.items() for reset, sent in by_reset.items()
    ]
    pages_by_account = sorted(row.get("pages", 0) for row in per_account.values())
    latencies = [r["latency"] for r in rec.received]
    result = {
        "bench": "scrape",
        "contender": name,
        "accounts": args.accounts,
        "window_s": args.window,
        "limit": args.limit,
        "windows": args.windows,
        "workers": args.workers,
        "duration_s": args.duration,
        "wall_s": round(wall, 2),
        "capacity": capacity,
        "served": served,
        "handed": handed,
        "distinct": distinct,
        "utilisation": round(handed / capacity, 4) if capacity else None,
        "lost": served - handed,
        "duplicated": handed - distinct,
        "lost_discarded_at_remaining_0": discarded_at_zero,
        "lost_empty_page": empty_dropped,
        "lost_other_received": sum(not_handed.values()) - discarded_at_zero - empty_dropped,
        "lost_never_received": served - len(ok),
        "rate_limited_429": rate_limited,
        "window_fill": round(served / (windows_opened * args.limit), 4) if windows_opened else None,
        "windows_opened": windows_opened,
        "window_cycle_s_mean": round(cycle, 3) if cycle else None,
        "window_drain_s_mean": round(statistics.mean(drains), 3) if drains else None,
        "complete_windows": len(complete),
        "complete_window_fill": round(fill_complete, 4) if fill_complete is not None else None,
        "steady_state_utilisation": (
            round(fill_complete * args.window / cycle, 4) if cycle and fill_complete is not None else None
        ),
        "header_bound": bound,
        "utilisation_of_header_bound": round(handed / bound, 4) if bound else None,
        "pages_per_account_min_max": (
            [pages_by_account[0], pages_by_account[-1]] if pages_by_account else None
        ),
        "accounts_used": sum(1 for p in pages_by_account if p),
        "latency_ms_p50_max": (
            [round(statistics.median(latencies) * 1000, 1), round(max(latencies) * 1000, 1)]
            if latencies
            else None
        ),
        "queries_started": queries.taken,
        "blocked_at_deadline": rec.blocked,
        **extra,
    }
    if served > capacity:
        result["warning"] = f"served {served} > capacity {capacity}: the capacity formula is wrong"
    pool_accounts = result.pop("pool_accounts", None)
    proxy_out = {k: result.pop(k) for k in ("pool_proxies", "binding_at_end") if k in result}
    if plan is not None:
        result.update(fault_report(args, rec, per_account, handed, t0, plan, pool_accounts))
    if farm is not None:
        result.update(proxy_report(args, rec, per_account, t0, farm, plan, proxy_out))
    return result


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--accounts", type=int, default=8)
    ap.add_argument("--window", type=float, default=4.0, help="rate-limit window in seconds (X: 900)")
    ap.add_argument(
        "--limit", type=int, default=10, help="SearchTimeline requests per window per account (X: 50)"
    )
    ap.add_argument("--windows", type=int, default=5, help="run length in windows")
    ap.add_argument("--workers", type=int, default=4, help="concurrent paginations")
    ap.add_argument("--quick", action="store_true", help="4 windows of 3 s, no poll-scaled twscrape run")
    ap.add_argument(
        "--database-url",
        default=None,
        help="PostgreSQL server for XGet's control-plane DB (a scratch database is created on "
        "it and dropped); default: a SQLite file in a temporary directory",
    )
    ap.add_argument(
        "--contenders",
        default="xget,twscrape,twscrape_poll_scaled",
        help="comma-separated subset of xget, twscrape, twscrape_poll_scaled, run in the order given",
    )
    ap.add_argument(
        "--fail-fraction",
        type=float,
        default=0.0,
        help="share of the accounts failed halfway through each run (suspended, locked, "
        "bad auth in turn; see 'Failing accounts'); default 0: no failures",
    )
    ap.add_argument(
        "--proxies",
        type=int,
        default=0,
        help="route every account through N real local HTTP proxies (proxy.py), started afresh "
        "for each contender; with --fail-fraction one of them dies halfway (see 'Dead "
        "proxy'); default 0: no proxies, direct connections",
    )
    ap.add_argument("--users", type=int, default=400)
    ap.add_argument("--tweets", type=int, default=20000)
    ap.add_argument("--days", type=int, default=10)
    args = ap.parse_args()
    contenders = [c.strip() for c in args.contenders.split(",") if c.strip()]
    unknown = set(contenders) - {"xget", "twscrape", "twscrape_poll_scaled"}
    if unknown:
        ap.error(f"unknown contenders: {sorted(unknown)}")
    if not 0.0 <= args.fail_fraction < 1.0:
        ap.error("--fail-fraction must be in [0, 1)")
    if args.proxies < 0 or (args.fail_fraction > 0 and args.proxies == 1):
        ap.error(
            "--proxies must be 0 or more, and at least 2 with --fail-fraction (one dies: the accounts "
            "behind it need another to be rebound to)"
        )
    if args.quick:
        args.window, args.windows = 3.0, 4
        contenders = [c for c in contenders if c != "twscrape_poll_scaled"]
    args.duration = args.windows * args.window

    emu = Emulator(
        {"users": args.users, "tweets": args.tweets, "days": args.days},
        {"window_seconds": args.window, "rate_limits": {OPERATION: args.limit}},
    )
    try:
        emit(
            {
                "bench": "scrape",
                "measurement": "setup",
                "emulator": emu.url,
                **emu.info["world"],
                "emulator_startup_s": emu.info["startup_s"],
                "cpus": os.cpu_count(),
                "terms": emu.terms,
            }
        )
        accounts = emu.accounts([f"bench_acc_{i:03d}" for i in range(args.accounts)])
        failing = pick_failing(accounts, args.fail_fraction)
        if args.fail_fraction > 0 and not failing:
            ap.error(f"--fail-fraction {args.fail_fraction} x {args.accounts} accounts rounds to 0 accounts")
        results: dict[str, dict] = {}
        with tempfile.TemporaryDirectory(prefix="xget-bench-scrape-") as tmp:
            workdir = Path(tmp)
            for name in contenders:
                plan = FaultPlan(emu, failing, args.duration / 2) if failing else None
                farm = ProxyFarm(args.proxies, workdir / f"proxies-{name}") if args.proxies else None
                if plan is not None and farm is not None:
                    plan.kill = farm.kill
                try:
                    if name == "xget":
                        results[name] = run_xget(args, emu, accounts, workdir, plan=plan, farm=farm)
                    elif name == "twscrape":
                        results[name] = run_twscrape(args, emu, accounts, workdir, plan=plan, farm=farm)
                    else:
                        interval = round(5.0 * args.window / 900.0, 4)
                        results[name] = run_twscrape(
                            args,
                            emu,
                            accounts,
                            workdir,
                            wait_interval=interval,
                            label=name,
                            plan=plan,
                            farm=farm,
                        )
                finally:
                    if farm is not None:
                        farm.stop()
                emit(results[name])
    finally:
        emu.close()
    xget, tws = results.get("xget", {}), results.get("twscrape", {})
    headline = {
        "bench": "scrape",
        "accounts": args.accounts,
        "window_s": args.window,
        "limit": args.limit,
        "windows": args.windows,
        "workers": args.workers,
        **({"proxies": args.proxies} if args.proxies else {}),
        "capacity": xget.get("capacity", tws.get("capacity")),
        "xget_utilisation": xget.get("utilisation"),
        "twscrape_utilisation": tws.get("utilisation"),
        "xget_lost": xget.get("lost"),
        "xget_duplicated": xget.get("duplicated"),
        "twscrape_lost": tws.get("lost"),
        "twscrape_duplicated": tws.get("duplicated"),
        "xget_steady_state_utilisation": xget.get("steady_state_utilisation"),
        "twscrape_steady_state_utilisation": tws.get("steady_state_utilisation"),
        "xget_window_cycle_s": xget.get("window_cycle_s_mean"),
        "twscrape_window_cycle_s": tws.get("window_cycle_s_mean"),
        "target_utilisation": TARGET,
        "xget_meets_target": (
            bool(xget["utilisation"] >= TARGET and xget["lost"] == 0 and xget["duplicated"] == 0)
            if xget
            else None
        ),
    }
    if args.fail_fraction > 0:
        for key, doc in (("xget", xget), ("twscrape", tws)):
            if not doc:
                continue
            headline.update(
                {
                    f"{key}_remaining_capacity": doc.get("remaining_capacity"),
                    f"{key}_handed": doc.get("handed"),
                    f"{key}_utilisation_of_remaining": doc.get("utilisation_of_remaining"),
                    f"{key}_failed_accounts_marked": doc.get("failed_accounts_marked"),
                    f"{key}_failed_accounts_still_active": doc.get("failed_accounts_still_active"),
                    f"{key}_marked_equals_injected": doc.get("marked_equals_injected"),
                    f"{key}_requests_to_failed_after_fault": doc.get("requests_to_failed_after_fault"),
                }
            )
        if args.proxies:
            for key, doc in (("xget", xget), ("twscrape", tws)):
                if not doc:
                    continue
                headline.update(
                    {
                        f"{key}_dead_proxy": doc.get("dead_proxy"),
                        f"{key}_dead_proxy_accounts": len(doc.get("dead_proxy_accounts") or []),
                        f"{key}_dead_proxy_accounts_rebound": doc.get("dead_proxy_accounts_rebound"),
                        f"{key}_dead_proxy_accounts_served_again": doc.get(
                            "dead_proxy_accounts_served_again"
                        ),
                        f"{key}_requests_failed_at_dead_proxy": doc.get("requests_failed_at_dead_proxy"),
                        f"{key}_lost_in_transit_at_dead_proxy": doc.get("lost_in_transit_at_dead_proxy"),
                        f"{key}_dead_proxy_fill": doc.get("dead_proxy_fill"),
                    }
                )
        headline.update(
            {
                "fail_fraction": args.fail_fraction,
                "failed_accounts": failing,
                "fail_target_utilisation_of_remaining": FAIL_TARGET,
                "xget_meets_fail_target": (
                    bool(
                        xget.get("utilisation_of_remaining") is not None
                        and xget["utilisation_of_remaining"] >= FAIL_TARGET
                        and xget["lost"] == 0
                        and xget["duplicated"] == 0
                        and xget.get("marked_equals_injected")
                    )
                    if xget
                    else None
                ),
            }
        )
    emit(headline)


if __name__ == "__main__":
    main()
