"""Malformed input is the client's error, never the server's (issue 16, finding 7).

Found before: GraphQL bodies `"x"`, `1` and `null` gave a 500 (the API promises 400), `tweet(id:"²")` gave
INTERNAL (Python's `str.isdigit()` takes "²", `int()` refuses it), and a Content-Length header of "²" would
have reached `int()` in the body limit.

Found next, fuzzing every REST route's query and path parameters and bodies with odd values ("²", 2**70,
NUL, 5,000 characters, repeated parameters, deep JSON): on PostgreSQL a NUL character in any text the
control plane stores or looks up was a 500 (its driver raises ValueError, even for a lookup): 4 of the
parameters (a task id in 3 paths, the audit log's subject) and 11 bodies (a task target, a registration's
email, a key name, an account, a user's email on create and update, the account import as CSV and JSON, the
proxy import, a login's username, a client id). SQLite stored the same texts. Now the control plane refuses
a text with NUL on either database (a 422 naming it), and the imports report such a line as a bad line.
And a lone surrogate (JSON's `"\\ud800"`, which no UTF-8 text holds) in a task's params or in preferences was
kept, after which every answer showing them was a 500: one analyst's task broke `GET /v1/tasks` for every
operator; in a JSON account import it was a 500 for a password, email, email password, user agent or proxy
URL, and kept for a cookie. Now those are a 422 naming the field, or a bad line.
(Cursors and import files have tests of their own. A GraphQL body of JSON nested 100,000 deep is still a
500: ``graphql.py`` parses it, which another change owns.)
"""

from __future__ import annotations

import json
import socket

import httpx
import pytest
from sqlalchemy import func, select

from tests.serving.conftest import start_api_server


@pytest.fixture(scope="module")
def api(tmp_path_factory):
    with start_api_server(tmp_path_factory.mktemp("api")) as api:
        yield api


@pytest.mark.parametrize(
    "body", ['"x"', "1", "null", "true", "[]", '{"query": 1}', "{", "\xff", "[" * 100_000 + "]" * 100_000]
)
def test_a_graphql_body_that_is_not_a_request_is_a_400(api, body):
    rep = httpx.post(
        f"{api.base_url}/v1/graphql",
        content=body.encode("latin-1"),
        headers={**api.headers("viewer"), "Content-Type": "application/json"},
    )
    assert rep.status_code == 400, rep.text
    assert rep.json()["error"]["code"] == "bad_request"


@pytest.mark.parametrize("tweet_id", ["²", "١٢٣", "-1", "0", "9" * 30, "1e3", " "])
def test_a_tweet_id_that_is_not_one_is_bad_input_not_internal(api, tweet_id):
    rep = httpx.post(
        f"{api.base_url}/v1/graphql",
        json={"query": "query($id: ID!) { tweet(id: $id) { text } }", "variables": {"id": tweet_id}},
        headers=api.headers("viewer"),
    )
    errors = rep.json()["errors"]
    assert rep.status_code == 200 and errors[0]["extensions"]["code"] != "INTERNAL", errors
    assert "positive 64-bit integers" in errors[0]["message"]


def test_a_content_length_that_is_not_a_number_is_refused(api):
    host, port = api.base_url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(f"POST /v1/tasks HTTP/1.1\r\nHost: {host}\r\nContent-Length: ²\r\n\r\n".encode())
        answer = sock.recv(4096)
    assert answer.split(b" ", 2)[1] in (b"400", b"413"), answer[:200]


NUL_REQUESTS = [  # (method, path, keyword arguments of httpx.request, who asks)
    ("GET", "/v1/tasks/a%00b", {}, "admin"),
    ("GET", "/v1/tasks/a%00b/status", {}, "admin"),
    ("GET", "/v1/admin/audit", {"params": {"subject": "task:\x00"}}, "admin"),
    ("POST", "/v1/tasks", {"json": {"type": "SEARCH", "target": "py\x00thon"}}, "admin"),
    ("POST", "/v1/me/keys", {"json": {"name": "cron\x00"}}, "admin"),
    (
        "POST",
        "/v1/admin/users",
        {"json": {"username": "nul_user", "password": "x" * 12, "email": "a\x00@x"}},
        "admin",
    ),
    (
        "POST",
        "/v1/accounts",
        {"json": {"username": "nul_acct", "password": "pw", "email": "a\x00@x"}},
        "admin",
    ),
    (
        "POST",
        "/v1/auth/register",
        {"json": {"username": "nul_reg", "password": "x" * 12, "email": "\x00"}},
        None,
    ),
    (
        "POST",
        "/v1/auth/token",
        {"data": {"grant_type": "password", "username": "a\x00", "password": "x"}},
        None,
    ),
    (
        "POST",
        "/v1/auth/token",
        {"data": {"grant_type": "client_credentials", "client_id": "a\x00", "client_secret": "x"}},
        None,
    ),
]


@pytest.fixture(params=["sqlite", "postgresql"])
def either_db(request, tmp_path):
    settings = {"api_registration": "open"}
    if request.param == "postgresql":
        settings["database_url"] = request.getfixturevalue("postgres_url")
    with start_api_server(tmp_path, **settings) as api:
        yield api


def test_a_nul_character_is_bad_input_on_either_database(either_db):
    api = either_db
    answers = [
        httpx.request(method, f"{api.base_url}{path}", headers=api.headers(role), **kwargs)
        for method, path, kwargs, role in NUL_REQUESTS
    ]
    assert [a.status_code for a in answers] == [422] * len(NUL_REQUESTS), [a.text for a in answers]
    assert all("NUL character" in a.json()["error"]["message"] for a in answers), [a.text for a in answers]

    from xget_pipelines.core.db.engine import get_engine
    from xget_pipelines.core.db.models import Task

    with get_engine(api.settings.resolved_database_url).connect() as conn:
        assert conn.execute(select(func.count()).select_from(Task)).scalar() == 0  # nothing half-stored

    # Imports report the line and keep the others.
    operator = {**api.headers("operator"), "Content-Type": "text/plain"}
    accounts = httpx.post(
        f"{api.base_url}/v1/accounts/import",
        params={"format": "csv"},
        content=b"username,email\nacct_ok,ok@x.org\nacct_nul,a\x00@x.org\n",
        headers=operator,
    )
    assert accounts.status_code == 200, accounts.text
    assert accounts.json()["created"] == 1
    assert accounts.json()["skipped"] == ["line 3: email holds a NUL character"]
    proxies = httpx.post(
        f"{api.base_url}/v1/proxies/import",
        content=b"10.0.0.1:8080\n10.0.0.2:80 city=a\x00b\n",
        headers=operator,
    )
    assert proxies.status_code == 200, proxies.text
    assert proxies.json()["skipped"] == ["line 2: the line holds a NUL character"]


SURROGATE = '"a\\ud800b"'  # JSON text of a lone surrogate


def test_a_lone_surrogate_is_refused_before_it_is_kept(api):
    analyst = {**api.headers("analyst"), "Content-Type": "application/json"}
    task = httpx.post(
        f"{api.base_url}/v1/tasks",
        content=f'{{"type": "SEARCH", "target": "python", "params": {{"product": {SURROGATE}}}}}'.encode(),
        headers=analyst,
    )
    assert task.status_code == 422 and task.json()["error"]["field"] == "params.product", task.text
    preferences = httpx.patch(
        f"{api.base_url}/v1/me/preferences", content=f'{{"theme": {SURROGATE}}}'.encode(), headers=analyst
    )
    assert preferences.status_code == 422 and preferences.json()["error"]["field"] == "preferences"
    assert httpx.get(f"{api.base_url}/v1/tasks", headers=api.headers("operator")).status_code == 200
    assert httpx.get(f"{api.base_url}/v1/me", headers=api.headers("analyst")).status_code == 200

    fields = ["password", "email", "email_password", "user_agent", "proxy_url", "mfa_secret"]
    accounts = [{"username": f"sur_{i}", field: "placeholder"} for i, field in enumerate(fields)]
    accounts.append({"username": "sur_cookie", "cookies": {"auth_token": "placeholder", "ct0": "c"}})
    body = json.dumps(accounts).replace('"placeholder"', SURROGATE)
    rep = httpx.post(
        f"{api.base_url}/v1/accounts/import",
        params={"format": "json"},
        content=body.encode(),
        headers={**api.headers("operator"), "Content-Type": "text/plain"},
    )
    assert rep.status_code == 200, rep.text
    assert rep.json()["skipped"] == [
        f"line {i}: {field} is not valid Unicode (it holds a lone surrogate)"
        for i, field in enumerate([*fields, "cookies"], start=1)
    ]
    assert httpx.get(f"{api.base_url}/v1/accounts", headers=api.headers("operator")).status_code == 200
