"""The world's communities, bots, creator subscriptions and "About this account" facts, and that adding
them (and the deep corner) left the rest of the world as it was."""

from __future__ import annotations

from collections import Counter

from xget_pipelines.emulator import World, WorldConfig
from xget_pipelines.emulator.gen_about import REGIONS
from xget_pipelines.emulator.model import NOT_SHARED

from .conftest import WORLD_END, ordinary_tweets, ordinary_users


def test_communities_have_an_admin_moderators_members_and_posts(world: World) -> None:
    assert len(world.communities) == 4  # three topic communities and the showcase's
    for c in world.communities:
        assert len({u.idx for u in c.members}) == len(c.members) and c.creator is c.members[0]
        roles = Counter(c.role(i) for i in range(len(c.members)))
        assert roles["Admin"] == 1 and roles["Moderator"] == c.moderators - 1 >= 1 and roles["Member"] > 0
        assert c.rules and len({r.id for r in c.rules}) == len(c.rules)
        assert c.created_ms < world.cfg.start_ms
        members = {u.idx for u in c.members}
        assert c.tweets == sorted(c.tweets, key=lambda t: t.id)
        for t in c.tweets:
            assert t.community is c and t.author.idx in members
            assert t.reply_to is None and t.retweeted is None and not t.hidden
    posted = [t for t in world.tweets if t.community is not None]
    assert len(posted) == sum(len(c.tweets) for c in world.communities) > 100
    assert 0 < sum(1 for t in posted if t.flags & NOT_SHARED) < len(posted) / 2


def test_bots_name_their_owner_and_subscriptions_are_creators_followed(world: World) -> None:
    bots = [u for u in ordinary_users(world) if u.automated_by is not None]
    assert bots and len(bots) < len(world.users) / 20
    for bot in bots:
        owner = bot.automated_by
        assert owner is not bot and not (owner.unavailable or owner.protected or bot.affiliate)
    subscribers = [u for u in world.users if u.subscriptions]
    assert subscribers
    for u in subscribers:
        assert set(u.subscriptions) <= set(u.following)
        assert all(world.users[i].blue and world.users[i].professional for i in u.subscriptions)


def test_about_facts_are_per_account_and_consistent_with_the_handle(world: World) -> None:
    again = World.generate(WorldConfig(seed=7, users=300, tweets=5000, days=30, end=WORLD_END))
    users = world.users[:300]
    countries = set()
    for u in reversed(users):  # asked in another order: the same facts
        facts = world.about(u)
        assert facts == again.about(again.users[u.idx])
        handles = [h for h, _ in facts.handles]
        since = [ms for _, ms in facts.handles]
        assert handles[-1] == u.screen_name and len(set(handles)) == len(handles)
        assert since == sorted(since) and since[0] == u.created_ms and since[-1] < world.cfg.end_ms
        assert facts.username_changes == len(handles) - 1
        assert (facts.last_changed_ms is None) == (facts.username_changes == 0)
        countries.add(facts.based_in)
    changes = Counter(world.about(u).username_changes for u in users)
    assert changes[0] > 150 and changes[1] + changes[2] + changes[3] > 30
    assert 0 < sum(not world.about(u).location_accurate for u in users) < 60
    assert {s.split()[-1] for s in (world.about(u).source for u in users)} == {"Web", "Store", "Play"}
    assert countries & set(REGIONS) and len(countries - set(REGIONS)) > 10
    # the showcase changed its handle twice and X doubts where it is based
    sc = world.about(world.showcase.user)
    assert sc.username_changes == 2 and not sc.location_accurate and sc.identity_verified


def _fingerprint(users: list, tweets: list) -> list:
    return [(u.id, u.screen_name, tuple(u.following), u.pinned and u.pinned.id) for u in users] + [
        (t.id, t.author.id, t.text, t.flags & ~NOT_SHARED, t.reply_to and t.reply_to.id) for t in tweets
    ]


def test_the_deep_corner_and_the_social_structure_changed_nothing_else(world: World) -> None:
    shallow = World.generate(
        WorldConfig(
            seed=7, users=300, tweets=5000, days=30, end=WORLD_END, deep=False, communities=0, campaigns=0
        )
    )
    assert shallow.deep is None and len(shallow.communities) == 1  # the showcase's
    assert not shallow.campaigns and len(world.campaigns) == 3
    assert _fingerprint(ordinary_users(world), ordinary_tweets(world)) == _fingerprint(
        shallow.users, shallow.tweets
    )
