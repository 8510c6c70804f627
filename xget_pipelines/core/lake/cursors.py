"""Keyset pages of lake reads and their cursors, in one place for every reader (and the search index).

A cursor is opaque to clients: base64 of the sort key of the last row of a page (``(created_at, tweet_id)``
newest first for tweets, an id for follower lists), so paging stays correct while new rows arrive. A cursor
this API did not issue (not base64 of a JSON list, values of the wrong type or number, another endpoint's)
is a ``BadCursor`` naming ``cursor``: a bad request, never an error of the server.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
from dataclasses import dataclass, field

from xget_pipelines.core.errors import BadCursor

_NOT_OURS = "cursor is not one this API issued: pass next_cursor of the previous page"


@dataclass
class Page:
    rows: list[dict]
    next_cursor: str | None
    columns: list[str] = field(default_factory=list)


def _not_ours() -> BadCursor:
    return BadCursor(_NOT_OURS, "cursor")


def _no_constants(name: str):
    """NaN and Infinity: Python's JSON reads them; no cursor holds them."""
    raise ValueError(f"{name} is not in a cursor")


def encode_cursor(*values) -> str:
    return base64.urlsafe_b64encode(json.dumps(values, default=str).encode()).decode().rstrip("=")


def decode_cursor(cursor: str, arity: int) -> list:
    """The values of a cursor: a JSON list of ``arity`` values, or BadCursor."""
    try:
        values = json.loads(
            base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)), parse_constant=_no_constants
        )
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise _not_ours() from None
    if not isinstance(values, list) or len(values) != arity:
        raise _not_ours()
    return values


def cursor_id(value) -> int:
    """An id out of a decoded cursor: a JSON integer of 64 bits, or BadCursor (a cursor this API did not
    issue: we write ids as integers, never as strings, floats or booleans)."""
    if type(value) is not int or not -(2**63) <= value < 2**63:
        raise _not_ours()
    return value


def cursor_time(value) -> dt.datetime:
    """A timestamp out of a decoded cursor, as an aware UTC datetime, or BadCursor.

    The text must be what ``datetime.isoformat`` writes, as every cursor of this API was written: Python
    reads other ISO 8601 forms too (week dates such as ``2026-W49-1``, ordinal dates, ``Z``), which no
    cursor ever held and which DuckDB does not cast."""
    if not isinstance(value, str):
        raise _not_ours()
    try:
        at = dt.datetime.fromisoformat(value)
    except ValueError:
        raise _not_ours() from None
    if at.isoformat() != value:
        raise _not_ours()
    try:
        return at.astimezone(dt.UTC) if at.tzinfo else at.replace(tzinfo=dt.UTC)
    except OverflowError:  # 0001-01-01 at +05:00 is before the first UTC instant Python has
        raise _not_ours() from None


def tweet_cursor(created_at: dt.datetime, tweet_id: int) -> str:
    """The cursor continuing after a tweet in newest-first order."""
    return encode_cursor(created_at.isoformat(), tweet_id)


def decode_tweet_cursor(cursor: str) -> tuple[dt.datetime, int]:
    """``(created_at, tweet_id)`` of the tweet a ``tweet_cursor`` names (``created_at`` in UTC), or
    BadCursor."""
    created, tweet_id = decode_cursor(cursor, 2)
    return cursor_time(created), cursor_id(tweet_id)


def decode_id_cursor(cursor: str) -> int:
    """The id a cursor of an id-ordered page names (followers, follower edges), or BadCursor."""
    (last,) = decode_cursor(cursor, 1)
    return cursor_id(last)
