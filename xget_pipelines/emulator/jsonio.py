"""JSON in and out of the emulator's routes (shared by the GraphQL, admin and login routes)."""

from __future__ import annotations

from typing import Any

import orjson
from pydantic import BaseModel, ValidationError
from starlette.requests import Request
from starlette.responses import Response


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(orjson.dumps(body), status_code=status, headers=headers, media_type="application/json")


async def json_body(request: Request, model: type[BaseModel]) -> BaseModel | Response:
    """The request body validated as ``model``, or a 400 response naming what is wrong."""
    try:
        return model.model_validate(orjson.loads(await request.body() or b"{}"))
    except (ValueError, ValidationError) as exc:
        return json_response({"error": str(exc)}, 400)
