"""The fallback for bodies whose root this parser does not know: find the tweets and users wherever they are.

X adds and renames operations (``TweetResultByRestId`` was one: ``data.tweetResult.result``), and a
raw page must still give what it holds. The typed walker (``parse_walk``) reads only the positions of
known roots; this one walks the whole body once, the way twscrape's generic ``parse_tweets`` does, and
hands each object it recognises to the same ``PageBuilder``:

- a list of ``instructions`` is a timeline (entries, modules, cursors): walked as one;
- an object whose ``__typename`` is a tweet kind is a tweet (its author, quoted and retweeted tweets come
  with it, as on every page);
- an object whose ``__typename`` is ``User`` / ``UserUnavailable`` is a user.

It is slower than the typed path (the body is decoded to Python first) and says so: the parse result
carries ``generic_root``, the keys of ``data`` it did not know.
"""

from __future__ import annotations

from typing import Any

import msgspec

from xget_pipelines.core.x import _decode as d
from xget_pipelines.core.x import _decode_objects as o
from xget_pipelines.core.x.parse_walk import PageBuilder

TWEET_TYPES = frozenset({"Tweet", "TweetWithVisibilityResults", "TweetTombstone", "TweetUnavailable"})
USER_TYPES = frozenset({"User", "UserUnavailable"})


def walk_generic(page: PageBuilder, data: Any) -> None:
    """Collect every timeline, tweet and user under ``data`` (plain Python, as decoded) into ``page``."""
    stack: list[tuple[Any, str]] = [(data, "data")]
    while stack:
        node, path = stack.pop()
        if isinstance(node, list):
            stack.extend((v, f"{path}[{i}]") for i, v in reversed(list(enumerate(node))))
            continue
        if not isinstance(node, dict):
            continue
        if isinstance(node.get("instructions"), list):
            _convert(page, node, d.Timeline, path, page.timeline)
            continue
        kind = node.get("__typename")
        if kind in TWEET_TYPES:
            if _convert(
                page, node, o.TweetResult, path, lambda t, path=path: page.tweet(t, "timeline", path)
            ):
                page.entry_count += 1
            continue
        if kind in USER_TYPES:
            _convert(page, node, o.UserResult, path, lambda u, path=path: page.user(u, path))
            continue
        stack.extend((v, f"{path}.{k}") for k, v in reversed(list(node.items())))


def _convert(page: PageBuilder, node: dict, kind: type, path: str, take) -> bool:
    try:
        value = msgspec.convert(node, kind)
    except msgspec.ValidationError as exc:
        page.errors.append(f"{kind.__name__} at {path}: {exc}; skipped")
        return False
    take(value)
    return True
