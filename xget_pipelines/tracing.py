"""OpenTelemetry traces of API requests and X requests, exported over OTLP/HTTP (Jaeger, Tempo and the
OpenTelemetry Collector accept it) when ``XGET_OTLP_ENDPOINT`` is set; without it nothing is set up and a
span costs a no-op.

- API: FastAPI's own telemetry makes one server span per request, named by its route template
  (``GET /v1/data/{tweet_id}``), with the status, honouring the caller's W3C ``traceparent`` so a client's
  trace continues here; the gateway adds the request id to it (``xget.request_id``).
- X: one client span per request to X (``x SearchTimeline``) with the account id, the HTTP status and
  what X said of the rate-limit window. Never a cookie, token or variable value.
"""

from __future__ import annotations

import threading
from contextlib import contextmanager

from opentelemetry import trace

_lock = threading.Lock()
_provider = None
tracer = trace.get_tracer("xget")


def setup_tracing(endpoint: str | None, service_name: str) -> bool:
    """Export this process's spans to ``endpoint`` (``http://collector:4318``); once per process."""
    global _provider
    if not endpoint:
        return False
    with _lock:
        if _provider is not None:
            return True
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor

        provider = TracerProvider(resource=Resource.create({"service.name": service_name}))
        provider.add_span_processor(
            BatchSpanProcessor(OTLPSpanExporter(endpoint=endpoint.rstrip("/") + "/v1/traces"))
        )
        trace.set_tracer_provider(provider)
        _provider = provider
    return True


def flush(timeout_ms: int = 5000) -> None:
    if _provider is not None:
        _provider.force_flush(timeout_ms)


def shutdown() -> None:
    """Export what is pending and stop: later spans of this process are dropped (the global provider
    stays)."""
    if _provider is not None:
        _provider.shutdown()


@contextmanager
def x_request_span(operation: str, account_id: int, proxy_id: int | None):
    with tracer.start_as_current_span(f"x {operation}", kind=trace.SpanKind.CLIENT) as span:
        span.set_attribute("x.operation", operation)
        span.set_attribute("xget.account_id", account_id)
        if proxy_id is not None:
            span.set_attribute("xget.proxy_id", proxy_id)
        yield span


def record_x_response(span, status: int, headers) -> None:
    span.set_attribute("http.response.status_code", status)
    for header, attribute in (
        ("x-rate-limit-remaining", "x.rate_limit.remaining"),
        ("x-rate-limit-reset", "x.rate_limit.reset"),
    ):
        value = headers.get(header)
        if value is not None and str(value).isdigit():
            span.set_attribute(attribute, int(value))
    if status >= 400:
        span.set_status(trace.Status(trace.StatusCode.ERROR, f"HTTP {status}"))
