"""Admin endpoints, "not found" answers, and the server's lifecycle."""

from __future__ import annotations

import json
import threading

import httpx

from xget_pipelines.emulator import EmulatorServer, EmulatorSettings, World, WorldConfig
from xget_pipelines.emulator.settings import lenient_contract

from .conftest import UNLIMITED, WORLD_END, XClient, entries, paginate, raw_request


def test_accounts_are_deterministic_and_listed(server: EmulatorServer) -> None:
    first = httpx.post(server.url + "/_emulator/accounts", json={"usernames": ["alpha", "beta"]}).json()
    again = httpx.post(server.url + "/_emulator/accounts", json={"usernames": ["alpha"]}).json()
    assert again[0] == first[0] and set(first[0]) == {"username", "auth_token", "ct0"}
    listed = {a["username"]: a for a in httpx.get(server.url + "/_emulator/accounts").json()}
    assert listed["alpha"] == first[0] and listed["beta"] == first[1]
    assert httpx.post(server.url + "/_emulator/accounts", json={"names": []}).status_code == 400


def test_auto_register_accepts_any_token(world: World) -> None:
    with EmulatorServer(world, EmulatorSettings(auto_register=True)) as emu:
        cookies = {"auth_token": "anything-goes-1234", "ct0": "abc"}
        rep = raw_request(
            emu, "UserByScreenName", cookies=cookies, csrf="abc", screen_name=world.users[0].screen_name
        )
        assert rep.status_code == 200 and rep.headers["x-rate-limit-remaining"] == "94"
        assert any(
            a["auth_token"] == "anything-goes-1234" for a in httpx.get(emu.url + "/_emulator/accounts").json()
        )


def test_health_and_ground_truth(server: EmulatorServer, world: World) -> None:
    health = httpx.get(server.url + "/_emulator/health").json()
    assert health["ok"] is True and health["world"]["tweets"] == len(world.tweets)
    truth = httpx.get(server.url + "/_emulator/ground_truth").json()
    assert [b["term"] for b in truth["bursts"]] == [b.term for b in world.bursts]
    assert all({"term", "start", "end", "tweets_added"} <= set(b) for b in truth["bursts"])
    assert truth["counts"]["tweets"] == len(world.tweets) and truth["watchlist"]["terms"]


def test_stats_count_pages_and_reset(world: World) -> None:
    with EmulatorServer(world, EmulatorSettings(rate_limits={"UserByRestId": 1})) as emu:
        c = XClient(emu, "counted")
        uid = str(world.users[0].id)
        c.get("UserByRestId", userId=uid), c.get("UserByRestId", userId=uid)
        c.get("UnknownOperation")
        stats = httpx.get(emu.url + "/_emulator/stats").json()
        row = stats["accounts"]["counted"]["UserByRestId"]
        assert (row["requests"], row["pages"], row["rate_limited"], row["errors"]) == (2, 1, 1, 0)
        assert row["first"] <= row["last"]
        # an operation X does not have is refused before any account is known, as a stale query id is
        assert stats["accounts"]["<anonymous>"]["UnknownOperation"]["refused"] == 1
        assert stats["totals"]["requests"] == 3 and stats["totals"]["refused"] == 1
        httpx.post(emu.url + "/_emulator/stats/reset").raise_for_status()
        assert httpx.get(emu.url + "/_emulator/stats").json()["accounts"] == {}
        c.close()


def test_not_found_answers(client: XClient, world: World) -> None:
    assert client.gql("UserByScreenName", screen_name="no_such_user_xyz") == {"data": {"user": {}}}
    assert client.gql("UserByRestId", userId="1") == {"data": {"user": {}}}
    assert client.gql("UserTweets", userId="1", count=20) == {"data": {"user": {}}}
    missing = client.gql("TweetDetail", focalTweetId="1")
    assert missing["data"] == {} and missing["errors"][0]["message"].startswith("_Missing: No status found")
    gone = next(u for u in world.users if u.unavailable)
    result = client.gql("UserByScreenName", screen_name=gone.screen_name)["data"]["user"]["result"]
    assert result["__typename"] == "UserUnavailable"
    assert client.get("NoSuchOperation").status_code == 404
    qid = client.query_id("UserByScreenName")
    bad = client.http.get(
        f"/{qid}/UserByScreenName",
        params={**client.params(), "variables": "{not json"},
        headers=client.headers("UserByScreenName"),
    )
    assert bad.status_code == 400 and bad.json()["errors"][0]["code"] == 214


def test_the_lenient_contract_accepts_any_query_id(world: World) -> None:
    """What X did before 2025 (and the emulator before it checked): any query id, no features, no
    transaction id."""
    with EmulatorServer(world, EmulatorSettings(contract=lenient_contract())) as emu:
        c = XClient(emu, "old-times")
        for query_id in ("Gb-d6r0vxPOADdG62OEBpQ", "x", "another_id_123"):
            rep = c.http.get(
                f"/{query_id}/UserByScreenName",
                params={"variables": json.dumps({"screen_name": world.users[0].screen_name})},
                headers={"x-csrf-token": c.ct0, "cookie": f"auth_token={c.auth_token}; ct0={c.ct0}"},
            )
            assert rep.status_code == 200 and rep.json()["data"]["user"]["result"]["rest_id"] == str(
                world.users[0].id
            )
        c.close()


def test_server_lifecycle_leaves_no_threads() -> None:
    before = set(threading.enumerate())
    small = WorldConfig(users=30, tweets=200, bursts=1, end=WORLD_END)
    emu = EmulatorServer(small, UNLIMITED)
    assert emu.port > 0 and emu.url == f"http://127.0.0.1:{emu.port}"  # known before start
    assert emu.graphql_url == emu.url + "/i/api/graphql"
    with emu:
        assert httpx.get(emu.url + "/_emulator/health").json()["ok"]
    leaked = [t for t in threading.enumerate() if t not in before and t.is_alive()]
    assert not leaked, leaked


def _user_ids(pages: list[dict]) -> list[int]:
    return [int(e["entryId"][5:]) for p in pages for e in entries(p) if e["entryId"].startswith("user-")]


def test_followers_removed_at_run_time_are_no_longer_listed(world: World) -> None:
    """/_emulator/followers: an unfollow as X shows it (Followers and the follower's Following stop listing
    the edge), refused for accounts that do not follow, undone by DELETE; the shared world is untouched."""
    account = next(u for u in world.users.people if len(u.followers) >= 10 and not u.protected)
    with EmulatorServer(world, UNLIMITED) as emu:
        c = XClient(emu, "unfollows")
        url = f"{emu.url}/_emulator/followers"
        before = _user_ids(paginate(c, "Followers", userId=str(account.id), count=50))
        gone = [world.users[i] for i in account.followers[:3] if not world.users[i].unavailable]
        removal = {"remove": [str(gone[0].id), f"@{gone[1].screen_name}"]}
        rep = httpx.post(f"{url}/{account.screen_name}", json=removal)
        assert rep.status_code == 200 and set(rep.json()["removed"]) == {str(u.id) for u in gone[:2]}
        assert rep.json()["followers"] == len(account.followers) - 2
        after = _user_ids(paginate(c, "Followers", userId=str(account.id), count=50))
        assert set(before) - set(after) == {u.id for u in gone[:2]} and len(after) == len(before) - 2
        theirs = _user_ids(paginate(c, "Following", userId=str(gone[0].id), count=50))
        assert account.id not in theirs
        stranger = next(u for u in world.users.people if u.idx not in account.followers and u is not account)
        bad = httpx.post(f"{url}/{account.screen_name}", json={"remove": [stranger.screen_name]})
        assert bad.status_code == 400 and stranger.screen_name in bad.json()["error"]
        assert httpx.post(f"{url}/no_such_account_x", json={"remove": []}).status_code == 404
        assert httpx.delete(f"{url}/{account.screen_name}").json()["removed"] == []
        assert _user_ids(paginate(c, "Followers", userId=str(account.id), count=50)) == before
        c.close()
    assert len(account.followers) >= 10  # the world itself never changed
