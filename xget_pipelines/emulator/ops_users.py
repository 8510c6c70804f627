"""Operations answering with accounts: UserByScreenName, UserByRestId, Followers, Following,
BlueVerifiedFollowers, UserCreatorSubscriptions, Retweeters, ListMembers, AboutAccountQuery."""

from __future__ import annotations

from .render_user import unavailable
from .timeline import Ctx, user_page


def user_by_screen_name(ctx: Ctx) -> dict:
    """The full profile; an unknown name is answered 200 with an empty user, as X does."""
    user = ctx.user_by_screen_name(str(ctx.variables.get("screen_name", "")))
    return {"data": {"user": {"result": ctx.users.profile(user)} if user else {}}}


def user_by_rest_id(ctx: Ctx) -> dict:
    user = ctx.user_by_id(ctx.variables.get("userId", ""))
    return {"data": {"user": {"result": ctx.users.profile(user)} if user else {}}}


def _graph(ctx: Ctx, followers: bool) -> dict:
    user = ctx.user_by_id(ctx.variables.get("userId", ""))
    if user is None:
        return {"data": {"user": {}}}
    if user.unavailable:
        return {"data": {"user": {"result": unavailable("Suspended")}}}
    idxs = [] if user.protected else (user.followers if followers else user.following)
    people = [ctx.world.users[i] for i in reversed(idxs)]  # newest edge first
    component = "FollowersSgs" if followers else "FollowingSgs"
    entries, _, _ = user_page(ctx, people, {"component": component, "element": "user"})
    instructions: list[dict] = []
    if ctx.variables.get("cursor") is None:
        instructions = [
            {"type": "TimelineClearCache"},
            {"direction": "Top", "type": "TimelineTerminateTimeline"},
            {"direction": "Bottom", "type": "TimelineTerminateTimeline"},
        ]
    instructions.append({"entries": entries, "type": "TimelineAddEntries"})
    return {
        "data": {
            "user": {
                "result": {"__typename": "User", "timeline": {"timeline": {"instructions": instructions}}}
            }
        }
    }


def followers(ctx: Ctx) -> dict:
    return _graph(ctx, followers=True)


def following(ctx: Ctx) -> dict:
    return _graph(ctx, followers=False)


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
