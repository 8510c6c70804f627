"""The deep corner (emulator/deep.py): volumes that exercise collection budgets, as issue 17 asks: a
term with more than 5,000 posts a day, an account with more than 20,000 followers, a conversation with
more than 500 replies."""

from __future__ import annotations

from collections import Counter

from xget_pipelines.emulator import World, WorldConfig
from xget_pipelines.emulator.crowd import Crowd

from .conftest import WORLD_END

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
