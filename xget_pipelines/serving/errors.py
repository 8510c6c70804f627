"""One error shape for every failure: ``{"error": {"code", "message", "field", "request_id"}}``.

Bad input is a 4xx naming the field; a lake or DB that cannot be reached is a 503 saying which; anything
unexpected is a 500 with the request id to quote, never a traceback.
"""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy.exc import OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException

from xget_pipelines.core.auth.users import AuthError, UserError
from xget_pipelines.core.lake.query import BadQuery, LakeUnavailable, NotFound
from xget_pipelines.core.tasks import TaskError
from xget_pipelines.serving.export import ExportTooLarge

log = logging.getLogger("xget.api")


class ErrorDetail(BaseModel):
    code: str
    message: str
    field: str | None = None
    request_id: str | None = None


class ErrorOut(BaseModel):
    """The body of every error response."""

    error: ErrorDetail


_DESCRIPTIONS = {
    400: "Bad request (e.g. a token grant that fails)",
    401: "Not authenticated: no, a bad or an expired credential (WWW-Authenticate: Bearer)",
    403: "Authenticated, but the role does not grant this",
    404: "No such resource",
    409: "Conflict with the current state (a taken name, a task in the wrong state, the last admin)",
    413: "Request too large",
    422: "Invalid input; ``field`` names it",
    429: "Rate limited: retry after the Retry-After seconds",
    503: "The lake or the control-plane DB cannot be reached; retry after the Retry-After seconds",
}


def error_responses(*statuses: int) -> dict[int | str, dict]:
    """OpenAPI ``responses=`` declaring the error shape for ``statuses`` (default: all the API returns)."""
    return {
        status: {"model": ErrorOut, "description": _DESCRIPTIONS[status]}
        for status in (statuses or tuple(_DESCRIPTIONS))
    }


ERROR_RESPONSES = error_responses()


class ApiError(Exception):
    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        field: str | None = None,
        headers: dict[str, str] | None = None,
    ):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.field = field
        self.headers = headers or {}


def error_body(request: Request, code: str, message: str, field: str | None = None) -> dict:
    return {
        "error": {
            "code": code,
            "message": message,
            "field": field,
            "request_id": getattr(request.state, "request_id", None),
        }
    }


def respond(
    request: Request,
    status: int,
    code: str,
    message: str,
    field: str | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    return JSONResponse(error_body(request, code, message, field), status_code=status, headers=headers)


_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    409: "conflict",
    413: "too_large",
    415: "unsupported_media_type",
    422: "invalid",
    429: "rate_limited",
    503: "unavailable",
}


def _field(loc: tuple, kind: str | None = None) -> str:
    if kind == "json_invalid":  # loc is ("body", <character offset>): the body is not JSON at all
        return "body"
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header", "cookie")]
    return ".".join(parts) or str(loc[-1] if loc else "")


def install(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def _api(request: Request, exc: ApiError):
        return respond(request, exc.status, exc.code, exc.message, exc.field, exc.headers)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError):
        errors = exc.errors()
        first = errors[0] if errors else {"loc": (), "msg": "invalid request"}
        field = _field(tuple(first.get("loc", ())), first.get("type"))
        message = "; ".join(
            f"{_field(tuple(e.get('loc', ())), e.get('type'))}: {e.get('msg')}" for e in errors[:5]
        )
        return respond(request, 422, "invalid", message, field)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException):
        code = _CODES.get(exc.status_code, "error")
        return respond(request, exc.status_code, code, str(exc.detail), headers=getattr(exc, "headers", None))

    @app.exception_handler(AuthError)
    async def _auth(request: Request, exc: AuthError):
        return respond(request, 401, "unauthorized", str(exc), headers={"WWW-Authenticate": "Bearer"})

    @app.exception_handler(UserError)
    async def _user(request: Request, exc: UserError):
        return respond(request, exc.status, _CODES[exc.status], str(exc), exc.field)

    @app.exception_handler(TaskError)
    async def _task(request: Request, exc: TaskError):
        return respond(request, exc.status, _CODES.get(exc.status, "invalid"), str(exc), exc.field)

    @app.exception_handler(BadQuery)
    async def _bad(request: Request, exc: BadQuery):
        return respond(request, 422, "invalid", str(exc), exc.field)

    @app.exception_handler(NotFound)
    async def _missing(request: Request, exc: NotFound):
        return respond(request, 404, "not_found", str(exc))

    @app.exception_handler(LakeUnavailable)
    async def _lake(request: Request, exc: LakeUnavailable):
        return respond(request, 503, "lake_unavailable", str(exc), headers={"Retry-After": "5"})

    @app.exception_handler(ExportTooLarge)
    async def _too_large(request: Request, exc: ExportTooLarge):
        return respond(request, 413, "too_large", str(exc), "format")

    @app.exception_handler(OperationalError)
    async def _db(request: Request, exc: OperationalError):
        log.warning("control-plane DB unavailable: %s", exc.orig.__class__.__name__ if exc.orig else exc)
        return respond(
            request,
            503,
            "database_unavailable",
            "the control-plane database cannot be reached; try again shortly",
            headers={"Retry-After": "5"},
        )

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception):
        log.exception("unexpected error in %s %s", request.method, request.url.path)
        return respond(request, 500, "internal", "unexpected error; quote the request id when reporting it")
