"""A page cursor the API did not issue is a 400 naming ``cursor``, on every endpoint that takes one
(issue 16, finding 7).

Found before: the task-result cursor ``["2026-W49-1", 5]`` gave a 500 (Python 3.11 reads the ISO week date,
DuckDB does not cast it), and a cursor holding ``1e400`` gave a 500 on every tweet endpoint (``int(inf)``:
OverflowError); floats, week dates and the cursors of other endpoints passed as if they were cursors (an
empty page), and where there was no table to page yet (no follows collected; a profile) any cursor did; the
rest were a 422. Of the 272 requests below: 144 answered 200, 95 422, 28 400 and 5 500. Now a cursor is
checked before the lake is read: base64 of a JSON list of the endpoint's shape, ids as 64-bit integers,
times in the form ``datetime.isoformat`` writes; anything else (another endpoint's cursor too) is a 400
``bad_request`` with ``field: cursor`` that does not echo the cursor: all 272 over real HTTP, 9 endpoints.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import time
import uuid

import httpx
import pytest

from tests.core.test_entities import put, ts, tweet
from tests.serving.conftest import start_api_server

D1 = dt.date(2026, 3, 1)
TWEETS = [tweet(i, ts(D1, 8 + i), ts(D1, 12), D1) for i in range(1, 5)]


def b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def cursor(*values) -> str:
    return b64(json.dumps(values).encode())


TIME = "2026-03-01T08:00:00+00:00"
TWEET_SHAPED = cursor(TIME, 5)  # what the tweet endpoints issue
ID_SHAPED = cursor(5)  # what the follower endpoints issue
TASK_SHAPED = str(uuid.uuid4())  # what GET /v1/tasks issues (a task id; this one names no task)
MALFORMED = {
    "iso week date": cursor("2026-W49-1", 5),
    "ordinal date": cursor("2026-123", 5),
    "date only": cursor("2026-03-01", 5),
    "Z for UTC": cursor("2026-03-01T08:00:00Z", 5),
    "before year 1 in UTC": cursor("0001-01-01T00:00:00+05:00", 5),
    "id as a float": cursor(TIME, 5.5),
    "id as a string": cursor(TIME, "5"),
    "id as a boolean": cursor(TIME, True),
    "id of 100 bits": cursor(TIME, 2**100),
    "id 1e400": b64(f'["{TIME}", 1e400]'.encode()),
    "id NaN": b64(f'["{TIME}", NaN]'.encode()),
    "lone id of 100 bits": cursor(2**100),
    "lone id 1e400": b64(b"[1e400]"),
    "lone id a string": cursor("5"),
    "time as a number": cursor(5, 5),
    "nulls": cursor(None, None),
    "empty list": cursor(),
    "three values": cursor(TIME, 5, 5),
    "nested lists": cursor([TIME], [5]),
    "an object": b64(b'{"created_at": 1}'),
    "a number": b64(b"5"),
    "a string": b64(b'"x"'),
    "not JSON": b64(b"\xff\xfe\x00"),
    "deep nesting": b64(b"[" * 300),
    "not base64": "!!!***",
    "superscript two": "²",
    "a NUL byte": "ab\x00c",
    "500 characters": "A" * 500,
}
SHAPES = {"tweet": TWEET_SHAPED, "id": ID_SHAPED, "task": TASK_SHAPED}


@pytest.fixture(scope="module")
def api(tmp_path_factory):
    with start_api_server(tmp_path_factory.mktemp("api")) as api:
        headers = api.headers("admin")

        def task(kind: str, target: str) -> str:
            body = {"type": kind, "target": target, "since": "2026-03-01", "until": "2026-03-02"}
            if kind in ("USER_INFO", "FOLLOWERS"):
                body = {"type": kind, "target": target}
            rep = httpx.post(f"{api.base_url}/v1/tasks", json=body, headers=headers)
            assert rep.status_code == 201, rep.text
            return rep.json()["id"]

        api.tasks = {
            kind: task(kind, target) for kind, target in (("SEARCH", "python"), ("FOLLOWERS", "alice"))
        }
        api.tasks["USER_INFO"] = task("USER_INFO", "alice")
        put(api.app.state.xget.lake, "cleaned/tweets", D1, TWEETS)
        time.sleep(1.5)  # the lake is looked at every 0.5 s
        yield api


def endpoints(api) -> list[tuple[str, dict, set[str]]]:
    """(path, other params, the shapes of cursor it issues)."""
    results = "/v1/tasks/{}/results"
    return [
        (results.format(api.tasks["SEARCH"]), {}, {"tweet"}),
        (results.format(api.tasks["FOLLOWERS"]), {}, {"id"}),
        (results.format(api.tasks["USER_INFO"]), {}, set()),
        ("/v1/data", {}, {"tweet"}),
        ("/v1/data/search", {"q": "python"}, {"tweet"}),
        ("/v1/users/alice/tweets", {}, {"tweet"}),
        ("/v1/graph/alice/followers", {}, {"id"}),
        ("/v1/graph/alice/following", {}, {"id"}),
        ("/v1/tasks", {}, set()),  # a task id naming no task is refused too (a stale cursor)
    ]


def error_of(rep: httpx.Response) -> dict:
    json_body = rep.headers["content-type"].startswith("application/json")
    return (rep.json().get("error") if json_body else None) or {}


def test_every_cursor_the_api_did_not_issue_is_a_400_naming_cursor(api):
    headers = api.headers("admin")
    wrong, count = [], 0
    for path, params, issues in endpoints(api):
        cases = dict(MALFORMED) | {f"a {s} cursor": c for s, c in SHAPES.items() if s not in issues}
        for name, value in cases.items():
            count += 1
            rep = httpx.get(f"{api.base_url}{path}", params={**params, "cursor": value}, headers=headers)
            error = error_of(rep)
            if (rep.status_code, error.get("code"), error.get("field")) != (400, "bad_request", "cursor"):
                wrong.append((path, name, rep.status_code, rep.text[:200]))
            elif name in MALFORMED and len(value) > 3 and value in error["message"]:
                wrong.append((path, name, "the message echoes the cursor", error["message"]))
    assert count == 272 and not wrong, wrong


def test_the_cursors_the_api_issues_still_page(api):
    headers = api.headers("admin")
    seen, next_cursor = [], None
    while True:
        params = {"limit": 1, **({"cursor": next_cursor} if next_cursor else {})}
        rep = httpx.get(
            f"{api.base_url}/v1/tasks/{api.tasks['SEARCH']}/results", params=params, headers=headers
        )
        assert rep.status_code == 200, rep.text
        seen += [row["tweet_id"] for row in rep.json()["items"]]
        next_cursor = rep.json()["next_cursor"]
        if next_cursor is None:
            break
    assert seen == [4, 3, 2, 1]

    first = httpx.get(f"{api.base_url}/v1/tasks", params={"limit": 1}, headers=headers).json()
    rest = httpx.get(
        f"{api.base_url}/v1/tasks", params={"cursor": first["next_cursor"]}, headers=headers
    ).json()
    assert len(first["items"]) + len(rest["items"]) == len(api.tasks)


def test_graphql_after_is_bad_user_input_too(api):
    rep = httpx.post(
        f"{api.base_url}/v1/graphql",
        json={
            "query": "query($a: String) { tweets(after: $a) { edges { node { id } } } }",
            "variables": {"a": MALFORMED["iso week date"]},
        },
        headers=api.headers("viewer"),
    )
    (error,) = rep.json()["errors"]
    assert error["extensions"] == {"code": "BAD_USER_INPUT", "field": "after"}
