"""TweetResultByRestId and TweetResultsByRestIds: one item per requested id, in order, with X's shapes for
posts that are there, gone, withheld or closed by their author's state (ops_lookup.py), and the parser
takes the posts out of the batch body."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from xget_pipelines.core.x.parse import parse_page
from xget_pipelines.emulator import EmulatorServer, World, WorldConfig
from xget_pipelines.emulator.model import DELETED, LIMITED, WITHHELD, Tweet

from .conftest import UNLIMITED, WORLD_END, XClient


@pytest.fixture(scope="module")
def lookup_world() -> World:
    return World.generate(
        WorldConfig(
            seed=5,
            users=120,
            tweets=1500,
            days=5,
            end=WORLD_END,
            deep=False,
            suspended_posters=3,
            protected_posters=3,
        )
    )


@pytest.fixture(scope="module")
def lookup_server(lookup_world: World) -> Iterator[EmulatorServer]:
    with EmulatorServer(lookup_world, UNLIMITED) as emu:
        yield emu


@pytest.fixture()
def looker(lookup_server: EmulatorServer) -> Iterator[XClient]:
    c = XClient(lookup_server, "lookup-tester")
    yield c
    c.close()


def _pick(world: World) -> dict[str, Tweet]:
    """One post of each kind the lookups tell apart."""

    def first(pred) -> Tweet:
        return next(t for t in world.tweets if pred(t))

    ok = lambda t: not (t.author.unavailable or t.author.protected)  # noqa: E731
    return {
        "found": first(lambda t: ok(t) and not t.flags & (DELETED | WITHHELD | LIMITED) and not t.retweeted),
        "limited": first(lambda t: ok(t) and t.flags & LIMITED and not t.hidden),
        "deleted": first(lambda t: ok(t) and t.flags & DELETED),
        "withheld": first(lambda t: ok(t) and t.flags & WITHHELD and not t.flags & DELETED),
        "suspended": first(lambda t: t.author.unavailable and not t.flags & DELETED),
        "protected": first(lambda t: t.author.protected and not (t.author.unavailable or t.flags & DELETED)),
    }


def test_batch_answers_every_id_in_order_with_x_shapes(looker: XClient, lookup_world: World) -> None:
    posts = _pick(lookup_world)
    never = "1000000000000000001"
    ids = [str(t.id) for t in posts.values()] + [never, "not-a-number"]
    items = looker.gql("TweetResultsByRestIds", tweetIds=ids)["data"]["tweetResult"]
    assert len(items) == len(ids)
    by_kind = dict(zip([*posts, "never", "garbage"], items, strict=True))
    assert by_kind["found"]["result"]["__typename"] == "Tweet"
    assert by_kind["found"]["result"]["rest_id"] == str(posts["found"].id)
    assert by_kind["limited"]["result"]["__typename"] == "TweetWithVisibilityResults"
    assert by_kind["deleted"] == by_kind["never"] == by_kind["garbage"] == {}
    assert by_kind["suspended"] == {"result": {"__typename": "TweetUnavailable", "reason": "Suspended"}}
    assert by_kind["protected"] == {"result": {"__typename": "TweetUnavailable", "reason": "Protected"}}
    withheld = by_kind["withheld"]["result"]
    assert withheld["__typename"] == "TweetTombstone"
    assert "withheld" in withheld["tombstone"]["text"]["text"]


def test_single_lookup(looker: XClient, lookup_world: World) -> None:
    posts = _pick(lookup_world)
    body = looker.gql("TweetResultByRestId", tweetId=str(posts["found"].id))
    assert body["data"]["tweetResult"]["result"]["legacy"]["full_text"]
    deleted = looker.gql("TweetResultByRestId", tweetId=str(posts["deleted"].id))
    assert deleted == {"data": {"tweetResult": {}}}
    gone = looker.gql("TweetResultByRestId", tweetId=str(posts["suspended"].id))
    assert gone["data"]["tweetResult"]["result"]["reason"] == "Suspended"


def test_parser_takes_the_found_posts_out_of_a_batch_body(looker: XClient, lookup_world: World) -> None:
    posts = _pick(lookup_world)
    ids = [str(t.id) for t in posts.values()]
    rep = looker.get("TweetResultsByRestIds", tweetIds=ids)
    page = parse_page(rep.content, "TweetResultsByRestIds")
    rows = page.tweets.to_pylist()
    timeline = {r["tweet_id"] for r in rows if r["via"] == "timeline"}
    assert timeline == {posts["found"].id, posts["limited"].id}
    assert page.unavailable == 4 and not page.parse_errors
    assert posts["found"].author.id in page.users["user_id"].to_pylist()
    assert parse_page(rep.content).operation == "TweetResultsByRestIds"  # detected from the body too


def test_more_ids_than_x_takes_get_431(looker: XClient, lookup_world: World) -> None:
    ids = [str(t.id) for t in lookup_world.tweets[:221]]
    rep = looker.get("TweetResultsByRestIds", tweetIds=ids)
    assert rep.status_code == 431 and rep.content == b""
    assert len(looker.gql("TweetResultsByRestIds", tweetIds=ids[:220])["data"]["tweetResult"]) == 220


def test_bundles_publish_the_lookups(lookup_server: EmulatorServer) -> None:
    """XGet finds query ids in X's bundles (core/x/operations.py): the lookups must be there."""
    build = lookup_server.state.releases.current
    script = httpx.get(lookup_server.url + "/x-web/x-web/assets/" + build.files["entry-client"]).text
    for op in ("TweetResultByRestId", "TweetResultsByRestIds"):
        assert f'queryId:"{build.query_ids[op]}",operationName:"{op}"' in script
