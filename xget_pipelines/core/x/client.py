"""The X client: one GraphQL page at a time, through leased accounts, never losing a served page.

It is twscrape-based: operation ids (``twscrape.api.OP_*``), feature flags (``GQL_FEATURES``) and the
web client's bearer token come from twscrape, so XGet asks X exactly what twscrape asks. The request
loop is XGet's own, because twscrape's drops the page that arrives with ``x-rate-limit-remaining: 0``,
leaves suspended accounts active and can wait forever on 5xx. Here:

- every 200 response is returned to the caller (who stores it raw before parsing), including the one
  that spends the last request of a window, and malformed bodies;
- 429 parks the account until its reset; codes 64/326/32 (and a 401/403 without a known code) take
  the account out with the reason;
- 5xx, timeouts and transport errors are retried with capped exponential backoff, a bounded number of
  times, then ``XRequestError``; other 4xx fail at once (retrying a wrong request cannot help);
- waiting for an account is bounded by a deadline (``NoAccountAvailable`` says when one frees up);
- a circuit breaker per operation (``breaker.py``) stops asking while X keeps failing it.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timezone

import httpx
import orjson

os.environ.setdefault("TWS_TELEMETRY", "0")  # twscrape must never phone home from XGet
from twscrape import api as tws_api  # noqa: E402
from twscrape.account import TOKEN  # noqa: E402

from xget_pipelines.core.errors import XRequestError  # noqa: E402
from xget_pipelines.core.pools.lease import AccountLease, AccountPool  # noqa: E402
from xget_pipelines.core.x.breaker import CircuitBreaker  # noqa: E402
from xget_pipelines.core.x.cursors import PageSummary, summarize_page  # noqa: E402
from xget_pipelines.logs import lease_context
from xget_pipelines.tracing import record_x_response, x_request_span

log = logging.getLogger(__name__)

DEFAULT_USER_AGENT = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36"
)
# X error codes that mean the account itself is refused; it leaves the pool with the reason.
ACCOUNT_FAULTS = {64: "suspended", 326: "locked", 32: "bad auth"}
FALLBACK_WINDOW_S = 900.0  # X's window, used when a 429 arrives without headers


def query_id(operation: str) -> str:
    """``<queryId>/<Operation>`` as twscrape knows it."""
    op = getattr(tws_api, f"OP_{operation}", None)
    if op is None:
        raise ValueError(f"unknown X operation {operation!r}; twscrape {tws_api.__name__} has no OP_{operation}")
    return op


@dataclass
class FetchedPage:
    """One response body exactly as X served it, with what is needed to store and resume it."""

    operation: str
    variables: dict
    cursor_in: str | None
    status: int
    account: str
    fetched_at: datetime
    body: bytes
    summary: PageSummary
    rate_remaining: int | None = None

    @property
    def cursor_out(self) -> str | None:
        return self.summary.cursor_bottom

    @property
    def malformed(self) -> bool:
        return self.summary.malformed


class XClient:
    """Fetches X GraphQL pages through an ``AccountPool``. Not thread-safe: one per worker."""

    def __init__(
        self,
        graphql_url: str,
        pool: AccountPool,
        *,
        timeout_s: float = 20.0,
        lease_deadline_s: float = 120.0,
        max_attempts: int = 5,
        backoff_base_s: float = 0.5,
        backoff_max_s: float = 30.0,
        transport: httpx.BaseTransport | None = None,
        breaker: CircuitBreaker | None = None,
        soft_ban_threshold: int = 3,
        quarantine_s: float = 3600.0,
        account: str | None = None,
    ):
        self.graphql_url = graphql_url.rstrip("/")
        self.pool = pool
        self.lease_deadline_s = lease_deadline_s
        self.max_attempts = max_attempts
        self.backoff_base_s = backoff_base_s
        self.backoff_max_s = backoff_max_s
        # One breaker per client (a Dagster step runs one client in its own process); share one by passing it.
        self.breaker = breaker or CircuitBreaker()
        self.account = account  # use only this account (checks); None: any from the pool
        self.soft_ban_threshold = soft_ban_threshold
        self.quarantine_s = quarantine_s
        self._timeout_s, self._transport = timeout_s, transport
        self._clients: dict[str | None, httpx.Client] = {}  # one connection pool per proxy (None: direct)
        self._leases: dict[str, AccountLease] = {}
        # Proxies this client saw fail; the next answer through one resets its failures-in-a-row, so
        # scattered errors over a long run never add up to taking a working proxy out.
        self._failed_proxies: set[int] = set()
        self.stats = {"pages": 0, "rate_limited": 0, "retries": 0, "accounts_lost": 0, "accounts_quarantined": 0,
                      "proxy_failures": 0}

    # -- lifecycle ------------------------------------------------------------------------------------

    def close(self) -> None:
        for lease in self._leases.values():
            self.pool.release(lease)
        self._leases.clear()
        for http in self._clients.values():
            http.close()
        self._clients.clear()

    def __enter__(self) -> XClient:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- leases ---------------------------------------------------------------------------------------

    def _lease_for(self, operation: str) -> AccountLease:
        lease = self._leases.get(operation)
        if lease is not None and lease.exhausted:
            self._return(operation)
            lease = None
        if lease is None:
            lease = self.pool.lease(operation, self.lease_deadline_s, username=self.account)
            self._leases[operation] = lease
        return lease

    def _return(self, operation: str) -> None:
        lease = self._leases.pop(operation, None)
        if lease is not None:
            self.pool.release(lease)

    # -- requests -------------------------------------------------------------------------------------

    def _request(self, lease: AccountLease, operation: str, variables: dict) -> httpx.Response:
        params = {
            "variables": orjson.dumps(variables).decode(),
            "features": orjson.dumps(tws_api.GQL_FEATURES).decode(),
        }
        if operation in ("SearchTimeline", "ListLatestTweetsTimeline"):
            params["fieldToggles"] = '{"withArticleRichContentState":false}'
        cookies = lease.cookies
        headers = {
            "authorization": TOKEN,
            "user-agent": lease.user_agent or DEFAULT_USER_AGENT,
            "x-twitter-active-user": "yes",
            "x-twitter-client-language": "en",
            "x-twitter-auth-type": "OAuth2Session",
            "x-csrf-token": cookies.get("ct0", ""),
            "cookie": "; ".join(f"{k}={v}" for k, v in cookies.items()),
        }
        with x_request_span(operation, lease.account_id, lease.proxy_id) as span:
            rep = self._http_for(lease.proxy_url).get(f"{self.graphql_url}/{query_id(operation)}", params=params,
                                                      headers=headers)
            record_x_response(span, rep.status_code, rep.headers)
        return rep

    def _http_for(self, proxy_url: str | None) -> httpx.Client:
        # httpx ignores a custom ``transport`` once a proxy is set: the transport argument is for tests
        # and benchmarks without proxies; a bound proxy always gets httpx's own proxy transport.
        http = self._clients.get(proxy_url)
        if http is None:
            transport = None if proxy_url else self._transport
            http = httpx.Client(timeout=self._timeout_s, transport=transport, proxy=proxy_url)
            self._clients[proxy_url] = http
        return http

    def _proxy_failed(self, lease: AccountLease, error: str) -> bool:
        """A transport error (or a 407) through a bound proxy counts against the proxy, not against X. Once
        the proxy is out, the account is returned so its next lease rebinds it (after its windows end), and
        True is returned: the retry goes out through another account at once, with no backoff."""
        from xget_pipelines.core.pools.proxies import ProxyPool

        self._failed_proxies.add(lease.proxy_id)
        status = ProxyPool(self.pool.engine, secrets=self.pool.secrets).report(
            lease.proxy_id, ok=False, error=error)
        self.stats["proxy_failures"] += 1
        if status != "ACTIVE":
            log.warning("proxy %s is %s; account %s will be rebound", lease.proxy_id, status, lease.username,
                        extra=lease_context(lease))
            self._return(lease.operation)
            return True
        return False

    def _backoff(self, attempt: int) -> None:
        self.stats["retries"] += 1
        time.sleep(min(self.backoff_base_s * 2 ** (attempt - 1), self.backoff_max_s))

    def fetch(self, operation: str, variables: dict) -> FetchedPage:
        """Fetch one page, rotating accounts on rate limits and refusals, retrying transient errors."""
        failures = 0
        last_error = ""
        while True:
            lease = self._lease_for(operation)
            self.breaker.before_request(operation)  # raises CircuitOpen while X is failing this operation
            sent_at = time.time()
            try:
                rep = self._request(lease, operation, variables)
            except httpx.TransportError as exc:  # timeouts, resets, refused connections
                lease.errors += 1
                proxy_out = False
                if lease.proxy_id is not None:
                    proxy_out = self._proxy_failed(lease, type(exc).__name__)
                else:
                    self.breaker.failure(operation)
                failures += 1
                last_error = f"{type(exc).__name__}: {exc}"
                if failures >= self.max_attempts:
                    raise XRequestError(operation, last_error, failures) from exc
                if not proxy_out:
                    self._backoff(failures)
                continue

            if rep.status_code == 407:  # the proxy refused our credentials: X never saw the request
                lease.errors += 1
                last_error = (f"proxy {lease.proxy_id} refused its credentials (HTTP 407): fix the proxy's user "
                              "and password and re-import it (xget proxies import)")
                proxy_out = lease.proxy_id is not None and self._proxy_failed(
                    lease, "HTTP 407 proxy authentication required")
                failures += 1
                if failures >= self.max_attempts:
                    raise XRequestError(operation, last_error, failures, advice=None)
                if not proxy_out:
                    self._backoff(failures)
                continue

            if lease.proxy_id in self._failed_proxies:  # the proxy carried a request again
                from xget_pipelines.core.pools.proxies import ProxyPool

                self._failed_proxies.discard(lease.proxy_id)
                ProxyPool(self.pool.engine, secrets=self.pool.secrets).report(
                    lease.proxy_id, ok=True, latency_ms=(time.time() - sent_at) * 1000)
            lease.record(rep.headers, sent_at=sent_at, received_at=time.time())
            status = rep.status_code
            if status >= 500:
                self.breaker.failure(operation)
                lease.errors += 1
            else:
                self.breaker.success(operation)  # X answered: it is up, whatever it said
            if status == 200:
                self.stats["pages"] += 1
                lease.successes += 1
                lease.soft_bans = 0
                page = FetchedPage(
                    operation=operation, variables=variables, cursor_in=variables.get("cursor"),
                    status=status, account=lease.username, fetched_at=datetime.now(timezone.utc),
                    body=rep.content, summary=summarize_page(rep.content), rate_remaining=lease.remaining,
                )
                if lease.exhausted:
                    self._return(operation)  # the page is kept; the account rests until its reset
                return page

            codes = _error_codes(rep.content)
            refused = next((c for c in codes if c in ACCOUNT_FAULTS), None)
            if refused is not None:
                reason = f"{ACCOUNT_FAULTS[refused]} (X code {refused})"
                log.warning("account %s refused by X for %s: %s", lease.username, operation, reason,
                            extra=lease_context(lease))
                self._leases.pop(operation, None)
                lease.errors += 1
                self.pool.mark_inactive(lease.account_id, reason)
                self.pool.release(lease)
                self.stats["accounts_lost"] += 1
                continue
            if status == 429:
                self.stats["rate_limited"] += 1
                lease.window_started_at = None  # X refused: trust only its reset header from here on
                if not lease.exhausted or lease.reset_at is None:
                    # 429 while X says requests remain (or says nothing): a soft ban or a missing
                    # header. Rest the account for a full window rather than hammering it; after
                    # `soft_ban_threshold` in a row, quarantine it for every operation.
                    lease.soft_bans += 1
                    lease.remaining = 0
                    lease.reset_at = time.time() + FALLBACK_WINDOW_S
                    if lease.soft_bans >= self.soft_ban_threshold:
                        self._leases.pop(operation, None)
                        until = self.pool.quarantine(
                            lease, f"soft-banned: {lease.soft_bans} 429s in a row while X said requests remained",
                            base_s=self.quarantine_s)
                        log.warning("account %s quarantined until %s (soft ban on %s)", lease.username,
                                    datetime.fromtimestamp(until, timezone.utc).isoformat(), operation,
                                    extra=lease_context(lease))
                        self.stats["accounts_quarantined"] += 1
                        continue
                    log.warning("account %s got 429 while X said requests remained (%d in a row) on %s; "
                                "resting it for a window", lease.username, lease.soft_bans, operation,
                                extra=lease_context(lease))
                self._return(operation)
                continue
            if status in (401, 403):
                # Refused without a code we know: the session is gone or the account blocked.
                reason = f"refused with HTTP {status} (no known X error code)"
                log.warning("account %s %s on %s", lease.username, reason, operation, extra=lease_context(lease))
                self._leases.pop(operation, None)
                self.pool.mark_inactive(lease.account_id, reason)
                self.pool.release(lease)
                self.stats["accounts_lost"] += 1
                continue
            last_error = f"HTTP {status} {rep.content[:200]!r}"
            if status < 500:  # the request itself is wrong (bad variables, unknown operation): no retry
                raise XRequestError(operation, last_error, failures + 1)
            failures += 1
            if failures >= self.max_attempts:
                raise XRequestError(operation, last_error, failures)
            self._backoff(failures)

    def paginate(
        self,
        operation: str,
        variables: dict,
        *,
        cursor: str | None = None,
        max_pages: int = 50,
        keep_going: Callable[[FetchedPage], bool] | None = None,
        max_malformed_retries: int = 2,
    ) -> Iterator[FetchedPage]:
        """Yield pages until the timeline ends, ``max_pages`` is reached or ``keep_going`` says stop.

        Starts from ``cursor`` (a resume). The end is a page with no cursor, a cursor equal to the one
        sent, or two content-free pages in a row. A malformed page is yielded (it is stored raw), then
        the same cursor is asked again a bounded number of times.
        """
        pages = empty = malformed = 0
        while pages < max_pages:
            vars_ = dict(variables)
            if cursor is not None:
                vars_["cursor"] = cursor
            page = self.fetch(operation, vars_)
            pages += 1
            yield page
            if page.malformed:
                malformed += 1
                if malformed > max_malformed_retries:
                    return
                continue
            malformed = 0
            nxt = page.cursor_out
            empty = empty + 1 if page.summary.content_entries == 0 else 0
            if nxt is None or nxt == cursor or empty >= 2:
                return
            if keep_going is not None and not keep_going(page):
                return
            cursor = nxt


def _error_codes(body: bytes) -> list[int]:
    try:
        doc = orjson.loads(body)
    except orjson.JSONDecodeError:
        return []
    errors = doc.get("errors") if isinstance(doc, dict) else None
    return [e.get("code") for e in errors or [] if isinstance(e, dict)]
