"""Typed errors of XGet's core. Each message says what happened and what the user can do."""

from __future__ import annotations

from datetime import UTC, datetime


class XGetError(Exception):
    """Base of every error XGet raises on purpose."""


class NoAccountAvailable(XGetError):
    """No account can serve an operation before the caller's deadline."""

    def __init__(self, operation: str, next_free_at: float | None, inactive: str = ""):
        self.operation = operation
        self.next_free_at = next_free_at
        if next_free_at is None:
            msg = (
                f"No active X account can serve {operation}. Add accounts with `xget accounts add` "
                f"or reactivate them."
            )
        else:
            when = datetime.fromtimestamp(next_free_at, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
            msg = (
                f"No X account can serve {operation} before the deadline; the next one frees up at "
                f"{when}. Add accounts, or raise XGET_X_LEASE_DEADLINE_S."
            )
        if inactive:
            msg += f" ({inactive})"
        super().__init__(msg)


class XRequestError(XGetError):
    """X kept failing for one request after bounded retries (5xx, timeouts, transport errors)."""

    def __init__(
        self,
        operation: str,
        detail: str,
        attempts: int,
        advice: str | None = "X may be degraded; retry the run later.",
    ):
        self.operation = operation
        self.attempts = attempts
        super().__init__(
            f"{operation} failed after {attempts} attempts: {detail}" + (f". {advice}" if advice else "")
        )
