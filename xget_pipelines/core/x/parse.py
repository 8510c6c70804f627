"""Parse raw X GraphQL response bodies into Arrow tables: fast, and faithful to twscrape.

``parse_page(body, operation)`` turns one stored page into the cleaned-layer tables of ``schema.py``
(tweets, users, media, hashtags, mentions, urls, trends) plus what pagination and the follow graph
need (cursors, the timeline's own user ids, entry count) and what went wrong (X's ``errors``, objects
that could not be read). Faithful means: the same tweets and users twscrape's ``parse_tweets`` /
``parse_users`` find, with the same text, counts, ids and entities (``tests/core/test_parse_parity.py``
checks every capture). Fast means a typed msgspec decode that skips what it does not need (``_decode``)
and one walker for all timelines (``parse_walk``), about 10x twscrape (``bench/parse.py``).

Failure policy: only a body that is not a JSON object raises (``MalformedPage``). A bad object is
skipped and described in ``parse_errors``; an unknown root raises ``UnknownOperation`` only when the
caller did not say which operation the page answers.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import msgspec
import pyarrow as pa

from xget_pipelines.core.x import _decode as d
from xget_pipelines.core.x import schema
from xget_pipelines.core.x.parse_detect import (
    OPERATIONS,
    AmbiguousOperation,
    UnknownOperation,
    locate,
    narrow,
)
from xget_pipelines.core.x.parse_walk import UNREADABLE, PageBuilder

__all__ = [
    "OPERATIONS", "AmbiguousOperation", "MalformedPage", "ParsedPage", "UnknownOperation",
    "detect_operation", "parse_page",
]

_MAX_REPAIRS = 500  # bad objects one page may hold before the lenient decode gives up on it
_PATH_TOKEN = re.compile(r"\.([A-Za-z_$][\w$]*)|\[(\d+)\]")
_UNREADABLE = {"__typename": UNREADABLE}  # stands in for an object the typed view rejected


class MalformedPage(ValueError):
    """The body is not JSON, or not a JSON object: nothing in it can be parsed."""


@dataclass
class ParsedPage:
    operation: str
    tweets: pa.Table
    users: pa.Table
    media: pa.Table
    hashtags: pa.Table
    mentions: pa.Table
    urls: pa.Table
    trends: pa.Table
    timeline_user_ids: list[int] = field(default_factory=list)
    cursor_bottom: str | None = None
    cursor_top: str | None = None
    entry_count: int = 0
    unavailable: int = 0  # tombstones, TweetUnavailable, UserUnavailable, empty tweet_results
    api_errors: list[dict] = field(default_factory=list)
    parse_errors: list[str] = field(default_factory=list)


def detect_operation(body: bytes | str) -> str:
    """The GraphQL operation a response body answers, from its root path and hints.

    Raises ``MalformedPage`` for non-JSON, ``UnknownOperation`` when no known root is present and
    ``AmbiguousOperation`` (a subclass) when several operations share the root and nothing tells them
    apart (e.g. UserByScreenName vs UserByRestId).
    """
    root, _ = _decode(body)
    return _detect(root, body)


def parse_page(body: bytes | str, operation: str | None = None) -> ParsedPage:
    """Parse one response body. ``operation`` names the request; ``None`` detects it from the body."""
    if operation is not None and operation not in OPERATIONS:
        raise UnknownOperation(f"operation {operation!r} is not one this parser knows: {OPERATIONS}")
    root, problems = _decode(body)
    page = PageBuilder()
    page.errors += problems
    try:
        path, kind, node, candidates = locate(root)
    except UnknownOperation:
        if operation is None:
            raise _explain(body) from None
        if root.data is not None and _data_keys(body):  # ``data: {}`` is X's "nothing found"
            page.errors.append(f"body has no root of {operation} (data holds {_data_keys(body)})")
    else:
        if operation is None:
            operation = narrow(path, kind, node, candidates)
        elif candidates and operation not in candidates:
            page.errors.append(f"body has the root {path} of {'/'.join(candidates)}, not {operation}")
        _walk_root(page, kind, node)
    return _finish(page, operation, root)


def _detect(root: d.Root, body: bytes | str) -> str:
    try:
        return narrow(*locate(root))
    except AmbiguousOperation:
        raise
    except UnknownOperation:
        raise _explain(body) from None


def _data_keys(body: bytes | str) -> list[str]:
    doc = msgspec.json.decode(body)
    data = doc.get("data") if isinstance(doc, dict) else None
    return sorted(data) if isinstance(data, dict) else []


def _explain(body: bytes | str) -> UnknownOperation:
    """An UnknownOperation that names the keys actually found, which the typed view cannot see."""
    doc = msgspec.json.decode(body)
    data = doc.get("data") if isinstance(doc, dict) else None
    if isinstance(doc, dict) and "entryId" in doc and "content" in doc:
        return UnknownOperation("body is a single timeline entry, not a whole GraphQL response")
    if not isinstance(data, dict):
        errs = [e.get("message") for e in doc.get("errors") or [] if isinstance(e, dict)]
        return UnknownOperation(f"body has no 'data' object (top-level keys {sorted(doc)}"
                                + (f", X errors {errs}" if errs else "") + ")")
    return UnknownOperation(f"unknown root: data holds {sorted(data)}; known operations: {OPERATIONS}")


def _walk_root(page: PageBuilder, kind: str, node: Any) -> None:
    if kind == "timeline":
        page.timeline(node)
    elif kind == "slice":
        page.slice(node)
    elif kind == "entry":
        page.entry(d.Entry(entryId=node.entryId, content=node.content))
    elif kind == "user" and node is not None and node.typename != UNREADABLE:
        if page.user(node, "data") is not None:
            page.entry_count = 1


def _table(rows: Any, sch: pa.Schema) -> pa.Table:
    """Transpose row tuples into typed columns; an empty table still carries the schema."""
    rows = list(rows)
    if not rows:
        return sch.empty_table()
    cols = zip(*rows)
    return pa.Table.from_arrays([pa.array(c, type=f.type) for c, f in zip(cols, sch)], schema=sch)


def _finish(page: PageBuilder, operation: str, root: d.Root) -> ParsedPage:
    api_errors = [e for e in root.errors or () if isinstance(e, dict)]
    return ParsedPage(
        operation=operation,
        tweets=_table(page.tweets.values(), schema.TWEETS),
        users=_table(page.users.values(), schema.USERS),
        media=_table(page.media, schema.MEDIA),
        hashtags=_table(page.hashtags, schema.HASHTAGS),
        mentions=_table(page.mentions, schema.MENTIONS),
        urls=_table(page.urls, schema.URLS),
        trends=_table(page.trends, schema.TRENDS),
        timeline_user_ids=page.timeline_user_ids,
        cursor_bottom=page.cursor_bottom,
        cursor_top=page.cursor_top,
        entry_count=page.entry_count,
        unavailable=page.unavailable,
        api_errors=api_errors,
        parse_errors=page.errors,
    )


# ---- decoding, with a lenient fallback ------------------------------------------------------------


def _decode(body: bytes | str) -> tuple[d.Root, list[str]]:
    """The typed view of a body, and the problems found; raises ``MalformedPage`` for non-JSON.

    The fast path decodes the whole body at once. If one object does not fit the typed view (a count
    sent as a string, a list where an object belongs), msgspec rejects the whole body; then the body
    is decoded to plain Python, and each rejected object, located by the error's JSON path, is
    replaced by a marker (tweets, users) or dropped (entries, other values) until the rest converts.
    """
    try:
        return d.ROOT_DECODER.decode(body), []
    except msgspec.ValidationError:
        pass
    except msgspec.DecodeError as exc:
        raise MalformedPage(f"body is not valid JSON: {exc}") from None
    doc = msgspec.json.decode(body)
    if not isinstance(doc, dict):
        raise MalformedPage(f"body is a JSON {type(doc).__name__}, not an object")
    problems: list[str] = []
    for _ in range(_MAX_REPAIRS):
        try:
            return msgspec.convert(doc, d.Root), problems
        except msgspec.ValidationError as exc:
            message = str(exc)
            if not _repair(doc, message, problems):
                break
    problems.append(f"page structure unreadable ({message}); nothing parsed")
    errors = doc.get("errors")
    return d.Root(errors=[e for e in errors if isinstance(e, dict)] if isinstance(errors, list) else None), \
        problems


def _repair(doc: dict, message: str, problems: list[str]) -> bool:
    """Neutralise the object holding the value msgspec rejected; False when it cannot be located."""
    at = message.rfind(" - at `$")
    if at < 0:
        return False
    path = message[at + 7:-1]
    steps: list[str | int] = [k if k else int(i) for k, i in _PATH_TOKEN.findall(path)]
    if not steps:
        return False
    node: Any = doc
    chain: list[tuple[Any, str | int]] = []  # (container, key) down to the rejected value
    for step in steps:
        try:
            chain.append((node, step))
            node = node[step]
        except (KeyError, IndexError, TypeError):
            return False
    what = message[:at]
    for depth in range(len(chain) - 1, -1, -1):  # the innermost tweet, user or entry holding it
        parent, key = chain[depth]
        obj = parent[key]
        if not isinstance(obj, dict):
            continue
        kind = obj.get("__typename")
        if kind in ("Tweet", "TweetWithVisibilityResults", "User"):
            ident = obj.get("rest_id") or (obj.get("tweet") or {}).get("rest_id")
            problems.append(f"{kind} {ident} at {path}: {what}; skipped")
            parent[key] = dict(_UNREADABLE)
            return True
        if "entryId" in obj and isinstance(parent, list):
            problems.append(f"entry {obj['entryId']} at {path}: {what}; skipped")
            del parent[key]
            return True
    parent, key = chain[-1]
    problems.append(f"value at {path}: {what}; dropped")
    del parent[key]
    return True
