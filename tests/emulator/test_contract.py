"""The emulator refuses what X refuses (``emulator/contract.py``), checked with clients XGet did not write.

- twscrape 0.20.1's own ``XClIdGen`` (its page parsing and key derivation, only its HTTP routed to the
  emulator) makes transaction ids the emulator accepts; a random id, one made for another path, for
  another account or too long ago gets 404 with an empty body, as on X.
- query ids rotate with releases; a retired one gets 404 with an empty body after the grace period.
- a required feature switch missing or null gets 400 code 336 naming it.
- the pages are deterministic per seed and differ between seeds.
- ``xclienttransaction`` (PyPI, a second independent generator) is tried on the emulator's pages.
"""

from __future__ import annotations

import asyncio
import json
import time
from unittest import mock

import bs4
import httpx
import pytest
import twscrape.xclid
from twscrape import API
from twscrape.queue_client import XClIdGenStore

from xget_pipelines.emulator import EmulatorServer, EmulatorSettings, World, point_twscrape_at
from xget_pipelines.emulator.contract import TX_EPOCH
from xget_pipelines.emulator.settings import Contract

from .conftest import UNLIMITED, XClient, entries, ordinary_tweets, ordinary_users
from .test_twscrape_e2e import _api, _collect

GATED = ("SearchTimeline", "UserTweetsAndReplies", "Followers", "TweetDetail")


def strict(**contract) -> EmulatorSettings:
    return UNLIMITED.model_copy(update={"contract": Contract(**contract)})


@pytest.fixture(scope="module")
def emu(world: World):
    with EmulatorServer(world, strict(query_id_grace_s=0.0)) as server:
        yield server


def twscrape_generator(server: EmulatorServer, client: XClient) -> twscrape.xclid.XClIdGen:
    with point_twscrape_at(server.graphql_url):
        return asyncio.run(twscrape.xclid.XClIdGen.create(cookies=client.cookies))


def variables_for(world: World, operation: str) -> dict:
    user = max(ordinary_users(world), key=lambda u: len(u.followers))
    focal = max(ordinary_tweets(world), key=lambda t: len(t.replies))
    return {
        "SearchTimeline": {"rawQuery": "python", "count": 20, "product": "Latest"},
        "UserTweetsAndReplies": {"userId": str(user.id), "count": 20},
        "Followers": {"userId": str(user.id), "count": 20},
        "TweetDetail": {"focalTweetId": str(focal.id)},
    }[operation]


def send(
    client: XClient, operation: str, txid: str | None, query_id: str | None = None, **variables
) -> httpx.Response:
    headers = client.headers(operation, query_id)
    headers.pop("x-client-transaction-id")
    if txid is not None:
        headers["x-client-transaction-id"] = txid
    qid = query_id or client.query_id(operation)
    return client.http.get(f"/{qid}/{operation}", params=client.params(**variables), headers=headers)


def path(client: XClient, operation: str) -> str:
    return f"/i/api/graphql/{client.query_id(operation)}/{operation}"


def test_twscrapes_own_generator_makes_ids_the_emulator_accepts(emu: EmulatorServer, world: World) -> None:
    client = XClient(emu, "tws-gen")
    gen = twscrape_generator(emu, client)
    key, _ = emu.state.releases.key(emu.state.releases.current, "tws-gen")
    assert bytes(gen.vk_bytes) == key  # twscrape read this account's verification key off the emulator's page
    for operation in GATED:
        rep = send(
            client, operation, gen.calc("GET", path(client, operation)), **variables_for(world, operation)
        )
        assert rep.status_code == 200, (operation, rep.status_code)
        assert send(client, operation, None, **variables_for(world, operation)).status_code == 404


def test_bad_transaction_ids_get_404_with_an_empty_body(emu: EmulatorServer, world: World) -> None:
    client, other = XClient(emu, "tx-mine"), XClient(emu, "tx-other")
    gen = twscrape_generator(emu, client)
    variables = variables_for(world, "SearchTimeline")
    good = gen.calc("GET", path(client, "SearchTimeline"))
    cases = {
        "missing": None,
        "random": "Zm9vYmFyYmF6cXV4cXV1eHF1dXhxdXV4cXV1eHF1dXhxdXV4cXV1eHF1dXhxdXV4cXV1eHF1dXg",
        "not base64": "%%%not-base64%%%",
        "for another path": gen.calc("GET", path(client, "Followers")),
        "for another method": gen.calc("POST", path(client, "SearchTimeline")),
        "of another account": twscrape_generator(emu, other).calc("GET", path(client, "SearchTimeline")),
    }
    with mock.patch("twscrape.xclid.time.time", return_value=time.time() - 3600):
        cases["an hour old"] = gen.calc("GET", path(client, "SearchTimeline"))
    for why, txid in cases.items():
        rep = send(client, "SearchTimeline", txid, **variables)
        assert (rep.status_code, rep.content) == (404, b""), why
        assert rep.headers["x-rate-limit-remaining"]  # the refused request was counted, as on X
    assert send(client, "SearchTimeline", good, **variables).status_code == 200
    assert emu.state.releases.live(time.time())[0].query_ids  # sanity: the release is live


def test_operations_x_does_not_gate_need_no_transaction_id(emu: EmulatorServer, world: World) -> None:
    client = XClient(emu, "ungated")
    rep = send(client, "UserByScreenName", None, screen_name=world.users[0].screen_name)
    assert rep.status_code == 200


def test_query_ids_rotate_and_a_retired_one_gets_404_after_the_grace_period(world: World) -> None:
    with EmulatorServer(world, strict(query_id_grace_s=1.0)) as server:
        client = XClient(server, "rotating")
        name = world.users[0].screen_name
        old = client.query_id("UserByScreenName")
        release = httpx.post(server.url + "/_emulator/releases", json={}).json()
        assert release["current"] == 1
        new = client.query_id("UserByScreenName")
        assert new != old and release["releases"][1]["query_ids"]["UserByScreenName"] == new
        assert send(client, "UserByScreenName", None, old, screen_name=name).status_code == 200  # grace
        time.sleep(1.2)
        rep = send(client, "UserByScreenName", None, old, screen_name=name)
        assert (rep.status_code, rep.content) == (404, b"")
        assert send(client, "UserByScreenName", None, new, screen_name=name).status_code == 200
        assert send(client, "UserByScreenName", None, "garbage", screen_name=name).status_code == 404


def test_a_missing_or_null_required_feature_is_400_code_336_naming_it(
    emu: EmulatorServer, world: World
) -> None:
    client = XClient(emu, "features")
    required = emu.state.releases.current.required["UserByScreenName"]
    features = dict(emu.state.releases.current.features)
    features[required[0]] = None
    del features[required[1]]
    headers = client.headers("UserByScreenName")
    rep = client.http.get(
        f"/{client.query_id('UserByScreenName')}/UserByScreenName",
        headers=headers,
        params={
            "variables": json.dumps({"screen_name": world.users[0].screen_name}),
            "features": json.dumps(features),
        },
    )
    assert rep.status_code == 400
    error = rep.json()["errors"][0]
    assert error["code"] == 336
    assert error["message"] == f"The following features cannot be null: {', '.join(sorted(required[:2]))}"


def test_pages_are_deterministic_per_seed_and_differ_between_seeds(world: World) -> None:
    def page(seed: int) -> tuple[str, str]:
        with EmulatorServer(world, UNLIMITED.model_copy(update={"web_seed": seed})) as server:
            client = XClient(server, "same-account")
            home = httpx.get(server.url + "/home", cookies=client.cookies).text
            key = bs4.BeautifulSoup(home, "html.parser").find("meta", {"name": "twitter-site-verification"})
            return key["content"], home

    a1, b1, c = page(1), page(1), page(2)
    assert a1 == b1
    assert c[0] != a1[0] and c[1] != a1[1]


def test_twscrapes_own_api_runs_what_it_could_not_before(emu: EmulatorServer, world: World, tmp_path) -> None:
    """Every operation the emulator serves, through twscrape's own request loop against the strict contract:
    the gated ones carry twscrape's transaction ids, and the emulator refused none of its requests."""
    XClIdGenStore.items.clear()
    api: API = _api(emu, tmp_path, ["own1", "own2"])
    user = max(ordinary_users(world), key=lambda u: len(u.followers))
    tweet = max(world.tweets, key=lambda t: len(t.retweeters))
    with point_twscrape_at(emu.graphql_url):
        assert asyncio.run(_collect(api.user_tweets_and_replies(user.id, limit=40)))
        assert {u.id for u in asyncio.run(_collect(api.following(user.id)))} == {
            world.users[i].id for i in user.following if not world.users[i].unavailable
        }
        assert {u.id for u in asyncio.run(_collect(api.retweeters(tweet.id)))} <= {
            u.id for u in tweet.retweeters
        }
        assert asyncio.run(_collect(api.search("python", limit=40)))
    stats = httpx.get(emu.url + "/_emulator/stats").json()["accounts"]
    mine = [row for name, ops in stats.items() if name.startswith("own") for row in ops.values()]
    assert mine and sum(r["refused"] for r in mine) == 0 and sum(r["pages"] for r in mine) >= 4


def test_xclienttransaction_cannot_find_the_signing_script_of_a_2026_page_but_its_ids_are_accepted(
    emu: EmulatorServer, world: World
) -> None:
    """The second generator on PyPI (xclienttransaction 1.0.3) finds the signing script only through the
    legacy webpack chunk map (``ondemand.s``), which X's 2026 x-web pages no longer have (twitter-cli #78/#88
    report the same on X). Given the script found another way, its ids are accepted: an independent
    implementation of the key derivation agrees with the emulator's."""
    from x_client_transaction import ClientTransaction
    from x_client_transaction.utils import get_ondemand_file_url

    client = XClient(emu, "xct")
    home = bs4.BeautifulSoup(httpx.get(emu.url + "/home", cookies=client.cookies).text, "html.parser")
    with pytest.raises(AttributeError, match="'NoneType' object has no attribute 'group'"):
        get_ondemand_file_url(home)
    sign = httpx.get(
        emu.state.releases.current.asset_url("sign.o").replace("https://abs.twimg.com", emu.url)
    ).text
    generator = ClientTransaction(home, sign)
    for operation in GATED:
        txid = generator.generate_transaction_id("GET", path(client, operation))
        assert send(client, operation, txid, **variables_for(world, operation)).status_code == 200, operation


def test_the_time_in_an_id_is_what_the_emulator_checks(emu: EmulatorServer, world: World) -> None:
    client = XClient(emu, "clock-check")
    gen = twscrape_generator(emu, client)
    variables = variables_for(world, "SearchTimeline")
    max_age = emu.settings.contract.transaction_id_max_age_s
    for age, ok in ((max_age - 30, True), (max_age + 30, False)):
        with mock.patch("twscrape.xclid.time.time", return_value=time.time() - age):
            txid = gen.calc("GET", path(client, "SearchTimeline"))
        assert (send(client, "SearchTimeline", txid, **variables).status_code == 200) is ok, age
    assert TX_EPOCH == 1682924400  # the origin twscrape and X use
    assert entries(
        send(client, "SearchTimeline", gen.calc("GET", path(client, "SearchTimeline")), **variables).json()
    )


def test_operations_x_serves_without_features_need_none(world: World) -> None:
    """AboutAccountQuery and the community slices are called with ``variables`` only by X's own clients
    (emulator/build.py NO_FEATURES): answered without a ``features`` parameter, even after a release made a
    new switch required; an operation with switches still refuses their absence."""
    with EmulatorServer(world, strict()) as emu:
        _without_features(emu, world)


def _without_features(emu: EmulatorServer, world: World) -> None:
    client = XClient(emu, "nofeatures")
    community = str(world.communities[0].id)
    calls = {
        "AboutAccountQuery": {"screenName": world.users[0].screen_name},
        "membersSliceTimeline_Query": {"communityId": community},
        "moderatorsSliceTimeline_Query": {"communityId": community},
        "CommunityQuery": {"communityId": community},
    }

    def bare(operation: str) -> httpx.Response:
        return client.http.get(
            f"/{client.query_id(operation)}/{operation}",
            headers=client.headers(operation),
            params={"variables": json.dumps(calls[operation])},
        )

    httpx.post(f"{emu.url}/_emulator/releases", json={"add_features": {"xget_new_switch": True}})
    for operation in ("AboutAccountQuery", "membersSliceTimeline_Query", "moderatorsSliceTimeline_Query"):
        rep = bare(operation)
        assert rep.status_code == 200 and rep.json()["data"], operation
    rep = bare("CommunityQuery")
    assert rep.status_code == 400 and rep.json()["errors"][0]["code"] == 336
    assert "xget_new_switch" in rep.json()["errors"][0]["message"]
    client.close()


def test_about_account_query_is_a_relay_record_in_a_lazy_chunk(emu: EmulatorServer) -> None:
    """As in X's bundles, AboutAccountQuery is compiled Relay-style (``params:{id, name, operationKind}``)
    in a lazily imported chunk, not a ``queryId``/``operationName`` record: a client that reads only the
    latter keeps its built-in id for it and loses it when X rotates (XGet's operations.discover reads both:
    tests/core/test_x_contract.py)."""
    build = emu.state.releases.current
    chunk = build.script("timelines")
    qid = build.query_ids["AboutAccountQuery"]
    assert f'params:{{id:"{qid}",metadata:{{}},name:"AboutAccountQuery",operationKind:"query"' in chunk
    assert 'operationName:"AboutAccountQuery"' not in chunk + build.script("entry-client")
    assert 'operationName:"CommunityTweetsTimeline"' in chunk  # the chunk's other records keep their form
