"""What pagination needs to know about a page, read without the full parser.

Kept apart from ``parse.py`` on purpose: a page is stored raw before it is parsed, and the decision to
ask for the next page must not depend on the parser being right about every tweet.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import orjson

NEXT_CURSOR_TYPES = ("Bottom", "ShowMoreThreads")
# Subtrees that hold tweet and user payloads, never timeline cursors: not worth walking.
_SKIP = frozenset({"tweet_results", "user_results", "legacy", "core", "card", "note_tweet"})


@dataclass
class PageSummary:
    cursor_bottom: str | None = None
    content_entries: int = 0
    malformed: bool = False
    error_codes: list[int] = field(default_factory=list)


def summarize_page(body: bytes | str) -> PageSummary:
    """Next cursor, number of content entries, X error codes; ``malformed`` if not a JSON object."""
    try:
        doc = orjson.loads(body)
    except orjson.JSONDecodeError:
        return PageSummary(malformed=True)
    if not isinstance(doc, dict):
        return PageSummary(malformed=True)
    summary = PageSummary()
    summary.error_codes = [e.get("code") for e in doc.get("errors") or [] if isinstance(e, dict)]
    _walk(doc.get("data"), summary)
    return summary


def _walk(node: object, summary: PageSummary) -> None:
    stack = [node]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            ctype = item.get("cursorType")
            if ctype in NEXT_CURSOR_TYPES and isinstance(item.get("value"), str):
                # ShowMoreThreads only counts when the timeline has no plain Bottom cursor.
                if ctype == "Bottom" or summary.cursor_bottom is None:
                    summary.cursor_bottom = item["value"]
                continue
            next_cursor = item.get("next_cursor")
            if isinstance(next_cursor, str) and summary.cursor_bottom is None:
                summary.cursor_bottom = next_cursor
            entries = item.get("entries")
            if isinstance(entries, list):
                summary.content_entries += sum(
                    1
                    for e in entries
                    if isinstance(e, dict) and not str(e.get("entryId", "")).startswith("cursor-")
                )
            added = item.get("moduleItems")  # later UserMedia pages add their posts to the grid module
            if isinstance(added, list):
                summary.content_entries += sum(
                    1 for e in added if isinstance(e, dict) and "-cursor-" not in str(e.get("entryId", ""))
                )
            items = item.get("items_results")
            if isinstance(items, list):
                summary.content_entries += len(items)
            stack.extend(v for k, v in item.items() if k not in _SKIP and isinstance(v, (dict, list)))
        elif isinstance(item, list):
            stack.extend(v for v in item if isinstance(v, (dict, list)))
