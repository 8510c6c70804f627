"""Gateway behaviour over real HTTP: rate limits, request ids, gzip, CORS, idempotency keys, the search
circuit breaker falling back to the lake, 503s naming what is down, Prometheus metrics."""

from __future__ import annotations

import shutil
import socket

import httpx
import sqlalchemy as sa

from tests.serving.conftest import start_api_server


def test_rate_limit_per_principal_with_retry_after(tmp_path):
    with start_api_server(tmp_path, api_rate_limit_per_minute=60, api_rate_limit_burst=3) as server:
        base = server.base_url
        viewer, analyst = server.headers("viewer"), server.headers("analyst")
        codes = [httpx.get(f"{base}/v1/me", headers=viewer).status_code for _ in range(5)]
        assert codes[:3] == [200, 200, 200] and codes[-1] == 429
        limited = httpx.get(f"{base}/v1/me", headers=viewer)
        assert limited.status_code == 429 and int(limited.headers["Retry-After"]) >= 1
        assert limited.json()["error"]["code"] == "rate_limited"
        assert httpx.get(f"{base}/v1/me", headers=analyst).status_code == 200  # a budget of its own
        assert httpx.get(f"{base}/healthz").status_code == 200  # probes are never limited


def test_request_ids_gzip_and_error_shape(api_server):
    base, headers = api_server.base_url, api_server.headers("viewer")
    mine = httpx.get(f"{base}/v1/data/123", headers={**headers, "X-Request-ID": "trace-abc.1"})
    assert mine.headers["X-Request-ID"] == "trace-abc.1"
    assert mine.status_code == 404 and mine.json()["error"]["request_id"] == "trace-abc.1"
    assert set(mine.json()["error"]) == {"code", "message", "field", "request_id"}
    fresh = httpx.get(f"{base}/v1/me", headers={**headers, "X-Request-ID": "bad id with spaces"})
    assert fresh.headers["X-Request-ID"] != "bad id with spaces" and len(fresh.headers["X-Request-ID"]) == 32

    big = httpx.get(f"{base}/openapi.json", headers={"Accept-Encoding": "gzip"})
    assert big.headers.get("content-encoding") == "gzip" and big.json()["info"]["title"] == "XGet API"

    bad = httpx.get(f"{base}/v1/data", headers=headers, params={"limit": 0})
    assert bad.status_code == 422 and bad.json()["error"]["field"] == "limit"
    unknown = httpx.get(f"{base}/v1/nothing-here", headers=headers)
    assert unknown.status_code == 404 and unknown.json()["error"]["code"] == "not_found"


def test_cors_by_setting(tmp_path):
    with start_api_server(tmp_path, api_cors_origins="https://app.example") as server:
        pre = httpx.options(
            f"{server.base_url}/v1/data",
            headers={
                "Origin": "https://app.example",
                "Access-Control-Request-Method": "GET",
                "Access-Control-Request-Headers": "authorization",
            },
        )
        assert pre.status_code == 200 and pre.headers["access-control-allow-origin"] == "https://app.example"
        other = httpx.options(
            f"{server.base_url}/v1/data",
            headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "GET"},
        )
        assert "access-control-allow-origin" not in other.headers


def test_idempotency_keys_replay_the_first_answer(api_server):
    base, headers = api_server.base_url, api_server.headers("analyst")
    body = {"type": "SEARCH", "target": "idempotent words", "start": False}
    first = httpx.post(f"{base}/v1/tasks", headers={**headers, "Idempotency-Key": "k-1"}, json=body)
    second = httpx.post(f"{base}/v1/tasks", headers={**headers, "Idempotency-Key": "k-1"}, json=body)
    assert first.status_code == second.status_code == 201
    assert first.json()["id"] == second.json()["id"] and second.headers.get("idempotent-replayed") == "true"
    tasks = httpx.get(f"{base}/v1/tasks", headers=headers, params={"limit": 500}).json()["items"]
    assert [t["target"] for t in tasks].count("idempotent words") == 1

    other_body = httpx.post(
        f"{base}/v1/tasks",
        headers={**headers, "Idempotency-Key": "k-1"},
        json={**body, "target": "something else"},
    )
    assert other_body.status_code == 422 and other_body.json()["error"]["field"] == "Idempotency-Key"
    # Another principal's key of the same name is another request.
    operator = httpx.post(
        f"{base}/v1/tasks", headers={**api_server.headers("operator"), "Idempotency-Key": "k-1"}, json=body
    )
    assert operator.status_code == 201 and operator.json()["id"] != first.json()["id"]


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_search_falls_back_to_the_lake_and_the_breaker_opens(tmp_path):
    with start_api_server(tmp_path, search_url=f"http://127.0.0.1:{_closed_port()}") as server:
        base, headers = server.base_url, server.headers("viewer")
        backends = []
        for _ in range(5):
            rep = httpx.get(f"{base}/v1/data/search", headers=headers, params={"q": "python"})
            assert rep.status_code == 200
            backends.append(rep.json()["backend"])
            assert rep.headers["X-Search-Backend"] == "lake"
        assert backends[:3] == ["lake (search index failed)"] * 3
        assert backends[3:] == ["lake (search index circuit open)"] * 2
        direct = httpx.get(f"{base}/v1/data", headers=headers, params={"term": "python"}).json()["items"]
        assert [t["tweet_id"] for t in direct] == [t["tweet_id"] for t in rep.json()["items"]]
        ready = httpx.get(f"{base}/readyz").json()
        assert ready["checks"]["search"]["backend"] == "open"


def test_a_lost_lake_is_a_503_naming_it(tmp_path):
    with start_api_server(tmp_path) as server:
        base, headers = server.base_url, server.headers("viewer")
        page = httpx.get(f"{base}/v1/data", headers=headers).json()["items"]
        tweet_id = page[0]["tweet_id"]
        assert httpx.get(f"{base}/v1/data/{tweet_id}", headers=headers).status_code == 200
        shutil.rmtree(tmp_path / "lake")
        # The newest days are held in memory: their pages still answer (the last snapshot read); anything
        # that must read the storage is a 503 naming the lake, and readiness says so.
        assert [t["tweet_id"] for t in httpx.get(f"{base}/v1/data", headers=headers).json()["items"]] == [
            t["tweet_id"] for t in page
        ]
        rep = httpx.get(f"{base}/v1/data/{tweet_id}", headers=headers)
        assert rep.status_code == 503 and rep.json()["error"]["code"] == "lake_unavailable"
        assert "Retry-After" in rep.headers
        ready = httpx.get(f"{base}/readyz")
        assert ready.status_code == 503 and ready.json()["checks"]["lake"]["ok"] is False
        assert ready.json()["checks"]["database"]["ok"] is True


def test_a_lost_database_is_a_503_naming_it(tmp_path, postgres_url):
    with start_api_server(tmp_path, database_url=postgres_url) as server:
        base = server.base_url
        headers = server.headers("viewer")
        assert httpx.get(f"{base}/v1/me", headers=headers).status_code == 200
        admin = sa.create_engine(postgres_url.rsplit("/", 1)[0] + "/postgres", isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE "{postgres_url.rsplit("/", 1)[1]}" WITH (FORCE)'))
        admin.dispose()
        rep = httpx.get(f"{base}/v1/me", headers=headers)
        assert rep.status_code == 503 and rep.json()["error"]["code"] == "database_unavailable"
        assert "password" not in rep.text.lower()
        ready = httpx.get(f"{base}/readyz")
        assert ready.status_code == 503 and ready.json()["checks"]["database"]["ok"] is False


def test_metrics_count_requests_by_route_and_expose_pool_gauges(api_server):
    base, headers = api_server.base_url, api_server.headers("viewer")
    series = 'xget_api_requests_total{method="GET",route="/v1/data/{tweet_id}",status="404"} '

    def count() -> float:
        lines = [line for line in httpx.get(f"{base}/metrics").text.splitlines() if line.startswith(series)]
        return float(lines[0].rsplit(" ", 1)[1]) if lines else 0.0

    before = count()
    for tweet_id in (42, 43, 44):  # three paths, one route template
        httpx.get(f"{base}/v1/data/{tweet_id}", headers=headers)
    assert count() == before + 3
    text = httpx.get(f"{base}/metrics").text
    assert "xget_api_request_duration_seconds_bucket" in text
    assert 'xget_accounts{state="usable"}' in text and 'xget_tasks{state="PENDING"}' in text
    assert 'xget_proxies{status="ACTIVE"}' in text
