"""Timeline building blocks shared by the operations: entries, modules, cursors, paging.

Cursors are opaque base64 strings to the client. Id-ordered timelines (search "Latest",
profiles, lists) page by "older than the last id served", so posts that appear while a
client pages do not shift its position; ranked timelines page by offset.
"""

from __future__ import annotations

import base64
from bisect import bisect_left
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from .model import About, Tweet, User, snowflake
from .render_tweet import TweetRenderer
from .render_user import UserRenderer
from .search import SearchIndex
from .settings import EmulatorSettings
from .world import World

CONTROLLER_DATA = "DAACDAABDAABCgABAAAAAAAAAAAKAAkAAAAAAAAAAAAAAAA="


def encode_cursor(*parts: object) -> str:
    return base64.urlsafe_b64encode("|".join(map(str, parts)).encode()).decode().rstrip("=")


def decode_cursor(value: str | None) -> list[str] | None:
    if not value:
        return None
    try:
        return base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)).decode().split("|")
    except (ValueError, UnicodeDecodeError):
        return ["invalid"]


@dataclass
class Ctx:
    """Everything an operation handler needs for one request."""

    world: World
    settings: EmulatorSettings
    users: UserRenderer
    tweets: TweetRenderer
    search: SearchIndex
    now_ms: int
    variables: dict[str, Any]
    cache: dict = field(default_factory=dict)  # per-server memo of static per-entity lists
    members: dict[str, User] = field(default_factory=dict)  # the emulator's own accounts, by lower-case name
    about: dict[int, About] = field(default_factory=dict)  # changed by POST /_emulator/about, by user id
    # (followed idx, follower idx) edges removed at run time (/_emulator/followers): X no longer lists them
    removed_follows: set[tuple[int, int]] = field(default_factory=set)
    ended: bool = False  # set when the answer is the empty end-of-timeline page
    bottom: str | None = None  # the Bottom cursor served, for the repeat_cursor fault
    sort_base: int = field(init=False)

    def __post_init__(self) -> None:
        self.sort_base = snowflake(self.now_ms, 0)

    def user_by_screen_name(self, name: str) -> User | None:
        """A user of the world, or one of the accounts clients sign in with (every account is a user on X)."""
        return self.world.user_by_screen_name(name) or self.members.get(name.lstrip("@").lower())

    def user_by_id(self, uid: object) -> User | None:
        user = self.world.user_by_id(uid)
        if user is None:
            user = next((m for m in self.members.values() if str(m.id) == str(uid)), None)
        return user

    @property
    def visible_ms(self) -> int:
        return self.now_ms if self.settings.hide_future_tweets else 2**62

    def count(self, default: int = 20) -> int:
        try:
            value = int(self.variables.get("count", default))
        except (TypeError, ValueError):
            value = default
        return max(1, min(value, self.settings.max_page_size))

    def top_fields(self) -> dict:
        """Fields X adds to timeline-level posts when the request asks for them."""
        top: dict = {}
        if self.variables.get("withQuickPromoteEligibilityTweetFields"):
            top["quick_promote_eligibility"] = {"eligibility": "IneligibleTweet"}
        if self.variables.get("withBirdwatchNotes"):
            top["has_birdwatch_notes"] = False
        return top

    def tweet_result(self, tweet: Tweet, top: dict | None = None) -> dict:
        return self.tweets.result(tweet, self.now_ms, top=top)


def entry(entry_id: str, sort_index: int | str, content: dict) -> dict:
    return {"content": content, "entryId": entry_id, "sortIndex": str(sort_index)}


def tweet_content(
    result: dict,
    client_event: dict | None = None,
    *,
    display: str = "Tweet",
    highlights: list[tuple[int, int]] | None = None,
    social: dict | None = None,
) -> dict:
    item: dict = {
        "__typename": "TimelineTweet",
        "itemType": "TimelineTweet",
        "tweetDisplayType": display,
        "tweet_results": {"result": result},
    }
    if highlights:
        item["highlights"] = {"textHighlights": [{"endIndex": e, "startIndex": s} for s, e in highlights]}
    if social:
        item["socialContext"] = social
    content: dict = {
        "__typename": "TimelineTimelineItem",
        "entryType": "TimelineTimelineItem",
        "itemContent": item,
    }
    if client_event is not None:
        content["clientEventInfo"] = client_event
    return content


def user_content(result: dict, client_event: dict | None = None) -> dict:
    content: dict = {
        "__typename": "TimelineTimelineItem",
        "entryType": "TimelineTimelineItem",
        "itemContent": {
            "__typename": "TimelineUser",
            "itemType": "TimelineUser",
            "userDisplayType": "User",
            "user_results": {"result": result},
        },
    }
    if client_event is not None:
        content["clientEventInfo"] = client_event
    return content


def cursor_entry(kind: str, value: str, sort_index: int | str, entry_id: str | None = None) -> dict:
    entry_id = entry_id or f"cursor-{kind.lower()}-{sort_index}"
    return entry(
        entry_id,
        sort_index,
        {
            "__typename": "TimelineTimelineCursor",
            "cursorType": kind,
            "entryType": "TimelineTimelineCursor",
            "value": value,
        },
    )


def conversation_module(
    entry_id: str,
    sort_index: int,
    ctx: Ctx,
    tweets: Sequence[Tweet],
    event: dict,
    item_event: dict | None = None,
    dispensable: bool = False,
    top: dict | None = None,
    display: str = "Tweet",
) -> dict:
    """A VerticalConversation module: a reply shown under its parent(s). ``display`` is the items'
    ``tweetDisplayType`` ("SelfThread" for the author's own thread under a TweetDetail focal post)."""
    items = []
    for i, tweet in enumerate(tweets):
        item: dict = {
            "entryId": f"{entry_id}-tweet-{tweet.id}",
            "item": {
                "clientEventInfo": item_event or event,
                "itemContent": tweet_content(ctx.tweet_result(tweet, top), display=display)["itemContent"],
            },
        }
        if dispensable:
            item = {"dispensable": i < len(tweets) - 1, **item}
        items.append(item)
    return entry(
        entry_id,
        sort_index,
        {
            "__typename": "TimelineTimelineModule",
            "clientEventInfo": event,
            "displayType": "VerticalConversation",
            "entryType": "TimelineTimelineModule",
            "items": items,
            "metadata": {
                "conversationMetadata": {
                    "allTweetIds": [str(t.id) for t in tweets],
                    "enableDeduplication": True,
                }
            },
        },
    )


def page_newest_first(
    items: Sequence[Any],
    item_id: Callable[[Any], int],
    before: int | None,
    visible_id: int,
    count: int,
    accept: Callable[[Any], bool] | None = None,
) -> list[Any]:
    """Up to `count` accepted items with id < `before` (and <= `visible_id`), newest first.

    `items` must be sorted by ascending id.
    """
    limit = visible_id + 1 if before is None else min(before, visible_id + 1)
    pos = bisect_left(items, limit, key=item_id)
    out = []
    while pos > 0 and len(out) < count:
        pos -= 1
        if accept is None or accept(items[pos]):
            out.append(items[pos])
    return out


def id_cursor(ctx: Ctx) -> tuple[int | None, bool]:
    """(older-than id, valid) from `variables.cursor` of an id-ordered timeline."""
    parts = decode_cursor(ctx.variables.get("cursor"))
    if parts is None:
        return None, True
    if parts[0] == "id" and len(parts) == 2 and parts[1].isdigit():
        return int(parts[1]), True
    return 0, False  # exhausted or unreadable: nothing older


def id_bottom(ctx: Ctx, last: int | None) -> str:
    """Bottom cursor of an id-ordered page; with nothing served, the cursor received (X's end signal)."""
    if last is not None:
        return encode_cursor("id", last)
    ctx.ended = True
    return ctx.variables.get("cursor") or encode_cursor("end")


def offset_cursor(ctx: Ctx) -> int:
    parts = decode_cursor(ctx.variables.get("cursor"))
    if parts is None:
        return 0
    if parts[0] == "off" and len(parts) == 2 and parts[1].isdigit():
        return int(parts[1])
    return 2**31


def visible_id(ctx: Ctx) -> int:
    return snowflake(ctx.visible_ms, 0x3FFFFF) if ctx.visible_ms < 2**62 else 2**63


def user_page(
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


def user_timeline(instructions: list[dict], page: str) -> dict:
    """The envelope of a user's timeline (UserTweets, UserTweetsAndReplies, UserMedia): the instructions under
    ``data.user.result.timeline.timeline``, as in raw_user_tweets.json and raw_user_media.json."""
    return {
        "data": {
            "user": {
                "result": {
                    "__typename": "User",
                    "timeline": {
                        "timeline": {
                            "instructions": instructions,
                            "metadata": {"scribeConfig": {"page": page}},
                        }
                    },
                }
            }
        }
    }
