"""Fault injection: account states X imposes and flaky-infrastructure failures.

Error bodies mirror X's: the code and message are what clients (twscrape, XGet's pool)
match on to decide whether to rotate, retire or retry an account.
"""

from __future__ import annotations

import random
import threading
from dataclasses import dataclass, field

from .settings import FaultRule, Faults

ERRORS: dict[str, tuple[int, dict]] = {
    # A session X no longer knows: 401, code 32 (twscrape's queue_client and the 2026-09 field notes; the
    # emulator answered 403 before, which X does not).
    "bad_auth": (401, {"errors": [{"code": 32, "message": "Could not authenticate you."}]}),
    "suspended": (
        403,
        {
            "errors": [
                {
                    "code": 64,
                    "message": "Your account is suspended and is not permitted to access this feature.",
                }
            ]
        },
    ),
    "locked": (
        403,
        {
            "errors": [
                {
                    "code": 326,
                    "sub_error_code": 0,
                    "bounce_location": "https://x.com/account/access",
                    "message": "Authorization: Denied by access control: To protect our users from spam and "
                    "other malicious activity, this account is temporarily locked. Please log in to "
                    "https://x.com to unlock your account.",
                }
            ]
        },
    ),
    "rate_limited": (429, {"errors": [{"code": 88, "message": "Rate limit exceeded."}]}),
}
SERVER_ERRORS: dict[int, tuple[str, str]] = {
    500: ('{"errors":[{"code":131,"message":"Internal error."}]}', "application/json"),
    502: ("Bad Gateway", "text/plain"),
    503: ('{"errors":[{"code":130,"message":"Over capacity."}]}', "application/json"),
}


@dataclass
class Triggered:
    """The faults that apply to one request."""

    status: int | None = None  # a 5xx to answer instead of the page
    delay: float = 0.0
    malformed: bool = False
    drop: bool = False  # headers and half the body, then the connection closes
    kinds: list[str] = field(default_factory=list)


class FaultInjector:
    def __init__(self, faults: Faults, seed: int = 0):
        self._faults = faults.model_copy(deep=True)
        self._rng = random.Random(seed)
        self._lock = threading.Lock()

    def snapshot(self) -> dict:
        with self._lock:
            return self._faults.model_dump()

    def update(self, faults: Faults) -> None:
        """Adds rules and sets/overrides account faults (an account mapped to None is cleared)."""
        with self._lock:
            for username, fault in faults.accounts.items():
                if fault is None:
                    self._faults.accounts.pop(username, None)
                else:
                    self._faults.accounts[username] = fault
            self._faults.rules.extend(rule.model_copy() for rule in faults.rules)

    def clear(self) -> None:
        with self._lock:
            self._faults = Faults()

    @property
    def repeats_cursors(self) -> bool:
        """Whether any repeat_cursor rule is set (only then are served pages remembered)."""
        return any(rule.kind == "repeat_cursor" for rule in self._faults.rules)

    def account_fault(self, username: str) -> str | None:
        return self._faults.accounts.get(username)

    def _fires(self, rule: FaultRule) -> bool:
        if rule.count is not None:
            if rule.count <= 0:
                return False
            rule.count -= 1
            return True
        if rule.probability is not None:
            return self._rng.random() < rule.probability
        return True

    def pick(self, account: str, operation: str, target: str | None = None) -> Triggered:
        """The faults for one request; ``target`` is a media file's path (GraphQL requests have none)."""
        out = Triggered()
        with self._lock:
            if not self._faults.rules:
                return out
            for rule in self._faults.rules:
                if rule.operation not in (None, operation) or rule.account not in (None, account):
                    continue
                if rule.target is not None and (target is None or rule.target not in target):
                    continue
                if rule.kind == "repeat_cursor" or not self._fires(rule):
                    # repeat_cursor is decided when a timeline actually ends (`consume_repeat`).
                    continue
                out.kinds.append(rule.kind)
                if rule.kind == "http_5xx" and out.status is None:
                    out.status = rule.status or self._rng.choice((500, 502, 503))
                elif rule.kind == "slow":
                    out.delay += rule.delay
                elif rule.kind == "malformed":
                    out.malformed = True
                elif rule.kind == "drop":
                    out.drop = True
        return out

    def consume_repeat(self, account: str, operation: str) -> bool:
        """Called when a timeline ends: whether to repeat the last page instead."""
        with self._lock:
            for rule in self._faults.rules:
                if (
                    rule.kind == "repeat_cursor"
                    and rule.operation in (None, operation)
                    and rule.account in (None, account)
                    and self._fires(rule)
                ):
                    return True
        return False
