"""An Idempotency-Key replays only the same request, to the same caller (issue 16, finding 7).

Found before: the fingerprint of a keyed POST was its path and body, not its query string, so
``POST /v1/accounts/import?login_method=GOOGLE`` retried with the key of a ``login_method=TWITTER`` import got
the TWITTER answer replayed and never ran; and the namespace was a hash of the request's credential headers,
so every anonymous caller (``POST /v1/auth/register``, ``/v1/auth/token``) shared one: a second client's
registration under a key value someone else had used was refused as "a different request", or given the
other's answer. Now the fingerprint is method, path, query string and body; the namespace is the user
(``user:<id>``, their sessions) or the API key (``key:<id>``) the credential authenticates as, and
anonymous callers are namespaced by their address. Each test runs on the control-plane store and on Redis
(``XGET_REDIS_URL``).
"""

from __future__ import annotations

import datetime as dt
import hashlib

import httpx
import pytest
from sqlalchemy import insert

from tests.serving.conftest import PASSWORD, start_api_server, username_of
from tests.serving.test_replicas import redis_url  # noqa: F401 - a Redis server of the test's own
from xget_pipelines.core.auth.keys import create_key
from xget_pipelines.core.db.engine import get_engine
from xget_pipelines.core.db.models import IdempotencyRecord


@pytest.fixture(params=["sql", "redis"])
def api(request, tmp_path):
    settings = {"redis_url": request.getfixturevalue("redis_url")} if request.param == "redis" else {}
    with start_api_server(tmp_path, api_registration="open", **settings) as api:
        yield api


def post(api, path: str, key: str, headers: dict | None = None, **kwargs) -> httpx.Response:
    return httpx.post(f"{api.base_url}{path}", headers={**(headers or {}), "Idempotency-Key": key}, **kwargs)


def test_the_same_key_with_another_query_string_is_refused(api):
    operator = api.headers("operator")
    line = "acct_one:a-password:one@example.com:mail-password"
    twitter = post(api, "/v1/accounts/import?login_method=TWITTER", "import-1", operator, content=line)
    assert twitter.status_code == 200 and twitter.json()["created"] == 1, twitter.text
    again = post(api, "/v1/accounts/import?login_method=TWITTER", "import-1", operator, content=line)
    assert again.headers.get("idempotent-replayed") == "true" and again.json() == twitter.json()

    google = post(api, "/v1/accounts/import?login_method=GOOGLE", "import-1", operator, content=line)
    assert google.status_code == 422, google.text  # not the TWITTER import's answer replayed
    assert google.json()["error"]["field"] == "Idempotency-Key"
    assert "idempotent-replayed" not in google.headers
    accounts = httpx.get(f"{api.base_url}/v1/accounts/acct_one", headers=operator).json()
    assert accounts["login_method"] == "TWITTER"  # and it did not run either


def test_two_callers_with_one_key_value_each_get_their_own_answer(api):
    body = {"type": "SEARCH", "target": "python"}
    analyst = post(api, "/v1/tasks", "nightly", api.headers("analyst"), json=body)
    operator = post(api, "/v1/tasks", "nightly", api.headers("operator"), json=body)
    assert analyst.status_code == operator.status_code == 201
    assert "idempotent-replayed" not in operator.headers
    assert analyst.json()["id"] != operator.json()["id"]
    assert analyst.json()["created_by"] == api.users["analyst"].id
    assert operator.json()["created_by"] == api.users["operator"].id

    # An API key of the analyst is a caller of its own: it does not see its user's answers either.
    engine = get_engine(api.settings.resolved_database_url)
    key = {"X-API-Key": create_key(engine, api.users["analyst"].id, "cron")[1]}
    by_key = post(api, "/v1/tasks", "nightly", key, json=body)
    assert by_key.status_code == 201 and "idempotent-replayed" not in by_key.headers
    assert by_key.json()["id"] not in (analyst.json()["id"], operator.json()["id"])

    # The namespace is the user, not the token: a retry after a new login still replays the first answer.
    retried = post(
        api, "/v1/tasks", "nightly", {"Authorization": f"Bearer {api.token('analyst', True)}"}, json=body
    )
    assert retried.headers.get("idempotent-replayed") == "true"
    assert retried.json()["id"] == analyst.json()["id"]


def client_at(address: str) -> httpx.Client:
    """A client whose connections come from ``address`` (any 127.x.y.z reaches the server on Linux)."""
    return httpx.Client(transport=httpx.HTTPTransport(local_address=address), timeout=30)


def test_anonymous_callers_are_namespaced_by_their_address(api):
    url = f"{api.base_url}/v1/auth/register"
    key = {"Idempotency-Key": "signup"}
    with client_at("127.0.0.1") as one, client_at("127.0.0.2") as two:
        ann = one.post(url, json={"username": "ann_user", "password": PASSWORD}, headers=key)
        bob = two.post(url, json={"username": "bob_user", "password": PASSWORD}, headers=key)
        assert ann.status_code == bob.status_code == 201, (ann.text, bob.text)
        assert (ann.json()["username"], bob.json()["username"]) == ("ann_user", "bob_user")

        # From one address a retry replays, and another request under the key is refused.
        retry = one.post(url, json={"username": "ann_user", "password": PASSWORD}, headers=key)
        assert retry.headers.get("idempotent-replayed") == "true" and retry.json() == ann.json()
        other = one.post(url, json={"username": "cid_user", "password": PASSWORD}, headers=key)
        assert other.status_code == 422

        # Logins of two clients under one key value: each gets its own tokens.
        form = {"grant_type": "password", "password": PASSWORD}
        tokens = [
            client.post(
                f"{api.base_url}/v1/auth/token",
                data={**form, "username": username_of(role)},
                headers={"Idempotency-Key": "login"},
            )
            for client, role in ((one, "viewer"), (two, "analyst"))
        ]
        assert [t.status_code for t in tokens] == [200, 200], [t.text for t in tokens]


def test_records_kept_before_the_new_namespaces_are_never_replayed_nor_in_the_way(api):
    """A row or Redis hash in the old form (a bare hash of the credential headers, a hash of path and body)
    is not found by any request: the request runs, and nothing fails on the old record."""
    headers = api.headers("analyst")
    body = b'{"type": "SEARCH", "target": "rust"}'
    old_principal = hashlib.sha256(f"{headers['Authorization']}|".encode()).hexdigest()[:32]
    old_hash = hashlib.sha256(b"/v1/tasks\0" + body).hexdigest()
    if api.settings.redis_url:
        import redis

        name = f"xget:idem:{old_principal}:{hashlib.sha256(b'legacy').hexdigest()[:32]}"
        redis.Redis.from_url(api.settings.redis_url.get_secret_value()).hset(
            name,
            mapping={"hash": old_hash, "status": 201, "body": b'{"id": "old"}', "type": "application/json"},
        )
    else:
        engine = get_engine(api.settings.resolved_database_url)
        with engine.begin() as conn:
            conn.execute(
                insert(IdempotencyRecord).values(
                    principal=old_principal,
                    key="legacy",
                    request_hash=old_hash,
                    status_code=201,
                    body='{"id": "old"}',
                    content_type="application/json",
                    created_at=dt.datetime.now(dt.UTC),
                )
            )
    rep = post(api, "/v1/tasks", "legacy", {**headers, "Content-Type": "application/json"}, content=body)
    assert rep.status_code == 201 and "idempotent-replayed" not in rep.headers
    assert rep.json()["id"] != "old"
