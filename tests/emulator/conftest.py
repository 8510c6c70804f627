"""Shared fixtures: one small deterministic world, a default server and an HTTP client helper.

Every test talks to a real `EmulatorServer` over HTTP; tests needing special settings (short
rate-limit windows, faults) start their own server on the shared world, which is cheap.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import httpx
import pytest

from xget_pipelines.core.x.browser import DEFAULT_USER_AGENT, api_headers
from xget_pipelines.core.x.transaction import TransactionIds
from xget_pipelines.core.x.web import XWeb
from xget_pipelines.emulator import DEFAULT_RATE_LIMITS, EmulatorServer, EmulatorSettings, World, WorldConfig
from xget_pipelines.emulator.model import Tweet, User

REPO_ROOT = Path(__file__).resolve().parents[2]
WORLD_END = date(2026, 8, 1)  # fixed, in the past: every post is visible and results are stable


def captures_dir() -> Path:
    return Path(
        os.environ.get("XGET_CAPTURES_DIR", REPO_ROOT / ".." / "shared" / "x-captures" / "twscrape")
    ).resolve()


class XClient:
    """An httpx client authenticated as one emulator account that sends what X's web client sends: the
    current release's query id and feature switches, the bearer, cookies and csrf header, and a
    transaction id made from the account's own page load (twscrape's xclid, through XGet's wrapper)."""

    def __init__(self, server: EmulatorServer, username: str, sign: bool = True, **kwargs: Any):
        acc = (
            httpx.post(server.url + "/_emulator/accounts", json={"usernames": [username]})
            .raise_for_status()
            .json()[0]
        )
        self.server = server
        self.username = username
        self.auth_token, self.ct0 = acc["auth_token"], acc["ct0"]
        self.cookies = {"auth_token": self.auth_token, "ct0": self.ct0}
        self.transactions = TransactionIds(XWeb.for_graphql_url(server.graphql_url))
        self.sign = (
            sign  # False: no transaction id (for servers that do not ask for one; saves ~20 ms a request)
        )
        self.http = httpx.Client(base_url=server.graphql_url, timeout=30, **kwargs)

    def headers(self, operation: str, query_id: str | None = None) -> dict[str, str]:
        path = f"{self.server.graphql_url}/{query_id or self.query_id(operation)}/{operation}"
        if not self.sign:
            return api_headers(DEFAULT_USER_AGENT, self.cookies, None)
        txid = self.transactions.header(
            0,
            self.username,
            self.cookies,
            proxy_url=None,
            user_agent=DEFAULT_USER_AGENT,
            method="GET",
            url=path,
        )
        return api_headers(DEFAULT_USER_AGENT, self.cookies, txid)

    def query_id(self, operation: str) -> str:
        return self.server.state.releases.current.query_ids.get(operation, "NoSuchQueryId000000000")

    def params(self, **variables: Any) -> dict[str, str]:
        return {
            "variables": json.dumps(variables),
            "features": json.dumps(self.server.state.releases.current.features),
        }

    def get(self, operation: str, **variables: Any) -> httpx.Response:
        return self.http.get(
            f"/{self.query_id(operation)}/{operation}",
            params=self.params(**variables),
            headers=self.headers(operation),
        )

    def gql(self, operation: str, **variables: Any) -> dict:
        rep = self.get(operation, **variables)
        assert rep.status_code == 200, rep.text[:500]
        return rep.json()

    def close(self) -> None:
        self.http.close()


def raw_request(
    server: EmulatorServer,
    operation: str,
    *,
    cookies: dict | None = None,
    csrf: str | None = None,
    bearer: bool = True,
    **variables: Any,
) -> httpx.Response:
    """One GraphQL request of an operation X does not gate by transaction id, with exactly the session given
    (for the authentication rules)."""
    release = server.state.releases.current
    headers = {"authorization": api_headers(DEFAULT_USER_AGENT, {}, None)["authorization"]} if bearer else {}
    if csrf is not None:
        headers["x-csrf-token"] = csrf
    return httpx.get(
        f"{server.graphql_url}/{release.query_ids[operation]}/{operation}",
        cookies=cookies,
        headers=headers,
        params={"variables": json.dumps(variables), "features": json.dumps(release.features)},
    )


def ordinary_users(world: World) -> list[User]:
    """The users outside the deep corner (emulator/deep.py), whose 20,500-follower account would be every
    "busiest account" pick, and outside the injected campaigns (gen_campaigns.py); tests of those name
    them."""
    famous = world.deep.famous if world.deep else None
    injected = {u.idx for c in world.campaigns for u in c.members + c.noise}
    return [u for u in world.users.people if u is not famous and u.idx not in injected]


def ordinary_tweets(world: World) -> list[Tweet]:
    """The posts outside the deep corner (its flood and its 540-reply conversation) and the campaigns."""
    deep = {t.id for t in world.deep.tweets} if world.deep else set()
    deep |= {t.id for c in world.campaigns for t in c.tweets}
    return [t for t in world.tweets if t.id not in deep]


@pytest.fixture(scope="session")
def world() -> World:
    return World.generate(WorldConfig(seed=7, users=300, tweets=5000, days=30, end=WORLD_END))


UNLIMITED = EmulatorSettings(
    rate_limits={op: 1_000_000 for op in DEFAULT_RATE_LIMITS}, default_rate_limit=1_000_000
)


@pytest.fixture(scope="session")
def server(world: World) -> Iterator[EmulatorServer]:
    """The shared server; rate limits are out of the way here (test_ratelimit.py covers them)."""
    with EmulatorServer(world, UNLIMITED) as emu:
        yield emu


@pytest.fixture()
def client(server: EmulatorServer, request: pytest.FixtureRequest) -> Iterator[XClient]:
    c = XClient(server, "tester-" + hashlib.sha1(request.node.nodeid.encode()).hexdigest()[:12])
    yield c
    c.close()


def entries(body: dict) -> list[dict]:
    """All timeline entries of a response (AddEntries, PinEntry and ReplaceEntry instructions)."""
    found: list[dict] = []

    def walk(obj: Any) -> None:
        if isinstance(obj, dict):
            if "instructions" in obj:
                for ins in obj["instructions"]:
                    found.extend(ins.get("entries", []))
                    if "entry" in ins:
                        found.append(ins["entry"])
                return
            for value in obj.values():
                walk(value)

    walk(body)
    return found


def bottom_cursor(body: dict, kind: str = "Bottom") -> str | None:
    for e in entries(body):
        if e["content"].get("cursorType") == kind:
            return e["content"]["value"]
    return None


def tweet_ids(body: dict) -> list[int]:
    """Ids of the top-level posts of a page (entries and module items), in page order."""
    out = []
    for e in entries(body):
        content = e["content"]
        items = [content] if "itemContent" in content else [i["item"] for i in content.get("items", [])]
        for item in items:
            result = item["itemContent"].get("tweet_results", {}).get("result")
            if result:
                inner = result.get("tweet", result)
                if "rest_id" in inner:
                    out.append(int(inner["rest_id"]))
    return out


def paginate(client: XClient, operation: str, max_pages: int = 200, **variables: Any) -> list[dict]:
    """Follows Bottom cursors until the page repeats the cursor it was given (X's end signal)."""
    pages, cursor = [], None
    for _ in range(max_pages):
        body = client.gql(operation, **variables, **({"cursor": cursor} if cursor else {}))
        pages.append(body)
        nxt = bottom_cursor(body)
        if nxt is None or nxt == cursor:
            return pages
        cursor = nxt
    raise AssertionError(f"{operation} did not end within {max_pages} pages")
