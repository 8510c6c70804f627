"""UserMedia: the profile's media tab, the user's own posts with photos, videos or GIFs, newest first.

The first page is one ``profile-grid-0`` module (displayType VerticalGrid) of "MediaGrid" items between
a Top and a Bottom cursor (raw_user_media.json, which also shows replies with media in the grid). Later
pages add their posts to that module with a ``TimelineAddToModule`` instruction (``moduleItems``), the
cursors in a ``TimelineAddEntries`` beside it: the shape RSSHub's X client reads media pages in
(DIYgod/RSSHub, lib/routes/twitter/api/web-api/utils.ts: "TimelineAddToModule ... moduleItems // Media").
Retweets are not in the tab; the end is a page without posts that repeats the cursor it was given.
"""

from __future__ import annotations

from .model import Tweet, User
from .render_user import unavailable
from .timeline import (
    Ctx,
    cursor_entry,
    encode_cursor,
    entry,
    id_bottom,
    id_cursor,
    page_newest_first,
    tweet_content,
    user_timeline,
    visible_id,
)

MODULE = "profile-grid-0"


def _media_posts(ctx: Ctx, user: User) -> list[Tweet]:
    key = ("media", user.idx)
    if key not in ctx.cache:
        ctx.cache[key] = [t for t in user.tweets if t.media and t.retweeted is None and not t.hidden]
    return ctx.cache[key]


def user_media(ctx: Ctx) -> dict:
    user = ctx.user_by_id(ctx.variables.get("userId", ""))
    if user is None:
        return {"data": {"user": {}}}
    if user.unavailable:
        return {"data": {"user": {"result": unavailable("Suspended")}}}
    before, valid = id_cursor(ctx)
    page = (
        []
        if user.protected or not valid
        else page_newest_first(
            _media_posts(ctx, user), lambda t: t.id, before, visible_id(ctx), ctx.count(40)
        )
    )
    top = ctx.top_fields()
    items = [
        {
            "entryId": f"{MODULE}-tweet-{t.id}",
            "item": {
                "itemContent": tweet_content(ctx.tweet_result(t, top), display="MediaGrid")["itemContent"]
            },
        }
        for t in page
    ]
    bottom = id_bottom(ctx, page[-1].id if page else None)
    ctx.bottom = bottom
    cursors = [
        cursor_entry("Top", encode_cursor("top", ctx.sort_base), ctx.sort_base + 1),
        cursor_entry("Bottom", bottom, ctx.sort_base - 1),
    ]
    if ctx.variables.get("cursor") is None:
        module = entry(
            MODULE,
            ctx.sort_base,
            {
                "__typename": "TimelineTimelineModule",
                "clientEventInfo": {"component": "profile-media"},
                "displayType": "VerticalGrid",
                "entryType": "TimelineTimelineModule",
                "items": items,
            },
        )
        instructions = [
            {"type": "TimelineClearCache"},
            {"direction": "Top", "type": "TimelineTerminateTimeline"},
            {"entries": ([module] if items else []) + cursors, "type": "TimelineAddEntries"},
        ]
    else:
        instructions = [{"entries": cursors, "type": "TimelineAddEntries"}]
        if items:
            instructions.insert(
                0,
                {
                    "moduleEntryId": MODULE,
                    "moduleItems": items,
                    "prepend": False,
                    "type": "TimelineAddToModule",
                },
            )
    return user_timeline(instructions, "media")
