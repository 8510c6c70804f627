"""Health, readiness and Prometheus metrics: no authentication (probes and scrapers)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import BaseModel
from sqlalchemy import text
from starlette.concurrency import run_in_threadpool

from xget_pipelines.serving.state import state

router = APIRouter(tags=["operations"])


class Readiness(BaseModel):
    status: str  # ready | unavailable
    checks: dict[str, dict]  # database, lake, search: {"ok": ..., "error"/"tables"/"backend": ...}


@router.get("/healthz", summary="The process is up")
async def healthz() -> dict:
    return {"status": "ok"}


@router.get(
    "/readyz",
    summary="The control-plane DB and the lake are reachable (503 naming what is not)",
    responses={
        200: {"model": Readiness},
        503: {"model": Readiness, "description": "Not ready: the failing check says what cannot be reached"},
    },
)
async def readyz(request: Request):
    st = state(request)
    checks: dict[str, dict] = {}

    def db() -> None:
        with st.engine.connect() as conn:
            conn.execute(text("select 1"))

    for name, probe in (("database", db), ("lake", st.catalog.ping)):
        try:
            result = await run_in_threadpool(probe)
            checks[name] = {"ok": True} | ({"tables": len(result)} if isinstance(result, dict) else {})
        except Exception as exc:  # noqa: BLE001 - readiness reports any failure, by name
            checks[name] = {"ok": False, "error": f"{type(exc).__name__}: {str(exc).splitlines()[0][:300]}"}
    checks["search"] = {"ok": True, "backend": st.search.state}
    ready = all(c["ok"] for c in checks.values())
    return JSONResponse(
        {"status": "ready" if ready else "unavailable", "checks": checks}, status_code=200 if ready else 503
    )


@router.get("/metrics", summary="Prometheus metrics", response_class=Response)
async def metrics(request: Request) -> Response:
    registry = request.app.state.metrics.registry
    body = await run_in_threadpool(generate_latest, registry)
    return Response(body, media_type=CONTENT_TYPE_LATEST)
