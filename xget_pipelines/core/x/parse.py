"""Parse raw X GraphQL response bodies into Arrow tables: fast, and faithful to twscrape.

``parse_page(body, operation)`` turns one stored page into the cleaned-layer tables of ``schema.py``
(tweets, users, media, hashtags, mentions, urls, trends) plus what pagination and the follow graph
need (cursors, the timeline's own user ids, entry count) and what went wrong (X's ``errors``, objects
that could not be read). Faithful means: the same tweets and users twscrape's ``parse_tweets`` /
``parse_users`` find, with the same text, counts, ids and entities (``tests/core/test_parse_parity.py``
checks every capture). Fast means a typed msgspec decode that skips what it does not need (``_decode``)
and one walker for all timelines (``parse_walk``): about 7.5x twscrape's tweets/s on compact
bodies as X sends them, about 5x on the pretty-printed capture files, whose indentation (70% of
their bytes) costs this decoder proportionally more than twscrape (``bench/parse.py``).

Failure policy: only a body that is not a JSON object raises (``MalformedPage``). A bad object is
skipped and described in ``parse_errors``. A root this parser does not know (an operation X added or
renamed) is walked generically (``parse_generic``): its tweets and users still come out, and
``generic_root`` says so. ``UnknownOperation`` is raised only for a body that holds nothing to walk (no
``data``, or an empty one) or an ambiguous root, when the caller did not say which operation the page
answers; callers that know it (the raw layer stores it with every page) should always pass it.
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
from xget_pipelines.core.x.parse_generic import walk_generic
from xget_pipelines.core.x.parse_walk import UNREADABLE, PageBuilder

__all__ = [
    "OPERATIONS",
    "AmbiguousOperation",
    "MalformedPage",
    "ParsedPage",
    "UnknownOperation",
    "detect_operation",
    "parse_page",
]

_MAX_REPAIRS = 500  # bad objects one page may hold before the lenient decode gives up on it
_PATH_TOKEN = re.compile(r"\.([A-Za-z_$][\w$]*)|\[(\d+)\]")


class MalformedPage(ValueError):
    """The body is not JSON, or not a JSON object: nothing in it can be parsed."""


@dataclass
class ParsedPage:
    """Everything one response body holds, as Arrow tables (``schema.py``) plus page facts.

    ``timeline_user_ids``: the timeline's own user entries in page order (followers, members,
    retweeters...), not module suggestions; the caller makes follow edges from them.
    ``cursor_bottom``: the next page (Bottom, else TweetDetail's ShowMoreThreads, else a slice's
    ``next_cursor``). ``entry_count``: content entries, cursors excluded (1 for a single user).
    ``unavailable``: tombstones and Tweet/UserUnavailable, skipped but counted. ``api_errors``: X's
    ``errors`` items as sent. ``parse_errors``: objects that could not be read, each with its id and
    entry or JSON path; they were skipped, everything else on the page was kept. ``generic_root``: the
    keys of ``data`` when the root was unknown and the body was walked generically (None otherwise).
    """

    operation: str
    tweets: pa.Table
    users: pa.Table
    media: pa.Table
    hashtags: pa.Table
    mentions: pa.Table
    urls: pa.Table
    trends: pa.Table
    tombstones: pa.Table
    timeline_user_ids: list[int] = field(default_factory=list)
    cursor_bottom: str | None = None
    cursor_top: str | None = None
    entry_count: int = 0
    unavailable: int = 0  # tombstones, TweetUnavailable, UserUnavailable, empty tweet_results
    api_errors: list[dict] = field(default_factory=list)
    parse_errors: list[str] = field(default_factory=list)
    generic_root: list[str] | None = None


def detect_operation(body: bytes | str) -> str:
    """The GraphQL operation a response body answers, from its root path and hints.

    Raises ``MalformedPage`` for non-JSON, ``UnknownOperation`` when no known root is present and
    ``AmbiguousOperation`` (a subclass) when several operations share the root and nothing tells them
    apart (e.g. UserByScreenName vs UserByRestId).
    """
    root, _ = _decode(body)
    try:
        return narrow(*locate(root))
    except AmbiguousOperation:
        raise
    except UnknownOperation:
        raise _explain(body) from None


def parse_page(body: bytes | str, operation: str | None = None) -> ParsedPage:
    """Parse one response body into tables; ``operation`` names the request (``None``: detect it).

    Raises ``MalformedPage`` if the body is not a JSON object, and, without ``operation``,
    ``UnknownOperation`` for a body with nothing to walk or whose operation cannot be told among several.
    A root this parser does not know (or an ``operation`` it does not know) is walked generically and
    flagged in ``generic_root``. Everything else (bad objects, a root that does not match ``operation``)
    is reported in ``parse_errors`` of the returned page.
    """
    root, problems = _decode(body)
    page = PageBuilder()
    page.errors += problems
    try:
        path, kind, node, candidates = locate(root)
    except UnknownOperation:
        keys = _data_keys(body) if root.data is not None else []
        if keys:  # a root this parser does not know: whatever tweets and users it holds still count
            walk_generic(page, _generic(body)["data"])
            return _finish(page, operation or "unknown", root, generic_root=keys)
        if operation is None:
            raise _explain(body) from None
    else:
        if operation is None:
            operation = narrow(path, kind, node, candidates)
        elif operation not in OPERATIONS:  # a name this parser does not know, on a root it does
            page.errors.append(
                f"operation {operation!r} is not one this parser knows; read as {'/'.join(candidates)}"
            )
        elif candidates and operation not in candidates:
            page.errors.append(f"body has the root {path} of {'/'.join(candidates)}, not {operation}")
        _walk_root(page, kind, node)
    return _finish(page, operation, root)


def _generic(body: bytes | str) -> Any:
    """The body as plain Python. The typed decode skips unread strings unchecked, so a string X could
    never send (a lone UTF-16 surrogate escape) can surface only here; it is malformed JSON all the same."""
    try:
        return msgspec.json.decode(body)
    except msgspec.DecodeError as exc:
        raise MalformedPage(f"body is not valid JSON: {exc}") from None


def _data_keys(body: bytes | str) -> list[str]:
    doc = _generic(body)
    data = doc.get("data") if isinstance(doc, dict) else None
    return sorted(data) if isinstance(data, dict) else []


def _explain(body: bytes | str) -> UnknownOperation:
    """An UnknownOperation that names the keys actually found, which the typed view cannot see."""
    doc = _generic(body)
    data = doc.get("data") if isinstance(doc, dict) else None
    if isinstance(doc, dict) and "entryId" in doc and "content" in doc:
        return UnknownOperation("body is a single timeline entry, not a whole GraphQL response")
    if not isinstance(data, dict):
        errs = [e.get("message") for e in doc.get("errors") or [] if isinstance(e, dict)]
        return UnknownOperation(
            f"body has no 'data' object (top-level keys {sorted(doc)}"
            + (f", X errors {errs}" if errs else "")
            + ")"
        )
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
    elif kind == "tweets":
        for i, item in enumerate(node):
            if item is not None and item.result is not None:
                page.entry_count += 1
                page.tweet(item.result, "timeline", f"data.tweetResult[{i}]")
            else:  # a deleted post or an id X never had: an item without ``result`` (emulator/ops_lookup.py)
                page.unavailable += 1


_STRUCTS = {id(sch): pa.struct(list(sch)) for sch in schema.ALL.values()}
_EMPTY = {id(sch): sch.empty_table() for sch in schema.ALL.values()}  # tables are immutable: share


def _table(rows: list[tuple], sch: pa.Schema, what: str, errors: list[str]) -> tuple[pa.Table, set]:
    """Row tuples -> (table, keys of the rows dropped), converted in one ``pa.array`` call.

    One call over a struct type is about 2.5x faster than one ``pa.array`` per column on pages of
    tens of rows, where per-call overhead dominates. A value Arrow cannot hold (an id beyond int64)
    fails the call; then rows are tried one by one and the bad ones dropped and reported. An empty
    table still carries the schema.
    """
    if not rows:
        return _EMPTY[id(sch)], set()
    struct = _STRUCTS[id(sch)]
    try:
        return pa.Table.from_struct_array(pa.array(rows, type=struct)), set()
    except (OverflowError, pa.ArrowException):
        pass
    kept, dropped = [], set()
    for row in rows:
        try:
            pa.array([row], type=struct)
        except (OverflowError, pa.ArrowException) as exc:
            errors.append(f"{what} {row[0]!r}: a value Arrow cannot hold ({exc}); skipped")
            dropped.add(row[0])
        else:
            kept.append(row)
    return (pa.Table.from_struct_array(pa.array(kept, type=struct)) if kept else _EMPTY[id(sch)]), dropped


def _finish(
    page: PageBuilder, operation: str, root: d.Root, generic_root: list[str] | None = None
) -> ParsedPage:
    errors = page.errors
    tweets, bad_tweets = _table(list(page.tweets.values()), schema.TWEETS, "tweet", errors)
    users, bad_users = _table(list(page.users.values()), schema.USERS, "user", errors)
    children = {}
    for name in ("media", "hashtags", "mentions", "urls"):
        rows = getattr(page, name)
        if bad_tweets:  # no entity rows for a tweet whose own row was dropped
            rows = [r for r in rows if r[0] not in bad_tweets]
        children[name] = _table(rows, schema.ALL[name], f"{name} row of tweet", errors)[0]
    return ParsedPage(
        operation=operation,
        tweets=tweets,
        users=users,
        trends=_table(page.trends, schema.TRENDS, "trend", errors)[0],
        tombstones=_table(list(page.tombstones.values()), schema.TOMBSTONES, "tombstone", errors)[0],
        timeline_user_ids=[u for u in page.timeline_user_ids if u not in bad_users],
        cursor_bottom=page.cursor_bottom,
        cursor_top=page.cursor_top,
        entry_count=page.entry_count,
        unavailable=page.unavailable,
        api_errors=[e for e in root.errors or () if isinstance(e, dict)],
        parse_errors=errors,
        generic_root=generic_root,
        **children,
    )


# ---- decoding, with a lenient fallback ------------------------------------------------------------


def _decode(body: bytes | str) -> tuple[d.Root, list[str]]:
    """The typed view of a body, and the problems found; raises ``MalformedPage`` for non-JSON.

    The fast path decodes the whole body at once. If one object does not fit the typed view (a count
    sent as a string, a list where an object belongs), msgspec rejects the whole body; then the body
    is decoded to plain Python, and each rejected value, located by the error's JSON path, is dropped
    and its tweet or user marked unreadable (or its entry dropped) until the rest converts.
    """
    try:
        return d.ROOT_DECODER.decode(body), []
    except msgspec.ValidationError:
        pass
    except msgspec.DecodeError as exc:
        raise MalformedPage(f"body is not valid JSON: {exc}") from None
    doc = _generic(body)
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
    return d.Root(
        errors=[e for e in errors if isinstance(e, dict)] if isinstance(errors, list) else None
    ), problems


def _repair(doc: dict, message: str, problems: list[str]) -> bool:
    """Neutralise the object holding the value msgspec rejected; False when it cannot be located."""
    at = message.rfind(" - at `$")
    if at < 0:
        return False
    path = message[at + 7 : -1]
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
        if kind in ("Tweet", "TweetWithVisibilityResults", "User", UNREADABLE):
            # Mark the object unreadable and drop only the rejected value: the walker skips the
            # object's own row but still reads the valid objects inside it (author, quoted tweet).
            if kind != UNREADABLE:
                ident = obj.get("rest_id") or (obj.get("tweet") or {}).get("rest_id")
                problems.append(f"{kind} {ident} at {path}: {what}; skipped")
                obj["__typename"] = UNREADABLE
            break
        if "entryId" in obj and isinstance(parent, list):
            problems.append(f"entry {obj['entryId']} at {path}: {what}; skipped")
            del parent[key]
            return True
    else:
        problems.append(f"value at {path}: {what}; dropped")
    parent, key = chain[-1]
    del parent[key]
    return True
