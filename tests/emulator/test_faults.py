"""Authentication failures, account states and injected faults produce X's statuses and bodies."""

from __future__ import annotations

import json
import time
from collections import Counter

import httpx
import pytest

from xget_pipelines.emulator import EmulatorServer, FaultRule, Faults, World

from .conftest import UNLIMITED, XClient, bottom_cursor, raw_request, tweet_ids


@pytest.fixture(scope="module")
def faulty(world: World):
    settings = UNLIMITED.model_copy(
        update={
            "faults": Faults(
                accounts={"susp": "suspended", "lock": "locked", "expired": "bad_auth", "shadow": "soft_ban"},
                rules=[
                    FaultRule(kind="http_5xx", operation="UserByRestId", account="flaky", count=2, status=503)
                ],
            ),
            "fault_seed": 3,
        }
    )
    with EmulatorServer(world, settings) as emu:
        yield emu


def code(rep: httpx.Response) -> int:
    return rep.json()["errors"][0]["code"]


def test_a_missing_or_unknown_session_is_401_code_32_and_a_csrf_mismatch_403_code_353(
    faulty: EmulatorServer, world: World
) -> None:
    """As X answers (twscrape's queue_client, field notes of 2026-09-05): an unknown session 401 code 32; a
    csrf header that is not the ct0 cookie 403 code 353 with the session's ct0 in Set-Cookie."""
    name = world.users[0].screen_name
    rep = raw_request(faulty, "UserByScreenName", screen_name=name)
    assert rep.status_code == 401 and rep.json() == {
        "errors": [{"code": 32, "message": "Could not authenticate you."}]
    }
    rep = raw_request(
        faulty, "UserByScreenName", cookies={"auth_token": "unknown", "ct0": "x"}, csrf="x", screen_name=name
    )
    assert rep.status_code == 401 and code(rep) == 32
    c = XClient(faulty, "csrf")
    rep = raw_request(faulty, "UserByScreenName", cookies=c.cookies, csrf="nope", screen_name=name)
    assert rep.status_code == 403 and rep.json()["errors"][0] == {
        "code": 353,
        "message": "This request requires a matching csrf cookie and header.",
    }
    assert (
        rep.headers["set-cookie"].startswith(f"ct0={c.ct0};") and "Domain=.x.com" in rep.headers["set-cookie"]
    )
    assert (
        raw_request(faulty, "UserByScreenName", cookies=c.cookies, csrf=c.ct0, screen_name=name).status_code
        == 200
    )


def test_a_request_without_a_bearer_is_400_code_215(faulty: EmulatorServer, world: World) -> None:
    c = XClient(faulty, "nobearer")
    rep = raw_request(
        faulty,
        "UserByScreenName",
        cookies=c.cookies,
        csrf=c.ct0,
        bearer=False,
        screen_name=world.users[0].screen_name,
    )
    assert rep.status_code == 400 and code(rep) == 215


@pytest.mark.parametrize(
    ("username", "status", "error"),
    [("susp", 403, 64), ("lock", 403, 326), ("expired", 401, 32), ("shadow", 429, 88)],
)
def test_account_faults(faulty: EmulatorServer, world: World, username: str, status: int, error: int) -> None:
    c = XClient(faulty, username)
    rep = c.get("UserByScreenName", screen_name=world.users[0].screen_name)
    assert rep.status_code == status and code(rep) == error
    if username == "susp":
        assert rep.json()["errors"][0]["message"] == (
            "Your account is suspended and is not permitted to access this feature."
        )
    if username == "lock":
        assert rep.json()["errors"][0]["message"].startswith("Authorization: Denied by access control")
    if username == "shadow":  # soft ban: 88 although the headers say there is budget left
        assert int(rep.headers["x-rate-limit-remaining"]) > 0
    c.close()


def test_exact_count_of_5xx(faulty: EmulatorServer, world: World) -> None:
    c = XClient(faulty, "flaky")
    uid = str(world.users[0].id)
    statuses = [c.get("UserByRestId", userId=uid).status_code for _ in range(4)]
    assert statuses == [503, 503, 200, 200]
    assert XClient(faulty, "other").get("UserByRestId", userId=uid).status_code == 200


def test_runtime_faults_and_clearing(world: World) -> None:
    with EmulatorServer(world, UNLIMITED.model_copy(update={"fault_seed": 11})) as emu:
        c = XClient(emu, "rt")
        name = world.users[0].screen_name
        admin = httpx.Client(base_url=emu.url)
        admin.post(
            "/_emulator/faults", json={"rules": [{"kind": "http_5xx", "probability": 1.0}]}
        ).raise_for_status()
        seen = {c.get("UserByScreenName", screen_name=name).status_code for _ in range(30)}
        assert seen <= {500, 502, 503} and len(seen) >= 2
        rep = c.get("UserByScreenName", screen_name=name)
        assert len(rep.content) < 200  # a small body
        admin.delete("/_emulator/faults").raise_for_status()
        assert c.get("UserByScreenName", screen_name=name).status_code == 200

        admin.post(
            "/_emulator/faults", json={"rules": [{"kind": "http_5xx", "probability": 0.5, "status": 500}]}
        )
        counts = Counter(c.get("UserByScreenName", screen_name=name).status_code for _ in range(200))
        assert set(counts) == {200, 500} and 60 <= counts[500] <= 140
        admin.delete("/_emulator/faults")

        admin.post("/_emulator/faults", json={"accounts": {"rt": "locked"}})
        assert code(c.get("UserByScreenName", screen_name=name)) == 326
        admin.post("/_emulator/faults", json={"accounts": {"rt": None}})
        assert c.get("UserByScreenName", screen_name=name).status_code == 200
        assert admin.get("/_emulator/faults").json() == {"accounts": {}, "rules": []}
        stats = admin.get("/_emulator/stats").json()["accounts"]["rt"]["UserByScreenName"]
        assert stats["errors"] >= 31 and stats["pages"] >= 2
        c.close(), admin.close()


def test_slow_and_malformed(world: World) -> None:
    faults = Faults(
        rules=[
            FaultRule(kind="slow", operation="UserByRestId", delay=0.4),
            FaultRule(kind="malformed", operation="UserByScreenName", count=1),
        ]
    )
    with EmulatorServer(world, UNLIMITED.model_copy(update={"faults": faults})) as emu:
        c = XClient(emu, "slowpoke")
        started = time.perf_counter()
        assert c.get("UserByRestId", userId=str(world.users[0].id)).status_code == 200
        assert time.perf_counter() - started >= 0.4
        broken = c.get("UserByScreenName", screen_name=world.users[0].screen_name)
        assert broken.status_code == 200
        with pytest.raises(json.JSONDecodeError):
            json.loads(broken.text)
        assert c.get("UserByScreenName", screen_name=world.users[0].screen_name).json()["data"]["user"]
        c.close()


def test_repeat_cursor_at_end_of_timeline(world: World, server: EmulatorServer) -> None:
    faults = Faults(rules=[FaultRule(kind="repeat_cursor", operation="SearchTimeline", count=1)])
    with EmulatorServer(world, UNLIMITED.model_copy(update={"faults": faults})) as emu:
        c = XClient(emu, "looper")
        query = {"rawQuery": "#xgetshowcase", "count": 10, "product": "Latest"}
        first = c.gql("SearchTimeline", **query)
        cursor = bottom_cursor(first)
        second = c.gql("SearchTimeline", **query, cursor=cursor)
        last_cursor = bottom_cursor(second)
        assert tweet_ids(second)
        repeated = c.gql("SearchTimeline", **query, cursor=last_cursor)  # the end: served page 2 again
        assert tweet_ids(repeated) == tweet_ids(second) and bottom_cursor(repeated) == last_cursor
        normal_end = c.gql("SearchTimeline", **query, cursor=last_cursor)  # count exhausted: normal end
        assert tweet_ids(normal_end) == [] and bottom_cursor(normal_end) == last_cursor
        c.close()
