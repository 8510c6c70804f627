"""The FastAPI application: ``create_app()`` builds it from settings; ``xget api`` serves it with uvicorn.

Layout: ``routes/`` holds one router per group of endpoints (auth and users, accounts, proxies, tasks,
data, analytics, operations); ``graphql.py`` mounts ``/v1/graphql``; ``gateway.py`` the middleware;
``errors.py`` the error shape. The OpenAPI page is ``/docs`` (schema at ``/openapi.json``).
"""

from __future__ import annotations

from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.middleware.gzip import GZipMiddleware

from xget_pipelines.serving import errors
from xget_pipelines.serving.deps import principal_from
from xget_pipelines.serving.gateway import BodyLimitMiddleware, GatewayMiddleware, IdempotencyMiddleware
from xget_pipelines.serving.metrics import Metrics
from xget_pipelines.serving.state import ServingState
from xget_pipelines.settings import Settings, get_settings

API_VERSION = "1"

TAGS = [
    {
        "name": "auth",
        "description": "Tokens (OAuth2 password, refresh, client credentials), registration, "
        "your profile, preferences and API keys.",
    },
    {"name": "users", "description": "User management and the audit log (admin)."},
    {"name": "accounts", "description": "The pool of X accounts (operator)."},
    {"name": "proxies", "description": "The proxy pool (operator)."},
    {"name": "tasks", "description": "Scrape tasks: each becomes Dagster runs of the x_ingest job."},
    {
        "name": "data",
        "description": "Tweets from the lake: filters, cursor pages, search, exports, corrections.",
    },
    {"name": "analytics", "description": "Trends, sentiment, user profiles, similar users, the graph."},
    {"name": "operations", "description": "Health, readiness and Prometheus metrics (no authentication)."},
]


def create_app(settings: Settings | None = None, state: ServingState | None = None) -> FastAPI:
    settings = settings or get_settings()
    state = state or ServingState.build(settings)
    metrics = Metrics()

    from xget_pipelines.serving.graphql import OperationPool, graphql_router

    graphql_pool = OperationPool(settings.api_graphql_workers)

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        favour_latency()
        yield
        graphql_pool.close()

    app = FastAPI(
        title="XGet API",
        version=f"{API_VERSION}.0",
        lifespan=lifespan,
        openapi_tags=TAGS,
        docs_url=None,
        redoc_url=None,  # served below from local files: FastAPI's own load them from a CDN
        description="Collect and analyse X data: scrape tasks run on Dagster, data comes from the Delta "
        "lake. "
        "Authenticate with `POST /v1/auth/token` (OAuth2 password or client credentials) and send "
        "`Authorization: Bearer <token>`, or send an API key as `X-API-Key`.",
    )
    app.state.xget = state
    app.state.metrics = metrics
    metrics.add_pool_collector(state)
    metrics.add_password_gate(state.password_gate)
    errors.install(app)

    from xget_pipelines.serving.routes import (
        accounts,
        analytics,
        auth,
        backfills,
        corrections,
        data,
        ops,
        proxies,
        tasks,
        users,
        watchlist,
    )

    for module in (auth, users, accounts, proxies, tasks, corrections, data, analytics, watchlist, backfills):
        app.include_router(module.router, prefix=f"/v{API_VERSION}")
    app.include_router(ops.router)
    _offline_docs(app)
    app.include_router(
        graphql_router(cost_per_request=settings.api_graphql_cost_per_request, pool=graphql_pool),
        prefix=f"/v{API_VERSION}/graphql",
        tags=["graphql"],
    )

    # Middleware runs outside-in in the reverse order of adding: gateway (ids, metrics) outermost.
    app.add_middleware(
        IdempotencyMiddleware,
        store_factory=lambda: state.idempotency,
        principal_of=lambda bearer, api_key: principal_from(state, bearer, api_key),
    )
    # Level 5, not Starlette's 9: a 15 kB page of 50 tweets compresses to 2,134 bytes in 0.08 ms against
    # 2,074 bytes in 0.22 ms (measured here), CPU every request pays.
    app.add_middleware(GZipMiddleware, minimum_size=1024, compresslevel=5)
    origins = [o.strip() for o in settings.api_cors_origins.split(",") if o.strip()]
    if origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=origins,
            allow_credentials="*" not in origins,
            allow_methods=["*"],
            allow_headers=["*"],
            expose_headers=["X-Request-ID", "Retry-After"],
        )
    app.add_middleware(
        BodyLimitMiddleware,
        limit=settings.api_max_body_bytes,
        import_limit=settings.api_max_import_bytes,
        import_paths=frozenset(
            f"/v{API_VERSION}{path}"
            for path in ("/accounts/import", "/proxies/import", "/data/batch", "/tasks/hydrate")
        ),
    )
    app.add_middleware(GatewayMiddleware, metrics=metrics)
    from xget_pipelines.tracing import setup_tracing

    setup_tracing(settings.otlp_endpoint, "xget-api")  # FastAPI's own telemetry then traces every request
    return app


SWITCH_INTERVAL_S = 0.0001


def favour_latency() -> None:
    """Tune the process for short requests beside long ones (once the application is built).

    - Python hands its lock between threads every 5 ms by default: a REST read, which takes the lock a dozen
      times (the event loop, its lake query's thread, the answer), waited up to 5 ms each time a GraphQL
      operation's thread held it. Beside four 500-tweet profile queries in a loop, a small read's median was
      74 ms at 5 ms, 18.7 ms at 0.5 ms and 13.7 ms at 0.1 ms (9-10 ms idle); tests/security/
      test_graphql_cost.py measures it.
    - ``gc.freeze()`` moves what start-up built (the schema, the routes, the libraries) out of the collector's
      reach, so the full collections that heavy requests trigger do not walk it while every thread waits.
    """
    import gc
    import sys

    sys.setswitchinterval(min(sys.getswitchinterval(), SWITCH_INTERVAL_S))
    gc.collect()
    gc.freeze()


def uvicorn_options(
    settings: Settings,
    host: str | None = None,
    port: int | None = None,
    workers: int = 1,
    forwarded_allow_ips: str | None = None,
) -> dict:
    """The keyword arguments of ``uvicorn.run`` / ``uvicorn.Config`` that serve the API, in one place
    (``serve`` uses them; the tests build their servers from them).

    - Proxy headers: ``X-Forwarded-For`` and ``X-Forwarded-Proto`` are believed only from the peers listed in
      ``forwarded_allow_ips`` (default ``XGET_API_FORWARDED_ALLOW_IPS``, empty). Both uvicorn options are
      always passed: left out, uvicorn reads ``FORWARDED_ALLOW_IPS`` or trusts 127.0.0.1, so any local
      process (or a proxy on the same host forwarding whatever it is sent) could name any client address
      and escape the per-address limits. With no proxy listed the middleware is not installed at all.
    - The HTTP protocol is uvicorn's with a deadline for request headers, ``XGET_API_HEADER_TIMEOUT_S``
      (``http_protocol``: uvicorn has none of its own).
    """
    from xget_pipelines.serving.http_protocol import header_timeout_protocol

    trusted = settings.api_forwarded_allow_ips if forwarded_allow_ips is None else forwarded_allow_ips
    trusted = ",".join(part.strip() for part in trusted.split(",") if part.strip())
    return {
        "host": host or settings.api_host,
        "port": port or settings.api_port,
        "workers": workers,
        "proxy_headers": bool(trusted),
        "forwarded_allow_ips": trusted,
        "http": header_timeout_protocol(settings.api_header_timeout_s),
        "log_level": "info",
        "access_log": False,
    }


def serve(
    host: str | None = None, port: int | None = None, workers: int = 1, forwarded_allow_ips: str | None = None
) -> None:
    import logging

    import uvicorn

    logging.basicConfig(level=logging.INFO, format="%(message)s")
    uvicorn.run(
        "xget_pipelines.serving.app:create_app",
        factory=True,
        **uvicorn_options(get_settings(), host, port, workers, forwarded_allow_ips),
    )


def _offline_docs(app: FastAPI) -> None:
    """/docs (Swagger UI) and /redoc from files in the fastapi-offline package, so the interactive docs work
    on machines with no route to a CDN (air-gapped clusters, these build machines)."""
    from pathlib import Path

    import fastapi_offline
    from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html, get_swagger_ui_oauth2_redirect_html
    from fastapi.staticfiles import StaticFiles

    static = Path(fastapi_offline.__file__).parent / "static"
    app.mount("/docs-static", StaticFiles(directory=static), name="docs-static")

    @app.get("/docs", include_in_schema=False)
    async def swagger_ui():
        return get_swagger_ui_html(
            openapi_url=app.openapi_url,
            title=f"{app.title} - docs",
            oauth2_redirect_url="/docs/oauth2-redirect",
            swagger_js_url="/docs-static/swagger-ui-bundle.js",
            swagger_css_url="/docs-static/swagger-ui.css",
            swagger_favicon_url="/docs-static/favicon.png",
        )

    @app.get("/docs/oauth2-redirect", include_in_schema=False)
    async def swagger_ui_redirect():
        return get_swagger_ui_oauth2_redirect_html()

    @app.get("/redoc", include_in_schema=False)
    async def redoc():
        return get_redoc_html(
            openapi_url=app.openapi_url,
            title=f"{app.title} - ReDoc",
            redoc_js_url="/docs-static/redoc.standalone.js",
            redoc_favicon_url="/docs-static/favicon.png",
        )
