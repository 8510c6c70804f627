"""Operations answering with accounts: UserByScreenName, UserByRestId, Followers, Following,
BlueVerifiedFollowers, UserCreatorSubscriptions, Retweeters, ListMembers, AboutAccountQuery."""

from __future__ import annotations

from collections.abc import Callable

from .model import User
from .render_about import about_result
from .render_user import graphql_id, unavailable
from .timeline import Ctx, user_page

_FIRST_PAGE = [
    {"type": "TimelineClearCache"},
    {"direction": "Top", "type": "TimelineTerminateTimeline"},
    {"direction": "Bottom", "type": "TimelineTerminateTimeline"},
]


def user_by_screen_name(ctx: Ctx) -> dict:
    """The full profile; an unknown name is answered 200 with an empty user, as X does."""
    user = ctx.user_by_screen_name(str(ctx.variables.get("screen_name", "")))
    return {"data": {"user": {"result": ctx.users.profile(user)} if user else {}}}


def user_by_rest_id(ctx: Ctx) -> dict:
    user = ctx.user_by_id(ctx.variables.get("userId", ""))
    return {"data": {"user": {"result": ctx.users.profile(user)} if user else {}}}


def _graph(ctx: Ctx, component: str, pick: Callable[[Ctx, User], list[int]], outgoing: bool = False) -> dict:
    """An account list of a user (``pick`` gives its users' indexes, oldest first), newest first; the
    shape of raw_followers.json, which raw_following.json, raw_verified_followers.json and
    raw_subscriptions.json share but for the component name. Follow edges removed at run time
    (``ctx.removed_follows``) are left out: ``outgoing`` lists are the accounts the user follows."""
    user = ctx.user_by_id(ctx.variables.get("userId", ""))
    if user is None:
        return {"data": {"user": {}}}
    if user.unavailable:
        return {"data": {"user": {"result": unavailable("Suspended")}}}
    idxs = [] if user.protected else pick(ctx, user)
    if ctx.removed_follows:
        gone = ctx.removed_follows
        idxs = [i for i in idxs if ((i, user.idx) if outgoing else (user.idx, i)) not in gone]
    people = [ctx.world.users[i] for i in reversed(idxs)]  # newest edge first
    entries, _, _ = user_page(ctx, people, {"component": component, "element": "user"})
    instructions = list(_FIRST_PAGE) if ctx.variables.get("cursor") is None else []
    instructions.append({"entries": entries, "type": "TimelineAddEntries"})
    return {
        "data": {
            "user": {
                "result": {"__typename": "User", "timeline": {"timeline": {"instructions": instructions}}}
            }
        }
    }


def _blue_followers(ctx: Ctx, user: User) -> list[int]:
    key = ("blue_followers", user.idx)
    if key not in ctx.cache:
        users = ctx.world.users
        ctx.cache[key] = [i for i in user.followers if users[i].blue and not users[i].unavailable]
    return ctx.cache[key]


def followers(ctx: Ctx) -> dict:
    return _graph(ctx, "FollowersSgs", lambda _, u: u.followers)


def following(ctx: Ctx) -> dict:
    return _graph(ctx, "FollowingSgs", lambda _, u: u.following, outgoing=True)


def blue_verified_followers(ctx: Ctx) -> dict:
    """The followers that are blue-verified, in Followers' order (raw_verified_followers.json); suspended
    ones are left out (a guess: the capture has none)."""
    return _graph(ctx, "BlueVerifiedFollowersSgs", _blue_followers)


def subscriptions(ctx: Ctx) -> dict:
    """UserCreatorSubscriptions: the creators the user pays to subscribe to, newest first."""
    return _graph(ctx, "CreatorSubscriptionsSgs", lambda _, u: u.subscriptions)


def retweeters(ctx: Ctx) -> dict:
    """Newest retweeters first; suspended ones appear as UserUnavailable entries, as on X."""
    tweet = ctx.world.tweet_by_id(ctx.variables.get("tweetId", ""))
    people = (
        []
        if tweet is None
        else [
            u
            for u, ms in zip(reversed(tweet.retweeters), reversed(tweet.retweeted_at), strict=False)
            if ms <= ctx.visible_ms
        ]
    )
    entries, _, _ = user_page(ctx, people, None, top_first=True)
    entries[-1]["content"]["stopOnEmptyResponse"] = True  # as X marks the Bottom cursor here
    return {
        "data": {
            "retweeters_timeline": {
                "timeline": {
                    "instructions": [{"entries": entries, "type": "TimelineAddEntries"}],
                    "responseObjects": {},
                }
            }
        }
    }


def list_members(ctx: Ctx) -> dict:
    """ListMembers: the list's members, the latest added first (raw_list_members.json: component
    "MembersSgs", Bottom then Top cursors); an unknown list is an empty ``list``, as for its timeline."""
    xlist = ctx.world.list_by_id(ctx.variables.get("listId", ""))
    if xlist is None:
        return {"data": {"list": {}}}
    entries, _, _ = user_page(ctx, xlist.members[::-1], {"component": "MembersSgs", "element": "user"})
    instructions = list(_FIRST_PAGE[:2]) if ctx.variables.get("cursor") is None else []
    instructions.append({"entries": entries, "type": "TimelineAddEntries"})
    return {"data": {"list": {"members_timeline": {"timeline": {"instructions": instructions}}}}}


def about_account(ctx: Ctx) -> dict:
    """AboutAccountQuery by ``screenName`` (raw_user_about.json). An unknown name is answered with an
    empty ``user_result_by_screen_name``, as UserByScreenName answers one with an empty ``user`` (a guess:
    no capture shows it)."""
    user = ctx.user_by_screen_name(str(ctx.variables.get("screenName", "")))
    if user is None:
        return {"data": {"user_result_by_screen_name": {}}}
    return {
        "data": {
            "user_result_by_screen_name": {
                "id": graphql_id("UserResults", user.id),
                "result": about_result(user, ctx.about.get(user.id) or ctx.world.about(user)),
            }
        }
    }
