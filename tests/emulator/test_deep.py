"""The deep corner (emulator/deep.py): volumes that exercise collection budgets, as issue 17 asks: a
term with more than 5,000 posts a day, an account with more than 20,000 followers, a conversation with
more than 500 replies."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from datetime import date, timedelta

import pytest

from xget_pipelines.emulator import EmulatorServer, EmulatorSettings, World, WorldConfig
from xget_pipelines.emulator.crowd import Crowd
from xget_pipelines.emulator.settings import Contract

from .conftest import UNLIMITED, WORLD_END, XClient, entries, paginate

DAY_MS = 86_400_000


def test_the_corner_holds_what_issue_17_asks_for(world: World) -> None:
    deep = world.deep
    truth = world.ground_truth()["deep"]
    assert truth["user"] == "xget_famous" == deep.famous.screen_name
    assert len(deep.famous.followers) == truth["followers"] == 20_500 > 20_000
    assert len(set(deep.famous.followers)) == len(deep.famous.followers)
    per_day = Counter(
        (t.ms - world.cfg.start_ms) // DAY_MS for t in world.tweets if "xgetflood" in t.text.lower()
    )
    day = (deep.day_ms - world.cfg.start_ms) // DAY_MS
    assert per_day == {day: 5_200} and truth["term_posts_on_day"] == 5_200 > 5_000
    assert day == world.cfg.days - 2 and truth["day"] == "2026-07-30"  # the world ends 2026-08-01
    assert all(not t.hashtags for t in deep.tweets)  # no hashtag's trend baseline moves
    root = deep.root
    thread = [t for t in world.tweets if t.conversation_id == root.id and t is not root]
    assert (
        len(root.replies) == truth["direct_replies"] == 540 and len(thread) == truth["conversation_replies"]
    )
    assert all(root.ms < t.ms < deep.day_ms + DAY_MS for t in thread)
    assert any(t.author is deep.famous for t in thread)  # the author answers under the replies too
    days = Counter((t.ms - world.cfg.start_ms) // DAY_MS for t in deep.famous.tweets if t.reply_to is None)
    assert set(days) == set(range(world.cfg.days))


def test_the_crowd_is_made_when_read_and_the_same_in_any_order(world: World) -> None:
    crowd = world.users.crowd
    assert isinstance(crowd, Crowd) and len(world.users) == len(world.users.people) + 20_500
    fresh = Crowd(7, crowd.first_idx, len(crowd), world.cfg.start_ms, world.deep.famous.idx)
    for k in (20_499, 3, 12_345, 0):  # any order: member k depends on (seed, k) only
        a, b = crowd[k], fresh[k]
        assert (a.idx, a.id, a.screen_name, a.name, a.blue, a.protected) == (
            b.idx,
            b.id,
            b.screen_name,
            b.name,
            b.blue,
            b.protected,
        )
        assert a is world.users[a.idx] and a.following == [world.deep.famous.idx]
        assert world.user_by_id(a.id) is a and world.user_by_screen_name(a.screen_name.upper()) is a
    assert world.user_by_id(crowd[5].id + 1) is None and world.user_by_screen_name("zz99999") is None
    sample = [fresh[k] for k in range(0, 20_500, 7)]
    assert 0.14 < sum(u.blue for u in sample) / len(sample) < 0.22
    assert 0 < sum(u.protected for u in sample) and 0 < sum(u.unavailable for u in sample)
    assert len({u.screen_name for u in sample}) == len(sample)
    blue = sum(1 for k in range(len(fresh)) if fresh[k].blue and not fresh[k].unavailable)
    assert Crowd(7, crowd.first_idx, len(crowd), world.cfg.start_ms, 0).blue_verified() == blue


def test_worlds_without_the_corner_have_none_of_it() -> None:
    small = World.generate(WorldConfig(users=40, tweets=300, bursts=1, end=WORLD_END, deep=False))
    assert small.deep is None and small.users.crowd is None and small.ground_truth()["deep"] is None
    assert small.user_by_screen_name("xget_famous") is None
    assert not any("xgetflood" in t.text for t in small.tweets)


def _ids(pages: list[dict], prefix: str) -> list[int]:
    return [
        int(e["entryId"].removeprefix(prefix))
        for p in pages
        for e in entries(p)
        if e["entryId"].startswith(prefix)
    ]


@pytest.fixture(scope="module")
def unsigned(world: World) -> Iterator[XClient]:
    """A client of a server that asks no transaction id, whose making costs ~20 ms a request: the paging
    below is what is tested (test_contract.py covers the transaction ids)."""
    settings = EmulatorSettings(
        rate_limits=UNLIMITED.rate_limits,
        default_rate_limit=1_000_000,
        contract=Contract(transaction_id=False),
    )
    with EmulatorServer(world, settings) as emu:
        client = XClient(emu, "deep-reader", sign=False)
        yield client
        client.close()


def test_the_20500_followers_page_completely_each_once(unsigned: XClient, world: World) -> None:
    famous = world.deep.famous
    pages = paginate(unsigned, "Followers", max_pages=300, userId=str(famous.id), count=100)
    ids = _ids(pages, "user-")
    assert len(ids) == len(set(ids)) == 20_500 and len(pages) == 206  # the last page is the empty end
    assert ids == [world.users[i].id for i in reversed(famous.followers)]
    blue = paginate(unsigned, "BlueVerifiedFollowers", max_pages=300, userId=str(famous.id), count=100)
    assert len(set(_ids(blue, "user-"))) == len(_ids(blue, "user-")) == world.deep.crowd.blue_verified()


def test_a_day_of_the_flood_term_pages_completely(client: XClient, world: World) -> None:
    day = world.ground_truth()["deep"]["day"]
    until = (date.fromisoformat(day) + timedelta(days=1)).isoformat()
    pages = paginate(client, "SearchTimeline", rawQuery=f"xgetflood since:{day} until:{until}", count=100)
    ids = _ids(pages, "tweet-")
    assert len(ids) == len(set(ids)) == 5_200 and set(ids) == {t.id for t in world.deep.flood}


def test_the_long_conversation_pages_every_reply_once(client: XClient, world: World) -> None:
    root = world.deep.root
    pages = paginate(client, "TweetDetail", focalTweetId=str(root.id), count=100)
    heads = _ids(pages, "conversationthread-")
    assert len(pages) == 6 and len(heads) == len(set(heads)) == 540
    assert set(heads) == {r.id for r in root.replies}
