"""Traces reach an OTLP receiver: the test serves OTLP/HTTP itself and decodes the protobuf requests. API
requests become server spans named by their route, continuing the caller's trace; X requests become client
spans with the operation, the account and X's status; no cookie or token is in any attribute."""

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from tests.conftest import register_accounts
from xget_pipelines import tracing
from xget_pipelines.core.db.engine import get_engine


@pytest.fixture(scope="module")
def receiver():
    spans: list[dict] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers["content-length"]))
            request = ExportTraceServiceRequest()
            request.ParseFromString(body)
            for resource_spans in request.resource_spans:
                service = {a.key: a.value.string_value for a in resource_spans.resource.attributes}[
                    "service.name"
                ]
                for scope_spans in resource_spans.scope_spans:
                    for span in scope_spans.spans:
                        attributes = {
                            a.key: getattr(a.value, a.value.WhichOneof("value")) for a in span.attributes
                        }
                        spans.append(
                            {
                                "service": service,
                                "name": span.name,
                                "trace_id": span.trace_id.hex(),
                                "parent": span.parent_span_id.hex(),
                                "attributes": attributes,
                                "path": self.path,
                            }
                        )
            self.send_response(200)
            self.send_header("content-type", "application/x-protobuf")
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    endpoint = f"http://127.0.0.1:{server.server_port}"
    assert tracing.setup_tracing(endpoint, "xget-test")  # once per process: API and X spans share it
    yield spans
    tracing.shutdown()  # the rest of the test session exports nothing to a receiver that is gone
    server.shutdown()


def test_api_requests_are_spans_named_by_route_and_continue_the_callers_trace(receiver, tmp_path):
    from tests.serving.conftest import start_api_server

    caller_trace = "4bf92f3577b34da6a3ce929d0e0e4736"
    with start_api_server(tmp_path / "api") as api:  # the process already exports to the receiver
        headers = {**api.headers("viewer"), "traceparent": f"00-{caller_trace}-00f067aa0ba902b7-01"}
        assert httpx.get(f"{api.base_url}/v1/data/123", headers=headers).status_code == 404
        httpx.get(f"{api.base_url}/v1/data", headers=api.headers("viewer"))
    tracing.flush()
    served = [s for s in receiver if s["attributes"].get("http.route") == "/v1/data/{tweet_id}"]
    assert served and served[0]["name"] == "GET /v1/data/{tweet_id}"
    assert (
        served[0]["trace_id"] == caller_trace and served[0]["attributes"]["http.response.status_code"] == 404
    )
    assert served[0]["attributes"].get("xget.request_id"), [
        (s["name"], s["parent"], sorted(s["attributes"])) for s in receiver
    ]
    assert served[0]["path"] == "/v1/traces"
    assert any(s["attributes"].get("http.route") == "/v1/data" for s in receiver)


def test_x_requests_are_client_spans_with_operation_account_and_status(
    receiver, emulator_factory, sqlite_url
):
    from xget_pipelines.core.x.client import XClient

    emu = emulator_factory(window_seconds=2)
    pool = register_accounts(emu, get_engine(sqlite_url), ["traced"])
    secrets = httpx.get(f"{emu.url}/_emulator/accounts").json()[0]
    with XClient(emu.graphql_url, pool, lease_deadline_s=10) as client:
        client.fetch("UserByScreenName", {"screen_name": "traced"})
    tracing.flush()
    x_spans = [s for s in receiver if s["name"] == "x UserByScreenName"]
    assert x_spans, [s["name"] for s in receiver]
    attributes = x_spans[0]["attributes"]
    assert attributes["x.operation"] == "UserByScreenName" and attributes["http.response.status_code"] == 200
    assert attributes["xget.account_id"] >= 1 and "x.rate_limit.remaining" in attributes
    text = repr(receiver)
    assert secrets["auth_token"] not in text and secrets["ct0"] not in text
