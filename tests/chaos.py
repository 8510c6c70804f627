"""The chaos run (issue 18): a simulated day of an account pool and a proxy pool against the emulator over
HTTP, with X suspending, locking and lifting accounts, sessions expiring and proxies dying and coming back,
while scrape work and the two upkeep ticks run. Used by ``tests/core/test_chaos.py`` (a short day) and
``bench/chaos.py`` (a longer one, more accounts and events).

Time. The day is simulated: it is cut into steps of ``step_min`` simulated minutes, and each step

1. applies the events of the schedule due at its start (``plan``: seeded, so a run can be replayed);
2. runs scrape work: up to ``pages_per_step`` SearchTimeline pages through one ``XClient`` over the pool,
   real requests through the accounts' bound proxies (a timeline that ends is followed by the next term);
3. runs the proxy upkeep tick and the account upkeep tick with the step's simulated ``now``
   (``core/pools/proxy_upkeep.py``, ``core/pools/account_upkeep.py``: their cadences are in simulated
   seconds, so a check period of an hour is three 20-minute steps);
4. records what the pools look like (the state transitions open and close ``incidents``).

What stays on the wall clock: the emulator's rate-limit windows (``window_s``, a second or two) and the
pool's lease bookkeeping. A step stands for one of X's windows: ``capacity`` of a step is what the pool's
rate-limit state says it can send in one window (``operation_capacity``: the usable accounts times the
learned per-window limit), and pages collected are compared with it.

Pages lost. The driver counts every page ``XClient.fetch`` handed it and every request that ended in an
error; the emulator counts the SearchTimeline pages it served (``/_emulator/stats``). Proxies die only
between steps, so no request is in flight at a kill: served must equal received; a request that timed
out on the client after the emulator served it would be the only excuse (``served <= received +
request_errors``, as ``tests/test_concurrent_runs.py`` allows).

Alerts. With ``alerts`` (an ``AlertsResource`` over the run's database), each step reports the pools'
incidents after the upkeep ticks as the two upkeep sensors do (``core/pools/incidents.py``: a proxy INACTIVE
after N failed checks, an account out for a cause only a person can fix), on the simulated clock, and the
digests go out by email (the test: a real SMTP server relaying into Dovecot) or to the log (the bench).
``ChaosRun.notices`` counts the notices sent and ``alert_emails`` the emails.
"""

from __future__ import annotations

import random
import tempfile
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
from sqlalchemy import select

from xget_pipelines.core.db.engine import read_only
from xget_pipelines.core.db.models import Account, Proxy
from xget_pipelines.core.errors import NoAccountAvailable, XGetError
from xget_pipelines.core.pools import account_upkeep, proxy_upkeep
from xget_pipelines.core.pools.account_cadence import AccountCadence
from xget_pipelines.core.pools.account_login import LoginSetup
from xget_pipelines.core.pools.account_pool import AccountPool
from xget_pipelines.core.pools.accounts import AccountRecord, upsert_accounts
from xget_pipelines.core.pools.capacity import operation_capacity
from xget_pipelines.core.pools.health import pool_health
from xget_pipelines.core.pools.incidents import account_incidents, proxy_incidents
from xget_pipelines.core.pools.proxies import ACTIVE, Cadence, ProxyPool, parse_proxy_lines
from xget_pipelines.core.x import watch
from xget_pipelines.core.x.client import XClient
from xget_pipelines.emulator.proxy_servers import start_http_proxy

PASSWORD = "chaos-Very-Secret-1"
MFA_SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
OPERATION = "SearchTimeline"
TERMS = ("python", "data", "music", "news", "game", "love", "today", "world")


@dataclass(frozen=True)
class ChaosConfig:
    """The run's size and clock. Durations are simulated unless named ``*_wall_*`` or ``window_s``."""

    seed: int = 18
    sim_hours: int = 24
    step_min: int = 20
    accounts: int = 6  # with password and TOTP secret: X's session can be renewed without a person
    cookies_only: int = 1  # imported with cookies alone: an expired session needs a person
    proxies: int = 3
    suspensions: int = 2  # X suspends (code 64), then lifts it
    locks: int = 2  # X locks (code 326), then lifts it
    expiries: int = 4  # X forgets a session (code 32) of an account with credentials
    proxy_outages: int = 4  # a proxy's process dies, then starts again on the same port
    pages_per_step: int = 6
    search_limit: int = 10  # the emulator's SearchTimeline requests per account and window
    window_s: float = 1.0  # the emulator's rate-limit window, wall seconds
    proxy_interval_s: float = 3600.0
    proxy_recheck_base_s: float = 900.0
    account_check_s: float = 7200.0
    account_recheck_refused_s: float = 3 * 3600.0
    login_backoff_s: float = 1200.0
    logins_per_day: int = 6

    @property
    def steps(self) -> int:
        return self.sim_hours * 60 // self.step_min

    @property
    def step(self) -> timedelta:
        return timedelta(minutes=self.step_min)

    def proxy_cadence(self) -> Cadence:
        return Cadence(interval_s=self.proxy_interval_s, recheck_base_s=self.proxy_recheck_base_s)

    def account_cadence(self) -> AccountCadence:
        return AccountCadence(
            check_interval_s=self.account_check_s,
            recheck_refused_s=self.account_recheck_refused_s,
            login_backoff_s=self.login_backoff_s,
            login_backoff_max_s=4 * self.login_backoff_s,
            logins_per_day=self.logins_per_day,
        )


@dataclass(frozen=True)
class Event:
    """Something X or a proxy provider does at the start of step ``step``."""

    step: int
    kind: str  # suspend, lock, lift, expire, proxy_down, proxy_up
    target: str  # a username, or a proxy's index as text


@dataclass
class Incident:
    """An account or proxy out of service, from the step it was seen out to the step it was seen back."""

    kind: str  # account or proxy
    name: str
    reason: str
    opened_at: datetime
    closed_at: datetime | None = None


@dataclass
class Hour:
    """What one simulated hour saw (``usable_*`` over its steps, the rest summed)."""

    hour: int
    usable_min: int = 10**9
    usable_max: int = 0
    proxies_active_min: int = 10**9
    relogins: int = 0
    accounts_revived: int = 0
    proxies_revived: int = 0
    pages: int = 0
    capacity: int = 0
    request_errors: int = 0
    events: list[str] = field(default_factory=list)

    def line(self) -> dict:
        return {
            "sim_hour": self.hour,
            "usable_accounts_min": self.usable_min,
            "usable_accounts_max": self.usable_max,
            "proxies_active_min": self.proxies_active_min,
            "relogins": self.relogins,
            "revivals": self.accounts_revived + self.proxies_revived,
            "pages": self.pages,
            "capacity": self.capacity,
            "request_errors": self.request_errors,
            "events": self.events,
        }


@dataclass
class ChaosRun:
    """Everything the run measured; the test asserts on it, the bench prints it."""

    config: ChaosConfig
    t0: datetime
    events: list[Event]
    hours: list[Hour] = field(default_factory=list)
    expired: list[tuple[str, datetime]] = field(default_factory=list)  # (username, when) as applied
    logins: dict[str, list[datetime]] = field(default_factory=dict)  # automatic logins per account
    needs_person: set[str] = field(default_factory=set)
    proxy_returns: list[tuple[int, datetime]] = field(default_factory=list)  # (index, back at)
    proxy_active_at: dict[int, list[datetime]] = field(default_factory=dict)  # steps a proxy was ACTIVE
    incidents: list[Incident] = field(default_factory=list)
    pages_received: int = 0
    request_errors: int = 0
    pages_served: int = 0
    alerts: int | None = None  # alert notices sent (new, reminder, recovered); None: run without alerts
    alert_emails: int = 0  # the digests they went out in
    credentialed: set[str] = field(default_factory=set)

    @property
    def pages_lost(self) -> int:
        return self.pages_served - self.pages_received

    def renewed_at(self, username: str, expired_at: datetime) -> datetime | None:
        """The first automatic login of ``username`` at or after ``expired_at``, if any."""
        later = [t for t in self.logins.get(username, []) if t >= expired_at]
        return min(later) if later else None

    def active_again_at(self, index: int, back_at: datetime) -> datetime | None:
        """The first step at or after ``back_at`` that ended with proxy ``index`` ACTIVE."""
        later = [t for t in self.proxy_active_at.get(index, []) if t >= back_at]
        return min(later) if later else None

    def headline(self) -> dict:
        capacity = sum(h.capacity for h in self.hours)
        return {
            "headline": "chaos",
            "sim_hours": self.config.sim_hours,
            "accounts": self.config.accounts + self.config.cookies_only,
            "accounts_with_credentials": self.config.accounts,
            "proxies": self.config.proxies,
            "events": dict(Counter(e.kind for e in self.events)),
            "usable_accounts_per_hour_min": min(h.usable_min for h in self.hours),
            "usable_accounts_per_hour_mean": round(
                sum((h.usable_min + h.usable_max) / 2 for h in self.hours) / len(self.hours), 2
            ),
            "relogins": sum(h.relogins for h in self.hours),
            "revivals": sum(h.accounts_revived + h.proxies_revived for h in self.hours),
            "accounts_revived": sum(h.accounts_revived for h in self.hours),
            "proxies_revived": sum(h.proxies_revived for h in self.hours),
            "expired_sessions": len(self.expired),
            "expired_renewed": sum(
                1 for name, at in self.expired if name in self.credentialed and self.renewed_at(name, at)
            ),
            "needs_person": sorted(self.needs_person),
            "proxy_returns": len(self.proxy_returns),
            "proxy_back_within_s_max": max(
                (
                    (self.active_again_at(i, at) - at).total_seconds()
                    for i, at in self.proxy_returns
                    if self.active_again_at(i, at)
                ),
                default=None,
            ),
            "pages": self.pages_received,
            "pages_served": self.pages_served,
            "pages_lost": self.pages_lost,
            "request_errors": self.request_errors,
            "capacity": capacity,
            "capacity_used_pct": round(100 * self.pages_received / capacity, 1) if capacity else None,
            "incidents": len(self.incidents),
            "incidents_open_at_end": sum(1 for i in self.incidents if i.closed_at is None),
            "alerts": self.alerts,
            "alert_emails": self.alert_emails,
        }


# -- the schedule ----------------------------------------------------------------------------------------


def plan(config: ChaosConfig, usernames: list[str], cookie_names: list[str]) -> list[Event]:
    """A seeded schedule: account incidents never overlap on one account, at most all proxies but one are
    down at once, and everything that comes back does so early enough that the run sees it come back
    (two proxy check periods, an account's recheck plus a login backoff, before the end)."""
    rng = random.Random(config.seed)
    step_s = config.step_min * 60
    last = config.steps - 1
    proxy_margin = int(2 * config.proxy_interval_s // step_s) + 2
    account_margin = int((config.account_recheck_refused_s + 2 * config.login_backoff_s) // step_s) + 2
    busy: dict[str, list[tuple[int, int]]] = {}
    events: list[Event] = []

    def free(intervals, start, end):
        return all(end < s or start > e for s, e in intervals)

    def account_incident(kind: str, names: list[str]) -> None:
        for _ in range(200):
            name = rng.choice(names)
            start = rng.randint(1, last - account_margin - 1)
            length = rng.randint(2, max(3, (last - account_margin - start)))
            end = start + length if kind in ("suspend", "lock") else start + account_margin // 2
            end = min(end, last - account_margin)
            if end <= start or not free(busy.setdefault(name, []), start, end + account_margin // 2):
                continue
            busy[name].append((start, end + account_margin // 2))
            events.append(Event(start, kind, name))
            if kind in ("suspend", "lock"):
                events.append(Event(end, "lift", name))
            return
        raise ValueError(
            f"cannot place a {kind} on {len(names)} accounts in {config.steps} steps: fewer events"
        )

    for kind, count in (("suspend", config.suspensions), ("lock", config.locks), ("expire", config.expiries)):
        for _ in range(count):
            account_incident(kind, usernames)
    for name in cookie_names:
        account_incident("expire", [name])

    down: list[tuple[int, int, int]] = []  # (proxy, from, to)
    for _ in range(config.proxy_outages):
        for _ in range(200):
            index = rng.randrange(config.proxies)
            start = rng.randint(1, last - proxy_margin - 1)
            end = min(start + rng.randint(1, max(2, config.steps // 4)), last - proxy_margin)
            overlap = [d for d in down if not (end < d[1] or start > d[2])]
            if end <= start or any(d[0] == index for d in overlap) or len(overlap) >= config.proxies - 1:
                continue
            down.append((index, start, end))
            events += [Event(start, "proxy_down", str(index)), Event(end, "proxy_up", str(index))]
            break
        else:
            raise ValueError("cannot place the proxy outages: fewer outages or more proxies")
    return sorted(events, key=lambda e: (e.step, e.kind, e.target))


# -- the world: accounts and proxies ---------------------------------------------------------------------


class Chaos:
    """The pools, the proxies' processes and the emulator the run drives (``run`` does the day)."""

    def __init__(
        self, config: ChaosConfig, emulator_url: str, engine, box, workdir: Path | None = None, alerts=None
    ):
        self.config, self.url, self.engine = config, emulator_url.rstrip("/"), engine
        self.alerts = alerts  # an AlertsResource over ``engine``'s database, or None
        self.graphql_url = f"{self.url}/i/api/graphql"
        self.box = box
        self.workdir = Path(workdir or tempfile.mkdtemp(prefix="xget-chaos-"))
        self.pool = AccountPool(engine, secrets=box)
        self.proxy_pool = ProxyPool(engine, box)
        self.servers: list = []
        self.ports: list[int] = []
        self.setup = LoginSetup(self.url)
        self.usernames = [f"chaos{i:02d}" for i in range(config.accounts)]
        self.cookie_names = [f"chaos_cookies{i:02d}" for i in range(config.cookies_only)]
        self._term, self._cursor = 0, None
        self._served_before = 0

    def _post(self, path: str, body: dict | None = None) -> dict:
        rep = httpx.post(f"{self.url}{path}", json=body, timeout=10)
        rep.raise_for_status()
        return rep.json()

    def _tokens(self) -> dict[str, dict]:
        rep = httpx.get(f"{self.url}/_emulator/accounts", timeout=10).raise_for_status()
        return {a["username"]: {"auth_token": a["auth_token"], "ct0": a["ct0"]} for a in rep.json()}

    def start(self) -> None:
        """Accounts in the emulator and the pool (with credentials, and cookies-only), proxies started."""
        self._post(
            "/_emulator/login_accounts",
            {
                "accounts": [
                    {
                        "username": n,
                        "password": PASSWORD,
                        "email": f"{n}@example.org",
                        "mfa_secret": MFA_SECRET,
                    }
                    for n in self.usernames
                ]
            },
        )
        if self.cookie_names:
            self._post("/_emulator/accounts", {"usernames": self.cookie_names})
        tokens = self._tokens()
        records = [
            AccountRecord(n, PASSWORD, f"{n}@example.org", mfa_secret=MFA_SECRET, cookies=tokens[n])
            for n in self.usernames
        ] + [AccountRecord(n, cookies=tokens[n]) for n in self.cookie_names]
        upsert_accounts(self.engine, self.box, records)
        for i in range(self.config.proxies):
            server = start_http_proxy(self.workdir / f"proxy{i}")
            self.servers.append(server)
            self.ports.append(server.port)
        parsed = parse_proxy_lines("\n".join(s.url() for s in self.servers))
        if parsed.errors:
            raise ValueError(f"proxy lines: {parsed.errors}")
        self.proxy_ids = self.proxy_pool.import_proxies(parsed.records).ids
        self._served_before = self._served()

    def stop(self) -> None:
        for server in self.servers:
            if server is not None:
                server.stop()

    # -- events --------------------------------------------------------------------------------------

    def apply(self, event: Event, now: datetime, run: ChaosRun) -> None:
        if event.kind in ("suspend", "lock"):
            fault = "suspended" if event.kind == "suspend" else "locked"
            self._post("/_emulator/faults", {"accounts": {event.target: fault}})
        elif event.kind == "lift":
            self._post("/_emulator/faults", {"accounts": {event.target: None}})
        elif event.kind == "expire":
            self._post(f"/_emulator/accounts/{event.target}/expire")
            run.expired.append((event.target, now))
        elif event.kind == "proxy_down":
            index = int(event.target)
            self.servers[index].stop()
            self.servers[index] = None
        elif event.kind == "proxy_up":
            index = int(event.target)
            self.servers[index] = start_http_proxy(self.workdir / f"proxy{index}", port=self.ports[index])
            run.proxy_returns.append((index, now))
        else:
            raise ValueError(f"unknown chaos event {event.kind!r}")

    # -- work and upkeep -----------------------------------------------------------------------------

    def scrape(self, hour: Hour, run: ChaosRun) -> None:
        """Up to ``pages_per_step`` SearchTimeline pages through the pool; each page received is counted,
        each request that ended in an error too (the pool being empty is not a request)."""
        with XClient(
            self.graphql_url, self.pool, lease_deadline_s=2 * self.config.window_s, timeout_s=10
        ) as c:
            for _ in range(self.config.pages_per_step):
                variables = watch.search_variables(TERMS[self._term % len(TERMS)], 20)
                if self._cursor:
                    variables["cursor"] = self._cursor
                try:
                    page = c.fetch(OPERATION, variables)
                except NoAccountAvailable:
                    return
                except XGetError:
                    hour.request_errors += 1
                    run.request_errors += 1
                    continue
                hour.pages += 1
                run.pages_received += 1
                nxt = page.cursor_out
                if nxt is None or nxt == self._cursor or not page.summary.content_entries:
                    self._term, self._cursor = self._term + 1, None  # the timeline ended: the next term
                else:
                    self._cursor = nxt

    def upkeep(self, now: datetime, hour: Hour, run: ChaosRun) -> None:
        proxies = proxy_upkeep.upkeep_tick(
            self.proxy_pool,
            f"{self.url}/_emulator/whoami",
            now,
            self.config.proxy_cadence(),
            attempts=2,
            timeout_s=3,
        )
        if proxies.target_error:
            raise RuntimeError(proxies.target_error)  # the emulator is the target: it never goes down here
        hour.proxies_revived += len(proxies.revived)
        accounts = account_upkeep.upkeep_tick(
            self.pool, self.graphql_url, self.setup, now, self.config.account_cadence(), deadline_s=3
        )
        hour.relogins += len(accounts.logged_in)
        hour.accounts_revived += len(accounts.returned)
        for name in accounts.logged_in:
            run.logins.setdefault(name, []).append(now)
        run.needs_person.update(accounts.needs_person)
        if self.alerts is not None:  # what the two upkeep sensors report after their ticks
            for source, incidents in (
                ("proxy", proxy_incidents(self.engine, self.alerts.proxy_failed_checks)),
                ("account", account_incidents(self.engine)),
            ):
                delivery = self.alerts.report(source, incidents, now)
                if delivery.error:
                    raise RuntimeError(delivery.error)  # the test's mail server does not go down
                run.alerts = (run.alerts or 0) + delivery.sent
                run.alert_emails += bool(delivery.sent)

    # -- observation ---------------------------------------------------------------------------------

    def _served(self) -> int:
        rep = httpx.get(f"{self.url}/_emulator/stats", timeout=10).raise_for_status()
        return sum(ops.get(OPERATION, {}).get("pages", 0) for ops in rep.json()["accounts"].values())

    def observe(self, now: datetime, hour: Hour, run: ChaosRun, open_: dict) -> None:
        """The pools after the step: usable accounts, ACTIVE proxies, incidents opened and closed."""
        hour.usable_min = min(hour.usable_min, usable := pool_health(self.engine).usable)
        hour.usable_max = max(hour.usable_max, usable)
        cap = operation_capacity(self.engine, OPERATION)
        hour.capacity += cap.accounts * cap.limit
        with read_only(self.engine) as conn:
            accounts = conn.execute(select(Account.username, Account.active, Account.error_msg)).all()
            proxies = conn.execute(select(Proxy.id, Proxy.status, Proxy.last_error)).all()
        status = {pid: (s, err) for pid, s, err in proxies}
        hour.proxies_active_min = min(
            hour.proxies_active_min, sum(1 for s, _ in status.values() if s == ACTIVE)
        )
        out = {("account", name): err or "out" for name, active, err in accounts if not active}
        for index, pid in enumerate(self.proxy_ids):
            state, err = status[pid]
            if state == ACTIVE:
                run.proxy_active_at.setdefault(index, []).append(now)
            else:
                out[("proxy", str(index))] = err or state
        for key, reason in out.items():
            if key not in open_:
                open_[key] = Incident(key[0], key[1], reason, now)
                run.incidents.append(open_[key])
        for key in [k for k in open_ if k not in out]:
            open_.pop(key).closed_at = now

    def run(self, t0: datetime | None = None, on_hour=None) -> ChaosRun:
        """The simulated day; ``on_hour(hour)`` is called with each hour's record as it ends."""
        config = self.config
        t0 = t0 or datetime.now(UTC).replace(microsecond=0)
        run = ChaosRun(
            config, t0, plan(config, self.usernames, self.cookie_names), credentialed=set(self.usernames)
        )
        by_step: dict[int, list[Event]] = {}
        for event in run.events:
            by_step.setdefault(event.step, []).append(event)
        # the proxies are checked once at import, as ``xget proxies import`` then ``check`` would
        self.upkeep(t0 - config.step, Hour(-1), run)
        open_: dict = {}
        steps_per_hour = 60 // config.step_min
        hour = Hour(0)
        for step in range(config.steps):
            now = t0 + step * config.step
            if step and step % steps_per_hour == 0:
                self._close_hour(hour, run, on_hour)
                hour = Hour(step // steps_per_hour)
            for event in by_step.get(step, []):
                self.apply(event, now, run)
                hour.events.append(f"{event.kind} {event.target}")
            self.scrape(hour, run)
            self.upkeep(now, hour, run)
            self.observe(now, hour, run, open_)
        self._close_hour(hour, run, on_hour)
        run.pages_served = self._served() - self._served_before
        return run

    def _close_hour(self, hour: Hour, run: ChaosRun, on_hour) -> None:
        run.hours.append(hour)
        if on_hour is not None:
            on_hour(hour)
