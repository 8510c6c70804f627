"""Authentication and permissions as FastAPI dependencies.

Credentials: ``Authorization: Bearer <access token>`` (XGet's JWT or the OIDC provider's), or an API key
as ``Authorization: Bearer xk_...`` or ``X-API-Key: xk_...``. Every authenticated request also takes a
token from its user's rate-limit bucket, one per user whichever key or session it comes through (429 with
``Retry-After`` when empty). Principals are cached for a few seconds per credential (``core.auth.cache``).
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import APIKeyHeader, OAuth2PasswordBearer
from pydantic import AfterValidator
from starlette.concurrency import run_in_threadpool

from xget_pipelines.core.auth.keys import PREFIX, authenticate_key
from xget_pipelines.core.auth.permissions import Permission
from xget_pipelines.core.auth.users import AuthError, Principal
from xget_pipelines.serving.errors import ApiError
from xget_pipelines.serving.state import ServingState, state


def _utc(value: dt.datetime) -> dt.datetime:
    return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value


UtcDateTime = Annotated[dt.datetime, AfterValidator(_utc)]
"""A datetime of a response model: the control-plane DB keeps UTC, but SQLite hands back naive values; this
makes every time the API returns carry its offset (RFC 3339 ``date-time``, as the OpenAPI document says)."""

oauth2 = OAuth2PasswordBearer(tokenUrl="/v1/auth/token", auto_error=False)
api_key_header = APIKeyHeader(name="X-API-Key", auto_error=False)


def _unauthorized(message: str) -> ApiError:
    return ApiError(401, "unauthorized", message, headers={"WWW-Authenticate": "Bearer"})


def principal_from(st: ServingState, bearer: str | None, api_key: str | None) -> Principal:
    credential = api_key or bearer
    principal = st.principals.get(credential) if credential else None
    if principal is None:
        principal = _authenticate(st, bearer, api_key)
        st.principals.put(credential, principal)
    return principal


def _authenticate(st: ServingState, bearer: str | None, api_key: str | None) -> Principal:
    if api_key:
        return authenticate_key(st.engine, api_key)
    if not bearer:
        raise _unauthorized(
            "authentication required: send 'Authorization: Bearer <token>' (POST /v1/auth/token) "
            "or 'X-API-Key: <key>'"
        )
    if bearer.startswith(PREFIX):
        return authenticate_key(st.engine, bearer)
    return st.tokens.principal(bearer)


async def current_principal(
    request: Request, bearer: str | None = Depends(oauth2), api_key: str | None = Depends(api_key_header)
) -> Principal:
    st = state(request)
    try:  # a principal seen within XGET_API_AUTH_CACHE_S is answered here, without a thread or the database
        principal = st.principals.get(api_key or bearer) if (api_key or bearer) else None
        if principal is None:
            principal = await run_in_threadpool(principal_from, st, bearer, api_key)
    except AuthError as exc:
        raise _unauthorized(str(exc)) from exc
    request.state.principal = principal.name
    wait = st.limiter.take(principal.rate_key)
    if wait:
        raise ApiError(
            429,
            "rate_limited",
            f"rate limit of {st.settings.api_rate_limit_per_minute} requests a minute reached for user "
            f"{principal.username} (all their API keys and sessions together); retry after the "
            "Retry-After seconds",
            headers={"Retry-After": st.limiter.retry_after(wait)},
        )
    return principal


def require(permission: Permission):
    """A dependency that lets the request through only if the principal's role grants ``permission``."""

    async def check(principal: Principal = Depends(current_principal)) -> Principal:
        if not principal.can(permission):
            raise ApiError(
                403,
                "forbidden",
                f"role {principal.role!r} may not do this (needs {permission.value}); "
                "ask an admin for a role that grants it",
            )
        return principal

    check.__name__ = f"require_{permission.name.lower()}"
    return check


def limit_anonymous(request: Request) -> None:
    """Rate limit for unauthenticated endpoints (token, register) by client address: one token of the
    general bucket per request. Failed password logins also take from a far tighter budget of their own
    per address (``logins.py``), and the client address is the TCP peer unless a trusted proxy's
    (``app.uvicorn_options``)."""
    st = state(request)
    client = request.client.host if request.client else "unknown"
    wait = st.limiter.take(f"ip:{client}")
    if wait:
        raise ApiError(
            429,
            "rate_limited",
            "too many requests from this address; retry later",
            headers={"Retry-After": st.limiter.retry_after(wait)},
        )
