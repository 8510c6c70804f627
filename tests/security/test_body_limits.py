"""Request bodies are bounded before they are read, parsed or authenticated (issue 16, finding 6).

Found before: a 60 MB unauthenticated body was read and parsed (3-4 s with an Idempotency-Key, which
buffered and hashed it first); an analyst's task with 60 MB of `params` was accepted and grew `xget.db` by
60 MB. Here a 60 MB body is refused with a 413 in well under that time without the server reading it
(declared length), a chunked one is cut at the limit, imports keep their larger limit, and a task's
params are bounded.
"""

from __future__ import annotations

import os
import socket
import time

import httpx

from tests.serving.conftest import start_api_server

MB = 1024 * 1024


def raw_post(base_url: str, path: str, headers: dict[str, str], body: bytes | None = None) -> tuple[int, str]:
    """A POST over a plain socket declaring its headers, sending ``body`` only if given: the answer."""
    host, port = base_url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=30) as sock:
        head = f"POST {path} HTTP/1.1\r\nHost: {host}\r\n" + "".join(
            f"{k}: {v}\r\n" for k, v in headers.items()
        )
        sock.sendall(head.encode() + b"\r\n" + (body or b""))
        answer = b""
        while b"\r\n\r\n" not in answer or not answer.rstrip().endswith(b"}"):
            chunk = sock.recv(65536)
            if not chunk:
                break
            answer += chunk
    status = int(answer.split(b" ", 2)[1])
    return status, answer.decode("latin-1")


def test_an_oversized_body_is_refused_before_it_is_read(tmp_path):
    with start_api_server(tmp_path / "api", api_max_body_bytes=1 * MB) as api:
        # 60 MB declared, not one byte of it sent: the answer comes without the server waiting for it.
        t0 = time.perf_counter()
        status, answer = raw_post(
            api.base_url,
            "/v1/tasks",
            {"Content-Length": str(60 * MB), "Content-Type": "application/json", "Idempotency-Key": "big"},
        )
        assert status == 413 and "1,048,576 bytes" in answer and time.perf_counter() - t0 < 5
        # Unauthenticated or not, and chunked (no length declared): cut at the limit.
        chunked = httpx.post(
            f"{api.base_url}/v1/auth/token", content=iter([b"x" * (256 * 1024)] * 8), timeout=30
        )
        assert chunked.status_code == 413 and chunked.json()["error"]["field"] == "body"
        # Under the limit, requests are as before.
        ok = httpx.post(
            f"{api.base_url}/v1/tasks",
            json={"type": "SEARCH", "target": "limits", "since": "2026-11-01", "until": "2026-11-01"},
            headers=api.headers("analyst"),
        )
        assert ok.status_code == 201, ok.text


def test_imports_keep_their_larger_limit_and_task_params_are_bounded(tmp_path):
    with start_api_server(tmp_path / "api", api_max_body_bytes=1 * MB) as api:
        lines = "".join(f"203.0.113.{i % 250}:{1024 + i}\n" for i in range(60_000)).encode()  # about 1.2 MB
        assert len(lines) > MB
        imported = httpx.post(
            f"{api.base_url}/v1/proxies/import",
            content=lines,
            headers={**api.headers("operator"), "Content-Type": "text/plain"},
            timeout=120,
        )
        assert imported.status_code == 200, imported.text[:300]

        db = tmp_path / "api" / "xget.db"
        before = os.path.getsize(db)
        task = {"type": "SEARCH", "target": "labels", "since": "2026-11-01", "until": "2026-11-01"}
        big = httpx.post(
            f"{api.base_url}/v1/tasks",
            json={**task, "params": {"product": "x" * (512 * 1024)}},
            headers=api.headers("analyst"),
        )
        assert big.status_code == 422 and big.json()["error"]["field"] == "params.product"
        assert os.path.getsize(db) - before < 64 * 1024  # nothing of it was stored
        small = httpx.post(
            f"{api.base_url}/v1/tasks",
            json={**task, "params": {"budget": "all"}},
            headers=api.headers("analyst"),
        )
        assert small.status_code == 201 and small.json()["params"] == {"budget": "all"}
        # params decide what is collected: a name that would be a label only is refused
        labelled = {**task, "params": {"project": "nov"}}
        label = httpx.post(f"{api.base_url}/v1/tasks", json=labelled, headers=api.headers("analyst"))
        assert label.status_code == 422 and label.json()["error"]["field"] == "params.project"
