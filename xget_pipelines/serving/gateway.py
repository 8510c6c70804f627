"""Gateway behaviour as ASGI middleware: request ids, access logs, Prometheus request metrics, and
idempotency keys on POST.

- Every response carries ``X-Request-ID`` (the caller's, if it sent a sane one, else a new one); the access
  log line and error bodies carry the same id.
- Metrics are labelled by route template (``/v1/data/{tweet_id}``), never the raw path, so their number
  stays bounded.
- ``Idempotency-Key`` on a POST: the first request runs and its answer is stored (per caller and key); a
  retry with the same key and the same request gets the stored answer without running again; the same key
  with a different request is a 422; a retry while the first is still running is a 409. The answers live
  in the control plane, or in Redis with ``XGET_REDIS_URL`` (``idempotency``); a keyed POST is a 503 while
  its store is unreachable. An answer marked ``Cache-Control: no-store`` (tokens, a new API key) is never
  kept: the store holds a note instead, and a retry gets a 409 saying the request succeeded and its
  credential is not replayed.

  *The same request* is the same method, path, query string and body (``fingerprint``): a retry that
  changes only the query string is a different request, refused like one with another body.

  *The caller* (``idempotency_namespace``) is who the credential authenticates as: ``user:<id>`` (their
  sessions: a retry after refreshing the access token still replays) or ``key:<id>`` (one API key and the
  tokens minted from it), so two callers using the same key value never see each other's answers; a
  credential that does not authenticate keeps a namespace of its own (a hash of it). Anonymous requests
  (``POST /v1/auth/register``, ``/v1/auth/token``) are namespaced by the client's address, so anonymous
  callers do not share one namespace. Behind a proxy that hides client addresses they share the proxy's;
  what protects them then is the fingerprint: a replay goes only to a caller who sent the byte-identical
  request (for these two routes, the same password), and token answers are never kept anyway. Refusing the
  header on anonymous requests was the other choice; it would break clients that send a key on every POST
  and take away the guard a retried registration has.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import time
import uuid

from opentelemetry import trace

from xget_pipelines.serving.idempotency import StoreUnavailable
from xget_pipelines.serving.metrics import Metrics

log = logging.getLogger("xget.api.access")
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


def _header(scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key == name:
            return value.decode("latin-1")
    return None


def _template(route) -> str | None:
    """A route's path as the OpenAPI document names it (``{proxy_id:int}`` is ``{proxy_id}`` there)."""
    return getattr(route, "path_format", None) or getattr(route, "path", None)


def _allowed_methods(scope) -> str | None:
    """The methods of the path (the route template) a request landed on. Starlette answers a 405 from the
    first route whose path matches, so ``Allow`` would name only that route's methods where one path has
    several routes (``GET`` and ``POST /v1/me/keys``); RFC 9110 wants all of them. As in OpenAPI, a concrete
    path wins over a templated one: ``/v1/accounts/status`` allows GET, not the methods of
    ``/v1/accounts/{username}``."""
    from starlette.routing import Match

    routes = getattr(scope.get("app"), "routes", None)
    if routes is None:
        return None
    try:  # FastAPI keeps included routers as branches; this walks them with their prefixes
        from fastapi.routing import iter_route_contexts

        candidates = iter_route_contexts(routes)
    except ImportError:
        candidates = routes
    by_template: dict[str, set[str]] = {}
    for route in candidates:
        route_methods = getattr(route, "methods", None)
        template = _template(route)
        if not route_methods or template is None:
            continue
        try:
            match, _ = route.matches(scope)
        except Exception:  # noqa: BLE001 - a route that cannot say keeps its methods out of Allow
            continue
        if match is not Match.NONE:
            by_template.setdefault(template, set()).update(route_methods)
    if not by_template:
        return None
    template = min(by_template, key=lambda t: t.count("{"))  # the fewest parameters: the most concrete path
    return ", ".join(sorted(by_template[template]))


class GatewayMiddleware:
    def __init__(self, app, metrics: Metrics):
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        given = _header(scope, b"x-request-id")
        request_id = given if given and _REQUEST_ID.match(given) else uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = request_id
        trace.get_current_span().set_attribute(
            "xget.request_id", request_id
        )  # FastAPI's server span, if traced
        started = time.perf_counter()
        status = {"code": 500}

        async def send_wrapper(message):
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
                message.setdefault("headers", [])
                headers = list(message["headers"])
                if message["status"] == 405 and (allow := _allowed_methods(scope)):
                    headers = [(k, v) for k, v in headers if k.lower() != b"allow"] + [
                        (b"allow", allow.encode())
                    ]
                message["headers"] = headers + [(b"x-request-id", request_id.encode())]
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            elapsed = time.perf_counter() - started
            route = scope.get("route")
            # A mounted app (GraphQL) leaves no route in the scope: it names its path in the request's state.
            template = getattr(route, "path", None) or scope["state"].get("route") or "unmatched"
            if (
                scope["path"].startswith("/v1/")
                and template.startswith("/")
                and not template.startswith("/v1")
            ):
                template = "/v1" + template  # routers mounted under /v1 know their path without the prefix
            self.metrics.observe(scope["method"], template, status["code"], elapsed)
            if log.isEnabledFor(logging.INFO):
                log.info(
                    json.dumps(
                        {
                            "request_id": request_id,
                            "method": scope["method"],
                            "route": template,
                            "path": scope["path"],
                            "status": status["code"],
                            "ms": round(elapsed * 1000, 2),
                            "principal": scope["state"].get("principal"),
                        }
                    )
                )


class BodyLimitMiddleware:
    """A request body over the limit is a 413 before anything reads, parses or authenticates it.

    A declared ``Content-Length`` over the limit is refused without reading a byte; a body without one
    (chunked) is read up to the limit and refused once it passes it. The routes that import files
    (``import_paths``) have their own, larger limit. Below the limit the body is handed on as it came.
    """

    def __init__(self, app, limit: int, import_limit: int, import_paths: frozenset[str]):
        self.app = app
        self.limit = limit
        self.import_limit = import_limit
        self.import_paths = import_paths

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        limit = self.import_limit if scope["path"] in self.import_paths else self.limit
        declared = _header(scope, b"content-length")
        numeric = declared is not None and declared.isascii() and declared.isdigit()
        if declared is not None and (not numeric or int(declared) > limit):
            return await self._refuse(scope, receive, send, limit, declared)
        if declared is not None:
            return await self.app(scope, receive, send)
        messages, total = [], 0
        while True:
            message = await receive()
            messages.append(message)
            if message["type"] != "http.request":
                break
            total += len(message.get("body", b""))
            if total > limit:
                return await self._refuse(scope, receive, send, limit, None)
            if not message.get("more_body", False):
                break

        async def replay():
            return messages.pop(0) if messages else await receive()

        return await self.app(scope, replay, send)

    @staticmethod
    async def _refuse(scope, receive, send, limit: int, declared: str | None):
        from starlette.responses import JSONResponse

        if declared is not None and not (declared.isascii() and declared.isdigit()):
            status, code, message = 400, "invalid", f"Content-Length is not a number: {declared[:40]!r}"
        else:
            status, code = 413, "too_large"
            message = f"the request body is over this route's limit of {limit:,} bytes"
        body = {
            "error": {
                "code": code,
                "field": "body",
                "message": message,
                "request_id": scope.get("state", {}).get("request_id"),
            }
        }
        await JSONResponse(body, status, headers={"Connection": "close"})(scope, receive, send)


def _withheld(status: int, request_id: str | None) -> tuple[int, bytes, str]:
    """What a retry gets instead of an answer that carried a credential (kept nowhere, shown once)."""
    body = {
        "error": {
            "code": "conflict",
            "field": "Idempotency-Key",
            "request_id": request_id,
            "message": f"the request with this Idempotency-Key already succeeded ({status}); its answer "
            "carried a credential, which is shown once and not kept, so it cannot be replayed: sign in again "
            "for tokens, or see GET /v1/me/keys for the key (revoke it and create another if it was lost)",
        }
    }
    return 409, json.dumps(body).encode(), "application/json"


def fingerprint(scope, body: bytes) -> str:
    """What makes a request the same request for its Idempotency-Key: method, path, query string and body
    (each length-prefixed, so no two requests run together into one string)."""
    digest = hashlib.sha256(b"xget-idempotency-v2")
    for part in (scope["method"].encode(), scope["path"].encode(), scope.get("query_string", b""), body):
        digest.update(len(part).to_bytes(8, "big") + part)
    return digest.hexdigest()


def _credentials(scope) -> tuple[str | None, str | None]:
    """(bearer token, API key) as the authentication dependencies read them."""
    authorization = _header(scope, b"authorization") or ""
    scheme, _, token = authorization.partition(" ")
    bearer = token.strip() if scheme.lower() == "bearer" and token.strip() else None
    return bearer, _header(scope, b"x-api-key") or None


def idempotency_namespace(scope, principal_of) -> str:
    """Whose Idempotency-Keys a request uses (see the module docstring). Runs in a worker thread:
    ``principal_of(bearer, api_key)`` may read the control plane."""
    bearer, api_key = _credentials(scope)
    if bearer is None and api_key is None:
        client = scope.get("client")
        address = client[0] if client else "unknown"
        return "anon:" + hashlib.sha256(address.encode()).hexdigest()[:32]
    try:
        return principal_of(bearer, api_key).name
    except Exception:  # noqa: BLE001 - the route answers the credential; here it only needs a namespace
        credential = f"{bearer or ''}|{api_key or ''}"
        return "cred:" + hashlib.sha256(credential.encode()).hexdigest()[:32]


class IdempotencyMiddleware:
    """Replays stored answers of POSTs sent with an ``Idempotency-Key`` (see the module docstring).
    ``principal_of(bearer, api_key)`` names the caller a credential authenticates as."""

    def __init__(self, app, store_factory, principal_of):
        self.app = app
        self.store_factory = store_factory
        self.principal_of = principal_of

    async def __call__(self, scope, receive, send):
        key = (
            _header(scope, b"idempotency-key")
            if scope["type"] == "http" and scope["method"] == "POST"
            else None
        )
        if not key:
            return await self.app(scope, receive, send)
        from starlette.concurrency import run_in_threadpool
        from starlette.responses import JSONResponse

        if len(key) > 128:
            return await JSONResponse(
                {
                    "error": {
                        "code": "invalid",
                        "field": "Idempotency-Key",
                        "message": "Idempotency-Key is at most 128 characters",
                        "request_id": scope["state"].get("request_id"),
                    }
                },
                422,
            )(scope, receive, send)
        body = b""
        more = True
        while more:
            message = await receive()
            body += message.get("body", b"")
            more = message.get("more_body", False)
        principal = await run_in_threadpool(idempotency_namespace, scope, self.principal_of)
        request_hash = fingerprint(scope, body)
        store = self.store_factory()
        try:
            outcome = await run_in_threadpool(store.claim, principal, key, request_hash)
        except StoreUnavailable as exc:
            return await JSONResponse(
                {
                    "error": {
                        "code": "unavailable",
                        "field": "Idempotency-Key",
                        "request_id": scope["state"].get("request_id"),
                        "message": f"{exc}; retry later (a POST without an "
                        "Idempotency-Key is not guarded against repeats)",
                    }
                },
                503,
                headers={"Retry-After": "5"},
            )(scope, receive, send)
        if isinstance(outcome, tuple):
            status, stored, content_type = outcome
            headers = {"idempotent-replayed": "true", "content-type": content_type or "application/json"}
            from starlette.responses import Response

            return await Response(stored, status, headers=headers)(scope, receive, send)
        if outcome == "mismatch":
            return await JSONResponse(
                {
                    "error": {
                        "code": "invalid",
                        "field": "Idempotency-Key",
                        "request_id": scope["state"].get("request_id"),
                        "message": "this Idempotency-Key was used with a different "
                        "request; use a new key for a new request",
                    }
                },
                422,
            )(scope, receive, send)
        if outcome == "in_progress":
            return await JSONResponse(
                {
                    "error": {
                        "code": "conflict",
                        "field": "Idempotency-Key",
                        "request_id": scope["state"].get("request_id"),
                        "message": "a request with this Idempotency-Key is still running; retry in a moment",
                    }
                },
                409,
                headers={"Retry-After": "1"},
            )(scope, receive, send)

        sent = False

        async def replay_receive():
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        captured: dict = {"status": 500, "body": b"", "content_type": None, "no_store": False}

        async def capture_send(message):
            if message["type"] == "http.response.start":
                captured["status"] = message["status"]
                for k, v in message.get("headers", ()):
                    if k.lower() == b"content-type":
                        captured["content_type"] = v.decode("latin-1")
                    elif k.lower() == b"cache-control" and b"no-store" in v.lower():
                        captured["no_store"] = True
            elif message["type"] == "http.response.body":
                captured["body"] += message.get("body", b"")
            await send(message)

        try:
            await self.app(scope, replay_receive, capture_send)
        finally:
            # Only answers that settle the request are kept; a 5xx or 429 may be retried for real.
            keep = (
                captured["status"] < 500 and captured["status"] != 429 and len(captured["body"]) < 1_000_000
            )
            answer = (captured["status"], captured["body"], captured["content_type"]) if keep else None
            if answer is not None and captured["no_store"]:
                answer = _withheld(captured["status"], scope["state"].get("request_id"))
            await run_in_threadpool(store.finish, principal, key, answer)
