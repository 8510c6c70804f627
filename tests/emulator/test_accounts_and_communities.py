"""The operations issue 17 added: UserMedia, ListMembers, BlueVerifiedFollowers, UserCreatorSubscriptions,
AboutAccountQuery and the community operations serve what the world holds, page to the end, and answer
unknown ids as X does (or as the emulator guesses X does, where no capture shows it)."""

from __future__ import annotations

from typing import Any

from xget_pipelines.emulator import World

from .conftest import XClient, entries, ordinary_users, paginate


def _media_pages(client: XClient, user_id: int, count: int) -> tuple[list[dict], list[int]]:
    pages, ids, cursor = [], [], None
    for _ in range(100):
        body = client.gql(
            "UserMedia", userId=str(user_id), count=count, **({"cursor": cursor} if cursor else {})
        )
        pages.append(body)
        for ins in body["data"]["user"]["result"]["timeline"]["timeline"]["instructions"]:
            items = ins.get("moduleItems") or [
                i
                for e in ins.get("entries", [])
                if e["entryId"] == "profile-grid-0"
                for i in e["content"]["items"]
            ]
            ids += [int(i["entryId"].rsplit("-", 1)[1]) for i in items]
        nxt = next(e["content"]["value"] for e in entries(body) if e["content"].get("cursorType") == "Bottom")
        if nxt == cursor:
            return pages, ids
        cursor = nxt
    raise AssertionError("UserMedia did not end")


def test_user_media_pages_the_grid_then_adds_to_it(client: XClient, world: World) -> None:
    user = max(ordinary_users(world), key=lambda u: sum(1 for t in u.tweets if t.media))
    expected = [t.id for t in reversed(user.tweets) if t.media and t.retweeted is None and not t.hidden]
    pages, ids = _media_pages(client, user.id, count=5)
    assert ids == expected and len(pages) > 3
    first = pages[0]["data"]["user"]["result"]["timeline"]["timeline"]["instructions"]
    assert [i["type"] for i in first] == [
        "TimelineClearCache",
        "TimelineTerminateTimeline",
        "TimelineAddEntries",
    ]
    second = pages[1]["data"]["user"]["result"]["timeline"]["timeline"]["instructions"]
    assert [i["type"] for i in second] == ["TimelineAddToModule", "TimelineAddEntries"]
    assert second[0]["moduleEntryId"] == "profile-grid-0" and second[0]["prepend"] is False
    assert client.gql("UserMedia", userId="1", count=5) == {"data": {"user": {}}}


def _users(body: dict) -> list[int]:
    return [
        int(e["entryId"].removeprefix("user-")) for e in entries(body) if e["entryId"].startswith("user-")
    ]


def test_list_members_page_to_the_end(client: XClient, world: World) -> None:
    xlist = world.lists[0]
    pages = paginate(client, "ListMembers", listId=str(xlist.id), count=7)
    got = [i for page in pages for i in _users(page)]
    assert got == [u.id for u in reversed(xlist.members)] and len(pages) > 2
    assert client.gql("ListMembers", listId="123") == {"data": {"list": {}}}


def test_blue_verified_followers_are_the_blue_followers(client: XClient, world: World) -> None:
    user = max(ordinary_users(world), key=lambda u: len(u.followers))
    pages = paginate(client, "BlueVerifiedFollowers", userId=str(user.id), count=10)
    got = [i for page in pages for i in _users(page)]
    blue = [world.users[i] for i in reversed(user.followers) if world.users[i].blue]
    assert got == [u.id for u in blue if not u.unavailable] and got
    assert len(got) < len(user.followers)
    component = entries(pages[0])[0]["content"]["clientEventInfo"]["component"]
    assert component == "BlueVerifiedFollowersSgs"


def test_creator_subscriptions(client: XClient, world: World) -> None:
    sc = world.showcase
    body = client.gql("UserCreatorSubscriptions", userId=str(sc.user.id), count=20)
    assert _users(body) == [sc.friend.id]
    subscriber = next(u for u in ordinary_users(world) if len(u.subscriptions) > 1)
    body = client.gql("UserCreatorSubscriptions", userId=str(subscriber.id), count=20)
    assert _users(body) == [world.users[i].id for i in reversed(subscriber.subscriptions)]
    profile = client.gql("UserByRestId", userId=str(subscriber.id))["data"]["user"]["result"]
    assert profile["creator_subscriptions_count"] == len(subscriber.subscriptions)


def _about(client: XClient, name: str) -> dict[str, Any]:
    return client.gql("AboutAccountQuery", screenName=name)["data"]["user_result_by_screen_name"]


def test_about_account_states_the_worlds_facts(client: XClient, world: World) -> None:
    for user in [*ordinary_users(world)[:40], world.showcase.user, world.users.crowd[17]]:
        facts = world.about(user)
        result = _about(client, user.screen_name)["result"]
        if user.unavailable:
            assert result["__typename"] == "UserUnavailable"
            continue
        about = result["about_profile"]
        assert (result["rest_id"], result["core"]["screen_name"]) == (str(user.id), user.screen_name)
        assert about["account_based_in"] == facts.based_in and about["source"] == facts.source
        assert about["location_accurate"] == facts.location_accurate
        assert about["username_changes"]["count"] == str(facts.username_changes)
        assert about["username_changes"].get("last_changed_at_msec") == (
            str(facts.last_changed_ms) if facts.last_changed_ms else None
        )
        assert ("affiliate_username" in about) == user.affiliate
    assert _about(client, "nobody_at_all_here") == {}


def test_a_community_its_members_moderators_and_posts(client: XClient, world: World) -> None:
    community = world.communities[0]
    cid = str(community.id)
    info = client.gql("CommunityQuery", communityId=cid)["data"]["communityResults"]["result"]
    assert (info["rest_id"], info["name"], info["member_count"]) == (
        cid,
        community.name,
        len(community.members),
    )
    assert info["created_at"] == community.created_ms and info["primary_community_topic"]["topic_name"]
    assert [r["name"] for r in info["rules"]] == [r.name for r in community.rules]
    assert info["creator_results"]["result"]["core"]["screen_name"] == community.creator.screen_name

    members, roles, cursor = [], [], None
    while True:
        body = client.gql(
            "membersSliceTimeline_Query", communityId=cid, count=9, **({"cursor": cursor} if cursor else {})
        )
        page = body["data"]["communityResults"]["result"]["members_slice"]
        members += [int(i["result"]["rest_id"]) for i in page["items_results"]]
        roles += [i["result"]["community_role"] for i in page["items_results"]]
        cursor = page["slice_info"].get("next_cursor")
        if cursor is None:
            break
    assert members == [u.id for u in community.members] and len(members) > 9
    assert roles[0] == "Admin" and set(roles[1 : community.moderators]) == {"Moderator"}
    assert set(roles[community.moderators :]) == {"Member"}
    mods = client.gql("moderatorsSliceTimeline_Query", communityId=cid)["data"]["communityResults"]["result"]
    assert [int(i["result"]["rest_id"]) for i in mods["moderators_slice"]["items_results"]] == members[
        : community.moderators
    ]
    assert mods["moderators_slice"]["slice_info"] == {}

    for ranking, order in (("Recency", sorted(community.tweets, key=lambda t: -t.id)), ("Relevance", None)):
        pages = paginate(client, "CommunityTweetsTimeline", communityId=cid, count=20, rankingMode=ranking)
        got = [int(e["entryId"][6:]) for p in pages for e in entries(p) if e["entryId"].startswith("tweet-")]
        assert sorted(got) == sorted(t.id for t in community.tweets) and len(set(got)) == len(got)
        if order is not None:
            assert got == [t.id for t in order]
        for page in pages:
            for e in entries(page):
                if e["entryId"].startswith("tweet-"):
                    result = e["content"]["itemContent"]["tweet_results"]["result"]
                    tweet = result.get("tweet", result)
                    assert tweet["community_results"]["result"]["id_str"] == cid


def test_unknown_communities_are_unavailable(client: XClient) -> None:
    for operation in (
        "CommunityQuery",
        "CommunityTweetsTimeline",
        "membersSliceTimeline_Query",
        "moderatorsSliceTimeline_Query",
    ):
        body = client.gql(operation, communityId="42")
        assert body == {"data": {"communityResults": {"result": {"__typename": "CommunityUnavailable"}}}}
