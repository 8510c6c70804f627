"""Operations answering with posts: UserTweets(AndReplies) and ListLatestTweetsTimeline here;
SearchTimeline and TweetDetail live in their own modules and are re-exported for callers."""

from __future__ import annotations

from .model import Tweet, User, XList
from .ops_detail import MISSING_TWEET, tweet_detail
from .ops_search import search_timeline
from .render_user import unavailable
from .timeline import (
    CONTROLLER_DATA,
    Ctx,
    conversation_module,
    cursor_entry,
    encode_cursor,
    entry,
    id_bottom,
    id_cursor,
    page_newest_first,
    tweet_content,
    user_content,
    user_timeline,
    visible_id,
)

__all__ = ["MISSING_TWEET", "list_timeline", "search_timeline", "tweet_detail", "user_tweets"]

_PROFILE_EVENT = {
    "component": "tweet",
    "details": {
        "timelinesDetails": {"controllerData": CONTROLLER_DATA, "injectionType": "RankedOrganicTweet"}
    },
    "element": "tweet",
}
_PROFILE_MODULE_EVENT = {
    "component": "suggest_ranked_organic_tweet",
    "details": {
        "timelinesDetails": {"controllerData": CONTROLLER_DATA, "injectionType": "RankedOrganicTweet"}
    },
}
_WTF_DETAILS = {
    "timelinesDetails": {
        "controllerData": CONTROLLER_DATA,
        "injectionType": "WhoToFollow",
        "sourceData": "DAABCgABAAAAAAAAAAAKAAIAAAAAAAAAAAAIAAIAAACDAA==",
    }
}
_LIST_EVENT = {
    "component": "suggest_organic_list_tweet",
    "details": {"timelinesDetails": {"injectionType": "OrganicListTweet"}},
    "element": "tweet",
}
_LIST_MODULE_EVENT = {
    "component": "suggest_organic_list_tweet",
    "details": {"timelinesDetails": {"injectionType": "OrganicListTweet"}},
}
_PIN_CONTEXT = {"contextType": "Pin", "text": "Pinned", "type": "TimelineGeneralContext"}


def _profile_items(ctx: Ctx, user: User, with_replies: bool) -> list[tuple[Tweet, ...]]:
    key = ("profile", user.idx, with_replies)
    if key not in ctx.cache:
        items = []
        for t in user.tweets:
            if t.hidden:
                continue
            if t.reply_to is None:
                items.append((t,))
            elif with_replies or t.reply_to.author is user:
                items.append((t.reply_to, t))
        ctx.cache[key] = items
    return ctx.cache[key]


def user_tweets(ctx: Ctx, with_replies: bool = False) -> dict:
    """A profile timeline. Replies show under their parent in a profile-conversation module
    (UserTweets keeps only self-threads); the first page adds the pinned post and a
    who-to-follow module, as X's does."""
    user = ctx.user_by_id(ctx.variables.get("userId", ""))
    if user is None:
        return {"data": {"user": {}}}
    if user.unavailable:
        return {"data": {"user": {"result": unavailable("Suspended")}}}
    before, valid = id_cursor(ctx)
    newest = visible_id(ctx)
    items = (
        []
        if user.protected or not valid
        else page_newest_first(
            _profile_items(ctx, user, with_replies), lambda it: it[-1].id, before, newest, ctx.count(40)
        )
    )
    top = ctx.top_fields()
    entries = []
    # A post that heads a conversation module on this page is not also served on its own (0 of the 8 modules
    # in raw_user_tweets.json and raw_user_tweets_and_replies.json repeat their head as an entry).
    heads = {item[0].id for item in items if len(item) > 1}
    for i, item in enumerate(items):
        sort = ctx.sort_base - 1 - i
        if len(item) == 1 and item[0].id in heads:
            continue
        if len(item) == 1:
            content = tweet_content(ctx.tweet_result(item[0], top), _PROFILE_EVENT)
            entries.append(entry(f"tweet-{item[0].id}", sort, content))
        else:
            entries.append(
                conversation_module(
                    f"profile-conversation-{ctx.sort_base + 10 + i}",
                    sort,
                    ctx,
                    item,
                    _PROFILE_MODULE_EVENT,
                    _PROFILE_EVENT,
                    dispensable=True,
                    top=top,
                )
            )
    first_page = ctx.variables.get("cursor") is None
    if first_page and items and (wtf := _who_to_follow(ctx, user)) is not None:
        entries.insert(min(4, len(entries)), wtf)
    bottom = id_bottom(ctx, items[-1][-1].id if items else None)
    ctx.bottom = bottom
    entries += [
        cursor_entry("Top", encode_cursor("top", ctx.sort_base), ctx.sort_base + 1),
        cursor_entry("Bottom", bottom, ctx.sort_base - len(items) - 1),
    ]
    instructions: list[dict] = []
    if first_page:
        instructions.append({"type": "TimelineClearCache"})
        pinned = user.pinned
        if pinned is not None and not user.protected and pinned.id <= newest:
            content = tweet_content(
                ctx.tweet_result(pinned, top),
                {"component": "pinned_tweets", "element": "tweet"},
                social=_PIN_CONTEXT,
            )
            instructions.append(
                {"entry": entry(f"tweet-{pinned.id}", ctx.sort_base, content), "type": "TimelinePinEntry"}
            )
    instructions.append({"entries": entries, "type": "TimelineAddEntries"})
    page = "profileAll" if with_replies else "profileBest"
    return user_timeline(instructions, page)


def _who_to_follow(ctx: Ctx, user: User) -> dict | None:
    users = ctx.world.users
    picks = sorted(
        (users[i] for i in user.following if not users[i].unavailable), key=lambda u: (-u.popularity, u.idx)
    )[:3]
    if not picks:
        return None
    module_id = f"who-to-follow-{ctx.sort_base + 5}"
    event = {"component": "suggest_who_to_follow", "details": _WTF_DETAILS}
    items = [
        {
            "entryId": f"{module_id}-user-{u.id}",
            "item": {
                "clientEventInfo": {**event, "element": "user"},
                "itemContent": user_content(ctx.users.result(u))["itemContent"],
            },
        }
        for u in picks
    ]
    return entry(
        module_id,
        ctx.sort_base - 100,
        {
            "__typename": "TimelineTimelineModule",
            "clientEventInfo": event,
            "displayType": "Vertical",
            "entryType": "TimelineTimelineModule",
            "footer": {
                "displayType": "Classic",
                "landingUrl": {
                    "url": f"twitter://connect_people?user_id={user.id}&display_location=profile_wtf",
                    "urlType": "DeepLink",
                },
                "text": "Show more",
            },
            "header": {"displayType": "Classic", "sticky": False, "text": "Who to follow"},
            "items": items,
        },
    )


def _list_items(ctx: Ctx, xlist: XList) -> list[tuple[Tweet, ...]]:
    key = ("list", xlist.id)
    if key not in ctx.cache:
        members = {u.idx for u in xlist.members}
        tweets = sorted((t for u in xlist.members for t in u.tweets if not t.hidden), key=lambda t: t.id)
        ctx.cache[key] = [
            (t.reply_to, t) if t.reply_to is not None and t.reply_to.author.idx in members else (t,)
            for t in tweets
        ]
    return ctx.cache[key]


def list_timeline(ctx: Ctx) -> dict:
    """Posts by the list's members, newest first; a reply to another member shows with its parent."""
    xlist = ctx.world.list_by_id(ctx.variables.get("listId", ""))
    if xlist is None:
        return {"data": {"list": {}}}
    before, valid = id_cursor(ctx)
    items = (
        page_newest_first(_list_items(ctx, xlist), lambda it: it[-1].id, before, visible_id(ctx), ctx.count())
        if valid
        else []
    )
    entries = []
    for i, item in enumerate(items):
        sort = ctx.sort_base - 1 - i
        if len(item) == 1:
            entries.append(
                entry(f"tweet-{item[0].id}", sort, tweet_content(ctx.tweet_result(item[0]), _LIST_EVENT))
            )
        else:
            entries.append(
                conversation_module(
                    f"list-conversation-{ctx.sort_base + 10 + i}",
                    sort,
                    ctx,
                    item,
                    _LIST_MODULE_EVENT,
                    _LIST_EVENT,
                )
            )
    bottom = id_bottom(ctx, items[-1][-1].id if items else None)
    ctx.bottom = bottom
    entries += [
        cursor_entry("Top", encode_cursor("top", ctx.sort_base), ctx.sort_base + 1),
        cursor_entry("Bottom", bottom, ctx.sort_base - len(items) - 1),
    ]
    return {
        "data": {
            "list": {
                "tweets_timeline": {
                    "timeline": {
                        "instructions": [{"entries": entries, "type": "TimelineAddEntries"}],
                        "metadata": {"scribeConfig": {"page": "list_tweets"}},
                    }
                }
            }
        }
    }
