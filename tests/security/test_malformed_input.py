"""Malformed input is the client's error, never the server's (issue 16, finding 7).

Found before: GraphQL bodies `"x"`, `1` and `null` gave a 500 (the API promises 400), `tweet(id:"²")` gave
INTERNAL (Python's `str.isdigit()` takes "²", `int()` refuses it), and a Content-Length header of "²" would
have reached `int()` in the body limit.
"""

from __future__ import annotations

import socket

import httpx
import pytest

from tests.serving.conftest import start_api_server


@pytest.fixture(scope="module")
def api(tmp_path_factory):
    with start_api_server(tmp_path_factory.mktemp("api")) as api:
        yield api


@pytest.mark.parametrize("body", ['"x"', "1", "null", "true", "[]", '{"query": 1}', "{", "\xff"])
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
