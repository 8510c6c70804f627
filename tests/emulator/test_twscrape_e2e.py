"""twscrape's own `API`, pointed at the emulator, pages through and returns what the world holds."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import httpx
import pytest
from twscrape import API, AccountsPool

from xget_pipelines.emulator import EmulatorServer, EmulatorSettings, World, point_twscrape_at

from .conftest import UNLIMITED, ordinary_tweets, ordinary_users
from .test_search import searchable, words


async def _collect(gen) -> list:
    return [x async for x in gen]


def run(coro):
    return asyncio.run(coro)


def _api(server: EmulatorServer, folder, usernames: list[str]) -> API:
    accounts = httpx.post(server.url + "/_emulator/accounts", json={"usernames": usernames}).json()
    pool = AccountsPool(str(folder / "accounts.db"))
    for acc in accounts:
        run(
            pool.add_account(
                acc["username"],
                "pw",
                f"{acc['username']}@example.com",
                "pw",
                cookies=f"auth_token={acc['auth_token']}; ct0={acc['ct0']}",
            )
        )
    return API(pool)


@pytest.fixture(scope="module")
def api(server: EmulatorServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[API]:
    api = _api(server, tmp_path_factory.mktemp("tws"), ["tws1", "tws2", "tws3"])
    with point_twscrape_at(server.graphql_url):
        yield api


def test_search_pages_through_everything(api: API, world: World, server: EmulatorServer) -> None:
    before = httpx.get(server.url + "/_emulator/stats").json()["accounts"]
    expected = {t.id: t for t in searchable(world) if "climate" in words(t)}
    got = run(_collect(api.search("climate")))
    ids = [t.id for t in got]  # may repeat: twscrape also yields each page's quoted posts
    assert set(expected) <= set(ids)
    quoted = {t.quoted.id for t in expected.values() if t.quoted is not None}
    assert set(ids) - set(expected) <= quoted  # twscrape also yields the quoted posts it finds
    after = httpx.get(server.url + "/_emulator/stats").json()["accounts"]
    pages = sum(
        row.get("SearchTimeline", {}).get("pages", 0) for name, row in after.items() if name.startswith("tws")
    )
    pages -= sum(
        row.get("SearchTimeline", {}).get("pages", 0)
        for name, row in before.items()
        if name.startswith("tws")
    )
    assert pages >= len(expected) // 20  # several pages were fetched


def test_user_by_login_and_id(api: API, world: World) -> None:
    user = world.user_by_screen_name(world.watchlist_suggestions()["users"][0])
    by_login = run(api.user_by_login(user.screen_name))
    assert by_login is not None and (by_login.id, by_login.username) == (user.id, user.screen_name)
    assert by_login.followersCount == len(user.followers)
    by_id = run(api.user_by_id(user.id))
    assert by_id is not None and by_id.username == user.screen_name
    assert run(api.user_by_login("nobody_here_at_all")) is None


def test_user_tweets(api: API, world: World) -> None:
    user = world.user_by_screen_name(world.watchlist_suggestions()["users"][1])
    got = {t.id for t in run(_collect(api.user_tweets(user.id)))}
    own = {t.id for t in user.tweets if not t.hidden and (t.reply_to is None or t.reply_to.author is user)}
    retweeted_by_user = {t.retweeted.id for t in user.tweets if t.retweeted is not None}
    assert own - retweeted_by_user <= got


def test_followers_across_pages(api: API, world: World) -> None:
    user = max(ordinary_users(world), key=lambda u: len(u.followers))
    assert len(user.followers) > 60  # twscrape asks for 20 per page
    got = [u.id for u in run(_collect(api.followers(user.id)))]
    assert len(got) == len(set(got))
    assert set(got) == {world.users[i].id for i in user.followers if not world.users[i].unavailable}


def test_tweet_details_and_replies(api: API, world: World) -> None:
    focal = max((t for t in ordinary_tweets(world) if not t.hidden), key=lambda t: len(t.replies))
    detail = run(api.tweet_details(focal.id))
    assert detail is not None and detail.id == focal.id and detail.user.id == focal.author.id
    direct = {r.id for r in focal.replies if not r.hidden}
    # X's 2026 TweetDetail pages replies with a Bottom cursor (raw_tweet_details.json): tweet_thread follows
    thread = run(_collect(api.tweet_thread(focal.id, kv={"count": 5})))
    assert {t.id for t in thread if t.inReplyToTweetId == focal.id} == direct
    # twscrape 0.20.1's tweet_replies follows ShowMoreThreads cursors only: on the 2026 shape, one page
    first = run(_collect(api.tweet_replies(focal.id, kv={"count": 5})))
    assert {t.id for t in first} < direct and 0 < len(first) <= 5


def test_tweet_replies_page_through_on_the_older_shape(world: World, tmp_path) -> None:
    """With the ShowMoreThreads cursor of the 2024 captures (card_poll.json), tweet_replies pages to the
    end."""
    with EmulatorServer(
        world,
        EmulatorSettings(
            detail_cursor_type="ShowMoreThreads",
            default_rate_limit=10_000,
            rate_limits=UNLIMITED.rate_limits,
        ),
    ) as emu:
        api = _api(emu, tmp_path, ["old1"])
        focal = max((t for t in ordinary_tweets(world) if not t.hidden), key=lambda t: len(t.replies))
        with point_twscrape_at(emu.graphql_url):
            replies = run(_collect(api.tweet_replies(focal.id, kv={"count": 5})))
        assert {t.id for t in replies} == {r.id for r in focal.replies if not r.hidden}


def test_list_timeline_and_trends(api: API, world: World) -> None:
    xlist = world.lists[0]
    got = {t.id for t in run(_collect(api.list_timeline(xlist.id, limit=100)))}
    members = {u.id for u in xlist.members}
    by_id = {t.id: t for t in world.tweets}
    assert got and sum(by_id[i].author.id in members for i in got) >= 100
    trends = run(_collect(api.trends("trending")))
    assert trends and all(t.name.startswith("#") for t in trends)


# -- the operations issue 17 added, through twscrape's own API and request loop ----------------------------


def test_user_media_first_page_only_a_twscrape_gap(api: API, world: World) -> None:
    """twscrape 0.20.1 reads UserMedia's first page (the grid module) into Tweets with media; the later
    pages add to the grid with TimelineAddToModule, which its loop does not read (it looks for "entries"
    only): it requests them, finds them empty, and stops at the end of the timeline (or after three).
    XGet must read moduleItems itself."""
    user = max(ordinary_users(world), key=lambda u: sum(1 for t in u.tweets if t.media))
    media = [t for t in reversed(user.tweets) if t.media and t.retweeted is None and not t.hidden]
    assert len(media) > 40  # more than twscrape's first page of 40
    got = run(_collect(api.user_media(user.id)))
    assert [t.id for t in got] == [t.id for t in media[:40]]
    assert all(t.user.id == user.id and t.media for t in got)


def test_list_members(api: API, world: World) -> None:
    xlist = world.lists[0]
    got = run(_collect(api.list_members(xlist.id)))
    assert [u.id for u in got] == [u.id for u in reversed(xlist.members)]
    assert {u.username for u in got} == {u.screen_name for u in xlist.members}


def test_verified_followers_and_subscriptions(api: API, world: World) -> None:
    user = max(ordinary_users(world), key=lambda u: len(u.followers))
    got = run(_collect(api.verified_followers(user.id)))
    blue = [world.users[i] for i in reversed(user.followers) if world.users[i].blue]
    assert [u.id for u in got] == [u.id for u in blue if not u.unavailable] and all(u.blue for u in got)
    subscriber = next(u for u in ordinary_users(world) if len(u.subscriptions) > 1)
    subs = run(_collect(api.subscriptions(subscriber.id)))
    assert [u.id for u in subs] == [world.users[i].id for i in reversed(subscriber.subscriptions)]


def test_user_about(api: API, world: World) -> None:
    for user in (world.showcase.user, *ordinary_users(world)[:5]):
        facts = world.about(user)
        about = run(api.user_about(user.screen_name))
        assert about is not None and (about.rest_id, about.screen_name) == (user.id, user.screen_name)
        assert (about.account_based_in, about.location_accurate, about.source) == (
            facts.based_in,
            facts.location_accurate,
            facts.source,
        )
        assert about.username_changes == facts.username_changes
        assert about.username_last_changed_at == facts.last_changed_ms
    assert run(api.user_about("nobody_at_all_here")) is None


def test_a_community_through_twscrape(api: API, world: World) -> None:
    community = world.communities[0]
    info = run(api.community_info(community.id))
    assert info is not None and (info.id, info.name, info.memberCount) == (
        community.id,
        community.name,
        len(community.members),
    )
    assert [r.name for r in info.rules] == [r.name for r in community.rules] and info.topicName
    members = run(_collect(api.community_members(community.id)))
    assert [u.id for u in members] == [u.id for u in community.members]
    assert {u.username for u in members} == {u.screen_name for u in community.members}
    moderators = run(_collect(api.community_moderators(community.id)))
    assert [u.id for u in moderators] == [u.id for u in community.members[: community.moderators]]
    posts = run(_collect(api.community_tweets(community.id)))
    assert {t.id for t in posts} >= {t.id for t in community.tweets}
    assert run(api.community_info(42)) is None


def test_twscrape_pages_the_20500_followers_each_once(api: API, world: World) -> None:
    famous = world.deep.famous
    got = [u.id for u in run(_collect(api.followers(famous.id, kv={"count": 100})))]
    available = [world.users[i] for i in reversed(famous.followers) if not world.users[i].unavailable]
    assert len(got) == len(set(got)) == len(available) > 20_000  # suspended followers are UserUnavailable
    assert got == [u.id for u in available]
