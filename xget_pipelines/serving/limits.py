"""Per-user rate limits: a token bucket per user, shared by all their API keys and sessions (anonymous
callers by address), so a user's limit does not grow with the keys they create; and the gate of password
checks (``PasswordGate``, at the end).

Each bucket gets ``rate_per_minute`` requests a minute with bursts of ``burst``; over it a request gets
429 with ``Retry-After`` (seconds until a token is back).

Where the buckets live: in this process (``RateLimiter``, the embedded default), or in Redis when
``XGET_REDIS_URL`` is set (``RedisRateLimiter``), so N API replicas share one budget per user instead of
giving it N times. The Redis bucket is refilled and taken in one Lua script with Redis's own clock (the
replicas' clocks never disagree about it). If Redis cannot be reached, the process falls back to its own
bucket (a replica still limits; the budget is per replica until Redis is back) and says so in the log.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import threading
import time
from collections.abc import AsyncIterator, Callable
from typing import Any, TypeVar

from starlette.concurrency import run_in_threadpool

from xget_pipelines.core.errors import Throttled

T = TypeVar("T")

log = logging.getLogger(__name__)


class RateLimiter:
    def __init__(self, rate_per_minute: float, burst: int, max_principals: int = 100_000):
        self.rate = rate_per_minute / 60.0
        self.burst = float(max(burst, 1))
        self.max_principals = max_principals
        self._buckets: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def take(self, principal: str, cost: float = 1.0, now: float | None = None) -> float:
        """Take ``cost`` tokens; returns 0 when allowed, else the seconds to wait."""
        if self.rate <= 0:
            return 0.0
        now = time.monotonic() if now is None else now
        with self._lock:
            tokens = self._level(principal, now)
            if tokens >= cost:
                self._buckets[principal] = (tokens - cost, now)
                return 0.0
            self._buckets[principal] = (tokens, now)
            if len(self._buckets) > self.max_principals:  # forget the fullest (idle) buckets first
                for key in [k for k, (t, _) in self._buckets.items() if t >= self.burst - 1][
                    : self.max_principals // 10
                ]:
                    del self._buckets[key]
            return (cost - tokens) / self.rate

    def peek(self, principal: str, cost: float = 1.0, now: float | None = None) -> float:
        """The seconds until ``cost`` tokens are there (0: now), taking none."""
        if self.rate <= 0:
            return 0.0
        now = time.monotonic() if now is None else now
        with self._lock:
            tokens = self._level(principal, now)
        return 0.0 if tokens >= cost else (cost - tokens) / self.rate

    def _level(self, principal: str, now: float) -> float:
        """The tokens in ``principal``'s bucket at ``now``: what was left, refilled at the rate up to the
        burst (a new bucket is full). Call holding the lock."""
        tokens, at = self._buckets.get(principal, (self.burst, now))
        return min(self.burst, tokens + (now - at) * self.rate)

    @staticmethod
    def retry_after(wait_s: float) -> str:
        return str(max(1, math.ceil(wait_s)))


# KEYS[1] the bucket; ARGV: rate (tokens/s), burst, cost. Redis's TIME, so every replica refills alike.
_TAKE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local rate, burst, cost = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local state = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens, at = tonumber(state[1]), tonumber(state[2])
if tokens == nil then tokens, at = burst, now end
tokens = math.min(burst, tokens + (now - at) * rate)
local wait = 0
if tokens >= cost then tokens = tokens - cost else wait = (cost - tokens) / rate end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at', tostring(now))
redis.call('PEXPIRE', KEYS[1], math.ceil(burst / rate * 1000) + 1000)
return tostring(wait)
"""

# The same without taking (nor writing): the seconds until ARGV[3] tokens are there.
_PEEK = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local rate, burst, cost = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local state = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens, at = tonumber(state[1]), tonumber(state[2])
if tokens == nil then return '0' end
tokens = math.min(burst, tokens + (now - at) * rate)
if tokens >= cost then return '0' end
return tostring((cost - tokens) / rate)
"""


class RedisRateLimiter(RateLimiter):
    """The same token buckets, in Redis (``xget:rate:<principal>``), shared by every API process."""

    def __init__(self, url: str, rate_per_minute: float, burst: int, timeout_s: float = 0.5):
        import redis

        super().__init__(rate_per_minute, burst)
        self._redis = redis.Redis.from_url(url, socket_timeout=timeout_s, socket_connect_timeout=timeout_s)
        self._take = self._redis.register_script(_TAKE)
        self._peek = self._redis.register_script(_PEEK)
        self._errors = redis.RedisError
        self._down_since: float | None = None

    def take(self, principal: str, cost: float = 1.0, now: float | None = None) -> float:
        return self._shared(self._take, super().take, principal, cost, now)

    def peek(self, principal: str, cost: float = 1.0, now: float | None = None) -> float:
        return self._shared(self._peek, super().peek, principal, cost, now)

    def _shared(self, script, local, principal: str, cost: float, now: float | None) -> float:
        """``script`` on the principal's Redis bucket; while Redis is down, ``local`` (this process's)."""
        if self.rate <= 0:
            return 0.0
        try:
            wait = float(script(keys=[f"xget:rate:{principal}"], args=[self.rate, self.burst, cost]))
        except (self._errors, OSError) as exc:
            if self._down_since is None:
                self._down_since = time.monotonic()
                log.warning(
                    "rate limits: Redis unreachable (%s); limiting in this process until it is back",
                    type(exc).__name__,
                )
            return local(principal, cost, now)
        if self._down_since is not None:
            self._down_since = None
            log.warning("rate limits: Redis is back; limits are shared by every replica again")
        return wait


class PasswordChecksBusy(Throttled):
    """Every password check of this API process is taken, and enough requests already wait for one (or one
    waited its longest)."""


class PasswordGate:
    """At most ``max_checks`` argon2id operations (password checks and hashes) at once in this process
    (``XGET_API_MAX_PASSWORD_CHECKS``); other requests wait their turn, in the event loop and holding no
    thread, for up to ``wait_s`` (``XGET_API_PASSWORD_CHECK_WAIT_S``); at most ``WAITING_PER_CHECK`` per check
    wait, and any beyond, or one that waited its longest, gets ``PasswordChecksBusy`` (429, ``Retry-After``).

    Why (issue 16, finding 3): an argon2id operation takes 64 MiB and about 0.1 s of a core
    (``core/auth/passwords.py``), and the API ran one per login on its threadpool (40 threads), so 24
    wrong-password logins at once took the process from 409 to 1,879 MiB and ``/healthz`` from 41 ms to 1.1 s.
    With the gate the memory they take is bounded by ``max_checks`` x 64 MiB, and the event loop keeps a core
    when ``max_checks`` is below the machine's cores.

    Decisions: the gate is per process (what it protects, memory and cores, is the process's own; replicas and
    workers each have theirs). Waiting requests are ordered first come, first served (asyncio's semaphore).
    A busy answer asks to retry after ``BUSY_RETRY_S`` seconds: the queue drains at about ten checks a second
    per check. ``running`` and ``waiting`` are on ``/metrics``, with the argon2 operations run
    (``core.auth.passwords.operations``).
    """

    WAITING_PER_CHECK = 16
    BUSY_RETRY_S = 2.0

    def __init__(self, max_checks: int, wait_s: float):
        self.max_checks = max(1, max_checks)
        self.wait_s = wait_s
        self.max_waiting = self.WAITING_PER_CHECK * self.max_checks
        self.waiting = 0
        self.running = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._slots: asyncio.Semaphore | None = None

    def _semaphore(self) -> asyncio.Semaphore:
        loop = asyncio.get_running_loop()
        if self._loop is not loop:  # one loop serves an app; a test may serve the same app from another later
            self._loop, self._slots = loop, asyncio.Semaphore(self.max_checks)
        return self._slots

    def _busy(self) -> PasswordChecksBusy:
        return PasswordChecksBusy(
            f"the server is busy checking passwords ({self.max_checks} at once, {self.waiting} waiting); "
            "retry after the Retry-After seconds",
            self.BUSY_RETRY_S,
        )

    @contextlib.asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        """Hold one of the ``max_checks`` slots (waiting for one as the class says)."""
        slots = self._semaphore()
        if slots.locked():
            if self.waiting >= self.max_waiting:
                raise self._busy()
            self.waiting += 1
            try:
                async with asyncio.timeout(self.wait_s):
                    await slots.acquire()
            except TimeoutError:
                raise self._busy() from None
            finally:
                self.waiting -= 1
        else:
            await slots.acquire()
        self.running += 1
        try:
            yield
        finally:
            self.running -= 1
            slots.release()

    async def run(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """``fn(*args, **kwargs)`` (what hashes or checks a password) on a worker thread, in a slot. The slot
        is held until the thread is done, even if the request is cancelled meanwhile (anyio does not abandon
        the thread), so no more than ``max_checks`` operations ever run at once."""
        async with self.slot():
            return await run_in_threadpool(fn, *args, **kwargs)
