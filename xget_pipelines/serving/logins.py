"""Password logins as the API runs them: the one path by which a request has a password checked (the
password grant, a password change), issue 16, finding 3.

Before any argon2 work, each refusal a 429 with ``Retry-After``:

1. the client address's failed logins: at most ``XGET_API_LOGIN_FAILURES_PER_ADDRESS`` (20) an hour, a
   token bucket of that size refilled over the hour that only failures take from (per API process, or in
   Redis, shared by the replicas, with ``XGET_REDIS_URL``). The address is the TCP peer, or the
   X-Forwarded-For of a proxy listed in ``XGET_API_FORWARDED_ALLOW_IPS`` (``app.uvicorn_options``);
2. the username's lockout (``core/auth/lockout.py``: one read of the control-plane DB);
3. a slot of the gate of password checks (``limits.PasswordGate``); waiting for one holds no thread.

Under the slot (1) and (2) are checked again, since a burst sent at once passes the first checks together
and is then taken a few at a time; then the password is checked. A wrong one takes a token of the address's
bucket and counts for the username (``users.authenticate``).

Decision on the per-address limits (the issue left it open): ``deps.limit_anonymous`` still takes one token
of the general bucket (``XGET_API_RATE_LIMIT_PER_MINUTE``, 600 a minute) per unauthenticated request, which
bounds the volume of requests; failed logins have their own, far tighter budget, which bounds guessing from
one address across many usernames (password spraying), where the lockout bounds it per username.
Successful logins take nothing from it, so the people behind one shared address who know their passwords
are never held up by it. A password change (authenticated) is bounded by the lockout alone.
"""

from __future__ import annotations

from fastapi import Request
from starlette.concurrency import run_in_threadpool

from xget_pipelines.core.auth import lockout, users
from xget_pipelines.core.auth.users import Principal, WrongPassword
from xget_pipelines.core.errors import Throttled
from xget_pipelines.serving.state import ServingState, state


def client_address(request: Request) -> str:
    """The address the per-address limits count: the TCP peer, or what a trusted proxy says it is."""
    return request.client.host if request.client else "unknown"


def _check_address(st: ServingState, bucket: str) -> None:
    wait = st.login_failures.peek(bucket)
    if wait:
        raise Throttled(
            f"too many failed logins from this address (at most {st.settings.api_login_failures_per_address} "
            "an hour); retry after the Retry-After seconds",
            wait,
        )


async def check_password(
    request: Request, username: str, password: str, per_address: bool = True
) -> Principal:
    """The principal of ``username`` and ``password``, checked as the module says; ``users.AuthError`` if they
    do not authenticate, ``core.errors.Throttled`` (a 429) if the check is refused for now."""
    st = state(request)
    bucket = f"login-failures:ip:{client_address(request)}" if per_address else None
    if bucket:
        _check_address(st, bucket)
    if st.lockout is not None:
        await run_in_threadpool(lockout.check, st.engine, username)
    async with st.password_gate.slot():
        if bucket:
            _check_address(st, bucket)
        try:
            return await run_in_threadpool(users.authenticate, st.engine, username, password, st.lockout)
        except WrongPassword:
            if bucket:
                st.login_failures.take(bucket)
            raise
