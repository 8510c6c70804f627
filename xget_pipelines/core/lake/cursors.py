"""Keyset pages of lake reads and their cursors, in one place for every reader (and the search index).

A cursor is opaque to clients: base64 of the sort key of the last row of a page (``(created_at, tweet_id)``
newest first for tweets, an id for follower lists), so paging stays correct while new rows arrive. A cursor
this API did not issue is an ``InvalidField`` naming ``cursor``.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
from dataclasses import dataclass, field

from xget_pipelines.core.errors import InvalidField

_NOT_OURS = "cursor is not one this API issued: pass next_cursor of the previous page"


@dataclass
class Page:
    rows: list[dict]
    next_cursor: str | None
    columns: list[str] = field(default_factory=list)


def encode_cursor(*values) -> str:
    return base64.urlsafe_b64encode(json.dumps(values, default=str).encode()).decode().rstrip("=")


def decode_cursor(cursor: str, arity: int) -> list:
    try:
        values = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (ValueError, UnicodeDecodeError):
        raise InvalidField(_NOT_OURS, "cursor") from None
    if not isinstance(values, list) or len(values) != arity:
        raise InvalidField(_NOT_OURS, "cursor")
    return values


def cursor_id(value) -> int:
    """An id out of a decoded cursor: a 64-bit integer, or InvalidField (a cursor this API did not issue)."""
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise InvalidField(_NOT_OURS, "cursor") from None
    if not -(2**63) <= number < 2**63 or isinstance(value, bool):
        raise InvalidField(_NOT_OURS, "cursor")
    return number


def cursor_time(value) -> dt.datetime:
    """A timestamp out of a decoded cursor (ISO 8601), or InvalidField."""
    try:
        return dt.datetime.fromisoformat(value)
    except (TypeError, ValueError):
        raise InvalidField(_NOT_OURS, "cursor") from None


def tweet_cursor(created_at: dt.datetime, tweet_id: int) -> str:
    """The cursor continuing after a tweet in newest-first order."""
    return encode_cursor(created_at.isoformat(), tweet_id)


def decode_tweet_cursor(cursor: str) -> tuple[dt.datetime, int]:
    """``(created_at, tweet_id)`` of the tweet a ``tweet_cursor`` names, or InvalidField."""
    created, tweet_id = decode_cursor(cursor, 2)
    return cursor_time(created), cursor_id(tweet_id)
