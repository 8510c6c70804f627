"""Per-user rate limits: a token bucket per user, shared by all their API keys and sessions (anonymous
callers by address), so a user's limit does not grow with the keys they create.

Each bucket gets ``rate_per_minute`` requests a minute with bursts of ``burst``; over it a request gets
429 with ``Retry-After`` (seconds until a token is back).

Where the buckets live: in this process (``RateLimiter``, the embedded default), or in Redis when
``XGET_REDIS_URL`` is set (``RedisRateLimiter``), so N API replicas share one budget per user instead of
giving it N times. The Redis bucket is refilled and taken in one Lua script with Redis's own clock (the
replicas' clocks never disagree about it). If Redis cannot be reached, the process falls back to its own
bucket (a replica still limits; the budget is per replica until Redis is back) and says so in the log.
"""

from __future__ import annotations

import logging
import math
import threading
import time

log = logging.getLogger(__name__)


class RateLimiter:
    def __init__(self, rate_per_minute: int, burst: int, max_principals: int = 100_000):
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
            tokens, at = self._buckets.get(principal, (self.burst, now))
            tokens = min(self.burst, tokens + (now - at) * self.rate)
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


class RedisRateLimiter(RateLimiter):
    """The same token buckets, in Redis (``xget:rate:<principal>``), shared by every API process."""

    def __init__(self, url: str, rate_per_minute: int, burst: int, timeout_s: float = 0.5):
        import redis

        super().__init__(rate_per_minute, burst)
        self._redis = redis.Redis.from_url(url, socket_timeout=timeout_s, socket_connect_timeout=timeout_s)
        self._take = self._redis.register_script(_TAKE)
        self._errors = redis.RedisError
        self._down_since: float | None = None

    def take(self, principal: str, cost: float = 1.0, now: float | None = None) -> float:
        if self.rate <= 0:
            return 0.0
        try:
            wait = float(self._take(keys=[f"xget:rate:{principal}"], args=[self.rate, self.burst, cost]))
        except (self._errors, OSError) as exc:
            if self._down_since is None:
                self._down_since = time.monotonic()
                log.warning(
                    "rate limits: Redis unreachable (%s); limiting in this process until it is back",
                    type(exc).__name__,
                )
            return super().take(principal, cost, now)
        if self._down_since is not None:
            self._down_since = None
            log.warning("rate limits: Redis is back; limits are shared by every replica again")
        return wait
