"""The X client: one GraphQL page at a time, through leased accounts, as X's web client sends it.

What goes out is what X's web client sends (``browser.py``): the web bearer, the account's cookies and a
matching ``x-csrf-token``, one user agent per account with its client hints, and an
``x-client-transaction-id`` made from the account's own page load (``transaction.py``), with the query id
and feature switches X's current bundles name (``operations.py``). The request loop is XGet's own,
because twscrape's drops the page that arrives with ``x-rate-limit-remaining: 0``, leaves suspended
accounts active and can wait forever on 5xx. Here:

- every 200 response is returned to the caller (who stores it raw before parsing), including the one
  that spends the last request of a window, and malformed bodies;
- 429 parks the account until its reset; codes 64/326/32 (and a 401/403 without a known code) take
  the account out with the reason; a 403 code 353 with a fresh ``ct0`` adopts it and retries once;
  cookies X rotates with ``Set-Cookie`` are stored back into the pool, encrypted;
- 404 with an empty body is how X refuses a stale query id or transaction id: the request is retried
  with a freshly made transaction id (and whatever another worker found meanwhile), then after a fresh
  look at X's bundles, then it fails naming what was tried; 400 code 336 (a feature switch X now
  requires) gets one fresh look too;
- 5xx, timeouts and transport errors are retried with capped exponential backoff, a bounded number of
  times, then ``XRequestError``; other 4xx fail at once (retrying a wrong request cannot help);
- waiting for an account is bounded by a deadline (``NoAccountAvailable`` says when one frees up);
- a circuit breaker per operation (``breaker.py``) stops asking while X keeps failing it.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.cookies import SimpleCookie

import httpx
import orjson

from xget_pipelines.core.errors import XRequestError
from xget_pipelines.core.pools.account_lease import AccountLease
from xget_pipelines.core.pools.account_pool import AccountPool
from xget_pipelines.core.pools.proxies import ProxyPool
from xget_pipelines.core.x.breaker import CircuitBreaker
from xget_pipelines.core.x.browser import api_headers, user_agent_for
from xget_pipelines.core.x.cursors import PageSummary, summarize_page
from xget_pipelines.core.x.operations import Discovery, Operation, OperationCatalog, discover
from xget_pipelines.core.x.pagination import Pagination
from xget_pipelines.core.x.transaction import TransactionIds, TransactionIdUnavailable
from xget_pipelines.core.x.web import HttpStatusError, WebClient, XWeb, run
from xget_pipelines.logs import lease_context
from xget_pipelines.tracing import record_x_response, x_request_span

log = logging.getLogger(__name__)

# X error codes that mean the account itself is refused; it leaves the pool with the reason.
ACCOUNT_FAULTS = {64: "suspended", 326: "locked", 32: "bad auth"}
# What each refusal means to account upkeep (``core/pools/account_upkeep.py``): a session X no longer knows is
# renewed by logging in again; a suspended or locked account is only re-checked, rarely.
FAULT_CAUSES = {64: "suspended", 326: "locked", 32: "session"}
CSRF_MISMATCH = 353
FEATURES_MISSING = 336
FALLBACK_WINDOW_S = 900.0  # X's window, used when a 429 arrives without headers
SESSION_COOKIES = ("ct0", "auth_token")


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
    rate_limit: int | None = None  # the account's window for the operation, as X reported it
    rate_reset_at: float | None = None

    @property
    def cursor_out(self) -> str | None:
        return self.summary.cursor_bottom

    @property
    def malformed(self) -> bool:
        return self.summary.malformed


@dataclass
class _Attempt:
    """What one ``fetch`` has been through so far."""

    operation: str
    failures: int = 0
    last_error: str = ""
    refusals_404: int = 0  # 404s with an empty body (stale transaction id or query id)
    looked_again: bool = False  # X's bundles were read again for this request
    csrf_retried: bool = False
    tried: list[str] = field(default_factory=list)  # what was done about contract refusals, for the error
    transaction_problem: str | None = None


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
        web: XWeb | None = None,
        catalog: OperationCatalog | None = None,
        transactions: TransactionIds | None = None,
        send_transaction_id: bool = True,
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
        self.web = web or XWeb.for_graphql_url(graphql_url)
        self.catalog = catalog or OperationCatalog(pool.engine)
        self.transactions = transactions or TransactionIds.shared(self.web)
        self.send_transaction_id = send_transaction_id  # off only to show what X does without it
        self._timeout_s, self._transport = timeout_s, transport
        self._clients: dict[str | None, httpx.Client] = {}  # one connection pool per proxy (None: direct)
        self._leases: dict[str, AccountLease] = {}
        # Proxies this client saw fail; the next answer through one resets its failures-in-a-row, so
        # scattered errors over a long run never add up to taking a working proxy out.
        self._failed_proxies: set[int] = set()
        self.stats = {
            "pages": 0,
            "rate_limited": 0,
            "retries": 0,
            "accounts_lost": 0,
            "accounts_quarantined": 0,
            "proxy_failures": 0,
            "refused_404": 0,
            "transaction_reloads": 0,
            "operation_refreshes": 0,
            "cookies_rotated": 0,
        }

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

    def _take_out(self, lease: AccountLease, reason: str, cause: str = "session") -> None:
        """The account is refused by X: out of the pool with the reason; the next lease is another one."""
        log.warning(
            "account %s refused by X for %s: %s",
            lease.username,
            lease.operation,
            reason,
            extra=lease_context(lease),
        )
        self._leases.pop(lease.operation, None)
        lease.errors += 1
        self.pool.mark_inactive(lease.account_id, reason, cause)
        self.pool.release(lease)
        self.transactions.forget(lease.account_id)
        self.stats["accounts_lost"] += 1

    # -- the account's browser ------------------------------------------------------------------------

    def user_agent(self, lease: AccountLease) -> str:
        """The account's browser: its stored user agent, or one picked now and stored for good."""
        if not lease.user_agent:
            lease.user_agent = user_agent_for(lease.username)
            self.pool.set_user_agent(lease.account_id, lease.user_agent)
        return lease.user_agent

    def _transaction_id(self, lease: AccountLease, url: str, attempt: _Attempt) -> str | None:
        if not self.send_transaction_id:
            return None
        try:
            return self.transactions.header(
                lease.account_id,
                lease.username,
                lease.cookies,
                proxy_url=lease.proxy_url,
                user_agent=self.user_agent(lease),
                method="GET",
                url=url,
            )
        except TransactionIdUnavailable as exc:
            if exc.signed_out:
                raise
            if attempt.transaction_problem is None:
                log.warning(
                    "%s: sending without x-client-transaction-id: %s",
                    attempt.operation,
                    exc,
                    extra=lease_context(lease),
                )
            attempt.transaction_problem = exc.reason  # sent without: operations X does not gate still work
            return None

    def _keep_cookies(self, lease: AccountLease, rep: httpx.Response) -> bool:
        """Store session cookies X rotated with ``Set-Cookie``; True when one changed."""
        jar = SimpleCookie()
        for value in rep.headers.get_list("set-cookie"):
            try:
                jar.load(value)
            except Exception:  # noqa: BLE001 - a cookie Python cannot parse is not one of X's session cookies
                continue
        changed = {
            name: jar[name].value
            for name in SESSION_COOKIES
            if name in jar and jar[name].value and jar[name].value != lease.cookies.get(name)
        }
        if not changed:
            return False
        lease.cookies.update(changed)
        self.pool.store_cookies(lease.account_id, lease.cookies)
        self.stats["cookies_rotated"] += 1
        log.info(
            "account %s: X rotated %s; stored",
            lease.username,
            ", ".join(sorted(changed)),
            extra=lease_context(lease),
        )
        return True

    def look_at_x(self, lease: AccountLease) -> Discovery:
        """Read X's web bundles as this account's browser would (``operations.discover``)."""
        self.stats["operation_refreshes"] += 1

        async def go() -> Discovery:
            async with WebClient(
                self.web,
                proxy_url=lease.proxy_url,
                cookies=lease.cookies,
                user_agent=self.user_agent(lease),
                timeout_s=self._timeout_s,
            ) as client:
                return await discover(client, self.web.web_url)

        return run(go())

    def prepare_sessions(self, operation: str, usernames: list[str]) -> int:
        """Load each account's web app now (its transaction-id generator), as a worker that has been running
        a while already has: the first request of each account then pays no page load. Accounts that cannot
        be leased right away are skipped (their first request loads it). Returns the page loads made."""
        before = self.transactions.page_loads
        for name in usernames:
            lease = self.pool.try_lease(operation, name)
            if lease is None:
                continue
            try:
                self.transactions.generator(
                    lease.account_id,
                    lease.username,
                    lease.cookies,
                    proxy_url=lease.proxy_url,
                    user_agent=self.user_agent(lease),
                )
            except TransactionIdUnavailable as exc:
                if exc.signed_out:
                    self._take_out(lease, exc.reason)
                    continue
            self.pool.release(lease)
        return self.transactions.page_loads - before

    def refresh_operations(self, known: tuple[str, ...] = ()):
        """Read X's bundles now through any free account and keep what they name (``RefreshReport``)."""
        lease = self.pool.lease("UserByScreenName", self.lease_deadline_s, username=self.account)
        try:
            return self.catalog.store(self.look_at_x(lease), known)
        finally:
            self.pool.release(lease)

    # -- requests -------------------------------------------------------------------------------------

    def _request(
        self, lease: AccountLease, op: Operation, variables: dict, attempt: _Attempt
    ) -> httpx.Response:
        url = f"{self.graphql_url}/{op.path}"
        headers = api_headers(
            self.user_agent(lease),
            lease.cookies,
            self._transaction_id(lease, url, attempt),
            web_url=self.web.web_url,
        )
        with x_request_span(op.name, lease.account_id, lease.proxy_id) as span:
            http = self._http_for(lease.proxy_url)
            rep = http.get(url, params=op.params(variables), headers=headers)
            http.cookies.clear()  # the client is shared by accounts: cookies go by hand, per account
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
        self._failed_proxies.add(lease.proxy_id)
        status = ProxyPool(self.pool.engine, secrets=self.pool.secrets).report(
            lease.proxy_id, ok=False, error=error
        )
        self.stats["proxy_failures"] += 1
        if status != "ACTIVE":
            log.warning(
                "proxy %s is %s; account %s will be rebound",
                lease.proxy_id,
                status,
                lease.username,
                extra=lease_context(lease),
            )
            self._return(lease.operation)
            return True
        return False

    def _proxy_answered(self, lease: AccountLease, sent_at: float) -> None:
        if lease.proxy_id in self._failed_proxies:  # the proxy carried a request again
            self._failed_proxies.discard(lease.proxy_id)
            ProxyPool(self.pool.engine, secrets=self.pool.secrets).report(
                lease.proxy_id, ok=True, latency_ms=(time.time() - sent_at) * 1000
            )

    def _backoff(self, attempt: int) -> None:
        self.stats["retries"] += 1
        time.sleep(min(self.backoff_base_s * 2 ** (attempt - 1), self.backoff_max_s))

    def _transient(
        self,
        lease: AccountLease,
        attempt: _Attempt,
        error: str,
        *,
        proxy_error: str | None = None,
        advice: str | None = "X may be degraded; retry the run later.",
    ) -> None:
        """A failure worth retrying (transport, 407, 5xx): count it, back off unless the proxy was swapped."""
        lease.errors += 1
        proxy_out = False
        if proxy_error is not None and lease.proxy_id is not None:
            proxy_out = self._proxy_failed(lease, proxy_error)
        elif proxy_error is not None:
            self.breaker.failure(attempt.operation)
        attempt.failures += 1
        attempt.last_error = error
        if attempt.failures >= self.max_attempts:
            raise XRequestError(attempt.operation, error, attempt.failures, advice=advice)
        if not proxy_out:
            self._backoff(attempt.failures)

    def fetch(self, operation: str, variables: dict) -> FetchedPage:
        """Fetch one page, rotating accounts on rate limits and refusals, retrying transient errors."""
        attempt = _Attempt(operation)
        while True:
            lease = self._lease_for(operation)
            self.breaker.before_request(operation)  # raises CircuitOpen while X is failing this operation
            op = self.catalog.get(operation)
            sent_at = time.time()
            try:
                rep = self._request(lease, op, variables, attempt)
            except httpx.TransportError as exc:  # timeouts, resets, refused connections
                self._transient(
                    lease, attempt, f"{type(exc).__name__}: {exc}", proxy_error=type(exc).__name__
                )
                continue
            except TransactionIdUnavailable as exc:  # X showed the account the signed-out app
                self._take_out(lease, exc.reason)
                continue
            if rep.status_code == 407:  # the proxy refused our credentials: X never saw the request
                self._transient(
                    lease,
                    attempt,
                    f"proxy {lease.proxy_id} refused its credentials (HTTP 407): fix "
                    "the proxy's user and password and re-import it (xget proxies import)",
                    proxy_error="HTTP 407 proxy authentication required",
                    advice=None,
                )
                continue
            page = self._answered(lease, op, variables, rep, sent_at, attempt)
            if page is not None:
                return page

    def _answered(
        self,
        lease: AccountLease,
        op: Operation,
        variables: dict,
        rep: httpx.Response,
        sent_at: float,
        attempt: _Attempt,
    ) -> FetchedPage | None:
        """X answered: the page, or None after dealing with the answer (the caller tries again)."""
        self._proxy_answered(lease, sent_at)
        lease.record(rep.headers, sent_at=sent_at, received_at=time.time())
        rotated = self._keep_cookies(lease, rep)
        status = rep.status_code
        if status >= 500:
            self.breaker.failure(op.name)
            self._transient(lease, attempt, f"HTTP {status} {rep.content[:200]!r}")
            return None
        self.breaker.success(op.name)  # X answered: it is up, whatever it said
        if status == 200:
            return self._page(lease, op.name, variables, rep)
        codes = _error_codes(rep.content)
        refused = next((c for c in codes if c in ACCOUNT_FAULTS), None)
        if refused is not None:
            self._take_out(lease, f"{ACCOUNT_FAULTS[refused]} (X code {refused})", FAULT_CAUSES[refused])
        elif status == 429:
            self._rate_limited(lease, op.name)
        elif CSRF_MISMATCH in codes:
            self._csrf_refused(lease, attempt, rotated)
        elif status == 404 and not rep.content.strip():
            self._refused_404(lease, op, attempt)
        elif status == 400 and FEATURES_MISSING in codes:
            self._features_refused(lease, op, attempt, rep)
        elif status in (
            401,
            403,
        ):  # refused without a code we know: the session is gone or the account blocked
            self._take_out(
                lease,
                f"refused with HTTP {status} (no known X error code)",
                "session" if status == 401 else "refused",
            )
        else:  # the request itself is wrong (bad variables, unknown operation): no retry
            raise XRequestError(op.name, f"HTTP {status} {rep.content[:200]!r}", attempt.failures + 1)
        return None

    def _page(self, lease: AccountLease, operation: str, variables: dict, rep: httpx.Response) -> FetchedPage:
        self.stats["pages"] += 1
        lease.successes += 1
        lease.soft_bans = 0
        page = FetchedPage(
            operation=operation,
            variables=variables,
            cursor_in=variables.get("cursor"),
            status=rep.status_code,
            account=lease.username,
            fetched_at=datetime.now(UTC),
            body=rep.content,
            summary=summarize_page(rep.content),
            rate_remaining=lease.remaining,
            rate_limit=lease.limit,
            rate_reset_at=lease.reset_at,
        )
        if lease.exhausted:
            self._return(operation)  # the page is kept; the account rests until its reset
        return page

    def _rate_limited(self, lease: AccountLease, operation: str) -> None:
        self.stats["rate_limited"] += 1
        lease.window_started_at = None  # X refused: trust only its reset header from here on
        if not lease.exhausted or lease.reset_at is None:
            # 429 while X says requests remain (or says nothing): a soft ban or a missing header. Rest the
            # account for a full window rather than hammering it; after `soft_ban_threshold` in a row,
            # quarantine it for every operation.
            lease.soft_bans += 1
            lease.remaining = 0
            lease.reset_at = time.time() + FALLBACK_WINDOW_S
            if lease.soft_bans >= self.soft_ban_threshold:
                self._leases.pop(operation, None)
                until = self.pool.quarantine(
                    lease,
                    f"soft-banned: {lease.soft_bans} 429s in a row while X said requests remained",
                    base_s=self.quarantine_s,
                )
                log.warning(
                    "account %s quarantined until %s (soft ban on %s)",
                    lease.username,
                    datetime.fromtimestamp(until, UTC).isoformat(),
                    operation,
                    extra=lease_context(lease),
                )
                self.stats["accounts_quarantined"] += 1
                return
            log.warning(
                "account %s got 429 while X said requests remained (%d in a row) on %s; "
                "resting it for a window",
                lease.username,
                lease.soft_bans,
                operation,
                extra=lease_context(lease),
            )
        self._return(operation)

    def _csrf_refused(self, lease: AccountLease, attempt: _Attempt, rotated: bool) -> None:
        """403 code 353: X's ``ct0`` is not the one sent. With a fresh one in Set-Cookie (stored above), try
        once more; otherwise, or if that fails too, the session is gone."""
        if rotated and not attempt.csrf_retried:
            attempt.csrf_retried = True
            return
        self._take_out(
            lease, f"csrf token refused (X code {CSRF_MISMATCH}): log in again or import fresh cookies"
        )

    def _refused_404(self, lease: AccountLease, op: Operation, attempt: _Attempt) -> None:
        """404 with an empty body: X refused the transaction id or the query id. First a new transaction
        id (and another worker's newer query id, if any), then a fresh look at X's bundles, then give up."""
        attempt.refusals_404 += 1
        self.stats["refused_404"] += 1
        if attempt.refusals_404 == 1:
            self.transactions.forget(lease.account_id)
            self.stats["transaction_reloads"] += 1
            self.catalog.reload()
            attempt.tried.append("a transaction id from a fresh page load")
            return
        if not attempt.looked_again:
            attempt.looked_again = True
            tried = len(attempt.tried)
            newer = self._recover(lease, op, attempt)
            if newer is not None:
                attempt.tried.append(f"query id {newer.query_id} from {newer.source}")
                log.warning(
                    "%s: query id %s refused by X; X's bundles now name %s",
                    op.name,
                    op.query_id,
                    newer.query_id,
                    extra=lease_context(lease),
                )
                return
            if len(attempt.tried) == tried:
                attempt.tried.append(f"a fresh look at X's web bundles (they still name {op.query_id})")
        why = (
            f"; no transaction id could be made ({attempt.transaction_problem})"
            if attempt.transaction_problem
            else ""
        )
        raise XRequestError(
            op.name,
            f"X answered 404 with an empty body to query id {op.query_id} after "
            f"{', then '.join(attempt.tried) or 'a retry'}{why}",
            attempt.refusals_404,
            advice="X refuses this request's transaction id or query id. Run `xget x doctor` to see which; "
            "`xget x ops --refresh` reads X's bundles again; if X changed how its web client signs "
            "requests, upgrade twscrape (its xclid module reads X's page).",
        )

    def _recover(
        self, lease: AccountLease, op: Operation, attempt: _Attempt, features: bool = False
    ) -> Operation | None:
        try:
            return self.catalog.recover(op, lambda: self.look_at_x(lease), features=features)
        except (httpx.HTTPError, LookupError, HttpStatusError) as exc:
            attempt.tried.append(f"a look at X's web bundles, which failed ({type(exc).__name__}: {exc})")
            return None

    def _features_refused(
        self, lease: AccountLease, op: Operation, attempt: _Attempt, rep: httpx.Response
    ) -> None:
        message = next(
            (e.get("message", "") for e in _errors(rep.content) if e.get("code") == FEATURES_MISSING), ""
        )
        if not attempt.looked_again:
            attempt.looked_again = True
            if self._recover(lease, op, attempt, features=True) is not None:
                return
        raise XRequestError(
            op.name,
            f"X requires feature switches XGet does not send: {message}",
            attempt.failures + 1,
            advice="Run `xget x ops --refresh` to read X's current switches; if they stay "
            "missing, X's bundles no longer list them: report it.",
        )

    def paginate(
        self,
        operation: str,
        variables: dict,
        *,
        cursor: str | None = None,
        max_pages: int | None = 50,
        keep_going: Callable[[FetchedPage], bool] | None = None,
        max_malformed_retries: int = 2,
        empty_before: int = 0,
        max_items: int | None = None,
        items_before: int = 0,
    ) -> Pagination:
        """The timeline's pages, fetched as the caller iterates, until it ends, ``max_pages`` is reached
        (None: no bound), ``max_items`` content entries are counted (``items_before`` already were) or
        ``keep_going`` says stop; afterwards ``.stop`` says which (``pagination.py``).

        Starts from ``cursor`` (a resume). A malformed page is yielded (it is stored raw), then the same
        cursor is asked again a bounded number of times.
        """
        return Pagination(
            self.fetch,
            operation,
            variables,
            cursor=cursor,
            max_pages=max_pages,
            keep_going=keep_going,
            max_malformed_retries=max_malformed_retries,
            empty_before=empty_before,
            max_items=max_items,
            items_before=items_before,
        )


def _errors(body: bytes) -> list[dict]:
    try:
        doc = orjson.loads(body)
    except orjson.JSONDecodeError:
        return []
    errors = doc.get("errors") if isinstance(doc, dict) else None
    return [e for e in errors or [] if isinstance(e, dict)]


def _error_codes(body: bytes) -> list[int]:
    return [e.get("code") for e in _errors(body)]
