"""The proxy pool (operators): list, add, import, check, remove, the available ones. Proxy passwords go in
and never come out (URLs are shown as ``scheme://user:***@host:port``)."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Body, Depends, Path, Query, Request
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from xget_pipelines.core.auth.permissions import Permission
from xget_pipelines.core.auth.users import Principal, audit
from xget_pipelines.core.pools.proxies import ProxyPool
from xget_pipelines.core.pools.proxy_records import (
    ProxyError,
    TargetUnreachable,
    check_country,
    check_target_url,
    parse_proxy,
    parse_proxy_lines,
)
from xget_pipelines.serving.deps import UtcDateTime, require
from xget_pipelines.serving.errors import ERROR_RESPONSES, ApiError
from xget_pipelines.serving.export import EXPORT_RESPONSES, Format, rows_response
from xget_pipelines.serving.state import state

router = APIRouter(tags=["proxies"], responses=ERROR_RESPONSES)
read_dep = require(Permission.PROXIES_READ)
write_dep = require(Permission.PROXIES_WRITE)
ProxyId = Path(..., ge=1, le=2**31 - 1)  # routes say {proxy_id:int}: /proxies/available is never a proxy id
COUNTRY = r"^[A-Za-z]{2}$"  # ISO 3166-1 alpha-2 (what check_country accepts)
Country = Query(
    None, min_length=2, max_length=2, pattern=COUNTRY, description="ISO 3166-1 alpha-2 code, e.g. DE"
)
Status = Literal["ACTIVE", "INACTIVE", "CHECKING"]


class ProxyIn(BaseModel):
    proxy: str = Field(
        min_length=3,
        max_length=600,
        description="URL (http://, https://, socks5://, with credentials) or host:port[:user:pass]",
    )
    country: str | None = Field(default=None, min_length=2, max_length=2, pattern=COUNTRY)
    city: str | None = Field(default=None, max_length=128)
    isp: str | None = Field(default=None, max_length=128)


class ProxyOut(BaseModel):
    id: int
    proxy: str
    status: str
    country: str | None
    city: str | None
    isp: str | None
    latency_ms: float | None
    success_rate: float | None
    checks: int
    failures: int
    last_check_at: UtcDateTime | None
    last_error: str | None
    exit_ip: str | None = Field(description="The address the check target saw (unknown for real X)")
    exit_country: str | None = Field(description="Country of exit_ip, looked up offline")
    failed_checks: int = Field(description="Checks in a row without a success (backoff exponent)")
    next_check_at: UtcDateTime | None = Field(description="When the proxy upkeep checks it again")


class ImportOut(BaseModel):
    created: int
    updated: int
    skipped: list[str]


class CheckIn(BaseModel):
    ids: list[Annotated[int, Field(ge=1, le=2**31 - 1)]] | None = Field(
        default=None, max_length=10_000, description="Default: every proxy"
    )
    timeout_s: float = Field(default=5.0, gt=0, le=60)
    attempts: int = Field(default=3, ge=1, le=10)
    target: str | None = Field(
        default=None,
        max_length=2000,
        description="http(s) URL fetched through each proxy; default: XGET_PROXY_CHECK_URL (X's robots.txt "
        "for real X, the emulator's /_emulator/whoami otherwise)",
    )


class CheckOut(BaseModel):
    proxy_id: int
    proxy: str
    status: str
    attempts: int
    successes: int
    latency_ms: float | None
    success_rate: float | None
    error: str | None
    exit_ip: str | None
    exit_country: str | None


def _pool(request: Request) -> ProxyPool:
    return ProxyPool(state(request).engine, state(request).settings.secret_box())


def _audit(
    request: Request, principal: Principal, action: str, subject: str, detail: dict | None = None
) -> None:
    with state(request).engine.begin() as conn:
        audit(conn, principal.user_id, action, subject, detail)


@router.get(
    "/proxies", response_model=list[ProxyOut], responses=EXPORT_RESPONSES, summary="Proxies, best first"
)
async def list_proxies(
    request: Request,
    status: Status | None = None,
    country: str | None = Country,
    format: Format | None = Query(None, description="json, ndjson, csv, parquet or xlsx: download every row"),
    _: Principal = Depends(read_dep),
):
    found = await run_in_threadpool(_pool(request).list, status, country and country.upper())
    rows = [p.as_dict() | {"checks": p.checks, "failures": p.failures} for p in found]
    return await run_in_threadpool(rows_response, rows, format, "proxies") if format else rows


@router.get("/proxies/available", response_model=list[ProxyOut], summary="ACTIVE proxies, best first")
async def available(
    request: Request,
    country: str | None = Country,
    max_latency_ms: float | None = Query(None, gt=0, le=600_000),
    _: Principal = Depends(read_dep),
) -> list[dict]:
    rows = await run_in_threadpool(_pool(request).available, country and country.upper(), max_latency_ms)
    return [p.as_dict() | {"checks": p.checks, "failures": p.failures} for p in rows]


@router.post(
    "/proxies", status_code=201, response_model=ProxyOut, summary="Add a proxy (CHECKING until checked)"
)
async def create_proxy(request: Request, body: ProxyIn, principal: Principal = Depends(write_dep)) -> dict:
    try:
        record = parse_proxy(body.proxy)
    except (ProxyError, ValueError) as exc:
        raise ApiError(422, "invalid", str(exc), "proxy") from exc
    try:
        record.country = check_country(body.country) if body.country else record.country
    except ValueError as exc:
        raise ApiError(422, "invalid", str(exc), "country") from exc
    record.city = body.city or record.city
    record.isp = body.isp or record.isp
    pool = _pool(request)
    result = await run_in_threadpool(pool.import_proxies, [record])
    proxy_id = result.ids[0]
    await run_in_threadpool(_audit, request, principal, "proxy.create", f"proxy:{proxy_id}")
    info = await run_in_threadpool(pool.get, proxy_id)
    return info.as_dict() | {"checks": info.checks, "failures": info.failures}


@router.post(
    "/proxies/import", response_model=ImportOut, summary="Import proxies, one a line; bad lines listed"
)
async def import_proxies(
    request: Request,
    body: str = Body(..., media_type="text/plain", min_length=1, max_length=20_000_000),
    scheme: Literal["http", "https", "socks5"] = "http",
    country: str | None = Country,
    principal: Principal = Depends(write_dep),
) -> dict:
    try:
        parsed = parse_proxy_lines(body, scheme, country)
    except (ProxyError, ValueError) as exc:
        raise ApiError(422, "invalid", str(exc), "country" if country else "body") from exc
    result = await run_in_threadpool(_pool(request).import_proxies, parsed.records)
    await run_in_threadpool(
        _audit,
        request,
        principal,
        "proxy.import",
        "proxies",
        {"created": result.created, "updated": result.updated},
    )
    return {"created": result.created, "updated": result.updated, "skipped": [str(e) for e in parsed.errors]}


@router.post(
    "/proxies/check",
    response_model=list[CheckOut],
    summary="Check proxies now (latency, success rate, exit address); failing ones become INACTIVE",
    description="Fetches `target` directly, then through each proxy. When the target answers neither "
    "directly nor through any proxy, the answer is 502 `target_unreachable` naming the target and no proxy "
    "is marked: a dead target says nothing about the proxies.",
)
async def check(
    request: Request, body: CheckIn | None = None, _: Principal = Depends(write_dep)
) -> list[dict]:
    body = body or CheckIn()
    settings = state(request).settings
    try:
        target = check_target_url(body.target) if body.target else settings.resolved_proxy_check_url
    except ValueError as exc:
        raise ApiError(422, "invalid", str(exc), "target") from exc
    try:
        results = await _pool(request).acheck(
            body.ids,
            target_url=target,
            timeout_s=body.timeout_s,
            attempts=body.attempts,
            cadence=settings.proxy_cadence(),  # a check by hand counts as one of the upkeep's
        )
    except TargetUnreachable as exc:
        raise ApiError(502, "target_unreachable", str(exc), "target") from exc
    except ProxyError as exc:
        raise ApiError(
            404 if "no proxy" in str(exc) else 422,
            "not_found" if "no proxy" in str(exc) else "invalid",
            str(exc),
            "ids",
        ) from exc
    return [
        {
            "proxy_id": r.proxy_id,
            "proxy": r.proxy,
            "status": r.status,
            "attempts": r.attempts,
            "successes": r.successes,
            "latency_ms": r.latency_ms,
            "success_rate": r.success_rate,
            "error": r.error,
            "exit_ip": r.exit_ip,
            "exit_country": r.exit_country,
        }
        for r in results
    ]


@router.get("/proxies/{proxy_id:int}", response_model=ProxyOut, summary="One proxy")
async def get_proxy(request: Request, proxy_id: int = ProxyId, _: Principal = Depends(read_dep)) -> dict:
    try:
        info = await run_in_threadpool(_pool(request).get, proxy_id)
    except ProxyError as exc:
        raise ApiError(404, "not_found", str(exc)) from exc
    return info.as_dict() | {"checks": info.checks, "failures": info.failures}


@router.put(
    "/proxies/{proxy_id:int}",
    response_model=ProxyOut,
    summary="Replace a proxy's endpoint, credentials, country, city and ISP (those left out are cleared)",
    description="The accounts bound to the proxy stay bound. A new endpoint or password makes the proxy "
    "CHECKING again, due at the proxy upkeep's next tick; 409 when another proxy has the endpoint.",
)
async def replace_proxy(
    request: Request, body: ProxyIn, proxy_id: int = ProxyId, principal: Principal = Depends(write_dep)
) -> dict:
    from xget_pipelines.core.pools.proxy_edit import ProxyConflict
    from xget_pipelines.core.pools.proxy_edit import replace_proxy as replace

    try:
        record = parse_proxy(body.proxy)
    except (ProxyError, ValueError) as exc:
        raise ApiError(422, "invalid", str(exc), "proxy") from exc
    try:
        record.country = check_country(body.country) if body.country else record.country
    except ValueError as exc:
        raise ApiError(422, "invalid", str(exc), "country") from exc
    record.city, record.isp = body.city or record.city, body.isp or record.isp  # or the spec's, as POST
    pool = _pool(request)
    try:
        await run_in_threadpool(replace, pool, proxy_id, record)
    except ProxyConflict as exc:
        raise ApiError(409, "conflict", str(exc), "proxy") from exc
    except ProxyError as exc:
        raise ApiError(404, "not_found", str(exc)) from exc
    await run_in_threadpool(_audit, request, principal, "proxy.replace", f"proxy:{proxy_id}")
    info = await run_in_threadpool(pool.get, proxy_id)
    return info.as_dict() | {"checks": info.checks, "failures": info.failures}


@router.delete("/proxies/{proxy_id:int}", status_code=204, summary="Remove a proxy (its accounts rebind)")
async def delete_proxy(
    request: Request, proxy_id: int = ProxyId, principal: Principal = Depends(write_dep)
) -> None:
    if not await run_in_threadpool(_pool(request).remove, [proxy_id]):
        raise ApiError(404, "not_found", f"no proxy {proxy_id}")
    await run_in_threadpool(_audit, request, principal, "proxy.delete", f"proxy:{proxy_id}")
