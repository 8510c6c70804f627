"""Per (account, operation) fixed-window rate limits and request statistics.

X counts requests per account and operation in fixed windows: a window opens with the first
request after the previous one closed and lasts `window_seconds`. The request using the last
slot is served (remaining 0); later ones get 429 / code 88 until the window closes.
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Decision:
    allowed: bool
    limit: int
    remaining: int
    reset: int  # unix seconds, window end rounded up

    def headers(self) -> dict[str, str]:
        return {
            "x-rate-limit-limit": str(self.limit),
            "x-rate-limit-remaining": str(self.remaining),
            "x-rate-limit-reset": str(self.reset),
        }


class RateLimiter:
    def __init__(self, window_seconds: float):
        self.window_seconds = window_seconds
        self._windows: dict[tuple[str, str], list[float]] = {}  # key -> [start, used]
        self._lock = threading.Lock()

    def _window(self, key: tuple[str, str], now: float) -> list[float]:
        win = self._windows.get(key)
        if win is None or now >= win[0] + self.window_seconds:
            win = self._windows[key] = [now, 0]
        return win

    def acquire(self, account: str, operation: str, limit: int, now: float) -> Decision:
        """Consumes a slot if one is left."""
        with self._lock:
            win = self._window((account, operation), now)
            allowed = win[1] < limit
            if allowed:
                win[1] += 1
            reset = math.ceil(win[0] + self.window_seconds)
            return Decision(allowed, limit, max(0, limit - int(win[1])), reset)

    def peek(self, account: str, operation: str, limit: int, now: float) -> Decision:
        """The current state without consuming (headers on responses that are not served)."""
        with self._lock:
            win = self._window((account, operation), now)
            return Decision(
                win[1] < limit, limit, max(0, limit - int(win[1])), math.ceil(win[0] + self.window_seconds)
            )

    def reset(self) -> None:
        with self._lock:
            self._windows.clear()


class Stats:
    """Counts per account and operation: pages (200 with data), 429s, refusals of the request contract
    (query id, bearer, session, transaction id, features: ``contract.py``), other errors."""

    def __init__(self) -> None:
        self._rows: dict[tuple[str, str], dict] = {}
        self._lock = threading.Lock()

    def record(self, account: str, operation: str, outcome: str, now: float) -> None:
        with self._lock:
            row = self._rows.get((account, operation))
            if row is None:
                row = self._rows[(account, operation)] = {
                    "requests": 0,
                    "pages": 0,
                    "rate_limited": 0,
                    "refused": 0,
                    "errors": 0,
                    "first": now,
                    "last": now,
                }
            row["requests"] += 1
            row[outcome] += 1
            row["last"] = now

    def snapshot(self) -> dict:
        with self._lock:
            accounts: dict[str, dict] = {}
            totals = {"requests": 0, "pages": 0, "rate_limited": 0, "refused": 0, "errors": 0}
            for (account, operation), row in sorted(self._rows.items()):
                accounts.setdefault(account, {})[operation] = dict(row)
                for key in totals:
                    totals[key] += row[key]
            firsts = [r["first"] for r in self._rows.values()]
            lasts = [r["last"] for r in self._rows.values()]
            totals["first"] = min(firsts) if firsts else None
            totals["last"] = max(lasts) if lasts else None
            return {"accounts": accounts, "totals": totals}

    def reset(self) -> None:
        with self._lock:
            self._rows.clear()
