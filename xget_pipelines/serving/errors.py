"""One error shape for every failure: ``{"error": {"code", "message", "field", "request_id"}}``.

Bad input is a 4xx naming the field; a lake or DB that cannot be reached is a 503 saying which; anything
unexpected is a 500 with the request id to quote, never a traceback.

The core raises domain errors (``core/errors.py``: not found, conflict, invalid field...) and knows nothing of
HTTP. ``ANSWERS`` is the one table turning them into answers: an HTTP status, an error code and the headers;
the FastAPI exception handlers and the GraphQL error codes (``graphql_code``) both come from it.
``api_message`` adds the REST route that helps to the messages that want one (the core does not know them).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from dataclasses import dataclass

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy.exc import OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException

from xget_pipelines.core.auth.keys import TooManyKeys
from xget_pipelines.core.auth.lockout import LoginLocked
from xget_pipelines.core.corrections import TweetAlreadyDeleted, TweetAlreadyKnown
from xget_pipelines.core.errors import (
    BadCursor,
    Conflict,
    InvalidField,
    NotAuthenticated,
    NotFound,
    Throttled,
    TooLarge,
    Unavailable,
)
from xget_pipelines.core.lake.live import LakeUnavailable
from xget_pipelines.core.tasks import TaskNotFound, TaskStillActive
from xget_pipelines.serving.limits import PasswordChecksBusy

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


@dataclass(frozen=True)
class Answer:
    """How the API answers an error: status, code, headers, and a fixed message replacing the exception's."""

    status: int
    code: str
    headers: dict[str, str] | None = None
    message: str | None = None


_RETRY = {"Retry-After": "5"}
ANSWERS: dict[type[Exception], Answer] = {
    NotFound: Answer(404, "not_found"),
    Conflict: Answer(409, "conflict"),
    InvalidField: Answer(422, "invalid"),
    BadCursor: Answer(400, "bad_request"),  # a cursor not issued here, or naming what is gone
    TooLarge: Answer(413, "too_large"),
    NotAuthenticated: Answer(401, "unauthorized", {"WWW-Authenticate": "Bearer"}),
    Throttled: Answer(429, "rate_limited"),  # with Retry-After: the error's retry_after
    PasswordChecksBusy: Answer(429, "busy"),
    LoginLocked: Answer(429, "login_locked"),
    Unavailable: Answer(503, "unavailable", _RETRY),
    LakeUnavailable: Answer(503, "lake_unavailable", _RETRY),
    OperationalError: Answer(
        503,
        "database_unavailable",
        _RETRY,
        "the control-plane database cannot be reached; try again shortly",
    ),
}
ANSWERED = tuple(ANSWERS)

# GraphQL's ``extensions.code`` of each status of the table.
GRAPHQL_CODES = {
    400: "BAD_USER_INPUT",
    401: "UNAUTHENTICATED",
    404: "NOT_FOUND",
    409: "CONFLICT",
    413: "BAD_USER_INPUT",
    422: "BAD_USER_INPUT",
    429: "RATE_LIMITED",
    503: "UNAVAILABLE",
}

# Messages naming the REST route that helps, composed from what the core's error carries.
_ROUTE_MESSAGES: dict[type[Exception], Callable] = {
    TaskNotFound: lambda e: f"{e} (list yours with GET /v1/tasks)",
    TaskStillActive: lambda e: f"{e} (POST /v1/tasks/{e.task_id}/stop)",
    TweetAlreadyKnown: lambda e: (
        f"tweet {e.tweet_id} was supplied by {', '.join(e.supplied_by)}; correct it with "
        f"PUT /v1/data/{e.tweet_id} instead"
        if e.supplied_by
        else f"tweet {e.tweet_id} is already in the lake; correct it with PUT /v1/data/{e.tweet_id}"
    ),
    LoginLocked: lambda e: (
        f"{e} (admins: POST /v1/admin/users/{{user_id}}/unlock, or `xget users unlock NAME`)"
    ),
    TooManyKeys: lambda e: f"{e} (GET /v1/me/keys lists yours; DELETE /v1/me/keys/{{key_id}} revokes one)",
    TweetAlreadyDeleted: lambda e: (
        f"tweet {e.tweet_id} is already deleted; restore it with POST /v1/data/{e.tweet_id}/restore"
    ),
}


def answer_for(exc: Exception) -> Answer | None:
    """The table's answer to ``exc``: that of its most specific class in ``ANSWERS``."""
    for cls in type(exc).__mro__:
        if cls in ANSWERS:
            return ANSWERS[cls]
    return None


def api_message(exc: Exception) -> str:
    """What a user of the API reads for ``exc``."""
    answer = answer_for(exc)
    if answer is not None and answer.message:
        return answer.message
    compose = _ROUTE_MESSAGES.get(type(exc))
    return compose(exc) if compose else str(exc)


def graphql_code(exc: Exception) -> str:
    """GraphQL's ``extensions.code`` for an error of the table."""
    return GRAPHQL_CODES[answer_for(exc).status]


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

    async def _answer(request: Request, exc: Exception):
        answer = answer_for(exc)
        if isinstance(exc, OperationalError):
            log.warning("control-plane DB unavailable: %s", exc.orig.__class__.__name__ if exc.orig else exc)
        headers = dict(answer.headers or {})
        if isinstance(exc, Throttled):
            headers["Retry-After"] = str(max(1, math.ceil(exc.retry_after)))
        field = getattr(exc, "field", None)
        return respond(request, answer.status, answer.code, api_message(exc), field, headers=headers)

    for cls in ANSWERS:
        app.add_exception_handler(cls, _answer)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception):
        log.exception("unexpected error in %s %s", request.method, request.url.path)
        return respond(request, 500, "internal", "unexpected error; quote the request id when reporting it")
