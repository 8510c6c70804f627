"""Proxies in the control-plane DB: import, listing, health checks through the proxy to a target.

**Import.** One proxy a line, as a URL (``http://``, ``https://``, ``socks5://``, credentials
percent-encoded: ``socks5://user:pass@1.2.3.4:1080``), as ``user:pass@host:port`` or as
``host:port[:user:pass]`` (both with the default scheme, ``http``; in the colon form the password may
itself contain colons). Optional metadata follows the proxy after whitespace, with or without a leading
``#``: ``key=value`` pairs separated by ``;`` or whitespace, keys ``country`` (ISO 3166 alpha-2, alias
``cc``), ``city`` and ``isp``, e.g. ``socks5://u:p@1.2.3.4:1080 # country=DE; city=Frankfurt am Main``.
Blank lines and lines starting with ``#`` are skipped. A bad line is reported with its number and the
reason (never the secret) and the good ones are imported. A proxy is identified by (scheme, host, port,
username): re-importing it updates it instead of duplicating it; a re-import that changes the password
or names an INACTIVE proxy puts it back to CHECKING ("try it again").

**Status.** ``CHECKING``: imported and not yet verified (new, re-imported with new credentials or after
it went INACTIVE); never handed out. ``ACTIVE``: its last successful attempt is more recent than
``max_failures`` failed ones. ``INACTIVE``: ``max_failures`` (default 3) attempts in a row failed
(a check makes ``attempts`` of them, default 3, so one check of a dead proxy takes it out while one
timeout in three does not), or a check of a CHECKING proxy had no successful attempt at all;
``last_error`` says why. Any later successful attempt reactivates it.

**Health.** Each attempt is one GET of the target through the proxy on a new connection (so it measures
connecting to the proxy, the proxy's handshake and authentication, and the request through it), bounded
by ``timeout_s`` as a whole. ``latency_ms`` is the median of the successful attempts of the latest check
that had any (the last known value is kept while a proxy fails). ``success_rate`` is an exponentially
weighted moving average over attempts, ``rate += 0.2 * (outcome - rate)`` with outcome 1 or 0 (the first
attempt sets it): the last 10 attempts carry ~89% of the weight. ``checks``/``failures`` count every
attempt ever (lifetime ratio). Clients report real traffic through :meth:`ProxyPool.report`, which feeds
the same statistics.

**Exit and country.** A successful attempt whose target answers JSON with ``ip`` (the emulator's
``/_emulator/whoami``, or an echo service such as ``{"ip": ...}`` / ``{"origin": ...}``) tells the exit
address; the check stores it with its country looked up offline (``geo.py``). A target that does not say
(X itself: its answers carry no client address) leaves the last known exit as it was. Binding uses the
exit country when known, else the typed ``country`` label (:attr:`ProxyInfo.effective_country`).

**The target.** Before checking proxies, ``acheck`` fetches the target directly. If that fails too and no
proxy reaches the target either, the target is down (or refuses everyone): :class:`TargetUnreachable` is
raised and nothing is marked -- a dead target never takes the pool out. If the target answers through
some proxy but not directly (a server whose only route out is its proxies), the results are stored as usual.

**Upkeep.** Each check sets ``next_check_at`` by the :class:`Cadence` (backoff after failed checks,
``failed_checks`` in a row); ``proxy_upkeep.py`` checks the due ones on a cadence.

**Ranking.** ``available`` lists ACTIVE proxies best first by ``latency_ms / success_rate``, the expected
latency per successful request (unmeasured proxies last).

**Secrets.** Passwords are encrypted at rest (``core/secrets.py``). Only :meth:`ProxyPool.url_for` returns
a URL with the credentials, for the HTTP client; everything printed, logged or raised uses
:func:`build_url`'s redacted form or ``core/redact.py`` (``http://user:***@host:port``).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import ssl
import statistics
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, delete, select, update

from xget_pipelines.core.db.engine import read_only
from xget_pipelines.core.db.models import Proxy
from xget_pipelines.core.pools.geo import country_of
from xget_pipelines.core.pools.proxy_records import (  # re-exported: proxies is the public module
    ACTIVE,  # noqa: F401
    CHECKING,  # noqa: F401
    DEFAULT_MAX_FAILURES,  # noqa: F401
    EWMA_ALPHA,  # noqa: F401
    INACTIVE,  # noqa: F401
    META_KEYS,  # noqa: F401
    SCHEMES,  # noqa: F401
    STATUSES,  # noqa: F401
    Cadence,
    ParsedProxies,  # noqa: F401
    ProxyError,  # noqa: F401
    ProxyRecord,  # noqa: F401
    TargetUnreachable,
    build_url,  # noqa: F401
    check_country,  # noqa: F401
    host_for_url,
    parse_proxy,  # noqa: F401
    parse_proxy_lines,  # noqa: F401
)
from xget_pipelines.core.redact import redact_urls, scrub
from xget_pipelines.core.secrets import SecretBox, SecretKeyError

log = logging.getLogger(__name__)


# -- what the pool shows ---------------------------------------------------------------------------------


@dataclass
class ProxyInfo:
    """A stored proxy without its secret (safe to print)."""

    id: int
    scheme: str
    host: str
    port: int
    username: str | None
    has_password: bool
    country: str | None
    city: str | None
    isp: str | None
    latency_ms: float | None
    success_rate: float | None
    checks: int
    failures: int
    consecutive_failures: int
    last_check_at: datetime | None
    last_error: str | None
    status: str
    exit_ip: str | None = None
    exit_country: str | None = None
    failed_checks: int = 0
    next_check_at: datetime | None = None

    @property
    def effective_country(self) -> str | None:
        """Where the proxy exits: the country of its exit address when a check saw one, else its label."""
        return self.exit_country or self.country

    @property
    def url(self) -> str:
        """Redacted URL: ``scheme://user:***@host:port``."""
        return build_url(self.scheme, self.host, self.port, self.username, "x" if self.has_password else None)

    @property
    def score(self) -> float:
        """Expected latency per successful request (lower is better; unmeasured: infinite)."""
        if self.latency_ms is None or self.success_rate is None:
            return float("inf")
        return self.latency_ms / max(self.success_rate, 0.01)

    def as_dict(self) -> dict:
        return {
            "id": self.id,
            "proxy": self.url,
            "status": self.status,
            "country": self.country,
            "city": self.city,
            "isp": self.isp,
            "latency_ms": self.latency_ms,
            "success_rate": self.success_rate,
            "checks": self.checks,
            "failures": self.failures,
            "last_check_at": self.last_check_at,
            "last_error": self.last_error,
            "exit_ip": self.exit_ip,
            "exit_country": self.exit_country,
            "failed_checks": self.failed_checks,
            "next_check_at": self.next_check_at,
        }


def _info(row) -> ProxyInfo:
    return ProxyInfo(
        id=row.id,
        scheme=row.scheme,
        host=row.host,
        port=row.port,
        username=row.username or None,
        has_password=row.password_enc is not None,
        country=row.country,
        city=row.city,
        isp=row.isp,
        latency_ms=row.latency_ms,
        success_rate=row.success_rate,
        checks=row.checks or 0,
        failures=row.failures or 0,
        consecutive_failures=row.consecutive_failures or 0,
        last_check_at=row.last_check_at,
        last_error=row.last_error,
        status=row.status,
        exit_ip=row.exit_ip,
        exit_country=row.exit_country,
        failed_checks=row.failed_checks or 0,
        next_check_at=_utc(row.next_check_at),
    )


def _utc(value: datetime | None) -> datetime | None:
    """SQLite gives naive datetimes back: they were stored in UTC."""
    return value.replace(tzinfo=UTC) if value is not None and value.tzinfo is None else value


@dataclass
class ImportResult:
    created: int = 0
    updated: int = 0
    ids: list[int] = field(default_factory=list)


@dataclass
class Attempt:
    ok: bool
    latency_ms: float | None = None
    error: str | None = None
    exit_ip: str | None = None
    exit_port: int | None = None


@dataclass
class CheckResult:
    """One proxy's check: its attempts and the status it has afterwards."""

    proxy_id: int
    proxy: str  # redacted URL
    status: str
    attempts: int
    successes: int
    latency_ms: float | None  # median of this check's successful attempts
    success_rate: float | None  # the stored EWMA after this check
    error: str | None  # reason of the last failed attempt
    exit_ip: str | None = None  # the client address the target saw (JSON ``ip``), e.g. /_emulator/whoami
    exit_port: int | None = None
    exit_country: str | None = None  # of exit_ip, looked up offline; None for a private or unknown address
    previous_status: str | None = None  # before this check: tells a revival from a new failure

    @property
    def ok(self) -> bool:
        return self.successes > 0


def whoami_url(host: str, port: int) -> str:
    """The emulator's ``/_emulator/whoami`` at ``host:port``: the default target of proxy checks, which
    answers with the address the request came from (the proxy's exit)."""
    return f"http://{host_for_url(host)}:{port}/_emulator/whoami"


# -- the pool --------------------------------------------------------------------------------------------


class ProxyPool:
    """Proxies in the control-plane DB; ``secrets`` encrypts and decrypts their passwords."""

    def __init__(self, engine: Engine, secrets: SecretBox):
        self.engine = engine
        self.secrets = secrets

    def __repr__(self) -> str:
        return f"ProxyPool({self.engine.url!r})"

    # -- import ------------------------------------------------------------------------------------------

    def import_proxies(
        self,
        records: Sequence[ProxyRecord],
        progress: Callable[[int], None] | None = None,
        batch_size: int = 500,
    ) -> ImportResult:
        """Insert new proxies and update known ones (by scheme, host, port, username)."""
        result = ImportResult()
        now = datetime.now(UTC)
        latest = {r.key: r for r in records}  # a file naming a proxy twice: the last line wins
        cols = Proxy.__table__.c
        with read_only(self.engine) as conn:
            rows = conn.execute(
                select(
                    cols.id, cols.scheme, cols.host, cols.port, cols.username, cols.password_enc, cols.status
                )
            )
            known = {(r.scheme, r.host, r.port, r.username): r for r in rows}
        items = list(latest.values())
        for start in range(0, len(items), batch_size):
            batch = items[start : start + batch_size]
            with self.engine.begin() as conn:
                for record in batch:
                    values: dict = {"updated_at": now}
                    for name in ("country", "city", "isp"):
                        if getattr(record, name) is not None:
                            values[name] = getattr(record, name)
                    row = known.get(record.key)
                    if row is None:
                        values |= {
                            "scheme": record.scheme,
                            "host": record.host,
                            "port": record.port,
                            "username": record.username or "",
                            "password_enc": self.secrets.encrypt(record.password),
                            "status": CHECKING,
                            "checks": 0,
                            "failures": 0,
                            "consecutive_failures": 0,
                            "created_at": now,
                        }
                        new_id = conn.execute(Proxy.__table__.insert().values(values)).inserted_primary_key[0]
                        result.created += 1
                        result.ids.append(new_id)
                        continue
                    changed = False
                    stored = self._decrypt_or_none(row.password_enc) if record.password is not None else None
                    if record.password is not None and stored != record.password:
                        values["password_enc"] = self.secrets.encrypt(record.password)
                        changed = True
                    if changed or row.status == INACTIVE:
                        values |= {
                            "status": CHECKING,
                            "consecutive_failures": 0,
                            "last_error": None,
                            "failed_checks": 0,
                            "next_check_at": None,  # due at the upkeep's next tick
                        }
                    conn.execute(update(Proxy.__table__).where(cols.id == row.id).values(values))
                    result.updated += 1
                    result.ids.append(row.id)
            if progress:
                progress(len(batch))
        log.info("proxies imported: %d added, %d updated", result.created, result.updated)
        return result

    def _decrypt_or_none(self, token: str | None) -> str | None:
        try:
            return self.secrets.decrypt(token)
        except SecretKeyError:  # encrypted with another key: the re-import replaces it
            return None

    # -- reading -----------------------------------------------------------------------------------------

    def list(
        self,
        status: str | None = None,
        country: str | None = None,
        max_latency_ms: float | None = None,
        min_success_rate: float | None = None,
    ) -> list[ProxyInfo]:
        """Proxies filtered by status, country and latency: ACTIVE first, then best first (see ``score``)."""
        table = Proxy.__table__
        stmt = select(table)
        if status is not None:
            if status.upper() not in STATUSES:
                raise ProxyError(f"status {status!r} is not one of {', '.join(STATUSES)}")
            stmt = stmt.where(table.c.status == status.upper())
        if country is not None:
            stmt = stmt.where(table.c.country == check_country(country))
        if max_latency_ms is not None:
            stmt = stmt.where(table.c.latency_ms.is_not(None), table.c.latency_ms <= max_latency_ms)
        if min_success_rate is not None:
            stmt = stmt.where(table.c.success_rate.is_not(None), table.c.success_rate >= min_success_rate)
        with read_only(self.engine) as conn:
            rows = [_info(r) for r in conn.execute(stmt)]
        order = {ACTIVE: 0, CHECKING: 1, INACTIVE: 2}
        return sorted(rows, key=lambda p: (order.get(p.status, 3), p.score, p.id))

    def available(
        self,
        country: str | None = None,
        max_latency_ms: float | None = None,
        min_success_rate: float | None = None,
    ) -> list[ProxyInfo]:
        """ACTIVE proxies, best first, optionally only in ``country`` and at most ``max_latency_ms``."""
        return self.list(ACTIVE, country, max_latency_ms, min_success_rate)

    def pick(
        self, country: str | None = None, max_latency_ms: float | None = None, exclude: Iterable[int] = ()
    ) -> ProxyInfo | None:
        """The best available proxy not in ``exclude`` (the hook for assigning a proxy to an account)."""
        skip = set(exclude)
        return next((p for p in self.available(country, max_latency_ms) if p.id not in skip), None)

    def get(self, proxy_id: int) -> ProxyInfo:
        with read_only(self.engine) as conn:
            row = conn.execute(select(Proxy.__table__).where(Proxy.__table__.c.id == proxy_id)).first()
        if row is None:
            raise ProxyError(f"no proxy with id {proxy_id} (see `xget proxies list`)")
        return _info(row)

    def url_for(self, proxy_id: int) -> str:
        """The proxy URL with its credentials, for the HTTP client only: never print or log it."""
        with read_only(self.engine) as conn:
            row = conn.execute(select(Proxy.__table__).where(Proxy.__table__.c.id == proxy_id)).first()
        if row is None:
            raise ProxyError(f"no proxy with id {proxy_id} (see `xget proxies list`)")
        return build_url(
            row.scheme,
            row.host,
            row.port,
            row.username or None,
            self.secrets.decrypt(row.password_enc),
            redact=False,
        )

    def remove(self, proxy_ids: Iterable[int]) -> int:
        ids = list(proxy_ids)
        with self.engine.begin() as conn:
            return conn.execute(delete(Proxy.__table__).where(Proxy.__table__.c.id.in_(ids))).rowcount

    # -- health ------------------------------------------------------------------------------------------

    def report(
        self,
        proxy_id: int,
        ok: bool,
        latency_ms: float | None = None,
        error: str | None = None,
        max_failures: int = DEFAULT_MAX_FAILURES,
    ) -> str:
        """Record the outcome of real traffic through a proxy (same statistics as a check); its new status."""
        return self._record(
            proxy_id, [Attempt(ok, latency_ms if ok else None, None if ok else error)], max_failures
        ).status

    def _record(
        self,
        proxy_id: int,
        attempts: Sequence[Attempt],
        max_failures: int,
        now: datetime | None = None,
        cadence: Cadence | None = None,
    ) -> CheckResult:
        """Store a check's (or real traffic's) attempts; with a ``cadence`` (checks), also its exit address
        and country and when the proxy is due again."""
        table = Proxy.__table__
        now = now or datetime.now(UTC)
        with self.engine.begin() as conn:
            stmt = select(table).where(table.c.id == proxy_id)
            if self.engine.dialect.name != "sqlite":  # SQLite: BEGIN IMMEDIATE already serialises writers
                stmt = stmt.with_for_update()
            row = conn.execute(stmt).first()
            if row is None:
                raise ProxyError(f"no proxy with id {proxy_id}")
            rate, in_a_row = row.success_rate, row.consecutive_failures or 0
            checks, failures = row.checks or 0, row.failures or 0
            for a in attempts:
                rate = float(a.ok) if rate is None else rate + EWMA_ALPHA * (float(a.ok) - rate)
                checks += 1
                failures += not a.ok
                in_a_row = 0 if a.ok else in_a_row + 1
            good = [a.latency_ms for a in attempts if a.ok and a.latency_ms is not None]
            latency = statistics.median(good) if good else row.latency_ms
            last_error = None if attempts[-1].ok else attempts[-1].error
            if in_a_row >= max_failures or (row.status == CHECKING and not any(a.ok for a in attempts)):
                status = INACTIVE  # an unverified proxy gets no benefit of the doubt
            elif any(a.ok for a in attempts):
                status = ACTIVE
            else:
                status = row.status
            exit_ = next((a for a in reversed(attempts) if a.ok), None)
            values = dict(
                success_rate=rate,
                consecutive_failures=in_a_row,
                checks=checks,
                failures=failures,
                latency_ms=latency,
                last_error=last_error,
                status=status,
                last_check_at=now,
                updated_at=now,
            )
            exit_country = row.exit_country
            if cadence is not None:
                failed_checks = 0 if exit_ else (row.failed_checks or 0) + 1
                values |= {
                    "failed_checks": failed_checks,
                    "next_check_at": now + timedelta(seconds=cadence.delay_s(failed_checks)),
                }
                if exit_ and exit_.exit_ip:
                    exit_country = country_of(exit_.exit_ip)
                    values |= {"exit_ip": exit_.exit_ip, "exit_country": exit_country}
            conn.execute(update(table).where(table.c.id == proxy_id).values(values))
        info = _info(row)
        if status != row.status:
            level = logging.WARNING if status == INACTIVE else logging.INFO
            log.log(
                level,
                "proxy %s: %s -> %s%s",
                info.url,
                row.status,
                status,
                f" ({last_error})" if status == INACTIVE and last_error else "",
            )
        return CheckResult(
            proxy_id=proxy_id,
            proxy=info.url,
            status=status,
            attempts=len(attempts),
            successes=sum(a.ok for a in attempts),
            latency_ms=statistics.median(good) if good else None,
            success_rate=rate,
            error=next((a.error for a in reversed(attempts) if not a.ok), None),
            exit_ip=exit_.exit_ip if exit_ else None,
            exit_port=exit_.exit_port if exit_ else None,
            exit_country=exit_country if exit_ and exit_.exit_ip else None,
            previous_status=row.status,
        )

    def check(
        self,
        proxy_ids: Iterable[int] | None = None,
        *,
        target_url: str,
        timeout_s: float = 5.0,
        attempts: int = 3,
        concurrency: int = 16,
        max_failures: int = DEFAULT_MAX_FAILURES,
        status: str | None = None,
        progress: Callable[[CheckResult], None] | None = None,
        now: datetime | None = None,
        cadence: Cadence | None = None,
        verify_target: bool = True,
    ) -> list[CheckResult]:
        """Check proxies (all, those of ``status``, or ``proxy_ids``) through each to ``target_url``.

        At most ``concurrency`` proxies at once, ``attempts`` sequential GETs each, every GET bounded by
        ``timeout_s``: a check of one proxy takes at most ``attempts * timeout_s`` plus a DB write (and one
        direct GET of the target first, with ``verify_target``: see the module doc; raises
        :class:`TargetUnreachable`). ``progress`` is called with each proxy's result as it is stored.
        Results are in ``proxy_ids`` order. ``now`` is the check's time (default: the clock) and ``cadence``
        sets when each proxy is due again.
        """
        coro = self.acheck(
            proxy_ids,
            target_url=target_url,
            timeout_s=timeout_s,
            attempts=attempts,
            concurrency=concurrency,
            max_failures=max_failures,
            status=status,
            progress=progress,
            now=now,
            cadence=cadence,
            verify_target=verify_target,
        )
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return asyncio.run(coro)
        with concurrent.futures.ThreadPoolExecutor(1) as pool:  # called from async code: own loop, own thread
            return pool.submit(asyncio.run, coro).result()

    async def acheck(
        self,
        proxy_ids: Iterable[int] | None = None,
        *,
        target_url: str,
        timeout_s: float = 5.0,
        attempts: int = 3,
        concurrency: int = 16,
        max_failures: int = DEFAULT_MAX_FAILURES,
        status: str | None = None,
        progress: Callable[[CheckResult], None] | None = None,
        now: datetime | None = None,
        cadence: Cadence | None = None,
        verify_target: bool = True,
    ) -> list[CheckResult]:
        if attempts < 1 or concurrency < 1 or max_failures < 1 or not timeout_s > 0:
            raise ProxyError("attempts, concurrency and max_failures must be at least 1, timeout_s positive")
        table = Proxy.__table__
        stmt = select(table).order_by(table.c.id)
        if proxy_ids is not None:
            wanted = list(dict.fromkeys(proxy_ids))
            stmt = stmt.where(table.c.id.in_(wanted))
        if status is not None:
            stmt = stmt.where(table.c.status == status.upper())
        with read_only(self.engine) as conn:
            rows = list(conn.execute(stmt))
        if proxy_ids is not None:
            missing = sorted(set(wanted) - {r.id for r in rows}) if status is None else []
            if missing:
                raise ProxyError(f"no proxy with id {', '.join(map(str, missing))} (see `xget proxies list`)")
            position = {pid: i for i, pid in enumerate(wanted)}
            rows.sort(key=lambda r: position[r.id])
        ssl_context = ssl.create_default_context()  # once: building one per client costs ~20 ms of CPU
        gate = asyncio.Semaphore(concurrency)

        passwords = {r.id: self.secrets.decrypt(r.password_enc) for r in rows}  # a wrong key fails up front
        cadence = cadence or Cadence()
        direct = None
        if verify_target and rows:
            direct = await _attempt(None, target_url, timeout_s, ssl_context, ())

        async def attempts_of(row) -> list[Attempt]:
            password = passwords[row.id]
            url = build_url(row.scheme, row.host, row.port, row.username or None, password, redact=False)
            async with gate:
                return [
                    await _attempt(url, target_url, timeout_s, ssl_context, (password,))
                    for _ in range(attempts)
                ]

        async def store(row, tries: list[Attempt]) -> CheckResult:
            result = await asyncio.to_thread(self._record, row.id, tries, max_failures, now, cadence)
            if progress:
                progress(result)
            return result

        async def one(row) -> CheckResult:
            return await store(row, await attempts_of(row))

        if direct is None or direct.ok:  # the target is up: each proxy's result is its own
            return list(await asyncio.gather(*(one(r) for r in rows)))
        # The target failed directly: store nothing until some proxy shows the target answers at all.
        tried = await asyncio.gather(*(attempts_of(r) for r in rows))
        if not any(a.ok for tries in tried for a in tries):
            log.warning(
                "proxy check: target %s unreachable directly and through %d proxies; nothing marked",
                redact_urls(target_url),
                len(rows),
            )
            raise TargetUnreachable(redact_urls(target_url), direct.error, len(rows))
        return [await store(r, tries) for r, tries in zip(rows, tried, strict=True)]


async def _attempt(
    proxy_url: str | None,
    target: str,
    timeout_s: float,
    ssl_context: ssl.SSLContext,
    secrets: tuple[str | None, ...],
) -> Attempt:
    """One GET of ``target`` through the proxy (None: directly) on a fresh connection; never raises, never
    leaks secrets."""
    import httpx

    started = time.perf_counter()
    try:
        async with asyncio.timeout(timeout_s):
            async with httpx.AsyncClient(
                proxy=proxy_url,
                timeout=timeout_s,
                verify=ssl_context,
                trust_env=False,
                follow_redirects=False,
            ) as client:
                response = await client.get(target, headers={"Cache-Control": "no-cache"})
                await response.aread()
    except TimeoutError:
        return Attempt(False, error=f"timed out after {timeout_s:g} s")
    except httpx.TimeoutException as exc:
        return Attempt(False, error=f"timed out after {timeout_s:g} s ({type(exc).__name__})")
    except httpx.ProxyError as exc:
        return Attempt(False, error=f"proxy refused: {scrub(str(exc) or type(exc).__name__, secrets)}")
    except Exception as exc:  # noqa: BLE001 - any failure of the path is the proxy's result, not a crash
        detail = scrub(str(exc), secrets) or "no detail"
        return Attempt(False, error=f"{type(exc).__name__}: {detail}"[:500])
    elapsed_ms = (time.perf_counter() - started) * 1000
    if response.status_code == 407:
        return Attempt(False, error="proxy refused the credentials (HTTP 407)")
    if response.status_code >= 400:
        return Attempt(False, error=f"HTTP {response.status_code} from the target through the proxy")
    exit_ip = exit_port = None
    if "json" in response.headers.get("content-type", ""):
        try:
            body = response.json()
            if isinstance(body, dict):
                seen = body.get("ip", body.get("origin"))  # whoami / ipify: ip; httpbin: origin
                exit_ip = str(seen).split(",")[0].strip()[:45] if seen is not None else None
                exit_port = int(body["port"]) if isinstance(body.get("port"), int) else None
        except ValueError:
            pass
    return Attempt(True, latency_ms=elapsed_ms, exit_ip=exit_ip, exit_port=exit_port)
