"""Typed errors of XGet's core. Each message says what happened and what the user can do.

Errors of a request (something asked of XGet that it cannot do as asked) come in a few kinds, whatever the
caller (the API, the CLI, a sensor): ``NotFound``, ``Conflict`` (the current state forbids it),
``InvalidField`` (an input is wrong; ``field`` names it), ``TooLarge``; besides them ``NotAuthenticated``,
``Unavailable`` (a store that cannot be reached now) and ``Throttled`` (not now: retry after some seconds).
The core never says how a transport answers them: ``serving/errors.py`` maps each kind to an HTTP status
and a GraphQL code, in one table, and composes the messages that name a REST route.
"""

from __future__ import annotations

from datetime import UTC, datetime


class XGetError(Exception):
    """Base of every error XGet raises on purpose."""


class RequestError(XGetError):
    """A request XGet cannot honour as asked; ``field`` names the input at fault when there is one."""

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.field = field


class NotFound(RequestError):
    """What the request names does not exist (or is not the caller's to see)."""


class Conflict(RequestError):
    """The current state forbids the request: a taken name, a task in the wrong state, a record already
    in the lake."""


class InvalidField(RequestError):
    """An input that cannot be used; ``field`` names it."""


class BadCursor(InvalidField):
    """A page cursor this API did not issue (malformed, or another endpoint's): ``field`` is the cursor's
    name. Unlike other bad input it is a bad request as a whole, not a value to correct."""


class StaleCursor(BadCursor):
    """A cursor naming something no longer there (a deleted task): start again from the first page."""


class TooLarge(RequestError):
    """The answer does not fit what was asked for (a format's row limit)."""


class NotAuthenticated(XGetError):
    """Credentials that do not authenticate (wrong, expired, revoked, a disabled user)."""


class Unavailable(XGetError):
    """A store XGet needs cannot be read right now; the same request may work shortly."""


class Throttled(XGetError):
    """Refused for now, to protect the service or an account: too many attempts, or too much work already in
    flight. ``retry_after`` is the number of seconds after which the same request may be honoured."""

    def __init__(self, message: str, retry_after: float):
        super().__init__(message)
        self.retry_after = retry_after


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
