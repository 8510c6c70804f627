"""An account held for one operation, and what X's rate-limit headers say about its window.

When does a window reopen? X's ``x-rate-limit-reset`` is a whole second, up to a second after the
window really ends; waiting for it costs ``1/(W+1)`` of a ``W``-second window (0.1 % of X's 900 s,
20 % of a 4 s test window). So the lease also learns the window length: for the first request of a
window (``remaining == limit - 1``) sent at ``s``, the window started after ``s`` and ends by the reset,
so ``reset - s`` is an upper bound of its length; the smallest bound seen is kept (``window_s``). The
account is handed back at ``min(reset, first response of the window + window_s)``, never before the
window can really have ended (barring clock skew between X and us, which then costs one 429 that
parks the account until the header's reset).
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field


@dataclass
class AccountLease:
    """An account held for one operation until released. Mutated as responses arrive."""

    account_id: int
    username: str
    cookies: dict[str, str] = field(repr=False)  # secrets: never in a repr, log or traceback
    user_agent: str | None
    proxy_url: str | None = field(repr=False)
    operation: str
    row_id: int
    proxy_id: int | None = None  # the bound proxy (proxy_url then carries its credentials)
    limit: int | None = None
    remaining: int | None = None
    reset_at: float | None = None
    window_s: float | None = None
    window_started_at: float | None = None
    window_header_reset: float | None = None  # the reset X announced for the window we saw start
    soft_bans: int = 0  # 429s in a row while X said requests remained (kept across leases)
    requests: int = 0
    successes: int = 0
    errors: int = 0

    def record(
        self, headers: Mapping[str, str], sent_at: float | None = None, received_at: float | None = None
    ) -> None:
        """Take in the rate-limit headers of a response served to this account."""
        self.requests += 1
        if (value := headers.get("x-rate-limit-limit")) is not None:
            self.limit = int(value)
        if (value := headers.get("x-rate-limit-remaining")) is not None:
            self.remaining = int(value)
        if (value := headers.get("x-rate-limit-reset")) is not None:
            self.reset_at = float(value)
        first_of_window = self.limit is not None and self.remaining == self.limit - 1
        if first_of_window and sent_at is not None and self.reset_at is not None:
            bound = self.reset_at - sent_at
            if bound > 0:
                self.window_s = bound if self.window_s is None else min(self.window_s, bound)
            self.window_started_at = received_at if received_at is not None else time.time()
            self.window_header_reset = self.reset_at
        elif self.reset_at is not None and self._in_other_window(self.reset_at):
            # A window whose first response we did not see (lost to a timeout, or without headers):
            # its start is unknown, so only the header's reset can be trusted for it.
            self.window_started_at = None
            self.window_header_reset = None

    def _in_other_window(self, header_reset: float) -> bool:
        if self.window_header_reset is not None:
            return header_reset != self.window_header_reset  # every response of one window has its reset
        return (
            self.window_started_at is not None
            and self.window_s is not None
            and header_reset - 1 > self.window_started_at + self.window_s
        )

    @property
    def reopens_at(self) -> float | None:
        """When the current window can have ended: the header's reset, or earlier by what was learned."""
        if self.reset_at is None:
            return None
        if self.window_s is not None and self.window_started_at is not None:
            return min(self.reset_at, self.window_started_at + self.window_s)
        return self.reset_at

    @property
    def exhausted(self) -> bool:
        return self.remaining is not None and self.remaining <= 0
