"""A circuit breaker per X operation: when X keeps failing an operation, stop asking for a while.

Closed: requests flow; server errors (5xx, timeouts) inside ``window_s`` are counted. At
``failure_threshold`` the breaker opens: requests fail at once with ``CircuitOpen`` (which says until
when) instead of piling retries on a degraded X. After ``cooldown_s`` it is half-open: one trial
request goes through; success closes it, failure opens it again for twice the cooldown (capped).
Account faults and rate limits are not X being down and never count.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime

from xget_pipelines.core.errors import XGetError


class CircuitOpen(XGetError):
    def __init__(self, operation: str, until: float, failures: int):
        self.operation = operation
        self.until = until
        when = datetime.fromtimestamp(until, UTC).strftime("%H:%M:%S UTC")
        super().__init__(
            f"{operation}: X failed {failures} times in a row; not asking again until {when} "
            "(circuit breaker). The run can be retried after that."
        )


@dataclass
class _State:
    failures: list[float] = field(default_factory=list)
    open_until: float = 0.0
    cooldown_s: float = 0.0
    trial_in_flight: bool = False


class CircuitBreaker:
    def __init__(
        self,
        failure_threshold: int = 8,
        window_s: float = 60.0,
        cooldown_s: float = 30.0,
        max_cooldown_s: float = 600.0,
        clock=time.monotonic,
        wall=time.time,
    ):
        self.failure_threshold = failure_threshold
        self.window_s = window_s
        self.cooldown_s = cooldown_s
        self.max_cooldown_s = max_cooldown_s
        self._clock, self._wall = clock, wall
        self._states: dict[str, _State] = {}
        self._lock = threading.Lock()

    def before_request(self, operation: str) -> None:
        """Raise ``CircuitOpen`` while the operation's breaker is open (one trial when half-open)."""
        with self._lock:
            state = self._states.setdefault(operation, _State())
            now = self._clock()
            if now < state.open_until:
                raise CircuitOpen(operation, self._wall() + (state.open_until - now), len(state.failures))
            if state.open_until and state.trial_in_flight:
                raise CircuitOpen(operation, self._wall() + 1.0, len(state.failures))
            if state.open_until:
                state.trial_in_flight = True  # half-open: let exactly this one through

    def is_open(self, operation: str) -> bool:
        """Whether the operation's breaker has opened (and not yet closed on a successful trial)."""
        with self._lock:
            state = self._states.get(operation)
            return bool(state and state.open_until)

    def success(self, operation: str) -> None:
        with self._lock:
            self._states[operation] = _State()

    def failure(self, operation: str) -> None:
        with self._lock:
            state = self._states.setdefault(operation, _State())
            now = self._clock()
            if state.open_until:  # the half-open trial failed: open again, for longer
                state.cooldown_s = min(state.cooldown_s * 2, self.max_cooldown_s)
                state.open_until = now + state.cooldown_s
                state.trial_in_flight = False
                return
            state.failures = [t for t in state.failures if now - t < self.window_s] + [now]
            if len(state.failures) >= self.failure_threshold:
                state.cooldown_s = self.cooldown_s
                state.open_until = now + state.cooldown_s
