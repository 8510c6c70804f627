"""SearchTimeline: tweets (products Latest, Top, Media) and accounts (People) matching a query."""

from __future__ import annotations

from .search import Query, parse_query, passes_thresholds
from .timeline import (
    CONTROLLER_DATA,
    Ctx,
    cursor_entry,
    encode_cursor,
    entry,
    id_bottom,
    id_cursor,
    offset_cursor,
    page_newest_first,
    tweet_content,
    user_content,
    visible_id,
)

_SEARCH_EVENT = {
    "component": "result",
    "details": {"timelinesDetails": {"controllerData": CONTROLLER_DATA}},
    "element": "tweet",
}


def _highlights(result: dict, words: list[str]) -> list[tuple[int, int]]:
    text = (result.get("legacy") or result.get("tweet", {}).get("legacy") or {}).get("full_text", "").lower()
    spans = []
    for word in words:
        at = text.find(word.lstrip("#@"))
        if at >= 0:
            spans.append((at, at + len(word.lstrip("#@"))))
    return sorted(spans)


def search_timeline(ctx: Ctx) -> dict:
    """Latest pages newest-first by id; Top ranks by popularity; People lists accounts.
    As on X, pages after the first carry their cursors in TimelineReplaceEntry instructions."""
    query = parse_query(str(ctx.variables.get("rawQuery", "")))
    product = ctx.variables.get("product", "Latest")
    if product == "People":
        entries, bottom = _search_people(ctx, query)
    else:
        entries, bottom = _search_tweets(ctx, query, product)
    top = cursor_entry("Top", encode_cursor("top", ctx.sort_base), 9223372036854775807)
    bottom_entry = cursor_entry("Bottom", bottom, 0)
    ctx.bottom = bottom
    if ctx.variables.get("cursor") and ctx.settings.search_replace_cursors:
        instructions = [
            {"entries": entries, "type": "TimelineAddEntries"},
            {"entry": top, "entry_id_to_replace": top["entryId"], "type": "TimelineReplaceEntry"},
            {
                "entry": bottom_entry,
                "entry_id_to_replace": bottom_entry["entryId"],
                "type": "TimelineReplaceEntry",
            },
        ]
    else:
        instructions = [{"entries": entries + [top, bottom_entry], "type": "TimelineAddEntries"}]
    return {
        "data": {"search_by_raw_query": {"search_timeline": {"timeline": {"instructions": instructions}}}}
    }


def _search_tweets(ctx: Ctx, query: Query, product: str) -> tuple[list[dict], str]:
    positions = ctx.search.evaluate(query, product)
    tweets, engagement, count = ctx.world.tweets, ctx.tweets.engagement, ctx.count()
    newest = visible_id(ctx)

    def accept(pos: int) -> bool:
        return tweets[pos].id <= newest and passes_thresholds(query, tweets[pos], engagement, ctx.now_ms)

    if product == "Top":
        page, off = [], offset_cursor(ctx)
        while off < len(positions) and len(page) < count:
            if accept(positions[off]):
                page.append(positions[off])
            off += 1
        bottom = encode_cursor("off", off) if page else id_bottom(ctx, None)
    else:
        before, valid = id_cursor(ctx)
        page = (
            page_newest_first(positions, lambda p: tweets[p].id, before, newest, count, accept)
            if valid
            else []
        )
        bottom = id_bottom(ctx, tweets[page[-1]].id if page else None)
    entries = []
    for i, pos in enumerate(page):
        result = ctx.tweet_result(tweets[pos])
        content = tweet_content(result, _SEARCH_EVENT, highlights=_highlights(result, query.words))
        entries.append(entry(f"tweet-{tweets[pos].id}", ctx.sort_base - i, content))
    return entries, bottom


def _search_people(ctx: Ctx, query: Query) -> tuple[list[dict], str]:
    words = [w.lstrip("#@") for w in query.words]
    matches = [
        u
        for u in ctx.world.users
        if not u.unavailable and all(w in f"{u.screen_name} {u.name} {u.bio}".lower() for w in words)
    ]
    off, count = offset_cursor(ctx), ctx.count()
    page = matches[off : off + count]
    entries = [
        entry(
            f"user-{u.id}",
            ctx.sort_base - i,
            user_content(ctx.users.result(u), {"component": "user_module", "element": "user"}),
        )
        for i, u in enumerate(page)
    ]
    return entries, encode_cursor("off", off + len(page)) if page else id_bottom(ctx, None)
