"""Per-principal rate limits: a token bucket per user or API key (anonymous callers by address).

Each principal gets ``rate_per_minute`` requests a minute with bursts of ``burst``; over it a request gets
429 with ``Retry-After`` (seconds until a token is back). Buckets live in this process: N API replicas give
a principal N times the budget, which the deployment guide accounts for.
"""

from __future__ import annotations

import math
import threading
import time


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
                for key in [k for k, (t, _) in self._buckets.items() if t >= self.burst - 1][: self.max_principals // 10]:
                    del self._buckets[key]
            return (cost - tokens) / self.rate

    @staticmethod
    def retry_after(wait_s: float) -> str:
        return str(max(1, math.ceil(wait_s)))
