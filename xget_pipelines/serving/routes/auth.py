"""Tokens, registration, the caller's own profile, preferences and API keys."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Depends, Form, Request, Response
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from xget_pipelines.core.auth import keys as api_keys
from xget_pipelines.core.auth import users
from xget_pipelines.core.auth.permissions import ROLES, narrower, permissions_of
from xget_pipelines.core.auth.users import AuthError, Principal
from xget_pipelines.serving.deps import UtcDateTime, current_principal, limit_anonymous
from xget_pipelines.serving.errors import ERROR_RESPONSES, ApiError
from xget_pipelines.serving.logins import check_password
from xget_pipelines.serving.state import state

# An answer carrying a credential (tokens, a new API key) is never cached nor kept: RFC 6749 section 5.1 asks
# this of token answers, and the idempotency store withholds any answer marked so (gateway).
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}

router = APIRouter(tags=["auth"], responses=ERROR_RESPONSES)


class TokenOut(BaseModel):
    access_token: str
    token_type: str = "bearer"
    expires_in: int
    refresh_token: str | None = None


class RegisterIn(BaseModel):
    username: str = Field(min_length=3, max_length=64, pattern=r"^[A-Za-z0-9_.-]+$")
    password: str = Field(min_length=10, max_length=1024)
    email: str | None = Field(default=None, max_length=320)


class UserOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)  # routes answer core.auth.users.ApiUser records

    id: int
    username: str
    email: str | None
    role: str
    status: str
    preferences: dict[str, Any]
    created_at: UtcDateTime
    last_login_at: UtcDateTime | None
    failed_logins: int = Field(
        0, description="Failed password logins in a row (since the last success or unlock; a day forgets)."
    )
    locked_until: UtcDateTime | None = Field(
        None,
        description="Password logins are refused until then (too many failed); an admin can unlock: "
        "POST /v1/admin/users/{user_id}/unlock.",
    )


class MeOut(UserOut):
    permissions: list[str]
    authenticated_via: str


class KeyIn(BaseModel):
    name: str = Field(min_length=1, max_length=128, description="What uses the key (shown in lists).")
    role: Literal["viewer", "analyst", "operator", "admin"] | None = Field(
        default=None, description="A narrower role for the key; default: yours."
    )
    expires_in_days: int | None = Field(default=None, ge=1, le=3650)


class KeyOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)  # routes answer core.auth.keys.ApiKeyInfo records

    key_id: str
    name: str
    user_id: int
    role: str | None
    created_at: UtcDateTime
    expires_at: UtcDateTime | None
    last_used_at: UtcDateTime | None
    revoked: bool


class NewKeyOut(KeyOut):
    api_key: str = Field(description="The key itself: shown this once, store it now.")


def _token_error(message: str, code: str = "invalid_grant") -> ApiError:
    return ApiError(
        400 if code != "invalid_client" else 401,
        code,
        message,
        headers={"WWW-Authenticate": "Bearer"} if code == "invalid_client" else None,
    )


@router.post(
    "/auth/token",
    response_model=TokenOut,
    dependencies=[Depends(limit_anonymous)],
    summary="Get tokens (OAuth2: password, refresh_token or client_credentials grant)",
)
async def token(
    request: Request,
    response: Response,
    grant_type: Literal["password", "refresh_token", "client_credentials"] = Form(
        ..., description="password (people), refresh_token, or client_credentials (machines: an API key)"
    ),
    username: str | None = Form(None, max_length=64),
    password: str | None = Form(None, max_length=1024),
    refresh_token: str | None = Form(None, max_length=4096),
    client_id: str | None = Form(None, max_length=64, description="client_credentials: the API key id"),
    client_secret: str | None = Form(None, max_length=512, description="client_credentials: the API key"),
    scope: str | None = Form(None, max_length=512),
) -> TokenOut:
    st = state(request)
    try:
        if grant_type == "password":
            if not username or not password:
                raise _token_error("the password grant needs username and password", "invalid_request")
            principal = await check_password(request, username, password)
            pair = await run_in_threadpool(st.tokens.issue, principal)
        elif grant_type == "refresh_token":
            if not refresh_token:
                raise _token_error("the refresh_token grant needs refresh_token", "invalid_request")
            pair = await run_in_threadpool(st.tokens.refresh, refresh_token)
        else:
            if not client_secret:
                raise _token_error(
                    "client_credentials needs client_id and client_secret (the API key)", "invalid_request"
                )
            key_id = client_id or api_keys.split_key(client_secret)[0]
            principal = await run_in_threadpool(
                api_keys.authenticate_client, st.engine, key_id, client_secret
            )
            pair = await run_in_threadpool(st.tokens.issue, principal)
    except AuthError as exc:
        raise _token_error(
            str(exc), "invalid_client" if grant_type == "client_credentials" else "invalid_grant"
        ) from exc
    response.headers.update(NO_STORE)
    return TokenOut(
        access_token=pair.access_token, expires_in=pair.expires_in, refresh_token=pair.refresh_token or None
    )


class LogoutIn(BaseModel):
    refresh_token: str = Field(max_length=4096)


@router.post("/auth/logout", status_code=204, summary="End a login (revokes its refresh tokens)")
async def logout(request: Request, body: LogoutIn, principal: Principal = Depends(current_principal)) -> None:
    try:
        await run_in_threadpool(state(request).tokens.revoke, body.refresh_token, principal.user_id)
    except AuthError as exc:
        raise ApiError(422, "invalid", str(exc), "refresh_token") from exc


@router.post(
    "/auth/register",
    status_code=201,
    response_model=UserOut,
    dependencies=[Depends(limit_anonymous)],
    summary="Register (when XGET_API_REGISTRATION allows it)",
)
async def register(request: Request, body: RegisterIn) -> dict:
    st = state(request)
    mode = st.settings.api_registration
    if mode == "closed":
        raise ApiError(403, "registration_closed", "registration is closed here: ask an admin for an account")
    status = "active" if mode == "open" else "pending"
    return await st.password_gate.run(  # hashes the password: argon2, one of the gate's
        users.create_user, st.engine, body.username, body.password, "viewer", email=body.email, status=status
    )


@router.get("/me", response_model=MeOut, summary="Who you are, your role and permissions")
async def me(request: Request, principal: Principal = Depends(current_principal)) -> dict:
    user = await run_in_threadpool(users.get_user, state(request).engine, principal.user_id)
    return {
        **user.as_dict(),
        "role": principal.role,
        "permissions": sorted(p.value for p in permissions_of(principal.role)),
        "authenticated_via": principal.via,
    }


@router.patch(
    "/me/preferences",
    response_model=dict[str, Any],
    summary="Merge into your preferences (a JSON object; null removes a key)",
)
async def preferences(
    request: Request, body: dict[str, Any], principal: Principal = Depends(current_principal)
) -> dict:
    return await run_in_threadpool(users.set_preferences, state(request).engine, principal.user_id, body)


class PasswordIn(BaseModel):
    current_password: str = Field(max_length=1024)
    new_password: str = Field(min_length=10, max_length=1024)


@router.post("/me/password", status_code=204, summary="Change your password")
async def change_password(
    request: Request, body: PasswordIn, principal: Principal = Depends(current_principal)
) -> None:
    st = state(request)
    try:
        await check_password(request, principal.username, body.current_password, per_address=False)
    except AuthError as exc:
        raise ApiError(422, "invalid", "current password is wrong", "current_password") from exc
    await st.password_gate.run(
        users.update_user, st.engine, principal.user_id, actor=principal.user_id, password=body.new_password
    )
    st.principals.clear()  # every session of the old password ends now, this process's cache included


@router.get("/me/keys", response_model=list[KeyOut], summary="Your API keys (never the keys themselves)")
async def list_my_keys(request: Request, principal: Principal = Depends(current_principal)) -> list[dict]:
    return await run_in_threadpool(api_keys.list_keys, state(request).engine, principal.user_id)


@router.post("/me/keys", status_code=201, response_model=NewKeyOut, summary="Create an API key (shown once)")
async def create_my_key(
    request: Request, response: Response, body: KeyIn, principal: Principal = Depends(current_principal)
) -> dict:
    if principal.via in ("api_key", "client_credentials"):
        raise ApiError(403, "forbidden", "an API key cannot create API keys: log in as the user")
    role = narrower(body.role, principal.role) if body.role else None
    if body.role and role != body.role:
        raise ApiError(403, "forbidden", f"a key cannot have more than your role ({principal.role})", "role")
    st = state(request)
    record, key = await run_in_threadpool(
        lambda: api_keys.create_key(
            st.engine,
            principal.user_id,
            body.name,
            role,
            body.expires_in_days,
            max_active=st.settings.api_max_keys_per_user,
        )
    )
    response.headers.update(NO_STORE)
    return {**record.as_dict(), "api_key": key}


@router.delete("/me/keys/{key_id}", status_code=204, summary="Revoke one of your API keys")
async def revoke_my_key(
    request: Request, key_id: str, principal: Principal = Depends(current_principal)
) -> None:
    revoked = await run_in_threadpool(
        api_keys.revoke_key, state(request).engine, key_id, principal.user_id, principal.user_id
    )
    state(request).principals.clear()
    if not revoked:
        raise ApiError(404, "not_found", f"you have no active API key {key_id!r}")


ROLE_NAMES = ROLES
