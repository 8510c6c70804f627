"""TweetDetail: a post with its ancestors and its replies as conversation-thread modules."""

from __future__ import annotations

from .timeline import (
    CONTROLLER_DATA,
    Ctx,
    conversation_module,
    cursor_entry,
    encode_cursor,
    entry,
    offset_cursor,
    tweet_content,
    visible_id,
)

_THREAD_DETAILS = {
    "conversationDetails": {"conversationSection": "HighQuality"},
    "timelinesDetails": {"controllerData": CONTROLLER_DATA},
}
MISSING_TWEET = {
    "data": {},
    "errors": [
        {
            "message": "_Missing: No status found with that ID.",
            "code": 144,
            "kind": "NonFatal",
            "name": "GenericError",
            "source": "Server",
            "path": ["threaded_conversation_with_injections_v2"],
        }
    ],
}


def tweet_detail(ctx: Ctx) -> dict:
    """First page: ancestors, the focal post, then one module per direct reply (ranked by
    popularity) holding the reply and up to two follow-ups. Later pages carry modules only. The
    "more replies" cursor (Bottom by default, as in the 2026 captures; see settings) is present only while
    replies remain, which is how clients know the thread is complete."""
    focal = ctx.world.tweet_by_id(ctx.variables.get("focalTweetId", ""))
    if focal is None or focal.ms > ctx.visible_ms:
        return MISSING_TWEET
    newest, top = visible_id(ctx), ctx.top_fields()
    replies = sorted((r for r in focal.replies if r.id <= newest), key=lambda r: (-r.pop, r.id))
    cursor = ctx.variables.get("cursor")
    off = offset_cursor(ctx) if cursor else 0
    size = ctx.count(ctx.settings.detail_page_size)
    page = replies[off : off + size] if not focal.hidden else []
    entries = []
    if cursor is None:
        chain, node = [], focal.reply_to
        while node is not None and len(chain) < 10:
            chain.append(node)
            node = node.reply_to
        for i, t in enumerate(reversed(chain)):
            entries.append(
                entry(
                    f"tweet-{t.id}",
                    ctx.sort_base + 20 - i,
                    tweet_content(ctx.tweet_result(t, top), {"component": "tweet", "element": "tweet"}),
                )
            )
        self_thread = any(r.author is focal.author for r in focal.replies)
        entries.append(
            entry(
                f"tweet-{focal.id}",
                ctx.sort_base,
                tweet_content(
                    ctx.tweet_result(focal, top),
                    {"component": "tweet", "element": "tweet"},
                    display="SelfThread" if self_thread else "Tweet",
                ),
            )
        )
    for i, reply in enumerate(page):
        thread, node = [reply], reply
        while len(thread) < 3:
            node = next(
                (r for r in node.replies if r.id <= newest and r.author in (reply.author, focal.author)), None
            )
            if node is None:
                break
            thread.append(node)
        sort = ctx.sort_base - 10 * (off + i + 1)
        # The focal author's own thread under it: its items are "SelfThread" in X's 2026 capture
        # (raw_tweet_details.json, the first module), every other reply module's are "Tweet".
        own = all(t.author is focal.author for t in thread)
        entries.append(
            conversation_module(
                f"conversationthread-{reply.id}",
                sort,
                ctx,
                thread,
                {"component": "tweet", "details": _THREAD_DETAILS},
                {"component": "tweet", "details": _THREAD_DETAILS, "element": "tweet"},
                top=top,
                display="SelfThread" if own else "Tweet",
            )
        )
    if off + len(page) < len(replies):
        kind = ctx.settings.detail_cursor_type
        sort = ctx.sort_base - 10 * (off + len(page) + 1)
        ctx.bottom = encode_cursor("off", off + len(page))
        entries.append(
            cursor_entry(
                kind,
                ctx.bottom,
                sort,
                entry_id=f"cursor-{'showmorethreads' if kind == 'ShowMoreThreads' else 'bottom'}-{sort}",
            )
        )
    elif cursor:
        ctx.ended = True
    instructions: list[dict] = [{"entries": entries, "type": "TimelineAddEntries"}]
    if cursor is None:
        instructions = [
            {"type": "TimelineClearCache"},
            *instructions,
            {"direction": "Top", "type": "TimelineTerminateTimeline"},
        ]
    return {
        "data": {
            "threaded_conversation_with_injections_v2": {
                "instructions": instructions,
                "metadata": {
                    "reader_mode_config": {"is_reader_mode_available": False},
                    "scribeConfig": {"page": "ranked_replies"},
                },
            }
        }
    }
