"""People who use the API, their keys, and the audit log (admin), under ``/v1/admin`` (``/v1/users`` is
X users, in analytics)."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Depends, Path, Query, Request
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from xget_pipelines.core.auth import keys as api_keys
from xget_pipelines.core.auth import users
from xget_pipelines.core.auth.permissions import Permission
from xget_pipelines.core.auth.users import Principal
from xget_pipelines.serving.deps import UtcDateTime, require
from xget_pipelines.serving.errors import ERROR_RESPONSES, ApiError
from xget_pipelines.serving.export import EXPORT_RESPONSES, Format, rows_response
from xget_pipelines.serving.routes.auth import KeyOut, UserOut
from xget_pipelines.serving.state import state

router = APIRouter(tags=["users"], responses=ERROR_RESPONSES)
admin = require(Permission.USERS_ADMIN)
Role = Literal["viewer", "analyst", "operator", "admin"]
UserId = Path(
    ..., ge=1, le=2**31 - 1, description="The user's id"
)  # an INTEGER column (32-bit on PostgreSQL)


class UserIn(BaseModel):
    username: str = Field(min_length=3, max_length=64, pattern=r"^[A-Za-z0-9_.-]+$")
    password: str = Field(min_length=10, max_length=1024)
    role: Role = "viewer"
    email: str | None = Field(default=None, max_length=320)


class UserPatch(BaseModel):
    role: Role | None = None
    status: Literal["active", "pending", "disabled"] | None = None
    email: str | None = Field(default=None, max_length=320)
    password: str | None = Field(default=None, min_length=10, max_length=1024)


class AuditOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)  # answers core.auth.users.AuditRecord records

    id: int
    user_id: int | None
    action: str
    subject: str
    detail: dict[str, Any] | None
    at: UtcDateTime


@router.get("/admin/users", response_model=list[UserOut], responses=EXPORT_RESPONSES, summary="Every user")
async def list_users(
    request: Request,
    format: Format | None = Query(None, description="json, ndjson, csv, parquet or xlsx: download every row"),
    _: Principal = Depends(admin),
):
    rows = await run_in_threadpool(users.list_users, state(request).engine)
    if format:
        return await run_in_threadpool(rows_response, [u.as_dict() for u in rows], format, "users")
    return rows


@router.post("/admin/users", status_code=201, response_model=UserOut, summary="Create a user")
async def create_user(request: Request, body: UserIn, principal: Principal = Depends(admin)) -> dict:
    return await state(request).password_gate.run(  # hashes the password: argon2, one of the gate's
        users.create_user,
        state(request).engine,
        body.username,
        body.password,
        body.role,
        email=body.email,
        actor=principal.user_id,
    )


@router.get("/admin/users/{user_id}", response_model=UserOut, summary="One user")
async def get_user(request: Request, user_id: int = UserId, _: Principal = Depends(admin)) -> dict:
    return await run_in_threadpool(users.get_user, state(request).engine, user_id)


async def _keep_an_admin(request: Request, user_id: int, principal: Principal, demoted: bool) -> None:
    if demoted and user_id == principal.user_id:
        count = await run_in_threadpool(users.count_admins, state(request).engine)
        if count <= 1:
            raise ApiError(409, "conflict", "you are the last active admin: make another admin first")


@router.patch(
    "/admin/users/{user_id}",
    response_model=UserOut,
    summary="Change a user's role, status, email or password "
    "(activate a pending registration with status=active)",
)
async def update_user(
    request: Request, body: UserPatch, user_id: int = UserId, principal: Principal = Depends(admin)
) -> dict:
    await _keep_an_admin(
        request,
        user_id,
        principal,
        (body.role not in (None, "admin")) or body.status in ("pending", "disabled"),
    )
    # A new password is hashed (argon2): through the gate of password checks.
    run = state(request).password_gate.run if body.password is not None else run_in_threadpool
    updated = await run(
        users.update_user,
        state(request).engine,
        user_id,
        actor=principal.user_id,
        role=body.role,
        status=body.status,
        email=body.email,
        password=body.password,
    )
    state(request).principals.clear()  # a lowered role or a disabled user counts from the next request
    return updated


@router.delete("/admin/users/{user_id}", status_code=204, summary="Disable a user (kept for the audit log)")
async def delete_user(request: Request, user_id: int = UserId, principal: Principal = Depends(admin)) -> None:
    await _keep_an_admin(request, user_id, principal, True)
    await run_in_threadpool(users.delete_user, state(request).engine, user_id, principal.user_id)
    state(request).principals.clear()


@router.post(
    "/admin/users/{user_id}/unlock",
    response_model=UserOut,
    summary="Clear a user's failed logins and any lockout (their password logins work again at once)",
)
async def unlock_user(request: Request, user_id: int = UserId, principal: Principal = Depends(admin)) -> dict:
    return await run_in_threadpool(users.unlock_user, state(request).engine, user_id, principal.user_id)


@router.get("/admin/users/{user_id}/keys", response_model=list[KeyOut], summary="A user's API keys")
async def user_keys(request: Request, user_id: int = UserId, _: Principal = Depends(admin)) -> list[dict]:
    await run_in_threadpool(users.get_user, state(request).engine, user_id)
    return await run_in_threadpool(api_keys.list_keys, state(request).engine, user_id)


@router.delete("/admin/keys/{key_id}", status_code=204, summary="Revoke any API key")
async def revoke_key(request: Request, key_id: str, principal: Principal = Depends(admin)) -> None:
    revoked = await run_in_threadpool(api_keys.revoke_key, state(request).engine, key_id, principal.user_id)
    state(request).principals.clear()
    if not revoked:
        raise ApiError(404, "not_found", f"no active API key {key_id!r}")


@router.get("/admin/audit", response_model=list[AuditOut], summary="The audit log, newest first")
async def audit_log(
    request: Request,
    subject: str | None = Query(None, max_length=256),
    limit: int = Query(100, ge=1, le=1000),
    before_id: int | None = Query(None, ge=1, le=2**31 - 1),
    _: Principal = Depends(admin),
) -> list[users.AuditRecord]:
    return await run_in_threadpool(users.audit_log, state(request).engine, subject, limit, before_id)
