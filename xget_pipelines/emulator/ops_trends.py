"""GenericTimelineById: the Explore tab's trends, from the world's most used hashtags of the last day."""

from __future__ import annotations

import base64
import re
from collections import Counter
from urllib.parse import quote

from . import vocab
from .timeline import Ctx, cursor_entry, encode_cursor, entry

_HOUR_MS = 3_600_000
_CATEGORY_TOPICS = {
    "sports": {"football"},
    "entertainment": {"music", "gaming", "cooking"},
    "news": {"climate", "space", "ai"},
}
_TAG_TOPIC = {tag: topic for topic, (_, tags) in vocab.TOPICS.items() for tag in tags}


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
