"""The pool of X accounts (operators): list, create, change, delete, import, log in, pool status.
Secrets go in (passwords, cookies, MFA secrets) and never come out: responses say only which are stored."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Body, Depends, Path, Query, Request
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from xget_pipelines.core.auth.permissions import Permission
from xget_pipelines.core.auth.users import Principal, audit
from xget_pipelines.core.errors import XGetError
from xget_pipelines.core.pools import accounts as core_accounts
from xget_pipelines.core.pools.importing import parse_account_file
from xget_pipelines.core.secrets import SecretBox
from xget_pipelines.serving.deps import UtcDateTime, require
from xget_pipelines.serving.errors import ERROR_RESPONSES, ApiError
from xget_pipelines.serving.export import EXPORT_RESPONSES, Format, rows_response
from xget_pipelines.serving.state import state

router = APIRouter(tags=["accounts"], responses=ERROR_RESPONSES)
read_dep = require(Permission.ACCOUNTS_READ)
write_dep = require(Permission.ACCOUNTS_WRITE)
Username = Path(..., min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_]+$")


class AccountIn(BaseModel):
    username: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_]+$")
    password: str | None = Field(default=None, max_length=1024)
    email: str | None = Field(default=None, max_length=320)
    email_password: str | None = Field(default=None, max_length=1024)
    mfa_secret: str | None = Field(default=None, max_length=256)
    cookies: dict[str, str] | None = Field(default=None, description='e.g. {"auth_token": ..., "ct0": ...}')
    login_method: Literal["TWITTER", "GOOGLE"] | None = None
    user_agent: str | None = Field(default=None, max_length=512)
    proxy_url: str | None = Field(default=None, max_length=512)


class AccountPatch(BaseModel):
    active: bool | None = Field(default=None, description="false takes the account out of the pool")
    reason: str | None = Field(default=None, max_length=500, description="Why (when disabling)")
    password: str | None = Field(default=None, max_length=1024)
    email: str | None = Field(default=None, max_length=320)
    email_password: str | None = Field(default=None, max_length=1024)
    mfa_secret: str | None = Field(default=None, max_length=256)
    cookies: dict[str, str] | None = None
    login_method: Literal["TWITTER", "GOOGLE"] | None = None
    user_agent: str | None = Field(default=None, max_length=512)
    wanted_country: str | None = Field(
        default=None,
        min_length=2,
        max_length=3,
        pattern=r"^([A-Za-z]{2}|any)$",
        description="Bind only to proxies of this country (ISO 3166-1 alpha-2); 'any' clears it",
    )


class AccountPut(BaseModel):
    """Every editable field of an account (PUT replaces them all: a field left out is cleared, secrets too;
    PATCH changes only the fields it names)."""

    password: str | None = Field(default=None, max_length=1024)
    email: str | None = Field(default=None, max_length=320)
    email_password: str | None = Field(default=None, max_length=1024)
    mfa_secret: str | None = Field(default=None, max_length=256)
    cookies: dict[str, str] | None = Field(default=None, description='e.g. {"auth_token": ..., "ct0": ...}')
    login_method: Literal["TWITTER", "GOOGLE"] = "TWITTER"
    user_agent: str | None = Field(default=None, max_length=512)
    proxy_url: str | None = Field(default=None, max_length=512)
    wanted_country: str | None = Field(
        default=None,
        min_length=2,
        max_length=2,
        pattern=r"^[A-Za-z]{2}$",
        description="Bind only to proxies of this country (ISO 3166-1 alpha-2); null: any",
    )
    active: bool = Field(default=True, description="false takes the account out of the pool")
    reason: str | None = Field(default=None, max_length=500, description="Why (when disabling)")


class OperationOut(BaseModel):
    operation: str
    remaining: int | None
    limit: int | None
    reset_at: float | None
    requests: int
    errors: int
    soft_bans: int


class AccountOut(BaseModel):
    username: str
    email: str | None
    login_method: str
    active: bool
    error: str | None
    quarantined_until: float | None
    proxy_id: int | None
    wanted_country: str | None = None
    has_password: bool
    has_email_password: bool
    has_mfa_secret: bool
    has_cookies: bool
    last_used: Any = None
    created_at: Any = None
    operations: list[OperationOut]


class OperationStatusOut(OperationOut):
    open: bool = Field(description="Whether the window has requests left now (or has reset)")


class AccountStatusOut(BaseModel):
    username: str
    state: Literal["active", "quarantined", "out"]
    active: bool
    reason: str | None = Field(description="Why the account is out or quarantined, and what to do")
    out_cause: str | None = Field(
        description="session, login (logged in again by upkeep), suspended, locked, refused (re-checked "
        "rarely); null: out by hand"
    )
    quarantined_until: float | None
    last_used: UtcDateTime | None
    last_check_at: UtcDateTime | None = Field(description="The upkeep's last cheap request as the account")
    last_check: str | None = Field(description="What it found")
    next_check_at: UtcDateTime | None = Field(description="When upkeep looks at the account again")
    last_login_at: UtcDateTime | None = Field(description="The last automatic login (tried)")
    login_reason: str | None = Field(description="Why it was made, and how it ended")
    login_failures: int = Field(description="Failed automatic logins in a row (the backoff exponent)")
    logins_today: int = Field(
        description="Automatic logins this UTC day (XGET_ACCOUNT_LOGINS_PER_DAY caps them)"
    )
    operations: list[OperationStatusOut]


class ImportOut(BaseModel):
    created: int
    updated: int
    skipped: list[str]


def _secret_box(request: Request) -> SecretBox:
    """The installation's key, as the app's settings give it."""
    return state(request).settings.secret_box()


def _one(request: Request, username: str) -> dict:
    found = core_accounts.account_views(state(request).engine, username)
    if not found:
        raise ApiError(404, "not_found", f"no account {username!r} (GET /v1/accounts lists them)")
    return found[0]


def _upsert(request: Request, record: core_accounts.AccountRecord, principal: Principal, action: str) -> None:
    st = state(request)
    core_accounts.upsert_accounts(st.engine, _secret_box(request), [record])
    with st.engine.begin() as conn:
        audit(conn, principal.user_id, action, f"account:{record.username}")


@router.get(
    "/accounts",
    response_model=list[AccountOut],
    responses=EXPORT_RESPONSES,
    summary="Every account with its state and windows",
)
async def list_accounts(
    request: Request,
    active: bool | None = None,
    format: Format | None = Query(None, description="json, ndjson, csv, parquet or xlsx: download every row"),
    _: Principal = Depends(read_dep),
):
    rows = await run_in_threadpool(core_accounts.account_views, state(request).engine)
    rows = [r for r in rows if active is None or r["active"] == active]
    return await run_in_threadpool(rows_response, rows, format, "accounts") if format else rows


@router.get(
    "/accounts/status",
    response_model=dict[str, Any],
    summary="Pool health: usable, quarantined, inactive accounts (with reasons), per X operation",
)
async def pool_status(request: Request, _: Principal = Depends(read_dep)) -> dict:
    from xget_pipelines.core.pools.health import pool_health, rate_limited

    st = state(request)
    health = await run_in_threadpool(pool_health, st.engine)
    return {**health.as_dict(), "rate_limited": await run_in_threadpool(rate_limited, st.engine)}


@router.post("/accounts", status_code=201, response_model=AccountOut, summary="Add an account (or update it)")
async def create_account(
    request: Request, body: AccountIn, principal: Principal = Depends(write_dep)
) -> dict:
    if not (body.cookies or body.password):
        raise ApiError(
            422, "invalid", "an account needs a password (to log in) or cookies of a session", "password"
        )
    record = core_accounts.AccountRecord(**body.model_dump())
    await run_in_threadpool(_upsert, request, record, principal, "account.create")
    return await run_in_threadpool(_one, request, body.username)


@router.post(
    "/accounts/import",
    response_model=ImportOut,
    summary="Import accounts from a file's text "
    "(twscrape lines, CSV or JSON); bad lines are listed, good ones imported",
)
async def import_accounts(
    request: Request,
    body: str = Body(..., media_type="text/plain", min_length=1, max_length=20_000_000),
    format: Literal["lines", "csv", "json"] = "lines",
    columns: str = Query("username:password:email:email_password:mfa_secret", max_length=300),
    login_method: Literal["TWITTER", "GOOGLE"] = "TWITTER",
    principal: Principal = Depends(write_dep),
) -> dict:
    st = state(request)
    try:  # a file of many MiB parses for a while: not on the event loop
        parsed = await run_in_threadpool(parse_account_file, body, format, columns, login_method)
    except ValueError as exc:
        raise ApiError(422, "invalid", str(exc), "body") from exc
    result = await run_in_threadpool(
        core_accounts.upsert_accounts, st.engine, _secret_box(request), parsed.records
    )
    with st.engine.begin() as conn:
        audit(
            conn,
            principal.user_id,
            "account.import",
            "accounts",
            {"created": result.created, "updated": result.updated},
        )
    return {"created": result.created, "updated": result.updated, "skipped": [str(e) for e in parsed.errors]}


@router.get("/accounts/{username}", response_model=AccountOut, summary="One account")
async def get_account(request: Request, username: str = Username, _: Principal = Depends(read_dep)) -> dict:
    return await run_in_threadpool(_one, request, username)


@router.patch(
    "/accounts/{username}",
    response_model=AccountOut,
    summary="Enable/disable an account or change its credentials",
)
async def update_account(
    request: Request, body: AccountPatch, username: str = Username, principal: Principal = Depends(write_dep)
) -> dict:
    from xget_pipelines.core.pools.account_pool import AccountPool

    await run_in_threadpool(_one, request, username)
    secrets = body.model_dump(exclude={"active", "reason", "wanted_country"}, exclude_none=True)
    if secrets:
        await run_in_threadpool(
            _upsert,
            request,
            core_accounts.AccountRecord(username=username, **secrets),
            principal,
            "account.update",
        )
    if body.wanted_country is not None:
        wanted = None if body.wanted_country.lower() == "any" else body.wanted_country
        pool = AccountPool(state(request).engine, secrets=_secret_box(request))
        await run_in_threadpool(pool.set_wanted_country, username, wanted)
        with state(request).engine.begin() as conn:
            audit(conn, principal.user_id, "account.country", f"account:{username}", {"country": wanted})
    if body.active is not None:
        pool = AccountPool(state(request).engine, secrets=_secret_box(request))
        await run_in_threadpool(
            pool.set_active, username, body.active, body.reason or "disabled over the API"
        )
        with state(request).engine.begin() as conn:
            audit(
                conn,
                principal.user_id,
                "account.enable" if body.active else "account.disable",
                f"account:{username}",
                {"reason": body.reason},
            )
    return await run_in_threadpool(_one, request, username)


@router.put(
    "/accounts/{username}",
    response_model=AccountOut,
    summary="Replace an account's editable fields (those left out are cleared, secrets too)",
)
async def replace_account(
    request: Request, body: AccountPut, username: str = Username, principal: Principal = Depends(write_dep)
) -> dict:
    from xget_pipelines.core.pools.account_pool import AccountPool

    await run_in_threadpool(_one, request, username)
    if not (body.cookies or body.password):
        raise ApiError(
            422, "invalid", "an account needs a password (to log in) or cookies of a session", "password"
        )
    fields = body.model_dump(exclude={"active", "reason", "wanted_country"})
    record = core_accounts.AccountRecord(username=username, **fields)
    wanted = body.wanted_country.upper() if body.wanted_country else None
    st = state(request)
    await run_in_threadpool(core_accounts.replace_account, st.engine, _secret_box(request), record, wanted)
    if not body.active:
        pool = AccountPool(st.engine, secrets=_secret_box(request))
        await run_in_threadpool(pool.set_active, username, False, body.reason or "disabled over the API")
    with st.engine.begin() as conn:
        audit(conn, principal.user_id, "account.replace", f"account:{username}", {"active": body.active})
    return await run_in_threadpool(_one, request, username)


@router.get(
    "/accounts/{username}/status",
    response_model=AccountStatusOut,
    summary="One account's state: its windows per X operation, the upkeep's last check and login, the "
    "reason, the next check",
)
async def account_status(
    request: Request, username: str = Username, _: Principal = Depends(read_dep)
) -> dict:
    from xget_pipelines.core.pools.account_status import account_status as status_of

    found = await run_in_threadpool(status_of, state(request).engine, username)
    if found is None:
        raise ApiError(404, "not_found", f"no account {username!r} (GET /v1/accounts lists them)")
    return found


@router.delete("/accounts/{username}", status_code=204, summary="Remove an account from the pool")
async def delete_account(
    request: Request, username: str = Username, principal: Principal = Depends(write_dep)
) -> None:
    if not await run_in_threadpool(core_accounts.delete_account, state(request).engine, username):
        raise ApiError(404, "not_found", f"no account {username!r}")
    with state(request).engine.begin() as conn:
        audit(conn, principal.user_id, "account.delete", f"account:{username}")


class LoginIn(BaseModel):
    email_code: str | None = Field(
        default=None, max_length=32, description="A code X emailed (default: read the mailbox over IMAP)"
    )


@router.post(
    "/accounts/{username}/login",
    response_model=AccountOut,
    summary="Log the account in (X password flow or Google) and store the new session",
)
async def login(
    request: Request,
    username: str = Username,
    body: LoginIn | None = None,
    principal: Principal = Depends(write_dep),
) -> dict:
    from xget_pipelines.core.pools.account_login import login_account
    from xget_pipelines.core.pools.account_pool import AccountPool

    st = state(request)
    settings = st.settings
    await run_in_threadpool(_one, request, username)
    code = body.email_code if body else None
    setup = settings.login_setup()
    try:
        await run_in_threadpool(
            login_account,
            AccountPool(st.engine, secrets=_secret_box(request)),
            username,
            setup,
            (lambda: code) if code else None,
        )
    except XGetError as exc:
        raise ApiError(422, "login_failed", str(exc)) from exc
    finally:
        with st.engine.begin() as conn:
            audit(conn, principal.user_id, "account.login", f"account:{username}")
    return await run_in_threadpool(_one, request, username)
