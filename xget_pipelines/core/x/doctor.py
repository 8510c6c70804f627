"""``xget x doctor``: what to run first against real X. One account, every link of the chain, in order.

1. the account: in the pool, active, not quarantined, with session cookies;
2. its proxy (if it has one): a check through it, with the exit address the check target saw;
3. X's web app as that account: the signed-in page loads and yields a transaction-id generator;
4. the query ids: X's bundles read now; ids X rotated since XGet last looked are named (and kept);
5. one cheap request per operation XGet collects with, as that account: the status, and the rate-limit
   window X reported.

Each finding is ok, warn (something was wrong and XGet fixed it) or fail (with what to do). A refusal
during step 5 has the same effect as during a scrape: a suspended or logged-out account leaves the pool
with the reason. The checks run the same against the emulator.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass

from xget_pipelines.core.errors import NoAccountAvailable, XGetError
from xget_pipelines.core.pools.account_lease import AccountLease
from xget_pipelines.core.pools.account_pool import AccountPool
from xget_pipelines.core.pools.proxies import ProxyPool
from xget_pipelines.core.x import watch
from xget_pipelines.core.x.client import XClient
from xget_pipelines.core.x.transaction import TransactionIdUnavailable
from xget_pipelines.core.x.web import XWeb

# The operations XGet collects with (core/x/scrape.py), in the order a scrape of an @account uses them.
OPERATIONS = ("UserByScreenName", "UserTweetsAndReplies", "SearchTimeline", "Followers", "Following")
OK, WARN, FAIL = "ok", "warn", "fail"


@dataclass
class Finding:
    check: str
    status: str  # ok | warn | fail
    detail: str
    fix: str = ""

    @property
    def ok(self) -> bool:
        return self.status != FAIL


def pick_account(pool: AccountPool, username: str | None) -> tuple[str | None, Finding]:
    rows = pool.status()
    if username is None:
        usable = [a for a in rows if a["active"] and not a["quarantined_until"]]
        if not usable:
            return None, Finding(
                "account",
                FAIL,
                f"no usable account among {len(rows)}",
                "import accounts (xget accounts import FILE) or log them in (xget accounts login)",
            )
        username = usable[0]["username"]
    row = next((a for a in rows if a["username"] == username), None)
    if row is None:
        return None, Finding(
            "account", FAIL, f"no account {username} in the pool", "xget accounts import FILE"
        )
    if not row["active"]:
        return None, Finding(
            "account",
            FAIL,
            f"{username} is inactive: {row['error'] or 'no reason recorded'}",
            f"xget accounts login {username}, or import fresh cookies for it",
        )
    if row["quarantined_until"]:
        until = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(row["quarantined_until"]))
        return None, Finding(
            "account", FAIL, f"{username} rests until {until}: {row['error']}", "wait, or use another account"
        )
    return username, Finding("account", OK, f"{username} is active")


class Doctor:
    """Runs the checks for one account through an ``XClient`` (which must be limited to that account)."""

    def __init__(self, client: XClient, proxy_check_url: str):
        self.client, self.proxy_check_url = client, proxy_check_url
        self.findings: list[Finding] = []

    def run(self) -> list[Finding]:
        name = self.client.account
        try:
            lease = self.client.pool.lease("UserByScreenName", self.client.lease_deadline_s, username=name)
        except NoAccountAvailable as exc:
            return [
                Finding("lease", FAIL, str(exc), "wait for its rate-limit window, or use another account")
            ]
        try:
            self._cookies(lease)
            self._proxy(lease)
            web_ok = self._web_app(lease)
            if web_ok:
                self._query_ids(lease)
        finally:
            self.client.pool.release(lease)
        self._requests(name)
        return self.findings

    def _add(self, check: str, status: str, detail: str, fix: str = "") -> None:
        self.findings.append(Finding(check, status, detail, fix))

    def _cookies(self, lease: AccountLease) -> None:
        missing = [c for c in ("auth_token", "ct0") if not lease.cookies.get(c)]
        if missing:
            self._add(
                "cookies", FAIL, f"no {' or '.join(missing)} cookie", f"xget accounts login {lease.username}"
            )
        else:
            self._add(
                "cookies",
                OK,
                f"auth_token and ct0 present; user agent {self.client.user_agent(lease)[:60]}...",
            )

    def _proxy(self, lease: AccountLease) -> None:
        if lease.proxy_id is None:
            self._add(
                "proxy",
                OK,
                "direct (no proxy bound)" if lease.proxy_url is None else "the account's own proxy",
            )
            return
        pool = ProxyPool(self.client.pool.engine, secrets=self.client.pool.secrets)
        (result,) = pool.check([lease.proxy_id], target_url=self.proxy_check_url, attempts=2, timeout_s=5.0)
        if result.ok:
            where = f", exit address {result.exit_ip}" if result.exit_ip else ""
            self._add(
                "proxy",
                OK,
                f"proxy {lease.proxy_id} ({result.proxy}) {result.status}, "
                f"{result.latency_ms or 0:.0f} ms{where}",
            )
        else:
            self._add(
                "proxy",
                FAIL,
                f"proxy {lease.proxy_id} ({result.proxy}) failed its check ({result.error}); "
                f"now {result.status}",
                "fix or replace the proxy (xget proxies check / xget proxies remove); the account "
                "is rebound to an ACTIVE one once its rate-limit windows end",
            )

    def _web_app(self, lease: AccountLease) -> bool:
        try:
            gen = self.client.transactions.generator(
                lease.account_id,
                lease.username,
                lease.cookies,
                proxy_url=lease.proxy_url,
                user_agent=self.client.user_agent(lease),
                fresh=True,
            )
        except TransactionIdUnavailable as exc:
            fix = (
                f"xget accounts login {lease.username}"
                if exc.signed_out
                else "upgrade twscrape (pip install -U twscrape) and report the page change"
            )
            self._add("transaction id", FAIL, exc.reason, fix)
            return False
        except Exception as exc:  # noqa: BLE001 - a transport failure is a finding, not a crash
            self._add(
                "transaction id",
                FAIL,
                f"loading {self.client.web.web_url}/home failed: {type(exc).__name__}: {exc}",
                "check the proxy and the network",
            )
            return False
        self._add(
            "transaction id",
            OK,
            f"generated from the signed-in web app ({len(gen.vk_bytes)}-byte key, "
            f"animation key {gen.anim_key[:8]}...)",
        )
        return True

    def _query_ids(self, lease: AccountLease) -> None:
        catalog = self.client.catalog
        before = {op: catalog.get(op).query_id for op in OPERATIONS}
        try:
            report = catalog.store(self.client.look_at_x(lease), OPERATIONS)
        except Exception as exc:  # noqa: BLE001
            self._add(
                "query ids",
                FAIL,
                f"X's web bundles could not be read: {type(exc).__name__}: {exc}",
                "check the proxy; XGet keeps using the ids it has",
            )
            return
        rotated = [
            f"{op} {old} -> {catalog.get(op).query_id}"
            for op, old in before.items()
            if catalog.get(op).query_id != old
        ]
        summary = f"{report.found} operations in {report.scripts} bundles"
        if report.missing:
            self._add(
                "query ids",
                FAIL,
                f"{summary}; X's bundles no longer name {', '.join(report.missing)}",
                "X renamed or removed these operations: upgrade XGet/twscrape",
            )
        elif rotated:
            self._add(
                "query ids",
                WARN,
                f"{summary}; X rotated {len(rotated)} since XGet last looked: "
                f"{'; '.join(rotated)} (the new ones are stored)",
            )
        else:
            self._add("query ids", OK, f"{summary}; XGet's ids are current")

    def _requests(self, name: str) -> None:
        user_id = None
        for op in OPERATIONS:
            if op != "UserByScreenName" and op != "SearchTimeline" and user_id is None:
                self._add(op, WARN, f"skipped: X showed no profile @{name} to read this operation for")
                continue
            variables = {
                "UserByScreenName": watch.user_by_screen_name_variables(name),
                "UserTweetsAndReplies": watch.user_tweets_variables(user_id or "", 5),
                "SearchTimeline": watch.search_variables(f"from:{name}", 5),
                "Followers": watch.follows_variables(user_id or "", 5),
                "Following": watch.follows_variables(user_id or "", 5),
            }[op]
            try:
                page = self.client.fetch(op, variables)
            except NoAccountAvailable:
                row = {a["username"]: a for a in self.client.pool.status()}.get(name) or {}
                if not row.get("active", True):
                    self._add(
                        op,
                        FAIL,
                        f"X refused the account: {row.get('error')}",
                        "it left the pool: log it in again, replace it, or appeal the suspension",
                    )
                    return
                if row.get("quarantined_until"):
                    self._add(op, FAIL, f"the account rests: {row.get('error')}", "see the lines above")
                    return
                self._add(
                    op, WARN, "rate-limited now: its window has no request left", "try again after the reset"
                )
                continue
            except XGetError as exc:
                self._add(op, FAIL, str(exc))
                continue
            if op == "UserByScreenName":
                user_id = _user_id(page.body)
            reset = (
                f", resets in {max(0, page.rate_reset_at - time.time()):.0f} s" if page.rate_reset_at else ""
            )
            self._add(
                op,
                OK,
                f"HTTP 200, {page.summary.content_entries} entries; rate limit "
                f"{page.rate_remaining}/{page.rate_limit}{reset}",
            )


def _user_id(body: bytes) -> str | None:
    import orjson

    try:
        return orjson.loads(body)["data"]["user"]["result"]["rest_id"]
    except (KeyError, TypeError, orjson.JSONDecodeError):
        return None


def diagnose(
    pool: AccountPool,
    graphql_url: str,
    username: str | None = None,
    *,
    proxy_check_url: str,
    timeout_s: float = 20.0,
    hosts: Mapping[str, str] | None = None,
) -> list[Finding]:
    """Every check for ``username`` (default: the first usable account); see the module docstring."""
    name, account = pick_account(pool, username)
    if name is None:
        return [account]
    with XClient(
        graphql_url,
        pool,
        account=name,
        lease_deadline_s=10.0,
        max_attempts=2,
        backoff_base_s=0.2,
        timeout_s=timeout_s,
        web=XWeb.for_graphql_url(graphql_url, hosts),
    ) as client:
        return [account, *Doctor(client, proxy_check_url).run()]
