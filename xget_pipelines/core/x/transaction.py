"""``x-client-transaction-id``: the per-request signature X's web client sends, one generator per account.

Since April 2025 X answers SearchTimeline (later also UserTweetsAndReplies, Followers, at times
TweetDetail) with 404 and an empty body unless the request carries a valid transaction id (twscrape
issues #245, #248; twitter-api-client #249). The id is derived from a page load of X's web app (a key in
the page, animation frames, indices in a signing script) and signs the method, path and time of one
request. X moved to its "x-web" bundles in 2026 and the old derivations broke again (twscrape #312);
twscrape 0.20.x's ``xclid`` is the current reference implementation, so XGet uses it rather than a second
one: ``twscrape.xclid.load_keys`` on a page XGet loads itself (``web.WebClient``), as the account's
browser would, through the account's proxy and with its cookies.

``TransactionIds`` keeps one generator per account session (account id and ``auth_token``: one account's
generator never serves another, nor a new session of the same account) for ``ttl_s``; ``fresh=True``
loads the page again (after X refused an id). A page that cannot be read is remembered for a minute
(``TransactionIdUnavailable``), so a broken page costs one load per minute, not one per request.
``TransactionIds.shared(web)`` is the process's store for a web, so the clients of one process (worker
threads, the API server) load each account's page once, and never twice at the same time.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

import bs4
from twscrape.xclid import XClIdAccountError, XClIdGen, XClIdParseError, get_tw_page_text, load_keys

from xget_pipelines.core.x.web import HttpStatusError, WebClient, XWeb, run

SIGNED_OUT_PATHS = ("/i/flow/login", "/login", "/i/flow/signup")
_FAILURE_MEMORY_S = 60.0


class TransactionIdUnavailable(Exception):
    """No transaction id can be made for this account now; ``signed_out`` when X showed it the signed-out
    app (its session is gone), otherwise X's page could not be read (it changed, or the load failed)."""

    def __init__(self, username: str, reason: str, *, signed_out: bool = False):
        self.username, self.reason, self.signed_out = username, reason, signed_out
        super().__init__(f"no x-client-transaction-id for account {username}: {reason}")


@dataclass
class _Entry:
    generator: XClIdGen | None
    made_at: float
    error: TransactionIdUnavailable | None = None


class TransactionIds:
    """Transaction-id generators per account session, made from that account's own page load."""

    _shared: dict[tuple, TransactionIds] = {}
    _shared_lock = threading.Lock()

    def __init__(
        self,
        web: XWeb,
        *,
        ttl_s: float = 3600.0,
        timeout_s: float = 20.0,
        clock: Callable[[], float] = time.time,
    ):
        self.web, self.ttl_s, self.timeout_s, self.clock = web, ttl_s, timeout_s, clock
        self._entries: dict[tuple[int, str], _Entry] = {}
        self._lock = threading.Lock()
        self._loading: dict[tuple[int, str], threading.Lock] = {}
        self.page_loads = 0

    @classmethod
    def shared(cls, web: XWeb, ttl_s: float = 3600.0) -> TransactionIds:
        """The process's store for ``web`` (and ``ttl_s``)."""
        key = (web.web_url, tuple(sorted(web.hosts.items())), ttl_s)
        with cls._shared_lock:
            store = cls._shared.get(key)
            if store is None:
                store = cls._shared[key] = cls(web, ttl_s=ttl_s)
            return store

    def header(
        self,
        account_id: int,
        username: str,
        cookies: Mapping[str, str],
        *,
        proxy_url: str | None,
        user_agent: str,
        method: str,
        url: str,
        fresh: bool = False,
    ) -> str:
        """The ``x-client-transaction-id`` of one request (``url``: the full request URL; its path is
        signed)."""
        gen = self.generator(
            account_id, username, cookies, proxy_url=proxy_url, user_agent=user_agent, fresh=fresh
        )
        return gen.calc(method, urlsplit(url).path or "/")

    def generator(
        self,
        account_id: int,
        username: str,
        cookies: Mapping[str, str],
        *,
        proxy_url: str | None,
        user_agent: str,
        fresh: bool = False,
    ) -> XClIdGen:
        key = (account_id, hashlib.sha256(cookies.get("auth_token", "").encode()).hexdigest()[:16])
        asked_at = self.clock()
        with self._lock:
            loading = self._loading.setdefault(key, threading.Lock())
        with loading:  # one page load per account at a time; the others wait for it and use its result
            with self._lock:
                entry = self._entries.get(key)
            now = self.clock()
            if entry is not None and (not fresh or entry.made_at >= asked_at):
                if entry.generator is not None and now - entry.made_at < self.ttl_s:
                    return entry.generator
                if entry.error is not None and now - entry.made_at < _FAILURE_MEMORY_S:
                    raise entry.error
            try:
                gen = run(self._load(username, cookies, proxy_url, user_agent))
            except TransactionIdUnavailable as exc:
                with self._lock:
                    self._entries[key] = _Entry(None, now, exc)
                raise
            with self._lock:
                self._entries = {
                    k: v for k, v in self._entries.items() if k[0] != account_id
                }  # older sessions
                self._entries[key] = _Entry(gen, now)
            return gen

    def forget(self, account_id: int) -> None:
        with self._lock:
            self._entries = {k: v for k, v in self._entries.items() if k[0] != account_id}

    async def _load(
        self, username: str, cookies: Mapping[str, str], proxy_url: str | None, user_agent: str
    ) -> XClIdGen:
        self.page_loads += 1
        page = f"{self.web.web_url}/home"
        async with WebClient(
            self.web, proxy_url=proxy_url, cookies=cookies, user_agent=user_agent, timeout_s=self.timeout_s
        ) as client:
            try:
                text = await get_tw_page_text(page, client)
                if urlsplit(client.last_url or page).path.startswith(SIGNED_OUT_PATHS):
                    raise XClIdAccountError("X sent the login page")
                vk_bytes, anim_key = await load_keys(bs4.BeautifulSoup(text, "html.parser"), client)
            except XClIdAccountError as exc:
                raise TransactionIdUnavailable(
                    username,
                    f"X showed this account the signed-out web app ({exc}): its session is gone; "
                    f"log in again (xget accounts login {username}) or import fresh cookies",
                    signed_out=True,
                ) from None
            except XClIdParseError as exc:
                raise TransactionIdUnavailable(
                    username,
                    f"X's web app at {page} could not be read ({exc}); X may have changed its web "
                    "client: upgrade twscrape (its xclid module reads the page) and report it",
                ) from None
            except HttpStatusError as exc:
                raise TransactionIdUnavailable(
                    username, f"loading {page} failed with HTTP {exc.response.status_code}"
                ) from None
        return XClIdGen(vk_bytes, anim_key)
