"""A connection that never finishes its request headers is closed (issue 16, finding 3).

Found before: uvicorn has no header-read timeout, so a socket that sent half a request line was held open
for as long as the client liked (slowloris: enough of them hold every connection the process can take);
its keep-alive timer did not help, since any byte received disarms it.

Here the API runs with `XGET_API_HEADER_TIMEOUT_S=1` on uvicorn's httptools protocol (what `xget api` uses)
and on its h11 one: half a request line, a request trickled a byte at a time, and half a request after a
first answer on a kept-alive connection are each closed after about the deadline, while a normal request
on another connection is answered meanwhile, and a slow answer (headers complete) is not cut.
"""

from __future__ import annotations

import socket
import time

import httpx
import pytest

from tests.serving.conftest import start_api_server

TIMEOUT_S = 1.0


def closed_after(sock: socket.socket, limit_s: float = 30.0) -> float:
    """Seconds until the server closes ``sock`` (reading and discarding what it sends)."""
    t0 = time.monotonic()
    sock.settimeout(limit_s)
    while sock.recv(65536):
        pass
    return time.monotonic() - t0


@pytest.fixture(params=["httptools", "h11"])
def api(request, tmp_path):
    from xget_pipelines.serving.http_protocol import H11HeaderTimeoutProtocol, header_timeout_protocol

    h11 = header_timeout_protocol(TIMEOUT_S, H11HeaderTimeoutProtocol)
    overrides = {"http": h11} if request.param == "h11" else {}
    with start_api_server(tmp_path / "api", overrides, api_header_timeout_s=TIMEOUT_S) as api:
        yield api


def connect(api) -> socket.socket:
    host, port = api.base_url.removeprefix("http://").split(":")
    return socket.create_connection((host, int(port)), timeout=30)


def test_half_a_request_line_is_closed_while_others_are_answered(api):
    with connect(api) as slow:
        slow.sendall(b"GET /heal")
        t0 = time.monotonic()
        answered = httpx.get(f"{api.base_url}/healthz", timeout=30)  # another connection, meanwhile
        assert answered.status_code == 200 and time.monotonic() - t0 < TIMEOUT_S
        closed_after(slow)
        waited = time.monotonic() - t0
    print(f"\nhalf a request line: closed after {waited:.2f} s (deadline {TIMEOUT_S} s)")
    assert 0.8 * TIMEOUT_S <= waited < 10 * TIMEOUT_S


def test_a_request_trickled_a_byte_at_a_time_is_closed(api):
    request = b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Padding: " + b"a" * 200  # never finished
    with connect(api) as slow:
        t0 = time.monotonic()
        sent = 0
        try:
            for byte in request:
                slow.sendall(bytes([byte]))  # every byte would disarm uvicorn's keep-alive timer
                sent += 1
                time.sleep(0.1)
        except OSError:  # the server closed it: the send fails (broken pipe, reset)
            pass
        waited = time.monotonic() - t0 + (closed_after(slow) if sent == len(request) else 0.0)
    print(f"\na byte every 0.1 s: closed after {waited:.2f} s, {sent} bytes sent")
    assert sent < len(request) and waited < 10 * TIMEOUT_S


def test_the_deadline_restarts_after_each_answer_on_a_kept_alive_connection(api):
    with connect(api) as conn:
        for _ in range(3):  # requests 0.6 s apart: each within its own deadline, so each is answered
            time.sleep(0.6 * TIMEOUT_S)
            conn.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
            answer = b""
            while b"\r\n\r\n" not in answer or not answer.endswith(b"}"):
                answer += conn.recv(65536)
            assert answer.startswith(b"HTTP/1.1 200")
        conn.sendall(b"GET /healthz HTTP/1.1\r\nHo")  # then half a request: closed
        waited = closed_after(conn)
    print(f"\nhalf a request after three answers on one connection: closed after {waited:.2f} s")
    assert 0.8 * TIMEOUT_S <= waited < 10 * TIMEOUT_S


def test_a_request_whose_headers_are_complete_is_not_cut(api):
    """A body sent slowly once the headers are complete is the application's business, not the deadline's:
    this one takes three deadlines to arrive and is answered."""
    with connect(api) as conn:
        body = b"grant_type=refresh_token&refresh_token=x"
        conn.sendall(
            b"POST /v1/auth/token HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\n"
            + f"Content-Length: {len(body)}\r\n\r\n".encode()
        )
        for part in (body[:10], body[10:20], body[20:]):
            time.sleep(TIMEOUT_S)
            conn.sendall(part)
        answer = b""
        while b"\r\n\r\n" not in answer or not answer.rstrip().endswith(b"}"):
            chunk = conn.recv(65536)
            assert chunk, f"closed before the answer: {answer!r}"
            answer += chunk
    assert answer.startswith(b"HTTP/1.1 4") and b"refresh" in answer
