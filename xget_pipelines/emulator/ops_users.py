"""Operations answering with accounts or trends: UserByScreenName, UserByRestId, Followers,
Following, Retweeters, GenericTimelineById."""

from __future__ import annotations

import base64
import re
from collections import Counter
from urllib.parse import quote

from . import vocab
from .model import User
from .render_user import unavailable
from .timeline import Ctx, cursor_entry, encode_cursor, entry, offset_cursor, user_content

_HOUR_MS = 3_600_000
_CATEGORY_TOPICS = {
    "sports": {"football"},
    "entertainment": {"music", "gaming", "cooking"},
    "news": {"climate", "space", "ai"},
}
_TAG_TOPIC = {tag: topic for topic, (_, tags) in vocab.TOPICS.items() for tag in tags}


def user_by_screen_name(ctx: Ctx) -> dict:
    """The full profile; an unknown name is answered 200 with an empty user, as X does."""
    user = ctx.user_by_screen_name(str(ctx.variables.get("screen_name", "")))
    return {"data": {"user": {"result": ctx.users.profile(user)} if user else {}}}


def user_by_rest_id(ctx: Ctx) -> dict:
    user = ctx.user_by_id(ctx.variables.get("userId", ""))
    return {"data": {"user": {"result": ctx.users.profile(user)} if user else {}}}


def _user_page(
    ctx: Ctx, users: list[User], event: dict | None, top_first: bool = False
) -> tuple[list[dict], str, int]:
    """Offset paging over `users`; returns (entries incl. cursors, bottom cursor, page length). The two
    cursors close the page Bottom then Top (Followers, Following: raw_followers.json), or Top then Bottom
    (``top_first``: Retweeters, raw_retweeters.json)."""
    off, count = offset_cursor(ctx), ctx.count()
    page = users[off : off + count]
    entries = [
        entry(f"user-{u.id}", ctx.sort_base - 1 - i, user_content(ctx.users.result(u), event))
        for i, u in enumerate(page)
    ]
    if page:
        bottom = encode_cursor("off", off + len(page))
    else:
        ctx.ended = True
        bottom = ctx.variables.get("cursor") or encode_cursor("end")
    ctx.bottom = bottom
    cursors = [
        cursor_entry("Bottom", bottom, ctx.sort_base - len(page) - 1),
        cursor_entry("Top", encode_cursor("top", ctx.sort_base), ctx.sort_base + 1),
    ]
    entries += cursors[::-1] if top_first else cursors
    return entries, bottom, len(page)


def _graph(ctx: Ctx, followers: bool) -> dict:
    user = ctx.user_by_id(ctx.variables.get("userId", ""))
    if user is None:
        return {"data": {"user": {}}}
    if user.unavailable:
        return {"data": {"user": {"result": unavailable("Suspended")}}}
    idxs = [] if user.protected else (user.followers if followers else user.following)
    people = [ctx.world.users[i] for i in reversed(idxs)]  # newest edge first
    component = "FollowersSgs" if followers else "FollowingSgs"
    entries, _, _ = _user_page(ctx, people, {"component": component, "element": "user"})
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
    entries, _, _ = _user_page(ctx, people, None, top_first=True)
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


def _category(timeline_id: str) -> str:
    try:
        raw = base64.urlsafe_b64decode(timeline_id + "=" * (-len(timeline_id) % 4))
    except ValueError:
        return "trending"
    words = re.findall(rb"[a-z]{3,}", raw.split(b":", 1)[-1])
    return words[0].decode() if words else "trending"


def _hour_tags(ctx: Ctx) -> dict[int, Counter]:
    if "hour_tags" not in ctx.cache:
        hours: dict[int, Counter] = {}
        tweets = ctx.world.tweets
        for pos in ctx.search.searchable:
            t = tweets[pos]
            if t.hashtags:
                hours.setdefault(t.ms // _HOUR_MS, Counter()).update(t.hashtags)
        ctx.cache["hour_tags"] = hours
    return ctx.cache["hour_tags"]


def trending_tags(ctx: Ctx, category: str = "trending") -> list[tuple[str, int]]:
    """Most used hashtags in the 24 hours before now (or before the world's end, if earlier)."""
    hours = _hour_tags(ctx)
    end_hour = min(ctx.now_ms, ctx.world.cfg.end_ms) // _HOUR_MS
    total: Counter = Counter()
    for hour in range(end_hour - 24, end_hour):
        total.update(hours.get(hour, {}))
    topics = _CATEGORY_TOPICS.get(category)
    ranked = sorted(total.items(), key=lambda kv: (-kv[1], kv[0]))
    return [
        (tag, n)
        for tag, n in ranked
        if topics is None or _TAG_TOPIC.get(tag, "") in topics or tag not in _TAG_TOPIC
    ]


def generic_timeline(ctx: Ctx) -> dict:
    """Explore/trends tab: a frame and a "stories" module of TimelineTrend items built from the
    world's most used hashtags of the last 24 hours; one page only."""
    category = _category(str(ctx.variables.get("timelineId", "")))
    tags = trending_tags(ctx, category)[: min(ctx.count(), 30)]
    module_id = f"stories-{ctx.sort_base + 1}"
    items = []
    for rank, (tag, n) in enumerate(tags, start=1):
        url = {
            "url": f"twitter://search/?query={quote('#' + tag)}&src=trend_click&vertical=trends",
            "urlType": "DeepLink",
        }
        items.append(
            {
                "entryId": f"{module_id}-trend-{rank}",
                "item": {
                    "clientEventInfo": {"component": "stories", "element": "trend"},
                    "itemContent": {
                        "__typename": "TimelineTrend",
                        "is_ai_trend": False,
                        "itemType": "TimelineTrend",
                        "name": f"#{tag}",
                        "social_context": {
                            "contextImageUrls": [],
                            "contextType": "Facepile",
                            "text": f"Trending in {category} · {n:,} posts",
                            "type": "TimelineGeneralContext",
                        },
                        "trend_metadata": {"url": url},
                        "trend_url": url,
                    },
                },
            }
        )
    frame = entry(
        "frame-TrendingEntryPoint",
        ctx.sort_base,
        {
            "__typename": "TimelineTimelineItem",
            "clientEventInfo": {"component": "TrendingEntryPoint"},
            "entryType": "TimelineTimelineItem",
            "itemContent": {
                "__typename": "TimelineFrame",
                "height": 180,
                "itemType": "TimelineFrame",
                "payload": base64.b64encode(f"frame:{category}".encode()).decode(),
            },
        },
    )
    stories = entry(
        module_id,
        ctx.sort_base - 1,
        {
            "__typename": "TimelineTimelineModule",
            "clientEventInfo": {"component": "stories"},
            "displayType": "Vertical",
            "entryType": "TimelineTimelineModule",
            "items": items,
        },
    )
    if ctx.variables.get("cursor"):
        ctx.ended = True
        entries = []
        bottom = str(ctx.variables["cursor"])
    else:
        entries = [frame, stories] if items else []
        bottom = encode_cursor("trends", category)
    ctx.bottom = bottom
    entries += [
        cursor_entry("Top", encode_cursor("top", ctx.sort_base), ctx.sort_base + 2),
        cursor_entry("Bottom", bottom, ctx.sort_base - 2),
    ]
    return {
        "data": {
            "timeline": {
                "timeline": {
                    "instructions": [
                        {"type": "TimelineClearCache"},
                        {"direction": "Bottom", "type": "TimelineTerminateTimeline"},
                        {"entries": entries, "type": "TimelineAddEntries"},
                    ]
                }
            }
        }
    }
